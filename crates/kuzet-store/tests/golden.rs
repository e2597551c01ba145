//! Golden test of the on-disk format: a fixed input sealed at a fixed time must produce exactly the bytes recorded
//! in `test_data/archive/v2.expected.json` (documented in `docs/formats/archive.md`). A change here is a format
//! change: bump the version and keep reading the old one. Regenerate with `UPDATE_GOLDEN=1`.
//! Compressed lengths (and so block headers, log roots and signatures) also depend on zstd's output, which is
//! pinned by Cargo.lock; a zstd upgrade that changes them is not a format change, and regenerating is right then.

// Helpers outside #[test] functions unwrap too: a failure is a broken test setup.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kuzet_store::ArchiveWriter;
use kuzet_store::format::{self, BLOCK_HEADER_LEN, SegmentHeader};

fn check(case: &str, actual: &serde_json::Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data/archive")
        .join(format!("{case}.expected.json"));
    let rendered = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    // Compared as JSON values: key order depends on whether another crate in the build enabled serde_json's
    // `preserve_order` (evtx does), and is not part of the format.
    let expected_value: serde_json::Value = serde_json::from_str(&expected).unwrap();
    assert_eq!(
        actual, &expected_value,
        "{case}: the archive format changed\n--- expected\n{expected}\n--- actual\n{rendered}"
    );
}

#[test]
fn archive_v2_bytes_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::from_second(1_763_780_000).unwrap();
    let (mut writer, _) =
        ArchiveWriter::open(dir.path(), tenant("golden"), 700, 1 << 20, 3, &signer()).unwrap();
    for n in 1..=5u64 {
        writer
            .append(n, &raw("golden", n), TEST_PROFILE, now)
            .unwrap();
    }
    writer.flush(now).unwrap();

    let tenant_dir = dir.path().join("golden");
    let segment = std::fs::read(tenant_dir.join(format::segment_file_name(0))).unwrap();
    let (_, header_len) = SegmentHeader::decode(&segment).unwrap();
    let (_, blocks) = layout(&segment);
    let block_headers: Vec<_> = blocks
        .iter()
        .map(|(offset, h)| {
            let end = offset + h.encoded_len() as usize;
            let payload = zstd::bulk::decompress(
                &segment[offset + BLOCK_HEADER_LEN..end - 32],
                h.uncompressed_len as usize,
            )
            .unwrap();
            serde_json::json!({
                "header": hex::encode(&segment[*offset..offset + BLOCK_HEADER_LEN]),
                // The columns before compression: what docs/formats/archive.md specifies byte by byte.
                "payload": hex::encode(&payload),
                "root": hex::encode(&segment[end - 32..end]),
            })
        })
        .collect();
    let checkpoints = std::fs::read_to_string(tenant_dir.join(format::CHECKPOINTS_FILE)).unwrap();
    let actual = serde_json::json!({
        "segment_header": hex::encode(&segment[..header_len]),
        "segment_sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&segment)),
        "blocks": block_headers,
        "checkpoints": checkpoints.lines().collect::<Vec<_>>(),
    });
    check("v2", &actual);
}

#[test]
fn version_1_checkpoint_lines_still_verify() {
    // Lines written by the first checkpoint format (before numbers, back links and header hashes).
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data/archive/checkpoints-v1.log");
    let bytes = std::fs::read(path).unwrap();
    let (lines, complete) = format::parse_checkpoints(&bytes);
    assert_eq!(complete, bytes.len());
    assert!(!lines.is_empty());
    for (line, parsed) in lines {
        let cp = parsed.unwrap();
        assert_eq!(cp.v, 1, "line {line}");
        assert!(cp.signature_ok(&signer().verifying_key()), "line {line}");
        let mut changed = cp.clone();
        changed.tree_size += 1;
        assert!(!changed.signature_ok(&signer().verifying_key()));
    }
}
