//! Event search (`POST /api/v1/search`, `kuzet search`): a query of the analyst language (`docs/query.md`) over
//! the sealed events of the tenants the caller reaches, in a time range on `@timestamp`, sorted, paged by cursor.
//!
//! This first version scans the archive — every event of the range is derived and evaluated with the query's
//! reference semantics, so results are exact — and reads only the segments that can hold the range (see
//! [`RECEIVE_MARGIN`]). The hot index (issue #4) will answer the same requests from an index.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use kuzet_model::{Event, EventId, TenantId};
use kuzet_query::Query;
use kuzet_store::{Normalize, StoreError};

/// The most events one page returns.
pub const MAX_PAGE: usize = 10_000;
/// The default page.
pub const DEFAULT_PAGE: usize = 100;
/// How long before its `@timestamp` an event may have been received and still be found: segments that closed
/// more than this before the range starts are not read. An event whose sender's clock ran further ahead is
/// flagged with a clock-skew issue when parsed, and found by a range that starts this much earlier.
pub const RECEIVE_MARGIN: SignedDuration = SignedDuration::from_hours(24);

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

/// Where a page ended: the sort key of its last event. Written as `<@timestamp>_<event id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub timestamp: Timestamp,
    pub id: EventId,
}

impl Cursor {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (time, id) = text
            .rsplit_once('_')
            .ok_or_else(|| format!("cursor `{text}`: expected <time>_<event id>"))?;
        Ok(Self {
            timestamp: time.parse().map_err(|e| format!("cursor `{text}`: {e}"))?,
            id: id.parse().map_err(|e| format!("cursor `{text}`: {e}"))?,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.timestamp, self.id)
    }
}

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
    pub after: Option<Cursor>,
}

/// One page of results.
#[derive(Debug, Clone, Default)]
pub struct SearchPage {
    /// Events matching in the whole range (all pages).
    pub total: u64,
    pub events: Vec<Event>,
    /// The cursor of the next page, when there is one.
    pub next: Option<Cursor>,
    /// Events read to answer.
    pub scanned: u64,
}

/// A heap entry ordered so that the heap's top is the entry to drop first.
struct Ranked {
    key: Cursor,
    order: Order,
    event: Event,
}

impl Ranked {
    /// Whether `self` comes after the cursor in the result order (so on a later page than the cursor's event).
    fn after(&self, cursor: &Cursor) -> bool {
        match self.order {
            Order::Newest => self.key < *cursor,
            Order::Oldest => self.key > *cursor,
        }
    }
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

/// Runs `request` over the archives of `tenants` (already checked against the caller's scope).
pub fn search(
    archive_dir: &Path,
    tenants: &[TenantId],
    normalizer: &Normalize,
    request: &SearchRequest,
) -> Result<SearchPage, StoreError> {
    let size = request.size.clamp(1, MAX_PAGE);
    let mut page = SearchPage::default();
    // One more than the page, to know whether a next page exists.
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(size + 1);
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
            page.scanned += 1;
            let event = record
                .event(&**normalizer)
                .map_err(|detail| StoreError::Corrupt {
                    path: dir.clone(),
                    detail,
                })?;
            if event.timestamp < request.from
                || event.timestamp >= request.to
                || !request.query.matches(&event)
            {
                continue;
            }
            page.total += 1;
            let ranked = Ranked {
                key: Cursor {
                    timestamp: event.timestamp,
                    id: event.id,
                },
                order: request.order,
                event,
            };
            if request.after.is_some_and(|cursor| !ranked.after(&cursor)) {
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
        page.next = ranked.last().map(|r| r.key);
    }
    page.events = ranked.into_iter().map(|r| r.event).collect();
    Ok(page)
}

/// The body of `POST /api/v1/search`.
#[derive(Debug, Default, serde::Deserialize)]
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
}

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
            .map(Cursor::parse)
            .transpose()
            .map_err(ApiError::bad_request)?;
        Ok(SearchRequest {
            query,
            from,
            to,
            size,
            order,
            after,
        })
    }
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
    let scope = a.scope()?;
    let reachable = crate::content::archive_tenants(&state, scope)?;
    let tenants = match &body.tenants {
        None => reachable,
        Some(names) => {
            let mut chosen = Vec::with_capacity(names.len());
            for name in names {
                let tenant = TenantId::new(name.as_str())
                    .map_err(|e| ApiError::bad_request(format!("tenants: {e}")))?;
                // Another organization's tenant is as absent as one that does not exist.
                if tenant.is_reserved() || !scope.permits(&tenant) {
                    return Err(ApiError::not_found(format!("tenant `{tenant}`: not found")));
                }
                chosen.push(tenant);
            }
            chosen
        }
    };
    let started = std::time::Instant::now();
    let dir = state.inner.archive_dir.clone();
    let normalizer = state.inner.normalizer.clone();
    let searched = tenants.clone();
    let query_text = request.query.to_string();
    let page = crate::content::blocking(&state, move || {
        search(&dir, &searched, &normalizer, &request).map_err(|e| ApiError::internal("archive", e))
    })
    .await?;
    let single = (tenants.len() == 1).then(|| tenants[0].clone());
    Ok(crate::auth::noted(
        axum::Json(serde_json::json!({
            "total": page.total,
            "events": page.events.iter().map(Event::to_ecs_json).collect::<Vec<_>>(),
            "next": page.next.map(|c| c.to_string()),
            "scanned": page.scanned,
            "took_ms": started.elapsed().as_millis() as u64,
        })),
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
