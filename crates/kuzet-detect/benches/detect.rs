//! Streaming detection throughput, in events/s (criterion's `thrpt`), over the shared EVTX recordings parsed once
//! (`<workspace>/../shared/testdata`), beside baselines measured in the same run:
//! - `parse`: the same records parsed to events (what detection is compared with: a hunt costs parse + detect);
//! - `sigmahq`: every SigmaHQ rule that loads (3,400+), routed and prefiltered, over the events parsed before;
//! - `parse_sigmahq`: each record parsed and its event matched at once, as `kuzet hunt` does: beside `parse`,
//!   the hunt's rate against parsing alone (the goal: at least 0.8);
//! - `sigmahq_exhaustive`: the same rules with every routed rule evaluated (what the prefilter saves);
//! - `builtin`: Kuzet's own pack with its correlations.
//!
//! Run: `cargo bench -p kuzet-detect`. Without the test data it says so and measures the builtin pack only on
//! its own samples.

// A benchmark binary: unreadable fixtures should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kuzet_detect::{Correlator, Engine, Limits, Pipeline, RuleSet, builtin_rules, sample_event};
use kuzet_model::{Event, FormatHint};

#[path = "../tests/support/mod.rs"]
mod support;

fn bench(c: &mut Criterion) {
    let shared = support::shared();
    let pipeline = Pipeline::builtin();
    let pack = builtin_rules();
    let builtin = Engine::build(&pack, &pipeline);
    if !shared.is_dir() {
        println!(
            "shared testdata absent at {}: only the builtin pack on its samples",
            shared.display()
        );
        let at = jiff::Timestamp::UNIX_EPOCH;
        let events: Vec<Event> = builtin
            .rules()
            .iter()
            .flat_map(|r| r.samples.matching.iter().chain(&r.samples.not_matching))
            .map(|d| sample_event(d, at))
            .collect();
        let mut group = c.benchmark_group("detect");
        group.throughput(Throughput::Elements(events.len() as u64));
        let mut scratch = builtin.scratch();
        group.bench_function("builtin_samples", |b| {
            b.iter(|| {
                events
                    .iter()
                    .map(|e| builtin.matches(e, &mut scratch).len())
                    .sum::<usize>()
            })
        });
        return;
    }
    let mut rule_files = Vec::new();
    for dir in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        rule_files.extend(support::files(
            &shared.join("sigma").join(dir),
            &support::with_extension(&["yml"]),
        ));
    }
    let mut set = RuleSet::new();
    for file in &rule_files {
        set.add_yaml(
            &file.display().to_string(),
            &std::fs::read_to_string(file).unwrap(),
        );
    }
    let sigmahq = Engine::build(&set, &pipeline);
    println!("sigmahq: {:?}", sigmahq.stats());
    let evtx = support::files(&shared.join("evtx"), &support::with_extension(&["evtx"]));
    let records: Vec<Vec<u8>> = evtx
        .iter()
        .flat_map(|f| kuzet_parse::evtx::records(std::fs::read(f).unwrap()).flatten())
        .collect();
    let events: Vec<Event> = records
        .iter()
        .map(|r| support::parse(r, FormatHint::Evtx, jiff::Timestamp::UNIX_EPOCH))
        .collect();

    let mut group = c.benchmark_group("detect");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            records
                .iter()
                .map(|r| {
                    support::parse(r, FormatHint::Evtx, jiff::Timestamp::UNIX_EPOCH)
                        .fields
                        .len()
                })
                .sum::<usize>()
        })
    });
    let mut scratch = sigmahq.scratch();
    group.bench_function("sigmahq", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| sigmahq.matches(black_box(e), &mut scratch).len())
                .sum::<usize>()
        })
    });
    group.bench_function("parse_sigmahq", |b| {
        b.iter(|| {
            records
                .iter()
                .map(|r| {
                    let event = support::parse(r, FormatHint::Evtx, jiff::Timestamp::UNIX_EPOCH);
                    sigmahq.matches(black_box(&event), &mut scratch).len()
                })
                .sum::<usize>()
        })
    });
    group.bench_function("sigmahq_exhaustive", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| sigmahq.matches_exhaustive(black_box(e), &mut scratch).len())
                .sum::<usize>()
        })
    });
    let mut scratch = builtin.scratch();
    group.bench_function("builtin", |b| {
        b.iter(|| {
            let mut correlator = Correlator::build(&pack, &builtin, &pipeline, Limits::default());
            let mut out = Vec::new();
            for event in &events {
                let matched = builtin.matches(black_box(event), &mut scratch);
                correlator.observe(event, matched, event.timestamp, &mut out);
            }
            out.len()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
