//! Windows event logs: splitting a whole `.evtx` file into records (rendered as JSON by the `evtx` crate) and
//! mapping one record's JSON to ECS.
//!
//! The two halves meet at the record JSON because that is also what arrives over the wire (`FormatHint::Evtx`,
//! from shippers that render records themselves) and what the write-ahead log keeps as `event.original`: a file
//! import and a live feed then produce the same events. The JSON shape is the evtx crate's, pinned to one version
//! in the workspace manifest because it changes between releases.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use evtx::{EvtxParser, IntoIterChunks, ParserSettings};
use kuzet_model::{Event, Fields, IssueCode, Value, fields};

/// Why a part of an `.evtx` file could not be read. The iteration goes on with the next record or chunk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvtxError {
    #[error("evtx file: {reason}")]
    File { reason: String },
    #[error("evtx chunk {chunk}: {reason}")]
    Chunk { chunk: u64, reason: String },
    #[error("evtx chunk {chunk} record {record}: {reason}")]
    Record {
        chunk: u64,
        record: u64,
        reason: String,
    },
    /// A record whose header is damaged, so that its number is unknown.
    #[error("evtx chunk {chunk} record at offset {offset:#x}: {reason}")]
    RecordAt {
        chunk: u64,
        offset: u64,
        reason: String,
    },
}

impl EvtxError {
    fn from_decoder(chunk: u64, error: &evtx::err::EvtxError) -> Self {
        let reason = error_chain(error);
        match error {
            evtx::err::EvtxError::FailedToParseRecord { record_id, .. } => EvtxError::Record {
                chunk,
                record: *record_id,
                reason,
            },
            evtx::err::EvtxError::FailedToReadRecordAt { offset, .. } => EvtxError::RecordAt {
                chunk,
                offset: *offset,
                reason,
            },
            evtx::err::EvtxError::FailedToParseChunk { chunk_id, .. } => EvtxError::Chunk {
                chunk: *chunk_id,
                reason,
            },
            _ => EvtxError::Chunk { chunk, reason },
        }
    }
}

/// The decoder's messages say only the outermost step ("failed to parse record number 7"); the cause is in the
/// source chain, so the reason carries all of it.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}

/// Splits a whole `.evtx` file into its records rendered as JSON, one `Vec<u8>` per record, in record order.
/// A damaged chunk or record yields an `Err` naming it and the iteration continues; it never panics.
pub fn records(file: Vec<u8>) -> Records {
    let settings = Arc::new(
        // One thread is what this build of `evtx` does anyway (its multithreading feature is off); saying so
        // only makes it print a warning on every import.
        ParserSettings::new()
            .indent(false)
            .separate_json_attributes(false),
    );
    let chunks = match EvtxParser::from_buffer(file) {
        Ok(parser) => Some(parser.with_configuration((*settings).clone()).into_chunks()),
        Err(error) => {
            let mut pending = VecDeque::new();
            pending.push_back(Err(EvtxError::File {
                reason: error_chain(&error),
            }));
            return Records {
                chunks: None,
                settings,
                pending,
                chunks_seen: 0,
            };
        }
    };
    Records {
        chunks,
        settings,
        pending: VecDeque::new(),
        chunks_seen: 0,
    }
}

/// The iterator [`records`] returns. It renders one chunk (64 KiB, typically a hundred records) at a time, so
/// memory stays bounded by a chunk's output whatever the file's size.
pub struct Records {
    chunks: Option<IntoIterChunks<std::io::Cursor<Vec<u8>>>>,
    settings: Arc<ParserSettings>,
    pending: VecDeque<Result<Vec<u8>, EvtxError>>,
    chunks_seen: u64,
}

impl Iterator for Records {
    type Item = Result<Vec<u8>, EvtxError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            let chunks = self.chunks.as_mut()?;
            let Some(chunk) = chunks.next() else {
                self.chunks = None;
                return None;
            };
            // Chunks come in record order, which starts at the oldest chunk, not at the file's first one: the
            // position is only a fallback name for a chunk the decoder did not number.
            let chunk_index = match &chunk {
                Ok(data) => data.number.unwrap_or(self.chunks_seen),
                Err(_) => self.chunks_seen,
            };
            self.chunks_seen += 1;
            let settings = Arc::clone(&self.settings);
            let pending = &mut self.pending;
            // The evtx crate is fuzzed and meant not to panic; this keeps one hostile chunk from taking the whole
            // file (or the ingest thread) down if it ever does.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                render_chunk(chunk, chunk_index, settings)
            }));
            match outcome {
                Ok(items) => pending.extend(items),
                Err(_) => pending.push_back(Err(EvtxError::Chunk {
                    chunk: chunk_index,
                    reason: "the evtx decoder panicked".to_owned(),
                })),
            }
        }
    }
}

fn render_chunk(
    chunk: evtx::err::Result<evtx::EvtxChunkData>,
    fallback_number: u64,
    settings: Arc<ParserSettings>,
) -> Vec<Result<Vec<u8>, EvtxError>> {
    let mut chunk_data = match chunk {
        Ok(chunk_data) => chunk_data,
        Err(error) => {
            return vec![Err(EvtxError::from_decoder(fallback_number, &error))];
        }
    };
    let number = chunk_data.number.unwrap_or(fallback_number);
    let mut parsed = match chunk_data.parse(settings) {
        Ok(parsed) => parsed,
        Err(error) => {
            return vec![Err(EvtxError::Chunk {
                chunk: number,
                reason: error_chain(&error),
            })];
        }
    };
    let mut out = Vec::new();
    for record in parsed.iter() {
        let rendered = record.and_then(|record| record.into_json_bytes());
        out.push(match rendered {
            Ok(serialized) => Ok(serialized.data),
            Err(error) => Err(EvtxError::from_decoder(number, &error)),
        });
    }
    out
}

/// Fills `event` (which already holds its id, tenant, source, times and original bytes) from one record's JSON as
/// [`records`] renders it: `@timestamp` from `System.TimeCreated`, the `winlog.*` fields, every `EventData` value
/// under `winlog.event_data.<Name>` exactly as Windows names it (Sigma rules use those names), `UserData` under
/// `winlog.user_data.*`, and ECS fields for the Security, System, Sysmon and PowerShell channels.
///
/// JSON that is not a Windows event record becomes an [`IssueCode::BadEvtx`] issue; it never panics.
pub fn parse_record(event: &mut Event, json: &[u8]) {
    let document: Node<'_> = match serde_json::from_slice(json) {
        Ok(document) => document,
        Err(error) => {
            event.issue(
                IssueCode::BadEvtx,
                format!("evtx record: invalid json: {error}"),
            );
            return;
        }
    };
    let Some(root) = document.get("Event").and_then(Node::as_object) else {
        event.issue(IssueCode::BadEvtx, "evtx record: no `Event` object");
        return;
    };
    event.fields.insert(fields::EVENT_KIND, "event");

    let system = root.get("System").and_then(Node::as_object);
    let header = match system {
        Some(system) => map_system(event, system),
        None => {
            event.issue(IssueCode::BadEvtx, "evtx record: no `System` element");
            SystemHeader::default()
        }
    };

    let mut data = EventData::default();
    if let Some(event_data) = root.get("EventData") {
        data = map_event_data(&mut event.fields, event_data);
    }
    if let Some(user_data) = root.get("UserData") {
        // UserData holds one provider-defined element (e.g. `LogFileCleared`); its children are the values.
        if let Some((xml_name, inner)) = user_data
            .as_object()
            .and_then(|map| map.iter().find(|(name, _)| !name.starts_with('#')))
        {
            event.fields.insert("winlog.user_data.xml_name", xml_name);
            insert_flattened(&mut event.fields, "winlog.user_data", inner);
            if data.named.is_none() {
                data.named = inner.as_object();
            }
        }
    }
    if let Some(rendering) = root.get("RenderingInfo").and_then(Node::as_object) {
        map_rendering_info(&mut event.fields, rendering);
    }

    match channel_kind(&header) {
        ChannelKind::Security => map_security(&mut event.fields, &header, &data),
        ChannelKind::System => map_system_channel(&mut event.fields, &header, &data),
        ChannelKind::Sysmon => map_sysmon(&mut event.fields, &header, &data),
        ChannelKind::PowerShell => map_powershell(&mut event.fields, &header, &data),
        ChannelKind::Other => {}
    }
}

/// Whether `json` starts like a record [`records`] renders (`{"Event":{…`, whitespace allowed), so that the
/// `Auto` and `Json` paths can hand such documents to [`parse_record`]. Looks at the first bytes only.
pub fn looks_like_record(json: &[u8]) -> bool {
    let mut rest = json;
    for expected in [&b"{"[..], b"\"Event\"", b":", b"{"] {
        let start = rest
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(rest.len());
        rest = &rest[start..];
        match rest.strip_prefix(expected) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    true
}

/// What the mappings by channel need from `System`, borrowed from the record's JSON.
#[derive(Debug, Default)]
struct SystemHeader<'a> {
    channel: &'a str,
    provider: &'a str,
    event_id: Option<i64>,
    keywords: Option<u64>,
}

