//! The message envelope, version 1. The bytes of a message are its JSON serialization, made once and kept: the
//! signature covers those exact bytes, a retry sends them again, and the receiver keeps them as received.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ExchangeError;

/// The envelope's `version`.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// A message id: 32 lowercase hex digits, unique per sender; the receiver keeps one message per (sender, id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageId(String);

impl MessageId {
    pub fn new(id: impl Into<String>) -> Result<Self, ExchangeError> {
        let id = id.into();
        if id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(id))
        } else {
            Err(ExchangeError::invalid(
                format!("id `{}`", id.chars().take(40).collect::<String>()),
                "expected 32 lowercase hex digits",
            ))
        }
    }

    /// An id from 16 random bytes (the caller supplies them).
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MessageId {
    type Error = ExchangeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<MessageId> for String {
    fn from(id: MessageId) -> Self {
        id.0
    }
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// An incident confirmed at an ISOC (R16: within 15 minutes of confirmation).
    #[serde(rename = "incident.initial")]
    IncidentInitial,
    /// A later step of a reported incident (contained, eradicated, recovered).
    #[serde(rename = "incident.update")]
    IncidentUpdate,
    /// A reported incident closed.
    #[serde(rename = "incident.closure")]
    IncidentClosure,
    #[serde(rename = "report.quarterly")]
    QuarterlyReport,
    #[serde(rename = "contacts.confirmation")]
    ContactConfirmation,
    #[serde(rename = "contacts.change")]
    ContactChange,
    /// A copy of a personal-data breach notice sent to the authority.
    #[serde(rename = "personal_data.notice")]
    BreachNotice,
    /// A threat or vulnerability advisory from NCCIS.
    #[serde(rename = "advisory")]
    Advisory,
    /// NCCIS asks for read access to a tenant's logs (R19).
    #[serde(rename = "access.request")]
    AccessRequest,
    #[serde(rename = "access.grant")]
    AccessGrant,
    /// Indicators an ISOC saw in its organizations' events: a STIX 2.1 bundle of sightings.
    #[serde(rename = "sighting")]
    Sighting,
    /// The receiver's signed acknowledgement of one message.
    #[serde(rename = "receipt")]
    Receipt,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::IncidentInitial,
        Kind::IncidentUpdate,
        Kind::IncidentClosure,
        Kind::QuarterlyReport,
        Kind::ContactConfirmation,
        Kind::ContactChange,
        Kind::BreachNotice,
        Kind::Advisory,
        Kind::AccessRequest,
        Kind::AccessGrant,
        Kind::Sighting,
        Kind::Receipt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::IncidentInitial => "incident.initial",
            Kind::IncidentUpdate => "incident.update",
            Kind::IncidentClosure => "incident.closure",
            Kind::QuarterlyReport => "report.quarterly",
            Kind::ContactConfirmation => "contacts.confirmation",
            Kind::ContactChange => "contacts.change",
            Kind::BreachNotice => "personal_data.notice",
            Kind::Advisory => "advisory",
            Kind::AccessRequest => "access.request",
            Kind::AccessGrant => "access.grant",
            Kind::Sighting => "sighting",
            Kind::Receipt => "receipt",
        }
    }

    pub fn parse(name: &str) -> Result<Self, ExchangeError> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| ExchangeError::invalid(format!("kind `{name}`"), "not a message kind"))
    }
}

/// One message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub version: u32,
    pub id: MessageId,
    pub kind: Kind,
    /// The sending party: an ISOC's registered id, or the hub's.
    pub sender: String,
    pub recipient: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facilities: Vec<String>,
    pub created: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<MessageId>,
    pub payload: serde_json::Value,
}

impl Envelope {
    /// The message as a JSON value, checked against the schema so that nothing invalid is ever signed.
    pub fn to_checked_value(&self) -> Result<serde_json::Value, ExchangeError> {
        let value = serde_json::to_value(self)
            .map_err(|e| ExchangeError::invalid(format!("`{}`", self.id), e))?;
        crate::schema::check(&value, &format!("`{}`", self.id))?;
        Ok(value)
    }

