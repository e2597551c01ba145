//! What the hub sends ISOCs (advisories, R18): one message per ISOC, numbered per ISOC, fetched by the ISOC
//! over its mutual-TLS connection (`GET /nccis/v1/inbox?after=N`), which also acknowledges everything up to `N`.
//! The hub signs a message once, at its first fetch, and serves those same bytes after.

use jiff::Timestamp;
use kuzet_model::access::{Permission, Scope};

use crate::backend::{on_pool, ts};
use crate::directory::require_permission;
use crate::secrets::random;
use crate::{Db, DbError};

/// A message of the hub's outbox to one ISOC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubOutgoing {
    pub isoc: String,
    /// Its number in this ISOC's sequence, from 1.
    pub seq: i64,
    /// The message id.
    pub id: String,
    pub kind: String,
    /// The tenant (of the ISOC) it is about, if any.
    pub tenant: Option<String>,
    /// The payload, JSON.
    pub payload: String,
    pub created: Timestamp,
    /// The message's bytes and detached JWS, frozen at the first fetch.
    pub frozen: Option<(String, String)>,
    /// When the ISOC acknowledged it.
    pub fetched: Option<Timestamp>,
}

type Row = (
    String,
    i64,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
);
const COLUMNS: &str = "isoc_id, seq, id, kind, tenant, payload, created_ms, body, jws, fetched_ms";

fn outgoing(
    (isoc, seq, id, kind, tenant, payload, created, body, jws, fetched): Row,
) -> HubOutgoing {
    HubOutgoing {
        isoc,
        seq,
        id,
        kind,
        tenant,
        payload,
        created: ts(created),
        frozen: body.zip(jws),
        fetched: fetched.map(ts),
    }
}

impl Db {
    /// Issues one message of `kind` with `payload` (JSON, checked by the caller), about `tenant` if it names one,
    /// to each ISOC named, or to every registered one when none is (for [`Permission::AdvisoriesIssue`], or
    /// [`Permission::AccessRequest`] for `access.request`). Returns (ISOC, message id) pairs.
    pub async fn hub_issue(
        &self,
        scope: &Scope,
        (kind, tenant): (&str, Option<&str>),
        payload: &str,
        isocs: &[String],
        now: Timestamp,
    ) -> Result<Vec<(String, String)>, DbError> {
        require_permission(
            scope,
            if kind == "access.request" {
                Permission::AccessRequest
            } else {
                Permission::AdvisoriesIssue
            },
        )?;
        let registered: Vec<String> = self
            .system_hub_isocs()
            .await?
            .into_iter()
            .filter(|i| i.revoked.is_none())
            .map(|i| i.id)
            .collect();
        let recipients: Vec<String> = if isocs.is_empty() {
            registered
        } else {
            for isoc in isocs {
                if !registered.contains(isoc) {
                    return Err(DbError::NotFound(format!("registered ISOC `{isoc}`")));
                }
            }
            isocs.to_vec()
        };
        if recipients.is_empty() {
            return Err(DbError::invalid(
                "recipients",
                "no ISOC is registered at this hub",
            ));
        }
        let mut issued = Vec::with_capacity(recipients.len());
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("hub outbox"))?;
            for isoc in &recipients {
                let (seq,): (i64,) = sqlx::query_as("UPDATE hub_isocs SET outbox_next = outbox_next + 1 WHERE id = $1 RETURNING outbox_next")
                    .bind(isoc).fetch_one(&mut *tx).await.map_err(DbError::query("hub outbox"))?;
                let id = hex::encode(random::<16>()?);
                sqlx::query("INSERT INTO hub_outbox (isoc_id, seq, id, kind, tenant, payload, created_ms, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(isoc).bind(seq).bind(&id).bind(kind).bind(tenant).bind(payload)
                    .bind(now.as_millisecond()).bind(scope.user().as_str())
                    .execute(&mut *tx).await.map_err(DbError::query("hub outbox"))?;
                issued.push((isoc.clone(), id));
            }
            tx.commit().await.map_err(DbError::query("hub outbox"))?;
        });
        Ok(issued)
    }

    /// ISOC `isoc`'s messages after `after`, at most `limit`, in order. For the hub process.
    pub async fn system_hub_outbox(
        &self,
        isoc: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<HubOutgoing>, DbError> {
        let rows: Vec<Row> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM hub_outbox WHERE isoc_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")))
            .bind(isoc).bind(after).bind(i64::from(limit))
            .fetch_all(pool).await.map_err(DbError::query("hub outbox"))?);
        Ok(rows.into_iter().map(outgoing).collect())
    }

    /// Freezes a message's bytes and signature unless frozen already; returns what is frozen. For the hub process.
    pub async fn system_hub_freeze(
        &self,
        isoc: &str,
        seq: i64,
        body: &str,
        jws: &str,
    ) -> Result<(String, String), DbError> {
        on_pool!(self, pool => sqlx::query("UPDATE hub_outbox SET body = $1, jws = $2 WHERE isoc_id = $3 AND seq = $4 AND body IS NULL")
            .bind(body).bind(jws).bind(isoc).bind(seq)
            .execute(pool).await.map(|_| ()).map_err(DbError::query("hub outbox"))?);
        let row: Option<(Option<String>, Option<String>)> = on_pool!(self, pool => sqlx::query_as("SELECT body, jws FROM hub_outbox WHERE isoc_id = $1 AND seq = $2")
            .bind(isoc).bind(seq).fetch_optional(pool).await.map_err(DbError::query("hub outbox"))?);
        row.and_then(|(b, j)| b.zip(j))
            .ok_or_else(|| DbError::NotFound(format!("message {seq} to ISOC `{isoc}`")))
    }

    /// Records that ISOC `isoc` holds every message up to `upto`; returns how many were acknowledged now. For
    /// the hub process.
    pub async fn system_hub_fetched(
        &self,
        isoc: &str,
        upto: i64,
        now: Timestamp,
    ) -> Result<u64, DbError> {
        Ok(
            on_pool!(self, pool => sqlx::query("UPDATE hub_outbox SET fetched_ms = $1 WHERE isoc_id = $2 AND seq <= $3 AND fetched_ms IS NULL")
            .bind(now.as_millisecond()).bind(isoc).bind(upto)
            .execute(pool).await.map_err(DbError::query("hub outbox"))?.rows_affected()),
        )
    }
}