fn map_system<'a>(event: &mut Event, system: &'a Obj<'a>) -> SystemHeader<'a> {
    let mut header = SystemHeader::default();
    let fields = &mut event.fields;

    if let Some(provider) = system.get("Provider").and_then(attributes) {
        if let Some(name) = provider.get("Name").and_then(Node::as_str) {
            header.provider = name;
            fields.insert_text(fields::WINLOG_PROVIDER_NAME, name);
            fields.insert_text(fields::EVENT_PROVIDER, name);
        }
        if let Some(guid) = provider.get("Guid").and_then(Node::as_str) {
            fields.insert_text("winlog.provider_guid", guid);
        }
        if let Some(source) = provider.get("EventSourceName").and_then(Node::as_str) {
            fields.insert_text("winlog.event_source", source);
        }
    }

    // `EventID` is a number, or `{"#attributes": {"Qualifiers": …}, "#text": number}` for classic providers.
    if let Some(event_id) = system.get("EventID") {
        let (value, qualifiers) = match event_id {
            Node::Object(map) => (
                map.get("#text"),
                attributes(event_id).and_then(|a| a.get("Qualifiers")),
            ),
            other => (Some(other), None),
        };
        if let Some(id) = value.and_then(json_i64) {
            header.event_id = Some(id);
            fields.insert(fields::WINLOG_EVENT_ID, id);
            fields.insert(fields::EVENT_CODE, id.to_string());
        }
        if let Some(qualifiers) = qualifiers.and_then(json_i64) {
            fields.insert("winlog.event_qualifiers", qualifiers);
        }
    }
    for (name, field) in [
        ("Version", "winlog.version"),
        ("Task", "winlog.task"),
        ("Opcode", "winlog.opcode"),
    ] {
        if let Some(value) = system.get(name).and_then(json_i64) {
            fields.insert(field, value);
        }
    }
    if let Some(level) = system.get("Level").and_then(json_i64) {
        if let Some(name) = level_name(level) {
            fields.insert(fields::LOG_LEVEL, name);
        }
        fields.insert("winlog.level", level);
    }
    if let Some(keywords) = system.get("Keywords").and_then(Node::as_str) {
        fields.insert_text("winlog.keywords", keywords);
        // The audit bits are the top ones, so the mask is read unsigned.
        header.keywords = keywords
            .trim()
            .strip_prefix("0x")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok());
    }

    match system
        .get("TimeCreated")
        .and_then(attributes)
        .and_then(|a| a.get("SystemTime"))
        .and_then(Node::as_str)
    {
        Some(text) => match text.parse::<jiff::Timestamp>() {
            Ok(timestamp) => event.timestamp = timestamp,
            Err(error) => event.issues.push(kuzet_model::ParseIssue {
                code: IssueCode::BadTimestamp,
                message: format!("evtx record: TimeCreated `{text}`: {error}"),
            }),
        },
        None => event.issues.push(kuzet_model::ParseIssue {
            code: IssueCode::NoTimestamp,
            message: "evtx record: no System.TimeCreated".to_owned(),
        }),
    }
    let fields = &mut event.fields;

    if let Some(record_id) = system.get("EventRecordID").and_then(json_i64) {
        fields.insert(fields::WINLOG_RECORD_ID, record_id);
    }
    if let Some(correlation) = system.get("Correlation").and_then(attributes) {
        if let Some(id) = correlation.get("ActivityID").and_then(Node::as_str) {
            fields.insert_text("winlog.activity_id", id);
        }
        if let Some(id) = correlation.get("RelatedActivityID").and_then(Node::as_str) {
            fields.insert_text("winlog.related_activity_id", id);
        }
    }
    if let Some(execution) = system.get("Execution").and_then(attributes) {
        if let Some(pid) = execution.get("ProcessID").and_then(json_i64) {
            fields.insert("winlog.process.pid", pid);
        }
        if let Some(tid) = execution.get("ThreadID").and_then(json_i64) {
            fields.insert("winlog.process.thread.id", tid);
        }
    }
    if let Some(channel) = system.get("Channel").and_then(Node::as_str) {
        header.channel = channel;
        fields.insert_text(fields::WINLOG_CHANNEL, channel);
    }
    if let Some(computer) = system.get("Computer").and_then(Node::as_str) {
        fields.insert_text(fields::WINLOG_COMPUTER_NAME, computer);
        fields.insert_text(fields::HOST_NAME, computer);
    }
    if let Some(user) = system
        .get("Security")
        .and_then(attributes)
        .and_then(|a| a.get("UserID"))
        .and_then(Node::as_str)
    {
        fields.insert_text("winlog.user.identifier", user);
    }
    header
}

/// Windows event levels (`System.Level`). 0 ("log always") is what the Security log writes; Event Viewer shows
/// it as information.
fn level_name(level: i64) -> Option<&'static str> {
    Some(match level {
        0 | 4 => "information",
        1 => "critical",
        2 => "error",
        3 => "warning",
        5 => "verbose",
        _ => return None,
    })
}

/// Forwarded events carry the rendered message and the names of level, task and keywords.
fn map_rendering_info(fields: &mut Fields, rendering: &Obj<'_>) {
    if let Some(message) = rendering.get("Message").and_then(Node::as_str) {
        fields.insert_text(fields::MESSAGE, message);
    }
    if let Some(level) = rendering.get("Level").and_then(Node::as_str) {
        let level = level.trim().to_ascii_lowercase();
        if !level.is_empty() {
            fields.insert(fields::LOG_LEVEL, level);
        }
    }
}

/// A record's event data: the named values (`<Data Name="…">`, or the children of `UserData`'s element), and the
/// unnamed ones in order (classic providers such as `Windows PowerShell` and the Service Control Manager's 7036).
#[derive(Debug, Default)]
struct EventData<'a> {
    named: Option<&'a Obj<'a>>,
    unnamed: Vec<&'a str>,
}

impl<'a> EventData<'a> {
    /// A named value as text, `None` when absent, empty or the `-` placeholder.
    fn text(&self, name: &str) -> Option<&'a str> {
        let value = self.named?.get(name)?;
        let text = match value {
            Node::Str(s) => s.as_ref(),
            Node::Object(map) => map.get("#text")?.as_str()?,
            _ => return None,
        }
        .trim();
        (!text.is_empty() && text != "-").then_some(text)
    }

    /// Copies each named value present as text (see [`EventData::text`]) to its field, in table order: most of
    /// the per-event mapping is this one rename, so it is written as a table of `(name, field)` pairs.
    fn copy_texts(&self, fields: &mut Fields, pairs: &[(&str, &str)]) {
        for &(name, field) in pairs {
            if let Some(text) = self.text(name) {
                fields.insert(field, text);
            }
        }
    }

    /// A named value as an integer: JSON numbers, decimal text and `0x` hex text (Security writes pids in hex).
    fn int(&self, name: &str) -> Option<i64> {
        let value = self.named?.get(name)?;
        match value {
            Node::Int(_) | Node::UInt(_) | Node::Float(_) => json_i64(value),
            Node::Str(s) => parse_int(s),
            _ => None,
        }
    }
}

fn map_event_data<'a>(fields: &mut Fields, value: &'a Node<'a>) -> EventData<'a> {
    let mut data = EventData::default();
    let Some(map) = value.as_object() else {
        // `<EventData>text</EventData>` or an empty element.
        if let Some(text) = value.as_str() {
            fields.insert_text("winlog.event_data.param1", text);
        }
        return data;
    };
    data.named = Some(map);
    for (name, child) in map.iter() {
        match name {
            "#attributes" => {}
            // Unnamed `<Data>` elements: one string or `{"#text": [..]}`. Winlogbeat calls them param1…N; Sigma's
            // rules for classic channels match the joined `Data`, which is kept as an array.
            "Data" => {
                let texts = match child {
                    Node::Object(inner) => inner.get("#text"),
                    other => Some(other),
                };
                match texts {
                    Some(Node::Array(items)) => {
                        data.unnamed.extend(
                            items
                                .iter()
                                .map(|item| item.as_str().unwrap_or("").trim_end()),
                        );
                    }
                    Some(Node::Str(text)) => data.unnamed.push(text.trim_end()),
                    Some(other) => {
                        if let Some(value) = other.to_value() {
                            fields.insert("winlog.event_data.Data", value);
                        }
                    }
                    None => {}
                }
            }
            _ => insert_flattened(fields, &format!("winlog.event_data.{name}"), child),
        }
    }
    if !data.unnamed.is_empty() {
        for (index, text) in data.unnamed.iter().enumerate() {
            fields.insert(format!("winlog.event_data.param{}", index + 1), *text);
        }
        fields.insert(
            "winlog.event_data.Data",
            Value::Array(data.unnamed.iter().map(|text| Value::from(*text)).collect()),
        );
    }
    data
}

