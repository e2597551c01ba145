//! Searching the index: the partitions of the asked tenants and days, each asked the translated query and the
//! time range; the best keys merged in the asked order; the events read from the sealed archive (through the
//! caller's `fetch`) and checked against the query's reference semantics, so a page holds exactly the matching
//! events whatever the translation's precision.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::ops::Bound as Edge;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use kuzet_model::{Event, TenantId};
use kuzet_query::Query;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, Occur, Query as TQuery};
use tantivy::{DocId, IndexReader, ReloadPolicy, Score, Searcher, SegmentOrdinal, SegmentReader};

use crate::IndexError;
use crate::partition::{Generations, PartitionKey, open_or_create};
use crate::schema::{Fields, micros};
use crate::translate::{Translator, ts_range};

/// Which events come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Newest,
    Oldest,
}

impl Order {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "newest" | "desc" => Some(Order::Newest),
            "oldest" | "asc" => Some(Order::Oldest),
            _ => None,
        }
    }
}

/// Where an event sorts: `@timestamp` in microseconds, then tenant, then its position in the tenant's log. Also
/// the cursor of deep paging, written `<@timestamp>_<tenant>_<position>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub micros: i64,
    pub tenant: TenantId,
    pub position: u64,
}

impl Key {
    pub fn of(event: &Event, position: u64) -> Self {
        Self {
            micros: micros(event.timestamp),
            tenant: event.tenant.clone(),
            position,
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: String| format!("cursor `{text}`: {why}");
        let (time, rest) = text
            .split_once('_')
            .ok_or_else(|| bad("expected <time>_<tenant>_<position>".into()))?;
        let (tenant, position) = rest
            .rsplit_once('_')
            .ok_or_else(|| bad("expected <time>_<tenant>_<position>".into()))?;
        let time: Timestamp = time.parse().map_err(|e| bad(format!("{e}")))?;
        Ok(Self {
            micros: micros(time),
            tenant: TenantId::new(tenant).map_err(|e| bad(e.to_string()))?,
            position: position
                .parse()
                .map_err(|e| bad(format!("position `{position}`: {e}")))?,
        })
    }

    /// Whether `self` comes after `other` in `order` (so on a later page).
    pub fn after(&self, other: &Key, order: Order) -> bool {
        match order {
            Order::Newest => self < other,
            Order::Oldest => self > other,
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let time = Timestamp::from_microsecond(self.micros).unwrap_or(Timestamp::UNIX_EPOCH);
        write!(f, "{time}_{}_{}", self.tenant, self.position)
    }
}

/// A partition, its searcher, and the query (translated, with the time range) to ask it.
type Asked = (PartitionKey, Searcher, BooleanQuery);

/// One search.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub query: &'a Query,
    pub tenants: &'a [TenantId],
    /// `@timestamp` at or after.
    pub from: Timestamp,
    /// `@timestamp` before.
    pub to: Timestamp,
    pub size: usize,
    pub order: Order,
    /// Continue after this event (the previous page's `next`).
    pub after: Option<Key>,
}

/// One page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Events matching in the whole range; an upper bound when `total_exact` is false.
    pub total: u64,
    pub total_exact: bool,
    pub events: Vec<(Key, Event)>,
    /// The cursor of the next page, when there is one.
    pub next: Option<Key>,
    /// Events the index proposed and the archive was asked for.
    pub read: u64,
}

/// Reads events of a tenant's log at positions (ascending): the sealed archive, in the product.
pub type Fetch<'f> = dyn FnMut(&TenantId, &[u64]) -> Result<Vec<(u64, Event)>, String> + 'f;

/// Candidates of an inexact query counted up to this many are all read and evaluated, so that the total is exact.
pub const EXACT_TOTAL_LIMIT: u64 = 20_000;

