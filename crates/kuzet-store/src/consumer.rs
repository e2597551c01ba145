//! Consumers of sealed events (search, detection): every event reaches every consumer at least once, in order per
//! tenant, whatever the load, across restarts.
//!
//! Each event has a **position**: its record index in its tenant's log, fixed at sealing (replay after a crash
//! seals the same events in the same WAL order, so they get the same positions). A consumer's cursor is the next
//! position it wants per tenant; [`Consumer::commit`] makes the cursor durable in `consumers/<name>.cursor`.
//!
//! The sealer pushes every batch, as soon as it is durable in the WAL and parsed, into the **tail**: an in-memory
//! queue that consumers that keep up read without copying. The tail drops its oldest batches only when it holds
//! more than its capacity *and* those batches are durable in the archive (sealed into a block and checkpointed).
//! So at any moment each event is in the tail, in the archive, or both, and a consumer that fell out of the tail (it
//! was slow, or it starts from a saved cursor) reads the archive from its cursor up to what is durable, then
//! rejoins the tail at the batch that was oldest when it left, skipping what it already read. The tail's memory is
//! bounded by its capacity plus the events of open blocks (at most `block_bytes` or `block_max_age` per tenant).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kuzet_model::{Event, TenantId};

use crate::StoreError;
use crate::read::PositionReader;

/// Events sealed together, each with its position in its tenant's log (index by index).
#[derive(Debug, Default)]
pub struct SealedBatch {
    pub events: Vec<Event>,
    pub positions: Vec<u64>,
}

/// Where a consumer without a saved cursor starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerStart {
    /// Every event the archive holds, then everything new (e.g. the search index of a fresh installation).
    Beginning,
    /// Only events sealed after the consumer was opened (e.g. detection, which must not alert on history).
    Latest,
}

struct TailBatch {
    batch: Arc<SealedBatch>,
    /// Per tenant in the batch: one past its highest position.
    ends: Vec<(TenantId, u64)>,
}

#[derive(Default)]
struct TailState {
    batches: VecDeque<TailBatch>,
    /// Number of `batches[0]`; batch numbers increase by one per pushed batch.
    first: u64,
    events: usize,
    /// Per tenant: records durable in the archive (sealed and checkpointed), i.e. readable from disk.
    durable: HashMap<TenantId, u64>,
    /// Per tenant: the next position the sealer will give.
    next: HashMap<TenantId, u64>,
    /// Names of the consumers open now: one consumer per name.
    open: HashSet<String>,
    closed: bool,
}

impl TailState {
    fn end(&self) -> u64 {
        self.first + self.batches.len() as u64
    }

    fn evict(&mut self, capacity: usize) {
        while self.events > capacity {
            let Some(front) = self.batches.front() else {
                return;
            };
            let durable = front
                .ends
                .iter()
                .all(|(t, end)| self.durable.get(t).is_some_and(|d| d >= end));
            if !durable {
                return;
            }
            self.events -= front.batch.events.len();
            self.batches.pop_front();
            self.first += 1;
        }
    }
}

/// The in-memory queue between the sealer and the consumers.
pub(crate) struct Tail {
    state: Mutex<TailState>,
    changed: Condvar,
    capacity: usize,
}

