//! What a tenant's shared threat intelligence is made of (`Permission::IntelRead`): its sightings of indicators
//! (indicator alerts not judged false positives) and the advisories that concerned it. The STIX objects are
//! built from these by the caller.

use kuzet_model::TenantId;
use kuzet_model::access::{Permission, Scope};

use crate::directory::{require, require_permission};
use crate::{AlertFilter, AlertRecord, AlertStatus, Db, DbError, TenantAdvisory, TenantRecord};

/// A tenant's intelligence records.
#[derive(Debug, Clone)]
pub struct IntelRecords {
    pub tenant: TenantRecord,
    /// Its indicator alerts, newest first, false positives left out.
    pub sightings: Vec<AlertRecord>,
    /// The advisories that concerned it, newest first.
    pub advisories: Vec<TenantAdvisory>,
}

impl Db {
    /// The tenants whose intelligence `scope` reaches.
    pub async fn intel_tenants(&self, scope: &Scope) -> Result<Vec<TenantRecord>, DbError> {
        require_permission(scope, Permission::IntelRead)?;
        self.tenants_in(scope).await
    }

    /// One tenant's intelligence records ("not found" outside `scope`).
    pub async fn intel(&self, scope: &Scope, tenant: &TenantId) -> Result<IntelRecords, DbError> {
        require(scope, Permission::IntelRead, tenant)?;
        let record = self.tenant_unscoped(tenant).await?;
        let filter = AlertFilter {
            status: None,
            kind: Some("indicator".to_owned()),
        };
        let mut sightings = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self
                .system_alerts_page(tenant, &filter, cursor.as_deref(), 500)
                .await?;
            sightings.extend(
                page.into_iter()
                    .filter(|a| a.status != AlertStatus::FalsePositive),
            );
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let advisories = self.advisories_of(tenant, i64::MAX).await?;
        Ok(IntelRecords {
            tenant: record,
            sightings,
            advisories,
        })
    }
}
