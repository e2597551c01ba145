//! Delivery of the notification outbox (`kuzet-db`): e-mail through the configured SMTP server and webhooks as
//! HMAC-signed HTTP POSTs (`docs/formats/notifications.md`). Every `notify.interval` the process claims what is
//! due, sends it, and records the server's receipt — which fulfils an owner's obligation (R15) — or the error, to
//! be retried with backoff for good. Each attempt is sealed in the audit trail as `notification.deliver`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use kuzet_api::AuditSink;
use kuzet_db::{Channel, Db, Delivery};
use kuzet_model::audit::Outcome;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio_util::sync::CancellationToken;

use crate::config::NotifySection;

/// How many notifications one pass claims.
const BATCH: u32 = 50;

/// The version of the webhook document (`docs/formats/notifications.md`).
pub const WEBHOOK_VERSION: u32 = 1;

/// Sends notifications: e-mail through one SMTP server, webhooks over HTTP(S).
pub struct Notifier {
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    http: reqwest::Client,
}

impl Notifier {
    pub fn new(section: &NotifySection) -> Result<Self> {
        let timeout = section.timeout.std();
        let smtp = if section.smtp_url.is_empty() {
            None
        } else {
            let url = section.smtp_url.as_str();
            Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .with_context(|| format!("[notify] smtp_url `{}`", kuzet_db::redact(url)))?
                    .timeout(Some(timeout))
                    .build(),
            )
        };
        let from = section
            .from
            .parse::<Mailbox>()
            .with_context(|| format!("[notify] from `{}`: not a mailbox", section.from))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // A webhook is the address an administrator named: a redirect elsewhere is not followed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kuzet/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("webhook client")?;
        Ok(Self { smtp, from, http })
    }

    /// Sends one notification; `Ok` carries the receipt the server answered.
    async fn send(&self, delivery: &Delivery) -> Result<String> {
        match delivery.notification.channel {
            Channel::Email => self.email(delivery).await,
            Channel::Webhook => self.webhook(delivery).await,
        }
    }

    async fn email(&self, delivery: &Delivery) -> Result<String> {
        let n = &delivery.notification;
        self.send_email(&n.address, &n.subject, &n.body, n.id.as_str())
            .await
    }

    /// Sends one plain-text e-mail through the configured SMTP server; `Ok` carries the server's receipt.
    pub async fn send_email(
        &self,
        address: &str,
        subject: &str,
        body: &str,
        id: &str,
    ) -> Result<String> {
        let Some(smtp) = &self.smtp else {
            bail!(
                "no SMTP server is configured ([notify] smtp_url): the e-mail waits in the outbox"
            );
        };
        let to = address
            .parse::<Mailbox>()
            .with_context(|| format!("recipient `{address}`"))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{id}@kuzet>")))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .context("e-mail message")?;
        let response = smtp.send(message).await.context("smtp")?;
        let words: Vec<&str> = response.message().collect();
        Ok(format!("{} {}", response.code(), words.join(" ")))
    }

    async fn webhook(&self, delivery: &Delivery) -> Result<String> {
        let n = &delivery.notification;
        let Some(secret) = &delivery.secret else {
            bail!("the webhook contact has no secret");
        };
        self.post_signed(&n.address, secret, n.id.as_str(), webhook_body(n))
            .await
    }

    /// POSTs a JSON document to `url` signed with `secret` (`Kuzet-Timestamp`, `Kuzet-Signature`), its id in
    /// `Kuzet-Notification`; the receiver's status line is the receipt.
    pub async fn post_signed(
        &self,
        url: &str,
        secret: &str,
        id: &str,
        body: Vec<u8>,
    ) -> Result<String> {
        let timestamp = Timestamp::now().as_second();
        let signature = sign(secret, timestamp, &body);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("kuzet-notification", id)
            .header("kuzet-timestamp", timestamp.to_string())
            .header("kuzet-signature", format!("v1={signature}"))
            .body(body)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = response.status();
        if !status.is_success() {
            bail!("POST {url}: HTTP {status}");
        }
        Ok(format!("HTTP {status}"))
    }
}

/// The webhook document: what the notice says, with the ids a receiver files it by.
pub fn webhook_body(n: &kuzet_db::NotificationRecord) -> Vec<u8> {
    serde_json::json!({
        "v": WEBHOOK_VERSION,
        "id": n.id.as_str(),
        "kind": n.kind,
        "tenant": n.tenant.as_str(),
        "incident": n.incident.as_ref().map(|i| i.as_str()),
        "contact": n.contact.as_str(),
        "language": n.language.code(),
        "subject": n.subject,
        "body": n.body,
        "created": n.created.to_string(),
    })
    .to_string()
    .into_bytes()
}

