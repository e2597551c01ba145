//! The NCCIS hub's records (`kuzet serve --role nccis`): the ISOCs it knows, each by the fingerprint of its
//! client certificate, and every message received from them, kept once per (ISOC, message id) with its bytes and
//! signature exactly as received (`docs/formats/nccis-exchange.md`).

use jiff::Timestamp;

use kuzet_model::access::{Permission, Scope};

use crate::backend::{on_pool, ts};
use crate::directory::require_permission;
use crate::secrets::random;
use crate::{Db, DbError};

/// An ISOC registered at the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubIsoc {
    /// Its party id: what its messages name as `sender`.
    pub id: String,
    pub name: String,
    /// The SHA-256 fingerprint of its client certificate (hex), which also verifies its signatures.
    pub fingerprint: String,
    /// The certificate, PEM.
    pub certificate: String,
    pub registered: Timestamp,
    pub revoked: Option<Timestamp>,
}

/// A message as the hub received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubMessage {
    pub isoc: String,
    pub id: String,
    pub kind: String,
    pub tenant: Option<String>,
    /// The incident level a message about an incident states.
    pub level: Option<u8>,
    /// `sha256:` and the hex digest of `body`.
    pub digest: String,
    pub body: String,
    pub jws: String,
    pub received: Timestamp,
}

/// The escalation notices a received incident message calls for (R11).
#[derive(Debug, Clone)]
pub struct Escalate<'a> {
    /// The ISOC's incident id.
    pub incident: &'a str,
    pub level: u8,
    pub notices: &'a [EscalationNotice],
}

/// One escalation notice to one address, in its language.
#[derive(Debug, Clone)]
pub struct EscalationNotice {
    pub address: String,
    pub language: kuzet_cases::Lang,
    pub notice: kuzet_cases::Notice,
}

/// An escalation notice of the hub's outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationRecord {
    pub id: String,
    pub isoc: String,
    pub incident: String,
    pub level: u8,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub attempts: u32,
    pub delivered: Option<Timestamp>,
    /// The mail server's receipt once delivered, else the last error.
    pub answer: Option<String>,
}

const ESCALATIONS: crate::outbox::Outbox = crate::outbox::Outbox {
    table: "hub_escalations",
    error_column: "answer",
    what: "escalation",
};

type EscalationRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
);
const ESCALATION_COLUMNS: &str =
    "id, isoc_id, incident, level, address, subject, body, attempts, delivered_ms, answer";

fn escalation(
    (id, isoc, incident, level, address, subject, body, attempts, delivered, answer): EscalationRow,
) -> EscalationRecord {
    EscalationRecord {
        id,
        isoc,
        incident,
        level: u8::try_from(level).unwrap_or(u8::MAX),
        address,
        subject,
        body,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        delivered: delivered.map(ts),
        answer,
    }
}

impl Db {
    /// Claims up to `limit` escalation notices due at `now` for this process to send. For the hub process.
    pub async fn system_claim_escalations(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<EscalationRecord>, DbError> {
        let (ids, _) = ESCALATIONS.claim(self, now, limit).await?;
        let mut claimed = Vec::new();
        for id in ids {
            let row: Option<EscalationRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ESCALATION_COLUMNS} FROM hub_escalations WHERE id = $1")))
                .bind(&id).fetch_optional(pool).await.map_err(DbError::query("escalation"))?);
            claimed.extend(row.map(escalation));
        }
        Ok(claimed)
    }

    /// Records that the mail server accepted escalation notice `id`. For the hub process.
    pub async fn system_escalation_delivered(
        &self,
        id: &str,
        at: Timestamp,
        receipt: &str,
    ) -> Result<(), DbError> {
        let changed = on_pool!(self, pool => sqlx::query("UPDATE hub_escalations SET delivered_ms = $1, answer = $2, attempts = attempts + 1 WHERE id = $3 AND delivered_ms IS NULL")
            .bind(at.as_millisecond()).bind(crate::outbox::cut(receipt)).bind(id)
            .execute(pool).await.map_err(DbError::query("escalation"))?.rows_affected());
        if changed == 0 {
            return Err(DbError::NotFound(format!("undelivered escalation `{id}`")));
        }
        Ok(())
    }

    /// Records a failed attempt; returns when the next is due. For the hub process.
    pub async fn system_escalation_failed(
        &self,
        id: &str,
        at: Timestamp,
        error: &str,
    ) -> Result<Timestamp, DbError> {
        ESCALATIONS
            .failed(self, id, (at, crate::outbox::RETRY_BASE), error)
            .await
    }

    /// Every escalation notice, newest first, at most `limit`. For the hub process (`kuzet hub escalations`).
    pub async fn system_hub_escalations(
        &self,
        limit: u32,
    ) -> Result<Vec<EscalationRecord>, DbError> {
        let rows: Vec<EscalationRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ESCALATION_COLUMNS} FROM hub_escalations ORDER BY created_ms DESC, id LIMIT $1")))
            .bind(i64::from(limit)).fetch_all(pool).await.map_err(DbError::query("escalations"))?);
        Ok(rows.into_iter().map(escalation).collect())
    }
}

