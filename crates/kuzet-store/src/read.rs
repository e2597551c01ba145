//! Reading sealed events back (export, tests, proofs). Readers trust nothing: malformed data is an error naming
//! the file, never a panic.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use kuzet_model::{Event, TenantId};

use crate::format::RecordBody;
use crate::format::{BLOCK_HEADER_LEN, BlockHeader, SegmentHeader, TRAILER_MAGIC};
use crate::merkle::Hash;
use crate::{Normalize, Normalizer, StoreError};

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

impl<'a> BlockView<'a> {
    /// The view of one whole block's bytes (header, payload, root) whose header is `header`.
    pub(crate) fn of(header: BlockHeader, block: &'a [u8]) -> Self {
        let total = block.len();
        let mut root = [0u8; 32];
        root.copy_from_slice(&block[total - 32..]);
        Self {
            header,
            header_bytes: &block[..BLOCK_HEADER_LEN],
            payload: &block[BLOCK_HEADER_LEN..total - 32],
            root,
        }
    }
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

/// The position and normalized event of a record's bytes: decoded from format 1's JSON, or derived again from
/// format 2's raw event by `normalizer` under the profile the record names.
pub(crate) fn event_of(
    record: &[u8],
    tenant: &TenantId,
    normalizer: &dyn Normalizer,
) -> Result<(u64, Event), String> {
    let fields = crate::format::decode_record(record)?;
    let event = match &fields.body {
        RecordBody::Json(json) => serde_json::from_slice(json)
            .map_err(|e| format!("record {}: event does not decode: {e}", fields.record_index))?,
        RecordBody::Raw(raw) => {
            let raw_event = raw
                .to_raw_event(fields.event_id, tenant)
                .map_err(|e| format!("record {}: {e}", fields.record_index))?;
            normalizer.normalize(&raw_event, raw.profile)
        }
    };
    Ok((fields.record_index, event))
}

/// One sealed record as stored: its hashed bytes, in the log of `tenant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub tenant: TenantId,
    pub bytes: Vec<u8>,
}

impl StoredRecord {
    pub fn fields(&self) -> Result<crate::format::RecordFields<'_>, String> {
        crate::format::decode_record(&self.bytes)
    }

    /// When the event was received: from the envelope (format 2) or the stored event (format 1).
    pub fn received(&self) -> Result<jiff::Timestamp, String> {
        let fields = self.fields()?;
        match &fields.body {
            RecordBody::Raw(raw) => crate::codec::timestamp_from_nanos(raw.received_nanos)
                .ok_or_else(|| {
                    format!(
                        "record {}: receive time is out of range",
                        fields.record_index
                    )
                }),
            RecordBody::Json(json) => serde_json::from_slice::<Event>(json)
                .map(|e| e.ingested)
                .map_err(|e| format!("record {}: event does not decode: {e}", fields.record_index)),
        }
    }

    /// The normalized event: decoded (format 1) or derived again through `normalizer` (format 2).
    pub fn event(&self, normalizer: &dyn Normalizer) -> Result<Event, String> {
        event_of(&self.bytes, &self.tenant, normalizer).map(|(_, event)| event)
    }

    /// The record as stored, for people and scripts (`kuzet export --stored`): its envelope and the original
    /// bytes (text when they are UTF-8, else `original_hex`), or a format 1 record's stored event.
    pub fn to_json(&self) -> Result<serde_json::Value, String> {
        let fields = self.fields()?;
        let mut out = serde_json::json!({
            "record": fields.record_index,
            "wal_seq": fields.wal_seq,
            "event_id": fields.event_id.to_string(),
        });
        match &fields.body {
            RecordBody::Json(json) => {
                out["format_version"] = 1.into();
                out["event"] = serde_json::from_slice(json)
                    .map_err(|e| format!("record {}: {e}", fields.record_index))?;
            }
            RecordBody::Raw(raw) => {
                let event = raw.to_raw_event(fields.event_id, &self.tenant)?;
                out["format_version"] = 2.into();
                out["received"] = event.received.to_string().into();
                out["source"] = event.source.as_str().into();
                out["transport"] = event.transport.as_str().into();
                out["format"] = event.format.as_str().into();
                out["peer"] = event.peer.map(|p| p.to_string()).into();
                out["profile"] = raw.profile.into();
                match std::str::from_utf8(raw.bytes) {
                    Ok(text) => out["original"] = text.into(),
                    Err(_) => out["original_hex"] = hex::encode(raw.bytes).into(),
                }
            }
        }
        Ok(out)
    }
}

