//! HTTP ingest in process (no socket): a 1,000-record NDJSON body, plain and gzip, through authentication, body
//! limits, splitting and `try_append` into a sink that only counts; and the same records as an Elastic `_bulk`
//! request with its per-item answer. Reports events/s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark that cannot set up should stop loudly

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kuzet_ingest::{Ingest, IngestConfig, RawEvent, SharedDirectory, Sink, SinkError};
use kuzet_model::SourceIdentity;
use sha2::Digest;
use tower::ServiceExt;

#[derive(Clone, Default)]
struct CountingSink(Arc<AtomicU64>);

impl Sink for CountingSink {
    async fn append(&self, batch: Vec<RawEvent>) -> Result<(), SinkError> {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
    async fn try_append(&self, batch: Vec<RawEvent>) -> Result<(), SinkError> {
        self.append(batch).await
    }
}

const RECORDS: usize = 1_000;
const RECORD: &str = r#"{"ts":1521912990.12,"uid":"CmES5u32sYpV7JYN","id.orig_h":"10.47.8.10","id.orig_p":138,"id.resp_h":"10.47.15.255","id.resp_p":138,"proto":"udp","service":"dns","query":"www.example.kz","qtype_name":"A","rcode_name":"NOERROR","answers":["203.0.113.7"]}"#;

fn http(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let directory = common::one_source(SourceIdentity::TokenSha256(hex::encode(
        sha2::Sha256::digest(b"token"),
    )));
    let ingest = Ingest::new(
        IngestConfig::default(),
        SharedDirectory::new(directory),
        CountingSink::default(),
    )
    .unwrap();
    let router = ingest.router();

    let ndjson = format!("{RECORD}\n").repeat(RECORDS);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(ndjson.as_bytes()).unwrap();
    let gzipped = encoder.finish().unwrap();
    let bulk =
        format!("{{\"create\":{{\"_index\":\"logs-zeek-default\"}}}}\n{RECORD}\n").repeat(RECORDS);

    let mut group = c.benchmark_group("http_ingest");
    group.throughput(Throughput::Elements(RECORDS as u64));
    let cases: [(&str, &str, Vec<u8>, bool); 3] = [
        ("ndjson", "/ingest/v1/events", ndjson.into_bytes(), false),
        ("ndjson_gzip", "/ingest/v1/events", gzipped, true),
        ("bulk", "/_bulk", bulk.into_bytes(), false),
    ];
    for (name, uri, body, gzip) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let mut request =
                        Request::post(uri).header(header::AUTHORIZATION, "Bearer token");
                    if gzip {
                        request = request.header(header::CONTENT_ENCODING, "gzip");
                    }
                    let response = router
                        .clone()
                        .oneshot(request.body(Body::from(body.clone())).unwrap())
                        .await
                        .unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                    axum::body::to_bytes(response.into_body(), usize::MAX)
                        .await
                        .unwrap()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, http);
criterion_main!(benches);
