//! The hot search index in `kuzet serve` (`docs/formats/index.md`): the store's consumer `index` feeds every
//! sealed event of every organization into `kuzet-index`, commits about once a second, and drops the partitions
//! of days that left each tenant's hot window.
//!
//! The consumer starts at the beginning of every log when it has no cursor, so a new or deleted index is built
//! from the archive; its cursor is committed only after the partitions are, so a crash re-delivers what the index
//! may lack and the partitions skip what they hold. Events older than their tenant's hot window are not indexed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use jiff::civil::Date;
use kuzet_index::{IndexConfig, IndexSearcher, Indexer};
use kuzet_model::{Retention, TenantId};
use kuzet_store::{ConsumerStart, Store, StoreError};

use crate::config::Config;

/// The consumer's name: its cursor is `consumers/index.cursor`.
pub const CONSUMER: &str = "index";
/// How often new events are committed (made searchable).
const COMMIT_EVERY: Duration = Duration::from_secs(1);
/// How often the hot window is applied (and tenants' retention read again).
const RETENTION_EVERY: Duration = Duration::from_secs(600);

/// What `/health` shows of the index.
#[derive(Debug, Clone, Default)]
pub struct IndexStatus(Arc<StatusInner>);

#[derive(Debug, Default)]
struct StatusInner {
    indexed: AtomicU64,
    skipped_old: AtomicU64,
    partitions_dropped: AtomicU64,
    /// Events read back from the archive because the index had fallen behind the tail (or restarted).
    from_archive: AtomicU64,
    /// Whether the last events indexed came from the archive: the index is catching up.
    catching_up: std::sync::atomic::AtomicBool,
    failure: std::sync::Mutex<Option<String>>,
}

impl IndexStatus {
    pub fn get(&self) -> serde_json::Value {
        let failure = self.0.failure.lock().ok().and_then(|f| f.clone());
        serde_json::json!({
            "indexed": self.0.indexed.load(Ordering::Relaxed),
            "skipped_before_hot_window": self.0.skipped_old.load(Ordering::Relaxed),
            "partitions_dropped": self.0.partitions_dropped.load(Ordering::Relaxed),
            "read_from_archive": self.0.from_archive.load(Ordering::Relaxed),
            "catching_up": self.0.catching_up.load(Ordering::Relaxed),
            "failure": failure,
        })
    }

    fn fail(&self, why: String) {
        tracing::error!(error = %why, "search index stopped; events stay sealed and are indexed after a restart");
        if let Ok(mut f) = self.0.failure.lock() {
            *f = Some(why);
        }
    }
}

/// The running index writer.
pub struct Indexing {
    thread: std::thread::JoinHandle<()>,
    searcher: IndexSearcher,
    status: IndexStatus,
}

impl Indexing {
    pub fn searcher(&self) -> IndexSearcher {
        self.searcher.clone()
    }

    pub fn status(&self) -> IndexStatus {
        self.status.clone()
    }

    /// Waits until everything sealed before the store stopped is indexed and committed.
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("search index thread panicked");
        }
    }
}

/// Reads every tenant's retention (from the database in `serve`).
pub type Retentions = Box<dyn FnMut() -> Result<Vec<(TenantId, Retention)>> + Send>;

pub fn start(config: &Config, store: &Store, retentions: Retentions) -> Result<Indexing> {
    // No index (a new installation, or an operator deleted it to rebuild it): start from the archive's beginning.
    let cursor = config
        .data_dir
        .join("consumers")
        .join(format!("{CONSUMER}.cursor"));
    if !config.index_dir().exists() && cursor.exists() {
        tracing::warn!(index = %config.index_dir().display(), "search index missing: rebuilt from the archive");
        std::fs::remove_file(&cursor).with_context(|| format!("{}", cursor.display()))?;
    }
    let indexer = Indexer::open(IndexConfig::new(config.index_dir())).context("search index")?;
    let searcher = indexer.searcher();
    let consumer = store
        .consumer(CONSUMER, ConsumerStart::Beginning)
        .context("search index consumer")?;
    let status = IndexStatus::default();
    let task = Task {
        indexer,
        status: status.clone(),
        retentions,
        hot_days: HashMap::new(),
    };
    let thread = std::thread::Builder::new()
        .name("kuzet-index".into())
        .spawn(move || task.run(consumer))?;
    Ok(Indexing {
        thread,
        searcher,
        status,
    })
}

struct Task {
    indexer: Indexer,
    status: IndexStatus,
    retentions: Retentions,
    /// Per tenant: hot days as last read.
    hot_days: HashMap<TenantId, u32>,
}

