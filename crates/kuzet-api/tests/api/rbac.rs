//! The RBAC matrix: every route of the table × every default role × own tenant / other tenant. The expected
//! answer is derived from the route's rule and the role's permissions and reach, so a new route is covered as soon
//! as it is in the table — and fails here until it has a request case below.

use std::collections::HashMap;

use kuzet_api::{Access, RouteSpec, routes};
use kuzet_model::access::{PermissionKind, RoleCatalog, TenantReach};
use serde_json::{Value, json};

use crate::harness::{Auth, Harness, OTHER, OWN, USERS};

/// The path and body that exercise `spec` over `tenant` (`None`: the route has no tenant dimension and runs once).
fn case(
    h: &Harness,
    spec: &RouteSpec,
    role: &str,
    tenant: &str,
    n: usize,
) -> (String, Option<Value>) {
    let event = h.events[tenant].to_string();
    let path = spec
        .path
        .replace("{tenant}", tenant)
        .replace("{source}", &format!("{tenant}-syslog"))
        .replace("{event}", &event)
        .replace("{user}", "target")
        .replace("{token}", "00000000000000000000000000000000")
        .replace("{grant}", "00000000000000000000000000000000")
        .replace("{incident}", &h.incidents[tenant].0)
        .replace("{obligation}", &h.incidents[tenant].1)
        .replace("{alert}", &h.alerts[tenant])
        .replace("{rule}", "6aec9408-ae00-42e5-9c78-2fa7ddc99da9")
        .replace("{exception}", "00000000000000000000000000000000")
        .replace("{contact}", "00000000000000000000000000000000")
        .replace("{asset}", "00000000000000000000000000000000")
        .replace("{sha256}", &"0".repeat(64))
        .replace("{isoc}", "isoc-nobody")
        .replace("{request}", "00000000000000000000000000000000")
        .replace("{task}", "0")
        .replace("{crisis}", "00000000000000000000000000000000")
        .replace("{kind}", "tls_common_name")
        .replace("{value}", "nobody-has-this")
        .replace(
            "{collection}",
            &kuzet_api::taxii::collection_id(
                &kuzet_model::TenantId::new(tenant).unwrap(),
                kuzet_model::Tlp::Green,
            ),
        )
        .replace(
            "{object}",
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        );
    let expires = (h.now() + jiff::SignedDuration::from_hours(1)).to_string();
    let body = match spec.action {
        "auth.login" => Some(json!({"user": "nobody", "password": "wrong-password-123"})),
        "auth.password.change" => {
            Some(json!({"current": "not-the-password", "new": "another-long-password-1"}))
        }
        "auth.mfa.confirm" => Some(json!({"code": "000000"})),
        "auth.language.change" => Some(json!({"language": "kk"})),
        "tenant.create" => Some(json!({"id": format!("t-{role}-{n}"), "name": "matrix"})),
        "tenant.retention.change" => Some(json!({"hot_days": 62, "archive_years": 3})),
        "facility.create" => {
            Some(json!({"id": format!("f-{role}-{n}"), "name": "matrix", "class": 3}))
        }
        "source.create" => Some(json!({"id": format!("s-{role}-{n}"), "name": "matrix"})),
        "source.certificate.add" => Some(json!({"common_name": format!("cn-{role}-{n}-{tenant}")})),
        "report.quarterly.submit" => Some(json!({"year": 2026, "quarter": 4})),
        "hub.access.request" => Some(json!({
            "isoc": "isoc-nobody", "tenant": tenant, "from": h.now().to_string(), "to": expires, "reason": "matrix",
        })),
        "access_request.decide" => Some(json!({"grant": false, "answer": "matrix"})),
        "hub.isoc.register" => Some(
            json!({"id": format!("isoc-{role}-{n}"), "name": "matrix", "certificate": "not a pem"}),
        ),
        "risk.create" => Some(json!({
            "title": format!("risk-{role}-{n}"), "threat": "matrix", "likelihood": 2, "impact": 3,
            "treatment": "mitigate", "owner": "matrix",
        })),
        "rule.test" => Some(json!({"rule": "title: matrix\n", "events": []})),
        "incident.risk.link" => Some(json!({"risk": "00000000000000000000000000000000"})),
        "incident.assign" => Some(json!({"user": null})),
        "crisis.open" => {
            Some(json!({"title": format!("crisis-{role}-{n}"), "reason": "matrix", "level": 3}))
        }
        "crisis.member.add" => {
            Some(json!({"name": "matrix", "organization": "matrix", "role": "matrix"}))
        }
        "crisis.task.add" => Some(json!({"title": "matrix", "owner": "matrix", "due": expires})),
        "crisis.entry.add" => Some(json!({"text": "matrix"})),
        "crisis.close" => Some(json!({"summary": "matrix"})),
        "incident.observable.add" => Some(json!({"kind": "ip", "value": "203.0.113.9"})),
        "asset.import" => Some(json!([{"name": format!("imported-{role}-{n}")}])),
        "asset.create" => Some(json!({
            "name": format!("asset-{role}-{n}"), "product": "cpe:2.3:a:bitrix:site_manager:22.5.1",
        })),
        "advisory.issue" => Some(json!({
            "advisory": {"type": "threat", "title": "matrix", "severity": "low", "description": "matrix"},
        })),
        "contact.create" => Some(json!({
            "role": "owner", "name": "matrix", "channel": "email",
            "address": format!("{role}-{n}@{tenant}.kz"), "language": "kk",
        })),
        "user.create" => Some(json!({"id": format!("u-{role}-{n}"), "roles": ["analyst"]})),
        "incident.create" => Some(json!({
            "title": "matrix", "category": "malicious-code",
            "facts": {"functional_impact": "low", "information_impact": "none", "recoverability": "regular",
                      "scope": "one_facility", "facility_class": 2, "stage": "ongoing"},
        })),
        "incident.transition" => Some(json!({"to": "contained"})),
        "rule.file.import" => {
            Some(json!({"name": format!("matrix/{role}-{n}.yml"), "text": "title: matrix\n"}))
        }
        "incident.personal_data.notice" => {
            Some(json!({"affected": "IIN 900101300123", "lang": "kk"}))
        }
        "incident.split" => {
            Some(json!({"alerts": ["00000000000000000000000000000000"], "title": "matrix"}))
        }
        "incident.entry.add" => Some(json!({"kind": "comment", "text": "matrix"})),
        "incident.alerts.add" => Some(json!({"alerts": ["00000000000000000000000000000000"]})),
        "incident.level.override" => Some(json!({"level": 3, "reason": "matrix"})),
        "incident.personal_data.mark" => Some(json!({})),
        "obligation.fulfil" => Some(json!({"by": "matrix"})),
        "alert.triage" => Some(json!({"status": "acknowledged", "reason": "matrix"})),
        "rule.setting.change" => Some(json!({"enabled": false, "reason": "matrix"})),
        "rule.exception.create" => Some(
            json!({"field": "host.name", "value": format!("h-{role}-{n}"), "reason": "matrix"}),
        ),
        "events.search" => Some(json!({"query": "*", "tenants": [tenant]})),
        "events.search_export" => Some(json!({"query": "*", "tenants": [tenant], "format": "csv"})),
        "incident.evidence.attach" => {
            Some(json!({"event": h.events[tenant].to_string(), "reason": "matrix"}))
        }
        "user.access.change" => Some(json!({"roles": ["analyst"], "tenants": [OWN]})),
        "token.create" => Some(json!({"name": "matrix", "role": role, "expires": expires})),
        "grant.create" => {
            Some(json!({"user": "nccis", "tenant": OWN, "ends": expires, "reason": "matrix"}))
        }
        "auth.me"
        | "api.describe"
        | "auth.mfa.enrol"
        | "auth.logout"
        | "auth.logout_everywhere"
        | "tenant.list"
        | "tenant.view"
        | "facility.list"
        | "source.list"
        | "source.token.create"
        | "events.export"
        | "events.purge"
        | "event.view"
        | "user.list"
        | "user.unlock"
        | "user.disable"
        | "user.enable"
        | "user.credentials.reset"
        | "token.list"
        | "token.revoke"
        | "grant.list"
        | "grant.revoke"
        | "audit.search"
        | "audit.proof"
        | "system.status"
        | "incident.list"
        | "incident.view"
        | "incident.task.done"
        | "incident.evidence.view"
        | "obligation.list"
        | "alert.list"
        | "alert.view"
        | "rule.controls.view"
        | "rule.exception.delete"
        | "report.quarterly"
        | "report.journal"
        | "report.metrics"
        | "source.identity.revoke"
        | "contact.list"
        | "rule.file.list"
        | "incident.timeline"
        | "contact.remove"
        | "notification.list"
        | "exchange.list"
        | "asset.list"
        | "asset.remove"
        | "advisory.list"
        | "hub.incidents"
        | "hub.isoc.list"
        | "hub.isoc.revoke"
        | "access_request.list"
        | "contact.confirm"
        | "hub.messages"
        | "hub.sightings"
        | "overview.view"
        | "risk.list"
        | "incident.assets"
        | "incident.observables"
        | "crisis.list"
        | "indicator.list"
        | "intel.export"
        | "taxii.discovery"
        | "taxii.api_root"
        | "taxii.collections"
        | "taxii.collection"
        | "taxii.objects"
        | "taxii.object"
        | "taxii.versions"
        | "taxii.manifest"
        | "crisis.view"
        | "crisis.task.done"
        | "report.consolidated"
        | "incident.evidence.file.attach"
        | "incident.evidence.file.get" => None,
        other => panic!(
            "route `{other}` ({} {}) has no case in the RBAC matrix: add one",
            spec.method, spec.path
        ),
    };
    (path, body)
}

