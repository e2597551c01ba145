//! Evidence bundles (R12 (7): preserve the digital traces): chosen sealed events of one tenant, each with its
//! inclusion proof against a signed checkpoint, listed in a manifest with their SHA-256 and the chain-of-custody
//! entries, the manifest signed with the sealing key. A third party verifies a bundle offline with the public key
//! alone (`verify_bundle`); any change to a file, the manifest or the signature is a finding. Format:
//! `docs/formats/evidence-bundle.md`.

use std::path::Path;

use kuzet_model::{EventId, TenantId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{InclusionProof, Signer, StoreError, VerifyingKey, prove_in};

pub const BUNDLE_VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const SIGNATURE: &str = "manifest.sig";
const PROOFS: &str = "proofs";
/// Signed as `DOMAIN ‖ manifest bytes`, so that a bundle signature is never valid as any other signature.
const DOMAIN: &[u8] = b"kuzet-evidence-bundle-v1\n";

/// One hand-over, collection or access in the evidence's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyEntry {
    /// RFC 3339 UTC.
    pub at: String,
    pub actor: String,
    /// `collected`, `accessed`, `exported`, `handed over`, …
    pub action: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleItem {
    pub event_id: EventId,
    /// Relative path of the item's inclusion proof.
    pub file: String,
    /// SHA-256 of that file, lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleManifest {
    pub version: u32,
    pub tenant: String,
    /// The incident (or other case) the evidence belongs to.
    pub case: String,
    /// RFC 3339 UTC.
    pub created: String,
    pub created_by: String,
    pub reason: String,
    pub items: Vec<BundleItem>,
    pub custody: Vec<CustodyEntry>,
}

/// What a bundle is about, from its maker.
#[derive(Debug, Clone)]
pub struct BundleMeta {
    pub case: String,
    pub created: jiff::Timestamp,
    pub created_by: String,
    pub reason: String,
    pub custody: Vec<CustodyEntry>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    StoreError::io(path)
}

/// Writes a bundle of `events` of `tenant` into `out` (created; it must not exist yet). Each event must be sealed
/// and checkpointed in that tenant's log.
pub fn write_bundle(
    out: &Path,
    archive_dir: &Path,
    tenant: &TenantId,
    events: &[EventId],
    signer: &Signer,
    meta: BundleMeta,
) -> Result<BundleManifest, StoreError> {
    if out.exists() {
        return Err(StoreError::Config(format!(
            "evidence bundle {}: already exists; choose a new directory",
            out.display()
        )));
    }
    let proofs = out.join(PROOFS);
    std::fs::create_dir_all(&proofs).map_err(io(&proofs))?;
    let mut items = Vec::with_capacity(events.len());
    for id in events {
        let proof = prove_in(archive_dir, tenant, *id)?.ok_or(StoreError::NotFound(*id))?;
        let bytes = serde_json::to_vec_pretty(&proof)
            .map_err(|e| StoreError::Proof(format!("event {id}: {e}")))?;
        let file = format!("{PROOFS}/{id}.json");
        let path = out.join(&file);
        std::fs::write(&path, &bytes).map_err(io(&path))?;
        items.push(BundleItem {
            event_id: *id,
            file,
            sha256: hex::encode(Sha256::digest(&bytes)),
        });
    }
    let manifest = BundleManifest {
        version: BUNDLE_VERSION,
        tenant: tenant.to_string(),
        case: meta.case,
        created: meta.created.to_string(),
        created_by: meta.created_by,
        reason: meta.reason,
        items,
        custody: meta.custody,
    };
    let bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| StoreError::Proof(e.to_string()))?;
    let path = out.join(MANIFEST);
    std::fs::write(&path, &bytes).map_err(io(&path))?;
    let signature = signer.sign(&[DOMAIN, &bytes].concat());
    let path = out.join(SIGNATURE);
    std::fs::write(&path, format!("{}\n", hex::encode(signature))).map_err(io(&path))?;
    Ok(manifest)
}

/// The result of checking a bundle: what it holds and everything wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleReport {
    pub manifest: Option<BundleManifest>,
    pub findings: Vec<String>,
}

impl BundleReport {
    pub fn is_intact(&self) -> bool {
        self.manifest.is_some() && self.findings.is_empty()
    }
}

/// Verifies a bundle offline with the sealing key's public half: the manifest's signature, every listed file's
/// hash, every inclusion proof up to its signed checkpoint, that each proof is of the listed event of the
/// bundle's tenant, and that the bundle holds nothing unlisted. `Err` only when the directory cannot be read.
pub fn verify_bundle(dir: &Path, key: &VerifyingKey) -> Result<BundleReport, StoreError> {
    let mut report = BundleReport::default();
    let read = |name: &str| -> Result<Option<Vec<u8>>, StoreError> {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&path)(e)),
        }
    };
    let Some(manifest_bytes) = read(MANIFEST)? else {
        report.findings.push(format!("{MANIFEST}: missing"));
        return Ok(report);
    };
    let signature = read(SIGNATURE)?
        .and_then(|text| hex::decode(String::from_utf8_lossy(&text).trim()).ok())
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok());
    match signature {
        Some(sig) if key.verify(&[DOMAIN, &manifest_bytes].concat(), &sig) => {}
        Some(_) => report.findings.push(format!(
            "{SIGNATURE}: does not verify with key {key}: the manifest was changed or signed by another key"
        )),
        None => report.findings.push(format!("{SIGNATURE}: missing or not a 64-byte signature in hex")),
    }
    let manifest: BundleManifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            report
                .findings
                .push(format!("{MANIFEST}: not a bundle manifest: {e}"));
            return Ok(report);
        }
    };
    if manifest.version != BUNDLE_VERSION {
        report.findings.push(format!(
            "{MANIFEST}: version {} is not supported (this build reads {BUNDLE_VERSION})",
            manifest.version
        ));
    }
    let mut listed = std::collections::BTreeSet::new();
    for item in &manifest.items {
        listed.insert(item.file.clone());
        let Some(bytes) = read(&item.file)? else {
            report
                .findings
                .push(format!("{}: listed but missing", item.file));
            continue;
        };
        if hex::encode(Sha256::digest(&bytes)) != item.sha256 {
            report.findings.push(format!(
                "{}: SHA-256 differs from the manifest: the file was changed",
                item.file
            ));
            continue;
        }
        let proof: InclusionProof = match serde_json::from_slice(&bytes) {
            Ok(p) => p,
            Err(e) => {
                report
                    .findings
                    .push(format!("{}: not an inclusion proof: {e}", item.file));
                continue;
            }
        };
        if proof.event_id != item.event_id || proof.tenant != manifest.tenant {
            report.findings.push(format!(
                "{}: proves event {} of tenant `{}`, the manifest says {} of `{}`",
                item.file, proof.event_id, proof.tenant, item.event_id, manifest.tenant
            ));
        }
        if let Err(e) = proof.verify(key) {
            report.findings.push(format!("{}: {e}", item.file));
        }
    }
    let proofs_dir = dir.join(PROOFS);
    if proofs_dir.is_dir() {
        for entry in std::fs::read_dir(&proofs_dir).map_err(io(&proofs_dir))? {
            let entry = entry.map_err(io(&proofs_dir))?;
            let name = format!("{PROOFS}/{}", entry.file_name().to_string_lossy());
            if !listed.contains(&name) {
                report
                    .findings
                    .push(format!("{name}: not listed in the manifest"));
            }
        }
    }
    report.manifest = Some(manifest);
    Ok(report)
}
