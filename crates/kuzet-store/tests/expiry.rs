//! Lawful expiry: segments go only after their retention (three years at least), each with a signed tombstone;
//! the verifier tells that from tampering, the log continues, proofs of later events still verify.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{TEST_PROFILE, normalize, raw, signer, tenant};
use jiff::{SignedDuration, Timestamp};
use kuzet_store::{ArchiveWriter, FindingKind, VerifyReport, expire, prove_in, verify};

const DAYS: i64 = 6;
const PER_DAY: u64 = 40;

fn start() -> Timestamp {
    "2022-03-01T06:00:00Z".parse().unwrap()
}

fn writer(archive: &Path) -> ArchiveWriter {
    ArchiveWriter::open(archive, tenant("alpha"), 2048, 1 << 20, 3, &signer())
        .unwrap()
        .0
}

/// One segment per day for `DAYS` days (the last one open), several blocks each.
fn build(archive: &Path) -> Vec<kuzet_model::EventId> {
    let mut w = writer(archive);
    let mut ids = Vec::new();
    let mut seq = 0;
    for day in 0..DAYS {
        let now = start() + SignedDuration::from_hours(24 * day);
        for _ in 0..PER_DAY {
            seq += 1;
            let r = raw("alpha", seq);
            ids.push(r.id);
            w.append(seq, &r, TEST_PROFILE, now).unwrap();
        }
        w.flush(now).unwrap();
    }
    ids
}

fn check(archive: &Path) -> VerifyReport {
    verify(archive, &signer().verifying_key()).unwrap()
}

fn segments(archive: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(archive.join("alpha"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".seg"))
        .collect();
    names.sort();
    names
}

fn proof_verifies(archive: &Path, id: kuzet_model::EventId) -> bool {
    let proof = prove_in(archive, &tenant("alpha"), id).unwrap().unwrap();
    proof.verify(&signer().verifying_key()).is_ok()
}

#[test]
fn segments_expire_only_after_three_years_and_the_log_verifies_after() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let ids = build(&archive);
    assert_eq!(segments(&archive).len(), DAYS as usize);

    // Below the legal floor: refused, citing it; nothing removed.
    let err = expire(
        &archive,
        &tenant("alpha"),
        &signer(),
        2,
        start() + SignedDuration::from_hours(24 * 365 * 10),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("legal floor of 3 years") && err.contains("R3"),
        "{err}"
    );
    // Three years after the first day is not enough: the day itself counts.
    let almost: Timestamp = "2025-03-02T05:59:59Z".parse().unwrap();
    assert!(
        expire(&archive, &tenant("alpha"), &signer(), 3, almost)
            .unwrap()
            .is_empty()
    );
    assert_eq!(segments(&archive).len(), DAYS as usize);

    // Two days' retention ended.
    let now: Timestamp = "2025-03-03T07:00:00Z".parse().unwrap();
    let gone = expire(&archive, &tenant("alpha"), &signer(), 3, now).unwrap();
    assert_eq!(
        gone.iter().map(|e| e.segment.as_str()).collect::<Vec<_>>(),
        ["0000000000.seg", "0000000001.seg"]
    );
    assert!(
        gone.iter()
            .all(|e| e.records == PER_DAY && e.kept_until <= now)
    );
    assert_eq!(segments(&archive).len(), DAYS as usize - 2);
    // Running again at the same instant removes nothing more.
    assert!(
        expire(&archive, &tenant("alpha"), &signer(), 3, now)
            .unwrap()
            .is_empty()
    );

    let report = check(&archive);
    assert!(report.is_intact(), "{report}");
    let summary = &report.tenants[0];
    assert_eq!(summary.expired_segments, 2);
    assert_eq!(report.records, PER_DAY * (DAYS as u64 - 2));

    // Later events are still read and proved; expired ones are gone.
    let kept: Vec<_> = kuzet_store::read_events(&archive, &tenant("alpha"), normalize())
        .map(|e| e.unwrap().id)
        .collect();
    assert_eq!(kept, ids[2 * PER_DAY as usize..]);
    assert!(proof_verifies(&archive, ids[2 * PER_DAY as usize]));
    assert!(proof_verifies(&archive, *ids.last().unwrap()));
    assert!(
        prove_in(&archive, &tenant("alpha"), ids[0])
            .unwrap()
            .is_none()
    );
    let positions: Vec<u64> = (0..ids.len() as u64).collect();
    let read = kuzet_store::read_at(&archive, &tenant("alpha"), &positions, &normalize()).unwrap();
    assert_eq!(read.first().map(|(p, _)| *p), Some(2 * PER_DAY));
    assert_eq!(read.len(), ids.len() - 2 * PER_DAY as usize);

    // The log continues: reopened (recovery from the tombstones), appended, checkpointed, still intact.
    let mut w = writer(&archive);
    let later = start() + SignedDuration::from_hours(24 * DAYS);
    let extra = raw("alpha", 10_000);
    w.append(10_000, &extra, TEST_PROFILE, later).unwrap();
    w.flush(later).unwrap();
    drop(w);
    let report = check(&archive);
    assert!(report.is_intact(), "{report}");
    assert!(proof_verifies(&archive, extra.id));

    // The block index rebuilt after expiry still serves reads and proofs.
    std::fs::remove_file(archive.join("alpha").join("blocks.idx")).unwrap();
    drop(writer(&archive));
    assert!(proof_verifies(&archive, extra.id));
    let read = kuzet_store::read_at(&archive, &tenant("alpha"), &positions, &normalize()).unwrap();
    assert_eq!(read.first().map(|(p, _)| *p), Some(2 * PER_DAY));
}

