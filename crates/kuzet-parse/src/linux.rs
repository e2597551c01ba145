//! The Linux programs every ISOC reads: sshd, sudo, su, cron, systemd-logind, shadow-utils (`useradd`, `userdel`, `usermod`,
//! `groupadd`, `groupdel`, `passwd`, `chpasswd`, `gpasswd`, `chage`), PAM lines of any program, and auditd records.
//!
//! Names follow Filebeat's `system.auth` and `auditd` modules where they exist, so that detection content written
//! for them applies: `event.category` (`authentication`, `session`, `iam`, `process`), `event.type`,
//! `event.action` (`ssh_login`, `ssh_invalid_user`, `sudo_command`, `user_created`, …), `event.outcome`,
//! `user.name`, `user.effective.name`, `user.target.name`, `group.name`, `source.ip`, `source.port`,
//! `process.command_line`, `related.ip`, `related.user`.

use std::borrow::Cow;

use kuzet_model::{Event, fields};

use crate::Ctx;
use crate::common::{
    insert_host, insert_int, insert_ip, insert_port, insert_user, outcome, push_related,
    set_exact_time, set_list,
};
use crate::kv::pairs;
use crate::timefmt::from_epoch_text;

/// Parses a message of a known program; false when the program or the message is not one Kuzet knows.
pub(crate) fn parse_program(event: &mut Event, program: &str, msg: &str) -> bool {
    let base = program.split('(').next().unwrap_or(program);
    let msg = msg.trim();
    let pam_body = match msg.strip_prefix("pam_unix(") {
        Some(rest) => rest.split_once("): ").map(|(_, body)| body),
        None if program.ends_with("(pam_unix)") || msg.starts_with("PAM ") => Some(msg),
        None => None,
    };
    let handled = match pam_body {
        Some(body) => pam(event, base, body),
        None => match base {
            "sshd" => sshd(event, msg),
            "sudo" => sudo(event, msg),
            "su" => su(event, msg),
            "CRON" | "cron" | "crond" => cron(event, msg),
            "systemd-logind" => logind(event, msg),
            "useradd" | "userdel" | "usermod" | "groupadd" | "groupdel" | "groupmod" | "passwd"
            | "chpasswd" | "gpasswd" | "chage" => shadow(event, msg),
            _ => false,
        },
    };
    if handled {
        event.fields.insert_default(fields::EVENT_MODULE, "system");
        event
            .fields
            .insert_default(fields::EVENT_DATASET, "system.auth");
    }
    handled
}

fn authentication(event: &mut Event, action: &str, result: Option<&str>) {
    event.fields.insert(fields::EVENT_ACTION, action);
    set_list(event, fields::EVENT_CATEGORY, &["authentication"]);
    match result {
        Some("success") => set_list(event, fields::EVENT_TYPE, &["start"]),
        _ => set_list(event, fields::EVENT_TYPE, &["info"]),
    }
    if let Some(result) = result {
        event.fields.insert(fields::EVENT_OUTCOME, result);
    }
}

/// `<ip> port <port>` or `<ip>` at the start of `text`; sets source.ip/port.
fn source_endpoint(event: &mut Event, text: &str) {
    let mut words = text.split_whitespace();
    if let Some(ip) = words.next() {
        let ip = ip.trim_end_matches(':');
        if !insert_ip(event, fields::SOURCE_IP, ip) {
            insert_host(event, "source", ip);
        }
    }
    if words.next() == Some("port")
        && let Some(port) = words.next()
    {
        insert_port(
            event,
            fields::SOURCE_PORT,
            port.split(':').next().unwrap_or(port),
        );
    }
}

/// `[invalid user ]<user> from <ip> port <port>…`
fn user_from(event: &mut Event, text: &str) -> bool {
    let (invalid, text) = match text.strip_prefix("invalid user ") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let Some(at) = text.rfind(" from ") else {
        return false;
    };
    insert_user(event, fields::USER_NAME, &text[..at]);
    source_endpoint(event, &text[at + 6..]);
    if invalid {
        event.fields.insert("system.auth.ssh.invalid_user", true);
    }
    true
}

