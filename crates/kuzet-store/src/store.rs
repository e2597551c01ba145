//! The running store: configuration, the WAL writer thread, the sealer thread and the backup thread.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kuzet_model::{Event, RawEvent, TenantId};
use tokio::sync::mpsc;

use crate::archive::{LogSettings, RecoveryReport, TenantLog};
use crate::backup::{BackupJob, BackupTarget};
use crate::consumer::{Consumer, ConsumerStart, SealedBatch, Tail};
use crate::format::PUBLIC_KEY_FILE;
use crate::wal::{self, SealerInput, WalHandle, WalWriter};
use crate::{Signer, StoreError};

/// Built by the binary from its TOML.
#[derive(Clone)]
pub struct StoreConfig {
    /// `wal/` and `archive/` live below.
    pub data_dir: PathBuf,
    /// Bounded queue in front of the WAL writer, in batches.
    pub wal_queue_batches: usize,
    /// Roll WAL files at this size.
    pub wal_segment_bytes: u64,
    /// Seal an archive block at this uncompressed size.
    pub block_bytes: usize,
    /// ... or when its oldest record is this old.
    pub block_max_age: Duration,
    /// Roll an archive segment at this size, and at every local midnight (see `day_offset`).
    pub segment_bytes: u64,
    /// How far the local day (R5: logs separated by day) is ahead of UTC; Kazakhstan's UTC+5 by default.
    pub day_offset: Duration,
    pub zstd_level: i32,
    /// Second copy of closed segments and their checkpoints (R4 backup storage of logs).
    pub backup: Option<BackupTarget>,
    /// Threads that parse and serialize a batch in parallel (default: the machine's cores, at most 4).
    pub seal_workers: usize,
    /// Events the in-memory tail keeps for consumers beyond those not yet durable in the archive; a consumer
    /// further behind reads the archive (`consumer.rs`).
    pub consumer_buffer_events: usize,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("data_dir", &self.data_dir)
            .field("wal_queue_batches", &self.wal_queue_batches)
            .field("wal_segment_bytes", &self.wal_segment_bytes)
            .field("block_bytes", &self.block_bytes)
            .field("block_max_age", &self.block_max_age)
            .field("segment_bytes", &self.segment_bytes)
            .field("day_offset", &self.day_offset)
            .field("zstd_level", &self.zstd_level)
            .field("backup", &self.backup)
            .field("seal_workers", &self.seal_workers)
            .field("consumer_buffer_events", &self.consumer_buffer_events)
            .finish()
    }
}

impl StoreConfig {
    /// The documented defaults below `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            wal_queue_batches: 1024,
            wal_segment_bytes: 64 << 20,
            block_bytes: 1 << 20,
            block_max_age: Duration::from_secs(1),
            segment_bytes: 256 << 20,
            day_offset: crate::archive::KAZAKHSTAN_DAY_OFFSET,
            zstd_level: 3,
            backup: None,
            seal_workers: std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(1),
            consumer_buffer_events: 65_536,
        }
    }

    fn validate(&self) -> Result<(), StoreError> {
        let bad = |m: &str| Err(StoreError::Config(m.to_owned()));
        if self.wal_queue_batches == 0 {
            return bad("wal_queue_batches must be at least 1");
        }
        if self.block_bytes == 0 || self.block_bytes > 512 << 20 {
            return bad("block_bytes must be between 1 byte and 512 MiB");
        }
        if self.segment_bytes < 4096 {
            return bad("segment_bytes must be at least 4096");
        }
        if self.wal_segment_bytes < 4096 {
            return bad("wal_segment_bytes must be at least 4096");
        }
        if !(1..=22).contains(&self.zstd_level) {
            return bad("zstd_level must be between 1 and 22");
        }
        if self.block_max_age.is_zero() {
            return bad("block_max_age must be positive");
        }
        if self.day_offset >= Duration::from_secs(24 * 3600) {
            return bad("day_offset must be less than a day");
        }
        Ok(())
    }

    pub fn archive_dir(&self) -> PathBuf {
        self.data_dir.join("archive")
    }

    pub fn wal_dir(&self) -> PathBuf {
        self.data_dir.join("wal")
    }
}

