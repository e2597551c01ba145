//! Arbitrary bytes as a checkpoint log (version 1 and 2 lines): parsing names what is wrong, a parsed line's
//! signature check and message never panic, and a line written back parses to an equal checkpoint.
#![no_main]

use kuzet_store::format::{Checkpoint, parse_checkpoints};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = kuzet_store::Signer::from_seed([1; 32]).verifying_key();
    let (lines, complete) = parse_checkpoints(data);
    assert!(complete <= data.len());
    for (_, parsed) in lines {
        if let Ok(cp) = parsed {
            let _ = cp.signature_ok(&key);
            let _ = (cp.message(), cp.header_bytes(), cp.prev_bytes(), cp.root_bytes());
            let line = cp.to_line();
            let (again, _) = parse_checkpoints(line.as_bytes());
            let back: Checkpoint = again
                .into_iter()
                .next()
                .and_then(|(_, c)| c.ok())
                .expect("a written line reads back");
            assert_eq!(back, cp);
        }
    }
});