/// What storing a received message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubStored {
    /// Stored now.
    Accepted,
    /// The same bytes under the same id were stored before, at this instant: nothing stored twice.
    Duplicate(Timestamp),
    /// The id was used before for other bytes: refused.
    Conflict,
}

fn check_party(id: &str) -> Result<(), DbError> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DbError::invalid(
            format!("ISOC id `{id}`"),
            "1–63 characters of a-z, 0-9, - and _, starting with a letter or digit",
        ))
    }
}

type IsocRow = (String, String, String, String, i64, Option<i64>);
const ISOC_COLUMNS: &str = "id, name, fingerprint, certificate, registered_ms, revoked_ms";

fn isoc((id, name, fingerprint, certificate, registered, revoked): IsocRow) -> HubIsoc {
    HubIsoc {
        id,
        name,
        fingerprint,
        certificate,
        registered: ts(registered),
        revoked: revoked.map(ts),
    }
}

type MessageRow = (
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    String,
    String,
    String,
    i64,
);
const MESSAGE_COLUMNS: &str = "isoc_id, id, kind, tenant, level, digest, body, jws, received_ms";

fn message((isoc, id, kind, tenant, level, digest, body, jws, received): MessageRow) -> HubMessage {
    HubMessage {
        isoc,
        id,
        kind,
        tenant,
        level: level.and_then(|l| u8::try_from(l).ok()),
        digest,
        body,
        jws,
        received: ts(received),
    }
}

impl Db {
    /// Registers an ISOC by its client certificate (for [`Permission::HubManage`]): see
    /// [`Db::system_hub_register`].
    pub async fn hub_register(
        &self,
        scope: &Scope,
        isoc: (&str, &str),
        certificate: (&str, &str),
        now: Timestamp,
    ) -> Result<HubIsoc, DbError> {
        require_permission(scope, Permission::HubManage)?;
        self.system_hub_register(isoc.0, isoc.1, certificate.0, certificate.1, now)
            .await
    }

    /// Revokes an ISOC's registration (for [`Permission::HubManage`]).
    pub async fn hub_revoke(&self, scope: &Scope, id: &str, now: Timestamp) -> Result<(), DbError> {
        require_permission(scope, Permission::HubManage)?;
        self.system_hub_revoke(id, now).await
    }

    /// The registered ISOCs (for [`Permission::HubManage`]).
    pub async fn hub_isocs(&self, scope: &Scope) -> Result<Vec<HubIsoc>, DbError> {
        require_permission(scope, Permission::HubManage)?;
        self.system_hub_isocs().await
    }

    /// Registers an ISOC by its client certificate (`kuzet hub register`). An id or a certificate registered
    /// already is a conflict: a replaced certificate is a new registration after revoking the old one.
    pub async fn system_hub_register(
        &self,
        id: &str,
        name: &str,
        fingerprint: &str,
        certificate: &str,
        now: Timestamp,
    ) -> Result<HubIsoc, DbError> {
        check_party(id)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(DbError::invalid(
                "ISOC `name`",
                "1–200 characters, no control characters",
            ));
        }
        on_pool!(self, pool => sqlx::query("INSERT INTO hub_isocs (id, name, fingerprint, certificate, registered_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(id).bind(name).bind(fingerprint).bind(certificate).bind(now.as_millisecond())
            .execute(pool).await.map(|_| ())
            .map_err(DbError::insert("ISOC", format!("ISOC `{id}` or certificate {fingerprint}")))?);
        Ok(HubIsoc {
            id: id.to_owned(),
            name: name.to_owned(),
            fingerprint: fingerprint.to_owned(),
            certificate: certificate.to_owned(),
            registered: now,
            revoked: None,
        })
    }

    /// Revokes ISOC `id`'s registration: its certificate is refused from then on. Its messages stay.
    pub async fn system_hub_revoke(&self, id: &str, now: Timestamp) -> Result<(), DbError> {
        let changed = on_pool!(self, pool => sqlx::query("UPDATE hub_isocs SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL")
            .bind(now.as_millisecond()).bind(id)
            .execute(pool).await.map_err(DbError::query("ISOC"))?.rows_affected());
        if changed == 0 {
            return Err(DbError::NotFound(format!("registered ISOC `{id}`")));
        }
        Ok(())
    }

