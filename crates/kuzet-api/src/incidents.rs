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

/// A regulatory clock as it stands now.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum ClockView {
    Pending { remaining_seconds: i64 },
    DueSoon { remaining_seconds: i64 },
    Overdue { overdue_seconds: i64 },
    Done { on_time: bool },
}

impl From<ClockState> for ClockView {
    fn from(state: ClockState) -> Self {
        match state {
            ClockState::Pending { remaining } => Self::Pending {
                remaining_seconds: remaining.as_secs(),
            },
            ClockState::DueSoon { remaining } => Self::DueSoon {
                remaining_seconds: remaining.as_secs(),
            },
            ClockState::Overdue { by } => Self::Overdue {
                overdue_seconds: by.as_secs(),
            },
            ClockState::Done { on_time } => Self::Done { on_time },
        }
    }
}

/// When something was done and by whom.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct DoneView {
    #[schemars(with = "String")]
    at: Timestamp,
    by: String,
}

/// An obligation (a report, a notice, a confirmation) with its due instant and clock.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct ObligationView {
    #[schemars(with = "String")]
    id: ObjectId,
    #[schemars(with = "Option<String>")]
    incident: Option<ObjectId>,
    kind: String,
    /// The fact the obligation counts from.
    #[schemars(with = "String")]
    fact: Timestamp,
    #[schemars(with = "String")]
    due: Timestamp,
    fulfilled: Option<DoneView>,
    clock: ClockView,
}

pub(crate) fn obligation_view(o: &kuzet_db::ObligationRecord, now: Timestamp) -> ObligationView {
    ObligationView {
        id: o.id.clone(),
        incident: o.incident.clone(),
        kind: o.kind.clone(),
        fact: o.fact,
        due: o.due,
        fulfilled: o.fulfilled.as_ref().map(|(at, by)| DoneView {
            at: *at,
            by: by.clone(),
        }),
        clock: clock_state(
            o.due,
            o.fulfilled.as_ref().map(|(at, _)| *at),
            now,
            kuzet_cases::warning_window(&o.kind),
        )
        .into(),
    }
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
    Ok(page.answer(list.iter().map(|o| obligation_view(o, now)).collect(), next))
}

/// A list's page as asked: `?limit=` (1–500, default 100) and `?after=` the cursor the previous page answered in
/// its `Kuzet-Next-Cursor` header (absent on the last page). Any other parameter is refused.
pub(crate) struct Page<'q> {
    pub limit: u32,
    pub after: Option<&'q str>,
}

impl<'q> Page<'q> {
    pub(crate) fn from_query(query: &'q HashMap<String, String>) -> Result<Self, ApiError> {
        Self::from_query_with(query, &[])
    }

