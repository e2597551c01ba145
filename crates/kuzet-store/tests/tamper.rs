//! Fault tests by failure mode: each tampers with a built archive the way an administrator could, then checks that
//! `verify` reports the right kind of finding at the right place (segment file, block, record, event id).

// Helpers outside #[test] functions unwrap too: a failure is a broken test setup.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kuzet_store::format::{BLOCK_HEADER_LEN, SegmentHeader, segment_file_name};
use kuzet_store::{
    BackupTarget, Finding, FindingKind, VerifyReport, backup, backup_verify, verify,
};

fn check(built: &Built) -> VerifyReport {
    verify(&built.archive(), &signer().verifying_key()).unwrap()
}

fn has(report: &VerifyReport, pred: impl Fn(&Finding) -> bool) -> bool {
    report.findings.iter().any(pred)
}

#[track_caller]
fn assert_finding(report: &VerifyReport, pred: impl Fn(&Finding) -> bool) {
    assert!(
        has(report, pred),
        "expected finding not present in:\n{report}"
    );
}

#[test]
fn intact_archive_has_no_findings() {
    let built = build_archive(|_| {});
    let report = check(&built);
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.tenants.len(), 3);
    assert_eq!(report.records, 600);
    assert!(
        report.segments >= 6,
        "want several segments per tenant: {report}"
    );
    assert!(report.blocks >= 30, "{report}");
    for tenant in &report.tenants {
        assert_eq!(tenant.checkpointed_blocks, tenant.blocks);
    }
    // Every event readable back, in order, exactly once.
    for (tenant, ids) in &built.ids {
        let read: Vec<_> =
            kuzet_store::read_events(&built.archive(), &common::tenant(tenant), normalize())
                .map(|e| e.unwrap().id)
                .collect();
        assert_eq!(&read, ids);
    }
}

#[test]
fn altered_record_is_located_by_record_and_event() {
    let built = build_archive(|_| {});
    let path = built.segment("beta", 1);
    let mut target = (0, kuzet_model::EventId::from_u128(0), 0);
    rewrite_block(&path, 1, false, |entries| {
        let record = &mut entries[2];
        target = (record_index(record), record_event_id(record), 0);
        // Change the user name inside the event's bytes, keeping the length.
        let at = record.windows(4).position(|w| w == b"user").unwrap();
        record[at] = b'X';
    });
    let bytes = std::fs::read(&path).unwrap();
    let block_index = layout(&bytes).1[1].1.block_index;
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::RecordAltered
            && f.tenant == "beta"
            && f.segment.as_deref() == Some("0000000001.seg")
            && f.block == Some(block_index)
            && f.record == Some(target.0)
            && f.event_id == Some(target.1)
    });
}

#[test]
fn flipped_payload_byte_is_located_by_block() {
    let built = build_archive(|_| {});
    let path = built.segment("alpha", 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let (offset, header) = layout(&bytes).1[2];
    bytes[offset + BLOCK_HEADER_LEN + 40] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::BlockAltered
            && f.segment.as_deref() == Some("0000000000.seg")
            && f.block == Some(header.block_index)
    });
}

#[test]
fn flipped_block_header_byte_is_located_by_block() {
    let built = build_archive(|_| {});
    let path = built.segment("alpha", 1);
    let mut bytes = std::fs::read(&path).unwrap();
    let (offset, header) = layout(&bytes).1[1];
    bytes[offset + 20] ^= 0x01; // inside first_record
    std::fs::write(&path, &bytes).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::BlockAltered
            && f.segment.as_deref() == Some("0000000001.seg")
            && f.block == Some(header.block_index)
    });
    // The blocks after it are still read (resynchronization), so only the damaged one is blamed.
    assert!(
        !has(&report, |f| f.kind == FindingKind::BlockRemoved),
        "{report}"
    );
}

