//! Events/s through the whole store on this disk: producers append batches through `WalHandle` (group commit,
//! one fdatasync per group), the sealer seals them. Each iteration ends with a clean shutdown, so everything
//! measured is durable and sealed.
// Benchmarks set up fixed inputs; a failure there is a bug to see at once.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_store::{Signer, Store, StoreConfig};

fn raws(producer: u64, batches: u64, batch: u64) -> Vec<Vec<RawEvent>> {
    let tenant = TenantId::new("bench").unwrap();
    let source = SourceId::new("fw1").unwrap();
    let at = jiff::Timestamp::from_second(1_763_780_000).unwrap();
    (0..batches)
        .map(|b| {
            (0..batch)
                .map(|i| {
                    let n = (producer << 40) | (b * batch + i);
                    RawEvent {
                        id: EventId::from_parts(1_763_780_000_000, u128::from(n)),
                        tenant: tenant.clone(),
                        source: source.clone(),
                        received: at,
                        transport: Transport::Tcp,
                        peer: None,
                        format: FormatHint::Syslog,
                        bytes: format!(
                            "<134>1 2026-11-22T08:00:00+05:00 fw-01 sshd 4242 ID47 - Accepted publickey for user{} \
                             from 10.0.{}.{} port 5{:04} ssh2: RSA SHA256:{:032x} session opened by (uid=0)",
                            n % 500, n % 256, (n * 7) % 256, n % 10_000, u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                        )
                        .into_bytes(),
                    }
                })
                .collect()
        })
        .collect()
}

fn normalize() -> kuzet_store::Normalize {
    kuzet_store::unparsed()
}

fn wal(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal");
    group.sample_size(10);
    // (producers, batches per producer, events per batch): 40,000 events, concurrently in flight.
    for (producers, batches, batch) in [(4u64, 100u64, 100u64), (16, 25, 100), (16, 10, 250)] {
        group.throughput(Throughput::Elements(producers * batches * batch));
        group.bench_function(
            format!("append_fsync_seal_{producers}x{batches}x{batch}"),
            |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let dir = tempfile::tempdir().unwrap();
                        let config = StoreConfig::new(dir.path());
                        let store =
                            Store::open(config, Signer::from_seed([1; 32]), normalize()).unwrap();
                        let inputs: Vec<_> =
                            (0..producers).map(|p| raws(p, batches, batch)).collect();
                        let start = Instant::now();
                        std::thread::scope(|scope| {
                            for input in inputs {
                                let handle = store.wal();
                                scope.spawn(move || {
                                    for batch in input {
                                        handle.append_blocking(batch).unwrap();
                                    }
                                });
                            }
                        });
                        let stats = store.stats();
                        store.shutdown().unwrap();
                        total += start.elapsed();
                        eprintln!("  {} events, {} fsyncs", stats.wal_appended, stats.fsyncs);
                    }
                    total
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, wal);
criterion_main!(benches);
