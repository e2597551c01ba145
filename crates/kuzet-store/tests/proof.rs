//! Inclusion proofs: every event of a small archive proves against the signed checkpoint; any changed byte fails.

// Helpers outside #[test] functions unwrap too: a failure is a broken test setup.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kuzet_store::{InclusionProof, StoreError, prove};

#[test]
fn every_event_proves_and_a_changed_byte_fails() {
    let built = build_archive(|_| {});
    let key = signer().verifying_key();
    let mut checked = 0;
    for (tenant, ids) in &built.ids {
        for id in ids.iter().step_by(7) {
            let proof = prove(&built.archive(), *id).unwrap();
            assert_eq!(
                &proof.tenant,
                tenant,
                "{id} {}",
                proof.event(&*normalize()).unwrap().id
            );
            proof.verify(&key).unwrap();
            assert_eq!(proof.event(&*normalize()).unwrap().id, *id);
            // Survives its JSON form.
            let json = serde_json::to_string(&proof).unwrap();
            let back: InclusionProof = serde_json::from_str(&json).unwrap();
            back.verify(&key).unwrap();
            checked += 1;
        }
    }
    assert!(checked > 80);
}

fn flip_hex(s: &mut String, at: usize) {
    let mut bytes = hex::decode(&*s).unwrap();
    let at = at % bytes.len();
    bytes[at] ^= 1;
    *s = hex::encode(bytes);
}

#[test]
fn tampered_proofs_fail() {
    let built = build_archive(|_| {});
    let key = signer().verifying_key();
    let id = built.ids[1].1[123];
    let proof = prove(&built.archive(), id).unwrap();
    proof.verify(&key).unwrap();
    let record_len = proof.record.len() / 2;
    for at in [0, 5, 20, 40, record_len - 3] {
        let mut p = proof.clone();
        flip_hex(&mut p.record, at);
        assert!(p.verify(&key).is_err(), "record byte {at}");
    }
    for at in [0, 9, 30, 63] {
        let mut p = proof.clone();
        flip_hex(&mut p.block_header, at);
        assert!(p.verify(&key).is_err(), "header byte {at}");
    }
    let mut p = proof.clone();
    flip_hex(&mut p.block_root, 3);
    assert!(p.verify(&key).is_err());
    for i in 0..proof.record_path.len() {
        let mut p = proof.clone();
        flip_hex(&mut p.record_path[i], 11);
        assert!(p.verify(&key).is_err());
    }
    for i in 0..proof.block_path.len() {
        let mut p = proof.clone();
        flip_hex(&mut p.block_path[i], 17);
        assert!(p.verify(&key).is_err());
    }
    let mut p = proof.clone();
    flip_hex(&mut p.checkpoint.root, 0);
    assert!(p.verify(&key).is_err());
    let mut p = proof.clone();
    p.block_index += 1;
    assert!(p.verify(&key).is_err());
    let mut p = proof.clone();
    p.checkpoint.tree_size += 1;
    assert!(p.verify(&key).is_err());
    let other = kuzet_store::Signer::from_seed([9; 32]).verifying_key();
    assert!(proof.verify(&other).is_err());
}

#[test]
fn unknown_event_is_not_found() {
    let built = build_archive(|_| {});
    let id = kuzet_model::EventId::from_u128(12345);
    assert!(matches!(prove(&built.archive(), id), Err(StoreError::NotFound(x)) if x == id));
}

/// The segments of a tenant other than the one holding `id`'s block, removed: a lookup through the block index
/// must not need them (a scan of the archive would).
#[test]
fn an_event_is_found_and_proven_without_reading_the_rest_of_the_archive() {
    let built = build_archive(|_| {});
    let key = signer().verifying_key();
    let id = built.ids[0].1[150];
    let keep = prove(&built.archive(), id).unwrap().segment;
    let dir = built.tenant_dir("alpha");
    let mut removed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".seg") && name != keep {
            std::fs::remove_file(&path).unwrap();
            removed += 1;
        }
    }
    assert!(removed >= 3, "several segments gone");
    let proof = prove(&built.archive(), id).unwrap();
    proof.verify(&key).unwrap();
    assert_eq!(proof.event(&*normalize()).unwrap().id, id);
    // An id no block's range holds is "not found" without reading any segment.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "seg") {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let absent = kuzet_model::EventId::from_parts(4_000_000_000_000, 1);
    assert!(
        kuzet_store::prove_in(&built.archive(), &tenant("alpha"), absent)
            .unwrap()
            .is_none()
    );
}

/// The block index is derived data: lost, cut short or damaged, it is rebuilt at the next start, and lookups
/// work throughout (falling back to reading the segments while it cannot be used).
#[test]
fn the_block_index_is_rebuilt_when_lost_cut_or_damaged() {
    let built = build_archive(|_| {});
    let key = signer().verifying_key();
    let index = built.tenant_dir("beta").join("blocks.idx");
    let full = std::fs::read(&index).unwrap();
    let ids = built.ids[1].1.clone();
    type Harm = Box<dyn Fn(&std::path::Path)>;
    let damage: [(&str, Harm); 3] = [
        ("lost", Box::new(|p| std::fs::remove_file(p).unwrap())),
        (
            "cut",
            Box::new(|p| {
                let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                f.set_len(16 + 120 * 2 + 50).unwrap();
            }),
        ),
        (
            "damaged",
            Box::new(|p| {
                let mut bytes = std::fs::read(p).unwrap();
                let last = bytes.len() - 1;
                bytes[last] ^= 0xff; // the last entry's leaf
                bytes[16 + 8] ^= 0x01; // the first entry's segment number
                std::fs::write(p, bytes).unwrap();
            }),
        ),
    ];
    for (what, harm) in &damage {
        harm(&index);
        for id in ids.iter().step_by(37) {
            let proof = prove(&built.archive(), *id).unwrap_or_else(|e| panic!("{what}: {e}"));
            proof.verify(&key).unwrap();
        }
        // A restart rebuilds it as it was.
        let store = kuzet_store::Store::open(small_config(built.dir.path()), signer(), normalize())
            .unwrap();
        store.shutdown().unwrap();
        assert_eq!(std::fs::read(&index).unwrap(), full, "{what}: rebuilt");
    }
    let report = kuzet_store::verify(&built.archive(), &key).unwrap();
    assert!(
        report.is_intact(),
        "the index is not part of what is verified: {report}"
    );
}