/// Flattens the evtx crate's XML-as-JSON: `#attributes` become children, `#text` is the element's own value,
/// namespace declarations are dropped, nulls skipped.
fn insert_flattened(fields: &mut Fields, prefix: &str, value: &Node<'_>) {
    match value {
        Node::Object(map) => {
            for (key, child) in map.iter() {
                match key {
                    "#text" => insert_flattened(fields, prefix, child),
                    "#attributes" => {
                        if let Node::Object(attributes) = child {
                            for (name, attribute) in attributes.iter() {
                                if name == "xmlns" || name.starts_with("xmlns:") {
                                    continue;
                                }
                                insert_flattened(fields, &format!("{prefix}.{name}"), attribute);
                            }
                        }
                    }
                    _ => insert_flattened(fields, &format!("{prefix}.{key}"), child),
                }
            }
        }
        Node::Array(items) if items.iter().any(Node::is_object) => {
            fields.insert(prefix, value.to_json().to_string());
        }
        other => {
            if let Some(value) = other.to_value() {
                fields.insert(prefix, value);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChannelKind {
    Security,
    System,
    Sysmon,
    PowerShell,
    Other,
}

fn channel_kind(header: &SystemHeader<'_>) -> ChannelKind {
    let channel = header.channel;
    if channel.eq_ignore_ascii_case("Security") {
        ChannelKind::Security
    } else if channel.eq_ignore_ascii_case("System") {
        ChannelKind::System
    } else if channel.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational")
        || header
            .provider
            .eq_ignore_ascii_case("Microsoft-Windows-Sysmon")
    {
        ChannelKind::Sysmon
    } else if channel.eq_ignore_ascii_case("Microsoft-Windows-PowerShell/Operational")
        || channel.eq_ignore_ascii_case("Windows PowerShell")
        || channel.eq_ignore_ascii_case("PowerShellCore/Operational")
    {
        ChannelKind::PowerShell
    } else {
        ChannelKind::Other
    }
}

/// `event.action`, `event.category` and `event.type` of one event id.
struct Classification {
    action: &'static str,
    category: &'static [&'static str],
    kind: &'static [&'static str],
}

const fn class(
    action: &'static str,
    category: &'static [&'static str],
    kind: &'static [&'static str],
) -> Option<Classification> {
    Some(Classification {
        action,
        category,
        kind,
    })
}

fn insert_classification(fields: &mut Fields, classification: Option<Classification>) {
    let Some(classification) = classification else {
        return;
    };
    fields.insert(fields::EVENT_ACTION, classification.action);
    fields.insert(fields::EVENT_CATEGORY, str_array(classification.category));
    fields.insert(fields::EVENT_TYPE, str_array(classification.kind));
}

fn str_array(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|item| Value::from(*item)).collect())
}

const AUTH: &[&str] = &["authentication"];
const IAM: &[&str] = &["iam"];
const IAM_CONFIG: &[&str] = &["iam", "configuration"];
const PROCESS: &[&str] = &["process"];
const CONFIG: &[&str] = &["configuration"];
const FILE: &[&str] = &["file"];
const NETWORK: &[&str] = &["network"];
const REGISTRY: &[&str] = &["registry"];
const DRIVER: &[&str] = &["driver"];
const LIBRARY: &[&str] = &["library"];
const START: &[&str] = &["start"];
const END: &[&str] = &["end"];
const INFO: &[&str] = &["info"];
const CHANGE: &[&str] = &["change"];
const CREATION: &[&str] = &["creation"];
const DELETION: &[&str] = &["deletion"];
const ACCESS: &[&str] = &["access"];
const ADMIN: &[&str] = &["admin"];
const ADMIN_CHANGE: &[&str] = &["admin", "change"];
const USER_CREATION: &[&str] = &["user", "creation"];
const USER_CHANGE: &[&str] = &["user", "change"];
const USER_DELETION: &[&str] = &["user", "deletion"];
const GROUP_CHANGE: &[&str] = &["group", "change"];
const GROUP_INFO: &[&str] = &["group", "info"];
const CONNECTION: &[&str] = &["connection", "start"];
const PROTOCOL: &[&str] = &["protocol", "info"];

/// The Security log's events, with the action names Winlogbeat's security module uses.
fn security_class(event_id: i64) -> Option<Classification> {
    match event_id {
        1100 => class("audit-service-shutdown", CONFIG, CHANGE),
        1102 => class("audit-log-cleared", IAM, ADMIN_CHANGE),
        4608 => class("windows-started", CONFIG, START),
        4616 => class("system-time-changed", CONFIG, CHANGE),
        4624 => class("logged-in", AUTH, START),
        4625 => class("logon-failed", AUTH, START),
        4634 | 4647 => class("logged-out", AUTH, END),
        4648 => class("logged-in-explicit", AUTH, START),
        4656 => class("object-handle-requested", FILE, ACCESS),
        4657 => class("registry-value-modified", REGISTRY, CHANGE),
        4662 => class("object-operation-performed", IAM, ACCESS),
        4663 => class("object-access-attempted", FILE, ACCESS),
        4672 => class("logged-in-special", IAM, ADMIN),
        4688 => class("created-process", PROCESS, START),
        4689 => class("exited-process", PROCESS, END),
        4697 => class("service-installed", IAM_CONFIG, ADMIN_CHANGE),
        4698 => class("scheduled-task-created", IAM_CONFIG, CREATION),
        4699 => class("scheduled-task-deleted", IAM_CONFIG, DELETION),
        4700 => class("scheduled-task-enabled", IAM_CONFIG, CHANGE),
        4701 => class("scheduled-task-disabled", IAM_CONFIG, CHANGE),
        4702 => class("scheduled-task-updated", IAM_CONFIG, CHANGE),
        4719 => class("changed-audit-config", IAM_CONFIG, ADMIN_CHANGE),
        4720 => class("added-user-account", IAM, USER_CREATION),
        4722 => class("enabled-user-account", IAM, USER_CHANGE),
        4723 => class("changed-password", IAM, USER_CHANGE),
        4724 => class("reset-password", IAM, USER_CHANGE),
        4725 => class("disabled-user-account", IAM, USER_CHANGE),
        4726 => class("deleted-user-account", IAM, USER_DELETION),
        4727 | 4731 | 4754 => class("added-group-account", IAM, &["group", "creation"]),
        4728 | 4732 | 4746 | 4751 | 4756 | 4761 => {
            class("added-member-to-group", IAM, GROUP_CHANGE)
        }
        4729 | 4733 | 4747 | 4752 | 4757 | 4762 => {
            class("removed-member-from-group", IAM, GROUP_CHANGE)
        }
        4730 | 4734 | 4758 => class("deleted-group-account", IAM, &["group", "deletion"]),
        4735 | 4737 | 4755 => class("modified-group-account", IAM, GROUP_CHANGE),
        4738 => class("modified-user-account", IAM, USER_CHANGE),
        4740 => class("locked-out-user-account", IAM, USER_CHANGE),
        4741 => class("added-computer-account", IAM, CREATION),
        4742 => class("changed-computer-account", IAM, CHANGE),
        4743 => class("deleted-computer-account", IAM, DELETION),
        4767 => class("unlocked-user-account", IAM, USER_CHANGE),
        4768 => class("kerberos-authentication-ticket-requested", AUTH, START),
        4769 => class("kerberos-service-ticket-requested", AUTH, START),
        4770 => class("kerberos-service-ticket-renewed", AUTH, START),
        4771 => class("kerberos-preauth-failed", AUTH, START),
        4776 => class("credential-validated", AUTH, START),
        4778 => class("session-reconnected", AUTH, START),
        4779 => class("session-disconnected", AUTH, END),
        4781 => class("renamed-user-account", IAM, USER_CHANGE),
        4798 => class("group-membership-enumerated", IAM, &["user", "info"]),
        4799 => class("user-member-enumerated", IAM, GROUP_INFO),
        4946..=4948 => class("firewall-rule-changed", CONFIG, CHANGE),
        5140 => class("network-share-accessed", &["network", "file"], ACCESS),
        5145 => class("network-share-object-checked", &["network", "file"], ACCESS),
        5156 => class("connection-allowed", NETWORK, &["connection", "allowed"]),
        5157 => class("connection-blocked", NETWORK, &["connection", "denied"]),
        _ => None,
    }
}

const AUDIT_FAILURE: u64 = 0x0010_0000_0000_0000;
const AUDIT_SUCCESS: u64 = 0x0020_0000_0000_0000;

