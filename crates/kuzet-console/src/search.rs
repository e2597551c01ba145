//! The search page: the query bar with field completion, a time picker, the histogram drawn as SVG, results with
//! the field sidebar and its top values, exports; and one event with its original record and its seal proof.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Console;
use crate::i18n::Tr;
use crate::pages::{Chrome, Ctx, PageResult, fail, render, seg, signed};

/// Results per page.
const PAGE_SIZE: usize = 50;
/// Characters of an event's message shown in a result row.
const SUMMARY_CHARS: usize = 240;
/// The time ranges the picker offers, besides a custom one.
pub(crate) const RANGES: [&str; 5] = ["15m", "1h", "24h", "7d", "30d"];
/// Fields offered for completion before any result has shown its own.
const COMMON_FIELDS: &[&str] = &[
    "event.action",
    "event.outcome",
    "event.code",
    "event.category",
    "host.name",
    "host.ip",
    "source.ip",
    "source.port",
    "destination.ip",
    "destination.port",
    "user.name",
    "process.name",
    "process.command_line",
    "url.original",
    "http.response.status_code",
    "rule.name",
    "message",
    "log.level",
    "organization.id",
];

#[derive(Debug, Clone, Deserialize)]
struct Answer {
    total: u64,
    total_exact: bool,
    events: Vec<Value>,
    next: Option<String>,
    index: bool,
    histogram: Option<Histogram>,
    fields: Option<FieldList>,
    took_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
struct Histogram {
    interval_seconds: u64,
    exact: bool,
    buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Deserialize)]
struct Bucket {
    start: Timestamp,
    count: u64,
}

#[derive(Debug, Clone, Deserialize)]
struct FieldList {
    sample: u64,
    fields: Vec<FieldStat>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FieldStat {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u64,
    pub top: Vec<ValueCount>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// One bar of the histogram, in the SVG's coordinates (1000 × 100).
pub(crate) struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    pub label: String,
}

/// One result row.
pub(crate) struct Row {
    pub id: String,
    pub time: String,
    pub tenant: String,
    pub host: String,
    pub action: String,
    pub outcome: String,
    pub summary: String,
}

/// A field of the sidebar with the search each of its top values leads to.
pub(crate) struct SideField {
    pub name: String,
    pub kind: String,
    pub count: u64,
    pub top: Vec<(String, u64, String)>,
}

/// What the search asks: the query and the time range (a preset, or a custom one in Kazakhstan time).
#[derive(Debug, Clone)]
pub(crate) struct Asked {
    pub q: String,
    pub range: String,
    pub from: String,
    pub to: String,
}

impl Asked {
    fn from_query(query: &HashMap<String, String>) -> Self {
        let get = |k: &str| query.get(k).cloned().unwrap_or_default();
        let range = match query.get("range") {
            Some(r) if RANGES.contains(&r.as_str()) || r == "custom" => r.clone(),
            _ => "24h".to_owned(),
        };
        Asked {
            q: get("q"),
            range,
            from: get("from"),
            to: get("to"),
        }
    }

    /// The range as RFC 3339 instants, or what is wrong with the custom one.
    fn instants(&self, now: Timestamp) -> Result<(Timestamp, Timestamp), String> {
        if self.range != "custom" {
            let back = match self.range.as_str() {
                "15m" => SignedDuration::from_mins(15),
                "1h" => SignedDuration::from_hours(1),
                "7d" => SignedDuration::from_hours(24 * 7),
                "30d" => SignedDuration::from_hours(24 * 30),
                _ => SignedDuration::from_hours(24),
            };
            return Ok((now - back, now));
        }
        let from = from_kz_local(&self.from).ok_or_else(|| format!("from `{}`", self.from))?;
        let to = if self.to.is_empty() {
            now
        } else {
            from_kz_local(&self.to).ok_or_else(|| format!("to `{}`", self.to))?
        };
        Ok((from, to))
    }

    /// This search's page link with other parameters.
    fn link(&self, extra: &[(&str, &str)]) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        out.append_pair("q", &self.q)
            .append_pair("range", &self.range);
        if self.range == "custom" {
            out.append_pair("from", &self.from)
                .append_pair("to", &self.to);
        }
        for (k, v) in extra {
            out.append_pair(k, v);
        }
        format!("/console/search?{}", out.finish())
    }
}

