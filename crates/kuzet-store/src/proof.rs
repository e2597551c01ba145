//! Inclusion proofs: one event, the audit path of its record inside its block, the audit path of its block in the
//! tenant log, and the signed checkpoint the log path leads to. Serialized as versioned JSON for `kuzet prove`.

use std::path::Path;

use kuzet_model::{Event, EventId, TenantId};
use serde::{Deserialize, Serialize};

use crate::format::{self, BlockHeader, CHECKPOINTS_FILE, Checkpoint, block_leaf};
use crate::merkle::{self, Hash, leaf_hash, root_from_path};
use crate::read::{blocks, decompress, segment_paths};
use crate::{StoreError, VerifyingKey};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Format version of this JSON (1).
    pub version: u32,
    pub tenant: String,
    pub event_id: EventId,
    pub segment: String,
    /// Hex of the record's hashed bytes (version, record index, WAL seq, event id, event JSON).
    pub record: String,
    pub record_index: u64,
    /// Audit path of the record among its block's records, bottom first, hex.
    pub record_path: Vec<String>,
    /// Hex of the block's 64-byte header.
    pub block_header: String,
    pub block_root: String,
    pub block_index: u64,
    /// Audit path of the block in the tenant log at `checkpoint.tree_size`, bottom first, hex.
    pub block_path: Vec<String>,
    pub checkpoint: Checkpoint,
}

pub const PROOF_VERSION: u32 = 1;

fn hexes(path: &[Hash]) -> Vec<String> {
    path.iter().map(hex::encode).collect()
}

fn unhex32(s: &str) -> Result<Hash, StoreError> {
    hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Proof(format!("`{s}` is not a 32-byte hex hash")))
}

fn unhex_path(path: &[String]) -> Result<Vec<Hash>, StoreError> {
    path.iter().map(|h| unhex32(h)).collect()
}

impl InclusionProof {
    /// Checks the whole chain from the record to a checkpoint signed by `key`.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), StoreError> {
        let fail = |m: &str| Err(StoreError::Proof(m.to_owned()));
        if self.version != PROOF_VERSION {
            return fail("unsupported proof version");
        }
        if self.checkpoint.tenant != self.tenant || !self.checkpoint.signature_ok(key) {
            return fail("checkpoint signature does not verify");
        }
        let record =
            hex::decode(&self.record).map_err(|e| StoreError::Proof(format!("record: {e}")))?;
        let fields = format::decode_record(&record).map_err(StoreError::Proof)?;
        if fields.event_id != self.event_id || fields.record_index != self.record_index {
            return fail("record does not hold the claimed event");
        }
        let header_bytes = hex::decode(&self.block_header)
            .map_err(|e| StoreError::Proof(format!("block header: {e}")))?;
        let header = BlockHeader::decode(&header_bytes).map_err(StoreError::Proof)?;
        if header.block_index != self.block_index {
            return fail("block header names another block");
        }
        let Some(position) = self.record_index.checked_sub(header.first_record) else {
            return fail("record is not in the block");
        };
        let record_path = unhex_path(&self.record_path)?;
        let block_root = unhex32(&self.block_root)?;
        if root_from_path(
            leaf_hash(&record),
            position,
            u64::from(header.record_count),
            &record_path,
        ) != Some(block_root)
        {
            return fail("record path does not lead to the block root");
        }
        let block_path = unhex_path(&self.block_path)?;
        let log_root = root_from_path(
            block_leaf(&header_bytes, &block_root),
            self.block_index,
            self.checkpoint.tree_size,
            &block_path,
        );
        if log_root.is_none() || log_root != self.checkpoint.root_bytes() {
            return fail("block path does not lead to the checkpoint root");
        }
        Ok(())
    }

    /// The proven event (decoded from the proof's record bytes).
    pub fn event(&self) -> Result<Event, StoreError> {
        let record =
            hex::decode(&self.record).map_err(|e| StoreError::Proof(format!("record: {e}")))?;
        let fields = format::decode_record(&record).map_err(StoreError::Proof)?;
        serde_json::from_slice(fields.json).map_err(|e| StoreError::Proof(format!("event: {e}")))
    }
}

