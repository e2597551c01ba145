//! What the guard costs an API request, in process (no socket), against a baseline measured in the same run:
//!
//! - `plain`: an axum handler returning the same two-tenant JSON list, no authentication, no audit;
//! - `guarded, audit discarded`: `GET /api/v1/tenants` with a session cookie through the guard (session lookup in
//!   SQLite, principal, scope, handler) and an audit sink that drops the record;
//! - `guarded, audit sealed`: the same with the real audit sink (the WAL: one fsync'd append per request), one
//!   request at a time and 32 at a time (the WAL's group commit shares fsyncs).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark that cannot set up should stop loudly

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::BoxFuture;
use jiff::Timestamp;
use kuzet_api::{ApiState, AuditSink, Clock, SESSION_COOKIE, WalAudit};
use kuzet_db::{AuthPolicy, Db, LoginOutcome, NewUser};
use kuzet_ingest::IdGenerator;
use kuzet_model::access::{Permission, RoleCatalog};
use kuzet_model::audit::AuditRecord;
use kuzet_model::{Directory, Tenant, TenantId, UserId};
use kuzet_store::{Signer, Store, StoreConfig};
use tower::ServiceExt;

struct Discard;

impl AuditSink for Discard {
    fn append(&self, _record: AuditRecord) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

const PASSWORD: &str = "steppe-river-orbit-2026";

/// A database with two tenants and a user of a custom role holding `tenants.read` on all tenants, without MFA,
/// logged in: returns its session cookie.
async fn setup(db: &Db) -> String {
    let now = Timestamp::now();
    let tenants = ["akimat", "bank"]
        .iter()
        .map(|t| Tenant {
            id: TenantId::new(*t).unwrap(),
            name: format!("{t} org"),
            sector: None,
        })
        .collect();
    db.system_apply_directory(&Directory::new(tenants, vec![], vec![]).unwrap(), now)
        .await
        .unwrap();
    let admin = UserId::new("admin").unwrap();
    let one_time = db
        .system_bootstrap_admin(&admin, now)
        .await
        .unwrap()
        .unwrap();
    let LoginOutcome::Success(first) = db.login("admin", &one_time, None, now).await.unwrap()
    else {
        panic!("admin login")
    };
    db.change_password(&first.principal, &one_time, PASSWORD, false, now)
        .await
        .unwrap();
    // The admin needs MFA before it can create users: enrol with a code computed here.
    let LoginOutcome::Success(second) = db.login("admin", PASSWORD, None, now).await.unwrap()
    else {
        panic!("admin login")
    };
    let enrolment = db
        .begin_mfa_enrolment(&second.principal, None, now)
        .await
        .unwrap();
    let code = kuzet_db::totp_code(&enrolment.secret_base32, now).unwrap();
    db.confirm_mfa_enrolment(&second.principal, &code, now)
        .await
        .unwrap();
    let later = now + jiff::SignedDuration::from_secs(60);
    let code = kuzet_db::totp_code(&enrolment.secret_base32, later).unwrap();
    let LoginOutcome::Success(admin) = db
        .login("admin", PASSWORD, Some(&code), later)
        .await
        .unwrap()
    else {
        panic!("admin login with code")
    };
    let users = admin
        .principal
        .scope(Permission::UsersManage, later)
        .unwrap();
    let one_time = db
        .create_user(
            &users,
            &NewUser {
                id: UserId::new("reader").unwrap(),
                display_name: "reader".into(),
                roles: vec!["reader".into()],
                tenants: vec![],
            },
            later,
        )
        .await
        .unwrap();
    let LoginOutcome::Success(reader) = db.login("reader", &one_time, None, later).await.unwrap()
    else {
        panic!("reader login")
    };
    db.change_password(&reader.principal, &one_time, PASSWORD, false, later)
        .await
        .unwrap();
    let LoginOutcome::Success(reader) = db.login("reader", PASSWORD, None, later).await.unwrap()
    else {
        panic!("reader login")
    };
    reader.secret
}

fn request(cookie: &str) -> Request<Body> {
    Request::builder()
        .uri("/api/v1/tenants")
        .header(header::COOKIE, format!("{SESSION_COOKIE}={cookie}"))
        .body(Body::empty())
        .unwrap()
}

fn guard(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = RoleCatalog::default();
    catalog
        .define(
            "reader",
            kuzet_model::access::TenantReach::All,
            &["tenants.read".into()],
        )
        .unwrap();
    let db = runtime.block_on(async {
        Db::connect(
            &format!("sqlite://{}", dir.path().join("kuzet.db").display()),
            catalog,
            AuthPolicy::default(),
        )
        .await
        .unwrap()
    });
    let cookie = runtime.block_on(setup(&db));
    let config = StoreConfig::new(dir.path().join("data"));
    let store = Store::open(
        config.clone(),
        Signer::from_seed([9; 32]),
        kuzet_store::unparsed(),
    )
    .unwrap();
    let clock: Clock = Arc::new(Timestamp::now);
    let discarded = kuzet_api::router(ApiState::new(
        db.clone(),
        Arc::new(Discard),
        config.archive_dir(),
        Arc::clone(&clock),
        kuzet_db::IncidentRules::embedded().unwrap(),
        kuzet_store::unparsed(),
    ));
    let sealed = kuzet_api::router(ApiState::new(
        db.clone(),
        Arc::new(WalAudit::new(store.wal(), IdGenerator::new().unwrap())),
        config.archive_dir(),
        clock,
        kuzet_db::IncidentRules::embedded().unwrap(),
        kuzet_store::unparsed(),
    ));
    let plain = axum::Router::new().route(
        "/api/v1/tenants",
        get(|| async {
            axum::Json(serde_json::json!([
                {"id": "akimat", "name": "akimat org", "retention": {"hot_days": 62, "archive_years": 3}},
                {"id": "bank", "name": "bank org", "retention": {"hot_days": 62, "archive_years": 3}},
            ]))
        }),
    );

    let mut group = c.benchmark_group("api_request");
    group.throughput(Throughput::Elements(1));
    for (name, router) in [
        ("plain (baseline)", &plain),
        ("guarded, audit discarded", &discarded),
        ("guarded, audit sealed", &sealed),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let response = router.clone().oneshot(request(&cookie)).await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("api_32_concurrent");
    group.throughput(Throughput::Elements(32));
    for (name, router) in [
        ("guarded, audit discarded", &discarded),
        ("guarded, audit sealed", &sealed),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let calls = (0..32).map(|_| {
                    let router = router.clone();
                    let request = request(&cookie);
                    tokio::spawn(async move { router.oneshot(request).await.unwrap().status() })
                });
                for status in futures::future::join_all(calls).await {
                    assert_eq!(status.unwrap(), StatusCode::OK);
                }
            })
        });
    }
    group.finish();
    drop((sealed, discarded));
    store.shutdown().unwrap();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = guard
}
criterion_main!(benches);
