//! A real Kuzet API in process: a SQLite database, a real store (WAL, sealer, archive, signed checkpoints) that
//! seals the audit trail, the parser as normalizer, and a clock the test moves. Requests go through the router
//! the binary serves.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use jiff::{SignedDuration, Timestamp};
use kuzet_api::{ApiState, Clock, SESSION_COOKIE, WalAudit};
use kuzet_db::{AuthPolicy, Db, LoginOutcome, NewGrant, NewUser, totp_code};
use kuzet_ingest::IdGenerator;
use kuzet_model::access::{
    ANALYST, AUDITOR, Credential, ISOC_ADMIN, NCCIS_AUDITOR, NCCIS_OFFICER, Onboarding, Permission,
    RoleCatalog, SYSTEM_ADMIN, TENANT_OWNER,
};
use kuzet_model::{
    Directory, EventId, FormatHint, RawEvent, Source, SourceId, SourceIdentity, Tenant, TenantId,
    Transport, UserId,
};
use kuzet_store::{Signer, Store, StoreConfig, VerifyingKey};
use serde_json::Value;
use tower::ServiceExt;

pub const OWN: &str = "akimat";
pub const OTHER: &str = "bank";
pub const PASSWORD: &str = "steppe-river-orbit-2026";

/// The users of the fixture: one per default role, plus a target for user administration.
pub const USERS: &[(&str, &str)] = &[
    ("admin", ISOC_ADMIN),
    ("aigerim", ANALYST),
    ("owner", TENANT_OWNER),
    ("nccis", NCCIS_AUDITOR),
    ("auditor", AUDITOR),
    ("ops", SYSTEM_ADMIN),
    ("officer", NCCIS_OFFICER),
];

#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Session {
        cookie: String,
        csrf: String,
    },
    /// A session cookie without its CSRF token (an attacker's cross-site request).
    CookieOnly(String),
    Token(String),
}

pub struct Answer {
    pub status: StatusCode,
    pub json: Value,
    pub text: String,
    pub headers: axum::http::HeaderMap,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or("")
    }
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    config: StoreConfig,
    clock_fn: Clock,
    pub store: Option<Store>,
    pub db: Db,
    pub router: Router,
    clock: Arc<AtomicI64>,
    pub public_key: VerifyingKey,
    pub totp: HashMap<String, String>,
    /// A sealed event id in each tenant.
    pub events: HashMap<String, EventId>,
    /// A confirmed incident in each tenant, and one of its obligations.
    pub incidents: HashMap<String, (String, String)>,
    /// An alert in each tenant.
    pub alerts: HashMap<String, String>,
}

