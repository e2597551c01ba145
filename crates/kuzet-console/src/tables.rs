//! Pages made of tables of what the API lists: an organization (facilities, sources, contacts, assets, advisories,
//! messages to NCCIS, clocks, reports), the organizations, users and grants, the audit trail, the rules, and the
//! NCCIS hub's national view. Each table names the columns it shows from the API's JSON; a section the person's
//! role may not read is left out, exactly as the API refuses it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::Value;

use crate::Console;
use crate::actions::{FormView, Input};
use crate::api::{Api, Failure};
use crate::i18n::Tr;
use crate::pages::{Chrome, Ctx, PageResult, Stop, fail, render, seg, signed};

/// How a column shows its value.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Text,
    /// An RFC 3339 instant, shown in Kazakhstan time.
    Time,
    /// Yes or no.
    Flag,
    /// A list, comma-separated; an object, as compact JSON.
    List,
    /// A value the API names (a state, a kind): its label under this message prefix.
    Named(&'static str),
}

/// One column: the message id of its heading, the value's path in each item (`a.b`), how to show it.
pub(crate) struct Column(pub &'static str, pub &'static str, pub Kind);

/// A titled table; the first cell of a row may link somewhere.
pub(crate) struct Table {
    pub id: &'static str,
    pub title: String,
    pub note: Option<String>,
    pub head: Vec<String>,
    pub rows: Vec<(Vec<String>, Option<String>)>,
}

fn at<'v>(item: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(item, |v, key| &v[key])
}

fn show(tr: &Tr<'_>, value: &Value, kind: Kind) -> String {
    match (kind, value) {
        (_, Value::Null) => String::new(),
        (Kind::Time, Value::String(s)) => s
            .parse::<jiff::Timestamp>()
            .map(|t| tr.time(&t))
            .unwrap_or_else(|_| s.clone()),
        (Kind::Flag, Value::Bool(b)) => tr.t(if *b { "yes" } else { "no" }),
        (Kind::Named(prefix), Value::String(s)) => tr.kind(prefix, s),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        (_, other) => other.to_string(),
    }
}

/// A table of `items` with `columns`; `link` gives the first cell's target.
pub(crate) fn table(
    tr: &Tr<'_>,
    id: &'static str,
    title: &str,
    items: &[Value],
    columns: &[Column],
    link: impl Fn(&Value) -> Option<String>,
) -> Table {
    Table {
        id,
        title: tr.t(title),
        note: None,
        head: columns.iter().map(|c| tr.t(c.0)).collect(),
        rows: items
            .iter()
            .map(|item| {
                let cells = columns
                    .iter()
                    .map(|c| show(tr, at(item, c.1), c.2))
                    .collect();
                (cells, link(item))
            })
            .collect(),
    }
}

/// `k=v&…`, encoded. (The encoder is not `Send`: it must not live across an await.)
fn query_string<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// A list from the API, or `None` when the person's role may not read it (the section is left out).
pub(crate) async fn list(
    console: &Console,
    ctx: &Ctx,
    api: &Api,
    path: &str,
) -> Result<Option<Vec<Value>>, Stop> {
    match api.get::<Value>(path).await {
        Ok(Value::Array(items)) => Ok(Some(items)),
        Ok(other) => Ok(Some(vec![other])),
        Err(f) if f.status == StatusCode::FORBIDDEN => Ok(None),
        Err(f) => Err(fail(console, ctx.lang, f)),
    }
}

#[derive(Template)]
#[template(path = "tables.html")]
struct TablesPage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    title: String,
    intro: Option<String>,
    counts: Vec<(String, Vec<(String, String)>)>,
    tables: Vec<Table>,
    links: Vec<(String, Vec<(String, String)>)>,
    /// Changes the page offers (the API decides whether the person may make them).
    forms: Vec<FormView>,
}

impl<'a> TablesPage<'a> {
    fn new(tr: Tr<'a>, c: Chrome, title: String) -> Self {
        Self {
            tr,
            c,
            title,
            intro: None,
            counts: Vec::new(),
            tables: Vec::new(),
            links: Vec::new(),
            forms: Vec::new(),
        }
    }

    fn done(self) -> axum::response::Response {
        render(&self, StatusCode::OK)
    }
}

/// The sectors an organization may belong to, labelled, after a choice of none.
fn sector_choices(tr: &Tr<'_>) -> Vec<(String, String)> {
    std::iter::once((String::new(), tr.t("sector-none")))
        .chain(
            kuzet_model::Sector::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), tr.kind("sector", s.as_str()))),
        )
        .collect()
}

/// Every organization the person reaches.
pub(crate) async fn tenants(State(console): State<Console>, ctx: Ctx) -> PageResult {
    let s = signed(&console, &ctx, "tenants", "/console/tenants").await?;
    let mut page = TablesPage::new(s.tr, s.chrome, s.tr.t("tenants-title"));
    if let Some(items) = list(&console, &ctx, &s.api, "/api/v1/tenants").await? {
        page.tables.push(table(
            &s.tr,
            "tenants",
            "tenants-title",
            &items,
            &[
                Column("tenant-name", "name", Kind::Text),
                Column("tenant-id", "id", Kind::Text),
                Column("tenant-sector", "sector", Kind::Named("sector")),
                Column("retention-hot", "retention.hot_days", Kind::Text),
                Column("retention-years", "retention.archive_years", Kind::Text),
            ],
            |t| {
                t["id"]
                    .as_str()
                    .map(|id| format!("/console/tenants/{}", seg(id)))
            },
        ));
    }
    if s.me.roles.iter().any(|r| r == "isoc-admin") {
        page.forms.push(
            FormView::new(&s.tr, "tenant-create", "form-tenant", "/console/tenants")
                .hinted(&s.tr, "id", "tenant-id", "akimat-almaty")
                .text(&s.tr, "name", "tenant-name", true)
                .choice(&s.tr, "sector", "tenant-sector", sector_choices(&s.tr)),
        );
    }
    let lang = s.tr.code();
    page.links = vec![(
        s.tr.t("report-consolidated"),
        ["html", "csv", "xml", "json"]
            .iter()
            .map(|f| {
                (
                    f.to_uppercase(),
                    format!("/console/reports/consolidated?format={f}&lang={lang}"),
                )
            })
            .collect(),
    )];
    Ok(page.done())
}

