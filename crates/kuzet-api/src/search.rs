//! Event search (`POST /api/v1/search`, `kuzet search`): a query of the analyst language (`docs/query.md`) over
//! the sealed events of the tenants the caller reaches, in a time range on `@timestamp`, sorted, paged by cursor.
//!
//! The hot index (`kuzet-index`) answers when the server keeps one: it proposes events, which are read from the
//! sealed archive and checked against the query. Without an index (`kuzet search` on a data directory no server
//! has indexed, tests) the archive is scanned: every event of the range is derived and evaluated. Both give the
//! same pages in the same order ([`Key`]).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use kuzet_index::{IndexSearcher, Key, Order, Page};
use kuzet_model::{Event, TenantId};
use kuzet_query::Query;
use kuzet_store::{Normalize, StoreError};

/// The most events one page returns.
pub const MAX_PAGE: usize = 10_000;
/// The default page.
pub const DEFAULT_PAGE: usize = 100;
/// How long before its `@timestamp` an event may have been received and still be found by a scan: segments that
/// closed more than this before the range starts are not read. An event whose sender's clock ran further ahead is
/// flagged with a clock-skew issue when parsed, and found by a range that starts this much earlier.
pub const RECEIVE_MARGIN: SignedDuration = SignedDuration::from_hours(24);

/// One search.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: Query,
    /// `@timestamp` at or after.
    pub from: Timestamp,
    /// `@timestamp` before.
    pub to: Timestamp,
    pub size: usize,
    pub order: Order,
    /// Continue after this event (the previous page's `next`).
    pub after: Option<Key>,
    /// Also count the matches of the whole range per this interval of `@timestamp`.
    pub histogram: Option<SignedDuration>,
    /// Also the most frequent values (this many) and the distinct count of these fields over every match.
    pub values: Vec<(String, usize)>,
}

/// What a search answers: the page, and the histogram when asked.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub page: Page,
    pub histogram: Option<kuzet_index::Histogram>,
    pub values: Vec<kuzet_index::FieldValues>,
}