fn sshd(event: &mut Event, msg: &str) -> bool {
    for (verb, result) in [("Accepted ", "success"), ("Failed ", "failure")] {
        if let Some(rest) = msg.strip_prefix(verb) {
            let Some((method, rest)) = rest.split_once(" for ") else {
                return false;
            };
            authentication(event, "ssh_login", Some(result));
            event.fields.insert("system.auth.ssh.event", verb.trim());
            event.fields.insert("system.auth.ssh.method", method);
            user_from(event, rest);
            if let Some((_, key)) = rest.split_once(": ") {
                event.fields.insert("system.auth.ssh.signature", key.trim());
            }
            return true;
        }
    }
    if let Some(rest) = msg.strip_prefix("Invalid user ") {
        authentication(event, "ssh_invalid_user", Some("failure"));
        event.fields.insert("system.auth.ssh.event", "Invalid");
        return user_from(event, rest) || {
            insert_user(event, fields::USER_NAME, rest);
            true
        };
    }
    if let Some(at) = msg.find("maximum authentication attempts exceeded for ") {
        authentication(event, "ssh_max_auth_attempts", Some("failure"));
        user_from(
            event,
            &msg[at + "maximum authentication attempts exceeded for ".len()..],
        );
        return true;
    }
    if let Some(rest) = msg.strip_prefix("Disconnecting authenticating user ") {
        if rest.contains("Too many authentication failures") {
            authentication(event, "ssh_max_auth_attempts", Some("failure"));
        } else {
            session(event, "ssh_disconnect", "end");
        }
        if let Some((user, endpoint)) = rest.split_once(' ') {
            insert_user(event, fields::USER_NAME, user);
            source_endpoint(event, endpoint);
        }
        return true;
    }
    for prefix in [
        "Disconnected from ",
        "Received disconnect from ",
        "Connection closed by ",
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            session(event, "ssh_disconnect", "end");
            let rest = ["authenticating user ", "invalid user ", "user "]
                .iter()
                .find_map(|p| rest.strip_prefix(p))
                .map(|with_user| {
                    let (user, endpoint) = with_user.split_once(' ').unwrap_or((with_user, ""));
                    insert_user(event, fields::USER_NAME, user);
                    endpoint
                })
                .unwrap_or(rest);
            source_endpoint(event, rest);
            return true;
        }
    }
    false
}

fn session(event: &mut Event, action: &str, kind: &str) {
    event.fields.insert(fields::EVENT_ACTION, action);
    set_list(event, fields::EVENT_CATEGORY, &["session"]);
    set_list(event, fields::EVENT_TYPE, &[kind]);
}

/// `name(uid=N)` → `name`.
fn strip_uid(user: &str) -> &str {
    user.split('(').next().unwrap_or(user).trim()
}

fn pam(event: &mut Event, service: &str, body: &str) -> bool {
    if let Some(rest) = body.strip_prefix("authentication failure;") {
        authentication(event, "authentication_failure", Some("failure"));
        let mut user = None;
        let mut ruser = None;
        for pair in pairs(rest) {
            match pair.key {
                "user" => user = Some(pair.value.into_owned()),
                "ruser" | "logname" if ruser.is_none() && !pair.value.is_empty() => {
                    ruser = Some(pair.value.into_owned())
                }
                "rhost" => insert_host(event, "source", &pair.value),
                "tty" => event.fields.insert_text("system.auth.pam.tty", &pair.value),
                _ => {}
            }
        }
        if let Some(user) = user.or(ruser) {
            insert_user(event, fields::USER_NAME, &user);
        }
        return true;
    }
    // `PAM 2 more authentication failures; logname= uid=0 … rhost=1.2.3.4  user=root`
    if let Some((count, rest)) = body
        .strip_prefix("PAM ")
        .and_then(|rest| rest.split_once(" more authentication failure"))
        && let Ok(count) = count.parse::<i64>()
    {
        let rest = rest.trim_start_matches('s').trim_start_matches(';');
        pam(event, service, &format!("authentication failure;{rest}"));
        event.fields.insert("system.auth.pam.more_failures", count);
        return true;
    }
    if body.starts_with("check pass; user unknown") {
        authentication(event, "authentication_failure", Some("failure"));
        event.fields.insert("event.reason", "user unknown");
        return true;
    }
    for (prefix, action, kind) in [
        ("session opened for user ", "session_opened", "start"),
        ("session closed for user ", "session_closed", "end"),
    ] {
        if let Some(rest) = body.strip_prefix(prefix) {
            session(event, action, kind);
            let (target, by) = match rest.split_once(" by ") {
                Some((target, by)) => (strip_uid(target), strip_uid(by)),
                None => (strip_uid(rest), ""),
            };
            if matches!(service, "su" | "sudo" | "su-l") && !by.is_empty() {
                insert_user(event, fields::USER_NAME, by);
                insert_user(event, "user.effective.name", target);
            } else {
                insert_user(event, fields::USER_NAME, target);
            }
            return true;
        }
    }
    if let Some(user) = body.strip_prefix("password changed for ") {
        iam(event, "password_changed", &["user", "change"]);
        insert_user(event, fields::USER_TARGET_NAME, user);
        return true;
    }
    false
}

