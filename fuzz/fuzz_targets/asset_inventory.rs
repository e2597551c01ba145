//! Arbitrary text as an asset inventory (CSV): rows whose every asset has a name, or an error naming a line; it
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match kuzet_cases::parse_inventory(text) {
        Ok(rows) => assert!(rows.iter().all(|r| !r.name.is_empty())),
        Err(e) => assert!(e.to_string().contains("line")),
    }
});
