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

    /// The proven event: decoded from the record (format 1) or derived from the raw event it holds (format 2).
    pub fn event(&self, normalizer: &dyn crate::Normalizer) -> Result<Event, StoreError> {
        let record =
            hex::decode(&self.record).map_err(|e| StoreError::Proof(format!("record: {e}")))?;
        let tenant =
            TenantId::new(&self.tenant).map_err(|e| StoreError::Proof(format!("tenant: {e}")))?;
        crate::read::event_of(&record, &tenant, normalizer)
            .map(|(_, event)| event)
            .map_err(StoreError::Proof)
    }

    /// The record's bytes exactly as sealed: for format 2, the event's bytes as received.
    pub fn original(&self) -> Result<Vec<u8>, StoreError> {
        let record =
            hex::decode(&self.record).map_err(|e| StoreError::Proof(format!("record: {e}")))?;
        let fields = format::decode_record(&record).map_err(StoreError::Proof)?;
        Ok(match fields.body {
            format::RecordBody::Raw(raw) => raw.bytes.to_vec(),
            format::RecordBody::Json(json) => json.to_vec(),
        })
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

/// Finds the event through the block index (`index.rs`) when the tenant has one that covers its last checkpoint:
/// O(log n) index reads and one block read, instead of reading every segment. An unusable index (missing, stale,
/// damaged) falls back to reading the segments; an event the index does not find is not in the log.
fn prove_in_tenant(
    archive_dir: &Path,
    tenant: &str,
    event_id: EventId,
) -> Result<Option<InclusionProof>, StoreError> {
    let dir = archive_dir.join(tenant);
    if let Some(mut index) = crate::index::IndexReader::open(&dir)?
        && let Some(checkpoint) = last_checkpoint(&dir.join(CHECKPOINTS_FILE))?
        && index.len >= checkpoint.tree_size
    {
        match prove_with_index(&dir, tenant, &mut index, checkpoint, event_id) {
            Ok(proof) => return Ok(proof),
            Err(e) => {
                tracing::warn!(tenant, error = %e, "block index unusable; reading the segments");
            }
        }
    }
    prove_by_scan(archive_dir, tenant, event_id)
}

/// The last complete line of a checkpoint log, read from its end.
fn last_checkpoint(path: &Path) -> Result<Option<Checkpoint>, StoreError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path)(e)),
    };
    let len = file.metadata().map_err(StoreError::io(path))?.len();
    let mut window = 4096u64;
    loop {
        let start = len.saturating_sub(window);
        let mut tail = Vec::new();
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_to_end(&mut tail))
            .map_err(StoreError::io(path))?;
        // Complete lines only: a torn last line is not a checkpoint.
        let complete = tail.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let parse = |line: &[u8]| {
            serde_json::from_slice(line)
                .map(Some)
                .map_err(|e| StoreError::corrupt(path, format!("last checkpoint: {e}")))
        };
        if complete == 0 {
            if start == 0 {
                return Ok(None);
            }
            window *= 4;
            continue;
        }
        let body = &tail[..complete - 1];
        match body.iter().rposition(|&b| b == b'\n') {
            Some(i) => return parse(&body[i + 1..]),
            None if start == 0 => return parse(body),
            None => window *= 4,
        }
    }
}

fn prove_with_index(
    dir: &Path,
    tenant: &str,
    index: &mut crate::index::IndexReader,
    checkpoint: Checkpoint,
    event_id: EventId,
) -> Result<Option<InclusionProof>, StoreError> {
    let wanted = event_id.to_bytes();
    let found =
        index.find(
            checkpoint.tree_size,
            wanted,
            |entry| match crate::index::read_held_block(dir, entry)? {
                Some((path, header, block)) => {
                    find_in_block(&path, &crate::read::BlockView::of(header, &block), &wanted)
                }
                None => Ok(None),
            },
        )?;
    let Some(found) = found else {
        return Ok(None);
    };
    let prefix = crate::tombstone::expired_prefix(dir)?;
    let mut block_leaves = index.leaves(checkpoint.tree_size)?;
    block_leaves.drain(
        ..usize::try_from(prefix.size())
            .unwrap_or(0)
            .min(block_leaves.len()),
    );
    // The index is trusted for nothing: its leaves must give the root the checkpoint signed.
    let tree = merkle::PrunedTree {
        prefix: &prefix,
        leaves: &block_leaves,
    };
    if Some(tree.root()) != checkpoint.root_bytes() {
        return Err(StoreError::corrupt(
            dir.join(crate::index::INDEX_FILE),
            format!(
                "its leaves do not give the root of the checkpoint at tree size {}",
                checkpoint.tree_size
            ),
        ));
    }
    proof_of(tenant, event_id, found, &tree, checkpoint).map(Some)
}

