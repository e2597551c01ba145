//! The NCCIS hub (`kuzet serve --role nccis`, `docs/formats/nccis-exchange.md`): a mutual-TLS listener for ISOCs,
//! each known by the fingerprint of its client certificate (`kuzet hub register`). A message is verified against
//! that ISOC's registered certificate and the schema, stored once per (ISOC, id) with its bytes and signature as
//! received, and answered with a receipt signed with the hub's key. ISOCs fetch what the hub has for them
//! (advisories) from `/nccis/v1/inbox`, which acknowledges what they fetched before. Every refusal is sealed in the
//! audit trail as `exchange.refuse` with its reason; every message taken as `exchange.receive`, every
//! acknowledgement as `exchange.fetched`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::{IncomingStream, Listener};
use jiff::Timestamp;
use kuzet_api::AuditSink;
use kuzet_cases::{Category, Lang, NoticeFacts, NoticeKind, Status, render_notice};
use kuzet_db::{Db, Escalate, EscalationNotice, HubMessage, HubStored};
use kuzet_exchange::jws::HEADER;
use kuzet_exchange::message::{MAX_MESSAGE_BYTES, digest};
use kuzet_exchange::transport::{
    Fetched, INBOX_PATH, Inbox, MESSAGES_PATH, make_receipt, open_incoming, server_config,
};
use kuzet_exchange::{
    Certificate, CertificateKey, Envelope, ExchangeError, Form, MessageId, ReceiptStatus,
};
use kuzet_model::audit::{Actor, AuditRecord, Outcome};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config, HubSection};

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes finished and not yet served, at most.
const PENDING: usize = 64;
/// TLS handshakes under way at once, at most: a flood of connections that never finish theirs is dropped at the
/// door instead of holding a task and a socket each for the handshake timeout.
const HANDSHAKES: usize = 256;

/// Who is on the other end of a hub connection: the address and the client certificate's fingerprint.
#[derive(Debug, Clone)]
pub struct HubPeer {
    pub address: SocketAddr,
    pub fingerprint: Option<String>,
}

/// The hub's listener: TCP accepted at once, each TLS handshake in its own task (a slow client holds up nobody),
/// finished connections handed to the HTTP server with their peer.
pub struct HubListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, HubPeer)>,
    local: SocketAddr,
}

impl HubListener {
    pub async fn bind(section: &HubSection, shutdown: CancellationToken) -> Result<Self> {
        let address = config::listen_address("hub.listen", &section.listen)?
            .context("[hub] listen: needed with --role nccis")?;
        let path = |name: &str, value: &str| {
            config::optional_path(value)
                .with_context(|| format!("[hub] {name}: needed with --role nccis"))
        };
        let tls = server_config(
            &path("certificate", &section.certificate)?,
            &path("key", &section.key)?,
            &path("client_ca", &section.client_ca)?,
        )?;
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        let tcp = TcpListener::bind(address)
            .await
            .with_context(|| format!("[hub] listen {address}: cannot bind"))?;
        let local = tcp.local_addr()?;
        let (send, ready) = mpsc::channel(PENDING);
        let handshakes = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let (stream, address) = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    accepted = tcp.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            tracing::warn!(listener = "hub", %error, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                let Ok(permit) = Arc::clone(&handshakes).try_acquire_owned() else {
                    metrics::counter!("kuzet_hub_connections_refused_total", "reason" => "handshakes").increment(1);
                    tracing::debug!(%address, "hub: too many TLS handshakes under way; connection dropped");
                    continue;
                };
                let (acceptor, send) = (acceptor.clone(), send.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let fingerprint = tls
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|c| c.first())
                                .map(|c| kuzet_exchange::fingerprint(c));
                            let _ = send
                                .send((
                                    tls,
                                    HubPeer {
                                        address,
                                        fingerprint,
                                    },
                                ))
                                .await;
                        }
                        Ok(Err(error)) => {
                            tracing::info!(%address, %error, "hub: TLS handshake refused");
                        }
                        Err(_) => tracing::info!(%address, "hub: TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Listener for HubListener {
    type Io = TlsStream<TcpStream>;
    type Addr = HubPeer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The acceptor stopped (shutdown): nothing more comes; the server's graceful shutdown ends the serve.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(HubPeer {
            address: self.local,
            fingerprint: None,
        })
    }
}