/// A `datetime-local` value (`2026-12-07T10:30`) read as Kazakhstan time: UTC+5 since 2024-03-01, UTC+6 before
/// in Astana.
pub(crate) fn from_kz_local(text: &str) -> Option<Timestamp> {
    let civil: jiff::civil::DateTime = text.trim().parse().ok()?;
    let at = |hours: i8| jiff::tz::Offset::constant(hours).to_timestamp(civil).ok();
    let utc5 = at(5)?;
    if utc5.as_second() >= kuzet_model::time::UNIFIED_UTC5_SINCE_UNIX {
        Some(utc5)
    } else {
        at(6)
    }
}

/// An ECS document's fields as dotted names and display texts.
fn flatten(value: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, &name, out);
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Null => {}
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

fn row(tr: &Tr<'_>, doc: &Value) -> Row {
    let mut fields = Vec::new();
    flatten(doc, "", &mut fields);
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let time = get("@timestamp")
        .parse::<Timestamp>()
        .map(|t| tr.time_seconds(&t))
        .unwrap_or_default();
    let message = match get("message") {
        m if m.is_empty() => get("event.original"),
        m => m,
    };
    Row {
        id: get("event.id"),
        time,
        tenant: get("organization.id"),
        host: get("host.name"),
        action: get("event.action"),
        outcome: get("event.outcome"),
        summary: message.chars().take(SUMMARY_CHARS).collect(),
    }
}

fn bars(tr: &Tr<'_>, histogram: &Histogram) -> Vec<Bar> {
    let max = histogram
        .buckets
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(0)
        .max(1);
    let n = histogram.buckets.len().max(1) as f64;
    let width = 1000.0 / n;
    histogram
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let height = (b.count as f64 / max as f64) * 96.0;
            Bar {
                x: format!("{:.2}", i as f64 * width),
                y: format!("{:.2}", 100.0 - height),
                width: format!("{:.2}", (width - 1.0).max(0.5)),
                height: format!("{height:.2}"),
                label: format!("{} — {}", tr.time(&b.start), b.count),
            }
        })
        .collect()
}