    /// The message's bytes in the JSON form (the XML form: [`crate::form::sign`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ExchangeError> {
        serde_json::to_vec(&self.to_checked_value()?)
            .map_err(|e| ExchangeError::invalid(format!("`{}`", self.id), e))
    }

    /// Reads a message this party checked with [`Envelope::from_bytes`] when it arrived and then stored, for views
    /// over many stored messages: the schema is not checked again (a third of the cost for JSON; `cargo bench -p
    /// kuzet-exchange`). `None` when the bytes are not a message.
    pub fn from_stored(bytes: &[u8]) -> Option<Self> {
        as_json(bytes).and_then(|value| serde_json::from_value(value).ok())
    }

    /// Reads a message from its bytes, in either form ([`crate::form::Form::of`]): valid against the schema,
    /// this version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ExchangeError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(ExchangeError::invalid(
                "body",
                format!("{} bytes, more than {MAX_MESSAGE_BYTES}", bytes.len()),
            ));
        }
        let value: serde_json::Value = match crate::form::Form::of(bytes) {
            crate::form::Form::Json => {
                serde_json::from_slice(bytes).map_err(|e| ExchangeError::invalid("body", e))?
            }
            crate::form::Form::Xml => crate::xml::read(bytes)?,
        };
        let what = match value.get("id").and_then(serde_json::Value::as_str) {
            Some(id) => format!("`{}`", id.chars().take(40).collect::<String>()),
            None => "body".to_owned(),
        };
        crate::schema::check(&value, &what)?;
        serde_json::from_value(value).map_err(|e| ExchangeError::invalid(what, e))
    }
}

/// A stored message's bytes, in either form, as a JSON value to show (not checked against the schema: for
/// reading what was kept, not for accepting it); `None` when they are neither JSON nor Kuzet's XML.
pub fn as_json(bytes: &[u8]) -> Option<serde_json::Value> {
    match crate::form::Form::of(bytes) {
        crate::form::Form::Json => serde_json::from_slice(bytes).ok(),
        crate::form::Form::Xml => crate::xml::read_kept(bytes).ok(),
    }
}

/// What a receipt says of the message it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// Received now, for the first time.
    Accepted,
    /// The same message (same sender, id and bytes) was received before: nothing is stored twice.
    Duplicate,
}

/// A receipt's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub status: ReceiptStatus,
    /// `sha256:` and the hex digest of the message's exact bytes as received.
    pub digest: String,
    pub received: Timestamp,
}

impl Receipt {
    /// What the receiver says of the message it received as `body` at `received`.
    pub fn of(body: &[u8], status: ReceiptStatus, received: Timestamp) -> Self {
        Self {
            status,
            digest: digest(body),
            received,
        }
    }
}

/// The digest a receipt names: `sha256:` and 64 hex digits of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn incident_message() -> Envelope {
        Envelope {
            version: PROTOCOL_VERSION,
            id: MessageId::from_random([7; 16]),
            kind: Kind::IncidentInitial,
            sender: "isoc-alatau".into(),
            recipient: "nccis".into(),
            tenant: Some("kaztransit".into()),
            facilities: vec!["scada-1".into()],
            created: "2026-12-07T03:00:00Z".parse().unwrap(),
            in_reply_to: None,
            payload: serde_json::json!({
                "incident": "0123456789abcdef0123456789abcdef",
                "organization": "KazTransit",
                "title": "Brute force against the SCADA gateway",
                "category": "intrusion.unauthorized-access",
                "level": 3,
                "status": "confirmed",
                "detected": "2026-12-07T02:50:00Z",
                "confirmed": "2026-12-07T02:59:00Z",
                "facility_names": ["SCADA gateway"],
                "personal_data": false,
                "changed": "2026-12-07T02:59:00Z"
            }),
        }
    }

    #[test]
    fn a_message_round_trips_through_its_bytes() {
        let message = incident_message();
        let bytes = message.to_bytes().unwrap();
        assert_eq!(Envelope::from_bytes(&bytes).unwrap(), message);
        assert_eq!(digest(&bytes).len(), 7 + 64);
    }

    #[test]
    fn an_invalid_message_is_refused_naming_the_field() {
        let mut message = incident_message();
        message.payload["level"] = serde_json::json!(9);
        let error = message.to_bytes().unwrap_err().to_string();
        assert!(error.contains("/payload/level"), "{error}");
        let mut message = incident_message();
        message.tenant = None;
        let error = message.to_bytes().unwrap_err().to_string();
        assert!(error.contains("tenant"), "{error}");
        let error = Envelope::from_bytes(b"{\"version\": 2}")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("message body:"), "{error}");
        assert!(Envelope::from_bytes(b"not json").is_err());
    }

    #[test]
    fn every_kind_has_one_name() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()).unwrap(), *kind);
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert!(Kind::parse("incident").is_err());
    }
}
