//! Just enough of Elasticsearch for the stock `elasticsearch` outputs of Filebeat, Winlogbeat, Vector and
//! Fluent Bit to ship here unmodified: the probes they make before shipping and `_bulk`. See
//! `docs/delivery.md` for what each probe answers.

use std::collections::HashMap;
use std::sync::MutexGuard;
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use kuzet_model::{RawEvent, Transport};
use serde_json::{Value, json};

use crate::http::{
    JsonBodyError, Refusal, append_all, authenticate, json_event, peer_of, read_body,
};
use crate::server::{RememberedObjects, Shared};
use crate::telemetry::DropReason;
use crate::{Ingest, Sink};

/// At most this many templates, pipelines and policies are remembered; shippers install a handful.
const MAX_REMEMBERED_OBJECTS: usize = 256;
/// The largest template, pipeline or policy body remembered (Beats' own are a few dozen KiB).
const MAX_OBJECT_BYTES: usize = 256 << 10;

pub(crate) fn router<S: Sink>(ingest: Ingest<S>) -> Router {
    Router::new()
        .route("/", get(info::<S>))
        .route("/_bulk", post(bulk::<S>).put(bulk::<S>))
        .route("/{index}/_bulk", post(bulk::<S>).put(bulk::<S>))
        .route("/_license", get(license::<S>))
        .route("/_xpack", get(xpack::<S>))
        .route("/_cluster/health", get(cluster_health::<S>))
        .route("/_nodes", get(nodes::<S>))
        .route("/_nodes/{*rest}", get(nodes::<S>))
        .route("/_cat/templates", get(cat_templates::<S>))
        .route("/_cat/templates/{name}", get(cat_templates::<S>))
        .route(
            "/_index_template/{name}",
            object_routes::<S, IndexTemplate>(),
        )
        .route("/_template/{name}", object_routes::<S, LegacyTemplate>())
        .route("/_ingest/pipeline/{name}", object_routes::<S, Pipeline>())
        .route("/_ilm/policy/{name}", object_routes::<S, IlmPolicy>())
        .route("/_data_stream/{name}", object_routes::<S, DataStream>())
        .route("/{index}", put(create_index::<S>).get(get_index::<S>))
        .layer(axum::middleware::map_response(elastic_header))
        .with_state(ingest)
}

/// GET reads back what PUT installed, for each kind of object.
fn object_routes<S: Sink, O: ElasticObject + 'static>() -> MethodRouter<Ingest<S>> {
    get(get_object::<S, O>).put(put_object::<S, O>)
}

/// Elasticsearch's own clients (and the clients built on them) check this header on every answer.
async fn elastic_header(mut response: Response) -> Response {
    response.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    response
}

fn guard<S>(ingest: &Ingest<S>, request: &Request) -> Result<(), Refusal> {
    authenticate(ingest, request.headers(), Transport::Bulk).map(|_| ())
}

fn version_json(version: &str) -> Value {
    json!({
        "number": version,
        "build_flavor": "default",
        "build_type": "tar",
        "build_hash": "0000000000000000000000000000000000000000",
        "build_date": "2025-01-01T00:00:00.000Z",
        "build_snapshot": false,
        "lucene_version": "9.12.0",
        "minimum_wire_compatibility_version": "7.17.0",
        "minimum_index_compatibility_version": "7.0.0"
    })
}

async fn info<S: Sink>(State(ingest): State<Ingest<S>>, request: Request) -> Response {
    if let Err(refusal) = guard(&ingest, &request) {
        return refusal.into_response();
    }
    axum::Json(json!({
        "name": "kuzet",
        "cluster_name": "kuzet",
        "cluster_uuid": "a3V6ZXQta3V6ZXQta3V6ZX",
        "version": version_json(&ingest.shared.config.elastic_version),
        "tagline": "You Know, for Search"
    }))
    .into_response()
}

fn license_json() -> Value {
    json!({
        "status": "active",
        "uid": "6b757a65-742d-6c69-6365-6e7365000000",
        "type": "basic",
        "issue_date": "2025-01-01T00:00:00.000Z",
        "issue_date_in_millis": 1_735_689_600_000u64,
        "max_nodes": 1000,
        "max_resource_units": null,
        "issued_to": "kuzet",
        "issuer": "elasticsearch",
        "start_date_in_millis": -1
    })
}

