//! Property tests over the whole archive: random workloads always verify intact, and no byte string makes the
//! verifier panic (the same check the `store_segment` fuzz target runs for longer).

// Helpers outside #[test] functions unwrap too: a failure is a broken test setup.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kuzet_model::RawEvent;
use kuzet_store::{ArchiveWriter, Normalizer, format, verify, verify_segment_bytes};
use proptest::prelude::*;

fn event(tenant_name: &str, n: u64, size: usize) -> RawEvent {
    let mut r = raw(tenant_name, n);
    r.bytes.resize(size, b'x');
    r
}

/// One step of a workload: append `count` events of `size` bytes, then maybe flush, maybe move the clock a day.
#[derive(Debug, Clone)]
struct Step {
    count: u64,
    size: usize,
    flush: bool,
    next_day: bool,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            1u64..40,
            10usize..2000,
            any::<bool>(),
            prop::bool::weighted(0.1),
        )
            .prop_map(|(count, size, flush, next_day)| Step {
                count,
                size,
                flush,
                next_day,
            }),
        1..20,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_workloads_verify_intact_and_read_back(steps in steps(), block_bytes in 512usize..8192, segment_kib in 4u64..32) {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        std::fs::create_dir_all(&archive).unwrap();
        let mut now = jiff::Timestamp::from_second(1_763_780_000).unwrap();
        let mut raws = Vec::new();
        let mut seq = 0;
        {
            let (mut writer, _) = ArchiveWriter::open(&archive, tenant("alpha"), block_bytes, segment_kib * 1024, 3, &signer()).unwrap();
            for step in &steps {
                for _ in 0..step.count {
                    seq += 1;
                    let e = event("alpha", seq, step.size);
                    writer.append(seq, &e, TEST_PROFILE, now).unwrap();
                    raws.push(e);
                }
                if step.flush {
                    writer.flush(now).unwrap();
                }
                if step.next_day {
                    now += jiff::SignedDuration::from_hours(24);
                }
            }
            writer.flush(now).unwrap();
            prop_assert_eq!(writer.last_sealed_seq(), seq);
        }
        let report = verify(&archive, &signer().verifying_key()).unwrap();
        prop_assert!(report.is_intact(), "{}", report);
        prop_assert_eq!(report.records, seq);
        // Every original byte comes back, and every derived field equals a fresh parse of the raw event.
        let read: Vec<_> = kuzet_store::read_events(&archive, &tenant("alpha"), normalize()).map(|e| e.unwrap()).collect();
        let fresh: Vec<_> = raws.iter().map(|r| TestNormalizer.normalize(r, TEST_PROFILE)).collect();
        prop_assert_eq!(read, fresh);
        // Reopening recovers nothing: everything was checkpointed.
        let (_, recovery) = ArchiveWriter::open(&archive, tenant("alpha"), block_bytes, segment_kib * 1024, 3, &signer()).unwrap();
        prop_assert_eq!(recovery, kuzet_store::RecoveryReport::default());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_verifier(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = verify_segment_bytes("alpha", "0000000000.seg", &bytes);
    }

    #[test]
    fn mutated_segments_never_panic_and_are_never_intact(flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8)) {
        let built = segment_bytes();
        let mut bytes = built.clone();
        for (at, xor) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= xor;
        }
        let findings = verify_segment_bytes("alpha", "0000000000.seg", &bytes);
        prop_assert!(!findings.is_empty(), "a changed byte went unnoticed");
    }
}

/// A valid closed segment with a few blocks (built once per process).
fn segment_bytes() -> Vec<u8> {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let (mut writer, _) =
                ArchiveWriter::open(dir.path(), tenant("alpha"), 1024, 6 * 1024, 3, &signer())
                    .unwrap();
            let now = jiff::Timestamp::from_second(1_763_780_000).unwrap();
            for n in 1..=60 {
                writer
                    .append(n, &event("alpha", n, 200), TEST_PROFILE, now)
                    .unwrap();
            }
            writer.flush(now).unwrap();
            std::fs::read(dir.path().join("alpha").join(format::segment_file_name(0))).unwrap()
        })
        .clone()
}

/// Segments roll at local midnight (Kazakhstan, 19:00 UTC), not at the UTC day: one segment holds one Astana day.
#[test]
fn segments_roll_at_the_local_midnight() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
    let (mut writer, _) =
        ArchiveWriter::open(&archive, tenant("alpha"), 512, 1 << 20, 3, &signer()).unwrap();
    // 10:00 and 18:59 UTC are 15:00 and 23:59 on 5 December in Astana; 19:01 UTC is 00:01 on 6 December.
    for (seq, time) in [
        (1, "2026-12-05T10:00:00Z"),
        (2, "2026-12-05T18:59:00Z"),
        (3, "2026-12-05T19:01:00Z"),
        (4, "2026-12-05T23:30:00Z"),
    ] {
        writer
            .append(seq, &event("alpha", seq, 100), TEST_PROFILE, at(time))
            .unwrap();
        writer.flush(at(time)).unwrap();
    }
    let segments = segment_count(&archive.join("alpha"));
    assert_eq!(
        segments, 2,
        "one segment per Astana day, whatever the UTC day"
    );
    let report = verify(&archive, &signer().verifying_key()).unwrap();
    assert!(report.is_intact(), "{report}");
}