struct RecordIter {
    tenant: TenantId,
    segments: VecDeque<PathBuf>,
    pending: VecDeque<Result<StoredRecord, StoreError>>,
    failed: bool,
}

impl RecordIter {
    fn load(&mut self, path: &Path) -> Result<(), StoreError> {
        let bytes = std::fs::read(path).map_err(StoreError::io(path))?;
        for block in blocks(path, &bytes)? {
            let data = decompress(path, &block)?;
            let records = crate::format::block_records(&block.header, &data);
            for record in records.iter() {
                self.pending.push_back(Ok(StoredRecord {
                    tenant: self.tenant.clone(),
                    bytes: record.to_vec(),
                }));
            }
            if let Some(e) = records.error {
                return Err(StoreError::corrupt(
                    path,
                    format!("block {}: {e}", block.header.block_index),
                ));
            }
        }
        Ok(())
    }
}

impl Iterator for RecordIter {
    type Item = Result<StoredRecord, StoreError>;

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

/// Every sealed record of `tenant` as stored, in archive order. An unreadable segment yields one error and ends
/// the iteration.
pub fn read_records(
    archive_dir: &Path,
    tenant: &TenantId,
) -> impl Iterator<Item = Result<StoredRecord, StoreError>> + use<> {
    let (segments, pending, failed) = match segment_paths(archive_dir, tenant.as_str()) {
        Ok(s) => (s.into(), VecDeque::new(), false),
        Err(e) => (VecDeque::new(), VecDeque::from([Err(e)]), true),
    };
    RecordIter {
        tenant: tenant.clone(),
        segments,
        pending,
        failed,
    }
}

/// The sealed records of `tenant` that may have been received at or after `since`, in archive order: segments
/// whose successor was opened before `since` are skipped unread (every record of a segment is received before
/// it is sealed, so before the next segment opens). Records of the segments read are all returned.
pub fn read_records_since(
    archive_dir: &Path,
    tenant: &TenantId,
    since: jiff::Timestamp,
) -> impl Iterator<Item = Result<StoredRecord, StoreError>> + use<> {
    let since_nanos = crate::codec::timestamp_nanos(since);
    let kept = segment_paths(archive_dir, tenant.as_str()).and_then(|paths| {
        let mut opened = Vec::with_capacity(paths.len());
        for path in &paths {
            opened.push(read_segment_header(path)?.0.opened_at_nanos);
        }
        Ok(paths
            .into_iter()
            .enumerate()
            .filter(|(i, _)| opened.get(i + 1).is_none_or(|next| *next >= since_nanos))
            .map(|(_, p)| p)
            .collect::<VecDeque<_>>())
    });
    let (segments, pending, failed) = match kept {
        Ok(s) => (s, VecDeque::new(), false),
        Err(e) => (VecDeque::new(), VecDeque::from([Err(e)]), true),
    };
    RecordIter {
        tenant: tenant.clone(),
        segments,
        pending,
        failed,
    }
}

/// Every sealed event of `tenant`, in archive order, derived through `normalizer` where the archive keeps raw
/// events (format 2). An unreadable segment yields one error and ends the iteration.
pub fn read_events(
    archive_dir: &Path,
    tenant: &TenantId,
    normalizer: Normalize,
) -> impl Iterator<Item = Result<Event, StoreError>> + use<> {
    let dir = archive_dir.join(tenant.as_str());
    read_records(archive_dir, tenant).map(move |record| {
        let record = record?;
        record
            .event(&*normalizer)
            .map_err(|d| StoreError::corrupt(&dir, d))
    })
}

/// Reads the first segment header bytes of a file: enough for [`SegmentHeader::decode`].
/// Returns the header and its length (the offset of the segment's first block).
fn read_segment_header(path: &Path) -> Result<(SegmentHeader, u64), StoreError> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(crate::archive::MAX_SEGMENT_HEADER as usize);
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(crate::archive::MAX_SEGMENT_HEADER)
                .read_to_end(&mut buf)
        })
        .map_err(StoreError::io(path))?;
    SegmentHeader::decode(&buf)
        .map(|(h, len)| (h, len as u64))
        .map_err(|d| StoreError::corrupt(path, d))
}

/// Sequential reads of a tenant log by record position, one block at a time, without decompressing the blocks
/// before the position: segments are found by binary search over their headers' `first_record`, blocks by walking
/// the 64-byte block headers. Keeps its place, so reading a log from start to end reads each block once.
pub(crate) struct PositionReader {
    dir: PathBuf,
    tenant: TenantId,
    normalizer: Normalize,
    /// The segment being read, the offset of its next block and the position that block starts at.
    place: Option<(PathBuf, u64, u64)>,
}

