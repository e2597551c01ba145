//! Mutual TLS between an ISOC and the hub, and the ISOC's client. A message is one `POST /nccis/v1/messages`
//! with the message's bytes as the body: JSON with its detached JWS in the `Kuzet-JWS` header, or XML signed
//! inside ([`crate::form`]); the hub answers `200` with its signed receipt the same way, in the same form. The client trusts only the hub's CA and shows its own certificate.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::ExchangeError;
use crate::form::{self, Form};
use crate::jws::{self, HEADER, Signed};
use crate::message::{Envelope, Kind, Receipt, digest};
use crate::pki::{Certificate, read};

/// The path messages are posted to.
pub const MESSAGES_PATH: &str = "/nccis/v1/messages";

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ExchangeError> {
    let text = read(path)?;
    let certs = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            ExchangeError::pki(
                format!("certificate {}", path.display()),
                format!("PEM: {e}"),
            )
        })?;
    if certs.is_empty() {
        return Err(ExchangeError::pki(
            format!("certificate {}", path.display()),
            "no certificate in the file",
        ));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, ExchangeError> {
    PrivateKeyDer::from_pem_slice(read(path)?.as_bytes())
        .map_err(|e| ExchangeError::pki(format!("key {}", path.display()), format!("PEM: {e}")))
}

pub(crate) fn roots(path: &Path) -> Result<RootCertStore, ExchangeError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path)? {
        roots
            .add(cert)
            .map_err(|e| ExchangeError::pki(format!("CA {}", path.display()), e))?;
    }
    Ok(roots)
}

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The client side: trusts `ca` (the hub's CA) only, and authenticates with `cert` and `key`.
pub fn client_config(
    ca: &Path,
    cert: &Path,
    key_path: &Path,
) -> Result<rustls::ClientConfig, ExchangeError> {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ExchangeError::pki("tls client", e))?
        .with_root_certificates(roots(ca)?)
        .with_client_auth_cert(certificates(cert)?, key(key_path)?)
        .map_err(|e| ExchangeError::pki(format!("certificate {}", cert.display()), e))
}