/// One organization: its facilities, sources, contacts, assets, advisories, messages to NCCIS, clocks and reports.
pub(crate) async fn tenant(
    State(console): State<Console>,
    ctx: Ctx,
    Path(t): Path<String>,
) -> PageResult {
    let base = format!("/api/v1/tenants/{}", seg(&t));
    let here = format!("/console/tenants/{}", seg(&t));
    let s = signed(&console, &ctx, "tenants", &here).await?;
    let tenant: Value = s
        .api
        .get(&base)
        .await
        .map_err(|f| fail(&console, ctx.lang, f))?;
    let name = tenant["name"].as_str().unwrap_or(&t).to_owned();
    let tr = s.tr;
    let mut page = TablesPage::new(tr, s.chrome, name);
    page.intro = Some(tr.with("tenant-intro", "id", &t));
    let sections: [(&str, &'static str, &str, Vec<Column>); 8] = [
        (
            "/facilities",
            "facilities",
            "facilities-title",
            vec![
                Column("facility-name", "name", Kind::Text),
                Column("facility-class", "class", Kind::Text),
                Column("facility-critical", "critical", Kind::Flag),
            ],
        ),
        (
            "/sources",
            "sources",
            "sources-title",
            vec![
                Column("source-name", "name", Kind::Text),
                Column("source-id", "id", Kind::Text),
                Column("source-format", "format", Kind::Text),
                Column("source-facility", "facility", Kind::Text),
                Column("source-interval", "expected_interval_secs", Kind::Text),
            ],
        ),
        (
            "/contacts",
            "contacts",
            "contacts-title",
            vec![
                Column("contact-role", "role", Kind::Text),
                Column("contact-name", "name", Kind::Text),
                Column("contact-channel", "channel", Kind::Text),
                Column("contact-address", "address", Kind::Text),
                Column("contact-language", "language", Kind::Text),
            ],
        ),
        (
            "/assets",
            "assets",
            "assets-title",
            vec![
                Column("asset-name", "name", Kind::Text),
                Column("asset-product", "product", Kind::Text),
                Column("asset-version", "version", Kind::Text),
                Column("asset-addresses", "addresses", Kind::List),
                Column("source-facility", "facility", Kind::Text),
            ],
        ),
        (
            "/advisories",
            "advisories",
            "advisories-title",
            vec![
                Column("advisory-received", "received", Kind::Time),
                Column("advisory-title", "title", Kind::Text),
                Column("advisory-severity", "severity", Kind::Text),
                Column("advisory-assets", "assets", Kind::List),
            ],
        ),
        (
            "/risks",
            "risks",
            "risks-title",
            vec![
                Column("risk-title", "title", Kind::Text),
                Column("risk-threat", "threat", Kind::Text),
                Column("risk-likelihood", "likelihood", Kind::Text),
                Column("risk-impact", "impact", Kind::Text),
                Column("risk-score", "score", Kind::Text),
                Column("risk-rating", "rating", Kind::Named("severity")),
                Column("risk-treatment", "treatment", Kind::Named("treatment")),
                Column("risk-plan", "plan", Kind::Text),
                Column("risk-owner", "owner", Kind::Text),
                Column("risk-incidents", "incidents", Kind::List),
            ],
        ),
        (
            "/exchange",
            "exchange",
            "exchange-title",
            vec![
                Column("exchange-created", "created", Kind::Time),
                Column("exchange-kind", "kind", Kind::Text),
                Column("exchange-state", "state", Kind::Named("exchange-state")),
                Column("exchange-attempts", "attempts", Kind::Text),
                Column("exchange-delivered", "delivered", Kind::Time),
            ],
        ),
        (
            "/obligations",
            "obligations",
            "obligations-title",
            vec![
                Column("clock-obligation", "kind", Kind::Named("obligation")),
                Column("clock-due", "due", Kind::Time),
                Column("clock-left", "clock.state", Kind::Named("clock")),
                Column("obligation-fulfilled", "fulfilled.at", Kind::Time),
            ],
        ),
    ];
    for (path, id, title, columns) in sections {
        if let Some(items) = list(&console, &ctx, &s.api, &format!("{base}{path}")).await? {
            let incident_link = |item: &Value| {
                item["incident"]
                    .as_str()
                    .map(|i| format!("/console/tenants/{}/incidents/{}", seg(&t), seg(i)))
            };
            page.tables
                .push(table(&tr, id, title, &items, &columns, incident_link));
        }
    }
    let report = |kind: &str, format: &str| {
        format!(
            "/console/tenants/{}/reports/{kind}?format={format}&lang={}",
            seg(&t),
            tr.code()
        )
    };
    let formats = |kind: &str, formats: &[&str]| -> Vec<(String, String)> {
        formats
            .iter()
            .map(|f| (f.to_uppercase(), report(kind, f)))
            .collect()
    };
    let roles = &s.me.roles;
    let has = |role: &str| roles.iter().any(|r| r == role);
    if has("isoc-admin") || has("tenant-owner") {
        page.forms.push(
            FormView::new(&tr, "asset-create", "form-asset", &here)
                .hidden("tenant", &t)
                .text(&tr, "name", "asset-name", true)
                .hinted(
                    &tr,
                    "product",
                    "asset-product",
                    "cpe:2.3:a:vendor:product or pkg:type/name",
                )
                .text(&tr, "version", "asset-version", false)
                .hinted(&tr, "addresses", "asset-addresses", "10.0.0.0/24 10.0.1.5"),
        );
    }
    if has("isoc-admin") || has("tenant-owner") {
        let scale = || {
            (1..=5)
                .map(|n| (n.to_string(), n.to_string()))
                .collect::<Vec<_>>()
        };
        page.forms.push(
            FormView::new(&tr, "risk-create", "form-risk", &here)
                .hidden("tenant", &t)
                .text(&tr, "title", "risk-title", true)
                .text(&tr, "threat", "risk-threat", true)
                .choice(&tr, "likelihood", "risk-likelihood", scale())
                .choice(&tr, "impact", "risk-impact", scale())
                .choice(
                    &tr,
                    "treatment",
                    "risk-treatment",
                    ["mitigate", "accept", "transfer", "avoid"]
                        .iter()
                        .map(|v| ((*v).to_owned(), tr.kind("treatment", v)))
                        .collect(),
                )
                .text(&tr, "plan", "risk-plan", false)
                .text(&tr, "owner", "risk-owner", true),
        );
    }
    if has("isoc-admin") {
        let options = |values: &[&str], prefix: &str| -> Vec<(String, String)> {
            values
                .iter()
                .map(|v| ((*v).to_owned(), tr.kind(prefix, v)))
                .collect()
        };
        page.forms.push(
            FormView::new(&tr, "contact-create", "form-contact", &here)
                .hidden("tenant", &t)
                .choice(
                    &tr,
                    "role",
                    "contact-role",
                    options(&["owner", "security", "personal_data"], "contact-role"),
                )
                .text(&tr, "name", "contact-name", true)
                .choice(
                    &tr,
                    "channel",
                    "contact-channel",
                    options(&["email", "webhook"], "contact-channel"),
                )
                .text(&tr, "address", "contact-address", true)
                .choice(
                    &tr,
                    "language",
                    "contact-language",
                    options(&["kk", "ru", "en"], "lang"),
                ),
        );
        page.forms.push(
            FormView::new(&tr, "contacts-confirm", "form-contacts-confirm", &here)
                .hidden("tenant", &t),
        );
        // The organization's facilities, sources and their tokens, and how long its events are kept.
        page.forms.push(
            FormView::new(&tr, "facility-create", "form-facility", &here)
                .hidden("tenant", &t)
                .hinted(&tr, "id", "facility-id", "portal")
                .text(&tr, "name", "facility-name", true)
                .choice(
                    &tr,
                    "class",
                    "facility-class",
                    ["1", "2", "3"]
                        .iter()
                        .map(|c| ((*c).to_owned(), (*c).to_owned()))
                        .collect(),
                )
                .choice(
                    &tr,
                    "critical",
                    "facility-critical",
                    vec![
                        ("false".to_owned(), tr.t("no")),
                        ("true".to_owned(), tr.t("yes")),
                    ],
                ),
        );
        page.forms.push(
            FormView::new(&tr, "source-create", "form-source", &here)
                .hidden("tenant", &t)
                .hinted(&tr, "id", "source-id", "portal-syslog")
                .text(&tr, "name", "source-name", true)
                .text(&tr, "facility", "source-facility", false)
                .hinted(
                    &tr,
                    "format",
                    "source-format",
                    "syslog, json, cef, leef, evtx",
                )
                .hinted(&tr, "interval", "source-interval", "300"),
        );
        page.forms.push(
            FormView::new(&tr, "source-token", "form-source-token", &here)
                .hidden("tenant", &t)
                .text(&tr, "source", "source-id", true),
        );
        page.forms.push(
            FormView::new(&tr, "source-certificate", "form-source-certificate", &here)
                .hidden("tenant", &t)
                .text(&tr, "source", "source-id", true)
                .hinted(
                    &tr,
                    "common_name",
                    "certificate-common-name",
                    "web1.akimat.kz",
                )
                .text(&tr, "fingerprint_sha256", "certificate-fingerprint", false),
        );
        page.forms.push(
            FormView::new(&tr, "retention-change", "form-retention", &here)
                .hidden("tenant", &t)
                .hinted(&tr, "hot_days", "retention-hot", "60")
                .hinted(&tr, "archive_years", "retention-years", "3"),
        );
    }
    page.links = vec![
        (
            tr.t("report-quarterly"),
            formats("quarterly", &["html", "csv", "xml", "json"]),
        ),
        (
            tr.t("report-journal"),
            formats("journal", &["html", "csv", "xml", "json"]),
        ),
        (
            tr.t("report-metrics"),
            formats("metrics", &["html", "csv", "json"]),
        ),
    ];
    // What may be shared at each TLP level, as a STIX 2.1 bundle (the same as the TAXII collections at
    // /taxii2/{tenant}/), for those who read the organization's intelligence.
    if has("analyst") || has("tenant-owner") {
        page.links.push((
            tr.t("intel-stix"),
            ["clear", "green", "amber", "red"]
                .iter()
                .map(|level| {
                    (
                        format!("TLP:{}", level.to_uppercase()),
                        format!("/console/tenants/{}/intel.stix?tlp={level}", seg(&t)),
                    )
                })
                .collect(),
        ));
    }
    Ok(page.done())
}

/// The organization's threat intelligence as a STIX 2.1 bundle of one TLP level, downloaded through the API.
pub(crate) async fn intel_stix(
    State(console): State<Console>,
    ctx: Ctx,
    Path(t): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let here = format!("/console/tenants/{}", seg(&t));
    let s = signed(&console, &ctx, "tenants", &here).await?;
    let level = query.get("tlp").map_or("amber", String::as_str);
    let path = format!("/api/v1/tenants/{}/intel/stix?tlp={}", seg(&t), seg(level));
    let reply = s
        .api
        .send(Method::GET, &path, None)
        .await
        .map_err(|f| fail(&console, ctx.lang, f))?;
    Ok(crate::pages::download(reply))
}

/// A report as the API renders it: HTML shown (with the report's own styles, and no script at all), the other
/// formats downloaded.
pub(crate) async fn report(
    State(console): State<Console>,
    ctx: Ctx,
    Path((t, kind)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let here = format!("/console/tenants/{}", seg(&t));
    let s = signed(&console, &ctx, "tenants", &here).await?;
    if !["quarterly", "journal", "metrics"].contains(&kind.as_str()) {
        return Err(fail(
            &console,
            ctx.lang,
            Failure::invalid(format!("report `{kind}`: quarterly, journal or metrics")),
        ));
    }
    let path = format!(
        "/api/v1/tenants/{}/reports/{kind}?{}",
        seg(&t),
        query_string(query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    );
    pass_report(
        &console,
        &ctx,
        &s.api,
        &path,
        &format!("{t}-{kind}"),
        &query,
    )
    .await
}

/// The consolidated quarterly report of every organization the person may read reports of.
pub(crate) async fn consolidated(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let s = signed(&console, &ctx, "tenants", "/console/tenants").await?;
    let path = format!(
        "/api/v1/reports/quarterly?{}",
        query_string(query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    );
    pass_report(
        &console,
        &ctx,
        &s.api,
        &path,
        "consolidated-quarterly",
        &query,
    )
    .await
}

/// A report as the API renders it: HTML shown (with the report's own styles, and no script at all), the other
/// formats downloaded as `name.format`.
async fn pass_report(
    console: &Console,
    ctx: &Ctx,
    api: &Api,
    path: &str,
    name: &str,
    query: &HashMap<String, String>,
) -> PageResult {
    let reply = api
        .send(Method::GET, path, None)
        .await
        .map_err(|f| fail(console, ctx.lang, f))?;
    let media = reply
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let html = media.to_str().is_ok_and(|m| m.starts_with("text/html"));
    let format = query.get("format").map_or("html", String::as_str);
    let disposition = if html {
        HeaderValue::from_static("inline")
    } else {
        HeaderValue::from_str(&format!("attachment; filename=\"{name}.{format}\""))
            .unwrap_or(HeaderValue::from_static("attachment"))
    };
    Ok((
        [
            (header::CONTENT_TYPE, media),
            (header::CONTENT_DISPOSITION, disposition),
            // The report's own stylesheet is inline; it runs no script and loads nothing.
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
                ),
            ),
        ],
        reply.body,
    )
        .into_response())
}

/// The ISOC's people and the NCCIS access grants.
pub(crate) async fn users(State(console): State<Console>, ctx: Ctx) -> PageResult {
    let s = signed(&console, &ctx, "users", "/console/users").await?;
    let tr = s.tr;
    let mut page = TablesPage::new(tr, s.chrome, tr.t("users-title"));
    if let Some(items) = list(&console, &ctx, &s.api, "/api/v1/users?limit=500").await? {
        page.tables.push(table(
            &tr,
            "users",
            "users-title",
            &items,
            &[
                Column("user-id", "id", Kind::Text),
                Column("user-name", "display_name", Kind::Text),
                Column("user-roles", "roles", Kind::List),
                Column("user-tenants", "tenants", Kind::List),
                Column("user-mfa", "mfa_enrolled", Kind::Flag),
                Column("user-locked", "locked_until", Kind::Time),
                Column("user-disabled", "disabled", Kind::Flag),
            ],
            |_| None,
        ));
    }
    if let Some(items) = list(&console, &ctx, &s.api, "/api/v1/grants?limit=500").await? {
        page.tables.push(table(
            &tr,
            "grants",
            "grants-title",
            &items,
            &[
                Column("grant-user", "user", Kind::Text),
                Column("tenant", "tenant", Kind::Text),
                Column("grant-starts", "starts", Kind::Time),
                Column("grant-ends", "ends", Kind::Time),
                Column("grant-revoked", "revoked", Kind::Time),
                Column("reason", "reason", Kind::Text),
            ],
            |_| None,
        ));
    }
    if s.me.roles.iter().any(|r| r == "isoc-admin") {
        let roles = [
            "analyst",
            "tenant-owner",
            "isoc-admin",
            "auditor",
            "system-admin",
            "nccis-auditor",
            "nccis-officer",
        ];
        page.forms.push(
            FormView::new(&tr, "user-create", "form-user", "/console/users")
                .text(&tr, "id", "user-id", true)
                .text(&tr, "display_name", "user-name", false)
                .choice(
                    &tr,
                    "role",
                    "user-roles",
                    roles
                        .iter()
                        .map(|r| ((*r).to_owned(), (*r).to_owned()))
                        .collect(),
                )
                .hinted(&tr, "tenants", "user-tenants", "akimat bank"),
        );
    }
    if page.tables.is_empty() {
        page.intro = Some(tr.t("nothing-for-role"));
    }
    Ok(page.done())
}

/// The sealed audit trail, newest first, filtered by user, action or outcome.
pub(crate) async fn audit(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let s = signed(&console, &ctx, "audit", "/console/audit").await?;
    let tr = s.tr;
    let filters = ["user", "action", "outcome", "tenant"]
        .into_iter()
        .filter_map(|key| {
            let value = query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())?;
            Some((key, value))
        });
    let path = format!(
        "/api/v1/audit?{}",
        query_string([("limit", "200")].into_iter().chain(filters))
    );
    let mut page = TablesPage::new(tr, s.chrome, tr.t("audit-title"));
    match s.api.get::<Value>(&path).await {
        Ok(answer) => {
            let records = answer["records"].as_array().cloned().unwrap_or_default();
            let mut t = table(
                &tr,
                "audit",
                "audit-title",
                &records,
                &[
                    Column("event-time", "record.at", Kind::Time),
                    Column("audit-user", "record.actor.user", Kind::Text),
                    Column("audit-action", "record.action", Kind::Text),
                    Column("audit-outcome", "record.outcome", Kind::Text),
                    Column("tenant", "record.tenant", Kind::Text),
                    Column("audit-object", "record.object", Kind::Text),
                    Column("audit-detail", "record.detail", Kind::Text),
                ],
                |_| None,
            );
            t.note = Some(tr.n("audit-matched", answer["matched"].as_u64().unwrap_or(0)));
            page.tables.push(t);
        }
        Err(f) if f.status == StatusCode::FORBIDDEN => page.intro = Some(tr.t("nothing-for-role")),
        Err(f) if f.status == StatusCode::BAD_REQUEST => page.intro = Some(f.message),
        Err(f) => return Err(fail(&console, ctx.lang, f)),
    }
    Ok(page.done())
}

/// Rule files imported, and each organization's rule switches and exceptions.
pub(crate) async fn rules(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let s = signed(&console, &ctx, "rules", "/console/rules").await?;
    let tr = s.tr;
    let mut page = TablesPage::new(tr, s.chrome, tr.t("rules-title"));
    page.links.push((
        tr.t("rules-beside"),
        vec![
            (tr.t("indicators-title"), "/console/indicators".to_owned()),
            (tr.t("anomalies-title"), "/console/anomalies".to_owned()),
        ],
    ));
    if let Some(items) = list(&console, &ctx, &s.api, "/api/v1/rules/files").await? {
        // Who may list the imported files may import one; the rule test page says first what would load.
        page.forms.push(
            FormView::new(&tr, "rule-import", "form-rule-import", "/console/rules")
                .hinted(
                    &tr,
                    "name",
                    "rule-import-name",
                    "linux/auth/root_guessing.yml",
                )
                .area(&tr, "text", "rule-import-text", true),
        );
        page.tables.push(table(
            &tr,
            "rule-files",
            "rule-files-title",
            &items,
            &[
                Column("rule-file", "name", Kind::Text),
                Column("rule-version", "version", Kind::Text),
                Column("rule-imported", "imported", Kind::Time),
                Column("rule-imported-by", "imported_by", Kind::Text),
                Column("rule-sha256", "sha256", Kind::Text),
            ],
            |_| None,
        ));
    }
    let tenants = list(&console, &ctx, &s.api, "/api/v1/tenants")
        .await?
        .unwrap_or_default();
    let chosen = query.get("tenant").cloned().or_else(|| {
        tenants
            .first()
            .and_then(|t| t["id"].as_str())
            .map(str::to_owned)
    });
    if let Some(tenant) = chosen {
        let controls = s
            .api
            .get::<Value>(&format!("/api/v1/tenants/{}/rules", seg(&tenant)))
            .await;
        match controls {
            Ok(controls) => {
                let empty = Vec::new();
                let mut settings = table(
                    &tr,
                    "rule-settings",
                    "rule-settings-title",
                    controls["settings"].as_array().unwrap_or(&empty),
                    &[
                        Column("rule-id", "rule_id", Kind::Text),
                        Column("rule-enabled", "enabled", Kind::Flag),
                        Column("reason", "reason", Kind::Text),
                        Column("rule-updated-by", "updated_by", Kind::Text),
                        Column("rule-updated", "updated", Kind::Time),
                    ],
                    |_| None,
                );
                settings.note = Some(tr.with("rule-settings-note", "tenant", &tenant));
                page.tables.push(settings);
                page.tables.push(table(
                    &tr,
                    "rule-exceptions",
                    "rule-exceptions-title",
                    controls["exceptions"].as_array().unwrap_or(&empty),
                    &[
                        Column("rule-id", "rule_id", Kind::Text),
                        Column("rule-field", "field", Kind::Text),
                        Column("rule-value", "value", Kind::Text),
                        Column("reason", "reason", Kind::Text),
                        Column("rule-until", "until", Kind::Time),
                    ],
                    |_| None,
                ));
            }
            Err(f) if f.status == StatusCode::FORBIDDEN => {}
            Err(f) => return Err(fail(&console, ctx.lang, f)),
        }
        if s.me.roles.iter().any(|r| r == "isoc-admin") {
            let back = format!("/console/rules?tenant={}", seg(&tenant));
            page.forms.push(
                FormView::new(&tr, "rule-switch", "form-rule-switch", &back)
                    .hidden("tenant", &tenant)
                    .text(&tr, "rule", "rule-id", true)
                    .choice(
                        &tr,
                        "enabled",
                        "rule-enabled",
                        vec![
                            ("false".into(), tr.t("rule-off")),
                            ("true".into(), tr.t("rule-on")),
                        ],
                    )
                    .text(&tr, "reason", "reason", true),
            );
        }
        page.links = vec![(
            tr.t("tenant"),
            tenants
                .iter()
                .filter_map(|t| {
                    let id = t["id"].as_str()?;
                    Some((
                        t["name"].as_str().unwrap_or(id).to_owned(),
                        format!("/console/rules?tenant={}", seg(id)),
                    ))
                })
                .collect(),
        )];
    }
    page.links.push((
        tr.t("rule-test-title"),
        vec![(tr.t("rule-test-open"), "/console/rules/test".to_owned())],
    ));
    if page.tables.is_empty() {
        page.intro = Some(tr.t("nothing-for-role"));
    }
    Ok(page.done())
}

/// At an NCCIS hub: every reported incident at its latest step with the counts, the ISOCs registered, and the
/// messages received.
pub(crate) async fn hub(State(console): State<Console>, ctx: Ctx) -> PageResult {
    let s = signed(&console, &ctx, "hub", "/console/hub").await?;
    let tr = s.tr;
    let mut page = TablesPage::new(tr, s.chrome, tr.t("hub-title"));
    match s.api.get::<Value>("/api/v1/hub/incidents").await {
        Ok(view) => {
            let counts = |key: &str, prefix: &str| -> Vec<(String, String)> {
                view[key]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (format!("{prefix}{k}"), v.to_string()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            page.counts = vec![
                (
                    tr.t("hub-by-level"),
                    counts("by_level", &format!("{} ", tr.t("level"))),
                ),
                (tr.t("hub-by-isoc"), counts("by_isoc", "")),
                (
                    tr.t("hub-by-sector"),
                    counts("by_sector", "")
                        .into_iter()
                        .map(|(sector, n)| (tr.kind("sector", &sector), n))
                        .collect(),
                ),
                (tr.t("hub-by-status"), counts("by_status", "")),
                (
                    tr.t("hub-late"),
                    vec![(tr.t("hub-late-reports"), view["late"].to_string())],
                ),
            ];
            let empty = Vec::new();
            page.tables.push(table(
                &tr,
                "hub-incidents",
                "hub-incidents-title",
                view["incidents"].as_array().unwrap_or(&empty),
                &[
                    Column("level", "level", Kind::Text),
                    Column("incident-title", "title", Kind::Text),
                    Column("hub-isoc", "isoc", Kind::Text),
                    Column("tenant", "organization", Kind::Text),
                    Column("tenant-sector", "sector", Kind::Named("sector")),
                    Column("incident-category", "category", Kind::Named("category")),
                    Column("status", "status", Kind::Named("incident-status")),
                    Column("hub-confirmed", "confirmed", Kind::Time),
                    Column("hub-reported", "reported", Kind::Time),
                    Column("hub-late", "late", Kind::Flag),
                ],
                |_| None,
            ));
        }
        Err(f) if f.status == StatusCode::FORBIDDEN => {}
        Err(f) => return Err(fail(&console, ctx.lang, f)),
    }
    if let Some(items) = list(&console, &ctx, &s.api, "/api/v1/hub/crises").await? {
        page.tables.push(table(
            &tr,
            "crises",
            "crises-title",
            &items,
            &[
                Column("crisis-title", "title", Kind::Text),
                Column("level", "level", Kind::Text),
                Column("crisis-state", "state", Kind::Named("crisis-state")),
                Column("crisis-opened", "opened", Kind::Time),
                Column("crisis-opened-by", "opened_by", Kind::Text),
            ],
            |item| {
                item["id"]
                    .as_str()
                    .map(|id| format!("/console/hub/crises/{}", seg(id)))
            },
        ));
        page.forms.push(
            FormView::new(&tr, "crisis-open", "form-crisis-open", "/console/hub")
                .text(&tr, "title", "crisis-title", true)
                .text(&tr, "reason", "crisis-reason", true)
                .choice(
                    &tr,
                    "level",
                    "level",
                    ["3", "4", "5"]
                        .iter()
                        .map(|l| ((*l).to_owned(), (*l).to_owned()))
                        .collect(),
                ),
        );
    }
    if let Some(items) = list(&console, &ctx, &s.api, "/api/v1/hub/isocs").await? {
        page.forms.push(
            FormView::new(&tr, "isoc-register", "form-isoc-register", "/console/hub")
                .hinted(&tr, "id", "hub-isoc", "isoc-energy")
                .text(&tr, "name", "tenant-name", true)
                .area(&tr, "certificate", "isoc-certificate", true),
        );
        page.tables.push(table(
            &tr,
            "hub-isocs",
            "hub-isocs-title",
            &items,
            &[
                Column("hub-isoc", "id", Kind::Text),
                Column("tenant-name", "name", Kind::Text),
                Column("hub-fingerprint", "fingerprint", Kind::Text),
                Column("hub-registered", "registered", Kind::Time),
                Column("hub-revoked", "revoked", Kind::Time),
            ],
            |_| None,
        ));
    }
    if let Some(items) = list(&console, &ctx, &s.api, "/api/v1/hub/sightings").await? {
        page.tables.push(table(
            &tr,
            "hub-sightings",
            "hub-sightings-title",
            &items,
            &[
                Column("hub-sighting-last", "last_seen", Kind::Time),
                Column("hub-sighting-indicator", "pattern", Kind::Text),
                Column("hub-sighting-name", "name", Kind::Text),
                Column("hub-sighting-isocs", "isocs", Kind::List),
                Column("hub-sighting-organizations", "organizations", Kind::Text),
                Column("hub-sighting-hits", "hits", Kind::Text),
                Column("hub-sighting-first", "first_seen", Kind::Time),
            ],
            |_| None,
        ));
    }
    if let Some(items) = list(&console, &ctx, &s.api, "/api/v1/hub/messages?limit=100").await? {
        page.tables.push(table(
            &tr,
            "hub-messages",
            "hub-messages-title",
            &items,
            &[
                Column("hub-received", "received", Kind::Time),
                Column("hub-isoc", "isoc", Kind::Text),
                Column("exchange-kind", "kind", Kind::Text),
                Column("tenant", "tenant", Kind::Text),
                Column("level", "level", Kind::Text),
                Column("hub-digest", "digest", Kind::Text),
            ],
            |_| None,
        ));
    }
    if page.tables.is_empty() {
        page.intro = Some(tr.t("nothing-for-role"));
    }
    Ok(page.done())
}

/// The threat-intelligence indicators detection matches: the feeds with their counts, what did not load and why,
/// and the indicators with their provenance, by kind (`?kind=`) and text (`?q=`).
pub(crate) async fn indicators(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let s = signed(&console, &ctx, "rules", "/console/indicators").await?;
    let tr = s.tr;
    let mut page = TablesPage::new(tr, s.chrome, tr.t("indicators-title"));
    let mut path = "/api/v1/indicators".to_owned();
    let filter: Vec<(&str, &str)> = ["kind", "q"]
        .iter()
        .filter_map(|k| query.get(*k).map(|v| (*k, v.as_str())))
        .collect();
    if !filter.is_empty() {
        path.push('?');
        path.push_str(&query_string(filter.into_iter()));
    }
    let view = match s.api.get::<Value>(&path).await {
        Ok(view) => view,
        Err(f) if f.status == StatusCode::FORBIDDEN => {
            page.intro = Some(tr.t("nothing-for-role"));
            return Ok(page.done());
        }
        Err(f) => return Err(fail(&console, ctx.lang, f)),
    };
    if view["loaded"] != true {
        page.intro = Some(tr.t("indicators-none"));
        return Ok(page.done());
    }
    page.counts = vec![(
        tr.t("indicators-title"),
        vec![
            (tr.t("indicators-total"), view["total"].to_string()),
            (tr.t("indicators-matched"), view["matched"].to_string()),
        ],
    )];
    page.links.push((
        tr.t("indicator-kind"),
        ["ip", "domain", "url", "md5", "sha1", "sha256", "email"]
            .iter()
            .map(|k| ((*k).to_owned(), format!("/console/indicators?kind={k}")))
            .collect(),
    ));
    let empty = Vec::new();
    let feeds: Vec<Value> = view["feeds"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|f| {
            let mut f = f.clone();
            let kinds = f["by_kind"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            f["kinds"] = Value::String(kinds);
            f
        })
        .collect();
    page.tables.push(table(
        &tr,
        "indicator-feeds",
        "indicator-feeds-title",
        &feeds,
        &[
            Column("indicator-feed", "feed", Kind::Text),
            Column("indicators-total", "indicators", Kind::Text),
            Column("indicator-kind", "kinds", Kind::Text),
        ],
        |_| None,
    ));
    page.tables.push(table(
        &tr,
        "indicator-problems",
        "indicator-problems-title",
        view["problems"].as_array().unwrap_or(&empty),
        &[
            Column("indicator-feed", "origin", Kind::Text),
            Column("indicator-reference", "at", Kind::Text),
            Column("reason", "reason", Kind::Text),
        ],
        |_| None,
    ));
    page.tables.push(table(
        &tr,
        "indicators",
        "indicators-listed-title",
        view["indicators"].as_array().unwrap_or(&empty),
        &[
            Column("indicator-kind", "kind", Kind::Text),
            Column("indicator-value", "value", Kind::Text),
            Column("indicator-description", "description", Kind::Text),
            Column("indicator-feed", "feed", Kind::Text),
            Column("indicator-reference", "reference", Kind::Text),
            Column("indicator-tags", "tags", Kind::List),
            Column("indicator-valid-until", "valid_until", Kind::Time),
        ],
        |_| None,
    ));
    Ok(page.done())
}

/// Abnormal activity of users and software robots (R9): an organization's anomaly alerts with what was unusual,
/// the score and its explanation, the facility's class and the response it calls for (register; block; notify).
pub(crate) async fn anomalies(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let s = signed(&console, &ctx, "anomalies", "/console/anomalies").await?;
    let tr = s.tr;
    let (tenants, tenant) =
        crate::pages::tenant_choice(&console, ctx.lang, &s.api, query.get("tenant")).await?;
    let mut page = TablesPage::new(tr, s.chrome, tr.t("anomalies-title"));
    page.intro = Some(tr.t("anomalies-intro"));
    page.links = vec![(
        tr.t("tenant"),
        tenants
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    format!("/console/anomalies?tenant={}", seg(&t.id)),
                )
            })
            .collect(),
    )];
    if !tenant.is_empty() {
        let path = format!(
            "/api/v1/tenants/{}/alerts?kind=anomaly&limit=500",
            seg(&tenant)
        );
        if let Some(items) = list(&console, &ctx, &s.api, &path).await? {
            page.tables.push(table(
                &tr,
                "anomalies",
                "anomalies-title",
                &items,
                &[
                    Column("alert-first", "first", Kind::Time),
                    Column("anomaly-account", "detail.anomaly.account", Kind::Text),
                    Column("anomaly-robot", "detail.anomaly.robot", Kind::Flag),
                    Column(
                        "anomaly-kind",
                        "detail.anomaly.kind",
                        Kind::Named("anomaly-kind"),
                    ),
                    Column("anomaly-value", "detail.anomaly.value", Kind::Text),
                    Column("anomaly-score", "detail.anomaly.score", Kind::Text),
                    Column(
                        "anomaly-explanation",
                        "detail.anomaly.explanation",
                        Kind::Text,
                    ),
                    Column("anomaly-class", "detail.facility.class", Kind::Text),
                    Column("anomaly-response", "detail.response", Kind::List),
                    Column("status", "status", Kind::Named("alert-status")),
                ],
                |_| {
                    Some(format!(
                        "/console/alerts?tenant={}&status=all",
                        seg(&tenant)
                    ))
                },
            ));
        }
    }
    Ok(page.done())
}

/// A crisis room at the hub: the crisis, the incidents it is about, its members, tasks and timeline, and the
/// forms that run it while it is open.
pub(crate) async fn crisis(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    let here = format!("/console/hub/crises/{}", seg(&id));
    let s = signed(&console, &ctx, "hub", &here).await?;
    let tr = s.tr;
    let c: Value = s
        .api
        .get(&format!("/api/v1/hub/crises/{}", seg(&id)))
        .await
        .map_err(|f| fail(&console, ctx.lang, f))?;
    let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
    let mut page = TablesPage::new(tr, s.chrome, text("title"));
    page.intro = Some(text("reason"));
    let when = |k: &str| show(&tr, &c[k], Kind::Time);
    page.counts = vec![(
        tr.t("crisis-facts"),
        vec![
            (tr.t("level"), c["level"].to_string()),
            (
                tr.t("crisis-state"),
                tr.kind("crisis-state", &text("state")),
            ),
            (
                tr.t("crisis-opened"),
                format!("{} · {}", when("opened"), text("opened_by")),
            ),
        ],
    )];
    if let Some(summary) = c["summary"].as_str() {
        page.counts.push((
            tr.t("crisis-summary"),
            vec![(
                format!("{} · {}", when("closed"), text("closed_by")),
                summary.to_owned(),
            )],
        ));
    }
    let items = |k: &str| c[k].as_array().map_or(&[][..], Vec::as_slice);
    page.tables.push(table(
        &tr,
        "crisis-incidents",
        "crisis-incidents-title",
        items("incidents"),
        &[
            Column("hub-isoc", "isoc", Kind::Text),
            Column("crisis-incident", "incident", Kind::Text),
        ],
        |_| None,
    ));
    page.tables.push(table(
        &tr,
        "crisis-members",
        "crisis-members-title",
        items("members"),
        &[
            Column("crisis-member", "name", Kind::Text),
            Column("crisis-organization", "organization", Kind::Text),
            Column("crisis-role", "role", Kind::Text),
            Column("crisis-contact", "contact", Kind::Text),
        ],
        |_| None,
    ));
    let tasks = items("tasks");
    page.tables.push(table(
        &tr,
        "crisis-tasks",
        "crisis-tasks-title",
        tasks,
        &[
            Column("crisis-task", "title", Kind::Text),
            Column("crisis-owner", "owner", Kind::Text),
            Column("crisis-due", "due", Kind::Time),
            Column("crisis-done", "done", Kind::Time),
            Column("crisis-done-by", "done_by", Kind::Text),
        ],
        |_| None,
    ));
    page.tables.push(table(
        &tr,
        "crisis-timeline",
        "crisis-timeline-title",
        items("entries"),
        &[
            Column("event-time", "at", Kind::Time),
            Column("audit-user", "author", Kind::Text),
            Column("crisis-entry", "text", Kind::Text),
        ],
        |_| None,
    ));
    if c["state"] == "open" {
        let form = |action: &'static str, title: &str| {
            FormView::new(&tr, action, title, &here).hidden("crisis", &id)
        };
        page.forms.push(
            form("crisis-member", "form-crisis-member")
                .text(&tr, "name", "crisis-member", true)
                .text(&tr, "organization", "crisis-organization", true)
                .text(&tr, "role", "crisis-role", true)
                .text(&tr, "contact", "crisis-contact", false),
        );
        page.forms.push(
            form("crisis-task", "form-crisis-task")
                .text(&tr, "title", "crisis-task", true)
                .text(&tr, "owner", "crisis-owner", true)
                .hinted(&tr, "due", "crisis-due", "2026-12-31T18:00"),
        );
        let open: Vec<(String, String)> = tasks
            .iter()
            .filter(|t| t["done"].is_null())
            .filter_map(|t| Some((t["seq"].to_string(), t["title"].as_str()?.to_owned())))
            .collect();
        if !open.is_empty() {
            page.forms
                .push(form("crisis-task-done", "form-crisis-task-done").choice(
                    &tr,
                    "task",
                    "crisis-task",
                    open,
                ));
        }
        page.forms
            .push(form("crisis-entry", "form-crisis-entry").text(
                &tr,
                "text",
                "crisis-entry",
                true,
            ));
        page.forms
            .push(form("crisis-close", "form-crisis-close").text(
                &tr,
                "summary",
                "crisis-summary",
                true,
            ));
    }
    Ok(page.done())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{I18n, Lang};
    use serde_json::json;

    #[test]
    fn columns_read_paths_and_show_values_in_the_language() {
        let i18n = I18n::new();
        let tr = i18n.tr(Lang::Ru);
        let items = [json!({
            "id": "a", "retention": {"hot_days": 60}, "critical": true, "tags": ["x", "y"],
            "at": "2026-12-07T05:30:00Z", "state": "delivered", "missing": null,
        })];
        let t = table(
            &tr,
            "t",
            "tenants-title",
            &items,
            &[
                Column("tenant-id", "id", Kind::Text),
                Column("retention-hot", "retention.hot_days", Kind::Text),
                Column("facility-critical", "critical", Kind::Flag),
                Column("asset-addresses", "tags", Kind::List),
                Column("event-time", "at", Kind::Time),
                Column("exchange-state", "state", Kind::Named("exchange-state")),
                Column("tenant-name", "missing", Kind::Text),
            ],
            |i| Some(format!("/x/{}", i["id"].as_str().unwrap())),
        );
        assert_eq!(
            t.rows[0].0,
            [
                "a",
                "60",
                "да",
                "x, y",
                "2026-12-07 10:30",
                "доставлено",
                ""
            ]
        );
        assert_eq!(t.rows[0].1.as_deref(), Some("/x/a"));
        assert_eq!(t.head[0], "Идентификатор");
    }
}

