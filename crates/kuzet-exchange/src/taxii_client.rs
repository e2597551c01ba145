//! A TAXII 2.1 client that reads a collection's objects (a MISP or OpenCTI TAXII server, NCCIS, another Kuzet),
//! page after page, into a STIX bundle detection loads as an indicator feed.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

use crate::ExchangeError;
use crate::taxii::MEDIA_TYPE;

/// The most pages one pull follows: a server whose `next` never ends is stopped, not followed forever.
pub const MAX_PAGES: usize = 10_000;

/// How the client authenticates.
#[derive(Clone)]
pub enum Credentials {
    None,
    /// `Authorization: Bearer …` (a Kuzet API token, an OpenCTI token).
    Bearer(String),
    /// HTTP basic (MISP's TAXII server, medallion).
    Basic {
        user: String,
        password: String,
    },
}

/// What a pull read.
#[derive(Debug, Clone, PartialEq)]
pub struct Pulled {
    pub objects: Vec<Value>,
    pub pages: usize,
    /// When the server added the last object read (`X-TAXII-Date-Added-Last`): where the next pull can start.
    pub last_added: Option<Timestamp>,
}

pub struct TaxiiClient {
    http: reqwest::Client,
    credentials: Credentials,
}

fn failed(url: &str, reason: impl ToString) -> ExchangeError {
    ExchangeError::Delivery {
        url: url.to_owned(),
        reason: reason.to_string(),
    }
}

impl TaxiiClient {
    /// A client trusting `ca` (PEM) only when given, else the system's roots.
    pub fn new(
        ca: Option<&Path>,
        credentials: Credentials,
        timeout: Duration,
    ) -> Result<Self, ExchangeError> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("kuzet/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = ca {
            let tls = rustls::ClientConfig::builder_with_provider(crate::transport::provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| ExchangeError::pki("tls client", e))?
                .with_root_certificates(crate::transport::roots(ca)?)
                .with_no_client_auth();
            builder = builder.tls_backend_preconfigured(tls);
        }
        let http = builder.build().map_err(|e| failed("taxii client", e))?;
        Ok(Self { http, credentials })
    }

    /// Every object of the collection at `collection` (its URL, ending in `/`), added after `after` when given,
    /// following `next` until the server says there is no more.
    pub async fn pull(
        &self,
        collection: &str,
        after: Option<Timestamp>,
    ) -> Result<Pulled, ExchangeError> {
        let base = if collection.ends_with('/') {
            collection.to_owned()
        } else {
            format!("{collection}/")
        };
        let url = format!("{base}objects/");
        let mut pulled = Pulled {
            objects: Vec::new(),
            pages: 0,
            last_added: None,
        };
        let mut next: Option<String> = None;
        loop {
            if pulled.pages == MAX_PAGES {
                return Err(failed(
                    &url,
                    format_args!("still more after {MAX_PAGES} pages"),
                ));
            }
            let mut query: Vec<(&str, String)> = Vec::new();
            if let Some(after) = after {
                query.push(("added_after", after.to_string()));
            }
            if let Some(token) = &next {
                query.push(("next", token.clone()));
            }
            let target =
                reqwest::Url::parse_with_params(&url, &query).map_err(|e| failed(&url, e))?;
            let mut request = self.http.get(target).header(ACCEPT, MEDIA_TYPE);
            request = match &self.credentials {
                Credentials::None => request,
                Credentials::Bearer(token) => {
                    request.header(AUTHORIZATION, format!("Bearer {token}"))
                }
                Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
            };
            let response = request.send().await.map_err(|e| failed(&url, e))?;
            let status = response.status();
            let media = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let last = response
                .headers()
                .get("x-taxii-date-added-last")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<Timestamp>().ok());
            let body = response.text().await.map_err(|e| failed(&url, e))?;
            if !status.is_success() {
                let said: String = body.chars().take(300).collect();
                return Err(failed(&url, format_args!("answered {status}: {said}")));
            }
            if !media
                .to_ascii_lowercase()
                .starts_with("application/taxii+json")
            {
                return Err(failed(
                    &url,
                    format_args!("answered `{media}`, not {MEDIA_TYPE}"),
                ));
            }
            let envelope: Value = serde_json::from_str(&body)
                .map_err(|e| failed(&url, format_args!("envelope is not JSON: {e}")))?;
            pulled.pages += 1;
            if let Some(objects) = envelope.get("objects").and_then(Value::as_array) {
                pulled.objects.extend(objects.iter().cloned());
            }
            pulled.last_added = last.or(pulled.last_added);
            let more = envelope
                .get("more")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            match envelope.get("next").and_then(Value::as_str) {
                Some(token) if more => next = Some(token.to_owned()),
                None if more => {
                    return Err(failed(
                        &url,
                        "says there is more but gives no `next`: pull again from the last object's time",
                    ));
                }
                _ => return Ok(pulled),
            }
        }
    }
}