/// A condition on one value, quoted as the query language reads it.
fn condition(field: &str, value: &str) -> String {
    format!(
        "{field}:\"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    asked: Asked,
    ranges: [&'static str; 5],
    error: Option<String>,
    searched: bool,
    total: u64,
    total_exact: bool,
    took_ms: u64,
    index: bool,
    interval_seconds: u64,
    histogram_exact: bool,
    bars: Vec<Bar>,
    rows: Vec<Row>,
    sample: u64,
    fields: Vec<SideField>,
    completion: String,
    next: Option<String>,
    export_csv: String,
    export_ndjson: String,
}

pub(crate) async fn search(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let s = signed(&console, &ctx, "search", "/console/search").await?;
    let asked = Asked::from_query(&query);
    let searched = query.contains_key("q");
    let mut page = SearchPage {
        tr: s.tr,
        c: s.chrome,
        ranges: RANGES,
        error: None,
        searched,
        total: 0,
        total_exact: true,
        took_ms: 0,
        index: false,
        interval_seconds: 0,
        histogram_exact: true,
        bars: Vec::new(),
        rows: Vec::new(),
        sample: 0,
        fields: Vec::new(),
        completion: COMMON_FIELDS.join(" "),
        next: None,
        export_csv: format!(
            "/console/search/export?{}",
            asked
                .link(&[("format", "csv")])
                .split_once('?')
                .map_or("", |p| p.1)
        ),
        export_ndjson: format!(
            "/console/search/export?{}",
            asked
                .link(&[("format", "ndjson")])
                .split_once('?')
                .map_or("", |p| p.1)
        ),
        asked: asked.clone(),
    };
    if searched {
        match asked.instants(Timestamp::now()) {
            Err(what) => page.error = Some(page.tr.with("search-bad-time", "what", &what)),
            Ok((from, to)) => {
                let mut body = json!({
                    "query": asked.q, "from": from.to_string(), "to": to.to_string(), "size": PAGE_SIZE,
                    "histogram": "auto", "fields": true,
                });
                if let Some(cursor) = query.get("cursor") {
                    body["cursor"] = json!(cursor);
                }
                match s
                    .api
                    .send(Method::POST, "/api/v1/search", Some(&body))
                    .await
                {
                    Ok(reply) => {
                        let answer: Answer = reply
                            .json("search")
                            .map_err(|f| fail(&console, ctx.lang, f))?;
                        page.total = answer.total;
                        page.total_exact = answer.total_exact;
                        page.took_ms = answer.took_ms;
                        page.index = answer.index;
                        if let Some(h) = &answer.histogram {
                            page.interval_seconds = h.interval_seconds;
                            page.histogram_exact = h.exact;
                            page.bars = bars(&page.tr, h);
                        }
                        page.rows = answer.events.iter().map(|e| row(&page.tr, e)).collect();
                        if let Some(list) = answer.fields {
                            page.sample = list.sample;
                            let mut names: Vec<&str> = COMMON_FIELDS.to_vec();
                            names.extend(list.fields.iter().map(|f| f.name.as_str()));
                            names.sort_unstable();
                            names.dedup();
                            page.completion = names.join(" ");
                            page.fields = list
                                .fields
                                .iter()
                                .map(|f| SideField {
                                    name: f.name.clone(),
                                    kind: f.kind.clone(),
                                    count: f.count,
                                    top: f
                                        .top
                                        .iter()
                                        .map(|v| {
                                            let narrowed = match asked.q.trim() {
                                                "" | "*" => condition(&f.name, &v.value),
                                                q => format!(
                                                    "({q}) AND {}",
                                                    condition(&f.name, &v.value)
                                                ),
                                            };
                                            let link = Asked {
                                                q: narrowed,
                                                ..asked.clone()
                                            }
                                            .link(&[]);
                                            (v.value.clone(), v.count, link)
                                        })
                                        .collect(),
                                })
                                .collect();
                        }
                        page.next = answer.next.map(|n| asked.link(&[("cursor", &n)]));
                    }
                    // A query the language cannot read is the person's to fix: shown beside the query bar.
                    Err(f)
                        if f.status == StatusCode::BAD_REQUEST
                            || f.status == StatusCode::UNPROCESSABLE_ENTITY =>
                    {
                        page.error = Some(f.message)
                    }
                    Err(f) => return Err(fail(&console, ctx.lang, f)),
                }
            }
        }
    }
    Ok(render(&page, StatusCode::OK))
}

/// The matches as a CSV or NDJSON download, from the API's export.
pub(crate) async fn export(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let s = signed(&console, &ctx, "search", "/console/search").await?;
    let asked = Asked::from_query(&query);
    let format = if query.get("format").map(String::as_str) == Some("csv") {
        "csv"
    } else {
        "ndjson"
    };
    let (from, to) = asked.instants(Timestamp::now()).map_err(|what| {
        fail(
            &console,
            ctx.lang,
            crate::api::Failure::invalid(format!("time range: {what}")),
        )
    })?;
    let body =
        json!({"query": asked.q, "from": from.to_string(), "to": to.to_string(), "format": format});
    let reply = s
        .api
        .send(Method::POST, "/api/v1/search/export", Some(&body))
        .await
        .map_err(|f| fail(&console, ctx.lang, f))?;
    let media = reply
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let name = format!(
        "kuzet-search.{}",
        if format == "csv" { "csv" } else { "ndjson" }
    );
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, media),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        reply.body,
    )
        .into_response())
}

#[derive(Debug, Clone, Deserialize)]
struct EventAnswer {
    event: kuzet_model::Event,
    proof: Value,
    #[serde(default)]
    assets: Vec<Value>,
}

#[derive(Template)]
#[template(path = "event.html")]
struct EventPage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    id: String,
    time: String,
    ingested: String,
    tenant: String,
    source: String,
    fields: Vec<(String, String)>,
    original: String,
    issues: Vec<String>,
    proof: String,
    segment: String,
    block: String,
    record: String,
    tree_size: String,
    /// The assets the event names (one table, as on the incident page).
    tables: Vec<crate::tables::Table>,
}

