//! Reading sealed events back (export, tests, proofs). Readers trust nothing: malformed data is an error naming
//! the file, never a panic.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use kuzet_model::{Event, TenantId};

use crate::StoreError;
use crate::format::{BLOCK_HEADER_LEN, BlockHeader, SegmentHeader, TRAILER_MAGIC};
use crate::merkle::Hash;

/// One block as laid out in a segment.
pub(crate) struct BlockView<'a> {
    pub header: BlockHeader,
    pub header_bytes: &'a [u8],
    pub payload: &'a [u8],
    pub root: Hash,
}

/// Walks the blocks of a segment file's bytes in file order.
pub(crate) fn blocks<'a>(path: &Path, bytes: &'a [u8]) -> Result<Vec<BlockView<'a>>, StoreError> {
    let (_, mut pos) = SegmentHeader::decode(bytes).map_err(|d| StoreError::corrupt(path, d))?;
    let mut out = Vec::new();
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.starts_with(TRAILER_MAGIC) {
            break;
        }
        let header_bytes = rest.get(..BLOCK_HEADER_LEN).ok_or_else(|| {
            StoreError::corrupt(
                path,
                format!("offset {pos}: segment ends inside a block header"),
            )
        })?;
        let header = BlockHeader::decode(header_bytes)
            .map_err(|d| StoreError::corrupt(path, format!("offset {pos}: {d}")))?;
        let total = usize::try_from(header.encoded_len()).unwrap_or(usize::MAX);
        let block = rest.get(..total).ok_or_else(|| {
            StoreError::corrupt(
                path,
                format!(
                    "block {}: segment ends inside the block",
                    header.block_index
                ),
            )
        })?;
        let mut root = [0u8; 32];
        root.copy_from_slice(&block[total - 32..]);
        out.push(BlockView {
            header,
            header_bytes,
            payload: &block[BLOCK_HEADER_LEN..total - 32],
            root,
        });
        pos += total;
    }
    Ok(out)
}

pub(crate) fn decompress(path: &Path, block: &BlockView<'_>) -> Result<Vec<u8>, StoreError> {
    // Blocks are sealed at ≤ 512 MiB; a larger claim is damage, not a reason to allocate it.
    if block.header.uncompressed_len > 512 << 20 {
        return Err(StoreError::corrupt(
            path,
            format!("block {}: implausible length", block.header.block_index),
        ));
    }
    zstd::bulk::decompress(block.payload, block.header.uncompressed_len as usize).map_err(|e| {
        StoreError::corrupt(
            path,
            format!(
                "block {}: payload does not decompress: {e}",
                block.header.block_index
            ),
        )
    })
}

pub(crate) fn segment_paths(archive_dir: &Path, tenant: &str) -> Result<Vec<PathBuf>, StoreError> {
    let dir = archive_dir.join(tenant);
    Ok(crate::archive::list_segments(&dir)?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}

struct EventIter {
    segments: VecDeque<PathBuf>,
    pending: VecDeque<Result<Event, StoreError>>,
    failed: bool,
}

impl EventIter {
    fn load(&mut self, path: &Path) -> Result<(), StoreError> {
        let bytes = std::fs::read(path).map_err(StoreError::io(path))?;
        for block in blocks(path, &bytes)? {
            let data = decompress(path, &block)?;
            let (records, error) = crate::format::split_records(&data);
            for record in records {
                let fields = crate::format::decode_record(record.bytes).map_err(|d| {
                    StoreError::corrupt(path, format!("block {}: {d}", block.header.block_index))
                })?;
                let event: Event = serde_json::from_slice(fields.json).map_err(|e| {
                    StoreError::corrupt(
                        path,
                        format!("record {}: event does not decode: {e}", fields.record_index),
                    )
                })?;
                self.pending.push_back(Ok(event));
            }
            if let Some(e) = error {
                return Err(StoreError::corrupt(
                    path,
                    format!("block {}: {e}", block.header.block_index),
                ));
            }
        }
        Ok(())
    }
}

impl Iterator for EventIter {
    type Item = Result<Event, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.failed {
                return None;
            }
            let path = self.segments.pop_front()?;
            if let Err(e) = self.load(&path) {
                self.failed = true;
                self.pending.push_back(Err(e));
            }
        }
    }
}

/// Every sealed event of `tenant`, in archive order. An unreadable segment yields one error and ends the iteration.
pub fn read_events(
    archive_dir: &Path,
    tenant: &TenantId,
) -> impl Iterator<Item = Result<Event, StoreError>> {
    let (segments, pending, failed) = match segment_paths(archive_dir, tenant.as_str()) {
        Ok(s) => (s.into(), VecDeque::new(), false),
        Err(e) => (VecDeque::new(), VecDeque::from([Err(e)]), true),
    };
    EventIter {
        segments,
        pending,
        failed,
    }
}