/// An archive of one tenant with several blocks and checkpoints: (segment 0 bytes, checkpoint log bytes).
fn small_archive() -> (Vec<u8>, Vec<u8>) {
    static BYTES: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    BYTES
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let (mut writer, _) =
                ArchiveWriter::open(dir.path(), tenant("alpha"), 1024, 1 << 20, 3, &signer())
                    .unwrap();
            let now = jiff::Timestamp::from_second(1_763_780_000).unwrap();
            for n in 1..=60 {
                writer
                    .append(n, &event("alpha", n, 200), TEST_PROFILE, now)
                    .unwrap();
                if n % 15 == 0 {
                    writer.flush(now).unwrap();
                }
            }
            writer.flush(now).unwrap();
            let tenant_dir = dir.path().join("alpha");
            (
                std::fs::read(tenant_dir.join(format::segment_file_name(0))).unwrap(),
                std::fs::read(tenant_dir.join(format::CHECKPOINTS_FILE)).unwrap(),
            )
        })
        .clone()
}

/// Verifies a whole archive made of these two files.
fn verify_files(segment: &[u8], checkpoints: &[u8]) -> kuzet_store::VerifyReport {
    let dir = tempfile::tempdir().unwrap();
    let tenant_dir = dir.path().join("alpha");
    std::fs::create_dir_all(&tenant_dir).unwrap();
    std::fs::write(tenant_dir.join(format::segment_file_name(0)), segment).unwrap();
    std::fs::write(tenant_dir.join(format::CHECKPOINTS_FILE), checkpoints).unwrap();
    verify(dir.path(), &signer().verifying_key()).unwrap()
}

#[derive(Debug, Clone)]
enum Damage {
    /// Cut the segment at a byte.
    Truncate(prop::sample::Index),
    /// Remove a run of bytes.
    Delete(prop::sample::Index, usize),
    /// Swap two runs of bytes of the same length.
    Swap(prop::sample::Index, prop::sample::Index, usize),
    /// Remove one checkpoint line that is not the last.
    DropCheckpoint(prop::sample::Index),
    /// Swap two checkpoint lines.
    SwapCheckpoints(prop::sample::Index, prop::sample::Index),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Damage::Truncate),
        (any::<prop::sample::Index>(), 1usize..200).prop_map(|(at, n)| Damage::Delete(at, n)),
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            1usize..64
        )
            .prop_map(|(a, b, n)| Damage::Swap(a, b, n)),
        any::<prop::sample::Index>().prop_map(Damage::DropCheckpoint),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(a, b)| Damage::SwapCheckpoints(a, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Truncations, deletions and reorderings of a format 2 segment and of its checkpoints are all caught, and
    /// every finding names where (a segment, or the checkpoint log).
    #[test]
    fn cut_deleted_or_reordered_archives_are_never_intact(damage in damage()) {
        let (mut segment, checkpoints) = small_archive();
        let mut lines: Vec<&[u8]> = checkpoints.split_inclusive(|b| *b == b'\n').collect();
        let changed = match &damage {
            Damage::Truncate(at) => {
                // Keep the segment header: a file cut inside it is another (tested) case.
                let cut = 100 + at.index(segment.len() - 100);
                segment.truncate(cut);
                true
            }
            Damage::Delete(at, n) => {
                let start = at.index(segment.len());
                let end = (start + n).min(segment.len());
                segment.drain(start..end);
                true
            }
            Damage::Swap(a, b, n) => {
                let n = (*n).min(segment.len() / 2);
                let (a, b) = (a.index(segment.len() - n), b.index(segment.len() - n));
                let (a, b) = (a.min(b), a.max(b));
                if b < a + n || segment[a..a + n] == segment[b..b + n] {
                    false
                } else {
                    let first = segment[a..a + n].to_vec();
                    segment.copy_within(b..b + n, a);
                    segment[b..b + n].copy_from_slice(&first);
                    true
                }
            }
            Damage::DropCheckpoint(at) => {
                lines.remove(at.index(lines.len() - 1));
                true
            }
            Damage::SwapCheckpoints(a, b) => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
                a != b
            }
        };
        prop_assume!(changed);
        let report = verify_files(&segment, &lines.concat());
        prop_assert!(!report.is_intact(), "{:?} went unnoticed", damage);
        prop_assert!(
            report.findings.iter().all(|f| f.segment.is_some() || f.detail.contains("checkpoint") || f.kind != kuzet_store::FindingKind::BlockAltered),
            "{}", report
        );
    }
}
