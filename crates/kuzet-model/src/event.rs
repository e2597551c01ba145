//! The normalized event.

use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{EventId, Fields, SourceId, TenantId, Value, fields};

/// A normalized event: the hot fields typed, everything else in an open map keyed by ECS names.
///
/// `original` always holds the exact bytes the sender sent for this event (after framing), whatever the parser made
/// of them: parsing never fails, it only attaches [`ParseIssue`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    /// `organization.id`: the tenant, derived from the source, never from the event's content.
    pub tenant: TenantId,
    pub source: SourceId,
    /// `@timestamp`: when the event happened according to the sender; the receive time when it said nothing.
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// `event.ingested`: when Kuzet received it.
    pub ingested: Timestamp,
    /// `event.original`, byte for byte.
    #[serde(with = "bytes_as_text")]
    pub original: Vec<u8>,
    pub fields: Fields,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<ParseIssue>,
}

impl Event {
    /// A bare event whose only content is its original bytes; parsers fill in the rest.
    pub fn new(
        id: EventId,
        tenant: TenantId,
        source: SourceId,
        received: Timestamp,
        original: Vec<u8>,
    ) -> Self {
        Self {
            id,
            tenant,
            source,
            timestamp: received,
            ingested: received,
            original,
            fields: Fields::new(),
            issues: Vec::new(),
        }
    }

    pub fn issue(&mut self, code: IssueCode, message: impl Into<String>) {
        self.issues.push(ParseIssue {
            code,
            message: message.into(),
        });
    }

    pub fn has_issue(&self, code: IssueCode) -> bool {
        self.issues.iter().any(|i| i.code == code)
    }

    /// The original bytes as text, invalid UTF-8 replaced.
    pub fn original_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.original)
    }

    pub fn message(&self) -> Option<&str> {
        self.fields.get_str(fields::MESSAGE)
    }
    pub fn host_name(&self) -> Option<&str> {
        self.fields.get_str(fields::HOST_NAME)
    }
    pub fn user_name(&self) -> Option<&str> {
        self.fields.get_str(fields::USER_NAME)
    }
    pub fn process_name(&self) -> Option<&str> {
        self.fields.get_str(fields::PROCESS_NAME)
    }
    pub fn event_action(&self) -> Option<&str> {
        self.fields.get_str(fields::EVENT_ACTION)
    }
    pub fn event_outcome(&self) -> Option<&str> {
        self.fields.get_str(fields::EVENT_OUTCOME)
    }
    pub fn source_ip(&self) -> Option<IpAddr> {
        self.ip(fields::SOURCE_IP)
    }
    pub fn destination_ip(&self) -> Option<IpAddr> {
        self.ip(fields::DESTINATION_IP)
    }
    pub fn winlog_event_id(&self) -> Option<i64> {
        self.fields
            .get(fields::WINLOG_EVENT_ID)
            .and_then(Value::as_i64)
    }

    fn ip(&self, name: &str) -> Option<IpAddr> {
        self.fields.get_str(name).and_then(|s| s.parse().ok())
    }

    /// The event as an ECS document: nested objects, `@timestamp`, `event.ingested`, `event.original`,
    /// `organization.id`, `event.id`, and the parse issues under `kuzet.issues`.
    pub fn to_ecs_json(&self) -> serde_json::Value {
        let mut doc = self.fields.to_nested_json();
        doc.insert(
            fields::TIMESTAMP.to_owned(),
            serde_json::Value::String(self.timestamp.to_string()),
        );
        let event = doc
            .entry("event")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let serde_json::Value::Object(event) = event {
            event.insert("id".into(), self.id.to_string().into());
            event.insert("ingested".into(), self.ingested.to_string().into());
            event.insert("original".into(), self.original_lossy().into_owned().into());
        }
        let organization = doc
            .entry("organization")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let serde_json::Value::Object(organization) = organization {
            organization.insert("id".into(), self.tenant.as_str().into());
        }
        let mut kuzet = serde_json::json!({
            "source": self.source.as_str(),
            "issues": self.issues,
        });
        // `event.original` is text in ECS; bytes that are not UTF-8 are also given exactly, so that an export
        // loses nothing.
        if std::str::from_utf8(&self.original).is_err() {
            use base64::Engine as _;
            kuzet["original_base64"] = base64::engine::general_purpose::STANDARD
                .encode(&self.original)
                .into();
        }
        doc.insert("kuzet".into(), kuzet);
        serde_json::Value::Object(doc)
    }
}

