//! Arbitrary bytes as a tombstone log: reading never panics, keeps a prefix, and a tombstone it keeps is
//! validly signed and written back reads again as itself.
#![no_main]

use kuzet_store::check_tombstones;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = kuzet_store::Signer::from_seed([1; 32]).verifying_key();
    let (kept, problems) = check_tombstones(data, "alpha", &key);
    for (n, t) in kept.iter().enumerate() {
        assert_eq!(t.n, n as u64);
        assert!(t.signature_ok(&key));
    }
    let lines: String = kept.iter().map(|t| t.to_line()).collect();
    let (again, again_problems) = check_tombstones(lines.as_bytes(), "alpha", &key);
    assert_eq!(again, kept);
    // Dropping what followed the kept prefix leaves only the early-removal findings the prefix itself carries.
    assert!(again_problems.len() <= problems.len());
});
