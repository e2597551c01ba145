//! IBM QRadar Log Event Extended Format, 1.0 and 2.0.
//!
//! `LEEF:1.0|Vendor|Product|Version|EventID|attrs` with attributes separated by a tab;
//! `LEEF:2.0|Vendor|Product|Version|EventID|Delim|attrs` where Delim is one character (`^`) or its hex code
//! (`x09`, `0x09`, `\t`); empty means tab. When the delimiter does not occur in the attributes at all (relays
//! that turned tabs into spaces), they are split like a CEF extension instead.
//!
//! Attributes → ECS: `src`, `dst`, `srcPort`, `dstPort`, `srcPreNAT`/`dstPostNAT`…, `usrName`, `proto`,
//! `devTime` (read with `devTimeFormat`, a Java `SimpleDateFormat` layout, else the common layouts), `sev`,
//! `srcMAC`, `dstMAC`, `srcBytes`, `dstBytes`, `url`, `action`, `policy`, `identHostName`, `domain`. `cat` stays
//! `leef.cat` because ECS `event.category` is a closed vocabulary. Unknown attributes are kept under
//! `leef.<key>`.

use std::borrow::Cow;

use kuzet_model::{Event, IssueCode, fields};

use crate::Ctx;
use crate::common::{
    insert_host, insert_int, insert_ip, insert_port, insert_user, outcome, set_exact_time,
    set_inferred_time, transport,
};
use crate::timefmt::{parse_device_time, parse_java};

/// A whole input of format `Leef` (optionally with text before `LEEF:`).
pub(crate) fn parse(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    match memchr::memmem::find(text.as_bytes(), b"LEEF:") {
        Some(at) => {
            event.fields.insert(fields::MESSAGE, text);
            parse_payload(event, &text[at..], ctx);
        }
        None => {
            event.fields.insert(fields::MESSAGE, text);
            event.issue(IssueCode::BadLeef, "leef: no `LEEF:` marker");
        }
    }
}

