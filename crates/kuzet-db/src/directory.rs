//! Tenants (with retention), facilities, sources and their identities.

use kuzet_model::access::{Permission, Scope};
use kuzet_model::{
    Directory, Facility, FacilityClass, FacilityId, FormatHint, Retention, Sector, Source,
    SourceId, SourceIdentity, Tenant, TenantId,
};

use crate::backend::on_pool;
use crate::secrets::{new_secret, sha256_hex};
use crate::{Db, DbError};

/// A tenant as stored: the organization and its retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    pub tenant: Tenant,
    pub retention: Retention,
}

/// A source to create through the API.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub id: SourceId,
    pub tenant: TenantId,
    pub facility: Option<FacilityId>,
    pub name: String,
    pub format: FormatHint,
    pub expected_interval_secs: Option<u64>,
}

/// A machine token made for a source; `secret` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct SourceToken {
    pub source: SourceId,
    pub secret: String,
}

/// Checks that `scope` is for `permission` and reaches `tenant`. A tenant outside the scope is "not found", so that
/// guessing another tenant's ids reveals nothing.
pub(crate) fn require(
    scope: &Scope,
    permission: Permission,
    tenant: &TenantId,
) -> Result<(), DbError> {
    require_permission(scope, permission)?;
    if scope.permits(tenant) {
        Ok(())
    } else {
        Err(DbError::NotFound(format!("tenant `{tenant}`")))
    }
}

pub(crate) fn require_permission(scope: &Scope, permission: Permission) -> Result<(), DbError> {
    if scope.permission() == permission {
        Ok(())
    } else {
        Err(DbError::Denied(
            kuzet_model::access::AccessDenied::Permission {
                user: scope.user().clone(),
                permission,
            },
        ))
    }
}

fn identity_parts(identity: &SourceIdentity) -> (&'static str, String) {
    match identity {
        SourceIdentity::Peer(net) => ("peer", net.to_string()),
        SourceIdentity::TlsCommonName(cn) => ("tls_common_name", cn.clone()),
        SourceIdentity::TlsFingerprint(fp) => ("tls_fingerprint", fp.to_ascii_lowercase()),
        SourceIdentity::TokenSha256(h) => ("token_sha256", h.to_ascii_lowercase()),
    }
}

fn identity_from_parts(kind: &str, value: String) -> Result<SourceIdentity, DbError> {
    let corrupt = |detail: String| DbError::Corrupt {
        what: "source identity",
        detail,
    };
    Ok(match kind {
        "peer" => SourceIdentity::Peer(
            value
                .parse()
                .map_err(|e| corrupt(format!("peer `{value}`: {e}")))?,
        ),
        "tls_common_name" => SourceIdentity::TlsCommonName(value),
        "tls_fingerprint" => SourceIdentity::TlsFingerprint(value),
        "token_sha256" => SourceIdentity::TokenSha256(value),
        other => return Err(corrupt(format!("unknown kind `{other}`"))),
    })
}

fn tenant_id(value: String) -> Result<TenantId, DbError> {
    TenantId::new(value).map_err(|e| DbError::Corrupt {
        what: "tenant id",
        detail: e.to_string(),
    })
}

type TenantRow = (String, String, i64, i64, Option<String>);

fn tenant_record(
    (id, name, hot_days, archive_years, sector): TenantRow,
) -> Result<TenantRecord, DbError> {
    Ok(TenantRecord {
        tenant: Tenant {
            id: tenant_id(id)?,
            name,
            sector: sector.map(|s| Sector::parse(&s)).transpose().map_err(|e| {
                DbError::Corrupt {
                    what: "tenant sector",
                    detail: e.to_string(),
                }
            })?,
        },
        retention: Retention {
            hot_days: u32::try_from(hot_days).unwrap_or(0),
            archive_years: u32::try_from(archive_years).unwrap_or(0),
        },
    })
}

type FacilityRow = (String, String, String, i64, bool);