#[test]
fn flipped_segment_header_byte_is_located_by_segment() {
    let built = build_archive(|_| {});
    let path = built.segment("gamma", 2);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[12] ^= 0x01; // inside the tenant name
    std::fs::write(&path, &bytes).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::SegmentHeaderAltered
            && f.tenant == "gamma"
            && f.segment.as_deref() == Some("0000000002.seg")
    });
}

#[test]
fn removed_record_is_located() {
    let built = build_archive(|_| {});
    let path = built.segment("alpha", 1);
    let block = layout(&std::fs::read(&path).unwrap()).1[0].1;
    rewrite_block(&path, 0, false, |entries| {
        entries.remove(3);
    });
    let report = check(&built);
    // Format 2 numbers records by position: the block holds one record fewer than its header says.
    assert_finding(&report, |f| {
        f.kind == FindingKind::RecordRemoved
            && f.segment.as_deref() == Some("0000000001.seg")
            && f.block == Some(block.block_index)
            && f.detail.contains("its header says")
    });
}

#[test]
fn removed_record_with_lowered_count_is_located() {
    let built = build_archive(|_| {});
    let path = built.segment("alpha", 1);
    let block = layout(&std::fs::read(&path).unwrap()).1[0].1;
    // The attacker also fixes the locator, count and block root: the numbering across blocks and the
    // checkpoints remain.
    rewrite_block(&path, 0, true, |entries| {
        entries.remove(1);
    });
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::RecordRemoved || f.block == Some(block.block_index)
    });
    assert_finding(&report, |f| f.kind == FindingKind::CheckpointMismatch);
}

#[test]
fn reordered_records_are_located() {
    let built = build_archive(|_| {});
    let path = built.segment("beta", 0);
    let block = layout(&std::fs::read(&path).unwrap()).1[1].1;
    rewrite_block(&path, 1, false, |entries| {
        entries.swap(2, 3);
    });
    let report = check(&built);
    // Both moved records changed position (their hashed index), so the locator names their group of records.
    assert_finding(&report, |f| {
        f.kind == FindingKind::RecordAltered
            && f.segment.as_deref() == Some("0000000000.seg")
            && f.block == Some(block.block_index)
            && f.detail.contains("more than one")
    });
}

#[test]
fn removed_block_is_located() {
    let built = build_archive(|_| {});
    let path = built.segment("gamma", 1);
    let bytes = std::fs::read(&path).unwrap();
    let (offset, header) = layout(&bytes).1[1];
    let end = offset + header.encoded_len() as usize;
    let mut out = bytes[..offset].to_vec();
    out.extend_from_slice(&bytes[end..]);
    std::fs::write(&path, out).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::BlockRemoved
            && f.segment.as_deref() == Some("0000000001.seg")
            && f.block == Some(header.block_index)
    });
}

#[test]
fn reordered_blocks_are_located() {
    let built = build_archive(|_| {});
    let path = built.segment("gamma", 0);
    let bytes = std::fs::read(&path).unwrap();
    let blocks = layout(&bytes).1;
    let (a, ha) = blocks[1];
    let (b, hb) = blocks[2];
    let b_end = b + hb.encoded_len() as usize;
    let mut out = bytes[..a].to_vec();
    out.extend_from_slice(&bytes[b..b_end]);
    out.extend_from_slice(&bytes[a..b]);
    out.extend_from_slice(&bytes[b_end..]);
    std::fs::write(&path, out).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::BlockReordered
            && f.segment.as_deref() == Some("0000000000.seg")
            && f.block == Some(ha.block_index)
    });
    assert!(
        !has(&report, |f| f.kind == FindingKind::BlockRemoved),
        "{report}"
    );
}

#[test]
fn truncated_segment_is_located() {
    let built = build_archive(|_| {});
    let path = built.segment("beta", 1);
    let bytes = std::fs::read(&path).unwrap();
    let (offset, header) = layout(&bytes).1[2];
    std::fs::write(&path, &bytes[..offset + 100]).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::SegmentTruncated
            && f.segment.as_deref() == Some("0000000001.seg")
            && f.block == Some(header.block_index)
    });
}