/// The hub side: its certificate and key, and only clients with a certificate from `client_ca`.
pub fn server_config(
    cert: &Path,
    key_path: &Path,
    client_ca: &Path,
) -> Result<rustls::ServerConfig, ExchangeError> {
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(client_ca)?), provider())
            .build()
            .map_err(|e| ExchangeError::pki(format!("client CA {}", client_ca.display()), e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ExchangeError::pki("tls server", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certificates(cert)?, key(key_path)?)
        .map_err(|e| ExchangeError::pki(format!("certificate {}", cert.display()), e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A receipt as received: its bytes and signature (kept as evidence), and what it says.
#[derive(Debug, Clone)]
pub struct ReceivedReceipt {
    pub signed: Signed,
    pub envelope: Envelope,
    pub receipt: Receipt,
}

/// Checks that `signed` is the hub's receipt of `message` (sent as `sent`): signed by `hub`, a receipt, in reply
/// to the message, naming the digest of exactly the bytes sent.
pub fn check_receipt(
    signed: Signed,
    hub: &Certificate,
    message: &Envelope,
    sent: &[u8],
) -> Result<ReceivedReceipt, ExchangeError> {
    form::verify(&signed.body, &signed.jws, hub)
        .map_err(|e| ExchangeError::signature(format!("receipt of `{}`", message.id), e))?;
    let envelope = Envelope::from_bytes(&signed.body)?;
    let what = format!("receipt of `{}`", message.id);
    if envelope.kind != Kind::Receipt || envelope.in_reply_to.as_ref() != Some(&message.id) {
        return Err(ExchangeError::invalid(
            what,
            "it is not a receipt of this message",
        ));
    }
    if envelope.recipient != message.sender {
        return Err(ExchangeError::invalid(
            what,
            format!("addressed to `{}`", envelope.recipient),
        ));
    }
    let receipt: Receipt = serde_json::from_value(envelope.payload.clone())
        .map_err(|e| ExchangeError::invalid(what.clone(), e))?;
    if receipt.digest != digest(sent) {
        return Err(ExchangeError::invalid(
            what,
            "its digest is not that of the bytes sent: the hub received something else",
        ));
    }
    Ok(ReceivedReceipt {
        signed,
        envelope,
        receipt,
    })
}

/// The ISOC's client towards one hub.
#[derive(Clone)]
pub struct HubClient {
    http: reqwest::Client,
    /// The hub's base URL, without a trailing slash.
    base: String,
    url: String,
    hub: Arc<Certificate>,
    /// The form of the hub's messages to this ISOC (asked for when they are fetched).
    form: Form,
}

impl HubClient {
    /// `url` is the hub's base (`https://hub.example:8443`); `hub` the certificate its receipts are signed with.
    pub fn new(
        url: &str,
        tls: rustls::ClientConfig,
        hub: Certificate,
        timeout: Duration,
    ) -> Result<Self, ExchangeError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kuzet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ExchangeError::Delivery {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        let base = url.trim_end_matches('/').to_owned();
        Ok(Self {
            http,
            url: format!("{base}{MESSAGES_PATH}"),
            base,
            hub: Arc::new(hub),
            form: Form::Json,
        })
    }

    /// Asks the hub for its messages to this ISOC in `form` (the ISOC's own messages carry their form).
    pub fn with_form(mut self, form: Form) -> Self {
        self.form = form;
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Fetches the hub's messages to this ISOC numbered above `after` (acknowledging those up to it). Each is
    /// still to be checked with [`open_from_hub`].
    pub async fn fetch(&self, after: i64) -> Result<Vec<Fetched>, ExchangeError> {
        let form = match self.form {
            Form::Json => "",
            Form::Xml => "&form=xml",
        };
        let url = format!("{}{INBOX_PATH}?after={after}{form}", self.base);
        let fail = |reason: String| ExchangeError::Delivery {
            url: url.clone(),
            reason,
        };
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| fail(error_chain(&e)))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(fail(format!(
                "HTTP {status}: {}",
                text.chars().take(500).collect::<String>()
            )));
        }
        let inbox: Inbox =
            serde_json::from_slice(&body).map_err(|e| fail(format!("not an inbox answer: {e}")))?;
        Ok(inbox.messages)
    }

    /// The certificate the hub signs with.
    pub fn hub_certificate(&self) -> &Certificate {
        &self.hub
    }

    /// Posts one signed message and returns the hub's checked receipt.
    pub async fn deliver(
        &self,
        message: &Envelope,
        signed: &Signed,
    ) -> Result<ReceivedReceipt, ExchangeError> {
        let fail = |reason: String| ExchangeError::Delivery {
            url: self.url.clone(),
            reason,
        };
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", Form::of(&signed.body).media_type());
        if !signed.jws.is_empty() {
            request = request.header(HEADER, &signed.jws);
        }
        let response = request
            .body(signed.body.clone())
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let status = response.status();
        let jws = response
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(|e| fail(error_chain(&e)))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(fail(format!(
                "HTTP {status}: {}",
                text.chars().take(500).collect::<String>()
            )));
        }
        let jws = match jws {
            Some(jws) => jws,
            // an XML receipt is signed inside
            None if Form::of(&body) == Form::Xml => String::new(),
            None => return Err(fail(format!("HTTP {status} without a signed receipt"))),
        };
        check_receipt(
            Signed {
                body: body.to_vec(),
                jws,
            },
            &self.hub,
            message,
            &signed.body,
        )
    }
}

/// An error with its causes, which reqwest keeps apart ("error sending request" alone names nothing).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The path an ISOC fetches the hub's messages to it from: `GET /nccis/v1/inbox?after=N` answers the messages
/// numbered above `N` (at most 100) and acknowledges everything up to `N`; `&form=xml` asks for messages not
/// yet sent in the XML form.
pub const INBOX_PATH: &str = "/nccis/v1/inbox";

/// The hub's answer to a fetch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inbox {
    pub messages: Vec<Fetched>,
}

/// One message the hub sent an ISOC: its number in that ISOC's sequence, its exact bytes (a JSON or XML text)
/// and detached JWS (empty for XML).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fetched {
    pub seq: i64,
    pub body: String,
    pub jws: String,
}

/// The ISOC's side of one fetched message: signed by `hub` (the configured certificate), from `hub_party` to
/// `isoc`. Returns the message.
pub fn open_from_hub(
    fetched: &Fetched,
    hub: &Certificate,
    hub_party: &str,
    isoc: &str,
) -> Result<Envelope, ExchangeError> {
    let what = format!("message {} from the hub", fetched.seq);
    form::verify(fetched.body.as_bytes(), &fetched.jws, hub)
        .map_err(|e| ExchangeError::signature(what.clone(), e))?;
    let envelope = Envelope::from_bytes(fetched.body.as_bytes())?;
    if envelope.sender != hub_party || envelope.recipient != isoc {
        return Err(ExchangeError::invalid(
            what,
            format!(
                "from `{}` to `{}`, expected from `{hub_party}` to `{isoc}`",
                envelope.sender, envelope.recipient
            ),
        ));
    }
    Ok(envelope)
}

/// The hub's side of one message: `body` and `jws` as received from the ISOC `isoc`, whose registered
/// certificate is `registered`, addressed to the hub `hub`. Returns the message once its signature, schema,
/// sender and recipient are right.
pub fn open_incoming(
    body: &[u8],
    jws: &str,
    registered: &Certificate,
    isoc: &str,
    hub: &str,
) -> Result<Envelope, ExchangeError> {
    form::verify(body, jws, registered)?;
    let envelope = Envelope::from_bytes(body)?;
    let what = format!("`{}`", envelope.id);
    if envelope.sender != isoc {
        return Err(ExchangeError::invalid(
            what,
            format!(
                "sender `{}` is not the connected ISOC `{isoc}`",
                envelope.sender
            ),
        ));
    }
    if envelope.recipient != hub {
        return Err(ExchangeError::invalid(
            what,
            format!("recipient `{}` is not this hub `{hub}`", envelope.recipient),
        ));
    }
    if envelope.kind == Kind::Receipt {
        return Err(ExchangeError::invalid(
            what,
            "a receipt is not sent on its own",
        ));
    }
    Ok(envelope)
}