fn map_security(fields: &mut Fields, header: &SystemHeader<'_>, data: &EventData<'_>) {
    fields.insert(fields::EVENT_MODULE, "security");
    let Some(event_id) = header.event_id else {
        return;
    };
    insert_classification(fields, security_class(event_id));
    match header.keywords {
        Some(keywords) if keywords & AUDIT_FAILURE != 0 => {
            fields.insert(fields::EVENT_OUTCOME, "failure")
        }
        Some(keywords) if keywords & AUDIT_SUCCESS != 0 => {
            fields.insert(fields::EVENT_OUTCOME, "success")
        }
        _ => {}
    }

    match event_id {
        // Logon events: the account that logged on is the target; the subject is the service that asked.
        4624 | 4625 | 4634 | 4647 | 4778 | 4779 => {
            insert_user(
                fields,
                "user",
                data,
                "TargetUserName",
                "TargetDomainName",
                "TargetUserSid",
            );
            if event_id == 4647 || event_id >= 4778 {
                insert_user(fields, "user", data, "AccountName", "AccountDomain", "");
                insert_subject(fields, data);
            }
            insert_logon(fields, data);
            data.copy_texts(fields, &[("TargetLogonId", "winlog.logon.id")]);
            if event_id == 4625 {
                fields.insert(fields::EVENT_OUTCOME, "failure");
                insert_logon_failure(fields, data);
            }
        }
        4648 => {
            insert_subject(fields, data);
            insert_user(
                fields,
                "user.target",
                data,
                "TargetUserName",
                "TargetDomainName",
                "",
            );
            data.copy_texts(fields, &[("TargetServerName", "destination.domain")]);
            insert_process(fields, "process", data, "ProcessName", "ProcessId");
            insert_logon(fields, data);
        }
        4688 => {
            insert_subject(fields, data);
            insert_process(fields, "process", data, "NewProcessName", "NewProcessId");
            data.copy_texts(fields, &[("CommandLine", fields::PROCESS_COMMAND_LINE)]);
            insert_process(
                fields,
                "process.parent",
                data,
                "ParentProcessName",
                "ProcessId",
            );
            insert_user(
                fields,
                "user.effective",
                data,
                "TargetUserName",
                "TargetDomainName",
                "TargetUserSid",
            );
        }
        4689 => {
            insert_subject(fields, data);
            insert_process(fields, "process", data, "ProcessName", "ProcessId");
            if let Some(status) = data.text("Status") {
                fields.insert(
                    "process.exit_code",
                    parse_int(status)
                        .map(Value::from)
                        .unwrap_or_else(|| status.into()),
                );
            }
        }
        4697 => {
            insert_subject(fields, data);
            insert_service(fields, data);
        }
        4698..=4702 => {
            insert_subject(fields, data);
            data.copy_texts(fields, &[("TaskName", "winlog.task_name")]);
        }
        // Group membership: the target names the group, the member is the account added or removed.
        4728 | 4729 | 4732 | 4733 | 4746 | 4747 | 4751 | 4752 | 4756 | 4757 | 4761 | 4762 => {
            insert_subject(fields, data);
            data.copy_texts(
                fields,
                &[
                    ("TargetUserName", fields::GROUP_NAME),
                    ("TargetDomainName", "group.domain"),
                    ("TargetSid", "group.id"),
                ],
            );
            match data.text("MemberName").map(common_name) {
                Some(member) => fields.insert(fields::USER_TARGET_NAME, member),
                None => {
                    data.copy_texts(fields, &[("MemberSid", "user.target.id")]);
                }
            }
        }
        4768..=4771 => {
            insert_user(
                fields,
                "user",
                data,
                "TargetUserName",
                "TargetDomainName",
                "TargetSid",
            );
            data.copy_texts(fields, &[("ServiceName", "service.name")]);
            insert_kerberos_status(fields, event_id, data);
        }
        4776 => {
            data.copy_texts(
                fields,
                &[
                    ("TargetUserName", fields::USER_NAME),
                    ("Workstation", "source.domain"),
                ],
            );
            match data.text("Status").and_then(parse_int) {
                Some(0) => fields.insert(fields::EVENT_OUTCOME, "success"),
                Some(_) => fields.insert(fields::EVENT_OUTCOME, "failure"),
                None => {}
            }
        }
        _ => {
            // Account management and most other audits: the subject acted on the target.
            insert_subject(fields, data);
            if matches!(event_id, 4720..=4727 | 4730 | 4731 | 4734 | 4735 | 4737..=4743 | 4754 | 4755 | 4758 | 4767 | 4781 | 4798)
            {
                insert_user(
                    fields,
                    "user.target",
                    data,
                    "TargetUserName",
                    "TargetDomainName",
                    "TargetSid",
                );
            }
            if let Some(process) = data.text("ProcessName") {
                insert_executable(fields, "process", process);
            }
            if let Some(pid) = data.int("ProcessId") {
                fields.insert(fields::PROCESS_PID, pid);
            }
            if let Some(path) = data.text("ObjectName")
                && data
                    .text("ObjectType")
                    .is_some_and(|t| t.eq_ignore_ascii_case("File"))
            {
                fields.insert(fields::FILE_PATH, path);
            }
            data.copy_texts(
                fields,
                &[
                    ("ShareName", "winlog.share_name"),
                    ("RelativeTargetName", fields::FILE_PATH),
                ],
            );
        }
    }
    insert_source_address(fields, data);
}

/// `CN=John Smith,OU=…` → `John Smith`; anything else unchanged.
fn common_name(distinguished_name: &str) -> &str {
    let Some(rest) = distinguished_name
        .strip_prefix("CN=")
        .or_else(|| distinguished_name.strip_prefix("cn="))
    else {
        return distinguished_name;
    };
    // A comma escaped with a backslash belongs to the name.
    let bytes = rest.as_bytes();
    let mut end = rest.len();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b',' => {
                end = index;
                break;
            }
            _ => index += 1,
        }
    }
    &rest[..end.min(rest.len())]
}

fn insert_user(
    fields: &mut Fields,
    prefix: &str,
    data: &EventData<'_>,
    name: &str,
    domain: &str,
    sid: &str,
) {
    if let Some(name) = data.text(name) {
        fields.insert_default(&format!("{prefix}.name"), name);
    }
    if let Some(domain) = data.text(domain) {
        fields.insert_default(&format!("{prefix}.domain"), domain);
    }
    // S-1-0-0 is the null SID Windows writes when it does not know the account.
    if let Some(sid) = data.text(sid).filter(|sid| *sid != "S-1-0-0") {
        fields.insert_default(&format!("{prefix}.id"), sid);
    }
}

/// The audit's subject (the account that acted) as `user.*`: most Security events name it this way.
fn insert_subject(fields: &mut Fields, data: &EventData<'_>) {
    insert_user(
        fields,
        "user",
        data,
        "SubjectUserName",
        "SubjectDomainName",
        "SubjectUserSid",
    );
}

fn insert_logon(fields: &mut Fields, data: &EventData<'_>) {
    if let Some(logon_type) = data.int("LogonType") {
        fields.insert(
            "winlog.logon.type",
            logon_type_name(logon_type)
                .map(Value::from)
                .unwrap_or_else(|| Value::from(logon_type)),
        );
    }
    data.copy_texts(
        fields,
        &[
            ("WorkstationName", "source.domain"),
            ("LogonProcessName", "winlog.logon.process_name"),
            (
                "AuthenticationPackageName",
                "winlog.logon.authentication_package",
            ),
        ],
    );
    if data.int("ProcessId").is_some_and(|pid| pid != 0) {
        insert_process(fields, "process", data, "ProcessName", "ProcessId");
    }
}

fn logon_type_name(logon_type: i64) -> Option<&'static str> {
    Some(match logon_type {
        0 => "System",
        2 => "Interactive",
        3 => "Network",
        4 => "Batch",
        5 => "Service",
        7 => "Unlock",
        8 => "NetworkCleartext",
        9 => "NewCredentials",
        10 => "RemoteInteractive",
        11 => "CachedInteractive",
        12 => "CachedRemoteInteractive",
        13 => "CachedUnlock",
        _ => return None,
    })
}

fn insert_logon_failure(fields: &mut Fields, data: &EventData<'_>) {
    for (name, field) in [
        ("Status", "winlog.logon.failure.status"),
        ("SubStatus", "winlog.logon.failure.sub_status"),
    ] {
        if let Some(code) = data.text(name) {
            let reason = parse_int(code).and_then(|code| ntstatus_reason(code as u32));
            fields.insert(field, reason.unwrap_or(code));
        }
    }
    data.copy_texts(fields, &[("FailureReason", "winlog.logon.failure.reason")]);
}

/// The NTSTATUS codes logon failures report (4625 `Status`/`SubStatus`).
fn ntstatus_reason(code: u32) -> Option<&'static str> {
    Some(match code {
        0xC000_0064 => "User logon with misspelled or bad user account",
        0xC000_006A => "User logon with misspelled or bad password",
        0xC000_006C | 0xC000_006D => {
            "This is either due to a bad username or authentication information"
        }
        0xC000_006E => "Unknown user name or bad password",
        0xC000_006F => "User logon outside authorized hours",
        0xC000_0070 => "User logon from unauthorized workstation",
        0xC000_0071 => "User logon with expired password",
        0xC000_0072 => "User logon to account disabled by administrator",
        0xC000_00DC => {
            "Indicates the Sam Server was in the wrong state to perform the desired operation"
        }
        0xC000_0133 => "Clocks between DC and other computer too far out of sync",
        0xC000_015B => "The user has not been granted the requested logon type at this machine",
        0xC000_018C => {
            "The logon request failed because the trust relationship between the primary domain and the trusted domain failed"
        }
        0xC000_0192 => "An attempt was made to logon, but the Netlogon service was not started",
        0xC000_0193 => "User logon with expired account",
        0xC000_0224 => "User is required to change password at next logon",
        0xC000_0225 => "Evidently a bug in Windows and not a risk",
        0xC000_0234 => "User logon with account locked",
        0xC000_02EE => "Failure Reason: An Error occurred during Logon",
        0xC000_0413 => {
            "Logon Failure: The machine you are logging onto is protected by an authentication firewall"
        }
        _ => return None,
    })
}

