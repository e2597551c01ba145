//! A tenant's assets (what it runs and where) and the NCCIS advisories that concern them (R18). An advisory
//! arrives from the hub once (`exchange_inbox`, by message id); in the same transaction it is matched against every
//! tenant's current assets (`kuzet_cases::concerning`), and each tenant it concerns gets a record holding only its
//! part and a notice to its contacts through the notification outbox.

use ipnet::IpNet;
use jiff::Timestamp;
use kuzet_cases::{Advisory, Concerning, Lang};
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{FacilityId, ObjectId, TenantId, UserId};

use crate::backend::{on_pool, ts};
use crate::directory::require;
use crate::notifications::CURRENT_CONTACTS;
use crate::secrets::random;
use crate::{Db, DbError};

/// An asset to add to a tenant's inventory.
#[derive(Debug, Clone)]
pub struct NewAsset {
    pub tenant: TenantId,
    pub facility: Option<FacilityId>,
    pub name: String,
    /// A CPE 2.3 name or a purl (with or without the version).
    pub product: Option<String>,
    pub version: Option<String>,
    pub addresses: Vec<IpNet>,
}

/// An asset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRecord {
    pub id: ObjectId,
    pub tenant: TenantId,
    pub facility: Option<FacilityId>,
    pub name: String,
    pub product: Option<String>,
    pub version: Option<String>,
    pub addresses: Vec<IpNet>,
    pub created: Timestamp,
    pub created_by: UserId,
}

/// The part of an advisory a tenant received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantAdvisory {
    pub id: ObjectId,
    pub tenant: TenantId,
    /// The hub's message it came in.
    pub message: String,
    pub title: String,
    pub severity: String,
    /// The advisory cut to what concerns the tenant (JSON, the `advisory` payload's shape).
    pub part: String,
    /// The tenant's assets it matched.
    pub assets: Vec<ObjectId>,
    /// Matched on the product with the version unknown.
    pub version_unknown: Vec<ObjectId>,
    pub received: Timestamp,
}

const MAX_TEXT: usize = 200;
const MAX_PRODUCT: usize = 500;
const MAX_ADDRESSES: usize = 100;

fn check_asset(a: &NewAsset) -> Result<(), DbError> {
    let name = a.name.trim();
    if name.is_empty() || name.chars().count() > MAX_TEXT || name.chars().any(char::is_control) {
        return Err(DbError::invalid(
            "asset `name`",
            format!("1–{MAX_TEXT} characters, no control characters"),
        ));
    }
    if let Some(p) = &a.product {
        let lower = p.to_lowercase();
        let ok = p.len() <= MAX_PRODUCT
            && !p.chars().any(|c| c.is_control() || c.is_whitespace())
            && (lower.starts_with("cpe:2.3:") || lower.starts_with("pkg:"));
        if !ok {
            return Err(DbError::invalid(
                format!(
                    "asset `product` `{}`",
                    p.chars().take(80).collect::<String>()
                ),
                "a CPE 2.3 name (cpe:2.3:…) or a purl (pkg:…), no spaces",
            ));
        }
    }
    if let Some(v) = &a.version
        && (v.is_empty() || v.len() > 100 || v.chars().any(|c| c.is_control() || c.is_whitespace()))
    {
        return Err(DbError::invalid(
            "asset `version`",
            "1–100 characters, no spaces",
        ));
    }
    if a.product.is_none() && a.addresses.is_empty() {
        return Err(DbError::invalid(
            format!("asset `{name}`"),
            "needs a product or addresses: advisories match on one or the other",
        ));
    }
    if a.addresses.len() > MAX_ADDRESSES {
        return Err(DbError::invalid(
            "asset `addresses`",
            format!("at most {MAX_ADDRESSES}"),
        ));
    }
    Ok(())
}

fn corrupt(what: &'static str) -> impl Fn(String) -> DbError {
    move |detail| DbError::Corrupt { what, detail }
}