async fn license<S: Sink>(State(ingest): State<Ingest<S>>, request: Request) -> Response {
    if let Err(refusal) = guard(&ingest, &request) {
        return refusal.into_response();
    }
    axum::Json(json!({ "license": license_json() })).into_response()
}

async fn xpack<S: Sink>(State(ingest): State<Ingest<S>>, request: Request) -> Response {
    if let Err(refusal) = guard(&ingest, &request) {
        return refusal.into_response();
    }
    axum::Json(json!({
        "build": {"hash": "0000000000000000000000000000000000000000", "date": "2025-01-01T00:00:00.000Z"},
        "license": {"uid": "6b757a65-742d-6c69-6365-6e7365000000", "type": "basic", "mode": "basic", "status": "active"},
        "features": {
            "ilm": {"available": true, "enabled": true},
            "security": {"available": true, "enabled": true},
            "monitoring": {"available": true, "enabled": false}
        },
        "tagline": "You know, for X"
    }))
    .into_response()
}

async fn cluster_health<S: Sink>(State(ingest): State<Ingest<S>>, request: Request) -> Response {
    if let Err(refusal) = guard(&ingest, &request) {
        return refusal.into_response();
    }
    axum::Json(json!({
        "cluster_name": "kuzet", "status": "green", "timed_out": false,
        "number_of_nodes": 1, "number_of_data_nodes": 1,
        "active_primary_shards": 0, "active_shards": 0, "relocating_shards": 0,
        "initializing_shards": 0, "unassigned_shards": 0, "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0, "active_shards_percent_as_number": 100.0
    }))
    .into_response()
}

async fn nodes<S: Sink>(State(ingest): State<Ingest<S>>, request: Request) -> Response {
    if let Err(refusal) = guard(&ingest, &request) {
        return refusal.into_response();
    }
    let version = &ingest.shared.config.elastic_version;
    axum::Json(json!({
        "_nodes": {"total": 1, "successful": 1, "failed": 0},
        "cluster_name": "kuzet",
        "nodes": {
            "a3V6ZXQtbm9kZQ": {
                "name": "kuzet",
                "version": version,
                "build_flavor": "default",
                "roles": ["data", "ingest", "master"],
                "ingest": {"processors": []},
                "http": {"max_content_length_in_bytes": ingest.shared.config.http_max_body_bytes}
            }
        }
    }))
    .into_response()
}

async fn cat_templates<S: Sink>(
    State(ingest): State<Ingest<S>>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    if let Err(refusal) = guard(&ingest, &request) {
        return refusal.into_response();
    }
    if query.get("format").is_some_and(|f| f == "json") {
        axum::Json(json!([])).into_response()
    } else {
        (StatusCode::OK, "").into_response()
    }
}

/// The kinds of objects shippers install and read back, each answered in its own GET shape.
trait ElasticObject {
    const KIND: &'static str;
    /// The error `type` Elasticsearch answers when an object of this kind is not there.
    const MISSING_TYPE: &'static str = "resource_not_found_exception";
    /// Most kinds are read back keyed by their name.
    fn get_shape(name: &str, body: Value) -> Value {
        json!({ name: body })
    }
    fn put_answer(name: &str) -> Value {
        let _ = name;
        json!({ "acknowledged": true })
    }
    /// The error `reason`, worded as Elasticsearch words it for this kind: shippers match on some of them.
    fn missing_reason(name: &str) -> String;
    fn missing(name: &str) -> Refusal {
        Refusal::new(
            StatusCode::NOT_FOUND,
            Self::MISSING_TYPE,
            Self::missing_reason(name),
        )
    }
}

struct IndexTemplate;
impl ElasticObject for IndexTemplate {
    const KIND: &'static str = "index_template";
    fn get_shape(name: &str, body: Value) -> Value {
        json!({ "index_templates": [{ "name": name, "index_template": body }] })
    }
    fn missing_reason(name: &str) -> String {
        format!("index template matching [{name}] not found")
    }
}

struct LegacyTemplate;
impl ElasticObject for LegacyTemplate {
    const KIND: &'static str = "template";
    fn missing_reason(name: &str) -> String {
        format!("template [{name}] missing")
    }
}

struct Pipeline;
impl ElasticObject for Pipeline {
    const KIND: &'static str = "pipeline";
    fn missing_reason(name: &str) -> String {
        format!("pipeline [{name}] is missing")
    }
}