    /// Like [`Page::from_query`], also allowing the list's own filters `extra`.
    pub(crate) fn from_query_with(
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
    pub(crate) fn answer<T: serde::Serialize>(
        &self,
        items: Vec<T>,
        next: Option<String>,
    ) -> Response {
        let mut response = Json(items).into_response();
        // A cursor is digits, a dot and an object id: always a valid header value.
        if let Some(value) = next.and_then(|n| axum::http::HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert("kuzet-next-cursor", value);
        }
        response
    }
}

/// An incident: category, level with its rubric and any override, status with its history, obligations and the
/// response plan's tasks.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct IncidentView {
    #[schemars(with = "String")]
    id: ObjectId,
    #[schemars(with = "String")]
    tenant: TenantId,
    title: String,
    category: CategoryView,
    level: LevelView,
    #[schemars(with = "Vec<String>")]
    facilities: Vec<kuzet_model::FacilityId>,
    /// When personal data was found, if it was.
    #[schemars(with = "Option<String>")]
    personal_data: Option<Timestamp>,
    #[schemars(with = "String")]
    detected: Timestamp,
    status: &'static str,
    /// The statuses it may move to.
    next: Vec<&'static str>,
    #[schemars(with = "String")]
    created_by: kuzet_model::UserId,
    transitions: Vec<TransitionView>,
    obligations: Vec<ObligationView>,
    tasks: Vec<TaskView>,
    /// The alerts escalated into it, oldest first.
    #[schemars(with = "Vec<String>")]
    alerts: Vec<ObjectId>,
    /// Who works it (absent: nobody yet).
    #[schemars(with = "Option<String>")]
    assignee: Option<kuzet_model::UserId>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct CategoryView {
    name: &'static str,
    /// The category KZ-CERT names it by.
    kz_cert: &'static str,
}

/// Criticality 0–5: the rubric's, or an analyst's override (the assessed level stays beside it).
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct LevelView {
    value: u8,
    name: &'static str,
    assessed: u8,
    #[serde(rename = "override")]
    overridden: Option<OverrideView>,
    /// Levels 3–5 escalate further (R11).
    escalates: bool,
    rubric_version: Option<u32>,
    explanation: Option<String>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct OverrideView {
    value: u8,
    reason: String,
    #[schemars(with = "String")]
    by: kuzet_model::UserId,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct TransitionView {
    from: &'static str,
    to: &'static str,
    #[schemars(with = "String")]
    at: Timestamp,
    #[schemars(with = "String")]
    actor: kuzet_model::UserId,
    reason: Option<String>,
}

/// A task of the response plan (one of the mandatory measures, or an escalation step).
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct TaskView {
    seq: u32,
    kind: String,
    title: TitleView,
    owner: String,
    #[schemars(with = "String")]
    due: Timestamp,
    done: Option<DoneView>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct TitleView {
    en: String,
    ru: String,
    kk: String,
}

/// An incident just created: its id and the level the rubric gave, explained.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct Created {
    #[schemars(with = "String")]
    id: ObjectId,
    level: u8,
    explanation: String,
}

/// What a status change answers: the incident, or only its status for a role that may move but not read it.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub(crate) enum Moved {
    Incident(Box<IncidentView>),
    Status {
        #[schemars(with = "String")]
        id: ObjectId,
        status: &'static str,
    },
}

/// An incident's evidence and its chain of custody.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct EvidenceView {
    items: Vec<EvidenceItemView>,
    /// Files kept as evidence, each under its SHA-256.
    files: Vec<crate::files::EvidenceFileView>,
    custody: Vec<CustodyView>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct EvidenceItemView {
    #[schemars(with = "String")]
    event_id: kuzet_model::EventId,
    added_by: String,
    #[schemars(with = "String")]
    added: Timestamp,
    reason: String,
}

/// One act on the evidence: collected, accessed, exported, handed over — who, when, why.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct CustodyView {
    #[schemars(with = "String")]
    at: Timestamp,
    actor: String,
    action: String,
    reason: String,
}

/// An incident's level after an override, beside the assessed one.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct LevelOverridden {
    #[schemars(with = "String")]
    id: ObjectId,
    assessed: u8,
    level: u8,
    reason: String,
}

