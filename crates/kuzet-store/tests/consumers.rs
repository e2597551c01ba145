//! Consumers of sealed events: every event reaches every consumer at least once, in order per tenant, whether it
//! keeps up, sleeps through many times the in-memory buffer, or is killed mid-stream and resumes from its cursor.

// Helpers outside #[test] functions unwrap too: a failure is a broken test setup.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use kuzet_model::EventId;
use kuzet_store::{Consumer, ConsumerStart, Store, StoreError};

/// Longest a test waits for an event it knows is coming: a bound that fails the test, never a synchronization.
const PATIENCE: Duration = Duration::from_secs(30);

/// Appends `count` events per tenant in batches of `per_batch`; returns the acknowledged ids per tenant.
fn append(
    store: &Store,
    tenants: &[&str],
    from: u64,
    count: u64,
    per_batch: u64,
) -> BTreeMap<String, Vec<EventId>> {
    let wal = store.wal();
    let mut acked: BTreeMap<String, Vec<EventId>> = BTreeMap::new();
    let mut n = from;
    while n < from + count {
        let mut batch = Vec::new();
        for t in tenants {
            for i in n..(n + per_batch).min(from + count) {
                let r = raw(t, i);
                acked.entry(t.to_string()).or_default().push(r.id);
                batch.push(r);
            }
        }
        wal.append_blocking(batch).unwrap();
        n += per_batch;
    }
    acked
}

/// What a consumer saw: per tenant, (position, id) in delivery order; and how many came from the archive.
#[derive(Default)]
struct Seen {
    per_tenant: BTreeMap<String, Vec<(u64, EventId)>>,
    from_archive: usize,
    total: usize,
}

impl Seen {
    /// Reads until `want` events were delivered in all.
    fn read(&mut self, consumer: &mut Consumer, want: usize) {
        while self.total < want {
            let delivery = consumer
                .next(PATIENCE)
                .unwrap()
                .unwrap_or_else(|| panic!("only {} of {want} events arrived", self.total));
            if delivery.from_archive() {
                self.from_archive += delivery.len();
            }
            for (position, event) in delivery.iter() {
                self.per_tenant
                    .entry(event.tenant.to_string())
                    .or_default()
                    .push((position, event.id));
                self.total += 1;
            }
        }
    }

    fn ids(&self, tenant: &str) -> Vec<EventId> {
        self.per_tenant
            .get(tenant)
            .map(|v| v.iter().map(|(_, id)| *id).collect())
            .unwrap_or_default()
    }

    /// Positions of each tenant are 0, 1, 2, … in delivery order.
    fn assert_positions_dense(&self) {
        for (tenant, seen) in &self.per_tenant {
            for (i, (position, _)) in seen.iter().enumerate() {
                assert_eq!(*position, i as u64, "{tenant}: position out of order");
            }
        }
    }
}

#[test]
fn a_consumer_that_keeps_up_sees_events_before_they_are_sealed_into_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path()); // blocks seal at 4 KiB or after an hour
    config.block_bytes = 1 << 20; // … so nothing is in a block yet when the consumer reads
    let store = Store::open(config, signer(), normalize()).unwrap();
    let mut consumer = store.consumer("detect", ConsumerStart::Latest).unwrap();
    let acked = append(&store, &["alpha", "beta"], 0, 200, 25);
    let mut seen = Seen::default();
    seen.read(&mut consumer, 400);
    assert_eq!(seen.from_archive, 0, "served from memory");
    assert_eq!(store.stats().blocks, 0, "no block was sealed yet");
    assert_eq!(seen.ids("alpha"), acked["alpha"]);
    assert_eq!(seen.ids("beta"), acked["beta"]);
    seen.assert_positions_dense();
    drop(consumer);
    store.shutdown().unwrap();
}

#[test]
fn a_consumer_sleeping_through_many_times_the_buffer_misses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config.consumer_buffer_events = 64;
    let store = Store::open(config, signer(), normalize()).unwrap();
    let mut consumer = store.consumer("search", ConsumerStart::Latest).unwrap();
    let tenants = ["alpha", "beta", "gamma"];
    // 3 × 2,000 events: about 94 times the buffer, while the consumer reads nothing.
    let acked = append(&store, &tenants, 0, 2_000, 10);
    let sealed: usize = acked.values().map(Vec::len).sum();
    let mut seen = Seen::default();
    seen.read(&mut consumer, sealed);
    // Then it keeps up again.
    let more = append(&store, &tenants, 2_000, 50, 10);
    seen.read(&mut consumer, sealed + 150);
    println!(
        "slow consumer: {} events delivered of {} sealed, {} read back from the archive",
        seen.total,
        sealed + 150,
        seen.from_archive
    );
    assert!(seen.from_archive > 0, "it had fallen out of memory");
    for t in tenants {
        let mut want = acked[t].clone();
        want.extend(&more[t]);
        assert_eq!(seen.ids(t), want, "{t}: every event, once, in order");
    }
    seen.assert_positions_dense();
    assert!(
        consumer.next(Duration::ZERO).unwrap().is_none(),
        "nothing more"
    );
    drop(consumer);
    store.shutdown().unwrap();
}

