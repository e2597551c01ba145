//! The API's description as an OpenAPI 3.1 document, generated from the route table — the same table the router
//! and the RBAC matrix are built from — so a route cannot exist without its entry: each operation names its audit
//! action (`operationId` and `x-kuzet-audit-action`), who may call it (`x-kuzet-access`, `x-kuzet-permission`),
//! its path parameters, how it authenticates, and the one error shape every failure answers with.

use serde_json::{Value, json};

use crate::routes::{Access, RouteSpec, routes};

/// The document for this build.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for spec in routes() {
        // `{name}` path segments are OpenAPI's syntax too.
        let entry = paths.entry(spec.path).or_insert_with(|| json!({}));
        if let Value::Object(methods) = entry {
            methods.insert(spec.method.as_str().to_lowercase(), operation(&spec));
        }
    }
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
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    }},
                },
            },
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
    if action == "alert.list" {
        all.push(json!({"name": "status", "in": "query", "required": false,
                        "description": "only alerts in this triage state",
                        "schema": {"type": "string", "enum": ["new", "acknowledged", "false_positive", "escalated"]}}));
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

/// The lists answered in pages: newest first, the next page's cursor in the `Kuzet-Next-Cursor` header.
const PAGED: &[&str] = &["incident.list", "obligation.list", "alert.list"];

fn operation(spec: &RouteSpec) -> Value {
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
    if let Some(permission) = permission {
        op["x-kuzet-permission"] = permission.into();
    }
    if matches!(spec.method.as_str(), "POST" | "PUT") {
        op["requestBody"] = json!({
            "required": false,
            "content": {"application/json": {"schema": {"type": "object"}}},
        });
    }
    op
}