/// Runs `request` over `tenants` (already checked against the caller's scope): through the index when there is
/// one, else by scanning the archive.
pub fn search(
    archive_dir: &Path,
    index: Option<&IndexSearcher>,
    tenants: &[TenantId],
    normalizer: &Normalize,
    request: &SearchRequest,
) -> Result<Answer, StoreError> {
    let Some(index) = index else {
        return scan(archive_dir, tenants, normalizer, request);
    };
    let unusable = |e: kuzet_index::IndexError| StoreError::Corrupt {
        path: index.dir().to_path_buf(),
        detail: e.to_string(),
    };
    let asked = kuzet_index::Request {
        query: &request.query,
        tenants,
        from: request.from,
        to: request.to,
        size: request.size.clamp(1, MAX_PAGE),
        order: request.order,
        after: request.after.clone(),
    };
    let mut fetch = |tenant: &TenantId, positions: &[u64]| {
        kuzet_store::read_at(archive_dir, tenant, positions, normalizer).map_err(|e| e.to_string())
    };
    let page = index.search(&asked, &mut fetch).map_err(unusable)?;
    let histogram = request
        .histogram
        .map(|interval| {
            index.histogram(&request.query, tenants, request.from, request.to, interval)
        })
        .transpose()
        .map_err(unusable)?;
    let values = request
        .values
        .iter()
        .map(|(field, size)| {
            index.values(
                &request.query,
                tenants,
                request.from,
                request.to,
                field,
                *size,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(unusable)?;
    Ok(Answer {
        page,
        histogram,
        values,
    })
}

/// A heap entry ordered so that the heap's top is the entry to drop first.
struct Ranked {
    key: Key,
    order: Order,
    event: Event,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    /// Greatest = last in the result order (dropped first when the page is full).
    fn cmp(&self, other: &Self) -> Ordering {
        match self.order {
            Order::Newest => other.key.cmp(&self.key),
            Order::Oldest => self.key.cmp(&other.key),
        }
    }
}

/// Answers `request` by reading every event of the range from the archive (the reference the index is tested
/// against, and the answer where no index exists).
pub fn scan(
    archive_dir: &Path,
    tenants: &[TenantId],
    normalizer: &Normalize,
    request: &SearchRequest,
) -> Result<Answer, StoreError> {
    let size = request.size.clamp(1, MAX_PAGE);
    // Counted as the index counts them.
    let mut buckets = request
        .histogram
        .map(|interval| kuzet_index::Buckets::new(request.from, request.to, interval));
    let mut page = Page {
        total_exact: true,
        ..Page::default()
    };
    // One more than the page, to know whether a next page exists.
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(size + 1);
    // Per asked field: each value's count, each value once per event, lowercased as the index keeps them.
    let mut tallies: Vec<std::collections::HashMap<String, u64>> =
        vec![Default::default(); request.values.len()];
    let since = request
        .from
        .checked_sub(RECEIVE_MARGIN)
        .unwrap_or(Timestamp::MIN);
    for tenant in tenants {
        if !archive_dir.join(tenant.as_str()).is_dir() {
            continue;
        }
        let dir = archive_dir.join(tenant.as_str());
        for record in kuzet_store::read_records_since(archive_dir, tenant, since) {
            let record = record?;
            page.read += 1;
            let corrupt = |detail: String| StoreError::Corrupt {
                path: dir.clone(),
                detail,
            };
            let position = record.fields().map_err(corrupt)?.record_index;
            let event = record.event(&**normalizer).map_err(corrupt)?;
            if event.timestamp < request.from
                || event.timestamp >= request.to
                || !request.query.matches(&event)
            {
                continue;
            }
            page.total += 1;
            if let Some(buckets) = &mut buckets {
                buckets.add(event.timestamp.as_microsecond());
            }
            for ((field, _), tally) in request.values.iter().zip(&mut tallies) {
                let values: std::collections::BTreeSet<String> =
                    kuzet_query::field_values(&event, field)
                        .into_iter()
                        .map(|v| v.to_lowercase())
                        .collect();
                for value in values {
                    *tally.entry(value).or_default() += 1;
                }
            }
            let ranked = Ranked {
                key: Key::of(&event, position),
                order: request.order,
                event,
            };
            if request
                .after
                .as_ref()
                .is_some_and(|cursor| !ranked.key.after(cursor, request.order))
            {
                continue;
            }
            if heap.len() <= size {
                heap.push(ranked);
            } else if heap.peek().is_some_and(|last| ranked < *last) {
                heap.pop();
                heap.push(ranked);
            }
        }
    }
    let mut ranked = heap.into_sorted_vec();
    if ranked.len() > size {
        ranked.truncate(size);
        page.next = ranked.last().map(|r| r.key.clone());
    }
    page.events = ranked.into_iter().map(|r| (r.key, r.event)).collect();
    let histogram = buckets.map(|b| b.finish(true));
    let values = request
        .values
        .iter()
        .zip(tallies)
        .map(|((field, size), tally)| {
            let distinct = tally.len() as u64;
            kuzet_index::FieldValues {
                field: field.clone(),
                top: kuzet_index::most_frequent(tally, *size),
                distinct,
                distinct_exact: true,
                exact: true,
            }
        })
        .collect();
    Ok(Answer {
        page,
        histogram,
        values,
    })
}

/// The body of `POST /api/v1/search`.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchBody {
    #[serde(default)]
    query: String,
    /// RFC 3339; default: `to` minus 24 hours.
    from: Option<String>,
    /// RFC 3339; default: now.
    to: Option<String>,
    size: Option<usize>,
    /// `newest` (default) or `oldest`.
    order: Option<String>,
    cursor: Option<String>,
    /// Default: every tenant the caller reaches.
    tenants: Option<Vec<String>>,
    /// Counts per interval of `@timestamp` over the range: `"auto"` (about 60 buckets) or a duration such as
    /// `"5m"`, `"1h"`, `"1d"`.
    histogram: Option<String>,
    /// Also the field list of the sidebar: every field of the newest (or oldest) matches, up to
    /// [`FIELD_SAMPLE`], with its type, how many of them hold it and its top values.
    #[serde(default)]
    fields: bool,
    /// Search the temporary index `kuzet rehydrate` built under this name (a period beyond the hot window).
    rehydrated: Option<String>,
    /// Also the most frequent values and the distinct count of these keyword fields over every match (at most
    /// [`MAX_VALUE_FIELDS`]).
    #[serde(default)]
    values: Vec<ValuesAsked>,
}

/// One field whose values to count.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValuesAsked {
    field: String,
    /// How many of the most frequent values (default 10, at most 100).
    size: Option<usize>,
}

/// The most fields one search counts values of.
pub const MAX_VALUE_FIELDS: usize = 10;

/// The default time range: the last 24 hours.
pub const DEFAULT_RANGE: SignedDuration = SignedDuration::from_hours(24);

impl SearchBody {
    /// Checks the body into a request, naming the field that is wrong.
    fn request(&self, now: Timestamp) -> Result<SearchRequest, crate::ApiError> {
        use crate::ApiError;
        let query = kuzet_query::parse(&self.query)
            .map_err(|e| ApiError::bad_request(format!("{e}\n{}", e.pointer(&self.query))))?;
        let time = |name: &str, value: &Option<String>| -> Result<Option<Timestamp>, ApiError> {
            value
                .as_deref()
                .map(|v| {
                    v.parse::<Timestamp>().map_err(|e| {
                        ApiError::bad_request(format!(
                            "{name} `{v}`: expected an RFC 3339 time such as 2026-12-01T00:00:00Z ({e})"
                        ))
                    })
                })
                .transpose()
        };
        let to = time("to", &self.to)?.unwrap_or(now);
        let from = time("from", &self.from)?
            .unwrap_or_else(|| to.checked_sub(DEFAULT_RANGE).unwrap_or(Timestamp::MIN));
        if from >= to {
            return Err(ApiError::bad_request(format!(
                "from `{from}` is not before to `{to}`"
            )));
        }
        let size = self.size.unwrap_or(DEFAULT_PAGE);
        if size == 0 || size > MAX_PAGE {
            return Err(ApiError::bad_request(format!(
                "size {size}: expected 1 to {MAX_PAGE} (page on with `cursor`)"
            )));
        }
        let order = match self.order.as_deref() {
            None => Order::Newest,
            Some(o) => Order::parse(o).ok_or_else(|| {
                ApiError::bad_request(format!("order `{o}`: expected `newest` or `oldest`"))
            })?,
        };
        let after = self
            .cursor
            .as_deref()
            .map(Key::parse)
            .transpose()
            .map_err(ApiError::bad_request)?;
        let histogram = match self.histogram.as_deref() {
            None => None,
            Some("auto") => Some(kuzet_index::auto_interval(from, to, 60)),
            Some(text) => {
                let interval = parse_interval(text).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "histogram `{text}`: expected `auto` or a duration such as 30s, 5m, 1h, 1d"
                    ))
                })?;
                let buckets = to.duration_since(from).as_secs() / interval.as_secs().max(1);
                if buckets > kuzet_index::MAX_BUCKETS as i64 {
                    return Err(ApiError::bad_request(format!(
                        "histogram `{text}`: {buckets} buckets over the range, at most {}",
                        kuzet_index::MAX_BUCKETS
                    )));
                }
                Some(interval)
            }
        };
        if self.values.len() > MAX_VALUE_FIELDS {
            return Err(ApiError::bad_request(format!(
                "values: {} fields, at most {MAX_VALUE_FIELDS}",
                self.values.len()
            )));
        }
        let mut values = Vec::with_capacity(self.values.len());
        for asked in &self.values {
            kuzet_index::check_values_field(&asked.field).map_err(ApiError::bad_request)?;
            let size = asked.size.unwrap_or(10);
            if size == 0 || size > 100 {
                return Err(ApiError::bad_request(format!(
                    "values of `{}`: size {size}, expected 1 to 100",
                    asked.field
                )));
            }
            values.push((asked.field.clone(), size));
        }
        Ok(SearchRequest {
            query,
            from,
            to,
            size,
            order,
            after,
            histogram,
            values,
        })
    }
}

