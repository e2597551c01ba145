//! HTTP ingest: `POST /ingest/v1/events` with a JSON object, a JSON array of objects or NDJSON, optionally
//! gzip-compressed. All or nothing: the answer is 200 only once every event of the request is durable, and
//! nothing of a request that has one bad element is appended.

use std::io::Read;
use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jiff::Timestamp;
use kuzet_model::{FormatHint, RawEvent, Transport};
use serde_json::value::RawValue;

use crate::attribution::{self, Attributed};
use crate::telemetry::{DropReason, RefuseReason};
use crate::{Ingest, Sink, SinkError};

pub(crate) fn router<S: Sink>(ingest: Ingest<S>) -> Router {
    let ingest_routes = Router::new()
        .route("/ingest/v1/events", post(ingest_events::<S>))
        .with_state(ingest.clone());
    ingest_routes.merge(crate::elastic::router(ingest))
}

/// An answer that is not 2xx, in the shape the endpoint's clients expect.
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub kind: &'static str,
    pub reason: String,
}

impl Refusal {
    pub fn new(status: StatusCode, kind: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            reason: reason.into(),
        }
    }

    /// Elasticsearch's error shape; Kuzet's own endpoint uses it too, so one shape serves every client.
    pub fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": {
                "root_cause": [{"type": self.kind, "reason": self.reason}],
                "type": self.kind,
                "reason": self.reason,
            },
            "status": self.status.as_u16(),
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kuzet\", ApiKey, Basic realm=\"kuzet\""),
            );
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

pub(crate) fn authenticate<S>(
    ingest: &Ingest<S>,
    headers: &HeaderMap,
    transport: Transport,
) -> Result<Attributed, Refusal> {
    let directory = ingest.shared.directory.load();
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    attribution::by_authorization(&directory, header).ok_or_else(|| {
        ingest
            .shared
            .stats
            .refused(transport, RefuseReason::UnknownSource);
        let reason = if header.is_some() {
            "unknown token or api key"
        } else {
            "missing authentication credentials (Authorization: Bearer, ApiKey or Basic)"
        };
        Refusal::new(StatusCode::UNAUTHORIZED, "security_exception", reason)
    })
}

/// Reads the body within `http_max_body_bytes` and decompresses gzip within `http_max_decompressed_bytes`.
pub(crate) async fn read_body<S>(
    ingest: &Ingest<S>,
    headers: &HeaderMap,
    body: Body,
    transport: Transport,
) -> Result<Bytes, Refusal> {
    let config = &ingest.shared.config;
    let stats = &ingest.shared.stats;
    let too_large = |what: &str, limit: usize| {
        stats.dropped(transport, DropReason::Oversized, 1);
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_entity_too_large",
            format!("{what} larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > config.http_max_body_bytes as u64) {
        return Err(too_large("request body", config.http_max_body_bytes));
    }
    // Either the limit was hit or the client went away; in the second case nobody reads the answer.
    let body = axum::body::to_bytes(body, config.http_max_body_bytes)
        .await
        .map_err(|_| too_large("request body", config.http_max_body_bytes))?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") | Some("x-gzip") => {
            let limit = config.http_max_decompressed_bytes;
            let decoded = tokio::task::spawn_blocking(move || gunzip(&body, limit))
                .await
                .map_err(|e| {
                    Refusal::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal_error",
                        format!("decompression task failed: {e}"),
                    )
                })?;
            match decoded {
                Ok(Some(bytes)) => Ok(Bytes::from(bytes)),
                Ok(None) => Err(too_large("decompressed request body", limit)),
                Err(error) => {
                    stats.dropped(transport, DropReason::Decompress, 1);
                    Err(Refusal::new(
                        StatusCode::BAD_REQUEST,
                        "parse_exception",
                        format!("gzip body: {error}"),
                    ))
                }
            }
        }
        Some(other) => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "illegal_argument_exception",
            format!("content encoding `{other}` is not supported; use gzip"),
        )),
    }
}