/// How raw events become normalized ones. The binary passes `kuzet-parse`; the store does not know the parser.
/// Parsing is pure and deterministic, so the archive keeps the raw event with the profile it was parsed under
/// (format 2) and every reader derives the normalized event again through this.
pub trait Normalizer: Send + Sync {
    /// Names the parser's version and options (at most 255 bytes), written beside every raw event.
    fn profile(&self) -> String;
    /// The normalized event of `raw` parsed as `profile` (the current one, or one an older record names) says.
    fn normalize(&self, raw: &RawEvent, profile: &str) -> Event;
    /// Sees each batch normalized as it is sealed (never archive reads): e.g. per-source health counters.
    fn observe(&self, _events: &[Event]) {}
}

/// A normalizer shared by the sealer, consumers and readers.
pub type Normalize = Arc<dyn Normalizer>;

/// A normalizer that parses nothing: each event has the envelope and its original bytes only. For readers that
/// need no more (the audit trail decodes its own records); never given to a store.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unparsed;

impl Normalizer for Unparsed {
    fn profile(&self) -> String {
        "unparsed".into()
    }

    fn normalize(&self, raw: &RawEvent, _profile: &str) -> Event {
        Event::new(
            raw.id,
            raw.tenant.clone(),
            raw.source.clone(),
            raw.received,
            raw.bytes.clone(),
        )
    }
}

/// The [`Unparsed`] normalizer, shared.
pub fn unparsed() -> Normalize {
    Arc::new(Unparsed)
}

/// The profile as it is written: cut to the 255 bytes a record holds, at a character boundary.
pub(crate) fn profile_of(normalizer: &dyn Normalizer) -> String {
    let mut profile = normalizer.profile();
    let mut end = profile.len().min(crate::columns::MAX_PROFILE_LEN);
    while !profile.is_char_boundary(end) {
        end -= 1;
    }
    profile.truncate(end);
    profile
}

/// Batches smaller than this are normalized on one thread: spawning workers would cost more.
const PARALLEL_MIN_EVENTS: usize = 256;

/// A batch ready for the sealer: the raw events in WAL order and their normalized events, index by index.
pub(crate) struct Prepared {
    /// The batch's highest WAL sequence number (`None` for an empty batch).
    last: Option<u64>,
    raws: SealerInput,
    events: Vec<Event>,
}

/// Parses a batch — for the consumers; the archive keeps the raw events — split across `workers` threads,
/// keeping the batch's order. Runs on its own thread in front of the sealer, so that parsing batch N+1 overlaps
/// hashing, compressing and writing batch N.
fn prepare(
    normalizer: &dyn Normalizer,
    profile: &str,
    workers: usize,
    raws: SealerInput,
) -> Result<Prepared, StoreError> {
    let last = raws.last().map(|(seq, _)| *seq);
    // A panicking parser is a bug: it stops the sealer visibly (health shows why) instead of killing a thread
    // silently; the batch stays in the WAL and is sealed at the next start.
    let work = |chunk: &[(u64, RawEvent)]| -> Result<Vec<Event>, StoreError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            chunk
                .iter()
                .map(|(_, raw)| normalizer.normalize(raw, profile))
                .collect()
        }))
        .map_err(|panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            StoreError::Config(format!("the normalizer panicked: {why}"))
        })
    };
    let events = if workers <= 1 || raws.len() < PARALLEL_MIN_EVENTS {
        work(&raws)?
    } else {
        let chunk_len = raws.len().div_ceil(workers);
        let results: Vec<_> =
            std::thread::scope(|scope| {
                let mut chunks = raws.chunks(chunk_len);
                // The first chunk runs here; the others on scoped workers (`work` catches their panics).
                let first = chunks.next().unwrap_or_default();
                let handles: Vec<_> = chunks
                    .map(|chunk| scope.spawn(move || work(chunk)))
                    .collect();
                let mut results = vec![work(first)];
                for handle in handles {
                    results.push(handle.join().unwrap_or_else(|_| {
                        Err(StoreError::Config("a parse worker stopped".into()))
                    }));
                }
                results
            });
        let mut events = Vec::with_capacity(raws.len());
        for result in results {
            events.extend(result?);
        }
        events
    };
    normalizer.observe(&events);
    Ok(Prepared { last, raws, events })
}

