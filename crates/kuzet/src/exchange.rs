//! The ISOC's side of the NCCIS exchange (`docs/formats/nccis-exchange.md`): every `exchange.interval` the
//! process claims the outbox's due messages (`kuzet-db`), builds and signs each once — its bytes and signature
//! frozen in the database before the first attempt, so that every retry, from this process or after a restart,
//! sends exactly the same message — posts it to the hub over mutual TLS and keeps the hub's checked, signed
//! receipt, which fulfils the NCCIS obligation of an initial incident message. Each attempt is sealed in the
//! audit trail as `exchange.deliver`. The same pass fetches what the hub has for this ISOC (advisories), each
//! verified and taken once, sealed as `exchange.receive`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use kuzet_api::AuditSink;
use kuzet_db::{AccessAsk, Db, ExchangeRecord, Incoming, Received};
use kuzet_exchange::Form;
use kuzet_exchange::jws::Signed;
use kuzet_exchange::transport::{HubClient, client_config, open_from_hub};
use kuzet_exchange::{Certificate, CertificateKey, Envelope, Kind, MessageId, PROTOCOL_VERSION};
use kuzet_model::audit::Outcome;
use tokio_util::sync::CancellationToken;

use crate::config::{self, ExchangeSection};
use crate::notify::BacklogStatus;

/// How many messages one pass claims.
const BATCH: u32 = 50;

/// Sends this ISOC's messages to its hub.
pub struct Sender {
    client: HubClient,
    signer: CertificateKey,
    party: String,
    hub_party: String,
    form: Form,
    /// The first wait after a failed attempt (doubling up to an hour).
    retry_base: jiff::SignedDuration,
    /// The last fetch failure sealed in the audit trail: a failure that repeats every pass is sealed once.
    last_fetch_failure: tokio::sync::Mutex<String>,
}

fn required(name: &str, value: &str) -> Result<std::path::PathBuf> {
    config::optional_path(value)
        .with_context(|| format!("[exchange] {name}: needed when hub_url is set"))
}

impl Sender {
    /// The sender the configuration describes, or `None` when no hub is configured.
    pub fn new(section: &ExchangeSection) -> Result<Option<Self>> {
        if section.hub_url.trim().is_empty() {
            return Ok(None);
        }
        let url = section.hub_url.trim();
        if !url.starts_with("https://") {
            bail!("[exchange] hub_url `{url}`: must be an https:// URL (mutual TLS)");
        }
        for (name, id) in [("party", &section.party), ("hub_party", &section.hub_party)] {
            kuzet_model::TenantId::new(id.as_str())
                .with_context(|| format!("[exchange] {name} `{id}`: not a party id"))?;
        }
        let (ca, certificate, key, hub) = (
            required("ca", &section.ca)?,
            required("certificate", &section.certificate)?,
            required("key", &section.key)?,
            required("hub_certificate", &section.hub_certificate)?,
        );
        let tls = client_config(&ca, &certificate, &key)?;
        let signer = CertificateKey::from_files(&certificate, &key)?;
        let hub = Certificate::from_pem_file(&hub)?;
        let client =
            HubClient::new(url, tls, hub, section.timeout.std())?.with_form(section.format);
        Ok(Some(Self {
            client,
            signer,
            party: section.party.clone(),
            hub_party: section.hub_party.clone(),
            form: section.format,
            retry_base: jiff::SignedDuration::try_from(section.retry_base.std())
                .context("[exchange] retry_base")?,
            last_fetch_failure: tokio::sync::Mutex::default(),
        }))
    }

    /// Logs and seals a fetch failure in the audit trail unless it is the one reported last (a hub that is down
    /// would otherwise fill both every pass); `""` clears it.
    async fn fetch_failed(&self, error: &str, audit: &dyn AuditSink) {
        let mut last = self.last_fetch_failure.lock().await;
        if *last == error {
            return;
        }
        error.clone_into(&mut last);
        if error.is_empty() {
            return;
        }
        tracing::warn!(%error, "NCCIS fetch failed; retried each pass, reported again when the reason changes");
        let record = crate::identity::process_record(
            Timestamp::now(),
            "exchange",
            "exchange.receive",
            Outcome::Failure,
        )
        .detail(format!(
            "fetching from the hub: {error}; fetched again each pass"
        ))
        .bounded();
        if let Err(error) = audit.append(record).await {
            tracing::error!(%error, "the audit record of a failed NCCIS fetch could not be sealed");
        }
    }

