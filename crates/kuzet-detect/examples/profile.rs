//! Runs all SigmaHQ rules over the shared EVTX samples, parsed once, for a number of seconds: a target for a
//! profiler (`perf record cargo run --release --example profile`). Prints events per second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use kuzet_detect::{Engine, Pipeline, RuleSet};
use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

fn main() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata");
    let mut rules = Vec::new();
    for dir in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        files(&shared.join("sigma").join(dir), "yml", &mut rules);
    }
    let mut set = RuleSet::new();
    for rule in &rules {
        set.add_yaml(
            &rule.display().to_string(),
            &std::fs::read_to_string(rule).unwrap(),
        );
    }
    let engine = Engine::build(&set, &Pipeline::builtin());
    let mut evtx = Vec::new();
    files(&shared.join("evtx"), "evtx", &mut evtx);
    let mut events = Vec::new();
    for file in &evtx {
        for record in kuzet_parse::evtx::records(std::fs::read(file).unwrap()).flatten() {
            let raw = RawEvent {
                id: EventId::from_u128(1),
                tenant: TenantId::new("t").unwrap(),
                source: SourceId::new("s").unwrap(),
                received: jiff::Timestamp::UNIX_EPOCH,
                transport: Transport::File,
                peer: None,
                format: FormatHint::Evtx,
                bytes: record,
            };
            events.push(kuzet_parse::parse(
                &raw,
                &kuzet_parse::ParseOptions::default(),
            ));
        }
    }
    let seconds: f64 = std::env::args().nth(1).map_or(5.0, |s| s.parse().unwrap());
    let mut scratch = engine.scratch();
    let started = std::time::Instant::now();
    let (mut n, mut hits) = (0u64, 0u64);
    while started.elapsed().as_secs_f64() < seconds {
        for event in &events {
            hits += engine.matches(event, &mut scratch).len() as u64;
            n += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} events, {hits} hits, {:.0} events/s, {:.2} µs/event",
        n,
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
}
