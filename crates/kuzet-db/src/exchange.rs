//! The ISOC's outbox of messages to NCCIS (`docs/formats/nccis-exchange.md`). A message is written in the
//! transaction of the fact it reports (an incident confirmed, moved on, closed), so the fact cannot exist without
//! it. The sending process builds the envelope, freezes its bytes and signature at the first attempt, sends those
//! same bytes until the hub's signed receipt comes back, and keeps the receipt beside the message for good; the
//! receipt of an initial incident message fulfils the incident's NCCIS obligation (R16).

use jiff::Timestamp;
use kuzet_cases::{NoticeFacts, Status};
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{FacilityId, ObjectId, TenantId};

use crate::backend::{on_pool, ts};
use crate::directory::require;
use crate::incidents::PageRequest;
use crate::outbox::{Backlog, Outbox, cut};
use crate::secrets::random;
use crate::{Db, DbError};

const EXCHANGE: Outbox = Outbox {
    table: "exchange_outbox",
    error_column: "last_error",
    what: "exchange message",
};

/// A message of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRecord {
    /// The message id (the idempotency key at the hub).
    pub id: ObjectId,
    pub tenant: TenantId,
    /// The message kind (`incident.initial`, …).
    pub kind: String,
    pub incident: Option<ObjectId>,
    /// The obligation the hub's receipt fulfils, if any.
    pub obligation: Option<ObjectId>,
    pub facilities: Vec<FacilityId>,
    /// The payload, JSON.
    pub payload: String,
    pub created: Timestamp,
    pub attempts: u32,
    pub next_attempt: Timestamp,
    /// The message's bytes and detached JWS, frozen at the first attempt.
    pub frozen: Option<(String, String)>,
    pub delivered: Option<Timestamp>,
    /// The hub's signed receipt (bytes and detached JWS), once delivered.
    pub receipt: Option<(String, String)>,
    pub last_error: Option<String>,
}

const COLUMNS: &str = "id, tenant_id, kind, incident_id, obligation_id, facilities, payload, created_ms, attempts, next_attempt_ms, body, jws, delivered_ms, receipt_body, receipt_jws, last_error";

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn corrupt(what: &'static str) -> impl Fn(String) -> DbError {
    move |detail| DbError::Corrupt { what, detail }
}

fn object_id(what: &'static str, id: String) -> Result<ObjectId, DbError> {
    ObjectId::new(id).map_err(|e| corrupt(what)(e.to_string()))
}

fn record(
    (
        id,
        tenant,
        kind,
        incident,
        obligation,
        facilities,
        payload,
        created,
        attempts,
        next,
        body,
        jws,
        delivered,
        receipt_body,
        receipt_jws,
        last_error,
    ): Row,
) -> Result<ExchangeRecord, DbError> {
    let facilities: Vec<String> = serde_json::from_str(&facilities)
        .map_err(|e| corrupt("message facilities")(e.to_string()))?;
    Ok(ExchangeRecord {
        id: object_id("message id", id)?,
        tenant: TenantId::new(tenant).map_err(|e| corrupt("tenant id")(e.to_string()))?,
        kind,
        incident: incident.map(|i| object_id("incident id", i)).transpose()?,
        obligation: obligation
            .map(|o| object_id("obligation id", o))
            .transpose()?,
        facilities: facilities
            .into_iter()
            .map(|f| FacilityId::new(f).map_err(|e| corrupt("facility id")(e.to_string())))
            .collect::<Result<_, _>>()?,
        payload,
        created: ts(created),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt: ts(next),
        frozen: body.zip(jws),
        delivered: delivered.map(ts),
        receipt: receipt_body.zip(receipt_jws),
        last_error,
    })
}

/// A message to write with the transaction that reports its fact.
pub(crate) struct OutgoingMessage {
    pub id: ObjectId,
    pub kind: &'static str,
    pub incident: ObjectId,
    pub obligation: Option<ObjectId>,
    pub facilities: String,
    pub payload: String,
}

pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO exchange_outbox (id, tenant_id, kind, incident_id, obligation_id, facilities, payload, created_ms, attempts, next_attempt_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $8)";

