//! HTTP JSON ingest and the Elastic-compatible endpoints, called in process through the router, plus one request
//! over a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

mod common;

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{MemorySink, Running, directory, loopback, source};
use kuzet_ingest::{DropReason, Ingest, IngestConfig, RefuseReason, SharedDirectory};
use kuzet_model::{FormatHint, SourceIdentity, Transport};
use serde_json::{Value, json};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const TOKEN: &str = "s3cret-token";

fn token_source() -> kuzet_model::Source {
    let hash = hex::encode(sha2::Sha256::digest(TOKEN.as_bytes()));
    source("beats", "alpha", vec![SourceIdentity::TokenSha256(hash)])
}

fn app_with(config: IngestConfig) -> (Ingest<MemorySink>, MemorySink) {
    let sink = MemorySink::default();
    let ingest = Ingest::new(
        config,
        SharedDirectory::new(directory(vec![token_source()])),
        sink.clone(),
    )
    .unwrap();
    (ingest, sink)
}

fn app() -> (Ingest<MemorySink>, MemorySink) {
    app_with(IngestConfig::default())
}

fn request(method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
}

async fn call(
    ingest: &Ingest<MemorySink>,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = ingest.router().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, headers, value)
}

async fn post(ingest: &Ingest<MemorySink>, uri: &str, body: &'static str) -> (StatusCode, Value) {
    let req = request("POST", uri).body(Body::from(body)).unwrap();
    let (status, _, value) = call(ingest, req).await;
    (status, value)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn object_array_and_ndjson_bodies_are_accepted_event_by_event() {
    let (ingest, sink) = app();
    let (status, body) = post(&ingest, "/ingest/v1/events", "{\"message\": \"one\"}").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"accepted": 1})));
    let (status, body) = post(&ingest, "/ingest/v1/events", "[{\"n\":2},{\"n\":3}]").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"accepted": 2})));
    let (status, body) = post(&ingest, "/ingest/v1/events", "{\"n\":4}\n\n{\"n\":5}\r\n").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"accepted": 2})));
    assert_eq!(
        sink.messages(),
        vec![
            "{\"message\": \"one\"}",
            "{\"n\":2}",
            "{\"n\":3}",
            "{\"n\":4}",
            "{\"n\":5}"
        ]
    );
    for event in sink.events() {
        assert_eq!(event.tenant.as_str(), "alpha");
        assert_eq!(event.source.as_str(), "beats");
        assert_eq!(event.transport, Transport::Http);
        assert_eq!(event.format, FormatHint::Json);
    }
    assert_eq!(ingest.stats().acknowledged_events(Transport::Http), 5);
}

#[tokio::test]
async fn gzip_bodies_are_decompressed() {
    let (ingest, sink) = app();
    let req = request("POST", "/ingest/v1/events")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(gzip(b"{\"a\":1}\n{\"b\":2}\n")))
        .unwrap();
    let (status, _, body) = call(&ingest, req).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"accepted": 2})));
    assert_eq!(sink.messages(), vec!["{\"a\":1}", "{\"b\":2}"]);
}

#[tokio::test]
async fn senders_without_a_known_token_get_401() {
    let (ingest, sink) = app();
    let anonymous = Request::post("/ingest/v1/events")
        .body(Body::from("{}"))
        .unwrap();
    let (status, headers, body) = call(&ingest, anonymous).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(body["error"]["type"], "security_exception");
    let wrong = Request::post("/ingest/v1/events")
        .header(header::AUTHORIZATION, "Bearer guess")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(call(&ingest, wrong).await.0, StatusCode::UNAUTHORIZED);
    assert!(sink.events().is_empty());
    assert_eq!(
        ingest
            .stats()
            .refusals(Transport::Http, RefuseReason::UnknownSource),
        2
    );
}