fn sudo(event: &mut Event, msg: &str) -> bool {
    let Some((user, rest)) = msg.split_once(" : ") else {
        return false;
    };
    let user = user.trim();
    if user.is_empty() || user.contains(' ') {
        return false;
    }
    // COMMAND comes last and may itself contain ` ; `.
    let (settings, command) = match rest.find("COMMAND=") {
        Some(at) => (&rest[..at], Some(rest[at + 8..].trim())),
        None => (rest, None),
    };
    let mut error = None;
    for segment in settings.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        match segment.split_once('=') {
            Some(("TTY", v)) => event.fields.insert("system.auth.sudo.tty", v),
            Some(("PWD", v)) => event.fields.insert("system.auth.sudo.pwd", v),
            Some(("USER", v)) => {
                event.fields.insert("system.auth.sudo.user", v);
                insert_user(event, "user.effective.name", v);
            }
            Some(("GROUP", v)) => event.fields.insert("group.name", v),
            Some(_) => {}
            None => error = Some(segment),
        }
    }
    insert_user(event, fields::USER_NAME, user);
    event.fields.insert(fields::EVENT_ACTION, "sudo_command");
    if let Some(command) = command {
        event.fields.insert("system.auth.sudo.command", command);
        event.fields.insert(fields::PROCESS_COMMAND_LINE, command);
        if let Some(executable) = command.split_whitespace().next() {
            event.fields.insert(fields::PROCESS_EXECUTABLE, executable);
        }
    }
    match error {
        Some(error) => {
            event.fields.insert("system.auth.sudo.error", error);
            event.fields.insert("event.reason", error);
            event.fields.insert(fields::EVENT_OUTCOME, "failure");
            set_list(
                event,
                fields::EVENT_CATEGORY,
                &["process", "authentication"],
            );
            set_list(event, fields::EVENT_TYPE, &["info"]);
        }
        None => {
            event.fields.insert(fields::EVENT_OUTCOME, "success");
            set_list(event, fields::EVENT_CATEGORY, &["process"]);
            set_list(event, fields::EVENT_TYPE, &["start"]);
        }
    }
    true
}

fn su(event: &mut Event, msg: &str) -> bool {
    // util-linux: `(to root) alice on pts/0`, `FAILED SU (to root) alice on pts/0`.
    let (failed, rest) = match msg.strip_prefix("FAILED SU ") {
        Some(rest) => (true, rest),
        None => (false, msg),
    };
    if let Some(rest) = rest.strip_prefix("(to ") {
        let Some((target, rest)) = rest.split_once(") ") else {
            return false;
        };
        let user = rest.split(" on ").next().unwrap_or(rest);
        authentication(
            event,
            "su",
            Some(if failed { "failure" } else { "success" }),
        );
        insert_user(event, fields::USER_NAME, user);
        insert_user(event, "user.effective.name", target);
        if let Some((_, tty)) = rest.split_once(" on ") {
            event.fields.insert("system.auth.su.tty", tty.trim());
        }
        return true;
    }
    // shadow-utils: `Successful su for root by alice`, `FAILED su for root by alice`.
    for (prefix, result) in [
        ("Successful su for ", "success"),
        ("FAILED su for ", "failure"),
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let Some((target, user)) = rest.split_once(" by ") else {
                return false;
            };
            authentication(event, "su", Some(result));
            insert_user(event, fields::USER_NAME, user);
            insert_user(event, "user.effective.name", target);
            return true;
        }
    }
    false
}

