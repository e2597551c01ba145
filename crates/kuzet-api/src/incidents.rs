//! Incidents: open one (its level assessed by the rubric), move it along its workflow (confirmation starts the
//! regulatory clocks and instantiates the response plan), complete plan tasks, fulfil obligations. Every answer
//! shows each clock's state at the server's now.

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::{SignedDuration, Timestamp};
use kuzet_cases::{Category, ClockState, Facts, Incident, Status, clock_state};
use kuzet_db::IncidentRecord;
use kuzet_model::access::Permission;
use kuzet_model::{ObjectId, TenantId};
use serde::Deserialize;

use crate::ApiError;
use crate::auth::{body, noted};
use crate::routes::{AuditNote, Authed};
use crate::state::ApiState;

/// The longest incident title, in characters.
const MAX_TITLE_CHARS: usize = 300;
/// How far ahead of the server's clock a `detected` time may be (a client's clock a little fast) and still be
/// taken, as the server's now.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// How long before its due instant a clock shows as due soon.
fn warning(kind: &str) -> SignedDuration {
    match kind {
        "nccis_report" | "owner_notification" => SignedDuration::from_mins(5),
        _ => SignedDuration::from_hours(4),
    }
}

fn clock_json(state: ClockState) -> serde_json::Value {
    match state {
        ClockState::Pending { remaining } => {
            serde_json::json!({"state": "pending", "remaining_seconds": remaining.as_secs()})
        }
        ClockState::DueSoon { remaining } => {
            serde_json::json!({"state": "due_soon", "remaining_seconds": remaining.as_secs()})
        }
        ClockState::Overdue { by } => {
            serde_json::json!({"state": "overdue", "overdue_seconds": by.as_secs()})
        }
        ClockState::Done { on_time } => serde_json::json!({"state": "done", "on_time": on_time}),
    }
}

fn obligation_json(o: &kuzet_db::ObligationRecord, now: Timestamp) -> serde_json::Value {
    let mut json = serde_json::json!({
        "id": o.id, "incident": o.incident, "kind": o.kind, "fact": o.fact, "due": o.due,
        "fulfilled": o.fulfilled.as_ref().map(|(at, by)| serde_json::json!({"at": at, "by": by})),
    });
    json["clock"] = clock_json(clock_state(
        o.due,
        o.fulfilled.as_ref().map(|(at, _)| *at),
        now,
        warning(&o.kind),
    ));
    json
}

/// Every obligation of a tenant with its clock, the soonest due first: what the owner and the ISOC must do, when.
/// A page of obligations, soonest due first (see [`Page`]).
pub(crate) async fn obligations(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(t): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = Page::from_query(&query)?;
    let (list, next) = state
        .db()
        .obligations_page(a.scope()?, &tenant(&t)?, page.after, page.limit)
        .await?;
    let now = state.now();
    Ok(page.answer(list.iter().map(|o| obligation_json(o, now)).collect(), next))
}

/// A list's page as asked: `?limit=` (1–500, default 100) and `?after=` the cursor the previous page answered in
/// its `Kuzet-Next-Cursor` header (absent on the last page). Any other parameter is refused.
struct Page<'q> {
    limit: u32,
    after: Option<&'q str>,
}

impl<'q> Page<'q> {
    fn from_query(query: &'q HashMap<String, String>) -> Result<Self, ApiError> {
        Self::from_query_with(query, &[])
    }

    /// Like [`Page::from_query`], also allowing the list's own filters `extra`.
    fn from_query_with(
        query: &'q HashMap<String, String>,
        extra: &[&str],
    ) -> Result<Self, ApiError> {
        if let Some(other) = query
            .keys()
            .find(|k| !matches!(k.as_str(), "limit" | "after") && !extra.contains(&k.as_str()))
        {
            return Err(ApiError::bad_request(format!(
                "unknown parameter `{other}`"
            )));
        }
        let limit = match query.get("limit") {
            None => 100,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=500).contains(l))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("limit `{text}`: a number from 1 to 500"))
                })?,
        };
        Ok(Page {
            limit,
            after: query.get("after").map(String::as_str),
        })
    }

    /// The page's items as a JSON array, with the next page's cursor in the header when there is one.
    fn answer(&self, items: Vec<serde_json::Value>, next: Option<String>) -> Response {
        let mut response = Json(items).into_response();
        // A cursor is digits, a dot and an object id: always a valid header value.
        if let Some(value) = next.and_then(|n| axum::http::HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert("kuzet-next-cursor", value);
        }
        response
    }
}