/// Events the field list of the sidebar is computed from.
pub const FIELD_SAMPLE: usize = 500;
/// Top values shown per field.
const TOP_VALUES: usize = 5;

/// The fields of `events` (a sample of matches): name, type, how many events hold it, its most frequent values
/// (ties by value), ordered by name. Types: `date`, `text`, `ip`, `number`, `boolean` or `keyword`.
pub fn field_list(events: &[(Key, Event)]) -> FieldList {
    use std::collections::{BTreeMap, HashMap};
    struct Stat {
        kind: &'static str,
        events: u64,
        values: HashMap<String, u64>,
    }
    let mut stats: BTreeMap<&str, Stat> = BTreeMap::new();
    for (_, event) in events {
        for (name, value) in &event.fields {
            let kind = field_kind(name, value);
            let stat = stats.entry(name.as_str()).or_insert_with(|| Stat {
                kind,
                events: 0,
                values: HashMap::new(),
            });
            stat.events += 1;
            for text in kuzet_query::field_values(event, name) {
                // Long texts (messages) are not values anyone picks from a list.
                if text.chars().count() <= 256 {
                    *stat.values.entry(text.into_owned()).or_default() += 1;
                }
            }
        }
    }
    FieldList {
        sample: events.len() as u64,
        fields: stats
            .into_iter()
            .map(|(name, stat)| {
                let top = kuzet_index::most_frequent(stat.values, TOP_VALUES);
                FieldStat {
                    name: name.to_owned(),
                    kind: stat.kind,
                    count: stat.events,
                    top: top
                        .into_iter()
                        .map(|(value, count)| ValueCount { value, count })
                        .collect(),
                }
            })
            .collect(),
    }
}