#[test]
fn removal_without_a_tombstone_is_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    build(&archive);
    let now: Timestamp = "2025-03-03T07:00:00Z".parse().unwrap();
    expire(&archive, &tenant("alpha"), &signer(), 3, now).unwrap();
    let tenant_dir = archive.join("alpha");

    // The next segment deleted by hand, though its retention is over too.
    let copy = tempfile::tempdir().unwrap();
    let seg2 = tenant_dir.join("0000000002.seg");
    std::fs::copy(&seg2, copy.path().join("s")).unwrap();
    std::fs::remove_file(&seg2).unwrap();
    let report = check(&archive);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::SegmentMissing
                && f.segment.as_deref() == Some("0000000002.seg")),
        "{report}"
    );
    let err = ArchiveWriter::open(&archive, tenant("alpha"), 2048, 1 << 20, 3, &signer())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("missing"), "{err}");
    std::fs::copy(copy.path().join("s"), &seg2).unwrap();
    assert!(check(&archive).is_intact());

    // The tombstones removed: the expired segments are simply missing.
    let tombstones = tenant_dir.join("tombstones.log");
    let saved = std::fs::read(&tombstones).unwrap();
    std::fs::remove_file(&tombstones).unwrap();
    let report = check(&archive);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::SegmentMissing),
        "{report}"
    );

    // A tombstone edited (its removal time moved, its retention shortened): the signature no longer holds.
    for (from, to) in [
        ("\"time\":\"2025", "\"time\":\"2024"),
        ("\"archive_years\":3", "\"archive_years\":1"),
    ] {
        let text = String::from_utf8(saved.clone())
            .unwrap()
            .replacen(from, to, 1);
        assert_ne!(text.as_bytes(), &saved[..]);
        std::fs::write(&tombstones, text).unwrap();
        let report = check(&archive);
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.kind == FindingKind::TombstoneInvalid),
            "{from}: {report}"
        );
    }
    // A tombstone line removed: the next one no longer follows.
    let first_line_end = saved.iter().position(|&b| b == b'\n').unwrap() + 1;
    std::fs::write(&tombstones, &saved[first_line_end..]).unwrap();
    assert!(
        check(&archive)
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::TombstoneInvalid)
    );
    std::fs::write(&tombstones, &saved).unwrap();
    assert!(check(&archive).is_intact());
}

#[test]
fn an_interrupted_expiry_is_finished_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    build(&archive);
    let seg0 = archive.join("alpha").join("0000000000.seg");
    let saved = std::fs::read(&seg0).unwrap();
    let now: Timestamp = "2025-03-02T07:00:00Z".parse().unwrap();
    assert_eq!(
        expire(&archive, &tenant("alpha"), &signer(), 3, now)
            .unwrap()
            .len(),
        1
    );
    // A crash after the tombstone, before the removal.
    std::fs::write(&seg0, saved).unwrap();
    assert!(check(&archive).is_intact());
    drop(writer(&archive));
    assert!(!seg0.exists());
    assert!(check(&archive).is_intact());
}