fn ids(text: &str, what: &'static str) -> Result<Vec<ObjectId>, DbError> {
    let list: Vec<String> = serde_json::from_str(text).map_err(|e| corrupt(what)(e.to_string()))?;
    list.into_iter()
        .map(|id| ObjectId::new(id).map_err(|e| corrupt(what)(e.to_string())))
        .collect()
}

type AssetRow = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    String,
);
const ASSET_COLUMNS: &str =
    "id, tenant_id, facility_id, name, product, version, addresses, created_ms, created_by";

fn asset(
    (id, tenant, facility, name, product, version, addresses, created, by): AssetRow,
) -> Result<AssetRecord, DbError> {
    let addresses: Vec<IpNet> =
        serde_json::from_str(&addresses).map_err(|e| corrupt("asset addresses")(e.to_string()))?;
    Ok(AssetRecord {
        id: ObjectId::new(id).map_err(|e| corrupt("asset id")(e.to_string()))?,
        tenant: TenantId::new(tenant).map_err(|e| corrupt("tenant id")(e.to_string()))?,
        facility: facility
            .map(|f| FacilityId::new(f).map_err(|e| corrupt("facility id")(e.to_string())))
            .transpose()?,
        name,
        product,
        version,
        addresses,
        created: ts(created),
        created_by: UserId::new(by).map_err(|e| corrupt("user id")(e.to_string()))?,
    })
}

type AdvisoryRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
);
const ADVISORY_COLUMNS: &str =
    "id, tenant_id, message_id, title, severity, part, assets, version_unknown, received_ms";

fn tenant_advisory(
    (id, tenant, message, title, severity, part, assets, unknown, received): AdvisoryRow,
) -> Result<TenantAdvisory, DbError> {
    Ok(TenantAdvisory {
        id: ObjectId::new(id).map_err(|e| corrupt("advisory id")(e.to_string()))?,
        tenant: TenantId::new(tenant).map_err(|e| corrupt("tenant id")(e.to_string()))?,
        message,
        title,
        severity,
        part,
        assets: ids(&assets, "advisory assets")?,
        version_unknown: ids(&unknown, "advisory assets")?,
        received: ts(received),
    })
}

/// What a message from the hub asks of this ISOC, read by the caller.
#[derive(Debug, Clone)]
pub enum Incoming<'a> {
    /// An advisory: matched against the tenants' assets.
    Advisory(&'a Advisory),
    /// NCCIS asks for read access to a tenant's logs (R19): kept for an administrator's decision.
    AccessRequest(AccessAsk),
    /// Anything else: kept.
    Other,
}

/// NCCIS's request for read access to a tenant's logs, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessAsk {
    /// The tenant, as the hub named it (it may not exist here).
    pub tenant: String,
    pub starts: Timestamp,
    pub ends: Timestamp,
    pub reason: String,
    pub query: Option<String>,
}

/// A request for access as kept, with its decision once made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequestRecord {
    /// The hub's message id.
    pub id: String,
    pub ask: AccessAsk,
    pub received: Timestamp,
    /// When, by whom, granted or not, the grant made, and what was said.
    pub decision: Option<AccessDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDecision {
    pub at: Timestamp,
    pub by: String,
    pub granted: bool,
    pub grant: Option<String>,
    pub answer: Option<String>,
}

type AccessRow = (
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<String>,
);

const ACCESS_COLUMNS: &str = "id, tenant_id, starts_ms, ends_ms, reason, query, received_ms, decided_ms, decided_by, granted, grant_id, answer";

fn access_request(
    (id, tenant, starts, ends, reason, query, received, decided, by, granted, grant, answer): AccessRow,
) -> AccessRequestRecord {
    AccessRequestRecord {
        id,
        ask: AccessAsk {
            tenant,
            starts: ts(starts),
            ends: ts(ends),
            reason,
            query,
        },
        received: ts(received),
        decision: decided.map(|at| AccessDecision {
            at: ts(at),
            by: by.unwrap_or_default(),
            granted: granted.unwrap_or(false),
            grant,
            answer,
        }),
    }
}