/// The message an incident's step sends NCCIS, if any: the first confirmation (`incident.initial`, whose receipt
/// fulfils `nccis_obligation`), a later step of a confirmed incident (`incident.update`), its closure
/// (`incident.closure`). Nothing for an incident never confirmed.
pub(crate) fn incident_message(
    facts: &NoticeFacts,
    facilities: &[FacilityId],
    was_confirmed: bool,
    nccis_obligation: Option<&ObjectId>,
    changed: Timestamp,
    reason: Option<&str>,
) -> Result<Option<OutgoingMessage>, DbError> {
    let kind = match (was_confirmed, facts.status) {
        (false, Status::Confirmed) => "incident.initial",
        (true, Status::Closed) => "incident.closure",
        (true, _) => "incident.update",
        (false, _) => return Ok(None),
    };
    let mut payload = serde_json::json!({
        "incident": facts.incident,
        "organization": facts.organization,
        "title": facts.title,
        "category": facts.category.as_str(),
        "level": facts.level.value(),
        "status": facts.status.as_str(),
        "detected": facts.detected.to_string(),
        "facility_names": facts.facilities,
        "personal_data": facts.personal_data,
        "changed": changed.to_string(),
    });
    if let Some(confirmed) = facts.confirmed {
        payload["confirmed"] = serde_json::Value::String(confirmed.to_string());
    }
    if let Some(sector) = facts.sector {
        payload["sector"] = serde_json::Value::String(sector.as_str().to_owned());
    }
    if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
        payload["reason"] = serde_json::Value::String(reason.to_owned());
    }
    let facilities: Vec<&str> = facilities.iter().map(FacilityId::as_str).collect();
    Ok(Some(OutgoingMessage {
        id: ObjectId::from_random(random()?),
        kind,
        incident: ObjectId::new(facts.incident.clone())
            .map_err(|e| DbError::invalid("incident id", e.to_string()))?,
        obligation: if kind == "incident.initial" {
            nccis_obligation.cloned()
        } else {
            None
        },
        facilities: serde_json::to_string(&facilities)
            .map_err(|e| DbError::invalid("facilities", e.to_string()))?,
        payload: payload.to_string(),
    }))
}

