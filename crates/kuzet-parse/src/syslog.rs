//! Syslog headers: RFC 5424 (detected by the version `1` after PRI) and RFC 3164 (everything else), then the MSG
//! body goes to the body sniffers.
//!
//! RFC 3164 as seen in the wild: PRI is optional (files, relays that strip it); the timestamp is `Mmm dd hh:mm:ss`
//! (day space-padded, optional fraction), Cisco's `Mmm dd yyyy hh:mm:ss`, or the ISO 8601 form rsyslog sends
//! (`RSYSLOG_ForwardFormat`); then an optional hostname and `tag[pid]:`. A header with PRI but no timestamp (Cisco
//! ASA's default) is accepted with [`IssueCode::NoTimestamp`].
//!
//! **Year and zone inference.** An RFC 3164 timestamp has neither. The zone is
//! [`ParseOptions::default_offset`](crate::ParseOptions::default_offset), else Kazakhstan's offset at the receive
//! instant (UTC+5 since 2024-03-01). The year is the receive year; if that places the event more than 31 days
//! after the receive instant, the previous year (December events received in January); if the event is in January,
//! received in December, and the next year places it at most 31 days ahead, the next year. `29 Feb` in a year
//! without it means the last leap year. Every guessed timestamp carries [`IssueCode::InferredTimestamp`] saying
//! what was assumed, and a more exact time found in the body (CEF `rt`, auditd epoch) replaces it.
//!
//! ECS: `log.syslog.{priority,facility.code,facility.name,severity.code,severity.name,hostname,appname,procid,
//! msgid,version}`, `host.hostname`/`host.name`, `process.name`, `process.pid`, `message`,
//! `log.syslog.structured_data.<SD-ID>.<param>`, `event.module` (`syslog` unless a body parser names another).

use kuzet_model::{Event, IssueCode, Value, fields};

use crate::common::{set_inferred_time, set_resolved_time, unescape_with};
use crate::timefmt::{parse_bsd_prefix, parse_iso_prefix};
use crate::{Ctx, body};

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
/// RFC 5424 severity names by number; Cisco `%FAC-SEV-CODE` tags number their severities the same way.
pub(crate) const SEVERITIES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
];

/// Parses a syslog message (PRI optional), then its body.
pub(crate) fn parse(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    let (priority, rest) = match pri(text) {
        Some((priority, used)) => (Some(priority), &text[used..]),
        None => (None, text),
    };
    if let Some(priority) = priority {
        set_priority(event, priority);
    }
    let bytes = rest.as_bytes();
    if priority.is_some()
        && bytes.first().is_some_and(|b| (b'1'..=b'9').contains(b))
        && (bytes.get(1) == Some(&b' ')
            || (bytes.get(1).is_some_and(u8::is_ascii_digit) && bytes.get(2) == Some(&b' ')))
    {
        parse_5424(event, text, rest, ctx);
    } else {
        parse_3164(event, text, rest, priority.is_some(), ctx);
    }
    event.fields.insert_default(fields::EVENT_MODULE, "syslog");
}

/// True when `text` starts with an RFC 3164 or ISO 8601 timestamp: how `Auto` recognizes syslog without PRI.
pub(crate) fn starts_with_timestamp(text: &str) -> bool {
    parse_bsd_prefix(text).is_some() || parse_iso_prefix(text).is_some()
}

/// `<PRI>` at the start: the value (0..=191) and the bytes consumed.
fn pri(text: &str) -> Option<(u8, usize)> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'<') {
        return None;
    }
    let mut value: u16 = 0;
    let mut i = 1;
    while i < bytes.len() && i <= 4 && bytes[i].is_ascii_digit() {
        value = value * 10 + u16::from(bytes[i] - b'0');
        i += 1;
    }
    if i == 1 || bytes.get(i) != Some(&b'>') || value > 191 {
        return None;
    }
    Some((value as u8, i + 1))
}

