//! Evidence bundles: written from a real archive, verified offline with the public key alone, and every way of
//! changing one — a proof, the manifest, the signature, an added or removed file, another key — found and named.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kuzet_store::{BundleMeta, CustodyEntry, FileToBundle, verify_bundle, write_bundle};

fn meta() -> BundleMeta {
    BundleMeta {
        case: "incident 4f2c".into(),
        created: "2026-12-04T06:00:00Z".parse().unwrap(),
        created_by: "aigerim".into(),
        reason: "hand-over to the investigator".into(),
        custody: vec![CustodyEntry {
            at: "2026-12-04T05:00:00Z".into(),
            actor: "aigerim".into(),
            action: "collected".into(),
            reason: "attached to the incident".into(),
        }],
        files: Vec::new(),
    }
}

fn bundle() -> (Built, tempfile::TempDir, std::path::PathBuf) {
    let built = build_archive(|_| {});
    let ids = &built.ids.iter().find(|(t, _)| t == "alpha").unwrap().1;
    let picked = [ids[0], ids[57], ids[ids.len() - 1]];
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("bundle");
    let manifest = write_bundle(
        &dir,
        &built.archive(),
        &tenant("alpha"),
        &picked,
        &signer(),
        meta(),
    )
    .unwrap();
    assert_eq!(manifest.items.len(), 3);
    (built, out, dir)
}

#[test]
fn an_intact_bundle_verifies_with_the_public_key_alone() {
    let (built, _out, dir) = bundle();
    // The archive is not needed to verify.
    drop(built);
    let report = verify_bundle(&dir, &signer().verifying_key()).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
    let manifest = report.manifest.unwrap();
    assert_eq!(manifest.tenant, "alpha");
    assert_eq!(manifest.custody[0].action, "collected");
}

#[test]
fn every_change_is_found_and_named() {
    let key = signer().verifying_key();
    let finding = |dir: &std::path::Path, needle: &str| {
        let report = verify_bundle(dir, &key).unwrap();
        assert!(!report.is_intact());
        assert!(
            report.findings.iter().any(|f| f.contains(needle)),
            "{needle}: {:?}",
            report.findings
        );
    };
    // A changed proof.
    let (_b, _o, dir) = bundle();
    let proof = std::fs::read_dir(dir.join("proofs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&proof).unwrap().replacen(
        "\"record_index\": ",
        "\"record_index\": 1",
        1,
    );
    std::fs::write(&proof, text).unwrap();
    finding(&dir, "SHA-256 differs");
    // A changed manifest (the reason rewritten).
    let (_b, _o, dir) = bundle();
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("hand-over", "destroy");
    std::fs::write(&manifest, text).unwrap();
    finding(&dir, "manifest.sig: does not verify");
    // A proof removed, a file slipped in.
    let (_b, _o, dir) = bundle();
    let first = std::fs::read_dir(dir.join("proofs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::rename(&first, dir.join("proofs").join("extra.json")).unwrap();
    finding(&dir, "listed but missing");
    finding(&dir, "proofs/extra.json: not listed");
    // Another key.
    let (_b, _o, dir) = bundle();
    let other = kuzet_store::Signer::from_seed([9; 32]).verifying_key();
    let report = verify_bundle(&dir, &other).unwrap();
    assert_eq!(
        report.findings.len(),
        1,
        "verification stops at the manifest's signature: {:?}",
        report.findings
    );
    assert!(report.findings[0].starts_with("manifest.sig: does not verify"));
    // The signature removed.
    let (_b, _o, dir) = bundle();
    std::fs::remove_file(dir.join("manifest.sig")).unwrap();
    finding(&dir, "manifest.sig: missing");
}

#[test]
fn only_sealed_events_of_the_tenant_go_in() {
    let built = build_archive(|_| {});
    let beta = built.ids.iter().find(|(t, _)| t == "beta").unwrap().1[0];
    let out = tempfile::tempdir().unwrap();
    let err = write_bundle(
        &out.path().join("b"),
        &built.archive(),
        &tenant("alpha"),
        &[beta],
        &signer(),
        meta(),
    )
    .unwrap_err();
    assert!(err.to_string().contains(&beta.to_string()), "{err}");
    let existing = out.path().to_path_buf();
    let err = write_bundle(
        &existing,
        &built.archive(),
        &tenant("alpha"),
        &[],
        &signer(),
        meta(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
}

/// Rewrites the manifest's items and signs it again with `key` (a hostile or broken bundle maker holding a key).
fn rewrite_items(dir: &std::path::Path, files: &[&str], sign: bool) {
    let path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let template = manifest["items"][0].clone();
    manifest["items"] = files
        .iter()
        .map(|f| {
            let mut item = template.clone();
            item["file"] = serde_json::json!(f);
            item
        })
        .collect();
    let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    if sign {
        // The test signer's seed (common::signer), signed as the bundle format says.
        use ed25519_dalek::Signer as _;
        let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
        let sig = key
            .sign(&[b"kuzet-evidence-bundle-v1\n".as_slice(), &bytes].concat())
            .to_bytes();
        std::fs::write(dir.join("manifest.sig"), format!("{}\n", hex::encode(sig))).unwrap();
    }
}

#[test]
fn a_manifest_can_name_only_the_bundles_own_files() {
    let key = signer().verifying_key();
    let hostile = [
        "/etc/shadow",
        "../outside.json",
        "proofs/../../x.json",
        "/dev/zero",
    ];
    // Unsigned: nothing it names is opened; the signature is the one finding.
    let (_b, _o, dir) = bundle();
    rewrite_items(&dir, &hostile, false);
    let report = verify_bundle(&dir, &key).unwrap();
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert!(report.findings[0].starts_with("manifest.sig: does not verify"));
    // Signed by the key: each name outside `proofs/NAME.json` is refused by name, none is opened.
    let (_b, _o, dir) = bundle();
    rewrite_items(&dir, &hostile, true);
    let report = verify_bundle(&dir, &key).unwrap();
    for name in hostile {
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.starts_with(name) && f.contains("not a file of the bundle")),
            "{name}: {:?}",
            report.findings
        );
    }
    // A proof that is a link to a device, or larger than any proof, is refused without reading it.
    let (_b, _o, dir) = bundle();
    std::os::unix::fs::symlink("/dev/zero", dir.join("proofs/zero.json")).unwrap();
    std::fs::write(dir.join("proofs/big.json"), vec![b' '; (1 << 20) + 1]).unwrap();
    rewrite_items(&dir, &["proofs/zero.json", "proofs/big.json"], true);
    let report = verify_bundle(&dir, &key).unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.starts_with("proofs/zero.json: not a regular file")),
        "{:?}",
        report.findings
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.starts_with("proofs/big.json: 1048577 bytes")),
        "{:?}",
        report.findings
    );
}

