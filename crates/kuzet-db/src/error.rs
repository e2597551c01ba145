use thiserror::Error;

/// Errors of the relational store. Messages are lowercase and name the object.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database: unsupported url `{0}` (use sqlite://PATH or postgres://…)")]
    UnsupportedUrl(String),
    #[error("database migration {version} ({name}): {source}")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "database: schema version {found} is newer than this build knows ({known}); upgrade kuzet"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("{what}: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("{0}: not found")]
    NotFound(String),
    #[error("{0}: already exists")]
    Conflict(String),
    #[error("{object}: {reason}")]
    Invalid { object: String, reason: String },
    #[error("{0}")]
    Denied(#[from] kuzet_model::access::AccessDenied),
    #[error("stored {what} is malformed: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("randomness unavailable: {0}")]
    Randomness(String),
    #[error("password hashing: {0}")]
    Hashing(String),
}

impl DbError {
    pub(crate) fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
        move |source| DbError::Query { what, source }
    }

    /// Maps a unique-constraint violation to [`DbError::Conflict`] naming `object`, anything else to a query error.
    pub(crate) fn insert(
        what: &'static str,
        object: String,
    ) -> impl FnOnce(sqlx::Error) -> DbError {
        move |source| match &source {
            sqlx::Error::Database(e) if e.is_unique_violation() => DbError::Conflict(object),
            _ => DbError::Query { what, source },
        }
    }

    pub(crate) fn invalid(object: impl Into<String>, reason: impl Into<String>) -> DbError {
        DbError::Invalid {
            object: object.into(),
            reason: reason.into(),
        }
    }
}