impl PositionReader {
    pub(crate) fn new(archive_dir: &Path, tenant: &TenantId, normalizer: Normalize) -> Self {
        Self {
            dir: archive_dir.join(tenant.as_str()),
            tenant: tenant.clone(),
            normalizer,
            place: None,
        }
    }

    /// The segment holding `position` (the last whose first record is at or before it), the offset of its first
    /// block and the position to read from: the first segment's first record when `position` expired before it.
    fn locate(&self, position: u64) -> Result<Option<(PathBuf, u64, u64)>, StoreError> {
        let segments = crate::archive::list_segments(&self.dir)?;
        let (mut lo, mut hi) = (0usize, segments.len());
        // Invariant: every segment before `lo` starts at or before `position`; none from `hi` on does.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if read_segment_header(&segments[mid].1)?.0.first_record <= position {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let Some((_, path)) = segments.get(lo.saturating_sub(1)) else {
            return Ok(None);
        };
        let (header, len) = read_segment_header(path)?;
        Ok(Some((path.clone(), len, position.max(header.first_record))))
    }

    /// The events of the block holding `position`, from `position` on, each with its position; empty when the
    /// log has no block there (yet).
    /// A position that expired (its segment removed after its retention) reads from the first position held.
    pub(crate) fn read_from(&mut self, position: u64) -> Result<Vec<(u64, Event)>, StoreError> {
        use std::io::{Read, Seek, SeekFrom};
        let (path, mut offset, position) = match self.place.take() {
            Some((path, offset, next)) if next == position => (path, offset, position),
            _ => match self.locate(position)? {
                Some(found) => found,
                None => return Ok(Vec::new()),
            },
        };
        let mut file = std::fs::File::open(&path).map_err(StoreError::io(&path))?;
        loop {
            let mut head = [0u8; BLOCK_HEADER_LEN];
            file.seek(SeekFrom::Start(offset))
                .map_err(StoreError::io(&path))?;
            let mut got = 0;
            while got < head.len() {
                match file.read(&mut head[got..]).map_err(StoreError::io(&path))? {
                    0 => break,
                    n => got += n,
                }
            }
            if got < 4 || head.starts_with(TRAILER_MAGIC) {
                // The end of this segment: the position is in the next one, if it exists yet.
                let next = crate::archive::list_segments(&self.dir)?
                    .into_iter()
                    .find(|(_, p)| *p > path);
                return match next {
                    Some((_, next_path)) => {
                        let (header, len) = read_segment_header(&next_path)?;
                        if header.first_record > position {
                            return Err(StoreError::corrupt(
                                &next_path,
                                format!("record {position} is in no segment"),
                            ));
                        }
                        self.place = Some((next_path, len, header.first_record));
                        self.read_from(position)
                    }
                    None => Ok(Vec::new()),
                };
            }
            if got < BLOCK_HEADER_LEN {
                return Err(StoreError::corrupt(
                    &path,
                    format!("offset {offset}: segment ends inside a block header"),
                ));
            }
            let header = BlockHeader::decode(&head)
                .map_err(|d| StoreError::corrupt(&path, format!("offset {offset}: {d}")))?;
            let end = header.first_record + u64::from(header.record_count);
            let next_offset = offset + header.encoded_len();
            if end <= position {
                offset = next_offset;
                continue;
            }
            if header.first_record > position {
                return Err(StoreError::corrupt(
                    &path,
                    format!("block {}: record {position} is missing", header.block_index),
                ));
            }
            let mut block = vec![0u8; usize::try_from(header.encoded_len()).unwrap_or(usize::MAX)];
            file.seek(SeekFrom::Start(offset))
                .and_then(|_| file.read_exact(&mut block))
                .map_err(StoreError::io(&path))?;
            let events = self.decode_block(&path, &BlockView::of(header, &block), position)?;
            self.place = Some((path, next_offset, end));
            return Ok(events);
        }
    }
}