/// The person's view and the event with its proof, as the API answers them.
async fn sealed_event<'a>(
    console: &'a Console,
    ctx: &Ctx,
    id: &str,
) -> Result<(crate::pages::Signed<'a>, EventAnswer), crate::pages::Stop> {
    let here = format!("/console/events/{}", seg(id));
    let s = signed(console, ctx, "search", &here).await?;
    let answer = s
        .api
        .get(&format!("/api/v1/events/{}", seg(id)))
        .await
        .map_err(|f| fail(console, ctx.lang, f))?;
    Ok((s, answer))
}

pub(crate) async fn event(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    let (s, answer) = sealed_event(&console, &ctx, &id).await?;
    let e = &answer.event;
    let mut fields: Vec<(String, String)> = e
        .fields
        .iter()
        .map(|(name, value)| (name.to_owned(), value.to_string()))
        .collect();
    fields.sort();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    Ok(render(
        &EventPage {
            tr: s.tr,
            id: e.id.to_string(),
            time: s.tr.time_seconds(&e.timestamp),
            ingested: s.tr.time_seconds(&e.ingested),
            tenant: e.tenant.to_string(),
            source: e.source.to_string(),
            fields,
            original: e.original_lossy().into_owned(),
            issues: e
                .issues
                .iter()
                .map(|i| format!("{:?}: {}", i.code, i.message))
                .collect(),
            proof: serde_json::to_string_pretty(&answer.proof).unwrap_or_default(),
            segment: text(&answer.proof["segment"]),
            block: text(&answer.proof["block_index"]),
            record: text(&answer.proof["record_index"]),
            tree_size: text(&answer.proof["checkpoint"]["tree_size"]),
            tables: vec![crate::pages::assets_table(
                &s.tr,
                "event-assets",
                e.tenant.as_str(),
                &answer.assets,
            )],
            c: s.chrome,
        },
        StatusCode::OK,
    ))
}

/// The event's inclusion proof as a file, for `kuzet` or a third party to check offline.
pub(crate) async fn proof(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    let (_, answer) = sealed_event(&console, &ctx, &id).await?;
    let body = serde_json::to_vec_pretty(&answer.proof).unwrap_or_default();
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"proof-{}.json\"",
        answer.event.id
    ))
    .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_in_kazakhstan_time() {
        assert_eq!(
            from_kz_local("2026-12-07T10:30").unwrap().to_string(),
            "2026-12-07T05:30:00Z"
        );
        // Before the country moved to one zone (2024-03-01), Astana was UTC+6.
        assert_eq!(
            from_kz_local("2023-06-01T12:00").unwrap().to_string(),
            "2023-06-01T06:00:00Z"
        );
        assert!(from_kz_local("yesterday").is_none());
    }

    #[test]
    fn ranges_and_links() {
        let mut query = HashMap::new();
        query.insert("q".to_owned(), "user.name:\"a b\"".to_owned());
        query.insert("range".to_owned(), "bogus".to_owned());
        let asked = Asked::from_query(&query);
        assert_eq!(asked.range, "24h");
        let now: Timestamp = "2026-12-07T05:30:00Z".parse().unwrap();
        let (from, to) = asked.instants(now).unwrap();
        assert_eq!(to.duration_since(from).as_hours(), 24);
        assert_eq!(
            asked.link(&[]),
            "/console/search?q=user.name%3A%22a+b%22&range=24h"
        );
        let custom = Asked {
            range: "custom".into(),
            from: "nonsense".into(),
            ..asked
        };
        assert!(custom.instants(now).unwrap_err().contains("nonsense"));
    }

    #[test]
    fn values_are_quoted_for_the_query_language() {
        assert_eq!(
            condition("user.name", "a\"b\\c"),
            "user.name:\"a\\\"b\\\\c\""
        );
    }

    #[test]
    fn ecs_documents_flatten_to_dotted_names() {
        let mut out = Vec::new();
        flatten(
            &json!({"host": {"name": "web1"}, "n": 3, "x": null}),
            "",
            &mut out,
        );
        assert_eq!(
            out,
            [
                ("host.name".to_owned(), "web1".to_owned()),
                ("n".to_owned(), "3".to_owned())
            ]
        );
    }
}
