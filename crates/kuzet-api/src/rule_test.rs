//! `POST /api/v1/rules/test`: a Sigma rule tried against sample events before anyone imports it — whether it loads
//! (each problem with its reason), which of the given events it matches, and how its own `match`/`no_match`
//! samples fare. Compiled with the built-in pipeline; touches no tenant's data.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::advisories::invalid;
use crate::auth::body;
use crate::state::ApiState;

/// The most YAML one test compiles.
const MAX_RULE_BYTES: usize = 64 << 10;
/// The most events one test evaluates.
const MAX_EVENTS: usize = 200;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleTest {
    /// Sigma YAML: one or more documents (detection rules, filters, correlations).
    rule: String,
    /// Events as ECS-shaped JSON documents (dotted or nested names), at most 200.
    #[serde(default)]
    events: Vec<serde_json::Value>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct RuleTested {
    /// The rules that loaded.
    rules: Vec<TestedRule>,
    /// What did not load, and why.
    problems: Vec<TestProblem>,
    /// For each event given, in order, the ids of the rules that matched it.
    events: Vec<Vec<String>>,
    /// The rules' own sample events: whether each did what it says.
    samples: Vec<TestedSample>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct TestedRule {
    id: String,
    title: String,
    level: &'static str,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct TestProblem {
    rule: Option<String>,
    /// `parse`, `logsource`, `compile` or `reference`.
    kind: &'static str,
    reason: String,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct TestedSample {
    rule: String,
    /// `true`: a `match` sample; `false`: a `no_match` one.
    expected: bool,
    index: usize,
    matched: bool,
}

pub(crate) async fn test(
    State(state): State<ApiState>,
    json: Result<Json<RuleTest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    if request.rule.len() > MAX_RULE_BYTES {
        return Err(invalid(format!(
            "rule: {} bytes; at most {MAX_RULE_BYTES} in one test",
            request.rule.len()
        )));
    }
    if request.events.len() > MAX_EVENTS {
        return Err(invalid(format!(
            "events: {} given; at most {MAX_EVENTS} in one test",
            request.events.len()
        )));
    }
    let now = state.now();
    // Compiling and matching is CPU work: off the async workers.
    let tested = tokio::task::spawn_blocking(move || {
        let mut set = kuzet_detect::RuleSet::new();
        set.add_yaml("test", &request.rule);
        let engine = kuzet_detect::Engine::build(&set, &kuzet_detect::Pipeline::builtin());
        let rules = engine.rules();
        let mut scratch = engine.scratch();
        let events = request
            .events
            .iter()
            .map(|document| {
                let event = kuzet_detect::sample_event(document, now);
                engine
                    .matches(&event, &mut scratch)
                    .iter()
                    .filter_map(|i| rules.get(*i as usize).map(|r| r.id.clone()))
                    .collect()
            })
            .collect();
        let samples = engine
            .test_samples(now)
            .into_iter()
            .map(|o| TestedSample {
                rule: rules
                    .get(o.rule as usize)
                    .map(|r| r.id.clone())
                    .unwrap_or_default(),
                expected: o.expected,
                index: o.index,
                matched: o.matched,
            })
            .collect();
        RuleTested {
            rules: rules
                .iter()
                .map(|r| TestedRule {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    level: r.level.as_str(),
                })
                .collect(),
            problems: set
                .problems()
                .iter()
                .chain(engine.problems())
                .map(|p| TestProblem {
                    rule: p.rule.clone(),
                    kind: p.kind.as_str(),
                    reason: p.reason.clone(),
                })
                .collect(),
            events,
            samples,
        }
    })
    .await
    .map_err(|e| ApiError::internal("rule test", e))?;
    Ok(Json(tested).into_response())
}
