//! The console's pages: each reads the person's session and language from the request, asks the API, and renders
//! a template. Changes are forms posted back here, forwarded to the API with the page's CSRF token.

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use bytes::Bytes;
use serde_json::json;
use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use crate::Console;
use crate::actions::Input;
use crate::api::{Api, Failure, SESSION_COOKIE};
use crate::i18n::{Lang, Tr};
use crate::views::{
    Alert, Created, Enrolment, Facility, Incident, Me, Overview, Tenant, TimelineEntry,
};

/// The cookie that remembers the console's language in this browser.
const LANG_COOKIE: &str = "kuzet_lang";
/// How often the overview's live stream asks the API again.
const LIVE_EVERY: Duration = Duration::from_secs(3);
/// Alerts shown per page of the queue.
const ALERTS_PER_PAGE: u32 = 100;

/// What every page knows of its request: the language, the session cookie, and the request's extensions (the
/// peer address the API throttles and audits by).
pub(crate) struct Ctx {
    pub lang: Lang,
    session: Option<String>,
    extensions: Extensions,
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

impl FromRequestParts<Console> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Infallible> {
        let lang = cookie(&parts.headers, LANG_COOKIE)
            .and_then(|c| Lang::parse(&c))
            .or_else(|| {
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::negotiate)
            })
            .unwrap_or(Lang::Kk);
        Ok(Ctx {
            lang,
            session: cookie(&parts.headers, SESSION_COOKIE).filter(|s| !s.is_empty()),
            extensions: console
                .options
                .forward
                .as_ref()
                .map(|forward| forward(&parts.extensions))
                .unwrap_or_default(),
        })
    }
}

impl Ctx {
    fn api(&self, console: &Console) -> Api {
        Api::new(
            console.api.clone(),
            self.session.clone(),
            self.extensions.clone(),
        )
    }
}

/// The header every signed-in page shows: who, the navigation, the language switch, the logout form.
pub(crate) struct Chrome {
    pub user: String,
    pub roles: String,
    pub csrf: String,
    pub demo: bool,
    /// The server is an NCCIS hub: the national view is in the navigation.
    pub hub: bool,
    pub active: &'static str,
    pub here: String,
    pub langs: Vec<(&'static str, &'static str, bool)>,
}

fn langs(current: Lang) -> Vec<(&'static str, &'static str, bool)> {
    Lang::ALL
        .into_iter()
        .map(|l| (l.code(), l.native(), l == current))
        .collect()
}

/// A signed-in page's request: the person (from the API), their API view with the CSRF token, the header.
pub(crate) struct Signed<'a> {
    pub tr: Tr<'a>,
    pub api: Api,
    pub me: Me,
    pub chrome: Chrome,
}

/// Why a page is not shown: sent to log in, to finish onboarding, or an error page.
pub(crate) struct Stop(Response);

impl From<Response> for Stop {
    fn from(response: Response) -> Self {
        Stop(response)
    }
}

impl IntoResponse for Stop {
    fn into_response(self) -> Response {
        self.0
    }
}

pub(crate) type PageResult = Result<Response, Stop>;

/// The person behind the request, or the way to the login page (or to the onboarding step the API still asks).
pub(crate) async fn signed<'a>(
    console: &'a Console,
    ctx: &Ctx,
    active: &'static str,
    here: &str,
) -> Result<Signed<'a>, Stop> {
    let tr = console.i18n.tr(ctx.lang);
    if ctx.session.is_none() {
        return Err(Stop(Redirect::to("/console/login").into_response()));
    }
    let api = ctx.api(console);
    let me: Me = match api.get("/api/v1/auth/me").await {
        Ok(me) => me,
        Err(f) if f.unauthenticated() => {
            return Err(Stop(Redirect::to("/console/login").into_response()));
        }
        Err(f) => return Err(Stop(failure_page(console, ctx.lang, &f))),
    };
    let onboarding = match me.onboarding.as_str() {
        "change_password" => Some("/console/account/password"),
        "enrol_mfa" => Some("/console/account/mfa"),
        _ => None,
    };
    if let Some(step) = onboarding
        && step != here
    {
        return Err(Stop(Redirect::to(step).into_response()));
    }
    let csrf = me.csrf_token.clone().unwrap_or_default();
    let chrome = Chrome {
        user: me.user.clone(),
        roles: me.roles.join(", "),
        csrf: csrf.clone(),
        demo: console.options.demo,
        hub: console.options.hub,
        active,
        here: here.to_owned(),
        langs: langs(ctx.lang),
    };
    Ok(Signed {
        tr,
        api: api.with_csrf(Some(csrf)),
        me,
        chrome,
    })
}

