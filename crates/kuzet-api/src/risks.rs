//! Each tenant's threat (risk) catalog (R24, R25), and the link from a confirmed incident to the entry it realized.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;
use kuzet_db::{NewRisk, RiskRecord};
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

/// An entry of the catalog, with its score and the incidents that realized it.
#[derive(Serialize, JsonSchema)]
pub(crate) struct RiskView {
    #[schemars(with = "String")]
    id: ObjectId,
    title: String,
    threat: String,
    /// 1–5.
    likelihood: u8,
    /// 1–5.
    impact: u8,
    /// likelihood × impact.
    score: u8,
    /// `low` (1–4), `medium` (5–9), `high` (10–14) or `critical` (15–25).
    rating: &'static str,
    /// `mitigate`, `accept`, `transfer` or `avoid`.
    treatment: &'static str,
    plan: String,
    owner: String,
    #[schemars(with = "String")]
    created_by: UserId,
    #[schemars(with = "String")]
    created: Timestamp,
    #[schemars(with = "Vec<String>")]
    incidents: Vec<ObjectId>,
}

impl From<&RiskRecord> for RiskView {
    fn from(r: &RiskRecord) -> Self {
        Self {
            id: r.id.clone(),
            title: r.title.clone(),
            threat: r.threat.clone(),
            likelihood: r.likelihood,
            impact: r.impact,
            score: r.score,
            rating: r.rating.as_str(),
            treatment: r.treatment.as_str(),
            plan: r.plan.clone(),
            owner: r.owner.clone(),
            created_by: r.created_by.clone(),
            created: r.created,
            incidents: r.incidents.clone(),
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRisk {
    title: String,
    threat: String,
    likelihood: u8,
    impact: u8,
    treatment: String,
    #[serde(default)]
    plan: String,
    owner: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkRisk {
    risk: String,
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let list = state
        .db()
        .risks(a.scope()?, &tenant_param(&tenant)?)
        .await?;
    Ok(Json(list.iter().map(RiskView::from).collect::<Vec<_>>()).into_response())
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    json: Result<Json<CreateRisk>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let treatment =
        kuzet_cases::Treatment::parse(&request.treatment).map_err(|e| invalid(e.to_string()))?;
    let risk = NewRisk {
        tenant: tenant_param(&tenant)?,
        title: request.title,
        threat: request.threat,
        likelihood: request.likelihood,
        impact: request.impact,
        treatment,
        plan: request.plan,
        owner: request.owner,
    };
    let made = state
        .db()
        .create_risk(a.scope()?, &risk, state.now())
        .await?;
    let note = AuditNote {
        object: Some(format!("risk:{}", made.id)),
        detail: Some(format!(
            "{} (score {}, {})",
            made.title,
            made.score,
            made.rating.as_str()
        )),
        ..AuditNote::default()
    };
    Ok(noted(
        (StatusCode::CREATED, Json(RiskView::from(&made))),
        note,
    ))
}

pub(crate) async fn link(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, incident)): Path<(String, String)>,
    json: Result<Json<LinkRisk>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let incident = incident_id(incident)?;
    let risk = ObjectId::new(request.risk.as_str())
        .map_err(|e| invalid(format!("risk `{}`: {e}", request.risk)))?;
    state
        .db()
        .link_risk(
            a.scope()?,
            &tenant_param(&tenant)?,
            &incident,
            &risk,
            state.now(),
        )
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        AuditNote {
            object: Some(format!("incident:{incident}")),
            detail: Some(format!("realized risk {risk}")),
            ..AuditNote::default()
        },
    ))
}
