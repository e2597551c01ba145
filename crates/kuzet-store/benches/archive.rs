//! Sealing throughput: ~300-byte syslog events as received, encoded as format 2 records, hashed, laid out in
//! columns, compressed with zstd and written to segments with a signed checkpoint per flush. Reports events/s (criterion "elements").
// Benchmarks set up fixed inputs; a failure there is a bug to see at once.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_store::{ArchiveWriter, Signer};

fn events(count: u64) -> Vec<RawEvent> {
    let tenant = TenantId::new("bench").unwrap();
    let source = SourceId::new("fw1").unwrap();
    let at = jiff::Timestamp::from_second(1_763_780_000).unwrap();
    (0..count)
        .map(|n| {
            let original = format!(
                "<134>1 2026-11-22T08:00:00+05:00 fw-01 sshd 4242 ID47 - Accepted publickey for user{} from \
                 10.0.{}.{} port 5{:04} ssh2: RSA SHA256:{:032x} session opened by (uid=0)",
                n % 500,
                n % 256,
                (n * 7) % 256,
                n % 10_000,
                u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            );
            RawEvent {
                id: EventId::from_parts(1_763_780_000_000 + n / 100, u128::from(n)),
                tenant: tenant.clone(),
                source: source.clone(),
                received: at,
                transport: Transport::Tcp,
                peer: Some("10.1.2.3:51400".parse().unwrap()),
                format: FormatHint::Syslog,
                bytes: original.into_bytes(),
            }
        })
        .collect()
}

/// Tenant `bench` in `dir` with 1 MiB blocks and 256 MiB segments.
fn open_writer(dir: &std::path::Path, zstd_level: i32, signer: &Signer) -> ArchiveWriter {
    let (writer, _) = ArchiveWriter::open(
        dir,
        TenantId::new("bench").unwrap(),
        1 << 20,
        256 << 20,
        zstd_level,
        signer,
    )
    .unwrap();
    writer
}

/// Appends `batch` with sequence numbers from 1 and flushes: seals the last block and signs a checkpoint.
fn seal_all(writer: &mut ArchiveWriter, batch: &[RawEvent], now: jiff::Timestamp) {
    for (seq, event) in batch.iter().enumerate() {
        writer
            .append(seq as u64 + 1, event, "kuzet-parse/1", now)
            .unwrap();
    }
    writer.flush(now).unwrap();
}

fn seal(c: &mut Criterion) {
    const N: u64 = 50_000;
    let batch = events(N);
    let signer = Signer::from_seed([1; 32]);
    let now = jiff::Timestamp::from_second(1_763_780_000).unwrap();
    let mut group = c.benchmark_group("archive");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    for level in [1, 3] {
        group.bench_function(format!("seal_300B_events_zstd{level}"), |b| {
            b.iter_custom(|iters| {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    let mut writer = open_writer(dir.path(), level, &signer);
                    let start = std::time::Instant::now();
                    seal_all(&mut writer, &batch, now);
                    total += start.elapsed();
                }
                total
            });
        });
    }
    group.finish();
}

/// Offline verification: decompress every block, re-hash every record, recompute the tree, check checkpoints.
fn verify(c: &mut Criterion) {
    const N: u64 = 50_000;
    let batch = events(N);
    let signer = Signer::from_seed([1; 32]);
    let now = jiff::Timestamp::from_second(1_763_780_000).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = open_writer(dir.path(), 3, &signer);
    seal_all(&mut writer, &batch, now);
    let on_disk: u64 = std::fs::read_dir(dir.path().join("bench"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    eprintln!(
        "archive: {N} events, {on_disk} bytes on disk ({:.1} bytes/event incl. envelope, locator, checkpoints)",
        on_disk as f64 / N as f64
    );
    let key = signer.verifying_key();
    let mut group = c.benchmark_group("archive");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    group.bench_function("verify_300B_events", |b| {
        b.iter(|| {
            let report = kuzet_store::verify(dir.path(), &key).unwrap();
            assert!(report.is_intact());
        });
    });
    group.finish();
}

criterion_group!(benches, seal, verify);
criterion_main!(benches);