/// Splits the header on unescaped `|`, at most `count` fields; returns them and the rest.
fn header(text: &str, count: usize) -> (Vec<Cow<'_, str>>, &str) {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(count);
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() && out.len() < count {
        match bytes[i] {
            b'\\' if bytes.get(i + 1) == Some(&b'|') => {
                i += 2;
                continue;
            }
            b'|' => {
                let raw = &text[start..i];
                out.push(if raw.contains("\\|") {
                    Cow::Owned(raw.replace("\\|", "|"))
                } else {
                    Cow::Borrowed(raw)
                });
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    (out, &text[start.min(text.len())..])
}

/// The LEEF 2.0 delimiter field: a character or its hex code.
fn delimiter(spec: &str) -> Option<char> {
    let spec = spec.trim_matches(' ');
    if spec.is_empty() || spec == "\\t" {
        return Some('\t');
    }
    let hex = spec
        .strip_prefix("0x")
        .or_else(|| spec.strip_prefix("0X"))
        .or_else(|| spec.strip_prefix('x'))
        .or_else(|| spec.strip_prefix('X'));
    if let Some(hex) = hex.filter(|h| !h.is_empty()) {
        return u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
    }
    let mut chars = spec.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

pub(crate) fn parse_payload(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    event.fields.insert(fields::EVENT_MODULE, "leef");
    let version = text[5..].split('|').next().unwrap_or("").trim();
    event.fields.insert_text("leef.version", version);
    let two = version.starts_with('2');
    let (parts, rest) = header(&text[5..], if two { 6 } else { 5 });
    let names = [
        "leef.version",
        fields::OBSERVER_VENDOR,
        fields::OBSERVER_PRODUCT,
        "observer.version",
        fields::EVENT_CODE,
    ];
    for (name, value) in names.iter().zip(&parts).skip(1) {
        event.fields.insert_text(name, value);
    }
    let wanted = if two { 6 } else { 5 };
    if parts.len() < wanted {
        event.issue(
            IssueCode::BadLeef,
            format!(
                "leef {version} header: {} of {wanted} `|`-separated fields",
                parts.len()
            ),
        );
        event.fields.insert(fields::MESSAGE, text);
        return;
    }
    let separator = if two {
        match delimiter(&parts[5]) {
            Some(c) => c,
            None => {
                event.issue(
                    IssueCode::BadLeef,
                    format!("leef 2.0 delimiter `{}` is not one character", parts[5]),
                );
                '\t'
            }
        }
    } else {
        '\t'
    };
    let pairs: Vec<(&str, Cow<'_, str>)> = if rest.contains(separator) {
        rest.split(separator)
            .filter_map(|attr| {
                let (key, value) = attr.split_once('=')?;
                Some((key.trim(), Cow::Borrowed(value)))
            })
            .collect()
    } else {
        crate::cef::extension_pairs(rest)
    };
    if pairs.is_empty() && !rest.trim().is_empty() {
        event.issue(IssueCode::BadLeef, "leef attributes: no key=value pair");
    }
    let time_format = pairs
        .iter()
        .find(|(k, _)| *k == "devTimeFormat")
        .map(|(_, v)| v.to_string());
    for (key, value) in &pairs {
        let value = value.trim();
        if value.is_empty() || key.is_empty() {
            continue;
        }
        match *key {
            "src" => {
                insert_ip(event, fields::SOURCE_IP, value);
            }
            "dst" => {
                insert_ip(event, fields::DESTINATION_IP, value);
            }
            "srcPort" => insert_port(event, fields::SOURCE_PORT, value),
            "dstPort" => insert_port(event, fields::DESTINATION_PORT, value),
            "srcPreNAT" => {
                insert_ip(event, "source.nat.ip", value);
            }
            "srcPostNAT" => {
                insert_ip(event, "source.nat.ip", value);
            }
            "dstPreNAT" | "dstPostNAT" => {
                insert_ip(event, "destination.nat.ip", value);
            }
            "srcPreNATPort" | "srcPostNATPort" => insert_port(event, "source.nat.port", value),
            "dstPreNATPort" | "dstPostNATPort" => insert_port(event, "destination.nat.port", value),
            "usrName" | "accountName" => insert_user(event, fields::USER_NAME, value),
            "domain" => event.fields.insert(fields::USER_DOMAIN, value),
            "proto" => event
                .fields
                .insert(fields::NETWORK_TRANSPORT, transport(value)),
            "sev" => insert_int(event, fields::EVENT_SEVERITY, value),
            "srcMAC" => event.fields.insert("source.mac", value),
            "dstMAC" => event.fields.insert("destination.mac", value),
            "srcBytes" => insert_int(event, "source.bytes", value),
            "dstBytes" => insert_int(event, "destination.bytes", value),
            "srcPackets" => insert_int(event, "source.packets", value),
            "dstPackets" => insert_int(event, "destination.packets", value),
            "totalPackets" => insert_int(event, "network.packets", value),
            "url" => event.fields.insert(fields::URL_ORIGINAL, value),
            "action" => {
                event.fields.insert(fields::EVENT_ACTION, value);
                if let Some(mapped) = outcome(value) {
                    event.fields.insert(fields::EVENT_OUTCOME, mapped);
                }
            }
            "policy" => event.fields.insert("rule.name", value),
            "identHostName" => insert_host(event, "host", value),
            "identSrc" => {
                insert_ip(event, fields::SOURCE_IP, value);
            }
            "devTime" => dev_time(event, value, time_format.as_deref(), ctx),
            "devTimeFormat" => event.fields.insert("leef.devTimeFormat", value),
            key => event.fields.insert(format!("leef.{key}"), value),
        }
    }
}

fn dev_time(event: &mut Event, value: &str, format: Option<&str>, ctx: &Ctx<'_>) {
    let parsed = match format {
        Some(pattern) => parse_java(pattern, value).and_then(|civil| {
            let (ts, inferred) = civil.resolve(ctx)?;
            Some((
                ts,
                inferred.then(|| format!("leef devTime: no zone: assumed offset {}", ctx.offset())),
            ))
        }),
        None => None,
    }
    .or_else(|| {
        parse_device_time(value, ctx)
            .map(|(ts, why)| (ts, why.map(|w| format!("leef devTime: {w}"))))
    });
    match parsed {
        Some((ts, None)) => set_exact_time(event, ts),
        Some((ts, Some(why))) => set_inferred_time(event, ts, why),
        None => {
            event.fields.insert("leef.devTime", value);
            event.issue(
                IssueCode::BadTimestamp,
                format!("leef devTime `{value}` does not match its format"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(delimiter("^"), Some('^'));
        assert_eq!(delimiter("x09"), Some('\t'));
        assert_eq!(delimiter("0x7C"), Some('|'));
        assert_eq!(delimiter(""), Some('\t'));
        assert_eq!(delimiter("ab"), None);
    }

    #[test]
    fn header_with_escaped_pipe() {
        let (parts, rest) = header(r"1.0|Ven\|dor|P|1|42|a=b", 5);
        assert_eq!(parts[1], "Ven|dor");
        assert_eq!(rest, "a=b");
    }
}