impl Connected<IncomingStream<'_, HubListener>> for HubPeer {
    fn connect_info(stream: IncomingStream<'_, HubListener>) -> Self {
        stream.remote_addr().clone()
    }
}

#[derive(Clone)]
struct Hub {
    db: Db,
    party: String,
    signer: Arc<CertificateKey>,
    audit: Arc<dyn AuditSink>,
    /// Who is told of incidents of high levels.
    escalate: Arc<Vec<Target>>,
}

/// One address told of incidents of high levels.
#[derive(Debug, Clone)]
pub struct Target {
    /// An e-mail address or a webhook URL.
    pub address: String,
    pub language: Lang,
    /// The lowest level it is told of.
    pub min_level: u8,
    /// A webhook's signing key.
    pub secret: Option<String>,
}

fn is_webhook(address: &str) -> bool {
    address.starts_with("https://") || address.starts_with("http://")
}

/// The escalation targets of the configuration, checked: a webhook has a signing key, an e-mail address none.
pub fn escalation_targets(section: &HubSection) -> Result<Vec<Target>> {
    section
        .escalate
        .iter()
        .map(|e| {
            let named = || format!("[hub] escalate `{}`", e.address);
            let language = Lang::parse(&e.language).with_context(|| {
                format!("{}: language `{}` is not kk, ru or en", named(), e.language)
            })?;
            if e.min_level > 5 {
                bail!("{}: min_level {} is not 0 to 5", named(), e.min_level);
            }
            let secret = match (is_webhook(&e.address), &e.secret_file) {
                (true, Some(file)) => {
                    let path = config::optional_path(file).with_context(named)?;
                    let secret = std::fs::read_to_string(&path)
                        .with_context(|| format!("{}: secret_file {}", named(), path.display()))?
                        .trim()
                        .to_owned();
                    if secret.len() < 32 {
                        bail!(
                            "{}: the key in {} is shorter than 32 characters",
                            named(),
                            path.display()
                        );
                    }
                    Some(secret)
                }
                (true, None) => bail!("{}: a webhook needs a secret_file to sign with", named()),
                (false, Some(_)) => bail!("{}: an e-mail address takes no secret_file", named()),
                (false, None) if !e.address.contains('@') => {
                    bail!("{}: neither an e-mail address nor an http(s) URL", named())
                }
                (false, None) => None,
            };
            Ok(Target {
                address: e.address.clone(),
                language,
                min_level: e.min_level,
                secret,
            })
        })
        .collect()
}

/// The escalation notices a received incident message calls for (R11): the ISOC's incident id, its level and
/// one notice per address whose lowest level it reaches. `None` for other messages and lower levels.
fn escalation(hub: &Hub, isoc: &str, m: &Envelope) -> Option<(String, u8, Vec<EscalationNotice>)> {
    if !m.kind.as_str().starts_with("incident.") {
        return None;
    }
    let p = &m.payload;
    let level = u8::try_from(p.get("level")?.as_u64()?).ok()?;
    let targets: Vec<&Target> = hub
        .escalate
        .iter()
        .filter(|t| level >= t.min_level)
        .collect();
    if targets.is_empty() {
        return None;
    }
    let text = |k: &str| p.get(k).and_then(serde_json::Value::as_str);
    let time = |k: &str| text(k).and_then(|t| t.parse::<Timestamp>().ok());
    let facts = NoticeFacts {
        organization: format!("{} (ISOC {isoc})", text("organization")?),
        sector: text("sector").and_then(|s| kuzet_model::Sector::parse(s).ok()),
        incident: text("incident")?.to_owned(),
        title: text("title")?.to_owned(),
        category: Category::parse(text("category")?).ok()?,
        level: kuzet_model::Criticality::new(level).ok()?,
        status: Status::parse(text("status")?).ok()?,
        detected: time("detected")?,
        confirmed: time("confirmed"),
        facilities: p
            .get("facility_names")?
            .as_array()?
            .iter()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect(),
        personal_data: p.get("personal_data")?.as_bool()?,
    };
    let notices = targets
        .into_iter()
        .map(|t| EscalationNotice {
            address: t.address.clone(),
            language: t.language,
            notice: render_notice(NoticeKind::Escalation, &facts, t.language),
        })
        .collect();
    Some((facts.incident, level, notices))
}