#[test]
fn truncated_last_segment_at_a_block_boundary_is_detected_by_checkpoints() {
    let built = build_archive(|_| {});
    let dir = built.tenant_dir("alpha");
    let last = segment_count(&dir) as u64 - 1;
    let path = built.segment("alpha", last);
    let bytes = std::fs::read(&path).unwrap();
    let (offset, header) = *layout(&bytes).1.last().unwrap();
    std::fs::write(&path, &bytes[..offset]).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::SegmentTruncated
            && f.segment.as_deref() == Some(segment_file_name(last).as_str())
            && f.block == Some(header.block_index)
    });
}

#[test]
fn segment_from_another_tenant_is_detected() {
    let built = build_archive(|_| {});
    std::fs::copy(built.segment("beta", 1), built.segment("alpha", 1)).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::SegmentSwapped
            && f.tenant == "alpha"
            && f.segment.as_deref() == Some("0000000001.seg")
    });
}

#[test]
fn swapped_segment_files_are_detected() {
    let built = build_archive(|_| {});
    let one = built.segment("alpha", 1);
    let two = built.segment("alpha", 2);
    let tmp = built.tenant_dir("alpha").join("tmp");
    std::fs::rename(&one, &tmp).unwrap();
    std::fs::rename(&two, &one).unwrap();
    std::fs::rename(&tmp, &two).unwrap();
    let report = check(&built);
    for name in ["0000000001.seg", "0000000002.seg"] {
        assert_finding(&report, |f| {
            f.kind == FindingKind::SegmentSwapped && f.segment.as_deref() == Some(name)
        });
    }
}

#[test]
fn replaced_segment_breaks_the_chain() {
    let built = build_archive(|_| {});
    let path = built.segment("beta", 2);
    let bytes = std::fs::read(&path).unwrap();
    let (mut header, len) = SegmentHeader::decode(&bytes).unwrap();
    header.prev_chain[0] ^= 1;
    let mut out = header.encode();
    assert_eq!(out.len(), len);
    out.extend_from_slice(&bytes[len..]);
    std::fs::write(&path, out).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::ChainBroken && f.segment.as_deref() == Some("0000000002.seg")
    });
}

#[test]
fn missing_middle_segment_is_named() {
    let built = build_archive(|_| {});
    std::fs::remove_file(built.segment("gamma", 1)).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::SegmentMissing
            && f.tenant == "gamma"
            && f.segment.as_deref() == Some("0000000001.seg")
    });
}

#[test]
fn missing_last_segment_is_named() {
    let built = build_archive(|_| {});
    let dir = built.tenant_dir("gamma");
    let last = segment_count(&dir) as u64 - 1;
    std::fs::remove_file(built.segment("gamma", last)).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::SegmentMissing
            && f.segment.as_deref() == Some(segment_file_name(last).as_str())
    });
}

#[test]
fn forged_checkpoint_is_detected() {
    let built = build_archive(|_| {});
    let path = built.tenant_dir("alpha").join("checkpoints.log");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let last = lines.len() - 1;
    let mut cp: kuzet_store::format::Checkpoint = serde_json::from_str(&lines[last]).unwrap();
    cp.tree_size += 1;
    lines[last] = serde_json::to_string(&cp).unwrap();
    // And one signed with a different key.
    let other = kuzet_store::Signer::from_seed([7; 32]);
    let forged = kuzet_store::format::Checkpoint::sign(
        &other,
        &tenant("alpha"),
        kuzet_store::format::CheckpointLink::default(),
        1,
        &[0; 32],
        "0000000000.seg",
        b"header",
        jiff::Timestamp::UNIX_EPOCH,
    );
    lines.push(forged.to_line().trim_end().to_owned());
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let report = check(&built);
    let forged_count = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::CheckpointForged && f.tenant == "alpha")
        .count();
    assert_eq!(forged_count, 2, "{report}");
}