/// Personal data marked on an incident, and the obligations that started (none before confirmation).
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct PersonalDataMarked {
    #[schemars(with = "String")]
    id: ObjectId,
    obligations: Vec<StartedObligation>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct StartedObligation {
    kind: String,
    #[schemars(with = "String")]
    fact: Timestamp,
    #[schemars(with = "String")]
    due: Timestamp,
}

fn incident_view(record: &IncidentRecord, now: Timestamp) -> IncidentView {
    let i = &record.incident;
    let level = i.level.level();
    IncidentView {
        id: record.id.clone(),
        tenant: i.tenant.clone(),
        title: i.title.clone(),
        category: CategoryView {
            name: i.category.as_str(),
            kz_cert: i.category.kz_cert(),
        },
        level: LevelView {
            value: level.value(),
            name: level.name(),
            assessed: i.level.assessed.value(),
            overridden: i
                .level
                .overridden
                .as_ref()
                .map(|(l, reason, by)| OverrideView {
                    value: l.value(),
                    reason: reason.clone(),
                    by: by.clone(),
                }),
            escalates: i.escalates(),
            rubric_version: i.level.assessment.as_ref().map(|(v, _)| *v),
            explanation: i.level.assessment.as_ref().map(|(_, e)| e.clone()),
        },
        facilities: i.facilities.clone(),
        personal_data: i.personal_data,
        detected: i.detected,
        status: i.status.as_str(),
        next: i.status.next().iter().map(|s| s.as_str()).collect(),
        created_by: record.created_by.clone(),
        transitions: i
            .transitions
            .iter()
            .map(|t| TransitionView {
                from: t.from.as_str(),
                to: t.to.as_str(),
                at: t.at,
                actor: t.actor.clone(),
                reason: t.reason.clone(),
            })
            .collect(),
        obligations: record
            .obligations
            .iter()
            .map(|o| obligation_view(o, now))
            .collect(),
        tasks: record
            .tasks
            .iter()
            .map(|t| TaskView {
                seq: t.seq,
                kind: t.kind.clone(),
                title: TitleView {
                    en: t.title.en.clone(),
                    ru: t.title.ru.clone(),
                    kk: t.title.kk.clone(),
                },
                owner: t.owner.clone(),
                due: t.due,
                done: t.done.as_ref().map(|(at, by)| DoneView {
                    at: *at,
                    by: by.to_string(),
                }),
            })
            .collect(),
        alerts: record.alerts.clone(),
        assignee: record.assignee.clone(),
    }
}

fn tenant(text: &str) -> Result<TenantId, ApiError> {
    TenantId::new(text).map_err(|e| ApiError::not_found(e.to_string()))
}

pub(crate) fn incident_id(text: String) -> Result<ObjectId, ApiError> {
    ObjectId::new(text).map_err(|e| ApiError::not_found(format!("incident: {e}")))
}

/// Ids as an audit detail lists them.
fn listed(ids: &[ObjectId]) -> String {
    ids.iter()
        .map(ObjectId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
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
        records.iter().map(|r| incident_view(r, now)).collect(),
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
        Json(incident_view(&record, state.now())),
        AuditNote {
            object: Some(format!("incident:{id}")),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
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

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Create {
    title: String,
    category: String,
    facts: FactsBody,
    /// The facilities affected (ids of the tenant's registered facilities).
    #[serde(default)]
    facilities: Vec<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    detected: Option<Timestamp>,
    #[serde(default)]
    personal_data: bool,
    /// Alerts of the tenant to escalate into it (at most 100); it was detected when the first of them was.
    #[serde(default)]
    alerts: Vec<String>,
}

/// At most this many alerts are escalated by one request.
const MAX_ALERTS: usize = 100;

/// Alert ids of a request: well-formed, distinct and at most [`MAX_ALERTS`].
fn alert_ids(ids: &[String]) -> Result<Vec<ObjectId>, ApiError> {
    let unprocessable = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m);
    if ids.len() > MAX_ALERTS {
        return Err(unprocessable(format!(
            "alerts: {} given; at most {MAX_ALERTS} at once",
            ids.len()
        )));
    }
    let mut out: Vec<ObjectId> = Vec::with_capacity(ids.len());
    for id in ids {
        let parsed = ObjectId::new(id.as_str())
            .map_err(|e| unprocessable(format!("alerts: `{id}`: {e}")))?;
        if out.contains(&parsed) {
            return Err(unprocessable(format!("alerts: `{id}` is given twice")));
        }
        out.push(parsed);
    }
    Ok(out)
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
    let alerts = alert_ids(&request.alerts)?;
    let id = state
        .db()
        .create_incident_from_alerts(a.scope()?, &incident, &alerts, now)
        .await?;
    Ok(noted(
        (
            StatusCode::CREATED,
            Json(Created {
                id: id.clone(),
                level: assessment.level.value(),
                explanation: assessment.explanation.clone(),
            }),
        ),
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!(
                "level {} ({}){affected}{}",
                assessment.level.value(),
                assessment.explanation,
                if alerts.is_empty() {
                    String::new()
                } else {
                    format!("; from alerts {}", listed(&alerts))
                }
            )),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
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
        Ok(read) => Moved::Incident(Box::new(incident_view(
            &state.db().incident(&read, &tenant, &id).await?,
            now,
        ))),
        Err(_) => Moved::Status {
            id: id.clone(),
            status: to.as_str(),
        },
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

#[derive(Deserialize, schemars::JsonSchema)]
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

/// An incident's evidence (what is kept, not its content) and chain of custody. Listing is not an access: reading
/// a kept event (`event.view`) or downloading a kept file is, and each is recorded in the custody.
pub(crate) async fn evidence(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let tenant = tenant(&t)?;
    let id = incident_id(id)?;
    let scope = a.scope()?;
    let (items, custody) = state.db().evidence(scope, &tenant, &id).await?;
    let files = state.db().evidence_files(scope, &tenant, &id).await?;
    Ok(noted(
        Json(EvidenceView {
            items: items
                .iter()
                .map(|i| EvidenceItemView {
                    event_id: i.event_id,
                    added_by: i.added_by.clone(),
                    added: i.added,
                    reason: i.reason.clone(),
                })
                .collect(),
            files: files
                .iter()
                .map(crate::files::EvidenceFileView::from)
                .collect(),
            custody: custody
                .iter()
                .map(|c| CustodyView {
                    at: c.at,
                    actor: c.actor.clone(),
                    action: c.action.clone(),
                    reason: c.reason.clone(),
                })
                .collect(),
        }),
        AuditNote {
            object: Some(format!("incident:{id}")),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
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
    if !matches!(format.as_str(), "html" | "csv" | "xml" | "json") {
        return Err(ApiError::bad_request(format!(
            "format `{format}`: html, csv, xml or json"
        )));
    }
    Ok((lang, lang_code, format))
}

/// A report as JSON: the same fields as its XML form, codes beside labels in `lang`.
fn report_json(report: &kuzet_cases::IncidentReport, lang: kuzet_cases::Lang) -> serde_json::Value {
    let kind = match report.kind {
        kuzet_cases::ReportKind::Quarterly(q) => {
            serde_json::json!({"quarterly": {"year": q.year, "quarter": q.number}})
        }
        kuzet_cases::ReportKind::Journal { from, to } => {
            serde_json::json!({"journal": {"from": from.to_string(), "to": to.to_string()}})
        }
    };
    serde_json::json!({
        "v": 1,
        "kind": kind,
        "lang": lang.code(),
        "organization": {"id": report.tenant, "name": report.tenant_name},
        "generated": report.generated.to_string(),
        "incidents": report.rows.iter().map(|r| serde_json::json!({
            "id": r.incident,
            "title": r.title,
            "category": r.category.as_str(),
            "kz_cert_category": r.category.kz_cert(),
            "level": r.level.value(),
            "status": r.status.as_str(),
            "detected": r.detected.to_string(),
            "confirmed": r.confirmed.map(|c| c.to_string()),
            "personal_data": r.personal_data,
            "measures": r.measures,
        })).collect::<Vec<_>>(),
    })
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
    let (content_type, body) = match format.as_str() {
        "csv" => ("text/csv; charset=utf-8", report.to_csv(lang)),
        "xml" => ("application/xml; charset=utf-8", report.to_xml(lang)),
        "json" => ("application/json", report_json(&report, lang).to_string()),
        _ => ("text/html; charset=utf-8", report.to_html(lang)),
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

/// `year` and `quarter` of a report (default: the quarter before `now`'s).
fn quarter_param(
    query: &std::collections::HashMap<String, String>,
    now: Timestamp,
) -> Result<kuzet_cases::Quarter, ApiError> {
    let bad = |m: String| ApiError::bad_request(m);
    let default = kuzet_cases::Quarter::of(now).previous();
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
    kuzet_cases::Quarter::new(year, number).map_err(|e| bad(e.to_string()))
}

/// The consolidated quarterly report (R20): every organization the caller may read reports of, with totals by
/// level, category and organization; `year`, `quarter`, `lang`, `format` as for one organization's.
pub(crate) async fn consolidated_report(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let quarter = quarter_param(&query, now)?;
    let (lang, lang_code, format) = report_language_and_format(&query)?;
    let reports = a.scope()?;
    let list = a
        .principal
        .scope(Permission::TenantsRead, now)
        .map_err(|e| ApiError::forbidden(e.to_string()))?;
    let mut parts = Vec::new();
    for record in state.db().tenants(&list).await? {
        if !reports.permits(&record.tenant.id) {
            continue;
        }
        let kind = kuzet_cases::ReportKind::Quarterly(quarter);
        let (name, rows) = state
            .db()
            .incident_report(reports, &record.tenant.id, kind, lang)
            .await?;
        parts.push(kuzet_cases::IncidentReport {
            kind,
            tenant: record.tenant.id.to_string(),
            tenant_name: name,
            generated: now,
            rows,
        });
    }
    let report = kuzet_cases::ConsolidatedReport {
        quarter,
        generated: now,
        parts,
    };
    let (content_type, body) = match format.as_str() {
        "csv" => ("text/csv; charset=utf-8", report.to_csv(lang)),
        "xml" => ("application/xml; charset=utf-8", report.to_xml(lang)),
        "json" => (
            "application/json",
            serde_json::json!({
                "v": 1,
                "kind": {"consolidated": {"year": quarter.year, "quarter": quarter.number}},
                "generated": now.to_string(),
                "lang": lang.code(),
                "organizations": report.parts.iter().map(|p| report_json(p, lang)).collect::<Vec<_>>(),
            })
            .to_string(),
        ),
        _ => ("text/html; charset=utf-8", report.to_html(lang)),
    };
    let incidents: usize = report.parts.iter().map(|p| p.rows.len()).sum();
    Ok(noted(
        ([(axum::http::header::CONTENT_TYPE, content_type)], body),
        AuditNote {
            object: Some(format!(
                "report:consolidated:{}-Q{}",
                quarter.year, quarter.number
            )),
            detail: Some(format!(
                "{} organization(s), {incidents} incident(s), {format}, {lang_code}",
                report.parts.len()
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
    let quarter = quarter_param(&query, state.now())?;
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

#[derive(Deserialize, schemars::JsonSchema)]
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
        Json(LevelOverridden {
            id: id.clone(),
            assessed: assessed.value(),
            level: now_level.value(),
            reason: reason.clone(),
        }),
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

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PersonalData {
    /// When the personal data was found (default: now).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
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
        Json(PersonalDataMarked {
            id: id.clone(),
            obligations: created
                .iter()
                .map(|o| StartedObligation {
                    kind: o.kind.clone(),
                    fact: o.fact,
                    due: o.due,
                })
                .collect(),
        }),
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

/// An alert: the rule that raised it, when, how often, the events (at most a bounded list), its triage.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct AlertView {
    #[schemars(with = "String")]
    id: ObjectId,
    #[schemars(with = "String")]
    tenant: TenantId,
    rule: AlertRule,
    #[schemars(with = "String")]
    first: Timestamp,
    #[schemars(with = "String")]
    last: Timestamp,
    #[schemars(with = "String")]
    created: Timestamp,
    hits: u64,
    events: Vec<String>,
    /// Events of the alert beyond the listed ones: counted, never silently lost.
    events_not_listed: u64,
    /// What the detection found (matched values, correlation, anomaly explanation).
    detail: serde_json::Value,
    status: &'static str,
    triage: Option<TriageView>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct AlertRule {
    id: String,
    title: String,
    level: String,
    kind: String,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct TriageView {
    by: String,
    #[schemars(with = "Option<String>")]
    at: Option<Timestamp>,
    reason: Option<String>,
}

fn alert_view(record: &kuzet_db::AlertRecord) -> AlertView {
    AlertView {
        id: record.id.clone(),
        tenant: record.tenant.clone(),
        rule: AlertRule {
            id: record.rule_id.clone(),
            title: record.rule_title.clone(),
            level: record.level.clone(),
            kind: record.kind.clone(),
        },
        first: record.first,
        last: record.last,
        created: record.created,
        hits: record.hits,
        events: record.events.clone(),
        events_not_listed: record.events_dropped,
        detail: record.detail.clone(),
        status: record.status.as_str(),
        triage: record.status_by.as_ref().map(|by| TriageView {
            by: by.clone(),
            at: record.status_at,
            reason: record.status_reason.clone(),
        }),
    }
}

fn alert_id(text: String) -> Result<ObjectId, ApiError> {
    ObjectId::new(text).map_err(|e| ApiError::not_found(format!("alert: {e}")))
}

fn alert_status(text: &str) -> Result<kuzet_db::AlertStatus, ApiError> {
    kuzet_db::AlertStatus::parse(text)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()))
}

/// A page of a tenant's alerts, newest first, optionally of one `status` and of one `kind`.
pub(crate) async fn alerts(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(t): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = Page::from_query_with(&query, &["status", "kind"])?;
    let kind = match query.get("kind").map(String::as_str) {
        None => None,
        Some(
            k @ ("rule" | "correlation" | "indicator" | "anomaly" | "source_health" | "clock"),
        ) => Some(k.to_owned()),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "kind `{other}`: expected rule, correlation, indicator, anomaly, source_health or clock"
            )));
        }
    };
    let filter = kuzet_db::AlertFilter {
        status: query.get("status").map(|s| alert_status(s)).transpose()?,
        kind,
    };
    let (records, next) = state
        .db()
        .alerts_page(a.scope()?, &tenant(&t)?, &filter, page.after, page.limit)
        .await?;
    Ok(page.answer(records.iter().map(alert_view).collect(), next))
}

pub(crate) async fn alert(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = alert_id(id)?;
    let record = state.db().alert(a.scope()?, &tenant(&t)?, &id).await?;
    Ok(noted(
        Json(alert_view(&record)),
        AuditNote {
            object: Some(format!("alert:{id}")),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
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
        Json(alert_view(&record)),
        AuditNote {
            object: Some(format!("alert:{id}")),
            detail: Some(format!("status={}", status.as_str())),
            ..AuditNote::default()
        },
    ))
}

/// A rule switched on or off for a tenant, by whom and why.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct SettingView {
    rule_id: String,
    enabled: bool,
    reason: String,
    updated_by: String,
    #[schemars(with = "String")]
    updated: Timestamp,
}

/// An exception: a rule's hits on events whose field equals the value are not the tenant's alerts.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct ExceptionView {
    #[schemars(with = "String")]
    id: ObjectId,
    rule_id: String,
    field: String,
    value: String,
    reason: String,
    created_by: String,
    #[schemars(with = "String")]
    created: Timestamp,
    #[schemars(with = "Option<String>")]
    until: Option<Timestamp>,
}

/// Why a tenant's rules are quiet: its settings and exceptions.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct RuleControls {
    settings: Vec<SettingView>,
    exceptions: Vec<ExceptionView>,
}

fn setting_view(s: &kuzet_db::RuleSetting) -> SettingView {
    SettingView {
        rule_id: s.rule_id.clone(),
        enabled: s.enabled,
        reason: s.reason.clone(),
        updated_by: s.updated_by.clone(),
        updated: s.updated,
    }
}

fn exception_view(e: &kuzet_db::RuleException) -> ExceptionView {
    ExceptionView {
        id: e.id.clone(),
        rule_id: e.rule_id.clone(),
        field: e.field.clone(),
        value: e.value.clone(),
        reason: e.reason.clone(),
        created_by: e.created_by.clone(),
        created: e.created,
        until: e.until,
    }
}

/// A tenant's rule settings and exceptions: why a rule is quiet for it.
pub(crate) async fn rule_controls(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(t): Path<String>,
) -> Result<Response, ApiError> {
    let (settings, exceptions) = state.db().rule_controls(a.scope()?, &tenant(&t)?).await?;
    Ok(Json(RuleControls {
        settings: settings.iter().map(setting_view).collect(),
        exceptions: exceptions.iter().map(exception_view).collect(),
    })
    .into_response())
}

#[derive(Deserialize, schemars::JsonSchema)]
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
        Json(setting_view(&setting)),
        AuditNote {
            object: Some(format!("rule:{rule}")),
            detail: Some(format!("enabled={}", request.enabled)),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExceptionBody {
    field: String,
    value: String,
    reason: String,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
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
        (StatusCode::CREATED, Json(exception_view(&exception))),
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

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddAlerts {
    /// Alerts of the tenant to escalate into the incident (at most 100, none already in an incident).
    alerts: Vec<String>,
}

/// Escalates more alerts into an incident (merging what detection raised separately): all or none.
pub(crate) async fn add_alerts(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, incident)): Path<(String, String)>,
    json: Result<Json<AddAlerts>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let alerts = alert_ids(&request.alerts)?;
    if alerts.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "alerts: give at least one",
        ));
    }
    let id = incident_id(incident)?;
    state
        .db()
        .add_incident_alerts(a.scope()?, &tenant(&t)?, &id, &alerts, state.now())
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!("alerts {} escalated into it", listed(&alerts))),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddEntry {
    /// `comment`, `event` (something that happened, at `at`), `cause` or `lessons`.
    kind: String,
    /// 1 to 4000 characters.
    text: String,
    /// For an `event`: when it happened (default now).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    at: Option<Timestamp>,
}

/// An entry written on an incident.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct EntryView {
    seq: u32,
    kind: &'static str,
    #[schemars(with = "String")]
    at: Timestamp,
    text: String,
    author: String,
    #[schemars(with = "String")]
    created: Timestamp,
}

/// Writes a comment, a timeline event, the cause or the lessons learned on an incident (append-only).
pub(crate) async fn add_entry(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, incident)): Path<(String, String)>,
    json: Result<Json<AddEntry>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let kind = kuzet_db::EntryKind::parse(&request.kind)?;
    let id = incident_id(incident)?;
    let entry = state
        .db()
        .add_incident_entry(
            a.scope()?,
            &tenant(&t)?,
            &id,
            &kuzet_db::NewEntry {
                kind,
                at: request.at,
                text: request.text,
            },
            state.now(),
        )
        .await?;
    Ok(noted(
        (
            StatusCode::CREATED,
            Json(EntryView {
                seq: entry.seq,
                kind: entry.kind.as_str(),
                at: entry.at,
                text: entry.text,
                author: entry.author.to_string(),
                created: entry.created,
            }),
        ),
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!("{} {}", kind.as_str(), entry.seq)),
            ..AuditNote::default()
        },
    ))
}

/// One line of an incident's timeline.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct TimelineView {
    #[schemars(with = "String")]
    at: Timestamp,
    /// `detected`, `alert`, `status`, `evidence`, `task`, `notification`, `obligation`, `comment`, `event`,
    /// `cause` or `lessons`.
    kind: &'static str,
    text: String,
    by: Option<String>,
}

/// An incident's timeline, oldest first: what the system recorded and what people wrote, merged in time.
pub(crate) async fn timeline(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, incident)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = incident_id(incident)?;
    let items = state
        .db()
        .incident_timeline(a.scope()?, &tenant(&t)?, &id)
        .await?;
    Ok(Json(
        items
            .into_iter()
            .map(|i| TimelineView {
                at: i.at,
                kind: i.kind,
                text: i.text,
                by: i.by,
            })
            .collect::<Vec<_>>(),
    )
    .into_response())
}

