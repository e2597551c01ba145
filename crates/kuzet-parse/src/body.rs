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
    let window = &body.as_bytes()[..body.len().min(PAYLOAD_SEARCH_WINDOW)];
    if let Some(at) = memchr::memmem::find(window, b"CEF:")
        && body[at + 4..].starts_with(|c: char| c.is_ascii_digit()) {
            cef::parse_payload(event, &body[at..], ctx);
            return;
        }
    if let Some(at) = memchr::memmem::find(window, b"LEEF:")
        && body[at + 5..].starts_with(|c: char| c.is_ascii_digit()) {
            leef::parse_payload(event, &body[at..], ctx);
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
        && linux::parse_program(event, program, body) {
            return;
        }
    if kv::is_kv_body(trimmed) {
        network::parse_generic_kv(event, trimmed);
    }
}
