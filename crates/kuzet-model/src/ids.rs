//! Newtype identifiers. Tenants, facilities and sources carry short slugs chosen by the operator (they appear in
//! paths, configuration and URLs); events carry a time-ordered 128-bit id in the UUIDv7 layout.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ModelError;

/// Longest slug accepted for a tenant, facility or source id.
pub const MAX_SLUG_LEN: usize = 63;

fn check_slug(kind: &'static str, value: &str, extra: &[u8]) -> Result<(), ModelError> {
    let invalid = |reason| ModelError::InvalidId {
        kind,
        value: value.to_owned(),
        reason,
    };
    if value.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if value.len() > MAX_SLUG_LEN {
        return Err(invalid("longer than 63 characters"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
    {
        return Err(invalid(if extra.contains(&b'@') {
            "only lowercase latin letters, digits, `-`, `_`, `.` and `@` are allowed"
        } else {
            "only lowercase latin letters, digits, `-` and `_` are allowed"
        }));
    }
    if !value.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(invalid("must start with a letter or a digit"));
    }
    Ok(())
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        slug_id!($(#[$doc])* $name, $kind, b"-_");
    };
    ($(#[$doc:meta])* $name:ident, $kind:literal, $extra:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates `value` as a slug: 1–63 characters of `a-z`, `0-9`, `-`, `_`, starting alphanumeric.
            pub fn new(value: impl Into<String>) -> Result<Self, ModelError> {
                let value = value.into();
                check_slug($kind, &value, $extra)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::new(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_id!(
    /// A served organization (`organization.id` in ECS). Every event belongs to exactly one tenant.
    TenantId,
    "tenant id"
);
slug_id!(
    /// An informatization object of a tenant.
    FacilityId,
    "facility id"
);
slug_id!(
    /// A sender identity of a tenant: a syslog peer, a TLS client certificate or an API token.
    SourceId,
    "source id"
);
slug_id!(
    /// A person's (or a service account's) login name: also `.` and `@`, so that `a.nurlanov` and e-mail-like
    /// names work.
    UserId,
    "user id",
    b"-_.@"
);
slug_id!(
    /// An API token, an access grant or another object Kuzet names itself: random lowercase hex.
    ObjectId,
    "object id"
);

impl TenantId {
    /// The reserved tenant whose sealed log is the audit trail. No operator tenant may take this id.
    pub const AUDIT_TRAIL: &'static str = "kuzet-audit";

    /// The audit trail's tenant id (see [`TenantId::AUDIT_TRAIL`]).
    pub fn audit_trail() -> Self {
        Self(Self::AUDIT_TRAIL.to_owned())
    }

    /// Ids that belong to Kuzet itself and are refused for operator tenants.
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with("kuzet-")
    }
}

impl ObjectId {
    /// An id from 16 random bytes (the caller supplies them: the model reads no randomness).
    pub fn from_random(bytes: [u8; 16]) -> Self {
        use std::fmt::Write;
        let mut s = String::with_capacity(32);
        for b in bytes {
            let _ = write!(s, "{b:02x}");
        }
        Self(s)
    }
}

/// A time-ordered event id in the UUIDv7 layout: 48 bits of Unix milliseconds, then 74 bits of caller-provided
/// entropy (a counter and random bits), with the version and variant bits set. Ids sort by creation time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(u128);

impl EventId {
    /// Builds an id from the receive time in Unix milliseconds and 74 bits of entropy (higher bits are ignored).
    /// Callers put a per-process counter in the high entropy bits so that ids from one process stay ordered
    /// within a millisecond.
    pub fn from_parts(unix_millis: u64, entropy: u128) -> Self {
        let millis = u128::from(unix_millis & 0xFFFF_FFFF_FFFF);
        let rand_a = (entropy >> 62) & 0xFFF;
        let rand_b = entropy & 0x3FFF_FFFF_FFFF_FFFF;
        Self((millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
    }

    pub fn from_u128(value: u128) -> Self {
        Self(value)
    }

    pub fn as_u128(self) -> u128 {
        self.0
    }

    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(u128::from_be_bytes(bytes))
    }

    /// The Unix milliseconds the id was created at.
    pub fn unix_millis(self) -> u64 {
        // The shift leaves 48 bits, which always fit in u64.
        (self.0 >> 80) as u64
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = format!("{:032x}", self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({self})")
    }
}

impl FromStr for EventId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.chars().filter(|c| *c != '-').collect();
        let hyphens_ok = s.len() == 32 || (s.len() == 36 && s.matches('-').count() == 4);
        if digits.len() != 32 || !hyphens_ok || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ModelError::InvalidEventId(s.to_owned()));
        }
        u128::from_str_radix(&digits, 16)
            .map(Self)
            .map_err(|_| ModelError::InvalidEventId(s.to_owned()))
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slugs_are_validated_with_named_reasons() {
        assert!(TenantId::new("akimat-astana").is_ok());
        let err = TenantId::new("Akimat").unwrap_err();
        assert_eq!(
            err.to_string(),
            "tenant id `Akimat`: only lowercase latin letters, digits, `-` and `_` are allowed"
        );
        assert!(SourceId::new("").is_err());
        assert!(SourceId::new("-x").is_err());
        assert!(FacilityId::new("x".repeat(64)).is_err());
    }

    #[test]
    fn event_id_layout_is_uuid_v7() {
        let id = EventId::from_parts(1_700_000_000_123, 42);
        let text = id.to_string();
        assert_eq!(&text[14..15], "7");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(id.unix_millis(), 1_700_000_000_123);
    }

    proptest! {
        #[test]
        fn event_id_round_trips_and_orders_by_time(ms in 0u64..(1u64 << 48), a: u128, b: u128) {
            let id = EventId::from_parts(ms, a);
            prop_assert_eq!(id.to_string().parse::<EventId>().unwrap(), id);
            prop_assert_eq!(EventId::from_bytes(id.to_bytes()), id);
            if ms + 1 < (1u64 << 48) {
                prop_assert!(EventId::from_parts(ms + 1, b) > id);
            }
        }
    }
}