fn incident_json(record: &IncidentRecord, now: Timestamp) -> serde_json::Value {
    let i = &record.incident;
    let level = i.level.level();
    serde_json::json!({
        "id": record.id,
        "tenant": i.tenant,
        "title": i.title,
        "category": {"name": i.category.as_str(), "kz_cert": i.category.kz_cert()},
        "level": {
            "value": level.value(),
            "name": level.name(),
            "assessed": i.level.assessed.value(),
            "override": i.level.overridden.as_ref().map(|(l, reason, by)| serde_json::json!({"value": l.value(), "reason": reason, "by": by})),
            "escalates": i.escalates(),
            "rubric_version": i.level.assessment.as_ref().map(|(v, _)| v),
            "explanation": i.level.assessment.as_ref().map(|(_, e)| e),
        },
        "facilities": i.facilities,
        "personal_data": i.personal_data,
        "detected": i.detected,
        "status": i.status.as_str(),
        "next": i.status.next().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "created_by": record.created_by,
        "transitions": i.transitions.iter().map(|t| serde_json::json!({
            "from": t.from.as_str(), "to": t.to.as_str(), "at": t.at, "actor": t.actor, "reason": t.reason,
        })).collect::<Vec<_>>(),
        "obligations": record.obligations.iter().map(|o| obligation_json(o, now)).collect::<Vec<_>>(),
        "tasks": record.tasks.iter().map(|t| serde_json::json!({
            "seq": t.seq, "kind": t.kind, "title": {"en": t.title.en, "ru": t.title.ru, "kk": t.title.kk},
            "owner": t.owner, "due": t.due,
            "done": t.done.as_ref().map(|(at, by)| serde_json::json!({"at": at, "by": by})),
        })).collect::<Vec<_>>(),
    })
}

fn tenant(text: &str) -> Result<TenantId, ApiError> {
    TenantId::new(text).map_err(|e| ApiError::not_found(e.to_string()))
}

fn incident_id(text: String) -> Result<ObjectId, ApiError> {
    ObjectId::new(text).map_err(|e| ApiError::not_found(format!("incident: {e}")))
}

/// A page of incidents, newest first (see [`Page`]).
pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(t): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = Page::from_query(&query)?;
    let (records, next) = state
        .db()
        .incidents_page(a.scope()?, &tenant(&t)?, page.after, page.limit)
        .await?;
    let now = state.now();
    Ok(page.answer(
        records.iter().map(|r| incident_json(r, now)).collect(),
        next,
    ))
}

