//! What an overview counts for one tenant at a glance: alerts waiting for triage by level, open incidents by
//! level, and the regulatory clocks still running, soonest first.

use kuzet_model::TenantId;
use kuzet_model::access::{Permission, Scope};

use crate::backend::on_pool;
use crate::directory::require;
use crate::incidents::{ObligationFullRow, obligation_record};
use crate::{Db, DbError, ObligationRecord};

/// One tenant's counts. Levels are Sigma's (`critical`, `high`, …) for alerts and 0–5 for incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantOverview {
    pub tenant: TenantId,
    /// Alerts not yet triaged (`new`), per rule level.
    pub alerts_new: Vec<(String, u64)>,
    /// Alerts acknowledged but not closed by a decision (neither false positive nor escalated).
    pub alerts_acknowledged: u64,
    /// Incidents neither closed nor found false positive, per criticality level (the override when there is one).
    pub incidents_open: Vec<(u8, u64)>,
    /// Obligations not fulfilled, soonest due first, at most the limit asked for.
    pub pending: Vec<ObligationRecord>,
    /// How many obligations are not fulfilled in all.
    pub pending_total: u64,
}

impl Db {
    /// The overview of one tenant in `scope` (`incidents.read`), with at most `pending_limit` running clocks.
    pub async fn tenant_overview(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        pending_limit: u32,
    ) -> Result<TenantOverview, DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        let t = tenant.as_str();
        let alerts: Vec<(String, String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT status, level, COUNT(*) FROM alerts WHERE tenant_id = $1 AND status IN ('new', 'acknowledged') \
             GROUP BY status, level ORDER BY status, level")
            .bind(t).fetch_all(pool).await.map_err(DbError::query("alert counts"))?);
        let incidents: Vec<(i64, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT COALESCE(override_level, assessed_level) AS level, COUNT(*) FROM incidents \
             WHERE tenant_id = $1 AND status NOT IN ('closed', 'false_positive') GROUP BY level ORDER BY level")
            .bind(t).fetch_all(pool).await.map_err(DbError::query("incident counts"))?);
        let (pending_total,): (i64,) = on_pool!(self, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM obligations WHERE tenant_id = $1 AND fulfilled_ms IS NULL")
            .bind(t).fetch_one(pool).await.map_err(DbError::query("obligation count"))?);
        let rows: Vec<ObligationFullRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, incident_id, kind, fact_ms, due_ms, fulfilled_ms, fulfilled_by FROM obligations \
             WHERE tenant_id = $1 AND fulfilled_ms IS NULL ORDER BY due_ms, id LIMIT $2")
            .bind(t).bind(i64::from(pending_limit)).fetch_all(pool).await.map_err(DbError::query("obligations"))?);
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(TenantOverview {
            tenant: tenant.clone(),
            alerts_new: alerts
                .iter()
                .filter(|(status, _, _)| status == "new")
                .map(|(_, level, n)| (level.clone(), count(*n)))
                .collect(),
            alerts_acknowledged: alerts
                .iter()
                .filter(|(status, _, _)| status == "acknowledged")
                .map(|(_, _, n)| count(*n))
                .sum(),
            incidents_open: incidents
                .iter()
                .map(|(level, n)| (u8::try_from(*level).unwrap_or(u8::MAX), count(*n)))
                .collect(),
            pending: rows
                .into_iter()
                .map(obligation_record)
                .collect::<Result<_, _>>()?,
            pending_total: count(pending_total),
        })
    }
}