/// The field list of the sidebar: the fields of a sample of matches.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct FieldList {
    /// How many matches the list is computed from (at most [`FIELD_SAMPLE`]).
    pub sample: u64,
    pub fields: Vec<FieldStat>,
}

/// One field of the sample: its type, how many events hold it, its most frequent values.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct FieldStat {
    pub name: String,
    /// `date`, `text`, `ip`, `number`, `boolean` or `keyword`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub count: u64,
    pub top: Vec<ValueCount>,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// What `POST /api/v1/search` answers.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct SearchAnswer {
    /// Events matching in the whole range; an upper bound when `total_exact` is false.
    total: u64,
    total_exact: bool,
    /// The page, as ECS documents.
    events: Vec<serde_json::Value>,
    /// The cursor of the next page (`cursor` of the next request), when there is one.
    next: Option<String>,
    /// Events read from the archive to answer.
    read: u64,
    /// Whether the search index answered (else the archive was scanned).
    index: bool,
    histogram: Option<HistogramView>,
    fields: Option<FieldList>,
    /// The values asked for, in the order asked.
    values: Vec<ValuesView>,
    took_ms: u64,
}

/// A field's most frequent values over every match (keywords lowercased), and how many different ones.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct ValuesView {
    field: String,
    top: Vec<ValueCount>,
    distinct: u64,
    /// False when `distinct` is an estimate (more than a million values; about 1 % off).
    distinct_exact: bool,
    /// False when the counts are of a superset of the matches (see `total_exact`) or past a million values.
    exact: bool,
}

