use thiserror::Error;

/// Errors of the incident logic: data files that are malformed or contradictory, and steps the rules refuse.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CasesError {
    #[error("calendar {source_name}: {reason}")]
    Calendar { source_name: String, reason: String },
    #[error("calendar: no data for {0}; add a file for that year (docs/formats/calendar.md)")]
    YearMissing(i16),
    #[error("obligation {0}: {1}")]
    Obligation(&'static str, String),
    #[error("{kind} {source_name}: {reason}")]
    Data {
        kind: &'static str,
        source_name: String,
        reason: String,
    },
    #[error("incident: {0}")]
    Incident(String),
    #[error("risk: {0}")]
    Risk(String),
    #[error("observable {kind} `{value}`: {reason}")]
    Observable {
        kind: String,
        value: String,
        reason: String,
    },
}
