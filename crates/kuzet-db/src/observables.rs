//! Who works an incident, and the observables it involves: those an analyst recorded (stored) and those its
//! alerts name (read from them when asked).

use jiff::Timestamp;
use kuzet_cases::{Observable, ObservableKind};
use kuzet_model::access::{Permission, Scope, TenantReach};
use kuzet_model::{ObjectId, TenantId, UserId};

use crate::asset_links::alert_observed;
use crate::backend::{on_pool, ts};
use crate::directory::require;
use crate::incidents::INSERT_NOTE;
use crate::{Db, DbError};

/// An observable of an incident, and who or what named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservableRecord {
    pub observable: Observable,
    pub note: String,
    /// The user who recorded it, or `alert <id>` for what an alert of the incident names.
    pub added_by: String,
    pub added: Timestamp,
    /// The alert that names it, when no one recorded it.
    pub alert: Option<ObjectId>,
}

impl Db {
    /// Gives an incident of `tenant` to a user to work, or to nobody (for [`Permission::IncidentsManage`]). The
    /// user must exist, be enabled and hold a role that manages incidents and reaches the tenant; the timeline
    /// says who gave it to whom.
    pub async fn assign_incident(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        assignee: Option<&UserId>,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        self.incident_in(tenant, id).await?;
        if let Some(user) = assignee {
            self.may_work(tenant, user).await?;
        }
        let text = match assignee {
            Some(user) => format!("assigned to {user}"),
            None => "unassigned".to_owned(),
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("incident assignee"))?;
            sqlx::query("UPDATE incidents SET assignee = $1 WHERE id = $2 AND tenant_id = $3")
                .bind(assignee.map(UserId::as_str)).bind(id.as_str()).bind(tenant.as_str())
                .execute(&mut *tx).await.map_err(DbError::query("incident assignee"))?;
            sqlx::query(INSERT_NOTE)
                .bind(id.as_str()).bind(now.as_millisecond()).bind(&text).bind(scope.user().as_str())
                .execute(&mut *tx).await.map_err(DbError::query("incident entry"))?;
            tx.commit().await.map_err(DbError::query("incident assignee"))?;
        });
        Ok(())
    }

    /// Whether `user` may be given an incident of `tenant`: an error naming what is missing.
    async fn may_work(&self, tenant: &TenantId, user: &UserId) -> Result<(), DbError> {
        let object = format!("assignee `{user}`");
        let row: Option<(bool,)> = on_pool!(self, pool => sqlx::query_as("SELECT disabled FROM users WHERE id = $1")
            .bind(user.as_str()).fetch_optional(pool).await.map_err(DbError::query("user"))?);
        match row {
            None => return Err(DbError::invalid(object, "no such user")),
            Some((true,)) => return Err(DbError::invalid(object, "the user is disabled")),
            Some((false,)) => {}
        }
        let (roles, assigned): (Vec<(String,)>, Option<(String,)>) = on_pool!(self, pool => (
            sqlx::query_as("SELECT role FROM user_roles WHERE user_id = $1")
                .bind(user.as_str()).fetch_all(pool).await.map_err(DbError::query("user roles"))?,
            sqlx::query_as("SELECT tenant_id FROM user_tenants WHERE user_id = $1 AND tenant_id = $2")
                .bind(user.as_str()).bind(tenant.as_str()).fetch_optional(pool).await.map_err(DbError::query("user tenants"))?,
        ));
        let works = roles
            .iter()
            .filter_map(|(r,)| self.catalog.get(r))
            .any(|role| {
                role.permissions.contains(&Permission::IncidentsManage)
                    && match role.reach {
                        TenantReach::All => true,
                        TenantReach::Assigned => assigned.is_some(),
                        TenantReach::Granted => false,
                    }
            });
        if works {
            Ok(())
        } else {
            Err(DbError::invalid(
                object,
                format!("no role of the user manages incidents of tenant `{tenant}`"),
            ))
        }
    }

    /// Records an observable of an incident of `tenant` (for [`Permission::IncidentsManage`]); the same kind and
    /// value again changes nothing. The observable as recorded, and `true` when it was new.
    pub async fn add_observable(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        observable: &Observable,
        note: &str,
        now: Timestamp,
    ) -> Result<(ObservableRecord, bool), DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        self.incident_in(tenant, id).await?;
        let (added, (note, added_by, added_ms)): (u64, (String, String, i64)) = on_pool!(self, pool => (
            sqlx::query("INSERT INTO incident_observables (incident_id, kind, value, note, added_by, added_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (incident_id, kind, value) DO NOTHING")
                .bind(id.as_str()).bind(observable.kind.as_str()).bind(&observable.value).bind(note)
                .bind(scope.user().as_str()).bind(now.as_millisecond())
                .execute(pool).await.map_err(DbError::query("observable"))?.rows_affected(),
            sqlx::query_as("SELECT note, added_by, added_ms FROM incident_observables WHERE incident_id = $1 AND kind = $2 AND value = $3")
                .bind(id.as_str()).bind(observable.kind.as_str()).bind(&observable.value)
                .fetch_one(pool).await.map_err(DbError::query("observable"))?,
        ));
        let record = ObservableRecord {
            observable: observable.clone(),
            note,
            added_by,
            added: ts(added_ms),
            alert: None,
        };
        Ok((record, added == 1))
    }

    /// An incident's observables (for [`Permission::IncidentsRead`]): those recorded, oldest first, then those its
    /// alerts name (hosts, addresses) that were not recorded.
    pub async fn incident_observables(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<Vec<ObservableRecord>, DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        self.observables_of(tenant, id).await
    }

    pub(crate) async fn observables_of(
        &self,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<Vec<ObservableRecord>, DbError> {
        let record = self
            .load_incident(tenant, id.as_str())
            .await?
            .ok_or_else(|| DbError::NotFound(format!("incident `{id}`")))?;
        let rows: Vec<(String, String, String, String, i64)> = on_pool!(self, pool => sqlx::query_as("SELECT kind, value, note, added_by, added_ms FROM incident_observables WHERE incident_id = $1 ORDER BY added_ms, kind, value")
            .bind(id.as_str()).fetch_all(pool).await.map_err(DbError::query("observables"))?);
        let mut out = Vec::with_capacity(rows.len());
        for (kind, value, note, added_by, added) in rows {
            let corrupt = |e: kuzet_cases::CasesError| DbError::Corrupt {
                what: "observable",
                detail: e.to_string(),
            };
            out.push(ObservableRecord {
                observable: Observable {
                    kind: ObservableKind::parse(&kind).map_err(corrupt)?,
                    value,
                },
                note,
                added_by,
                added: ts(added),
                alert: None,
            });
        }
        for alert in &record.alerts {
            let alert = self.load_alert(tenant, alert).await?;
            for seen in alert_observed(&alert) {
                let kind = match seen.seen {
                    kuzet_cases::Seen::Host => ObservableKind::Host,
                    kuzet_cases::Seen::Address => ObservableKind::Ip,
                };
                // What an alert names was written by detection; one that does not read is left out.
                let Ok(observable) = Observable::parse(kind, &seen.value) else {
                    continue;
                };
                if out.iter().any(|o| o.observable == observable) {
                    continue;
                }
                out.push(ObservableRecord {
                    observable,
                    note: seen.field.clone(),
                    added_by: format!("alert {}", alert.id),
                    added: alert.first,
                    alert: Some(alert.id.clone()),
                });
            }
        }
        Ok(out)
    }
}
