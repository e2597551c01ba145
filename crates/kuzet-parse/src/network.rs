//! Network devices: Cisco ASA/FTD (`%ASA-6-302013: …`, and other Cisco `%FAC-SEV-MNEMONIC` messages by code),
//! FortiGate `key=value` logs, and the generic `key=value` fallback for unknown programs.
//!
//! ASA messages with a dedicated mapping: 302013/302015 (built; for `outbound` connections the `to` side is the
//! initiator and becomes `source.*`), 302014/302016 (teardown), 106001, 106023, 106100 (denies), 113004/113005
//! (AAA), 605004/605005 (management logins), 611101/611102 (user authentication), 111008/111010 (commands).
//! Others keep `event.code`, `event.severity` and `message`.

use kuzet_model::{Event, fields};

use crate::Ctx;
use crate::common::{
    insert_host, insert_int, insert_ip, insert_port, insert_user, outcome, set_exact_time,
    set_list, set_resolved_time, transport,
};
use crate::kv::pairs;
use crate::syslog::SEVERITIES;
use crate::timefmt::{from_epoch_text, parse_iso};

/// Parses `%FAC-SEV-CODE: message`; false when the text is not in that shape.
pub(crate) fn parse_cisco(event: &mut Event, text: &str) -> bool {
    let Some(rest) = text.strip_prefix('%') else {
        return false;
    };
    let Some((tag, msg)) = rest.split_once(':') else {
        return false;
    };
    let mut parts = tag.splitn(3, '-');
    let (Some(facility), Some(severity), Some(code)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(severity) = severity.parse::<u8>() else {
        return false;
    };
    if facility.is_empty() || code.is_empty() || severity > 7 || code.contains(' ') {
        return false;
    }
    let msg = msg.trim();
    let product = match facility {
        "ASA" | "FTD" | "PIX" | "FWSM" => facility,
        _ => "IOS",
    };
    let f = &mut event.fields;
    f.insert(fields::OBSERVER_VENDOR, "Cisco");
    f.insert(fields::OBSERVER_PRODUCT, product);
    f.insert(fields::EVENT_CODE, code);
    f.insert(fields::EVENT_SEVERITY, i64::from(severity));
    f.insert(fields::LOG_LEVEL, SEVERITIES[usize::from(severity)]);
    f.insert(fields::MESSAGE, msg);
    f.insert(fields::EVENT_MODULE, "cisco");
    if product == "IOS" {
        f.insert(fields::EVENT_DATASET, "cisco.ios");
        f.insert("cisco.ios.facility", facility);
        if matches!(code, "LOGIN_SUCCESS" | "LOGIN_FAILED") {
            ios_login(event, code, msg);
        }
        return true;
    }
    f.insert(fields::OBSERVER_TYPE, "firewall");
    f.insert(fields::EVENT_DATASET, "cisco.asa");
    f.insert("cisco.asa.message_id", code);
    match code {
        "302013" | "302015" => built(event, msg),
        "302014" | "302016" => teardown(event, msg),
        "106001" | "106023" | "106100" => deny(event, code, msg),
        "113004" | "113005" => aaa(event, msg),
        "605004" | "605005" => management_login(event, code, msg),
        "611101" | "611102" => user_authentication(event, code, msg),
        "111008" | "111010" => command(event, msg),
        _ => {}
    }
    true
}

/// `Login Success [user: admin] [Source: 10.0.0.5] [localport: 22] at …` (IOS `SEC_LOGIN`).
fn ios_login(event: &mut Event, code: &str, msg: &str) {
    auth(
        event,
        "login",
        if code == "LOGIN_SUCCESS" {
            "success"
        } else {
            "failure"
        },
    );
    for part in msg.split('[').skip(1) {
        let Some((key, value)) = part.split_once(':') else {
            continue;
        };
        let value = value.split(']').next().unwrap_or(value).trim();
        match key.trim() {
            "user" => insert_user(event, fields::USER_NAME, value),
            "Source" => insert_host(event, "source", value),
            "localport" => insert_port(event, fields::DESTINATION_PORT, value),
            "Reason" => event.fields.insert("event.reason", value),
            _ => {}
        }
    }
}

/// `outside:1.2.3.4/443` → (interface, ip, port).
fn endpoint(token: &str) -> Option<(&str, &str, &str)> {
    let (interface, address) = token.rsplit_once(':').filter(|(i, _)| !i.contains('/'))?;
    let (ip, port) = address.split_once('/').unwrap_or((address, ""));
    Some((interface, ip, port))
}

fn set_endpoint(event: &mut Event, side: &str, (interface, ip, port): (&str, &str, &str)) {
    insert_host(event, side, ip);
    insert_port(event, &format!("{side}.port"), port);
    if !interface.is_empty() {
        event
            .fields
            .insert(format!("cisco.asa.{side}_interface"), interface);
    }
}

/// Where `for` and the `to` after it stand in an ASA connection message: the two endpoints follow them.
fn for_to(words: &[&str]) -> Option<(usize, usize)> {
    let for_at = words.iter().position(|w| *w == "for")?;
    let to_at = words.iter().skip(for_at).position(|w| *w == "to")? + for_at;
    Some((for_at, to_at))
}

fn built(event: &mut Event, msg: &str) {
    let words: Vec<&str> = msg.split_whitespace().collect();
    // Built {inbound|outbound} {TCP|UDP} connection ID for IF:IP/PORT (MAPPED/PORT) … to IF:IP/PORT (MAPPED/PORT)
    let (Some(direction), Some(proto), Some(id)) = (words.get(1), words.get(2), words.get(4))
    else {
        return;
    };
    let Some((for_at, to_at)) = for_to(&words) else {
        return;
    };
    let (Some(first), Some(second)) = (
        words.get(for_at + 1).and_then(|w| endpoint(w)),
        words.get(to_at + 1).and_then(|w| endpoint(w)),
    ) else {
        return;
    };
    let (source, destination) = if *direction == "outbound" {
        (second, first)
    } else {
        (first, second)
    };
    set_endpoint(event, "source", source);
    set_endpoint(event, "destination", destination);
    event
        .fields
        .insert(fields::NETWORK_TRANSPORT, transport(proto));
    event.fields.insert("network.direction", *direction);
    event.fields.insert("cisco.asa.connection_id", *id);
    event
        .fields
        .insert(fields::EVENT_ACTION, "connection_built");
    event.fields.insert(fields::EVENT_OUTCOME, "success");
    set_list(event, fields::EVENT_CATEGORY, &["network"]);
    set_list(event, fields::EVENT_TYPE, &["connection", "start"]);
}

fn teardown(event: &mut Event, msg: &str) {
    let words: Vec<&str> = msg.split_whitespace().collect();
    let (Some(proto), Some(id)) = (words.get(1), words.get(3)) else {
        return;
    };
    let Some((for_at, to_at)) = for_to(&words) else {
        return;
    };
    if let Some(source) = words.get(for_at + 1).and_then(|w| endpoint(w)) {
        set_endpoint(event, "source", source);
    }
    if let Some(destination) = words.get(to_at + 1).and_then(|w| endpoint(w)) {
        set_endpoint(event, "destination", destination);
    }
    if let Some(at) = words.iter().position(|w| *w == "duration")
        && let Some(duration) = words.get(at + 1).and_then(|d| hms(d))
    {
        event
            .fields
            .insert("event.duration", duration * 1_000_000_000);
    }
    if let Some(at) = words.iter().position(|w| *w == "bytes") {
        if let Some(bytes) = words.get(at + 1) {
            insert_int(event, "network.bytes", bytes);
        }
        let reason = words[at + 2..].join(" ");
        if !reason.is_empty() {
            event.fields.insert("event.reason", reason);
        }
    }
    event
        .fields
        .insert(fields::NETWORK_TRANSPORT, transport(proto));
    event.fields.insert("cisco.asa.connection_id", *id);
    event
        .fields
        .insert(fields::EVENT_ACTION, "connection_teardown");
    set_list(event, fields::EVENT_CATEGORY, &["network"]);
    set_list(event, fields::EVENT_TYPE, &["connection", "end"]);
}

/// `1:02:03` → seconds.
fn hms(text: &str) -> Option<i64> {
    text.split(':')
        .try_fold(0i64, |acc, part| Some(acc * 60 + part.parse::<i64>().ok()?))
}

/// The word right after the first `keyword` in `words`.
fn word_after<'a>(words: &[&'a str], keyword: &str) -> Option<&'a str> {
    let at = words.iter().position(|w| *w == keyword)?;
    words.get(at + 1).copied()
}

