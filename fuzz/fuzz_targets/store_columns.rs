//! Arbitrary bytes as a format 2 block payload (the columns of a block, after decompression): decoding returns
//! records or an error naming what is wrong, never panics; what decodes re-encodes to the same records.
#![no_main]

use kuzet_store::columns::{ColumnBuilder, decode_columns};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(columns) = decode_columns(data, 7) else {
        return;
    };
    let mut builder = ColumnBuilder::default();
    for record in columns.records() {
        // Every decoded record is a canonical format 2 record, so the builder takes it.
        builder.push(record).unwrap();
    }
    let leaves: Vec<_> = columns.records().map(kuzet_store::merkle::leaf_hash).collect();
    let mut payload = Vec::new();
    builder.finish(&leaves, &mut payload);
    let again = decode_columns(&payload, 7).unwrap();
    assert!(again.records().eq(columns.records()));
});