impl Db {
    /// NCCIS's requests for access, newest first (for [`Permission::GrantsManage`]).
    pub async fn access_requests(
        &self,
        scope: &Scope,
    ) -> Result<Vec<AccessRequestRecord>, DbError> {
        crate::directory::require_permission(scope, Permission::GrantsManage)?;
        let rows: Vec<AccessRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ACCESS_COLUMNS} FROM access_requests ORDER BY received_ms DESC, id LIMIT 500")))
            .fetch_all(pool).await.map_err(DbError::query("access requests"))?);
        Ok(rows.into_iter().map(access_request).collect())
    }

    /// One request for access, by the hub's message id (for [`Permission::GrantsManage`]).
    pub async fn access_request(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<AccessRequestRecord, DbError> {
        crate::directory::require_permission(scope, Permission::GrantsManage)?;
        let row: Option<AccessRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ACCESS_COLUMNS} FROM access_requests WHERE id = $1")))
            .bind(id).fetch_optional(pool).await.map_err(DbError::query("access request"))?);
        row.map(access_request)
            .ok_or_else(|| DbError::NotFound(format!("access request `{id}`")))
    }

    /// Records the administrator's decision on request `id` (for [`Permission::GrantsManage`]) — the grant made
    /// for it, or none — and, in the same transaction, the `access.grant` message that tells NCCIS. Returns the
    /// message id.
    pub async fn decide_access_request(
        &self,
        scope: &Scope,
        id: &str,
        grant: Option<&ObjectId>,
        answer: Option<&str>,
        now: Timestamp,
    ) -> Result<ObjectId, DbError> {
        let request = self.access_request(scope, id).await?;
        if request.decision.is_some() {
            return Err(DbError::Conflict(format!(
                "decision on access request `{id}`"
            )));
        }
        let tenant = TenantId::new(request.ask.tenant.as_str())
            .map_err(|e| DbError::invalid(format!("access request `{id}`"), e.to_string()))?;
        let mut payload = serde_json::json!({
            "reason": answer.unwrap_or(&request.ask.reason),
            "from": request.ask.starts.to_string(),
            "to": request.ask.ends.to_string(),
            "request": id,
            "granted": grant.is_some(),
        });
        if let Some(g) = grant {
            payload["grant"] = serde_json::Value::String(g.to_string());
        }
        let message = ObjectId::from_random(random::<16>()?);
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("access request"))?;
            let decided = sqlx::query("UPDATE access_requests SET decided_ms = $1, decided_by = $2, granted = $3, grant_id = $4, answer = $5 WHERE id = $6 AND decided_ms IS NULL")
                .bind(now.as_millisecond()).bind(scope.user().as_str()).bind(grant.is_some())
                .bind(grant.map(ObjectId::as_str)).bind(answer).bind(id)
                .execute(&mut *tx).await.map_err(DbError::query("access request"))?.rows_affected();
            if decided != 1 {
                return Err(DbError::Conflict(format!("decision on access request `{id}`")));
            }
            sqlx::query("INSERT INTO exchange_outbox (id, tenant_id, kind, incident_id, obligation_id, facilities, payload, created_ms, attempts, next_attempt_ms) VALUES ($1, $2, 'access.grant', NULL, NULL, '[]', $3, $4, 0, $4)")
                .bind(message.as_str()).bind(tenant.as_str()).bind(payload.to_string()).bind(now.as_millisecond())
                .execute(&mut *tx).await.map_err(DbError::query("exchange message"))?;
            tx.commit().await.map_err(DbError::query("access request"))?;
        });
        Ok(message)
    }
}

