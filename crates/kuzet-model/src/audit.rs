//! The audit record: one action (or refused attempt) by one actor. Records are sealed in the archive of the reserved
//! tenant [`crate::TenantId::AUDIT_TRAIL`] with the same blocks, Merkle trees and signed checkpoints as events; the
//! record's JSON is the sealed event's `event.original`, byte for byte. Format: `docs/formats/audit.md`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{TenantId, UserId};

/// The version of the audit record format written now.
pub const AUDIT_FORMAT_VERSION: u32 = 1;

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done.
    Success,
    /// Attempted and failed (a wrong password, an invalid input).
    Failure,
    /// Refused by access control or by a legal guarantee.
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Refused => "refused",
        }
    }
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user, when known (a failed login names the account that was tried).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user: Option<UserId>,
    /// `session:<id>`, `token:<id>`, `cli` or `anonymous`.
    pub via: String,
    /// The peer address of the request, when there was one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub address: Option<String>,
}

/// The longest each text field of an audit record may be, in bytes (see [`AuditRecord::bounded`]).
pub struct AuditLimits {
    pub action: usize,
    pub via: usize,
    pub address: usize,
    pub object: usize,
    pub detail: usize,
}

pub const AUDIT_LIMITS: AuditLimits = AuditLimits {
    action: 64,
    via: 128,
    address: 64,
    object: 256,
    detail: 1024,
};

/// Cuts `text` to at most `max` bytes on a character boundary, saying how much was cut.
fn cap(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let cut = text.len();
    // Room for the suffix: "…[+" (5 bytes), up to 20 digits, " bytes]" (7 bytes).
    let mut end = max.saturating_sub(32);
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!("…[+{} bytes]", cut - end));
}

/// One audit record (format version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Always [`AUDIT_FORMAT_VERSION`] when written by this version.
    pub version: u32,
    pub at: Timestamp,
    pub actor: Actor,
    /// A dotted verb: `auth.login`, `user.create`, `events.export`, …
    pub action: String,
    pub outcome: Outcome,
    /// The tenant the action concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tenant: Option<TenantId>,
    /// What was acted on: `user:aigerim`, `event:0190…`, `route:GET /api/v1/tenants`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub object: Option<String>,
    /// Why it was refused or failed, or what was changed (in words, no secrets).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

impl AuditRecord {
    pub fn new(at: Timestamp, actor: Actor, action: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            version: AUDIT_FORMAT_VERSION,
            at,
            actor,
            action: action.into(),
            outcome,
            tenant: None,
            object: None,
            detail: None,
        }
    }

    pub fn tenant(mut self, tenant: Option<TenantId>) -> Self {
        self.tenant = tenant;
        self
    }

    pub fn object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The record's sealed bytes.
    /// The record with every text field within its limit (`AUDIT_LIMITS`): what anyone can put into a request
    /// (a user name typed into a login form, a path, a reason) reaches the three-year audit trail at a bounded
    /// size. A cut field ends with `…[+N bytes]`.
    pub fn bounded(mut self) -> Self {
        cap(&mut self.action, AUDIT_LIMITS.action);
        cap(&mut self.actor.via, AUDIT_LIMITS.via);
        if let Some(address) = &mut self.actor.address {
            cap(address, AUDIT_LIMITS.address);
        }
        if let Some(object) = &mut self.object {
            cap(object, AUDIT_LIMITS.object);
        }
        if let Some(detail) = &mut self.detail {
            cap(detail, AUDIT_LIMITS.detail);
        }
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain strings, numbers and a timestamp cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a sealed record; names what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let record: AuditRecord =
            serde_json::from_slice(bytes).map_err(|e| format!("not an audit record: {e}"))?;
        if record.version != AUDIT_FORMAT_VERSION {
            return Err(format!(
                "audit record format version {} is not supported (this build reads {AUDIT_FORMAT_VERSION})",
                record.version
            ));
        }
        Ok(record)
    }
}

