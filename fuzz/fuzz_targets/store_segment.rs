//! Arbitrary bytes as a sealed-archive segment file: the verifier must report findings, never panic, and never
//! allocate more than the input can decompress to.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let findings = kuzet_store::verify_segment_bytes("fuzz", "0000000000.seg", data);
    // Every finding renders (Display walks every optional location field).
    for finding in &findings {
        let _ = finding.to_string();
    }
});