pub(crate) fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "console template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    tr: Tr<'a>,
    demo: bool,
    langs: Vec<(&'static str, &'static str, bool)>,
    status: u16,
    message: String,
}

/// The API's refusal or error, shown as a page with its status: "not found" stays "not found".
fn failure_page(console: &Console, lang: Lang, failure: &Failure) -> Response {
    render(
        &ErrorPage {
            tr: console.i18n.tr(lang),
            demo: console.options.demo,
            langs: langs(lang),
            status: failure.status.as_u16(),
            message: failure.message.clone(),
        },
        failure.status,
    )
}

pub(crate) fn fail(console: &Console, lang: Lang, failure: Failure) -> Stop {
    if failure.unauthenticated() {
        return Stop(Redirect::to("/console/login").into_response());
    }
    Stop(failure_page(console, lang, &failure))
}

pub(crate) async fn not_found(State(console): State<Console>, ctx: Ctx) -> Response {
    let failure = Failure {
        status: StatusCode::NOT_FOUND,
        code: "not_found".into(),
        message: console.i18n.tr(ctx.lang).t("error-no-page"),
    };
    failure_page(&console, ctx.lang, &failure)
}

pub(crate) async fn root() -> Redirect {
    Redirect::to("/console/")
}

/// A form's fields, in order; a field may repeat (checkboxes).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &Bytes) -> Self {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The API view for a posted form: the person's session, and the CSRF token the form carried (the API checks it).
pub(crate) fn form_api(console: &Console, ctx: &Ctx, form: &Form) -> Api {
    ctx.api(console)
        .with_csrf(Some(form.get("csrf").to_owned()))
}

/// A path segment for an API URL: tenant and object ids are slugs and hex, anything else is refused by the API.
pub(crate) fn seg(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

// ---- login, logout, language, onboarding ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    tr: Tr<'a>,
    demo: bool,
    langs: Vec<(&'static str, &'static str, bool)>,
    user: String,
    /// The second factor is asked for: the password was right.
    code: bool,
    error: Option<String>,
}

pub(crate) async fn login_form(State(console): State<Console>, ctx: Ctx) -> Response {
    render(
        &LoginPage {
            tr: console.i18n.tr(ctx.lang),
            demo: console.options.demo,
            langs: langs(ctx.lang),
            user: String::new(),
            code: false,
            error: None,
        },
        StatusCode::OK,
    )
}

pub(crate) async fn login(State(console): State<Console>, ctx: Ctx, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let tr = console.i18n.tr(ctx.lang);
    let mut request = json!({"user": form.get("user"), "password": form.get("password")});
    if !form.get("code").trim().is_empty() {
        request["code"] = json!(form.get("code").trim());
    }
    let api = Api::new(console.api.clone(), None, ctx.extensions.clone());
    let (code, error) = match api.post("/api/v1/auth/login", &request).await {
        Ok(reply) => {
            let mut response = Redirect::to("/console/").into_response();
            if let Some(set) = reply.headers.get(header::SET_COOKIE) {
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, set.clone());
            }
            // The language the person chose before, in any browser, is this browser's from now on.
            let chosen = reply
                .json::<serde_json::Value>("the login")
                .ok()
                .and_then(|me| me["language"].as_str().and_then(Lang::parse));
            if let Some(cookie) = chosen.and_then(|lang| lang_cookie(&console, lang)) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            return response;
        }
        Err(f) => match f.code.as_str() {
            "mfa_required" => (true, None),
            "invalid_credentials" => (!form.get("code").is_empty(), Some(tr.t("login-wrong"))),
            "too_many_attempts" => (false, Some(tr.t("login-wait"))),
            "forbidden" => (false, Some(tr.t("login-disabled"))),
            _ => (false, Some(f.message)),
        },
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    render(
        &LoginPage {
            tr,
            demo: console.options.demo,
            langs: langs(ctx.lang),
            user: form.get("user").to_owned(),
            code,
            error,
        },
        status,
    )
}

pub(crate) async fn logout(State(console): State<Console>, ctx: Ctx, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let mut response = Redirect::to("/console/login").into_response();
    match form_api(&console, &ctx, &form)
        .send(axum::http::Method::POST, "/api/v1/auth/logout", None)
        .await
    {
        Ok(reply) => {
            if let Some(set) = reply.headers.get(header::SET_COOKIE) {
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, set.clone());
            }
        }
        Err(f) if f.unauthenticated() => {}
        Err(f) => return failure_page(&console, ctx.lang, &f),
    }
    response
}

/// The cookie that keeps the language in this browser.
fn lang_cookie(console: &Console, lang: Lang) -> Option<HeaderValue> {
    let secure = if console.options.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000{secure}",
        lang.code()
    ))
    .ok()
}

