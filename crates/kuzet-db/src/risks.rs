//! Each tenant's threat (risk) catalog (R24, R25): entries with likelihood, impact, treatment and plan, and the
//! confirmed incidents that realized an entry.

use jiff::Timestamp;
use kuzet_cases::{Rating, Status, Treatment, risk_score};
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{ObjectId, TenantId, UserId};

use crate::backend::{on_pool, ts};
use crate::directory::require;
use crate::secrets::random;
use crate::{Db, DbError};

/// The longest text of a catalog entry's fields.
const MAX_TEXT: usize = 4000;

/// A new catalog entry.
#[derive(Debug, Clone)]
pub struct NewRisk {
    pub tenant: TenantId,
    pub title: String,
    /// The threat: what could happen, to what, from whom.
    pub threat: String,
    pub likelihood: u8,
    pub impact: u8,
    pub treatment: Treatment,
    /// What is done about it, by when.
    pub plan: String,
    /// Who answers for it at the organization.
    pub owner: String,
}

/// A catalog entry with its score and the incidents linked to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskRecord {
    pub id: ObjectId,
    pub tenant: TenantId,
    pub title: String,
    pub threat: String,
    pub likelihood: u8,
    pub impact: u8,
    pub score: u8,
    pub rating: Rating,
    pub treatment: Treatment,
    pub plan: String,
    pub owner: String,
    pub created_by: UserId,
    pub created: Timestamp,
    /// Incidents that realized it, oldest link first.
    pub incidents: Vec<ObjectId>,
}

type RiskRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
);

fn text(field: &str, value: &str, required: bool) -> Result<String, DbError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(DbError::invalid("risk", format!("`{field}` is empty")));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(DbError::invalid(
            "risk",
            format!("`{field}` is longer than {MAX_TEXT} characters"),
        ));
    }
    Ok(value.to_owned())
}

