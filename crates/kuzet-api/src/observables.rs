//! Who works an incident, and the observables it involves.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;
use kuzet_cases::{Observable, ObservableKind};
use kuzet_db::ObservableRecord;
use kuzet_model::{ObjectId, UserId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::advisories::invalid;
use crate::auth::{body, noted};
use crate::contacts::tenant_param;
use crate::incidents::incident_id;
use crate::routes::{AuditNote, Authed};
use crate::state::ApiState;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Assign {
    /// The user to work the incident (one whose role manages the tenant's incidents), or `null` for nobody.
    user: Option<String>,
}

/// Gives an incident to a user to work, or to nobody; the timeline says who gave it to whom.
pub(crate) async fn assign(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, incident)): Path<(String, String)>,
    json: Result<Json<Assign>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let user = request
        .user
        .map(|u| UserId::new(u).map_err(|e| invalid(format!("`user`: {e}"))))
        .transpose()?;
    let id = incident_id(incident)?;
    state
        .db()
        .assign_incident(
            a.scope()?,
            &tenant_param(&tenant)?,
            &id,
            user.as_ref(),
            state.now(),
        )
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(match &user {
                Some(u) => format!("assigned to {u}"),
                None => "unassigned".to_owned(),
            }),
            ..AuditNote::default()
        },
    ))
}

/// An observable of an incident and who or what named it.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ObservableView {
    /// `ip`, `domain`, `url`, `hash`, `email`, `host`, `account` or `file`.
    kind: &'static str,
    /// In its one written form (canonical addresses; lower-cased names and hashes).
    value: String,
    note: String,
    /// The user who recorded it, or `alert <id>` for what an alert of the incident names.
    added_by: String,
    #[schemars(with = "String")]
    added: Timestamp,
    /// The alert that names it, when no one recorded it.
    #[schemars(with = "Option<String>")]
    alert: Option<ObjectId>,
}

impl From<&ObservableRecord> for ObservableView {
    fn from(o: &ObservableRecord) -> Self {
        Self {
            kind: o.observable.kind.as_str(),
            value: o.observable.value.clone(),
            note: o.note.clone(),
            added_by: o.added_by.clone(),
            added: o.added,
            alert: o.alert.clone(),
        }
    }
}

/// An incident's observables: recorded ones oldest first, then those its alerts name.
pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, incident)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let list = state
        .db()
        .incident_observables(a.scope()?, &tenant_param(&tenant)?, &incident_id(incident)?)
        .await?;
    Ok(Json(list.iter().map(ObservableView::from).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddObservable {
    /// `ip`, `domain`, `url`, `hash`, `email`, `host`, `account` or `file`.
    kind: String,
    value: String,
    /// Where it was seen, why it matters (at most 1000 characters).
    #[serde(default)]
    note: String,
}

/// Records an observable of an incident: checked and written one way; the same kind and value again is the
/// same observable (200 instead of 201).
pub(crate) async fn add(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, incident)): Path<(String, String)>,
    json: Result<Json<AddObservable>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let refuse = |e: kuzet_cases::CasesError| invalid(e.to_string());
    let observable = Observable::parse(
        ObservableKind::parse(&request.kind).map_err(refuse)?,
        &request.value,
    )
    .map_err(refuse)?;
    let note = request.note.trim();
    if note.chars().count() > 1000 {
        return Err(invalid("`note`: longer than 1000 characters".to_owned()));
    }
    let tenant = tenant_param(&tenant)?;
    let id = incident_id(incident)?;
    let now = state.now();
    let (recorded, new) = state
        .db()
        .add_observable(a.scope()?, &tenant, &id, &observable, note, now)
        .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(noted(
        (status, Json(ObservableView::from(&recorded))),
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!(
                "observable {} {}{}",
                observable.kind.as_str(),
                observable.value,
                if new { "" } else { " (already recorded)" }
            )),
            ..AuditNote::default()
        },
    ))
}
