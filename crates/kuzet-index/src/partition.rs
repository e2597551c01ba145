//! Writing the index: one tantivy index per tenant and UTC day of `@timestamp` (`<dir>/<tenant>/<yyyy-mm-dd>/`),
//! so that a time range reads only its days and the hot window drops whole days.
//!
//! Each commit records in its payload the highest position it holds; events at or below it are skipped when they
//! come again (a consumer resumes from its last durable cursor after a crash), so an event is indexed once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::civil::Date;
use kuzet_model::{Event, TenantId};
use tantivy::{Index, IndexWriter, TantivyDocument};

use crate::IndexError;
use crate::schema::{Fields, SCHEMA_VERSION};

/// One partition: a tenant's events of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    pub tenant: TenantId,
    pub day: Date,
}

impl PartitionKey {
    pub fn of(event: &Event) -> Self {
        Self {
            tenant: event.tenant.clone(),
            day: event.timestamp.to_zoned(jiff::tz::TimeZone::UTC).date(),
        }
    }

    /// Midnight (UTC) of the partition's day.
    pub fn start(&self) -> jiff::Timestamp {
        self.day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_or(jiff::Timestamp::UNIX_EPOCH, |z| z.timestamp())
    }

    pub fn path(&self, dir: &Path) -> PathBuf {
        dir.join(self.tenant.as_str()).join(self.day.to_string())
    }
}

/// Per partition, the number of commits seen: a searcher reloads a partition whose number moved.
#[derive(Debug, Default)]
pub(crate) struct Generations(Mutex<HashMap<PartitionKey, u64>>);

impl Generations {
    pub fn get(&self, key: &PartitionKey) -> u64 {
        self.0
            .lock()
            .map(|m| m.get(key).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn bump(&self, key: &PartitionKey) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(key.clone()).or_insert(0) += 1;
        }
    }

    pub fn forget(&self, key: &PartitionKey) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(key);
        }
    }
}

/// How the index is kept.
#[derive(Debug, Clone)]
pub struct IndexConfig {
    pub dir: PathBuf,
    /// Memory for buffered documents per open partition (tantivy's minimum is 15 MB).
    pub writer_heap: usize,
    /// A partition that received nothing for this long is committed and its writer closed.
    pub idle_close: Duration,
}

impl IndexConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            writer_heap: 32 << 20,
            idle_close: Duration::from_secs(120),
        }
    }
}

struct OpenPartition {
    index: Index,
    writer: IndexWriter<TantivyDocument>,
    path: PathBuf,
    /// The highest position committed; events at or below it are in the index already.
    committed: Option<u64>,
    /// The highest position added since.
    added: Option<u64>,
    last_add: Instant,
    /// Events per minute of the day (UTC), committed and added: saved with each commit (`Summary`).
    minutes: Vec<u32>,
}

/// Minutes in a day: the partition's summary counts events per minute of `@timestamp`.
pub(crate) const MINUTES: usize = 24 * 60;

/// A partition's commit payload: the highest position it holds, and how many events it holds per minute of its
/// day — saved in the same commit as the documents, so a histogram of every event can be read from it without
/// visiting them (`docs/formats/index.md`, "Commits").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub position: u64,
    pub minutes: Vec<u32>,
}

impl Summary {
    /// `<position> m=<minute>:<count>,…` (minutes with events only).
    pub fn encode(&self) -> String {
        let mut out = format!("{} m=", self.position);
        let mut first = true;
        for (minute, count) in self.minutes.iter().enumerate().filter(|(_, c)| **c > 0) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&format!("{minute}:{count}"));
        }
        out
    }

    /// The summary of a payload; `None` for a payload without one (an empty partition) or one that does not read.
    pub fn decode(payload: &str) -> Option<Self> {
        let (position, minutes_text) = payload.split_once(" m=")?;
        let mut minutes = vec![0u32; MINUTES];
        for pair in minutes_text.split(',').filter(|p| !p.is_empty()) {
            let (minute, count) = pair.split_once(':')?;
            *minutes.get_mut(minute.parse::<usize>().ok()?)? = count.parse().ok()?;
        }
        Some(Self {
            position: position.parse().ok()?,
            minutes,
        })
    }
}

/// The minute of its UTC day an instant (microseconds) falls in.
pub(crate) fn minute_of_day(micros: i64) -> usize {
    (micros.rem_euclid(86_400_000_000) / 60_000_000) as usize
}