    /// The message a row of the outbox becomes.
    fn envelope(&self, m: &ExchangeRecord) -> Result<Envelope> {
        Ok(Envelope {
            version: PROTOCOL_VERSION,
            id: MessageId::new(m.id.as_str())?,
            kind: Kind::parse(&m.kind)?,
            sender: self.party.clone(),
            recipient: self.hub_party.clone(),
            tenant: Some(m.tenant.to_string()),
            facilities: m.facilities.iter().map(ToString::to_string).collect(),
            created: m.created,
            in_reply_to: None,
            payload: serde_json::from_str(&m.payload)
                .with_context(|| format!("payload of message `{}`", m.id))?,
        })
    }

    /// Sends one message (its frozen bytes, freezing them first if this is the first attempt); returns the
    /// receipt's summary and the obligation it fulfilled.
    async fn send(&self, db: &Db, m: &ExchangeRecord) -> Result<String> {
        let (body, jws) = match &m.frozen {
            Some(frozen) => frozen.clone(),
            None => {
                let signed =
                    kuzet_exchange::form::sign(&self.envelope(m)?, &self.signer, self.form)?;
                let body = String::from_utf8(signed.body).context("message bytes")?;
                db.system_freeze_exchange(&m.id, &body, &signed.jws).await?
            }
        };
        let message = Envelope::from_bytes(body.as_bytes())?;
        let signed = Signed {
            body: body.into_bytes(),
            jws,
        };
        let received = self.client.deliver(&message, &signed).await?;
        let status = serde_json::to_value(received.receipt.status)?;
        let summary = format!(
            "{} ({}, received {}, {})",
            received.envelope.id,
            status.as_str().unwrap_or_default(),
            received.receipt.received,
            received.receipt.digest
        );
        let receipt_body =
            String::from_utf8(received.signed.body.clone()).context("receipt bytes")?;
        let fulfilled = db
            .system_exchange_delivered(
                &m.id,
                Timestamp::now(),
                &receipt_body,
                &received.signed.jws,
                &summary,
            )
            .await?;
        Ok(match fulfilled {
            Some(o) => format!("receipt {summary}; fulfilled obligation {o}"),
            None => format!("receipt {summary}"),
        })
    }
}

/// Sends what is due until `shutdown`, a pass every `interval`; without a sender only watches the backlog.
pub async fn run(
    db: Db,
    sender: Option<Sender>,
    audit: Arc<dyn AuditSink>,
    interval: Duration,
    status: BacklogStatus,
    shutdown: CancellationToken,
) {
    let mut passes = crate::clocks::Passes::new(interval, shutdown);
    while passes.next().await {
        if let Some(sender) = &sender {
            if let Err(error) = pass(&db, sender, audit.as_ref()).await {
                tracing::error!(%error, "NCCIS delivery pass failed; retried next pass");
            }
            if let Err(error) = fetch(&db, sender, audit.as_ref()).await {
                sender
                    .fetch_failed(&format!("{error:#}"), audit.as_ref())
                    .await;
            }
        }
        match db.system_exchange_backlog().await {
            Ok(backlog) => {
                metrics::gauge!("kuzet_exchange_undelivered").set(backlog.undelivered as f64);
                metrics::gauge!("kuzet_exchange_failing").set(backlog.failing as f64);
                status.set(backlog);
            }
            Err(error) => tracing::warn!(%error, "NCCIS backlog unknown"),
        }
    }
}

