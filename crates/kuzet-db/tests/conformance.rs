//! One conformance suite for every backend: the same calls, the same answers, on SQLite and on PostgreSQL.
//!
//! PostgreSQL is reached through `KUZET_TEST_POSTGRES_URL` (scripts/test starts a throwaway server on loopback and
//! sets it); each run creates and drops its own database there. Without the variable the PostgreSQL half says so
//! loudly — and fails under CI, where it must run.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use kuzet_cases::{Category, Incident, Status};
use kuzet_db::{
    AlertFilter, AuthPolicy, Db, DbError, IncidentRules, LoginOutcome, NewApiToken, NewGrant,
    NewSource, NewUser, TenantRecord, totp_code,
};
use kuzet_model::access::{
    ANALYST, AUDITOR, Credential, ISOC_ADMIN, NCCIS_AUDITOR, Onboarding, Permission, Principal,
    RoleCatalog, TENANT_OWNER,
};
use kuzet_model::{
    Directory, Facility, FacilityClass, FacilityId, FormatHint, Retention, Source, SourceId,
    SourceIdentity, Tenant, TenantId, UserId,
};
use sqlx::Connection;

fn policy() -> AuthPolicy {
    // Real Argon2id, with less memory so the suite stays quick; the parameters travel in each hash.
    AuthPolicy {
        argon2_memory_kib: 1024,
        argon2_passes: 1,
        ..AuthPolicy::default()
    }
}

fn t(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}
fn u(s: &str) -> UserId {
    UserId::new(s).unwrap()
}
fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn directory(peer: &str) -> Directory {
    let tenants = ["akimat", "bank"]
        .iter()
        .map(|id| Tenant {
            id: t(id),
            name: format!("{id} org"),
            // The file says akimat's sector and not bank's.
            sector: (*id == "akimat").then_some(kuzet_model::Sector::Government),
        })
        .collect();
    let facilities = vec![Facility {
        id: FacilityId::new("akimat-portal").unwrap(),
        tenant: t("akimat"),
        name: "portal".into(),
        class: FacilityClass::Class1,
        critical: true,
    }];
    let sources = vec![Source {
        id: SourceId::new("akimat-syslog").unwrap(),
        tenant: t("akimat"),
        facility: Some(FacilityId::new("akimat-portal").unwrap()),
        name: "syslog relay".into(),
        identities: vec![SourceIdentity::Peer(peer.parse().unwrap())],
        format: FormatHint::Syslog,
        expected_interval_secs: Some(300),
    }];
    Directory::new(tenants, facilities, sources).unwrap()
}

/// Logs in with a password (and a code for accounts with MFA), expecting success.
async fn login(
    db: &Db,
    user: &str,
    password: &str,
    code: Option<&str>,
    now: Timestamp,
) -> (String, Principal) {
    match db.login(user, password, code, now).await.unwrap() {
        LoginOutcome::Success(session) => (session.secret, session.principal),
        other => panic!("login of {user}: {other:?}"),
    }
}

/// Takes a new user through the first login: the one-time password changed, MFA enrolled where the role needs
/// it. Returns the new password and the TOTP secret, if any.
async fn onboard(db: &Db, user: &str, one_time: &str, now: Timestamp) -> (String, Option<String>) {
    let new_password = format!("steppe-river-{user}-2026!").replace(user, "x");
    let (_, principal) = login(db, user, one_time, None, now).await;
    assert_eq!(principal.onboarding(), Onboarding::ChangePassword);
    db.change_password(&principal, one_time, &new_password, false, now)
        .await
        .unwrap();
    let (_, principal) = login(db, user, &new_password, None, now).await;
    if principal.onboarding() == Onboarding::EnrolMfa {
        let enrolment = db.begin_mfa_enrolment(&principal, None, now).await.unwrap();
        assert!(enrolment.otpauth_uri.starts_with("otpauth://totp/Kuzet:"));
        let code = totp_code(&enrolment.secret_base32, now).unwrap();
        db.confirm_mfa_enrolment(&principal, &code, now)
            .await
            .unwrap();
        return (new_password, Some(enrolment.secret_base32));
    }
    assert_eq!(principal.onboarding(), Onboarding::Complete);
    (new_password, None)
}

