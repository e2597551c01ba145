//! TAXII 2.1 (`docs/formats/taxii.md`): the media types, the filters of the objects and manifest endpoints, and
//! paging over a collection's objects in the order they were added. Pure: the server gathers the objects, this
//! module picks the page.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::ExchangeError;
use crate::stix::{StixObject, timestamp};

/// The TAXII 2.1 media type, of every answer but errors of the transport.
pub const MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The STIX 2.1 media type a collection holds.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";
/// The most objects one page holds, whatever the client asks.
pub const MAX_PAGE: usize = 1000;

/// Whether an `Accept` header lets the server answer TAXII 2.1 (absent, a wildcard, JSON, or TAXII without a
/// version or at 2.1).
pub fn accepts(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return true;
    };
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(|p| p.trim().to_ascii_lowercase());
        let kind = parts.next().unwrap_or_default();
        let version = parts.find_map(|p| {
            p.strip_prefix("version=")
                .map(|v| v.trim_matches('"').to_owned())
        });
        match kind.as_str() {
            "*/*" | "application/*" | "application/json" => true,
            "application/taxii+json" => version.is_none_or(|v| v == "2.1"),
            _ => false,
        }
    })
}

/// Which versions of each object a request wants (`match[version]`). Kuzet keeps one version of each object,
/// so `first`, `last` and `all` all select it; a timestamp selects it when it is that version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Versions {
    #[default]
    Any,
    Exactly(Vec<String>),
}

/// The filters and paging of a request to the objects or manifest endpoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    pub added_after: Option<Timestamp>,
    pub limit: Option<usize>,
    /// Continue after this object: the `next` of the previous page.
    pub next: Option<(Timestamp, String)>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    versions: Versions,
    pub spec_versions: Vec<String>,
}

fn bad(parameter: &str, reason: impl std::fmt::Display) -> ExchangeError {
    ExchangeError::invalid(format!("taxii query parameter `{parameter}`"), reason)
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

impl Query {
    /// Reads the query parameters of a request (`added_after`, `limit`, `next`, `match[id|type|version|
    /// spec_version]`); any other is refused by name, as a value that does not read.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Query, ExchangeError> {
        let mut query = Query::default();
        for (key, value) in pairs {
            match key {
                "added_after" => {
                    query.added_after =
                        Some(value.parse().map_err(|e| {
                            bad(key, format_args!("`{value}` is not a timestamp: {e}"))
                        })?)
                }
                "limit" => {
                    let limit: usize = value.parse().ok().filter(|l| *l > 0).ok_or_else(|| {
                        bad(key, format_args!("`{value}` is not a positive number"))
                    })?;
                    query.limit = Some(limit);
                }
                "next" => {
                    query.next = Some(parse_next(value).ok_or_else(|| {
                        bad(
                            key,
                            format_args!("`{value}` is not a token this server gave"),
                        )
                    })?)
                }
                "match[id]" => query.ids.extend(list(value)),
                "match[type]" => query.types.extend(list(value)),
                "match[spec_version]" => query.spec_versions.extend(list(value)),
                "match[version]" => {
                    let mut exact = Vec::new();
                    for version in list(value) {
                        match version.as_str() {
                            "first" | "last" | "all" => {
                                query.versions = Versions::Any;
                                exact.clear();
                                break;
                            }
                            v => {
                                let at: Timestamp = v.parse().map_err(|e| {
                                    bad(
                                        key,
                                        format_args!(
                                            "`{v}` is not first, last, all or a timestamp: {e}"
                                        ),
                                    )
                                })?;
                                exact.push(timestamp(at));
                            }
                        }
                    }
                    if !exact.is_empty() {
                        query.versions = Versions::Exactly(exact);
                    }
                }
                other => {
                    return Err(bad(
                        other,
                        "expected added_after, limit, next or match[id|type|version|spec_version]",
                    ));
                }
            }
        }
        Ok(query)
    }

    fn wants(&self, object: &StixObject) -> bool {
        let spec = object
            .body
            .get("spec_version")
            .and_then(Value::as_str)
            .unwrap_or("2.1");
        // Times compare in milliseconds, the precision of the `date_added` this server writes.
        let added = object.added.as_millisecond();
        self.added_after
            .is_none_or(|after| added > after.as_millisecond())
            && self.next.as_ref().is_none_or(|(at, id)| {
                (added, object.id.as_str()) > (at.as_millisecond(), id.as_str())
            })
            && (self.ids.is_empty() || self.ids.contains(&object.id))
            && (self.types.is_empty() || self.types.iter().any(|t| t == object.kind()))
            && (self.spec_versions.is_empty() || self.spec_versions.iter().any(|s| s == spec))
            && match &self.versions {
                Versions::Any => true,
                Versions::Exactly(versions) => {
                    let version = object.version();
                    versions.iter().any(|v| same_instant(v, version))
                }
            }
    }
}

