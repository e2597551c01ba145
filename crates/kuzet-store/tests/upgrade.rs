//! An archive written by the previous release (format 1: normalized events as JSON, one hint per record) stays
//! readable, provable and verifiable after the upgrade, and the store continues it in format 2 from a new segment.
//! The fixture in `test_data/v1-archive/` was written by `kuzet ingest` of that release (`lines.log`, `ev.ndjson`)
//! and is never regenerated.

// Helpers outside #[test] functions unwrap too: a failure is a broken test setup.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use kuzet_store::format::{self, RecordBody};
use kuzet_store::{FindingKind, Signer, Store, prove_in, read_events, verify};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/v1-archive")
}

fn fixture_signer() -> Signer {
    let text = std::fs::read_to_string(fixture().join("signing.key")).unwrap();
    let hex = text.split_whitespace().nth(1).unwrap();
    Signer::from_seed(hex::decode(hex).unwrap().try_into().unwrap())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A data directory holding a copy of the fixture's archive.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture().join("archive"), &dir.path().join("archive"));
    dir
}

#[test]
fn a_version_1_archive_verifies_reads_and_proves() {
    let dir = data_dir();
    let archive = dir.path().join("archive");
    let key = fixture_signer().verifying_key();
    let report = verify(&archive, &key).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records, 5);
    let events: Vec<_> = read_events(&archive, &tenant("alpha"), normalize())
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(events.len(), 4);
    // What the previous release exported, event for event.
    let exported = std::fs::read_to_string(fixture().join("export-alpha.ndjson")).unwrap();
    let exported: Vec<serde_json::Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (event, line) in events.iter().zip(&exported) {
        assert_eq!(&event.to_ecs_json(), line);
    }
    let proof = prove_in(&archive, &tenant("alpha"), events[1].id)
        .unwrap()
        .unwrap();
    proof.verify(&key).unwrap();
    assert_eq!(proof.event(&*normalize()).unwrap(), events[1]);
}

#[test]
fn the_store_continues_a_version_1_log_in_a_new_version_2_segment() {
    let dir = data_dir();
    let archive = dir.path().join("archive");
    let store = Store::open(small_config(dir.path()), fixture_signer(), normalize()).unwrap();
    let new: Vec<_> = (0..30).map(|n| raw("alpha", n)).collect();
    store.wal().append_blocking(new.clone()).unwrap();
    store.shutdown().unwrap();
    let report = verify(&archive, &fixture_signer().verifying_key()).unwrap();
    assert!(report.is_intact(), "{report}");
    let versions: Vec<u16> = (0..segment_count(&archive.join("alpha")) as u64)
        .map(|n| {
            let bytes =
                std::fs::read(archive.join("alpha").join(format::segment_file_name(n))).unwrap();
            format::SegmentHeader::decode(&bytes).unwrap().0.version
        })
        .collect();
    assert_eq!(versions[0], 1, "{versions:?}");
    assert!(versions[1..].iter().all(|v| *v == 2), "{versions:?}");
    let read: Vec<_> = read_events(&archive, &tenant("alpha"), normalize())
        .map(|e| e.unwrap().id)
        .collect();
    assert_eq!(read.len(), 4 + new.len());
    assert_eq!(&read[4..], new.iter().map(|r| r.id).collect::<Vec<_>>());

    // What the search index points at: events by position (in the tenant's log), across both formats, through
    // the block index and without it; positions the log does not hold are absent.
    let all: Vec<_> = read_events(&archive, &tenant("alpha"), normalize())
        .map(|e| e.unwrap())
        .collect();
    let wanted = [0u64, 2, 3, 4, 17, 33, 34, 1_000];
    for without_index in [false, true] {
        if without_index {
            std::fs::remove_file(archive.join("alpha").join("blocks.idx")).unwrap();
        }
        let got = kuzet_store::read_at(&archive, &tenant("alpha"), &wanted, &normalize()).unwrap();
        let positions: Vec<u64> = got.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            positions,
            [0, 2, 3, 4, 17, 33],
            "without index: {without_index}"
        );
        for (position, event) in &got {
            assert_eq!(event, &all[*position as usize], "position {position}");
        }
    }
}

#[test]
fn a_changed_version_1_record_is_located_by_its_hint() {
    let dir = data_dir();
    let archive = dir.path().join("archive");
    let path = archive.join("alpha").join(format::segment_file_name(0));
    let mut target = (0, None);
    rewrite_payload(&path, 0, |header, data, _| {
        let read = format::block_records(header, data);
        assert_eq!(read.hints.len(), read.len(), "format 1 blocks carry hints");
        let fields = format::decode_record(read.get(1)).unwrap();
        assert!(matches!(fields.body, RecordBody::Json(_)));
        target = (fields.record_index, Some(fields.event_id));
        // The hint sits before the record bytes; change a byte of the record's JSON after its 33-byte prefix.
        let at = data
            .windows(read.get(1).len())
            .position(|w| w == read.get(1))
            .unwrap();
        data[at + 40] ^= 0x01;
    });
    let report = verify(&archive, &fixture_signer().verifying_key()).unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::RecordAltered
                && f.record == Some(target.0)
                && f.event_id == target.1),
        "{report}"
    );
}
