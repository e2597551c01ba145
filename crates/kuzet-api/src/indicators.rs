//! The threat-intelligence indicators detection matches (`GET /api/v1/indicators`): each feed with its counts by
//! kind, what did not load and why, and the indicators themselves with their provenance, filtered by kind and
//! text.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use schemars::JsonSchema;
use serde::Serialize;

use crate::ApiError;
use crate::routes::Authed;
use crate::state::ApiState;

/// The most indicators one answer lists; `matched` counts them all.
const MAX_LISTED: usize = 1000;

#[derive(Serialize, JsonSchema)]
pub(crate) struct FeedView {
    feed: String,
    indicators: u32,
    /// Indicators by kind (`ip`, `domain`, `url`, `md5`, `sha1`, `sha256`, `email`).
    by_kind: BTreeMap<String, u32>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct ProblemView {
    /// The feed.
    origin: String,
    /// Where in it (a CSV line, a STIX id, a MISP attribute), when known.
    at: Option<String>,
    reason: String,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct IndicatorView {
    kind: &'static str,
    value: String,
    feed: String,
    /// The indicator's id in its feed (a STIX id, a MISP attribute, a CSV line).
    reference: String,
    description: Option<String>,
    tags: Vec<String>,
    #[schemars(with = "Option<String>")]
    valid_until: Option<jiff::Timestamp>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct IndicatorsView {
    /// Whether detection runs and loaded feeds (`[detection] indicators`).
    loaded: bool,
    total: u32,
    feeds: Vec<FeedView>,
    problems: Vec<ProblemView>,
    /// How many indicators the filter matched; at most 1000 are listed.
    matched: u32,
    indicators: Vec<IndicatorView>,
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    a.scope()?;
    for key in query.keys() {
        if !matches!(key.as_str(), "kind" | "q") {
            return Err(ApiError::bad_request(format!(
                "query parameter `{key}`: expected kind or q"
            )));
        }
    }
    let kind = query
        .get("kind")
        .map(String::as_str)
        .filter(|k| !k.is_empty());
    let text = query
        .get("q")
        .map(|q| q.trim().to_lowercase())
        .filter(|q| !q.is_empty());
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let Some(set) = state.inner.indicators.as_ref().map(|s| s.load()) else {
        return Ok(Json(IndicatorsView {
            loaded: false,
            total: 0,
            feeds: Vec::new(),
            problems: Vec::new(),
            matched: 0,
            indicators: Vec::new(),
        })
        .into_response());
    };
    let mut feeds: BTreeMap<&str, (u32, BTreeMap<String, u32>)> = BTreeMap::new();
    let mut matched = 0usize;
    let mut listed = Vec::new();
    for i in set.indicators() {
        let feed = feeds.entry(i.provenance.feed.as_str()).or_default();
        feed.0 += 1;
        *feed.1.entry(i.kind.as_str().to_owned()).or_default() += 1;
        let wanted = kind.is_none_or(|k| k == i.kind.as_str())
            && text.as_deref().is_none_or(|t| {
                i.value.contains(t)
                    || i.provenance
                        .description
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains(t))
            });
        if wanted {
            matched += 1;
            if listed.len() < MAX_LISTED {
                listed.push(IndicatorView {
                    kind: i.kind.as_str(),
                    value: i.value.clone(),
                    feed: i.provenance.feed.clone(),
                    reference: i.provenance.reference.clone(),
                    description: i.provenance.description.clone(),
                    tags: i.provenance.tags.clone(),
                    valid_until: i.provenance.valid_until,
                });
            }
        }
    }
    Ok(Json(IndicatorsView {
        loaded: true,
        total: count(set.len()),
        feeds: feeds
            .into_iter()
            .map(|(feed, (indicators, by_kind))| FeedView {
                feed: feed.to_owned(),
                indicators,
                by_kind,
            })
            .collect(),
        problems: set
            .problems()
            .iter()
            .map(|p| ProblemView {
                origin: p.origin.clone(),
                at: p.rule.clone(),
                reason: p.reason.clone(),
            })
            .collect(),
        matched: count(matched),
        indicators: listed,
    })
    .into_response())
}