pub(crate) async fn view(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = incident_id(id)?;
    let record = state.db().incident(a.scope()?, &tenant(&t)?, &id).await?;
    Ok(noted(
        Json(incident_json(&record, state.now())),
        AuditNote {
            object: Some(format!("incident:{id}")),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FactsBody {
    functional_impact: String,
    information_impact: String,
    recoverability: String,
    scope: String,
    /// Only for a tenant without registered facilities: otherwise the facilities' records decide.
    #[serde(default)]
    facility_class: Option<u8>,
    #[serde(default)]
    critical_infrastructure: Option<bool>,
    stage: String,
    #[serde(default)]
    threat_to_life: bool,
    #[serde(default)]
    unsubstantiated: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Create {
    title: String,
    category: String,
    facts: FactsBody,
    /// The facilities affected (ids of the tenant's registered facilities).
    #[serde(default)]
    facilities: Vec<String>,
    #[serde(default)]
    detected: Option<Timestamp>,
    #[serde(default)]
    personal_data: bool,
}

/// The facility class and critical flag the rubric scores: from the records of the facilities named when the
/// tenant has registered facilities (an incident at a class-1 critical facility cannot be typed in as class 3),
/// as typed only when it has none. Also the audit detail's note of the facilities.
async fn facility_facts(
    state: &ApiState,
    a: &Authed,
    tenant: &TenantId,
    request: &Create,
) -> Result<(u8, bool, String), ApiError> {
    let unprocessable = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m);
    let registered = state.db().incident_facilities(a.scope()?, tenant).await?;
    let typed = (
        request.facts.facility_class,
        request.facts.critical_infrastructure,
    );
    if registered.is_empty() {
        let class = typed.0.ok_or_else(|| {
            unprocessable(
                "facts.facility_class: give it (1–3): the tenant has no registered facilities"
                    .into(),
            )
        })?;
        if let Some(named) = request.facilities.first() {
            return Err(unprocessable(format!(
                "facilities: the tenant has no registered facilities; `{named}` is not one"
            )));
        }
        return Ok((class, typed.1.unwrap_or(false), String::new()));
    }
    if request.facilities.is_empty() {
        let known: Vec<&str> = registered.iter().map(|f| f.id.as_str()).collect();
        return Err(unprocessable(format!(
            "facilities: name the facilities affected, one or more of {}",
            known.join(", ")
        )));
    }
    let mut affected = Vec::new();
    for id in &request.facilities {
        let facility = registered
            .iter()
            .find(|f| f.id.as_str() == id)
            .ok_or_else(|| {
                unprocessable(format!(
                    "facilities: `{id}` is not a facility of tenant `{tenant}`"
                ))
            })?;
        affected.push(facility);
    }
    let class = affected.iter().map(|f| f.class.number()).min().unwrap_or(3);
    let critical = affected.iter().any(|f| f.critical);
    if typed.0.is_some_and(|c| c != class) || typed.1.is_some_and(|c| c != critical) {
        return Err(unprocessable(format!(
            "facts: the facilities' records say class {class}, critical {critical}; leave facility_class and \
             critical_infrastructure out, they come from the records"
        )));
    }
    let names: Vec<&str> = affected.iter().map(|f| f.id.as_str()).collect();
    Ok((
        class,
        critical,
        format!(
            "; facilities {} (class {class}, critical {critical})",
            names.join(", ")
        ),
    ))
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(t): Path<String>,
    json: Result<Json<Create>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let now = state.now();
    let invalid = |e: kuzet_cases::CasesError| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
    };
    let category = Category::parse(&request.category).map_err(invalid)?;
    let tenant_id = tenant(&t)?;
    let (facility_class, critical_infrastructure, affected) =
        facility_facts(&state, &a, &tenant_id, &request).await?;
    let f = request.facts;
    let facts = Facts {
        functional_impact: f.functional_impact,
        information_impact: f.information_impact,
        recoverability: f.recoverability,
        scope: f.scope,
        facility_class,
        critical_infrastructure,
        stage: f.stage,
        threat_to_life: f.threat_to_life,
        unsubstantiated: f.unsubstantiated,
    };
    let assessment = state.inner.rules.rubric.assess(&facts).map_err(invalid)?;
    let title = request.title.trim().to_owned();
    let unprocessable = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m);
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(unprocessable(format!(
            "title: {} characters; give 1 to {MAX_TITLE_CHARS}",
            title.chars().count()
        )));
    }
    let detected = request.detected.unwrap_or(now);
    if detected > now + CLOCK_SKEW {
        return Err(unprocessable(format!(
            "detected: {detected} is in the future (the server's time is {now}); give the time it was detected"
        )));
    }
    let detected = detected.min(now);
    // The clocks run on the business calendar: a time outside the years it holds could never be confirmed.
    let years = state.inner.rules.calendar.years();
    let year = kuzet_model::time::kz_local(detected).year();
    if !years.contains(&year) {
        let range = match (years.first(), years.last()) {
            (Some(first), Some(last)) => format!("{first}–{last}"),
            _ => "none".to_owned(),
        };
        return Err(unprocessable(format!(
            "detected: {detected} is in {year}, outside the business calendar's years ({range}); the regulatory \
             clocks could not run"
        )));
    }
    let mut incident = Incident::new(tenant_id, title, category, assessment.level, detected);
    // What the level was judged on stays with the incident: the facilities, the rubric's version, its explanation.
    incident.facilities = request
        .facilities
        .iter()
        .filter_map(|f| kuzet_model::FacilityId::new(f.as_str()).ok())
        .collect();
    incident.level.assessment = Some((assessment.rubric_version, assessment.explanation.clone()));
    if request.personal_data {
        incident.mark_personal_data(detected);
    }
    let id = state
        .db()
        .create_incident(a.scope()?, &incident, now)
        .await?;
    Ok(noted(
        (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "id": id,
                "level": assessment.level.value(),
                "explanation": assessment.explanation,
            })),
        ),
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!(
                "level {} ({}){affected}",
                assessment.level.value(),
                assessment.explanation
            )),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Move {
    to: String,
    #[serde(default)]
    reason: Option<String>,
}