/// The record of `wanted` in a block, with everything its proof needs from the block.
fn find_in_block(
    path: &Path,
    block: &crate::read::BlockView<'_>,
    wanted: &[u8; 16],
) -> Result<Option<Found>, StoreError> {
    let data = decompress(path, block)?;
    let records = format::block_records(&block.header, &data);
    // Record bytes of both formats: version (1), index (8), seq (8), id (16): the id sits at 17..33.
    let Some(position) = records
        .iter()
        .position(|r| r.get(17..33) == Some(&wanted[..]))
    else {
        return Ok(None);
    };
    let leaves: Vec<Hash> = records.iter().map(leaf_hash).collect();
    let fields =
        format::decode_record(records.get(position)).map_err(|d| StoreError::corrupt(path, d))?;
    Ok(Some(Found {
        segment: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        record: records.get(position).to_vec(),
        record_index: fields.record_index,
        record_path: merkle::audit_path(&leaves, position),
        header_bytes: block.header_bytes.to_vec(),
        block_root: block.root,
        block_index: block.header.block_index,
    }))
}

/// The proof of a found record in the log tree at the checkpoint's size (`tree` holds at least that many leaves).
fn proof_of(
    tenant: &str,
    event_id: EventId,
    found: Found,
    tree: &merkle::PrunedTree<'_>,
    checkpoint: Checkpoint,
) -> Result<InclusionProof, StoreError> {
    let held = usize::try_from(checkpoint.tree_size.saturating_sub(tree.prefix.size()))
        .unwrap_or(usize::MAX)
        .min(tree.leaves.len());
    let at_checkpoint = merkle::PrunedTree {
        prefix: tree.prefix,
        leaves: &tree.leaves[..held],
    };
    let block_path = at_checkpoint.audit_path(found.block_index).ok_or_else(|| {
        StoreError::Proof(format!(
            "block {} is not in the log tree the checkpoint at tree size {} covers",
            found.block_index, checkpoint.tree_size
        ))
    })?;
    Ok(InclusionProof {
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
    })
}

/// The same proof as [`prove_in`], found by reading every segment as lookups did before the block index: for the
/// lookup benchmark's baseline. Not part of the stable API.
#[doc(hidden)]
pub fn prove_in_by_scan(
    archive_dir: &Path,
    tenant: &TenantId,
    event_id: EventId,
) -> Result<Option<InclusionProof>, StoreError> {
    prove_by_scan(archive_dir, tenant.as_str(), event_id)
}

/// Reads every segment of the tenant: the way without a usable block index.
fn prove_by_scan(
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
            found = find_in_block(&path, &block, &wanted)?;
        }
    }
    let Some(found) = found else { return Ok(None) };
    let prefix = crate::tombstone::expired_prefix(&archive_dir.join(tenant))?;
    let held = prefix.size() + block_leaves.len() as u64;
    let cp_path = archive_dir.join(tenant).join(CHECKPOINTS_FILE);
    let cp_bytes = std::fs::read(&cp_path).map_err(StoreError::io(&cp_path))?;
    let (lines, _) = format::parse_checkpoints(&cp_bytes);
    let checkpoint = lines
        .into_iter()
        .filter_map(|(_, c)| c.ok())
        .filter(|c| c.tree_size > found.block_index && c.tree_size <= held)
        .max_by_key(|c| c.tree_size)
        .ok_or_else(|| {
            StoreError::corrupt(
                &cp_path,
                format!("no checkpoint covers block {}", found.block_index),
            )
        })?;
    let tree = merkle::PrunedTree {
        prefix: &prefix,
        leaves: &block_leaves,
    };
    proof_of(tenant, event_id, found, &tree, checkpoint).map(Some)
}
