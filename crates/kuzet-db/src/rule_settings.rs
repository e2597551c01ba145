//! Per-tenant control of detection: a rule switched off for one tenant, and exceptions that keep a rule's hits on
//! one field value (a host, an account) from becoming that tenant's alerts, each with who, when and why, and
//! optionally until when. Detection reads them all ([`Db::system_rule_controls`]) and counts what they suppress.

use jiff::Timestamp;
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{ObjectId, TenantId};

use crate::backend::{on_pool, ts};
use crate::directory::require;
use crate::secrets::random;
use crate::{Db, DbError};

/// The longest rule id, field name, value or reason accepted.
const MAX_TEXT: usize = 1024;

/// A rule's setting for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSetting {
    pub tenant: TenantId,
    pub rule_id: String,
    pub enabled: bool,
    pub reason: String,
    pub updated_by: String,
    pub updated: Timestamp,
}

/// An exception: hits of `rule_id` on events whose `field` equals `value` (compared without case) are not alerts
/// of `tenant` until `until` (or for good).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleException {
    pub id: ObjectId,
    pub tenant: TenantId,
    pub rule_id: String,
    pub field: String,
    pub value: String,
    pub reason: String,
    pub created_by: String,
    pub created: Timestamp,
    pub until: Option<Timestamp>,
}

/// What an exception is made of.
#[derive(Debug, Clone)]
pub struct NewRuleException {
    pub rule_id: String,
    pub field: String,
    pub value: String,
    pub reason: String,
    pub until: Option<Timestamp>,
}

fn bounded(what: &str, text: &str, may_be_empty: bool) -> Result<String, DbError> {
    let text = text.trim();
    if (!may_be_empty && text.is_empty()) || text.chars().count() > MAX_TEXT {
        return Err(DbError::invalid(
            format!("{what}: {} characters", text.chars().count()),
            format!("give {} to {MAX_TEXT}", if may_be_empty { 0 } else { 1 }),
        ));
    }
    Ok(text.to_owned())
}

type ExceptionRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
);

fn exception(row: ExceptionRow) -> Result<RuleException, DbError> {
    let (id, tenant, rule_id, field, value, reason, created_by, created, until) = row;
    let corrupt = |what: &'static str, e: kuzet_model::ModelError| DbError::Corrupt {
        what,
        detail: e.to_string(),
    };
    Ok(RuleException {
        id: ObjectId::new(id).map_err(|e| corrupt("rule exception id", e))?,
        tenant: TenantId::new(tenant).map_err(|e| corrupt("rule exception tenant", e))?,
        rule_id,
        field,
        value,
        reason,
        created_by,
        created: ts(created),
        until: until.map(ts),
    })
}