/// What [`Indexer::add`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Indexed,
    /// It was in the index already (delivered again after a restart).
    Present,
}

/// Writes events into their partitions. One per index directory (tantivy locks each partition it writes).
pub struct Indexer {
    config: IndexConfig,
    fields: Fields,
    open: HashMap<PartitionKey, OpenPartition>,
    generations: Arc<Generations>,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer")
            .field("dir", &self.config.dir)
            .field("open", &self.open.len())
            .finish()
    }
}

/// tantivy's smallest writer memory budget.
const MIN_WRITER_HEAP: usize = 15_000_000;

/// The partition's own metadata file: what schema it was written with.
const META_FILE: &str = "kuzet-index.json";

#[derive(serde::Serialize, serde::Deserialize)]
struct PartitionMeta {
    schema: u32,
}

impl Indexer {
    pub fn open(config: IndexConfig) -> Result<Self, IndexError> {
        std::fs::create_dir_all(&config.dir).map_err(IndexError::io(&config.dir))?;
        Ok(Self {
            config,
            fields: Fields::new(),
            open: HashMap::new(),
            generations: Arc::new(Generations::default()),
        })
    }

    /// A searcher that sees what this indexer commits (it reloads a partition after each of its commits).
    pub fn searcher(&self) -> crate::IndexSearcher {
        crate::IndexSearcher::with_generations(&self.config.dir, self.generations.clone())
    }

    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// Adds `event`, sealed at `position` in its tenant's log. Visible to searches after the next [`commit`].
    ///
    /// [`commit`]: Indexer::commit
    pub fn add(&mut self, position: u64, event: &Event, now: Instant) -> Result<Added, IndexError> {
        let key = PartitionKey::of(event);
        if !self.open.contains_key(&key) {
            let part = open_partition(&self.config, &self.fields, &key)?;
            self.open.insert(key.clone(), part);
        }
        let Some(part) = self.open.get_mut(&key) else {
            return Err(IndexError::Corrupt {
                path: key.path(&self.config.dir),
                detail: "partition vanished while open".into(),
            });
        };
        if part.committed.is_some_and(|c| position <= c)
            || part.added.is_some_and(|a| position <= a)
        {
            return Ok(Added::Present);
        }
        part.writer
            .add_document(self.fields.document(position, event))
            .map_err(IndexError::tantivy(&part.path))?;
        part.minutes[minute_of_day(crate::schema::micros(event.timestamp))] += 1;
        part.added = Some(position);
        part.last_add = now;
        Ok(Added::Indexed)
    }

    /// Commits every partition with new events (making them visible), and closes partitions idle for longer than
    /// the configured time. Returns the number of partitions committed.
    pub fn commit(&mut self, now: Instant) -> Result<usize, IndexError> {
        let mut committed = 0;
        for (key, part) in &mut self.open {
            let Some(added) = part.added.take() else {
                continue;
            };
            let mut prepared = part
                .writer
                .prepare_commit()
                .map_err(IndexError::tantivy(&part.path))?;
            let summary = Summary {
                position: added,
                minutes: std::mem::take(&mut part.minutes),
            };
            prepared.set_payload(&summary.encode());
            part.minutes = summary.minutes;
            prepared.commit().map_err(IndexError::tantivy(&part.path))?;
            part.committed = Some(added);
            self.generations.bump(key);
            committed += 1;
        }
        let idle: Vec<PartitionKey> = self
            .open
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.last_add) >= self.config.idle_close)
            .map(|(k, _)| k.clone())
            .collect();
        for key in idle {
            if let Some(part) = self.open.remove(&key) {
                part.finish()?;
            }
        }
        Ok(committed)
    }

    /// Deletes the partitions of `tenant` for days before `first_kept` (the hot window's start). Returns the days
    /// dropped. The events stay in the sealed archive; `kuzet rehydrate` makes any period searchable again.
    pub fn drop_before(
        &mut self,
        tenant: &TenantId,
        first_kept: Date,
    ) -> Result<Vec<Date>, IndexError> {
        let mut dropped = Vec::new();
        for key in crate::partitions(&self.config.dir, tenant)? {
            if key.day >= first_kept {
                continue;
            }
            if let Some(part) = self.open.remove(&key) {
                drop(part.writer);
            }
            let path = key.path(&self.config.dir);
            std::fs::remove_dir_all(&path).map_err(IndexError::io(&path))?;
            self.generations.forget(&key);
            dropped.push(key.day);
        }
        Ok(dropped)
    }

    /// Commits and closes everything.
    pub fn close(mut self) -> Result<(), IndexError> {
        self.commit(Instant::now())?;
        for (_, part) in self.open.drain() {
            part.finish()?;
        }
        Ok(())
    }
}