#[tokio::test]
async fn beats_api_key_and_basic_auth_carry_the_token() {
    let (ingest, sink) = app();
    let b64 = |s: &str| {
        // Test-only encoder: enough for ASCII credentials.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let bytes = s.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        while !out.len().is_multiple_of(4) {
            out.push('=');
        }
        out
    };
    for authorization in [
        format!("ApiKey {}", b64(&format!("filebeat:{TOKEN}"))),
        format!("Basic {}", b64(&format!("elastic:{TOKEN}"))),
    ] {
        let req = Request::post("/ingest/v1/events")
            .header(header::AUTHORIZATION, authorization)
            .body(Body::from("{\"x\":1}"))
            .unwrap();
        assert_eq!(call(&ingest, req).await.0, StatusCode::OK);
    }
    assert_eq!(sink.events().len(), 2);
}

#[tokio::test]
async fn a_full_sink_answers_429_and_appends_nothing() {
    let (ingest, sink) = app();
    sink.set_full(true);
    let req = request("POST", "/ingest/v1/events")
        .body(Body::from("{\"a\":1}\n{\"b\":2}"))
        .unwrap();
    let (status, headers, _) = call(&ingest, req).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert!(sink.events().is_empty());
    assert_eq!(
        ingest
            .stats()
            .dropped_events(Transport::Http, DropReason::QueueFull),
        2
    );
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let (ingest, sink) = app_with(IngestConfig {
        http_max_body_bytes: 64,
        ..IngestConfig::default()
    });
    let big = format!("{{\"pad\":\"{}\"}}", "p".repeat(100));
    let req = request("POST", "/ingest/v1/events")
        .body(Body::from(big))
        .unwrap();
    assert_eq!(call(&ingest, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(sink.events().is_empty());
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_without_inflating_it() {
    let (ingest, sink) = app_with(IngestConfig {
        http_max_decompressed_bytes: 1 << 20,
        ..IngestConfig::default()
    });
    // 1 GiB of zeros as 1024 concatenated gzip members of 1 MiB each: about 1 MiB on the wire.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
    let bomb = encoder.finish().unwrap().repeat(1024);
    assert!(bomb.len() < 4 << 20, "{}", bomb.len());
    let req = request("POST", "/ingest/v1/events")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(bomb))
        .unwrap();
    let (status, _, body) = call(&ingest, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("decompressed")
    );
    assert!(sink.events().is_empty());
}

#[tokio::test]
async fn invalid_json_is_400_naming_the_line_and_nothing_is_appended() {
    let (ingest, sink) = app();
    let (status, body) = post(
        &ingest,
        "/ingest/v1/events",
        "{\"ok\":1}\n{\"ok\":2}\n{\"broken\":\n{\"ok\":4}\n",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let reason = body["error"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("line 3: "), "{reason}");
    let (status, body) = post(&ingest, "/ingest/v1/events", "[{\"ok\":1}, \"text\"]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("element 1: ")
    );
    assert!(sink.events().is_empty());
}

#[tokio::test]
async fn bulk_answers_per_item_like_elasticsearch() {
    let (ingest, sink) = app();
    let body = "{\"create\":{\"_index\":\"logs-app-default\"}}\n{\"message\":\"one\"}\n\
                {\"index\":{\"_id\":\"given\"}}\n{\"message\":\"two\"}\n\
                {\"delete\":{\"_id\":\"x\"}}\n\
                {\"create\":{}}\n{\"broken\":\n";
    let req = request(
        "POST",
        "/filebeat-8/_bulk?filter_path=errors,items.*.error,items.*.status",
    )
    .header(header::CONTENT_TYPE, "application/x-ndjson")
    .body(Body::from(body))
    .unwrap();
    let (status, headers, answer) = call(&ingest, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-elastic-product"], "Elasticsearch");
    assert_eq!(answer["errors"], true);
    assert!(answer["took"].is_u64());
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);

    let first = &items[0]["create"];
    assert_eq!(first["_index"], "logs-app-default");
    assert_eq!(first["status"], 201);
    assert_eq!(first["result"], "created");
    assert_eq!(first["_version"], 1);
    assert_eq!(
        first["_shards"],
        json!({"total": 1, "successful": 1, "failed": 0})
    );
    let events = sink.events();
    assert_eq!(first["_id"], events[0].id.to_string());

    let second = &items[1]["index"];
    assert_eq!(second["_index"], "filebeat-8");
    assert_eq!(second["_id"], "given");
    assert_eq!(second["status"], 201);

    assert_eq!(items[2]["delete"]["status"], 400);
    assert_eq!(
        items[2]["delete"]["error"]["type"],
        "illegal_argument_exception"
    );
    assert_eq!(items[3]["create"]["status"], 400);
    assert_eq!(
        items[3]["create"]["error"]["type"],
        "document_parsing_exception"
    );

    assert_eq!(
        sink.messages(),
        vec!["{\"message\":\"one\"}", "{\"message\":\"two\"}"]
    );
    assert!(
        events
            .iter()
            .all(|e| e.transport == Transport::Bulk && e.format == FormatHint::Json)
    );
}

#[tokio::test]
async fn bulk_under_pressure_is_refused_whole_with_429() {
    let (ingest, sink) = app();
    sink.set_full(true);
    let req = request("POST", "/_bulk")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(gzip(b"{\"create\":{}}\n{\"a\":1}\n")))
        .unwrap();
    let (status, headers, body) = call(&ingest, req).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert_eq!(body["status"], 429);
    assert_eq!(body["error"]["type"], "es_rejected_execution_exception");
    sink.set_full(false);
    let req = request("POST", "/_bulk")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(gzip(b"{\"create\":{}}\n{\"a\":1}\n")))
        .unwrap();
    let (status, _, body) = call(&ingest, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["errors"], false);
    assert_eq!(body["items"][0]["create"]["_index"], "kuzet");
}

#[tokio::test]
async fn malformed_bulk_action_fails_the_whole_request() {
    let (ingest, sink) = app();
    let (status, body) = post(
        &ingest,
        "/_bulk",
        "{\"create\":{}}\n{\"a\":1}\nnonsense\n{}\n",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("line [3]")
    );
    assert!(sink.events().is_empty());
}

#[tokio::test]
async fn the_probes_shippers_make_are_answered() {
    let (ingest, _) = app();
    let get = |uri: &str| request("GET", uri).body(Body::empty()).unwrap();

    let (status, headers, info) = call(&ingest, get("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-elastic-product"], "Elasticsearch");
    assert_eq!(info["tagline"], "You Know, for Search");
    assert_eq!(info["version"]["build_flavor"], "default");
    assert!(
        info["version"]["number"]
            .as_str()
            .unwrap()
            .starts_with("8.")
    );

    let head = request("HEAD", "/").body(Body::empty()).unwrap();
    assert_eq!(call(&ingest, head).await.0, StatusCode::OK);

    let (status, _, license) = call(&ingest, get("/_license")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(license["license"]["type"], "basic");
    assert_eq!(license["license"]["status"], "active");

    let (status, _, xpack) = call(&ingest, get("/_xpack")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(xpack["license"]["status"], "active");

    for (path, get_key) in [
        ("/_index_template/filebeat-8.19.0", "index_templates"),
        ("/_template/winlogbeat", "winlogbeat"),
        (
            "/_ingest/pipeline/filebeat-8.19.0-system-auth",
            "filebeat-8.19.0-system-auth",
        ),
        ("/_ilm/policy/filebeat", "filebeat"),
    ] {
        assert_eq!(
            call(&ingest, get(path)).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let head = request("HEAD", path).body(Body::empty()).unwrap();
        assert_eq!(call(&ingest, head).await.0, StatusCode::NOT_FOUND, "{path}");
        let put = request("PUT", path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                "{\"policy\":{\"phases\":{}},\"index_patterns\":[\"x-*\"]}",
            ))
            .unwrap();
        let (status, _, answer) = call(&ingest, put).await;
        assert_eq!(
            (status, answer),
            (StatusCode::OK, json!({"acknowledged": true})),
            "{path}"
        );
        let (status, _, answer) = call(&ingest, get(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(answer.get(get_key).is_some(), "{path}: {answer}");
    }

    let put_index = request("PUT", "/my-index").body(Body::empty()).unwrap();
    let (status, _, answer) = call(&ingest, put_index).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["acknowledged"], true);
    let head_index = request("HEAD", "/my-index").body(Body::empty()).unwrap();
    assert_eq!(call(&ingest, head_index).await.0, StatusCode::OK);

    let (status, _, templates) = call(&ingest, get("/_cat/templates/filebeat?format=json")).await;
    assert_eq!((status, templates), (StatusCode::OK, json!([])));
    let (status, _, nodes) = call(&ingest, get("/_nodes/_local/http")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nodes["_nodes"]["total"], 1);

    let anonymous = Request::get("/").body(Body::empty()).unwrap();
    assert_eq!(call(&ingest, anonymous).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn http_over_a_real_socket_records_the_peer() {
    let running = Running::start(
        IngestConfig {
            http: loopback(),
            ..IngestConfig::default()
        },
        directory(vec![token_source()]),
    )
    .await;
    let body = "{\"over\":\"tcp\"}";
    let request = format!(
        "POST /ingest/v1/events HTTP/1.1\r\nHost: kuzet\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(running.addresses.http.unwrap())
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("{\"accepted\":1}"), "{answer}");
    let events = running.sink.events();
    assert_eq!(events.len(), 1);
    assert!(events[0].peer.unwrap().ip().is_loopback());
    running.stop().await;
}

async fn raw_post(stream: &mut tokio::net::TcpStream, keep_alive: bool) -> String {
    let body = "{\"raw\":true}";
    let request = format!(
        "POST /ingest/v1/events HTTP/1.1\r\nHost: kuzet\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: {}\r\nConnection: {}\r\n\r\n{body}",
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test]
async fn http_connections_over_the_per_peer_limit_are_closed() {
    let running = Running::start(
        IngestConfig {
            http: loopback(),
            max_connections_per_peer: 1,
            ..IngestConfig::default()
        },
        directory(vec![token_source()]),
    )
    .await;
    let server = running.addresses.http.unwrap();
    let mut first = tokio::net::TcpStream::connect(server).await.unwrap();
    assert!(raw_post(&mut first, true).await.starts_with("HTTP/1.1 200"));
    let mut second = tokio::net::TcpStream::connect(server).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(matches!(second.read(&mut byte).await, Ok(0) | Err(_)));
    assert_eq!(
        running
            .stats
            .refusals(Transport::Http, RefuseReason::TooManyConnections),
        1
    );
    // The first connection still works.
    assert!(
        raw_post(&mut first, false)
            .await
            .starts_with("HTTP/1.1 200")
    );
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_http_client_that_never_finishes_its_headers_is_closed() {
    let running = Running::start(
        IngestConfig {
            http: loopback(),
            idle_timeout: std::time::Duration::from_secs(30),
            ..IngestConfig::default()
        },
        directory(vec![token_source()]),
    )
    .await;
    let mut stream = tokio::net::TcpStream::connect(running.addresses.http.unwrap())
        .await
        .unwrap();
    stream
        .write_all(b"POST /ingest/v1/events HTTP/1.1\r\nHost: kuz")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
    let closed_after = started.elapsed();
    assert!(
        closed_after >= std::time::Duration::from_secs(29),
        "{closed_after:?}"
    );
    assert!(
        closed_after < std::time::Duration::from_secs(31),
        "{closed_after:?}"
    );
    assert_eq!(
        running
            .stats
            .refusals(Transport::Http, RefuseReason::IdleTimeout),
        1
    );
    assert!(running.sink.events().is_empty());
    running.stop().await;
}

#[tokio::test]
async fn events_over_max_message_bytes_are_refused_on_every_http_path() {
    let (ingest, sink) = app_with(IngestConfig {
        max_message_bytes: 100,
        ..IngestConfig::default()
    });
    let small = "{\"message\":\"fits\"}";
    let big = format!("{{\"message\":\"{}\"}}", "x".repeat(200));
    // NDJSON: all or nothing, the event named.
    let body = format!("{small}\n{big}\n{small}\n");
    let req = request("POST", "/ingest/v1/events")
        .body(Body::from(body))
        .unwrap();
    let (status, _, answer) = call(&ingest, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    let reason = answer["error"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("event 2") && reason.contains("max_message_bytes (100)"),
        "{reason}"
    );
    assert!(sink.events().is_empty(), "nothing of the request appended");
    // _bulk: the big document fails its own item with 413, the others are accepted.
    let body = format!(
        "{{\"create\":{{}}}}\n{small}\n{{\"create\":{{}}}}\n{big}\n{{\"create\":{{}}}}\n{small}\n"
    );
    let req = request("POST", "/logs/_bulk")
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from(body))
        .unwrap();
    let (status, _, answer) = call(&ingest, req).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["errors"], true);
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items[0]["create"]["status"], 201);
    assert_eq!(items[1]["create"]["status"], 413);
    assert_eq!(
        items[1]["create"]["error"]["type"],
        "document_too_large_exception"
    );
    assert_eq!(items[2]["create"]["status"], 201);
    assert_eq!(sink.events().len(), 2);
    let stats = ingest.stats();
    assert_eq!(
        stats.dropped_events(Transport::Http, DropReason::Oversized),
        1
    );
    assert_eq!(
        stats.dropped_events(Transport::Bulk, DropReason::Oversized),
        1
    );
}

#[tokio::test]
async fn elastic_objects_are_each_tenants_own_and_bounded_in_size() {
    let other_token = "other-tenant-token";
    let other = source(
        "beats-beta",
        "beta",
        vec![SourceIdentity::TokenSha256(hex::encode(
            sha2::Sha256::digest(other_token.as_bytes()),
        ))],
    );
    let ingest = Ingest::new(
        IngestConfig::default(),
        SharedDirectory::new(directory(vec![token_source(), other])),
        MemorySink::default(),
    )
    .unwrap();
    let put = |token: &str, body: String| {
        Request::builder()
            .method("PUT")
            .uri("/_index_template/filebeat")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let get = |token: &str| {
        Request::builder()
            .method("GET")
            .uri("/_index_template/filebeat")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, _) = call(
        &ingest,
        put(TOKEN, r#"{"index_patterns":["alpha-*"]}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Another tenant's shipper neither reads nor overwrites it.
    assert_eq!(
        call(&ingest, get(other_token)).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = call(
        &ingest,
        put(other_token, r#"{"index_patterns":["beta-*"]}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, mine) = call(&ingest, get(TOKEN)).await;
    assert!(mine.to_string().contains("alpha-*"), "{mine}");
    assert!(!mine.to_string().contains("beta-*"), "{mine}");
    // A body larger than such an object may be is refused by name.
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(300 << 10));
    let (status, _, answer) = call(&ingest, put(TOKEN, big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(answer.to_string().contains("filebeat"), "{answer}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_answers_in_flight_only_so_long() {
    let ingest = Ingest::new(
        IngestConfig {
            http: loopback(),
            shutdown_grace: std::time::Duration::from_secs(10),
            ..IngestConfig::default()
        },
        SharedDirectory::new(directory(vec![token_source()])),
        MemorySink::default(),
    )
    .unwrap();
    let listeners = ingest.bind().await.unwrap();
    let address = listeners.addresses().http.unwrap();
    // An answer that never ends, like a multi-gigabyte export to a client that reads slowly.
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(started_tx)));
    let endless = axum::Router::new().route(
        "/endless",
        axum::routing::get(move || {
            if let Some(tx) = started_tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
            std::future::pending::<&'static str>()
        }),
    );
    let shutdown = CancellationToken::new();
    let serving = tokio::spawn(listeners.serve(endless, shutdown.clone()));
    let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
    client
        .write_all(b"GET /endless HTTP/1.1\r\nHost: kuzet\r\n\r\n")
        .await
        .unwrap();
    started_rx.await.unwrap();
    let began = tokio::time::Instant::now();
    shutdown.cancel();
    serving.await.unwrap().unwrap();
    let waited = began.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(10) && waited < std::time::Duration::from_secs(11),
        "stopped after {waited:?}, the grace was 10 s"
    );
}