fn set_priority(event: &mut Event, priority: u8) {
    let facility = usize::from(priority / 8);
    let severity = usize::from(priority % 8);
    let f = &mut event.fields;
    f.insert(fields::LOG_SYSLOG_PRIORITY, Value::Int(i64::from(priority)));
    f.insert(
        fields::LOG_SYSLOG_FACILITY_CODE,
        Value::Int(facility as i64),
    );
    f.insert(fields::LOG_SYSLOG_FACILITY_NAME, FACILITIES[facility]);
    f.insert(
        fields::LOG_SYSLOG_SEVERITY_CODE,
        Value::Int(severity as i64),
    );
    f.insert(fields::LOG_SYSLOG_SEVERITY_NAME, SEVERITIES[severity]);
}

fn set_hostname(event: &mut Event, host: &str) {
    event.fields.insert(fields::LOG_SYSLOG_HOSTNAME, host);
    event.fields.insert(fields::HOST_HOSTNAME, host);
    event.fields.insert(fields::HOST_NAME, host);
}

fn set_app(event: &mut Event, app: &str) {
    event.fields.insert(fields::LOG_SYSLOG_APPNAME, app);
    event.fields.insert(fields::PROCESS_NAME, app);
}

fn set_procid(event: &mut Event, procid: &str) {
    event.fields.insert(fields::LOG_SYSLOG_PROCID, procid);
    if let Ok(pid) = procid.parse::<i64>() {
        event.fields.insert(fields::PROCESS_PID, pid);
    }
}

fn bad_header(event: &mut Event, whole: &str, why: String) {
    event.issue(IssueCode::BadSyslog, why);
    event.fields.insert(fields::MESSAGE, whole);
}

/// Splits the next space-terminated header field off `rest`.
fn field<'a>(rest: &mut &'a str) -> Option<&'a str> {
    if rest.is_empty() {
        return None;
    }
    let (token, tail) = match memchr::memchr(b' ', rest.as_bytes()) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (*rest, ""),
    };
    if token.is_empty() {
        return None;
    }
    *rest = tail;
    Some(token)
}

fn parse_5424(event: &mut Event, whole: &str, after_pri: &str, ctx: &Ctx<'_>) {
    let mut rest = after_pri;
    let names = [
        "version",
        "timestamp",
        "hostname",
        "app-name",
        "procid",
        "msgid",
    ];
    let mut header = [""; 6];
    for (slot, name) in header.iter_mut().zip(names) {
        match field(&mut rest) {
            Some(token) => *slot = token,
            None => {
                return bad_header(event, whole, format!("rfc 5424 header: missing {name}"));
            }
        }
    }
    let [version, timestamp, hostname, app, procid, msgid] = header;
    if let Ok(version) = version.parse::<i64>() {
        event
            .fields
            .insert(fields::LOG_SYSLOG_VERSION, Value::Int(version));
    }
    if timestamp == "-" {
        event.issue(IssueCode::NoTimestamp, "rfc 5424 timestamp is nil");
    } else {
        match parse_iso_prefix(timestamp).filter(|(_, used)| *used == timestamp.len()) {
            Some((civil, _)) => set_resolved_time(
                event,
                civil.resolve(ctx),
                ctx,
                "no zone in rfc 5424 timestamp",
                || format!("rfc 5424 timestamp `{timestamp}` out of range"),
            ),
            None => event.issue(
                IssueCode::BadTimestamp,
                format!("rfc 5424 timestamp `{timestamp}` is not rfc 3339"),
            ),
        }
    }
    if hostname != "-" {
        set_hostname(event, hostname);
    }
    if app != "-" {
        set_app(event, app);
    }
    if procid != "-" {
        set_procid(event, procid);
    }
    if msgid != "-" {
        event.fields.insert(fields::LOG_SYSLOG_MSGID, msgid);
    }
    // STRUCTURED-DATA: nil or one or more elements. A missing SD (header ends after MSGID) is tolerated.
    let msg = if let Some(tail) = rest.strip_prefix('-') {
        tail
    } else if rest.starts_with('[') {
        match structured_data(event, rest) {
            Ok(used) => &rest[used..],
            Err(why) => {
                event.issue(IssueCode::BadStructuredData, why);
                event.fields.insert(fields::MESSAGE, rest);
                return;
            }
        }
    } else if rest.is_empty() {
        ""
    } else {
        return bad_header(
            event,
            whole,
            "rfc 5424 header: structured data must be `-` or `[`".to_owned(),
        );
    };
    let msg = msg.strip_prefix(' ').unwrap_or(msg);
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    event.fields.insert(fields::MESSAGE, msg);
    let program = event
        .fields
        .get_str(fields::PROCESS_NAME)
        .map(str::to_owned);
    body::dispatch(event, msg, program.as_deref(), ctx);
}

