//! One JSON document: a rendered Windows event record (`{"Event":{…}}`) goes to [`crate::evtx`]; an ECS document (Beats: Filebeat, Winlogbeat, Auditbeat…) passes through flattened; Suricata
//! `eve.json` and Zeek logs also get ECS source/destination/network/rule fields beside their own keys; any other
//! object keeps its keys flattened. Windows events as NXLog's `im_msvistalog` writes them (flat JSON with `EventID`,
//! `SourceName`, `Channel`, `Hostname` and the event data beside them) are reshaped into the record form and get
//! the same `winlog.*` and ECS mapping as EVTX records.
//!
//! `@timestamp` (or `timestamp`, `time`, `ts` — Zeek's epoch float —, `date`, `EventTime`, `eventTime`,
//! `TimeCreated`, `TimeGenerated`, in that order) sets the event time.
//! Fields that describe the envelope rather than the content are not taken from the document: `event.original`
//! (the raw bytes are the original), `event.ingested`, `organization.id` (the tenant comes from the source, never
//! from content) and `kuzet.*`; a document's own `event.id` is kept as `labels.original_event_id`.

use kuzet_model::{Event, IssueCode, Value, fields};
use serde_json::{Map, Value as Json};

use crate::Ctx;
use crate::common::{
    insert_ip, insert_port, push_related, set_exact_time, set_inferred_time, set_list, transport,
};
use crate::timefmt::{from_epoch, from_epoch_text, parse_device_time};

/// A whole input of format `Json`.
pub(crate) fn parse(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    // A Windows event record as the `evtx` crate renders it (`{"Event":{…}}`), e.g. from `kuzet ingest` of a
    // converted file, gets the EVTX mapping.
    if crate::evtx::looks_like_record(text.as_bytes()) {
        crate::evtx::parse_record(event, text.as_bytes());
        return;
    }
    match serde_json::from_str::<Json>(text) {
        Ok(root @ Json::Object(_)) => {
            if !document(event, &root, ctx) {
                event.issue(
                    IssueCode::NoTimestamp,
                    "json document has no timestamp field",
                );
            }
        }
        Ok(other) => {
            event.fields.insert(fields::MESSAGE, text);
            let kind = match other {
                Json::Array(_) => "an array",
                Json::String(_) => "a string",
                Json::Number(_) => "a number",
                Json::Bool(_) => "a boolean",
                _ => "null",
            };
            event.issue(
                IssueCode::BadJson,
                format!("json document is {kind}, not an object"),
            );
        }
        Err(error) => {
            event.fields.insert(fields::MESSAGE, text);
            event.issue(IssueCode::BadJson, format!("json: {error}"));
        }
    }
}

/// A syslog MSG or text line that starts with `{`: parsed only if it is a JSON object; otherwise it stays text.
/// A document without a time of its own keeps the syslog header's.
pub(crate) fn parse_embedded(event: &mut Event, text: &str, ctx: &Ctx<'_>) {
    if let Ok(root @ Json::Object(_)) = serde_json::from_str::<Json>(text) {
        document(event, &root, ctx);
    }
}

/// Event-time keys in order of preference: ECS, then the usual generic names, then NXLog (`EventTime`), AWS
/// CloudTrail (`eventTime`), Windows (`TimeCreated`) and Azure Log Analytics (`TimeGenerated`, ingestion time, last).
const TIME_KEYS: [&str; 9] = [
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "date",
    "EventTime",
    "eventTime",
    "TimeCreated",
    "TimeGenerated",
];