struct IlmPolicy;
impl ElasticObject for IlmPolicy {
    const KIND: &'static str = "ilm_policy";
    fn get_shape(name: &str, body: Value) -> Value {
        let policy = body.get("policy").cloned().unwrap_or(body);
        json!({ name: { "version": 1, "modified_date": "2025-01-01T00:00:00.000Z", "policy": policy } })
    }
    fn missing_reason(name: &str) -> String {
        format!("Lifecycle policy not found: {name}")
    }
}

struct DataStream;
impl ElasticObject for DataStream {
    const KIND: &'static str = "data_stream";
    const MISSING_TYPE: &'static str = "index_not_found_exception";
    fn get_shape(name: &str, _body: Value) -> Value {
        json!({ "data_streams": [{
            "name": name, "timestamp_field": {"name": "@timestamp"}, "indices": [],
            "generation": 1, "status": "GREEN", "template": name, "hidden": false, "system": false
        }] })
    }
    fn missing_reason(name: &str) -> String {
        format!("no such index [{name}]")
    }
}

/// The remembered objects; a poisoned lock still holds a usable map (every write is one insert), so it is taken
/// over rather than failing every later request.
fn remembered_objects<S>(shared: &Shared<S>) -> MutexGuard<'_, RememberedObjects> {
    match shared.elastic_objects.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

async fn get_object<S: Sink, O: ElasticObject>(
    State(ingest): State<Ingest<S>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let tenant = match authenticate(&ingest, request.headers(), Transport::Bulk) {
        Ok(who) => who.tenant,
        Err(refusal) => return refusal.into_response(),
    };
    let found = {
        let objects = remembered_objects(&ingest.shared);
        objects.get(&(tenant, O::KIND, name.clone())).cloned()
    };
    match found {
        Some(body) => axum::Json(O::get_shape(&name, body)).into_response(),
        None => O::missing(&name).into_response(),
    }
}

async fn put_object<S: Sink, O: ElasticObject>(
    State(ingest): State<Ingest<S>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let tenant = match authenticate(&ingest, request.headers(), Transport::Bulk) {
        Ok(who) => who.tenant,
        Err(refusal) => return refusal.into_response(),
    };
    let (parts, body) = request.into_parts();
    let body = match read_body(&ingest, &parts.headers, body, Transport::Bulk).await {
        Ok(body) => body,
        Err(refusal) => return refusal.into_response(),
    };
    if body.len() > MAX_OBJECT_BYTES {
        return Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "content_too_long_exception",
            format!(
                "{} [{name}]: {} bytes, more than the {MAX_OBJECT_BYTES} bytes such an object may have",
                O::KIND,
                body.len()
            ),
        )
        .into_response();
    }
    let value: Value = if body.trim_ascii().is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(error) => {
                return Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "parse_exception",
                    format!("request body: {error}"),
                )
                .into_response();
            }
        }
    };
    {
        let mut objects = remembered_objects(&ingest.shared);
        let held = objects.keys().filter(|(t, _, _)| *t == tenant).count();
        let key = (tenant, O::KIND, name.clone());
        if held < MAX_REMEMBERED_OBJECTS || objects.contains_key(&key) {
            objects.insert(key, value);
        }
    }
    axum::Json(O::put_answer(&name)).into_response()
}

async fn create_index<S: Sink>(
    State(ingest): State<Ingest<S>>,
    Path(index): Path<String>,
    request: Request,
) -> Response {
    if let Err(refusal) = guard(&ingest, &request) {
        return refusal.into_response();
    }
    axum::Json(json!({ "acknowledged": true, "shards_acknowledged": true, "index": index }))
        .into_response()
}

/// Every index "exists": shippers that check before writing then just write.
async fn get_index<S: Sink>(
    State(ingest): State<Ingest<S>>,
    Path(index): Path<String>,
    request: Request,
) -> Response {
    if let Err(refusal) = guard(&ingest, &request) {
        return refusal.into_response();
    }
    axum::Json(json!({ index: { "aliases": {}, "mappings": {}, "settings": {} } })).into_response()
}

/// One `_bulk` action as parsed from its metadata line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BulkOp<'a> {
    /// `index` or `create` with its document; `document` is an error text when the line is not a JSON object.
    Write {
        action: &'static str,
        index: String,
        id: Option<String>,
        document: Result<&'a [u8], DocumentError>,
    },
    /// `delete` or `update`: answered per item with an error, Kuzet's archive is append-only.
    Refused {
        action: &'static str,
        index: String,
        id: Option<String>,
    },
}