/// Parses `[id k="v" …][id2 …]` into fields; returns the bytes consumed.
fn structured_data(event: &mut Event, text: &str) -> Result<usize, String> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    while bytes.get(pos) == Some(&b'[') {
        pos += 1;
        let id_start = pos;
        while pos < bytes.len() && !matches!(bytes[pos], b' ' | b']' | b'=' | b'"') {
            pos += 1;
        }
        let id = &text[id_start..pos];
        if id.is_empty() {
            return Err(format!("structured data at byte {id_start}: empty sd-id"));
        }
        loop {
            match bytes.get(pos) {
                Some(b']') => {
                    pos += 1;
                    break;
                }
                Some(b' ') => pos += 1,
                Some(_) => {
                    let name_start = pos;
                    while pos < bytes.len() && !matches!(bytes[pos], b' ' | b']' | b'=' | b'"') {
                        pos += 1;
                    }
                    let name = &text[name_start..pos];
                    if name.is_empty()
                        || bytes.get(pos) != Some(&b'=')
                        || bytes.get(pos + 1) != Some(&b'"')
                    {
                        return Err(format!(
                            "structured data element `{id}`: expected param-name=\"value\" at byte {name_start}"
                        ));
                    }
                    pos += 2;
                    let value_start = pos;
                    let mut escaped = false;
                    loop {
                        match bytes.get(pos) {
                            None => {
                                return Err(format!(
                                    "structured data element `{id}` param `{name}`: unterminated value"
                                ));
                            }
                            Some(b'\\') => {
                                escaped = true;
                                pos += 2;
                            }
                            Some(b'"') => break,
                            Some(_) => pos += 1,
                        }
                    }
                    let raw = &text[value_start..pos];
                    pos += 1;
                    let value = if escaped {
                        unescape_sd(raw)
                    } else {
                        raw.to_owned()
                    };
                    let field = format!("{}.{id}.{name}", fields::LOG_SYSLOG_STRUCTURED_DATA);
                    match event.fields.remove(&field) {
                        // A repeated param (RFC 5424 allows it) becomes an array, in order.
                        Some(Value::Array(mut items)) => {
                            items.push(Value::Str(value));
                            event.fields.insert(field, Value::Array(items));
                        }
                        Some(previous) => event
                            .fields
                            .insert(field, Value::Array(vec![previous, Value::Str(value)])),
                        None => event.fields.insert(field, value),
                    }
                }
                None => return Err(format!("structured data element `{id}`: missing `]`")),
            }
        }
    }
    Ok(pos)
}

/// RFC 5424 §6.3.3: inside PARAM-VALUE, `\"`, `\\` and `\]` are escapes; a backslash before anything else is kept.
fn unescape_sd(raw: &str) -> String {
    unescape_with(raw, |c| matches!(c, '"' | '\\' | ']').then_some(c))
}

