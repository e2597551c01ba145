//! Power loss at the file layer: random workloads run on a real store while every fsync is recorded; at a random
//! fsync the disk a power cut would leave is built — data synced kept, data written since dropped or torn at a
//! random point, directory entries created, renamed or removed since their directory's last fsync kept or lost —
//! and recovery runs on it. No acknowledged event may be lost or sealed twice, and the archive must verify.
//! `KUZET_POWER_LOSS_WORKLOADS` sets how many workloads run (default 150).

// Helpers outside #[test] functions unwrap too: a failure is a broken test setup.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use common::*;
use kuzet_model::EventId;
use kuzet_store::{Store, crash, read_events, verify};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One workload; returns (syncs planned for the crash, events acknowledged before it).
fn workload(seed: u64) -> (u64, usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let image = dir.path().join("image");
    std::fs::create_dir_all(&data).unwrap();
    let mut config = small_config(&data);
    config.block_bytes = 512 + rng.below(6000) as usize;
    config.segment_bytes = 4096 + rng.below(12_000);
    config.wal_segment_bytes = 4096 + rng.below(12_000);
    config.block_max_age = Duration::from_millis(1 + rng.below(20));
    let tenants = ["alpha", "beta", "gamma"];
    let batches = 5 + rng.below(35);
    let at = 1 + rng.below(batches * 4);
    crash::record(&data, at, &image, rng.next());
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let wal = store.wal();
    let mut acked: BTreeMap<&str, Vec<EventId>> = BTreeMap::new();
    let mut n = 0u64;
    for _ in 0..batches {
        let size = 1 + rng.below(30);
        let mut batch = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..size {
            let t = tenants[rng.below(tenants.len() as u64) as usize];
            let r = raw(t, n);
            n += 1;
            ids.push((t, r.id));
            batch.push(r);
        }
        wal.append_blocking(batch).unwrap();
        // Acknowledged: owed by the image only if it was taken after this point.
        if !crash::taken() {
            for (t, id) in ids {
                acked.entry(t).or_default().push(id);
            }
        }
    }
    drop(wal);
    crash::take_now();
    store.abort();
    assert!(crash::stop(), "seed {seed}: the crash image was taken");

    // Recovery on the disk the power cut left.
    let mut recovered = config.clone();
    recovered.data_dir = image.clone();
    let store = Store::open(recovered.clone(), signer(), normalize())
        .unwrap_or_else(|e| panic!("seed {seed}: recovery refused the crash image: {e}"));
    store.shutdown().unwrap();
    let report = verify(&recovered.archive_dir(), &signer().verifying_key()).unwrap();
    assert!(report.is_intact(), "seed {seed}: {report}");
    let mut count = 0;
    for t in tenants {
        let sealed: Vec<EventId> = if recovered.archive_dir().join(t).is_dir() {
            read_events(&recovered.archive_dir(), &tenant(t), normalize())
                .map(|e| e.unwrap().id)
                .collect()
        } else {
            Vec::new()
        };
        let unique: HashSet<_> = sealed.iter().collect();
        assert_eq!(
            unique.len(),
            sealed.len(),
            "seed {seed}: {t}: an event sealed twice"
        );
        for id in acked.get(t).into_iter().flatten() {
            assert!(
                unique.contains(id),
                "seed {seed}: {t}: acknowledged event {id} lost"
            );
            count += 1;
        }
    }
    // A second start finds nothing more to do.
    let store = Store::open(recovered, signer(), normalize()).unwrap();
    assert!(
        store.recovery().is_empty(),
        "seed {seed}: {:?}",
        store.recovery()
    );
    store.shutdown().unwrap();
    (at, count)
}

#[test]
fn no_acknowledged_event_is_lost_or_doubled_by_a_power_cut() {
    let workloads: u64 = std::env::var("KUZET_POWER_LOSS_WORKLOADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let mut events = 0;
    for seed in 0..workloads {
        events += workload(seed).1;
    }
    println!(
        "power loss: {workloads} workloads, each cut at a random fsync; {events} acknowledged events all recovered \
         exactly once, every archive intact"
    );
}