/// Why one `_bulk` document was not accepted (its item is answered with the error; the others go on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DocumentError {
    /// Not a JSON object: 400 `document_parsing_exception`.
    Invalid(String),
    /// Larger than `max_message_bytes`: 413 `document_too_large_exception`, counted `dropped{reason="oversized"}`.
    TooLarge(String),
}

/// Parses a `_bulk` body. `Err` (the whole request answered 400, as Elasticsearch does) for a malformed action
/// line or an action without its document line; a malformed document only fails its own item.
/// A `_bulk` action/metadata line: exactly one of the four actions. Unknown metadata (`pipeline`,
/// `require_alias`, `dynamic_templates`…) is ignored.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionLine {
    index: Option<Meta>,
    create: Option<Meta>,
    delete: Option<Meta>,
    update: Option<Meta>,
}

#[derive(serde::Deserialize)]
struct Meta {
    #[serde(rename = "_index")]
    index: Option<String>,
    #[serde(rename = "_id")]
    id: Option<MetaId>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum MetaId {
    Text(String),
    Number(serde_json::Number),
}

pub(crate) fn parse_bulk<'a>(
    body: &'a [u8],
    default_index: &str,
) -> Result<Vec<BulkOp<'a>>, JsonBodyError> {
    let mut lines = body
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_ascii()))
        .filter(|(_, line)| !line.is_empty());
    let mut ops = Vec::new();
    while let Some((number, line)) = lines.next() {
        let malformed = |detail: String| {
            JsonBodyError(format!(
                "malformed action/metadata line [{number}]: {detail}"
            ))
        };
        let parsed: ActionLine =
            serde_json::from_slice(line).map_err(|e| malformed(e.to_string()))?;
        let (action, meta) = match parsed {
            ActionLine {
                index: Some(meta),
                create: None,
                delete: None,
                update: None,
            } => ("index", meta),
            ActionLine {
                index: None,
                create: Some(meta),
                delete: None,
                update: None,
            } => ("create", meta),
            ActionLine {
                index: None,
                create: None,
                delete: Some(meta),
                update: None,
            } => ("delete", meta),
            ActionLine {
                index: None,
                create: None,
                delete: None,
                update: Some(meta),
            } => ("update", meta),
            _ => {
                return Err(malformed(
                    "expected exactly one of [create], [delete], [index] or [update]".to_owned(),
                ));
            }
        };
        let index = meta.index.unwrap_or_else(|| default_index.to_owned());
        let id = meta.id.map(|id| match id {
            MetaId::Text(text) => text,
            MetaId::Number(number) => number.to_string(),
        });
        match action {
            "delete" => ops.push(BulkOp::Refused { action, index, id }),
            _ => {
                let Some((_, document)) = lines.next() else {
                    return Err(JsonBodyError(format!(
                        "action/metadata line [{number}] has no document line after it"
                    )));
                };
                if action == "update" {
                    ops.push(BulkOp::Refused { action, index, id });
                    continue;
                }
                let document =
                    match serde_json::from_slice::<&serde_json::value::RawValue>(document) {
                        Ok(raw) if raw.get().starts_with('{') => Ok(document),
                        Ok(_) => Err(DocumentError::Invalid(format!(
                            "document on line [{}] is not a JSON object",
                            number + 1
                        ))),
                        Err(error) => Err(DocumentError::Invalid(format!(
                            "document after line [{number}]: {error}"
                        ))),
                    };
                ops.push(BulkOp::Write {
                    action,
                    index,
                    id,
                    document,
                });
            }
        }
    }
    Ok(ops)
}

