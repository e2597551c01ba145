//! Crash recovery by failure mode: every acknowledged event ends up sealed exactly once and the archive verifies.

// Helpers outside #[test] functions unwrap too: a failure is a broken test setup.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::io::Write;

use common::*;
use kuzet_model::EventId;
use kuzet_store::{Store, StoreConfig, read_events, verify};

fn sealed_ids(config: &StoreConfig, tenant_name: &str) -> Vec<EventId> {
    read_events(&config.archive_dir(), &tenant(tenant_name), normalize())
        .map(|e| e.unwrap().id)
        .collect()
}

fn assert_exactly_once(config: &StoreConfig, tenant_name: &str, acked: &[EventId]) {
    let sealed = sealed_ids(config, tenant_name);
    let unique: HashSet<_> = sealed.iter().collect();
    assert_eq!(
        unique.len(),
        sealed.len(),
        "duplicates sealed for {tenant_name}"
    );
    for id in acked {
        assert!(
            unique.contains(id),
            "acknowledged event {id} of {tenant_name} was lost"
        );
    }
    assert_eq!(sealed.len(), acked.len());
}

fn assert_intact(config: &StoreConfig) {
    let report = verify(&config.archive_dir(), &signer().verifying_key()).unwrap();
    assert!(report.is_intact(), "{report}");
}

/// Appends `count` events per tenant in batches of 25; returns the acknowledged ids.
fn append(store: &Store, tenants: &[&str], from: u64, count: u64) -> Vec<(String, Vec<EventId>)> {
    let wal = store.wal();
    let mut acked: Vec<(String, Vec<EventId>)> = tenants
        .iter()
        .map(|t| (t.to_string(), Vec::new()))
        .collect();
    let mut n = from;
    while n < from + count {
        let mut batch = Vec::new();
        for (t, (_, ids)) in tenants.iter().zip(acked.iter_mut()) {
            for i in n..(n + 25).min(from + count) {
                let r = raw(t, i);
                ids.push(r.id);
                batch.push(r);
            }
        }
        wal.append_blocking(batch).unwrap();
        n += 25;
    }
    acked
}

#[test]
fn crash_before_sealing_replays_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path()); // blocks wait an hour: nothing seals by age before the crash
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let acked = append(&store, &["alpha", "beta"], 0, 200);
    store.abort();

    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    assert!(store.stats().replayed > 0);
    store.shutdown().unwrap();
    for (t, ids) in &acked {
        assert_exactly_once(&config, t, ids);
    }
    assert_intact(&config);
}

#[test]
fn repeated_crashes_and_more_traffic_never_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let mut all: Vec<Vec<EventId>> = vec![Vec::new(), Vec::new()];
    for round in 0..4u64 {
        let store = Store::open(config.clone(), signer(), normalize()).unwrap();
        let acked = append(&store, &["alpha", "beta"], round * 150, 150);
        for (list, (_, ids)) in all.iter_mut().zip(acked) {
            list.extend(ids);
        }
        if round % 2 == 0 {
            store.abort();
        } else {
            store.shutdown().unwrap();
        }
    }
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    store.shutdown().unwrap();
    assert_exactly_once(&config, "alpha", &all[0]);
    assert_exactly_once(&config, "beta", &all[1]);
    assert_intact(&config);
}

#[test]
fn wal_still_holding_sealed_events_is_not_sealed_twice() {
    // A crash between sealing and WAL deletion: after a clean shutdown the WAL file still holds every event.
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let acked = append(&store, &["alpha"], 0, 300);
    store.shutdown().unwrap();
    let wal_files = std::fs::read_dir(config.wal_dir()).unwrap().count();
    assert!(
        wal_files > 0,
        "the WAL keeps its current file after shutdown"
    );

    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    assert_eq!(store.stats().replayed, 0);
    store.shutdown().unwrap();
    assert_exactly_once(&config, "alpha", &acked[0].1);
    assert_intact(&config);
}

#[test]
fn torn_wal_tail_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let acked = append(&store, &["alpha"], 0, 100);
    store.abort();
    // A write that was cut by the crash: a plausible frame header and half a payload.
    let wal = std::fs::read_dir(config.wal_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&wal).unwrap();
    f.write_all(&200u32.to_le_bytes()).unwrap();
    f.write_all(&[0xAB; 60]).unwrap();
    drop(f);

    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    store.shutdown().unwrap();
    assert_exactly_once(&config, "alpha", &acked[0].1);
    assert_intact(&config);
}

#[test]
fn torn_segment_tail_is_truncated_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let acked = append(&store, &["alpha"], 0, 100);
    store.shutdown().unwrap();
    let tenant_dir = config.archive_dir().join("alpha");
    let last = segment_count(&tenant_dir) as u64 - 1;
    let path = tenant_dir.join(kuzet_store::format::segment_file_name(last));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let torn = b"KZBK\x01\x00\x00\x00half a block header";
    f.write_all(torn).unwrap();
    drop(f);

    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let recovered = store.recovery().to_vec();
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].0.as_str(), "alpha");
    assert_eq!(recovered[0].1.truncated_bytes, torn.len() as u64);
    let more = append(&store, &["alpha"], 100, 50);
    store.shutdown().unwrap();
    let mut all = acked[0].1.clone();
    all.extend(&more[0].1);
    assert_exactly_once(&config, "alpha", &all);
    assert_intact(&config);
}

