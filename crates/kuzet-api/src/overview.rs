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
    /// Days searchable online (at least 60) and years kept (at least 3).
    hot_days: u32,
    archive_years: u32,
    /// Alerts waiting for triage, per rule level (`critical`, `high`, `medium`, `low`, `informational`).
    alerts_new: std::collections::BTreeMap<String, u64>,
    alerts_acknowledged: u64,
    /// Open incidents (neither closed nor false positive) per criticality level 0–5.
    incidents_open: std::collections::BTreeMap<u8, u64>,
    /// Obligations not fulfilled, soonest due first (at most 20).
    clocks: Vec<ObligationView>,
    clocks_total: u64,
    /// Each source's health, for those who may read the tenant's sources (R6): silent beyond its expected
    /// interval, or its clock off by more than the configured skew.
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<Vec<SourceHealthView>>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct SourceHealthView {
    #[schemars(with = "String")]
    source: kuzet_model::SourceId,
    name: String,
    /// Events since the process started.
    events: u64,
    #[schemars(with = "Option<String>")]
    last_seen: Option<Timestamp>,
    clock_offset_ms: i64,
    expected_interval_secs: Option<u64>,
    /// Not heard from within its expected interval.
    silent: bool,
    /// Its clock is off by more than the configured skew.
    drifting: bool,
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
        let sources_scope = principal.scope(Permission::SourcesRead, now).ok();
        let observed = state.inner.sources_seen.as_ref();
        let observed_now = observed.map(|s| (s.read)()).unwrap_or_default();
        let records = state.db().tenants(&list).await?;
        let mut readable = records.iter().filter(|r| read.permits(&r.tenant.id));
        for record in readable.by_ref().take(MAX_TENANTS) {
            let seen = state
                .db()
                .tenant_overview(&read, &record.tenant.id, CLOCKS_SHOWN)
                .await?;
            let sources = match (&sources_scope, observed) {
                (Some(scope), Some(observed)) if scope.permits(&record.tenant.id) => {
                    let listed = state.db().sources(scope, &record.tenant.id).await?;
                    Some(
                        listed
                            .iter()
                            .map(|source| {
                                source_health(source, &observed_now, observed.max_skew, now)
                            })
                            .collect(),
                    )
                }
                _ => None,
            };
            tenants.push(TenantCounts {
                tenant: seen.tenant,
                name: record.tenant.name.clone(),
                hot_days: record.retention.hot_days,
                archive_years: record.retention.archive_years,
                alerts_new: seen.alerts_new.into_iter().collect(),
                alerts_acknowledged: seen.alerts_acknowledged,
                incidents_open: seen.incidents_open.into_iter().collect(),
                clocks: seen
                    .pending
                    .iter()
                    .map(|o| obligation_view(o, now))
                    .collect(),
                clocks_total: seen.pending_total,
                sources,
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

/// One source's health at `now` from what the process saw of it.
fn source_health(
    source: &kuzet_model::Source,
    seen: &[crate::state::SourceSeen],
    max_skew: jiff::SignedDuration,
    now: Timestamp,
) -> SourceHealthView {
    let this = seen.iter().find(|s| s.source == source.id);
    let last_seen = this.and_then(|s| s.last_seen);
    let clock_offset_ms = this.map_or(0, |s| s.clock_offset_ms);
    let silent = source.expected_interval_secs.is_some_and(|every| {
        last_seen.is_none_or(|at| {
            now.duration_since(at).as_secs() > i64::try_from(every).unwrap_or(i64::MAX)
        })
    });
    SourceHealthView {
        source: source.id.clone(),
        name: source.name.clone(),
        events: this.map_or(0, |s| s.events),
        last_seen,
        clock_offset_ms,
        expected_interval_secs: source.expected_interval_secs,
        silent,
        drifting: clock_offset_ms.unsigned_abs() > max_skew.as_millis().unsigned_abs() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::SourceSeen;
    use kuzet_model::{FormatHint, Source, SourceId, TenantId};

    fn source(every: Option<u64>) -> Source {
        Source {
            id: SourceId::new("fw").unwrap(),
            tenant: TenantId::new("akimat").unwrap(),
            facility: None,
            name: "Firewall".into(),
            identities: Vec::new(),
            format: FormatHint::Auto,
            expected_interval_secs: every,
        }
    }

    #[test]
    fn a_source_is_silent_past_its_interval_and_drifting_past_the_skew() {
        let now: Timestamp = "2026-12-07T06:00:00Z".parse().unwrap();
        let skew = jiff::SignedDuration::from_mins(5);
        let seen = |ago_secs: i64, offset_ms: i64| SourceSeen {
            tenant: TenantId::new("akimat").unwrap(),
            source: SourceId::new("fw").unwrap(),
            events: 7,
            last_seen: Some(now - jiff::SignedDuration::from_secs(ago_secs)),
            clock_offset_ms: offset_ms,
        };
        let fine = source_health(&source(Some(300)), &[seen(299, 1_000)], skew, now);
        assert!(!fine.silent && !fine.drifting);
        assert_eq!(fine.events, 7);
        let quiet = source_health(&source(Some(300)), &[seen(301, 0)], skew, now);
        assert!(quiet.silent);
        let never = source_health(&source(Some(300)), &[], skew, now);
        assert!(never.silent, "never heard from");
        let rare = source_health(&source(None), &[], skew, now);
        assert!(!rare.silent, "a source without an interval is never silent");
        let off = source_health(&source(None), &[seen(1, -300_001)], skew, now);
        assert!(off.drifting);
    }
}
