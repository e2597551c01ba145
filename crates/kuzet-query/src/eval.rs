//! Evaluating a query against one event: the reference semantics (`docs/query.md`). The index answers the same
//! queries faster; tests check it against this scan.

use std::borrow::Cow;
use std::net::IpAddr;

use kuzet_model::{Event, fields};

use crate::ast::{Bound, Glob, Query, Value};

/// Fields whose text is split into words: a word matches one of its words, a phrase its words in order. Every
/// other field holds one value, matched whole.
pub const TEXT_FIELDS: &[&str] = &[
    "message",
    "event.original",
    "error.message",
    "process.command_line",
    "process.parent.command_line",
    "url.original",
    "url.full",
    "powershell.command.invocation_details",
];

/// Fields free text (a word or phrase without `field:`) searches.
pub const DEFAULT_FIELDS: &[&str] = &["message", "event.original"];

/// The words of a text: runs of letters and digits, lowercased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The values of a field in an event, as text: the typed hot fields by their ECS names, then the open fields (each
/// element of an array).
pub fn field_values<'e>(event: &'e Event, field: &str) -> Vec<Cow<'e, str>> {
    match field {
        fields::TIMESTAMP => return vec![Cow::Owned(event.timestamp.to_string())],
        "event.ingested" => return vec![Cow::Owned(event.ingested.to_string())],
        "event.id" => return vec![Cow::Owned(event.id.to_string())],
        "event.original" => return vec![event.original_lossy()],
        "organization.id" => return vec![Cow::Borrowed(event.tenant.as_str())],
        "kuzet.source" => return vec![Cow::Borrowed(event.source.as_str())],
        _ => {}
    }
    let mut out = Vec::new();
    if let Some(value) = event.fields.get(field) {
        push_values(value, &mut out);
    }
    out
}

fn push_values<'e>(value: &'e kuzet_model::Value, out: &mut Vec<Cow<'e, str>>) {
    match value {
        kuzet_model::Value::Str(s) => out.push(Cow::Borrowed(s)),
        kuzet_model::Value::Array(items) => {
            for item in items {
                push_values(item, out);
            }
        }
        other => out.push(Cow::Owned(other.to_string())),
    }
}

impl Query {
    /// Whether `event` matches.
    pub fn matches(&self, event: &Event) -> bool {
        match self {
            Query::All => true,
            Query::And(items) => items.iter().all(|q| q.matches(event)),
            Query::Or(items) => items.iter().any(|q| q.matches(event)),
            Query::Not(inner) => !inner.matches(event),
            Query::Exists { field } => !field_values(event, field).is_empty(),
            Query::Term { field: None, value } => {
                DEFAULT_FIELDS.iter().any(|f| term_matches(event, f, value))
            }
            Query::Term {
                field: Some(field),
                value,
            } => term_matches(event, field, value),
            Query::Range {
                field,
                lower,
                upper,
            } => field_values(event, field)
                .iter()
                .any(|v| in_range(field, v, lower, upper)),
        }
    }
}

fn term_matches(event: &Event, field: &str, value: &Value) -> bool {
    let values = field_values(event, field);
    if TEXT_FIELDS.contains(&field) {
        return values.iter().any(|text| text_matches(text, value));
    }
    values.iter().any(|v| keyword_matches(v, value))
}

/// A text field: a word matches one of its words, a pattern one of its words, a phrase its words in a row.
fn text_matches(text: &str, value: &Value) -> bool {
    match value {
        Value::Word(w) => {
            let wanted: Vec<String> = words(w).collect();
            match wanted.as_slice() {
                [] => false,
                [one] => words(text).any(|t| t == *one),
                // A word that holds punctuation (`10.0.0.1`, `a-b`) is a phrase of its parts.
                several => contains_run(&words(text).collect::<Vec<_>>(), several),
            }
        }
        Value::Phrase(p) => {
            let wanted: Vec<String> = words(p).collect();
            !wanted.is_empty() && contains_run(&words(text).collect::<Vec<_>>(), &wanted)
        }
        Value::Pattern(parts) => {
            let lowered = lowered(parts);
            words(text).any(|t| glob(&lowered, &t))
        }
    }
}