fn t(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

fn policy() -> AuthPolicy {
    AuthPolicy {
        argon2_memory_kib: 1024,
        argon2_passes: 1,
        ..AuthPolicy::default()
    }
}

/// `kuzet-parse` with the default options, as the binary's normalizer does.
struct Parser;

impl kuzet_store::Normalizer for Parser {
    fn profile(&self) -> String {
        kuzet_parse::ParseOptions::default().profile()
    }

    fn normalize(&self, raw: &RawEvent, profile: &str) -> kuzet_model::Event {
        let options = kuzet_parse::ParseOptions::from_profile(profile).unwrap_or_default();
        kuzet_parse::parse(raw, &options)
    }
}

fn normalize() -> kuzet_store::Normalize {
    Arc::new(Parser)
}

fn directory() -> Directory {
    let tenants = [OWN, OTHER]
        .iter()
        .map(|id| Tenant {
            id: t(id),
            name: format!("{id} org"),
            sector: None,
        })
        .collect();
    let sources = [(OWN, "10.1.0.0/24"), (OTHER, "10.2.0.0/24")]
        .iter()
        .map(|(tenant, net)| Source {
            id: SourceId::new(format!("{tenant}-syslog")).unwrap(),
            tenant: t(tenant),
            facility: None,
            name: "syslog".into(),
            identities: vec![SourceIdentity::Peer(net.parse().unwrap())],
            format: FormatHint::Syslog,
            expected_interval_secs: None,
        })
        .collect();
    Directory::new(tenants, vec![], sources).unwrap()
}

/// The indicator feed the fixture's detection would have loaded: two good lines and one it refuses.
pub const INDICATOR_FEED: &str = "type,value,description\nip,203.0.113.7,password guessing source\ndomain,Evil.Example.KZ.,phishing\nip,not-an-address,broken\n";

/// When the fixture's indicator feed was loaded: the `date_added` of its indicators in the TAXII collections.
pub const INDICATORS_LOADED: &str = "2026-12-01T00:00:00Z";

fn indicators() -> kuzet_detect::SharedIndicators {
    let mut set = kuzet_detect::IndicatorSet::new();
    set.add_csv("feeds/kz-cert.csv", INDICATOR_FEED);
    kuzet_detect::SharedIndicators::new(set, INDICATORS_LOADED.parse().unwrap())
}

impl Harness {
    /// The fixture: two tenants with one sealed event each, one onboarded user per role (MFA where the role needs
    /// it), the NCCIS auditor granted `akimat` for a day. Set up through the database, so the audit trail starts
    /// empty.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let signer = Signer::from_seed([7; 32]);
        let public_key = signer.verifying_key();
        let config = StoreConfig::new(dir.path().join("data"));
        // One sealed event per tenant: append, then shut down (which seals and checkpoints everything).
        let store = Store::open(config.clone(), Signer::from_seed([7; 32]), normalize()).unwrap();
        let ids = IdGenerator::new().unwrap();
        let start: Timestamp = "2026-12-04T06:00:00Z".parse().unwrap();
        let mut events = HashMap::new();
        let mut batch = Vec::new();
        for tenant in [OWN, OTHER] {
            let id = ids.next(start);
            events.insert(tenant.to_owned(), id);
            batch.push(RawEvent {
                id,
                tenant: t(tenant),
                source: SourceId::new(format!("{tenant}-syslog")).unwrap(),
                received: start,
                transport: Transport::Tcp,
                peer: None,
                format: FormatHint::Syslog,
                bytes: format!("<38>Dec  4 11:00:00 host-{tenant} sshd[1]: Failed password for root from 10.9.9.9 port 22 ssh2")
                    .into_bytes(),
            });
        }
        store.wal().append(batch).await.unwrap();
        store.shutdown().unwrap();
        let store = Store::open(config.clone(), signer, normalize()).unwrap();

        let db = Db::connect(
            &format!("sqlite://{}", dir.path().join("kuzet.db").display()),
            RoleCatalog::default(),
            policy(),
        )
        .await
        .unwrap();
        let clock = Arc::new(AtomicI64::new(start.as_millisecond()));
        let clock_fn: Clock = {
            let clock = Arc::clone(&clock);
            Arc::new(move || Timestamp::from_millisecond(clock.load(Ordering::SeqCst)).unwrap())
        };
        let audit = Arc::new(WalAudit::new(store.wal(), IdGenerator::new().unwrap()));
        let state = ApiState::new(
            db.clone(),
            audit,
            config.archive_dir(),
            Arc::clone(&clock_fn),
            kuzet_db::IncidentRules::embedded().unwrap(),
            normalize(),
        )
        .with_indicators(indicators());
        let mut harness = Harness {
            dir,
            config,
            clock_fn,
            store: Some(store),
            db,
            router: kuzet_api::router(state),
            clock,
            public_key,
            totp: HashMap::new(),
            events,
            incidents: HashMap::new(),
            alerts: HashMap::new(),
        };
        harness.seed().await;
        harness
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::from_millisecond(self.clock.load(Ordering::SeqCst)).unwrap()
    }

    pub fn advance(&self, by: SignedDuration) {
        self.clock
            .fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    async fn seed(&mut self) {
        let now = self.now();
        self.db
            .system_apply_directory(&directory(), now)
            .await
            .unwrap();
        let one_time = self
            .db
            .system_bootstrap_admin(&UserId::new("admin").unwrap(), now)
            .await
            .unwrap()
            .unwrap();
        self.onboard("admin", &one_time).await;
        let admin = self.principal("admin").await;
        let users = admin.scope(Permission::UsersManage, self.now()).unwrap();
        // Besides one user per role: `target` for user administration, `banker` the analyst of the other tenant.
        let extra = [("target", ANALYST), ("banker", ANALYST)];
        for (name, role) in USERS.iter().skip(1).chain(&extra) {
            let tenants = match (*name, *role) {
                ("banker", _) => vec![t(OTHER)],
                (_, ANALYST | TENANT_OWNER) => vec![t(OWN)],
                _ => vec![],
            };
            let one_time = self
                .db
                .create_user(
                    &users,
                    &NewUser {
                        id: UserId::new(*name).unwrap(),
                        display_name: name.to_string(),
                        roles: vec![role.to_string()],
                        tenants,
                    },
                    self.now(),
                )
                .await
                .unwrap();
            self.onboard(name, &one_time).await;
        }
        let grants = admin.scope(Permission::GrantsManage, self.now()).unwrap();
        self.db
            .create_grant(
                &grants,
                &NewGrant {
                    user: UserId::new("nccis").unwrap(),
                    tenant: t(OWN),
                    starts: self.now(),
                    ends: self.now() + SignedDuration::from_hours(24),
                    reason: "NCCIS request 2026-118".into(),
                },
                self.now(),
            )
            .await
            .unwrap();
        // A confirmed incident in each tenant, opened by that tenant's analyst.
        let rules = kuzet_db::IncidentRules::embedded().unwrap();
        for (tenant, analyst) in [(OWN, "aigerim"), (OTHER, "banker")] {
            let principal = self.principal(analyst).await;
            let now = self.now();
            let manage = principal.scope(Permission::IncidentsManage, now).unwrap();
            let incident = kuzet_cases::Incident::new(
                t(tenant),
                format!("password guessing at {tenant}"),
                kuzet_cases::Category::PasswordAttack,
                kuzet_model::Criticality::new(2).unwrap(),
                now,
            );
            let id = self
                .db
                .create_incident(&manage, &incident, now)
                .await
                .unwrap();
            let obligations = self
                .db
                .transition_incident(
                    &manage,
                    &t(tenant),
                    &id,
                    kuzet_db::IncidentStep {
                        to: kuzet_cases::Status::Confirmed,
                        reason: None,
                    },
                    now,
                    &rules,
                )
                .await
                .unwrap();
            self.incidents.insert(
                tenant.to_owned(),
                (id.to_string(), obligations[0].id.to_string()),
            );
            let alert = kuzet_db::NewAlert {
                tenant: t(tenant),
                rule_id: "6aec9408-ae00-42e5-9c78-2fa7ddc99da9".into(),
                rule_title: "Windows event log cleared".into(),
                level: "high".into(),
                kind: "rule".into(),
                dedup_key: format!("rule:log-cleared:{tenant}-dc"),
                at: now,
                events: vec![self.events[tenant]],
                detail: serde_json::json!({"host": format!("{tenant}-dc")}),
            };
            let (alert, _) = self
                .db
                .system_record_alert(&alert, now, jiff::SignedDuration::from_mins(10))
                .await
                .unwrap();
            self.alerts.insert(tenant.to_owned(), alert.to_string());
        }
    }

    async fn onboard(&mut self, user: &str, one_time: &str) {
        let now = self.now();
        let principal = match self.db.login(user, one_time, None, now).await.unwrap() {
            LoginOutcome::Success(s) => s.principal,
            other => panic!("{user}: {other:?}"),
        };
        self.db
            .change_password(&principal, one_time, PASSWORD, false, now)
            .await
            .unwrap();
        let principal = self.principal(user).await;
        if principal.onboarding() == Onboarding::EnrolMfa {
            let enrolment = self
                .db
                .begin_mfa_enrolment(&principal, None, now)
                .await
                .unwrap();
            let code = totp_code(&enrolment.secret_base32, now).unwrap();
            self.db
                .confirm_mfa_enrolment(&principal, &code, now)
                .await
                .unwrap();
            self.totp.insert(user.to_owned(), enrolment.secret_base32);
        }
    }

    /// The next valid TOTP code of `user` (the clock moves one step, so that no code is used twice).
    pub fn code(&self, user: &str) -> Option<String> {
        let secret = self.totp.get(user)?;
        self.advance(SignedDuration::from_secs(30));
        Some(totp_code(secret, self.now()).unwrap())
    }

    /// A login of `user` through the database (no audit record), with the next TOTP code where it has MFA.
    async fn login(&self, user: &str) -> kuzet_db::Session {
        let code = self.code(user);
        match self
            .db
            .login(user, PASSWORD, code.as_deref(), self.now())
            .await
            .unwrap()
        {
            LoginOutcome::Success(session) => *session,
            other => panic!("{user}: {other:?}"),
        }
    }

    pub async fn principal(&self, user: &str) -> kuzet_model::access::Principal {
        self.login(user).await.principal
    }

    /// A console session of `user`.
    pub async fn session(&self, user: &str) -> Auth {
        let session = self.login(user).await;
        let Credential::Session { csrf, .. } = session.principal.credential().clone() else {
            unreachable!("a login opens a session")
        };
        Auth::Session {
            cookie: session.secret,
            csrf,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> Answer {
        let request = Self::request(method.clone(), path, auth, body.clone());
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        crate::contract::check_exchange(&method, path, body.as_ref(), status, &json, is_json);
        Answer {
            status,
            json,
            text,
            headers,
        }
    }

    /// The HTTP request `call` sends.
    pub fn request(method: Method, path: &str, auth: &Auth, body: Option<Value>) -> Request<Body> {
        let mut request = Request::builder().method(method).uri(path);
        match auth {
            Auth::None => {}
            Auth::Session { cookie, csrf } => {
                request = request
                    .header(
                        header::COOKIE,
                        format!("theme=dark; {SESSION_COOKIE}={cookie}"),
                    )
                    .header("x-csrf-token", csrf);
            }
            Auth::CookieOnly(cookie) => {
                request = request.header(header::COOKIE, format!("{SESSION_COOKIE}={cookie}"));
            }
            Auth::Token(token) => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
        }
        match body {
            Some(json) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap()
    }

    /// Restarts the store (its shutdown seals and checkpoints everything written so far) under a new router on
    /// the same database: what a restart of the binary does.
    pub fn restart(&mut self) {
        if let Some(store) = self.store.take() {
            store.shutdown().unwrap();
        }
        let store =
            Store::open(self.config.clone(), Signer::from_seed([7; 32]), normalize()).unwrap();
        let audit = Arc::new(WalAudit::new(store.wal(), IdGenerator::new().unwrap()));
        let state = ApiState::new(
            self.db.clone(),
            audit,
            self.config.archive_dir(),
            Arc::clone(&self.clock_fn),
            kuzet_db::IncidentRules::embedded().unwrap(),
            normalize(),
        )
        .with_indicators(indicators());
        self.router = kuzet_api::router(state);
        self.store = Some(store);
    }

    /// Seals everything (the store's shutdown writes the final checkpoint) and returns the archive directory.
    pub fn seal(&mut self) -> std::path::PathBuf {
        if let Some(store) = self.store.take() {
            store.shutdown().unwrap();
        }
        self.dir.path().join("data").join("archive")
    }
}