impl Db {
    /// Adds an entry to a tenant's catalog (for [`Permission::AssetsManage`]: the organization's owner or the
    /// ISOC's administrator).
    pub async fn create_risk(
        &self,
        scope: &Scope,
        r: &NewRisk,
        now: Timestamp,
    ) -> Result<RiskRecord, DbError> {
        require(scope, Permission::AssetsManage, &r.tenant)?;
        let (score, rating) = risk_score(r.likelihood, r.impact)
            .map_err(|e| DbError::invalid("risk", e.to_string()))?;
        let title = text("title", &r.title, true)?;
        let threat = text("threat", &r.threat, true)?;
        let plan = text("plan", &r.plan, false)?;
        let owner = text("owner", &r.owner, true)?;
        self.tenant_unscoped(&r.tenant).await?;
        let id = ObjectId::from_random(random::<16>()?);
        on_pool!(self, pool => sqlx::query("INSERT INTO risks (id, tenant_id, title, threat, likelihood, impact, treatment, plan, owner, created_by, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(id.as_str()).bind(r.tenant.as_str()).bind(&title).bind(&threat)
            .bind(i64::from(r.likelihood)).bind(i64::from(r.impact)).bind(r.treatment.as_str()).bind(&plan)
            .bind(&owner).bind(scope.user().as_str()).bind(now.as_millisecond())
            .execute(pool).await.map(|_| ()).map_err(DbError::insert("risk", format!("risk `{id}`")))?);
        Ok(RiskRecord {
            id,
            tenant: r.tenant.clone(),
            title,
            threat,
            likelihood: r.likelihood,
            impact: r.impact,
            score,
            rating,
            treatment: r.treatment,
            plan,
            owner,
            created_by: scope.user().clone(),
            created: now,
            incidents: Vec::new(),
        })
    }

    /// A tenant's catalog, highest score first (for [`Permission::TenantsRead`]).
    pub async fn risks(
        &self,
        scope: &Scope,
        tenant: &TenantId,
    ) -> Result<Vec<RiskRecord>, DbError> {
        require(scope, Permission::TenantsRead, tenant)?;
        self.tenant_unscoped(tenant).await?;
        let rows: Vec<RiskRow> = on_pool!(self, pool => sqlx::query_as("SELECT id, tenant_id, title, threat, likelihood, impact, treatment, plan, owner, created_by, created_ms FROM risks WHERE tenant_id = $1 ORDER BY likelihood * impact DESC, id")
            .bind(tenant.as_str()).fetch_all(pool).await.map_err(DbError::query("risks"))?);
        let links: Vec<(String, String)> = on_pool!(self, pool => sqlx::query_as("SELECT l.risk_id, l.incident_id FROM incident_risks l JOIN risks r ON r.id = l.risk_id WHERE r.tenant_id = $1 ORDER BY l.linked_ms, l.incident_id")
            .bind(tenant.as_str()).fetch_all(pool).await.map_err(DbError::query("risk links"))?);
        let corrupt = |what: &'static str| move |e: String| DbError::Corrupt { what, detail: e };
        rows.into_iter()
            .map(
                |(
                    id,
                    tenant,
                    title,
                    threat,
                    likelihood,
                    impact,
                    treatment,
                    plan,
                    owner,
                    by,
                    created,
                )| {
                    let likelihood = u8::try_from(likelihood)
                        .map_err(|e| e.to_string())
                        .map_err(corrupt("risk likelihood"))?;
                    let impact = u8::try_from(impact)
                        .map_err(|e| e.to_string())
                        .map_err(corrupt("risk impact"))?;
                    let (score, rating) = risk_score(likelihood, impact)
                        .map_err(|e| e.to_string())
                        .map_err(corrupt("risk score"))?;
                    let incidents = links
                        .iter()
                        .filter(|(risk, _)| *risk == id)
                        .map(|(_, incident)| {
                            ObjectId::new(incident.as_str())
                                .map_err(|e| e.to_string())
                                .map_err(corrupt("incident id"))
                        })
                        .collect::<Result<_, _>>()?;
                    Ok(RiskRecord {
                        id: ObjectId::new(id.as_str())
                            .map_err(|e| e.to_string())
                            .map_err(corrupt("risk id"))?,
                        tenant: TenantId::new(tenant)
                            .map_err(|e| e.to_string())
                            .map_err(corrupt("tenant id"))?,
                        title,
                        threat,
                        likelihood,
                        impact,
                        score,
                        rating,
                        treatment: Treatment::parse(&treatment)
                            .map_err(|e| e.to_string())
                            .map_err(corrupt("risk treatment"))?,
                        plan,
                        owner,
                        created_by: UserId::new(by)
                            .map_err(|e| e.to_string())
                            .map_err(corrupt("user id"))?,
                        created: ts(created),
                        incidents,
                    })
                },
            )
            .collect()
    }

    /// Links a confirmed incident to the catalog entry it realized (for [`Permission::IncidentsManage`]). An
    /// incident not yet confirmed, or found false positive, realized nothing; linking twice changes nothing.
    pub async fn link_risk(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        incident: &ObjectId,
        risk: &ObjectId,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        let record = self
            .load_incident(tenant, incident.as_str())
            .await?
            .ok_or_else(|| DbError::NotFound(format!("incident `{incident}`")))?;
        if matches!(
            record.incident.status,
            Status::Detected | Status::FalsePositive
        ) {
            return Err(DbError::Conflict(format!(
                "incident `{incident}` is {}: only a confirmed incident realizes a risk",
                record.incident.status.as_str()
            )));
        }
        let known: Option<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT id FROM risks WHERE id = $1 AND tenant_id = $2")
            .bind(risk.as_str()).bind(tenant.as_str()).fetch_optional(pool).await.map_err(DbError::query("risk"))?);
        if known.is_none() {
            return Err(DbError::NotFound(format!("risk `{risk}`")));
        }
        on_pool!(self, pool => sqlx::query("INSERT INTO incident_risks (incident_id, risk_id, linked_by, linked_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id, risk_id) DO NOTHING")
            .bind(incident.as_str()).bind(risk.as_str()).bind(scope.user().as_str()).bind(now.as_millisecond())
            .execute(pool).await.map(|_| ()).map_err(DbError::query("risk link"))?);
        Ok(())
    }
}