/// `(root) CMD (run-parts /etc/cron.hourly)`: what cron ran and as whom (persistence via crontab shows up here).
fn cron(event: &mut Event, msg: &str) -> bool {
    let Some(rest) = msg.strip_prefix('(') else {
        return false;
    };
    let Some((user, rest)) = rest.split_once(") CMD (") else {
        return false;
    };
    let command = rest.strip_suffix(')').unwrap_or(rest);
    insert_user(event, fields::USER_NAME, user);
    event.fields.insert(fields::PROCESS_COMMAND_LINE, command);
    event.fields.insert(fields::EVENT_ACTION, "cron_command");
    set_list(event, fields::EVENT_CATEGORY, &["process"]);
    set_list(event, fields::EVENT_TYPE, &["start"]);
    true
}

/// `New session 42 of user deploy.` / `Removed session 42.`
fn logind(event: &mut Event, msg: &str) -> bool {
    let msg = msg.trim_end_matches('.');
    if let Some(rest) = msg.strip_prefix("New session ") {
        let Some((id, user)) = rest.split_once(" of user ") else {
            return false;
        };
        session(event, "session_opened", "start");
        event.fields.insert("system.auth.session.id", id);
        insert_user(event, fields::USER_NAME, user);
        return true;
    }
    if let Some(id) = msg.strip_prefix("Removed session ") {
        session(event, "session_closed", "end");
        event.fields.insert("system.auth.session.id", id);
        return true;
    }
    false
}

fn iam(event: &mut Event, action: &str, types: &[&str]) {
    event.fields.insert(fields::EVENT_ACTION, action);
    set_list(event, fields::EVENT_CATEGORY, &["iam"]);
    set_list(event, fields::EVENT_TYPE, types);
    event.fields.insert(fields::EVENT_OUTCOME, "success");
}

/// The `'quoted'` words of a shadow-utils message, in order.
fn quoted(msg: &str) -> Vec<&str> {
    msg.split('\'').skip(1).step_by(2).collect()
}

/// `name=bob, UID=1001, GID=1001, home=/home/bob` → pairs.
fn comma_pairs(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split(", ")
        .filter_map(|part| part.trim().split_once('='))
}

fn shadow(event: &mut Event, msg: &str) -> bool {
    if let Some(rest) = msg.strip_prefix("new user: ") {
        iam(event, "user_created", &["user", "creation"]);
        for (key, value) in comma_pairs(rest) {
            match key {
                "name" => insert_user(event, fields::USER_TARGET_NAME, value),
                "UID" => insert_int(event, "user.target.id", value),
                "GID" => insert_int(event, "user.target.group.id", value),
                "home" => event.fields.insert("system.auth.useradd.home", value),
                "shell" => event.fields.insert("system.auth.useradd.shell", value),
                _ => {}
            }
        }
        return true;
    }
    let group_created = [
        "new group: ",
        "group added to /etc/group: ",
        "group added to /etc/gshadow: ",
    ]
    .iter()
    .find_map(|p| msg.strip_prefix(p));
    if let Some(rest) = group_created {
        iam(event, "group_created", &["group", "creation"]);
        for (key, value) in comma_pairs(rest) {
            match key {
                "name" => event.fields.insert(fields::GROUP_NAME, value),
                "GID" => insert_int(event, "group.id", value),
                _ => {}
            }
        }
        return true;
    }
    let words = quoted(msg);
    let table: [(&str, &str, &[&str]); 11] = [
        ("delete user ", "user_deleted", &["user", "deletion"]),
        ("removed group ", "group_deleted", &["group", "deletion"]),
        ("group ", "group_deleted", &["group", "deletion"]),
        ("add ", "user_added_to_group", &["group", "change"]),
        ("delete ", "user_removed_from_group", &["group", "change"]),
        ("change user name ", "user_renamed", &["user", "change"]),
        ("change user ", "user_changed", &["user", "change"]),
        ("lock user ", "user_locked", &["user", "change"]),
        ("unlock user ", "user_unlocked", &["user", "change"]),
        ("password for ", "password_changed", &["user", "change"]),
        (
            "changed password expiry for ",
            "password_expiry_changed",
            &["user", "change"],
        ),
    ];
    for (prefix, action, types) in table {
        if !msg.starts_with(prefix) {
            continue;
        }
        if prefix == "group " && !msg.ends_with(" removed") {
            continue;
        }
        let mut action = action;
        if action == "user_changed" && msg.ends_with(" password") {
            action = "password_changed";
        }
        match action {
            "group_deleted" => {
                if let Some(group) = words.first() {
                    event.fields.insert(fields::GROUP_NAME, *group);
                }
            }
            "user_added_to_group" | "user_removed_from_group" => {
                let (Some(user), Some(group)) = (words.first(), words.get(1)) else {
                    return false;
                };
                insert_user(event, fields::USER_TARGET_NAME, user);
                event.fields.insert(fields::GROUP_NAME, *group);
            }
            "password_expiry_changed" => {
                insert_user(event, fields::USER_TARGET_NAME, &msg[prefix.len()..]);
            }
            _ => {
                let Some(user) = words.first() else {
                    return false;
                };
                insert_user(event, fields::USER_TARGET_NAME, user);
                if action == "password_changed"
                    && let Some(by) = words.get(1)
                {
                    insert_user(event, fields::USER_NAME, by);
                }
            }
        }
        iam(event, action, types);
        return true;
    }
    false
}

