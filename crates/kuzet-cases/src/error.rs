use thiserror::Error;

/// Errors of the incident logic: calendar data that is malformed, missing or contradictory.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CasesError {
    #[error("calendar {source_name}: {reason}")]
    Calendar { source_name: String, reason: String },
    #[error("calendar: no data for {0}; add a file for that year (docs/formats/calendar.md)")]
    YearMissing(i16),
    #[error("obligation {0}: {1}")]
    Obligation(&'static str, String),
}
