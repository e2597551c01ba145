//! Who is told, and the outbox of what they are told. A tenant's **contacts** (the facility owner, the
//! organization's security officer) are reached by e-mail or by a signed webhook, each in its language. A
//! **notification** is written in the same transaction as the fact it reports (an incident's confirmation), so it
//! cannot be lost between the two; the process delivers it, retries with backoff until a server accepts it, and
//! keeps it — with the receipt — for good. A delivered notification to an owner fulfils the incident's
//! owner-notification obligation (R15).

use jiff::{SignedDuration, Timestamp};
use kuzet_cases::Lang;
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{ObjectId, TenantId, UserId};

use crate::backend::{on_pool, ts};
use crate::directory::require;
use crate::incidents::PageRequest;
use crate::outbox::{Backlog, Outbox, cut};
use crate::secrets::random;
use crate::{Db, DbError};

/// Whom a contact speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactRole {
    /// The owner of the tenant's facilities: told at once of a confirmed incident (R15).
    Owner,
    /// The organization's information security officer: told alongside the owner.
    Security,
    /// The person responsible for organizing the processing of personal data: told alongside, and named in the
    /// personal-data breach notice to the authority (R22).
    PersonalData,
}

impl ContactRole {
    pub const ALL: &'static [ContactRole] = &[
        ContactRole::Owner,
        ContactRole::Security,
        ContactRole::PersonalData,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactRole::Owner => "owner",
            ContactRole::Security => "security",
            ContactRole::PersonalData => "personal_data",
        }
    }

    pub fn parse(name: &str) -> Result<Self, DbError> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| {
                DbError::invalid(
                    format!("contact role `{name}`"),
                    "one of owner, security, personal_data",
                )
            })
    }
}

/// How a contact is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// An e-mail through the configured SMTP server.
    Email,
    /// An HTTP POST of a JSON document signed with HMAC-SHA256 (`docs/formats/notifications.md`).
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(name: &str) -> Result<Self, DbError> {
        match name {
            "email" => Ok(Channel::Email),
            "webhook" => Ok(Channel::Webhook),
            _ => Err(DbError::invalid(
                format!("contact channel `{name}`"),
                "one of email, webhook",
            )),
        }
    }
}

/// A contact to add to a tenant.
#[derive(Debug, Clone)]
pub struct NewContact {
    pub tenant: TenantId,
    pub role: ContactRole,
    pub name: String,
    pub channel: Channel,
    /// An e-mail address, or the webhook's `https://` (or `http://`) URL.
    pub address: String,
    pub language: Lang,
}

/// A contact as stored (never its webhook secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: ObjectId,
    pub tenant: TenantId,
    pub role: ContactRole,
    pub name: String,
    pub channel: Channel,
    pub address: String,
    pub language: Lang,
    pub created: Timestamp,
    pub created_by: UserId,
    pub removed: Option<Timestamp>,
}

/// A notification of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: ObjectId,
    pub tenant: TenantId,
    /// What it reports (`kuzet_cases::NoticeKind` names, e.g. `incident.confirmed`).
    pub kind: String,
    pub incident: Option<ObjectId>,
    /// The obligation its delivery fulfils, if any.
    pub obligation: Option<ObjectId>,
    pub contact: ObjectId,
    pub channel: Channel,
    pub address: String,
    pub language: Lang,
    pub subject: String,
    pub body: String,
    pub created: Timestamp,
    pub attempts: u32,
    pub next_attempt: Timestamp,
    pub delivered: Option<Timestamp>,
    /// What the receiving server answered when it accepted it.
    pub receipt: Option<String>,
    pub last_error: Option<String>,
}

/// A claimed notification for the process to deliver, with the contact's webhook secret.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub notification: NotificationRecord,
    pub secret: Option<String>,
}

/// A current contact as NCCIS is told of it: role, name, channel, address, language.
type ContactLine = (String, String, String, String, String);
const CONTACT_LINES: &str = "SELECT role, name, channel, address, language FROM contacts WHERE tenant_id = $1 AND removed_ms IS NULL ORDER BY id";

