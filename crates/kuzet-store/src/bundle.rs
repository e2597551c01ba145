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
const FILES: &str = "files";
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

/// A file kept as evidence, carried in the bundle under its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleFile {
    /// The name it was kept under.
    pub name: String,
    /// Relative path in the bundle: `files/<sha256>`.
    pub file: String,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    pub size: u64,
}

/// A file to put into a bundle: its name, where its bytes are, and the digest they must have.
#[derive(Debug, Clone)]
pub struct FileToBundle {
    pub name: String,
    pub path: std::path::PathBuf,
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
    /// Files kept as evidence (absent in bundles of events only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<BundleFile>,
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
    /// Files kept as evidence, copied into the bundle (each checked against its digest first).
    pub files: Vec<FileToBundle>,
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
    let mut files = Vec::with_capacity(meta.files.len());
    if !meta.files.is_empty() {
        let dir = out.join(FILES);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    }
    for f in &meta.files {
        let bytes = std::fs::read(&f.path).map_err(io(&f.path))?;
        let digest = hex::encode(Sha256::digest(&bytes));
        if digest != f.sha256 {
            return Err(StoreError::Proof(format!(
                "evidence file `{}`: hashes to {digest}, not its recorded {}: it was changed and is not bundled",
                f.name, f.sha256
            )));
        }
        let file = format!("{FILES}/{digest}");
        let path = out.join(&file);
        std::fs::write(&path, &bytes).map_err(io(&path))?;
        files.push(BundleFile {
            name: f.name.clone(),
            file,
            sha256: digest,
            size: bytes.len() as u64,
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
        files,
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

/// Largest manifest, signature and proof file a verifier reads: far above what a bundle holds (a proof is a few
/// dozen hashes), far below what would exhaust memory.
const MAX_MANIFEST: u64 = 16 << 20;
const MAX_SIGNATURE: u64 = 1 << 10;
const MAX_PROOF: u64 = 1 << 20;
/// The largest evidence file a bundle may carry (what the API keeps).
const MAX_FILE: u64 = 256 << 20;

/// Whether `name` is a proof file a bundle may hold: `proofs/` and one plain file name ending in `.json`.
fn is_proof_name(name: &str) -> bool {
    let Some(file) = name.strip_prefix("proofs/") else {
        return false;
    };
    file.len() <= 128
        && file.ends_with(".json")
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Reads one of the bundle's own files: a regular file inside `dir` (not a link, device or directory), at most
/// `cap` bytes. What is wrong is a finding; `Err` only for an unreadable directory.
fn read_own(
    dir: &Path,
    name: &str,
    cap: u64,
    report: &mut BundleReport,
    missing: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    use std::io::Read;
    let path = dir.join(name);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.findings.push(format!("{name}: {missing}"));
            return Ok(None);
        }
        Err(e) => return Err(StoreError::io(&path)(e)),
    };
    if !meta.file_type().is_file() {
        report
            .findings
            .push(format!("{name}: not a regular file of the bundle"));
        return Ok(None);
    }
    if meta.len() > cap {
        report.findings.push(format!(
            "{name}: {} bytes, more than the {cap} bytes such a file may have",
            meta.len()
        ));
        return Ok(None);
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(cap + 1).read_to_end(&mut bytes))
        .map_err(StoreError::io(&path))?;
    if bytes.len() as u64 > cap {
        report
            .findings
            .push(format!("{name}: grew past {cap} bytes while it was read"));
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Verifies a bundle offline with the sealing key's public half: the manifest's signature, every listed file's
/// hash, every inclusion proof up to its signed checkpoint, that each proof is of the listed event of the
/// bundle's tenant, and that the bundle holds nothing unlisted. `Err` only when the directory cannot be read.
pub fn verify_bundle(dir: &Path, key: &VerifyingKey) -> Result<BundleReport, StoreError> {
    let mut report = BundleReport::default();
    let Some(manifest_bytes) = read_own(dir, MANIFEST, MAX_MANIFEST, &mut report, "missing")?
    else {
        return Ok(report);
    };
    let signature = read_own(dir, SIGNATURE, MAX_SIGNATURE, &mut report, "missing")?
        .and_then(|text| hex::decode(String::from_utf8_lossy(&text).trim()).ok())
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok());
    // Nothing the manifest names is opened before its signature holds: an unsigned manifest is not the maker's.
    match signature {
        Some(sig) if key.verify(&[DOMAIN, &manifest_bytes].concat(), &sig) => {}
        Some(_) => {
            report.findings.push(format!(
                "{SIGNATURE}: does not verify with key {key}: the manifest was changed or signed by another key"
            ));
            return Ok(report);
        }
        None => {
            if !report.findings.iter().any(|f| f.starts_with(SIGNATURE)) {
                report
                    .findings
                    .push(format!("{SIGNATURE}: not a 64-byte signature in hex"));
            }
            return Ok(report);
        }
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
        if !is_proof_name(&item.file) {
            report.findings.push(format!(
                "{}: not a file of the bundle (only `{PROOFS}/NAME.json` is accepted)",
                item.file
            ));
            continue;
        }
        let Some(bytes) = read_own(
            dir,
            &item.file,
            MAX_PROOF,
            &mut report,
            "listed but missing",
        )?
        else {
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
    for f in &manifest.files {
        listed.insert(f.file.clone());
        let well_named = f.file.strip_prefix("files/").is_some_and(|h| {
            h == f.sha256 && h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if !well_named {
            report.findings.push(format!(
                "{}: not a file of the bundle (only `{FILES}/<its sha256>` is accepted)",
                f.file
            ));
            continue;
        }
        let Some(bytes) = read_own(dir, &f.file, MAX_FILE, &mut report, "listed but missing")?
        else {
            continue;
        };
        if hex::encode(Sha256::digest(&bytes)) != f.sha256 || bytes.len() as u64 != f.size {
            report.findings.push(format!(
                "{} (`{}`): the bytes differ from the manifest: the file was changed",
                f.file, f.name
            ));
        }
    }
    let files_dir = dir.join(FILES);
    if files_dir.is_dir() {
        for entry in std::fs::read_dir(&files_dir).map_err(io(&files_dir))? {
            let entry = entry.map_err(io(&files_dir))?;
            let name = format!("{FILES}/{}", entry.file_name().to_string_lossy());
            if !listed.contains(&name) {
                report
                    .findings
                    .push(format!("{name}: not listed in the manifest"));
            }
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
