//! Kuzet's own rule pack on what the parsers make of real log lines and, when the shared test data is present,
//! of real EVTX recordings: each rule fires on the attack it is for, and the correlations count.

// A test binary: failing loudly on unreadable fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use kuzet_detect::{Correlator, Engine, Limits, Pipeline, builtin_rules};
use kuzet_model::{Event, FormatHint};
use support::parse;

mod support;

fn pack() -> (Engine, Correlator) {
    let set = builtin_rules();
    let pipeline = Pipeline::builtin();
    let engine = Engine::build(&set, &pipeline);
    let correlator = Correlator::build(&set, &engine, &pipeline, Limits::default());
    assert!(engine.problems().is_empty(), "{:?}", engine.problems());
    assert!(
        correlator.problems().is_empty(),
        "{:?}",
        correlator.problems()
    );
    (engine, correlator)
}

fn titles(engine: &Engine, event: &Event) -> Vec<String> {
    let mut scratch = engine.scratch();
    engine
        .matches(event, &mut scratch)
        .iter()
        .map(|r| engine.rules()[*r as usize].title.clone())
        .collect()
}

#[test]
fn every_pack_rule_passes_its_samples() {
    let (engine, correlator) = pack();
    assert!(engine.rules().len() >= 10 && correlator.rules().len() >= 3);
    let outcomes = engine.test_samples("2026-12-06T00:00:00Z".parse().unwrap());
    assert!(outcomes.iter().all(|o| o.passed()), "{outcomes:?}");
    for rule in engine.rules() {
        assert!(
            !rule.samples.matching.is_empty(),
            "{} has no matching sample",
            rule.id
        );
        assert!(
            !rule.samples.not_matching.is_empty(),
            "{} has no non-matching sample",
            rule.id
        );
    }
}

#[test]
fn syslog_lines_fire_the_linux_rules_and_ssh_guessing_correlates() {
    let (engine, mut correlator) = pack();
    let start: jiff::Timestamp = "2026-12-06T09:00:00Z".parse().unwrap();
    let line = |text: &str| parse(text.as_bytes(), FormatHint::Syslog, start);

    let stop = line(
        "<30>Dec  6 14:00:00 web1 rsyslogd: [origin software=\"rsyslogd\" swVersion=\"8.2302.0\"] exiting on signal 15.",
    );
    assert_eq!(
        titles(&engine, &stop),
        ["Linux logging or auditing stopped"]
    );
    let sudoer = line("<86>Dec  6 14:00:00 web1 usermod[4242]: add 'intruder' to group 'sudo'");
    assert_eq!(
        titles(&engine, &sudoer),
        ["Linux user added to a privileged group"]
    );
    let docker = line("<86>Dec  6 14:00:00 web1 usermod[4242]: add 'dev' to group 'docker'");
    assert!(titles(&engine, &docker).is_empty());

    let mut scratch = engine.scratch();
    let mut fired = Vec::new();
    for i in 0..12 {
        let at = start + jiff::SignedDuration::from_secs(i * 10);
        let event = parse(
            format!("<38>Dec  6 14:00:{i:02} web1 sshd[99]: Failed password for root from 203.0.113.7 port 40{i:02} ssh2").as_bytes(),
            FormatHint::Syslog,
            at,
        );
        let matched = engine.matches(&event, &mut scratch).to_vec();
        assert_eq!(matched.len(), 1, "{:?}", event.fields);
        correlator.observe(&event, &matched, at, &mut fired);
    }
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        correlator.rules()[fired[0].correlation as usize].title,
        "SSH password guessing"
    );
    assert_eq!(fired[0].group, [Some("203.0.113.7".to_owned())]);
    assert_eq!(fired[0].value, 10.0);
}

#[test]
fn real_windows_recordings_fire_the_windows_rules() {
    let evtx = support::shared().join("evtx");
    if !evtx.is_dir() {
        println!("shared testdata absent at {}: skipped", evtx.display());
        return;
    }
    let (engine, _) = pack();
    let cases = [
        (
            "Defense Evasion/DE_1102_security_log_cleared.evtx",
            "Windows event log cleared",
        ),
        (
            "Defense Evasion/DE_104_system_log_cleared.evtx",
            "Windows event log cleared",
        ),
        (
            "Persistence/Network_Service_Guest_added_to_admins_4732.evtx",
            "Member added to an administrators group",
        ),
        (
            "Defense Evasion/DE_Fake_ComputerAccount_4720.evtx",
            "Windows user account created",
        ),
    ];
    for (file, title) in cases {
        let path = std::fs::read_dir(&evtx)
            .unwrap()
            .map(|d| d.unwrap().path().join(Path::new(file).file_name().unwrap()))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{file} not in the test data"));
        let mut found = false;
        for record in kuzet_parse::evtx::records(std::fs::read(&path).unwrap()).flatten() {
            let event = parse(&record, FormatHint::Evtx, jiff::Timestamp::UNIX_EPOCH);
            found |= titles(&engine, &event).iter().any(|t| t == title);
        }
        assert!(found, "{title} did not fire on {}", path.display());
    }
}