/// Delivers the escalation notices, by e-mail or to the `targets`' webhooks, until `shutdown`, a pass every
/// `interval`; each attempt is sealed as `hub.escalate`.
pub async fn escalate(
    db: Db,
    notifier: crate::notify::Notifier,
    targets: Vec<Target>,
    audit: Arc<dyn AuditSink>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut passes = crate::clocks::Passes::new(interval, shutdown);
    while passes.next().await {
        let claimed = match db.system_claim_escalations(Timestamp::now(), 50).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "escalations could not be claimed; retried next pass");
                continue;
            }
        };
        for e in claimed {
            let secret = targets
                .iter()
                .find(|t| t.address == e.address)
                .and_then(|t| t.secret.as_deref());
            let sent = match (is_webhook(&e.address), secret) {
                (false, _) => {
                    notifier
                        .send_email(&e.address, &e.subject, &e.body, &e.id)
                        .await
                }
                (true, Some(secret)) => {
                    let body = serde_json::json!({
                        "v": crate::notify::WEBHOOK_VERSION,
                        "kind": "escalation",
                        "escalation": e.id,
                        "isoc": e.isoc,
                        "incident": e.incident,
                        "level": e.level,
                        "subject": e.subject,
                        "body": e.body,
                    });
                    notifier
                        .post_signed(&e.address, secret, &e.id, body.to_string().into_bytes())
                        .await
                }
                // The address left the configuration after its notice was written: kept, retried with backoff,
                // and the error says why.
                (true, None) => Err(anyhow::anyhow!(
                    "{} is no longer a configured webhook with a key",
                    e.address
                )),
            };
            let now = Timestamp::now();
            let (outcome, detail) = match sent {
                Ok(receipt) => match db.system_escalation_delivered(&e.id, now, &receipt).await {
                    Ok(()) => (
                        Outcome::Success,
                        format!(
                            "level {} incident `{}` of `{}` to {}: {receipt}",
                            e.level, e.incident, e.isoc, e.address
                        ),
                    ),
                    Err(error) => (
                        Outcome::Failure,
                        format!("delivered to {} but not recorded: {error}", e.address),
                    ),
                },
                Err(error) => {
                    let error = format!("{error:#}");
                    let next = db.system_escalation_failed(&e.id, now, &error).await;
                    tracing::warn!(escalation = %e.id, %error, "escalation not delivered; retried later");
                    (
                        Outcome::Failure,
                        format!(
                            "to {}: {error}; next attempt {}",
                            e.address,
                            next.map(|n| n.to_string()).unwrap_or_default()
                        ),
                    )
                }
            };
            let record = crate::identity::process_record(now, "hub", "hub.escalate", outcome)
                .object(format!("isoc:{}", e.isoc))
                .detail(detail)
                .bounded();
            if let Err(error) = audit.append(record).await {
                tracing::error!(%error, "the audit record of an escalation could not be sealed");
            }
        }
    }
}

