//! Detection: Sigma rules compiled into one shared matcher that runs every rule on every event.
//!
//! Pure: no I/O, no clock. The caller reads rule files ([`RuleSet::add_yaml`]) and the pipeline that maps Sigma
//! logsources and field names to Kuzet's events ([`Pipeline`]); [`Engine::build`] compiles them once, reporting
//! every rule it cannot load by id with the reason, and [`Engine::matches`] names the rules an event matches.
//! [`Correlator`] runs Sigma correlation rules over those matches, with bounded state that survives a restart.
//! How and why: `docs/detection.md`.

mod anomaly;
mod compile;
mod correlate;
mod engine;
mod error;
mod indicators;
mod matcher;
mod pack;
mod pipeline;
mod rules;

pub use anomaly::{Anomaly, AnomalyConfig, AnomalyKind, AnomalyStats, BASELINE_FORMAT, Baselines};
pub use correlate::{
    CorrelationHit, CorrelationMeta, CorrelationStats, Correlator, Limits, STATE_FORMAT,
};
pub use engine::{Engine, EngineStats, SampleOutcome, Scratch, sample_event};
pub use error::{DetectError, Result};
pub use indicators::{
    Indicator, IndicatorHit, IndicatorKind, IndicatorSet, LoadedIndicators, Provenance,
    SharedIndicators,
};
pub use pack::{BUILTIN_RULES, builtin_rules};
pub use pipeline::{Condition, Logsource, PIPELINE_FORMAT, Pipeline, Variant};
pub use rules::{Level, ProblemKind, RuleMeta, RuleProblem, RuleSet, Samples};
