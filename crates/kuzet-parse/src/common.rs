//! Small helpers every format parser shares: typed field setters, `related.*`, timestamps and their issues.

use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};
use kuzet_model::{Event, IssueCode, Value};

use crate::Ctx;

/// Sets `@timestamp` from content that named its instant exactly (zone included). A guess made earlier from a
/// less precise source (the RFC 3164 header) no longer applies, so its issue goes.
pub(crate) fn set_exact_time(event: &mut Event, timestamp: Timestamp) {
    event.timestamp = timestamp;
    event.issues.retain(|issue| {
        !matches!(
            issue.code,
            IssueCode::InferredTimestamp | IssueCode::NoTimestamp
        )
    });
}

/// Sets `@timestamp` from content that left the year or the zone open; `why` says what was assumed.
pub(crate) fn set_inferred_time(event: &mut Event, timestamp: Timestamp, why: String) {
    event.timestamp = timestamp;
    event.issues.retain(|issue| {
        !matches!(
            issue.code,
            IssueCode::InferredTimestamp | IssueCode::NoTimestamp
        )
    });
    event.issue(IssueCode::InferredTimestamp, why);
}

/// Sets `@timestamp` from a civil time `resolved` against `ctx` (see `Civil::resolve`): exact when it named
/// its zone, inferred as `<no_zone>: assumed offset …` when it did not, and a `BadTimestamp` issue with the
/// `unreadable` message when it did not resolve at all.
pub(crate) fn set_resolved_time(
    event: &mut Event,
    resolved: Option<(Timestamp, bool)>,
    ctx: &Ctx<'_>,
    no_zone: &str,
    unreadable: impl FnOnce() -> String,
) {
    match resolved {
        Some((timestamp, false)) => set_exact_time(event, timestamp),
        Some((timestamp, true)) => set_inferred_time(
            event,
            timestamp,
            format!("{no_zone}: assumed offset {}", ctx.offset()),
        ),
        None => event.issue(IssueCode::BadTimestamp, unreadable()),
    }
}

/// Sets `name` to an IP address when `value` is one, and returns whether it was. Zone ids and brackets are
/// accepted (`[::1]`, `fe80::1%eth0`), since devices print both.
pub(crate) fn insert_ip(event: &mut Event, name: &str, value: &str) -> bool {
    let value = value.trim().trim_start_matches('[').trim_end_matches(']');
    let bare = value.split_once('%').map_or(value, |(ip, _)| ip);
    if bare.parse::<IpAddr>().is_ok() {
        event.fields.insert(name, value);
        push_related(event, "related.ip", value);
        true
    } else {
        false
    }
}

/// Sets an IP field, or the sibling `.address`/`.domain` when the value is a name rather than an address.
pub(crate) fn insert_host(event: &mut Event, prefix: &str, value: &str) {
    let value = value.trim();
    if value.is_empty() || value == "-" || value == "?" || value == "(none)" {
        return;
    }
    if !insert_ip(event, &format!("{prefix}.ip"), value) {
        event.fields.insert(format!("{prefix}.domain"), value);
        push_related(event, "related.hosts", value);
    }
}

/// Sets an integer field when `value` is a decimal number, else keeps the text (never drops the value).
pub(crate) fn insert_int(event: &mut Event, name: &str, value: &str) {
    let value = value.trim();
    if value.is_empty() || value == "-" {
        return;
    }
    match value.parse::<i64>() {
        Ok(number) => event.fields.insert(name, number),
        Err(_) => event.fields.insert(name, value),
    }
}

/// Sets a port: an integer in 0..=65535, else nothing (a port of `ssh` or `-` is not a port).
pub(crate) fn insert_port(event: &mut Event, name: &str, value: &str) {
    if let Ok(port) = value.trim().parse::<u16>() {
        event.fields.insert(name, port);
    }
}

pub(crate) fn insert_user(event: &mut Event, name: &str, value: &str) {
    let value = value.trim().trim_matches(['"', '\'']);
    if value.is_empty() || value == "-" || value == "?" || value == "(unknown)" {
        return;
    }
    event.fields.insert(name, value);
    push_related(event, "related.user", value);
}

/// Appends to an array field (`related.ip`, `event.category`, …), once per distinct value.
pub(crate) fn push_related(event: &mut Event, name: &str, value: &str) {
    match event.fields.remove(name) {
        Some(Value::Array(mut items)) => {
            if !items.iter().any(|item| item.as_str() == Some(value)) {
                items.push(Value::Str(value.to_owned()));
            }
            event.fields.insert(name, Value::Array(items));
        }
        Some(other) => {
            let mut items = vec![other];
            if items[0].as_str() != Some(value) {
                items.push(Value::Str(value.to_owned()));
            }
            event.fields.insert(name, Value::Array(items));
        }
        None => event
            .fields
            .insert(name, Value::Array(vec![Value::Str(value.to_owned())])),
    }
}