fn same_instant(a: &str, b: &str) -> bool {
    match (a.parse::<Timestamp>(), b.parse::<Timestamp>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn next_token(object: &StixObject) -> String {
    format!("{}_{}", object.added.as_millisecond(), object.id)
}

fn parse_next(token: &str) -> Option<(Timestamp, String)> {
    let (ms, id) = token.split_once('_')?;
    let at = Timestamp::from_millisecond(ms.parse().ok()?).ok()?;
    id.contains("--").then(|| (at, id.to_owned()))
}

/// One page of a collection's objects in the order they were added, and what its headers say.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<'a> {
    pub objects: Vec<&'a StixObject>,
    /// There is more after this page: ask again with `next`.
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-First` and `-Last`: when the first and the last object of the page were added.
    pub first_added: Option<Timestamp>,
    pub last_added: Option<Timestamp>,
}

impl Page<'_> {
    /// The `envelope` resource of the objects endpoint.
    pub fn envelope(&self) -> Value {
        let mut envelope = json!({"more": self.next.is_some()});
        if let Some(map) = envelope.as_object_mut() {
            if let Some(next) = &self.next {
                map.insert("next".into(), json!(next));
            }
            if !self.objects.is_empty() {
                let objects: Vec<&Value> = self.objects.iter().map(|o| &o.body).collect();
                map.insert("objects".into(), json!(objects));
            }
        }
        envelope
    }

    /// The `manifest` resource: each object's id, date added, version and media type.
    pub fn manifest(&self) -> Value {
        let mut manifest = json!({"more": self.next.is_some()});
        if let Some(map) = manifest.as_object_mut() {
            if let Some(next) = &self.next {
                map.insert("next".into(), json!(next));
            }
            if !self.objects.is_empty() {
                let records: Vec<Value> = self
                    .objects
                    .iter()
                    .map(|o| {
                        json!({
                            "id": o.id,
                            "date_added": timestamp(o.added),
                            "version": o.version(),
                            "media_type": STIX_MEDIA_TYPE,
                        })
                    })
                    .collect();
                map.insert("objects".into(), json!(records));
            }
        }
        manifest
    }
}

/// The page of `objects` a query asks for: sorted by when they were added (then id), filtered, at most `limit`
/// (and [`MAX_PAGE`]).
pub fn page<'a>(objects: &'a [StixObject], query: &Query) -> Page<'a> {
    let mut wanted: Vec<&StixObject> = objects.iter().filter(|o| query.wants(o)).collect();
    wanted
        .sort_by(|a, b| (a.added.as_millisecond(), &a.id).cmp(&(b.added.as_millisecond(), &b.id)));
    let limit = query.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE);
    let more = wanted.len() > limit;
    wanted.truncate(limit);
    Page {
        next: more.then(|| wanted.last().map(|o| next_token(o))).flatten(),
        first_added: wanted.first().map(|o| o.added),
        last_added: wanted.last().map(|o| o.added),
        objects: wanted,
    }
}

/// The `error` resource TAXII answers a refusal with.
pub fn error(title: &str, description: &str, http_status: u16) -> Value {
    json!({"title": title, "description": description, "http_status": http_status.to_string()})
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::stix::{Tlp, derived_id, identity};

    fn objects(n: usize) -> Vec<StixObject> {
        (0..n)
            .map(|i| {
                let at = Timestamp::from_second(1_800_000_000 + (i as i64 / 2)).expect("time");
                identity(&format!("org {i}"), "org", at, Tlp::Clear)
            })
            .collect()
    }

    fn query(pairs: &[(&str, &str)]) -> Query {
        Query::parse(pairs.iter().copied()).expect("query")
    }

    #[test]
    fn accept_headers() {
        assert!(accepts(None));
        assert!(accepts(Some("application/taxii+json;version=2.1")));
        assert!(accepts(Some("application/taxii+json")));
        assert!(accepts(Some("text/html, */*;q=0.1")));
        assert!(!accepts(Some("application/taxii+json;version=2.0")));
        assert!(!accepts(Some("text/html")));
    }

    #[test]
    fn bad_parameters_are_named() {
        let e = Query::parse([("limit", "0")]).expect_err("zero");
        assert!(e.to_string().contains("`limit`"), "{e}");
        let e = Query::parse([("added_after", "yesterday")]).expect_err("time");
        assert!(e.to_string().contains("`added_after`"), "{e}");
        let e = Query::parse([("match[colour]", "red")]).expect_err("unknown");
        assert!(e.to_string().contains("match[colour]"), "{e}");
        let e = Query::parse([("next", "42")]).expect_err("token");
        assert!(e.to_string().contains("`next`"), "{e}");
    }

    #[test]
    fn filters_select_by_id_type_version_and_time() {
        let all = objects(6);
        let id = all[3].id.clone();
        let by_id = page(&all, &query(&[("match[id]", &id)]));
        assert_eq!(by_id.objects.len(), 1);
        assert_eq!(
            page(&all, &query(&[("match[type]", "indicator")]))
                .objects
                .len(),
            0
        );
        assert_eq!(
            page(&all, &query(&[("match[type]", "identity,indicator")]))
                .objects
                .len(),
            6
        );
        let version = all[3].version().to_owned();
        let v = page(
            &all,
            &query(&[("match[version]", &version), ("match[id]", &id)]),
        );
        assert_eq!(v.objects.len(), 1);
        assert_eq!(
            page(&all, &query(&[("match[version]", "2001-01-01T00:00:00Z")]))
                .objects
                .len(),
            0
        );
        assert_eq!(
            page(&all, &query(&[("match[version]", "last")]))
                .objects
                .len(),
            6
        );
        let after = timestamp(all[1].added);
        let later = page(&all, &query(&[("added_after", &after)]));
        assert_eq!(later.objects.len(), 4);
        assert!(later.objects.iter().all(|o| o.added > all[1].added));
        assert_eq!(
            page(&all, &query(&[("match[spec_version]", "2.0")]))
                .objects
                .len(),
            0
        );
        assert_ne!(derived_id("identity", "org 1"), all[0].id);
    }

    proptest! {
        /// Paging with any limit visits every object once, in the order they were added, whatever ties.
        #[test]
        fn pages_visit_everything_once(n in 0usize..40, limit in 1usize..10) {
            let all = objects(n);
            let mut seen = Vec::new();
            let mut next: Option<String> = None;
            loop {
                let limit_text = limit.to_string();
                let mut pairs = vec![("limit", limit_text.as_str())];
                if let Some(token) = &next {
                    pairs.push(("next", token.as_str()));
                }
                let page = page(&all, &query(&pairs));
                prop_assert!(page.objects.len() <= limit);
                seen.extend(page.objects.iter().map(|o| (o.added, o.id.clone())));
                let envelope = page.envelope();
                prop_assert_eq!(envelope["more"].as_bool(), Some(page.next.is_some()));
                match page.next {
                    Some(token) => next = Some(token),
                    None => break,
                }
            }
            let mut expected: Vec<(Timestamp, String)> = all.iter().map(|o| (o.added, o.id.clone())).collect();
            expected.sort();
            prop_assert_eq!(seen, expected);
        }
    }
}