pub(crate) async fn transition(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
    json: Result<Json<Move>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let id = incident_id(id)?;
    let to = Status::parse(&request.to)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()))?;
    let now = state.now();
    let tenant = tenant(&t)?;
    let created = state
        .db()
        .transition_incident(
            a.scope()?,
            &tenant,
            &id,
            kuzet_db::IncidentStep {
                to,
                reason: request.reason,
            },
            now,
            &state.inner.rules,
        )
        .await?;
    // Read back with the caller's own read scope: a role that may move an incident without reading it gets the
    // status only.
    let body = match a
        .principal
        .scope_for(Permission::IncidentsRead, &tenant, now)
    {
        Ok(read) => incident_json(&state.db().incident(&read, &tenant, &id).await?, now),
        Err(_) => serde_json::json!({"id": id, "status": to.as_str()}),
    };
    Ok(noted(
        Json(body),
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!(
                "to {}; obligations started: {}",
                to.as_str(),
                created
                    .iter()
                    .map(|o| format!("{} due {}", o.kind, o.due))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            ..AuditNote::default()
        },
    ))
}

pub(crate) async fn complete_task(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id, task)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id = incident_id(id)?;
    let seq: u32 = task
        .parse()
        .map_err(|_| ApiError::not_found(format!("task `{task}`: not found")))?;
    state
        .db()
        .complete_task(a.scope()?, &tenant(&t)?, &id, seq, state.now())
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!("task {seq} done")),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fulfil {
    by: String,
}

pub(crate) async fn fulfil(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
    json: Result<Json<Fulfil>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    if request.by.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "`by`: say what fulfilled it",
        ));
    }
    let id = ObjectId::new(id).map_err(|e| ApiError::not_found(format!("obligation: {e}")))?;
    let by = format!("{}: {}", a.principal.user(), request.by.trim());
    state
        .db()
        .fulfil_obligation(a.scope()?, &tenant(&t)?, &id, &by, state.now())
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        AuditNote {
            object: Some(format!("obligation:{id}")),
            detail: Some(by),
            ..AuditNote::default()
        },
    ))
}