#[test]
fn a_consumer_killed_mid_stream_resumes_from_its_committed_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let tenants = ["alpha", "beta"];
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let mut consumer = store.consumer("index", ConsumerStart::Beginning).unwrap();
    let acked = append(&store, &tenants, 0, 500, 20);
    let mut first = Seen::default();
    first.read(&mut consumer, 300);
    consumer.commit().unwrap();
    let committed = consumer.positions();
    first.read(&mut consumer, 500); // delivered, never committed: must come again
    // Killed: neither the consumer nor the store stop cleanly.
    std::mem::forget(consumer);
    store.abort();

    let store = Store::open(config, signer(), normalize()).unwrap();
    let more = append(&store, &tenants, 500, 100, 20);
    let mut consumer = store.consumer("index", ConsumerStart::Latest).unwrap();
    assert_eq!(
        consumer.positions(),
        committed,
        "resumes at the committed cursor"
    );
    let again: usize = committed.values().map(|p| *p as usize).sum();
    let mut second = Seen::default();
    second.read(&mut consumer, 1_200 - again);
    println!(
        "killed consumer: {} delivered before the kill ({} committed), {} after; {} sealed",
        first.total, again, second.total, 1_200
    );
    for t in tenants {
        let skip = committed[&kuzet_model::TenantId::new(t).unwrap()] as usize;
        let mut want = acked[t][skip..].to_vec();
        want.extend(&more[t]);
        assert_eq!(
            second.ids(t),
            want,
            "{t}: everything after the cursor, in order"
        );
        let mut all = first.ids(t)[..skip].to_vec();
        all.extend(second.ids(t));
        let mut expected = acked[t].clone();
        expected.extend(&more[t]);
        assert_eq!(all, expected, "{t}: at least once overall");
    }
    drop(consumer);
    store.shutdown().unwrap();
}

#[test]
fn a_new_consumer_from_the_beginning_reads_history_then_follows() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let store = Store::open(config.clone(), signer(), normalize()).unwrap();
    let old = append(&store, &["alpha"], 0, 300, 30);
    store.shutdown().unwrap();

    let store = Store::open(config, signer(), normalize()).unwrap();
    let mut latest = store.consumer("detect", ConsumerStart::Latest).unwrap();
    let mut beginning = store.consumer("search", ConsumerStart::Beginning).unwrap();
    let new = append(&store, &["alpha"], 300, 40, 10);
    let mut history = Seen::default();
    history.read(&mut beginning, 340);
    let mut recent = Seen::default();
    recent.read(&mut latest, 40);
    let mut all = old["alpha"].clone();
    all.extend(&new["alpha"]);
    assert_eq!(history.ids("alpha"), all);
    assert!(history.from_archive >= 300);
    assert_eq!(recent.ids("alpha"), new["alpha"], "latest skips history");
    assert_eq!(
        recent.per_tenant["alpha"][0].0, 300,
        "positions continue the log"
    );
    drop((latest, beginning));
    store.shutdown().unwrap();
}

#[test]
fn consumer_names_are_checked_and_held_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path()), signer(), normalize()).unwrap();
    let one = store.consumer("detect", ConsumerStart::Latest).unwrap();
    let err = store
        .consumer("detect", ConsumerStart::Latest)
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"detect\" is already open"), "{err}");
    drop(one);
    store.consumer("detect", ConsumerStart::Latest).unwrap();
    let err = store
        .consumer("../etc", ConsumerStart::Latest)
        .unwrap_err()
        .to_string();
    assert!(err.contains("consumer name \"../etc\""), "{err}");
    store.shutdown().unwrap();
}

#[test]
fn a_damaged_cursor_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    std::fs::create_dir_all(dir.path().join("consumers")).unwrap();
    let path = dir.path().join("consumers/detect.cursor");
    std::fs::write(&path, b"{\"v\":9,\"consumer\":\"detect\",\"positions\":{}}").unwrap();
    let store = Store::open(config, signer(), normalize()).unwrap();
    let err = store
        .consumer("detect", ConsumerStart::Latest)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("detect.cursor") && err.contains("version 9"),
        "{err}"
    );
    store.shutdown().unwrap();
}

#[test]
fn consumers_end_with_closed_after_the_store_stops() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path()), signer(), normalize()).unwrap();
    let mut consumer = store.consumer("detect", ConsumerStart::Latest).unwrap();
    append(&store, &["alpha"], 0, 10, 10);
    store.shutdown().unwrap();
    let mut seen = Seen::default();
    seen.read(&mut consumer, 10);
    assert!(matches!(consumer.next(PATIENCE), Err(StoreError::Closed)));
}