/// The payload of a `contacts.change` or `contacts.confirmation` message.
fn contacts_payload(lines: &[ContactLine]) -> String {
    let contacts: Vec<serde_json::Value> = lines
        .iter()
        .map(|(role, name, channel, address, language)| {
            serde_json::json!({
                "role": role, "name": name, "channel": channel, "address": address, "language": language,
            })
        })
        .collect();
    serde_json::json!({ "contacts": contacts }).to_string()
}

/// A change of a tenant's contacts.
enum ContactEdit<'a> {
    /// A new contact, with its webhook secret.
    Add(&'a ContactRecord, Option<&'a str>),
    Remove(&'a ObjectId),
}

const NOTIFICATIONS: Outbox = Outbox {
    table: "notifications",
    error_column: "answer",
    what: "notification",
};

const MAX_NAME: usize = 200;
const MAX_ADDRESS: usize = 2000;

fn check_contact(c: &NewContact) -> Result<(), DbError> {
    let name = c.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(DbError::invalid(
            "contact `name`",
            format!("1–{MAX_NAME} characters, no control characters"),
        ));
    }
    let a = c.address.as_str();
    let object = || {
        format!(
            "contact `address` `{}`",
            a.chars().take(80).collect::<String>()
        )
    };
    if a.len() > MAX_ADDRESS || a.chars().any(|ch| ch.is_control() || ch.is_whitespace()) {
        return Err(DbError::invalid(
            object(),
            format!("at most {MAX_ADDRESS} characters, no spaces or control characters"),
        ));
    }
    match c.channel {
        Channel::Email => {
            let ok = a.len() <= 254
                && a.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty()
                        && !domain.is_empty()
                        && !domain.contains('@')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                });
            if !ok {
                return Err(DbError::invalid(
                    object(),
                    "not an e-mail address (name@domain)",
                ));
            }
        }
        Channel::Webhook => {
            let rest = a
                .strip_prefix("https://")
                .or_else(|| a.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                return Err(DbError::invalid(
                    object(),
                    "not an http:// or https:// URL with a host",
                ));
            }
        }
    }
    Ok(())
}

type ContactRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<i64>,
);
const CONTACT_COLUMNS: &str =
    "id, tenant_id, role, name, channel, address, language, created_ms, created_by, removed_ms";

fn corrupt(what: &'static str) -> impl Fn(String) -> DbError {
    move |detail| DbError::Corrupt { what, detail }
}

fn lang(code: &str) -> Result<Lang, DbError> {
    Lang::parse(code).ok_or_else(|| corrupt("language")(code.to_owned()))
}

fn contact(
    (id, tenant, role, name, channel, address, language, created, by, removed): ContactRow,
) -> Result<ContactRecord, DbError> {
    Ok(ContactRecord {
        id: ObjectId::new(id).map_err(|e| corrupt("contact id")(e.to_string()))?,
        tenant: TenantId::new(tenant).map_err(|e| corrupt("tenant id")(e.to_string()))?,
        role: ContactRole::parse(&role).map_err(|_| corrupt("contact role")(role.clone()))?,
        name,
        channel: Channel::parse(&channel).map_err(|_| corrupt("channel")(channel.clone()))?,
        address,
        language: lang(&language)?,
        created: ts(created),
        created_by: UserId::new(by).map_err(|e| corrupt("user id")(e.to_string()))?,
        removed: removed.map(ts),
    })
}

const NOTIFICATION_COLUMNS: &str = "id, tenant_id, kind, incident_id, obligation_id, contact_id, channel, address, language, subject, body, created_ms, attempts, next_attempt_ms, delivered_ms, answer";

/// A row of [`NOTIFICATION_COLUMNS`].
type NotificationRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

fn object_id(what: &'static str, id: String) -> Result<ObjectId, DbError> {
    ObjectId::new(id).map_err(|e| corrupt(what)(e.to_string()))
}