fn parse_3164(event: &mut Event, whole: &str, after_pri: &str, has_pri: bool, ctx: &Ctx<'_>) {
    let mut rest = after_pri;
    let mut has_timestamp = false;
    // Cisco IOS with `service sequence-numbers` puts `NNN: ` before the timestamp.
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && rest[digits..].starts_with(": ") {
        event.fields.insert("cisco.ios.sequence", &rest[..digits]);
        rest = &rest[digits + 2..];
    }
    // Cisco IOS marks unsynchronized clocks with `*` and synchronized-but-doubtful ones with `.`.
    let stamp = rest.strip_prefix(['*', '.']).unwrap_or(rest);
    if let Some((bsd, used)) = parse_bsd_prefix(stamp) {
        has_timestamp = true;
        rest = &stamp[used..];
        match bsd.resolve(ctx) {
            Some((ts, why)) => set_inferred_time(event, ts, why),
            None => event.issue(
                IssueCode::BadTimestamp,
                format!("timestamp `{}` is not a date", &stamp[..used]),
            ),
        }
    } else if let Some((civil, used)) = parse_iso_prefix(stamp) {
        has_timestamp = true;
        rest = &stamp[used..];
        set_resolved_time(
            event,
            civil.resolve(ctx),
            ctx,
            "no zone in timestamp",
            || format!("timestamp `{}` out of range", &stamp[..used]),
        );
    }
    if !has_timestamp {
        if !has_pri {
            return bad_header(
                event,
                whole,
                "syslog header: no priority and no timestamp".to_owned(),
            );
        }
        event.issue(IssueCode::NoTimestamp, "syslog header has no timestamp");
    } else {
        // Cisco devices end the timestamp with `:`.
        rest = rest.strip_prefix(':').unwrap_or(rest);
        if !rest.is_empty() && !rest.starts_with(' ') {
            return bad_header(
                event,
                whole,
                "syslog header: no space after the timestamp".to_owned(),
            );
        }
        rest = rest.trim_start_matches(' ');
        if let Some((host, tail)) = hostname(rest) {
            set_hostname(event, host);
            rest = tail;
        }
    }
    let (program, body) = tag(event, rest);
    event.fields.insert(fields::MESSAGE, body);
    body::dispatch(event, body, program, ctx);
}

/// Whether the body starts with a payload that carries no syslog tag in front of it.
fn starts_with_payload(text: &str) -> bool {
    text.starts_with("CEF:")
        || text.starts_with("LEEF:")
        || text.starts_with('{')
        || text.starts_with('%')
        || text.starts_with(": %")
}

/// The hostname field after the timestamp, unless the next token is already the tag or the payload
/// (`Oct 11 22:14:15 su: …`, `… %ASA-6-…`).
fn hostname(text: &str) -> Option<(&str, &str)> {
    if starts_with_payload(text) {
        return None;
    }
    let end = memchr::memchr(b' ', text.as_bytes())?;
    let token = &text[..end];
    if token.is_empty() || token.ends_with(':') || token.contains('[') || token.contains('=') {
        return None;
    }
    Some((token, text[end + 1..].trim_start_matches(' ')))
}

/// `tag[pid]: body` → sets `process.name`/`process.pid` and returns the program and the body.
fn tag<'a>(event: &mut Event, text: &'a str) -> (Option<&'a str>, &'a str) {
    if let Some(tail) = text.strip_prefix(": ") {
        // ASA with `logging device-id`: `host : %ASA-…`.
        return (None, tail);
    }
    if starts_with_payload(text) {
        return (None, text);
    }
    let bytes = text.as_bytes();
    let end = bytes
        .iter()
        .take(129)
        .position(|b| matches!(b, b'[' | b':' | b' '))
        .unwrap_or(bytes.len());
    if end == 0 || end >= bytes.len() {
        return (None, text);
    }
    let program = &text[..end];
    match bytes[end] {
        b':' => {
            set_app(event, program);
            (Some(program), trim_one_space(&text[end + 1..]))
        }
        b'[' => {
            let Some(close) = memchr::memchr(b']', &bytes[end..]).map(|i| end + i) else {
                return (None, text);
            };
            let pid = &text[end + 1..close];
            set_app(event, program);
            if !pid.is_empty() {
                set_procid(event, pid);
            }
            let tail = &text[close + 1..];
            (
                Some(program),
                trim_one_space(tail.strip_prefix(':').unwrap_or(tail)),
            )
        }
        _ => (None, text),
    }
}

fn trim_one_space(text: &str) -> &str {
    text.strip_prefix(' ').unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pri_bounds() {
        assert_eq!(pri("<0>x"), Some((0, 3)));
        assert_eq!(pri("<191>x"), Some((191, 5)));
        assert_eq!(pri("<192>x"), None);
        assert_eq!(pri("<>x"), None);
        assert_eq!(pri("<1234>x"), None);
    }

    #[test]
    fn sd_unescapes_only_the_three_escapes() {
        assert_eq!(unescape_sd(r#"a\"b\\c\]d\ne"#), "a\"b\\c]d\\ne");
    }
}