/// Refuses, item by item, documents larger than `max_message_bytes` (the limit every listener applies).
fn limit_documents(ops: &mut [BulkOp<'_>], max: usize) {
    for op in ops {
        if let BulkOp::Write { document, .. } = op
            && let Ok(bytes) = document
            && bytes.len() > max
        {
            *document = Err(DocumentError::TooLarge(format!(
                "document of {} bytes is larger than max_message_bytes ({max})",
                bytes.len()
            )));
        }
    }
}

/// Writes `text` as a JSON string.
fn json_string(out: &mut Vec<u8>, text: &str) {
    // Serializing a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// The answer to a `_bulk` request, written directly: building a `serde_json::Value` per item cost more than
/// everything else the endpoint does.
fn bulk_answer(took: u64, ops: &[BulkOp<'_>], event_ids: &[Option<String>]) -> Vec<u8> {
    use std::io::Write;
    let errors = ops
        .iter()
        .zip(event_ids)
        .any(|(op, id)| !matches!(op, BulkOp::Write { .. }) || id.is_none());
    let mut out = Vec::with_capacity(64 + ops.len() * 200);
    let _ = write!(out, "{{\"took\":{took},\"errors\":{errors},\"items\":[");
    for (seq_no, (op, event_id)) in ops.iter().zip(event_ids).enumerate() {
        if seq_no > 0 {
            out.push(b',');
        }
        let (action, index, id) = match op {
            BulkOp::Write {
                action, index, id, ..
            }
            | BulkOp::Refused { action, index, id } => {
                (action, index, id.as_deref().or(event_id.as_deref()))
            }
        };
        let _ = write!(out, "{{\"{action}\":{{\"_index\":");
        json_string(&mut out, index);
        out.extend_from_slice(b",\"_id\":");
        match id {
            Some(id) => json_string(&mut out, id),
            None => out.extend_from_slice(b"null"),
        }
        match (op, event_id) {
            (BulkOp::Write { .. }, Some(_)) => {
                let _ = write!(
                    out,
                    ",\"_version\":1,\"result\":\"created\",\"_shards\":{{\"total\":1,\"successful\":1,\"failed\":0}},\"_seq_no\":{seq_no},\"_primary_term\":1,\"status\":201}}}}"
                );
            }
            (BulkOp::Write { document, .. }, None) => {
                let (status, kind, reason) = match document {
                    Err(DocumentError::TooLarge(reason)) => {
                        (413, "document_too_large_exception", reason.as_str())
                    }
                    Err(DocumentError::Invalid(reason)) => {
                        (400, "document_parsing_exception", reason.as_str())
                    }
                    Ok(_) => (400, "document_parsing_exception", ""),
                };
                let _ = write!(
                    out,
                    ",\"status\":{status},\"error\":{{\"type\":\"{kind}\",\"reason\":"
                );
                json_string(&mut out, reason);
                out.extend_from_slice(b"}}}");
            }
            (BulkOp::Refused { action, .. }, _) => {
                let reason = format!(
                    "[{action}] is not supported: the archive is append-only; use index or create"
                );
                out.extend_from_slice(
                    b",\"status\":400,\"error\":{\"type\":\"illegal_argument_exception\",\"reason\":",
                );
                json_string(&mut out, &reason);
                out.extend_from_slice(b"}}}");
            }
        }
    }
    out.extend_from_slice(b"]}");
    out
}

async fn bulk<S: Sink>(State(ingest): State<Ingest<S>>, request: Request) -> Response {
    let started = Instant::now();
    let transport = Transport::Bulk;
    let default_index = request
        .uri()
        .path()
        .strip_suffix("/_bulk")
        .map(|p| p.trim_start_matches('/'))
        .filter(|p| !p.is_empty())
        .unwrap_or("kuzet")
        .to_owned();
    let peer = peer_of(&request);
    let (parts, body) = request.into_parts();
    let who = match authenticate(&ingest, &parts.headers, transport) {
        Ok(who) => who,
        Err(refusal) => return refusal.into_response(),
    };
    let body = match read_body(&ingest, &parts.headers, body, transport).await {
        Ok(body) => body,
        Err(refusal) => return refusal.into_response(),
    };
    let ops = match parse_bulk(&body, &default_index) {
        Ok(mut ops) if !ops.is_empty() => {
            limit_documents(&mut ops, ingest.shared.config.max_message_bytes);
            ops
        }
        Ok(ops) if ops.is_empty() => {
            return Refusal::new(
                StatusCode::BAD_REQUEST,
                "action_request_validation_exception",
                "Validation Failed: 1: no requests added;",
            )
            .into_response();
        }
        Ok(ops) => ops,
        Err(JsonBodyError(reason)) => {
            ingest
                .shared
                .stats
                .dropped(transport, DropReason::InvalidJson, 1);
            return Refusal::new(
                StatusCode::BAD_REQUEST,
                "illegal_argument_exception",
                reason,
            )
            .into_response();
        }
    };
    let received = crate::receive_time();
    let mut events: Vec<RawEvent> = Vec::with_capacity(ops.len());
    // For each op: the index into `events` of its event, if it has one.
    let mut event_of_op: Vec<Option<usize>> = Vec::with_capacity(ops.len());
    let mut invalid = 0u64;
    let mut oversized = 0u64;
    for op in &ops {
        match op {
            BulkOp::Write {
                document: Ok(document),
                ..
            } => {
                event_of_op.push(Some(events.len()));
                events.push(json_event(
                    &ingest, &who, transport, peer, received, document,
                ));
            }
            BulkOp::Write {
                document: Err(error),
                ..
            } => {
                match error {
                    DocumentError::Invalid(_) => invalid += 1,
                    DocumentError::TooLarge(_) => oversized += 1,
                }
                event_of_op.push(None);
            }
            BulkOp::Refused { .. } => event_of_op.push(None),
        }
    }
    ingest
        .shared
        .stats
        .dropped(transport, DropReason::InvalidJson, invalid);
    ingest
        .shared
        .stats
        .dropped(transport, DropReason::Oversized, oversized);
    let mut ids: Vec<Option<String>> = events.iter().map(|e| Some(e.id.to_string())).collect();
    if let Err(refusal) = append_all(&ingest, transport, events).await {
        return refusal.into_response();
    }
    let event_ids: Vec<Option<String>> = event_of_op
        .iter()
        .map(|event| event.and_then(|index| ids[index].take()))
        .collect();
    let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bulk_answer(took, &ops, &event_ids),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_answer_get_and_not_found_in_their_kinds_words() {
        let answers = [
            (
                IndexTemplate::missing("t"),
                "resource_not_found_exception",
                "index template matching [t] not found",
            ),
            (
                LegacyTemplate::missing("t"),
                "resource_not_found_exception",
                "template [t] missing",
            ),
            (
                Pipeline::missing("p"),
                "resource_not_found_exception",
                "pipeline [p] is missing",
            ),
            (
                IlmPolicy::missing("p"),
                "resource_not_found_exception",
                "Lifecycle policy not found: p",
            ),
            (
                DataStream::missing("d"),
                "index_not_found_exception",
                "no such index [d]",
            ),
        ];
        for (refusal, kind, reason) in answers {
            assert_eq!(refusal.status, StatusCode::NOT_FOUND);
            assert_eq!((refusal.kind, refusal.reason.as_str()), (kind, reason));
        }
        let body = json!({"x": 1});
        assert_eq!(
            LegacyTemplate::get_shape("t", body.clone()),
            json!({"t": {"x": 1}})
        );
        assert_eq!(Pipeline::get_shape("p", body), json!({"p": {"x": 1}}));
    }

    #[test]
    fn bulk_pairs_and_refusals() {
        let body = b"{\"create\":{\"_index\":\"logs-a\"}}\n{\"message\":\"one\"}\n{\"delete\":{\"_id\":\"7\"}}\n{\"index\":{\"_id\":\"x\"}}\n{\"message\":\"two\"}\n{\"update\":{\"_id\":\"y\"}}\n{\"doc\":{}}\n";
        let ops = parse_bulk(body, "dflt").unwrap();
        assert_eq!(ops.len(), 4);
        assert_eq!(
            ops[0],
            BulkOp::Write {
                action: "create",
                index: "logs-a".into(),
                id: None,
                document: Ok(&b"{\"message\":\"one\"}"[..]),
            }
        );
        assert!(
            matches!(&ops[1], BulkOp::Refused { action: "delete", index, id: Some(id) } if index == "dflt" && id == "7")
        );
        assert!(
            matches!(&ops[2], BulkOp::Write { action: "index", id: Some(id), document: Ok(_), .. } if id == "x")
        );
        assert!(matches!(
            &ops[3],
            BulkOp::Refused {
                action: "update",
                ..
            }
        ));
    }

    #[test]
    fn malformed_action_fails_the_request_bad_document_fails_its_item() {
        let err = parse_bulk(b"{\"index\":{}}\n{}\nnot json\n{}\n", "d").unwrap_err();
        assert!(err.0.contains("line [3]"), "{}", err.0);
        let err = parse_bulk(b"{\"upsert\":{}}\n{}\n", "d").unwrap_err();
        assert!(err.0.contains("upsert"), "{}", err.0);
        let err = parse_bulk(b"{\"index\":{}}\n", "d").unwrap_err();
        assert!(err.0.contains("no document line"), "{}", err.0);
        let ops = parse_bulk(b"{\"index\":{}}\n{\"a\":\n", "d").unwrap();
        assert!(matches!(
            &ops[0],
            BulkOp::Write {
                document: Err(_),
                ..
            }
        ));
    }
}