fn insert_kerberos_status(fields: &mut Fields, event_id: i64, data: &EventData<'_>) {
    match data.text("Status").and_then(parse_int) {
        Some(0) if event_id != 4771 => fields.insert(fields::EVENT_OUTCOME, "success"),
        Some(_) => fields.insert(fields::EVENT_OUTCOME, "failure"),
        None if event_id == 4771 => fields.insert(fields::EVENT_OUTCOME, "failure"),
        None => {}
    }
}

fn insert_source_address(fields: &mut Fields, data: &EventData<'_>) {
    if let Some(address) = data
        .text("IpAddress")
        .or_else(|| data.text("ClientAddress"))
    {
        let address = address.strip_prefix("::ffff:").unwrap_or(address);
        if address.parse::<std::net::IpAddr>().is_ok() {
            fields.insert(fields::SOURCE_IP, address);
        } else {
            fields.insert(fields::SOURCE_ADDRESS, address);
        }
    }
    if let Some(port) = data.int("IpPort").or_else(|| data.int("ClientPort"))
        && port > 0
    {
        fields.insert(fields::SOURCE_PORT, port);
    }
}

fn insert_service(fields: &mut Fields, data: &EventData<'_>) {
    data.copy_texts(fields, &[("ServiceName", "service.name")]);
    if let Some(path) = data
        .text("ImagePath")
        .or_else(|| data.text("ServiceFileName"))
    {
        fields.insert("service.executable", path);
    }
    data.copy_texts(fields, &[("ServiceType", "service.type")]);
    if let Some(account) = data
        .text("AccountName")
        .or_else(|| data.text("ServiceAccount"))
    {
        fields.insert("winlog.service.account", account);
    }
}

/// `process.executable`, `process.name` and `process.pid` from an image path and a pid field.
fn insert_process(fields: &mut Fields, prefix: &str, data: &EventData<'_>, image: &str, pid: &str) {
    if let Some(image) = data.text(image) {
        insert_executable(fields, prefix, image);
    }
    if let Some(pid) = data.int(pid) {
        fields.insert(format!("{prefix}.pid"), pid);
    }
}

fn insert_executable(fields: &mut Fields, prefix: &str, image: &str) {
    fields.insert(format!("{prefix}.executable"), image);
    let name = image.rsplit(['\\', '/']).next().unwrap_or(image);
    if !name.is_empty() {
        fields.insert(format!("{prefix}.name"), name);
    }
}

fn map_system_channel(fields: &mut Fields, header: &SystemHeader<'_>, data: &EventData<'_>) {
    fields.insert(fields::EVENT_MODULE, "system");
    let Some(event_id) = header.event_id else {
        return;
    };
    let provider = header.provider;
    let scm = provider.contains("Service Control Manager");
    let eventlog = provider.eq_ignore_ascii_case("Microsoft-Windows-Eventlog")
        || provider.eq_ignore_ascii_case("EventLog");
    let classification = match event_id {
        7045 if scm => class("service-installed", CONFIG, CREATION),
        7036 if scm => class("service-state-changed", CONFIG, CHANGE),
        7040 if scm => class("service-start-type-changed", CONFIG, CHANGE),
        7031 | 7034 if scm => class("service-crashed", PROCESS, END),
        7035 if scm => class("service-control-sent", CONFIG, CHANGE),
        104 if eventlog => class("audit-log-cleared", IAM, ADMIN_CHANGE),
        6005 if eventlog => class("event-log-started", PROCESS, START),
        6006 if eventlog => class("event-log-stopped", PROCESS, END),
        _ => None,
    };
    insert_classification(fields, classification);
    match event_id {
        7045 if scm => {
            insert_service(fields, data);
            data.copy_texts(fields, &[("StartType", "winlog.service.start_type")]);
        }
        7036 | 7040 | 7031 | 7034 | 7035 if scm => {
            // Classic records: the service's display name is the first unnamed value, its new state the second.
            let name = data
                .text("param1")
                .or_else(|| data.unnamed.first().copied());
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                fields.insert("service.name", name);
            }
            if event_id == 7036 {
                let state = data.text("param2").or_else(|| data.unnamed.get(1).copied());
                if let Some(state) = state.filter(|s| !s.is_empty()) {
                    fields.insert("service.state", state);
                }
            }
        }
        104 if eventlog => {
            insert_user(
                fields,
                "user",
                data,
                "SubjectUserName",
                "SubjectDomainName",
                "",
            );
            data.copy_texts(fields, &[("Channel", "winlog.cleared_channel")]);
        }
        _ => {}
    }
}

fn sysmon_class(event_id: i64) -> Option<Classification> {
    match event_id {
        1 => class("process-created", PROCESS, START),
        2 => class("file-creation-time-changed", FILE, CHANGE),
        3 => class("network-connection", NETWORK, CONNECTION),
        4 => class("sysmon-state-changed", CONFIG, CHANGE),
        5 => class("process-terminated", PROCESS, END),
        6 => class("driver-loaded", DRIVER, START),
        7 => class("image-loaded", LIBRARY, START),
        8 => class("create-remote-thread", PROCESS, CHANGE),
        9 => class("raw-access-read", FILE, ACCESS),
        10 => class("process-accessed", PROCESS, ACCESS),
        11 => class("file-created", FILE, CREATION),
        12 => class("registry-key-created-or-deleted", REGISTRY, CHANGE),
        13 => class("registry-value-set", REGISTRY, CHANGE),
        14 => class("registry-renamed", REGISTRY, CHANGE),
        15 => class("file-stream-created", FILE, CREATION),
        16 => class("sysmon-config-changed", CONFIG, CHANGE),
        17 => class("pipe-created", FILE, CREATION),
        18 => class("pipe-connected", FILE, ACCESS),
        19..=21 => class("wmi-event", PROCESS, CHANGE),
        22 => class("dns-query", NETWORK, PROTOCOL),
        23 => class("file-deleted", FILE, DELETION),
        24 => class("clipboard-changed", PROCESS, CHANGE),
        25 => class("process-tampering", PROCESS, CHANGE),
        26 => class("file-delete-detected", FILE, DELETION),
        27 => class("file-block-executable", FILE, &["denied"]),
        28 => class("file-block-shredding", FILE, &["denied"]),
        29 => class("file-executable-detected", FILE, CREATION),
        255 => class("sysmon-error", CONFIG, INFO),
        _ => None,
    }
}