#[derive(Template)]
#[template(path = "rule_test.html")]
struct RuleTestPage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    rule: String,
    events: String,
    error: Option<String>,
    tested: bool,
    rules: Vec<(String, String, String)>,
    problems: Vec<(Option<String>, String, String)>,
    /// (number, the event as given, the rules it matched)
    hits: Vec<(usize, String, String)>,
    /// (rule, a `match` sample, its index, whether it did what it says)
    samples: Vec<(String, bool, u64, bool)>,
}

/// The form to try a rule against sample events.
pub(crate) async fn rule_test_form(State(console): State<Console>, ctx: Ctx) -> PageResult {
    let s = signed(&console, &ctx, "rules", "/console/rules/test").await?;
    Ok(render(
        &RuleTestPage {
            tr: s.tr,
            c: s.chrome,
            rule: String::new(),
            events: String::new(),
            error: None,
            tested: false,
            rules: Vec::new(),
            problems: Vec::new(),
            hits: Vec::new(),
            samples: Vec::new(),
        },
        StatusCode::OK,
    ))
}

/// A rule tried through `POST /api/v1/rules/test`: what loads, what each event matched, the rule's own samples.
pub(crate) async fn rule_test(
    State(console): State<Console>,
    ctx: Ctx,
    body: bytes::Bytes,
) -> PageResult {
    let form = crate::pages::Form::parse(&body);
    let s = signed(&console, &ctx, "rules", "/console/rules/test").await?;
    let mut page = RuleTestPage {
        tr: s.tr,
        c: s.chrome,
        rule: form.get("rule").to_owned(),
        events: form.get("events").to_owned(),
        error: None,
        tested: false,
        rules: Vec::new(),
        problems: Vec::new(),
        hits: Vec::new(),
        samples: Vec::new(),
    };
    let mut events = Vec::new();
    for (n, line) in page
        .events
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        match serde_json::from_str::<Value>(line) {
            Ok(doc) => events.push(doc),
            Err(e) => {
                page.error = Some(page.tr.with(
                    "rule-test-bad-event",
                    "what",
                    &format!("{}: {e}", n + 1),
                ));
                return Ok(render(&page, StatusCode::UNPROCESSABLE_ENTITY));
            }
        }
    }
    let api = crate::pages::form_api(&console, &ctx, &form);
    let request = serde_json::json!({"rule": page.rule, "events": events});
    let answer: Value = api
        .post("/api/v1/rules/test", &request)
        .await
        .and_then(|r| r.json("rule test"))
        .map_err(|f| fail(&console, ctx.lang, f))?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let empty = Vec::new();
    page.tested = true;
    page.rules = answer["rules"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|r| (text(&r["id"]), text(&r["title"]), text(&r["level"])))
        .collect();
    page.problems = answer["problems"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|p| {
            (
                p["rule"].as_str().map(str::to_owned),
                text(&p["kind"]),
                text(&p["reason"]),
            )
        })
        .collect();
    page.hits = events
        .iter()
        .zip(answer["events"].as_array().unwrap_or(&empty))
        .enumerate()
        .map(|(n, (event, matched))| {
            let ids: Vec<String> = matched
                .as_array()
                .unwrap_or(&empty)
                .iter()
                .map(text)
                .collect();
            (n + 1, event.to_string(), ids.join(", "))
        })
        .collect();
    page.samples = answer["samples"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|o| {
            let expected = o["expected"].as_bool().unwrap_or(false);
            let matched = o["matched"].as_bool().unwrap_or(false);
            (
                text(&o["rule"]),
                expected,
                o["index"].as_u64().unwrap_or(0),
                expected == matched,
            )
        })
        .collect();
    Ok(render(&page, StatusCode::OK))
}