/// Whether the route is about one tenant's objects (so that own and other tenant differ).
fn tenant_dimension(spec: &RouteSpec) -> bool {
    spec.path.contains("{tenant}")
        || spec.path.starts_with("/api/v1/events/")
        || spec.path.starts_with("/api/v1/search")
}

fn expected(spec: &RouteSpec, role: &str, tenant: &str) -> bool {
    let catalog = RoleCatalog::default();
    let role = catalog.get(role).unwrap();
    match spec.access {
        Access::Public | Access::Authenticated | Access::Account => true,
        Access::Permission(permission) => {
            role.permissions.contains(&permission)
                && (permission.kind() == PermissionKind::Global
                    || !tenant_dimension(spec)
                    || tenant == OWN
                    || role.reach == TenantReach::All)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_every_role_own_and_other_tenant() {
    let h = Harness::new().await;
    let mut sessions: HashMap<&str, Auth> = HashMap::new();
    for (user, role) in USERS {
        sessions.insert(role, h.session(user).await);
    }
    let mut failures = Vec::new();
    let mut cases = 0;
    let table = routes();
    // Every (method, path) once: the table is the router.
    let mut seen = std::collections::HashSet::new();
    for spec in &table {
        assert!(
            seen.insert((spec.method.clone(), spec.path)),
            "{} {} twice",
            spec.method,
            spec.path
        );
    }
    for (n, spec) in table.iter().enumerate() {
        for (user, role) in USERS {
            let tenants: &[&str] = if tenant_dimension(spec) {
                &[OWN, OTHER]
            } else {
                &[OWN]
            };
            for tenant in tenants {
                let (path, body) = case(&h, spec, role, tenant, n);
                let auth = sessions[role].clone();
                let answer = h.call(spec.method.clone(), &path, &auth, body).await;
                let other_marker = if spec.path.contains("{event}") {
                    h.events[OTHER].to_string()
                } else {
                    format!("tenant `{OTHER}`")
                };
                let denied = matches!(answer.code(), "unauthenticated" | "forbidden" | "csrf")
                    || (answer.status == 404
                        && *tenant == OTHER
                        && answer.message().contains(&other_marker));
                let want = expected(spec, role, tenant);
                cases += 1;
                if denied == want {
                    failures.push(format!(
                        "{} {path} as {role}: expected {}, got {} {}",
                        spec.method,
                        if want { "allow" } else { "deny" },
                        answer.status,
                        answer.text
                    ));
                }
                if answer.status.is_server_error() {
                    failures.push(format!(
                        "{} {path} as {role}: server error {}",
                        spec.method, answer.text
                    ));
                }
                // Logging out ends the session the matrix goes on with: open a new one.
                if matches!(spec.action, "auth.logout" | "auth.logout_everywhere") {
                    sessions.insert(role, h.session(user).await);
                }
            }
        }
    }
    println!("RBAC matrix: {} routes, {cases} cases", table.len());
    assert!(
        failures.is_empty(),
        "{} of {cases} cases wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // And the unauthenticated: every route but the login answers 401.
    for spec in &table {
        let (path, body) = case(&h, spec, "analyst", OWN, 0);
        let answer = h.call(spec.method.clone(), &path, &Auth::None, body).await;
        if spec.access == Access::Public {
            assert_ne!(answer.code(), "unauthenticated");
        } else {
            assert_eq!(
                answer.status, 401,
                "{} {path}: {}",
                spec.method, answer.text
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_route_of_the_table() {
    let h = Harness::new().await;
    let answer = h
        .call(
            axum::http::Method::GET,
            "/api/v1/openapi.json",
            &Auth::None,
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let doc = answer.json;
    assert_eq!(doc["openapi"], "3.1.0");
    for spec in routes() {
        let op = &doc["paths"][spec.path][spec.method.as_str().to_lowercase()];
        assert_eq!(
            op["operationId"], spec.action,
            "{} {}",
            spec.method, spec.path
        );
        assert_eq!(op["x-kuzet-audit-action"], spec.action);
        assert_eq!(
            op["responses"]["default"]["$ref"],
            "#/components/responses/Error"
        );
        match spec.access {
            Access::Permission(p) => assert_eq!(op["x-kuzet-permission"], p.as_str()),
            Access::Public => assert_eq!(op["security"], serde_json::json!([])),
            Access::Account => assert_eq!(op["security"], serde_json::json!([{"session": []}])),
            Access::Authenticated => assert_eq!(op["x-kuzet-access"], "authenticated"),
        }
        let in_path = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "path")
            .count();
        assert_eq!(in_path, spec.path.matches('{').count(), "{}", spec.path);
    }
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|methods| methods.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, routes().len(), "nothing more, nothing less");
    // A paged list says how to page it.
    let list = &doc["paths"]["/api/v1/tenants/{tenant}/incidents"]["get"]["parameters"];
    let query: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(query, ["limit", "after"]);
}