fn deny(event: &mut Event, code: &str, msg: &str) {
    let words: Vec<&str> = msg.split_whitespace().collect();
    let mut denied = true;
    match code {
        // Deny tcp src outside:1.2.3.4/1234 dst inside:10.0.0.5/22 by access-group "outside_in" [0x0, 0x0]
        "106023" => {
            if let Some(proto) = words.get(1) {
                event
                    .fields
                    .insert(fields::NETWORK_TRANSPORT, transport(proto));
            }
            if let Some(src) = word_after(&words, "src").and_then(endpoint) {
                set_endpoint(event, "source", src);
            }
            if let Some(dst) = word_after(&words, "dst").and_then(endpoint) {
                set_endpoint(event, "destination", dst);
            }
            if let Some(group) = word_after(&words, "access-group") {
                event.fields.insert("rule.name", group.trim_matches('"'));
            }
        }
        // Inbound TCP connection denied from 1.2.3.4/1234 to 10.0.0.5/22 flags SYN on interface outside
        "106001" => {
            if let Some(proto) = words.get(1) {
                event
                    .fields
                    .insert(fields::NETWORK_TRANSPORT, transport(proto));
            }
            let from = word_after(&words, "from");
            let to = word_after(&words, "to");
            for (side, token) in [("source", from), ("destination", to)] {
                if let Some(token) = token {
                    let (ip, port) = token.split_once('/').unwrap_or((token, ""));
                    set_endpoint(event, side, ("", ip, port));
                }
            }
        }
        // access-list outside_in denied tcp outside/1.2.3.4(1234) -> inside/10.0.0.5(22) hit-cnt 1 first hit
        _ => {
            if let Some(list) = words.get(1) {
                event.fields.insert("rule.name", *list);
            }
            denied = words.get(2) == Some(&"denied");
            if let Some(proto) = words.get(3) {
                event
                    .fields
                    .insert(fields::NETWORK_TRANSPORT, transport(proto));
            }
            let arrow = words.iter().position(|w| *w == "->");
            let sides = [
                ("source", arrow.and_then(|i| words.get(i.wrapping_sub(1)))),
                ("destination", arrow.and_then(|i| words.get(i + 1))),
            ];
            for (side, token) in sides {
                let Some(token) = token else { continue };
                let (interface, rest) = token.split_once('/').unwrap_or(("", token));
                let (ip, port) = rest.split_once('(').unwrap_or((rest, ""));
                set_endpoint(event, side, (interface, ip, port.trim_end_matches(')')));
            }
        }
    }
    set_list(event, fields::EVENT_CATEGORY, &["network"]);
    if denied {
        event.fields.insert(fields::EVENT_ACTION, "deny");
        event.fields.insert(fields::EVENT_OUTCOME, "failure");
        set_list(event, fields::EVENT_TYPE, &["connection", "denied"]);
    } else {
        event.fields.insert(fields::EVENT_ACTION, "permit");
        event.fields.insert(fields::EVENT_OUTCOME, "success");
        set_list(event, fields::EVENT_TYPE, &["connection", "allowed"]);
    }
}

