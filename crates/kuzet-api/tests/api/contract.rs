//! Every exchange of the API tests is checked against the OpenAPI document: a request body against the route's
//! request schema, a JSON answer against its answer schema (a success) or the error shape (a failure). The schemas
//! are generated from the handlers' own types, so a handler that answers something else than it declares fails
//! every test that calls it.

use std::sync::OnceLock;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

struct Route {
    method: String,
    segments: Vec<String>,
    request: Option<jsonschema::Validator>,
    response: Option<jsonschema::Validator>,
}

struct Contract {
    routes: Vec<Route>,
    error: jsonschema::Validator,
}

fn validator(components: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": components,
        "allOf": [schema],
    });
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("schema {schema}: {e}"))
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let doc = kuzet_api::openapi_document();
        let components = &doc["components"];
        let mut routes = Vec::new();
        for (path, methods) in doc["paths"].as_object().unwrap() {
            for (method, op) in methods.as_object().unwrap() {
                let request = op["requestBody"]["content"]["application/json"]["schema"].clone();
                let response =
                    op["responses"]["2XX"]["content"]["application/json"]["schema"].clone();
                // A body described only as "an object" says nothing to check.
                let described = |s: &Value| !s.is_null() && *s != json!({"type": "object"});
                routes.push(Route {
                    method: method.to_uppercase(),
                    segments: path.split('/').map(str::to_owned).collect(),
                    request: described(&request).then(|| validator(components, &request)),
                    response: described(&response).then(|| validator(components, &response)),
                });
            }
        }
        let error = validator(components, &json!({"$ref": "#/components/schemas/Error"}));
        Contract { routes, error }
    })
}

/// The route a request goes to: literal segments before `{parameters}`, as the router matches.
fn route(method: &Method, path: &str) -> Option<&'static Route> {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    contract()
        .routes
        .iter()
        .filter(|r| r.method == method.as_str() && r.segments.len() == segments.len())
        .filter(|r| {
            r.segments
                .iter()
                .zip(&segments)
                .all(|(template, actual)| template.starts_with('{') || template == actual)
        })
        .max_by_key(|r| r.segments.iter().filter(|s| !s.starts_with('{')).count())
}

fn check(validator: &jsonschema::Validator, what: &str, value: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the OpenAPI document: {errors:?}\n{value:#}"
    );
}

/// Checks one exchange (only JSON bodies: exports stream NDJSON or CSV).
pub fn check_exchange(
    method: &Method,
    path: &str,
    request: Option<&Value>,
    status: StatusCode,
    answer: &Value,
    answer_is_json: bool,
) {
    let Some(route) = route(method, path) else {
        return; // an unknown route: its answer is checked as an error below when it is one
    };
    if let (Some(validator), Some(body)) = (&route.request, request)
        && status.is_success()
    {
        // Bodies the API accepted must be what the document describes (tests also send bad ones on purpose).
        check(validator, &format!("request body of {method} {path}"), body);
    }
    if !answer_is_json {
        return;
    }
    if status.is_success() {
        if let Some(validator) = &route.response {
            check(
                validator,
                &format!("answer of {method} {path} ({status})"),
                answer,
            );
        }
    } else {
        check(
            &contract().error,
            &format!("error answer of {method} {path} ({status})"),
            answer,
        );
    }
}

#[test]
fn an_answer_unlike_its_type_is_caught() {
    let tenant = json!({"id": "akimat", "name": "Akimat", "retention": {"hot_days": 62, "archive_years": 3}});
    check_exchange(
        &Method::GET,
        "/api/v1/tenants/akimat",
        None,
        StatusCode::OK,
        &tenant,
        true,
    );
    let missing = json!({"id": "akimat", "name": "Akimat"});
    let wrong_type = json!({"id": "akimat", "name": "Akimat", "retention": {"hot_days": "62", "archive_years": 3}});
    for answer in [missing, wrong_type] {
        let caught = std::panic::catch_unwind(|| {
            check_exchange(
                &Method::GET,
                "/api/v1/tenants/akimat",
                None,
                StatusCode::OK,
                &answer,
                true,
            )
        });
        assert!(caught.is_err(), "{answer} passed");
    }
    // A failure must have the one error shape.
    let caught = std::panic::catch_unwind(|| {
        check_exchange(
            &Method::GET,
            "/api/v1/tenants/akimat",
            None,
            StatusCode::NOT_FOUND,
            &json!({"message": "x"}),
            true,
        )
    });
    assert!(caught.is_err());
}
