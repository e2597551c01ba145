//! Arbitrary text as a Sigma rule file: reading and compiling it either loads rules or reports each problem by
//! origin with a reason; a loaded engine then runs on an event without panicking, and its prefilter agrees with
//! the exhaustive evaluation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = kuzet_detect::RuleSet::new();
    set.add_yaml("fuzz.yml", text);
    let engine = kuzet_detect::Engine::build(&set, &kuzet_detect::Pipeline::builtin());
    for problem in engine.problems() {
        assert!(!problem.reason.is_empty());
    }
    let document = serde_json::json!({
        "CommandLine": "powershell -enc d2hvYW1p", "Image": "C:\\Windows\\cmd.exe", "EventID": 4688,
        "SourceIp": "10.0.0.1", "message": "Failed password for root",
    });
    let event = kuzet_detect::sample_event(&document, jiff::Timestamp::UNIX_EPOCH);
    let mut scratch = engine.scratch();
    let fast = engine.matches(&event, &mut scratch).to_vec();
    assert_eq!(fast, engine.matches_exhaustive(&event, &mut scratch));
});
