//! At the NCCIS hub, the crisis rooms of the Operational Headquarters (R11): opened about reported incidents of
//! levels 3–5, with members, tasks, a timeline, and a closing summary.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;
use kuzet_db::{CrisisMember, CrisisRecord, NewCrisis};
use kuzet_model::access::Permission;
use kuzet_model::{ObjectId, UserId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::advisories::invalid;
use crate::auth::{body, noted};
use crate::routes::{AuditNote, Authed};
use crate::state::ApiState;

/// A reported incident, by the ISOC that reported it and its id there.
#[derive(Serialize, Deserialize, JsonSchema, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentRef {
    isoc: String,
    incident: String,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct MemberView {
    name: String,
    organization: String,
    role: String,
    contact: String,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct TaskView {
    /// The task's number in the room, from 0.
    seq: u32,
    title: String,
    owner: String,
    #[schemars(with = "String")]
    due: Timestamp,
    #[schemars(with = "Option<String>")]
    done: Option<Timestamp>,
    #[schemars(with = "Option<String>")]
    done_by: Option<UserId>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct EntryView {
    #[schemars(with = "String")]
    at: Timestamp,
    #[schemars(with = "String")]
    author: UserId,
    text: String,
}

/// A crisis and its room.
#[derive(Serialize, JsonSchema)]
pub(crate) struct CrisisView {
    #[schemars(with = "String")]
    id: ObjectId,
    title: String,
    reason: String,
    /// 3–5.
    level: u8,
    #[schemars(with = "String")]
    opened_by: UserId,
    #[schemars(with = "String")]
    opened: Timestamp,
    /// `open` or `closed`.
    state: &'static str,
    #[schemars(with = "Option<String>")]
    closed: Option<Timestamp>,
    #[schemars(with = "Option<String>")]
    closed_by: Option<UserId>,
    summary: Option<String>,
    incidents: Vec<IncidentRef>,
    members: Vec<MemberView>,
    tasks: Vec<TaskView>,
    /// The room's timeline, oldest first: every change and what was written.
    entries: Vec<EntryView>,
}

impl From<CrisisRecord> for CrisisView {
    fn from(c: CrisisRecord) -> Self {
        let (closed, closed_by, summary) = match c.closed {
            Some((at, by, summary)) => (Some(at), Some(by), Some(summary)),
            None => (None, None, None),
        };
        Self {
            id: c.id,
            title: c.title,
            reason: c.reason,
            level: c.level,
            opened_by: c.opened_by,
            opened: c.opened,
            state: if closed.is_some() { "closed" } else { "open" },
            closed,
            closed_by,
            summary,
            incidents: c
                .incidents
                .into_iter()
                .map(|(isoc, incident)| IncidentRef { isoc, incident })
                .collect(),
            members: c
                .members
                .into_iter()
                .map(|m| MemberView {
                    name: m.name,
                    organization: m.organization,
                    role: m.role,
                    contact: m.contact,
                })
                .collect(),
            tasks: c
                .tasks
                .into_iter()
                .map(|t| TaskView {
                    seq: t.seq,
                    title: t.title,
                    owner: t.owner,
                    due: t.due,
                    done: t.done.as_ref().map(|(at, _)| *at),
                    done_by: t.done.map(|(_, by)| by),
                })
                .collect(),
            entries: c
                .entries
                .into_iter()
                .map(|e| EntryView {
                    at: e.at,
                    author: e.author,
                    text: e.text,
                })
                .collect(),
        }
    }
}

fn crisis_id(text: String) -> Result<ObjectId, ApiError> {
    ObjectId::new(text).map_err(|e| ApiError::bad_request(format!("crisis id: {e}")))
}

fn note(id: &ObjectId, detail: String) -> AuditNote {
    AuditNote {
        object: Some(format!("crisis:{id}")),
        detail: Some(detail),
        ..AuditNote::default()
    }
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let list = state.db().crises(a.scope()?).await?;
    Ok(Json(list.into_iter().map(CrisisView::from).collect::<Vec<_>>()).into_response())
}

pub(crate) async fn view(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state.db().crisis(a.scope()?, &crisis_id(id)?).await?;
    Ok(Json(CrisisView::from(record)).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenCrisis {
    title: String,
    /// Why the Operational Headquarters is convened.
    reason: String,
    /// 3–5.
    level: u8,
    /// Reported incidents it is about (each must have reached this hub).
    #[serde(default)]
    incidents: Vec<IncidentRef>,
}

/// Convenes the Operational Headquarters: a crisis room about reported incidents of levels 3–5.
pub(crate) async fn open(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    json: Result<Json<OpenCrisis>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let now = state.now();
    if !request.incidents.is_empty() {
        // What the hub holds is read with the officer's own right to read it.
        let read = a
            .principal
            .scope(Permission::HubRead, now)
            .map_err(|_| ApiError::forbidden("linking reported incidents needs hub.read"))?;
        let reported = crate::hub::reported_incidents(&state, &read).await?;
        for r in &request.incidents {
            if !reported.contains(&(r.isoc.clone(), r.incident.clone())) {
                return Err(invalid(format!(
                    "incident `{}` of ISOC `{}`: not reported to this hub",
                    r.incident, r.isoc
                )));
            }
        }
    }
    let crisis = NewCrisis {
        title: request.title,
        reason: request.reason,
        level: request.level,
        incidents: request
            .incidents
            .into_iter()
            .map(|r| (r.isoc, r.incident))
            .collect(),
    };
    let db = state.db();
    let id = db.open_crisis(a.scope()?, &crisis, now).await?;
    let read = a
        .principal
        .scope(Permission::HubRead, now)
        .map_err(|_| ApiError::forbidden("reading the crisis room needs hub.read"))?;
    let record = db.crisis(&read, &id).await?;
    let detail = format!("level {}: {}", record.level, record.title);
    Ok(noted(
        (StatusCode::CREATED, Json(CrisisView::from(record))),
        note(&id, detail),
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddMember {
    name: String,
    organization: String,
    role: String,
    #[serde(default)]
    contact: String,
}

pub(crate) async fn add_member(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(id): Path<String>,
    json: Result<Json<AddMember>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let id = crisis_id(id)?;
    let member = CrisisMember {
        name: request.name,
        organization: request.organization,
        role: request.role,
        contact: request.contact,
    };
    state
        .db()
        .add_crisis_member(a.scope()?, &id, &member, state.now())
        .await?;
    let detail = format!(
        "member {} ({})",
        member.name.trim(),
        member.organization.trim()
    );
    Ok(noted(StatusCode::NO_CONTENT, note(&id, detail)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddTask {
    title: String,
    owner: String,
    /// RFC 3339.
    due: String,
}

pub(crate) async fn add_task(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(id): Path<String>,
    json: Result<Json<AddTask>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let id = crisis_id(id)?;
    let due: Timestamp = request
        .due
        .trim()
        .parse()
        .map_err(|e| invalid(format!("`due` `{}`: {e}", request.due)))?;
    state
        .db()
        .add_crisis_task(
            a.scope()?,
            &id,
            &request.title,
            &request.owner,
            due,
            state.now(),
        )
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        note(&id, format!("task {}", request.title.trim())),
    ))
}

pub(crate) async fn task_done(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((id, task)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = crisis_id(id)?;
    let seq: u32 = task
        .parse()
        .map_err(|_| ApiError::bad_request(format!("task `{task}`: not a task number")))?;
    state
        .db()
        .crisis_task_done(a.scope()?, &id, seq, state.now())
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        note(&id, format!("task {seq} done")),
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddEntry {
    text: String,
}

pub(crate) async fn add_entry(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(id): Path<String>,
    json: Result<Json<AddEntry>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let id = crisis_id(id)?;
    state
        .db()
        .add_crisis_entry(a.scope()?, &id, &request.text, state.now())
        .await?;
    Ok(noted(StatusCode::NO_CONTENT, note(&id, "entry".to_owned())))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloseCrisis {
    /// What was done and what remains, for the record.
    summary: String,
}

pub(crate) async fn close(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(id): Path<String>,
    json: Result<Json<CloseCrisis>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let id = crisis_id(id)?;
    state
        .db()
        .close_crisis(a.scope()?, &id, &request.summary, state.now())
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        note(&id, "closed".to_owned()),
    ))
}
