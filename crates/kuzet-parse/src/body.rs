//! Sniffing a message body (a syslog MSG, or a line of text) for the payloads Kuzet understands. The order matters:
//! self-describing payloads first (CEF, LEEF, JSON, Cisco `%ASA-`), then content signatures (auditd, FortiGate),
//! then the program name, then a generic `key=value` body.

use kuzet_model::{Event, fields};

use crate::{Ctx, cef, json, kv, leef, linux, network};

/// Where `CEF:`/`LEEF:` may start: some relays put their own prefix (a hostname, a date) before it.
const PAYLOAD_SEARCH_WINDOW: usize = 96;

/// A whole input of format `Text`: the message, sniffed without a program name.
pub(crate) fn parse_text(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    event.fields.insert(fields::MESSAGE, text);
    dispatch(event, text, None, ctx);
}

/// Parses `body` (already stored as `message`) with the parser its content or `program` calls for.
pub(crate) fn dispatch(event: &mut Event, body: &str, program: Option<&str>, ctx: &Ctx<'_>) {
    if let Some((at, marker)) = payload_marker(body) {
        if marker == Marker::Cef {
            cef::parse_payload(event, &body[at..], ctx);
        } else {
            leef::parse_payload(event, &body[at..], ctx);
        }
        return;
    }
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        json::parse_embedded(event, trimmed, ctx);
        return;
    }
    if trimmed.starts_with('%') && network::parse_cisco(event, trimmed) {
        return;
    }
    if linux::is_auditd(trimmed) {
        linux::parse_auditd(event, trimmed, ctx);
        return;
    }
    if network::is_fortigate(trimmed) {
        network::parse_fortigate(event, trimmed, ctx);
        return;
    }
    if let Some(program) = program
        && linux::parse_program(event, program, body)
    {
        return;
    }
    // Most bodies have no `=` at all; only then is the pair scan worth it.
    if memchr::memchr(b'=', trimmed.as_bytes()).is_some() && kv::is_kv_body(trimmed) {
        network::parse_generic_kv(event, trimmed);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Cef,
    Leef,
}

/// Finds `CEF:<digit>` or `LEEF:<digit>` within the first [`PAYLOAD_SEARCH_WINDOW`] bytes by looking at each
/// `:` (cheaper than a substring search on every syslog line, most of which have one or two colons).
fn payload_marker(body: &str) -> Option<(usize, Marker)> {
    let bytes = body.as_bytes();
    let window = &bytes[..bytes.len().min(PAYLOAD_SEARCH_WINDOW)];
    for colon in memchr::memchr_iter(b':', window) {
        if !bytes.get(colon + 1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        if colon >= 4 && &bytes[colon - 4..colon] == b"LEEF" {
            return Some((colon - 4, Marker::Leef));
        }
        if colon >= 3 && &bytes[colon - 3..colon] == b"CEF" {
            return Some((colon - 3, Marker::Cef));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_markers_are_found_after_prefixes() {
        assert_eq!(payload_marker("CEF:0|a"), Some((0, Marker::Cef)));
        assert_eq!(payload_marker("host LEEF:2.0|a"), Some((5, Marker::Leef)));
        assert_eq!(
            payload_marker("note: CEF: is not followed by a digit"),
            None
        );
        assert_eq!(payload_marker("12:30:00 plain"), None);
    }
}