fn notification(
    (
        id,
        tenant,
        kind,
        incident,
        obligation,
        contact,
        channel,
        address,
        language,
        subject,
        body,
        created,
        attempts,
        next,
        delivered,
        answer,
    ): NotificationRow,
) -> Result<NotificationRecord, DbError> {
    // `answer` is the receiving server's last word: the receipt once delivered, else the last error.
    let (receipt, last_error) = match delivered {
        Some(_) => (answer, None),
        None => (None, answer),
    };
    Ok(NotificationRecord {
        id: object_id("notification id", id)?,
        tenant: TenantId::new(tenant).map_err(|e| corrupt("tenant id")(e.to_string()))?,
        kind,
        incident: incident.map(|i| object_id("incident id", i)).transpose()?,
        obligation: obligation
            .map(|o| object_id("obligation id", o))
            .transpose()?,
        contact: object_id("contact id", contact)?,
        channel: Channel::parse(&channel).map_err(|_| corrupt("channel")(channel.clone()))?,
        address,
        language: lang(&language)?,
        subject,
        body,
        created: ts(created),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt: ts(next),
        delivered: delivered.map(ts),
        receipt,
        last_error,
    })
}

/// One notice to write into the outbox: to every current contact of the tenant, each in its language; those of
/// role `owner` carry `owner_obligation`.
pub(crate) struct Outgoing<'a> {
    pub kind: kuzet_cases::NoticeKind,
    pub incident: &'a ObjectId,
    pub owner_obligation: Option<&'a ObjectId>,
    pub facts: kuzet_cases::NoticeFacts,
}

/// A notification row [`Outgoing`] becomes for one contact, ready to insert with [`INSERT_NOTIFICATION`].
pub(crate) struct OutboxRow {
    pub id: ObjectId,
    pub kind: &'static str,
    pub incident: String,
    /// The owner obligation it fulfils, or empty.
    pub obligation: String,
    pub contact: String,
    pub channel: String,
    pub address: String,
    pub language: &'static str,
    pub notice: kuzet_cases::Notice,
}

/// The rows [`Outgoing`] becomes for `contacts` (id, role, channel, address, language from [`CURRENT_CONTACTS`]).
pub(crate) fn outbox_rows(
    out: &Outgoing<'_>,
    contacts: &[(String, String, String, String, String)],
) -> Result<Vec<OutboxRow>, DbError> {
    let mut rows = Vec::with_capacity(contacts.len());
    for (contact, role, channel, address, language) in contacts {
        let language = lang(language)?;
        let obligation = match (ContactRole::parse(role)?, out.owner_obligation) {
            (ContactRole::Owner, Some(o)) => o.to_string(),
            _ => String::new(),
        };
        rows.push(OutboxRow {
            id: ObjectId::from_random(random::<16>()?),
            kind: out.kind.as_str(),
            incident: out.incident.to_string(),
            obligation,
            contact: contact.clone(),
            channel: channel.clone(),
            address: address.clone(),
            language: language.code(),
            notice: kuzet_cases::render_notice(out.kind, &out.facts, language),
        });
    }
    Ok(rows)
}

/// Current contacts of a tenant, as [`outbox_rows`] takes them.
pub(crate) const CURRENT_CONTACTS: &str = "SELECT id, role, channel, address, language FROM contacts WHERE tenant_id = $1 AND removed_ms IS NULL ORDER BY id";

/// Inserts one row of [`outbox_rows`]; `$12` is the creation time (also the first attempt's).
pub(crate) const INSERT_NOTIFICATION: &str = "INSERT INTO notifications (id, tenant_id, kind, incident_id, obligation_id, contact_id, channel, address, language, subject, body, created_ms, attempts, next_attempt_ms) VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8, $9, $10, $11, $12, 0, $12)";

impl Db {
    /// Adds a contact to a tenant (for [`Permission::TenantsManage`]). A webhook gets a new secret, answered
    /// here once: the receiver checks each delivery's signature with it.
    pub async fn create_contact(
        &self,
        scope: &Scope,
        c: &NewContact,
        now: Timestamp,
    ) -> Result<(ContactRecord, Option<String>), DbError> {
        require(scope, Permission::TenantsManage, &c.tenant)?;
        check_contact(c)?;
        self.tenant_unscoped(&c.tenant).await?;
        let id = ObjectId::from_random(random::<16>()?);
        let secret = match c.channel {
            Channel::Webhook => Some(hex::encode(random::<32>()?)),
            Channel::Email => None,
        };
        let name = c.name.trim().to_owned();
        let made = ContactRecord {
            id: id.clone(),
            tenant: c.tenant.clone(),
            role: c.role,
            name: name.clone(),
            channel: c.channel,
            address: c.address.clone(),
            language: c.language,
            created: now,
            created_by: scope.user().clone(),
            removed: None,
        };
        self.change_contacts(&c.tenant, ContactEdit::Add(&made, secret.as_deref()), now)
            .await?;
        Ok((made, secret))
    }

