//! Crash test: `kill -9` the server during sustained ingest, many times. After each restart every event that was
//! acknowledged before the kill is in the archive exactly once, and `kuzet verify` passes.

// Helpers of a test binary panic on failure like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use common::*;

const ROUNDS: usize = 5;
const CLIENTS: usize = 2;
const EVENTS_PER_BATCH: usize = 50;
/// Kill once this many batches were acknowledged in the round, with other requests in flight.
const ACKED_BEFORE_KILL: usize = 20;

#[derive(Default)]
struct Acked {
    markers: Vec<String>,
    batches: usize,
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_event() {
    let site = Site::new(
        &format!(
            "[[tenants]]\nid = \"t\"\nname = \"T\"\n[[tenants.sources]]\nid = \"beats\"\nformat = \"json\"\n\
             token_sha256 = [\"{}\"]\n",
            sha256_hex("crash-secret")
        ),
        "",
    );
    let mut all_acked = Vec::new();
    for round in 0..ROUNDS {
        let server = site.start();
        let url = format!("http://{}/ingest/v1/events", server.http());
        let state = Arc::new((Mutex::new(Acked::default()), Condvar::new()));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let state = Arc::clone(&state);
                let url = url.clone();
                std::thread::spawn(move || {
                    // Bounded: a client stops at its first failure (the kill) or after 10,000 batches.
                    for batch in 0..10_000 {
                        let markers: Vec<String> = (0..EVENTS_PER_BATCH)
                            .map(|i| format!("crash-r{round}-c{client}-b{batch}-e{i}"))
                            .collect();
                        let body: String = markers
                            .iter()
                            .map(|m| format!("{{\"message\":\"{m}\"}}\n"))
                            .collect();
                        let (_, status) = curl(&[
                            "-H",
                            "Authorization: Bearer crash-secret",
                            "--data-binary",
                            &body,
                            &url,
                        ]);
                        if status != 200 {
                            return;
                        }
                        let (lock, signal) = &*state;
                        let mut acked = lock.lock().unwrap();
                        acked.markers.extend(markers);
                        acked.batches += 1;
                        signal.notify_all();
                    }
                })
            })
            .collect();
        {
            let (lock, signal) = &*state;
            let guard = lock.lock().unwrap();
            let (_guard, timeout) = signal
                .wait_timeout_while(guard, DEADLINE, |acked| acked.batches < ACKED_BEFORE_KILL)
                .unwrap();
            assert!(
                !timeout.timed_out(),
                "round {round}: the server acknowledged too little"
            );
        }
        server.crash();
        for client in clients {
            client.join().unwrap();
        }
        let acked = std::mem::take(&mut state.0.lock().unwrap().markers);
        assert!(acked.len() >= ACKED_BEFORE_KILL * EVENTS_PER_BATCH);
        all_acked.extend(acked);

        // After the restart (which replays the WAL), everything acknowledged so far is sealed exactly once.
        site.start().stop();
        let (intact, report) = site.verify();
        assert!(intact, "round {round}: {report}");
        let mut seen: HashMap<String, usize> = HashMap::new();
        for event in site.export("t") {
            *seen
                .entry(event["message"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        for marker in &all_acked {
            assert_eq!(
                seen.get(marker),
                Some(&1),
                "round {round}: acknowledged {marker} sealed {:?} times",
                seen.get(marker)
            );
        }
        let duplicated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            duplicated.is_empty(),
            "round {round}: duplicated events {duplicated:?}"
        );
        println!(
            "round {round}: {} acknowledged so far, {} sealed in all",
            all_acked.len(),
            seen.len()
        );
    }
}