/// Maps one JSON object; returns whether it carried an event time key.
fn document(event: &mut Event, root: &Json, ctx: &Ctx<'_>) -> bool {
    let empty = Map::new();
    let doc = root.as_object().unwrap_or(&empty);
    if is_nxlog_windows(doc) {
        // Mapped whole into `winlog.*` and ECS below; its flat keys would only duplicate that.
        let has_time = timestamp(event, doc, ctx);
        nxlog_windows(event, doc);
        return has_time;
    }
    event.fields.insert_json("", root);
    for envelope in [
        fields::TIMESTAMP,
        fields::EVENT_ORIGINAL,
        fields::EVENT_INGESTED,
        fields::ORGANIZATION_ID,
    ] {
        event.fields.remove(envelope);
    }
    if let Some(id) = event.fields.remove(fields::EVENT_ID) {
        event.fields.insert("labels.original_event_id", id);
    }
    let spoofed: Vec<String> = event
        .fields
        .iter()
        .filter(|(name, _)| name.starts_with("kuzet."))
        .map(|(name, _)| name.to_owned())
        .collect();
    for name in spoofed {
        event.fields.remove(&name);
    }
    let has_time = timestamp(event, doc, ctx);
    if let Some(winlog) = doc.get("winlog").and_then(Json::as_object) {
        winlogbeat(event, winlog);
    } else if doc.contains_key("event_type")
        && (doc.contains_key("src_ip")
            || doc.contains_key("dest_ip")
            || doc.contains_key("flow_id"))
    {
        suricata(event);
    } else if doc.contains_key("_path") || event.fields.contains("id.orig_h") {
        zeek(event);
    }
    for name in [fields::SOURCE_IP, fields::DESTINATION_IP, fields::HOST_IP] {
        if let Some(ip) = event.fields.get_str(name).map(str::to_owned) {
            push_related(event, "related.ip", &ip);
        }
    }
    has_time
}

/// Sets `@timestamp` from the first readable time key; returns whether the document had any time key.
fn timestamp(event: &mut Event, doc: &Map<String, Json>, ctx: &Ctx<'_>) -> bool {
    let mut seen = false;
    for key in TIME_KEYS {
        let Some(value) = doc.get(key) else { continue };
        seen = true;
        let parsed = match value {
            Json::String(text) => parse_device_time(text, ctx),
            // Through the decimal text, so that Zeek's microseconds survive (an f64 of epoch nanoseconds would not).
            Json::Number(number) => from_epoch_text(&number.to_string())
                .or_else(|| number.as_f64().and_then(from_epoch))
                .map(|ts| (ts, None)),
            _ => None,
        };
        match parsed {
            Some((ts, None)) => set_exact_time(event, ts),
            Some((ts, Some(why))) => set_inferred_time(event, ts, format!("json `{key}`: {why}")),
            None => {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                event.issue(
                    IssueCode::BadTimestamp,
                    format!("json `{key}`: unreadable time `{text}`"),
                );
                if key == "@timestamp" {
                    // `@timestamp` itself is the typed event time; keep what the sender wrote.
                    event.fields.insert("labels.original_timestamp", text);
                }
                continue;
            }
        }
        return true;
    }
    // An unreadable time key already has its BadTimestamp issue; "no timestamp" would be wrong.
    seen
}

/// NXLog's own metadata keys in `im_msvistalog` JSON; every other key is the event's data.
const NXLOG_METADATA: [&str; 28] = [
    "EventTime",
    "EventReceivedTime",
    "SourceModuleName",
    "SourceModuleType",
    "Hostname",
    "Keywords",
    "EventType",
    "SeverityValue",
    "Severity",
    "EventID",
    "SourceName",
    "ProviderGuid",
    "Version",
    "Task",
    "OpcodeValue",
    "RecordNumber",
    "ActivityID",
    "RelatedActivityID",
    "ProcessID",
    "ThreadID",
    "Channel",
    "Domain",
    "AccountName",
    "UserID",
    "AccountType",
    "Message",
    "Category",
    "Opcode",
];

fn is_nxlog_windows(doc: &Map<String, Json>) -> bool {
    doc.contains_key("EventID")
        && doc.contains_key("SourceName")
        && (doc.contains_key("Channel") || doc.contains_key("Hostname"))
}

