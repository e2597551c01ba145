//! Finding one event by its id: through the block index (what `prove_in` does) against reading every segment
//! (what lookups did before, `prove_in_by_scan`), on one archive built here. Reports per lookup the wall time, the
//! read system calls and the bytes they returned (`/proc/self/io`), for events that exist and for ids that do not.
//!   cargo bench -p kuzet-store --bench lookup                 1 M events
//!   KUZET_BENCH_EVENTS=10000000 cargo bench -p kuzet-store --bench lookup
// A benchmark's setup failing is a bug to see at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_store::{ArchiveWriter, Signer, prove_in, prove_in_by_scan};

fn event(n: u64) -> RawEvent {
    let tenant = TenantId::new("bench").unwrap();
    let original = format!(
        "<134>1 2026-11-22T08:00:00+05:00 fw-01 sshd 4242 ID47 - Accepted publickey for user{} from 10.0.{}.{} \
         port 5{:04} ssh2: RSA SHA256:{:032x} session opened by (uid=0)",
        n % 500,
        n % 256,
        (n * 7) % 256,
        n % 10_000,
        u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    );
    // Ids as the listeners make them: time-ordered, with a little disorder between neighbours.
    let millis = 1_763_780_000_000 + n / 10 + (n * 7919) % 3;
    RawEvent {
        id: EventId::from_parts(millis, u128::from(n)),
        tenant,
        source: SourceId::new("fw1").unwrap(),
        received: jiff::Timestamp::from_second(1_763_780_000).unwrap(),
        transport: Transport::Tcp,
        peer: None,
        format: FormatHint::Syslog,
        bytes: original.into_bytes(),
    }
}

/// (read system calls, bytes read) of this process so far.
fn io() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (field("syscr:"), field("rchar:"))
}

fn measure(label: &str, ids: &[EventId], mut lookup: impl FnMut(EventId) -> bool) -> f64 {
    let (calls0, bytes0) = io();
    let start = Instant::now();
    let mut found = 0;
    for id in ids {
        found += usize::from(lookup(*id));
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / ids.len() as f64;
    let (calls1, bytes1) = io();
    let n = ids.len() as f64;
    println!(
        "{label:<44} {ms:>10.3} ms/lookup {:>10.1} reads/lookup {:>14.0} bytes/lookup  ({found}/{} found)",
        (calls1 - calls0) as f64 / n,
        (bytes1 - bytes0) as f64 / n,
        ids.len()
    );
    ms
}

fn main() {
    let count: u64 = std::env::var("KUZET_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::from_seed([3; 32]);
    let tenant = TenantId::new("bench").unwrap();
    let now = jiff::Timestamp::from_second(1_763_780_000).unwrap();
    let start = Instant::now();
    {
        let (mut writer, _) =
            ArchiveWriter::open(dir.path(), tenant.clone(), 1 << 20, 256 << 20, 3, &signer)
                .unwrap();
        for n in 0..count {
            writer
                .append(n + 1, &event(n), "kuzet-parse/1", now)
                .unwrap();
            if n % 100_000 == 99_999 {
                writer.flush(now).unwrap();
            }
        }
        writer.flush(now).unwrap();
    }
    let size: u64 = std::fs::read_dir(dir.path().join("bench"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    println!(
        "archive: {count} events, {:.1} MiB, built in {:.1} s",
        size as f64 / (1 << 20) as f64,
        start.elapsed().as_secs_f64()
    );
    // Spread over the whole log, old and new.
    let present: Vec<EventId> = (0..50u64)
        .map(|i| event((i * 7_919_993) % count).id)
        .collect();
    let absent: Vec<EventId> = (0..50u64)
        .map(|i| {
            EventId::from_parts(
                1_763_780_000_000 + (i * 7_919_993) % (count / 10),
                u128::MAX - u128::from(i),
            )
        })
        .collect();
    let archive = dir.path();
    let index = |id| prove_in(archive, &tenant, id).unwrap().is_some();
    let scan = |id| prove_in_by_scan(archive, &tenant, id).unwrap().is_some();
    let a = measure("block index, present ids", &present, index);
    let b = measure("block index, absent ids", &absent, index);
    let scans = 5;
    let c = measure(
        "scan of every segment (before), present ids",
        &present[..scans],
        scan,
    );
    let d = measure(
        "scan of every segment (before), absent ids",
        &absent[..scans],
        scan,
    );
    println!("speed-up: present ×{:.0}, absent ×{:.0}", c / a, d / b);
}
