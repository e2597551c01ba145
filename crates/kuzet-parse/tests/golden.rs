//! Golden tests: every `test_data/<format>/<case>.log` (one event, exact bytes) is parsed with the format named by
//! its directory and compared with `<case>.expected.json`, the event's ECS document. The expected files are the
//! specification of the mapping: review them by eye. `UPDATE_GOLDEN=1 cargo test -p kuzet-parse --test golden`
//! rewrites them. (`test_data/evtx` belongs to the EVTX tests.)

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_parse::{ParseOptions, parse};

/// The fixed receive instant of every golden case: 2026-11-22 08:00:00 in Kazakhstan (UTC+5).
const RECEIVED: &str = "2026-11-22T03:00:00Z";

fn raw(format: FormatHint, bytes: Vec<u8>) -> RawEvent {
    let received: jiff::Timestamp = RECEIVED.parse().unwrap();
    RawEvent {
        id: EventId::from_parts(received.as_millisecond() as u64, 7),
        tenant: TenantId::new("kz-energy").unwrap(),
        source: SourceId::new("golden").unwrap(),
        received,
        transport: Transport::Udp,
        peer: None,
        format,
        bytes,
    }
}

/// Compares `actual` with the expected file, or rewrites it under `UPDATE_GOLDEN=1`. Returns a failure message.
fn check(expected_path: &Path, actual: &serde_json::Value) -> Option<String> {
    let mut rendered = serde_json::to_string_pretty(actual).unwrap();
    rendered.push('\n');
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(expected_path, &rendered).unwrap();
        return None;
    }
    match std::fs::read_to_string(expected_path) {
        Ok(expected) if expected == rendered => None,
        Ok(expected) => Some(format!(
            "{}: output differs\n--- expected\n{expected}\n--- actual\n{rendered}",
            expected_path.display()
        )),
        Err(error) => Some(format!(
            "{}: {error} (run with UPDATE_GOLDEN=1 to create it)\n{rendered}",
            expected_path.display()
        )),
    }
}

fn cases() -> Vec<(FormatHint, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let mut cases = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if name == "evtx" || !dir.is_dir() {
            continue;
        }
        let format = FormatHint::parse_name(&name)
            .unwrap_or_else(|| panic!("test_data/{name}: directory is not a format name"));
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "log") {
                cases.push((format, path));
            }
        }
    }
    cases.sort_by(|a, b| a.1.cmp(&b.1));
    cases
}

#[test]
fn golden_cases_match_their_expected_documents() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} golden cases", cases.len());
    let options = ParseOptions::default();
    let mut failures = Vec::new();
    for (format, path) in &cases {
        let bytes = std::fs::read(path).unwrap();
        let event = parse(&raw(*format, bytes.clone()), &options);
        assert_eq!(
            event.original,
            bytes,
            "{}: original bytes changed",
            path.display()
        );
        let expected = path.with_extension("expected.json");
        if let Some(failure) = check(&expected, &event.to_ecs_json()) {
            failures.push(failure);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Winlogbeat documents get the EVTX record's ECS mapping, and what the shipper set itself stays.
#[test]
fn winlogbeat_gets_the_record_mapping_without_overriding_the_shipper() {
    let doc = r#"{"@timestamp":"2026-11-22T02:59:57.000Z","source":{"ip":"10.0.0.1"},"winlog":{"channel":"Security","event_id":4624,"provider_name":"Microsoft-Windows-Security-Auditing","computer_name":"DC01.corp.kz","event_data":{"TargetUserName":"aigerim","TargetDomainName":"CORP","IpAddress":"198.51.100.77","LogonType":"10"}}}"#;
    let event = parse(
        &raw(FormatHint::Json, doc.as_bytes().to_vec()),
        &ParseOptions::default(),
    );
    let text = |name: &str| event.fields.get(name).map(|v| v.to_string());
    assert_eq!(
        text("source.ip").as_deref(),
        Some("10.0.0.1"),
        "the shipper's value stays"
    );
    assert_eq!(text("user.name").as_deref(), Some("aigerim"));
    assert_eq!(text("event.action").as_deref(), Some("logged-in"));
    assert_eq!(
        text("winlog.event_data.IpAddress").as_deref(),
        Some("198.51.100.77")
    );
}
