//! Alerts raised by detection: one row per (tenant, dedup key) while it stays open and keeps firing within the
//! deduplication window, counting every hit; the first [`ALERT_EVENTS_KEPT`] events are kept by id and the rest
//! counted, so nothing is dropped silently. Triage: new → acknowledged, false positive or escalated.

use jiff::{SignedDuration, Timestamp};
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{EventId, ObjectId, TenantId};

use crate::backend::{on_pool, ts};
use crate::directory::require;
use crate::exchange::INSERT_MESSAGE;
use crate::incidents::PageRequest;
use crate::secrets::random;
use crate::{Db, DbError};

/// How many event ids an alert keeps; later events only count (`events_dropped`).
pub const ALERT_EVENTS_KEPT: usize = 100;

/// The triage state of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertStatus {
    New,
    Acknowledged,
    FalsePositive,
    Escalated,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 4] = [
        AlertStatus::New,
        AlertStatus::Acknowledged,
        AlertStatus::FalsePositive,
        AlertStatus::Escalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::FalsePositive => "false_positive",
            AlertStatus::Escalated => "escalated",
        }
    }

    /// Parses a status name; the error lists the valid ones.
    pub fn parse(text: &str) -> Result<Self, DbError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                DbError::invalid(
                    format!("alert status `{text}`"),
                    "expected new, acknowledged, false_positive or escalated",
                )
            })
    }

    /// Still open: further hits of the same key add to it.
    pub fn is_open(self) -> bool {
        matches!(self, AlertStatus::New | AlertStatus::Acknowledged)
    }
}

/// What detection hands over for one hit.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub tenant: TenantId,
    /// The Sigma rule's (or correlation's) id.
    pub rule_id: String,
    pub rule_title: String,
    /// Sigma level: informational, low, medium, high, critical.
    pub level: String,
    /// `rule` or `correlation`.
    pub kind: String,
    /// Hits with the same key while the alert is open and within the window are one alert.
    pub dedup_key: String,
    /// The event time of the hit.
    pub at: Timestamp,
    pub events: Vec<EventId>,
    /// What matched: fields, group, aggregate (JSON).
    pub detail: serde_json::Value,
}

/// Which alerts a page lists: of one status, of one kind (`rule`, `correlation`, `indicator`, `anomaly`,
/// `source_health`, `clock`), or all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    pub status: Option<AlertStatus>,
    pub kind: Option<String>,
}

impl AlertFilter {
    pub fn status(status: AlertStatus) -> Self {
        Self {
            status: Some(status),
            kind: None,
        }
    }
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: ObjectId,
    pub tenant: TenantId,
    pub rule_id: String,
    pub rule_title: String,
    pub level: String,
    pub kind: String,
    pub first: Timestamp,
    pub last: Timestamp,
    pub created: Timestamp,
    /// How many hits it counts.
    pub hits: u64,
    pub events: Vec<String>,
    /// Events beyond [`ALERT_EVENTS_KEPT`], counted.
    pub events_dropped: u64,
    pub detail: serde_json::Value,
    pub status: AlertStatus,
    /// Who set the status, when and why (absent while new).
    pub status_by: Option<String>,
    pub status_at: Option<Timestamp>,
    pub status_reason: Option<String>,
}

type AlertRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// `SELECT` of every column of an alert but its tenant (which the caller knows), then `$rest`.
macro_rules! select_alerts {
    ($rest:literal) => {
        concat!(
            "SELECT id, rule_id, rule_title, level, kind, first_ms, last_ms, created_ms, hits, events, ",
            "events_dropped, detail, status, status_by, status_ms, status_reason FROM alerts ",
            $rest
        )
    };
}