/// Counters shared by the threads; read through [`Store::stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub wal_appended: AtomicU64,
    pub wal_bytes: AtomicU64,
    pub fsyncs: AtomicU64,
    pub sealed_events: AtomicU64,
    pub blocks: AtomicU64,
    pub checkpoints: AtomicU64,
    pub queue_depth: std::sync::atomic::AtomicI64,
    pub replayed: AtomicU64,
    pub backup_errors: AtomicU64,
    /// Set when the sealer stopped on an error (e.g. disk full): appends then fail with `Closed`.
    pub failed: AtomicBool,
    /// Why the sealer stopped, once it has.
    pub failure: std::sync::Mutex<Option<String>>,
}

/// A snapshot of the store's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub wal_appended: u64,
    pub wal_bytes: u64,
    pub fsyncs: u64,
    pub sealed_events: u64,
    pub blocks: u64,
    pub checkpoints: u64,
    /// Batches waiting in the WAL queue.
    pub queue_depth: u64,
    /// Events re-sealed from the WAL at start-up.
    pub replayed: u64,
    pub backup_errors: u64,
    /// The sealer stopped on an error; the store accepts nothing more. Health checks should report it.
    pub failed: bool,
}

/// Reads the store's counters; see [`Store::stats_handle`].
#[derive(Debug, Clone)]
pub struct StatsHandle {
    counters: Arc<Counters>,
}

impl StatsHandle {
    pub fn stats(&self) -> StoreStats {
        let c = &self.counters;
        StoreStats {
            wal_appended: c.wal_appended.load(Ordering::Relaxed),
            wal_bytes: c.wal_bytes.load(Ordering::Relaxed),
            fsyncs: c.fsyncs.load(Ordering::Relaxed),
            sealed_events: c.sealed_events.load(Ordering::Relaxed),
            blocks: c.blocks.load(Ordering::Relaxed),
            checkpoints: c.checkpoints.load(Ordering::Relaxed),
            queue_depth: c.queue_depth.load(Ordering::Relaxed).max(0) as u64,
            replayed: c.replayed.load(Ordering::Relaxed),
            backup_errors: c.backup_errors.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Acquire),
        }
    }

    /// Why the store stopped accepting events, once it has (`None` while it works): for health checks.
    pub fn failure(&self) -> Option<String> {
        self.counters
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

pub struct Store {
    wal: Option<WalHandle>,
    counters: Arc<Counters>,
    wal_thread: Option<JoinHandle<()>>,
    sealer_thread: Option<JoinHandle<Result<(), StoreError>>>,
    backup_thread: Option<JoinHandle<()>>,
    recovery: Vec<(TenantId, RecoveryReport)>,
    abort: Arc<AtomicBool>,
    tail: Arc<Tail>,
    data_dir: PathBuf,
    normalizer: Normalize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("stats", &self.stats())
            .finish()
    }
}

/// The sealer: normalizes durable raw events and appends them to per-tenant logs.
pub(crate) struct Sealer {
    archive_dir: PathBuf,
    settings: LogSettings,
    block_max_age: Duration,
    signer: Signer,
    normalizer: Normalize,
    /// The normalizer's profile, written into every record.
    profile: String,
    seal_workers: usize,
    logs: HashMap<TenantId, TenantLog>,
    pub recovery: Vec<(TenantId, RecoveryReport)>,
    counters: Arc<Counters>,
    watermark: Arc<AtomicU64>,
    last_seq: u64,
    backup: Option<std::sync::mpsc::SyncSender<BackupJob>>,
    abort: Arc<AtomicBool>,
    tail: Arc<Tail>,
    /// Whether sealed batches go to the tail: not during replay at start-up, whose events are durable (and read
    /// from the archive by consumers) before any consumer exists.
    publish: bool,
    /// The lowest WAL sequence number the WAL may still hold at start-up (its first file's name).
    wal_floor: Option<u64>,
}

impl Sealer {
    fn log(&mut self, tenant: &TenantId) -> Result<&mut TenantLog, StoreError> {
        if !self.logs.contains_key(tenant) {
            let (log, report) = TenantLog::open(
                &self.archive_dir,
                tenant.clone(),
                self.settings.clone(),
                &self.signer,
                self.wal_floor,
            )?;
            if report != RecoveryReport::default() {
                tracing::warn!(tenant = %tenant, ?report, "archive recovered");
                self.recovery.push((tenant.clone(), report));
            }
            self.logs.insert(tenant.clone(), log);
        }
        // Inserted just above when absent.
        self.logs.get_mut(tenant).ok_or(StoreError::Closed)
    }

