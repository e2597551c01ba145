//! The crate's one error type.

/// What went wrong loading a pipeline, a rule or correlation state. Rule problems found while building an
/// engine are not errors of the build: they are collected as [`crate::RuleProblem`]s so that one bad rule never
/// keeps the others from running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    #[error("sigma pipeline {name}: {reason}")]
    Pipeline { name: String, reason: String },
    #[error("correlation state: {reason}")]
    State { reason: String },
}

pub type Result<T, E = DetectError> = std::result::Result<T, E>;
