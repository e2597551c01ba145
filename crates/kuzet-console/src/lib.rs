//! Kuzet's web console: pages rendered on the server from templates compiled into the binary, in Kazakh, Russian
//! and English, for the ISOC's analysts, the organizations' owners and NCCIS officers.
//!
//! The console holds no data and no rights of its own: every page reads and changes through Kuzet's own HTTP API,
//! called in-process with the person's session cookie, so the API's guard authenticates, authorizes by route,
//! scopes to tenants, checks the CSRF token of every change and writes the audit record — exactly as for any other
//! client. A page cannot show what the API would not answer. No script runs inline (a strict
//! Content-Security-Policy), templates escape everything they print, and the few scripts it has (live counters over
//! server-sent events, countdown clocks) are small hand-written files served from the binary.
//!
//! Depends on kuzet-model only (Kazakhstan time); knows the API by its documented paths and answers, not its code.

mod actions;
mod api;
mod assets;
mod i18n;
mod pages;
mod search;
mod tables;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{Extensions, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

pub use i18n::Lang;

/// Picks, from a page request's extensions, those the API reads (the peer's address, which it throttles logins by
/// and writes into audit records). Only those: the page's own routing data must not reach the API's router.
pub type Forward = Arc<dyn Fn(&Extensions) -> Extensions + Send + Sync>;

/// How the console runs.
#[derive(Clone, Default)]
pub struct ConsoleOptions {
    /// The server runs the demo: every page says so.
    pub demo: bool,
    /// The server is an NCCIS hub (`serve --role nccis`): the national view is in the navigation.
    pub hub: bool,
    /// Cookies the console sets itself (the language) carry `Secure`, as the API's session cookie does.
    pub secure_cookies: bool,
    /// What of a page request reaches the API with each call; nothing when unset.
    pub forward: Option<Forward>,
}

/// What every console handler shares: the API to call and the translations.
#[derive(Clone)]
pub(crate) struct Console {
    pub api: Router,
    pub options: ConsoleOptions,
    pub i18n: Arc<i18n::I18n>,
}

/// The console's routes (`/console/…`; `/` is the Elastic probe shippers call), calling `api` — the API router — for everything they show or do.
pub fn router(api: Router, options: ConsoleOptions) -> Router {
    let console = Console {
        api,
        options,
        i18n: Arc::new(i18n::I18n::new()),
    };
    Router::new()
        .route("/console", get(pages::root))
        .route("/console/assets/{name}", get(assets::serve))
        .route("/console/login", get(pages::login_form).post(pages::login))
        .route("/console/logout", post(pages::logout))
        .route("/console/language", post(pages::language))
        .route(
            "/console/account/password",
            get(pages::password_form).post(pages::password),
        )
        .route(
            "/console/account/mfa",
            get(pages::mfa_form).post(pages::mfa_confirm),
        )
        .route("/console/", get(pages::overview))
        .route("/console/live", get(pages::live))
        .route(
            "/console/alerts",
            get(pages::alerts).post(pages::alerts_act),
        )
        .route("/console/incidents", get(pages::incidents))
        .route("/console/act/{action}", post(actions::act))
        .route("/console/tenants", get(tables::tenants))
        .route("/console/tenants/{tenant}", get(tables::tenant))
        .route(
            "/console/tenants/{tenant}/intel.stix",
            get(tables::intel_stix),
        )
        .route(
            "/console/tenants/{tenant}/reports/{kind}",
            get(tables::report),
        )
        .route("/console/reports/consolidated", get(tables::consolidated))
        .route("/console/users", get(tables::users))
        .route("/console/audit", get(tables::audit))
        .route("/console/rules", get(tables::rules))
        .route(
            "/console/rules/test",
            get(tables::rule_test_form).post(tables::rule_test),
        )
        .route("/console/hub", get(tables::hub))
        .route("/console/anomalies", get(tables::anomalies))
        .route("/console/indicators", get(tables::indicators))
        .route("/console/hub/crises/{crisis}", get(tables::crisis))
        .route(
            "/console/tenants/{tenant}/incidents/{incident}/files/{sha256}",
            get(pages::evidence_file),
        )
        .route("/console/search", get(search::search))
        .route("/console/search/export", get(search::export))
        .route("/console/events/{event}", get(search::event))
        .route("/console/events/{event}/proof", get(search::proof))
        .route(
            "/console/tenants/{tenant}/incidents/{incident}",
            get(pages::incident).post(pages::incident_act),
        )
        .route("/console/{*rest}", get(pages::not_found))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(console)
}

/// The headers every console answer carries: scripts, styles and connections from the console itself only, no
/// framing, no referrer, no sniffing, and pages not cached (they show tenant data).
async fn security_headers(request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/console/assets/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
