//! Arbitrary text as an indicator feed (CSV, STIX 2.1 bundle, MISP event): every entry loads or is reported with a
//! reason; a loaded set then matches an event without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = kuzet_detect::IndicatorSet::new();
    set.add_csv("fuzz.csv", text);
    set.add_stix("fuzz.json", text);
    set.add_misp("fuzz.json", text);
    for problem in set.problems() {
        assert!(!problem.reason.is_empty());
    }
    let document = serde_json::json!({
        "source": {"ip": "10.0.0.1"}, "dns": {"question": {"name": "a.b.example"}},
        "url": {"original": "http://a.b.example/x"}, "email": {"from": {"address": "a@b.example"}},
        "winlog": {"event_data": {"Hashes": "MD5=00000000000000000000000000000000"}},
    });
    let at = jiff::Timestamp::UNIX_EPOCH;
    let mut out = Vec::new();
    set.matches(&kuzet_detect::sample_event(&document, at), at, &mut out);
    for hit in out {
        assert!((hit.indicator as usize) < set.len());
    }
});