/// Rebuilds the `{"Event":{"System":…,"EventData":…}}` shape from NXLog's flat keys and maps it like an EVTX
/// record, so that Windows detections see the same fields whichever way the event was shipped. The event time
/// was already read from `EventTime` (NXLog writes local time without a zone: an inferred time).
fn nxlog_windows(event: &mut Event, doc: &Map<String, Json>) {
    let get = |key: &str| doc.get(key).cloned().unwrap_or(Json::Null);
    // NXLog prints Keywords as a signed 64-bit number; the record form has the hex mask.
    let keywords = match doc.get("Keywords") {
        Some(Json::Number(n)) => n
            .as_i64()
            .map(|k| Json::String(format!("0x{:x}", k as u64)))
            .unwrap_or(Json::Null),
        Some(other) => other.clone(),
        None => Json::Null,
    };
    let data: Map<String, Json> = doc
        .iter()
        .filter(|(key, _)| !NXLOG_METADATA.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let record = serde_json::json!({
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": get("SourceName"), "Guid": get("ProviderGuid")}},
                "EventID": get("EventID"),
                "Version": get("Version"),
                "Task": get("Task"),
                "Opcode": get("OpcodeValue"),
                "Keywords": keywords,
                "EventRecordID": get("RecordNumber"),
                "Execution": {"#attributes": {"ProcessID": get("ProcessID"), "ThreadID": get("ThreadID")}},
                "Channel": get("Channel"),
                "Computer": get("Hostname"),
                "Security": {"#attributes": {"UserID": get("UserID")}},
            },
            "EventData": data,
        }
    });
    let timestamp = event.timestamp;
    let issues = event.issues.clone();
    // The record form is rendered only to reuse one mapping; it is never stored.
    let rendered = record.to_string();
    crate::evtx::parse_record(event, rendered.as_bytes());
    event.timestamp = timestamp;
    event.issues = issues;
    let f = &mut event.fields;
    if let Some(host) = doc.get("Hostname").and_then(Json::as_str) {
        f.insert(fields::HOST_NAME, host);
    }
    if let Some(message) = doc.get("Message").and_then(Json::as_str) {
        f.insert(fields::MESSAGE, message);
    }
    if let Some(severity) = doc.get("Severity").and_then(Json::as_str) {
        f.insert_default(fields::LOG_LEVEL, severity.to_ascii_lowercase());
    }
    if let Some(category) = doc.get("Category").and_then(Json::as_str) {
        f.insert("winlog.task_name", category);
    }
    f.insert_default("agent.type", "nxlog");
}

/// Winlogbeat ships the record's fields under `winlog.*` and leaves the ECS mapping to an Elasticsearch ingest
/// pipeline, so its documents arrive without `source.ip`, `user.name` and the rest. They get the same mapping as
/// an EVTX record: the record form is rendered from `winlog` and mapped on the side, and every ECS field it yields
/// that the document does not already carry is added (what the shipper or its processors set stays).
fn winlogbeat(event: &mut Event, winlog: &Map<String, Json>) {
    if !event.fields.contains(fields::EVENT_CODE)
        && let Some(code) = event.fields.get(fields::WINLOG_EVENT_ID)
    {
        let code = match code {
            Value::Int(i) => i.to_string(),
            other => other.to_string(),
        };
        event.fields.insert(fields::EVENT_CODE, code);
    }
    let get = |key: &str| winlog.get(key).cloned().unwrap_or(Json::Null);
    let nested = |outer: &str, inner: &str| {
        winlog
            .get(outer)
            .and_then(|o| o.get(inner))
            .cloned()
            .unwrap_or(Json::Null)
    };
    let record = serde_json::json!({
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": get("provider_name"), "Guid": get("provider_guid")}},
                "EventID": get("event_id"),
                "Version": get("version"),
                "EventRecordID": get("record_id"),
                "Execution": {"#attributes": {"ProcessID": nested("process", "pid")}},
                "Channel": get("channel"),
                "Computer": get("computer_name"),
                "Security": {"#attributes": {"UserID": nested("user", "identifier")}},
            },
            "EventData": winlog.get("event_data").cloned().unwrap_or_else(|| Json::Object(Map::new())),
        }
    });
    // The record form is rendered only to reuse one mapping; it is never stored.
    let mut side = event.clone();
    side.fields = Default::default();
    crate::evtx::parse_record(&mut side, record.to_string().as_bytes());
    for (name, value) in side.fields.iter() {
        if !name.starts_with("winlog.") {
            event.fields.insert_default(name, value.clone());
        }
    }
}

