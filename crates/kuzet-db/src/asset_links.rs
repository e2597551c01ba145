//! Which of a tenant's assets an event or an incident concerns (R24): the inventory matched, when asked, with
//! the host names and addresses the event carries or the incident's alerts name ([`kuzet_cases::link_assets`]).
//! Nothing is stored: an asset added to the inventory later links the events and incidents it concerns.

use kuzet_cases::{AssetLink, ObservableKind, Observed, link_assets};
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{ObjectId, TenantId};

use crate::advisories::AssetRecord;
use crate::alerts::AlertRecord;
use crate::backend::Db;
use crate::directory::require;
use crate::error::DbError;

/// An asset and what named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedAsset {
    pub link: AssetLink,
    pub asset: AssetRecord,
}

/// What an alert names: the host it was raised on, the address an indicator matched, and the addresses and
/// host names a correlation grouped by; each named `alert <id>: <what>`.
pub fn alert_observed(alert: &AlertRecord) -> Vec<Observed> {
    let mut out = Vec::new();
    let named = |what: &str| format!("alert {}: {what}", alert.id);
    let detail = &alert.detail;
    if let Some(host) = detail["host"].as_str().filter(|h| !h.is_empty()) {
        out.push(Observed::host(named("host"), host));
    }
    if let Some(matched) = detail["matched"].as_str()
        && matched.parse::<std::net::IpAddr>().is_ok()
    {
        out.push(Observed::address(named("indicator"), matched));
    }
    if let Some(group) = detail["group"].as_object() {
        for (field, value) in group {
            let Some(value) = value.as_str().filter(|v| !v.is_empty()) else {
                continue;
            };
            let lower = field.to_lowercase();
            if value.parse::<std::net::IpAddr>().is_ok() {
                out.push(Observed::address(named(field), value));
            } else if lower.contains("host") || lower.contains("computer") {
                out.push(Observed::host(named(field), value));
            }
        }
    }
    out
}

impl Db {
    /// The assets of `tenant` that `observed` (what one of its events carries) names (for
    /// [`Permission::EventsRead`]).
    pub async fn event_assets(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        observed: &[Observed],
    ) -> Result<Vec<LinkedAsset>, DbError> {
        require(scope, Permission::EventsRead, tenant)?;
        self.link_assets(tenant, observed).await
    }

    /// The assets of `tenant` an incident concerns: those its observables name — recorded by an analyst or named
    /// by its alerts — by address or host or domain name (for [`Permission::IncidentsRead`]).
    pub async fn incident_assets(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        incident: &ObjectId,
    ) -> Result<Vec<LinkedAsset>, DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        let observed: Vec<Observed> = self
            .observables_of(tenant, incident)
            .await?
            .into_iter()
            .filter_map(|o| {
                let field = match o.alert {
                    Some(_) => o.note,
                    None => format!("observable ({})", o.added_by),
                };
                let value = o.observable.value;
                match o.observable.kind {
                    ObservableKind::Ip => Some(Observed::address(field, value)),
                    ObservableKind::Host | ObservableKind::Domain => {
                        Some(Observed::host(field, value))
                    }
                    _ => None,
                }
            })
            .collect();
        self.link_assets(tenant, &observed).await
    }

    async fn link_assets(
        &self,
        tenant: &TenantId,
        observed: &[Observed],
    ) -> Result<Vec<LinkedAsset>, DbError> {
        if observed.is_empty() {
            return Ok(Vec::new());
        }
        let records = self.current_assets(tenant).await?;
        let assets: Vec<kuzet_cases::Asset> = records
            .iter()
            .map(|r| kuzet_cases::Asset {
                id: r.id.to_string(),
                name: r.name.clone(),
                product: r.product.clone(),
                version: r.version.clone(),
                addresses: r.addresses.clone(),
            })
            .collect();
        Ok(link_assets(observed, &assets)
            .into_iter()
            .filter_map(|link| {
                let asset = records
                    .iter()
                    .find(|r| r.id.as_str() == link.asset)?
                    .clone();
                Some(LinkedAsset { link, asset })
            })
            .collect())
    }
}
