//! ArcSight Common Event Format: `CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|Extension`.
//!
//! Header fields escape `|` and `\` with a backslash; extension values escape `=`, `\`, and write newlines as
//! `\n`/`\r`. Extension values may contain spaces: a value runs until the last space before the next `key=`.
//! Header → `observer.vendor/product/version`, `event.code`, `event.action` (unless `act`), `message` (unless
//! `msg`), `event.severity` (0–10; `Low`/`Medium`/`High`/`Very-High` → 3/6/8/10). Extension keys of the standard
//! dictionary map to ECS; custom labelled pairs (`cs1Label=Foo cs1=bar`) also appear as `cef.custom.Foo`;
//! every other key is kept under `cef.extensions.<key>`.

use std::borrow::Cow;

use kuzet_model::{Event, IssueCode, Value, fields};

use crate::Ctx;
use crate::common::{
    insert_host, insert_int, insert_ip, insert_port, insert_user, outcome, push_related,
    set_exact_time, set_inferred_time, transport, unescape_with,
};
use crate::timefmt::parse_device_time;

/// A whole input of format `Cef` (optionally with text before `CEF:`).
pub(crate) fn parse(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    match memchr::memmem::find(text.as_bytes(), b"CEF:") {
        Some(at) => parse_payload(event, &text[at..], ctx),
        None => {
            event.fields.insert(fields::MESSAGE, text);
            event.issue(IssueCode::BadCef, "cef: no `CEF:` marker");
        }
    }
}