impl Tail {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(TailState::default()),
            changed: Condvar::new(),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, TailState> {
        // A consumer that panicked while holding the lock left only counters behind: go on with them.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Called by the sealer with each batch it appended, in order.
    pub(crate) fn push(&self, batch: SealedBatch) {
        if batch.events.is_empty() {
            return;
        }
        let mut ends: Vec<(TenantId, u64)> = Vec::new();
        for (event, &position) in batch.events.iter().zip(&batch.positions) {
            match ends.iter_mut().find(|(t, _)| *t == event.tenant) {
                Some((_, end)) => *end = (*end).max(position + 1),
                None => ends.push((event.tenant.clone(), position + 1)),
            }
        }
        let mut state = self.lock();
        for (tenant, end) in &ends {
            let next = state.next.entry(tenant.clone()).or_insert(0);
            *next = (*next).max(*end);
        }
        state.events += batch.events.len();
        state.batches.push_back(TailBatch {
            batch: Arc::new(batch),
            ends,
        });
        state.evict(self.capacity);
        drop(state);
        self.changed.notify_all();
    }

    /// Called by the sealer after a checkpoint: `records` of `tenant` are durable in the archive.
    pub(crate) fn durable(&self, tenant: &TenantId, records: u64) {
        let mut state = self.lock();
        let durable = state.durable.entry(tenant.clone()).or_insert(0);
        if *durable >= records {
            return;
        }
        *durable = records;
        let next = state.next.entry(tenant.clone()).or_insert(0);
        *next = (*next).max(records);
        state.evict(self.capacity);
    }

    /// The store stopped: consumers drain what is left, then get `Closed`.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

/// What one call to [`Consumer::next`] delivers: events with their positions, in order per tenant.
pub struct Delivery {
    batch: Arc<SealedBatch>,
    /// `None`: every event of the batch; otherwise which ones (the others were delivered before).
    keep: Option<Vec<bool>>,
    from_archive: bool,
}

impl Delivery {
    /// `(position, event)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Event)> {
        self.batch
            .positions
            .iter()
            .copied()
            .zip(&self.batch.events)
            .enumerate()
            .filter(|(i, _)| self.keep.as_ref().is_none_or(|k| k[*i]))
            .map(|(_, pair)| pair)
    }

    pub fn len(&self) -> usize {
        match &self.keep {
            None => self.batch.events.len(),
            Some(k) => k.iter().filter(|k| **k).count(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether these events were read back from the archive (the consumer had fallen behind or restarted).
    pub fn from_archive(&self) -> bool {
        self.from_archive
    }
}

/// The durable cursor file: `consumers/<name>.cursor`; `docs/formats/consumer-cursor.md`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct CursorFile {
    v: u32,
    consumer: String,
    positions: BTreeMap<String, u64>,
}

const CURSOR_VERSION: u32 = 1;

/// A named reader of sealed events with a durable cursor. See the module documentation.
pub struct Consumer {
    name: String,
    cursor_path: PathBuf,
    archive_dir: PathBuf,
    tail: Arc<Tail>,
    /// Next position to deliver, per tenant (absent: 0).
    delivered: HashMap<TenantId, u64>,
    /// The next tail batch to read; `None` while the consumer must first read the archive.
    next_batch: Option<u64>,
    /// Archive reads still to do in this catch-up: tenant and the durable end to read up to.
    catch_up: VecDeque<(TenantId, u64)>,
    readers: HashMap<TenantId, PositionReader>,
    /// Derives events from format 2 records read from the archive.
    normalizer: crate::Normalize,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.name)
            .field("delivered", &self.delivered)
            .field("next_batch", &self.next_batch)
            .finish()
    }
}

impl Consumer {
    pub(crate) fn open(
        data_dir: &Path,
        archive_dir: &Path,
        tail: Arc<Tail>,
        normalizer: crate::Normalize,
        name: &str,
        start: ConsumerStart,
    ) -> Result<Self, StoreError> {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(StoreError::Config(format!(
                "consumer name {name:?}: use 1–63 lowercase letters, digits and '-'"
            )));
        }
        let dir = data_dir.join("consumers");
        crate::durable::create_dir(&dir)?;
        let cursor_path = dir.join(format!("{name}.cursor"));
        let saved = match std::fs::read(&cursor_path) {
            Ok(bytes) => Some(parse_cursor(&cursor_path, &bytes, name)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(StoreError::Io {
                    path: cursor_path,
                    source,
                });
            }
        };
        let mut state = tail.lock();
        if !state.open.insert(name.to_owned()) {
            return Err(StoreError::Config(format!(
                "consumer {name:?} is already open"
            )));
        }
        let (delivered, next_batch) = match (saved, start) {
            (Some(positions), _) => (positions, None),
            (None, ConsumerStart::Beginning) => (HashMap::new(), None),
            (None, ConsumerStart::Latest) => {
                let mut from = state.next.clone();
                for (tenant, durable) in &state.durable {
                    let next = from.entry(tenant.clone()).or_insert(0);
                    *next = (*next).max(*durable);
                }
                (from, Some(state.end()))
            }
        };
        drop(state);
        Ok(Self {
            name: name.to_owned(),
            cursor_path,
            archive_dir: archive_dir.to_owned(),
            tail,
            delivered,
            next_batch,
            catch_up: VecDeque::new(),
            readers: HashMap::new(),
            normalizer,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next position this consumer will deliver for each tenant it has seen.
    pub fn positions(&self) -> BTreeMap<TenantId, u64> {
        self.delivered
            .iter()
            .map(|(t, p)| (t.clone(), *p))
            .collect()
    }

    /// The next events, waiting up to `wait` for new ones: `Ok(None)` when none came in time. Reading the
    /// archive (when the consumer is behind) returns one block at a time. `Err(Closed)` once the store has
    /// stopped and everything sealed before was delivered.
    pub fn next(&mut self, wait: Duration) -> Result<Option<Delivery>, StoreError> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(delivery) = self.read_archive()? {
                return Ok(Some(delivery));
            }
            let tail = Arc::clone(&self.tail);
            let mut state = tail.lock();
            loop {
                let Some(number) = self.next_batch.filter(|n| *n >= state.first) else {
                    // Fell out of the tail (or starts from a cursor): read the archive up to what is durable now,
                    // then rejoin at the oldest batch the tail holds, which holds everything not durable.
                    self.next_batch = Some(state.first);
                    for (tenant, &durable) in &state.durable {
                        let from = self.delivered.get(tenant).copied().unwrap_or(0);
                        if from < durable {
                            self.catch_up.push_back((tenant.clone(), durable));
                        }
                    }
                    break;
                };
                if number < state.end() {
                    let index = usize::try_from(number - state.first).unwrap_or(usize::MAX);
                    let batch = Arc::clone(&state.batches[index].batch);
                    drop(state);
                    self.next_batch = Some(number + 1);
                    if let Some(delivery) = self.take(batch) {
                        return Ok(Some(delivery));
                    }
                    state = tail.lock();
                    continue;
                }
                if state.closed {
                    return Err(StoreError::Closed);
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                state = tail
                    .changed
                    .wait_timeout(state, left)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            }
        }
    }

    /// Keeps the events of a tail batch this consumer has not delivered yet and advances the cursor.
    fn take(&mut self, batch: Arc<SealedBatch>) -> Option<Delivery> {
        let mut keep = Vec::with_capacity(batch.events.len());
        for (event, &position) in batch.events.iter().zip(&batch.positions) {
            let next = self.delivered.entry(event.tenant.clone()).or_insert(0);
            let new = position >= *next;
            if new {
                *next = position + 1;
            }
            keep.push(new);
        }
        let kept = keep.iter().filter(|k| **k).count();
        if kept == 0 {
            return None;
        }
        metrics::counter!("kuzet_store_consumer_events_total", "consumer" => self.name.clone(), "from" => "memory")
            .increment(kept as u64);
        let keep = (kept < keep.len()).then_some(keep);
        Some(Delivery {
            batch,
            keep,
            from_archive: false,
        })
    }

    /// One block's worth of the pending catch-up, if any.
    fn read_archive(&mut self) -> Result<Option<Delivery>, StoreError> {
        while let Some((tenant, to)) = self.catch_up.pop_front() {
            let from = self.delivered.get(&tenant).copied().unwrap_or(0);
            if from >= to {
                continue;
            }
            let reader = self.readers.entry(tenant.clone()).or_insert_with(|| {
                PositionReader::new(&self.archive_dir, &tenant, Arc::clone(&self.normalizer))
            });
            let mut read = reader.read_from(from)?;
            // The reader skips only records whose segments expired (it refuses any other gap).
            let start = read.first().map(|(p, _)| *p);
            if let Some(start) = start.filter(|&p| p > from) {
                tracing::warn!(consumer = %self.name, tenant = %tenant, from, start,
                    "records expired before this consumer read them; continuing after them");
            }
            read.retain(|(position, _)| *position < to);
            let Some(&(last, _)) = read.last() else {
                if start.is_some_and(|p| p >= to) {
                    self.delivered.insert(tenant.clone(), to);
                    continue;
                }
                return Err(StoreError::corrupt(
                    self.archive_dir.join(tenant.as_str()),
                    format!("record {from} is durable but not in the archive"),
                ));
            };
            self.delivered.insert(tenant.clone(), last + 1);
            if last + 1 < to {
                self.catch_up.push_front((tenant, to));
            }
            let (positions, events) = read.into_iter().unzip();
            let batch = SealedBatch { events, positions };
            metrics::counter!("kuzet_store_consumer_events_total", "consumer" => self.name.clone(), "from" => "archive")
                .increment(batch.events.len() as u64);
            return Ok(Some(Delivery {
                batch: Arc::new(batch),
                keep: None,
                from_archive: true,
            }));
        }
        Ok(None)
    }

    /// Makes the cursor durable: after a restart (or a crash) the consumer resumes after everything delivered
    /// before this call. Call it after processing, so that nothing is skipped (at-least-once delivery).
    pub fn commit(&self) -> Result<(), StoreError> {
        let file = CursorFile {
            v: CURSOR_VERSION,
            consumer: self.name.clone(),
            positions: self
                .delivered
                .iter()
                .map(|(t, p)| (t.as_str().to_owned(), *p))
                .collect(),
        };
        let mut bytes = serde_json::to_vec(&file).map_err(|e| {
            StoreError::Config(format!(
                "consumer {:?}: cannot encode cursor: {e}",
                self.name
            ))
        })?;
        bytes.push(b'\n');
        crate::wal::write_atomically(&self.cursor_path, &bytes)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.tail.lock().open.remove(&self.name);
    }
}

fn parse_cursor(
    path: &Path,
    bytes: &[u8],
    name: &str,
) -> Result<HashMap<TenantId, u64>, StoreError> {
    let file: CursorFile = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::corrupt(path, format!("consumer cursor does not parse: {e}")))?;
    if file.v != CURSOR_VERSION {
        return Err(StoreError::corrupt(
            path,
            format!(
                "consumer cursor version {} is not supported (expected {CURSOR_VERSION})",
                file.v
            ),
        ));
    }
    if file.consumer != name {
        return Err(StoreError::corrupt(
            path,
            format!("cursor belongs to consumer {:?}", file.consumer),
        ));
    }
    file.positions
        .into_iter()
        .map(|(tenant, position)| {
            TenantId::new(&tenant)
                .map(|t| (t, position))
                .map_err(|e| StoreError::corrupt(path, format!("tenant {tenant:?}: {e}")))
        })
        .collect()
}