    /// Opens every tenant directory already in the archive (recovering each).
    fn open_existing(&mut self) -> Result<(), StoreError> {
        let dir = self.archive_dir.clone();
        for entry in std::fs::read_dir(&dir).map_err(StoreError::io(&dir))? {
            let entry = entry.map_err(StoreError::io(&dir))?;
            if !entry
                .file_type()
                .map_err(StoreError::io(entry.path()))?
                .is_dir()
            {
                continue;
            }
            let Some(tenant) = entry
                .file_name()
                .to_str()
                .and_then(|n| TenantId::new(n).ok())
            else {
                continue;
            };
            self.log(&tenant)?;
        }
        Ok(())
    }

    /// The replay path at start-up: events the archive already holds are dropped before parsing, so replay
    /// neither parses them again nor shows them to the normalizer's observers (per-source counters) twice.
    fn process(&mut self, mut input: SealerInput) -> Result<(), StoreError> {
        input.retain(|(seq, raw)| {
            self.logs
                .get(&raw.tenant)
                .is_none_or(|log| *seq > log.last_sealed_seq)
        });
        let prepared = prepare(&*self.normalizer, &self.profile, self.seal_workers, input)?;
        self.seal(prepared)
    }

    /// Appends a prepared batch to the tenants' logs, in WAL order.
    fn seal(&mut self, prepared: Prepared) -> Result<(), StoreError> {
        let Prepared { last, raws, events } = prepared;
        if events.len() != raws.len() {
            return Err(StoreError::Config(format!(
                "the normalizer returned {} events for {} raw events",
                events.len(),
                raws.len()
            )));
        }
        let now = jiff::Timestamp::now();
        let mut count = 0u64;
        let mut positions = Vec::with_capacity(events.len());
        let mut sealed = vec![true; events.len()];
        let profile = std::mem::take(&mut self.profile);
        let result = self.append_all(
            &raws,
            &profile,
            &mut sealed,
            &mut positions,
            &mut count,
            now,
        );
        self.profile = profile;
        result?;
        // Consumers (search, detection) get the batch as soon as it is durable in the WAL and parsed.
        if self.publish {
            let mut events = events;
            if count < sealed.len() as u64 {
                let mut flags = sealed.iter();
                events.retain(|_| flags.next().copied().unwrap_or(false));
            }
            self.tail.push(SealedBatch { events, positions });
        }
        self.counters
            .sealed_events
            .fetch_add(count, Ordering::Relaxed);
        if let Some(last) = last {
            self.last_seq = self.last_seq.max(last);
        }
        Ok(())
    }

    /// Appends raw events to their tenants' logs; marks those the archive already held (replay) as not sealed.
    fn append_all(
        &mut self,
        raws: &[(u64, RawEvent)],
        profile: &str,
        sealed: &mut [bool],
        positions: &mut Vec<u64>,
        count: &mut u64,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        for ((seq, raw), sealed) in raws.iter().zip(sealed) {
            let log = self.log(&raw.tenant)?;
            // Replay after a crash: what the archive already holds for this tenant is skipped, so nothing is
            // sealed twice. In normal operation this is one comparison per event.
            if *seq <= log.last_sealed_seq {
                *sealed = false;
                continue;
            }
            positions.push(log.next_position());
            if log.append(*seq, raw, profile, now)? {
                self.counters.blocks.fetch_add(1, Ordering::Relaxed);
            }
            *count += 1;
        }
        Ok(())
    }

