//! Calls into Kuzet's API in-process, as the person whose session cookie came with the page's request.

use axum::Router;
use axum::body::Body;
use axum::http::{Extensions, HeaderMap, Method, Request, StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

/// The session cookie the API sets at login (its name is part of the API's documented contract).
pub(crate) const SESSION_COOKIE: &str = "kuzet_session";

/// The largest API answer the console reads (lists are paged far below this).
const ANSWER_LIMIT: usize = 16 << 20;

/// An answer the API gave, or why the call failed, in the API's own words.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl Failure {
    fn inside(message: String) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "console".into(),
            message,
        }
    }

    /// Input the console itself found wrong, before asking the API.
    pub fn invalid(message: String) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid".into(),
            message,
        }
    }

    pub fn unauthenticated(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
    }
}

/// A successful answer: status, headers and body.
pub(crate) struct Reply {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, Failure> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Failure::inside(format!("the API's answer to {what} could not be read: {e}"))
        })
    }
}

/// One person's view of the API: their session (if any), the CSRF token to echo on changes, and the request's
/// extensions (the peer address the API throttles and audits by).
pub(crate) struct Api {
    router: Router,
    session: Option<String>,
    csrf: Option<String>,
    extensions: Extensions,
}

impl Api {
    pub fn new(router: Router, session: Option<String>, extensions: Extensions) -> Self {
        Self {
            router,
            session,
            csrf: None,
            extensions,
        }
    }

    /// Changes made through this view echo `csrf`, the token the person's page carried: the API checks it.
    pub fn with_csrf(mut self, csrf: Option<String>) -> Self {
        self.csrf = csrf;
        self
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Reply, Failure> {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(session) = &self.session {
            request = request.header(header::COOKIE, format!("{SESSION_COOKIE}={session}"));
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let mut request = request
            .body(body)
            .map_err(|e| Failure::inside(format!("request to {path}: {e}")))?;
        *request.extensions_mut() = self.extensions.clone();
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), ANSWER_LIMIT)
            .await
            .map_err(|e| Failure::inside(format!("answer of {path}: {e}")))?;
        if status.is_success() {
            return Ok(Reply {
                headers,
                body: bytes,
            });
        }
        let error: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        Err(Failure {
            status,
            code: error["error"]["code"].as_str().unwrap_or("").to_owned(),
            message: error["error"]["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    let text = String::from_utf8_lossy(&bytes);
                    let text: String = text.chars().take(300).collect();
                    format!("{path} answered {status}: {text}")
                }),
        })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        self.send(Method::GET, path, None).await?.json(path)
    }

    /// A change; its answer is returned as it came.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Reply, Failure> {
        self.send(Method::POST, path, Some(body)).await
    }
}
