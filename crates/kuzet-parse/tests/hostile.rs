//! Hostile inputs (the fuzz seeds in `fuzz/seeds/`): thousands of repeated keys, labels, structured-data params,
//! deep nesting. Each must parse, keep its original, and cost time linear in its size: the time per byte of each is
//! printed beside a typical line's in the same run (speed goals are judged in benchmarks, not asserted here).

// A test's setup failing is a bug to see at once.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_parse::{ParseOptions, parse};

fn raw(format: FormatHint, bytes: Vec<u8>) -> RawEvent {
    RawEvent {
        id: EventId::from_parts(1_795_316_400_000, 1),
        tenant: TenantId::new("t").unwrap(),
        source: SourceId::new("s").unwrap(),
        received: "2026-11-22T03:00:00Z".parse().unwrap(),
        transport: Transport::Tcp,
        peer: None,
        format,
        bytes,
    }
}

/// Nanoseconds per byte of parsing `raw`, the best of a few runs.
fn ns_per_byte(raw: &RawEvent) -> f64 {
    let options = ParseOptions::default();
    (0..3)
        .map(|_| {
            let started = Instant::now();
            let event = parse(raw, &options);
            assert_eq!(event.original, raw.bytes, "the original is kept");
            started.elapsed().as_nanos() as f64 / raw.bytes.len() as f64
        })
        .fold(f64::MAX, f64::min)
}

#[test]
fn hostile_inputs_parse_and_keep_their_original() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let typical = raw(
        FormatHint::Cef,
        b"CEF:0|Security|threatmanager|1.0|100|worm stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 dpt=80 suser=jdoe"
            .to_vec(),
    );
    let baseline = ns_per_byte(&typical);
    let mut seen = 0;
    for (target, format) in [
        ("parse_cef", FormatHint::Cef),
        ("parse_leef", FormatHint::Leef),
        ("parse_syslog", FormatHint::Syslog),
        ("parse_json", FormatHint::Json),
        ("parse_auto", FormatHint::Auto),
    ] {
        let dir = seeds.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let len = bytes.len();
            let cost = ns_per_byte(&raw(format, bytes));
            println!(
                "{target}/{}: {len} bytes, {cost:.1} ns/byte ({:.1}× a typical CEF line's {baseline:.1})",
                file.file_name().unwrap().to_string_lossy(),
                cost / baseline
            );
            seen += 1;
        }
    }
    assert!(seen >= 9, "the seeds are in fuzz/seeds/");
}