async fn suite(db: Db) {
    let backend = db.backend();
    let now = at("2026-12-04T06:00:00Z");
    assert_eq!(db.schema_version().await.unwrap(), 21, "{backend:?}");

    // The configuration file's directory lands in the database and comes back whole.
    db.system_apply_directory(&directory("10.1.0.0/24"), now)
        .await
        .unwrap();
    let loaded = db.system_load_directory().await.unwrap();
    assert_eq!(loaded.tenants(), directory("10.1.0.0/24").tenants());
    assert_eq!(loaded.sources(), directory("10.1.0.0/24").sources());
    assert_eq!(loaded.facilities(), directory("10.1.0.0/24").facilities());
    // Applying a changed file replaces the identities that came from the file.
    db.system_apply_directory(&directory("10.2.0.0/24"), now)
        .await
        .unwrap();
    let loaded = db.system_load_directory().await.unwrap();
    assert!(loaded.source_by_peer("10.2.0.9".parse().unwrap()).is_some());
    assert!(loaded.source_by_peer("10.1.0.9".parse().unwrap()).is_none());

    // Bootstrap: one isoc-admin with a one-time password, once. A bootstrap that `kuzet init` could not finish is
    // taken back whole, and the next one works.
    assert_eq!(db.user_count().await.unwrap(), 0);
    db.system_bootstrap_admin(&u("admin"), now)
        .await
        .unwrap()
        .unwrap();
    db.system_undo_bootstrap_admin(&u("admin")).await.unwrap();
    assert_eq!(db.user_count().await.unwrap(), 0);
    let one_time = db
        .system_bootstrap_admin(&u("admin"), now)
        .await
        .unwrap()
        .unwrap();
    assert!(
        db.system_bootstrap_admin(&u("admin2"), now)
            .await
            .unwrap()
            .is_none()
    );
    // The policy refuses weak new passwords, naming why.
    let (_, first) = login(&db, "admin", &one_time, None, now).await;
    let err = db
        .change_password(&first, &one_time, "short", false, now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least 12"), "{err}");
    let err = first.scope(Permission::TenantsRead, now).unwrap_err();
    assert!(err.to_string().contains("one-time password"), "{err}");
    let (admin_password, admin_totp) = onboard(&db, "admin", &one_time, now).await;
    let admin_totp = admin_totp.expect("isoc-admin must enrol MFA");

    // With MFA: no code → asked for one; a good code → in; the same code again → refused (replay).
    assert!(matches!(
        db.login("admin", &admin_password, None, now).await.unwrap(),
        LoginOutcome::MfaRequired
    ));
    let later = now + SignedDuration::from_secs(90);
    let code = totp_code(&admin_totp, later).unwrap();
    let (admin_cookie, admin) = login(&db, "admin", &admin_password, Some(&code), later).await;
    assert!(matches!(
        db.login("admin", &admin_password, Some(&code), later)
            .await
            .unwrap(),
        LoginOutcome::Failed { .. }
    ));
    assert_eq!(admin.onboarding(), Onboarding::Complete);
    let session = db
        .authenticate_session(&admin_cookie, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.user(), &u("admin"));
    assert!(matches!(session.credential(), Credential::Session { .. }));

    // Tenants and retention through scopes.
    let manage = admin.scope(Permission::TenantsManage, later).unwrap();
    db.create_tenant(
        &manage,
        &TenantRecord {
            tenant: Tenant {
                id: t("ministry"),
                name: "Ministry".into(),
                sector: Some(kuzet_model::Sector::Finance),
            },
            retention: Retention::default(),
        },
        later,
    )
    .await
    .unwrap();
    let again = db
        .create_tenant(
            &manage,
            &TenantRecord {
                tenant: Tenant {
                    id: t("ministry"),
                    name: "dup".into(),
                    sector: None,
                },
                retention: Retention::default(),
            },
            later,
        )
        .await
        .unwrap_err();
    assert!(matches!(again, DbError::Conflict(_)), "{again}");
    let read = admin.scope(Permission::TenantsRead, later).unwrap();
    let sectors: Vec<_> = db
        .tenants(&read)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.tenant.id.to_string(), r.tenant.sector))
        .collect();
    assert!(
        sectors.contains(&("ministry".into(), Some(kuzet_model::Sector::Finance)))
            && sectors.contains(&("akimat".into(), Some(kuzet_model::Sector::Government)))
            && sectors.contains(&("bank".into(), None)),
        "{sectors:?}"
    );
    let retention = admin.scope(Permission::RetentionManage, later).unwrap();
    let low = db
        .set_retention(
            &retention,
            &t("ministry"),
            Retention {
                hot_days: 30,
                archive_years: 3,
            },
        )
        .await
        .unwrap_err();
    assert!(low.to_string().contains("R3"), "{low}");
    db.set_retention(
        &retention,
        &t("ministry"),
        Retention {
            hot_days: 90,
            archive_years: 5,
        },
    )
    .await
    .unwrap();
    let read = admin.scope(Permission::TenantsRead, later).unwrap();
    assert_eq!(
        db.tenant(&read, &t("ministry"))
            .await
            .unwrap()
            .retention
            .hot_days,
        90
    );
    assert_eq!(db.tenants(&read).await.unwrap().len(), 3);
    // A scope for another permission is refused.
    assert!(matches!(
        db.tenants(&manage).await.unwrap_err(),
        DbError::Denied(_)
    ));

    // Sources and machine tokens.
    let sources = admin.scope(Permission::SourcesManage, later).unwrap();
    db.create_source(
        &sources,
        &NewSource {
            id: SourceId::new("ministry-beats").unwrap(),
            tenant: t("ministry"),
            facility: None,
            name: "winlogbeat".into(),
            format: FormatHint::Json,
            expected_interval_secs: None,
        },
    )
    .await
    .unwrap();
    // A facility of another tenant cannot be borrowed.
    let borrowed = db
        .create_source(
            &sources,
            &NewSource {
                id: SourceId::new("ministry-x").unwrap(),
                tenant: t("ministry"),
                facility: Some(FacilityId::new("akimat-portal").unwrap()),
                name: "x".into(),
                format: FormatHint::Json,
                expected_interval_secs: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(borrowed, DbError::NotFound(_)), "{borrowed}");
    let machine = db
        .create_source_token(
            &sources,
            &t("ministry"),
            &SourceId::new("ministry-beats").unwrap(),
            later,
        )
        .await
        .unwrap();
    assert!(machine.secret.starts_with("kzm_"));
    let directory = db.system_load_directory().await.unwrap();
    let by_token = directory
        .source_by_token_sha256(&hex_sha256(&machine.secret))
        .unwrap();
    assert_eq!(by_token.tenant, t("ministry"));

    // Users of each role; each onboarded.
    let users = admin.scope(Permission::UsersManage, later).unwrap();
    let mut passwords = std::collections::HashMap::new();
    for (name, role, tenants) in [
        ("aigerim", ANALYST, vec![t("akimat")]),
        ("owner", TENANT_OWNER, vec![t("bank")]),
        ("nccis", NCCIS_AUDITOR, vec![]),
        ("auditor", AUDITOR, vec![]),
    ] {
        let one_time = db
            .create_user(
                &users,
                &NewUser {
                    id: u(name),
                    display_name: name.into(),
                    roles: vec![role.into()],
                    tenants,
                },
                later,
            )
            .await
            .unwrap();
        let (password, totp) = onboard(&db, name, &one_time, later).await;
        assert!(totp.is_none(), "{name}: {role} changes no configuration");
        passwords.insert(name, password);
    }
    let dup = db
        .create_user(
            &users,
            &NewUser {
                id: u("aigerim"),
                display_name: "x".into(),
                roles: vec![ANALYST.into()],
                tenants: vec![],
            },
            later,
        )
        .await
        .unwrap_err();
    assert!(matches!(dup, DbError::Conflict(_)), "{dup}");
    let unknown_role = db
        .create_user(
            &users,
            &NewUser {
                id: u("x"),
                display_name: "x".into(),
                roles: vec!["superuser".into()],
                tenants: vec![],
            },
            later,
        )
        .await
        .unwrap_err();
    assert!(
        unknown_role.to_string().contains("superuser"),
        "{unknown_role}"
    );
    let listed = db.users(&users).await.unwrap();
    assert_eq!(listed.len(), 5);
    // Pages of two, walked by cursor, are the whole list (the cursor SQL is each backend's).
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = db.users_page(&users, cursor.as_deref(), 2).await.unwrap();
        walked.extend(page.into_iter().map(|u| u.id));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        walked,
        listed.iter().map(|u| u.id.clone()).collect::<Vec<_>>()
    );
    assert!(
        matches!(
            db.system_undo_bootstrap_admin(&u("admin")).await,
            Err(DbError::Conflict(_))
        ),
        "only an unused bootstrap, the sole user, is taken back"
    );
    assert!(
        listed
            .iter()
            .find(|r| r.id == u("admin"))
            .unwrap()
            .mfa_enrolled
    );

    // Tenant isolation in the repositories: the analyst of akimat sees nothing of bank, not even that it exists.
    let (_, analyst) = login(&db, "aigerim", &passwords["aigerim"], None, later).await;
    let read = analyst.scope(Permission::TenantsRead, later).unwrap();
    let visible: Vec<_> = db
        .tenants(&read)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.tenant.id)
        .collect();
    assert_eq!(visible, vec![t("akimat")]);
    for other in ["bank", "ministry", "no-such-tenant"] {
        let err = db.tenant(&read, &t(other)).await.unwrap_err();
        assert_eq!(err.to_string(), format!("tenant `{other}`: not found"));
    }
    let src = analyst.scope(Permission::SourcesRead, later).unwrap();
    assert!(matches!(
        db.sources(&src, &t("bank")).await.unwrap_err(),
        DbError::NotFound(_)
    ));
    assert_eq!(db.sources(&src, &t("akimat")).await.unwrap().len(), 1);
    assert!(analyst.scope(Permission::UsersManage, later).is_err());

    // API tokens: only one's own roles and tenants; limited; expiring; revocable; others' tokens are invisible.
    let own = analyst.scope(Permission::TokensOwn, later).unwrap();
    let not_mine = db
        .create_api_token(
            &analyst,
            &own,
            &NewApiToken {
                name: "x".into(),
                role: ISOC_ADMIN.into(),
                tenants: None,
                expires: later + SignedDuration::from_hours(1),
            },
            later,
        )
        .await
        .unwrap_err();
    assert!(
        not_mine.to_string().contains("does not hold role"),
        "{not_mine}"
    );
    let foreign = db
        .create_api_token(
            &analyst,
            &own,
            &NewApiToken {
                name: "x".into(),
                role: ANALYST.into(),
                tenants: Some(vec![t("bank")]),
                expires: later + SignedDuration::from_hours(1),
            },
            later,
        )
        .await
        .unwrap_err();
    assert!(matches!(foreign, DbError::NotFound(_)), "{foreign}");
    let (record, secret) = db
        .create_api_token(
            &analyst,
            &own,
            &NewApiToken {
                name: "siem-export".into(),
                role: ANALYST.into(),
                tenants: Some(vec![t("akimat")]),
                expires: later + SignedDuration::from_hours(1),
            },
            later,
        )
        .await
        .unwrap();
    assert!(secret.starts_with("kzt_"));
    let by_token = db
        .authenticate_token(&secret, later)
        .await
        .unwrap()
        .unwrap();
    let scope = by_token.scope(Permission::EventsRead, later).unwrap();
    assert!(scope.permits(&t("akimat")) && !scope.permits(&t("bank")));
    assert!(
        db.authenticate_token(&secret, later + SignedDuration::from_hours(2))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.authenticate_token("kzt_guess", later)
            .await
            .unwrap()
            .is_none()
    );
    let tokens = db.api_tokens(&own).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].id, record.id);
    // More tokens, some in the same millisecond: pages of two give every token once, oldest first, each with its
    // tenants (read for all of them at once).
    for i in 0..4 {
        db.create_api_token(
            &analyst,
            &own,
            &NewApiToken {
                name: format!("feed-{i}"),
                role: ANALYST.into(),
                tenants: (i % 2 == 0).then(|| vec![t("akimat")]),
                expires: later + SignedDuration::from_hours(1),
            },
            later + SignedDuration::from_millis(i / 2),
        )
        .await
        .unwrap();
    }
    let all = db.api_tokens(&own).await.unwrap();
    assert_eq!(all.len(), 5);
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = db
            .api_tokens_page(&own, cursor.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        walked.extend(page);
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(walked, all);
    assert!(
        all.windows(2)
            .all(|w| (w[0].created, w[0].id.as_str()) < (w[1].created, w[1].id.as_str()))
    );
    assert_eq!(
        all.iter()
            .filter(|k| k.tenants == Some(vec![t("akimat")]))
            .count(),
        3
    );
    assert!(
        db.api_tokens_page(&own, Some("not-a-cursor"), 2)
            .await
            .is_err()
    );
    for extra in all.iter().filter(|k| k.id != record.id) {
        db.revoke_api_token(&own, &extra.id, later).await.unwrap();
    }
    let tokens: Vec<_> = db
        .api_tokens(&own)
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.revoked.is_none())
        .collect();
    assert_eq!(tokens.len(), 1);
    let admin_own = admin.scope(Permission::TokensOwn, later).unwrap();
    assert!(db.api_tokens(&admin_own).await.unwrap().is_empty());
    assert!(matches!(
        db.revoke_api_token(&admin_own, &record.id, later)
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));
    db.revoke_api_token(&own, &record.id, later).await.unwrap();
    assert!(
        db.authenticate_token(&secret, later)
            .await
            .unwrap()
            .is_none()
    );

    // NCCIS grants (R19): time-bounded, only to a by-grant role, revocable.
    let grants = admin.scope(Permission::GrantsManage, later).unwrap();
    let to_analyst = db
        .create_grant(
            &grants,
            &NewGrant {
                user: u("aigerim"),
                tenant: t("bank"),
                starts: later,
                ends: later + SignedDuration::from_hours(24),
                reason: "request 17".into(),
            },
            later,
        )
        .await
        .unwrap_err();
    assert!(to_analyst.to_string().contains("by grant"), "{to_analyst}");
    let grant = db
        .create_grant(
            &grants,
            &NewGrant {
                user: u("nccis"),
                tenant: t("bank"),
                starts: later,
                ends: later + SignedDuration::from_hours(24),
                reason: "NCCIS request 2026-118".into(),
            },
            later,
        )
        .await
        .unwrap();
    let (nccis_cookie, nccis) = login(&db, "nccis", &passwords["nccis"], None, later).await;
    let events = nccis.scope(Permission::EventsRead, later).unwrap();
    assert!(events.permits(&t("bank")) && !events.permits(&t("akimat")));
    let tomorrow = later + SignedDuration::from_hours(25);
    // The grant ends after a day: the same principal reaches nothing then.
    assert!(
        !nccis
            .scope(Permission::EventsRead, tomorrow)
            .unwrap()
            .permits(&t("bank"))
    );
    db.revoke_grant(&grants, &grant.id, later).await.unwrap();
    let nccis = db
        .authenticate_session(&nccis_cookie, later)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !nccis
            .scope(Permission::EventsRead, later)
            .unwrap()
            .permits(&t("bank"))
    );
    assert_eq!(db.grants(&grants).await.unwrap().len(), 1);
    let (first, next) = db.grants_page(&grants, None, 1).await.unwrap();
    assert_eq!((first.len(), next), (1, None));

    // Incidents: opened, confirmed (clocks and plan tasks stored), worked, isolated by tenant.
    let rules = IncidentRules::embedded().unwrap();
    let manage = analyst.scope(Permission::IncidentsManage, later).unwrap();
    let read = analyst.scope(Permission::IncidentsRead, later).unwrap();
    let mut incident = Incident::new(
        t("akimat"),
        "password guessing on the portal".into(),
        Category::PasswordAttack,
        kuzet_model::Criticality::new(2).unwrap(),
        later,
    );
    incident.mark_personal_data(later);
    let id = db.create_incident(&manage, &incident, later).await.unwrap();
    incident.tenant = t("bank");
    assert!(matches!(
        db.create_incident(&manage, &incident, later)
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));
    let confirmed = later + SignedDuration::from_mins(10);
    let created = db
        .transition_incident(
            &manage,
            &t("akimat"),
            &id,
            kuzet_db::IncidentStep {
                to: Status::Confirmed,
                reason: None,
            },
            confirmed,
            &rules,
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = created.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["owner_notification", "nccis_report", "personal_data_notice"]
    );
    let nccis = created.iter().find(|o| o.kind == "nccis_report").unwrap();
    assert_eq!(nccis.due, confirmed + SignedDuration::from_mins(15));
    // "At once" has a short grace: not overdue the instant it exists.
    let owner = created
        .iter()
        .find(|o| o.kind == "owner_notification")
        .unwrap();
    assert_eq!(owner.due, owner.fact + rules.owner_notification_grace);
    assert_eq!(
        rules.owner_notification_grace,
        SignedDuration::from_mins(30)
    );
    let again = db
        .transition_incident(
            &manage,
            &t("akimat"),
            &id,
            kuzet_db::IncidentStep {
                to: Status::Confirmed,
                reason: None,
            },
            confirmed,
            &rules,
        )
        .await
        .unwrap_err();
    assert!(
        again
            .to_string()
            .contains("cannot go from confirmed to confirmed"),
        "{again}"
    );
    let record = db.incident(&read, &t("akimat"), &id).await.unwrap();
    assert_eq!(record.incident.status, Status::Confirmed);
    assert_eq!(record.incident.transitions.len(), 1);
    assert_eq!(record.incident.personal_data, Some(later));
    assert_eq!(record.obligations.len(), 3);
    assert_eq!(
        record.tasks.len(),
        12,
        "eleven measures and the password-guessing task"
    );
    assert_eq!(record.tasks[6].kind, "measure-7");
    db.complete_task(&manage, &t("akimat"), &id, 6, confirmed)
        .await
        .unwrap();
    assert!(
        db.complete_task(&manage, &t("akimat"), &id, 6, confirmed)
            .await
            .is_err()
    );
    db.fulfil_obligation(&manage, &t("akimat"), &nccis.id, "receipt 42", confirmed)
        .await
        .unwrap();
    let record = db.incident(&read, &t("akimat"), &id).await.unwrap();
    assert!(record.tasks[6].done.is_some());
    let fulfilled = record
        .obligations
        .iter()
        .find(|o| o.id == nccis.id)
        .unwrap();
    assert_eq!(
        fulfilled.fulfilled.as_ref().map(|(_, by)| by.as_str()),
        Some("receipt 42")
    );
    assert_eq!(
        db.incidents_page(&read, &t("akimat"), None, 500)
            .await
            .unwrap()
            .0
            .len(),
        1
    );
    // The quarterly report (R20): once per tenant and quarter, however often the job runs.
    let tenants = db
        .tenants(&admin.scope(Permission::TenantsRead, later).unwrap())
        .await
        .unwrap()
        .len() as u64;
    // Onboarded in December: no report is owed for the third quarter, which they were not served in.
    assert_eq!(
        db.system_ensure_periodic_obligations(confirmed, &rules)
            .await
            .unwrap(),
        0
    );
    let january = at("2027-01-05T06:00:00Z");
    assert_eq!(
        db.system_ensure_periodic_obligations(january, &rules)
            .await
            .unwrap(),
        2 * tenants,
        "the fourth quarter's report and the first quarter's confirmation of contacts"
    );
    assert_eq!(
        db.system_ensure_periodic_obligations(january, &rules)
            .await
            .unwrap(),
        0
    );
    let (all, none) = db
        .obligations_page(&read, &t("akimat"), None, 500)
        .await
        .unwrap();
    assert!(none.is_none());
    let quarterly = all.iter().find(|o| o.kind == "quarterly_report").unwrap();
    assert_eq!(
        quarterly.fact,
        at("2026-09-30T19:00:00Z"),
        "the fourth quarter's report (1 October, Astana time)"
    );
    assert!(quarterly.due > january, "due by 10 January");
    assert!(quarterly.incident.is_none());
    assert_eq!(
        all.len(),
        5,
        "three of the incident, the quarterly report and the confirmation of contacts"
    );
    let confirmation = all
        .iter()
        .find(|o| o.kind == "quarterly_contact_confirmation")
        .unwrap();
    assert!(confirmation.due > january, "due by 10 January");
    let (_, owed) = db
        .confirm_contacts(
            &admin.scope(Permission::TenantsManage, later).unwrap(),
            &t("akimat"),
            january,
        )
        .await
        .unwrap();
    assert_eq!(
        owed.as_ref(),
        Some(&confirmation.id),
        "its receipt will fulfil the confirmation"
    );
    let (soonest, cursor) = db
        .obligations_page(&read, &t("akimat"), None, 3)
        .await
        .unwrap();
    let (rest, end) = db
        .obligations_page(&read, &t("akimat"), cursor.as_deref(), 3)
        .await
        .unwrap();
    assert!(end.is_none());
    let paged: Vec<_> = soonest.iter().chain(&rest).map(|o| &o.id).collect();
    assert_eq!(
        paged,
        all.iter().map(|o| &o.id).collect::<Vec<_>>(),
        "the pages walk the whole list in order"
    );
    // Pages of the incident list: newest first, ties broken by id, each incident once, a cursor while more remain.
    let mut second = Incident::new(
        t("akimat"),
        "a second incident at the same moment".into(),
        Category::PasswordAttack,
        kuzet_model::Criticality::new(1).unwrap(),
        later,
    );
    db.create_incident(&manage, &second, later).await.unwrap();
    second.detected = later - SignedDuration::from_mins(1);
    second.title = "an earlier one".into();
    db.create_incident(&manage, &second, later).await.unwrap();
    let everything: Vec<String> = db
        .incidents_page(&read, &t("akimat"), None, 500)
        .await
        .unwrap()
        .0
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(everything.len(), 3);
    let (first_page, cursor) = db
        .incidents_page(&read, &t("akimat"), None, 2)
        .await
        .unwrap();
    let cursor = cursor.expect("a third incident remains");
    let (last_page, end) = db
        .incidents_page(&read, &t("akimat"), Some(&cursor), 2)
        .await
        .unwrap();
    assert!(end.is_none(), "nothing after the last page");
    let paged: Vec<String> = first_page
        .iter()
        .chain(&last_page)
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(paged, everything);
    assert_eq!(last_page[0].incident.title, "an earlier one");
    assert_eq!(
        first_page[0].tasks.len() + first_page[1].tasks.len(),
        record.tasks.len(),
        "parts of the page's incidents only"
    );
    assert!(matches!(
        db.incidents_page(&read, &t("akimat"), Some("yesterday"), 2)
            .await
            .unwrap_err(),
        DbError::Invalid { .. }
    ));
    alerts(&db, &read, &manage, later).await;
    rule_controls(
        &db,
        &admin.scope(Permission::RulesManage, later).unwrap(),
        &read,
        later,
    )
    .await;
    rule_files(&db, later).await;
    notifications(&db, &admin, &analyst, later).await;
    exchange(&db, &analyst, later).await;
    hub(&db, later).await;
    advisories(&db, &admin, &analyst, later).await;
    asset_links(&db, &admin, &analyst, &manage, later).await;
    risks(&db, &admin, &analyst, &id, later).await;
    let event = kuzet_model::EventId::from_parts(1_800_000_000_000, 7);
    db.attach_evidence(
        &manage,
        &t("akimat"),
        &id,
        event,
        "the first failed login",
        confirmed,
    )
    .await
    .unwrap();
    assert!(matches!(
        db.attach_evidence(&manage, &t("akimat"), &id, event, "again", confirmed)
            .await
            .unwrap_err(),
        DbError::Conflict(_)
    ));
    db.record_custody(
        &read,
        &t("akimat"),
        &id,
        "handed over",
        "to the investigator",
        confirmed,
    )
    .await
    .unwrap();
    db.system_record_custody(
        &t("akimat"),
        &id,
        "root (cli)",
        "exported",
        "bundle for the court",
        confirmed,
    )
    .await
    .unwrap();
    let (items, custody) = db.evidence(&read, &t("akimat"), &id).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].event_id, event);
    let actions: Vec<&str> = custody.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["collected", "handed over", "exported"]);
    // Concurrent appends to one incident's evidence and custody all land, each with its own sequence number
    // (they raced on COUNT(*) then INSERT before: "database is locked" on SQLite, collisions on PostgreSQL).
    let mut tasks = Vec::new();
    for i in 0..30u128 {
        let (db, read, manage, id) = (db.clone(), read.clone(), manage.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                let event = kuzet_model::EventId::from_parts(1_800_000_000_000, 100 + i);
                db.attach_evidence(&manage, &t("akimat"), &id, event, "burst", confirmed)
                    .await
            } else {
                db.record_custody(&read, &t("akimat"), &id, "accessed", "viewed", confirmed)
                    .await
            }
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let (items, custody) = db.evidence(&read, &t("akimat"), &id).await.unwrap();
    assert_eq!(items.len(), 1 + 10, "every attachment landed");
    assert_eq!(custody.len(), 3 + 30, "every custody entry landed");
    // Reading a kept event is an access in the custody of the incident that keeps it; another event is not.
    let events = analyst.scope(Permission::EventsRead, later).unwrap();
    assert_eq!(
        db.record_event_access(&events, &t("akimat"), &event.to_string(), "read", later)
            .await
            .unwrap(),
        1
    );
    let unkept = kuzet_model::EventId::from_parts(1_800_000_000_000, 99_999).to_string();
    assert_eq!(
        db.record_event_access(&events, &t("akimat"), &unkept, "read", later)
            .await
            .unwrap(),
        0
    );
    let (_, custody) = db.evidence(&read, &t("akimat"), &id).await.unwrap();
    assert_eq!(custody.len(), 3 + 30 + 1);
    assert!(matches!(
        db.system_evidence(&t("bank"), &id).await.unwrap_err(),
        DbError::NotFound(_)
    ));
    let (_, owner_of_bank) = login(&db, "owner", &passwords["owner"], None, later).await;
    let bank_read = owner_of_bank
        .scope(Permission::IncidentsRead, later)
        .unwrap();
    assert!(matches!(
        db.incident(&bank_read, &t("akimat"), &id)
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));
    assert!(
        db.incidents_page(&bank_read, &t("bank"), None, 500)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    assert!(matches!(
        db.fulfil_obligation(&manage, &t("bank"), &nccis.id, "x", confirmed)
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));

    // Lockout: `lockout_threshold` wrong passwords lock the account, even the right one is refused then; it opens again after
    // the lockout time or when an administrator unlocks it. Each outcome is reported for the audit trail.
    let threshold = policy().lockout_threshold;
    for attempt in 1..=threshold {
        match db
            .login("owner", "wrong-password-123", None, later)
            .await
            .unwrap()
        {
            LoginOutcome::Failed {
                known_user: true,
                locked_now,
            } => assert_eq!(locked_now, attempt == threshold),
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    assert!(matches!(
        db.login("owner", &passwords["owner"], None, later)
            .await
            .unwrap(),
        LoginOutcome::Locked { .. }
    ));
    let after_lockout = later + policy().lockout_duration + SignedDuration::from_secs(1);
    login(&db, "owner", &passwords["owner"], None, after_lockout).await;
    for _ in 0..threshold {
        db.login("owner", "wrong-password-123", None, later)
            .await
            .unwrap();
    }
    db.unlock_user(&users, &u("owner")).await.unwrap();
    login(&db, "owner", &passwords["owner"], None, later).await;
    // 40 wrong passwords at once cannot outrun the lockout: at most `threshold` are checked, the account ends
    // locked.
    let attempts: Vec<_> = (0..40)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.login("owner", "wrong-password-123", None, later).await })
        })
        .collect();
    let mut checked = 0;
    for attempt in attempts {
        match attempt.await.unwrap().unwrap() {
            LoginOutcome::Failed { .. } => checked += 1,
            LoginOutcome::Locked { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(
        checked <= threshold as usize,
        "{checked} passwords checked in one lockout window"
    );
    assert!(matches!(
        db.login("owner", &passwords["owner"], None, later)
            .await
            .unwrap(),
        LoginOutcome::Locked { .. }
    ));
    db.unlock_user(&users, &u("owner")).await.unwrap();
    // One one-time code, two logins at once: one session.
    let at = later + SignedDuration::from_secs(300);
    let code = totp_code(&admin_totp, at).unwrap();
    let both: Vec<_> = (0..2)
        .map(|_| {
            let (db, password, code) = (db.clone(), admin_password.clone(), code.clone());
            tokio::spawn(async move { db.login("admin", &password, Some(&code), at).await })
        })
        .collect();
    let mut sessions = 0;
    for login in both {
        if matches!(login.await.unwrap().unwrap(), LoginOutcome::Success(_)) {
            sessions += 1;
        }
    }
    assert_eq!(sessions, 1, "a one-time code opens one session");
    assert!(matches!(
        db.login("nobody", "whatever-password", None, later)
            .await
            .unwrap(),
        LoginOutcome::Failed {
            known_user: false,
            ..
        }
    ));

    // Sessions: idle timeout, logout, logout everywhere, disabled users.
    let idle = later + policy().session_idle + SignedDuration::from_secs(1);
    assert!(
        db.authenticate_session(&admin_cookie, idle)
            .await
            .unwrap()
            .is_none()
    );
    let (one, p1) = login(&db, "auditor", &passwords["auditor"], None, later).await;
    let (two, _) = login(&db, "auditor", &passwords["auditor"], None, later).await;
    db.logout(&p1, later).await.unwrap();
    assert!(
        db.authenticate_session(&one, later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.authenticate_session(&two, later)
            .await
            .unwrap()
            .is_some()
    );
    let (three, p3) = login(&db, "auditor", &passwords["auditor"], None, later).await;
    // Open: the two sessions of onboarding (the password change keeps its own), `two` and `three`.
    assert_eq!(db.logout_everywhere(&p3, later).await.unwrap(), 4);
    assert!(
        db.authenticate_session(&two, later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.authenticate_session(&three, later)
            .await
            .unwrap()
            .is_none()
    );
    let (four, _) = login(&db, "auditor", &passwords["auditor"], None, later).await;
    db.disable_user(&users, &u("auditor"), later).await.unwrap();
    assert!(
        db.authenticate_session(&four, later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        db.login("auditor", &passwords["auditor"], None, later)
            .await
            .unwrap(),
        LoginOutcome::Disabled
    ));
    // Roles and tenants change in place; the last isoc-admin stays one.
    db.set_user_access(
        &users,
        &u("owner"),
        &[TENANT_OWNER.into()],
        &[t("bank"), t("akimat")],
    )
    .await
    .unwrap();
    let (_, owner) = login(&db, "owner", &passwords["owner"], None, later).await;
    assert_eq!(owner.assigned_tenants().len(), 2);
    let last = db
        .set_user_access(&users, &u("admin"), &[AUDITOR.into()], &[])
        .await
        .unwrap_err();
    assert!(
        last.to_string().contains("last enabled isoc-admin"),
        "{last}"
    );
    assert!(db.disable_user(&users, &u("admin"), later).await.is_err());
    assert!(matches!(
        db.set_user_access(&users, &u("nobody"), &[ANALYST.into()], &[])
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));
    // A reset gives a new one-time password and drops MFA: the user starts over.
    let fresh = db
        .reset_credentials(&users, &u("aigerim"), later)
        .await
        .unwrap();
    let (_, again) = login(&db, "aigerim", &fresh, None, later).await;
    assert_eq!(again.onboarding(), Onboarding::ChangePassword);
    let assigned: BTreeSet<_> = again.assigned_tenants().iter().cloned().collect();
    assert_eq!(assigned, [t("akimat")].into());

    // Two admins disabling each other at once: one succeeds, the other is refused; an admin always remains.
    db.create_user(
        &users,
        &NewUser {
            id: u("ally"),
            display_name: "Second admin".into(),
            roles: vec![ISOC_ADMIN.into()],
            tenants: vec![],
        },
        later,
    )
    .await
    .unwrap();
    let both: Vec<_> = ["admin", "ally"]
        .into_iter()
        .map(|who| {
            let (db, users) = (db.clone(), users.clone());
            tokio::spawn(async move { db.disable_user(&users, &u(who), later).await })
        })
        .collect();
    let mut disabled = 0;
    for task in both {
        match task.await.unwrap() {
            Ok(()) => disabled += 1,
            Err(e) => assert!(e.to_string().contains("last enabled isoc-admin"), "{e}"),
        }
    }
    assert_eq!(disabled, 1, "exactly one of the two was disabled");
    evidence_files(&db, &analyst, &id, later).await;
    demo_user(&db, later).await;
}

/// A demo person: made once with a one-time password to change at first login, never over an existing user.
async fn demo_user(db: &Db, now: Timestamp) {
    let demo = kuzet_db::NewUser {
        id: u("demo-analyst"),
        display_name: "Demo analyst".into(),
        roles: vec![ANALYST.into()],
        tenants: vec![t("akimat")],
    };
    let password = db.system_demo_user(&demo, now).await.unwrap().unwrap();
    assert!(db.system_demo_user(&demo, now).await.unwrap().is_none());
    let existing = kuzet_db::NewUser {
        id: u("admin"),
        ..demo
    };
    assert!(db.system_demo_user(&existing, now).await.unwrap().is_none());
    let (_, person) = login(db, "demo-analyst", &password, None, now).await;
    assert_eq!(person.assigned_tenants().len(), 1);
    assert!(
        person.scope(Permission::TenantsRead, now).is_err(),
        "the one-time password must be changed first"
    );
}

/// Alerts: hits of one key within the window are one alert that counts them and keeps the first events; a
/// triaged alert takes no more hits; another tenant's alert is not found; pages follow the cursor.
/// Contacts, and the outbox a confirmation writes to: claimed once per lease, retried, delivered, fulfilling the
/// owner's obligation.
async fn notifications(db: &Db, admin: &Principal, analyst: &Principal, now: Timestamp) {
    use kuzet_cases::Lang;
    use kuzet_db::{CLAIM_LEASE, Channel, ContactRole, NewContact};
    let manage = admin.scope(Permission::TenantsManage, now).unwrap();
    let contact = |role, channel, address: &str, language| NewContact {
        tenant: t("akimat"),
        role,
        name: "Akim".into(),
        channel,
        address: address.into(),
        language,
    };
    let (owner, none) = db
        .create_contact(
            &manage,
            &contact(
                ContactRole::Owner,
                Channel::Email,
                "akim@akimat.kz",
                Lang::Kk,
            ),
            now,
        )
        .await
        .unwrap();
    assert!(none.is_none());
    let (security, secret) = db
        .create_contact(
            &manage,
            &contact(
                ContactRole::Security,
                Channel::Webhook,
                "https://soc.akimat.kz/hook",
                Lang::Ru,
            ),
            now,
        )
        .await
        .unwrap();
    assert_eq!(secret.as_ref().map(String::len), Some(64));
    assert!(matches!(
        db.create_contact(
            &manage,
            &contact(ContactRole::Owner, Channel::Email, "nope", Lang::En),
            now
        )
        .await
        .unwrap_err(),
        DbError::Invalid { .. }
    ));
    let read = analyst.scope(Permission::TenantsRead, now).unwrap();
    let mut both = vec![owner.clone(), security.clone()];
    both.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    assert_eq!(db.contacts(&read, &t("akimat")).await.unwrap(), both);
    // Each change of contacts is reported to NCCIS (R14: within 48 hours), with the contacts as they now are.
    let sent = analyst.scope(Permission::NotificationsRead, now).unwrap();
    let (messages, _) = db
        .exchange_page(&sent, &t("akimat"), None, None, 100)
        .await
        .unwrap();
    let changes: Vec<_> = messages
        .iter()
        .filter(|m| m.kind == "contacts.change")
        .collect();
    assert_eq!(changes.len(), 2, "{messages:?}");
    let mut sizes: Vec<usize> = changes
        .iter()
        .map(|m| {
            let p: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
            p["contacts"].as_array().unwrap().len()
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(
        sizes,
        [1, 2],
        "each message holds the contacts after its change"
    );
    let clocks = analyst.scope(Permission::IncidentsRead, now).unwrap();
    let (owed, _) = db
        .obligations_page(&clocks, &t("akimat"), None, 100)
        .await
        .unwrap();
    let change = owed
        .iter()
        .find(|o| o.kind == "contact_change")
        .expect("a contact-change clock");
    assert_eq!(change.due, now + SignedDuration::from_hours(48));
    let carrying: Vec<_> = changes
        .iter()
        .filter_map(|m| m.obligation.as_ref())
        .collect();
    assert_eq!(
        carrying,
        [&change.id],
        "two changes in one instant owe one report, carried by the first"
    );

    // Confirming an incident writes one notification per contact, in its language, with the transition.
    let incidents = analyst.scope(Permission::IncidentsManage, now).unwrap();
    let incident = Incident::new(
        t("akimat"),
        "brute force".into(),
        Category::PasswordAttack,
        kuzet_model::Criticality::new(2).unwrap(),
        now,
    );
    let id = db
        .create_incident(&incidents, &incident, now)
        .await
        .unwrap();
    let created = db
        .transition_incident(
            &incidents,
            &t("akimat"),
            &id,
            kuzet_db::IncidentStep {
                to: Status::Confirmed,
                reason: None,
            },
            now,
            &IncidentRules::embedded().unwrap(),
        )
        .await
        .unwrap();
    let obligation = created
        .iter()
        .find(|o| o.kind == "owner_notification")
        .unwrap()
        .id
        .clone();
    let sent = analyst.scope(Permission::NotificationsRead, now).unwrap();
    let (listed, next) = db
        .notifications_page(&sent, &t("akimat"), None, 10)
        .await
        .unwrap();
    assert!(next.is_none());
    assert_eq!(listed.len(), 2, "{listed:?}");
    let to_owner = listed.iter().find(|n| n.contact == owner.id).unwrap();
    assert_eq!(to_owner.obligation.as_ref(), Some(&obligation));
    assert_eq!(
        (to_owner.channel, to_owner.address.as_str()),
        (Channel::Email, "akim@akimat.kz")
    );
    assert!(
        to_owner.subject.contains("расталды"),
        "{}",
        to_owner.subject
    );
    assert!(to_owner.body.contains(id.as_str()), "{}", to_owner.body);
    let to_security = listed.iter().find(|n| n.contact == security.id).unwrap();
    assert!(to_security.obligation.is_none());
    assert!(
        to_security.subject.contains("Подтверждён"),
        "{}",
        to_security.subject
    );
    let (first, more) = db
        .notifications_page(&sent, &t("akimat"), None, 1)
        .await
        .unwrap();
    let (second, _) = db
        .notifications_page(&sent, &t("akimat"), more.as_deref(), 1)
        .await
        .unwrap();
    assert_eq!(first.into_iter().chain(second).collect::<Vec<_>>(), listed);

    // Claimed once per lease; a failure waits for its retry; a delivery to the owner fulfils the obligation.
    let claimed = db.system_claim_notifications(now, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let hook = claimed
        .iter()
        .find(|d| d.notification.channel == Channel::Webhook)
        .unwrap();
    assert_eq!(hook.secret, secret);
    assert!(
        db.system_claim_notifications(now, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let after_lease = now + CLAIM_LEASE;
    assert_eq!(
        db.system_claim_notifications(after_lease, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    let retry = db
        .system_notification_failed(&to_security.id, after_lease, "connection refused")
        .await
        .unwrap();
    assert_eq!(retry, after_lease + kuzet_db::retry_delay(1));
    let backlog = db.system_notification_backlog().await.unwrap();
    assert_eq!(
        (backlog.undelivered, backlog.failing, backlog.oldest),
        (2, 1, Some(now))
    );
    let fulfilled = db
        .system_notification_delivered(&to_owner.id, after_lease, "250 2.0.0 Ok: queued")
        .await
        .unwrap();
    assert_eq!(fulfilled.as_ref(), Some(&obligation));
    assert!(matches!(
        db.system_notification_delivered(&to_owner.id, after_lease, "250")
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));
    let record = db
        .incident(
            &analyst.scope(Permission::IncidentsRead, now).unwrap(),
            &t("akimat"),
            &id,
        )
        .await
        .unwrap();
    let done = record
        .obligations
        .iter()
        .find(|o| o.id == obligation)
        .unwrap();
    let (at, by) = done.fulfilled.as_ref().unwrap();
    assert_eq!(*at, after_lease);
    assert!(
        by.contains("akim@akimat.kz") && by.contains("250 2.0.0 Ok: queued"),
        "{by}"
    );
    let (listed, _) = db
        .notifications_page(&sent, &t("akimat"), None, 10)
        .await
        .unwrap();
    let failed = listed.iter().find(|n| n.id == to_security.id).unwrap();
    assert_eq!(
        (
            failed.attempts,
            failed.last_error.as_deref(),
            failed.delivered
        ),
        (1, Some("connection refused"), None)
    );
    let delivered = listed.iter().find(|n| n.id == to_owner.id).unwrap();
    assert_eq!(delivered.receipt.as_deref(), Some("250 2.0.0 Ok: queued"));

    // The clock watch: the NCCIS clock (due +15 min) warns from +10 and alerts once past due, each once, restarts
    // included; the owner's clock was fulfilled by the delivery above and stays quiet.
    let at = |mins| now + SignedDuration::from_mins(mins);
    // Other incidents of the suite have clocks too: only this incident's alarms are compared.
    let raised = |list: Vec<kuzet_db::NewAlert>| -> Vec<(String, String)> {
        list.into_iter()
            .filter(|a| a.detail["incident"] == id.as_str())
            .map(|a| (a.rule_title, a.level))
            .collect()
    };
    let look = |mins| db.system_raise_clock_alerts(at(mins));
    assert!(raised(look(9).await.unwrap()).is_empty());
    assert_eq!(
        raised(look(11).await.unwrap()),
        [(
            "Regulatory clock due soon: nccis_report".to_owned(),
            "high".to_owned()
        )]
    );
    assert!(raised(look(12).await.unwrap()).is_empty(), "once");
    assert_eq!(
        raised(look(15).await.unwrap()),
        [(
            "Regulatory clock overdue: nccis_report".to_owned(),
            "critical".to_owned()
        )]
    );
    assert!(raised(look(40).await.unwrap()).is_empty());
    let (clock_alerts, _) = db
        .alerts_page(
            &analyst.scope(Permission::IncidentsRead, now).unwrap(),
            &t("akimat"),
            &AlertFilter {
                status: None,
                kind: Some("clock".into()),
            },
            None,
            100,
        )
        .await
        .unwrap();
    assert!(
        clock_alerts.iter().all(|a| a.kind == "clock"),
        "the page is of one kind"
    );
    let clock_alerts: Vec<_> = clock_alerts
        .iter()
        .filter(|a| a.detail["incident"] == id.as_str())
        .collect();
    assert_eq!(clock_alerts.len(), 2, "{clock_alerts:#?}");

    // People write on the incident; its timeline merges that with what the system recorded, in time.
    use kuzet_db::EntryKind;
    let akimat = t("akimat");
    let earlier = now - SignedDuration::from_hours(2);
    let first_login = db
        .add_incident_entry(
            &incidents,
            &akimat,
            &id,
            &kuzet_db::NewEntry {
                kind: EntryKind::Event,
                at: Some(earlier),
                text: "first login of the attacker".into(),
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!((first_login.seq, first_login.at), (0, earlier));
    db.add_incident_entry(
        &incidents,
        &akimat,
        &id,
        &kuzet_db::NewEntry {
            kind: EntryKind::Cause,
            at: None,
            text: "a weak root password on web1".into(),
        },
        now,
    )
    .await
    .unwrap();
    for (kind, at, text, expected) in [
        (EntryKind::Comment, None, "  ", "give 1 to 4000"),
        (
            EntryKind::Cause,
            Some(now),
            "x",
            "only an `event` takes a time",
        ),
        (
            EntryKind::Event,
            Some(now + SignedDuration::from_hours(1)),
            "x",
            "not after now",
        ),
    ] {
        let e = db
            .add_incident_entry(
                &incidents,
                &akimat,
                &id,
                &kuzet_db::NewEntry {
                    kind,
                    at,
                    text: text.into(),
                },
                now,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&e, DbError::Invalid { .. }) && e.to_string().contains(expected),
            "{e}"
        );
    }
    let entries = db
        .incident_entries(
            &analyst.scope(Permission::IncidentsRead, now).unwrap(),
            &akimat,
            &id,
        )
        .await
        .unwrap();
    assert_eq!(
        entries.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [EntryKind::Event, EntryKind::Cause]
    );
    let timeline = db
        .incident_timeline(
            &analyst.scope(Permission::IncidentsRead, now).unwrap(),
            &akimat,
            &id,
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [
            "event",
            "detected",
            "status",
            "cause",
            "notification",
            "obligation"
        ],
        "{timeline:#?}"
    );
    assert!(timeline.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(
        timeline[4].text.contains("250 2.0.0 Ok: queued"),
        "{timeline:#?}"
    );

    // The month's metrics know when the attack began (the earliest event written) and the decision.
    let local = kuzet_model::time::kz_local(now);
    let (_, rows) = db
        .incident_metrics(
            &analyst.scope(Permission::ReportsRead, now).unwrap(),
            &akimat,
            (local.year(), local.month()),
        )
        .await
        .unwrap();
    assert!(
        rows.iter().any(|r| r.began == Some(earlier)
            && r.detected == now
            && r.transitions.first().map(|t| t.0) == Some(Status::Confirmed)),
        "{rows:#?}"
    );

    // A removed contact is told nothing more; what it was sent stays.
    db.remove_contact(&manage, &t("akimat"), &security.id, now)
        .await
        .unwrap();
    assert_eq!(db.contacts(&read, &t("akimat")).await.unwrap(), [owner]);
    assert!(matches!(
        db.remove_contact(&manage, &t("akimat"), &security.id, now)
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));
}

async fn alerts(
    db: &Db,
    read: &kuzet_model::access::Scope,
    manage: &kuzet_model::access::Scope,
    now: Timestamp,
) {
    use kuzet_db::{ALERT_EVENTS_KEPT, AlertStatus, NewAlert};
    let hit = |key: &str, at: Timestamp, event: u128| NewAlert {
        tenant: t("akimat"),
        rule_id: "r-1".into(),
        rule_title: "Windows event log cleared".into(),
        level: "high".into(),
        kind: "rule".into(),
        dedup_key: key.into(),
        at,
        events: vec![kuzet_model::EventId::from_u128(event)],
        detail: serde_json::json!({"host": key}),
    };
    let window = SignedDuration::from_mins(10);
    let (first, new) = db
        .system_record_alert(&hit("dc1", now, 1), now, window)
        .await
        .unwrap();
    assert!(new);
    for i in 0..(ALERT_EVENTS_KEPT as u128 + 4) {
        let at = now + SignedDuration::from_secs(i as i64);
        let (same, new) = db
            .system_record_alert(&hit("dc1", at, 2 + i), now, window)
            .await
            .unwrap();
        assert_eq!((same.clone(), new), (first.clone(), false));
    }
    let (other, new) = db
        .system_record_alert(&hit("dc2", now, 999), now, window)
        .await
        .unwrap();
    assert!(new && other != first);
    let record = db.alert(read, &t("akimat"), &first).await.unwrap();
    assert_eq!(record.hits, ALERT_EVENTS_KEPT as u64 + 5);
    assert_eq!(record.events.len(), ALERT_EVENTS_KEPT);
    assert_eq!(
        record.events_dropped, 5,
        "hits beyond the kept events are counted, not lost"
    );
    assert_eq!(record.first, now);
    assert_eq!(
        record.last,
        now + SignedDuration::from_secs(ALERT_EVENTS_KEPT as i64 + 3)
    );
    assert_eq!(record.status, AlertStatus::New);
    assert_eq!(record.detail["host"], "dc1");

    // Past the window, the same key opens a new alert.
    let late = record.last + SignedDuration::from_mins(11);
    let (third, new) = db
        .system_record_alert(&hit("dc1", late, 5000), now, window)
        .await
        .unwrap();
    assert!(new && third != first);

    // Triage is recorded; a false positive takes no more hits; going back to new is refused.
    let triaged = db
        .triage_alert(
            manage,
            &t("akimat"),
            &third,
            AlertStatus::FalsePositive,
            "backup job",
            now,
        )
        .await
        .unwrap();
    assert_eq!(triaged.status, AlertStatus::FalsePositive);
    assert_eq!(triaged.status_by.as_deref(), Some("aigerim"));
    assert_eq!(triaged.status_reason.as_deref(), Some("backup job"));
    let (fourth, new) = db
        .system_record_alert(&hit("dc1", late, 5001), now, window)
        .await
        .unwrap();
    assert!(new && fourth != third);
    assert!(matches!(
        db.triage_alert(manage, &t("akimat"), &fourth, AlertStatus::New, "", now)
            .await
            .unwrap_err(),
        DbError::Invalid { .. }
    ));
    assert!(
        AlertStatus::parse("closed")
            .unwrap_err()
            .to_string()
            .contains("expected new, acknowledged")
    );

    // Another tenant's alert does not exist for this analyst.
    let mut elsewhere = hit("x", now, 1);
    elsewhere.tenant = t("bank");
    let (bank, _) = db
        .system_record_alert(&elsewhere, now, window)
        .await
        .unwrap();
    assert!(matches!(
        db.alert(read, &t("akimat"), &bank).await.unwrap_err(),
        DbError::Denied(_) | DbError::NotFound(_)
    ));
    assert!(matches!(
        db.alert(read, &t("bank"), &bank).await.unwrap_err(),
        DbError::Denied(_) | DbError::NotFound(_)
    ));

    // Pages, newest first, by status.
    let (all, _) = db
        .alerts_page(read, &t("akimat"), &AlertFilter::default(), None, 500)
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    let (page, cursor) = db
        .alerts_page(read, &t("akimat"), &AlertFilter::default(), None, 3)
        .await
        .unwrap();
    let (rest, end) = db
        .alerts_page(
            read,
            &t("akimat"),
            &AlertFilter::default(),
            cursor.as_deref(),
            3,
        )
        .await
        .unwrap();
    assert!(end.is_none());
    let paged: Vec<_> = page.iter().chain(&rest).map(|a| a.id.clone()).collect();
    assert_eq!(paged, all.iter().map(|a| a.id.clone()).collect::<Vec<_>>());
    let (fp, _) = db
        .alerts_page(
            read,
            &t("akimat"),
            &AlertFilter::status(AlertStatus::FalsePositive),
            None,
            500,
        )
        .await
        .unwrap();
    assert_eq!(fp.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), [third]);

    // Alerts escalated into an incident: detected when the first was, each in at most one incident, all or none.
    let incident = Incident::new(
        t("akimat"),
        "log clearing on dc1".into(),
        Category::ProtectionBypass,
        kuzet_model::Criticality::new(2).unwrap(),
        late,
    );
    let made = db
        .create_incident_from_alerts(manage, &incident, std::slice::from_ref(&first), late)
        .await
        .unwrap();
    let again = db
        .create_incident_from_alerts(manage, &incident, &[fourth.clone(), first.clone()], late)
        .await
        .unwrap_err();
    assert!(
        matches!(&again, DbError::Conflict(m) if m.contains(first.as_str()) && m.contains(made.as_str())),
        "{again}"
    );
    let untouched = db.alert(read, &t("akimat"), &fourth).await.unwrap();
    assert_eq!(untouched.status, AlertStatus::New, "all or none");
    assert!(matches!(
        db.add_incident_alerts(
            manage,
            &t("akimat"),
            &made,
            &[fourth.clone(), bank.clone()],
            late
        )
        .await
        .unwrap_err(),
        DbError::NotFound(_)
    ));
    db.add_incident_alerts(
        manage,
        &t("akimat"),
        &made,
        std::slice::from_ref(&fourth),
        late,
    )
    .await
    .unwrap();
    let record = db.incident(read, &t("akimat"), &made).await.unwrap();
    assert_eq!(record.incident.detected, now, "the first alert's first hit");
    assert_eq!(record.alerts, [first.clone(), fourth.clone()]);
    let escalated = db.alert(read, &t("akimat"), &first).await.unwrap();
    assert_eq!(escalated.status, AlertStatus::Escalated);
    assert!(escalated.status_reason.unwrap().contains(made.as_str()));

    // One alert turns out to be another incident: split off, all or none, each timeline saying where it went.
    assert!(matches!(
        db.split_incident(
            manage,
            &t("akimat"),
            &made,
            &[fourth.clone(), other.clone()],
            "a second intrusion",
            late
        )
        .await
        .unwrap_err(),
        DbError::Invalid { .. }
    ));
    let split = db
        .split_incident(
            manage,
            &t("akimat"),
            &made,
            std::slice::from_ref(&fourth),
            "a second intrusion",
            late,
        )
        .await
        .unwrap();
    let old = db.incident(read, &t("akimat"), &made).await.unwrap();
    let new = db.incident(read, &t("akimat"), &split).await.unwrap();
    assert_eq!(old.alerts, std::slice::from_ref(&first));
    assert_eq!(new.alerts, std::slice::from_ref(&fourth));
    assert_eq!(new.incident.title, "a second intrusion");
    assert_eq!(new.incident.category, Category::ProtectionBypass);
    assert_eq!(new.incident.detected, late, "its alert's first hit");
    let said = db
        .incident_entries(read, &t("akimat"), &made)
        .await
        .unwrap();
    assert!(said[0].text.contains(split.as_str()), "{said:?}");
    let said = db
        .incident_entries(read, &t("akimat"), &split)
        .await
        .unwrap();
    assert!(said[0].text.contains(made.as_str()), "{said:?}");
    overview(db, read).await;
}

/// The overview's counts agree with the lists they summarize.
async fn overview(db: &Db, read: &kuzet_model::access::Scope) {
    use kuzet_db::AlertStatus;
    let tenant = t("akimat");
    let seen = db.tenant_overview(read, &tenant, 2).await.unwrap();
    let (new, _) = db
        .alerts_page(
            read,
            &tenant,
            &AlertFilter::status(AlertStatus::New),
            None,
            500,
        )
        .await
        .unwrap();
    let mut by_level = std::collections::BTreeMap::<String, u64>::new();
    for alert in &new {
        *by_level.entry(alert.level.clone()).or_default() += 1;
    }
    assert_eq!(seen.alerts_new, by_level.into_iter().collect::<Vec<_>>());
    let (acknowledged, _) = db
        .alerts_page(
            read,
            &tenant,
            &AlertFilter::status(AlertStatus::Acknowledged),
            None,
            500,
        )
        .await
        .unwrap();
    assert_eq!(seen.alerts_acknowledged, acknowledged.len() as u64);
    let (incidents, _) = db.incidents_page(read, &tenant, None, 500).await.unwrap();
    let open = incidents
        .iter()
        .filter(|i| !matches!(i.incident.status, Status::Closed | Status::FalsePositive))
        .count() as u64;
    assert!(open > 0, "the suite left open incidents");
    assert_eq!(
        seen.incidents_open.iter().map(|(_, n)| n).sum::<u64>(),
        open
    );
    let (obligations, _) = db.obligations_page(read, &tenant, None, 500).await.unwrap();
    let pending: Vec<_> = obligations
        .iter()
        .filter(|o| o.fulfilled.is_none())
        .collect();
    assert_eq!(seen.pending_total, pending.len() as u64);
    assert_eq!(seen.pending.len(), pending.len().min(2));
    assert!(
        seen.pending.windows(2).all(|w| w[0].due <= w[1].due),
        "soonest first"
    );
    let other = db.tenant_overview(read, &t("bank"), 2).await;
    assert!(
        matches!(other, Err(kuzet_db::DbError::NotFound(_))),
        "{other:?}"
    );
}

/// Files kept as evidence: recorded with their collection in the chain of custody, listed, refused without a
/// reason or a proper digest, the same file twice a conflict, another tenant's incident not found.
async fn evidence_files(
    db: &Db,
    analyst: &Principal,
    incident: &kuzet_model::ObjectId,
    now: Timestamp,
) {
    use kuzet_db::EvidenceFile;
    let manage = analyst.scope(Permission::IncidentsManage, now).unwrap();
    let read = analyst.scope(Permission::IncidentsRead, now).unwrap();
    let file = EvidenceFile {
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        name: "memory.dmp".into(),
        size: 4,
        added_by: String::new(),
        added: now,
        reason: "taken from the web server".into(),
    };
    let (_, custody_before) = db.evidence(&read, &t("akimat"), incident).await.unwrap();
    db.attach_file(&manage, &t("akimat"), incident, &file, now)
        .await
        .unwrap();
    let err = db
        .attach_file(&manage, &t("akimat"), incident, &file, now)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Conflict(_)), "{err}");
    let no_reason = EvidenceFile {
        reason: " ".into(),
        sha256: "0".repeat(64),
        ..file.clone()
    };
    assert!(
        db.attach_file(&manage, &t("akimat"), incident, &no_reason, now)
            .await
            .is_err()
    );
    let bad_digest = EvidenceFile {
        sha256: "XYZ".into(),
        ..file.clone()
    };
    assert!(
        db.attach_file(&manage, &t("akimat"), incident, &bad_digest, now)
            .await
            .is_err()
    );
    let listed = db
        .evidence_files(&read, &t("akimat"), incident)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].name.as_str(), listed[0].size), ("memory.dmp", 4));
    assert_eq!(listed[0].added_by, "aigerim");
    let (_, custody) = db.evidence(&read, &t("akimat"), incident).await.unwrap();
    assert_eq!(custody.len(), custody_before.len() + 1);
    assert!(
        custody.last().unwrap().reason.contains(&file.sha256),
        "{custody:?}"
    );
    assert!(matches!(
        db.evidence_files(&read, &t("bank"), incident).await,
        Err(DbError::NotFound(_))
    ));
}

/// The risk catalog: entries scored and ordered, refused when out of range; a confirmed incident linked once, a
/// detected one refused; another tenant's catalog not found.
async fn risks(
    db: &Db,
    admin: &Principal,
    analyst: &Principal,
    confirmed: &kuzet_model::ObjectId,
    now: Timestamp,
) {
    use kuzet_cases::{Rating, Treatment};
    use kuzet_db::NewRisk;
    let manage = admin.scope(Permission::AssetsManage, now).unwrap();
    let entry = |title: &str, likelihood, impact| NewRisk {
        tenant: t("akimat"),
        title: title.into(),
        threat: "password guessing against the e-services portal".into(),
        likelihood,
        impact,
        treatment: Treatment::Mitigate,
        plan: "lockout after 5 failures; MFA for staff by Q1".into(),
        owner: "IT department".into(),
    };
    let low = db
        .create_risk(&manage, &entry("Spam relay", 2, 2), now)
        .await
        .unwrap();
    assert_eq!((low.score, low.rating), (4, Rating::Low));
    let high = db
        .create_risk(&manage, &entry("Portal accounts taken over", 4, 4), now)
        .await
        .unwrap();
    assert_eq!((high.score, high.rating), (16, Rating::Critical));
    let err = db
        .create_risk(&manage, &entry("Bad", 6, 1), now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("likelihood 6"), "{err}");
    let err = db
        .create_risk(&manage, &entry(" ", 1, 1), now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("title"), "{err}");
    // An analyst may not write the catalog.
    let analyst_manage = analyst.scope(Permission::IncidentsManage, now).unwrap();
    assert!(
        db.create_risk(&analyst_manage, &entry("No", 1, 1), now)
            .await
            .is_err()
    );

    db.link_risk(&analyst_manage, &t("akimat"), confirmed, &high.id, now)
        .await
        .unwrap();
    db.link_risk(&analyst_manage, &t("akimat"), confirmed, &high.id, now)
        .await
        .unwrap();
    let read = analyst.scope(Permission::TenantsRead, now).unwrap();
    let listed = db.risks(&read, &t("akimat")).await.unwrap();
    let titles: Vec<_> = listed.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Portal accounts taken over", "Spam relay"],
        "highest score first"
    );
    assert_eq!(listed[0].incidents, std::slice::from_ref(confirmed));
    assert_eq!(listed[0].treatment, Treatment::Mitigate);
    let unknown = kuzet_model::ObjectId::new("00000000000000000000000000000000").unwrap();
    assert!(matches!(
        db.link_risk(&analyst_manage, &t("akimat"), confirmed, &unknown, now)
            .await,
        Err(DbError::NotFound(_))
    ));
    let detected = Incident::new(
        t("akimat"),
        "not yet confirmed".into(),
        Category::PasswordAttack,
        kuzet_model::Criticality::new(1).unwrap(),
        now,
    );
    let fresh = db
        .create_incident(&analyst_manage, &detected, now)
        .await
        .unwrap();
    let err = db
        .link_risk(&analyst_manage, &t("akimat"), &fresh, &high.id, now)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("only a confirmed incident"),
        "{err}"
    );
    assert!(matches!(
        db.risks(&read, &t("bank")).await,
        Err(DbError::NotFound(_))
    ));
}

/// Per-tenant rule settings and exceptions: set, replaced, listed per tenant, removed; bad input refused.
async fn rule_controls(
    db: &Db,
    rules: &kuzet_model::access::Scope,
    read: &kuzet_model::access::Scope,
    now: Timestamp,
) {
    use kuzet_db::NewRuleException;
    let off = db
        .set_rule_enabled(
            rules,
            &t("akimat"),
            "r-noisy",
            false,
            "fires on the backup job",
            now,
        )
        .await
        .unwrap();
    assert!(!off.enabled);
    assert_eq!(off.updated_by, "admin");
    assert!(
        matches!(
            db.set_rule_enabled(rules, &t("akimat"), "r-noisy", false, "  ", now)
                .await
                .unwrap_err(),
            DbError::Invalid { .. }
        ),
        "switching a rule off needs a reason"
    );
    db.set_rule_enabled(rules, &t("bank"), "r-noisy", false, "not ours", now)
        .await
        .unwrap();
    // Setting again replaces.
    db.set_rule_enabled(rules, &t("akimat"), "r-other", true, "", now)
        .await
        .unwrap();
    let exception = db
        .add_rule_exception(
            rules,
            &t("akimat"),
            &NewRuleException {
                rule_id: "r-logon".into(),
                field: "host.name".into(),
                value: "JUMP01".into(),
                reason: "the jump host logs on at night".into(),
                until: Some(now + SignedDuration::from_hours(24)),
            },
            now,
        )
        .await
        .unwrap();
    let past = NewRuleException {
        rule_id: "r".into(),
        field: "f".into(),
        value: "v".into(),
        reason: "r".into(),
        until: Some(now - SignedDuration::from_hours(1)),
    };
    assert!(
        db.add_rule_exception(rules, &t("akimat"), &past, now)
            .await
            .is_err()
    );
    let (settings, exceptions) = db.rule_controls(read, &t("akimat")).await.unwrap();
    assert_eq!(
        settings
            .iter()
            .map(|s| (s.rule_id.as_str(), s.enabled))
            .collect::<Vec<_>>(),
        [("r-noisy", false), ("r-other", true)]
    );
    assert_eq!(exceptions, std::slice::from_ref(&exception));
    let (all_settings, _) = db.system_rule_controls().await.unwrap();
    assert_eq!(all_settings.len(), 3);
    // The analyst of akimat cannot change rules; another tenant's exception is not found.
    assert!(
        db.set_rule_enabled(read, &t("akimat"), "r", true, "", now)
            .await
            .is_err()
    );
    assert!(matches!(
        db.remove_rule_exception(rules, &t("bank"), &exception.id)
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));
    db.remove_rule_exception(rules, &t("akimat"), &exception.id)
        .await
        .unwrap();
    assert!(
        db.rule_controls(read, &t("akimat"))
            .await
            .unwrap()
            .1
            .is_empty()
    );
}

/// Imported rule files: new, unchanged, changed (a new version); the latest of each is what runs; every version
/// stays readable as it was.
async fn rule_files(db: &Db, now: Timestamp) {
    use kuzet_db::ImportOutcome;
    let a1 = "title: a\nlogsource: {}\ndetection: {s: {x: 1}, condition: s}\n";
    let a2 = "title: a\nlogsource: {}\ndetection: {s: {x: 2}, condition: s}\n";
    assert_eq!(
        db.system_import_rule_file("win/a.yml", a1, "cli", now)
            .await
            .unwrap(),
        ImportOutcome::New
    );
    assert_eq!(
        db.system_import_rule_file("win/a.yml", a1, "cli", now)
            .await
            .unwrap(),
        ImportOutcome::Unchanged
    );
    assert_eq!(
        db.system_import_rule_file("win/a.yml", a2, "cli", now)
            .await
            .unwrap(),
        ImportOutcome::Changed { version: 2 }
    );
    assert_eq!(
        db.system_import_rule_file("b.yml", a1, "cli", now)
            .await
            .unwrap(),
        ImportOutcome::New
    );
    let latest = db.system_rule_files().await.unwrap();
    assert_eq!(
        latest
            .iter()
            .map(|f| (f.name.as_str(), f.version, f.text.as_str()))
            .collect::<Vec<_>>(),
        [("b.yml", 1, a1), ("win/a.yml", 2, a2)]
    );
    let versions = db.system_rule_file_versions("win/a.yml").await.unwrap();
    assert_eq!(
        versions.iter().map(|f| f.text.as_str()).collect::<Vec<_>>(),
        [a1, a2]
    );
}

fn hex_sha256(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kuzet.db").display());
    let db = Db::connect(&url, RoleCatalog::default(), policy())
        .await
        .unwrap();
    suite(db).await;
    // Reopening applies no migration twice.
    let db = Db::connect(&url, RoleCatalog::default(), policy())
        .await
        .unwrap();
    assert_eq!(db.schema_version().await.unwrap(), 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_postgres() {
    let Ok(admin_url) = std::env::var("KUZET_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PostgreSQL conformance suite: KUZET_TEST_POSTGRES_URL is not set (scripts/test sets it)"
        );
        eprintln!(
            "SKIPPED: PostgreSQL conformance — KUZET_TEST_POSTGRES_URL is not set; run scripts/test, which starts a \
             throwaway server on loopback"
        );
        return;
    };
    let name = format!("kuzet_conformance_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap();
    let url = format!("{base}/{name}");
    let db = Db::connect(&url, RoleCatalog::default(), policy())
        .await
        .unwrap();
    suite(db.clone()).await;
    let again = Db::connect(&url, RoleCatalog::default(), policy())
        .await
        .unwrap();
    assert_eq!(again.schema_version().await.unwrap(), 21);
    drop(db);
    drop(again);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

/// The NCCIS outbox: each step of a confirmed incident writes one message with the step; a message's bytes are
/// frozen once; the hub's receipt fulfils the NCCIS obligation of the initial message.
async fn exchange(db: &Db, analyst: &Principal, now: Timestamp) {
    let incidents = analyst.scope(Permission::IncidentsManage, now).unwrap();
    let rules = IncidentRules::embedded().unwrap();
    let mut incident = Incident::new(
        t("akimat"),
        "ransomware on the portal".into(),
        Category::Malware,
        kuzet_model::Criticality::new(3).unwrap(),
        now,
    );
    incident.facilities = vec![FacilityId::new("akimat-portal").unwrap()];
    let id = db
        .create_incident(&incidents, &incident, now)
        .await
        .unwrap();
    let step = |to, at: Timestamp, reason: Option<&str>| {
        let (incidents, id, rules) = (incidents.clone(), id.clone(), &rules);
        let reason = reason.map(str::to_owned);
        async move {
            db.transition_incident(
                &incidents,
                &t("akimat"),
                &id,
                kuzet_db::IncidentStep { to, reason },
                at,
                rules,
            )
            .await
            .unwrap()
        }
    };
    let read = analyst.scope(Permission::NotificationsRead, now).unwrap();
    let of_incident = || async {
        let (page, _) = db
            .exchange_page(&read, &t("akimat"), None, None, 100)
            .await
            .unwrap();
        let mut mine: Vec<_> = page
            .into_iter()
            .filter(|m| m.incident.as_ref() == Some(&id))
            .collect();
        mine.reverse();
        // The list filtered by incident holds exactly these.
        let (mut filtered, _) = db
            .exchange_page(&read, &t("akimat"), Some(&id), None, 100)
            .await
            .unwrap();
        filtered.reverse();
        assert_eq!(filtered, mine);
        mine
    };
    assert!(
        of_incident().await.is_empty(),
        "nothing before confirmation"
    );
    let created = step(Status::Confirmed, now, None).await;
    let nccis = created
        .iter()
        .find(|o| o.kind == "nccis_report")
        .unwrap()
        .id
        .clone();
    let messages = of_incident().await;
    assert_eq!(messages.len(), 1);
    let initial = &messages[0];
    assert_eq!(
        (
            initial.kind.as_str(),
            initial.obligation.as_ref(),
            initial.facilities.as_slice()
        ),
        (
            "incident.initial",
            Some(&nccis),
            &[FacilityId::new("akimat-portal").unwrap()][..]
        )
    );
    let payload: serde_json::Value = serde_json::from_str(&initial.payload).unwrap();
    assert_eq!(payload["level"], 3);
    assert_eq!(payload["status"], "confirmed");
    assert_eq!(payload["category"], "malicious-code");
    assert_eq!(payload["incident"], id.as_str());
    assert_eq!(payload["confirmed"], now.to_string());

    // Claimed under a lease; frozen once (a second freeze returns the first bytes); a failure waits for its retry.
    let claimed: Vec<_> = db.system_claim_exchange(now, 100).await.unwrap();
    assert!(claimed.iter().any(|m| m.id == initial.id));
    assert!(
        db.system_claim_exchange(now, 100).await.unwrap().is_empty(),
        "leased"
    );
    let frozen = db
        .system_freeze_exchange(&initial.id, "{\"a\":1}", "h..s")
        .await
        .unwrap();
    assert_eq!(frozen, ("{\"a\":1}".to_owned(), "h..s".to_owned()));
    let again = db
        .system_freeze_exchange(&initial.id, "{\"b\":2}", "x..y")
        .await
        .unwrap();
    assert_eq!(again, frozen, "frozen once");
    let retry = db
        .system_exchange_failed(
            &initial.id,
            (now, kuzet_db::RETRY_BASE),
            "connection refused",
        )
        .await
        .unwrap();
    assert_eq!(retry, now + kuzet_db::retry_delay(1));
    let backlog = db.system_exchange_backlog().await.unwrap();
    assert!(
        backlog.undelivered >= 1 && backlog.failing >= 1,
        "{backlog:?}"
    );
    let fulfilled = db
        .system_exchange_delivered(&initial.id, retry, "{\"receipt\":1}", "r..s", "accepted")
        .await
        .unwrap();
    assert_eq!(fulfilled.as_ref(), Some(&nccis));
    assert!(matches!(
        db.system_exchange_delivered(&initial.id, retry, "{}", "r..s", "again")
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));
    let record = db
        .incident(
            &analyst.scope(Permission::IncidentsRead, now).unwrap(),
            &t("akimat"),
            &id,
        )
        .await
        .unwrap();
    let (at, by) = record
        .obligations
        .iter()
        .find(|o| o.id == nccis)
        .unwrap()
        .fulfilled
        .clone()
        .unwrap();
    assert_eq!(at, retry);
    assert!(
        by.contains("NCCIS receipt accepted") && by.contains(initial.id.as_str()),
        "{by}"
    );
    let delivered = &of_incident().await[0];
    assert_eq!(
        delivered.receipt,
        Some(("{\"receipt\":1}".to_owned(), "r..s".to_owned()))
    );
    assert_eq!(
        (delivered.attempts, delivered.last_error.as_deref()),
        (2, None)
    );

    // Later steps are updates, the last a closure, each with its reason.
    let later = |mins| now + SignedDuration::from_mins(mins);
    step(Status::Contained, later(5), Some("portal isolated")).await;
    step(Status::Eradicated, later(10), None).await;
    step(Status::Recovered, later(20), None).await;
    step(Status::Closed, later(30), None).await;
    let kinds: Vec<(String, String)> = of_incident()
        .await
        .iter()
        .map(|m| {
            let p: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
            (m.kind.clone(), p["status"].as_str().unwrap().to_owned())
        })
        .collect();
    let expected = [
        ("incident.initial", "confirmed"),
        ("incident.update", "contained"),
        ("incident.update", "eradicated"),
        ("incident.update", "recovered"),
        ("incident.closure", "closed"),
    ];
    assert_eq!(kinds, expected.map(|(k, s)| (k.to_owned(), s.to_owned())));
    let contained: serde_json::Value =
        serde_json::from_str(&of_incident().await[1].payload).unwrap();
    assert_eq!(contained["reason"], "portal isolated");
    assert!(
        of_incident().await[1..]
            .iter()
            .all(|m| m.obligation.is_none())
    );

    // The quarterly report goes the same way: the quarter's incidents with their measures.
    let quarter = kuzet_cases::Quarter::of(now);
    let (report, obligation) = db
        .submit_quarterly_report(&incidents, &t("akimat"), quarter, later(40))
        .await
        .unwrap();
    let obligation =
        obligation.expect("the suite made akimat's report obligation for this quarter");
    let (page, _) = db
        .exchange_page(&read, &t("akimat"), None, None, 100)
        .await
        .unwrap();
    let sent = page.iter().find(|m| m.id == report).unwrap();
    assert_eq!(
        (sent.kind.as_str(), sent.incident.as_ref()),
        ("report.quarterly", None)
    );
    let payload: serde_json::Value = serde_json::from_str(&sent.payload).unwrap();
    assert_eq!(
        (payload["year"].as_i64(), payload["quarter"].as_i64()),
        (
            Some(i64::from(quarter.year)),
            Some(i64::from(quarter.number))
        )
    );
    let row = payload["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["incident"] == id.as_str())
        .unwrap();
    assert_eq!(row["status"], "closed");
    assert!(row["measures"].is_array());
    let fulfilled = db
        .system_exchange_delivered(&report, later(41), "{}", "r..s", "accepted")
        .await
        .unwrap();
    assert_eq!(
        fulfilled,
        Some(obligation),
        "the receipt fulfils the quarterly report's clock"
    );
    assert!(matches!(
        db.submit_quarterly_report(&read, &t("akimat"), quarter, now)
            .await
            .unwrap_err(),
        DbError::Denied(_)
    ));

    // Another tenant's reader sees none of them.
    assert!(matches!(
        db.exchange_page(&read, &t("other-tenant"), None, None, 10)
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));
}

/// The hub: ISOCs by certificate, messages once per (ISOC, id), a repeat a duplicate, other bytes a conflict.
async fn hub(db: &Db, now: Timestamp) {
    use kuzet_db::{HubMessage, HubStored};
    let isoc = db
        .system_hub_register("isoc-alatau", "Alatau ISOC", "ab12", "PEM", now)
        .await
        .unwrap();
    assert_eq!(isoc.revoked, None);
    assert!(matches!(
        db.system_hub_register("isoc-other", "Other", "ab12", "PEM", now)
            .await
            .unwrap_err(),
        DbError::Conflict(_)
    ));
    assert!(matches!(
        db.system_hub_register("Bad Id", "x", "cd34", "PEM", now)
            .await
            .unwrap_err(),
        DbError::Invalid { .. }
    ));
    assert_eq!(
        db.system_hub_isoc_by_fingerprint("ab12").await.unwrap(),
        Some(isoc.clone())
    );
    let message = HubMessage {
        isoc: "isoc-alatau".into(),
        id: "0123456789abcdef0123456789abcdef".into(),
        kind: "incident.initial".into(),
        tenant: Some("akimat".into()),
        level: Some(3),
        digest: "sha256:00".into(),
        body: "{}".into(),
        jws: "h..s".into(),
        received: now,
    };
    assert_eq!(
        db.system_hub_store(&message, None).await.unwrap(),
        HubStored::Accepted
    );
    let later = HubMessage {
        received: now + SignedDuration::from_mins(1),
        ..message.clone()
    };
    assert_eq!(
        db.system_hub_store(&later, None).await.unwrap(),
        HubStored::Duplicate(now)
    );
    let other = HubMessage {
        digest: "sha256:11".into(),
        ..later.clone()
    };
    assert_eq!(
        db.system_hub_store(&other, None).await.unwrap(),
        HubStored::Conflict
    );
    assert_eq!(
        db.system_hub_messages(None, 10).await.unwrap(),
        vec![message.clone()]
    );
    let next = db
        .system_hub_messages(Some((message.received, &message.isoc, &message.id)), 10)
        .await
        .unwrap();
    assert!(next.is_empty());
    // A level-3 incident is escalated once per incident and address, whatever follows.
    let notices = [kuzet_db::EscalationNotice {
        address: "duty@knb.kz".into(),
        language: kuzet_cases::Lang::Ru,
        notice: kuzet_cases::Notice {
            subject: "[3] инцидент".into(),
            body: "…".into(),
        },
    }];
    let escalate = kuzet_db::Escalate {
        incident: "inc-1",
        level: 3,
        notices: &notices,
    };
    for (n, id) in ["1", "2"].iter().enumerate() {
        let step = HubMessage {
            id: format!("{id:0>32}"),
            digest: format!("sha256:{n}"),
            ..message.clone()
        };
        assert_eq!(
            db.system_hub_store(&step, Some(&escalate)).await.unwrap(),
            HubStored::Accepted
        );
    }
    let claimed = db.system_claim_escalations(now, 10).await.unwrap();
    assert_eq!(
        claimed.len(),
        1,
        "once per incident and address: {claimed:?}"
    );
    assert_eq!(
        (claimed[0].address.as_str(), claimed[0].level),
        ("duty@knb.kz", 3)
    );
    let next = db
        .system_escalation_failed(&claimed[0].id, now, "451 try later")
        .await
        .unwrap();
    assert_eq!(next, now + kuzet_db::retry_delay(1));
    db.system_escalation_delivered(&claimed[0].id, next, "250 ok")
        .await
        .unwrap();
    let all = db.system_hub_escalations(10).await.unwrap();
    assert_eq!(
        (all[0].delivered, all[0].answer.as_deref(), all[0].attempts),
        (Some(next), Some("250 ok"), 2)
    );
    db.system_hub_revoke("isoc-alatau", now).await.unwrap();
    assert_eq!(
        db.system_hub_isoc_by_fingerprint("ab12").await.unwrap(),
        None
    );
    assert!(matches!(
        db.system_hub_revoke("isoc-alatau", now).await.unwrap_err(),
        DbError::NotFound(_)
    ));
    assert_eq!(db.system_hub_isocs().await.unwrap().len(), 1);
}

/// Assets and advisories: an advisory from the hub is taken once and reaches only the tenants whose assets it
/// matches, each with its part and a notice to its contacts; the hub's outbox numbers messages per ISOC, freezes
/// them once and records acknowledgements.
/// Events and incidents link the assets they name, by host name and address, only in their own tenant.
async fn asset_links(
    db: &Db,
    admin: &Principal,
    analyst: &Principal,
    manage: &kuzet_model::access::Scope,
    now: Timestamp,
) {
    use kuzet_cases::Observed;
    use kuzet_db::{NewAlert, NewAsset};
    let dc = db
        .create_asset(
            &admin.scope(Permission::AssetsManage, now).unwrap(),
            &NewAsset {
                tenant: t("akimat"),
                facility: None,
                name: "dc7.akimat.local".into(),
                product: None,
                version: None,
                addresses: vec!["10.0.7.0/24".parse().unwrap()],
            },
            now,
        )
        .await
        .unwrap();
    let events = analyst.scope(Permission::EventsRead, now).unwrap();
    let observed = [
        Observed::host("winlog.computer_name", "DC7"),
        Observed::address("source.ip", "10.0.7.9"),
        Observed::address("destination.ip", "192.0.2.1"),
    ];
    let linked = db
        .event_assets(&events, &t("akimat"), &observed)
        .await
        .unwrap();
    let found: Vec<(&str, &str)> = linked
        .iter()
        .map(|l| (l.asset.name.as_str(), l.link.field.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("dc7.akimat.local", "winlog.computer_name"),
            ("dc7.akimat.local", "source.ip")
        ]
    );
    assert!(
        db.event_assets(&events, &t("bank"), &observed)
            .await
            .is_err(),
        "another tenant's inventory is out of reach"
    );
    assert!(
        db.event_assets(
            &analyst.scope(Permission::TenantsRead, now).unwrap(),
            &t("akimat"),
            &observed
        )
        .await
        .is_err(),
        "linking an event's assets is reading events"
    );

    // An incident links the assets its alerts name: the host, and the addresses a correlation grouped by.
    let (alert, _) = db
        .system_record_alert(
            &NewAlert {
                tenant: t("akimat"),
                rule_id: "c-1".into(),
                rule_title: "password guessing".into(),
                level: "high".into(),
                kind: "correlation".into(),
                dedup_key: "assets".into(),
                at: now,
                events: vec![],
                detail: serde_json::json!({"host": "dc7", "group": {"source.ip": "10.0.7.20", "user.name": "bob"}}),
            },
            now,
            SignedDuration::from_mins(10),
        )
        .await
        .unwrap();
    let incident = db
        .create_incident_from_alerts(
            manage,
            &Incident::new(
                t("akimat"),
                "guessing on dc7".into(),
                Category::PasswordAttack,
                kuzet_model::Criticality::new(2).unwrap(),
                now,
            ),
            std::slice::from_ref(&alert),
            now,
        )
        .await
        .unwrap();
    let read = analyst.scope(Permission::IncidentsRead, now).unwrap();
    let linked = db
        .incident_assets(&read, &t("akimat"), &incident)
        .await
        .unwrap();
    assert_eq!(
        linked
            .iter()
            .map(|l| (
                l.asset.id.clone(),
                l.link.field.clone(),
                l.link.value.clone()
            ))
            .collect::<Vec<_>>(),
        [
            (
                dc.id.clone(),
                format!("alert {alert}: host"),
                "dc7".to_owned()
            ),
            (
                dc.id.clone(),
                format!("alert {alert}: source.ip"),
                "10.0.7.20".to_owned()
            )
        ]
    );
    assert!(matches!(
        db.incident_assets(&read, &t("bank"), &incident)
            .await
            .unwrap_err(),
        DbError::NotFound(_) | DbError::Denied(_)
    ));

    // The language a user chose follows them; only the console's three are languages.
    db.set_language(analyst, Some("ru")).await.unwrap();
    assert_eq!(
        db.user_language(analyst.user()).await.unwrap().as_deref(),
        Some("ru")
    );
    let german = db.set_language(analyst, Some("de")).await.unwrap_err();
    assert!(
        german.to_string().contains("expected kk, ru or en"),
        "{german}"
    );
    db.set_language(analyst, None).await.unwrap();
    assert_eq!(db.user_language(analyst.user()).await.unwrap(), None);

    // Recorded observables: checked, written one way, kept once; the incident's assets follow them.
    use kuzet_cases::{Observable, ObservableKind};
    let ip = Observable::parse(ObservableKind::Ip, " 10.0.8.1 ").unwrap();
    let rest = db
        .create_asset(
            &admin.scope(Permission::AssetsManage, now).unwrap(),
            &NewAsset {
                tenant: t("akimat"),
                facility: None,
                name: "proxy".into(),
                product: None,
                version: None,
                addresses: vec!["10.0.8.0/24".parse().unwrap()],
            },
            now,
        )
        .await
        .unwrap();
    let (first, new) = db
        .add_observable(manage, &t("akimat"), &incident, &ip, "proxy log", now)
        .await
        .unwrap();
    assert!(new && first.observable.value == "10.0.8.1" && first.note == "proxy log");
    let (again, new) = db
        .add_observable(manage, &t("akimat"), &incident, &ip, "again", now)
        .await
        .unwrap();
    assert!(!new, "a value recorded twice is one observable");
    assert_eq!(again, first, "as first recorded");
    let listed = db
        .incident_observables(&read, &t("akimat"), &incident)
        .await
        .unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|o| (
                o.observable.kind.as_str(),
                o.observable.value.as_str(),
                o.alert.is_some()
            ))
            .collect::<Vec<_>>(),
        [
            ("ip", "10.0.8.1", false),
            ("host", "dc7", true),
            ("ip", "10.0.7.20", true)
        ]
    );
    assert_eq!(listed[0].note, "proxy log");
    let linked = db
        .incident_assets(&read, &t("akimat"), &incident)
        .await
        .unwrap();
    assert_eq!(linked.len(), 3);
    assert_eq!(linked[0].asset.id, rest.id);
    assert_eq!(
        linked[0].link.field,
        format!("observable ({})", manage.user())
    );
    assert!(
        db.add_observable(
            &analyst.scope(Permission::IncidentsRead, now).unwrap(),
            &t("akimat"),
            &incident,
            &ip,
            "",
            now
        )
        .await
        .is_err(),
        "recording is managing"
    );

    // Assignment: to a user who manages the tenant's incidents, with a note on the timeline; to nobody again.
    let aigerim = UserId::new("aigerim").unwrap();
    db.assign_incident(manage, &t("akimat"), &incident, Some(&aigerim), now)
        .await
        .unwrap();
    let record = db.incident(&read, &t("akimat"), &incident).await.unwrap();
    assert_eq!(record.assignee.as_ref(), Some(&aigerim));
    for (user, reason) in [
        ("nobody", "no such user"),
        (
            "owner",
            "no role of the user manages incidents of tenant `akimat`",
        ),
        ("nccis", "no role of the user manages incidents"),
    ] {
        let error = db
            .assign_incident(
                manage,
                &t("akimat"),
                &incident,
                Some(&UserId::new(user).unwrap()),
                now,
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(reason), "{user}: {error}");
    }
    db.assign_incident(manage, &t("akimat"), &incident, None, now)
        .await
        .unwrap();
    let record = db.incident(&read, &t("akimat"), &incident).await.unwrap();
    assert_eq!(record.assignee, None);
    let timeline = db
        .incident_timeline(&read, &t("akimat"), &incident)
        .await
        .unwrap();
    let notes: Vec<String> = timeline.iter().map(|i| format!("{i:?}")).collect();
    assert!(
        notes.iter().any(|n| n.contains("assigned to aigerim")),
        "{notes:?}"
    );
}

async fn advisories(db: &Db, admin: &Principal, analyst: &Principal, now: Timestamp) {
    use kuzet_db::{NewAsset, Received};
    let manage = admin.scope(Permission::AssetsManage, now).unwrap();
    let portal = db
        .create_asset(
            &manage,
            &NewAsset {
                tenant: t("akimat"),
                facility: Some(FacilityId::new("akimat-portal").unwrap()),
                name: "citizen portal".into(),
                product: Some("cpe:2.3:a:bitrix:site_manager:22.5.1".into()),
                version: None,
                addresses: vec!["10.0.0.5/32".parse().unwrap()],
            },
            now,
        )
        .await
        .unwrap();
    let bank_db = db
        .create_asset(
            &manage,
            &NewAsset {
                tenant: t("bank"),
                facility: None,
                name: "core database".into(),
                product: Some("cpe:2.3:a:postgresql:postgresql".into()),
                version: Some("15.4".into()),
                addresses: vec![],
            },
            now,
        )
        .await
        .unwrap();
    for (bad, reason) in [
        (
            NewAsset {
                tenant: t("akimat"),
                facility: None,
                name: "x".into(),
                product: None,
                version: None,
                addresses: vec![],
            },
            "needs a product or addresses",
        ),
        (
            NewAsset {
                tenant: t("akimat"),
                facility: None,
                name: "x".into(),
                product: Some("bitrix 22".into()),
                version: None,
                addresses: vec![],
            },
            "a CPE 2.3 name",
        ),
    ] {
        let error = db
            .create_asset(&manage, &bad, now)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(reason), "{error}");
    }
    let read = analyst.scope(Permission::TenantsRead, now).unwrap();
    assert_eq!(
        db.assets(&read, &t("akimat")).await.unwrap(),
        vec![portal.clone()]
    );
    assert!(
        matches!(
            db.assets(&read, &t("bank")).await.unwrap_err(),
            DbError::NotFound(_)
        ),
        "another tenant"
    );

    let advisory: kuzet_cases::Advisory = serde_json::from_value(serde_json::json!({
        "type": "vulnerability", "title": "RCE in the portal CMS", "severity": "critical", "description": "…",
        "affected": [
            {"product": "cpe:2.3:a:bitrix:site_manager", "versions": "<23.100.0"},
            {"product": "pkg:npm/lodash", "versions": "<4.17.21"}
        ],
        "remedies": ["update"]
    }))
    .unwrap();
    let id = "00112233445566778899aabbccddeeff";
    let received = db
        .system_receive(
            (id, 1, "advisory"),
            ("{}", "h..s"),
            &kuzet_db::Incoming::Advisory(&advisory),
            now,
        )
        .await
        .unwrap();
    let Received::New(made) = received else {
        panic!("{received:?}")
    };
    assert_eq!(made.len(), 1, "only akimat runs the product: {made:?}");
    assert_eq!(made[0].0, t("akimat"));
    assert_eq!(
        db.system_receive(
            (id, 1, "advisory"),
            ("{}", "h..s"),
            &kuzet_db::Incoming::Advisory(&advisory),
            now
        )
        .await
        .unwrap(),
        Received::Again
    );
    assert_eq!(db.system_inbox_cursor().await.unwrap(), 1);
    let advisories = analyst.scope(Permission::AdvisoriesRead, now).unwrap();
    let got = db
        .tenant_advisories(&advisories, &t("akimat"), 10)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (
            got[0].title.as_str(),
            got[0].severity.as_str(),
            got[0].message.as_str()
        ),
        ("RCE in the portal CMS", "critical", id)
    );
    assert_eq!(got[0].assets, vec![portal.id.clone()]);
    assert!(
        !got[0].part.contains("lodash"),
        "only akimat's part: {}",
        got[0].part
    );
    intel(db, analyst, now).await;
    let sent = analyst.scope(Permission::NotificationsRead, now).unwrap();
    let (notes, _) = db
        .notifications_page(&sent, &t("akimat"), None, 100)
        .await
        .unwrap();
    let told: Vec<_> = notes.iter().filter(|n| n.kind == "advisory").collect();
    assert!(!told.is_empty(), "akimat's contacts are told");
    assert!(
        told.iter()
            .all(|n| n.incident.is_none() && n.obligation.is_none())
    );
    db.remove_asset(&manage, &t("bank"), &bank_db.id, now)
        .await
        .unwrap();
    assert!(matches!(
        db.remove_asset(&manage, &t("bank"), &bank_db.id, now)
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));

    // NCCIS asks for read access to akimat's logs (R19): kept; an administrator grants it to an NCCIS auditor,
    // and the answer goes back to the hub.
    let ask = kuzet_db::AccessAsk {
        tenant: "akimat".into(),
        starts: now,
        ends: now + SignedDuration::from_hours(24),
        reason: "incident 42 at the national level".into(),
        query: Some("source.ip:203.0.113.7".into()),
    };
    let request = "ffeeddccbbaa99887766554433221100";
    db.system_receive(
        (request, 2, "access.request"),
        ("{}", "h..s"),
        &kuzet_db::Incoming::AccessRequest(ask.clone()),
        now,
    )
    .await
    .unwrap();
    let grants = admin.scope(Permission::GrantsManage, now).unwrap();
    let pending = db.access_requests(&grants).await.unwrap();
    assert_eq!(
        (
            pending[0].id.as_str(),
            &pending[0].ask,
            pending[0].decision.as_ref()
        ),
        (request, &ask, None)
    );
    assert!(matches!(
        db.access_requests(&analyst.scope(Permission::TenantsRead, now).unwrap())
            .await
            .unwrap_err(),
        DbError::Denied(_)
    ));
    let grant = db
        .create_grant(
            &grants,
            &kuzet_db::NewGrant {
                user: u("nccis"),
                tenant: t("akimat"),
                starts: ask.starts,
                ends: ask.ends,
                reason: ask.reason.clone(),
            },
            now,
        )
        .await
        .unwrap();
    let answer = db
        .decide_access_request(&grants, request, Some(&grant.id), None, now)
        .await
        .unwrap();
    assert!(matches!(
        db.decide_access_request(&grants, request, None, Some("again"), now)
            .await
            .unwrap_err(),
        DbError::Conflict(_)
    ));
    let decided = db.access_requests(&grants).await.unwrap();
    let decision = decided[0].decision.as_ref().unwrap();
    assert_eq!(
        (decision.granted, decision.grant.as_deref()),
        (true, Some(grant.id.as_str()))
    );
    let sent = analyst.scope(Permission::NotificationsRead, now).unwrap();
    let (messages, _) = db
        .exchange_page(&sent, &t("akimat"), None, None, 100)
        .await
        .unwrap();
    let told = messages.iter().find(|m| m.id == answer).unwrap();
    let payload: serde_json::Value = serde_json::from_str(&told.payload).unwrap();
    assert_eq!(
        (
            told.kind.as_str(),
            payload["granted"].as_bool(),
            payload["request"].as_str()
        ),
        ("access.grant", Some(true), Some(request))
    );

    // The hub's side: an officer issues to every registered ISOC; numbers per ISOC; frozen once; acknowledged.
    let users = admin.scope(Permission::UsersManage, now).unwrap();
    let one_time = db
        .create_user(
            &users,
            &NewUser {
                id: u("officer"),
                display_name: "NCCIS officer".into(),
                roles: vec!["nccis-officer".into()],
                tenants: vec![],
            },
            now,
        )
        .await
        .unwrap();
    let (password, totp) = onboard(db, "officer", &one_time, now).await;
    // The next time step: the enrolment used this one's code, and a code is taken once.
    let next = now + SignedDuration::from_secs(30);
    let code = totp_code(&totp.expect("issuing advisories needs MFA"), next).unwrap();
    let (_, officer) = login(db, "officer", &password, Some(&code), next).await;
    let issue = officer.scope(Permission::AdvisoriesIssue, now).unwrap();
    assert!(
        admin.scope(Permission::AdvisoriesIssue, now).is_err(),
        "an ISOC admin does not issue advisories"
    );
    db.system_hub_register("isoc-b", "B", "fp-b", "PEM", now)
        .await
        .unwrap();
    db.system_hub_register("isoc-c", "C", "fp-c", "PEM", now)
        .await
        .unwrap();
    let payload = serde_json::to_string(&advisory).unwrap();
    let first = db
        .hub_issue(&issue, ("advisory", None), &payload, &[], now)
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>(),
        ["isoc-b", "isoc-c"],
        "isoc-alatau was revoked"
    );
    let second = db
        .hub_issue(
            &issue,
            ("advisory", None),
            &payload,
            &["isoc-c".into()],
            now,
        )
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert!(matches!(
        db.hub_issue(
            &issue,
            ("advisory", None),
            &payload,
            &["nobody".into()],
            now
        )
        .await
        .unwrap_err(),
        DbError::NotFound(_)
    ));
    let to_c = db.system_hub_outbox("isoc-c", 0, 10).await.unwrap();
    assert_eq!(to_c.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(to_c[1].id, second[0].1);
    let frozen = db
        .system_hub_freeze("isoc-c", 1, "{\"a\":1}", "h..s")
        .await
        .unwrap();
    assert_eq!(
        db.system_hub_freeze("isoc-c", 1, "{}", "x..y")
            .await
            .unwrap(),
        frozen,
        "frozen once"
    );
    assert_eq!(db.system_hub_fetched("isoc-c", 1, now).await.unwrap(), 1);
    assert_eq!(
        db.system_hub_fetched("isoc-c", 1, now).await.unwrap(),
        0,
        "acknowledged once"
    );
    let after = db.system_hub_outbox("isoc-c", 1, 10).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(
        db.system_hub_outbox("isoc-c", 0, 10).await.unwrap()[0].fetched,
        Some(now)
    );
    crises(db, &officer, admin, now).await;
}

/// A crisis room at the hub: opened for levels 3–5 only, members, tasks and entries each on its timeline, a task
/// done once, nothing after closing; an ISOC administrator convenes nothing.
async fn crises(db: &Db, officer: &Principal, admin: &Principal, now: Timestamp) {
    use kuzet_db::{CrisisMember, NewCrisis};
    let manage = officer.scope(Permission::CrisisManage, now).unwrap();
    let read = officer.scope(Permission::HubRead, now).unwrap();
    assert!(admin.scope(Permission::CrisisManage, now).is_err());
    let new = |level: u8| NewCrisis {
        title: "Energy sector outage".into(),
        reason: "ransomware at two power distributors".into(),
        level,
        incidents: vec![
            ("isoc-b".into(), "i-1".into()),
            ("isoc-c".into(), "i-9".into()),
        ],
    };
    let low = db.open_crisis(&manage, &new(2), now).await.unwrap_err();
    assert!(low.to_string().contains("levels 3 to 5"), "{low}");
    let id = db.open_crisis(&manage, &new(4), now).await.unwrap();
    let later = now + SignedDuration::from_mins(5);
    db.add_crisis_member(
        &manage,
        &id,
        &CrisisMember {
            name: "A. Seitkali".into(),
            organization: "KNB".into(),
            role: "national security liaison".into(),
            contact: "+7 700 000 00 00".into(),
        },
        later,
    )
    .await
    .unwrap();
    db.add_crisis_task(
        &manage,
        &id,
        "Isolate the distributors' OT networks",
        "energy ISOC",
        later + SignedDuration::from_hours(2),
        later,
    )
    .await
    .unwrap();
    db.crisis_task_done(&manage, &id, 0, later).await.unwrap();
    assert!(matches!(
        db.crisis_task_done(&manage, &id, 0, later)
            .await
            .unwrap_err(),
        DbError::Conflict(_)
    ));
    assert!(matches!(
        db.crisis_task_done(&manage, &id, 7, later)
            .await
            .unwrap_err(),
        DbError::NotFound(_)
    ));
    db.add_crisis_entry(&manage, &id, "headquarters met at 14:00", later)
        .await
        .unwrap();
    db.close_crisis(
        &manage,
        &id,
        "supply restored; lessons to the sector",
        later,
    )
    .await
    .unwrap();
    let closed = db
        .add_crisis_entry(&manage, &id, "too late", later)
        .await
        .unwrap_err();
    assert!(matches!(closed, DbError::Conflict(_)), "{closed}");
    let record = db.crisis(&read, &id).await.unwrap();
    assert_eq!(record.level, 4);
    assert_eq!(record.incidents.len(), 2);
    assert_eq!(record.members[0].organization, "KNB");
    assert_eq!(
        record.tasks[0].done.as_ref().map(|(_, by)| by.as_str()),
        Some("officer")
    );
    let timeline: Vec<&str> = record.entries.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(timeline.len(), 6, "{timeline:?}");
    assert!(timeline[0].starts_with("opened (level 4)"));
    assert!(timeline[1].starts_with("member convened: A. Seitkali (KNB"));
    assert!(timeline[3] == "task done: Isolate the distributors' OT networks");
    assert_eq!(
        timeline[5],
        "closed: supply restored; lessons to the sector"
    );
    assert_eq!(
        record.closed.as_ref().map(|(_, _, s)| s.as_str()),
        Some("supply restored; lessons to the sector")
    );
    assert_eq!(db.crises(&read).await.unwrap(), vec![record]);
}

/// A tenant's intelligence: its indicator sightings without the false positives, its advisories; another
/// tenant's is not found.
async fn intel(db: &Db, analyst: &Principal, now: Timestamp) {
    use kuzet_db::{AlertStatus, NewAlert};
    let mut ids = Vec::new();
    for (host, kind) in [("dc1", "indicator"), ("lab", "indicator"), ("dc1", "rule")] {
        let alert = NewAlert {
            tenant: t("akimat"),
            rule_id: "line 2".into(),
            rule_title: "Indicator ip 203.0.113.7".into(),
            level: "high".into(),
            kind: kind.into(),
            dedup_key: format!("intel:{kind}:{host}"),
            at: now,
            events: vec![kuzet_model::EventId::from_u128(77)],
            detail: serde_json::json!({"host": host}),
        };
        let (id, _) = db
            .system_record_alert(&alert, now, SignedDuration::from_mins(10))
            .await
            .unwrap();
        ids.push(id);
    }
    let manage = analyst.scope(Permission::IncidentsManage, now).unwrap();
    db.triage_alert(
        &manage,
        &t("akimat"),
        &ids[1],
        AlertStatus::FalsePositive,
        "lab scanner",
        now,
    )
    .await
    .unwrap();
    let read = analyst.scope(Permission::IntelRead, now).unwrap();
    let records = db.intel(&read, &t("akimat")).await.unwrap();
    let sighted: Vec<_> = records.sightings.iter().map(|a| a.id.clone()).collect();
    assert_eq!(
        sighted,
        [ids[0].clone()],
        "indicator alerts, false positives left out"
    );
    assert_eq!(records.advisories.len(), 1);
    assert_eq!(records.tenant.tenant.id, t("akimat"));
    let reached: Vec<_> = db
        .intel_tenants(&read)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.tenant.id)
        .collect();
    assert_eq!(reached, [t("akimat")]);
    assert!(matches!(
        db.intel(&read, &t("bank")).await.unwrap_err(),
        DbError::Denied(_) | DbError::NotFound(_)
    ));
}
