//! EVTX throughput over the shared test data (`<workspace>/../shared/testdata/evtx`), in records/s (criterion's
//! `thrpt` with element counts): splitting files into record JSON (`records`), mapping that JSON to events
//! (`parse_record`), and both together (file → Event). Run: `cargo bench -p kuzet-parse --bench evtx`.
//! Without the test data it prints that it is absent and measures nothing.

// A benchmark binary: unreadable fixtures should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kuzet_model::{Event, EventId, SourceId, TenantId};

fn evtx_files() -> Option<Vec<Vec<u8>>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/evtx");
    if !root.is_dir() {
        println!(
            "shared testdata absent at {}: EVTX benchmark skipped",
            root.display()
        );
        return None;
    }
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "evtx") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    Some(paths.iter().map(|p| std::fs::read(p).unwrap()).collect())
}

fn to_event(json: &[u8]) -> Event {
    let mut event = Event::new(
        EventId::from_parts(0x0190_0000_0000, 1),
        TenantId::new("bench").unwrap(),
        SourceId::new("bench").unwrap(),
        "2026-03-02T12:00:00Z".parse().unwrap(),
        json.to_vec(),
    );
    kuzet_parse::evtx::parse_record(&mut event, json);
    event
}

fn bench(c: &mut Criterion) {
    let Some(files) = evtx_files() else { return };
    let records: Vec<Vec<u8>> = files
        .iter()
        .flat_map(|file| kuzet_parse::evtx::records(file.clone()).filter_map(Result::ok))
        .collect();
    let bytes: usize = files.iter().map(Vec::len).sum();
    let json_bytes: usize = records.iter().map(Vec::len).sum();
    println!(
        "evtx corpus: {} files, {:.1} MB, {} records, {:.1} MB of record JSON",
        files.len(),
        bytes as f64 / 1e6,
        records.len(),
        json_bytes as f64 / 1e6
    );

    let mut group = c.benchmark_group("evtx");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("records (file → record json)", |b| {
        b.iter(|| {
            let mut count = 0usize;
            for file in &files {
                count += kuzet_parse::evtx::records(file.clone())
                    .filter(Result::is_ok)
                    .count();
            }
            black_box(count)
        })
    });
    group.bench_function("parse_record (record json → event)", |b| {
        b.iter(|| {
            for json in &records {
                black_box(to_event(json));
            }
        })
    });
    group.bench_function("file → event", |b| {
        b.iter(|| {
            for file in &files {
                for json in kuzet_parse::evtx::records(file.clone()).filter_map(Result::ok) {
                    black_box(to_event(&json));
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