impl PositionReader {
    /// The events of a block with positions at or after `from`.
    fn decode_block(
        &self,
        path: &Path,
        block: &BlockView<'_>,
        from: u64,
    ) -> Result<Vec<(u64, Event)>, StoreError> {
        let data = decompress(path, block)?;
        let records = crate::format::block_records(&block.header, &data);
        if let Some(e) = records.error {
            return Err(StoreError::corrupt(
                path,
                format!("block {}: {e}", block.header.block_index),
            ));
        }
        let skip = usize::try_from(from.saturating_sub(block.header.first_record)).unwrap_or(0);
        let mut out = Vec::with_capacity(records.len().saturating_sub(skip));
        for record in records.iter() {
            // Format 2 indices are positional; format 1 records carry theirs, checked here like before.
            if crate::format::decode_record(record).is_ok_and(|f| f.record_index < from) {
                continue;
            }
            let item = event_of(record, &self.tenant, &*self.normalizer).map_err(|d| {
                StoreError::corrupt(path, format!("block {}: {d}", block.header.block_index))
            })?;
            out.push(item);
        }
        Ok(out)
    }
}

/// The events at `positions` (ascending, each at most once) of `tenant`'s log, each with its position — what a
/// search index points at. Blocks are found through the block index (`index.rs`): O(log n) small reads per block,
/// and each block read is checked against the leaf the index holds; without a usable index the segments are read
/// from the first position on. A position the log does not hold (yet) is absent from the answer.
pub fn read_at(
    archive_dir: &Path,
    tenant: &TenantId,
    positions: &[u64],
    normalizer: &Normalize,
) -> Result<Vec<(u64, Event)>, StoreError> {
    let dir = archive_dir.join(tenant.as_str());
    if positions.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(mut index) = crate::index::IndexReader::open(&dir)? {
        return read_at_indexed(&dir, tenant, &mut index, positions, &**normalizer);
    }
    let mut reader = PositionReader::new(archive_dir, tenant, normalizer.clone());
    let mut out = Vec::with_capacity(positions.len());
    let mut rest = positions;
    while let Some(&first) = rest.first() {
        let events = reader.read_from(first)?;
        let Some(end) = events.last().map(|(p, _)| p + 1) else {
            break;
        };
        for (position, event) in events {
            if rest.first() == Some(&position) {
                out.push((position, event));
                rest = &rest[1..];
            }
        }
        // Positions before the block's end that it did not hold are not in the log.
        while rest.first().is_some_and(|&p| p < end) {
            rest = &rest[1..];
        }
    }
    Ok(out)
}

fn read_at_indexed(
    dir: &Path,
    tenant: &TenantId,
    index: &mut crate::index::IndexReader,
    positions: &[u64],
    normalizer: &dyn Normalizer,
) -> Result<Vec<(u64, Event)>, StoreError> {
    let mut out = Vec::with_capacity(positions.len());
    let mut rest = positions;
    while let Some(&wanted) = rest.first() {
        // The last block whose first record is at or before `wanted`; invariant: blocks before `lo` start at or
        // before it, blocks from `hi` on after it.
        let (mut lo, mut hi) = (0u64, index.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if index.entry(mid)?.first_record <= wanted {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let Some(entry) = lo.checked_sub(1).map(|n| index.entry(n)).transpose()? else {
            rest = &rest[1..];
            continue;
        };
        let end = entry.first_record + u64::from(entry.record_count);
        if wanted >= end {
            // Past the last indexed block (not sealed yet), or in a gap the index cannot explain.
            rest = &rest[1..];
            continue;
        }
        let Some((path, header, block)) = crate::index::read_held_block(dir, &entry)? else {
            // Expired: its positions are no longer held.
            while rest.first().is_some_and(|&p| p < end) {
                rest = &rest[1..];
            }
            continue;
        };
        let view = BlockView::of(header, &block);
        let data = decompress(&path, &view)?;
        let records = crate::format::block_records(&view.header, &data);
        if let Some(e) = records.error {
            return Err(StoreError::corrupt(
                &path,
                format!("block {}: {e}", header.block_index),
            ));
        }
        while let Some(&position) = rest.first() {
            if position >= end {
                break;
            }
            rest = &rest[1..];
            let Some(record) = usize::try_from(position - entry.first_record)
                .ok()
                .filter(|&i| i < records.len())
                .map(|i| records.get(i))
            else {
                continue;
            };
            let (index, event) = event_of(record, tenant, normalizer).map_err(|d| {
                StoreError::corrupt(&path, format!("block {}: {d}", header.block_index))
            })?;
            if index != position {
                return Err(StoreError::corrupt(
                    &path,
                    format!(
                        "block {}: record {index} stands where record {position} belongs",
                        header.block_index
                    ),
                ));
            }
            out.push((position, event));
        }
    }
    Ok(out)
}