fn contains_run(haystack: &[String], needle: &[String]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A keyword field: the whole value, case-insensitively; an address field also matches a CIDR; numbers compare
/// as numbers.
fn keyword_matches(actual: &str, value: &Value) -> bool {
    match value {
        Value::Word(w) | Value::Phrase(w) => {
            if actual.eq_ignore_ascii_case(w) || actual.to_lowercase() == w.to_lowercase() {
                return true;
            }
            if let (Ok(net), Ok(ip)) = (w.parse::<ipnet::IpNet>(), actual.parse::<IpAddr>()) {
                return net.contains(&ip);
            }
            matches!((actual.parse::<f64>(), w.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
        }
        Value::Pattern(parts) => glob(&lowered(parts), &actual.to_lowercase()),
    }
}

fn lowered(parts: &[Glob]) -> Vec<Glob> {
    parts
        .iter()
        .map(|p| match p {
            Glob::Literal(s) => Glob::Literal(s.to_lowercase()),
            other => other.clone(),
        })
        .collect()
}

/// Whether `text` matches the glob (`*` any run, `?` one character), whole.
pub fn glob(parts: &[Glob], text: &str) -> bool {
    match parts.split_first() {
        None => text.is_empty(),
        Some((Glob::Literal(l), rest)) => {
            text.strip_prefix(l.as_str()).is_some_and(|t| glob(rest, t))
        }
        Some((Glob::One, rest)) => {
            let mut chars = text.chars();
            chars.next().is_some() && glob(rest, chars.as_str())
        }
        Some((Glob::Any, rest)) => {
            if rest.is_empty() {
                return true;
            }
            let mut t = text;
            loop {
                if glob(rest, t) {
                    return true;
                }
                let mut chars = t.chars();
                if chars.next().is_none() {
                    return false;
                }
                t = chars.as_str();
            }
        }
    }
}

/// How a range compares: decided by the field and the range's ends, never by the value alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    /// `@timestamp`, `*.ingested`, `*.created`: instants.
    Time,
    /// Every end is an address: only address values compare.
    Address,
    /// Every end is a number: only numeric values compare.
    Number,
    /// Otherwise: every value as text.
    Text,
}

fn range_kind(field: &str, lower: &Bound, upper: &Bound) -> RangeKind {
    if field == fields::TIMESTAMP || field.ends_with(".ingested") || field.ends_with(".created") {
        return RangeKind::Time;
    }
    let ends: Vec<&str> = [lower, upper]
        .into_iter()
        .filter_map(|b| match b {
            Bound::Inclusive(v) | Bound::Exclusive(v) => Some(v.as_str()),
            Bound::Unbounded => None,
        })
        .collect();
    if !ends.is_empty() && ends.iter().all(|e| e.parse::<IpAddr>().is_ok()) {
        RangeKind::Address
    } else if !ends.is_empty() && ends.iter().all(|e| number(e).is_some()) {
        RangeKind::Number
    } else {
        RangeKind::Text
    }
}

fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|n| !n.is_nan())
}

fn instant(text: &str) -> Option<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().ok().or_else(|| {
        text.parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    })
}

/// Orders a value against a range end the way the range's kind does; `None` when either does not read as that
/// kind (then the value is outside the range).
fn compare(kind: RangeKind, a: &str, b: &str) -> Option<std::cmp::Ordering> {
    match kind {
        RangeKind::Time => Some(instant(a)?.cmp(&instant(b)?)),
        RangeKind::Address => Some(a.parse::<IpAddr>().ok()?.cmp(&b.parse::<IpAddr>().ok()?)),
        RangeKind::Number => number(a)?.partial_cmp(&number(b)?),
        RangeKind::Text => Some(a.cmp(b)),
    }
}

fn in_range(field: &str, value: &str, lower: &Bound, upper: &Bound) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let kind = range_kind(field, lower, upper);
    let low = match lower {
        Bound::Unbounded => true,
        Bound::Inclusive(b) => matches!(compare(kind, value, b), Some(Greater | Equal)),
        Bound::Exclusive(b) => matches!(compare(kind, value, b), Some(Greater)),
    };
    let high = match upper {
        Bound::Unbounded => true,
        Bound::Inclusive(b) => matches!(compare(kind, value, b), Some(Less | Equal)),
        Bound::Exclusive(b) => matches!(compare(kind, value, b), Some(Less)),
    };
    low && high
}