fn facility((id, tenant, name, class, critical): FacilityRow) -> Result<Facility, DbError> {
    Ok(Facility {
        id: FacilityId::new(id).map_err(|e| DbError::Corrupt {
            what: "facility id",
            detail: e.to_string(),
        })?,
        tenant: tenant_id(tenant)?,
        name,
        class: FacilityClass::from_number(u8::try_from(class).unwrap_or(0)).map_err(|e| {
            DbError::Corrupt {
                what: "facility class",
                detail: e.to_string(),
            }
        })?,
        critical,
    })
}

type SourceRow = (String, String, Option<String>, String, String, Option<i64>);

const TENANT_COLUMNS: &str = "id, name, hot_days, archive_years, sector";
const FACILITY_COLUMNS: &str = "id, tenant_id, name, class, critical";
const SOURCE_COLUMNS: &str = "id, tenant_id, facility_id, name, format, expected_interval_secs";

impl Db {
    pub(crate) async fn all_tenants(&self) -> Result<Vec<TenantRecord>, DbError> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY id");
        let rows: Vec<TenantRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_all(pool)
            .await
            .map_err(DbError::query("tenants"))?);
        rows.into_iter().map(tenant_record).collect()
    }

    pub(crate) async fn tenant_facilities(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<Facility>, DbError> {
        let rows: Vec<FacilityRow> = match tenant {
            Some(t) => {
                let sql = format!(
                    "SELECT {FACILITY_COLUMNS} FROM facilities WHERE tenant_id = $1 ORDER BY id"
                );
                on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(t.as_str()).fetch_all(pool).await
                    .map_err(DbError::query("facilities"))?)
            }
            None => {
                let sql = format!("SELECT {FACILITY_COLUMNS} FROM facilities ORDER BY id");
                on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await
                    .map_err(DbError::query("facilities"))?)
            }
        };
        rows.into_iter().map(facility).collect()
    }

    async fn tenant_sources(&self, tenant: Option<&TenantId>) -> Result<Vec<Source>, DbError> {
        let (rows, identities): (Vec<SourceRow>, Vec<(String, String, String)>) = match tenant {
            Some(t) => return self.tenant_sources_after(t, "", i64::MAX).await,
            None => {
                let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources ORDER BY id");
                let ids =
                    "SELECT source_id, kind, value FROM source_identities ORDER BY kind, value";
                on_pool!(self, pool => (
                    sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await.map_err(DbError::query("sources"))?,
                    sqlx::query_as(ids).fetch_all(pool).await.map_err(DbError::query("source identities"))?,
                ))
            }
        };
        Self::assemble_sources(rows, identities)
    }

    /// At most `limit` sources of `tenant` with ids after `after`, by id, with their identities: two queries.
    async fn tenant_sources_after(
        &self,
        tenant: &TenantId,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Source>, DbError> {
        let page = "SELECT id FROM sources WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3";
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE id IN ({page}) ORDER BY id");
        let ids = format!(
            "SELECT source_id, kind, value FROM source_identities WHERE source_id IN ({page}) ORDER BY kind, value"
        );
        let (rows, identities): (Vec<SourceRow>, Vec<(String, String, String)>) = on_pool!(self, pool => (
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(tenant.as_str()).bind(after).bind(limit)
                .fetch_all(pool).await.map_err(DbError::query("sources"))?,
            sqlx::query_as(sqlx::AssertSqlSafe(ids.as_str())).bind(tenant.as_str()).bind(after).bind(limit)
                .fetch_all(pool).await.map_err(DbError::query("source identities"))?,
        ));
        Self::assemble_sources(rows, identities)
    }

    fn assemble_sources(
        rows: Vec<SourceRow>,
        identities: Vec<(String, String, String)>,
    ) -> Result<Vec<Source>, DbError> {
        let mut by_source: std::collections::HashMap<String, Vec<SourceIdentity>> =
            Default::default();
        for (source, kind, value) in identities {
            by_source
                .entry(source)
                .or_default()
                .push(identity_from_parts(&kind, value)?);
        }
        rows.into_iter()
            .map(|(id, tenant, facility, name, format, interval)| {
                let corrupt = |what, detail: String| DbError::Corrupt { what, detail };
                Ok(Source {
                    identities: by_source.remove(&id).unwrap_or_default(),
                    id: SourceId::new(id).map_err(|e| corrupt("source id", e.to_string()))?,
                    tenant: tenant_id(tenant)?,
                    facility: facility
                        .map(FacilityId::new)
                        .transpose()
                        .map_err(|e| corrupt("facility id", e.to_string()))?,
                    name,
                    format: FormatHint::parse_name(&format)
                        .ok_or_else(|| corrupt("source format", format.clone()))?,
                    expected_interval_secs: interval.and_then(|i| u64::try_from(i).ok()),
                })
            })
            .collect()
    }

    /// Everything the listeners attribute senders with. For the process itself, not for the API.
    pub async fn system_load_directory(&self) -> Result<Directory, DbError> {
        let tenants = self
            .all_tenants()
            .await?
            .into_iter()
            .map(|r| r.tenant)
            .collect();
        Directory::new(
            tenants,
            self.tenant_facilities(None).await?,
            self.tenant_sources(None).await?,
        )
        .map_err(|e| DbError::invalid("directory", e.to_string()))
    }

    /// Makes the database hold the tenants, facilities and sources of the configuration file (created, or renamed
    /// and given the file's sector in place; retention and objects created through the API are left as they are). The identities that came
    /// from the file are replaced by the file's. For the process itself at start-up, not for the API.
    pub async fn system_apply_directory(
        &self,
        directory: &Directory,
        now: jiff::Timestamp,
    ) -> Result<(), DbError> {
        let now = now.as_millisecond();
        let defaults = Retention::default();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("directory"))?;
            for tenant in directory.tenants() {
                sqlx::query("INSERT INTO tenants (id, name, hot_days, archive_years, created_ms, sector) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = excluded.name, sector = excluded.sector")
                    .bind(tenant.id.as_str()).bind(&tenant.name)
                    .bind(i64::from(defaults.hot_days)).bind(i64::from(defaults.archive_years)).bind(now)
                    .bind(tenant.sector.map(Sector::as_str))
                    .execute(&mut *tx).await.map_err(DbError::query("tenant"))?;
            }
            for f in directory.facilities() {
                sqlx::query("INSERT INTO facilities (id, tenant_id, name, class, critical) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, class = excluded.class, critical = excluded.critical")
                    .bind(f.id.as_str()).bind(f.tenant.as_str()).bind(&f.name)
                    .bind(i64::from(f.class.number())).bind(f.critical)
                    .execute(&mut *tx).await.map_err(DbError::query("facility"))?;
            }
            sqlx::query("DELETE FROM source_identities WHERE origin = 'config'")
                .execute(&mut *tx).await.map_err(DbError::query("source identities"))?;
            for s in directory.sources() {
                sqlx::query("INSERT INTO sources (id, tenant_id, facility_id, name, format, expected_interval_secs) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET facility_id = excluded.facility_id, name = excluded.name, format = excluded.format, expected_interval_secs = excluded.expected_interval_secs")
                    .bind(s.id.as_str()).bind(s.tenant.as_str()).bind(s.facility.as_ref().map(|f| f.as_str()))
                    .bind(&s.name).bind(s.format.as_str())
                    .bind(s.expected_interval_secs.and_then(|i| i64::try_from(i).ok()))
                    .execute(&mut *tx).await.map_err(DbError::query("source"))?;
                for identity in &s.identities {
                    let (kind, value) = identity_parts(identity);
                    sqlx::query("INSERT INTO source_identities (source_id, kind, value, origin, created_ms) VALUES ($1, $2, $3, 'config', $4)")
                        .bind(s.id.as_str()).bind(kind).bind(&value).bind(now)
                        .execute(&mut *tx).await
                        .map_err(DbError::insert("source identity", format!("identity {kind} `{value}`")))?;
                }
            }
            tx.commit().await.map_err(DbError::query("directory"))?;
        });
        // The result must still be a valid directory (no identity claimed twice across file and API objects).
        self.system_load_directory().await.map(|_| ())
    }

    /// Every tenant's retention, for the background jobs that apply it (the search index's hot window).
    pub async fn system_retentions(&self) -> Result<Vec<(TenantId, Retention)>, DbError> {
        Ok(self
            .all_tenants()
            .await?
            .into_iter()
            .map(|r| (r.tenant.id, r.retention))
            .collect())
    }

    /// The tenants `scope` reaches (for [`Permission::TenantsRead`]).
    pub async fn tenants(&self, scope: &Scope) -> Result<Vec<TenantRecord>, DbError> {
        require_permission(scope, Permission::TenantsRead)?;
        self.tenants_in(scope).await
    }

    /// The tenants `scope` reaches; its permission checked by the caller.
    pub(crate) async fn tenants_in(&self, scope: &Scope) -> Result<Vec<TenantRecord>, DbError> {
        Ok(self
            .all_tenants()
            .await?
            .into_iter()
            .filter(|r| scope.permits(&r.tenant.id))
            .collect())
    }

    /// One tenant, "not found" when outside `scope`.
    pub async fn tenant(&self, scope: &Scope, id: &TenantId) -> Result<TenantRecord, DbError> {
        require(scope, Permission::TenantsRead, id)?;
        self.tenant_unscoped(id).await
    }

    pub(crate) async fn tenant_unscoped(&self, id: &TenantId) -> Result<TenantRecord, DbError> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
        let row: Option<TenantRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id.as_str()).fetch_optional(pool).await.map_err(DbError::query("tenant"))?);
        row.map(tenant_record)
            .transpose()?
            .ok_or_else(|| DbError::NotFound(format!("tenant `{id}`")))
    }

    /// Creates a tenant (for [`Permission::TenantsManage`]). Its retention must meet the legal floors.
    pub async fn create_tenant(
        &self,
        scope: &Scope,
        record: &TenantRecord,
        now: jiff::Timestamp,
    ) -> Result<(), DbError> {
        require_permission(scope, Permission::TenantsManage)?;
        let id = &record.tenant.id;
        if id.is_reserved() {
            return Err(DbError::invalid(
                format!("tenant `{id}`"),
                "ids starting with `kuzet-` are reserved",
            ));
        }
        record
            .retention
            .check()
            .map_err(|e| DbError::invalid(format!("tenant `{id}`"), e.to_string()))?;
        on_pool!(self, pool => sqlx::query("INSERT INTO tenants (id, name, hot_days, archive_years, created_ms, sector) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id.as_str()).bind(&record.tenant.name)
            .bind(i64::from(record.retention.hot_days)).bind(i64::from(record.retention.archive_years))
            .bind(now.as_millisecond()).bind(record.tenant.sector.map(Sector::as_str))
            .execute(pool).await.map(|r| r.rows_affected())
            .map_err(DbError::insert("tenant", format!("tenant `{id}`")))?);
        Ok(())
    }

    /// Changes a tenant's retention (for [`Permission::RetentionManage`]); a value below a legal floor is refused
    /// whoever asks.
    pub async fn set_retention(
        &self,
        scope: &Scope,
        id: &TenantId,
        retention: Retention,
    ) -> Result<(), DbError> {
        require(scope, Permission::RetentionManage, id)?;
        retention
            .check()
            .map_err(|e| DbError::invalid(format!("tenant `{id}`"), e.to_string()))?;
        let changed = on_pool!(self, pool => sqlx::query("UPDATE tenants SET hot_days = $1, archive_years = $2 WHERE id = $3")
            .bind(i64::from(retention.hot_days)).bind(i64::from(retention.archive_years)).bind(id.as_str())
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("retention"))?);
        if changed == 0 {
            return Err(DbError::NotFound(format!("tenant `{id}`")));
        }
        Ok(())
    }

    /// A tenant's facilities (for [`Permission::TenantsRead`]).
    /// The tenant's registered facilities, for judging an incident there (for [`Permission::IncidentsManage`]):
    /// the criticality rubric takes their class and critical flag from these records, not from what is typed.
    pub async fn incident_facilities(
        &self,
        scope: &Scope,
        tenant: &TenantId,
    ) -> Result<Vec<Facility>, DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        self.tenant_facilities(Some(tenant)).await
    }

    pub async fn facilities(
        &self,
        scope: &Scope,
        tenant: &TenantId,
    ) -> Result<Vec<Facility>, DbError> {
        require(scope, Permission::TenantsRead, tenant)?;
        self.tenant_unscoped(tenant).await?;
        self.tenant_facilities(Some(tenant)).await
    }

    /// Creates a facility (for [`Permission::TenantsManage`]).
    pub async fn create_facility(&self, scope: &Scope, f: &Facility) -> Result<(), DbError> {
        require(scope, Permission::TenantsManage, &f.tenant)?;
        self.tenant_unscoped(&f.tenant).await?;
        on_pool!(self, pool => sqlx::query("INSERT INTO facilities (id, tenant_id, name, class, critical) VALUES ($1, $2, $3, $4, $5)")
            .bind(f.id.as_str()).bind(f.tenant.as_str()).bind(&f.name)
            .bind(i64::from(f.class.number())).bind(f.critical)
            .execute(pool).await.map(|r| r.rows_affected())
            .map_err(DbError::insert("facility", format!("facility `{}`", f.id)))?);
        Ok(())
    }

    /// A tenant's sources with their identities (for [`Permission::SourcesRead`]).
    pub async fn sources(&self, scope: &Scope, tenant: &TenantId) -> Result<Vec<Source>, DbError> {
        Ok(self.sources_page(scope, tenant, None, u32::MAX).await?.0)
    }

    /// A page of a tenant's sources by id with their identities (for [`Permission::SourcesRead`]), and the next
    /// page's cursor when there is one.
    pub async fn sources_page(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Source>, Option<String>), DbError> {
        require(scope, Permission::SourcesRead, tenant)?;
        self.tenant_unscoped(tenant).await?;
        let request = crate::incidents::PageRequest::new(cursor, limit)?;
        // Sources are sorted by id alone: the cursor's sort key is always 0.
        let after = request.after().map_or("", |(_, id)| id);
        let page = self
            .tenant_sources_after(tenant, after, request.fetch())
            .await?;
        Ok(request.finish(page, |s| (0, s.id.to_string())))
    }

    /// Creates a source (for [`Permission::SourcesManage`]). Its facility must be one of its tenant's.
    pub async fn create_source(&self, scope: &Scope, s: &NewSource) -> Result<(), DbError> {
        require(scope, Permission::SourcesManage, &s.tenant)?;
        self.tenant_unscoped(&s.tenant).await?;
        if let Some(f) = &s.facility
            && !self
                .tenant_facilities(Some(&s.tenant))
                .await?
                .iter()
                .any(|x| &x.id == f)
        {
            return Err(DbError::NotFound(format!("facility `{f}`")));
        }
        on_pool!(self, pool => sqlx::query("INSERT INTO sources (id, tenant_id, facility_id, name, format, expected_interval_secs) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(s.id.as_str()).bind(s.tenant.as_str()).bind(s.facility.as_ref().map(|f| f.as_str()))
            .bind(&s.name).bind(s.format.as_str())
            .bind(s.expected_interval_secs.and_then(|i| i64::try_from(i).ok()))
            .execute(pool).await.map(|r| r.rows_affected())
            .map_err(DbError::insert("source", format!("source `{}`", s.id)))?);
        Ok(())
    }

    /// Adds a TLS client certificate identity (by SHA-256 fingerprint of the DER, or by subject common name) to a
    /// source (for [`Permission::SourcesManage`]). An identity another source claims is a conflict.
    pub async fn add_source_certificate(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        source: &SourceId,
        identity: &SourceIdentity,
        now: jiff::Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::SourcesManage, tenant)?;
        let (kind, value) = identity_parts(identity);
        if !matches!(kind, "tls_fingerprint" | "tls_common_name") {
            return Err(DbError::invalid(
                format!("source `{source}`"),
                "not a certificate identity",
            ));
        }
        if kind == "tls_fingerprint"
            && (value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(DbError::invalid(
                format!("certificate fingerprint `{value}`"),
                "must be the SHA-256 of the certificate (DER) in hex",
            ));
        }
        self.add_api_identity(scope, tenant, source, kind, &value, now)
            .await
    }

    /// Adds an identity to a source of `tenant`, made through the API.
    /// Checks that `scope` may manage the sources of `tenant` and that `source` is one of them ("not found"
    /// otherwise, as for another tenant's source).
    async fn managed_source(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        source: &SourceId,
    ) -> Result<(), DbError> {
        require(scope, Permission::SourcesManage, tenant)?;
        if !self
            .tenant_sources(Some(tenant))
            .await?
            .iter()
            .any(|s| &s.id == source)
        {
            return Err(DbError::NotFound(format!("source `{source}`")));
        }
        Ok(())
    }

    async fn add_api_identity(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        source: &SourceId,
        kind: &str,
        value: &str,
        now: jiff::Timestamp,
    ) -> Result<(), DbError> {
        self.managed_source(scope, tenant, source).await?;
        on_pool!(self, pool => sqlx::query("INSERT INTO source_identities (source_id, kind, value, origin, created_ms) VALUES ($1, $2, $3, 'api', $4)")
            .bind(source.as_str()).bind(kind).bind(value).bind(now.as_millisecond())
            .execute(pool).await.map(|r| r.rows_affected())
            .map_err(DbError::insert("source identity", format!("identity {kind} of source `{source}`")))?);
        Ok(())
    }

    /// Revokes an identity of a source made through the API (a machine token by the SHA-256 of its secret, a
    /// certificate by fingerprint or common name; for [`Permission::SourcesManage`]). Identities from the
    /// configuration file are changed there.
    pub async fn revoke_source_identity(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        source: &SourceId,
        kind: &str,
        value: &str,
    ) -> Result<(), DbError> {
        self.managed_source(scope, tenant, source).await?;
        let object = format!("identity {kind} `{value}` of source `{source}`");
        let origin: Option<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT origin FROM source_identities WHERE source_id = $1 AND kind = $2 AND value = $3")
            .bind(source.as_str()).bind(kind).bind(value).fetch_optional(pool).await.map_err(DbError::query("source identity"))?);
        match origin {
            None => Err(DbError::NotFound(object)),
            Some((origin,)) if origin != "api" => Err(DbError::invalid(
                object,
                "comes from the configuration file: remove it there",
            )),
            Some(_) => {
                on_pool!(self, pool => sqlx::query("DELETE FROM source_identities WHERE source_id = $1 AND kind = $2 AND value = $3 AND origin = 'api'")
                    .bind(source.as_str()).bind(kind).bind(value).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("source identity"))?);
                Ok(())
            }
        }
    }

    /// Makes a machine token for a source (for [`Permission::SourcesManage`]): the secret is returned once, only its
    /// SHA-256 is kept (as the source's `token_sha256` identity).
    pub async fn create_source_token(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        source: &SourceId,
        now: jiff::Timestamp,
    ) -> Result<SourceToken, DbError> {
        let secret = new_secret("kzm_")?;
        self.add_api_identity(
            scope,
            tenant,
            source,
            "token_sha256",
            &sha256_hex(&secret),
            now,
        )
        .await?;
        Ok(SourceToken {
            source: source.clone(),
            secret,
        })
    }
}