/// What receiving one message from the hub did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Stored now; the tenants an advisory concerned, with the record each got.
    New(Vec<(TenantId, ObjectId)>),
    /// Received before (same id): nothing done again.
    Again,
}

impl Db {
    /// The part of `advisory` (message `id`) that concerns each tenant it concerns, with the tenant's name: every
    /// tenant's current assets read once, matched without I/O (`kuzet_cases::concerning`).
    async fn advisory_parts(
        &self,
        id: &str,
        advisory: &Advisory,
    ) -> Result<Vec<(TenantId, String, Concerning)>, DbError> {
        let rows: Vec<AssetRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ASSET_COLUMNS} FROM assets WHERE removed_ms IS NULL ORDER BY tenant_id, id")))
            .fetch_all(pool).await.map_err(DbError::query("assets"))?);
        let mut by_tenant: std::collections::BTreeMap<TenantId, Vec<kuzet_cases::Asset>> =
            std::collections::BTreeMap::new();
        for row in rows {
            let a = asset(row)?;
            by_tenant
                .entry(a.tenant.clone())
                .or_default()
                .push(kuzet_cases::Asset {
                    id: a.id.to_string(),
                    name: a.name,
                    product: a.product,
                    version: a.version,
                    addresses: a.addresses,
                });
        }
        let mut parts = Vec::new();
        for record in self.all_tenants().await? {
            let tenant = record.tenant;
            if tenant.id.is_reserved() {
                continue;
            }
            let assets = by_tenant
                .get(&tenant.id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let found = kuzet_cases::concerning(advisory, assets)
                .map_err(|e| DbError::invalid(format!("advisory `{id}`"), e.to_string()))?;
            if let Some(part) = found {
                parts.push((tenant.id, tenant.name, part));
            }
        }
        Ok(parts)
    }

    /// Adds an asset to a tenant's inventory (for [`Permission::AssetsManage`]).
    pub async fn create_asset(
        &self,
        scope: &Scope,
        a: &NewAsset,
        now: Timestamp,
    ) -> Result<AssetRecord, DbError> {
        let mut made = self
            .create_assets(scope, std::slice::from_ref(a), now)
            .await?;
        made.pop()
            .ok_or_else(|| DbError::invalid("asset", "nothing was created"))
    }

    /// Adds assets to tenants' inventories in one transaction (for [`Permission::AssetsManage`] over each
    /// tenant): all or none. An error names the asset's position in the list (from 1) when there is more than one.
    pub async fn create_assets(
        &self,
        scope: &Scope,
        assets: &[NewAsset],
        now: Timestamp,
    ) -> Result<Vec<AssetRecord>, DbError> {
        let at = |n: usize, e: DbError| -> DbError {
            if assets.len() == 1 {
                return e;
            }
            match e {
                DbError::Invalid { object, reason } => DbError::Invalid {
                    object: format!("asset {}: {object}", n + 1),
                    reason,
                },
                DbError::NotFound(what) => DbError::NotFound(format!("asset {}: {what}", n + 1)),
                other => other,
            }
        };
        let mut records = Vec::with_capacity(assets.len());
        for (n, a) in assets.iter().enumerate() {
            require(scope, Permission::AssetsManage, &a.tenant).map_err(|e| at(n, e))?;
            check_asset(a).map_err(|e| at(n, e))?;
            self.tenant_unscoped(&a.tenant)
                .await
                .map_err(|e| at(n, e))?;
            if let Some(f) = &a.facility {
                let known = self
                    .tenant_facilities(Some(&a.tenant))
                    .await?
                    .iter()
                    .any(|x| &x.id == f);
                if !known {
                    return Err(at(
                        n,
                        DbError::NotFound(format!("facility `{f}` of tenant `{}`", a.tenant)),
                    ));
                }
            }
            records.push(AssetRecord {
                id: ObjectId::from_random(random::<16>()?),
                tenant: a.tenant.clone(),
                facility: a.facility.clone(),
                name: a.name.trim().to_owned(),
                product: a.product.clone(),
                version: a.version.clone(),
                addresses: a.addresses.clone(),
                created: now,
                created_by: scope.user().clone(),
            });
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("assets"))?;
            for r in &records {
                let addresses = serde_json::to_string(&r.addresses)
                    .map_err(|e| DbError::invalid("asset `addresses`", e.to_string()))?;
                sqlx::query("INSERT INTO assets (id, tenant_id, facility_id, name, product, version, addresses, created_ms, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(r.id.as_str()).bind(r.tenant.as_str()).bind(r.facility.as_ref().map(FacilityId::as_str))
                    .bind(&r.name).bind(&r.product).bind(&r.version).bind(&addresses)
                    .bind(now.as_millisecond()).bind(scope.user().as_str())
                    .execute(&mut *tx).await.map_err(DbError::insert("asset", format!("asset `{}`", r.id)))?;
            }
            tx.commit().await.map_err(DbError::query("assets"))?;
        });
        Ok(records)
    }

    /// A tenant's current assets by id (for [`Permission::TenantsRead`]).
    pub async fn assets(
        &self,
        scope: &Scope,
        tenant: &TenantId,
    ) -> Result<Vec<AssetRecord>, DbError> {
        require(scope, Permission::TenantsRead, tenant)?;
        self.tenant_unscoped(tenant).await?;
        self.current_assets(tenant).await
    }

    /// A tenant's current assets by id, for a caller whose permission was checked.
    pub(crate) async fn current_assets(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<AssetRecord>, DbError> {
        let rows: Vec<AssetRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ASSET_COLUMNS} FROM assets WHERE tenant_id = $1 AND removed_ms IS NULL ORDER BY id")))
            .bind(tenant.as_str()).fetch_all(pool).await.map_err(DbError::query("assets"))?);
        rows.into_iter().map(asset).collect()
    }

    /// Removes an asset from the inventory (for [`Permission::AssetsManage`]); the row stays, marked removed,
    /// because advisories received name it.
    pub async fn remove_asset(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::AssetsManage, tenant)?;
        let changed = on_pool!(self, pool => sqlx::query("UPDATE assets SET removed_ms = $1 WHERE id = $2 AND tenant_id = $3 AND removed_ms IS NULL")
            .bind(now.as_millisecond()).bind(id.as_str()).bind(tenant.as_str())
            .execute(pool).await.map_err(DbError::query("asset"))?.rows_affected());
        if changed == 0 {
            return Err(DbError::NotFound(format!("asset `{id}`")));
        }
        Ok(())
    }

    /// The advisories that concerned a tenant, newest first (for [`Permission::AdvisoriesRead`]).
    pub async fn tenant_advisories(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        limit: u32,
    ) -> Result<Vec<TenantAdvisory>, DbError> {
        require(scope, Permission::AdvisoriesRead, tenant)?;
        self.tenant_unscoped(tenant).await?;
        self.advisories_of(tenant, i64::from(limit.max(1))).await
    }

    /// The newest `limit` advisories that concerned a tenant.
    pub(crate) async fn advisories_of(
        &self,
        tenant: &TenantId,
        limit: i64,
    ) -> Result<Vec<TenantAdvisory>, DbError> {
        let rows: Vec<AdvisoryRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ADVISORY_COLUMNS} FROM tenant_advisories WHERE tenant_id = $1 ORDER BY received_ms DESC, id LIMIT $2")))
            .bind(tenant.as_str()).bind(limit)
            .fetch_all(pool).await.map_err(DbError::query("advisories"))?);
        rows.into_iter().map(tenant_advisory).collect()
    }

    /// The sequence number of the last message received from the hub: where the next fetch starts. For the
    /// process itself.
    pub async fn system_inbox_cursor(&self) -> Result<i64, DbError> {
        let (max,): (Option<i64>,) = on_pool!(self, pool => sqlx::query_as("SELECT MAX(seq) FROM exchange_inbox")
            .fetch_one(pool).await.map_err(DbError::query("inbox"))?);
        Ok(max.unwrap_or(0))
    }

    /// Takes one message from the hub, verified by the caller: stored once by id; an advisory is matched against
    /// every tenant's assets in the same transaction, and each tenant it concerns gets its part and a notice to
    /// its contacts. For the process itself.
    pub async fn system_receive(
        &self,
        message: (&str, i64, &str),
        signed: (&str, &str),
        what: &Incoming<'_>,
        now: Timestamp,
    ) -> Result<Received, DbError> {
        let advisory = match what {
            Incoming::Advisory(a) => Some(*a),
            _ => None,
        };
        let (id, seq, kind) = message;
        let (body, jws) = signed;
        let parts = match advisory {
            Some(advisory) => self.advisory_parts(id, advisory).await?,
            None => Vec::new(),
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("inbox"))?;
            let inserted = sqlx::query("INSERT INTO exchange_inbox (id, seq, kind, body, jws, received_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING")
                .bind(id).bind(seq).bind(kind).bind(body).bind(jws).bind(now.as_millisecond())
                .execute(&mut *tx).await.map_err(DbError::query("inbox"))?.rows_affected();
            if inserted == 0 {
                return Ok(Received::Again);
            }
            if let Incoming::AccessRequest(r) = what {
                sqlx::query("INSERT INTO access_requests (id, tenant_id, starts_ms, ends_ms, reason, query, received_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(id).bind(&r.tenant).bind(r.starts.as_millisecond()).bind(r.ends.as_millisecond())
                    .bind(&r.reason).bind(&r.query).bind(now.as_millisecond())
                    .execute(&mut *tx).await.map_err(DbError::query("access request"))?;
            }
            let mut made = Vec::new();
            for (tenant, organization, part) in &parts {
                let record = ObjectId::from_random(random::<16>()?);
                sqlx::query("INSERT INTO tenant_advisories (id, tenant_id, message_id, title, severity, part, assets, version_unknown, received_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(record.as_str()).bind(tenant.as_str()).bind(id).bind(&part.part.title).bind(&part.part.severity)
                    .bind(json(&part.part)).bind(json(&part.assets)).bind(json(&part.version_unknown))
                    .bind(now.as_millisecond())
                    .execute(&mut *tx).await.map_err(DbError::query("advisory"))?;
                let contacts: Vec<(String, String, String, String, String)> = sqlx::query_as(CURRENT_CONTACTS)
                    .bind(tenant.as_str()).fetch_all(&mut *tx).await.map_err(DbError::query("contacts"))?;
                for (contact, _role, channel, address, language) in &contacts {
                    let lang = Lang::parse(language).ok_or_else(|| corrupt("language")(language.clone()))?;
                    let notice = kuzet_cases::render_advisory_notice(organization, part, lang);
                    sqlx::query("INSERT INTO notifications (id, tenant_id, kind, incident_id, obligation_id, contact_id, channel, address, language, subject, body, created_ms, attempts, next_attempt_ms) VALUES ($1, $2, 'advisory', NULL, NULL, $3, $4, $5, $6, $7, $8, $9, 0, $9)")
                        .bind(ObjectId::from_random(random::<16>()?).as_str()).bind(tenant.as_str())
                        .bind(contact).bind(channel).bind(address).bind(lang.code())
                        .bind(&notice.subject).bind(&notice.body).bind(now.as_millisecond())
                        .execute(&mut *tx).await.map_err(DbError::query("notification"))?;
                }
                made.push((tenant.clone(), record));
            }
            tx.commit().await.map_err(DbError::query("inbox"))?;
            Ok(Received::New(made))
        })
    }
}

/// The JSON text of a value stored in a JSON column: plain data (strings, lists, the advisory's fields), which
/// always serializes.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