/// Sets an ECS categorization array field (`event.category`, `event.type`) to exactly these values.
pub(crate) fn set_list(event: &mut Event, name: &str, values: &[&str]) {
    event.fields.insert(
        name,
        Value::Array(values.iter().map(|v| Value::Str((*v).to_owned())).collect()),
    );
}

/// Normalizes a transport name or IANA protocol number to the ECS `network.transport` spelling.
pub(crate) fn transport(value: &str) -> String {
    match value.trim() {
        "6" => "tcp".to_owned(),
        "17" => "udp".to_owned(),
        "1" => "icmp".to_owned(),
        "58" => "ipv6-icmp".to_owned(),
        "47" => "gre".to_owned(),
        "50" => "esp".to_owned(),
        "132" => "sctp".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

/// `1h 2m 3s`-style rendering for issue messages (stable, unlike Debug formats).
pub(crate) fn human_duration(duration: SignedDuration) -> String {
    let total = duration.as_secs().unsigned_abs();
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    let mut out = String::new();
    for (amount, unit) in [(days, "d"), (hours, "h"), (minutes, "m")] {
        if amount > 0 {
            out.push_str(&format!("{amount}{unit} "));
        }
    }
    out.push_str(&format!("{seconds}s"));
    out
}

/// Resolves backslash escapes the way every text format here writes them: `\\x` becomes `escaped(x)` when that is
/// `Some`, any other escape is kept as written, and a trailing lone backslash stays.
pub(crate) fn unescape_with(raw: &str, escaped: impl Fn(char) -> Option<char>) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(next) => match escaped(next) {
                Some(resolved) => out.push(resolved),
                None => {
                    out.push('\\');
                    out.push(next);
                }
            },
            None => out.push('\\'),
        }
    }
    out
}

/// Maps a success/failure word a device printed to ECS `event.outcome`.
pub(crate) fn outcome(word: &str) -> Option<&'static str> {
    match word.trim().to_ascii_lowercase().as_str() {
        "success" | "succeeded" | "successful" | "ok" | "yes" | "accept" | "accepted" | "allow"
        | "allowed" | "pass" | "permit" | "permitted" | "passthrough" => Some("success"),
        "failure" | "failed" | "fail" | "no" | "deny" | "denied" | "drop" | "dropped" | "block"
        | "blocked" | "reject" | "rejected" | "blocked-by-policy" => Some("failure"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_render_compactly() {
        assert_eq!(human_duration(SignedDuration::from_secs(3723)), "1h 2m 3s");
        assert_eq!(human_duration(SignedDuration::from_secs(-5)), "5s");
        assert_eq!(
            human_duration(SignedDuration::from_secs(90_061)),
            "1d 1h 1m 1s"
        );
    }

    #[test]
    fn unescape_resolves_only_the_escapes_it_is_given() {
        let pipes = |c: char| matches!(c, '|').then_some(c);
        assert_eq!(unescape_with(r"a\|b\nc\", pipes), "a|b\\nc\\");
        assert_eq!(unescape_with(r"\n", |c| (c == 'n').then_some('\n')), "\n");
        assert_eq!(unescape_with("plain", pipes), "plain");
    }

    #[test]
    fn resolved_times_are_exact_inferred_or_an_issue() {
        use crate::ParseOptions;
        use kuzet_model::{EventId, SourceId, TenantId};

        let options = ParseOptions::default();
        let received: Timestamp = "2026-11-22T03:00:00Z".parse().unwrap();
        let ctx = Ctx {
            received,
            options: &options,
        };
        let mut event = Event::new(
            EventId::from_parts(1, 1),
            TenantId::new("t").unwrap(),
            SourceId::new("s").unwrap(),
            received,
            Vec::new(),
        );
        let at: Timestamp = "2026-11-22T01:00:00Z".parse().unwrap();
        set_resolved_time(
            &mut event,
            Some((at, true)),
            &ctx,
            "no zone",
            || unreachable!(),
        );
        assert_eq!(event.timestamp, at);
        assert_eq!(event.issues[0].code, IssueCode::InferredTimestamp);
        assert_eq!(
            event.issues[0].message,
            format!("no zone: assumed offset {}", ctx.offset())
        );
        set_resolved_time(
            &mut event,
            Some((received, false)),
            &ctx,
            "no zone",
            || unreachable!(),
        );
        assert!(event.issues.is_empty(), "{:?}", event.issues);
        set_resolved_time(&mut event, None, &ctx, "no zone", || "gone".to_owned());
        assert_eq!(event.timestamp, received);
        assert_eq!(event.issues[0].code, IssueCode::BadTimestamp);
        assert_eq!(event.issues[0].message, "gone");
    }

    #[test]
    fn transports_normalize() {
        assert_eq!(transport("TCP"), "tcp");
        assert_eq!(transport("17"), "udp");
    }
}