fn corrupt(what: &'static str, detail: impl ToString) -> DbError {
    DbError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

fn record(tenant: &TenantId, row: AlertRow) -> Result<AlertRecord, DbError> {
    let (
        id,
        rule_id,
        rule_title,
        level,
        kind,
        first,
        last,
        created,
        hits,
        events,
        dropped,
        detail,
        status,
        status_by,
        status_ms,
        status_reason,
    ) = row;
    Ok(AlertRecord {
        id: ObjectId::new(id).map_err(|e| corrupt("alert id", e))?,
        tenant: tenant.clone(),
        rule_id,
        rule_title,
        level,
        kind,
        first: ts(first),
        last: ts(last),
        created: ts(created),
        hits: u64::try_from(hits).unwrap_or(0),
        events: serde_json::from_str(&events).map_err(|e| corrupt("alert events", e))?,
        events_dropped: u64::try_from(dropped).unwrap_or(0),
        detail: serde_json::from_str(&detail).map_err(|e| corrupt("alert detail", e))?,
        status: AlertStatus::parse(&status).map_err(|e| corrupt("alert status", e))?,
        status_by,
        status_at: status_ms.map(ts),
        status_reason,
    })
}

impl Db {
    /// Records one hit: adds it to the open alert of the same tenant and key whose last hit is within `window`,
    /// else opens a new alert. Returns the alert's id and whether it is new. Called by the single detection task,
    /// so two hits of one key never race.
    pub async fn system_record_alert(
        &self,
        alert: &NewAlert,
        now: Timestamp,
        window: SignedDuration,
    ) -> Result<(ObjectId, bool), DbError> {
        self.system_record_alert_reporting(alert, None, now, window)
            .await
    }

    /// The same, and when the alert is new, a `sighting` message to NCCIS with this payload (JSON) written in
    /// the same transaction: a first sighting cannot be recorded without its report. For the process itself.
    pub async fn system_record_alert_reporting(
        &self,
        alert: &NewAlert,
        sighting: Option<&str>,
        now: Timestamp,
        window: SignedDuration,
    ) -> Result<(ObjectId, bool), DbError> {
        let at = alert.at.as_millisecond();
        let since = alert.at.as_millisecond() - window.as_millis() as i64;
        let open: Option<(String, String, i64, i64, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, events, events_dropped, first_ms, last_ms FROM alerts \
             WHERE tenant_id = $1 AND dedup_key = $2 AND status IN ('new', 'acknowledged') AND last_ms >= $3 \
             ORDER BY last_ms DESC LIMIT 1")
            .bind(alert.tenant.as_str()).bind(&alert.dedup_key).bind(since)
            .fetch_optional(pool).await.map_err(DbError::query("open alert"))?);
        let new_ids: Vec<String> = alert.events.iter().map(ToString::to_string).collect();
        if let Some((id, events, dropped, first, last)) = open {
            let mut kept: Vec<String> =
                serde_json::from_str(&events).map_err(|e| corrupt("alert events", e))?;
            let mut dropped = dropped;
            for event in new_ids {
                if kept.len() < ALERT_EVENTS_KEPT {
                    kept.push(event);
                } else {
                    dropped += 1;
                }
            }
            let kept = serde_json::to_string(&kept).map_err(|e| corrupt("alert events", e))?;
            on_pool!(self, pool => sqlx::query(
                "UPDATE alerts SET hits = hits + 1, events = $1, events_dropped = $2, first_ms = $3, last_ms = $4 \
                 WHERE id = $5")
                .bind(kept).bind(dropped).bind(first.min(at)).bind(last.max(at)).bind(&id)
                .execute(pool).await.map(|_| ()).map_err(DbError::query("alert"))?);
            return Ok((
                ObjectId::new(id).map_err(|e| corrupt("alert id", e))?,
                false,
            ));
        }
        let id = ObjectId::from_random(random::<16>()?);
        let dropped = new_ids.len().saturating_sub(ALERT_EVENTS_KEPT) as i64;
        let kept: Vec<&String> = new_ids.iter().take(ALERT_EVENTS_KEPT).collect();
        let kept = serde_json::to_string(&kept).map_err(|e| corrupt("alert events", e))?;
        let message = sighting
            .map(|_| random::<16>())
            .transpose()?
            .map(ObjectId::from_random);
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("alert"))?;
            sqlx::query(
                "INSERT INTO alerts (id, tenant_id, rule_id, rule_title, level, kind, dedup_key, first_ms, last_ms, \
                 created_ms, hits, events, events_dropped, detail, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, 1, $10, $11, $12, 'new')")
                .bind(id.as_str()).bind(alert.tenant.as_str()).bind(&alert.rule_id).bind(&alert.rule_title)
                .bind(&alert.level).bind(&alert.kind).bind(&alert.dedup_key).bind(at)
                .bind(now.as_millisecond()).bind(&kept).bind(dropped).bind(alert.detail.to_string())
                .execute(&mut *tx).await.map_err(DbError::query("alert"))?;
            if let (Some(message), Some(payload)) = (&message, sighting) {
                sqlx::query(INSERT_MESSAGE)
                    .bind(message.as_str()).bind(alert.tenant.as_str()).bind("sighting")
                    .bind(None::<&str>).bind(None::<&str>).bind("[]").bind(payload)
                    .bind(now.as_millisecond())
                    .execute(&mut *tx).await.map_err(DbError::query("sighting message"))?;
            }
            tx.commit().await.map_err(DbError::query("alert"))?;
        });
        Ok((id, true))
    }

    /// The alerts of `tenant` (for [`Permission::IncidentsRead`]), newest first, optionally of one status, in
    /// cursor pages.
    pub async fn alerts_page(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        filter: &AlertFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<AlertRecord>, Option<String>), DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        self.system_alerts_page(tenant, filter, cursor, limit).await
    }

    /// The same for the command line, which runs as the operator of the machine.
    pub async fn system_alerts_page(
        &self,
        tenant: &TenantId,
        filter: &AlertFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<AlertRecord>, Option<String>), DbError> {
        let request = PageRequest::new(cursor, limit)?;
        let status = filter.status.map(AlertStatus::as_str).unwrap_or("");
        let kind = filter.kind.as_deref().unwrap_or("");
        let rows: Vec<AlertRow> = match request.after() {
            None => {
                let sql = select_alerts!(
                    "WHERE tenant_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR kind = $3) \
                     ORDER BY created_ms DESC, id DESC LIMIT $4"
                );
                on_pool!(self, pool => sqlx::query_as(sql)
                    .bind(tenant.as_str()).bind(status).bind(kind).bind(request.fetch())
                    .fetch_all(pool).await.map_err(DbError::query("alerts"))?)
            }
            Some((after_ms, after_id)) => {
                let sql = select_alerts!(
                    "WHERE tenant_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR kind = $3) \
                     AND (created_ms < $4 OR (created_ms = $4 AND id < $5)) ORDER BY created_ms DESC, id DESC LIMIT $6"
                );
                on_pool!(self, pool => sqlx::query_as(sql)
                    .bind(tenant.as_str()).bind(status).bind(kind).bind(after_ms).bind(after_id).bind(request.fetch())
                    .fetch_all(pool).await.map_err(DbError::query("alerts"))?)
            }
        };
        let page = rows
            .into_iter()
            .map(|row| record(tenant, row))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(request.finish(page, |a| (a.created.as_millisecond(), a.id.to_string())))
    }

    /// One alert of `tenant`; an alert of another tenant is "not found".
    pub async fn alert(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<AlertRecord, DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        self.load_alert(tenant, id).await
    }

    pub(crate) async fn load_alert(
        &self,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<AlertRecord, DbError> {
        let sql = select_alerts!("WHERE tenant_id = $1 AND id = $2");
        let row: Option<AlertRow> = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(tenant.as_str()).bind(id.as_str())
            .fetch_optional(pool).await.map_err(DbError::query("alert"))?);
        record(
            tenant,
            row.ok_or_else(|| DbError::NotFound(format!("alert `{id}`")))?,
        )
    }

    /// Sets an alert's triage state (for [`Permission::IncidentsManage`]), recording who, when and why. Moving
    /// back to `new` is refused: triage is a decision, and its record stays.
    pub async fn triage_alert(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        status: AlertStatus,
        reason: &str,
        now: Timestamp,
    ) -> Result<AlertRecord, DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        if status == AlertStatus::New {
            return Err(DbError::invalid(
                format!("alert status `{}`", status.as_str()),
                "an alert cannot go back to new; expected acknowledged, false_positive or escalated",
            ));
        }
        self.load_alert(tenant, id).await?;
        on_pool!(self, pool => sqlx::query(
            "UPDATE alerts SET status = $1, status_by = $2, status_ms = $3, status_reason = $4 \
             WHERE tenant_id = $5 AND id = $6")
            .bind(status.as_str()).bind(scope.user().as_str()).bind(now.as_millisecond()).bind(reason)
            .bind(tenant.as_str()).bind(id.as_str())
            .execute(pool).await.map(|_| ()).map_err(DbError::query("alert triage"))?);
        self.load_alert(tenant, id).await
    }
}
