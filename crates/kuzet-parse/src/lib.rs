//! Bytes → normalized [`Event`]: syslog (RFC 3164 and RFC 5424), CEF, LEEF, JSON (ECS and Beats documents), Windows
//! event records (EVTX), the Linux programs every ISOC sees and common network devices, all mapped to ECS names.
//!
//! Invariant: parsing never fails. [`parse`] always returns an event whose `original` holds the input bytes; what
//! could not be understood is recorded as [`kuzet_model::ParseIssue`]s on the event.
//!
//! Pure: no I/O, no clock, no environment. The receive time comes with the [`RawEvent`]; options come as a value.
//! Depends only on `kuzet-model` (and `evtx` for splitting `.evtx` files into records).
//!
//! How a raw event is routed ([`FormatHint`]):
//! - `Syslog`: the header is parsed (see `src/syslog.rs` for the RFC 3164 year and zone inference), then the MSG body is
//!   sniffed: CEF, LEEF, JSON, Cisco ASA, FortiGate, auditd, then programs by `process.name` (sshd, sudo, su,
//!   shadow-utils), then a generic `key=value` body.
//! - `Json`, `Cef`, `Leef`: the whole input is that format.
//! - `Text`: the whole input is a message body (sniffed like a syslog MSG, without a program name).
//! - `Evtx`: one record as the JSON the `evtx` crate renders, see [`evtx`].
//! - `Auto`: `<digits>` → syslog; `{` → JSON; `CEF:` → CEF; `LEEF:` → LEEF; a leading syslog timestamp → RFC 3164
//!   without PRI; anything else → text.
//!
//! After any parser: `event.kind` defaults to `event`, and an event time further than [`ParseOptions::max_skew`]
//! from the receive time adds [`IssueCode::ClockSkew`].

use std::borrow::Cow;

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use kuzet_model::{FormatHint, IssueCode, fields};

pub use kuzet_model::{Event, RawEvent};

mod body;
mod cef;
mod common;
pub mod evtx;
mod json;
mod kv;
mod leef;
mod linux;
mod network;
mod syslog;
mod timefmt;

/// How the parsers interpret what the content leaves open.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseOptions {
    /// Offset assumed for timestamps without a zone (RFC 3164, many device formats). Default: None = Kazakhstan time
    /// at the receive instant (kuzet_model::time::kz_offset(received)).
    pub default_offset: Option<Offset>,
    /// Event times further than this from the receive time get an IssueCode::ClockSkew issue. Default 5 minutes.
    pub max_skew: SignedDuration,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            default_offset: None,
            max_skew: SignedDuration::from_mins(5),
        }
    }
}

/// The version of the parsers' behaviour, named in every profile. Raise it when a change makes a record parse
/// differently, so that an archived record says which parser derived the event first.
pub const PARSER_VERSION: u32 = 1;

impl ParseOptions {
    /// Names the parser version and these options in one short line, e.g. `kuzet-parse/1 max_skew=300s`: the
    /// archive keeps it beside each raw event so that the event can be derived again the same way.
    pub fn profile(&self) -> String {
        let mut out = format!(
            "kuzet-parse/{PARSER_VERSION} max_skew={}s",
            self.max_skew.as_secs()
        );
        if let Some(offset) = self.default_offset {
            out.push_str(&format!(" default_offset={}s", offset.seconds()));
        }
        out
    }

    /// The options a profile names. Unknown words (from a newer release) are skipped and the defaults used for
    /// what is missing; `None` when it is not a `kuzet-parse` profile at all.
    pub fn from_profile(profile: &str) -> Option<Self> {
        let mut words = profile.split_ascii_whitespace();
        words.next()?.strip_prefix("kuzet-parse/")?;
        let mut options = Self::default();
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            let seconds = value.strip_suffix('s').and_then(|v| v.parse::<i64>().ok());
            match (key, seconds) {
                ("max_skew", Some(s)) => options.max_skew = SignedDuration::from_secs(s),
                ("default_offset", Some(s)) => {
                    options.default_offset = i32::try_from(s)
                        .ok()
                        .and_then(|s| Offset::from_seconds(s).ok());
                }
                _ => {}
            }
        }
        Some(options)
    }
}

/// What every parser needs besides the text: the receive instant and the options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub received: Timestamp,
    pub options: &'a ParseOptions,
}