/// Parses `text`, which starts with `CEF:`.
pub(crate) fn parse_payload(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    event.fields.insert(fields::EVENT_MODULE, "cef");
    let rest = &text[4..];
    let bytes = rest.as_bytes();
    let mut header: Vec<Cow<'_, str>> = Vec::with_capacity(7);
    let mut start = 0;
    let mut i = 0;
    let mut escaped = false;
    while i < bytes.len() && header.len() < 7 {
        match bytes[i] {
            b'\\' => {
                escaped = true;
                i += 2;
                continue;
            }
            b'|' => {
                let raw = &rest[start..i];
                header.push(if escaped {
                    Cow::Owned(unescape_header(raw))
                } else {
                    Cow::Borrowed(raw)
                });
                escaped = false;
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let extension = if header.len() == 7 {
        &rest[start.min(rest.len())..]
    } else {
        ""
    };
    let names = [
        "cef.version",
        fields::OBSERVER_VENDOR,
        fields::OBSERVER_PRODUCT,
        "observer.version",
        fields::EVENT_CODE,
        "cef.name",
        "cef.severity",
    ];
    for (name, value) in names.iter().zip(&header) {
        event.fields.insert_text(name, value);
    }
    if header.len() < 7 {
        event.issue(
            IssueCode::BadCef,
            format!("cef header: {} of 7 `|`-separated fields", header.len()),
        );
        event.fields.insert(fields::MESSAGE, text);
        return;
    }
    let name = header[5].trim();
    if !name.is_empty() {
        event.fields.insert(fields::MESSAGE, name);
        event.fields.insert(fields::EVENT_ACTION, name);
    }
    if let Some(severity) = severity(header[6].trim()) {
        event.fields.insert(fields::EVENT_SEVERITY, severity);
    }
    let pairs = extension_pairs(extension);
    map_extension(event, &pairs, ctx);
}

fn severity(text: &str) -> Option<i64> {
    if let Ok(number) = text.parse::<i64>() {
        return Some(number);
    }
    Some(match text.to_ascii_lowercase().as_str() {
        "low" => 3,
        "medium" => 6,
        "high" => 8,
        "very-high" | "very high" => 10,
        _ => return None,
    })
}

fn unescape_header(raw: &str) -> String {
    unescape_with(raw, |c| matches!(c, '|' | '\\').then_some(c))
}

fn unescape_value(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(unescape_with(raw, |c| match c {
        '=' | '\\' | '|' => Some(c),
        'n' => Some('\n'),
        'r' => Some('\r'),
        _ => None,
    }))
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']')
}

/// Splits `k1=v 1 k2=v2` into pairs. A `=` starts a new pair only when the word before it is a valid key that
/// begins after a space inside the current value, so unescaped `=` in URLs stays in the value.
pub(crate) fn extension_pairs(ext: &str) -> Vec<(&str, Cow<'_, str>)> {
    let bytes = ext.as_bytes();
    let mut pairs = Vec::new();
    let mut current: Option<(&str, usize)> = None;
    let mut word_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b' ' => word_start = i + 1,
            b'=' => {
                let key = &ext[word_start..i];
                let starts_after_value =
                    current.is_none_or(|(_, value_start)| word_start > value_start);
                if !key.is_empty() && starts_after_value && key.bytes().all(is_key_byte) {
                    if let Some((previous, value_start)) = current {
                        let value = ext[value_start..word_start.saturating_sub(1).max(value_start)]
                            .trim_end();
                        pairs.push((previous, unescape_value(value)));
                    }
                    current = Some((key, i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some((key, value_start)) = current {
        pairs.push((
            key,
            unescape_value(ext[value_start.min(ext.len())..].trim_end()),
        ));
    }
    pairs
}

/// Custom pairs whose meaning is given by a `<key>Label` sibling.
fn is_custom(key: &str) -> bool {
    [
        "cs",
        "cn",
        "cfp",
        "c6a",
        "flexString",
        "flexNumber",
        "flexDate",
        "deviceCustomDate",
        "deviceCustomString",
        "deviceCustomNumber",
    ]
    .iter()
    .any(|prefix| {
        key.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn map_extension(event: &mut Event, pairs: &[(&str, Cow<'_, str>)], ctx: &Ctx<'_>) {
    let mut user_from_destination = false;
    // Looked up once per event, not once per key: a hostile event repeating a key thousands of times stays linear.
    let has_rt = pairs.iter().any(|(k, _)| *k == "rt");
    let mut labels: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (key, value) in pairs {
        if let Some(base) = key.strip_suffix("Label") {
            labels.entry(base).or_insert(value.as_ref());
        }
    }
    for (key, value) in pairs {
        let value = value.as_ref();
        if value.is_empty() {
            continue;
        }
        match *key {
            "src" | "sourceAddress" => {
                insert_ip(event, fields::SOURCE_IP, value);
            }
            "dst" | "destinationAddress" => {
                insert_ip(event, fields::DESTINATION_IP, value);
            }
            "spt" | "sourcePort" => insert_port(event, fields::SOURCE_PORT, value),
            "dpt" | "destinationPort" => insert_port(event, fields::DESTINATION_PORT, value),
            "shost" | "sourceHostName" => insert_host(event, "source", value),
            "dhost" | "destinationHostName" => insert_host(event, "destination", value),
            "smac" | "sourceMacAddress" => event.fields.insert("source.mac", value),
            "dmac" | "destinationMacAddress" => event.fields.insert("destination.mac", value),
            "suser" | "sourceUserName" => {
                insert_user(event, "source.user.name", value);
                if !user_from_destination {
                    event.fields.insert(fields::USER_NAME, value);
                }
            }
            "duser" | "destinationUserName" => {
                insert_user(event, "destination.user.name", value);
                event.fields.insert(fields::USER_NAME, value);
                user_from_destination = true;
            }
            "suid" | "sourceUserId" => event.fields.insert("source.user.id", value),
            "duid" | "destinationUserId" => event.fields.insert("destination.user.id", value),
            "sntdom" | "sourceNtDomain" => event.fields.insert("source.user.domain", value),
            "dntdom" | "destinationNtDomain" => {
                event.fields.insert("destination.user.domain", value)
            }
            "sproc" | "sourceProcessName" => event.fields.insert("source.process.name", value),
            "dproc" | "destinationProcessName" => event.fields.insert(fields::PROCESS_NAME, value),
            "spid" | "sourceProcessId" => insert_int(event, "source.process.pid", value),
            "dpid" | "destinationProcessId" => insert_int(event, fields::PROCESS_PID, value),
            "proto" | "transportProtocol" => event
                .fields
                .insert(fields::NETWORK_TRANSPORT, transport(value)),
            "app" | "applicationProtocol" => event
                .fields
                .insert(fields::NETWORK_PROTOCOL, value.to_ascii_lowercase()),
            "act" | "deviceAction" => event.fields.insert(fields::EVENT_ACTION, value),
            "msg" | "message" => event.fields.insert(fields::MESSAGE, value),
            "request" | "requestURL" => event.fields.insert(fields::URL_ORIGINAL, value),
            "requestMethod" => event.fields.insert("http.request.method", value),
            "requestClientApplication" => event.fields.insert("user_agent.original", value),
            "fname" | "fileName" => event.fields.insert("file.name", value),
            "filePath" => event.fields.insert(fields::FILE_PATH, value),
            "fsize" | "fileSize" => insert_int(event, "file.size", value),
            "fileHash" => event.fields.insert("file.hash.original", value),
            "in" | "bytesIn" => insert_int(event, "source.bytes", value),
            "out" | "bytesOut" => insert_int(event, "destination.bytes", value),
            "dvc" | "deviceAddress" => {
                insert_ip(event, "observer.ip", value);
            }
            "dvchost" | "deviceHostName" => event.fields.insert(fields::OBSERVER_HOSTNAME, value),
            "deviceExternalId" => event.fields.insert("observer.serial_number", value),
            "deviceInboundInterface" => event
                .fields
                .insert("observer.ingress.interface.name", value),
            "deviceOutboundInterface" => {
                event.fields.insert("observer.egress.interface.name", value)
            }
            "sourceTranslatedAddress" => {
                insert_ip(event, "source.nat.ip", value);
            }
            "destinationTranslatedAddress" => {
                insert_ip(event, "destination.nat.ip", value);
            }
            "sourceTranslatedPort" => insert_port(event, "source.nat.port", value),
            "destinationTranslatedPort" => insert_port(event, "destination.nat.port", value),
            "outcome" | "eventOutcome" => match outcome(value.trim_start_matches('/')) {
                Some(mapped) => event.fields.insert(fields::EVENT_OUTCOME, mapped),
                None => event.fields.insert("cef.extensions.outcome", value),
            },
            "reason" => event.fields.insert("event.reason", value),
            "cnt" | "baseEventCount" => insert_int(event, "cef.extensions.baseEventCount", value),
            "externalId" => event.fields.insert("cef.extensions.externalId", value),
            "rt" | "deviceReceiptTime" => set_time(event, "rt", value, ctx, true),
            "end" | "endTime" => set_time(event, "event.end", value, ctx, !has_rt),
            "start" | "startTime" => set_time(event, "event.start", value, ctx, false),
            key if key.ends_with("Label") && is_custom(&key[..key.len() - 5]) => {
                event.fields.insert(format!("cef.extensions.{key}"), value);
            }
            key if is_custom(key) => {
                event.fields.insert(format!("cef.extensions.{key}"), value);
                if let Some(label) = labels.get(key) {
                    let label: String = label
                        .trim()
                        .chars()
                        .map(|c| {
                            if c.is_alphanumeric() || c == '_' || c == '-' {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    if !label.is_empty() {
                        let typed = if key.starts_with("cn")
                            || key.starts_with("flexNumber")
                            || key.starts_with("deviceCustomNumber")
                        {
                            value
                                .parse::<i64>()
                                .map(Value::Int)
                                .unwrap_or_else(|_| Value::from(value))
                        } else {
                            Value::from(value)
                        };
                        event.fields.insert(format!("cef.custom.{label}"), typed);
                    }
                }
            }
            key => event.fields.insert(format!("cef.extensions.{key}"), value),
        }
    }
    if let Some(user) = event.fields.get_str(fields::USER_NAME).map(str::to_owned) {
        push_related(event, "related.user", &user);
    }
}

/// `rt`, `end`, `start`: the first two set `@timestamp` (`rt` wins); all are also kept as text.
fn set_time(event: &mut Event, field: &str, value: &str, ctx: &Ctx<'_>, sets_timestamp: bool) {
    match parse_device_time(value, ctx) {
        Some((ts, inferred)) => {
            if field != "rt" {
                event.fields.insert(field, ts.to_string());
            }
            if sets_timestamp {
                match inferred {
                    None => set_exact_time(event, ts),
                    Some(why) => set_inferred_time(event, ts, format!("cef {field}: {why}")),
                }
            }
        }
        None => {
            event
                .fields
                .insert(format!("cef.extensions.{field}"), value);
            event.issue(
                IssueCode::BadTimestamp,
                format!("cef {field}: unreadable time `{value}`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(ext: &str) -> Vec<(String, String)> {
        extension_pairs(ext)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn values_with_spaces_and_escapes() {
        assert_eq!(
            pairs(
                r"src=10.0.0.1 msg=hello big world a\=b\\c\nd request=http://x/?a=b&c=d act=blocked"
            ),
            vec![
                ("src".into(), "10.0.0.1".into()),
                ("msg".into(), "hello big world a=b\\c\nd".into()),
                ("request".into(), "http://x/?a=b&c=d".into()),
                ("act".into(), "blocked".into()),
            ]
        );
    }

    #[test]
    fn empty_and_trailing_values() {
        assert_eq!(
            pairs("a= b=2  "),
            vec![("a".into(), "".into()), ("b".into(), "2".into())]
        );
        assert!(pairs("").is_empty());
        assert!(pairs("no pairs here").is_empty());
    }

    #[test]
    fn header_pipes_unescape() {
        assert_eq!(unescape_header(r"a\|b\\c"), "a|b\\c");
    }
}
