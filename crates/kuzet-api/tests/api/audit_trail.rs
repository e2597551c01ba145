//! Audit completeness: N different actions through the API leave exactly N sealed audit records, each provable
//! against a signed checkpoint, each saying who, what, when, which tenant and how it ended.

use axum::http::Method;
use jiff::SignedDuration;
use kuzet_model::TenantId;
use kuzet_model::audit::{AuditFilter, AuditRecord, Outcome};
use serde_json::json;

use crate::harness::{Auth, Harness, OTHER, OWN, PASSWORD};

/// (method, path, who, body, expected action, expected outcome)
type Action = (
    Method,
    String,
    Auth,
    Option<serde_json::Value>,
    &'static str,
    Outcome,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_is_sealed_once_and_provable() {
    let mut h = Harness::new().await;
    let admin = h.session("admin").await;
    let analyst = h.session("aigerim").await;
    let own_event = h.events[OWN].to_string();
    let expires = (h.now() + SignedDuration::from_hours(1)).to_string();
    let actions: Vec<Action> = vec![
        (
            Method::POST,
            "/api/v1/auth/login".into(),
            Auth::None,
            Some(json!({"user": "aigerim", "password": PASSWORD})),
            "auth.login",
            Outcome::Success,
        ),
        (
            Method::POST,
            "/api/v1/auth/login".into(),
            Auth::None,
            Some(json!({"user": "aigerim", "password": "nope-nope-nope"})),
            "auth.login",
            Outcome::Failure,
        ),
        (
            Method::GET,
            "/api/v1/tenants".into(),
            Auth::None,
            None,
            "tenant.list",
            Outcome::Refused,
        ),
        (
            Method::POST,
            "/api/v1/tenants".into(),
            admin.clone(),
            Some(json!({"id": "ministry", "name": "Ministry"})),
            "tenant.create",
            Outcome::Success,
        ),
        (
            Method::POST,
            format!("/api/v1/tenants/{OWN}/sources"),
            admin.clone(),
            Some(json!({"id": "akimat-beats", "name": "winlogbeat", "format": "json"})),
            "source.create",
            Outcome::Success,
        ),
        (
            Method::PUT,
            format!("/api/v1/tenants/{OWN}/retention"),
            admin.clone(),
            Some(json!({"hot_days": 10, "archive_years": 3})),
            "tenant.retention.change",
            Outcome::Refused,
        ),
        (
            Method::DELETE,
            format!("/api/v1/tenants/{OWN}/events"),
            admin.clone(),
            None,
            "events.purge",
            Outcome::Refused,
        ),
        (
            Method::GET,
            format!("/api/v1/events/{own_event}"),
            analyst.clone(),
            None,
            "event.view",
            Outcome::Success,
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/{OWN}/events/export"),
            analyst.clone(),
            None,
            "events.export",
            Outcome::Success,
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/{OTHER}/sources"),
            analyst.clone(),
            None,
            "source.list",
            Outcome::Refused,
        ),
        (
            Method::POST,
            "/api/v1/grants".into(),
            admin.clone(),
            Some(
                json!({"user": "nccis", "tenant": OWN, "ends": expires, "reason": "NCCIS request 7"}),
            ),
            "grant.create",
            Outcome::Success,
        ),
        (
            Method::GET,
            "/api/v1/users".into(),
            analyst.clone(),
            None,
            "user.list",
            Outcome::Refused,
        ),
        (
            Method::POST,
            "/api/v1/auth/logout".into(),
            analyst.clone(),
            None,
            "auth.logout",
            Outcome::Success,
        ),
    ];
    let start = h.now();
    for (method, path, auth, body, _, _) in &actions {
        let answer = h.call(method.clone(), path, auth, body.clone()).await;
        assert!(
            !answer.status.is_server_error(),
            "{method} {path}: {}",
            answer.text
        );
    }
    let archive = h.seal();
    let records = kuzet_api_read(&archive);
    assert_eq!(
        records.len(),
        actions.len(),
        "one record per action:\n{records:#?}"
    );
    for ((_, path, _, _, action, outcome), (event_id, record)) in actions.iter().zip(&records) {
        assert_eq!(
            (record.action.as_str(), record.outcome),
            (*action, *outcome),
            "{path}: {record:?}"
        );
        assert!(record.at >= start);
        let proof = kuzet_store::prove_in(&archive, &TenantId::audit_trail(), *event_id)
            .unwrap()
            .unwrap();
        proof.verify(&h.public_key).unwrap();
        assert_eq!(
            AuditRecord::from_bytes(&proof.original().unwrap()).unwrap(),
            *record
        );
    }
    // Who, what, which tenant.
    let (_, login) = &records[0];
    assert_eq!(
        login.actor.user.as_ref().map(|u| u.as_str()),
        Some("aigerim")
    );
    let (_, source) = &records[4];
    assert_eq!(source.tenant.as_ref().map(|t| t.as_str()), Some(OWN));
    assert_eq!(
        source.actor.user.as_ref().map(|u| u.as_str()),
        Some("admin")
    );
    assert!(source.actor.via.starts_with("session:"));
    let (_, grant) = &records[10];
    assert_eq!(grant.tenant.as_ref().map(|t| t.as_str()), Some(OWN));
    assert!(
        grant
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("NCCIS request 7")
    );
    let (_, refused) = &records[5];
    assert!(
        refused.detail.as_deref().unwrap_or("").contains("R3"),
        "{refused:?}"
    );
    // The same records through the store's verifier: the audit trail's log is intact.
    let report = kuzet_store::verify(&archive, &h.public_key).unwrap();
    assert!(report.is_intact(), "{report}");
    let filter = AuditFilter {
        outcome: Some(Outcome::Refused),
        ..AuditFilter::default()
    };
    assert_eq!(records.iter().filter(|(_, r)| filter.matches(r)).count(), 5);
}

fn kuzet_api_read(archive: &std::path::Path) -> Vec<(kuzet_model::EventId, AuditRecord)> {
    kuzet_store::read_events(archive, &TenantId::audit_trail(), kuzet_store::unparsed())
        .map(|e| {
            let e = e.unwrap();
            (e.id, AuditRecord::from_bytes(&e.original).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_api_filters_sealed_records_and_proves_them() {
    let mut h = Harness::new().await;
    let admin = h.session("admin").await;
    let failed = json!({"user": "admin", "password": "bad-password-1"});
    h.call(
        Method::POST,
        "/api/v1/auth/login",
        &Auth::None,
        Some(failed),
    )
    .await;
    h.call(Method::GET, "/api/v1/users", &admin, None).await;
    h.call(Method::GET, &format!("/api/v1/tenants/{OWN}"), &admin, None)
        .await;
    // The API reads sealed records; a restart seals what was written (as the sealer does within a block's age).
    h.restart();
    let auditor = h.session("auditor").await;
    let answer = h
        .call(
            Method::GET,
            "/api/v1/audit?action=auth.&outcome=failure",
            &auditor,
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["matched"], 1, "{}", answer.text);
    let record = &answer.json["records"][0];
    assert_eq!(record["record"]["actor"]["user"], "admin");
    assert_eq!(record["record"]["action"], "auth.login");
    let by_tenant = h
        .call(
            Method::GET,
            &format!("/api/v1/audit?tenant={OWN}"),
            &auditor,
            None,
        )
        .await;
    assert_eq!(by_tenant.json["matched"], 1, "{}", by_tenant.text);
    assert_eq!(
        by_tenant.json["records"][0]["record"]["action"],
        "tenant.view"
    );
    let by_user = h
        .call(
            Method::GET,
            "/api/v1/audit?user=admin&limit=1",
            &auditor,
            None,
        )
        .await;
    assert_eq!(by_user.json["matched"], 3, "{}", by_user.text);
    assert_eq!(by_user.json["records"].as_array().unwrap().len(), 1);
    // The page is the newest records, newest first, whatever the limit.
    let all = h
        .call(
            Method::GET,
            "/api/v1/audit?user=admin&limit=3",
            &auditor,
            None,
        )
        .await;
    let all = all.json["records"].as_array().unwrap().clone();
    assert_eq!(all.len(), 3);
    assert_eq!(by_user.json["records"][0], all[0]);
    let times: Vec<&str> = all
        .iter()
        .map(|r| r["record"]["at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let id = record["event_id"].as_str().unwrap();
    let proof = h
        .call(
            Method::GET,
            &format!("/api/v1/audit/{id}/proof"),
            &auditor,
            None,
        )
        .await;
    assert_eq!(proof.status, 200, "{}", proof.text);
    let proof: kuzet_store::InclusionProof = serde_json::from_value(proof.json).unwrap();
    proof.verify(&h.public_key).unwrap();
    let bad = h
        .call(Method::GET, "/api/v1/audit?outcome=maybe", &auditor, None)
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.message().contains("outcome `maybe`"), "{}", bad.text);
    let unknown = h
        .call(Method::GET, "/api/v1/audit?who=me", &auditor, None)
        .await;
    assert!(
        unknown.message().contains("unknown filter `who`"),
        "{}",
        unknown.text
    );
    // Reading the audit trail is the auditor's, not the administrator's.
    assert_eq!(
        h.call(Method::GET, "/api/v1/audit", &admin, None)
            .await
            .status,
        403
    );
}

/// Reads the audit records that reach the store's consumer until `want` of `action` (of any, for `""`) arrived.
fn audit_records(
    mut consumer: kuzet_store::Consumer,
    action: &'static str,
    want: usize,
) -> tokio::task::JoinHandle<Vec<AuditRecord>> {
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        while out.len() < want {
            let delivery = consumer
                .next(std::time::Duration::from_secs(30))
                .unwrap()
                .unwrap_or_else(|| {
                    panic!("only {} of {want} `{action}` records arrived", out.len())
                });
            for (_, event) in delivery.iter() {
                let record = AuditRecord::from_bytes(&event.original).unwrap();
                if action.is_empty() || record.action == action {
                    out.push(record);
                }
            }
        }
        out
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_mid_request_leaves_no_change_without_its_record() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    let consumer = h
        .store
        .as_ref()
        .unwrap()
        .consumer("audit-test", kuzet_store::ConsumerStart::Latest)
        .unwrap();
    let before = h.db.user_count().await.unwrap();
    // 20 clients each send a user creation and hang up after 0 to 3 ms, at different points of the work.
    for i in 0..20u64 {
        let body = json!({"id": format!("gone-{i}"), "roles": ["analyst"], "tenants": [OWN]});
        let request = Harness::request(Method::POST, "/api/v1/users", &admin, Some(body));
        let answer = tower::ServiceExt::oneshot(h.router.clone(), request);
        let _ = tokio::time::timeout(std::time::Duration::from_micros(i * 150), answer).await;
    }
    let records = audit_records(consumer, "user.create", 20).await.unwrap();
    let created = (h.db.user_count().await.unwrap() - before) as usize;
    let recorded = records
        .iter()
        .filter(|r| r.outcome == Outcome::Success)
        .count();
    println!(
        "clients gone mid-request: 20 requests, {created} users created, {recorded} recorded as created"
    );
    assert_eq!(created, 20, "every request ran to its end");
    assert_eq!(recorded, created, "every change has its record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_refused_while_the_audit_trail_cannot_record_them() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    let store = h.store.as_ref().unwrap();
    let mut watch = store
        .consumer("stop-watch", kuzet_store::ConsumerStart::Latest)
        .unwrap();
    // The sealer stops: a file is where a new tenant's archive directory must go.
    let archive = h.dir.path().join("data/archive");
    std::fs::write(archive.join("ministry"), b"in the way").unwrap();
    let raw = kuzet_model::RawEvent {
        id: kuzet_model::EventId::from_parts(1_800_000_000_000, 1),
        tenant: TenantId::new("ministry").unwrap(),
        source: kuzet_model::SourceId::new("ministry-syslog").unwrap(),
        received: h.now(),
        transport: kuzet_model::Transport::Tcp,
        peer: None,
        format: kuzet_model::FormatHint::Syslog,
        bytes: b"<13>1 - - - - - - stops the sealer".to_vec(),
    };
    store.wal().append(vec![raw]).await.unwrap();
    let stopped = tokio::task::spawn_blocking(move || {
        loop {
            match watch.next(std::time::Duration::from_secs(30)) {
                Err(kuzet_store::StoreError::Closed) => break true,
                Ok(Some(_)) => continue,
                _ => break false,
            }
        }
    })
    .await
    .unwrap();
    assert!(stopped, "the sealer stopped");
    let grant = json!({"roles": ["isoc-admin"], "tenants": []});
    let answer = h
        .call(
            Method::PUT,
            "/api/v1/users/aigerim/access",
            &admin,
            Some(grant),
        )
        .await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.code(), "audit_unavailable");
    assert!(
        answer.message().contains("nothing was changed"),
        "{}",
        answer.text
    );
    let scope = h
        .principal("admin")
        .await
        .scope(kuzet_model::access::Permission::UsersManage, h.now())
        .unwrap();
    let users = h.db.users(&scope).await.unwrap();
    let aigerim = users.iter().find(|u| u.id.as_str() == "aigerim").unwrap();
    assert_eq!(
        aigerim.roles,
        vec!["analyst".to_owned()],
        "the grant did not happen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_stranger_types_reaches_the_audit_trail_bounded_and_only_if_it_is_a_name() {
    let h = Harness::new().await;
    let consumer = h
        .store
        .as_ref()
        .unwrap()
        .consumer("audit-test", kuzet_store::ConsumerStart::Latest)
        .unwrap();
    // A 1.9 MB "user name", and a password typed into the user box.
    let huge = "u".repeat(1_900_000);
    for user in [huge.as_str(), "Secret Password 1!"] {
        let answer = h
            .call(
                Method::POST,
                "/api/v1/auth/login",
                &Auth::None,
                Some(json!({"user": user, "password": "whatever-it-is"})),
            )
            .await;
        assert_eq!(answer.status, 401);
    }
    let records = audit_records(consumer, "auth.login", 2).await.unwrap();
    assert_eq!(
        records[0].object.as_deref(),
        Some("user:(not a user name, 1900000 bytes)")
    );
    assert_eq!(
        records[1].object.as_deref(),
        Some("user:(not a user name, 18 bytes)")
    );
    for record in &records {
        let size = record.to_bytes().len();
        assert!(size < 2048, "a record of {size} bytes");
        assert!(!String::from_utf8_lossy(&record.to_bytes()).contains("Secret"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_wrong_methods_and_legal_refusals_are_each_recorded_as_what_they_are() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    let consumer = h
        .store
        .as_ref()
        .unwrap()
        .consumer("audit-test", kuzet_store::ConsumerStart::Latest)
        .unwrap();
    let incidents = format!("/api/v1/tenants/{OWN}/incidents");
    let answer = h.call(Method::PATCH, &incidents, &admin, None).await;
    assert_eq!(answer.status, 405);
    let answer = h
        .call(Method::GET, "/api/v1/no-such-thing", &Auth::None, None)
        .await;
    assert_eq!(answer.status, 404);
    let answer = h
        .call(
            Method::POST,
            "/api/v1/tenants",
            &admin,
            Some(json!({"id": "short-lived", "name": "x", "hot_days": 10})),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    // Exactly one record each, in order, with the right action and outcome.
    let records = audit_records(consumer, "", 3).await.unwrap();
    let seen: Vec<(&str, Outcome)> = records
        .iter()
        .map(|r| (r.action.as_str(), r.outcome))
        .collect();
    assert_eq!(
        seen,
        [
            ("api.method_not_allowed", Outcome::Refused),
            ("api.unknown_route", Outcome::Refused),
            ("tenant.create", Outcome::Refused),
        ]
    );
    assert_eq!(
        records[0].object.as_deref(),
        Some(format!("route:PATCH {incidents}").as_str())
    );
    assert!(
        records[2]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("R3"),
        "the refusal says why: {:?}",
        records[2].detail
    );
}