/// Serves the hub on `listener` until `shutdown`.
pub async fn serve(
    listener: HubListener,
    section: &HubSection,
    db: Db,
    audit: Arc<dyn AuditSink>,
    shutdown: CancellationToken,
) -> Result<()> {
    kuzet_model::TenantId::new(section.party.as_str())
        .with_context(|| format!("[hub] party `{}`: not a party id", section.party))?;
    let signer = CertificateKey::from_files(
        &config::optional_path(&section.certificate).context("[hub] certificate")?,
        &config::optional_path(&section.key).context("[hub] key")?,
    )?;
    let hub = Hub {
        db,
        party: section.party.clone(),
        signer: Arc::new(signer),
        audit,
        escalate: Arc::new(escalation_targets(section)?),
    };
    let app = Router::new()
        .route(MESSAGES_PATH, post(receive))
        .route(INBOX_PATH, axum::routing::get(inbox))
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
        .with_state(hub);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<HubPeer>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
    .context("hub listener")
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

async fn receive(
    State(hub): State<Hub>,
    ConnectInfo(peer): ConnectInfo<HubPeer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = Timestamp::now();
    let (response, record) = match accept(&hub, &peer, &headers, &body, now).await {
        Ok((receipt, isoc, detail)) => {
            let form = Form::of(&receipt.body);
            let mut response = (StatusCode::OK, receipt.body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                "content-type",
                axum::http::HeaderValue::from_static(form.media_type()),
            );
            if form == Form::Json
                && let Ok(value) = axum::http::HeaderValue::from_str(&receipt.jws)
            {
                headers.insert(HEADER, value);
            }
            (
                response,
                record(
                    &peer,
                    Some(isoc),
                    "exchange.receive",
                    Outcome::Success,
                    detail,
                    now,
                ),
            )
        }
        Err((status, code, message, isoc)) => (
            refuse(status, code, &message),
            record(
                &peer,
                isoc,
                "exchange.refuse",
                Outcome::Refused,
                format!("{code}: {message}"),
                now,
            ),
        ),
    };
    if let Err(error) = hub.audit.append(record).await {
        tracing::error!(%error, "the audit record of a hub message could not be sealed");
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the hub cannot audit now; send again",
        );
    }
    response
}

fn record(
    peer: &HubPeer,
    isoc: Option<String>,
    action: &str,
    outcome: Outcome,
    detail: String,
    now: Timestamp,
) -> AuditRecord {
    AuditRecord::new(
        now,
        Actor {
            user: None,
            via: "hub".into(),
            address: Some(peer.address.ip().to_string()),
        },
        action,
        outcome,
    )
    .object(match isoc {
        Some(isoc) => format!("isoc:{isoc}"),
        None => format!(
            "certificate:{}",
            peer.fingerprint.as_deref().unwrap_or("none")
        ),
    })
    .detail(detail)
    .bounded()
}

type Refusal = (StatusCode, &'static str, String, Option<String>);

/// A refusal because the hub cannot do its part now (the database, randomness): 503, to be tried again.
fn unavailable(e: &dyn std::fmt::Display, isoc: &str) -> Refusal {
    tracing::error!(error = %e, "hub: cannot store or answer a message");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("the hub cannot take the message now: {e}"),
        Some(isoc.to_owned()),
    )
}

/// The registered ISOC whose client certificate the connection showed.
async fn isoc_of(hub: &Hub, peer: &HubPeer) -> Result<kuzet_db::HubIsoc, Refusal> {
    let fingerprint = peer.fingerprint.as_deref().unwrap_or_default();
    match hub.db.system_hub_isoc_by_fingerprint(fingerprint).await {
        Ok(Some(isoc)) => Ok(isoc),
        Ok(None) => Err((
            StatusCode::FORBIDDEN,
            "unknown_isoc",
            format!(
                "client certificate {fingerprint} is not registered at this hub (or was revoked)"
            ),
            None,
        )),
        Err(e) => Err(unavailable(&e, "?")),
    }
}

/// How many messages one fetch answers at most.
const FETCH_LIMIT: u32 = 100;

/// `GET /nccis/v1/inbox?after=N`: acknowledges the ISOC's messages up to `N` and answers those after it, each
/// signed once, at its first fetch.
async fn inbox(
    State(hub): State<Hub>,
    ConnectInfo(peer): ConnectInfo<HubPeer>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let now = Timestamp::now();
    match fetch(&hub, &peer, &query, now).await {
        Ok((inbox, Some(record))) => {
            if let Err(error) = hub.audit.append(record).await {
                tracing::error!(%error, "the audit record of an acknowledgement could not be sealed");
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the hub cannot audit now; fetch again",
                );
            }
            axum::Json(inbox).into_response()
        }
        Ok((inbox, None)) => axum::Json(inbox).into_response(),
        Err((status, code, message, isoc)) => {
            let record = record(
                &peer,
                isoc,
                "exchange.refuse",
                Outcome::Refused,
                format!("{code}: {message}"),
                now,
            );
            if let Err(error) = hub.audit.append(record).await {
                tracing::error!(%error, "the audit record of a refused fetch could not be sealed");
            }
            refuse(status, code, &message)
        }
    }
}

