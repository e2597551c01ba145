//! Test helpers shared by the integration tests: an in-memory sink and a running set of listeners.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kuzet_ingest::{
    BoundAddresses, Ingest, IngestConfig, IngestStats, RawEvent, SharedDirectory, Sink, SinkError,
};
use kuzet_model::{Directory, FormatHint, Source, SourceId, SourceIdentity, Tenant, TenantId};
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

/// A [`Sink`] that keeps batches in memory. `set_full(true)` makes `try_append` answer `Full`; `close_gate()`
/// makes `append` wait until `open_gate(n)` lets `n` batches through.
#[derive(Clone)]
pub struct MemorySink {
    inner: Arc<Inner>,
}

struct Inner {
    batches: Mutex<Vec<Vec<RawEvent>>>,
    full: AtomicBool,
    gated: AtomicBool,
    gate: Semaphore,
    waiting: watch::Sender<usize>,
    stored: watch::Sender<usize>,
}

impl Default for MemorySink {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                batches: Mutex::new(Vec::new()),
                full: AtomicBool::new(false),
                gated: AtomicBool::new(false),
                gate: Semaphore::new(0),
                waiting: watch::channel(0).0,
                stored: watch::channel(0).0,
            }),
        }
    }
}

/// Upper bound on waiting for something that should happen at once; only reached when a test fails.
const PATIENCE: Duration = Duration::from_secs(20);

impl MemorySink {
    pub fn set_full(&self, full: bool) {
        self.inner.full.store(full, Ordering::SeqCst);
    }
    pub fn close_gate(&self) {
        self.inner.gated.store(true, Ordering::SeqCst);
    }
    pub fn open_gate(&self, batches: usize) {
        self.inner.gate.add_permits(batches);
    }
    pub fn open_gate_fully(&self) {
        self.inner.gated.store(false, Ordering::SeqCst);
        self.inner.gate.add_permits(1 << 20);
    }
    pub fn batches(&self) -> Vec<Vec<RawEvent>> {
        self.inner.batches.lock().unwrap().clone()
    }
    pub fn events(&self) -> Vec<RawEvent> {
        self.batches().into_iter().flatten().collect()
    }
    pub fn messages(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| String::from_utf8_lossy(&e.bytes).into_owned())
            .collect()
    }
    pub async fn wait_for_events(&self, count: usize) {
        let mut stored = self.inner.stored.subscribe();
        tokio::time::timeout(PATIENCE, stored.wait_for(|n| *n >= count))
            .await
            .unwrap_or_else(|_| panic!("waited for {count} events, have {}", self.events().len()))
            .unwrap();
    }
    pub async fn wait_for_waiting_appends(&self, count: usize) {
        let mut waiting = self.inner.waiting.subscribe();
        tokio::time::timeout(PATIENCE, waiting.wait_for(|n| *n >= count))
            .await
            .expect("appends never started waiting")
            .unwrap();
    }

    fn store(&self, batch: Vec<RawEvent>) {
        let mut batches = self.inner.batches.lock().unwrap();
        batches.push(batch);
        let total = batches.iter().map(Vec::len).sum();
        self.inner.stored.send_replace(total);
    }
}

impl Sink for MemorySink {
    async fn append(&self, batch: Vec<RawEvent>) -> Result<(), SinkError> {
        if self.inner.gated.load(Ordering::SeqCst) {
            self.inner.waiting.send_modify(|n| *n += 1);
            let permit = self.inner.gate.acquire().await.unwrap();
            permit.forget();
            self.inner.waiting.send_modify(|n| *n -= 1);
        }
        self.store(batch);
        Ok(())
    }

    async fn try_append(&self, batch: Vec<RawEvent>) -> Result<(), SinkError> {
        if self.inner.full.load(Ordering::SeqCst) {
            return Err(SinkError::Full);
        }
        self.store(batch);
        Ok(())
    }
}

pub fn source(id: &str, tenant: &str, identities: Vec<SourceIdentity>) -> Source {
    Source {
        id: SourceId::new(id).unwrap(),
        tenant: TenantId::new(tenant).unwrap(),
        facility: None,
        name: id.to_owned(),
        identities,
        format: FormatHint::Auto,
        expected_interval_secs: None,
    }
}

pub fn peer(range: &str) -> SourceIdentity {
    SourceIdentity::Peer(range.parse().unwrap())
}

/// Tenants `alpha` and `beta`, with the given sources.
pub fn directory(sources: Vec<Source>) -> Directory {
    let tenants = ["alpha", "beta"]
        .iter()
        .map(|t| Tenant {
            id: TenantId::new(*t).unwrap(),
            name: t.to_string(),
            sector: None,
        })
        .collect();
    Directory::new(tenants, vec![], sources).unwrap()
}

pub fn loopback() -> Option<SocketAddr> {
    Some("127.0.0.1:0".parse().unwrap())
}

/// Listeners running on ephemeral loopback ports.
pub struct Running {
    pub sink: MemorySink,
    pub directory: SharedDirectory,
    pub stats: Arc<IngestStats>,
    pub addresses: BoundAddresses,
    pub ingest: Ingest<MemorySink>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn start(config: IngestConfig, directory: Directory) -> Running {
        let sink = MemorySink::default();
        let directory = SharedDirectory::new(directory);
        let ingest = Ingest::new(config, directory.clone(), sink.clone()).unwrap();
        let listeners = ingest.bind().await.unwrap();
        let addresses = listeners.addresses();
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            listeners.serve(axum::Router::new(), token).await.unwrap();
        });
        Running {
            stats: ingest.stats(),
            sink,
            directory,
            addresses,
            ingest,
            shutdown,
            task,
        }
    }

    /// Stops the listeners and waits until every connection handed its last batch to the sink.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("listeners did not stop")
            .unwrap();
    }
}

/// Waits until `condition` holds, yielding to the listeners' tasks in between; for counters that other tasks
/// update after the test can observe anything else.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !condition() {
        assert!(started.elapsed() < PATIENCE, "never happened: {what}");
        tokio::task::yield_now().await;
    }
}
