//! Arbitrary bytes as a sealed audit record: the reader names what is wrong or returns a record that serializes
//! back to an equal record; it never panics.
#![no_main]

use kuzet_model::audit::AuditRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = AuditRecord::from_bytes(data) {
        let again =
            AuditRecord::from_bytes(&record.to_bytes()).expect("a written record reads back");
        assert_eq!(again, record);
    }
});