impl Ctx<'_> {
    /// The offset for wall-clock times that carry none.
    pub fn offset(&self) -> Offset {
        self.options
            .default_offset
            .unwrap_or_else(|| kuzet_model::time::kz_offset(self.received))
    }
}

/// Never fails. event.id/tenant/source/ingested/original come from `raw`; `@timestamp` from the content, else received.
pub fn parse(raw: &RawEvent, options: &ParseOptions) -> Event {
    let mut event = Event::new(
        raw.id,
        raw.tenant.clone(),
        raw.source.clone(),
        raw.received,
        raw.bytes.clone(),
    );
    let ctx = Ctx {
        received: raw.received,
        options,
    };
    if raw.format == FormatHint::Evtx {
        evtx::parse_record(&mut event, &raw.bytes);
    } else {
        let text: Cow<'_, str> = match std::str::from_utf8(&raw.bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(error) => {
                event.issue(
                    IssueCode::InvalidUtf8,
                    format!(
                        "invalid utf-8 at byte {}: text fields hold a lossy conversion",
                        error.valid_up_to()
                    ),
                );
                String::from_utf8_lossy(&raw.bytes)
            }
        };
        // Framing strips the line terminator, but senders add stray CR, LF and NUL (RFC 6587 non-transparent
        // framing, Windows shippers); they are never content.
        let text = text.trim_end_matches(['\n', '\r', '\0']);
        // Windows shippers may start a JSON document or a line with a byte order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        parse_text(&mut event, text, raw.format, &ctx);
    }
    finish(&mut event, &ctx);
    event
}

fn parse_text(event: &mut Event, text: &str, format: FormatHint, ctx: &Ctx<'_>) {
    if text.trim().is_empty() {
        event.fields.insert(fields::MESSAGE, "");
        event.issue(IssueCode::UnknownFormat, "empty input");
        return;
    }
    match format {
        FormatHint::Syslog => syslog::parse(event, text, ctx),
        FormatHint::Json => json::parse(event, text, ctx),
        FormatHint::Cef => cef::parse(event, text, ctx),
        FormatHint::Leef => leef::parse(event, text, ctx),
        FormatHint::Text => body::parse_text(event, text, ctx),
        _ => parse_auto(event, text, ctx),
    }
}

fn parse_auto(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    let trimmed = text.trim_start();
    let bytes = trimmed.as_bytes();
    if bytes.first() == Some(&b'<') && bytes.get(1).is_some_and(u8::is_ascii_digit) {
        syslog::parse(event, text, ctx);
    } else if bytes.first() == Some(&b'{') {
        json::parse(event, trimmed, ctx);
    } else if trimmed.starts_with("CEF:") {
        cef::parse(event, trimmed, ctx);
    } else if trimmed.starts_with("LEEF:") {
        leef::parse(event, trimmed, ctx);
    } else if syslog::starts_with_timestamp(trimmed) {
        syslog::parse(event, trimmed, ctx);
    } else {
        body::parse_text(event, text, ctx);
    }
}

fn finish(event: &mut Event, ctx: &Ctx<'_>) {
    event.fields.insert_default(fields::EVENT_KIND, "event");
    let skew = event.timestamp.duration_since(ctx.received);
    if skew.abs() > ctx.options.max_skew {
        let direction = if skew.is_negative() {
            "behind"
        } else {
            "ahead of"
        };
        event.issue(
            IssueCode::ClockSkew,
            format!(
                "event time {} is {} {direction} the receive time {}",
                event.timestamp,
                common::human_duration(skew.abs()),
                ctx.received
            ),
        );
    }
}

#[cfg(test)]
mod profile_tests {
    use super::*;

    #[test]
    fn profiles_name_the_options_and_round_trip() {
        let default = ParseOptions::default();
        assert_eq!(default.profile(), "kuzet-parse/1 max_skew=300s");
        assert_eq!(
            ParseOptions::from_profile(&default.profile()),
            Some(default)
        );
        let custom = ParseOptions {
            default_offset: Some(Offset::from_seconds(3 * 3600).unwrap()),
            max_skew: SignedDuration::from_secs(60),
        };
        assert_eq!(ParseOptions::from_profile(&custom.profile()), Some(custom));
        // A newer release's words are skipped; another parser's profile is not ours.
        assert!(ParseOptions::from_profile("kuzet-parse/9 max_skew=10s fancy=1").is_some());
        assert_eq!(ParseOptions::from_profile("test-parser/1"), None);
    }
}