fn auth(event: &mut Event, action: &str, result: &str) {
    event.fields.insert(fields::EVENT_ACTION, action);
    event.fields.insert(fields::EVENT_OUTCOME, result);
    set_list(event, fields::EVENT_CATEGORY, &["authentication"]);
    set_list(
        event,
        fields::EVENT_TYPE,
        &[if result == "success" { "start" } else { "info" }],
    );
}

fn aaa(event: &mut Event, msg: &str) {
    // AAA user authentication Rejected : reason = AAA failure : server = 10.0.0.10 : user = alice : user IP = 1.2.3.4
    let mut segments = msg.split(" : ");
    let head = segments.next().unwrap_or("");
    let action = if head.contains("authorization") {
        "aaa_authorization"
    } else if head.contains("accounting") {
        "aaa_accounting"
    } else {
        "aaa_authentication"
    };
    let result = if head.ends_with("Successful") {
        "success"
    } else {
        "failure"
    };
    auth(event, action, result);
    for segment in segments {
        let Some((key, value)) = segment.split_once(" = ") else {
            continue;
        };
        match key.trim() {
            "user" => insert_user(event, fields::USER_NAME, value),
            "user IP" => insert_host(event, "source", value),
            "server" => insert_host(event, "destination", value),
            "reason" => event.fields.insert("event.reason", value.trim()),
            _ => {}
        }
    }
}

