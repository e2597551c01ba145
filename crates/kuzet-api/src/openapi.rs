//! The API's description as an OpenAPI 3.1 document, generated from the route table — the same table the router
//! and the RBAC matrix are built from — so a route cannot exist without its entry: each operation names its audit
//! action (`operationId` and `x-kuzet-audit-action`), who may call it (`x-kuzet-access`, `x-kuzet-permission`),
//! its path parameters, how it authenticates, the JSON Schemas of its request body and answer (generated from the
//! very types the handler reads and writes, `schemars`), and the one error shape every failure answers with.

use serde_json::{Value, json};

use crate::routes::{Access, MEDIA, NO_BODY, RouteSpec, Shapes, routes, shapes};

/// The document for this build.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    let mut generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    for (spec, shapes) in routes().into_iter().zip(shapes()) {
        // `{name}` path segments are OpenAPI's syntax too.
        let entry = paths.entry(spec.path).or_insert_with(|| json!({}));
        if let Value::Object(methods) = entry {
            methods.insert(
                spec.method.as_str().to_lowercase(),
                operation(&spec, shapes, &mut generator),
            );
        }
    }
    generator.subschema_for::<crate::error::ErrorBody<'static>>();
    let schemas = generator.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Kuzet API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The API of Kuzet, an Operational Information Security Center. Every request is \
                authenticated (unless public), scoped to the caller's tenants and recorded in the sealed audit \
                trail (docs/security.md).",
        },
        "paths": Value::Object(paths),
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::SESSION_COOKIE,
                            "description": "A console session; changes also send its CSRF token in X-CSRF-Token."},
                "token": {"type": "http", "scheme": "bearer", "description": "An API token."},
            },
            "schemas": schemas,
            "responses": {
                "Error": {
                    "description": "The request failed or was refused; the message says why.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        },
    })
}

/// The path's parameters, then the query parameters of the routes that page their lists.
fn parameters(path: &str, action: &str) -> Vec<Value> {
    let mut all: Vec<Value> = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if action == "hub.messages" {
        all.push(json!({"name": "kind", "in": "query", "required": false,
                        "description": "only messages of this kind (e.g. `incident.update`)",
                        "schema": {"type": "string"}}));
        all.push(json!({"name": "limit", "in": "query", "required": false,
                        "description": "at most this many, newest first (default 100)",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500}}));
    }
    if action == "exchange.list" {
        all.push(json!({"name": "incident", "in": "query", "required": false,
                        "description": "only the messages about this incident",
                        "schema": {"type": "string"}}));
    }
    if action == "incident.evidence.file.attach" {
        all.push(json!({"name": "name", "in": "query", "required": true,
                        "description": "the file's name", "schema": {"type": "string"}}));
        all.push(json!({"name": "reason", "in": "query", "required": true,
                        "description": "why it is kept as evidence", "schema": {"type": "string"}}));
    }
    if action == "indicator.list" {
        all.push(json!({"name": "kind", "in": "query", "required": false,
                        "description": "only indicators of this kind",
                        "schema": {"type": "string", "enum": ["ip", "domain", "url", "md5", "sha1", "sha256", "email"]}}));
        all.push(json!({"name": "q", "in": "query", "required": false,
                        "description": "only indicators whose value or description contains this text",
                        "schema": {"type": "string"}}));
    }
    if action == "intel.export" {
        all.push(json!({"name": "tlp", "in": "query", "required": false,
                        "description": "what may be shared at this TLP level or wider (default amber)",
                        "schema": {"type": "string", "enum": ["clear", "white", "green", "amber", "red"]}}));
    }
    if matches!(
        action,
        "taxii.objects" | "taxii.object" | "taxii.versions" | "taxii.manifest"
    ) {
        for (name, description) in [
            (
                "added_after",
                "only objects added after this time (RFC 3339)",
            ),
            ("limit", "at most this many objects (at most 1000)"),
            ("next", "the next page: the `next` of the previous answer"),
            ("match[id]", "only these object ids (comma-separated)"),
            ("match[type]", "only these STIX types (comma-separated)"),
            (
                "match[version]",
                "first, last, all or a version's timestamp",
            ),
            ("match[spec_version]", "only these STIX versions"),
        ] {
            all.push(json!({"name": name, "in": "query", "required": false,
                            "description": description, "schema": {"type": "string"}}));
        }
    }
    if action == "alert.list" {
        all.push(json!({"name": "status", "in": "query", "required": false,
                        "description": "only alerts in this triage state",
                        "schema": {"type": "string", "enum": ["new", "acknowledged", "false_positive", "escalated"]}}));
        all.push(json!({"name": "kind", "in": "query", "required": false,
                        "description": "only alerts of this kind",
                        "schema": {"type": "string", "enum": ["rule", "correlation", "indicator", "anomaly", "source_health", "clock"]}}));
    }
    if PAGED.contains(&action) {
        all.push(json!({"name": "limit", "in": "query", "required": false,
                        "description": "at most this many items (default 100)",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500}}));
        all.push(json!({"name": "after", "in": "query", "required": false,
                        "description": "the `Kuzet-Next-Cursor` header of the previous page",
                        "schema": {"type": "string"}}));
    }
    all
}