/// Counts of matches per interval of `@timestamp`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct HistogramView {
    interval_seconds: u64,
    /// False when the counts are upper bounds (a query the index answers with a superset).
    exact: bool,
    buckets: Vec<BucketView>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct BucketView {
    /// RFC 3339: the bucket's first instant.
    start: String,
    count: u64,
}

fn field_kind(name: &str, value: &kuzet_model::Value) -> &'static str {
    use kuzet_model::Value;
    if name.ends_with(".ingested") || name.ends_with(".created") || name.ends_with("timestamp") {
        return "date";
    }
    if kuzet_query::TEXT_FIELDS.contains(&name) {
        return "text";
    }
    match value {
        Value::Int(_) | Value::Float(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Str(s) if s.parse::<std::net::IpAddr>().is_ok() => "ip",
        Value::Array(items) => items
            .first()
            .map_or("keyword", |first| field_kind(name, first)),
        Value::Str(_) => "keyword",
    }
}

/// `30s`, `5m`, `1h`, `1d`: a whole number of seconds, minutes, hours or days, at least one second.
fn parse_interval(text: &str) -> Option<SignedDuration> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    };
    Some(SignedDuration::from_secs(n.checked_mul(seconds)?))
}

/// The tenants a search covers: those named (each must be in the caller's scope: another organization's tenant is
/// as absent as one that does not exist), or every tenant of the archive the caller reaches.
fn chosen_tenants(
    state: &crate::state::ApiState,
    scope: &kuzet_model::access::Scope,
    names: Option<&[String]>,
) -> Result<Vec<TenantId>, crate::ApiError> {
    use crate::ApiError;
    let Some(names) = names else {
        return crate::content::archive_tenants(state, scope);
    };
    let mut chosen = Vec::with_capacity(names.len());
    for name in names {
        let tenant = TenantId::new(name.as_str())
            .map_err(|e| ApiError::bad_request(format!("tenants: {e}")))?;
        if tenant.is_reserved() || !scope.permits(&tenant) {
            return Err(ApiError::not_found(format!("tenant `{tenant}`: not found")));
        }
        chosen.push(tenant);
    }
    Ok(chosen)
}

/// The index a search asks: the hot index, or the rehydrated one named.
fn index_for(
    state: &crate::state::ApiState,
    rehydrated: Option<&str>,
) -> Result<Option<IndexSearcher>, crate::ApiError> {
    use crate::ApiError;
    let Some(name) = rehydrated else {
        return Ok(state.inner.index.clone());
    };
    let data_dir = state
        .inner
        .archive_dir
        .parent()
        .unwrap_or(&state.inner.archive_dir);
    let dir = kuzet_index::rehydrated_dir(data_dir, name)
        .map_err(|e| ApiError::bad_request(format!("rehydrated: {e}")))?;
    if !dir.is_dir() {
        return Err(ApiError::not_found(format!(
            "rehydrated index `{name}`: not found (an operator makes one with kuzet rehydrate)"
        )));
    }
    Ok(Some(IndexSearcher::open(dir)))
}

/// The body of `POST /api/v1/search/export`: a search's query, range, order and tenants, and the format.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportBody {
    #[serde(default)]
    query: String,
    from: Option<String>,
    to: Option<String>,
    order: Option<String>,
    tenants: Option<Vec<String>>,
    rehydrated: Option<String>,
    /// `ndjson` (default: one ECS event a line) or `csv`.
    format: Option<String>,
    /// The CSV columns (ECS field names); default [`CSV_COLUMNS`].
    columns: Option<Vec<String>>,
}

/// The default columns of a CSV export.
pub const CSV_COLUMNS: &[&str] = &[
    "@timestamp",
    "organization.id",
    "host.name",
    "user.name",
    "source.ip",
    "destination.ip",
    "event.code",
    "event.action",
    "event.outcome",
    "message",
];