/// A filter over audit records (who, what, when, tenant). Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub user: Option<UserId>,
    /// An action, or a prefix ending in `.` (`auth.` matches every authentication record).
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    pub tenant: Option<TenantId>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl AuditFilter {
    pub fn matches(&self, record: &AuditRecord) -> bool {
        self.user
            .as_ref()
            .is_none_or(|u| record.actor.user.as_ref() == Some(u))
            && self.action.as_ref().is_none_or(|a| {
                if a.ends_with('.') {
                    record.action.starts_with(a.as_str())
                } else {
                    &record.action == a
                }
            })
            && self.outcome.is_none_or(|o| record.outcome == o)
            && self
                .tenant
                .as_ref()
                .is_none_or(|t| record.tenant.as_ref() == Some(t))
            && self.since.is_none_or(|s| record.at >= s)
            && self.until.is_none_or(|u| record.at < u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            Just(Outcome::Success),
            Just(Outcome::Failure),
            Just(Outcome::Refused)
        ]
    }

    proptest! {
        #[test]
        fn bounded_records_keep_every_field_within_its_limit(
            object in ".{0,3000}", detail in prop_oneof![".{0,3000}", Just("d".repeat(2_000_000))], via in ".{0,300}", action in ".{0,200}",
        ) {
            let actor = Actor { user: None, via: via.clone(), address: Some("x".repeat(500)) };
            let record = AuditRecord::new(Timestamp::UNIX_EPOCH, actor, action.clone(), Outcome::Failure)
                .object(object.clone())
                .detail(detail.clone())
                .bounded();
            prop_assert!(record.object.as_ref().unwrap().len() <= AUDIT_LIMITS.object);
            prop_assert!(record.detail.as_ref().unwrap().len() <= AUDIT_LIMITS.detail);
            prop_assert!(record.actor.via.len() <= AUDIT_LIMITS.via);
            prop_assert!(record.action.len() <= AUDIT_LIMITS.action);
            prop_assert!(record.actor.address.as_ref().unwrap().len() <= AUDIT_LIMITS.address);
            if object.len() <= AUDIT_LIMITS.object {
                prop_assert_eq!(record.object.as_deref(), Some(object.as_str()), "short fields are kept whole");
            } else {
                prop_assert!(record.object.as_ref().unwrap().ends_with(" bytes]"));
            }
            prop_assert_eq!(AuditRecord::from_bytes(&record.to_bytes()).unwrap(), record);
        }

        #[test]
        fn any_record_round_trips(
            seconds in 0i64..4_000_000_000,
            user in proptest::option::of("[a-z][a-z0-9.@_-]{0,20}"),
            via in ".{0,40}",
            action in "[a-z.]{1,30}",
            outcome in outcome(),
            tenant in proptest::option::of("[a-z0-9][a-z0-9_-]{0,20}"),
            object in proptest::option::of(".{0,60}"),
            detail in proptest::option::of(".{0,200}"),
        ) {
            let record = AuditRecord {
                version: AUDIT_FORMAT_VERSION,
                at: Timestamp::from_second(seconds).unwrap(),
                actor: Actor { user: user.map(|u| UserId::new(u).unwrap()), via, address: None },
                action,
                outcome,
                tenant: tenant.map(|t| TenantId::new(t).unwrap()),
                object,
                detail,
            };
            prop_assert_eq!(AuditRecord::from_bytes(&record.to_bytes()).unwrap(), record);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = AuditRecord::from_bytes(&bytes);
        }
    }

    #[test]
    fn round_trip_and_filter() {
        let record = AuditRecord::new(
            "2026-12-04T05:00:00Z".parse().unwrap(),
            Actor {
                user: Some(UserId::new("aigerim.s").unwrap()),
                via: "session:ab".into(),
                address: Some("127.0.0.1".into()),
            },
            "auth.login",
            Outcome::Failure,
        )
        .detail("wrong password");
        let back = AuditRecord::from_bytes(&record.to_bytes()).unwrap();
        assert_eq!(back, record);
        let mut filter = AuditFilter {
            action: Some("auth.".into()),
            ..Default::default()
        };
        assert!(filter.matches(&record));
        filter.outcome = Some(Outcome::Success);
        assert!(!filter.matches(&record));
        let err = AuditRecord::from_bytes(br#"{"version":9}"#).unwrap_err();
        assert!(
            err.contains("not an audit record") || err.contains("version"),
            "{err}"
        );
    }
}