fn str_field(event: &Event, name: &str) -> Option<String> {
    match event.fields.get(name)? {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Copies the endpoints of a flow record to ECS.
fn endpoints(
    event: &mut Event,
    src_ip: &str,
    src_port: &str,
    dst_ip: &str,
    dst_port: &str,
    proto: &str,
) {
    if let Some(ip) = str_field(event, src_ip) {
        insert_ip(event, fields::SOURCE_IP, &ip);
    }
    if let Some(port) = str_field(event, src_port) {
        insert_port(event, fields::SOURCE_PORT, &port);
    }
    if let Some(ip) = str_field(event, dst_ip) {
        insert_ip(event, fields::DESTINATION_IP, &ip);
    }
    if let Some(port) = str_field(event, dst_port) {
        insert_port(event, fields::DESTINATION_PORT, &port);
    }
    if let Some(proto) = str_field(event, proto) {
        event
            .fields
            .insert(fields::NETWORK_TRANSPORT, transport(&proto));
    }
}

fn suricata(event: &mut Event) {
    endpoints(event, "src_ip", "src_port", "dest_ip", "dest_port", "proto");
    let f = &mut event.fields;
    f.insert(fields::EVENT_MODULE, "suricata");
    f.insert(fields::EVENT_DATASET, "suricata.eve");
    f.insert(fields::OBSERVER_VENDOR, "OISF");
    f.insert(fields::OBSERVER_PRODUCT, "Suricata");
    f.insert(fields::OBSERVER_TYPE, "ids");
    if let Some(app) = f
        .get_str("app_proto")
        .filter(|p| *p != "failed")
        .map(str::to_owned)
    {
        f.insert(fields::NETWORK_PROTOCOL, app);
    }
    let event_type = f.get_str("event_type").unwrap_or("").to_owned();
    if event_type == "alert" {
        f.insert(fields::EVENT_KIND, "alert");
        if let Some(signature) = f.get_str("alert.signature").map(str::to_owned) {
            f.insert("rule.name", signature.clone());
            f.insert_default(fields::MESSAGE, signature);
        }
        if let Some(id) = str_field(event, "alert.signature_id") {
            event.fields.insert("rule.id", id);
        }
        let f = &mut event.fields;
        if let Some(category) = f.get_str("alert.category").map(str::to_owned) {
            f.insert("rule.category", category);
        }
        if let Some(severity) = f.get("alert.severity").and_then(Value::as_i64) {
            f.insert(fields::EVENT_SEVERITY, severity);
        }
        let action = f.get_str("alert.action").unwrap_or("").to_owned();
        set_list(
            event,
            fields::EVENT_CATEGORY,
            &["network", "intrusion_detection"],
        );
        match action.as_str() {
            "allowed" => set_list(event, fields::EVENT_TYPE, &["allowed"]),
            "blocked" => set_list(event, fields::EVENT_TYPE, &["denied"]),
            _ => {}
        }
        if !action.is_empty() {
            event.fields.insert(fields::EVENT_ACTION, action);
        }
    } else {
        set_list(event, fields::EVENT_CATEGORY, &["network"]);
        if !event_type.is_empty() {
            event.fields.insert(fields::EVENT_ACTION, event_type);
        }
    }
}

fn zeek(event: &mut Event) {
    endpoints(
        event,
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
    );
    event.fields.insert(fields::EVENT_MODULE, "zeek");
    if let Some(path) = event.fields.get_str("_path").map(str::to_owned) {
        event
            .fields
            .insert(fields::EVENT_DATASET, format!("zeek.{path}"));
        if path == "notice" {
            event.fields.insert(fields::EVENT_KIND, "alert");
            if let Some(note) = event.fields.get_str("note").map(str::to_owned) {
                event.fields.insert("rule.name", note);
            }
            if let Some(msg) = event.fields.get_str("msg").map(str::to_owned) {
                event.fields.insert_default(fields::MESSAGE, msg);
            }
        }
        if path == "dns"
            && let Some(query) = event.fields.get_str("query").map(str::to_owned)
        {
            event.fields.insert("dns.question.name", query);
        }
    }
    if let Some(service) = event.fields.get_str("service").map(str::to_owned) {
        event.fields.insert(fields::NETWORK_PROTOCOL, service);
    }
    if let Some(uid) = event.fields.get_str("uid").map(str::to_owned) {
        event.fields.insert("zeek.session_id", uid);
    }
    set_list(event, fields::EVENT_CATEGORY, &["network"]);
}
