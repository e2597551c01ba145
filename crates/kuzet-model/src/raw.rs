//! The raw event: what a listener accepted, before parsing. This is the unit the write-ahead log makes durable;
//! parsing is deterministic, so replaying raw events after a crash gives the same normalized events.

use std::net::SocketAddr;

use jiff::Timestamp;

use crate::{EventId, SourceId, TenantId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub id: EventId,
    pub tenant: TenantId,
    pub source: SourceId,
    pub received: Timestamp,
    pub transport: Transport,
    pub peer: Option<SocketAddr>,
    pub format: FormatHint,
    /// One event's bytes, framing removed (no octet count, no trailing newline).
    pub bytes: Vec<u8>,
}

/// How the event reached Kuzet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Http,
    /// The Elastic `_bulk`-compatible endpoint.
    Bulk,
    /// `kuzet ingest FILE`.
    File,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Http => "http",
            Transport::Bulk => "bulk",
            Transport::File => "file",
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Transport::Udp,
            1 => Transport::Tcp,
            2 => Transport::Tls,
            3 => Transport::Http,
            4 => Transport::Bulk,
            5 => Transport::File,
            _ => return None,
        })
    }

    /// A stable one-byte code for on-disk formats.
    pub fn code(self) -> u8 {
        match self {
            Transport::Udp => 0,
            Transport::Tcp => 1,
            Transport::Tls => 2,
            Transport::Http => 3,
            Transport::Bulk => 4,
            Transport::File => 5,
        }
    }
}

/// What the bytes are expected to be. `Auto` lets the parser decide from the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FormatHint {
    #[default]
    Auto,
    /// A syslog message (RFC 3164 or RFC 5424, detected), possibly carrying CEF, LEEF, JSON or key=value.
    Syslog,
    /// One JSON document (ECS, Beats, or any object).
    Json,
    Cef,
    Leef,
    /// One Windows event record as the JSON the `evtx` crate renders.
    Evtx,
    /// A line of plain text with no header.
    Text,
}

impl FormatHint {
    pub fn as_str(self) -> &'static str {
        match self {
            FormatHint::Auto => "auto",
            FormatHint::Syslog => "syslog",
            FormatHint::Json => "json",
            FormatHint::Cef => "cef",
            FormatHint::Leef => "leef",
            FormatHint::Evtx => "evtx",
            FormatHint::Text => "text",
        }
    }

    pub fn parse_name(name: &str) -> Option<Self> {
        Some(match name {
            "auto" => FormatHint::Auto,
            "syslog" => FormatHint::Syslog,
            "json" => FormatHint::Json,
            "cef" => FormatHint::Cef,
            "leef" => FormatHint::Leef,
            "evtx" => FormatHint::Evtx,
            "text" => FormatHint::Text,
            _ => return None,
        })
    }

    /// A stable one-byte code for on-disk formats.
    pub fn code(self) -> u8 {
        match self {
            FormatHint::Auto => 0,
            FormatHint::Syslog => 1,
            FormatHint::Json => 2,
            FormatHint::Cef => 3,
            FormatHint::Leef => 4,
            FormatHint::Evtx => 5,
            FormatHint::Text => 6,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => FormatHint::Auto,
            1 => FormatHint::Syslog,
            2 => FormatHint::Json,
            3 => FormatHint::Cef,
            4 => FormatHint::Leef,
            5 => FormatHint::Evtx,
            6 => FormatHint::Text,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in 0..=255u8 {
            if let Some(t) = Transport::from_code(code) {
                assert_eq!(t.code(), code);
            }
            if let Some(f) = FormatHint::from_code(code) {
                assert_eq!(f.code(), code);
                assert_eq!(FormatHint::parse_name(f.as_str()), Some(f));
            }
        }
    }
}
