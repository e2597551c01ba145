//! Public real-world samples (`<workspace root>/../shared/testdata`) through the listeners: loghub syslog lines over
//! TCP in both framings, Zeek NDJSON posted gzip-compressed exactly as published, and the same records via `_bulk`.
//! When the data is absent the tests say so and pass.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

mod common;

use std::io::Read;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{MemorySink, Running, directory, loopback, peer, source};
use kuzet_ingest::{Ingest, IngestConfig, SharedDirectory};
use kuzet_model::SourceIdentity;
use sha2::Digest;
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;

fn testdata(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "shared test data absent: {} not found; skipping this test",
            path.display()
        );
        None
    }
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .filter(|l| !l.is_empty())
        .collect()
}

#[tokio::test]
async fn loghub_syslog_lines_arrive_byte_exact_in_both_framings() {
    for sample in ["loghub/Linux/Linux_2k.log", "loghub/OpenSSH/OpenSSH_2k.log"] {
        let Some(path) = testdata(sample) else {
            return;
        };
        let expected = lines(&std::fs::read(&path).unwrap());
        assert!(expected.len() >= 1900, "{sample}: {} lines", expected.len());
        for octet_counting in [false, true] {
            let running = Running::start(
                IngestConfig {
                    syslog_tcp: loopback(),
                    ..IngestConfig::default()
                },
                directory(vec![source("loghub", "alpha", vec![peer("127.0.0.0/8")])]),
            )
            .await;
            let mut stream = Vec::new();
            for line in &expected {
                if octet_counting {
                    stream.extend_from_slice(format!("{} ", line.len()).as_bytes());
                    stream.extend_from_slice(line);
                } else {
                    stream.extend_from_slice(line);
                    stream.push(b'\n');
                }
            }
            let mut client = tokio::net::TcpStream::connect(running.addresses.syslog_tcp.unwrap())
                .await
                .unwrap();
            // Odd-sized writes so that frames straddle reads.
            for chunk in stream.chunks(997) {
                client.write_all(chunk).await.unwrap();
            }
            client.shutdown().await.unwrap();
            running.sink.wait_for_events(expected.len()).await;
            let got: Vec<Vec<u8>> = running.sink.events().into_iter().map(|e| e.bytes).collect();
            assert_eq!(
                got.len(),
                expected.len(),
                "{sample} octet_counting={octet_counting}"
            );
            assert!(
                got == expected,
                "{sample} octet_counting={octet_counting}: bytes differ"
            );
            running.stop().await;
        }
    }
}

const TOKEN: &str = "zeek-sensor-token";

fn app() -> (Ingest<MemorySink>, MemorySink) {
    let hash = hex::encode(sha2::Sha256::digest(TOKEN.as_bytes()));
    let sink = MemorySink::default();
    let ingest = Ingest::new(
        IngestConfig::default(),
        SharedDirectory::new(directory(vec![source(
            "zeek",
            "beta",
            vec![SourceIdentity::TokenSha256(hash)],
        )])),
        sink.clone(),
    )
    .unwrap();
    (ingest, sink)
}

async fn post(
    ingest: &Ingest<MemorySink>,
    uri: &str,
    gzip: bool,
    body: Vec<u8>,
) -> serde_json::Value {
    let mut request = Request::post(uri).header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    if gzip {
        request = request.header(header::CONTENT_ENCODING, "gzip");
    }
    let response = ingest
        .router()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn zeek_ndjson_posted_gzip_as_published_becomes_one_event_per_record() {
    for sample in [
        "zeek/ntp.json.gz",
        "zeek/notice.json.gz",
        "zeek/known_services.json.gz",
    ] {
        let Some(path) = testdata(sample) else {
            return;
        };
        let compressed = std::fs::read(&path).unwrap();
        let mut plain = Vec::new();
        flate2::read::MultiGzDecoder::new(&compressed[..])
            .read_to_end(&mut plain)
            .unwrap();
        let records = lines(&plain);

        let (ingest, sink) = app();
        let answer = post(&ingest, "/ingest/v1/events", true, compressed).await;
        assert_eq!(answer["accepted"], records.len(), "{sample}");
        let got: Vec<Vec<u8>> = sink.events().into_iter().map(|e| e.bytes).collect();
        assert!(
            got == records,
            "{sample}: event bytes differ from the records"
        );

        let (ingest, sink) = app();
        let mut bulk = Vec::new();
        for record in &records {
            bulk.extend_from_slice(b"{\"create\":{\"_index\":\"logs-zeek-default\"}}\n");
            bulk.extend_from_slice(record);
            bulk.push(b'\n');
        }
        let answer = post(&ingest, "/_bulk", false, bulk).await;
        assert_eq!(answer["errors"], false, "{sample}");
        let items = answer["items"].as_array().unwrap();
        assert_eq!(items.len(), records.len());
        assert!(items.iter().all(|item| item["create"]["status"] == 201));
        assert_eq!(sink.events().len(), records.len());
    }
}
