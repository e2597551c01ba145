use thiserror::Error;

/// Errors of the model: only ever about malformed identifiers or configuration values.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    #[error("{kind} `{value}`: {reason}")]
    InvalidId {
        kind: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("event id `{0}`: not a 32-digit hexadecimal or hyphenated uuid")]
    InvalidEventId(String),
    #[error("facility class `{0}`: must be 1, 2 or 3")]
    InvalidFacilityClass(u8),
    #[error("criticality level {0}: must be 0 to 5")]
    InvalidCriticality(u8),
    #[error("permission `{0}`: unknown")]
    UnknownPermission(String),
    #[error(
        "sector `{0}`: unknown (expected energy, oil_gas, telecom, finance, transport, healthcare, government, water, industry, education, agriculture or other)"
    )]
    UnknownSector(String),
    #[error("role `{0}`: unknown")]
    UnknownRole(String),
    #[error("retention: {0}")]
    RetentionBelowFloor(String),
    #[error("role `{role}`: {reason}")]
    InvalidRole { role: String, reason: String },
}