/// A measure of the monthly metrics, in seconds.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct StatView {
    counted: u32,
    median_seconds: Option<i64>,
    mean_seconds: Option<i64>,
}

/// A group of the monthly metrics: its incidents and the four measures.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct MetricsGroupView {
    /// `all`, `level:<0–5>` or `category:<name>`.
    group: String,
    incidents: u32,
    detect: StatView,
    acknowledge: StatView,
    contain: StatView,
    close: StatView,
}

impl MetricsGroupView {
    fn new(group: String, which: &kuzet_cases::MetricsGroup) -> Self {
        let stat = |i: usize| StatView {
            counted: which.stats[i].count,
            median_seconds: which.stats[i].median.map(|d| d.as_secs()),
            mean_seconds: which.stats[i].mean.map(|d| d.as_secs()),
        };
        Self {
            group,
            incidents: which.incidents,
            detect: stat(0),
            acknowledge: stat(1),
            contain: stat(2),
            close: stat(3),
        }
    }
}

/// Monthly incident metrics (time to detect, acknowledge, contain, close) of a tenant: `month` (`YYYY-MM`,
/// Kazakhstan time; default the previous month), `lang`, `format` (`html`, `csv` or `json`).
pub(crate) async fn metrics_report(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(t): Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let (year, month) = match query.get("month") {
        Some(m) => m
            .split_once('-')
            .and_then(|(y, m)| Some((y.parse::<i16>().ok()?, m.parse::<i8>().ok()?)))
            .filter(|(_, m)| (1..=12).contains(m))
            .ok_or_else(|| ApiError::bad_request(format!("month `{m}`: YYYY-MM")))?,
        None => {
            let local = kuzet_model::time::kz_local(now).date();
            let first = local.first_of_month();
            let previous = first
                .yesterday()
                .map_err(|e| ApiError::internal("month", e))?;
            (previous.year(), previous.month())
        }
    };
    let mut rest = query.clone();
    let format = rest.remove("format").unwrap_or_else(|| "html".into());
    let json = format == "json";
    if !json {
        rest.insert("format".into(), format.clone());
    }
    let (lang, lang_code, _) = report_language_and_format(&rest)?;
    let tenant_id = tenant(&t)?;
    let (name, rows) = state
        .db()
        .incident_metrics(a.scope()?, &tenant_id, (year, month))
        .await?;
    let report =
        kuzet_cases::MetricsReport::build(tenant_id.to_string(), name, (year, month), now, &rows);
    let response = if json {
        let mut groups = vec![MetricsGroupView::new("all".into(), &report.total)];
        for (level, g) in &report.by_level {
            groups.push(MetricsGroupView::new(format!("level:{}", level.value()), g));
        }
        for (category, g) in &report.by_category {
            groups.push(MetricsGroupView::new(
                format!("category:{}", category.as_str()),
                g,
            ));
        }
        Json(serde_json::json!({
            "tenant": report.tenant, "month": format!("{year}-{month:02}"), "generated": now.to_string(),
            "groups": groups,
        }))
        .into_response()
    } else if format == "csv" {
        (
            [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            report.to_csv(lang),
        )
            .into_response()
    } else {
        (
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            report.to_html(lang),
        )
            .into_response()
    };
    Ok(noted(
        response,
        AuditNote {
            object: Some(format!("report:metrics:{year}-{month:02}")),
            detail: Some(format!(
                "{} incident(s), {format}, {lang_code}",
                report.total.incidents
            )),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Split {
    /// Alerts of the incident to move into the new one (at least one, at most 100).
    alerts: Vec<String>,
    /// The new incident's title.
    title: String,
}

/// The incident split off.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct SplitOff {
    #[schemars(with = "String")]
    id: ObjectId,
}

/// Splits alerts off an incident into a new one: what detection raised together turned out to be two incidents.
pub(crate) async fn split(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, incident)): Path<(String, String)>,
    json: Result<Json<Split>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let unprocessable = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m);
    let title = request.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(unprocessable(format!(
            "title: {} characters; give 1 to {MAX_TITLE_CHARS}",
            title.chars().count()
        )));
    }
    let alerts = alert_ids(&request.alerts)?;
    let id = incident_id(incident)?;
    let new = state
        .db()
        .split_incident(a.scope()?, &tenant(&t)?, &id, &alerts, &title, state.now())
        .await?;
    Ok(noted(
        (StatusCode::CREATED, Json(SplitOff { id: new.clone() })),
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!(
                "split into incident {new}: alerts {}",
                listed(&alerts)
            )),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BreachNoticeBody {
    /// The affected persons' identifiers (or their description), one a line.
    affected: String,
    /// `kk`, `ru` (default) or `en`.
    #[serde(default)]
    lang: Option<String>,
}

/// The personal-data breach notice to the authorized body (R22), as plain text to send: the incident's facts,
/// the persons responsible for processing (the tenant's `personal_data` contacts), the affected persons, the
/// measures taken and the cause. Its hash is written on the incident's timeline; the obligation is fulfilled
/// once it is sent.
pub(crate) async fn breach_notice(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, incident)): Path<(String, String)>,
    json: Result<Json<BreachNoticeBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let code = request.lang.unwrap_or_else(|| "ru".into());
    let lang = kuzet_cases::Lang::parse(&code).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("lang `{code}`: kk, ru or en"),
        )
    })?;
    let id = incident_id(incident)?;
    let tenant_id = tenant(&t)?;
    let facts = state
        .db()
        .breach_notice_facts(a.scope()?, &tenant_id, &id, &request.affected, lang)
        .await?;
    let notice = kuzet_cases::render_breach_notice(&facts, lang);
    let document = format!("Subject: {}\n\n{}", notice.subject, notice.body);
    let hash = kuzet_db::sha256_hex(&document);
    state
        .db()
        .add_incident_entry(
            a.scope()?,
            &tenant_id,
            &id,
            &kuzet_db::NewEntry {
                kind: kuzet_db::EntryKind::Comment,
                at: None,
                text: format!(
                    "personal-data breach notice prepared ({code}, sha256 {hash}); send it to the authority and \
                     fulfil the personal_data_notice obligation"
                ),
            },
            state.now(),
        )
        .await?;
    Ok(noted(
        (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            document,
        ),
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!(
                "personal-data breach notice, {code}, sha256 {hash}"
            )),
            ..AuditNote::default()
        },
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportRuleFile {
    /// Where the file belongs, a relative path (e.g. `windows/builtin/security/win_log_cleared.yml`).
    name: String,
    /// The Sigma YAML, whole (at most 1 MiB).
    text: String,
}