fn map_sysmon(fields: &mut Fields, header: &SystemHeader<'_>, data: &EventData<'_>) {
    fields.insert(fields::EVENT_MODULE, "sysmon");
    let Some(event_id) = header.event_id else {
        return;
    };
    insert_classification(fields, sysmon_class(event_id));

    // The acting process: Source* for the two events about one process touching another.
    let (image, pid, guid) = match event_id {
        8 | 10 => (
            "SourceImage",
            "SourceProcessId",
            ["SourceProcessGuid", "SourceProcessGUID"],
        ),
        _ => ("Image", "ProcessId", ["ProcessGuid", "ProcessGUID"]),
    };
    insert_process(fields, "process", data, image, pid);
    if let Some(guid) = guid.iter().find_map(|name| data.text(name)) {
        fields.insert("process.entity_id", guid);
    }
    data.copy_texts(
        fields,
        &[
            ("CommandLine", fields::PROCESS_COMMAND_LINE),
            ("CurrentDirectory", "process.working_directory"),
        ],
    );
    insert_process(
        fields,
        "process.parent",
        data,
        "ParentImage",
        "ParentProcessId",
    );
    data.copy_texts(
        fields,
        &[
            ("ParentProcessGuid", "process.parent.entity_id"),
            ("ParentCommandLine", "process.parent.command_line"),
        ],
    );
    for (name, field) in [
        ("OriginalFileName", "pe.original_file_name"),
        ("Company", "pe.company"),
        ("Description", "pe.description"),
        ("Product", "pe.product"),
        ("FileVersion", "pe.file_version"),
    ] {
        if let Some(value) = data.text(name) {
            let owner = if event_id == 7 {
                "dll"
            } else if event_id == 6 {
                "file"
            } else {
                "process"
            };
            fields.insert(format!("{owner}.{field}"), value);
        }
    }
    if let Some(user) = data.text("User").or_else(|| data.text("SourceUser")) {
        insert_domain_user(fields, "user", user);
    }
    data.copy_texts(fields, &[("RuleName", "rule.name")]);

    let hashes = data.text("Hashes").or_else(|| data.text("Hash"));
    match event_id {
        1 | 5 => {
            if let Some(hashes) = hashes {
                insert_hashes(fields, "process", hashes);
            }
        }
        3 => insert_sysmon_network(fields, data),
        6 | 7 => {
            let owner = if event_id == 7 { "dll" } else { "file" };
            if let Some(path) = data.text("ImageLoaded") {
                fields.insert(fields::FILE_PATH, path);
                insert_executable(fields, owner, path);
                fields.remove(&format!("{owner}.executable"));
                if owner == "dll" {
                    fields.insert("dll.path", path);
                }
            }
            if let Some(hashes) = hashes {
                insert_hashes(fields, owner, hashes);
            }
            if let Some(signed) = data.text("Signed") {
                fields.insert(
                    format!("{owner}.code_signature.signed"),
                    signed.eq_ignore_ascii_case("true"),
                );
            }
            if let Some(signature) = data.text("Signature") {
                fields.insert(format!("{owner}.code_signature.subject_name"), signature);
            }
            if let Some(status) = data.text("SignatureStatus") {
                fields.insert(format!("{owner}.code_signature.status"), status);
            }
        }
        8 | 10 => {
            if let Some(target) = data.text("TargetImage") {
                insert_executable(fields, "winlog.event_data.target_process", target);
                fields.remove("winlog.event_data.target_process.executable");
                fields.remove("winlog.event_data.target_process.name");
            }
        }
        2 | 9 | 11 | 15 | 23 | 26..=29 => {
            if let Some(path) = data.text("TargetFilename").or_else(|| data.text("Device")) {
                insert_file(fields, path);
            }
            if let Some(hashes) = hashes {
                insert_hashes(fields, "file", hashes);
            }
        }
        12..=14 => {
            if let Some(path) = data.text("TargetObject") {
                insert_registry(fields, path);
            }
            if let Some(details) = data.text("Details") {
                fields.insert(
                    "registry.data.strings",
                    Value::Array(vec![Value::from(details)]),
                );
            }
            if event_id == 12 {
                let kind: &[&str] = match data.text("EventType") {
                    Some(t)
                        if t.eq_ignore_ascii_case("DeleteKey")
                            || t.eq_ignore_ascii_case("DeleteValue") =>
                    {
                        DELETION
                    }
                    Some(t)
                        if t.eq_ignore_ascii_case("CreateKey")
                            || t.eq_ignore_ascii_case("CreateValue") =>
                    {
                        CREATION
                    }
                    _ => CHANGE,
                };
                fields.insert(fields::EVENT_TYPE, str_array(kind));
            }
        }
        17 | 18 => {
            data.copy_texts(fields, &[("PipeName", "file.name")]);
        }
        22 => {
            data.copy_texts(
                fields,
                &[
                    ("QueryName", "dns.question.name"),
                    ("QueryStatus", "dns.response_code"),
                ],
            );
            if let Some(results) = data.text("QueryResults") {
                let ips: Vec<Value> = results
                    .split(';')
                    .map(|item| item.trim().trim_start_matches("::ffff:"))
                    .filter(|item| item.parse::<std::net::IpAddr>().is_ok())
                    .map(Value::from)
                    .collect();
                if !ips.is_empty() {
                    fields.insert("dns.resolved_ip", Value::Array(ips));
                }
            }
            fields.insert(fields::NETWORK_PROTOCOL, "dns");
        }
        _ => {}
    }
}

fn insert_sysmon_network(fields: &mut Fields, data: &EventData<'_>) {
    for (side, ip, port, host) in [
        ("source", "SourceIp", "SourcePort", "SourceHostname"),
        (
            "destination",
            "DestinationIp",
            "DestinationPort",
            "DestinationHostname",
        ),
    ] {
        if let Some(ip) = data.text(ip) {
            let ip = ip.strip_prefix("::ffff:").unwrap_or(ip);
            let field = if ip.parse::<std::net::IpAddr>().is_ok() {
                "ip"
            } else {
                "address"
            };
            fields.insert(format!("{side}.{field}"), ip);
        }
        if let Some(port) = data.int(port) {
            fields.insert(format!("{side}.port"), port);
        }
        if let Some(host) = data.text(host) {
            fields.insert(format!("{side}.domain"), host);
        }
    }
    if let Some(protocol) = data.text("Protocol") {
        fields.insert(fields::NETWORK_TRANSPORT, protocol.to_ascii_lowercase());
    }
    if let Some(initiated) = data.text("Initiated") {
        let direction = if initiated.eq_ignore_ascii_case("true") {
            "egress"
        } else {
            "ingress"
        };
        fields.insert("network.direction", direction);
    }
    if let Some(ipv6) = data.text("SourceIsIpv6") {
        fields.insert(
            "network.type",
            if ipv6.eq_ignore_ascii_case("true") {
                "ipv6"
            } else {
                "ipv4"
            },
        );
    }
}

fn insert_file(fields: &mut Fields, path: &str) {
    fields.insert(fields::FILE_PATH, path);
    if let Some((directory, name)) = path.rsplit_once(['\\', '/']) {
        fields.insert_text("file.directory", directory);
        fields.insert_text("file.name", name);
        if let Some((_, extension)) = name.rsplit_once('.') {
            fields.insert_text("file.extension", &extension.to_ascii_lowercase());
        }
    }
}

/// `HKLM\System\…\Services\x\ImagePath` → hive `HKLM`, key `System\…\Services\x`, value `ImagePath`.
fn insert_registry(fields: &mut Fields, path: &str) {
    fields.insert("registry.path", path);
    if let Some((hive, rest)) = path.split_once('\\') {
        fields.insert_text("registry.hive", hive);
        match rest.rsplit_once('\\') {
            Some((key, value)) => {
                fields.insert_text("registry.key", key);
                fields.insert_text("registry.value", value);
            }
            None => fields.insert_text("registry.key", rest),
        }
    }
}

/// Sysmon's `SHA1=…,MD5=…,SHA256=…,IMPHASH=…`.
fn insert_hashes(fields: &mut Fields, owner: &str, hashes: &str) {
    for pair in hashes.split(',') {
        let Some((algorithm, digest)) = pair.split_once('=') else {
            continue;
        };
        let algorithm = algorithm.trim().to_ascii_lowercase();
        let digest = digest.trim().to_ascii_lowercase();
        if digest.is_empty() {
            continue;
        }
        let field = if algorithm == "imphash" {
            format!("{owner}.pe.imphash")
        } else {
            format!("{owner}.hash.{algorithm}")
        };
        fields.insert(field, digest);
    }
}

/// `DOMAIN\user` → `user.domain`, `user.name`.
fn insert_domain_user(fields: &mut Fields, prefix: &str, account: &str) {
    match account.split_once('\\') {
        Some((domain, name)) => {
            fields.insert_text(&format!("{prefix}.domain"), domain);
            fields.insert_text(&format!("{prefix}.name"), name);
        }
        None => fields.insert_text(&format!("{prefix}.name"), account),
    }
}

fn map_powershell(fields: &mut Fields, header: &SystemHeader<'_>, data: &EventData<'_>) {
    fields.insert(fields::EVENT_MODULE, "powershell");
    let Some(event_id) = header.event_id else {
        return;
    };
    let classic = header.channel.eq_ignore_ascii_case("Windows PowerShell");
    let classification = match event_id {
        4103 if !classic => class("executed-pipeline", PROCESS, INFO),
        4104 if !classic => class("executed-script-block", PROCESS, INFO),
        4105 if !classic => class("script-block-started", PROCESS, START),
        4106 if !classic => class("script-block-stopped", PROCESS, END),
        400 if classic => class("engine-started", PROCESS, START),
        403 if classic => class("engine-stopped", PROCESS, END),
        600 if classic => class("provider-started", PROCESS, START),
        800 if classic => class("executed-pipeline", PROCESS, INFO),
        _ => None,
    };
    insert_classification(fields, classification);
    if let Some(text) = data
        .named
        .and_then(|m| m.get("ScriptBlockText"))
        .and_then(Node::as_str)
    {
        // Kept verbatim, whitespace included: detections match fragments of it.
        fields.insert("powershell.file.script_block_text", text);
    }
    data.copy_texts(
        fields,
        &[("ScriptBlockId", "powershell.file.script_block_id")],
    );
    if let Some(number) = data.int("MessageNumber") {
        fields.insert("powershell.sequence", number);
    }
    if let Some(total) = data.int("MessageTotal") {
        fields.insert("powershell.total", total);
    }
    if let Some(path) = data.text("Path") {
        insert_file(fields, path);
    }
    if let Some(context) = data.text("ContextInfo") {
        insert_powershell_context(fields, context);
    }
    // Classic events carry `Key=Value` lines in one of their unnamed values.
    for text in &data.unnamed {
        if text.contains("HostApplication=")
            || text.contains("HostName=")
            || text.contains("UserId=")
        {
            insert_powershell_context(fields, text);
        }
    }
    data.copy_texts(
        fields,
        &[("Payload", "powershell.command.invocation_details")],
    );
}

/// The `Key = Value` (4103) or `Key=Value` (400/800) lines PowerShell writes about its host and command.
fn insert_powershell_context(fields: &mut Fields, text: &str) {
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let key: String = key
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let field = match key.as_str() {
            "hostapplication" => fields::PROCESS_COMMAND_LINE,
            "engineversion" => "powershell.engine.version",
            "runspaceid" => "powershell.runspace_id",
            "pipelineid" => "powershell.pipeline_id",
            "commandname" => "powershell.command.name",
            "commandtype" => "powershell.command.type",
            "commandpath" => "powershell.command.path",
            "commandline" => "powershell.command.value",
            "scriptname" => fields::FILE_PATH,
            "sequencenumber" => "powershell.sequence",
            "shellid" => "powershell.id",
            "newenginestate" => "powershell.engine.new_state",
            "previousenginestate" => "powershell.engine.previous_state",
            "providername" => "powershell.provider.name",
            "newproviderstate" => "powershell.provider.new_state",
            "user" | "userid" => {
                insert_domain_user(fields, "user", value);
                continue;
            }
            "connecteduser" => {
                insert_domain_user(fields, "powershell.connected_user", value);
                continue;
            }
            _ => continue,
        };
        if key == "sequencenumber" {
            if let Some(number) = parse_int(value) {
                fields.insert(field, number);
            }
            continue;
        }
        if key == "hostapplication" {
            insert_powershell_executable(fields, value);
        }
        fields.insert(field, value);
    }
}