#[test]
fn rewritten_history_is_caught_by_checkpoints_and_located() {
    let built = build_archive(|_| {});
    let path = built.segment("beta", 1);
    let bytes = std::fs::read(&path).unwrap();
    let block_index = layout(&bytes).1[1].1.block_index;
    // A careful attacker recomputes hints and the block root: every local check passes.
    rewrite_block(&path, 1, true, |entries| {
        let record = &mut entries[0];
        let at = record.windows(4).position(|w| w == b"user").unwrap();
        record[at] = b'X';
    });
    let report = check(&built);
    assert_finding(&report, |f| {
        // A checkpoint covers the blocks sealed together, so the finding names the range of blocks it covers.
        f.kind == FindingKind::CheckpointMismatch
            && f.tenant == "beta"
            && block_range(&f.detail).contains(&block_index)
    });
    assert_finding(&report, |f| {
        // The segment trailers narrow it to the segment.
        f.kind == FindingKind::ChainBroken
            && f.tenant == "beta"
            && f.segment.as_deref() == Some("0000000001.seg")
    });
}

/// Parses `blocks A..B` out of a finding's detail.
fn block_range(detail: &str) -> std::ops::Range<u64> {
    let rest = &detail[detail.find("blocks ").unwrap() + 7..];
    let (a, rest) = rest.split_once("..").unwrap();
    let b: String = rest.chars().take_while(char::is_ascii_digit).collect();
    a.parse().unwrap()..b.parse().unwrap()
}

#[test]
fn deleted_checkpoint_log_is_detected() {
    let built = build_archive(|_| {});
    std::fs::remove_file(built.tenant_dir("gamma").join("checkpoints.log")).unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::CheckpointLogMissing && f.tenant == "gamma"
    });
}

#[test]
fn unexpected_files_are_reported() {
    let built = build_archive(|_| {});
    std::fs::write(built.tenant_dir("alpha").join("notes.txt"), b"x").unwrap();
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::UnexpectedFile && f.tenant == "alpha"
    });
}