#[test]
fn uncheckpointed_blocks_are_cut_and_resealed_from_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let acked = append(&store, &["alpha"], 0, 200);
    store.abort();
    // Simulate a crash after blocks were written but before their checkpoint: drop the last checkpoint line.
    let cp = config.archive_dir().join("alpha").join("checkpoints.log");
    let text = std::fs::read_to_string(&cp).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2);
    std::fs::write(&cp, lines[..lines.len() - 1].join("\n") + "\n").unwrap();

    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    store.shutdown().unwrap();
    assert_exactly_once(&config, "alpha", &acked[0].1);
    assert_intact(&config);
}

#[test]
fn missing_checkpoint_log_refuses_to_open() {
    let built = build_archive(|_| {});
    std::fs::remove_file(built.tenant_dir("alpha").join("checkpoints.log")).unwrap();
    let config = small_config(built.dir.path());
    let err = Store::open(config, signer(), normalize()).unwrap_err();
    assert!(
        err.to_string().contains("checkpoint log is missing"),
        "{err}"
    );
}

#[test]
fn a_different_signing_key_refuses_to_open() {
    let built = build_archive(|_| {});
    let config = small_config(built.dir.path());
    let err =
        Store::open(config, kuzet_store::Signer::from_seed([1; 32]), normalize()).unwrap_err();
    assert!(matches!(err, kuzet_store::StoreError::Key { .. }), "{err}");
}

#[test]
fn queue_full_is_reported_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config.wal_queue_batches = 1;
    let store = Store::open(config, signer(), normalize()).unwrap();
    let wal = store.wal();
    // try_append fails fast only when the queue is full; with one slot, a burst must see QueueFull or succeed.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outcomes: Vec<_> = runtime.block_on(async {
        let futures: Vec<_> = (0..50)
            .map(|i| wal.try_append(vec![raw("alpha", i)]))
            .collect();
        let mut out = Vec::new();
        for f in futures {
            out.push(f.await);
        }
        out
    });
    assert!(
        outcomes
            .iter()
            .all(|o| o.is_ok() || matches!(o, Err(kuzet_store::StoreError::QueueFull)))
    );
    drop(wal);
    store.shutdown().unwrap();
}

#[test]
fn reopening_after_a_clean_shutdown_leaves_no_wal_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config.wal_segment_bytes = 4096; // many WAL files
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let acked = append(&store, &["alpha", "beta"], 0, 300);
    store.shutdown().unwrap();
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    assert_eq!(
        std::fs::read_dir(config.wal_dir()).unwrap().count(),
        0,
        "everything sealed, nothing to keep"
    );
    let more = append(&store, &["alpha"], 300, 10);
    store.shutdown().unwrap();
    let mut alpha = acked[0].1.clone();
    alpha.extend(&more[0].1);
    assert_exactly_once(&config, "alpha", &alpha);
    assert_exactly_once(&config, "beta", &acked[1].1);
    assert_intact(&config);
}

#[test]
fn shutdown_with_live_handles_closes_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let wal = store.wal();
    wal.append_blocking(vec![raw("alpha", 1)]).unwrap();
    store.shutdown().unwrap();
    assert!(matches!(
        wal.append_blocking(vec![raw("alpha", 2)]),
        Err(kuzet_store::StoreError::Closed)
    ));
    assert_exactly_once(&config, "alpha", &[raw("alpha", 1).id]);
}

#[test]
fn cut_checkpoint_log_never_makes_recovery_destroy_sealed_blocks() {
    let built = build_archive(|_| {});
    let config = small_config(built.dir.path());
    // A clean reopen seals nothing new and deletes the WAL: the archive alone holds the events now.
    Store::open(config.clone(), signer(), normalize())
        .unwrap()
        .shutdown()
        .unwrap();
    let cp = built.tenant_dir("alpha").join("checkpoints.log");
    let text = std::fs::read_to_string(&cp).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&cp, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    let before = std::fs::read_dir(built.tenant_dir("alpha"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum::<u64>();

    let err = Store::open(config, signer(), normalize()).unwrap_err();
    assert!(err.to_string().contains("refusing to truncate"), "{err}");
    let after = std::fs::read_dir(built.tenant_dir("alpha"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum::<u64>();
    assert_eq!(before, after, "nothing was cut");
}

#[test]
fn a_failed_sealer_is_visible_and_its_events_are_sealed_at_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    // A broken normalizer (it panics) stops the sealer; the WAL already holds the event.
    struct Broken;
    impl kuzet_store::Normalizer for Broken {
        fn profile(&self) -> String {
            TEST_PROFILE.into()
        }
        fn normalize(&self, _: &kuzet_model::RawEvent, _: &str) -> kuzet_model::Event {
            panic!("a parser bug")
        }
    }
    let broken: kuzet_store::Normalize = std::sync::Arc::new(Broken);
    let store = Store::open(config.clone(), signer(), broken).unwrap();
    let stats = store.stats_handle();
    let event = raw("alpha", 1);
    store.wal().append_blocking(vec![event.clone()]).unwrap();
    let err = store.shutdown().unwrap_err();
    assert!(
        err.to_string()
            .contains("the normalizer panicked: a parser bug"),
        "{err}"
    );
    assert!(stats.stats().failed);

    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    assert_eq!(store.stats().replayed, 1);
    assert!(!store.stats().failed);
    store.shutdown().unwrap();
    assert_exactly_once(&config, "alpha", &[event.id]);
    assert_intact(&config);
}