async fn fetch(
    hub: &Hub,
    peer: &HubPeer,
    query: &std::collections::HashMap<String, String>,
    now: Timestamp,
) -> Result<(Inbox, Option<AuditRecord>), Refusal> {
    let isoc = isoc_of(hub, peer).await?;
    let id = isoc.id.as_str();
    let form = match query.get("form").map(String::as_str) {
        None | Some("json") => Form::Json,
        Some("xml") => Form::Xml,
        Some(other) => {
            return Err((
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("form `{other}`: json or xml"),
                Some(id.to_owned()),
            ));
        }
    };
    let after = match query.get("after") {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                (
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("after `{text}`: not a message number"),
                    Some(id.to_owned()),
                )
            })?,
    };
    let acknowledged = hub
        .db
        .system_hub_fetched(id, after, now)
        .await
        .map_err(|e| unavailable(&e, id))?;
    let mut messages = Vec::new();
    for m in hub
        .db
        .system_hub_outbox(id, after, FETCH_LIMIT)
        .await
        .map_err(|e| unavailable(&e, id))?
    {
        let (body, jws) = match m.frozen {
            Some(frozen) => frozen,
            None => {
                let envelope = Envelope {
                    version: kuzet_exchange::PROTOCOL_VERSION,
                    id: MessageId::new(m.id.as_str()).map_err(|e| unavailable(&e, id))?,
                    kind: kuzet_exchange::Kind::parse(&m.kind).map_err(|e| unavailable(&e, id))?,
                    sender: hub.party.clone(),
                    recipient: id.to_owned(),
                    tenant: m.tenant.clone(),
                    facilities: Vec::new(),
                    created: m.created,
                    in_reply_to: None,
                    payload: serde_json::from_str(&m.payload).map_err(|e| unavailable(&e, id))?,
                };
                let signed = kuzet_exchange::form::sign(&envelope, hub.signer.as_ref(), form)
                    .map_err(|e| unavailable(&e, id))?;
                let body = String::from_utf8(signed.body).map_err(|e| unavailable(&e, id))?;
                hub.db
                    .system_hub_freeze(id, m.seq, &body, &signed.jws)
                    .await
                    .map_err(|e| unavailable(&e, id))?
            }
        };
        messages.push(Fetched {
            seq: m.seq,
            body,
            jws,
        });
    }
    let record = (acknowledged > 0).then(|| {
        record(
            peer,
            Some(id.to_owned()),
            "exchange.fetched",
            Outcome::Success,
            format!("{acknowledged} message(s) up to {after} acknowledged by `{id}`"),
            now,
        )
    });
    Ok((Inbox { messages }, record))
}