    /// Every ISOC registered, by id.
    pub async fn system_hub_isocs(&self) -> Result<Vec<HubIsoc>, DbError> {
        let rows: Vec<IsocRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ISOC_COLUMNS} FROM hub_isocs ORDER BY id")))
            .fetch_all(pool).await.map_err(DbError::query("ISOCs"))?);
        Ok(rows.into_iter().map(isoc).collect())
    }

    /// The ISOC whose client certificate has `fingerprint`, unless revoked.
    pub async fn system_hub_isoc_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> Result<Option<HubIsoc>, DbError> {
        let row: Option<IsocRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ISOC_COLUMNS} FROM hub_isocs WHERE fingerprint = $1 AND revoked_ms IS NULL")))
            .bind(fingerprint).fetch_optional(pool).await.map_err(DbError::query("ISOC"))?);
        Ok(row.map(isoc))
    }

    /// Stores a received message once per (ISOC, id), and with it — in the same transaction — the escalation
    /// notices it calls for (once per incident and address: a later step of an escalated incident adds none).
    pub async fn system_hub_store(
        &self,
        m: &HubMessage,
        escalate: Option<&Escalate<'_>>,
    ) -> Result<HubStored, DbError> {
        let inserted = on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("received message"))?;
            let inserted = sqlx::query("INSERT INTO hub_messages (isoc_id, id, kind, tenant, level, digest, body, jws, received_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (isoc_id, id) DO NOTHING")
                .bind(&m.isoc).bind(&m.id).bind(&m.kind).bind(&m.tenant).bind(m.level.map(i64::from))
                .bind(&m.digest).bind(&m.body).bind(&m.jws).bind(m.received.as_millisecond())
                .execute(&mut *tx).await.map_err(DbError::query("received message"))?.rows_affected();
            if inserted == 1 && let Some(e) = escalate {
                for notice in e.notices {
                    sqlx::query("INSERT INTO hub_escalations (id, isoc_id, incident, message_id, level, address, language, subject, body, created_ms, attempts, next_attempt_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $10) ON CONFLICT (isoc_id, incident, address) DO NOTHING")
                        .bind(hex::encode(random::<16>()?)).bind(&m.isoc).bind(e.incident).bind(&m.id)
                        .bind(i64::from(e.level)).bind(&notice.address).bind(notice.language.code())
                        .bind(&notice.notice.subject).bind(&notice.notice.body).bind(m.received.as_millisecond())
                        .execute(&mut *tx).await.map_err(DbError::query("escalation"))?;
                }
            }
            tx.commit().await.map_err(DbError::query("received message"))?;
            inserted
        });
        if inserted == 1 {
            return Ok(HubStored::Accepted);
        }
        let (digest, received): (String, i64) = on_pool!(self, pool => sqlx::query_as("SELECT digest, received_ms FROM hub_messages WHERE isoc_id = $1 AND id = $2")
            .bind(&m.isoc).bind(&m.id).fetch_one(pool).await.map_err(DbError::query("received message"))?);
        Ok(if digest == m.digest {
            HubStored::Duplicate(ts(received))
        } else {
            HubStored::Conflict
        })
    }

    /// Every incident message received, oldest first (for [`Permission::HubRead`]): what the national view is
    /// built from.
    pub async fn hub_incident_messages(&self, scope: &Scope) -> Result<Vec<HubMessage>, DbError> {
        self.hub_messages_like(scope, "incident.%").await
    }

    /// Every received sighting report, oldest first (for [`Permission::HubRead`]).
    pub async fn hub_sighting_messages(&self, scope: &Scope) -> Result<Vec<HubMessage>, DbError> {
        self.hub_messages_like(scope, "sighting").await
    }

    async fn hub_messages_like(
        &self,
        scope: &Scope,
        kinds: &str,
    ) -> Result<Vec<HubMessage>, DbError> {
        require_permission(scope, Permission::HubRead)?;
        let rows: Vec<MessageRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {MESSAGE_COLUMNS} FROM hub_messages WHERE kind LIKE $1 ORDER BY received_ms, isoc_id, id")))
            .bind(kinds).fetch_all(pool).await.map_err(DbError::query("received messages"))?);
        Ok(rows.into_iter().map(message).collect())
    }

    /// The newest received messages, of one kind if given, at most `limit` (for [`Permission::HubRead`]).
    pub async fn hub_recent_messages(
        &self,
        scope: &Scope,
        kind: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HubMessage>, DbError> {
        require_permission(scope, Permission::HubRead)?;
        let rows: Vec<MessageRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {MESSAGE_COLUMNS} FROM hub_messages WHERE ($1 = '' OR kind = $1) ORDER BY received_ms DESC, isoc_id, id LIMIT $2")))
            .bind(kind.unwrap_or_default()).bind(i64::from(limit.max(1)))
            .fetch_all(pool).await.map_err(DbError::query("received messages"))?);
        Ok(rows.into_iter().map(message).collect())
    }

    /// Received messages, oldest first, after the (received, ISOC, id) of `after`; at most `limit`.
    pub async fn system_hub_messages(
        &self,
        after: Option<(Timestamp, &str, &str)>,
        limit: u32,
    ) -> Result<Vec<HubMessage>, DbError> {
        let (at, isoc_id, id) =
            after.map_or((i64::MIN, "", ""), |(t, i, m)| (t.as_millisecond(), i, m));
        let rows: Vec<MessageRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {MESSAGE_COLUMNS} FROM hub_messages WHERE received_ms > $1 OR (received_ms = $1 AND (isoc_id > $2 OR (isoc_id = $2 AND id > $3))) ORDER BY received_ms, isoc_id, id LIMIT $4")))
            .bind(at).bind(isoc_id).bind(id).bind(i64::from(limit))
            .fetch_all(pool).await.map_err(DbError::query("received messages"))?);
        Ok(rows.into_iter().map(message).collect())
    }
}