/// Reads the index. Cheap to share; readers of partitions are opened once and reloaded after the indexer commits.
#[derive(Clone)]
pub struct IndexSearcher {
    dir: PathBuf,
    fields: Fields,
    readers: Arc<Mutex<HashMap<PartitionKey, (IndexReader, u64)>>>,
    generations: Option<Arc<Generations>>,
}

impl std::fmt::Debug for IndexSearcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexSearcher")
            .field("dir", &self.dir)
            .finish()
    }
}

impl IndexSearcher {
    /// A searcher of an index another process writes (e.g. `kuzet search` beside a running server): it sees the
    /// partitions' commits as of when it first reads each.
    pub fn open(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            fields: Fields::new(),
            readers: Arc::default(),
            generations: None,
        }
    }

    pub(crate) fn with_generations(dir: &Path, generations: Arc<Generations>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            fields: Fields::new(),
            readers: Arc::default(),
            generations: Some(generations),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The searcher of one partition, or `None` when the index has no such partition.
    fn partition(&self, key: &PartitionKey) -> Result<Option<Searcher>, IndexError> {
        let path = key.path(&self.dir);
        let generation = self.generations.as_ref().map_or(0, |g| g.get(key));
        let mut readers = self.readers.lock().map_err(|_| IndexError::Corrupt {
            path: path.clone(),
            detail: "reader cache poisoned".into(),
        })?;
        if let Some((reader, seen)) = readers.get_mut(key) {
            if !path.exists() {
                readers.remove(key);
                return Ok(None);
            }
            if *seen != generation {
                reader.reload().map_err(IndexError::tantivy(&path))?;
                *seen = generation;
            }
            return Ok(Some(reader.searcher()));
        }
        if !path.join("meta.json").exists() {
            return Ok(None);
        }
        let index = open_or_create(&path, &self.fields)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(IndexError::tantivy(&path))?;
        let searcher = reader.searcher();
        readers.insert(key.clone(), (reader, generation));
        Ok(Some(searcher))
    }

    /// The partitions of `tenants` that can hold `[from, to)`, each with the query translated onto it and the
    /// time range, and whether every translation is exact.
    fn asked(
        &self,
        query: &Query,
        tenants: &[TenantId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(Vec<Asked>, bool), IndexError> {
        let mut parts = Vec::new();
        for tenant in tenants {
            for key in crate::partitions(&self.dir, tenant)? {
                if overlaps(&key, from, to)
                    && let Some(searcher) = self.partition(&key)?
                {
                    parts.push((key, searcher));
                }
            }
        }
        // [from, to) in whole microseconds: exact when both ends fall on one.
        let aligned = |t: Timestamp| t.subsec_nanosecond() % 1000 == 0;
        let to_micros = micros(to) + i64::from(!aligned(to));
        let range = (Edge::Included(micros(from)), Edge::Excluded(to_micros));
        let mut exact = aligned(from) && aligned(to);
        let mut asked = Vec::with_capacity(parts.len());
        for (key, searcher) in parts {
            let translated = Translator {
                fields: &self.fields,
                searcher: &searcher,
            }
            .translate(query);
            exact &= translated.exact;
            let query = BooleanQuery::new(vec![
                (Occur::Must, translated.query),
                (Occur::Must, ts_range(&self.fields, range.0, range.1)),
            ]);
            asked.push((key, searcher, query));
        }
        Ok((asked, exact))
    }

    /// Counts of the events matching `query` in `[from, to)` per `interval` of `@timestamp` (buckets start at
    /// multiples of the interval since the epoch, UTC). `exact` is false when the query translates to a superset
    /// (`docs/query.md`): the counts are then of the events the index proposes.
    pub fn histogram(
        &self,
        query: &Query,
        tenants: &[TenantId],
        from: Timestamp,
        to: Timestamp,
        interval: jiff::SignedDuration,
    ) -> Result<Histogram, IndexError> {
        let mut buckets = Buckets::new(from, to, interval);
        let (asked, exact) = self.asked(query, tenants, from, to)?;
        // Every event, in buckets of whole minutes: each partition's per-minute counts answer for the minutes
        // wholly inside the range, and only the events of the minutes at its ends are visited.
        let by_minutes = matches!(query, Query::All) && buckets.step % MINUTE == 0;
        let (lo, hi) = (
            micros(from),
            micros(to) + i64::from(to.subsec_nanosecond() % 1000 != 0),
        );
        let empty = buckets.empty();
        for (key, searcher, query) in &asked {
            let summary = if by_minutes {
                summary_of(searcher)
            } else {
                None
            };
            let count = |query: &dyn TQuery| {
                searcher
                    .search(
                        query,
                        &HistogramCollector {
                            empty: empty.clone(),
                        },
                    )
                    .map_err(|source| IndexError::Tantivy {
                        path: key.path(&self.dir),
                        source,
                    })
            };
            let Some(summary) = summary else {
                buckets.merge(&count(query as &dyn TQuery)?);
                continue;
            };
            let (inner_lo, inner_hi) = (
                lo.div_euclid(MINUTE) * MINUTE + if lo % MINUTE == 0 { 0 } else { MINUTE },
                hi.div_euclid(MINUTE) * MINUTE,
            );
            let day = micros(key.start());
            for (minute, n) in summary.minutes.iter().enumerate().filter(|(_, n)| **n > 0) {
                let start = day + minute as i64 * MINUTE;
                if start >= inner_lo && start + MINUTE <= inner_hi {
                    buckets.add_n(start, u64::from(*n));
                }
            }
            let edges = if inner_lo < inner_hi {
                vec![(lo, inner_lo), (inner_hi, hi)]
            } else {
                vec![(lo, hi)]
            };
            for (a, b) in edges {
                let (a, b) = (a.max(day), b.min(day + 1440 * MINUTE));
                if a < b {
                    let edge = ts_range(&self.fields, Edge::Included(a), Edge::Excluded(b));
                    buckets.merge(&count(&*edge)?);
                }
            }
        }
        Ok(buckets.finish(exact))
    }

    /// The `size` most frequent values of `field` among the events matching `query` in `[from, to)`, and how many
    /// different values they hold, from the index's terms (keywords lowercased). A text field's or a typed
    /// field's whole values are not terms: refused, naming the field.
    pub fn values(
        &self,
        query: &Query,
        tenants: &[TenantId],
        from: Timestamp,
        to: Timestamp,
        field: &str,
        size: usize,
    ) -> Result<crate::FieldValues, IndexError> {
        crate::values::check_field(field).map_err(IndexError::Unsupported)?;
        let (asked, exact) = self.asked(query, tenants, from, to)?;
        let mut tally = crate::values::Tally::new();
        for (key, searcher, query) in &asked {
            tally
                .partition(&self.fields, searcher, query as &dyn TQuery, field)
                .map_err(|source| IndexError::Tantivy {
                    path: key.path(&self.dir),
                    source,
                })?;
        }
        Ok(tally.finish(field, size, exact))
    }

    /// Runs `request`; `fetch` reads the events the index points at.
    pub fn search(&self, request: &Request<'_>, fetch: &mut Fetch<'_>) -> Result<Page, IndexError> {
        let size = request.size.max(1);
        let (asked, exact) =
            self.asked(request.query, request.tenants, request.from, request.to)?;
        let mut page = Page::default();
        let wanted = size + 1;
        // Inexact and few: read every candidate once, for an exact total and the page together.
        let (first, candidates) = top(&asked, request.order, None, wanted, true)?;
        page.total = candidates;
        page.total_exact = exact;
        let mut found: Vec<(Key, Event)> = Vec::new();
        if !exact && candidates <= EXACT_TOTAL_LIMIT {
            let (all, _) = top(&asked, request.order, None, candidates as usize, false)?;
            let verified = self.verify(request, &all, fetch, &mut page.read)?;
            page.total = verified.len() as u64;
            page.total_exact = true;
            found = verified
                .into_iter()
                .filter(|(k, _)| {
                    request
                        .after
                        .as_ref()
                        .is_none_or(|a| k.after(a, request.order))
                })
                .take(wanted)
                .collect();
        } else {
            let limit = if exact { wanted } else { wanted.max(1024) };
            let mut cursor = request.after.clone();
            let mut reuse = (cursor.is_none() && limit == wanted).then_some(first);
            loop {
                let batch = match reuse.take() {
                    Some(batch) => batch,
                    None => top(&asked, request.order, cursor.as_ref(), limit, false)?.0,
                };
                let exhausted = batch.len() < limit;
                cursor = batch.last().cloned();
                found.extend(self.verify(request, &batch, fetch, &mut page.read)?);
                if found.len() >= wanted || exhausted {
                    break;
                }
            }
            found.truncate(wanted);
        }
        if found.len() > size {
            found.truncate(size);
            page.next = found.last().map(|(k, _)| k.clone());
        }
        page.events = found;
        Ok(page)
    }

    /// Reads the events of `keys` and keeps, in order, those in the range that match the query.
    fn verify(
        &self,
        request: &Request<'_>,
        keys: &[Key],
        fetch: &mut Fetch<'_>,
        read: &mut u64,
    ) -> Result<Vec<(Key, Event)>, IndexError> {
        let mut by_tenant: BTreeMap<&TenantId, Vec<u64>> = BTreeMap::new();
        for key in keys {
            by_tenant.entry(&key.tenant).or_default().push(key.position);
        }
        let mut events: HashMap<(TenantId, u64), Event> = HashMap::with_capacity(keys.len());
        for (tenant, mut positions) in by_tenant {
            positions.sort_unstable();
            positions.dedup();
            *read += positions.len() as u64;
            for (position, event) in fetch(tenant, &positions).map_err(IndexError::Fetch)? {
                events.insert((tenant.clone(), position), event);
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(event) = events.remove(&(key.tenant.clone(), key.position)) else {
                continue;
            };
            if event.timestamp >= request.from
                && event.timestamp < request.to
                && request.query.matches(&event)
            {
                out.push((key.clone(), event));
            }
        }
        Ok(out)
    }
}

/// The first `limit` keys after `after` in `order` over all partitions, and (when `count`) how many documents the
/// queries match in all.
fn top(
    asked: &[Asked],
    order: Order,
    after: Option<&Key>,
    limit: usize,
    count: bool,
) -> Result<(Vec<Key>, u64), IndexError> {
    let mut merged: Vec<Key> = Vec::new();
    let mut total = 0u64;
    for (key, searcher, query) in asked {
        let collector = TopCollector {
            limit,
            order,
            after: after.map(|a| (a.micros, key.tenant.cmp(&a.tenant), a.position)),
        };
        let (found, n) = searcher
            .search(query as &dyn TQuery, &collector)
            .map_err(|source| IndexError::Tantivy {
                path: PathBuf::from(format!("{}/{}", key.tenant, key.day)),
                source,
            })?;
        if count {
            total += n;
        }
        merged.extend(found.into_iter().map(|(micros, position)| Key {
            micros,
            tenant: key.tenant.clone(),
            position,
        }));
    }
    match order {
        Order::Newest => merged.sort_unstable_by(|a, b| b.cmp(a)),
        Order::Oldest => merged.sort_unstable(),
    }
    merged.truncate(limit);
    Ok((merged, total))
}

fn overlaps(key: &PartitionKey, from: Timestamp, to: Timestamp) -> bool {
    let utc = jiff::tz::TimeZone::UTC;
    let first = from.to_zoned(utc.clone()).date();
    let last = to
        .checked_sub(jiff::SignedDuration::from_nanos(1))
        .unwrap_or(to)
        .to_zoned(utc)
        .date();
    key.day >= first && key.day <= last
}

/// The most buckets a histogram has.
pub const MAX_BUCKETS: usize = 1_000;

/// Matching events per interval of `@timestamp`.
#[derive(Debug, Clone)]
pub struct Histogram {
    pub interval: jiff::SignedDuration,
    /// Each bucket's start and its count.
    pub buckets: Vec<(Timestamp, u64)>,
    pub exact: bool,
}

/// An interval that cuts `[from, to)` into at most about `target` buckets: the smallest of 1 s, 5 s, 10 s, 30 s,
/// 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 12 h, 1 day, 7 days, 30 days that does.
pub fn auto_interval(from: Timestamp, to: Timestamp, target: u32) -> jiff::SignedDuration {
    const STEPS: &[i64] = &[
        1, 5, 10, 30, 60, 300, 600, 1_800, 3_600, 10_800, 43_200, 86_400, 604_800, 2_592_000,
    ];
    let span = to.duration_since(from).as_secs().max(1);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= i64::from(target.max(1)))
        .unwrap_or(2_592_000);
    jiff::SignedDuration::from_secs(step)
}

/// Counts per interval of `@timestamp` from `from` to `to`: buckets start at multiples of the interval since the
/// epoch (UTC), at most [`MAX_BUCKETS`]; an instant outside falls in the nearest bucket. The index and a scan of
/// the archive count the same way.
#[derive(Debug, Clone)]
pub struct Buckets {
    interval: jiff::SignedDuration,
    origin: i64,
    step: i64,
    counts: Vec<u64>,
}

impl Buckets {
    pub fn new(from: Timestamp, to: Timestamp, interval: jiff::SignedDuration) -> Self {
        let step = interval.as_micros().max(1) as i64;
        let origin = micros(from).div_euclid(step) * step;
        let len = usize::try_from((micros(to) - origin + step - 1) / step)
            .unwrap_or(0)
            .clamp(1, MAX_BUCKETS);
        Self {
            interval,
            origin,
            step,
            counts: vec![0; len],
        }
    }

    /// The same buckets, all zero.
    fn empty(&self) -> Self {
        Self {
            counts: vec![0; self.counts.len()],
            ..self.clone()
        }
    }

    /// Counts `n` events of `@timestamp` `micros`.
    fn add_n(&mut self, micros: i64, n: u64) {
        let at = usize::try_from((micros - self.origin).div_euclid(self.step)).unwrap_or(0);
        let last = self.counts.len() - 1;
        self.counts[at.min(last)] += n;
    }

    /// Counts one event of `@timestamp` `micros`.
    pub fn add(&mut self, micros: i64) {
        let at = usize::try_from((micros - self.origin).div_euclid(self.step)).unwrap_or(0);
        let last = self.counts.len() - 1;
        self.counts[at.min(last)] += 1;
    }

    fn merge(&mut self, other: &Buckets) {
        for (total, n) in self.counts.iter_mut().zip(&other.counts) {
            *total += n;
        }
    }

    pub fn finish(self, exact: bool) -> Histogram {
        Histogram {
            interval: self.interval,
            buckets: self
                .counts
                .into_iter()
                .enumerate()
                .map(|(i, n)| {
                    let start = Timestamp::from_microsecond(self.origin + i as i64 * self.step)
                        .unwrap_or(Timestamp::UNIX_EPOCH);
                    (start, n)
                })
                .collect(),
            exact,
        }
    }
}

struct HistogramCollector {
    empty: Buckets,
}

struct HistogramSegment {
    ts: Column<i64>,
    buckets: Buckets,
}

impl Collector for HistogramCollector {
    type Fruit = Buckets;
    type Child = HistogramSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<HistogramSegment> {
        Ok(HistogramSegment {
            ts: reader.fast_fields().i64("ts")?,
            buckets: self.empty.clone(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Buckets>) -> tantivy::Result<Buckets> {
        let mut out = self.empty.clone();
        for fruit in &fruits {
            out.merge(fruit);
        }
        Ok(out)
    }
}

impl SegmentCollector for HistogramSegment {
    type Fruit = Buckets;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(ts) = self.ts.first(doc) {
            self.buckets.add(ts);
        }
    }

    fn harvest(self) -> Buckets {
        self.buckets
    }
}

/// A minute in microseconds.
const MINUTE: i64 = 60_000_000;

/// The per-minute counts the partition's last commit saved (`partition::Summary`), when it has them.
fn summary_of(searcher: &Searcher) -> Option<crate::partition::Summary> {
    let payload = searcher.index().load_metas().ok()?.payload?;
    crate::partition::Summary::decode(&payload)
}

/// Collects the best `limit` (`@timestamp`, position) pairs of a partition after a cursor, and counts every match.
struct TopCollector {
    limit: usize,
    order: Order,
    /// The cursor's time, how this partition's tenant compares with the cursor's, and the cursor's position.
    after: Option<(i64, Ordering, u64)>,
}

/// Keeps the best `limit` keys: the heap's top is the worst kept.
enum Best {
    Newest(BinaryHeap<Reverse<(i64, u64)>>),
    Oldest(BinaryHeap<(i64, u64)>),
}

impl Best {
    fn new(order: Order) -> Self {
        match order {
            Order::Newest => Best::Newest(BinaryHeap::new()),
            Order::Oldest => Best::Oldest(BinaryHeap::new()),
        }
    }

    fn offer(&mut self, key: (i64, u64), limit: usize) {
        match self {
            Best::Newest(heap) => {
                if heap.len() < limit {
                    heap.push(Reverse(key));
                } else if heap.peek().is_some_and(|Reverse(worst)| key > *worst) {
                    heap.pop();
                    heap.push(Reverse(key));
                }
            }
            Best::Oldest(heap) => {
                if heap.len() < limit {
                    heap.push(key);
                } else if heap.peek().is_some_and(|worst| key < *worst) {
                    heap.pop();
                    heap.push(key);
                }
            }
        }
    }

    fn into_vec(self) -> Vec<(i64, u64)> {
        match self {
            Best::Newest(heap) => heap.into_iter().map(|Reverse(k)| k).collect(),
            Best::Oldest(heap) => heap.into_vec(),
        }
    }
}

struct TopSegment {
    ts: Column<i64>,
    pos: Column<u64>,
    limit: usize,
    order: Order,
    after: Option<(i64, Ordering, u64)>,
    best: Best,
    count: u64,
}

impl Collector for TopCollector {
    type Fruit = (Vec<(i64, u64)>, u64);
    type Child = TopSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<TopSegment> {
        Ok(TopSegment {
            ts: reader.fast_fields().i64("ts")?,
            pos: reader.fast_fields().u64("pos")?,
            limit: self.limit,
            order: self.order,
            after: self.after,
            best: Best::new(self.order),
            count: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<(Vec<(i64, u64)>, u64)>) -> tantivy::Result<Self::Fruit> {
        let mut best = Best::new(self.order);
        let mut count = 0;
        for (keys, n) in fruits {
            count += n;
            for key in keys {
                best.offer(key, self.limit);
            }
        }
        Ok((best.into_vec(), count))
    }
}

impl SegmentCollector for TopSegment {
    type Fruit = (Vec<(i64, u64)>, u64);

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.count += 1;
        if self.limit == 0 {
            return;
        }
        let (Some(ts), Some(pos)) = (self.ts.first(doc), self.pos.first(doc)) else {
            return;
        };
        if let Some((cts, tenant, cpos)) = self.after {
            let cmp = ts.cmp(&cts).then(tenant).then(pos.cmp(&cpos));
            let later = match self.order {
                Order::Newest => cmp == Ordering::Less,
                Order::Oldest => cmp == Ordering::Greater,
            };
            if !later {
                return;
            }
        }
        self.best.offer((ts, pos), self.limit);
    }

    fn harvest(self) -> Self::Fruit {
        (self.best.into_vec(), self.count)
    }
}