#[test]
fn backup_copy_verifies_and_tampering_with_it_is_detected() {
    let built = build_archive(|_| {});
    let copy = tempfile::tempdir().unwrap();
    let target = BackupTarget::Directory(copy.path().to_path_buf());
    let first = backup(&built.archive(), &target).unwrap();
    assert!(first.segments_copied > 0);
    let again = backup(&built.archive(), &target).unwrap();
    assert_eq!(again.segments_copied, 0, "copying is idempotent");
    let report = backup_verify(&target, &signer().verifying_key()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert!(report.blocks > 0);
    let seg = copy.path().join("alpha").join("0000000000.seg");
    let mut bytes = std::fs::read(&seg).unwrap();
    let (offset, header) = layout(&bytes).1[0];
    bytes[offset + BLOCK_HEADER_LEN + 10] ^= 0xFF;
    std::fs::write(&seg, bytes).unwrap();
    let report = backup_verify(&target, &signer().verifying_key()).unwrap();
    assert_finding(&report, |f| {
        f.kind == FindingKind::BlockAltered && f.block == Some(header.block_index)
    });
}

#[test]
fn report_display_names_the_location() {
    let built = build_archive(|_| {});
    std::fs::remove_file(built.segment("gamma", 1)).unwrap();
    let text = check(&built).to_string();
    assert!(
        text.contains("SegmentMissing: tenant gamma, segment 0000000001.seg"),
        "{text}"
    );
}

/// A rollback: the newest segment removed together with the checkpoints that covered it. The archive alone is
/// consistent again; a copy of the checkpoint log kept elsewhere exposes the cut and names what is gone.
#[test]
fn rollback_with_its_checkpoints_is_caught_only_by_external_checkpoints() {
    let built = build_archive(|_| {});
    let checkpoints = built.tenant_dir("alpha").join("checkpoints.log");
    let offsite = std::fs::read(&checkpoints).unwrap();
    let last = segment_count(&built.tenant_dir("alpha")) as u64 - 1;
    std::fs::remove_file(built.segment("alpha", last)).unwrap();
    let remaining = check(&built)
        .tenants
        .iter()
        .find(|t| t.tenant == "alpha")
        .unwrap()
        .blocks;
    // Keep only the checkpoint lines that the remaining blocks satisfy, as a careful intruder would.
    let kept: Vec<&str> = std::str::from_utf8(&offsite)
        .unwrap()
        .lines()
        .filter(|line| {
            let cp: serde_json::Value = serde_json::from_str(line).unwrap();
            cp["tree_size"].as_u64().unwrap() <= remaining
        })
        .collect();
    std::fs::write(&checkpoints, format!("{}\n", kept.join("\n"))).unwrap();
    let alone = check(&built);
    assert!(
        !has(&alone, |f| f.tenant == "alpha"
            && matches!(
                f.kind,
                FindingKind::SegmentTruncated | FindingKind::SegmentMissing
            )),
        "the archive alone cannot see the cut:\n{alone}"
    );
    let key = signer().verifying_key();
    let report = kuzet_store::verify_with_checkpoints(&built.archive(), &key, &offsite).unwrap();
    assert_finding(&report, |f| {
        f.tenant == "alpha"
            && matches!(
                f.kind,
                FindingKind::SegmentTruncated | FindingKind::SegmentMissing
            )
            && f.block == Some(remaining)
            && f.detail.contains("rollback")
    });
    // An intact archive passes against its own checkpoints kept elsewhere; a forged external line is reported.
    let fresh = build_archive(|_| {});
    let mut all = Vec::new();
    for tenant in ["alpha", "beta", "gamma"] {
        all.extend(std::fs::read(fresh.tenant_dir(tenant).join("checkpoints.log")).unwrap());
    }
    let report = kuzet_store::verify_with_checkpoints(&fresh.archive(), &key, &all).unwrap();
    assert!(report.is_intact(), "{report}");
    let text = String::from_utf8(all).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let size = first["tree_size"].as_u64().unwrap();
    let forged = text.replacen(
        &format!("\"tree_size\":{size},"),
        &format!("\"tree_size\":{},", size + 1),
        1,
    );
    assert_ne!(forged, text);
    let report =
        kuzet_store::verify_with_checkpoints(&fresh.archive(), &key, forged.as_bytes()).unwrap();
    assert_finding(&report, |f| {
        f.kind == FindingKind::CheckpointForged
            && f.detail.starts_with("external checkpoint at line 1")
    });
}

/// The checkpoint log's lines of a tenant.
fn checkpoint_lines(built: &Built, tenant_name: &str) -> Vec<String> {
    std::fs::read_to_string(built.tenant_dir(tenant_name).join("checkpoints.log"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_checkpoint_lines(built: &Built, tenant_name: &str, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(built.tenant_dir(tenant_name).join("checkpoints.log"), text).unwrap();
}

/// Rewrites a segment header's `opened_at` and recomputes its CRC, as an intruder who knows the format would.
fn move_opened_at(path: &std::path::Path, by_nanos: i64) {
    let bytes = std::fs::read(path).unwrap();
    let (mut header, len) = SegmentHeader::decode(&bytes).unwrap();
    header.opened_at_nanos -= by_nanos;
    let mut out = header.encode();
    assert_eq!(out.len(), len);
    out.extend_from_slice(&bytes[len..]);
    std::fs::write(path, out).unwrap();
}

const THIRTY_DAYS: i64 = 30 * 86_400 * 1_000_000_000;

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..Default::default() })]

    /// Any checkpoint line removed (first, middle or last), or any line repeated anywhere, is reported, by the
    /// archive alone and also with an off-host copy that holds the removed line.
    #[test]
    fn a_checkpoint_line_removed_or_repeated_is_reported(pick in 0usize..1000, repeat_at in 0usize..1000, remove in proptest::bool::ANY) {
        let built = build_archive(|_| {});
        let original = checkpoint_lines(&built, "gamma");
        let offsite = std::fs::read(built.tenant_dir("gamma").join("checkpoints.log")).unwrap();
        let mut lines = original.clone();
        let i = pick % lines.len();
        if remove {
            lines.remove(i);
        } else {
            let line = lines[i].clone();
            lines.insert(repeat_at % (lines.len() + 1), line);
        }
        write_checkpoint_lines(&built, "gamma", &lines);
        let report = check(&built);
        // Only the last line's removal leaves the log's lines in order; the blocks it covered are then uncovered.
        let expected = if remove && i + 1 == original.len() {
            FindingKind::Uncheckpointed
        } else {
            FindingKind::CheckpointLogAltered
        };
        proptest::prop_assert!(
            has(&report, |f| f.tenant == "gamma" && f.kind == expected),
            "line {} {}: {}", i, if remove { "removed" } else { "repeated" }, report
        );
        if remove {
            let with_copy = kuzet_store::verify_with_checkpoints(&built.archive(), &signer().verifying_key(), &offsite).unwrap();
            proptest::prop_assert!(
                has(&with_copy, |f| f.tenant == "gamma" && f.kind == FindingKind::CheckpointLogAltered
                    && f.detail.starts_with("external checkpoint") && f.detail.contains("missing from the host's log")),
                "{}", with_copy
            );
        }
    }

    /// Moving `opened_at` of any segment, open or closed, is reported at that segment.
    #[test]
    fn a_segment_header_edit_is_reported_at_the_changed_segment(pick in 0u64..100, days in 1i64..400) {
        let built = build_archive(|_| {});
        let count = segment_count(&built.tenant_dir("beta")) as u64;
        let number = pick % count;
        move_opened_at(&built.segment("beta", number), days * 86_400 * 1_000_000_000);
        let report = check(&built);
        let name = segment_file_name(number);
        proptest::prop_assert!(
            has(&report, |f| f.tenant == "beta" && f.kind == FindingKind::SegmentHeaderAltered
                && f.segment.as_deref() == Some(name.as_str())),
            "segment {}: {}", name, report
        );
        proptest::prop_assert!(
            !has(&report, |f| f.tenant == "beta" && f.kind == FindingKind::ChainBroken),
            "the change is named at its segment, not at the next: {}", report
        );
    }
}

