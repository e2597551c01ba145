//! Golden tests for Windows event records: every `test_data/evtx/<case>.json` (one record as the evtx crate renders
//! it) is mapped with `kuzet_parse::evtx::parse_record` and compared with `<case>.expected.json`, the event's ECS
//! document. Regenerate the expectations with `UPDATE_GOLDEN=1 cargo test -p kuzet-parse --test evtx_golden` and
//! review the diff by eye.

// A test binary: failing loudly on broken fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use kuzet_model::{Event, EventId, SourceId, TenantId};

fn test_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/evtx")
}

/// The record file's bytes without the trailing newline an editor adds: that is what a shipper would send.
fn record_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    bytes
}

fn map(record: &[u8]) -> Event {
    let mut event = Event::new(
        EventId::from_parts(0x0190_0000_0000, 7),
        TenantId::new("kz-energy").unwrap(),
        SourceId::new("dc01-wef").unwrap(),
        "2026-03-02T12:00:00Z".parse().unwrap(),
        record.to_vec(),
    );
    kuzet_parse::evtx::parse_record(&mut event, record);
    event
}

/// Compares `actual` with the expectation file, or rewrites it when `UPDATE_GOLDEN` is set.
fn check(expected_path: &Path, actual: &serde_json::Value) {
    let mut rendered = serde_json::to_string_pretty(actual).unwrap();
    rendered.push('\n');
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(expected_path, &rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(expected_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            expected_path.display()
        )
    });
    let expected: serde_json::Value = serde_json::from_str(&expected).unwrap();
    assert!(
        expected == *actual,
        "{} differs (UPDATE_GOLDEN=1 regenerates it); actual:\n{rendered}",
        expected_path.display()
    );
}

#[test]
fn every_case_matches_its_expectation() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(test_data())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "json")
                && !path.to_string_lossy().ends_with(".expected.json")
        })
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 8,
        "expected the EVTX golden cases in {}",
        test_data().display()
    );
    for case in &cases {
        let record = record_bytes(case);
        let event = map(&record);
        assert_eq!(event.original, record, "{}: original kept", case.display());
        check(&case.with_extension("expected.json"), &event.to_ecs_json());
    }
}

#[test]
fn malformed_records_become_bad_evtx_issues() {
    for name in ["malformed_truncated.json", "not_an_event.json"] {
        let event = map(&record_bytes(&test_data().join(name)));
        assert!(
            event.has_issue(kuzet_model::IssueCode::BadEvtx),
            "{name}: {:?}",
            event.issues
        );
    }
}

#[test]
fn security_logon_maps_the_fields_detections_use() {
    let event = map(&record_bytes(
        &test_data().join("security_4624_network_logon.json"),
    ));
    assert!(event.issues.is_empty(), "{:?}", event.issues);
    assert_eq!(event.timestamp.to_string(), "2026-03-02T08:15:42.1234567Z");
    assert_eq!(event.winlog_event_id(), Some(4624));
    assert_eq!(event.user_name(), Some("aidos.serikov"));
    assert_eq!(event.source_ip(), Some("10.20.30.41".parse().unwrap()));
    assert_eq!(event.event_outcome(), Some("success"));
    assert_eq!(event.fields.get_str("winlog.logon.type"), Some("Network"));
    // Raw names stay as Windows spells them; values lose only trailing blanks (see `Node::to_value`).
    assert_eq!(
        event.fields.get_str("winlog.event_data.TargetUserName"),
        Some("aidos.serikov")
    );
    assert_eq!(
        event.fields.get_str("winlog.event_data.LogonProcessName"),
        Some("NtLmSsp")
    );
}
