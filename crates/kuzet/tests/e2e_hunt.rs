//! `kuzet hunt` and `kuzet rules lint|test` against the real binary: rules and events written here, and — when the
//! shared test data is present — a SigmaHQ rule over the EVTX sample recorded for it.

// A test binary: failing loudly on unreadable fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::KUZET;

fn kuzet(args: &[&str]) -> Output {
    Command::new(KUZET)
        .args(args)
        .env("KUZET_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const RULES: &str = "\
title: Audit log cleared
id: 00000000-0000-4000-8000-000000000001
level: high
logsource: {}
detection:
  sel: { event.action: audit-log-cleared }
  condition: sel
---
title: Encoded PowerShell
id: 00000000-0000-4000-8000-000000000002
level: medium
logsource: {}
detection:
  sel: { process.command_line|contains|windash: ' -enc ' }
  condition: sel
";

const EVENTS: &str = r#"{"@timestamp":"2026-12-01T10:00:00Z","host":{"name":"dc1"},"event":{"action":"audit-log-cleared"}}
{"@timestamp":"2026-12-01T10:00:01Z","host":{"name":"ws7"},"process":{"command_line":"powershell /ENC AAAA"}}
{"@timestamp":"2026-12-01T10:00:02Z","host":{"name":"ws7"},"process":{"command_line":"powershell -File x.ps1"}}
"#;

fn fixture(dir: &Path) -> (String, String) {
    let rules = dir.join("rules.yml");
    let events = dir.join("events.ndjson");
    std::fs::write(&rules, RULES).unwrap();
    std::fs::write(&events, EVENTS).unwrap();
    (rules.display().to_string(), events.display().to_string())
}

#[test]
fn hunt_prints_every_rule_event_hit_in_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, events) = fixture(dir.path());

    let out = kuzet(&["hunt", "--rules", &rules, "--format", "jsonl", &events]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert_eq!(hits[0]["rule_id"], "00000000-0000-4000-8000-000000000001");
    assert_eq!(hits[0]["rule_title"], "Audit log cleared");
    assert_eq!(hits[0]["level"], "high");
    assert_eq!(hits[0]["file"], events);
    assert_eq!(hits[0]["record_id"], 1);
    assert_eq!(hits[0]["host"], "dc1");
    assert_eq!(hits[1]["rule_id"], "00000000-0000-4000-8000-000000000002");
    assert_eq!(hits[1]["record_id"], 2);
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains("2 rule(s) and 0 correlation(s) loaded"),
        "{summary}"
    );
    assert!(
        summary.contains("3 record(s), 2 hit(s) of 2 rule(s), 0 correlation hit(s)"),
        "{summary}"
    );

    let out = kuzet(&[
        "hunt",
        "--rules",
        &rules,
        "--format",
        "csv",
        "--min-level",
        "high",
        &events,
    ]);
    assert!(out.status.success());
    let csv = stdout(&out);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "timestamp,level,rule_id,rule_title,host,file,record_id"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].starts_with(
        "2026-12-01T10:00:00Z,high,00000000-0000-4000-8000-000000000001,Audit log cleared,dc1,"
    ));

    let out = kuzet(&["hunt", "--rules", &rules, "--format", "json", &events]);
    let all: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(all.len(), 2);

    let out = kuzet(&["hunt", "--rules", &rules, &events]);
    assert!(
        stdout(&out).contains("Encoded PowerShell  [ws7]"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn hunt_refuses_what_it_cannot_read_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, _) = fixture(dir.path());
    let missing = dir.path().join("nope.evtx").display().to_string();
    let out = kuzet(&["hunt", "--rules", &rules, &missing]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.evtx: no such file or directory"));

    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "title: [broken\n").unwrap();
    let out = kuzet(&["hunt", "--rules", &bad.display().to_string(), &missing]);
    assert!(!out.status.success());
}

