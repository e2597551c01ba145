//! Sigma rule files imported through the API: versioned like `kuzet rules import`, named by who imported them,
//! and refused by name when the path or the text is not acceptable.

use axum::http::Method;
use serde_json::json;

use crate::harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_files_are_imported_as_versions_by_a_person() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    let analyst = h.session("aigerim").await;
    let import = |text: &str| json!({"name": "windows/kz/log_cleared.yml", "text": text});
    let first = h
        .call(
            Method::POST,
            "/api/v1/rules/files",
            &admin,
            Some(import("title: a\n")),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(
        (
            first.json["outcome"].as_str(),
            first.json["version"].as_i64()
        ),
        (Some("new"), Some(1))
    );
    let same = h
        .call(
            Method::POST,
            "/api/v1/rules/files",
            &admin,
            Some(import("title: a\n")),
        )
        .await;
    assert_eq!(
        (same.status.as_u16(), same.json["outcome"].as_str()),
        (200, Some("unchanged")),
        "{}",
        same.text
    );
    let changed = h
        .call(
            Method::POST,
            "/api/v1/rules/files",
            &admin,
            Some(import("title: b\n")),
        )
        .await;
    assert_eq!(
        (changed.status.as_u16(), changed.json["version"].as_i64()),
        (201, Some(2)),
        "{}",
        changed.text
    );
    let list = h
        .call(Method::GET, "/api/v1/rules/files", &admin, None)
        .await;
    assert_eq!(list.json[0]["version"], 2, "{}", list.text);
    assert_eq!(list.json[0]["imported_by"], "admin", "{}", list.text);
    for (name, text, expected) in [
        ("../etc/passwd", "title: x\n", "without `..`"),
        ("/abs.yml", "title: x\n", "a relative path"),
        ("ok.yml", "  ", "give 1 to"),
    ] {
        let refused = h
            .call(
                Method::POST,
                "/api/v1/rules/files",
                &admin,
                Some(json!({"name": name, "text": text})),
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert!(
            refused.message().contains(expected),
            "{name}: {}",
            refused.text
        );
    }
    // Analysts work alerts; importing rules is the administrator's.
    let denied = h
        .call(
            Method::POST,
            "/api/v1/rules/files",
            &analyst,
            Some(import("title: c\n")),
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.text);
}

/// A rule tried before import: the events it matches, its own samples, and a broken rule's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_is_tested_against_sample_events() {
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let rule = "title: Root password guessing\nid: 4c1e0000-0000-4000-8000-000000000001\nlevel: high\n\
                logsource:\n  product: linux\n  service: auth\n\
                detection:\n  selection:\n    event.action: ssh_login\n    event.outcome: failure\n    user.name: root\n  condition: selection\n";
    let answer = h
        .call(
            Method::POST,
            "/api/v1/rules/test",
            &analyst,
            Some(serde_json::json!({"rule": rule, "events": [
                {"event": {"action": "ssh_login", "outcome": "failure", "dataset": "system.auth"}, "user": {"name": "root"}},
                {"event": {"action": "ssh_login", "outcome": "success", "dataset": "system.auth"}, "user": {"name": "root"}},
            ]})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["rules"][0]["title"], "Root password guessing");
    assert_eq!(answer.json["rules"][0]["level"], "high");
    assert!(
        answer.json["problems"].as_array().unwrap().is_empty(),
        "{}",
        answer.text
    );
    assert_eq!(
        answer.json["events"][0],
        serde_json::json!(["4c1e0000-0000-4000-8000-000000000001"]),
        "{}",
        answer.text
    );
    assert_eq!(
        answer.json["events"][1],
        serde_json::json!([]),
        "a success is no guess"
    );
    let broken = h
        .call(
            Method::POST,
            "/api/v1/rules/test",
            &analyst,
            Some(serde_json::json!({"rule": "title: [unclosed\n"})),
        )
        .await;
    assert_eq!(broken.status, 200, "{}", broken.text);
    assert!(broken.json["rules"].as_array().unwrap().is_empty());
    assert_eq!(
        broken.json["problems"][0]["kind"], "parse",
        "{}",
        broken.text
    );
}

/// The indicators detection matches are listed with their feed, filtered by kind and text; what a feed held that
/// did not load is named; a tenant owner reads none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indicators_are_listed_with_their_feed_and_what_did_not_load() {
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let all = h
        .call(Method::GET, "/api/v1/indicators", &analyst, None)
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.json["loaded"], true);
    assert_eq!(all.json["total"], 2);
    assert_eq!(all.json["feeds"][0]["feed"], "feeds/kz-cert.csv");
    assert_eq!(all.json["feeds"][0]["by_kind"]["ip"], 1);
    assert_eq!(all.json["problems"].as_array().unwrap().len(), 1);
    assert_eq!(all.json["problems"][0]["at"], "line 4", "{}", all.text);
    assert!(
        all.json["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("`not-an-address`"),
        "{}",
        all.text
    );
    let domains = h
        .call(
            Method::GET,
            "/api/v1/indicators?kind=domain",
            &analyst,
            None,
        )
        .await;
    assert_eq!(domains.json["matched"], 1);
    assert_eq!(domains.json["indicators"][0]["value"], "evil.example.kz");
    let text = h
        .call(Method::GET, "/api/v1/indicators?q=GUESSING", &analyst, None)
        .await;
    assert_eq!(text.json["indicators"][0]["value"], "203.0.113.7");
    let bad = h
        .call(Method::GET, "/api/v1/indicators?type=ip", &analyst, None)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    let owner = h.session("owner").await;
    assert_eq!(
        h.call(Method::GET, "/api/v1/indicators", &owner, None)
            .await
            .status,
        403
    );

    // Alerts listed by kind: the fixture's alert is a rule's, none is an anomaly.
    let kinds = |kind: &str| format!("/api/v1/tenants/akimat/alerts?kind={kind}");
    let rules = h.call(Method::GET, &kinds("rule"), &analyst, None).await;
    assert_eq!(rules.json.as_array().unwrap().len(), 1, "{}", rules.text);
    let anomalies = h.call(Method::GET, &kinds("anomaly"), &analyst, None).await;
    assert_eq!(
        anomalies.json.as_array().unwrap().len(),
        0,
        "{}",
        anomalies.text
    );
    let unknown = h.call(Method::GET, &kinds("weird"), &analyst, None).await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
}