/// One CSV cell (RFC 4180): quoted when it holds a quote, comma or line break; a cell a spreadsheet would read as
/// a formula (`=`, `+`, `-`, `@`, tab, carriage return first) is prefixed with `'`.
fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains(['"', ',', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// `POST /api/v1/search/export`: every match of the range, streamed page after page in the asked order, as NDJSON
/// or CSV. One audit record names the query.
pub(crate) async fn export_route(
    axum::extract::State(state): axum::extract::State<crate::state::ApiState>,
    axum::Extension(a): axum::Extension<crate::routes::Authed>,
    json: Result<axum::Json<ExportBody>, axum::extract::rejection::JsonRejection>,
) -> Result<axum::response::Response, crate::ApiError> {
    use crate::ApiError;
    let body = crate::auth::body(json)?;
    let csv = match body.format.as_deref() {
        None | Some("ndjson") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format `{other}`: expected `ndjson` or `csv`"
            )));
        }
    };
    let columns: Vec<String> = match &body.columns {
        Some(c) if c.is_empty() || c.len() > 200 => {
            return Err(ApiError::bad_request(
                "columns: expected 1 to 200 field names",
            ));
        }
        Some(c) => c.clone(),
        None => CSV_COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
    };
    let search_body = SearchBody {
        query: body.query.clone(),
        from: body.from.clone(),
        to: body.to.clone(),
        size: Some(MAX_PAGE),
        order: body.order.clone(),
        ..SearchBody::default()
    };
    let request = search_body.request((state.inner.clock)())?;
    let tenants = chosen_tenants(&state, a.scope()?, body.tenants.as_deref())?;
    let index = index_for(&state, body.rehydrated.as_deref())?;
    let query_text = request.query.to_string();
    let dir = state.inner.archive_dir.clone();
    let normalizer = state.inner.normalizer.clone();
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(16);
    let searched = tenants.clone();
    let header_columns = columns.clone();
    tokio::task::spawn_blocking(move || {
        let mut request = request;
        let mut chunk = Vec::with_capacity(64 << 10);
        if csv {
            let header: Vec<String> = header_columns.iter().map(|c| csv_cell(c)).collect();
            chunk.extend_from_slice(header.join(",").as_bytes());
            chunk.extend_from_slice(b"\r\n");
        }
        loop {
            let answer = match search(&dir, index.as_ref(), &searched, &normalizer, &request) {
                Ok(a) => a,
                Err(e) => {
                    let _ = sender.blocking_send(Err(std::io::Error::other(e.to_string())));
                    return;
                }
            };
            for (_, event) in &answer.page.events {
                if csv {
                    let row: Vec<String> = columns
                        .iter()
                        .map(|c| csv_cell(&kuzet_query::field_values(event, c).join(" ")))
                        .collect();
                    chunk.extend_from_slice(row.join(",").as_bytes());
                    chunk.extend_from_slice(b"\r\n");
                } else if serde_json::to_writer(&mut chunk, &event.to_ecs_json()).is_ok() {
                    chunk.push(b'\n');
                }
                if chunk.len() >= 64 << 10
                    && sender
                        .blocking_send(Ok(std::mem::take(&mut chunk).into()))
                        .is_err()
                {
                    return;
                }
            }
            match answer.page.next {
                Some(next) => request.after = Some(next),
                None => break,
            }
        }
        if !chunk.is_empty() {
            let _ = sender.blocking_send(Ok(chunk.into()));
        }
    });
    let stream = futures::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|item| (item, r))
    });
    let single = (tenants.len() == 1).then(|| tenants[0].clone());
    let format = if csv { "csv" } else { "ndjson" };
    Ok(crate::auth::noted(
        (
            [(
                axum::http::header::CONTENT_TYPE,
                if csv {
                    "text/csv; charset=utf-8"
                } else {
                    "application/x-ndjson"
                },
            )],
            axum::body::Body::from_stream(stream),
        ),
        crate::routes::AuditNote {
            tenant: single,
            object: Some("search".into()),
            detail: Some(format!(
                "export of {query_text} over {} tenant(s) as {format}",
                tenants.len()
            )),
            ..crate::routes::AuditNote::default()
        },
    ))
}