/// Whether a body is an auditd record (`type=… msg=audit(…)`, optionally after `node=…`).
pub(crate) fn is_auditd(text: &str) -> bool {
    (text.starts_with("type=") || text.starts_with("node="))
        && memchr::memmem::find(text.as_bytes(), b"msg=audit(").is_some()
}

/// Keys auditd writes hex-encoded (without quotes) when the value contains spaces or control characters.
const HEX_KEYS: [&str; 12] = [
    "proctitle",
    "cmd",
    "exe",
    "comm",
    "acct",
    "cwd",
    "name",
    "data",
    "path",
    "new",
    "old",
    "ocomm",
];

fn decode_hex(value: &str) -> Option<String> {
    if value.len() < 2
        || !value.len().is_multiple_of(2)
        || !value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        return None;
    }
    let mut bytes = Vec::with_capacity(value.len() / 2);
    for pair in value.as_bytes().chunks(2) {
        let text = std::str::from_utf8(pair).ok()?;
        bytes.push(u8::from_str_radix(text, 16).ok()?);
    }
    // proctitle separates argv with NUL.
    let text: String = String::from_utf8_lossy(&bytes).replace('\0', " ");
    Some(text.trim_end().to_owned())
}

fn audit_category(record_type: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match record_type {
        "USER_AUTH" | "USER_LOGIN" | "USER_ERR" | "LOGIN" | "CRED_ACQ" | "CRED_DISP"
        | "CRED_REFR" | "USER_START" | "USER_END" => (&["authentication"], &["info"]),
        "ADD_USER" => (&["iam"], &["user", "creation"]),
        "DEL_USER" => (&["iam"], &["user", "deletion"]),
        "ADD_GROUP" => (&["iam"], &["group", "creation"]),
        "DEL_GROUP" => (&["iam"], &["group", "deletion"]),
        "USER_CHAUTHTOK" | "USER_MGMT" | "GRP_MGMT" | "ACCT_LOCK" | "ACCT_UNLOCK" => {
            (&["iam"], &["change"])
        }
        "EXECVE" => (&["process"], &["start"]),
        "SERVICE_START" => (&["process"], &["start"]),
        "SERVICE_STOP" => (&["process"], &["end"]),
        "AVC" => (&["process"], &["denied"]),
        _ => return None,
    })
}

pub(crate) fn parse_auditd(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    let _ = ctx;
    event.fields.insert(fields::EVENT_MODULE, "auditd");
    event.fields.insert(fields::EVENT_DATASET, "auditd.log");
    // The ENRICHED log format appends the interpreted names after a GS (0x1d) separator.
    let text: Cow<'_, str> = if text.contains('\u{1d}') {
        Cow::Owned(text.replace('\u{1d}', " "))
    } else {
        Cow::Borrowed(text)
    };
    let mut record_type = String::new();
    let mut execve_args: Vec<(usize, String)> = Vec::new();
    let mut stack: Vec<Cow<'_, str>> = vec![Cow::Borrowed(text.as_ref())];
    while let Some(chunk) = stack.pop() {
        let mut collected = Vec::new();
        for pair in pairs(&chunk) {
            let key = pair.key;
            let value = pair.value;
            if key == "msg" {
                if let Some(header) = value.strip_prefix("audit(") {
                    audit_header(event, header);
                    // `msg=audit(…): rest` — the iterator already consumed `audit(…):` as the value.
                    continue;
                }
                if pair.quoted {
                    collected.push(value.into_owned());
                    continue;
                }
            }
            let decoded = if !pair.quoted
                && (HEX_KEYS.contains(&key) || (record_type == "EXECVE" && is_arg(key)))
            {
                decode_hex(&value).map(Cow::Owned).unwrap_or(value)
            } else {
                value
            };
            if key == "type" {
                record_type = decoded.to_string();
            }
            if record_type == "EXECVE"
                && is_arg(key)
                && let Ok(index) = key[1..].parse::<usize>()
            {
                execve_args.push((index, decoded.to_string()));
            }
            audit_field(event, key, &decoded);
        }
        stack.extend(collected.into_iter().map(Cow::Owned));
    }
    if !execve_args.is_empty() {
        execve_args.sort_by_key(|(i, _)| *i);
        let args: Vec<kuzet_model::Value> = execve_args
            .iter()
            .map(|(_, a)| kuzet_model::Value::from(a.as_str()))
            .collect();
        let line = execve_args
            .iter()
            .map(|(_, a)| a.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        event
            .fields
            .insert("process.args", kuzet_model::Value::Array(args));
        event.fields.insert(fields::PROCESS_COMMAND_LINE, line);
    }
    if !record_type.is_empty() {
        event
            .fields
            .insert(fields::EVENT_ACTION, record_type.to_ascii_lowercase());
        if let Some((category, types)) = audit_category(&record_type) {
            set_list(event, fields::EVENT_CATEGORY, category);
            set_list(event, fields::EVENT_TYPE, types);
        }
    }
}