/// Switches the language and goes back to the page it was switched on. A signed-in person's choice is also
/// remembered with their account (`PUT /api/v1/auth/language`), so that it follows them to another browser; the
/// switch works in this browser even if that fails.
pub(crate) async fn language(State(console): State<Console>, ctx: Ctx, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let back = form.get("back");
    let back = if back.starts_with("/console/") && !back.contains("//") {
        back.to_owned()
    } else {
        "/console/".to_owned()
    };
    let mut response = Redirect::to(&back).into_response();
    if let Some(lang) = Lang::parse(form.get("lang")) {
        if ctx.session.is_some() && !form.get("csrf").is_empty() {
            let request = json!({"language": lang.code()});
            if let Err(f) = form_api(&console, &ctx, &form)
                .send(
                    axum::http::Method::PUT,
                    "/api/v1/auth/language",
                    Some(&request),
                )
                .await
            {
                tracing::debug!(message = %f.message, "the language choice was not remembered");
            }
        }
        if let Some(cookie) = lang_cookie(&console, lang) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
    }
    response
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    forced: bool,
    error: Option<String>,
}

pub(crate) async fn password_form(State(console): State<Console>, ctx: Ctx) -> PageResult {
    let s = signed(&console, &ctx, "account", "/console/account/password").await?;
    let forced = s.me.onboarding == "change_password";
    Ok(render(
        &PasswordPage {
            tr: s.tr,
            c: s.chrome,
            forced,
            error: None,
        },
        StatusCode::OK,
    ))
}