/// The first day a hot window of `hot_days` keeps on `today`: an event of day D is searchable through day
/// D + `hot_days`, and its partition is dropped the day after.
pub fn first_kept(today: Date, hot_days: u32) -> Date {
    today
        .checked_sub(jiff::Span::new().days(i64::from(hot_days)))
        .unwrap_or(Date::MIN)
}

impl Task {
    fn run(mut self, mut consumer: kuzet_store::Consumer) {
        let mut committed = Instant::now();
        let mut pending = 0u64;
        let mut retention_applied: Option<Instant> = None;
        loop {
            if retention_applied.is_none_or(|t| t.elapsed() >= RETENTION_EVERY) {
                self.apply_retention(jiff::Timestamp::now());
                retention_applied = Some(Instant::now());
            }
            let delivery = match consumer.next(Duration::from_millis(250)) {
                Ok(delivery) => delivery,
                Err(StoreError::Closed) => break,
                Err(error) => {
                    self.status.fail(format!("consumer: {error}"));
                    return;
                }
            };
            if let Some(delivery) = delivery {
                let now = Instant::now();
                // Behind the tail (or after a restart) the consumer reads the archive: say so in /health.
                self.status
                    .0
                    .catching_up
                    .store(delivery.from_archive(), Ordering::Relaxed);
                if delivery.from_archive() {
                    self.status
                        .0
                        .from_archive
                        .fetch_add(delivery.len() as u64, Ordering::Relaxed);
                }
                let today = jiff::Timestamp::now()
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .date();
                for (position, event) in delivery.iter() {
                    if event.tenant.is_reserved() {
                        continue;
                    }
                    let hot = self
                        .hot_days
                        .get(&event.tenant)
                        .copied()
                        .unwrap_or(Retention::default().hot_days);
                    let day = event.timestamp.to_zoned(jiff::tz::TimeZone::UTC).date();
                    if day < first_kept(today, hot) {
                        self.status.0.skipped_old.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if let Err(error) = self.indexer.add(position, event, now) {
                        self.status.fail(error.to_string());
                        return;
                    }
                    pending += 1;
                }
            }
            if pending > 0 && committed.elapsed() >= COMMIT_EVERY {
                if let Err(error) = self.commit(&consumer) {
                    self.status.fail(error);
                    return;
                }
                self.committed(pending);
                pending = 0;
                committed = Instant::now();
            }
        }
        match self.commit(&consumer) {
            Ok(()) => self.committed(pending),
            Err(error) => self.status.fail(error),
        }
        if let Err(error) = self.indexer.close() {
            self.status.fail(error.to_string());
        }
    }

    /// Counts events made searchable.
    fn committed(&self, events: u64) {
        self.status.0.indexed.fetch_add(events, Ordering::Relaxed);
        metrics::counter!("kuzet_index_events_total").increment(events);
    }

    /// Partitions first, then the cursor: the cursor never passes an event the index lacks.
    fn commit(&mut self, consumer: &kuzet_store::Consumer) -> Result<(), String> {
        self.indexer
            .commit(Instant::now())
            .map_err(|e| e.to_string())?;
        consumer.commit().map_err(|e| e.to_string())
    }

    fn apply_retention(&mut self, now: jiff::Timestamp) {
        match (self.retentions)() {
            Ok(list) => self.hot_days = list.into_iter().map(|(t, r)| (t, r.hot_days)).collect(),
            Err(error) => {
                tracing::warn!(%error, "tenants' retention not read; the last known applies")
            }
        }
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        for (tenant, hot) in self.hot_days.clone() {
            match self.indexer.drop_before(&tenant, first_kept(today, hot)) {
                Ok(days) if !days.is_empty() => {
                    self.status
                        .0
                        .partitions_dropped
                        .fetch_add(days.len() as u64, Ordering::Relaxed);
                    tracing::info!(%tenant, hot_days = hot, dropped = ?days, "search index: days past the hot window dropped (still sealed in the archive)");
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%tenant, %error, "search index: hot window not applied")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sixty_day_window_drops_a_day_on_its_sixty_first_day() {
        let day0: Date = "2026-10-01".parse().unwrap();
        let day60 = day0.checked_add(jiff::Span::new().days(60)).unwrap();
        let day61 = day0.checked_add(jiff::Span::new().days(61)).unwrap();
        assert!(day0 >= first_kept(day60, 60), "kept on day 60");
        assert!(day0 < first_kept(day61, 60), "dropped on day 61");
    }
}