/// Fetches what the hub has for this ISOC and takes each message once, in order: an advisory reaches the tenants
/// whose assets it matches (`kuzet-db`). A message that does not verify stops the fetch — nothing after it is
/// taken first — and is fetched again next pass.
async fn fetch(db: &Db, sender: &Sender, audit: &dyn AuditSink) -> Result<()> {
    let after = db.system_inbox_cursor().await?;
    for fetched in sender.client.fetch(after).await? {
        let message = open_from_hub(
            &fetched,
            sender.client.hub_certificate(),
            &sender.hub_party,
            &sender.party,
        )?;
        let advisory: Option<kuzet_cases::Advisory> = match message.kind {
            Kind::Advisory => Some(
                serde_json::from_value(message.payload.clone())
                    .with_context(|| format!("advisory `{}`", message.id))?,
            ),
            _ => None,
        };
        let what = match (&advisory, message.kind) {
            (Some(a), _) => Incoming::Advisory(a),
            (None, Kind::AccessRequest) => Incoming::AccessRequest(access_ask(&message)?),
            (None, _) => Incoming::Other,
        };
        let received = db
            .system_receive(
                (message.id.as_str(), fetched.seq, message.kind.as_str()),
                (&fetched.body, &fetched.jws),
                &what,
                Timestamp::now(),
            )
            .await?;
        let detail = match (&received, &advisory) {
            (Received::Again, _) => format!(
                "{} `{}`: received before",
                message.kind.as_str(),
                message.id
            ),
            (Received::New(tenants), Some(a)) => format!(
                "advisory `{}` ({}, {}): {}",
                message.id,
                a.severity,
                a.title.chars().take(200).collect::<String>(),
                if tenants.is_empty() {
                    "concerns no tenant".to_owned()
                } else {
                    let names: Vec<&str> = tenants.iter().map(|(t, _)| t.as_str()).collect();
                    format!("forwarded to {}", names.join(", "))
                }
            ),
            (Received::New(_), None) => format!("{} `{}`: kept", message.kind.as_str(), message.id),
        };
        metrics::counter!("kuzet_exchange_received_total", "kind" => message.kind.as_str())
            .increment(1);
        let record = crate::identity::process_record(
            Timestamp::now(),
            "exchange",
            "exchange.receive",
            Outcome::Success,
        )
        .object(format!("message:{}", message.id))
        .detail(detail)
        .bounded();
        if let Err(error) = audit.append(record).await {
            tracing::error!(%error, message = %message.id, "the audit record of an NCCIS message could not be sealed");
        }
    }
    sender.fetch_failed("", audit).await;
    Ok(())
}

/// NCCIS's request for read access (R19) an `access.request` message carries.
fn access_ask(message: &Envelope) -> Result<AccessAsk> {
    let p = &message.payload;
    let what = || format!("access request `{}`", message.id);
    let text = |k: &str| p.get(k).and_then(serde_json::Value::as_str);
    let time = |k: &str| -> Result<Timestamp> {
        text(k)
            .and_then(|t| t.parse().ok())
            .with_context(|| format!("{}: `{k}` is not a time", what()))
    };
    Ok(AccessAsk {
        tenant: message
            .tenant
            .clone()
            .with_context(|| format!("{}: names no tenant", what()))?,
        starts: time("from")?,
        ends: time("to")?,
        reason: text("reason").unwrap_or_default().to_owned(),
        query: text("query").map(str::to_owned),
    })
}

/// One pass: claims what is due now and tries each once.
async fn pass(db: &Db, sender: &Sender, audit: &dyn AuditSink) -> Result<()> {
    for m in db.system_claim_exchange(Timestamp::now(), BATCH).await? {
        let (outcome, detail) = match sender.send(db, &m).await {
            Ok(summary) => {
                metrics::counter!("kuzet_exchange_total", "outcome" => "delivered").increment(1);
                (
                    Outcome::Success,
                    format!("{} to {}: {summary}", m.kind, sender.client.url()),
                )
            }
            Err(error) => {
                metrics::counter!("kuzet_exchange_total", "outcome" => "failed").increment(1);
                let error = format!("{error:#}");
                let next = db
                    .system_exchange_failed(&m.id, (Timestamp::now(), sender.retry_base), &error)
                    .await?;
                tracing::warn!(message = %m.id, %error, %next, "NCCIS message not delivered; retried later");
                (
                    Outcome::Failure,
                    format!("{}: {error}; next attempt {next}", m.kind),
                )
            }
        };
        let record = crate::identity::process_record(
            Timestamp::now(),
            "exchange",
            "exchange.deliver",
            outcome,
        )
        .tenant(Some(m.tenant.clone()))
        .object(format!("message:{}", m.id))
        .detail(detail)
        .bounded();
        if let Err(error) = audit.append(record).await {
            tracing::error!(%error, message = %m.id, "the audit record of an NCCIS delivery could not be sealed");
        }
    }
    Ok(())
}