/// `Kuzet-Signature`'s hex: HMAC-SHA256 keyed with the contact's secret as shown (its text), over
/// `<timestamp>.<body>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// What an outbox holds, as the last pass saw it: for `/health`. One for notifications, one for NCCIS messages.
#[derive(Clone)]
pub struct BacklogStatus {
    backlog: Arc<std::sync::Mutex<kuzet_db::Backlog>>,
    /// What waits, in the warning ("notification(s)").
    what: &'static str,
    /// Where an operator looks.
    see: &'static str,
}

/// A message waiting longer than this makes health warn.
const LATE: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

impl BacklogStatus {
    pub fn new(what: &'static str, see: &'static str) -> Self {
        Self {
            backlog: Arc::default(),
            what,
            see,
        }
    }

    pub fn set(&self, backlog: kuzet_db::Backlog) {
        // A poisoned lock only means a panic elsewhere mid-update: the value is still a whole Backlog.
        *self
            .backlog
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = backlog;
    }

    /// The backlog as JSON, and a warning when messages fail or wait longer than five minutes.
    pub fn get(&self, now: Timestamp) -> (serde_json::Value, Option<String>) {
        let b = *self
            .backlog
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let late = b.oldest.is_some_and(|o| now.duration_since(o) > LATE);
        let warning = (b.failing > 0 || late).then(|| {
            format!(
                "{} {} undelivered, {} failing, the oldest from {}: see {}; they are retried",
                b.undelivered,
                self.what,
                b.failing,
                b.oldest.map(|o| o.to_string()).unwrap_or_default(),
                self.see,
            )
        });
        (
            serde_json::json!({
                "undelivered": b.undelivered,
                "failing": b.failing,
                "oldest": b.oldest.map(|o| o.to_string()),
            }),
            warning,
        )
    }
}

/// Delivers what is due until `shutdown`, a pass every `interval`.
pub async fn run(
    db: Db,
    notifier: Notifier,
    audit: Arc<dyn AuditSink>,
    interval: Duration,
    status: BacklogStatus,
    shutdown: CancellationToken,
) {
    let mut passes = crate::clocks::Passes::new(interval, shutdown);
    while passes.next().await {
        if let Err(error) = pass(&db, &notifier, audit.as_ref()).await {
            tracing::error!(%error, "notification delivery pass failed; retried next pass");
        }
        match db.system_notification_backlog().await {
            Ok(backlog) => {
                metrics::gauge!("kuzet_notifications_undelivered").set(backlog.undelivered as f64);
                metrics::gauge!("kuzet_notifications_failing").set(backlog.failing as f64);
                status.set(backlog);
            }
            Err(error) => tracing::warn!(%error, "notification backlog unknown"),
        }
    }
}

/// One pass: claims what is due now and tries each once.
pub async fn pass(db: &Db, notifier: &Notifier, audit: &dyn AuditSink) -> Result<()> {
    let claimed = db
        .system_claim_notifications(Timestamp::now(), BATCH)
        .await?;
    for delivery in claimed {
        let n = &delivery.notification;
        let outcome = notifier.send(&delivery).await;
        let now = Timestamp::now();
        let channel = n.channel.as_str();
        let (record_outcome, detail) = match outcome {
            Ok(receipt) => {
                metrics::counter!("kuzet_notifications_total", "channel" => channel, "outcome" => "delivered")
                    .increment(1);
                let fulfilled = db
                    .system_notification_delivered(&n.id, now, &receipt)
                    .await?;
                let fulfils = fulfilled
                    .map(|o| format!("; fulfilled obligation {o}"))
                    .unwrap_or_default();
                (
                    Outcome::Success,
                    format!("{channel} to {}: {receipt}{fulfils}", n.address),
                )
            }
            Err(error) => {
                metrics::counter!("kuzet_notifications_total", "channel" => channel, "outcome" => "failed")
                    .increment(1);
                let error = format!("{error:#}");
                let next = db.system_notification_failed(&n.id, now, &error).await?;
                tracing::warn!(notification = %n.id, address = %n.address, %error, %next, "notification not delivered; retried later");
                (
                    Outcome::Failure,
                    format!("{channel} to {}: {error}; next attempt {next}", n.address),
                )
            }
        };
        let record =
            crate::identity::process_record(now, "notify", "notification.deliver", record_outcome)
                .tenant(Some(n.tenant.clone()))
                .object(format!("notification:{}", n.id))
                .detail(detail)
                .bounded();
        if let Err(error) = audit.append(record).await {
            tracing::error!(%error, notification = %n.id, "the audit record of a notification delivery could not be sealed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 as a vector of the primitive: key "Jefe", data "what do ya want for nothing?".
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Ours signs `<timestamp>.<body>`: the same as one HMAC over the joined text.
        let mut joined = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
        joined.update(b"1765000000.{\"v\":1}");
        assert_eq!(
            sign("s3cret", 1_765_000_000, b"{\"v\":1}"),
            hex::encode(joined.finalize().into_bytes())
        );
        assert_ne!(
            sign("s3cret", 1_765_000_001, b"{\"v\":1}"),
            sign("s3cret", 1_765_000_000, b"{\"v\":1}")
        );
    }
}