fn management_login(event: &mut Event, code: &str, msg: &str) {
    // Login denied from 1.2.3.4/51234 to outside:10.0.0.1/ssh for user "admin"
    auth(
        event,
        "login",
        if code == "605005" {
            "success"
        } else {
            "failure"
        },
    );
    let words: Vec<&str> = msg.split_whitespace().collect();
    if let Some(from) = words
        .iter()
        .position(|w| *w == "from")
        .and_then(|i| words.get(i + 1))
    {
        let (ip, port) = from.split_once('/').unwrap_or((from, ""));
        set_endpoint(event, "source", ("", ip, port));
    }
    if let Some(to) = words
        .iter()
        .position(|w| *w == "to")
        .and_then(|i| words.get(i + 1))
        .and_then(|w| endpoint(w))
    {
        set_endpoint(event, "destination", (to.0, to.1, ""));
        event.fields.insert(fields::NETWORK_PROTOCOL, to.2);
    }
    if let Some((_, user)) = msg.split_once("for user ") {
        insert_user(event, fields::USER_NAME, user.trim().trim_matches('"'));
    }
}

fn user_authentication(event: &mut Event, code: &str, msg: &str) {
    // User authentication succeeded: IP address: 10.0.0.5, Uname: admin
    auth(
        event,
        "user_authentication",
        if code == "611101" {
            "success"
        } else {
            "failure"
        },
    );
    if let Some((_, rest)) = msg.split_once("IP address: ") {
        let ip = rest.split(',').next().unwrap_or(rest);
        insert_host(event, "source", ip);
    }
    if let Some((_, user)) = msg.split_once("Uname: ") {
        insert_user(event, fields::USER_NAME, user);
    }
}

fn command(event: &mut Event, msg: &str) {
    // User 'admin' executed the 'configure terminal' command.
    // User 'admin', running 'CLI' from IP 10.0.0.5, executed 'write memory'
    let words: Vec<&str> = msg.split('\'').skip(1).step_by(2).collect();
    if let Some(user) = words.first() {
        insert_user(event, fields::USER_NAME, user);
    }
    if let Some(command) = words.last().filter(|_| words.len() > 1) {
        event.fields.insert("cisco.asa.command_line", *command);
    }
    if let Some((_, rest)) = msg.split_once("from IP ") {
        insert_host(event, "source", rest.split(',').next().unwrap_or(rest));
    }
    event
        .fields
        .insert(fields::EVENT_ACTION, "command_executed");
    event.fields.insert(fields::EVENT_OUTCOME, "success");
    set_list(event, fields::EVENT_CATEGORY, &["configuration"]);
    set_list(event, fields::EVENT_TYPE, &["change"]);
}