/// `Ok(None)` when the output would exceed `limit`: reading stops at `limit + 1` bytes, so a compression bomb
/// costs at most that much memory.
fn gunzip(compressed: &[u8], limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let decoder = flate2::read::MultiGzDecoder::new(compressed);
    let mut out = Vec::with_capacity((compressed.len() * 4).min(limit));
    decoder.take(limit as u64 + 1).read_to_end(&mut out)?;
    if out.len() > limit {
        return Ok(None);
    }
    Ok(Some(out))
}

/// Where a body stopped being acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonBodyError(pub String);

/// Splits a body into the JSON texts of its events without building values: one object, an array of objects, or
/// NDJSON (one object per line; blank lines ignored).
pub(crate) fn split_json_events(body: &[u8]) -> Result<Vec<&[u8]>, JsonBodyError> {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    match body.get(start) {
        None => Ok(Vec::new()),
        Some(b'[') => {
            let elements: Vec<&RawValue> =
                serde_json::from_slice(body).map_err(|e| JsonBodyError(format!("body: {e}")))?;
            elements
                .iter()
                .enumerate()
                .map(|(index, raw)| {
                    let text = raw.get();
                    if text.starts_with('{') {
                        Ok(text.as_bytes())
                    } else {
                        Err(JsonBodyError(format!("element {index}: not a JSON object")))
                    }
                })
                .collect()
        }
        Some(_) => {
            if let Ok(raw) = serde_json::from_slice::<&RawValue>(body)
                && raw.get().starts_with('{')
            {
                return Ok(vec![raw.get().as_bytes()]);
            }
            let mut events = Vec::new();
            for (index, line) in body.split(|b| *b == b'\n').enumerate() {
                let line = line.trim_ascii();
                if line.is_empty() {
                    continue;
                }
                let raw: &RawValue = serde_json::from_slice(line)
                    .map_err(|e| JsonBodyError(format!("line {}: {e}", index + 1)))?;
                if !raw.get().starts_with('{') {
                    return Err(JsonBodyError(format!(
                        "line {}: not a JSON object",
                        index + 1
                    )));
                }
                events.push(line);
            }
            Ok(events)
        }
    }
}

pub(crate) fn peer_of(request: &Request) -> Option<SocketAddr> {
    let extensions = request.extensions();
    extensions
        .get::<ConnectInfo<crate::HttpPeer>>()
        .map(|info| info.0.0)
        .or_else(|| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0)
        })
}

pub(crate) fn json_event<S>(
    ingest: &Ingest<S>,
    who: &Attributed,
    transport: Transport,
    peer: Option<SocketAddr>,
    received: Timestamp,
    bytes: &[u8],
) -> RawEvent {
    RawEvent {
        id: ingest.shared.ids.next(received),
        tenant: who.tenant.clone(),
        source: who.source.clone(),
        received,
        transport,
        peer,
        format: FormatHint::Json,
        bytes: bytes.to_vec(),
    }
}

/// Appends with `try_append` and maps the outcome to the answer's status.
pub(crate) async fn append_all<S: Sink>(
    ingest: &Ingest<S>,
    transport: Transport,
    events: Vec<RawEvent>,
) -> Result<(), Refusal> {
    let stats = &ingest.shared.stats;
    let count = events.len() as u64;
    if count == 0 {
        return Ok(());
    }
    let bytes = events.iter().map(|e| e.bytes.len() as u64).sum();
    stats.received(transport, count, bytes);
    match ingest.shared.sink.try_append(events).await {
        Ok(()) => {
            stats.acknowledged(transport, count);
            Ok(())
        }
        Err(SinkError::Full) => {
            stats.dropped(transport, DropReason::QueueFull, count);
            Err(Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "es_rejected_execution_exception",
                "write-ahead log queue is full; retry later",
            ))
        }
        Err(SinkError::TooLarge(detail)) => {
            stats.dropped(transport, DropReason::Oversized, count);
            Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "event_too_large_exception",
                detail,
            ))
        }
        Err(error) => {
            stats.dropped(transport, DropReason::Unavailable, count);
            tracing::warn!(%error, "sink failed; answering 503");
            Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable_exception",
                "storage unavailable",
            ))
        }
    }
}