/// An incident's evidence and chain of custody; the viewing itself is recorded in the custody.
pub(crate) async fn evidence(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let tenant = tenant(&t)?;
    let id = incident_id(id)?;
    let scope = a.scope()?;
    state
        .db()
        .record_custody(
            scope,
            &tenant,
            &id,
            "accessed",
            "viewed through the API",
            state.now(),
        )
        .await?;
    let (items, custody) = state.db().evidence(scope, &tenant, &id).await?;
    Ok(noted(
        Json(serde_json::json!({
            "items": items.iter().map(|i| serde_json::json!({
                "event_id": i.event_id, "added_by": i.added_by, "added": i.added, "reason": i.reason,
            })).collect::<Vec<_>>(),
            "custody": custody.iter().map(|c| serde_json::json!({
                "at": c.at, "actor": c.actor, "action": c.action, "reason": c.reason,
            })).collect::<Vec<_>>(),
        })),
        AuditNote {
            object: Some(format!("incident:{id}")),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Attach {
    event: String,
    reason: String,
}

/// Attaches a sealed event of the incident's tenant: an event that is not sealed in that tenant's log is "not
/// found", whichever tenant it belongs to.
pub(crate) async fn attach_evidence(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
    json: Result<Json<Attach>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let tenant = tenant(&t)?;
    let id = incident_id(id)?;
    let event: kuzet_model::EventId = request
        .event
        .parse()
        .map_err(|e: kuzet_model::ModelError| ApiError::not_found(e.to_string()))?;
    let dir = state.inner.archive_dir.clone();
    let log = tenant.clone();
    let sealed = crate::content::blocking(&state, move || {
        kuzet_store::prove_in(&dir, &log, event).map_err(|e| ApiError::internal("archive", e))
    })
    .await?;
    if sealed.is_none() {
        return Err(ApiError::not_found(format!(
            "event {event}: not found in the sealed log of tenant `{tenant}`"
        )));
    }
    state
        .db()
        .attach_evidence(
            a.scope()?,
            &tenant,
            &id,
            event,
            &request.reason,
            state.now(),
        )
        .await?;
    Ok(noted(
        StatusCode::CREATED,
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!("event {event} attached: {}", request.reason)),
            ..AuditNote::default()
        },
    ))
}

/// Query parameters of a report: `lang` (`kk`, `ru`, `en`; default `kk`) and `format` (`html` or `csv`).
fn report_language_and_format(
    query: &std::collections::HashMap<String, String>,
) -> Result<(kuzet_cases::Lang, String, String), ApiError> {
    let lang_code = query.get("lang").map_or("kk", String::as_str).to_owned();
    let lang = kuzet_cases::Lang::parse(&lang_code)
        .ok_or_else(|| ApiError::bad_request(format!("lang `{lang_code}`: kk, ru or en")))?;
    let format = query
        .get("format")
        .map_or("html", String::as_str)
        .to_owned();
    if !matches!(format.as_str(), "html" | "csv") {
        return Err(ApiError::bad_request(format!(
            "format `{format}`: html or csv"
        )));
    }
    Ok((lang, lang_code, format))
}

/// Renders and answers a report, with its audit note.
async fn answer_report(
    state: &ApiState,
    a: &Authed,
    tenant: TenantId,
    kind: kuzet_cases::ReportKind,
    query: &std::collections::HashMap<String, String>,
    object: String,
) -> Result<Response, ApiError> {
    let (lang, lang_code, format) = report_language_and_format(query)?;
    let (name, rows) = state
        .db()
        .incident_report(a.scope()?, &tenant, kind, lang)
        .await?;
    let report = kuzet_cases::IncidentReport {
        kind,
        tenant: tenant.to_string(),
        tenant_name: name,
        generated: state.now(),
        rows,
    };
    let (content_type, body) = if format == "csv" {
        ("text/csv; charset=utf-8", report.to_csv(lang))
    } else {
        ("text/html; charset=utf-8", report.to_html(lang))
    };
    Ok(noted(
        ([(axum::http::header::CONTENT_TYPE, content_type)], body),
        AuditNote {
            object: Some(object),
            detail: Some(format!(
                "{} incident(s), {format}, {lang_code}",
                report.rows.len()
            )),
            ..AuditNote::default()
        },
    ))
}

/// The quarterly incident report (R20) of a tenant: `year` and `quarter` (default: the previous quarter), `lang`,
/// `format`.
pub(crate) async fn quarterly_report(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(t): Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let bad = |m: String| ApiError::bad_request(m);
    let default = kuzet_cases::Quarter::of(state.now()).previous();
    let year = match query.get("year") {
        Some(y) => y
            .parse::<i16>()
            .map_err(|_| bad(format!("year `{y}`: not a year")))?,
        None => default.year,
    };
    let number = match query.get("quarter") {
        Some(q) => q
            .parse::<i8>()
            .map_err(|_| bad(format!("quarter `{q}`: 1 to 4")))?,
        None => default.number,
    };
    let quarter = kuzet_cases::Quarter::new(year, number).map_err(|e| bad(e.to_string()))?;
    let object = format!("report:quarterly:{}-Q{}", quarter.year, quarter.number);
    answer_report(
        &state,
        &a,
        tenant(&t)?,
        kuzet_cases::ReportKind::Quarterly(quarter),
        &query,
        object,
    )
    .await
}

/// The incident journal (R13) of a tenant between `from` and `until` (RFC 3339; default: the last 366 days),
/// `lang`, `format`.
pub(crate) async fn journal(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(t): Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let instant = |name: &str, default: Timestamp| -> Result<Timestamp, ApiError> {
        query.get(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|e| ApiError::bad_request(format!("{name} `{v}`: {e}")))
        })
    };
    let from = instant("from", now - SignedDuration::from_hours(24 * 366))?;
    let to = instant("until", now)?;
    if to <= from {
        return Err(ApiError::bad_request("`until` must be after `from`"));
    }
    let object = format!("report:journal:{from}..{to}");
    answer_report(
        &state,
        &a,
        tenant(&t)?,
        kuzet_cases::ReportKind::Journal { from, to },
        &query,
        object,
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LevelOverride {
    level: u8,
    reason: String,
}

/// An analyst's level instead of the rubric's, with the reason; the assessed level stays beside it, and both are
/// in the audit record.
pub(crate) async fn override_level(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
    json: Result<Json<LevelOverride>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let id = incident_id(id)?;
    let level = kuzet_model::Criticality::new(request.level).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("level: {e}"),
        )
    })?;
    let reason = request.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_TITLE_CHARS * 4 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!(
                "reason: {} characters; an override needs a reason of 1 to {}",
                reason.chars().count(),
                MAX_TITLE_CHARS * 4
            ),
        ));
    }
    let (assessed, now_level) = state
        .db()
        .override_incident_level(a.scope()?, &tenant(&t)?, &id, level, &reason)
        .await?;
    Ok(noted(
        Json(serde_json::json!({
            "id": id, "assessed": assessed.value(), "level": now_level.value(), "reason": reason,
        })),
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!(
                "level {} instead of the assessed {}: {reason}",
                now_level.value(),
                assessed.value()
            )),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PersonalData {
    /// When the personal data was found (default: now).
    #[serde(default)]
    found: Option<Timestamp>,
}

/// Marks that personal data was found; on a confirmed incident this starts the authority's one-business-day clock.
pub(crate) async fn mark_personal_data(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
    json: Result<Json<PersonalData>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let id = incident_id(id)?;
    let now = state.now();
    let found = request.found.unwrap_or(now);
    if found > now + CLOCK_SKEW {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("found: {found} is in the future (the server's time is {now})"),
        ));
    }
    let created = state
        .db()
        .mark_incident_personal_data(
            a.scope()?,
            &tenant(&t)?,
            &id,
            found,
            now,
            &state.inner.rules,
        )
        .await?;
    let kinds: Vec<&str> = created.iter().map(|o| o.kind.as_str()).collect();
    Ok(noted(
        Json(serde_json::json!({
            "id": id,
            "obligations": created.iter().map(|o| serde_json::json!({
                "kind": o.kind, "fact": o.fact.to_string(), "due": o.due.to_string(),
            })).collect::<Vec<_>>(),
        })),
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!(
                "personal data found at {found}; obligations started: {}",
                if kinds.is_empty() {
                    "none yet (starts at confirmation)".to_owned()
                } else {
                    kinds.join(", ")
                }
            )),
            ..AuditNote::default()
        },
    ))
}