/// FortiGate logs start with `date=` and carry `devname=` or `logid=` early on.
pub(crate) fn is_fortigate(text: &str) -> bool {
    let head = &text.as_bytes()[..text.len().min(256)];
    text.starts_with("date=")
        && (memchr::memmem::find(head, b"devname=").is_some()
            || memchr::memmem::find(head, b"logid=").is_some())
}

pub(crate) fn parse_fortigate(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    let f = &mut event.fields;
    f.insert(fields::OBSERVER_VENDOR, "Fortinet");
    f.insert(fields::OBSERVER_PRODUCT, "FortiGate");
    f.insert(fields::OBSERVER_TYPE, "firewall");
    f.insert(fields::EVENT_MODULE, "fortinet");
    f.insert(fields::EVENT_DATASET, "fortinet.firewall");
    let (mut date, mut time, mut tz, mut eventtime) = (None, None, None, None);
    // `status` (of a login, a VPN tunnel) says more than `action` does, whichever comes first.
    let (mut action_outcome, mut status_outcome) = (None, None);
    let mut iter = pairs(text);
    for pair in iter.by_ref() {
        let value = pair.value.as_ref();
        if value.is_empty() {
            continue;
        }
        match pair.key {
            "date" => date = Some(value.to_owned()),
            "time" => time = Some(value.to_owned()),
            "tz" => tz = Some(value.to_owned()),
            "eventtime" => eventtime = Some(value.to_owned()),
            "srcip" => {
                insert_ip(event, fields::SOURCE_IP, value);
            }
            "dstip" => {
                insert_ip(event, fields::DESTINATION_IP, value);
            }
            "srcport" => insert_port(event, fields::SOURCE_PORT, value),
            "dstport" => insert_port(event, fields::DESTINATION_PORT, value),
            "transip" => {
                insert_ip(event, "source.nat.ip", value);
            }
            "transport" => insert_port(event, "source.nat.port", value),
            "srcmac" => event.fields.insert("source.mac", value),
            "dstmac" => event.fields.insert("destination.mac", value),
            "srcintf" => event
                .fields
                .insert("observer.ingress.interface.name", value),
            "dstintf" => event.fields.insert("observer.egress.interface.name", value),
            "devname" => event.fields.insert("observer.name", value),
            "devid" => event.fields.insert("observer.serial_number", value),
            "logid" => event.fields.insert(fields::EVENT_CODE, value),
            "level" => event.fields.insert(fields::LOG_LEVEL, value),
            "action" => {
                event.fields.insert(fields::EVENT_ACTION, value);
                action_outcome = match value {
                    "close" | "timeout" | "server-rst" | "client-rst" | "accept" => Some("success"),
                    "login" | "logout" => {
                        set_list(event, fields::EVENT_CATEGORY, &["authentication"]);
                        Some("success")
                    }
                    other => outcome(other),
                };
            }
            "status" => {
                status_outcome = outcome(value);
                event.fields.insert("fortinet.firewall.status", value);
            }
            "proto" => {
                insert_int(event, "network.iana_number", value);
                event
                    .fields
                    .insert(fields::NETWORK_TRANSPORT, transport(value));
            }
            "service" => event
                .fields
                .insert(fields::NETWORK_PROTOCOL, value.to_ascii_lowercase()),
            "policyid" => event.fields.insert("rule.id", value),
            "policyname" => event.fields.insert("rule.name", value),
            "sentbyte" => insert_int(event, "source.bytes", value),
            "rcvdbyte" => insert_int(event, "destination.bytes", value),
            "sentpkt" => insert_int(event, "source.packets", value),
            "rcvdpkt" => insert_int(event, "destination.packets", value),
            "duration" => match value.parse::<i64>() {
                Ok(seconds) => event
                    .fields
                    .insert("event.duration", seconds.saturating_mul(1_000_000_000)),
                Err(_) => event.fields.insert("fortinet.firewall.duration", value),
            },
            "user" | "unauthuser" => insert_user(event, fields::USER_NAME, value),
            "srcuser" => insert_user(event, "source.user.name", value),
            "dstuser" => insert_user(event, "destination.user.name", value),
            "msg" => event.fields.insert(fields::MESSAGE, value),
            "hostname" => event.fields.insert("url.domain", value),
            "url" => event.fields.insert("url.path", value),
            "srccountry" => event.fields.insert("source.geo.country_name", value),
            "dstcountry" => event.fields.insert("destination.geo.country_name", value),
            "attack" => event.fields.insert("rule.name", value),
            "ui" => event.fields.insert("fortinet.firewall.ui", value),
            key => event
                .fields
                .insert(format!("fortinet.firewall.{key}"), value),
        }
    }
    if iter.unterminated {
        event.issue(
            kuzet_model::IssueCode::BadKeyValue,
            "fortigate log: unterminated quoted value",
        );
    }
    if let Some(result) = status_outcome.or(action_outcome) {
        event.fields.insert(fields::EVENT_OUTCOME, result);
    }
    if let Some(type_) = event
        .fields
        .get_str("fortinet.firewall.type")
        .map(str::to_owned)
    {
        match type_.as_str() {
            "traffic" => {
                set_list(event, fields::EVENT_CATEGORY, &["network"]);
                set_list(event, fields::EVENT_TYPE, &["connection"]);
            }
            "utm" => {
                set_list(
                    event,
                    fields::EVENT_CATEGORY,
                    &["network", "intrusion_detection"],
                );
            }
            _ => {}
        }
    }
    // eventtime is exact (epoch; nanoseconds since FortiOS 6.2); date/time are wall clock, in `tz` if given.
    if let Some(ts) = eventtime.as_deref().and_then(from_epoch_text) {
        set_exact_time(event, ts);
    } else if let (Some(date), Some(time)) = (date, time) {
        let zone = tz.unwrap_or_default();
        let civil = parse_iso(&format!("{date}T{time}{zone}"))
            .or_else(|| parse_iso(&format!("{date}T{time}")));
        set_resolved_time(
            event,
            civil.and_then(|c| c.resolve(ctx)),
            ctx,
            "fortigate date/time without tz",
            || format!("fortigate date `{date}` time `{time}` unreadable"),
        );
    }
}