/// Checks, stores and answers one message; the receipt, the ISOC, and what to audit.
async fn accept(
    hub: &Hub,
    peer: &HubPeer,
    headers: &HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Result<(kuzet_exchange::Signed, String, String), Refusal> {
    let isoc = isoc_of(hub, peer).await?;
    let id = isoc.id.clone();
    let refused = |status, code, e: ExchangeError| (status, code, e.to_string(), Some(id.clone()));
    let form = Form::of(body);
    let jws = match (form, headers.get(HEADER).and_then(|v| v.to_str().ok())) {
        // an XML message is signed inside: a header beside it is not kept
        (Form::Xml, _) => "",
        (Form::Json, Some(jws)) => jws,
        (Form::Json, None) => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "signature",
                format!("no `{HEADER}` header: a JSON message is signed with a detached JWS"),
                Some(id.clone()),
            ));
        }
    };
    let registered = Certificate::from_pem(
        &isoc.certificate,
        &format!("registered certificate of `{id}`"),
    )
    .map_err(|e| unavailable(&e, &id))?;
    let message = open_incoming(body, jws, &registered, &id, &hub.party).map_err(|e| match e {
        ExchangeError::Signature { .. } => refused(StatusCode::UNAUTHORIZED, "signature", e),
        other => refused(StatusCode::BAD_REQUEST, "invalid", other),
    })?;
    let digest = digest(body);
    let escalation = escalation(hub, &id, &message);
    let escalate = escalation
        .as_ref()
        .map(|(incident, level, notices)| Escalate {
            incident,
            level: *level,
            notices,
        });
    let stored = hub
        .db
        .system_hub_store(
            &HubMessage {
                isoc: id.clone(),
                id: message.id.to_string(),
                kind: message.kind.as_str().to_owned(),
                tenant: message.tenant.clone(),
                level: message
                    .payload
                    .get("level")
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|l| u8::try_from(l).ok()),
                digest: digest.clone(),
                // `open_incoming` read the body as JSON or XML: it is UTF-8.
                body: String::from_utf8_lossy(body).into_owned(),
                jws: jws.to_owned(),
                received: now,
            },
            escalate.as_ref(),
        )
        .await
        .map_err(|e| unavailable(&e, &id))?;
    let (status, received) = match stored {
        HubStored::Accepted => (ReceiptStatus::Accepted, now),
        HubStored::Duplicate(at) => (ReceiptStatus::Duplicate, at),
        HubStored::Conflict => {
            return Err((
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "message `{}` was received before with other bytes: a message id is used once",
                    message.id
                ),
                Some(id),
            ));
        }
    };
    let receipt_id = random_id().map_err(|e| unavailable(&e, &id))?;
    let receipt = make_receipt(
        receipt_id,
        &hub.party,
        hub.signer.as_ref(),
        &message,
        &kuzet_exchange::message::Receipt::of(body, status, received),
        now,
        form,
    )
    .map_err(|e| unavailable(&e, &id))?;
    let detail = format!(
        "{} `{}` of tenant `{}` from `{id}`: {}",
        message.kind.as_str(),
        message.id,
        message.tenant.as_deref().unwrap_or("-"),
        if status == ReceiptStatus::Accepted {
            "accepted"
        } else {
            "duplicate, stored before"
        },
    );
    Ok((receipt, id, detail))
}

fn random_id() -> Result<MessageId> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("randomness: {e}"))?;
    Ok(MessageId::from_random(bytes))
}

