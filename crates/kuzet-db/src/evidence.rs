//! Evidence of an incident: sealed events attached by id, and the chain of custody — every collection, access,
//! export and hand-over, who, when and why. The events themselves stay in the sealed archive; their proofs go into
//! evidence bundles (`kuzet-store`).

use jiff::Timestamp;
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{EventId, ObjectId, TenantId};

use crate::backend::{on_pool, ts};
use crate::directory::require;
use crate::{Db, DbError};

/// An event attached to an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceItem {
    pub event_id: EventId,
    pub added_by: String,
    pub added: Timestamp,
    pub reason: String,
}

/// A file kept as evidence: stored write-once under its SHA-256, which every read is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    /// Lowercase hex.
    pub sha256: String,
    /// The name it was uploaded under.
    pub name: String,
    pub size: u64,
    pub added_by: String,
    pub added: Timestamp,
    pub reason: String,
}

/// One entry of the chain of custody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodyRecord {
    pub at: Timestamp,
    pub actor: String,
    /// `collected`, `accessed`, `exported`, `handed over`.
    pub action: String,
    pub reason: String,
}

/// The custody chain is appended in one place's SQL, whichever call appends to it. Sequence numbers come from the
/// incident's counters, taken by the transaction's first statement (an UPDATE: the row lock on PostgreSQL, the
/// write lock on SQLite, so concurrent appends queue instead of colliding or failing with "database is locked").
const NEXT_CUSTODY_SEQ: &str =
    "UPDATE incidents SET custody_next = custody_next + 1 WHERE id = $1 RETURNING custody_next - 1";
const NEXT_EVIDENCE_SEQ: &str = "UPDATE incidents SET evidence_next = evidence_next + 1, custody_next = custody_next + 1 \
     WHERE id = $1 RETURNING evidence_next - 1, custody_next - 1";
const INSERT_CUSTODY: &str = "INSERT INTO custody_entries (incident_id, seq, at_ms, actor, action, reason) VALUES ($1, $2, $3, $4, $5, $6)";

impl Db {
    /// Whether incident `id` belongs to `tenant`: otherwise "not found".
    pub(crate) async fn incident_in(
        &self,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<(), DbError> {
        let found: Option<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT id FROM incidents WHERE id = $1 AND tenant_id = $2")
            .bind(id.as_str()).bind(tenant.as_str()).fetch_optional(pool).await.map_err(DbError::query("incident"))?);
        found
            .map(|_| ())
            .ok_or_else(|| DbError::NotFound(format!("incident `{id}`")))
    }