impl OpenPartition {
    /// Closes a committed partition, merging its segments into one first: a day that stopped receiving events
    /// is read many times and written no more, and one segment keeps each term once.
    fn finish(mut self) -> Result<(), IndexError> {
        let segments = self
            .index
            .searchable_segment_ids()
            .map_err(IndexError::tantivy(&self.path))?;
        if segments.len() > 1 {
            self.writer
                .merge(&segments)
                .wait()
                .map_err(IndexError::tantivy(&self.path))?;
        }
        self.writer
            .wait_merging_threads()
            .map_err(IndexError::tantivy(&self.path))
    }
}

fn open_partition(
    config: &IndexConfig,
    fields: &Fields,
    key: &PartitionKey,
) -> Result<OpenPartition, IndexError> {
    let path = key.path(&config.dir);
    let index = open_or_create(&path, fields)?;
    let summary = index
        .load_metas()
        .map_err(IndexError::tantivy(&path))?
        .payload
        .and_then(|p| Summary::decode(&p));
    let committed = summary.as_ref().map(|s| s.position);
    let minutes = summary.map_or_else(|| vec![0; MINUTES], |s| s.minutes);
    let writer = index
        .writer_with_num_threads(1, config.writer_heap.max(MIN_WRITER_HEAP))
        .map_err(IndexError::tantivy(&path))?;
    Ok(OpenPartition {
        index,
        writer,
        path,
        committed,
        added: None,
        last_add: Instant::now(),
        minutes,
    })
}

/// Opens the partition at `path`, creating it when absent; a partition of another schema version is rebuilt
/// empty (the archive is the record; a later catch-up or rehydration fills it).
pub(crate) fn open_or_create(path: &Path, fields: &Fields) -> Result<Index, IndexError> {
    let meta_path = path.join(META_FILE);
    let current = std::fs::read(&meta_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<PartitionMeta>(&b).ok())
        .is_some_and(|m| m.schema == SCHEMA_VERSION);
    if current && let Ok(index) = Index::open_in_dir(path) {
        register(&index);
        return Ok(index);
    }
    if path.exists() {
        tracing::warn!(partition = %path.display(), "index partition of another schema or damaged: rebuilt");
        std::fs::remove_dir_all(path).map_err(IndexError::io(path))?;
    }
    std::fs::create_dir_all(path).map_err(IndexError::io(path))?;
    let index = Index::builder()
        .schema(fields.schema.clone())
        .settings(tantivy::IndexSettings {
            // Documents store nothing; compression folds the store's per-document bookkeeping.
            docstore_compression: tantivy::store::Compressor::Zstd(Default::default()),
            ..Default::default()
        })
        .create_in_dir(path)
        .map_err(IndexError::tantivy(path))?;
    let meta = serde_json::to_vec(&PartitionMeta {
        schema: SCHEMA_VERSION,
    })
    .map_err(|e| IndexError::Corrupt {
        path: meta_path.clone(),
        detail: e.to_string(),
    })?;
    std::fs::write(&meta_path, meta).map_err(IndexError::io(&meta_path))?;
    register(&index);
    Ok(index)
}

/// The tokenizer the schema names for `tx` (`schema.rs`).
fn register(index: &Index) {
    index
        .tokenizers()
        .register(crate::schema::FIELD_WORDS, crate::schema::FieldWords);
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn summaries_read_back_as_written(position: u64, counts in proptest::collection::vec((0usize..MINUTES, 1u32..1_000_000), 0..50)) {
            let mut minutes = vec![0u32; MINUTES];
            for (minute, count) in counts {
                minutes[minute] = count;
            }
            let summary = Summary { position, minutes };
            proptest::prop_assert_eq!(Summary::decode(&summary.encode()), Some(summary));
        }
    }

    #[test]
    fn payloads_without_a_readable_summary_have_none() {
        for payload in ["", "42", "42 m=1440:1", "42 m=1:x", "x m=1:1", "42 m=1"] {
            assert_eq!(Summary::decode(payload), None, "{payload}");
        }
        assert_eq!(Summary::decode("7 m=").map(|s| s.position), Some(7));
        assert_eq!(minute_of_day(-1), MINUTES - 1);
        assert_eq!(minute_of_day(61_000_000), 1);
    }
}