/// `kuzet hub …`: the hub's registry of ISOCs and what they sent, on the command line.
#[derive(Debug, clap::Subcommand)]
pub enum HubCommand {
    /// Registers an ISOC by its client certificate (PEM): connections showing it are that ISOC, and its
    /// messages must verify with it.
    Register {
        /// The ISOC's party id (what its messages name as sender).
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        certificate: std::path::PathBuf,
    },
    /// Revokes an ISOC's registration: its certificate is refused from now on.
    Revoke {
        #[arg(long)]
        id: String,
    },
    /// Lists the registered ISOCs.
    Isocs,
    /// Lists the escalation notices (R11: incidents of levels 3–5 to the national security bodies), newest first.
    Escalations {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Lists the messages received, oldest first.
    Messages {
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// One JSON object per line (the message's bytes as received under `message`).
        #[arg(long)]
        json: bool,
    },
}

pub fn cli(config: &Config, command: &HubCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let db = runtime.block_on(crate::identity::open_db(config))?;
    match command {
        HubCommand::Register {
            id,
            name,
            certificate,
        } => {
            let cert = Certificate::from_pem_file(certificate)?;
            if cert.not_after < Timestamp::now() {
                bail!(
                    "certificate {}: expired at {}",
                    certificate.display(),
                    cert.not_after
                );
            }
            if cert.key_algorithm.is_none() {
                bail!(
                    "certificate {}: its key is neither Ed25519 nor ECDSA P-256, so it cannot sign messages",
                    certificate.display()
                );
            }
            // Locked first: a registration that could not be sealed in the audit trail is not made.
            let (_lock, store) = crate::serve::open_store_locked(config)?;
            let isoc = runtime.block_on(db.system_hub_register(
                id,
                name,
                &cert.fingerprint,
                &cert.to_pem(),
                Timestamp::now(),
            ))?;
            seal(
                store,
                crate::identity::cli_record(
                    "hub.register",
                    format!("isoc:{}", isoc.id),
                    format!("certificate {} ({})", isoc.fingerprint, cert.subject),
                ),
            )?;
            println!(
                "registered ISOC `{}` ({}) by certificate {}",
                isoc.id, isoc.name, isoc.fingerprint
            );
        }
        HubCommand::Revoke { id } => {
            let (_lock, store) = crate::serve::open_store_locked(config)?;
            runtime.block_on(db.system_hub_revoke(id, Timestamp::now()))?;
            seal(
                store,
                crate::identity::cli_record("hub.revoke", format!("isoc:{id}"), String::new()),
            )?;
            println!("revoked ISOC `{id}`");
        }
        HubCommand::Isocs => {
            for isoc in runtime.block_on(db.system_hub_isocs())? {
                let revoked = isoc
                    .revoked
                    .map(|r| format!(" revoked {r}"))
                    .unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{}{revoked}",
                    isoc.id, isoc.fingerprint, isoc.registered, isoc.name
                );
            }
        }
        HubCommand::Escalations { limit } => {
            for e in runtime.block_on(db.system_hub_escalations(*limit))? {
                let state = match e.delivered {
                    Some(at) => format!("delivered {at}"),
                    None => format!("pending after {} attempt(s)", e.attempts),
                };
                println!(
                    "{}\t{}\tlevel {}\t{}\t{state}\t{}",
                    e.isoc,
                    e.incident,
                    e.level,
                    e.address,
                    e.answer.unwrap_or_default()
                );
            }
        }
        HubCommand::Messages { limit, json } => {
            for m in runtime.block_on(db.system_hub_messages(None, *limit))? {
                if *json {
                    let message = kuzet_exchange::message::as_json(m.body.as_bytes())
                        .unwrap_or(serde_json::Value::Null);
                    println!(
                        "{}",
                        serde_json::json!({
                            "isoc": m.isoc, "id": m.id, "kind": m.kind, "tenant": m.tenant, "level": m.level,
                            "digest": m.digest, "received": m.received.to_string(), "jws": m.jws, "body": m.body, "message": message,
                        })
                    );
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        m.received,
                        m.isoc,
                        m.id,
                        m.kind,
                        m.tenant.unwrap_or_default(),
                        m.level.map(|l| l.to_string()).unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

/// Seals one audit record of a command-line change and closes the store.
fn seal(store: kuzet_store::Store, record: AuditRecord) -> Result<()> {
    let audit = kuzet_api::WalAudit::new(store.wal(), kuzet_ingest::IdGenerator::new()?);
    store
        .wal()
        .append_blocking(vec![audit.raw_event(&record)])?;
    store.shutdown()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EscalateConfig;

    fn section(escalate: Vec<EscalateConfig>) -> HubSection {
        HubSection {
            listen: String::new(),
            party: "nccis".into(),
            certificate: String::new(),
            key: String::new(),
            client_ca: String::new(),
            escalate,
        }
    }

    fn target(address: &str, secret_file: Option<&str>) -> EscalateConfig {
        EscalateConfig {
            address: address.into(),
            secret_file: secret_file.map(str::to_owned),
            language: "ru".into(),
            min_level: 3,
        }
    }

    #[test]
    fn webhooks_need_a_key_and_mail_takes_none() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").unwrap();
        let short = dir.path().join("short");
        std::fs::write(&short, "tiny").unwrap();
        let (key, short) = (key.to_str().unwrap(), short.to_str().unwrap());
        let targets = escalation_targets(&section(vec![
            target("duty@knb.test", None),
            target("https://duty.knb.test/hook", Some(key)),
        ]))
        .unwrap();
        assert_eq!(targets[0].secret, None);
        assert_eq!(
            targets[1].secret.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        for (wrong, says) in [
            (
                target("https://duty.knb.test/hook", None),
                "needs a secret_file",
            ),
            (
                target("https://duty.knb.test/hook", Some(short)),
                "shorter than 32",
            ),
            (target("duty@knb.test", Some(key)), "takes no secret_file"),
            (target("duty.knb.test", None), "neither an e-mail address"),
        ] {
            let error = format!(
                "{:#}",
                escalation_targets(&section(vec![wrong])).unwrap_err()
            );
            assert!(error.contains(says), "{error}");
        }
    }
}
