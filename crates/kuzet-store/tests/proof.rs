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
            assert_eq!(&proof.tenant, tenant, "{id} {}", proof.event().unwrap().id);
            proof.verify(&key).unwrap();
            assert_eq!(proof.event().unwrap().id, *id);
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