fn is_arg(key: &str) -> bool {
    key.len() > 1 && key.starts_with('a') && key[1..].bytes().all(|b| b.is_ascii_digit())
}

/// `1700000000.123:456):` → time and sequence.
fn audit_header(event: &mut Event, header: &str) {
    let header = header.trim_end_matches(':').trim_end_matches(')');
    let (epoch, serial) = header.split_once(':').unwrap_or((header, ""));
    if let Some(ts) = from_epoch_text(epoch) {
        set_exact_time(event, ts);
    }
    insert_int(event, "auditd.log.sequence", serial);
}

/// auditd's "unset" id (-1 as u32).
const UNSET_ID: &str = "4294967295";

fn audit_field(event: &mut Event, key: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    match key {
        "type" => event.fields.insert("auditd.log.record_type", value),
        "node" => event.fields.insert("auditd.log.node", value),
        _ => event.fields.insert(format!("auditd.log.{key}"), value),
    }
    let known = value != "?" && value != "(null)" && value != "(none)";
    if !known {
        return;
    }
    match key {
        "uid" if value != UNSET_ID => event.fields.insert(fields::USER_ID, value),
        "auid" if value != UNSET_ID => event.fields.insert("user.audit.id", value),
        "euid" if value != UNSET_ID => event.fields.insert("user.effective.id", value),
        "gid" if value != UNSET_ID => event.fields.insert("user.group.id", value),
        "UID" => insert_user(event, fields::USER_NAME, value),
        "AUID" if value != "unset" => event.fields.insert("user.audit.name", value),
        "EUID" => event.fields.insert("user.effective.name", value),
        "acct" => insert_user(event, fields::USER_NAME, value),
        "pid" => insert_int(event, fields::PROCESS_PID, value),
        "ppid" => insert_int(event, "process.parent.pid", value),
        "exe" => event.fields.insert(fields::PROCESS_EXECUTABLE, value),
        "comm" => event.fields.insert(fields::PROCESS_NAME, value),
        "cwd" => event.fields.insert("process.working_directory", value),
        "proctitle" => {
            event.fields.insert("process.title", value);
            event
                .fields
                .insert_default(fields::PROCESS_COMMAND_LINE, value);
        }
        "addr" => {
            insert_ip(event, fields::SOURCE_IP, value);
        }
        "hostname" if !event.fields.contains(fields::SOURCE_IP) => {
            insert_host(event, "source", value);
        }
        "res" | "success" => {
            if let Some(result) = outcome(value) {
                event.fields.insert(fields::EVENT_OUTCOME, result);
            }
        }
        "key" => push_related(event, "tags", value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_values_decode_only_when_hex() {
        assert_eq!(
            decode_hex("2F62696E2F6C73002D6C61").as_deref(),
            Some("/bin/ls -la")
        );
        assert_eq!(decode_hex("/bin/ls"), None);
        assert_eq!(decode_hex("ABC"), None);
        assert_eq!(decode_hex("abcd"), None);
    }

    #[test]
    fn shadow_quoted_words() {
        assert_eq!(quoted("add 'bob' to group 'sudo'"), vec!["bob", "sudo"]);
    }
}