/// What an import did: a new file, a new version of a changed one, or nothing for an unchanged one.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct RuleFileImported {
    name: String,
    /// `new`, `changed` or `unchanged`.
    outcome: &'static str,
    /// The version now latest.
    version: Option<i64>,
}

/// Imports one Sigma rule file (as `kuzet rules import` does, but audited as the person who did it). Detection
/// runs its latest version within ten seconds; rules that cannot compile are reported by id in `/health`.
pub(crate) async fn import_rule_file(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    json: Result<Json<ImportRuleFile>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let outcome = state
        .db()
        .import_rule_file(a.scope()?, &request.name, &request.text, state.now())
        .await?;
    let (name, version) = match outcome {
        kuzet_db::ImportOutcome::New => ("new", Some(1)),
        kuzet_db::ImportOutcome::Changed { version } => ("changed", Some(version)),
        kuzet_db::ImportOutcome::Unchanged => ("unchanged", None),
    };
    let status = if name == "unchanged" {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(noted(
        (
            status,
            Json(RuleFileImported {
                name: request.name.clone(),
                outcome: name,
                version,
            }),
        ),
        AuditNote {
            object: Some(format!("rule-file:{}", request.name)),
            detail: Some(format!(
                "{name}{} (sha256 {})",
                version
                    .map(|v| format!(", version {v}"))
                    .unwrap_or_default(),
                kuzet_db::sha256_hex(&request.text)
            )),
            ..AuditNote::default()
        },
    ))
}

/// An imported rule file at its latest version (without its text).
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct RuleFileView {
    name: String,
    version: i64,
    sha256: String,
    imported_by: String,
    #[schemars(with = "String")]
    imported: Timestamp,
}

/// The imported rule files, each at its latest version, by name.
pub(crate) async fn rule_files(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let files = state.db().rule_files(a.scope()?).await?;
    Ok(Json(
        files
            .into_iter()
            .map(|f| RuleFileView {
                name: f.name,
                version: f.version,
                sha256: f.sha256,
                imported_by: f.imported_by,
                imported: f.imported,
            })
            .collect::<Vec<_>>(),
    )
    .into_response())
}