/// The executable at the start of a command line (quoted or not).
fn insert_powershell_executable(fields: &mut Fields, command_line: &str) {
    let command_line = command_line.trim();
    let executable = match command_line.strip_prefix('"') {
        Some(rest) => rest.split('"').next().unwrap_or(rest),
        None => command_line
            .split_whitespace()
            .next()
            .unwrap_or(command_line),
    };
    if !executable.is_empty() && !fields.contains(fields::PROCESS_EXECUTABLE) {
        insert_executable(fields, "process", executable);
    }
}

fn attributes<'n, 'a>(value: &'n Node<'a>) -> Option<&'n Obj<'a>> {
    value.get("#attributes")?.as_object()
}

fn json_i64(value: &Node<'_>) -> Option<i64> {
    match value {
        Node::Int(i) => Some(*i),
        Node::UInt(u) => i64::try_from(*u).ok(),
        Node::Str(s) => parse_int(s),
        Node::Object(map) => map.get("#text").and_then(json_i64),
        _ => None,
    }
}

/// Decimal or `0x` hexadecimal.
fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim();
    match parse_hex(text) {
        Some(value) => Some(value),
        None => text.parse().ok(),
    }
}

/// Hexadecimal with `0x`, keeping the bit pattern: `0xc000006d` stays an NTSTATUS code when read back as `u32`.
fn parse_hex(text: &str) -> Option<i64> {
    let hex = text
        .trim()
        .strip_prefix("0x")
        .or_else(|| text.trim().strip_prefix("0X"))?;
    u64::from_str_radix(hex, 16).ok().map(|value| value as i64)
}

/// A record's JSON, decoded without `serde_json::Value`'s costs: strings borrow from the input unless they hold
/// escapes, and objects are vectors of pairs (records have a few dozen keys, found faster by a scan than by
/// hashing, and nothing is rehashed into an ordered map). This halves the time of `parse_record`.
#[derive(Debug, Clone, PartialEq)]
enum Node<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Obj<'a>),
}

/// A JSON object in document order. The evtx crate never repeats a key (it suffixes `_1`, `_2`); should a
/// hand-made record do so, the first wins.
#[derive(Debug, Clone, PartialEq, Default)]
struct Obj<'a>(Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Obj<'a> {
    fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &Node<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<'a> Node<'a> {
    fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(map) => map.get(key),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_object(&self) -> Option<&Obj<'a>> {
        match self {
            Node::Object(map) => Some(map),
            _ => None,
        }
    }

    fn is_object(&self) -> bool {
        matches!(self, Node::Object(_))
    }

    /// A field value: scalars and arrays of scalars; objects and nulls have none (callers flatten objects).
    fn to_value(&self) -> Option<Value> {
        Some(match self {
            Node::Null | Node::Object(_) => return None,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::Int(*i),
            Node::UInt(u) => match i64::try_from(*u) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::Float(*u as f64),
            },
            Node::Float(f) => Value::Float(*f),
            // Trailing whitespace is dropped: Windows pads some values (command lines end in a space), the
            // evtx renderers SigmaHQ's regression data was made with trimmed it, and rules such as
            // `CommandLine|endswith` are written against that. `event.original` keeps the exact text.
            Node::Str(s) => Value::Str(s.trim_end().to_owned()),
            Node::Array(items) => Value::Array(items.iter().filter_map(Node::to_value).collect()),
        })
    }

    /// Back to JSON, for the rare array of objects kept as text.
    fn to_json(&self) -> serde_json::Value {
        match self {
            Node::Null => serde_json::Value::Null,
            Node::Bool(b) => serde_json::Value::Bool(*b),
            Node::Int(i) => serde_json::Value::from(*i),
            Node::UInt(u) => serde_json::Value::from(*u),
            Node::Float(f) => serde_json::Value::from(*f),
            Node::Str(s) => serde_json::Value::from(s.as_ref()),
            Node::Array(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            Node::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Node<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor(std::marker::PhantomData))
    }
}

