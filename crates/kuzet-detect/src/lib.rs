//! Detection: Sigma rules compiled into one shared matcher that runs every rule on every event.
//!
//! Pure: no I/O, no clock. The caller reads rule files ([`RuleSet::add_yaml`]) and the pipeline that maps Sigma
//! logsources and field names to Kuzet's events ([`Pipeline`]); [`Engine::build`] compiles them once, reporting
//! every rule it cannot load by id with the reason, and [`Engine::matches`] names the rules an event matches.
//! How and why: `docs/detection.md`.

mod compile;
mod engine;
mod error;
mod matcher;
mod pipeline;
mod rules;

pub use engine::{Engine, EngineStats, SampleOutcome, Scratch, sample_event};
pub use error::{DetectError, Result};
pub use pipeline::{Condition, Logsource, PIPELINE_FORMAT, Pipeline, Variant};
pub use rules::{Level, ProblemKind, RuleMeta, RuleProblem, RuleSet, Samples};