/// The lists answered in pages (each in its own order), the next page's cursor in the `Kuzet-Next-Cursor` header.
const PAGED: &[&str] = &[
    "incident.list",
    "obligation.list",
    "alert.list",
    "token.list",
    "source.list",
    "user.list",
    "grant.list",
    "notification.list",
    "exchange.list",
];

fn operation(spec: &RouteSpec, shapes: Shapes, generator: &mut schemars::SchemaGenerator) -> Value {
    let (access, permission) = match spec.access {
        Access::Public => ("public", None),
        Access::Authenticated => ("authenticated", None),
        Access::Account => ("account", None),
        Access::Permission(p) => ("permission", Some(p.as_str())),
    };
    let security = match spec.access {
        Access::Public => json!([]),
        Access::Account => json!([{"session": []}]),
        _ => json!([{"session": []}, {"token": []}]),
    };
    let mut op = json!({
        "operationId": spec.action,
        "summary": format!("{} ({})", spec.action, permission.unwrap_or(access)),
        "x-kuzet-audit-action": spec.action,
        "x-kuzet-access": access,
        "security": security,
        "parameters": parameters(spec.path, spec.action),
        "responses": {
            "2XX": {"description": "Done; the answer is JSON (an export streams NDJSON)."},
            "default": {"$ref": "#/components/responses/Error"},
        },
    });
    if let Some(response) = shapes.response {
        op["responses"]["2XX"]["content"] =
            json!({"application/json": {"schema": Value::from(response(generator))}});
    } else if NO_BODY.contains(&spec.action) {
        op["responses"]["2XX"] = json!({"description": "Done; the answer has no body."});
    } else if let Some((_, media)) = MEDIA.iter().find(|(action, _)| *action == spec.action) {
        let content: serde_json::Map<String, Value> = media
            .iter()
            .map(|m| ((*m).to_owned(), json!({"schema": {}})))
            .collect();
        op["responses"]["2XX"]["content"] = Value::Object(content);
    }
    if let Some(permission) = permission {
        op["x-kuzet-permission"] = permission.into();
    }
    if let Some(request) = shapes.request {
        let schema = Value::from(request(generator));
        // A body the route may also go without is an optional type (`null` among its choices).
        let optional = schema["anyOf"]
            .as_array()
            .is_some_and(|choices| choices.iter().any(|c| c["type"] == "null"));
        op["requestBody"] = json!({
            "required": !optional,
            "content": {"application/json": {"schema": schema}},
        });
    } else if matches!(spec.method.as_str(), "POST" | "PUT") {
        op["requestBody"] = json!({
            "required": false,
            "content": {"application/json": {"schema": {"type": "object"}}},
        });
    }
    op
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route says what its success answers: a JSON type's schema, no body, or its media types. A route
    /// added without one fails here.
    #[test]
    fn every_route_describes_its_answer() {
        let doc = document();
        let mut undescribed = Vec::new();
        for (path, methods) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in methods.as_object().into_iter().flatten() {
                let answer = &op["responses"]["2XX"];
                let described = answer["content"].is_object()
                    || answer["description"] == "Done; the answer has no body.";
                if !described {
                    undescribed.push(format!("{method} {path}"));
                }
            }
        }
        assert!(
            undescribed.is_empty(),
            "routes without a described answer: {undescribed:?}"
        );
        for action in NO_BODY.iter().chain(MEDIA.iter().map(|(a, _)| a)) {
            assert!(
                routes().iter().any(|r| r.action == *action),
                "{action} is not a route"
            );
        }
    }

    /// Request bodies are typed too: every POST or PUT that reads a JSON body names its type.
    #[test]
    fn bodies_are_described_by_their_types() {
        let doc = document();
        let login = &doc["paths"]["/api/v1/auth/login"]["post"]["requestBody"];
        assert_eq!(login["required"], true);
        let schema = &login["content"]["application/json"]["schema"]["$ref"];
        let name = schema
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("#/components/schemas/");
        let login_schema = &doc["components"]["schemas"][name];
        assert_eq!(
            login_schema["additionalProperties"], false,
            "{login_schema}"
        );
        let mfa = &doc["paths"]["/api/v1/auth/mfa/enrol"]["post"]["requestBody"];
        assert_eq!(mfa["required"], false, "re-enrolment proof is optional");
    }
}