#[test]
fn rules_lint_names_each_rule_that_cannot_load_and_test_runs_samples() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("good.yml"), RULES).unwrap();
    std::fs::write(
        rules.join("bad.yml"),
        "title: bad regex\nid: bad-1\nlogsource: {}\ndetection:\n  sel: { a|re: '(' }\n  condition: sel\n",
    )
    .unwrap();
    let out = kuzet(&["rules", "lint", &rules.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("bad.yml: rule bad-1: compile: detection `sel`: `a`: regex `(`"),
        "{text}"
    );
    assert!(
        text.contains("2 rule(s) and 0 correlation(s) loaded, 1 problem(s)"),
        "{text}"
    );

    let tested = dir.path().join("tested.yml");
    std::fs::write(
        &tested,
        "title: t\nid: t-1\nlogsource: {}\ndetection:\n  sel: { event.code: 1102 }\n  condition: sel\n\
         samples:\n  match: [{ event: { code: 1102 } }]\n  no_match: [{ event: { code: 4624 } }]\n",
    )
    .unwrap();
    let out = kuzet(&["rules", "test", &tested.display().to_string()]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 rule(s), 2 sample(s), 0 failed"));

    std::fs::write(
        &tested,
        "title: t\nid: t-1\nlogsource: {}\ndetection:\n  sel: { event.code: 1102 }\n  condition: sel\n\
         samples:\n  match: [{ event: { code: 4624 } }]\n",
    )
    .unwrap();
    let out = kuzet(&["rules", "test", &tested.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("rule t-1 (t): samples.match[0] did not match"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn hunt_finds_a_sigmahq_rule_in_the_evtx_recorded_for_it() {
    let sigma = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sigma");
    if !sigma.is_dir() {
        println!("shared testdata absent at {}: skipped", sigma.display());
        return;
    }
    let sample = sigma.join(
        "regression_data/rules-threat-hunting/windows/image_load/image_load_win_werfaultsecure_dbgcore_dbghelp_load",
    );
    let evtx = sample.join("8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b.evtx");
    let out = kuzet(&[
        "hunt",
        "--rules",
        &sigma.join("rules-threat-hunting").display().to_string(),
        "--format",
        "jsonl",
        &evtx.display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = stdout(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["rule_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        ids.contains(&"8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b".to_owned()),
        "{ids:?}"
    );
}

#[test]
fn hunt_with_the_builtin_pack_correlates_password_guessing_across_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let mut text = String::new();
    for i in 0..11 {
        text.push_str(&format!(
            "<38>Dec  6 14:00:{i:02} web1 sshd[99]: Failed password for root from 203.0.113.7 port 40{i:02} ssh2\n"
        ));
    }
    std::fs::write(&log, text).unwrap();
    let out = kuzet(&[
        "hunt",
        "--builtin",
        "--min-level",
        "high",
        "--format",
        "jsonl",
        &log.display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The eleven low-level failures are below --min-level; the correlation of ten of them is not.
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let correlation = &hits[0]["correlation"];
    assert_eq!(hits[0]["rule_title"], "SSH password guessing");
    assert_eq!(correlation["type"], "event_count");
    assert_eq!(correlation["group"]["source.ip"], "203.0.113.7");
    assert_eq!(correlation["value"], 10.0);
    let events = correlation["events"].as_array().unwrap();
    assert_eq!(events.len(), 10);
    assert_eq!(events[0]["record_id"], 1);
    assert_eq!(events[9]["record_id"], 10);
    assert_eq!(hits[0]["record_id"], 10);
}

#[test]
fn hunt_matches_indicator_feeds_with_their_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let (_, events) = fixture(dir.path());
    let feed = dir.path().join("feed.csv");
    std::fs::write(
        &feed,
        "type,value,description\ndomain,evil.example,phishing kit\nip,not-an-address,broken\n",
    )
    .unwrap();
    let log = dir.path().join("dns.ndjson");
    std::fs::write(
        &log,
        "{\"dns\":{\"question\":{\"name\":\"login.evil.example\"}},\"host\":{\"name\":\"ws7\"}}\n",
    )
    .unwrap();
    let out = kuzet(&[
        "hunt",
        "--indicators",
        &feed.display().to_string(),
        "--format",
        "jsonl",
        &log.display().to_string(),
        &events,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3: parse: `not-an-address` is not an IP address or network"),
        "{stderr}"
    );
    let hits: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["indicator"]["field"], "dns.question.name");
    assert_eq!(hits[0]["indicator"]["matched"], "login.evil.example");
    assert_eq!(hits[0]["indicator"]["description"], "phishing kit");
    assert_eq!(hits[0]["host"], "ws7");
}

/// `kuzet bench hunt` reports both rates and the hits of one round over the same files (the figures themselves
/// are the benchmark's, never asserted).
#[test]
fn bench_hunt_reports_parse_and_hunt_rates_of_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, events) = fixture(dir.path());
    let out = kuzet(&[
        "bench",
        "hunt",
        "--rules",
        &rules,
        "--threads",
        "1",
        &events,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("rules loaded 2 "), "{text}");
    assert!(text.contains("records 3, threads 1;"), "{text}");
    assert!(text.contains("(2 hits per round)"), "{text}");
    assert!(text.contains("hunt / parse-only rate: "), "{text}");
    assert!(text.contains("detection alone: "), "{text}");
}
