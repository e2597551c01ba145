//! NCCIS's requests for read access to a tenant's logs (R19), as received from the hub, and the ISOC
//! administrator's answer: a time-bounded grant to an NCCIS auditor, or a refusal — sent back to the hub.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;
use kuzet_db::{AccessRequestRecord, NewGrant};
use kuzet_model::{TenantId, UserId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::advisories::invalid;
use crate::auth::{body, noted};
use crate::routes::{AuditNote, Authed};
use crate::state::ApiState;

/// A request for access, with its decision once made.
#[derive(Serialize, JsonSchema)]
pub(crate) struct AccessRequestView {
    /// The hub's message id.
    id: String,
    tenant: String,
    #[schemars(with = "String")]
    from: Timestamp,
    #[schemars(with = "String")]
    to: Timestamp,
    reason: String,
    query: Option<String>,
    #[schemars(with = "String")]
    received: Timestamp,
    /// `pending`, `granted` or `refused`.
    state: &'static str,
    #[schemars(with = "Option<String>")]
    decided: Option<Timestamp>,
    decided_by: Option<String>,
    grant: Option<String>,
}

impl From<&AccessRequestRecord> for AccessRequestView {
    fn from(r: &AccessRequestRecord) -> Self {
        let d = r.decision.as_ref();
        Self {
            id: r.id.clone(),
            tenant: r.ask.tenant.clone(),
            from: r.ask.starts,
            to: r.ask.ends,
            reason: r.ask.reason.clone(),
            query: r.ask.query.clone(),
            received: r.received,
            state: match d {
                None => "pending",
                Some(d) if d.granted => "granted",
                Some(_) => "refused",
            },
            decided: d.map(|d| d.at),
            decided_by: d.map(|d| d.by.clone()),
            grant: d.and_then(|d| d.grant.clone()),
        }
    }
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let list = state.db().access_requests(a.scope()?).await?;
    Ok(Json(list.iter().map(AccessRequestView::from).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decide {
    /// Grant (to `user`, an NCCIS auditor, for the period asked) or refuse.
    grant: bool,
    #[serde(default)]
    user: Option<String>,
    /// What to tell NCCIS (a refusal's reason).
    #[serde(default)]
    answer: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct Decided {
    /// The `access.grant` message that tells NCCIS.
    message: String,
    /// The grant made, when granted.
    grant: Option<String>,
}

pub(crate) async fn decide(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(id): Path<String>,
    json: Result<Json<Decide>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let scope = a.scope()?;
    let asked = state.db().access_request(scope, &id).await?;
    let grant = if request.grant {
        let user = request
            .user
            .as_deref()
            .ok_or_else(|| invalid("`user`: a grant names the NCCIS auditor it is for".into()))?;
        let tenant = TenantId::new(asked.ask.tenant.as_str())
            .map_err(|e| invalid(format!("tenant of the request: {e}")))?;
        let made = state
            .db()
            .create_grant(
                scope,
                &NewGrant {
                    user: UserId::new(user).map_err(|e| invalid(format!("`user`: {e}")))?,
                    tenant,
                    starts: asked.ask.starts.max(state.now()),
                    ends: asked.ask.ends,
                    reason: format!("NCCIS request {id}: {}", asked.ask.reason),
                },
                state.now(),
            )
            .await?;
        Some(made.id)
    } else {
        None
    };
    let message = state
        .db()
        .decide_access_request(
            scope,
            &id,
            grant.as_ref(),
            request.answer.as_deref(),
            state.now(),
        )
        .await?;
    let note = AuditNote {
        object: Some(format!("access_request:{id}")),
        detail: Some(match &grant {
            Some(g) => format!("granted as grant {g}"),
            None => format!("refused: {}", request.answer.unwrap_or_default()),
        }),
        ..AuditNote::default()
    };
    Ok(noted(
        (
            StatusCode::OK,
            Json(Decided {
                message: message.to_string(),
                grant: grant.map(|g| g.to_string()),
            }),
        ),
        note,
    ))
}