struct NodeVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for NodeVisitor<'a> {
    type Value = Node<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node<'a>, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node<'a>, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'a>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'a>, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'a>, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Node::Int(i),
            Err(_) => Node::UInt(v),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'a>, E> {
        Ok(Node::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'a>, E> {
        Ok(Node::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'a>, E> {
        Ok(Node::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'a>, E> {
        Ok(Node::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'a>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Node<'a>>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Node<'a>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<Node<'a>>()? {
            let Node::Str(key) = key else {
                return Err(serde::de::Error::custom("object key is not a string"));
            };
            entries.push((key, map.next_value::<Node<'a>>()?));
        }
        Ok(Node::Object(Obj(entries)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose
mod tests {
    use super::*;
    use kuzet_model::{EventId, SourceId, TenantId};
    use proptest::prelude::*;

    fn event(json: &[u8]) -> Event {
        let mut event = Event::new(
            EventId::from_parts(1, 2),
            TenantId::new("t1").unwrap(),
            SourceId::new("s1").unwrap(),
            "2026-01-01T00:00:00Z".parse().unwrap(),
            json.to_vec(),
        );
        parse_record(&mut event, json);
        event
    }

    fn record(channel: &str, event_id: i64, event_data: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": event_id,
                "Level": 4,
                "TimeCreated": {"#attributes": {"SystemTime": "2026-02-01T10:00:00.5Z"}},
                "Channel": channel,
                "Computer": "ws1",
            },
            "EventData": event_data,
        }}))
        .unwrap()
    }

    #[test]
    fn a_file_that_is_not_evtx_yields_one_error_naming_the_file() {
        let items: Vec<_> = records(b"definitely not an event log".to_vec()).collect();
        assert_eq!(items.len(), 1);
        let error = items[0].as_ref().unwrap_err().to_string();
        assert!(error.starts_with("evtx file: "), "{error}");
        assert_eq!(records(Vec::new()).filter(Result::is_ok).count(), 0);
    }

    #[test]
    fn a_header_with_garbage_chunks_reports_them_and_ends() {
        // A valid-looking file header magic followed by noise: the parser must not loop or panic.
        let mut file = b"ElfFile\0".to_vec();
        file.resize(4096 + 65536 * 2, 0xA5);
        let items: Vec<_> = records(file).collect();
        assert!(items.iter().all(Result::is_err), "{items:?}");
    }

    #[test]
    fn record_without_time_keeps_the_receive_time_and_says_so() {
        let e = event(br##"{"Event":{"System":{"EventID":1,"Channel":"Application"}}}"##);
        assert_eq!(e.timestamp.to_string(), "2026-01-01T00:00:00Z");
        assert!(e.has_issue(IssueCode::NoTimestamp));
        assert_eq!(e.winlog_event_id(), Some(1));
        let e = event(
            br##"{"Event":{"System":{"TimeCreated":{"#attributes":{"SystemTime":"yesterday"}}}}}"##,
        );
        assert!(e.has_issue(IssueCode::BadTimestamp));
    }

    #[test]
    fn event_id_with_qualifiers_and_unnamed_data() {
        let json = br##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Service Control Manager"}},
            "EventID":{"#attributes":{"Qualifiers":16384},"#text":7036},"Channel":"System","Computer":"srv",
            "TimeCreated":{"#attributes":{"SystemTime":"2026-02-01T10:00:00Z"}}},
            "EventData":{"Data":{"#text":["Windows Event Log","stopped"]},"Binary":"570069006E"}}}"##;
        let e = event(json);
        assert!(e.issues.is_empty(), "{:?}", e.issues);
        assert_eq!(e.winlog_event_id(), Some(7036));
        assert_eq!(
            e.fields.get("winlog.event_qualifiers"),
            Some(&Value::Int(16384))
        );
        assert_eq!(
            e.fields.get_str("winlog.event_data.param1"),
            Some("Windows Event Log")
        );
        assert_eq!(
            e.fields.get_str("winlog.event_data.param2"),
            Some("stopped")
        );
        assert_eq!(
            e.fields.get_str("winlog.event_data.Binary"),
            Some("570069006E")
        );
        assert_eq!(e.fields.get_str("service.name"), Some("Windows Event Log"));
        assert_eq!(e.fields.get_str("service.state"), Some("stopped"));
        assert_eq!(e.event_action(), Some("service-state-changed"));
    }

    #[test]
    fn sysmon_registry_and_dns() {
        let e = event(&record(
            "Microsoft-Windows-Sysmon/Operational",
            13,
            serde_json::json!({
                "EventType": "SetValue",
                "Image": "C:\\Windows\\regedit.exe",
                "TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\evil\\ImagePath",
                "Details": "C:\\evil.exe",
            }),
        ));
        assert_eq!(e.fields.get_str("registry.hive"), Some("HKLM"));
        assert_eq!(
            e.fields.get_str("registry.key"),
            Some("System\\CurrentControlSet\\Services\\evil")
        );
        assert_eq!(e.fields.get_str("registry.value"), Some("ImagePath"));
        assert_eq!(e.process_name(), Some("regedit.exe"));

        let e = event(&record(
            "Microsoft-Windows-Sysmon/Operational",
            22,
            serde_json::json!({
                "QueryName": "evil.example",
                "QueryStatus": "0",
                "QueryResults": "type:  5 cdn.example;::ffff:203.0.113.5;198.51.100.7;",
                "Image": "C:\\Windows\\System32\\svchost.exe",
            }),
        ));
        assert_eq!(e.fields.get_str("dns.question.name"), Some("evil.example"));
        assert_eq!(
            e.fields.get("dns.resolved_ip"),
            Some(&Value::Array(vec![
                "203.0.113.5".into(),
                "198.51.100.7".into()
            ]))
        );
        assert_eq!(e.fields.get_str("event.action"), Some("dns-query"));
    }

    #[test]
    fn sysmon_process_access_names_the_source_process() {
        let e = event(&record(
            "Microsoft-Windows-Sysmon/Operational",
            10,
            serde_json::json!({
                "SourceProcessGUID": "{a}",
                "SourceProcessId": "4242",
                "SourceImage": "C:\\Temp\\mimikatz.exe",
                "TargetImage": "C:\\Windows\\system32\\lsass.exe",
                "GrantedAccess": "0x1010",
            }),
        ));
        assert_eq!(e.process_name(), Some("mimikatz.exe"));
        assert_eq!(e.fields.get("process.pid"), Some(&Value::Int(4242)));
        assert_eq!(e.fields.get_str("process.entity_id"), Some("{a}"));
        assert_eq!(
            e.fields.get_str("winlog.event_data.TargetImage"),
            Some("C:\\Windows\\system32\\lsass.exe")
        );
    }

    #[test]
    fn security_process_creation_reads_hex_pids() {
        let json = serde_json::to_vec(&serde_json::json!({"Event": {"System": {
            "EventID": 4688, "Channel": "Security", "Keywords": "0x8020000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": "2026-02-01T10:00:00Z"}}},
            "EventData": {"SubjectUserName": "alice", "SubjectDomainName": "CORP", "NewProcessId": "0x1a4",
                "NewProcessName": "C:\\Windows\\System32\\cmd.exe", "ProcessId": "0x58",
                "ParentProcessName": "C:\\Windows\\explorer.exe", "CommandLine": "cmd /c whoami"}}}))
        .unwrap();
        let e = event(&json);
        assert_eq!(e.fields.get("process.pid"), Some(&Value::Int(0x1a4)));
        assert_eq!(e.fields.get("process.parent.pid"), Some(&Value::Int(0x58)));
        assert_eq!(
            e.fields.get_str("process.parent.name"),
            Some("explorer.exe")
        );
        assert_eq!(
            e.fields.get_str("process.command_line"),
            Some("cmd /c whoami")
        );
        assert_eq!(e.user_name(), Some("alice"));
        assert_eq!(e.event_outcome(), Some("success"));
    }

    #[test]
    fn group_membership_names_group_and_member() {
        let json = serde_json::to_vec(&serde_json::json!({"Event": {"System": {
            "EventID": 4732, "Channel": "Security",
            "TimeCreated": {"#attributes": {"SystemTime": "2026-02-01T10:00:00Z"}}},
            "EventData": {"SubjectUserName": "admin", "TargetUserName": "Administrators",
                "MemberName": "CN=Smith\\, John,OU=Staff,DC=corp,DC=kz", "MemberSid": "S-1-5-21-1-2-3-1104"}}}))
        .unwrap();
        let e = event(&json);
        assert_eq!(e.fields.get_str("group.name"), Some("Administrators"));
        assert_eq!(e.fields.get_str("user.target.name"), Some("Smith\\, John"));
        assert_eq!(e.user_name(), Some("admin"));
    }

    #[test]
    fn recognizes_rendered_records() {
        assert!(looks_like_record(br##"{"Event":{"System":{}}}"##));
        assert!(looks_like_record(b"\n{ \"Event\" :\r\n {"));
        assert!(!looks_like_record(br##"{"event":{"code":"4624"}}"##));
        assert!(!looks_like_record(br##"{"Event":"x"}"##));
        assert!(!looks_like_record(b"{\"Event\""));
        assert!(!looks_like_record(b""));
    }

    #[test]
    fn helpers() {
        assert_eq!(common_name("CN=alice,OU=x"), "alice");
        assert_eq!(common_name("alice"), "alice");
        assert_eq!(common_name("CN=trailing\\"), "trailing\\");
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int(" 42 "), Some(42));
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int("0x"), None);
        let mut fields = Fields::new();
        insert_hashes(&mut fields, "file", "SHA256=AB,IMPHASH=CD,junk,MD5=");
        assert_eq!(fields.get_str("file.hash.sha256"), Some("ab"));
        assert_eq!(fields.get_str("file.pe.imphash"), Some("cd"));
        assert!(!fields.contains("file.hash.md5"));
        let mut fields = Fields::new();
        insert_powershell_context(
            &mut fields,
            "        Host Application = \"C:\\ps.exe\" -c x\r\n        User = CORP\\bob\r\n        Sequence Number = 7\r\n",
        );
        assert_eq!(
            fields.get_str("process.command_line"),
            Some("\"C:\\ps.exe\" -c x")
        );
        assert_eq!(fields.get_str("process.name"), Some("ps.exe"));
        assert_eq!(fields.get_str("user.name"), Some("bob"));
        assert_eq!(fields.get("powershell.sequence"), Some(&Value::Int(7)));
    }

    /// A file header the decoder accepts followed by one chunk: its magic, then `body`, zero-padded.
    fn file_with_chunk(body: &[u8]) -> Vec<u8> {
        let mut file = vec![0u8; 4096];
        file[..8].copy_from_slice(b"ElfFile\0");
        file[32..36].copy_from_slice(&128u32.to_le_bytes());
        file[36..38].copy_from_slice(&1u16.to_le_bytes());
        file[38..40].copy_from_slice(&3u16.to_le_bytes());
        file[40..42].copy_from_slice(&4096u16.to_le_bytes());
        file[42..44].copy_from_slice(&1u16.to_le_bytes());
        let mut chunk = b"ElfChnk\0".to_vec();
        chunk.extend_from_slice(body);
        chunk.resize(65536, 0);
        file.extend_from_slice(&chunk);
        file
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Chunk headers and record areas of any content: errors, never a panic or an endless iteration.
        #[test]
        fn arbitrary_chunks_end_without_panic(
            header in proptest::collection::vec(any::<u8>(), 504),
            records_area in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            let mut body = header;
            // A plausible first record where the chunk's records start (offset 512): magic `**\0\0`.
            body.extend_from_slice(b"**\0\0");
            body.extend_from_slice(&records_area);
            let items = records(file_with_chunk(&body)).take(10_000).count();
            prop_assert!(items < 10_000);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let e = event(&bytes);
            prop_assert_eq!(&e.original, &bytes);
        }

        /// Valid JSON of any shape under the names the mapping looks at must not panic either.
        #[test]
        fn odd_shapes_never_panic(
            id in prop_oneof![Just(serde_json::json!(4624)), Just(serde_json::json!("x")),
                Just(serde_json::json!({"#text": [1]})), Just(serde_json::json!(-1)), Just(serde_json::json!(1u64 << 63))],
            channel in prop_oneof![Just("Security"), Just("System"), Just("Windows PowerShell"),
                Just("Microsoft-Windows-Sysmon/Operational"), Just("Microsoft-Windows-PowerShell/Operational")],
            value in prop_oneof![Just(serde_json::json!(null)), Just(serde_json::json!([])), Just(serde_json::json!({})),
                Just(serde_json::json!("")), Just(serde_json::json!("0xZZ")), Just(serde_json::json!(1.5)),
                Just(serde_json::json!({"#attributes": {}})), ".*".prop_map(serde_json::Value::from)],
            event_id in 0i64..8000,
        ) {
            let names = ["TargetUserName", "IpAddress", "IpPort", "LogonType", "Hashes", "TargetObject", "User",
                "ContextInfo", "ProcessId", "Image", "MemberName", "Status", "QueryResults", "Data"];
            let data: serde_json::Map<String, serde_json::Value> =
                names.iter().map(|n| (n.to_string(), value.clone())).collect();
            for system_id in [id.clone(), serde_json::json!(event_id)] {
                let json = serde_json::json!({"Event": {"System": {"EventID": system_id, "Channel": channel,
                    "Keywords": value.clone(), "Level": value.clone()}, "EventData": data.clone(), "UserData": value.clone()}});
                let _ = event(&serde_json::to_vec(&json).unwrap());
            }
        }
    }
}