    /// Seals blocks older than `block_max_age` (all blocks when `everything`), then checkpoints every log that
    /// wrote blocks, then publishes the WAL watermark.
    fn flush(&mut self, everything: bool) -> Result<(), StoreError> {
        let now = jiff::Timestamp::now();
        let max_age = self.block_max_age;
        for log in self.logs.values_mut() {
            let aged = log
                .open_block_since()
                .is_some_and(|t| t.elapsed() >= max_age);
            if everything || aged {
                let had_block = log.open_block_first_seq().is_some();
                log.seal_block(now)?;
                if had_block {
                    self.counters.blocks.fetch_add(1, Ordering::Relaxed);
                }
            }
            if log.checkpoint(now)? {
                self.counters.checkpoints.fetch_add(1, Ordering::Relaxed);
            }
            // Also after a checkpoint written when a segment rolled.
            self.tail.durable(&log.tenant, log.durable_records());
            if log.closed_since_backup {
                log.closed_since_backup = false;
                if let Some(tx) = &self.backup {
                    // A full queue only delays the copy: each job copies everything not yet copied.
                    let _ = tx.try_send(BackupJob::Tenant(log.tenant.clone()));
                }
            }
        }
        let pending = self
            .logs
            .values()
            .filter_map(TenantLog::open_block_first_seq)
            .min();
        let watermark = match pending {
            Some(first) => first.saturating_sub(1),
            None => self.last_seq,
        };
        self.watermark.store(watermark, Ordering::Release);
        metrics::gauge!("kuzet_store_sealed_watermark").set(watermark as f64);
        Ok(())
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.logs
            .values()
            .filter_map(TenantLog::open_block_since)
            .min()
            .map(|t| t + self.block_max_age)
    }

    fn run(
        mut self,
        rx: std::sync::mpsc::Receiver<Result<Prepared, StoreError>>,
    ) -> Result<(), StoreError> {
        let result = self.run_loop(&rx);
        self.tail.close();
        if let Err(e) = &result {
            tracing::error!(error = %e, "sealer stopped");
            *self
                .counters
                .failure
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(format!("sealer stopped: {e}"));
            self.counters.failed.store(true, Ordering::Release);
            metrics::counter!("kuzet_store_sealer_failures_total").increment(1);
        }
        drop(rx);
        result
    }

    fn run_loop(
        &mut self,
        rx: &std::sync::mpsc::Receiver<Result<Prepared, StoreError>>,
    ) -> Result<(), StoreError> {
        loop {
            let received = match self.next_deadline() {
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    rx.recv_timeout(wait)
                }
                None => rx
                    .recv()
                    .map_err(|_| std::sync::mpsc::RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(prepared) => {
                    self.seal(prepared?)?;
                    // Take whatever else is already waiting before paying for fsync + signature.
                    while let Ok(more) = rx.try_recv() {
                        self.seal(more?)?;
                    }
                    self.flush(false)?;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => self.flush(false)?,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    if self.abort.load(Ordering::Acquire) {
                        return Ok(());
                    }
                    self.flush(true)?;
                    return Ok(());
                }
            }
        }
    }
}