impl Db {
    /// Sends NCCIS the quarterly report of `tenant` for `quarter` (R20; for [`Permission::IncidentsManage`]): the
    /// quarter's incidents with the measures done (in Russian), as a `report.quarterly` message of the outbox
    /// whose receipt fulfils the quarter's report obligation when the tenant owes one. A corrected report is sent
    /// again as a new message. Returns the message and the obligation it will fulfil.
    pub async fn submit_quarterly_report(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        quarter: kuzet_cases::Quarter,
        now: Timestamp,
    ) -> Result<(ObjectId, Option<ObjectId>), DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        let start = quarter
            .start()
            .map_err(|e| DbError::invalid("quarter", e.to_string()))?;
        let (_, rows) = self
            .report_rows(
                tenant,
                kuzet_cases::ReportKind::Quarterly(quarter),
                kuzet_cases::Lang::Ru,
            )
            .await?;
        let incidents: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let mut row = serde_json::json!({
                    "incident": r.incident,
                    "title": r.title,
                    "category": r.category.as_str(),
                    "level": r.level.value(),
                    "status": r.status.as_str(),
                    "detected": r.detected.to_string(),
                    "personal_data": r.personal_data,
                    "measures": r.measures,
                });
                if let Some(confirmed) = r.confirmed {
                    row["confirmed"] = serde_json::Value::String(confirmed.to_string());
                }
                row
            })
            .collect();
        let payload = serde_json::json!({
            "year": quarter.year,
            "quarter": quarter.number,
            "incidents": incidents,
        })
        .to_string();
        let id = ObjectId::from_random(random()?);
        let obligation: Option<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT id FROM obligations WHERE tenant_id = $1 AND incident_id IS NULL AND kind = 'quarterly_report' AND fact_ms = $2")
            .bind(tenant.as_str()).bind(start.as_millisecond())
            .fetch_optional(pool).await.map_err(DbError::query("obligation"))?);
        let obligation = obligation
            .map(|(o,)| object_id("obligation id", o))
            .transpose()?;
        on_pool!(self, pool => sqlx::query("INSERT INTO exchange_outbox (id, tenant_id, kind, incident_id, obligation_id, facilities, payload, created_ms, attempts, next_attempt_ms) VALUES ($1, $2, 'report.quarterly', NULL, $3, '[]', $4, $5, 0, $5)")
            .bind(id.as_str()).bind(tenant.as_str()).bind(obligation.as_ref().map(ObjectId::as_str))
            .bind(&payload).bind(now.as_millisecond())
            .execute(pool).await.map(|_| ()).map_err(DbError::query("exchange message"))?);
        Ok((id, obligation))
    }

    /// A page of a tenant's messages to NCCIS, newest first (for [`Permission::NotificationsRead`]).
    pub async fn exchange_page(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        incident: Option<&ObjectId>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ExchangeRecord>, Option<String>), DbError> {
        require(scope, Permission::NotificationsRead, tenant)?;
        self.tenant_unscoped(tenant).await?;
        let request = PageRequest::new(cursor, limit)?;
        let (key, id) = request.after().unwrap_or((i64::MIN, ""));
        let rows: Vec<Row> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM exchange_outbox WHERE tenant_id = $1 AND ($5 = '' OR incident_id = $5) AND (-created_ms > $2 OR (-created_ms = $2 AND id > $3)) ORDER BY created_ms DESC, id LIMIT $4")))
            .bind(tenant.as_str()).bind(key).bind(id).bind(request.fetch()).bind(incident.map_or("", ObjectId::as_str))
            .fetch_all(pool).await.map_err(DbError::query("exchange messages"))?);
        let page = rows
            .into_iter()
            .map(record)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(request.finish(page, |m| (-m.created.as_millisecond(), m.id.to_string())))
    }

    async fn exchange_message(&self, id: &str) -> Result<Option<ExchangeRecord>, DbError> {
        let row: Option<Row> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM exchange_outbox WHERE id = $1")))
            .bind(id).fetch_optional(pool).await.map_err(DbError::query("exchange message"))?);
        row.map(record).transpose()
    }

    /// Claims up to `limit` messages due at `now` for this process to send (each reserved for
    /// [`crate::CLAIM_LEASE`]). For the process itself.
    pub async fn system_claim_exchange(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<ExchangeRecord>, DbError> {
        let (ids, lease) = EXCHANGE.claim(self, now, limit).await?;
        let mut claimed = Vec::new();
        for id in ids {
            if let Some(mut message) = self.exchange_message(&id).await? {
                message.next_attempt = lease;
                claimed.push(message);
            }
        }
        Ok(claimed)
    }

    /// Freezes message `id`'s bytes and signature unless they are frozen already; returns what is frozen, which
    /// every attempt sends. For the process itself.
    pub async fn system_freeze_exchange(
        &self,
        id: &ObjectId,
        body: &str,
        jws: &str,
    ) -> Result<(String, String), DbError> {
        on_pool!(self, pool => sqlx::query("UPDATE exchange_outbox SET body = $1, jws = $2 WHERE id = $3 AND body IS NULL")
            .bind(body).bind(jws).bind(id.as_str())
            .execute(pool).await.map(|_| ()).map_err(DbError::query("exchange message"))?);
        self.exchange_message(id.as_str())
            .await?
            .and_then(|m| m.frozen)
            .ok_or_else(|| DbError::NotFound(format!("exchange message `{id}`")))
    }

    /// Records the hub's checked receipt of message `id` at `at` (its bytes and signature, kept as evidence) and,
    /// for an initial incident message, fulfils the NCCIS obligation unless something fulfilled it first.
    /// Returns the obligation fulfilled, if one was. For the process itself.
    pub async fn system_exchange_delivered(
        &self,
        id: &ObjectId,
        at: Timestamp,
        receipt_body: &str,
        receipt_jws: &str,
        summary: &str,
    ) -> Result<Option<ObjectId>, DbError> {
        let object = format!("exchange message `{id}`");
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("exchange message"))?;
            let row: Option<(Option<String>,)> = sqlx::query_as("SELECT obligation_id FROM exchange_outbox WHERE id = $1 AND delivered_ms IS NULL")
                .bind(id.as_str()).fetch_optional(&mut *tx).await.map_err(DbError::query("exchange message"))?;
            let Some((obligation,)) = row else {
                return Err(DbError::NotFound(format!("undelivered {object}")));
            };
            sqlx::query("UPDATE exchange_outbox SET delivered_ms = $1, receipt_body = $2, receipt_jws = $3, attempts = attempts + 1, last_error = NULL WHERE id = $4")
                .bind(at.as_millisecond()).bind(receipt_body).bind(receipt_jws).bind(id.as_str())
                .execute(&mut *tx).await.map_err(DbError::query("exchange message"))?;
            let mut fulfilled = None;
            if let Some(obligation) = obligation {
                let by = cut(&format!("{object}: NCCIS receipt {summary}"));
                let changed = sqlx::query("UPDATE obligations SET fulfilled_ms = $1, fulfilled_by = $2 WHERE id = $3 AND fulfilled_ms IS NULL")
                    .bind(at.as_millisecond()).bind(&by).bind(&obligation)
                    .execute(&mut *tx).await.map_err(DbError::query("obligation"))?.rows_affected();
                if changed == 1 {
                    fulfilled = Some(object_id("obligation id", obligation)?);
                }
            }
            tx.commit().await.map_err(DbError::query("exchange message"))?;
            Ok(fulfilled)
        })
    }

    /// Records a failed attempt to send message `id` at `at`; the next waits `retry_base`, doubling with each
    /// failure up to an hour. Returns when it is due. For the process itself.
    pub async fn system_exchange_failed(
        &self,
        id: &ObjectId,
        (at, retry_base): (Timestamp, jiff::SignedDuration),
        error: &str,
    ) -> Result<Timestamp, DbError> {
        EXCHANGE
            .failed(self, id.as_str(), (at, retry_base), error)
            .await
    }

    /// What waits to be sent to NCCIS. For the process itself (health and metrics).
    pub async fn system_exchange_backlog(&self) -> Result<Backlog, DbError> {
        EXCHANGE.backlog(self).await
    }
}