/// A body of an unknown program that is nothing but `key=value` pairs: well-known keys to ECS, the rest under
/// `kv.<key>`.
pub(crate) fn parse_generic_kv(event: &mut Event, text: &str) {
    for pair in pairs(text) {
        let value = pair.value.as_ref();
        if value.is_empty() {
            continue;
        }
        match pair.key {
            "src" | "srcip" | "src_ip" | "source_ip" => {
                if !insert_ip(event, fields::SOURCE_IP, value) {
                    event.fields.insert(format!("kv.{}", pair.key), value);
                }
            }
            "dst" | "dstip" | "dst_ip" | "dest_ip" | "destination_ip" => {
                if !insert_ip(event, fields::DESTINATION_IP, value) {
                    event.fields.insert(format!("kv.{}", pair.key), value);
                }
            }
            "spt" | "sport" | "srcport" | "src_port" => {
                insert_port(event, fields::SOURCE_PORT, value)
            }
            "dpt" | "dport" | "dstport" | "dst_port" | "dest_port" => {
                insert_port(event, fields::DESTINATION_PORT, value)
            }
            "user" | "username" | "user_name" | "usrName" => {
                insert_user(event, fields::USER_NAME, value)
            }
            "proto" | "protocol" => event
                .fields
                .insert(fields::NETWORK_TRANSPORT, transport(value)),
            "action" => {
                event.fields.insert(fields::EVENT_ACTION, value);
                if let Some(mapped) = outcome(value) {
                    event.fields.insert(fields::EVENT_OUTCOME, mapped);
                }
            }
            key => event.fields.insert(format!("kv.{key}"), value),
        }
    }
}