/// Something a parser could not understand or had to guess. The event is kept either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseIssue {
    pub code: IssueCode,
    pub message: String,
}

/// Stable codes of parse issues (they are counted in telemetry and searchable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IssueCode {
    /// The bytes were not valid UTF-8; text fields hold a lossy conversion.
    InvalidUtf8,
    /// No parser recognized the format; only `message` and `event.original` are set.
    UnknownFormat,
    /// The message had a timestamp that could not be read.
    BadTimestamp,
    /// The message carried no timestamp; `@timestamp` is the receive time.
    NoTimestamp,
    /// The timestamp was guessed (RFC 3164 has no year and no zone).
    InferredTimestamp,
    /// The event time is further from the receive time than the configured skew.
    ClockSkew,
    /// The syslog header was malformed.
    BadSyslog,
    /// RFC 5424 structured data was malformed.
    BadStructuredData,
    /// JSON that could not be decoded.
    BadJson,
    /// A CEF header or extension that could not be decoded.
    BadCef,
    /// A LEEF header or attribute list that could not be decoded.
    BadLeef,
    /// A Windows event record that could not be decoded.
    BadEvtx,
    /// A key=value payload with unbalanced quotes or similar.
    BadKeyValue,
    /// The message was longer than the configured limit and was cut.
    Truncated,
}

impl IssueCode {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::InvalidUtf8 => "invalid_utf8",
            IssueCode::UnknownFormat => "unknown_format",
            IssueCode::BadTimestamp => "bad_timestamp",
            IssueCode::NoTimestamp => "no_timestamp",
            IssueCode::InferredTimestamp => "inferred_timestamp",
            IssueCode::ClockSkew => "clock_skew",
            IssueCode::BadSyslog => "bad_syslog",
            IssueCode::BadStructuredData => "bad_structured_data",
            IssueCode::BadJson => "bad_json",
            IssueCode::BadCef => "bad_cef",
            IssueCode::BadLeef => "bad_leef",
            IssueCode::BadEvtx => "bad_evtx",
            IssueCode::BadKeyValue => "bad_key_value",
            IssueCode::Truncated => "truncated",
        }
    }
}

/// `event.original` is stored as text when it is valid UTF-8 and as `{"base64": "…"}` otherwise, so that the
/// exact bytes survive a JSON round trip.
mod bytes_as_text {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Binary { base64: String },
    }

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Repr::Text(text.to_owned()).serialize(serializer),
            Err(_) => Repr::Binary {
                base64: STANDARD.encode(bytes),
            }
            .serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        match Repr::deserialize(deserializer)? {
            Repr::Text(text) => Ok(text.into_bytes()),
            Repr::Binary { base64 } => STANDARD
                .decode(base64.as_bytes())
                .map_err(|e| serde::de::Error::custom(format!("event.original: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(original: Vec<u8>) -> Event {
        Event::new(
            EventId::from_parts(1, 2),
            TenantId::new("t1").unwrap(),
            SourceId::new("s1").unwrap(),
            "2026-01-01T00:00:00Z".parse().unwrap(),
            original,
        )
    }

    proptest! {
        #[test]
        fn serde_round_trip_keeps_exact_original_bytes(original: Vec<u8>) {
            let e = event(original);
            let json = serde_json::to_string(&e).unwrap();
            let back: Event = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, e);
        }
    }

    #[test]
    fn ecs_document_has_the_envelope_fields() {
        let mut e = event(b"hello".to_vec());
        e.fields.insert(fields::HOST_NAME, "h1");
        e.issue(IssueCode::NoTimestamp, "no timestamp in message");
        let doc = e.to_ecs_json();
        assert_eq!(doc["host"]["name"], "h1");
        assert_eq!(doc["organization"]["id"], "t1");
        assert_eq!(doc["event"]["original"], "hello");
        assert_eq!(doc["kuzet"]["issues"][0]["code"], "no_timestamp");
        assert_eq!(doc["@timestamp"], "2026-01-01T00:00:00Z");
    }
}