impl Db {
    /// Switches a rule on or off for a tenant (for [`Permission::RulesManage`]), with a reason.
    pub async fn set_rule_enabled(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        rule_id: &str,
        enabled: bool,
        reason: &str,
        now: Timestamp,
    ) -> Result<RuleSetting, DbError> {
        require(scope, Permission::RulesManage, tenant)?;
        let rule_id = bounded("rule id", rule_id, false)?;
        let reason = bounded("reason", reason, enabled)?;
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO rule_settings (tenant_id, rule_id, enabled, reason, updated_by, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, rule_id) DO UPDATE SET \
             enabled = excluded.enabled, reason = excluded.reason, updated_by = excluded.updated_by, \
             updated_ms = excluded.updated_ms")
            .bind(tenant.as_str()).bind(&rule_id).bind(enabled).bind(&reason)
            .bind(scope.user().as_str()).bind(now.as_millisecond())
            .execute(pool).await.map(|_| ()).map_err(DbError::query("rule setting"))?);
        Ok(RuleSetting {
            tenant: tenant.clone(),
            rule_id,
            enabled,
            reason,
            updated_by: scope.user().to_string(),
            updated: now,
        })
    }

    /// Adds an exception (for [`Permission::RulesManage`]); a reason is required.
    pub async fn add_rule_exception(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        new: &NewRuleException,
        now: Timestamp,
    ) -> Result<RuleException, DbError> {
        require(scope, Permission::RulesManage, tenant)?;
        let rule_id = bounded("rule id", &new.rule_id, false)?;
        let field = bounded("field", &new.field, false)?;
        let value = bounded("value", &new.value, false)?;
        let reason = bounded("reason", &new.reason, false)?;
        if new.until.is_some_and(|until| until <= now) {
            return Err(DbError::invalid("until", "must be in the future"));
        }
        let id = ObjectId::from_random(random::<16>()?);
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO rule_exceptions (id, tenant_id, rule_id, field, value, reason, created_by, created_ms, until_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(id.as_str()).bind(tenant.as_str()).bind(&rule_id).bind(&field).bind(&value).bind(&reason)
            .bind(scope.user().as_str()).bind(now.as_millisecond()).bind(new.until.map(|u| u.as_millisecond()))
            .execute(pool).await.map(|_| ()).map_err(DbError::query("rule exception"))?);
        Ok(RuleException {
            id,
            tenant: tenant.clone(),
            rule_id,
            field,
            value,
            reason,
            created_by: scope.user().to_string(),
            created: now,
            until: new.until,
        })
    }

    /// Removes an exception of `tenant`; another tenant's is "not found".
    pub async fn remove_rule_exception(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<(), DbError> {
        require(scope, Permission::RulesManage, tenant)?;
        let removed = on_pool!(self, pool => sqlx::query(
            "DELETE FROM rule_exceptions WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str()).bind(id.as_str())
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("rule exception"))?);
        if removed == 0 {
            return Err(DbError::NotFound(format!("rule exception `{id}`")));
        }
        Ok(())
    }

    /// A tenant's rule settings and exceptions (for [`Permission::IncidentsRead`]: analysts see why a rule is
    /// quiet).
    pub async fn rule_controls(
        &self,
        scope: &Scope,
        tenant: &TenantId,
    ) -> Result<(Vec<RuleSetting>, Vec<RuleException>), DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        let (settings, exceptions) = self.system_rule_controls().await?;
        Ok((
            settings
                .into_iter()
                .filter(|s| &s.tenant == tenant)
                .collect(),
            exceptions
                .into_iter()
                .filter(|e| &e.tenant == tenant)
                .collect(),
        ))
    }

    /// Every tenant's settings and exceptions, for the detection task.
    pub async fn system_rule_controls(
        &self,
    ) -> Result<(Vec<RuleSetting>, Vec<RuleException>), DbError> {
        type SettingRow = (String, String, bool, String, String, i64);
        let (settings, exceptions): (Vec<SettingRow>, Vec<ExceptionRow>) = on_pool!(self, pool => (
            sqlx::query_as("SELECT tenant_id, rule_id, enabled, reason, updated_by, updated_ms FROM rule_settings \
                            ORDER BY tenant_id, rule_id")
                .fetch_all(pool).await.map_err(DbError::query("rule settings"))?,
            sqlx::query_as("SELECT id, tenant_id, rule_id, field, value, reason, created_by, created_ms, until_ms \
                            FROM rule_exceptions ORDER BY tenant_id, created_ms, id")
                .fetch_all(pool).await.map_err(DbError::query("rule exceptions"))?,
        ));
        let settings = settings
            .into_iter()
            .map(|(tenant, rule_id, enabled, reason, updated_by, updated)| {
                Ok(RuleSetting {
                    tenant: TenantId::new(tenant).map_err(|e| DbError::Corrupt {
                        what: "rule setting tenant",
                        detail: e.to_string(),
                    })?,
                    rule_id,
                    enabled,
                    reason,
                    updated_by,
                    updated: ts(updated),
                })
            })
            .collect::<Result<_, DbError>>()?;
        let exceptions = exceptions
            .into_iter()
            .map(exception)
            .collect::<Result<_, _>>()?;
        Ok((settings, exceptions))
    }
}