/// Builds the inclusion proof of `event_id` against the latest checkpoint of its tenant. Scans the archive.
pub fn prove(archive_dir: &Path, event_id: EventId) -> Result<InclusionProof, StoreError> {
    let mut tenants = Vec::new();
    for entry in std::fs::read_dir(archive_dir).map_err(StoreError::io(archive_dir))? {
        let entry = entry.map_err(StoreError::io(archive_dir))?;
        if entry.path().is_dir() {
            tenants.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    tenants.sort();
    for tenant in tenants {
        if let Some(proof) = prove_in_tenant(archive_dir, &tenant, event_id)? {
            return Ok(proof);
        }
    }
    Err(StoreError::NotFound(event_id))
}

/// The inclusion proof of `event_id` if it is in `tenant`'s log (and only there: callers that serve one tenant
/// never look into another's); `None` when that log has no such event.
pub fn prove_in(
    archive_dir: &Path,
    tenant: &TenantId,
    event_id: EventId,
) -> Result<Option<InclusionProof>, StoreError> {
    if !archive_dir.join(tenant.as_str()).is_dir() {
        return Ok(None);
    }
    prove_in_tenant(archive_dir, tenant.as_str(), event_id)
}

struct Found {
    segment: String,
    record: Vec<u8>,
    record_index: u64,
    record_path: Vec<Hash>,
    header_bytes: Vec<u8>,
    block_root: Hash,
    block_index: u64,
}

fn prove_in_tenant(
    archive_dir: &Path,
    tenant: &str,
    event_id: EventId,
) -> Result<Option<InclusionProof>, StoreError> {
    let mut block_leaves = Vec::new();
    let mut found: Option<Found> = None;
    let wanted = event_id.to_bytes();
    for path in segment_paths(archive_dir, tenant)? {
        let bytes = std::fs::read(&path).map_err(StoreError::io(&path))?;
        for block in blocks(&path, &bytes)? {
            block_leaves.push(block_leaf(block.header_bytes, &block.root));
            if found.is_some() {
                continue;
            }
            let data = decompress(&path, &block)?;
            let (records, _) = format::split_records(&data);
            // Record bytes: version (1), index (8), seq (8), id (16): the id sits at 17..33.
            let Some(position) = records
                .iter()
                .position(|r| r.bytes.get(17..33) == Some(&wanted[..]))
            else {
                continue;
            };
            let leaves: Vec<Hash> = records.iter().map(|r| leaf_hash(r.bytes)).collect();
            let fields = format::decode_record(records[position].bytes)
                .map_err(|d| StoreError::corrupt(&path, d))?;
            found = Some(Found {
                segment: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                record: records[position].bytes.to_vec(),
                record_index: fields.record_index,
                record_path: merkle::audit_path(&leaves, position),
                header_bytes: block.header_bytes.to_vec(),
                block_root: block.root,
                block_index: block.header.block_index,
            });
        }
    }
    let Some(found) = found else { return Ok(None) };
    let cp_path = archive_dir.join(tenant).join(CHECKPOINTS_FILE);
    let cp_bytes = std::fs::read(&cp_path).map_err(StoreError::io(&cp_path))?;
    let (lines, _) = format::parse_checkpoints(&cp_bytes);
    let checkpoint = lines
        .into_iter()
        .filter_map(|(_, c)| c.ok())
        .filter(|c| c.tree_size > found.block_index && c.tree_size <= block_leaves.len() as u64)
        .max_by_key(|c| c.tree_size)
        .ok_or_else(|| {
            StoreError::corrupt(
                &cp_path,
                format!("no checkpoint covers block {}", found.block_index),
            )
        })?;
    let size = usize::try_from(checkpoint.tree_size).unwrap_or(usize::MAX);
    let block_path = merkle::audit_path(
        &block_leaves[..size],
        usize::try_from(found.block_index).unwrap_or(0),
    );
    Ok(Some(InclusionProof {
        version: PROOF_VERSION,
        tenant: tenant.to_owned(),
        event_id,
        segment: found.segment,
        record: hex::encode(&found.record),
        record_index: found.record_index,
        record_path: hexes(&found.record_path),
        block_header: hex::encode(&found.header_bytes),
        block_root: hex::encode(found.block_root),
        block_index: found.block_index,
        block_path: hexes(&block_path),
        checkpoint,
    }))
}
