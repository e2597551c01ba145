//! `GET /api/v1/overview`: what the console's first page shows, in one call — per tenant the caller may read
//! incidents of, the alerts waiting for triage, the open incidents by level and the regulatory clocks still running;
//! and, for the ISOC's own staff, the service's counters.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use kuzet_model::TenantId;
use kuzet_model::access::{Permission, TenantSet};
use schemars::JsonSchema;
use serde::Serialize;

use crate::ApiError;
use crate::incidents::{ObligationView, obligation_view};
use crate::routes::Authed;
use crate::state::ApiState;

/// At most this many tenants are summarized; the rest are counted.
const MAX_TENANTS: usize = 200;
/// At most this many running clocks per tenant; the rest are counted.
const CLOCKS_SHOWN: u32 = 20;

#[derive(Serialize, JsonSchema)]
pub(crate) struct Overview {
    /// The server's time when it counted: clocks count down from it.
    #[schemars(with = "String")]
    now: Timestamp,
    tenants: Vec<TenantCounts>,
    /// Tenants in scope beyond the first 200, not summarized.
    tenants_not_shown: usize,
    /// The service's counters (events accepted and sealed, queue, backup), for the ISOC's administrators and
    /// operators only: they cover every tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<serde_json::Value>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct TenantCounts {
    #[schemars(with = "String")]
    tenant: TenantId,
    name: String,
    /// Alerts waiting for triage, per rule level (`critical`, `high`, `medium`, `low`, `informational`).
    alerts_new: std::collections::BTreeMap<String, u64>,
    alerts_acknowledged: u64,
    /// Open incidents (neither closed nor false positive) per criticality level 0–5.
    incidents_open: std::collections::BTreeMap<u8, u64>,
    /// Obligations not fulfilled, soonest due first (at most 20).
    clocks: Vec<ObligationView>,
    clocks_total: u64,
}

pub(crate) async fn overview(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let principal = &a.principal;
    let mut tenants = Vec::new();
    let mut tenants_not_shown = 0;
    if let (Ok(list), Ok(read)) = (
        principal.scope(Permission::TenantsRead, now),
        principal.scope(Permission::IncidentsRead, now),
    ) {
        let records = state.db().tenants(&list).await?;
        let mut readable = records.iter().filter(|r| read.permits(&r.tenant.id));
        for record in readable.by_ref().take(MAX_TENANTS) {
            let seen = state
                .db()
                .tenant_overview(&read, &record.tenant.id, CLOCKS_SHOWN)
                .await?;
            tenants.push(TenantCounts {
                tenant: seen.tenant,
                name: record.tenant.name.clone(),
                alerts_new: seen.alerts_new.into_iter().collect(),
                alerts_acknowledged: seen.alerts_acknowledged,
                incidents_open: seen.incidents_open.into_iter().collect(),
                clocks: seen
                    .pending
                    .iter()
                    .map(|o| obligation_view(o, now))
                    .collect(),
                clocks_total: seen.pending_total,
            });
        }
        tenants_not_shown = readable.count();
    }
    // Service-wide counters span every tenant: only for those who operate the service or manage all tenants.
    let staff = principal.scope(Permission::ServiceOperate, now).is_ok()
        || principal
            .scope(Permission::TenantsManage, now)
            .is_ok_and(|s| *s.tenants() == TenantSet::All);
    let service = if staff {
        state.inner.status.as_ref().map(|status| status())
    } else {
        None
    };
    Ok(Json(Overview {
        now,
        tenants,
        tenants_not_shown,
        service,
    })
    .into_response())
}