pub(crate) async fn password(State(console): State<Console>, ctx: Ctx, body: Bytes) -> PageResult {
    let form = Form::parse(&body);
    let s = signed(&console, &ctx, "account", "/console/account/password").await?;
    let error = if form.get("new") != form.get("repeat") {
        Some(s.tr.t("password-mismatch"))
    } else {
        let change = json!({"current": form.get("current"), "new": form.get("new")});
        match form_api(&console, &ctx, &form)
            .post("/api/v1/auth/password", &change)
            .await
        {
            Ok(_) => return Ok(Redirect::to("/console/").into_response()),
            Err(f) if f.unauthenticated() => return Err(fail(&console, ctx.lang, f)),
            Err(f) => Some(f.message),
        }
    };
    let forced = s.me.onboarding == "change_password";
    Ok(render(
        &PasswordPage {
            tr: s.tr,
            c: s.chrome,
            forced,
            error,
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    enrolment: Option<Enrolment>,
    error: Option<String>,
}

pub(crate) async fn mfa_form(State(console): State<Console>, ctx: Ctx) -> PageResult {
    let s = signed(&console, &ctx, "account", "/console/account/mfa").await?;
    Ok(render(
        &MfaPage {
            tr: s.tr,
            c: s.chrome,
            enrolment: None,
            error: None,
        },
        StatusCode::OK,
    ))
}

/// `begin`: a new secret to enter into an authenticator app; `confirm`: its first code, which enrols it.
pub(crate) async fn mfa_confirm(
    State(console): State<Console>,
    ctx: Ctx,
    body: Bytes,
) -> PageResult {
    let form = Form::parse(&body);
    let s = signed(&console, &ctx, "account", "/console/account/mfa").await?;
    let api = form_api(&console, &ctx, &form);
    let (enrolment, error) = if form.get("action") == "begin" {
        let begun = api
            .send(axum::http::Method::POST, "/api/v1/auth/mfa/enrol", None)
            .await
            .and_then(|reply| reply.json::<Enrolment>("mfa enrolment"));
        match begun {
            Ok(enrolment) => (Some(enrolment), None),
            Err(f) => return Err(fail(&console, ctx.lang, f)),
        }
    } else {
        let confirm = json!({"code": form.get("code").trim()});
        match api.post("/api/v1/auth/mfa/confirm", &confirm).await {
            Ok(_) => return Ok(Redirect::to("/console/").into_response()),
            Err(f) if f.unauthenticated() => return Err(fail(&console, ctx.lang, f)),
            Err(f) => (
                Some(Enrolment {
                    secret: form.get("secret").to_owned(),
                    otpauth_uri: form.get("uri").to_owned(),
                }),
                Some(f.message),
            ),
        }
    };
    Ok(render(
        &MfaPage {
            tr: s.tr,
            c: s.chrome,
            enrolment,
            error,
        },
        StatusCode::OK,
    ))
}

// ---- the overview ----

#[derive(Template)]
#[template(path = "overview_body.html")]
struct OverviewBody<'a> {
    tr: Tr<'a>,
    o: Overview,
    /// Events accepted per second since the previous look, when there was one.
    rate: Option<u64>,
    levels: [&'static str; 5],
    criticality: [u8; 6],
}

fn overview_body(tr: Tr<'_>, o: Overview, rate: Option<u64>) -> Result<String, askama::Error> {
    OverviewBody {
        tr,
        o,
        rate,
        levels: ["critical", "high", "medium", "low", "informational"],
        criticality: [5, 4, 3, 2, 1, 0],
    }
    .render()
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    body: String,
}

pub(crate) async fn overview(State(console): State<Console>, ctx: Ctx) -> PageResult {
    let s = signed(&console, &ctx, "overview", "/console/").await?;
    let o: Overview = s
        .api
        .get("/api/v1/overview")
        .await
        .map_err(|f| fail(&console, ctx.lang, f))?;
    let body = overview_body(s.tr, o, None).map_err(|e| {
        tracing::error!(error = %e, "overview template failed");
        Stop(StatusCode::INTERNAL_SERVER_ERROR.into_response())
    })?;
    Ok(render(
        &OverviewPage {
            tr: s.tr,
            c: s.chrome,
            body,
        },
        StatusCode::OK,
    ))
}

/// The overview's body again every few seconds, as server-sent events, while the session lasts: one API call (and
/// one audit record) per refresh. When the session ends, a `signed-out` event sends the page to the login.
pub(crate) async fn live(State(console): State<Console>, ctx: Ctx) -> Response {
    let api = ctx.api(&console);
    let lang = ctx.lang;
    let stream = futures::stream::unfold(
        (console, api, None::<(u64, std::time::Instant)>, false),
        move |(console, api, before, ended)| async move {
            if ended {
                return None;
            }
            if before.is_some() {
                tokio::time::sleep(LIVE_EVERY).await;
            }
            let tr = console.i18n.tr(lang);
            let (event, next, ended) = match api.get::<Overview>("/api/v1/overview").await {
                Ok(o) => {
                    let seen = o
                        .service
                        .as_ref()
                        .map(|s| (s.wal_appended, std::time::Instant::now()));
                    let rate = match (before, seen) {
                        (Some((n0, t0)), Some((n1, t1))) => {
                            let seconds = t1.duration_since(t0).as_secs_f64().max(0.001);
                            Some((n1.saturating_sub(n0) as f64 / seconds).round() as u64)
                        }
                        _ => None,
                    };
                    let html = overview_body(tr, o, rate).unwrap_or_default();
                    // One line: the event's data must not be split at newlines.
                    let html = html.replace(['\n', '\r'], " ");
                    (
                        Event::default().event("overview").data(html),
                        seen.or(before).or(Some((0, std::time::Instant::now()))),
                        false,
                    )
                }
                Err(f) if f.unauthenticated() => (
                    Event::default().event("signed-out").data("login"),
                    before,
                    true,
                ),
                Err(f) => (
                    Event::default().event("trouble").data(f.message),
                    before,
                    false,
                ),
            };
            Some((Ok::<_, Infallible>(event), (console, api, next, ended)))
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

// ---- alerts ----

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    tenants: Vec<Tenant>,
    tenant: String,
    status: String,
    statuses: [&'static str; 4],
    alerts: Vec<Alert>,
    next: Option<String>,
    done: Option<String>,
    categories: [&'static str; 10],
    manage: bool,
    /// The tenant's facilities an incident may concern; without any, the incident names a facility class.
    facilities: Vec<Facility>,
    /// The page's alerts grouped by rule: (title, level, alerts, hits), most alerts first.
    groups: Vec<(String, String, u64, u64)>,
}

/// Tenants the person may see, and the one a page is about (asked for, or the first).
pub(crate) async fn tenant_choice(
    console: &Console,
    lang: Lang,
    api: &Api,
    asked: Option<&String>,
) -> Result<(Vec<Tenant>, String), Stop> {
    let tenants: Vec<Tenant> = api
        .get("/api/v1/tenants")
        .await
        .map_err(|f| fail(console, lang, f))?;
    let tenant = match asked {
        Some(t) => t.clone(),
        None => tenants.first().map(|t| t.id.clone()).unwrap_or_default(),
    };
    Ok((tenants, tenant))
}

fn may_manage_incidents(me: &Me) -> bool {
    // The default roles that hold `incidents.manage`; the API decides in the end and refuses anyone else.
    me.roles.iter().any(|r| r == "analyst")
}

pub(crate) async fn alerts(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let s = signed(&console, &ctx, "alerts", "/console/alerts").await?;
    let (tenants, tenant) = tenant_choice(&console, ctx.lang, &s.api, query.get("tenant")).await?;
    let status = query
        .get("status")
        .filter(|s| {
            ["new", "acknowledged", "false_positive", "escalated", "all"].contains(&s.as_str())
        })
        .cloned()
        .unwrap_or_else(|| "new".into());
    let mut path = format!(
        "/api/v1/tenants/{}/alerts?limit={ALERTS_PER_PAGE}",
        seg(&tenant)
    );
    if status != "all" {
        path.push_str(&format!("&status={status}"));
    }
    if let Some(after) = query.get("after") {
        path.push_str(&format!("&after={}", seg(after)));
    }
    let (alerts, next) = if tenant.is_empty() {
        (Vec::new(), None)
    } else {
        let reply = s
            .api
            .send(axum::http::Method::GET, &path, None)
            .await
            .map_err(|f| fail(&console, ctx.lang, f))?;
        let next = reply
            .headers
            .get("kuzet-next-cursor")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (
            reply
                .json("alerts")
                .map_err(|f| fail(&console, ctx.lang, f))?,
            next,
        )
    };
    let groups = group_by_rule(&alerts);
    let manage = may_manage_incidents(&s.me);
    let facilities = if manage && !tenant.is_empty() {
        s.api
            .get(&format!("/api/v1/tenants/{}/facilities", seg(&tenant)))
            .await
            .map_err(|f| fail(&console, ctx.lang, f))?
    } else {
        Vec::new()
    };
    Ok(render(
        &AlertsPage {
            tr: s.tr,
            c: s.chrome,
            tenants,
            tenant,
            status,
            statuses: ["new", "acknowledged", "false_positive", "escalated"],
            alerts,
            next,
            done: query.get("done").cloned(),
            categories: CATEGORIES,
            manage,
            facilities,
            groups,
        },
        StatusCode::OK,
    ))
}

/// Alerts grouped by rule: (title, level, alerts, hits), most alerts first, then most hits, then by title.
fn group_by_rule(alerts: &[Alert]) -> Vec<(String, String, u64, u64)> {
    let mut groups: Vec<(String, String, u64, u64)> = Vec::new();
    for a in alerts {
        match groups.iter_mut().find(|g| g.0 == a.rule.title) {
            Some(g) => {
                g.2 += 1;
                g.3 += a.hits;
            }
            None => groups.push((a.rule.title.clone(), a.rule.level.clone(), 1, a.hits)),
        }
    }
    groups.sort_by(|x, y| y.2.cmp(&x.2).then(y.3.cmp(&x.3)).then(x.0.cmp(&y.0)));
    groups
}

/// Incident categories as the API names them.
pub(crate) const CATEGORIES: [&str; 10] = [
    "intrusion-attempts.password-guessing",
    "intrusion.unauthorized-access",
    "malicious-code",
    "availability.dos",
    "information-gathering.scanning",
    "intrusion.protection-bypass",
    "information-content-security.leak",
    "abusive-content.spam",
    "fraud",
    "other",
];

/// Bulk triage of the checked alerts, or their promotion into one new incident.
pub(crate) async fn alerts_act(
    State(console): State<Console>,
    ctx: Ctx,
    body: Bytes,
) -> PageResult {
    let form = Form::parse(&body);
    let api = form_api(&console, &ctx, &form);
    let tenant = form.get("tenant").to_owned();
    let ids = form.all("alert");
    let back = |done: String| {
        Redirect::to(&format!(
            "/console/alerts?tenant={}&status={}&done={}",
            seg(&tenant),
            seg(form.get("status")),
            seg(&done)
        ))
        .into_response()
    };
    if ids.is_empty() {
        return Ok(back("none".into()));
    }
    let action = form.get("action");
    if action == "promote" {
        let mut facts = json!({
            "functional_impact": form.get("functional_impact"),
            "information_impact": form.get("information_impact"),
            "recoverability": form.get("recoverability"),
            "scope": form.get("scope"),
            "stage": form.get("stage"),
        });
        let facilities = form.all("facility");
        if facilities.is_empty()
            && let Ok(class) = form.get("facility_class").parse::<u8>()
        {
            facts["facility_class"] = json!(class);
        }
        let title = match form.get("title").trim() {
            "" => "—".to_owned(),
            t => t.to_owned(),
        };
        let create = json!({
            "title": title, "category": form.get("category"), "facts": facts, "alerts": ids,
            "facilities": facilities,
        });
        let created: Created = api
            .post(
                &format!("/api/v1/tenants/{}/incidents", seg(&tenant)),
                &create,
            )
            .await
            .and_then(|r| r.json("incident creation"))
            .map_err(|f| fail(&console, ctx.lang, f))?;
        return Ok(Redirect::to(&format!(
            "/console/tenants/{}/incidents/{}",
            seg(&tenant),
            seg(&created.id)
        ))
        .into_response());
    }
    let triage = json!({"status": action, "reason": form.get("reason")});
    let mut changed = 0usize;
    for id in &ids {
        let path = format!("/api/v1/tenants/{}/alerts/{}/triage", seg(&tenant), seg(id));
        match api.post(&path, &triage).await {
            Ok(_) => changed += 1,
            Err(f) => return Err(fail(&console, ctx.lang, f)),
        }
    }
    Ok(back(changed.to_string()))
}

// ---- incidents ----

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    tenants: Vec<Tenant>,
    tenant: String,
    incidents: Vec<Incident>,
}

pub(crate) async fn incidents(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let s = signed(&console, &ctx, "incidents", "/console/incidents").await?;
    let (tenants, tenant) = tenant_choice(&console, ctx.lang, &s.api, query.get("tenant")).await?;
    let incidents = if tenant.is_empty() {
        Vec::new()
    } else {
        s.api
            .get(&format!(
                "/api/v1/tenants/{}/incidents?limit=100",
                seg(&tenant)
            ))
            .await
            .map_err(|f| fail(&console, ctx.lang, f))?
    };
    Ok(render(
        &IncidentsPage {
            tr: s.tr,
            c: s.chrome,
            tenants,
            tenant,
            incidents,
        },
        StatusCode::OK,
    ))
}

/// The kinds of observables the API records, in the order the form offers them.
pub(crate) const OBSERVABLE_KINDS: [&str; 8] = [
    "ip", "domain", "url", "hash", "email", "host", "account", "file",
];

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    i: Incident,
    timeline: Vec<TimelineEntry>,
    manage: bool,
    /// The events kept as evidence, their chain of custody, and the messages to NCCIS about this incident.
    tables: Vec<crate::tables::Table>,
    entry_kinds: [&'static str; 4],
    /// Linking the incident to the risk catalog entry it realized.
    forms: Vec<crate::actions::FormView>,
}

pub(crate) async fn incident(
    State(console): State<Console>,
    ctx: Ctx,
    Path((tenant, id)): Path<(String, String)>,
) -> PageResult {
    let here = format!("/console/tenants/{}/incidents/{}", seg(&tenant), seg(&id));
    let s = signed(&console, &ctx, "incidents", &here).await?;
    let base = format!("/api/v1/tenants/{}/incidents/{}", seg(&tenant), seg(&id));
    let i: Incident = s
        .api
        .get(&base)
        .await
        .map_err(|f| fail(&console, ctx.lang, f))?;
    let timeline: Vec<TimelineEntry> = s
        .api
        .get(&format!("{base}/timeline"))
        .await
        .map_err(|f| fail(&console, ctx.lang, f))?;
    let manage = may_manage_incidents(&s.me);
    let (tables, risks) = incident_tables(&console, &ctx, &s, &tenant, &i).await?;
    let mut forms = Vec::new();
    if manage {
        let kinds = OBSERVABLE_KINDS
            .iter()
            .map(|k| ((*k).to_owned(), s.tr.kind("observable-kind", k)))
            .collect();
        forms.push(
            crate::actions::FormView::new(&s.tr, "observable-add", "form-observable", &here)
                .hidden("tenant", &tenant)
                .hidden("incident", &i.id)
                .choice(&s.tr, "kind", "observable-kind", kinds)
                .text(&s.tr, "value", "observable-value", true)
                .text(&s.tr, "note", "observable-note", false),
        );
        forms.push(
            crate::actions::FormView::new(&s.tr, "incident-assign", "form-assign", &here)
                .hidden("tenant", &tenant)
                .hidden("incident", &i.id)
                .text(&s.tr, "user", "incident-assignee", false),
        );
    }
    if manage && !risks.is_empty() {
        forms.push(
            crate::actions::FormView::new(&s.tr, "risk-link", "form-risk-link", &here)
                .hidden("tenant", &tenant)
                .hidden("incident", &i.id)
                .choice(&s.tr, "risk", "risk-title", risks),
        );
    }
    Ok(render(
        &IncidentPage {
            tr: s.tr,
            c: s.chrome,
            i,
            timeline,
            manage,
            tables,
            entry_kinds: ["comment", "event", "cause", "lessons"],
            forms,
        },
        StatusCode::OK,
    ))
}

/// The incident's evidence with its chain of custody, its messages to NCCIS with their receipts and the risks it
/// realized; a table the role may not read is left out. Also the organization's risks to choose from, as
/// `(id, label)`.
async fn incident_tables(
    console: &Console,
    ctx: &Ctx,
    s: &Signed<'_>,
    tenant: &str,
    i: &Incident,
) -> Result<(Vec<crate::tables::Table>, Vec<(String, String)>), Stop> {
    use crate::tables::{Column, Kind, table};
    let tr = &s.tr;
    let base = format!("/api/v1/tenants/{}/incidents/{}", seg(tenant), seg(&i.id));
    let mut tables = Vec::new();
    let allowed = |f: &Failure| f.status == StatusCode::FORBIDDEN;
    match s
        .api
        .get::<serde_json::Value>(&format!("{base}/evidence"))
        .await
    {
        Ok(evidence) => {
            let empty = Vec::new();
            tables.push(table(
                tr,
                "evidence",
                "evidence-title",
                evidence["items"].as_array().unwrap_or(&empty),
                &[
                    Column("evidence-event", "event_id", Kind::Text),
                    Column("evidence-added", "added", Kind::Time),
                    Column("evidence-by", "added_by", Kind::Text),
                    Column("reason", "reason", Kind::Text),
                ],
                |item| {
                    item["event_id"]
                        .as_str()
                        .map(|e| format!("/console/events/{}", seg(e)))
                },
            ));
            tables.push(table(
                tr,
                "evidence-files",
                "evidence-files-title",
                evidence["files"].as_array().unwrap_or(&empty),
                &[
                    Column("evidence-file", "name", Kind::Text),
                    Column("evidence-size", "size", Kind::Text),
                    Column("evidence-sha256", "sha256", Kind::Text),
                    Column("evidence-added", "added", Kind::Time),
                    Column("evidence-by", "added_by", Kind::Text),
                    Column("reason", "reason", Kind::Text),
                ],
                |item| {
                    item["sha256"].as_str().map(|h| {
                        format!(
                            "/console/tenants/{}/incidents/{}/files/{}",
                            seg(tenant),
                            seg(&i.id),
                            seg(h)
                        )
                    })
                },
            ));
            tables.push(table(
                tr,
                "custody",
                "custody-title",
                evidence["custody"].as_array().unwrap_or(&empty),
                &[
                    Column("event-time", "at", Kind::Time),
                    Column("audit-user", "actor", Kind::Text),
                    Column("audit-action", "action", Kind::Text),
                    Column("reason", "reason", Kind::Text),
                ],
                |_| None,
            ));
        }
        Err(f) if allowed(&f) => {}
        Err(f) => return Err(fail(console, ctx.lang, f)),
    }
    // Each list the role may not read is left out (`tables::list` answers `None` for it).
    let api = &s.api;
    let list = async |path: String| crate::tables::list(console, ctx, api, &path).await;
    let exchange = format!(
        "/api/v1/tenants/{}/exchange?incident={}&limit=500",
        seg(tenant),
        seg(&i.id)
    );
    if let Some(ours) = list(exchange).await? {
        tables.push(table(
            tr,
            "incident-exchange",
            "exchange-title",
            &ours,
            &[
                Column("exchange-created", "created", Kind::Time),
                Column("exchange-kind", "kind", Kind::Text),
                Column("exchange-state", "state", Kind::Named("exchange-state")),
                Column("exchange-attempts", "attempts", Kind::Text),
                Column("exchange-delivered", "delivered", Kind::Time),
            ],
            |_| None,
        ));
    }
    if let Some(observables) = list(format!("{base}/observables")).await? {
        tables.push(table(
            tr,
            "observables",
            "observables-title",
            &observables,
            &[
                Column("observable-kind", "kind", Kind::Named("observable-kind")),
                Column("observable-value", "value", Kind::Text),
                Column("observable-note", "note", Kind::Text),
                Column("evidence-by", "added_by", Kind::Text),
                Column("evidence-added", "added", Kind::Time),
            ],
            |_| None,
        ));
    }
    if let Some(assets) = list(format!("{base}/assets")).await? {
        tables.push(assets_table(tr, "incident-assets", tenant, &assets));
    }
    let mut choices = Vec::new();
    if let Some(risks) = list(format!("/api/v1/tenants/{}/risks", seg(tenant))).await? {
        let realized: Vec<_> = risks
            .iter()
            .filter(|r| {
                r["incidents"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(i.id.as_str())))
            })
            .cloned()
            .collect();
        tables.push(table(
            tr,
            "incident-risks",
            "risks-realized-title",
            &realized,
            &[
                Column("risk-title", "title", Kind::Text),
                Column("risk-score", "score", Kind::Text),
                Column("risk-rating", "rating", Kind::Named("severity")),
                Column("risk-treatment", "treatment", Kind::Named("treatment")),
                Column("risk-owner", "owner", Kind::Text),
            ],
            |_| None,
        ));
        choices = risks
            .iter()
            .filter_map(|r| {
                Some((
                    r["id"].as_str()?.to_owned(),
                    format!("{} ({})", r["title"].as_str()?, r["score"]),
                ))
            })
            .collect();
    }
    Ok((tables, choices))
}

/// The assets an event or an incident concerns (the API's linked assets), each linking to its organization's
/// inventory.
pub(crate) fn assets_table(
    tr: &crate::i18n::Tr<'_>,
    id: &'static str,
    tenant: &str,
    linked: &[serde_json::Value],
) -> crate::tables::Table {
    use crate::tables::{Column, Kind, table};
    table(
        tr,
        id,
        "assets-concerned-title",
        linked,
        &[
            Column("asset-name", "asset.name", Kind::Text),
            Column("asset-addresses", "asset.addresses", Kind::List),
            Column("asset-seen", "seen", Kind::Named("asset-seen")),
            Column("asset-field", "field", Kind::Text),
            Column("asset-value", "value", Kind::Text),
        ],
        |_| Some(format!("/console/tenants/{}#assets", seg(tenant))),
    )
}

/// A file kept as evidence, downloaded through the API (which hashes it again and records the access).
pub(crate) async fn evidence_file(
    State(console): State<Console>,
    ctx: Ctx,
    Path((tenant, id, sha256)): Path<(String, String, String)>,
) -> PageResult {
    let here = format!("/console/tenants/{}/incidents/{}", seg(&tenant), seg(&id));
    let s = signed(&console, &ctx, "incidents", &here).await?;
    let path = format!(
        "/api/v1/tenants/{}/incidents/{}/evidence/files/{}",
        seg(&tenant),
        seg(&id),
        seg(&sha256)
    );
    let reply = s
        .api
        .send(axum::http::Method::GET, &path, None)
        .await
        .map_err(|f| fail(&console, ctx.lang, f))?;
    Ok(download(reply))
}

/// An API answer handed to the browser as the file it is: its body, media type and name.
pub(crate) fn download(reply: crate::api::Reply) -> axum::response::Response {
    let mut response = reply.body.into_response();
    for name in [header::CONTENT_TYPE, header::CONTENT_DISPOSITION] {
        if let Some(value) = reply.headers.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// A step of the incident's workflow, or a plan task done.
pub(crate) async fn incident_act(
    State(console): State<Console>,
    ctx: Ctx,
    Path((tenant, id)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let form = Form::parse(&body);
    let api = form_api(&console, &ctx, &form);
    let base = format!("/api/v1/tenants/{}/incidents/{}", seg(&tenant), seg(&id));
    let result = match form.get("action") {
        "transition" => {
            let reason = form.get("reason").trim();
            let mut step = json!({"to": form.get("to")});
            if !reason.is_empty() {
                step["reason"] = json!(reason);
            }
            api.post(&format!("{base}/transitions"), &step).await
        }
        "entry" => {
            let entry = json!({"kind": form.get("kind"), "text": form.get("text")});
            api.post(&format!("{base}/entries"), &entry).await
        }
        "level" => {
            let level = form.get("level").parse::<u8>().unwrap_or(u8::MAX);
            let change = json!({"level": level, "reason": form.get("reason")});
            api.post(&format!("{base}/level"), &change).await
        }
        "evidence" => {
            let attach = json!({"event": form.get("event").trim(), "reason": form.get("reason")});
            api.post(&format!("{base}/evidence"), &attach).await
        }
        "task" => {
            let path = format!("{base}/tasks/{}/done", seg(form.get("task")));
            api.send(axum::http::Method::POST, &path, None).await
        }
        other => Err(Failure {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request".into(),
            message: format!("action `{other}`: not something an incident page does"),
        }),
    };
    result.map_err(|f| fail(&console, ctx.lang, f))?;
    Ok(Redirect::to(&format!(
        "/console/tenants/{}/incidents/{}",
        seg(&tenant),
        seg(&id)
    ))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(title: &str, hits: u64) -> Alert {
        serde_json::from_value(serde_json::json!({
            "id": "a", "rule": {"id": "r", "title": title, "level": "high", "kind": "rule"},
            "first": "2026-12-07T05:00:00Z", "last": "2026-12-07T05:00:00Z", "hits": hits,
            "status": "new", "triage": null,
        }))
        .unwrap()
    }

    #[test]
    fn alerts_group_by_rule_most_first() {
        let groups = group_by_rule(&[alert("B", 1), alert("A", 5), alert("B", 2), alert("C", 9)]);
        let got: Vec<_> = groups.iter().map(|g| (g.0.as_str(), g.2, g.3)).collect();
        assert_eq!(got, [("B", 2, 3), ("C", 1, 9), ("A", 1, 5)]);
    }
}