/// `POST /api/v1/search`.
pub(crate) async fn route(
    axum::extract::State(state): axum::extract::State<crate::state::ApiState>,
    axum::Extension(a): axum::Extension<crate::routes::Authed>,
    json: Result<axum::Json<SearchBody>, axum::extract::rejection::JsonRejection>,
) -> Result<axum::response::Response, crate::ApiError> {
    use crate::ApiError;
    let body = crate::auth::body(json)?;
    let request = body.request((state.inner.clock)())?;
    let tenants = chosen_tenants(&state, a.scope()?, body.tenants.as_deref())?;
    let started = std::time::Instant::now();
    let dir = state.inner.archive_dir.clone();
    let normalizer = state.inner.normalizer.clone();
    let searched = tenants.clone();
    let query_text = request.query.to_string();
    let index = index_for(&state, body.rehydrated.as_deref())?;
    let answered_by_index = index.is_some();
    let with_fields = body.fields;
    let (answer, fields) = crate::content::blocking(&state, move || {
        let failed = |e| ApiError::internal("search", e);
        let answer =
            search(&dir, index.as_ref(), &searched, &normalizer, &request).map_err(failed)?;
        if !with_fields {
            return Ok((answer, None));
        }
        // The sample is the first matches of the range in the asked order, whatever page this is.
        let fields = if request.after.is_none() && request.size >= FIELD_SAMPLE {
            field_list(&answer.page.events[..answer.page.events.len().min(FIELD_SAMPLE)])
        } else {
            let sample = SearchRequest {
                size: FIELD_SAMPLE,
                after: None,
                histogram: None,
                values: Vec::new(),
                ..request.clone()
            };
            let sampled =
                search(&dir, index.as_ref(), &searched, &normalizer, &sample).map_err(failed)?;
            field_list(&sampled.page.events)
        };
        Ok((answer, Some(fields)))
    })
    .await?;
    let page = answer.page;
    let answer_values = answer.values;
    let histogram = answer.histogram.map(|h| HistogramView {
        interval_seconds: h.interval.as_secs().unsigned_abs(),
        exact: h.exact,
        buckets: h
            .buckets
            .iter()
            .map(|(start, count)| BucketView {
                start: start.to_string(),
                count: *count,
            })
            .collect(),
    });
    let single = (tenants.len() == 1).then(|| tenants[0].clone());
    Ok(crate::auth::noted(
        axum::Json(SearchAnswer {
            total: page.total,
            total_exact: page.total_exact,
            events: page.events.iter().map(|(_, e)| e.to_ecs_json()).collect(),
            next: page.next.map(|c| c.to_string()),
            read: page.read,
            index: answered_by_index,
            histogram,
            fields,
            values: answer_values
                .into_iter()
                .map(|v| ValuesView {
                    field: v.field,
                    top: v
                        .top
                        .into_iter()
                        .map(|(value, count)| ValueCount { value, count })
                        .collect(),
                    distinct: v.distinct,
                    distinct_exact: v.distinct_exact,
                    exact: v.exact,
                })
                .collect(),
            took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }),
        crate::routes::AuditNote {
            tenant: single,
            object: Some("search".into()),
            detail: Some(format!(
                "{query_text} over {} tenant(s): {} match(es)",
                tenants.len(),
                page.total
            )),
            ..crate::routes::AuditNote::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@cmd"), "'@cmd");
    }

    #[test]
    fn intervals_are_whole_units() {
        assert_eq!(parse_interval("30s"), Some(SignedDuration::from_secs(30)));
        assert_eq!(parse_interval("5m"), Some(SignedDuration::from_mins(5)));
        assert_eq!(parse_interval("2d"), Some(SignedDuration::from_hours(48)));
        assert_eq!(parse_interval("0s"), None);
        assert_eq!(parse_interval("1w"), None);
        assert_eq!(parse_interval("h"), None);
    }
}