/// Files kept as evidence travel in the bundle under their digest; a changed, added or unlisted one is found, and
/// a file that no longer matches its recorded digest is not bundled at all.
#[test]
fn files_kept_as_evidence_travel_in_the_bundle() {
    use sha2::Digest;
    let built = build_archive(|_| {});
    let ids = &built.ids.iter().find(|(t, _)| t == "alpha").unwrap().1;
    let work = tempfile::tempdir().unwrap();
    let kept = work.path().join("kept");
    let bytes = b"Dec  7 10:00:00 web1 sshd[99]: Failed password for root\n".to_vec();
    std::fs::write(&kept, &bytes).unwrap();
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let with_file = |sha256: &str| BundleMeta {
        files: vec![FileToBundle {
            name: "web1-auth.log".into(),
            path: kept.clone(),
            sha256: sha256.into(),
        }],
        ..meta()
    };
    let dir = work.path().join("bundle");
    let manifest = write_bundle(
        &dir,
        &built.archive(),
        &tenant("alpha"),
        &ids[..1],
        &signer(),
        with_file(&digest),
    )
    .unwrap();
    assert_eq!(manifest.files[0].file, format!("files/{digest}"));
    assert_eq!(manifest.files[0].size, bytes.len() as u64);
    let key = signer().verifying_key();
    let report = verify_bundle(&dir, &key).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);

    // A byte changed in the bundled file.
    let inside = dir.join("files").join(&digest);
    let mut changed = bytes.clone();
    changed[0] ^= 1;
    std::fs::write(&inside, &changed).unwrap();
    let report = verify_bundle(&dir, &key).unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.contains("the file was changed")),
        "{:?}",
        report.findings
    );
    // A file slipped in.
    std::fs::write(&inside, &bytes).unwrap();
    std::fs::write(dir.join("files").join("extra"), b"x").unwrap();
    let report = verify_bundle(&dir, &key).unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.contains("files/extra: not listed")),
        "{:?}",
        report.findings
    );

    // The kept file changed before the export: refused, naming it.
    let err = write_bundle(
        &work.path().join("second"),
        &built.archive(),
        &tenant("alpha"),
        &ids[..1],
        &signer(),
        with_file(&"0".repeat(64)),
    )
    .unwrap_err();
    assert!(err.to_string().contains("web1-auth.log"), "{err}");
}
