//! How fast a consumer that fell behind catches up from the archive, against the plain sequential reader of the
//! same archive (`read_events`) as the baseline, measured in the same run.
//!   cargo bench -p kuzet-store --bench consumer             500 k events
//!   KUZET_BENCH_EVENTS=2000000 cargo bench -p kuzet-store --bench consumer
// A benchmark's setup failing is a bug to see at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_store::{ConsumerStart, Signer, Store, StoreConfig, StoreError, read_events};

fn raw(n: u64) -> RawEvent {
    RawEvent {
        id: EventId::from_parts(1_763_780_000_000 + n / 10, u128::from(n)),
        tenant: TenantId::new("bench").unwrap(),
        source: SourceId::new("fw1").unwrap(),
        received: jiff::Timestamp::from_second(1_763_780_000).unwrap(),
        transport: Transport::Tcp,
        peer: None,
        format: FormatHint::Syslog,
        bytes: format!(
            "<134>1 2026-11-22T08:00:00+05:00 fw-01 sshd 4242 ID47 - Accepted publickey for user{} from \
             10.0.{}.{} port 5{:04} ssh2",
            n % 500,
            n % 256,
            (n * 7) % 256,
            n % 10_000
        )
        .into_bytes(),
    }
}

fn main() {
    let count: u64 = std::env::var("KUZET_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.consumer_buffer_events = 1024;
    let store = Store::open(config, Signer::from_seed([5; 32]), kuzet_store::unparsed()).unwrap();
    // The consumer reads nothing while everything is sealed: it falls ~count events behind a 1,024-event buffer.
    let mut consumer = store.consumer("bench", ConsumerStart::Latest).unwrap();
    let wal = store.wal();
    for start in (0..count).step_by(1000) {
        wal.append_blocking((start..(start + 1000).min(count)).map(raw).collect())
            .unwrap();
    }
    drop(wal);
    store.shutdown().unwrap();

    let start = Instant::now();
    let (mut delivered, mut from_archive) = (0u64, 0u64);
    loop {
        match consumer.next(Duration::ZERO) {
            Ok(Some(d)) => {
                delivered += d.len() as u64;
                if d.from_archive() {
                    from_archive += d.len() as u64;
                }
            }
            Ok(None) | Err(StoreError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let catch_up = start.elapsed().as_secs_f64();
    assert_eq!(delivered, count, "every event delivered");
    let start = Instant::now();
    let read = read_events(
        &dir.path().join("archive"),
        &TenantId::new("bench").unwrap(),
        kuzet_store::unparsed(),
    )
    .count();
    let baseline = start.elapsed().as_secs_f64();
    assert_eq!(read as u64, count);
    println!(
        "consumer catch-up: {delivered} events ({from_archive} from the archive) in {catch_up:.2} s = {:.0} events/s",
        delivered as f64 / catch_up
    );
    println!(
        "baseline read_events: {read} events in {baseline:.2} s = {:.0} events/s; ratio {:.2}",
        read as f64 / baseline,
        baseline / catch_up
    );
}