#[test]
fn the_open_segments_opened_at_moved_back_thirty_days_is_caught() {
    let built = build_archive(|_| {});
    let last = segment_count(&built.tenant_dir("alpha")) as u64 - 1;
    let path = built.segment("alpha", last);
    move_opened_at(&path, THIRTY_DAYS);
    let offsite = std::fs::read(built.tenant_dir("alpha").join("checkpoints.log")).unwrap();
    for report in [
        check(&built),
        kuzet_store::verify_with_checkpoints(&built.archive(), &signer().verifying_key(), &offsite)
            .unwrap(),
    ] {
        assert_finding(&report, |f| {
            f.kind == FindingKind::SegmentHeaderAltered
                && f.tenant == "alpha"
                && f.segment.as_deref() == Some(segment_file_name(last).as_str())
                && f.detail.contains("opened at")
        });
    }
    // The store refuses to append to it.
    let err = kuzet_store::ArchiveWriter::open(
        &built.archive(),
        tenant("alpha"),
        4096,
        6 * 1024,
        3,
        &signer(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("segment header differs"), "{err}");
}

#[test]
fn a_changed_locator_alone_is_named_as_such() {
    let built = build_archive(|_| {});
    let path = built.segment("beta", 1);
    let block = layout(&std::fs::read(&path).unwrap()).1[0].1;
    rewrite_payload(&path, 0, |_, data, _| {
        let last = data.len() - 1;
        data[last] ^= 0xff;
    });
    let report = check(&built);
    assert_finding(&report, |f| {
        f.kind == FindingKind::HintAltered
            && f.block == Some(block.block_index)
            && f.detail.contains("records are intact")
    });
    assert!(
        !has(&report, |f| f.kind == FindingKind::RecordAltered),
        "{report}"
    );
}