/// The hub's signed receipt of `message`, saying `receipt` (see [`Receipt::of`]), in `form` (the message's).
pub fn make_receipt(
    id: crate::MessageId,
    hub: &str,
    signer: &dyn jws::MessageSigner,
    message: &Envelope,
    receipt: &Receipt,
    now: jiff::Timestamp,
    form: Form,
) -> Result<Signed, ExchangeError> {
    let envelope = Envelope {
        version: crate::PROTOCOL_VERSION,
        id,
        kind: Kind::Receipt,
        sender: hub.to_owned(),
        recipient: message.sender.clone(),
        tenant: message.tenant.clone(),
        facilities: Vec::new(),
        created: now,
        in_reply_to: Some(message.id.clone()),
        payload: serde_json::to_value(receipt).map_err(|e| ExchangeError::invalid("receipt", e))?,
    };
    form::sign(&envelope, signer, form)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::CertificateKey;
    use crate::pki::{KeyAlgorithm, Usage, issue, new_ca};
    use crate::{MessageId, ReceiptStatus};

    fn key(name: &str) -> CertificateKey {
        let ca = new_ca("CA", KeyAlgorithm::Ed25519, 10).unwrap();
        let issued = issue(&ca, name, &Usage::Client, KeyAlgorithm::Ed25519, 10).unwrap();
        CertificateKey::from_pem(&issued.certificate_pem, &issued.key_pem, name).unwrap()
    }

    #[test]
    fn a_message_is_opened_and_its_receipt_checked() {
        let (isoc, hub) = (key("isoc"), key("hub"));
        let message = crate::message::tests::incident_message();
        for form in [Form::Json, Form::Xml] {
            let signed = form::sign(&message, &isoc, form).unwrap();
            let opened = open_incoming(
                &signed.body,
                &signed.jws,
                isoc.certificate(),
                "isoc-alatau",
                "nccis",
            )
            .unwrap();
            assert_eq!(opened, message);
            let now: jiff::Timestamp = "2026-12-07T03:00:01Z".parse().unwrap();
            let receipt = make_receipt(
                MessageId::from_random([1; 16]),
                "nccis",
                &hub,
                &opened,
                &Receipt::of(&signed.body, ReceiptStatus::Accepted, now),
                now,
                form,
            )
            .unwrap();
            let checked =
                check_receipt(receipt.clone(), hub.certificate(), &message, &signed.body).unwrap();
            assert_eq!(checked.receipt.status, ReceiptStatus::Accepted);
            // A receipt of other bytes, or signed by someone else, is not a receipt of this message.
            let error =
                check_receipt(receipt.clone(), hub.certificate(), &message, b"other").unwrap_err();
            assert!(error.to_string().contains("digest"), "{error}");
            let error =
                check_receipt(receipt, isoc.certificate(), &message, &signed.body).unwrap_err();
            assert!(
                error.to_string().starts_with("signature of receipt"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_fetched_message_opens_only_from_the_hub_to_this_isoc() {
        let (hub, other) = (key("hub"), key("other"));
        let mut advisory = crate::message::tests::incident_message();
        advisory.kind = crate::Kind::Advisory;
        advisory.sender = "nccis".into();
        advisory.recipient = "isoc-alatau".into();
        advisory.tenant = None;
        advisory.facilities = Vec::new();
        advisory.payload = serde_json::json!({"type": "threat", "title": "t", "severity": "high", "description": "d"});
        let signed = jws::sign(&advisory, &hub).unwrap();
        let fetched = Fetched {
            seq: 1,
            body: String::from_utf8(signed.body).unwrap(),
            jws: signed.jws,
        };
        assert_eq!(
            open_from_hub(&fetched, hub.certificate(), "nccis", "isoc-alatau").unwrap(),
            advisory
        );
        let error = open_from_hub(&fetched, hub.certificate(), "nccis", "isoc-other").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expected from `nccis` to `isoc-other`"),
            "{error}"
        );
        let error =
            open_from_hub(&fetched, other.certificate(), "nccis", "isoc-alatau").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("signature of message 1 from the hub"),
            "{error}"
        );
    }

    #[test]
    fn a_message_in_another_name_is_refused() {
        let isoc = key("isoc");
        let message = crate::message::tests::incident_message();
        let signed = jws::sign(&message, &isoc).unwrap();
        let error = open_incoming(
            &signed.body,
            &signed.jws,
            isoc.certificate(),
            "isoc-other",
            "nccis",
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is not the connected ISOC `isoc-other`"),
            "{error}"
        );
        let error = open_incoming(
            &signed.body,
            &signed.jws,
            isoc.certificate(),
            "isoc-alatau",
            "hub-2",
        )
        .unwrap_err();
        assert!(error.to_string().contains("recipient"), "{error}");
    }
}