fn alert_json(record: &kuzet_db::AlertRecord) -> serde_json::Value {
    serde_json::json!({
        "id": record.id,
        "tenant": record.tenant,
        "rule": {"id": record.rule_id, "title": record.rule_title, "level": record.level, "kind": record.kind},
        "first": record.first,
        "last": record.last,
        "created": record.created,
        "hits": record.hits,
        "events": record.events,
        "events_not_listed": record.events_dropped,
        "detail": record.detail,
        "status": record.status.as_str(),
        "triage": record.status_by.as_ref().map(|by| serde_json::json!({
            "by": by, "at": record.status_at, "reason": record.status_reason,
        })),
    })
}

fn alert_id(text: String) -> Result<ObjectId, ApiError> {
    ObjectId::new(text).map_err(|e| ApiError::not_found(format!("alert: {e}")))
}

fn alert_status(text: &str) -> Result<kuzet_db::AlertStatus, ApiError> {
    kuzet_db::AlertStatus::parse(text)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()))
}

/// A page of a tenant's alerts, newest first, optionally of one `status`.
pub(crate) async fn alerts(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(t): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = Page::from_query_with(&query, &["status"])?;
    let status = query.get("status").map(|s| alert_status(s)).transpose()?;
    let (records, next) = state
        .db()
        .alerts_page(a.scope()?, &tenant(&t)?, status, page.after, page.limit)
        .await?;
    Ok(page.answer(records.iter().map(alert_json).collect(), next))
}