    /// A tenant's current contacts by id (for [`Permission::TenantsRead`]).
    pub async fn contacts(
        &self,
        scope: &Scope,
        tenant: &TenantId,
    ) -> Result<Vec<ContactRecord>, DbError> {
        require(scope, Permission::TenantsRead, tenant)?;
        self.tenant_unscoped(tenant).await?;
        let rows: Vec<ContactRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE tenant_id = $1 AND removed_ms IS NULL ORDER BY id")))
            .bind(tenant.as_str()).fetch_all(pool).await.map_err(DbError::query("contacts"))?);
        rows.into_iter().map(contact).collect()
    }

    /// Removes a contact (for [`Permission::TenantsManage`]): nothing new goes to it; what was sent stays in the
    /// outbox with the address it went to.
    pub async fn remove_contact(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::TenantsManage, tenant)?;
        self.change_contacts(tenant, ContactEdit::Remove(id), now)
            .await
    }

    /// Confirms a tenant's contacts to NCCIS (R21: each quarter, by the 10th of its first month; for
    /// [`Permission::TenantsManage`]): a `contacts.confirmation` message with the contacts as they are, whose
    /// receipt fulfils this quarter's confirmation obligation when the tenant owes one. Returns the message and
    /// that obligation.
    pub async fn confirm_contacts(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        now: Timestamp,
    ) -> Result<(ObjectId, Option<ObjectId>), DbError> {
        require(scope, Permission::TenantsManage, tenant)?;
        self.tenant_unscoped(tenant).await?;
        let start = kuzet_cases::Quarter::of(now)
            .start()
            .map_err(|e| DbError::invalid("quarter", e.to_string()))?;
        let message = ObjectId::from_random(random::<16>()?);
        let obligation = on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("contacts"))?;
            let current: Vec<ContactLine> = sqlx::query_as(CONTACT_LINES)
                .bind(tenant.as_str()).fetch_all(&mut *tx).await.map_err(DbError::query("contacts"))?;
            let owed: Option<(String,)> = sqlx::query_as("SELECT id FROM obligations WHERE tenant_id = $1 AND incident_id IS NULL AND kind = 'quarterly_contact_confirmation' AND fact_ms = $2")
                .bind(tenant.as_str()).bind(start.as_millisecond())
                .fetch_optional(&mut *tx).await.map_err(DbError::query("obligation"))?;
            sqlx::query("INSERT INTO exchange_outbox (id, tenant_id, kind, incident_id, obligation_id, facilities, payload, created_ms, attempts, next_attempt_ms) VALUES ($1, $2, 'contacts.confirmation', NULL, $3, '[]', $4, $5, 0, $5)")
                .bind(message.as_str()).bind(tenant.as_str()).bind(owed.as_ref().map(|(o,)| o.as_str()))
                .bind(contacts_payload(&current)).bind(now.as_millisecond())
                .execute(&mut *tx).await.map_err(DbError::query("exchange message"))?;
            tx.commit().await.map_err(DbError::query("contacts"))?;
            owed
        });
        let obligation = obligation
            .map(|(o,)| object_id("obligation id", o))
            .transpose()?;
        Ok((message, obligation))
    }

    /// Changes a tenant's contacts and, in the same transaction, reports the change to NCCIS (R14: within 48
    /// hours): a `contact_change` obligation due in 48 hours and a `contacts.change` message with the contacts as
    /// they now are, whose receipt fulfils it.
    async fn change_contacts(
        &self,
        tenant: &TenantId,
        edit: ContactEdit<'_>,
        now: Timestamp,
    ) -> Result<(), DbError> {
        let obligation = ObjectId::from_random(random::<16>()?);
        let message = ObjectId::from_random(random::<16>()?);
        let due = now + SignedDuration::from_hours(48);
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("contact"))?;
            match edit {
                ContactEdit::Add(c, secret) => {
                    sqlx::query("INSERT INTO contacts (id, tenant_id, role, name, channel, address, secret, language, created_ms, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                        .bind(c.id.as_str()).bind(c.tenant.as_str()).bind(c.role.as_str()).bind(&c.name)
                        .bind(c.channel.as_str()).bind(&c.address).bind(secret).bind(c.language.code())
                        .bind(now.as_millisecond()).bind(c.created_by.as_str())
                        .execute(&mut *tx).await
                        .map_err(DbError::insert("contact", format!("contact `{}`", c.id)))?;
                }
                ContactEdit::Remove(id) => {
                    let changed = sqlx::query("UPDATE contacts SET removed_ms = $1 WHERE id = $2 AND tenant_id = $3 AND removed_ms IS NULL")
                        .bind(now.as_millisecond()).bind(id.as_str()).bind(tenant.as_str())
                        .execute(&mut *tx).await.map_err(DbError::query("contact"))?.rows_affected();
                    if changed == 0 {
                        return Err(DbError::NotFound(format!("contact `{id}`")));
                    }
                }
            }
            let current: Vec<ContactLine> = sqlx::query_as(CONTACT_LINES)
                .bind(tenant.as_str()).fetch_all(&mut *tx).await.map_err(DbError::query("contacts"))?;
            let payload = contacts_payload(&current);
            // Two changes in the same millisecond owe one report: the second finds the obligation made.
            let made = sqlx::query("INSERT INTO obligations (id, tenant_id, incident_id, kind, fact_ms, due_ms, created_ms) VALUES ($1, $2, NULL, 'contact_change', $3, $4, $3) ON CONFLICT (tenant_id, kind, fact_ms) WHERE incident_id IS NULL DO NOTHING")
                .bind(obligation.as_str()).bind(tenant.as_str()).bind(now.as_millisecond()).bind(due.as_millisecond())
                .execute(&mut *tx).await.map_err(DbError::query("obligation"))?.rows_affected();
            sqlx::query("INSERT INTO exchange_outbox (id, tenant_id, kind, incident_id, obligation_id, facilities, payload, created_ms, attempts, next_attempt_ms) VALUES ($1, $2, 'contacts.change', NULL, $3, '[]', $4, $5, 0, $5)")
                .bind(message.as_str()).bind(tenant.as_str()).bind((made == 1).then_some(obligation.as_str()))
                .bind(&payload).bind(now.as_millisecond())
                .execute(&mut *tx).await.map_err(DbError::query("exchange message"))?;
            tx.commit().await.map_err(DbError::query("contact"))?;
        });
        Ok(())
    }

    /// A page of a tenant's notifications, newest first (for [`Permission::NotificationsRead`]), and the next
    /// page's cursor when there is one.
    pub async fn notifications_page(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<NotificationRecord>, Option<String>), DbError> {
        require(scope, Permission::NotificationsRead, tenant)?;
        self.tenant_unscoped(tenant).await?;
        let request = PageRequest::new(cursor, limit)?;
        // Newest first: the cursor's key is the negated creation time, so "after" keeps meaning "greater".
        let (key, id) = request.after().unwrap_or((i64::MIN, ""));
        let rows: Vec<NotificationRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE tenant_id = $1 AND (-created_ms > $2 OR (-created_ms = $2 AND id > $3)) ORDER BY created_ms DESC, id LIMIT $4")))
            .bind(tenant.as_str()).bind(key).bind(id).bind(request.fetch())
            .fetch_all(pool).await.map_err(DbError::query("notifications"))?);
        let page = rows
            .into_iter()
            .map(notification)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(request.finish(page, |n| (-n.created.as_millisecond(), n.id.to_string())))
    }

    /// Claims up to `limit` notifications due at `now` for delivery by this process: each is reserved for
    /// [`CLAIM_LEASE`], so two processes on one database never send the same one at once. For the process
    /// itself, not for the API.
    pub async fn system_claim_notifications(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, DbError> {
        let (ids, lease) = NOTIFICATIONS.claim(self, now, limit).await?;
        let mut claimed = Vec::new();
        for id in ids {
            let row: Option<NotificationRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1")))
                .bind(&id).fetch_optional(pool).await.map_err(DbError::query("notification"))?);
            let Some(row) = row else { continue };
            let secret: Option<(Option<String>,)> = on_pool!(self, pool => sqlx::query_as("SELECT secret FROM contacts WHERE id = $1")
                .bind(&row.5).fetch_optional(pool).await.map_err(DbError::query("contact"))?);
            let mut notification = notification(row)?;
            notification.next_attempt = lease;
            claimed.push(Delivery {
                notification,
                secret: secret.and_then(|(s,)| s),
            });
        }
        Ok(claimed)
    }

    /// Records that a server accepted notification `id` at `at` with `receipt`; when it was an owner's, fulfils
    /// its obligation (unless something fulfilled it first). Returns the obligation fulfilled, if one was. For
    /// the process itself.
    pub async fn system_notification_delivered(
        &self,
        id: &ObjectId,
        at: Timestamp,
        receipt: &str,
    ) -> Result<Option<ObjectId>, DbError> {
        let receipt = cut(receipt);
        let object = format!("notification `{id}`");
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("notification"))?;
            let row: Option<(Option<String>, String, String)> = sqlx::query_as("SELECT obligation_id, channel, address FROM notifications WHERE id = $1 AND delivered_ms IS NULL")
                .bind(id.as_str()).fetch_optional(&mut *tx).await.map_err(DbError::query("notification"))?;
            let Some((obligation, channel, address)) = row else {
                return Err(DbError::NotFound(format!("undelivered {object}")));
            };
            sqlx::query("UPDATE notifications SET delivered_ms = $1, answer = $2, attempts = attempts + 1 WHERE id = $3")
                .bind(at.as_millisecond()).bind(&receipt).bind(id.as_str())
                .execute(&mut *tx).await.map_err(DbError::query("notification"))?;
            let mut fulfilled = None;
            if let Some(obligation) = obligation {
                let by = cut(&format!("{object}: {channel} to {address} accepted: {receipt}"));
                let changed = sqlx::query("UPDATE obligations SET fulfilled_ms = $1, fulfilled_by = $2 WHERE id = $3 AND fulfilled_ms IS NULL")
                    .bind(at.as_millisecond()).bind(&by).bind(&obligation)
                    .execute(&mut *tx).await.map_err(DbError::query("obligation"))?.rows_affected();
                if changed == 1 {
                    fulfilled = Some(object_id("obligation id", obligation)?);
                }
            }
            tx.commit().await.map_err(DbError::query("notification"))?;
            Ok(fulfilled)
        })
    }

    /// Records a failed attempt to deliver notification `id` at `at`; the next is due after [`retry_delay`].
    /// Returns when. For the process itself.
    pub async fn system_notification_failed(
        &self,
        id: &ObjectId,
        at: Timestamp,
        error: &str,
    ) -> Result<Timestamp, DbError> {
        NOTIFICATIONS
            .failed(self, id.as_str(), (at, crate::outbox::RETRY_BASE), error)
            .await
    }

    /// What waits in the outbox. For the process itself (health and metrics).
    pub async fn system_notification_backlog(&self) -> Result<Backlog, DbError> {
        NOTIFICATIONS.backlog(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_checked_with_named_reasons() {
        let ok = NewContact {
            tenant: TenantId::new("akimat").unwrap(),
            role: ContactRole::Owner,
            name: "Akim".into(),
            channel: Channel::Email,
            address: "akim@akimat.kz".into(),
            language: Lang::Kk,
        };
        assert!(check_contact(&ok).is_ok());
        for (channel, address, reason) in [
            (Channel::Email, "akimat.kz", "not an e-mail address"),
            (Channel::Email, "a@b@c", "not an e-mail address"),
            (Channel::Email, "a b@c.kz", "no spaces"),
            (
                Channel::Webhook,
                "ftp://x",
                "not an http:// or https:// URL",
            ),
            (
                Channel::Webhook,
                "https:///path",
                "not an http:// or https:// URL",
            ),
        ] {
            let c = NewContact {
                channel,
                address: address.into(),
                ..ok.clone()
            };
            let e = check_contact(&c).unwrap_err().to_string();
            assert!(
                e.contains(reason) && e.contains("address"),
                "{address}: {e}"
            );
        }
        let unnamed = NewContact {
            name: "  ".into(),
            ..ok
        };
        assert!(
            check_contact(&unnamed)
                .unwrap_err()
                .to_string()
                .contains("name")
        );
    }
}