async fn ingest_events<S: Sink>(State(ingest): State<Ingest<S>>, request: Request) -> Response {
    match ingest_events_inner(&ingest, request).await {
        Ok(accepted) => axum::Json(serde_json::json!({ "accepted": accepted })).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn ingest_events_inner<S: Sink>(
    ingest: &Ingest<S>,
    request: Request,
) -> Result<usize, Refusal> {
    let transport = Transport::Http;
    let peer = peer_of(&request);
    let (parts, body) = request.into_parts();
    let who = authenticate(ingest, &parts.headers, transport)?;
    let body = read_body(ingest, &parts.headers, body, transport).await?;
    let texts = split_json_events(&body).map_err(|JsonBodyError(reason)| {
        ingest
            .shared
            .stats
            .dropped(transport, DropReason::InvalidJson, 1);
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "parse_exception",
            format!("{reason}; nothing of this request was accepted"),
        )
    })?;
    let max = ingest.shared.config.max_message_bytes;
    let oversized: Vec<usize> = (0..texts.len()).filter(|i| texts[*i].len() > max).collect();
    if let Some(first) = oversized.first() {
        ingest
            .shared
            .stats
            .dropped(transport, DropReason::Oversized, oversized.len() as u64);
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "event_too_large_exception",
            format!(
                "event {} of the request: {} bytes, larger than max_message_bytes ({max}); {} event(s) too large, \
                 nothing of this request was accepted",
                first + 1,
                texts[*first].len(),
                oversized.len()
            ),
        ));
    }
    let received = crate::receive_time();
    let events: Vec<RawEvent> = texts
        .iter()
        .map(|text| json_event(ingest, &who, transport, peer, received, text))
        .collect();
    let accepted = events.len();
    append_all(ingest, transport, events).await?;
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(body: &str) -> Result<Vec<String>, String> {
        split_json_events(body.as_bytes())
            .map(|v| {
                v.into_iter()
                    .map(|b| String::from_utf8(b.to_vec()).unwrap())
                    .collect()
            })
            .map_err(|e| e.0)
    }

    #[test]
    fn object_array_and_ndjson() {
        assert_eq!(split(" {\"a\": 1}\n").unwrap(), vec!["{\"a\": 1}"]);
        assert_eq!(
            split("{\n  \"pretty\": true\n}").unwrap(),
            vec!["{\n  \"pretty\": true\n}"]
        );
        assert_eq!(
            split("[{\"a\":1}, {\"b\":[2]}]").unwrap(),
            vec!["{\"a\":1}", "{\"b\":[2]}"]
        );
        assert_eq!(
            split("{\"a\":1}\r\n\n{\"b\":2}\n").unwrap(),
            vec!["{\"a\":1}", "{\"b\":2}"]
        );
        assert!(split("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_line_or_element() {
        let err = split("{\"a\":1}\n{\"b\":\n{\"c\":3}\n").unwrap_err();
        assert!(err.starts_with("line 2: "), "{err}");
        let err = split("[{\"a\":1}, 7]").unwrap_err();
        assert_eq!(err, "element 1: not a JSON object");
        let err = split("{\"a\":1}\n\"text\"\n").unwrap_err();
        assert_eq!(err, "line 2: not a JSON object");
        assert!(split("[{\"a\":1},").unwrap_err().starts_with("body: "));
    }

    #[test]
    fn gunzip_stops_at_the_limit() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
        let compressed = encoder.finish().unwrap();
        assert!(gunzip(&compressed, 1000).unwrap().is_none());
        assert_eq!(
            gunzip(&compressed, 1 << 20).unwrap().unwrap().len(),
            1 << 20
        );
        assert!(gunzip(b"not gzip", 1000).is_err());
    }
}