pub(crate) async fn alert(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = alert_id(id)?;
    let record = state.db().alert(a.scope()?, &tenant(&t)?, &id).await?;
    Ok(noted(
        Json(alert_json(&record)),
        AuditNote {
            object: Some(format!("alert:{id}")),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Triage {
    status: String,
    #[serde(default)]
    reason: String,
}

/// Sets an alert's triage state: acknowledged, false_positive or escalated, with a reason.
pub(crate) async fn triage(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
    json: Result<Json<Triage>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let id = alert_id(id)?;
    let status = alert_status(&request.status)?;
    let reason = request.reason.trim().to_owned();
    if reason.chars().count() > MAX_TITLE_CHARS * 4 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!(
                "reason: {} characters; at most {}",
                reason.chars().count(),
                MAX_TITLE_CHARS * 4
            ),
        ));
    }
    let record = state
        .db()
        .triage_alert(a.scope()?, &tenant(&t)?, &id, status, &reason, state.now())
        .await?;
    Ok(noted(
        Json(alert_json(&record)),
        AuditNote {
            object: Some(format!("alert:{id}")),
            detail: Some(format!("status={}", status.as_str())),
            ..AuditNote::default()
        },
    ))
}

fn setting_json(s: &kuzet_db::RuleSetting) -> serde_json::Value {
    serde_json::json!({
        "rule_id": s.rule_id, "enabled": s.enabled, "reason": s.reason,
        "updated_by": s.updated_by, "updated": s.updated,
    })
}

fn exception_json(e: &kuzet_db::RuleException) -> serde_json::Value {
    serde_json::json!({
        "id": e.id, "rule_id": e.rule_id, "field": e.field, "value": e.value, "reason": e.reason,
        "created_by": e.created_by, "created": e.created, "until": e.until,
    })
}

/// A tenant's rule settings and exceptions: why a rule is quiet for it.
pub(crate) async fn rule_controls(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(t): Path<String>,
) -> Result<Response, ApiError> {
    let (settings, exceptions) = state.db().rule_controls(a.scope()?, &tenant(&t)?).await?;
    Ok(Json(serde_json::json!({
        "settings": settings.iter().map(setting_json).collect::<Vec<_>>(),
        "exceptions": exceptions.iter().map(exception_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSwitch {
    enabled: bool,
    #[serde(default)]
    reason: String,
}

/// Switches a rule on or off for a tenant; switching off needs a reason.
pub(crate) async fn set_rule(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, rule)): Path<(String, String)>,
    json: Result<Json<RuleSwitch>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let setting = state
        .db()
        .set_rule_enabled(
            a.scope()?,
            &tenant(&t)?,
            &rule,
            request.enabled,
            &request.reason,
            state.now(),
        )
        .await?;
    Ok(noted(
        Json(setting_json(&setting)),
        AuditNote {
            object: Some(format!("rule:{rule}")),
            detail: Some(format!("enabled={}", request.enabled)),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExceptionBody {
    field: String,
    value: String,
    reason: String,
    #[serde(default)]
    until: Option<Timestamp>,
}

/// Adds an exception: the rule's hits on events whose field equals the value are not the tenant's alerts.
pub(crate) async fn add_exception(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, rule)): Path<(String, String)>,
    json: Result<Json<ExceptionBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let exception = state
        .db()
        .add_rule_exception(
            a.scope()?,
            &tenant(&t)?,
            &kuzet_db::NewRuleException {
                rule_id: rule.clone(),
                field: request.field,
                value: request.value,
                reason: request.reason,
                until: request.until,
            },
            state.now(),
        )
        .await?;
    Ok(noted(
        (StatusCode::CREATED, Json(exception_json(&exception))),
        AuditNote {
            object: Some(format!("rule:{rule}")),
            detail: Some(format!(
                "exception {} {}={}",
                exception.id, exception.field, exception.value
            )),
            ..AuditNote::default()
        },
    ))
}

pub(crate) async fn remove_exception(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = ObjectId::new(id).map_err(|e| ApiError::not_found(format!("rule exception: {e}")))?;
    state
        .db()
        .remove_rule_exception(a.scope()?, &tenant(&t)?, &id)
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        AuditNote {
            object: Some(format!("rule-exception:{id}")),
            ..AuditNote::default()
        },
    ))
}