fn write_public_key(archive_dir: &Path, signer: &Signer) -> Result<(), StoreError> {
    let path = archive_dir.join(PUBLIC_KEY_FILE);
    let key = signer.verifying_key();
    match std::fs::read_to_string(&path) {
        Ok(text) => match crate::VerifyingKey::parse_text(&text) {
            Some(existing) if existing == key => Ok(()),
            _ => Err(StoreError::Key {
                path,
                detail: "the signing key does not match the archive's public key".into(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::keys::write_public_key(&path, &key)
        }
        Err(source) => Err(StoreError::Io { path, source }),
    }
}

impl Store {
    /// Opens (creating dirs), recovers the archive, replays the WAL past what is sealed through `normalize`, and
    /// starts the WAL writer, sealer and backup threads.
    pub fn open(
        config: StoreConfig,
        signer: Signer,
        normalizer: Normalize,
    ) -> Result<Store, StoreError> {
        config.validate()?;
        let archive_dir = config.archive_dir();
        let wal_dir = config.wal_dir();
        for dir in [&config.data_dir, &archive_dir, &wal_dir] {
            crate::durable::create_dir(dir)?;
        }
        write_public_key(&archive_dir, &signer)?;
        let counters = Arc::new(Counters::default());
        let watermark = Arc::new(AtomicU64::new(0));
        let abort = Arc::new(AtomicBool::new(false));
        let tail = Arc::new(Tail::new(config.consumer_buffer_events));

        let (backup_tx, backup_thread) = match &config.backup {
            Some(target) => {
                let (tx, rx) = std::sync::mpsc::sync_channel::<BackupJob>(256);
                let target = target.clone();
                let dir = archive_dir.clone();
                let counters = counters.clone();
                let runtime = tokio::runtime::Handle::try_current().ok();
                let handle = std::thread::Builder::new()
                    .name("kuzet-backup".into())
                    .spawn(move || crate::backup::run(dir, target, rx, counters, runtime))
                    .map_err(StoreError::io(&archive_dir))?;
                (Some(tx), Some(handle))
            }
            None => (None, None),
        };

        let mut sealer = Sealer {
            archive_dir: archive_dir.clone(),
            settings: LogSettings {
                block_bytes: config.block_bytes,
                segment_bytes: config.segment_bytes,
                zstd_level: config.zstd_level,
                day_offset_nanos: i64::try_from(config.day_offset.as_nanos()).unwrap_or(0),
            },
            block_max_age: config.block_max_age,
            signer,
            profile: profile_of(&*normalizer),
            normalizer,
            seal_workers: config.seal_workers.max(1),
            logs: HashMap::new(),
            recovery: Vec::new(),
            counters: counters.clone(),
            watermark: watermark.clone(),
            last_seq: 0,
            backup: backup_tx.clone(),
            abort: abort.clone(),
            tail: Arc::clone(&tail),
            publish: false,
            wal_floor: None,
        };
        // Replay: everything in the WAL that the archive does not hold yet.
        let files = wal::list_files(&wal_dir)?;
        sealer.wal_floor = files.first().map(|f| f.first_seq);
        sealer.open_existing()?;
        let mut max_seq = sealer
            .logs
            .values()
            .map(|l| l.last_sealed_seq)
            .max()
            .unwrap_or(0);
        let before = counters.sealed_events.load(Ordering::Relaxed);
        for (i, file) in files.iter().enumerate() {
            let mut group: SealerInput = Vec::new();
            let mut failure = None;
            wal::replay_file(&file.path, i + 1 == files.len(), |seq, raw| {
                max_seq = max_seq.max(seq);
                group.push((seq, raw));
                if group.len() >= 4096
                    && failure.is_none()
                    && let Err(e) = sealer.process(std::mem::take(&mut group))
                {
                    failure = Some(e);
                }
            })?;
            if let Some(e) = failure {
                return Err(e);
            }
            sealer.process(group)?;
        }
        sealer.flush(true)?;
        let replayed = counters.sealed_events.load(Ordering::Relaxed) - before;
        counters.replayed.store(replayed, Ordering::Relaxed);
        if replayed > 0 {
            tracing::info!(
                events = replayed,
                "sealed events replayed from the write-ahead log"
            );
        }
        // Everything in the old files is sealed and checkpointed now.
        for file in &files {
            std::fs::remove_file(&file.path).map_err(StoreError::io(&file.path))?;
        }
        wal::sync_dir(&wal_dir)?;
        sealer.last_seq = max_seq;
        for log in sealer.logs.values() {
            tail.durable(&log.tenant, log.durable_records());
        }
        sealer.publish = true;
        watermark.store(max_seq, Ordering::Release);
        if let Some(tx) = &backup_tx {
            let _ = tx.try_send(BackupJob::All);
        }
        let recovery = std::mem::take(&mut sealer.recovery);

        let (sealer_tx, raw_rx) = std::sync::mpsc::sync_channel::<SealerInput>(64);
        // Two prepared batches in flight: enough to overlap parsing with sealing, little memory.
        let (prepared_tx, prepared_rx) =
            std::sync::mpsc::sync_channel::<Result<Prepared, StoreError>>(2);
        let normalizer = Arc::clone(&sealer.normalizer);
        let normalizer_for_store = Arc::clone(&normalizer);
        let profile = sealer.profile.clone();
        let workers = sealer.seal_workers;
        std::thread::Builder::new()
            .name("kuzet-parse".into())
            .spawn(move || {
                // Ends when the WAL writer drops its sender; the sealer then sees the channel close.
                for input in raw_rx {
                    if prepared_tx
                        .send(prepare(&*normalizer, &profile, workers, input))
                        .is_err()
                    {
                        return;
                    }
                }
            })
            .map_err(StoreError::io(&archive_dir))?;
        let sealer_thread = std::thread::Builder::new()
            .name("kuzet-sealer".into())
            .spawn(move || sealer.run(prepared_rx))
            .map_err(StoreError::io(&archive_dir))?;

        let (tx, rx) = mpsc::channel(config.wal_queue_batches);
        let writer = WalWriter {
            dir: wal_dir.clone(),
            segment_bytes: config.wal_segment_bytes,
            next_seq: max_seq + 1,
            file: None,
            closed: Vec::new(),
            sealed_watermark: watermark,
            stats: counters.clone(),
        };
        let max_batches = config.wal_queue_batches;
        let wal_thread = std::thread::Builder::new()
            .name("kuzet-wal".into())
            .spawn(move || writer.run(rx, sealer_tx, max_batches))
            .map_err(StoreError::io(&wal_dir))?;
        drop(backup_tx);

        Ok(Store {
            wal: Some(WalHandle {
                tx,
                stats: counters.clone(),
            }),
            counters,
            wal_thread: Some(wal_thread),
            sealer_thread: Some(sealer_thread),
            backup_thread,
            recovery,
            abort,
            tail,
            data_dir: config.data_dir.clone(),
            normalizer: Arc::clone(&normalizer_for_store),
        })
    }

    /// Opens the consumer `name` (one at a time per name): it resumes at its committed cursor, or starts as
    /// `start` says when it has none. Every event sealed reaches it at least once, in order per tenant, as soon as
    /// it is durable in the WAL and parsed when it keeps up, from the archive when it does not (`consumer.rs`).
    pub fn consumer(&self, name: &str, start: ConsumerStart) -> Result<Consumer, StoreError> {
        Consumer::open(
            &self.data_dir,
            &self.data_dir.join("archive"),
            Arc::clone(&self.tail),
            Arc::clone(&self.normalizer),
            name,
            start,
        )
    }

    /// The normalizer the store derives events with: what archive readers (export, proofs) need too.
    pub fn normalizer(&self) -> Normalize {
        Arc::clone(&self.normalizer)
    }

    /// Simulates a crash for fault tests: stops the threads without sealing open blocks or writing a final
    /// checkpoint. Everything acknowledged is in the WAL; the next `open` must recover it.
    #[doc(hidden)]
    pub fn abort(mut self) {
        self.abort.store(true, Ordering::Release);
        let _ = self.stop();
    }

    /// A handle for appending raw events. Cheap to clone.
    pub fn wal(&self) -> WalHandle {
        // `wal` is only taken in shutdown, which consumes self.
        self.wal
            .clone()
            .unwrap_or_else(|| unreachable_handle(&self.counters))
    }

    pub fn stats(&self) -> StoreStats {
        self.stats_handle().stats()
    }

    /// A cheap handle that reads the counters after the store itself has moved (e.g. into `shutdown`).
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            counters: Arc::clone(&self.counters),
        }
    }

    /// What start-up recovery cut from each tenant's archive.
    pub fn recovery(&self) -> &[(TenantId, RecoveryReport)] {
        &self.recovery
    }

    /// Stops accepting (appends through live handles then fail with `Closed`), commits what is queued, seals open
    /// blocks, writes a final checkpoint, joins the threads.
    pub fn shutdown(mut self) -> Result<(), StoreError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), StoreError> {
        if let Some(handle) = self.wal.take() {
            // Handles cloned by listeners may still be alive, so dropping ours would not end the queue: ask the
            // writer to close it. Sent from a plain thread because a blocking send panics inside an async runtime,
            // and shutdown is usually called from one.
            let tx = handle.tx;
            let closer = std::thread::spawn(move || {
                let _ = tx.blocking_send(crate::wal::WalMessage::Close);
            });
            closer.join().map_err(|_| StoreError::Closed)?;
        }
        if let Some(t) = self.wal_thread.take() {
            t.join().map_err(|_| StoreError::Closed)?;
        }
        let sealed = match self.sealer_thread.take() {
            Some(t) => t.join().map_err(|_| StoreError::Closed)?,
            None => Ok(()),
        };
        if let Some(t) = self.backup_thread.take() {
            t.join().map_err(|_| StoreError::Closed)?;
        }
        sealed
    }
}

fn unreachable_handle(counters: &Arc<Counters>) -> WalHandle {
    let (tx, _rx) = mpsc::channel(1);
    WalHandle {
        tx,
        stats: counters.clone(),
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Dropping without shutdown still stops threads cleanly; a crash is simulated in tests by other means.
        if self.wal_thread.is_some() {
            let _ = self.stop();
        }
    }
}
