//! The API's one error shape: `{"error": {"code": "…", "message": "…"}}` with a stable code. Internals of a 5xx
//! are logged once and not shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kuzet_db::DbError;

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{context}: internal error (logged)"),
        )
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::NotFound(_) => Self::not_found(error.to_string()),
            DbError::Conflict(_) => Self::new(StatusCode::CONFLICT, "conflict", error.to_string()),
            DbError::Invalid { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                error.to_string(),
            ),
            DbError::Denied(_) => Self::forbidden(error.to_string()),
            other => Self::internal("database", other),
        }
    }
}

impl From<kuzet_model::ModelError> for ApiError {
    fn from(error: kuzet_model::ModelError) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            error.to_string(),
        )
    }
}

/// The message of an error answer, kept on the response for the audit record's detail.
#[derive(Debug, Clone)]
pub(crate) struct ErrorMessage(pub String);

/// What every failure answers: `{"error": {"code", "message"}}`.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "Error")]
pub(crate) struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct ErrorDetail<'a> {
    /// A stable word: `bad_request`, `unauthenticated`, `forbidden`, `not_found`, `invalid`, …
    code: &'a str,
    /// What is wrong, naming the object, in words.
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorMessage(self.message));
        response
    }
}