    /// Attaches a sealed event to an incident (for [`Permission::IncidentsManage`]) and records its collection.
    /// The caller has checked that the event is sealed in this tenant's log. Attaching it twice is a conflict.
    pub async fn attach_evidence(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        event: EventId,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        self.incident_in(tenant, id).await?;
        if reason.trim().is_empty() {
            return Err(DbError::invalid(
                format!("evidence {event}"),
                "needs a reason",
            ));
        }
        let actor = scope.user().to_string();
        let object = format!("event {event} in incident `{id}`");
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("evidence"))?;
            let (seq, custody): (i64, i64) = sqlx::query_as(NEXT_EVIDENCE_SEQ)
                .bind(id.as_str()).fetch_one(&mut *tx).await.map_err(DbError::query("evidence"))?;
            sqlx::query("INSERT INTO evidence_items (incident_id, seq, event_id, added_by, added_ms, reason) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id.as_str()).bind(seq).bind(event.to_string()).bind(&actor).bind(now.as_millisecond()).bind(reason)
                .execute(&mut *tx).await.map_err(DbError::insert("evidence", object.clone()))?;
            sqlx::query(INSERT_CUSTODY)
                .bind(id.as_str()).bind(custody).bind(now.as_millisecond()).bind(&actor).bind("collected").bind(format!("event {event}: {reason}"))
                .execute(&mut *tx).await.map_err(DbError::query("custody"))?;
            tx.commit().await.map_err(DbError::query("evidence"))?;
        });
        Ok(())
    }

    /// Records a file kept as evidence of an incident (for [`Permission::IncidentsManage`]), and its collection in
    /// the chain of custody, in one transaction. The caller has stored the bytes under `file.sha256`. The same file
    /// twice is a conflict.
    pub async fn attach_file(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        file: &EvidenceFile,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        self.incident_in(tenant, id).await?;
        let what = format!("evidence file `{}`", file.name);
        if file.reason.trim().is_empty() {
            return Err(DbError::invalid(what, "needs a reason"));
        }
        if file.name.trim().is_empty()
            || file.name.chars().count() > 255
            || file.name.chars().any(char::is_control)
        {
            return Err(DbError::invalid(
                what,
                "needs a name of 1 to 255 printable characters",
            ));
        }
        if file.sha256.len() != 64
            || !file
                .sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(DbError::invalid(
                what,
                "the digest is not lowercase hex SHA-256",
            ));
        }
        let actor = scope.user().to_string();
        let size =
            i64::try_from(file.size).map_err(|_| DbError::invalid(what.clone(), "too large"))?;
        let object = format!("file {} in incident `{id}`", file.sha256);
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("evidence file"))?;
            let (seq,): (i64,) = sqlx::query_as(NEXT_CUSTODY_SEQ)
                .bind(id.as_str()).fetch_one(&mut *tx).await.map_err(DbError::query("custody"))?;
            sqlx::query("INSERT INTO evidence_files (incident_id, sha256, name, size, added_by, added_ms, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(id.as_str()).bind(&file.sha256).bind(file.name.trim()).bind(size).bind(&actor)
                .bind(now.as_millisecond()).bind(file.reason.trim())
                .execute(&mut *tx).await.map_err(DbError::insert("evidence file", object.clone()))?;
            sqlx::query(INSERT_CUSTODY)
                .bind(id.as_str()).bind(seq).bind(now.as_millisecond()).bind(&actor).bind("collected")
                .bind(format!("file {} ({} bytes, sha256 {}): {}", file.name.trim(), file.size, file.sha256, file.reason.trim()))
                .execute(&mut *tx).await.map_err(DbError::query("custody"))?;
            tx.commit().await.map_err(DbError::query("evidence file"))?;
        });
        Ok(())
    }

    /// The files kept as evidence of an incident, oldest first (for [`Permission::IncidentsRead`]).
    pub async fn evidence_files(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<Vec<EvidenceFile>, DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        self.system_evidence_files(tenant, id).await
    }

    /// The same for the command line (`kuzet evidence export`).
    pub async fn system_evidence_files(
        &self,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<Vec<EvidenceFile>, DbError> {
        self.incident_in(tenant, id).await?;
        let rows: Vec<(String, String, i64, String, i64, String)> = on_pool!(self, pool => sqlx::query_as("SELECT sha256, name, size, added_by, added_ms, reason FROM evidence_files WHERE incident_id = $1 ORDER BY added_ms, sha256")
            .bind(id.as_str()).fetch_all(pool).await.map_err(DbError::query("evidence files"))?);
        Ok(rows
            .into_iter()
            .map(
                |(sha256, name, size, added_by, added, reason)| EvidenceFile {
                    sha256,
                    name,
                    size: u64::try_from(size).unwrap_or(0),
                    added_by,
                    added: ts(added),
                    reason,
                },
            )
            .collect())
    }

    /// Appends to an incident's chain of custody (an access, an export, a hand-over). For the API with a read
    /// scope, and for the command line (`system_record_custody`).
    pub async fn record_custody(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        action: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        self.system_record_custody(tenant, id, scope.user().as_str(), action, reason, now)
            .await
    }

    /// The same for whoever holds the data directory (`kuzet evidence export`): named as the actor.
    pub async fn system_record_custody(
        &self,
        tenant: &TenantId,
        id: &ObjectId,
        actor: &str,
        action: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.incident_in(tenant, id).await?;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("custody"))?;
            let (seq,): (i64,) = sqlx::query_as(NEXT_CUSTODY_SEQ)
                .bind(id.as_str()).fetch_one(&mut *tx).await.map_err(DbError::query("custody"))?;
            sqlx::query(INSERT_CUSTODY)
                .bind(id.as_str()).bind(seq).bind(now.as_millisecond()).bind(actor).bind(action).bind(reason)
                .execute(&mut *tx).await.map_err(DbError::query("custody"))?;
            tx.commit().await.map_err(DbError::query("custody"))?;
        });
        Ok(())
    }

    /// Records that `actor` read the content of event `event` of `tenant` (for [`Permission::EventsRead`]): an
    /// `accessed` entry in the chain of custody of every incident that keeps it as evidence. Returns how many.
    pub async fn record_event_access(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        event: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<usize, DbError> {
        require(scope, Permission::EventsRead, tenant)?;
        let holding: Vec<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT e.incident_id FROM evidence_items e JOIN incidents i ON i.id = e.incident_id WHERE i.tenant_id = $1 AND e.event_id = $2 ORDER BY e.incident_id")
            .bind(tenant.as_str()).bind(event).fetch_all(pool).await.map_err(DbError::query("evidence"))?);
        for (incident,) in &holding {
            let id = ObjectId::new(incident.clone()).map_err(|e| DbError::Corrupt {
                what: "incident id",
                detail: e.to_string(),
            })?;
            self.system_record_custody(tenant, &id, scope.user().as_str(), "accessed", reason, now)
                .await?;
        }
        Ok(holding.len())
    }

    /// An incident's evidence and chain of custody (for [`Permission::IncidentsRead`]).
    pub async fn evidence(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<(Vec<EvidenceItem>, Vec<CustodyRecord>), DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        self.system_evidence(tenant, id).await
    }

    /// The same for the command line.
    pub async fn system_evidence(
        &self,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<(Vec<EvidenceItem>, Vec<CustodyRecord>), DbError> {
        self.incident_in(tenant, id).await?;
        type Item = (String, String, i64, String);
        type Entry = (i64, String, String, String);
        let (items, custody): (Vec<Item>, Vec<Entry>) = on_pool!(self, pool => (
            sqlx::query_as("SELECT event_id, added_by, added_ms, reason FROM evidence_items WHERE incident_id = $1 ORDER BY seq")
                .bind(id.as_str()).fetch_all(pool).await.map_err(DbError::query("evidence"))?,
            sqlx::query_as("SELECT at_ms, actor, action, reason FROM custody_entries WHERE incident_id = $1 ORDER BY seq")
                .bind(id.as_str()).fetch_all(pool).await.map_err(DbError::query("custody"))?,
        ));
        let items = items
            .into_iter()
            .map(|(event, added_by, added, reason)| {
                Ok(EvidenceItem {
                    event_id: event.parse().map_err(|e: kuzet_model::ModelError| {
                        DbError::Corrupt {
                            what: "evidence event id",
                            detail: e.to_string(),
                        }
                    })?,
                    added_by,
                    added: ts(added),
                    reason,
                })
            })
            .collect::<Result<_, DbError>>()?;
        let custody = custody
            .into_iter()
            .map(|(at, actor, action, reason)| CustodyRecord {
                at: ts(at),
                actor,
                action,
                reason,
            })
            .collect();
        Ok((items, custody))
    }
}
