//! The per-tenant sealed log writer: blocks appended to segments, a Merkle frontier over blocks, signed checkpoints,
//! and start-up recovery that cuts the archive back to its last checkpoint (the WAL still holds everything after).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use kuzet_model::{RawEvent, TenantId};

use crate::codec::timestamp_nanos;
use crate::format::{
    self, BLOCK_HEADER_LEN, BlockHeader, CHECKPOINTS_FILE, Checkpoint, CheckpointLink,
    FORMAT_VERSION, SegmentHeader, TRAILER_LEN, Trailer, block_leaf, chain_hash, segment_file_name,
};
use crate::index::{IndexEntry, IndexReader, IndexWriter};
use crate::merkle::{Frontier, Hash};
use crate::wal::{sync_dir, truncate_file};
use crate::{Signer, StoreError};

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// Settings the tenant log needs from `StoreConfig`.
#[derive(Debug, Clone)]
pub(crate) struct LogSettings {
    pub block_bytes: usize,
    pub segment_bytes: u64,
    pub zstd_level: i32,
    /// Segments roll at midnight of the day this far ahead of UTC (R5: logs separated by day, in local time).
    pub day_offset_nanos: i64,
}

/// Kazakhstan's time, UTC+5 since 1 March 2024: the day segments roll at unless configured otherwise.
pub const KAZAKHSTAN_DAY_OFFSET: std::time::Duration = std::time::Duration::from_secs(5 * 3600);

struct OpenSegment {
    file: File,
    path: PathBuf,
    number: u64,
    header_bytes: Vec<u8>,
    /// Its format version: a segment written by an older release is closed before a block of the current one.
    version: u16,
    len: u64,
    blocks: u64,
    opened_day: i64,
}

/// What start-up recovery did to one tenant log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Bytes cut from the open segment after the last checkpoint (torn or uncheckpointed blocks).
    pub truncated_bytes: u64,
    /// Segment files removed because they held nothing checkpointed.
    pub removed_segments: Vec<String>,
    /// Torn bytes cut from the end of `checkpoints.log`.
    pub truncated_checkpoint_bytes: u64,
}

pub(crate) struct TenantLog {
    pub tenant: TenantId,
    dir: PathBuf,
    settings: LogSettings,
    frontier: Frontier,
    next_record: u64,
    /// Highest WAL sequence number sealed for this tenant (0: none).
    pub last_sealed_seq: u64,
    segment: Option<OpenSegment>,
    next_segment_number: u64,
    prev_chain: Hash,
    checkpoints: File,
    checkpoints_path: PathBuf,
    checkpoints_len: u64,
    /// Blocks written since the last checkpoint.
    dirty: bool,
    /// Records in blocks covered by the last checkpoint: durable and readable by consumers.
    durable_records: u64,
    /// Segment number of the block at tree_size - 1, and that segment's header bytes (signed by checkpoints).
    last_block_segment: u64,
    last_block_header: Vec<u8>,
    /// Number and back link of the next checkpoint.
    next_link: CheckpointLink,
    // The open block: its records as columns, the canonical bytes of the record being added, the payload.
    columns: crate::columns::ColumnBuilder,
    record: Vec<u8>,
    payload: Vec<u8>,
    leaves: Vec<Hash>,
    first_seq: u64,
    last_seq: u64,
    opened_at: Option<Instant>,
    /// Closed segments not yet reported to the backup thread.
    pub closed_since_backup: bool,
    scratch: Vec<u8>,
    /// One zstd context and output buffer for the log's life: creating a context and a zeroed output buffer per
    /// block cost more page faults than the compression itself.
    compressor: zstd::bulk::Compressor<'static>,
    compressed: Vec<u8>,
    signer: Signer,
    /// The block index (`index.rs`) and the id range of the open block.
    index: IndexWriter,
    open_min_id: [u8; 16],
    open_max_id: [u8; 16],
}

/// The local day (days since 1970-01-01 at the offset) of an instant.
fn day_of(nanos: i64, offset_nanos: i64) -> i64 {
    nanos.saturating_add(offset_nanos).div_euclid(NANOS_PER_DAY)
}

/// Reads the block headers of a segment without decompressing payloads: (offset, header, header bytes, root).
#[derive(Clone)]
pub(crate) struct ScannedBlock {
    pub offset: u64,
    pub header: BlockHeader,
    pub leaf: Hash,
}

pub(crate) struct ScannedSegment {
    pub header: SegmentHeader,
    pub header_bytes: Vec<u8>,
    pub blocks: Vec<ScannedBlock>,
    /// Offset just past the last complete block.
    end_of_blocks: u64,
    pub trailer: Option<(Trailer, [u8; TRAILER_LEN])>,
    file_len: u64,
}

pub(crate) fn scan_segment(path: &Path) -> Result<ScannedSegment, StoreError> {
    let mut file = File::open(path).map_err(StoreError::io(path))?;
    let file_len = file.metadata().map_err(StoreError::io(path))?.len();
    let mut head = vec![0u8; 512.min(file_len as usize)];
    file.read_exact(&mut head).map_err(StoreError::io(path))?;
    let (header, header_len) =
        SegmentHeader::decode(&head).map_err(|d| StoreError::corrupt(path, d))?;
    let header_bytes = head[..header_len].to_vec();
    let mut blocks = Vec::new();
    let mut pos = header_len as u64;
    let mut trailer = None;
    let mut buf = [0u8; BLOCK_HEADER_LEN];
    while pos < file_len {
        if file_len - pos == TRAILER_LEN as u64 {
            let mut t = [0u8; TRAILER_LEN];
            file.seek(SeekFrom::Start(pos))
                .map_err(StoreError::io(path))?;
            file.read_exact(&mut t).map_err(StoreError::io(path))?;
            if let Ok(parsed) = Trailer::decode(&t) {
                trailer = Some((parsed, t));
                break;
            }
        }
        if file_len - pos < BLOCK_HEADER_LEN as u64 {
            break;
        }
        file.seek(SeekFrom::Start(pos))
            .map_err(StoreError::io(path))?;
        file.read_exact(&mut buf).map_err(StoreError::io(path))?;
        let Ok(block) = BlockHeader::decode(&buf) else {
            break;
        };
        let end = pos + block.encoded_len();
        if end > file_len {
            break;
        }
        let mut root = [0u8; 32];
        file.seek(SeekFrom::Start(end - 32))
            .map_err(StoreError::io(path))?;
        file.read_exact(&mut root).map_err(StoreError::io(path))?;
        blocks.push(ScannedBlock {
            offset: pos,
            header: block,
            leaf: block_leaf(&buf, &root),
        });
        pos = end;
    }
    Ok(ScannedSegment {
        header,
        header_bytes,
        blocks,
        end_of_blocks: pos,
        trailer,
        file_len,
    })
}

/// The smallest and largest event id of a block on disk.
fn block_id_range(
    path: &Path,
    offset: u64,
    header: &BlockHeader,
) -> Result<([u8; 16], [u8; 16]), StoreError> {
    let mut file = File::open(path).map_err(StoreError::io(path))?;
    let mut block = vec![0u8; usize::try_from(header.encoded_len()).unwrap_or(usize::MAX)];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut block))
        .map_err(StoreError::io(path))?;
    let payload = &block[BLOCK_HEADER_LEN..block.len() - 32];
    let data = zstd::bulk::decompress(payload, header.uncompressed_len as usize)
        .map_err(|e| StoreError::corrupt(path, format!("block {}: {e}", header.block_index)))?;
    let records = format::block_records(header, &data);
    let mut range = ([0xff; 16], [0; 16]);
    for record in records.iter() {
        let fields = format::decode_record(record)
            .map_err(|d| StoreError::corrupt(path, format!("block {}: {d}", header.block_index)))?;
        let id = fields.event_id.to_bytes();
        range = (range.0.min(id), range.1.max(id));
    }
    Ok(range)
}

fn index_entry(segment: u64, path: &Path, block: &ScannedBlock) -> Result<IndexEntry, StoreError> {
    let (min_id, max_id) = block_id_range(path, block.offset, &block.header)?;
    Ok(IndexEntry {
        block_index: block.header.block_index,
        segment,
        offset: block.offset,
        first_record: block.header.first_record,
        record_count: block.header.record_count,
        min_id,
        max_id,
        prefix_max: [0; 16],
        leaf: block.leaf,
    })
}

/// Cuts the block index back to the `blocks` the recovered log holds and appends what it lacks; rebuilds it
/// whole when its last kept entry does not describe the archive's block (a stale or foreign file).
fn complete_index(
    dir: &Path,
    blocks: u64,
    (expired_blocks, expired_records): (u64, u64),
    unindexed: Vec<(u64, PathBuf, ScannedBlock)>,
) -> Result<IndexWriter, StoreError> {
    let (mut index, last) = IndexWriter::open(dir, blocks, false)?;
    let agrees = match last {
        None => true,
        Some(entry) => unindexed.iter().any(|(segment, _, block)| {
            block.header.block_index == entry.block_index
                && *segment == entry.segment
                && block.offset == entry.offset
                && block.leaf == entry.leaf
        }),
    };
    if agrees {
        for (segment, path, block) in &unindexed {
            if block.header.block_index == index.len {
                index.append(index_entry(*segment, path, block)?)?;
            }
        }
        if index.len == blocks {
            return Ok(index);
        }
    }
    tracing::warn!(dir = %dir.display(), "rebuilding the block index");
    index.reset()?;
    // Expired blocks keep their place with an entry that holds nothing (no segment, no records, no ids).
    while index.len < expired_blocks {
        index.append(IndexEntry::expired(index.len, expired_records))?;
    }
    for (number, path) in list_segments(dir)? {
        for block in scan_segment(&path)?.blocks {
            if index.len == blocks {
                break;
            }
            index.append(index_entry(number, &path, &block)?)?;
        }
    }
    Ok(index)
}

/// Longest possible segment header (63-byte tenant id).
pub(crate) const MAX_SEGMENT_HEADER: u64 = 79 + 63;

/// Recovery may cut complete blocks after the last checkpoint only when the WAL still holds their events (the WAL
/// is trimmed only past checkpoints). Otherwise the checkpoint log was cut, and truncating would destroy evidence.
fn check_resealable(
    path: &Path,
    blocks: &[ScannedBlock],
    wal_floor: Option<u64>,
) -> Result<(), StoreError> {
    for block in blocks {
        if wal_floor.is_none_or(|floor| block.header.first_seq < floor) {
            return Err(StoreError::corrupt(
                path,
                format!(
                    "block {} is not covered by any checkpoint and its events are no longer in the write-ahead log \
                     (was the checkpoint log cut?); refusing to truncate it, run `kuzet verify`",
                    block.header.block_index
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(StoreError::io(dir))? {
        let entry = entry.map_err(StoreError::io(dir))?;
        if let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(format::parse_segment_file_name)
        {
            out.push((n, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

impl TenantLog {
    /// Opens (or creates) `archive/<tenant>/` and recovers it to its last checkpoint.
    pub fn open(
        archive_dir: &Path,
        tenant: TenantId,
        settings: LogSettings,
        signer: &Signer,
        wal_floor: Option<u64>,
    ) -> Result<(Self, RecoveryReport), StoreError> {
        let key = &signer.verifying_key();
        let dir = archive_dir.join(tenant.as_str());
        crate::durable::create_dir(&dir)?;
        let mut report = RecoveryReport::default();
        let checkpoints_path = dir.join(CHECKPOINTS_FILE);
        let cp_bytes = match fs::read(&checkpoints_path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(StoreError::Io {
                    path: checkpoints_path,
                    source: e,
                });
            }
        };
        // Segments expired lawfully (oldest first) are known by their tombstones; finish a removal a crash cut.
        let expired = crate::tombstone::load(&dir, tenant.as_str(), key)?;
        crate::tombstone::remove_tombstoned(&dir, expired.len() as u64)?;
        let last_expired = expired.last();
        let segments = list_segments(&dir)?;
        let mut last_cp: Option<Checkpoint> = None;
        let mut next_link = CheckpointLink::default();
        if let Some(bytes) = &cp_bytes {
            let (lines, complete) = format::parse_checkpoints(bytes);
            if complete < bytes.len() {
                report.truncated_checkpoint_bytes = (bytes.len() - complete) as u64;
                tracing::warn!(file = %checkpoints_path.display(), bytes = report.truncated_checkpoint_bytes,
                    "truncating torn checkpoint line");
                truncate_file(&checkpoints_path, complete as u64)?;
            }
            if let Some((line, parsed)) = lines.last() {
                let cp = parsed.clone().map_err(|e| {
                    StoreError::corrupt(&checkpoints_path, format!("line {line}: {e}"))
                })?;
                if !cp.signature_ok(key) || cp.tenant != tenant.as_str() {
                    return Err(StoreError::corrupt(
                        &checkpoints_path,
                        format!(
                            "line {line}: checkpoint signature does not verify with the archive key; run `kuzet verify`"
                        ),
                    ));
                }
                let count = lines.len() as u64;
                if cp.n.is_some_and(|n| n + 1 != count) {
                    return Err(StoreError::corrupt(
                        &checkpoints_path,
                        format!(
                            "line {line} is checkpoint {} but the log holds {count} lines: lines were removed or repeated; run `kuzet verify`",
                            cp.n.unwrap_or_default()
                        ),
                    ));
                }
                next_link = CheckpointLink::after(&cp, count);
                last_cp = Some(cp);
            }
        } else if segments.len() > 1
            || segments.first().is_some_and(|(n, _)| *n != 0)
            || last_expired.is_some()
        {
            return Err(StoreError::corrupt(
                &checkpoints_path,
                "checkpoint log is missing but sealed segments exist; refusing to open (run `kuzet verify`)",
            ));
        }
        let target = last_cp.as_ref().map_or(0, |c| c.tree_size);
        // Blocks the block index may lack (from its last entry on), to check and complete it below.
        let indexed = IndexReader::open(&dir)?.map_or(0, |r| r.len);
        let mut unindexed: Vec<(u64, PathBuf, ScannedBlock)> = Vec::new();

        // The log continues after the expired prefix: its tree from the last tombstone's frontier, its chain from
        // the removed segment's header and trailer.
        let mut frontier = last_expired.map_or_else(Frontier::new, |e| e.frontier.clone());
        let mut next_record = last_expired.map_or(0, |e| e.tombstone.records);
        let mut last_sealed_seq = 0;
        let mut last_block_segment = last_expired.map_or(0, |e| e.header.number);
        let mut last_block_header = last_expired.map_or_else(Vec::new, |e| e.header_bytes.clone());
        let mut prev_chain = last_expired.map_or([0u8; 32], crate::tombstone::Expired::chain);
        let mut open_segment: Option<(u64, PathBuf, ScannedSegment)> = None;
        let mut next_segment_number = expired.len() as u64;
        if target < frontier.size() {
            return Err(StoreError::corrupt(
                &checkpoints_path,
                format!(
                    "the last checkpoint covers {target} blocks but {} blocks expired; run `kuzet verify`",
                    frontier.size()
                ),
            ));
        }
        let mut reached = target == frontier.size();
        let mut previous_closed = true;
        for (number, path) in &segments {
            let name = segment_file_name(*number);
            if *number != next_segment_number {
                return Err(StoreError::corrupt(
                    &dir,
                    format!(
                        "segment {} is missing; run `kuzet verify`",
                        segment_file_name(next_segment_number)
                    ),
                ));
            }
            if reached {
                // Past the last checkpoint: only a freshly rolled segment may follow, and nothing in it counts.
                if !previous_closed || open_segment.is_some() {
                    return Err(StoreError::corrupt(
                        path,
                        "segment after the last checkpoint follows an unclosed segment; run `kuzet verify`",
                    ));
                }
                match scan_segment(path) {
                    Ok(scanned)
                        if scanned.header.prev_chain == prev_chain
                            && scanned.header.number == *number =>
                    {
                        check_resealable(path, &scanned.blocks, wal_floor)?;
                        if scanned.file_len > scanned.header_bytes.len() as u64 {
                            report.truncated_bytes +=
                                scanned.file_len - scanned.header_bytes.len() as u64;
                            truncate_file(path, scanned.header_bytes.len() as u64)?;
                        }
                        let len = scanned.header_bytes.len() as u64;
                        open_segment = Some((
                            *number,
                            path.clone(),
                            ScannedSegment {
                                blocks: Vec::new(),
                                end_of_blocks: len,
                                trailer: None,
                                file_len: len,
                                ..scanned
                            },
                        ));
                    }
                    _ if fs::metadata(path).map_err(StoreError::io(path))?.len()
                        > MAX_SEGMENT_HEADER =>
                    {
                        return Err(StoreError::corrupt(
                            path,
                            "segment after the last checkpoint has no valid header; run `kuzet verify`",
                        ));
                    }
                    _ => {
                        // Torn while being created: nothing in it was ever sealed.
                        tracing::warn!(file = %path.display(), "removing a segment holding nothing checkpointed");
                        fs::remove_file(path).map_err(StoreError::io(path))?;
                        report.removed_segments.push(name);
                        continue;
                    }
                }
                next_segment_number += 1;
                continue;
            }
            let scanned = scan_segment(path)?;
            if scanned.header.tenant != tenant.as_str()
                || scanned.header.number != *number
                || scanned.header.prev_chain != prev_chain
            {
                return Err(StoreError::corrupt(
                    path,
                    "segment header does not continue the chain; run `kuzet verify`",
                ));
            }
            let mut keep_len = scanned.end_of_blocks;
            let mut blocks_kept = 0;
            for block in &scanned.blocks {
                if frontier.size() == target {
                    keep_len = block.offset;
                    reached = true;
                    break;
                }
                if block.header.block_index != frontier.size() {
                    return Err(StoreError::corrupt(
                        path,
                        format!(
                            "block {} out of order; run `kuzet verify`",
                            block.header.block_index
                        ),
                    ));
                }
                if block.header.block_index + 1 >= indexed {
                    unindexed.push((*number, path.clone(), block.clone()));
                }
                frontier.push(block.leaf);
                next_record = block.header.first_record + u64::from(block.header.record_count);
                last_sealed_seq = last_sealed_seq.max(block.header.last_seq);
                if last_block_segment != *number || last_block_header.is_empty() {
                    last_block_header.clone_from(&scanned.header_bytes);
                }
                last_block_segment = *number;
                blocks_kept += 1;
            }
            if frontier.size() == target {
                reached = true;
            }
            let trailer_ok = scanned.trailer.as_ref().filter(|(t, _)| {
                blocks_kept == scanned.blocks.len()
                    && t.tree_size == frontier.size()
                    && t.log_root == frontier.root()
            });
            if let Some((_, trailer_bytes)) = trailer_ok {
                prev_chain = chain_hash(&scanned.header_bytes, trailer_bytes);
                previous_closed = true;
            } else {
                if !reached {
                    return Err(StoreError::corrupt(
                        path,
                        "segment is incomplete before the last checkpoint; run `kuzet verify`",
                    ));
                }
                check_resealable(path, &scanned.blocks[blocks_kept..], wal_floor)?;
                if scanned.file_len > keep_len {
                    report.truncated_bytes += scanned.file_len - keep_len;
                    tracing::warn!(file = %path.display(), bytes = scanned.file_len - keep_len,
                        "truncating the uncheckpointed tail of the open segment");
                    truncate_file(path, keep_len)?;
                }
                previous_closed = false;
                let blocks = scanned.blocks.into_iter().take(blocks_kept).collect();
                open_segment = Some((
                    *number,
                    path.clone(),
                    ScannedSegment {
                        blocks,
                        end_of_blocks: keep_len,
                        trailer: None,
                        file_len: keep_len,
                        ..scanned
                    },
                ));
            }
            next_segment_number += 1;
        }
        if !reached {
            return Err(StoreError::corrupt(
                &dir,
                format!(
                    "archive holds {} blocks but its last checkpoint covers {target}; run `kuzet verify`",
                    frontier.size()
                ),
            ));
        }
        if let Some(cp) = &last_cp
            && cp.root_bytes() != Some(frontier.root())
        {
            return Err(StoreError::corrupt(
                &checkpoints_path,
                "archive does not match its last checkpoint; run `kuzet verify`",
            ));
        }
        if let Some(signed) = last_cp.as_ref().and_then(Checkpoint::header_bytes) {
            use sha2::Digest;
            let actual: Hash = sha2::Sha256::digest(&last_block_header).into();
            if actual != signed {
                return Err(StoreError::corrupt(
                    dir.join(segment_file_name(last_block_segment)),
                    "segment header differs from the one its last checkpoint signed; run `kuzet verify`",
                ));
            }
        }
        let expired_prefix =
            last_expired.map_or((0, 0), |e| (e.frontier.size(), e.tombstone.records));
        let index = complete_index(&dir, frontier.size(), expired_prefix, unindexed)?;
        let segment = match open_segment {
            Some((number, path, scanned)) => {
                let file = OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .map_err(StoreError::io(&path))?;
                Some(OpenSegment {
                    file,
                    path,
                    number,
                    len: scanned.end_of_blocks,
                    blocks: scanned.blocks.len() as u64,
                    opened_day: day_of(scanned.header.opened_at_nanos, settings.day_offset_nanos),
                    version: scanned.header.version,
                    header_bytes: scanned.header_bytes,
                })
            }
            None => None,
        };
        let new_log = !checkpoints_path.exists();
        let open = || {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&checkpoints_path)
        };
        let checkpoints = if new_log {
            crate::durable::open_created(open)
        } else {
            open()
        }
        .map_err(StoreError::io(&checkpoints_path))?;
        if new_log {
            // Its name must survive a power cut before any checkpoint in it counts.
            sync_dir(&dir)?;
        }
        let checkpoints_len = checkpoints
            .metadata()
            .map_err(StoreError::io(&checkpoints_path))?
            .len();
        let mut compressor =
            zstd::bulk::Compressor::new(settings.zstd_level).map_err(StoreError::io(&dir))?;
        compressor
            .include_checksum(true)
            .map_err(StoreError::io(&dir))?;
        Ok((
            Self {
                compressor,
                compressed: Vec::new(),
                tenant,
                dir,
                settings,
                frontier,
                next_record,
                last_sealed_seq,
                segment,
                next_segment_number,
                prev_chain,
                checkpoints,
                checkpoints_path,
                checkpoints_len,
                dirty: false,
                durable_records: next_record,
                last_block_segment,
                last_block_header,
                next_link,
                columns: crate::columns::ColumnBuilder::default(),
                record: Vec::new(),
                payload: Vec::new(),
                leaves: Vec::new(),
                first_seq: 0,
                last_seq: 0,
                opened_at: None,
                closed_since_backup: false,
                scratch: Vec::new(),
                signer: signer.clone(),
                index,
                open_min_id: [0xff; 16],
                open_max_id: [0; 16],
            },
            report,
        ))
    }

    /// The position (log-wide record index) the next appended event gets.
    pub fn next_position(&self) -> u64 {
        self.next_record + self.leaves.len() as u64
    }

    /// Records covered by the last checkpoint.
    pub fn durable_records(&self) -> u64 {
        self.durable_records
    }

    /// The first WAL sequence number in the open (unsealed) block.
    pub fn open_block_first_seq(&self) -> Option<u64> {
        (!self.leaves.is_empty()).then_some(self.first_seq)
    }

    pub fn open_block_since(&self) -> Option<Instant> {
        self.opened_at
    }

    /// Appends one raw event to the open block as a format 2 record naming the parse `profile`, sealing the block
    /// when it reaches `block_bytes`. Returns whether a block was sealed.
    pub fn append(
        &mut self,
        seq: u64,
        raw: &RawEvent,
        profile: &str,
        now: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        if self.leaves.is_empty() {
            self.first_seq = seq;
            self.opened_at = Some(Instant::now());
        }
        let index = self.next_record + self.leaves.len() as u64;
        let id = raw.id.to_bytes();
        self.open_min_id = self.open_min_id.min(id);
        self.open_max_id = self.open_max_id.max(id);
        self.record.clear();
        crate::columns::encode_record(&mut self.record, index, seq, raw, profile);
        self.columns
            .push(&self.record)
            .map_err(|d| StoreError::corrupt(&self.dir, format!("event {}: {d}", raw.id)))?;
        self.leaves.push(crate::merkle::leaf_hash(&self.record));
        self.last_seq = seq;
        if self.columns.approx_len() >= self.settings.block_bytes {
            self.seal_block(now)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Compresses and writes the open block (if any) to the open segment, rolling segments as needed.
    /// The block is durable and checkpointed only after [`TenantLog::checkpoint`].
    pub fn seal_block(&mut self, now: jiff::Timestamp) -> Result<(), StoreError> {
        let now_nanos = timestamp_nanos(now);
        if self.leaves.is_empty() {
            return Ok(());
        }
        self.columns.finish(&self.leaves, &mut self.payload);
        self.compressed.clear();
        self.compressed
            .reserve(zstd::zstd_safe::compress_bound(self.payload.len()));
        self.compressor
            .compress_to_buffer(&self.payload, &mut self.compressed)
            .map_err(StoreError::io(&self.dir))?;
        let root = crate::merkle::root(&self.leaves);
        let header = BlockHeader {
            version: format::BLOCK_VERSION,
            block_index: self.frontier.size(),
            first_record: self.next_record,
            record_count: self.leaves.len() as u32,
            first_seq: self.first_seq,
            last_seq: self.last_seq,
            sealed_at_nanos: now_nanos,
            uncompressed_len: self.payload.len() as u32,
            compressed_len: self.compressed.len() as u32,
        };
        let block_len = header.encoded_len();
        let roll = self.segment.as_ref().is_some_and(|s| {
            s.version != FORMAT_VERSION
                || s.blocks > 0
                    && (s.len + block_len > self.settings.segment_bytes
                        || s.opened_day != day_of(now_nanos, self.settings.day_offset_nanos))
        });
        if roll {
            self.close_segment(now)?;
        }
        if self.segment.is_none() {
            self.open_segment(now)?;
        }
        let header_bytes = header.encode();
        self.scratch.clear();
        self.scratch.extend_from_slice(&header_bytes);
        self.scratch.extend_from_slice(&self.compressed);
        self.scratch.extend_from_slice(&root);
        let Some(segment) = self.segment.as_mut() else {
            return Err(StoreError::Closed);
        };
        segment
            .file
            .write_all(&self.scratch)
            .map_err(StoreError::io(&segment.path))?;
        let leaf = block_leaf(&header_bytes, &root);
        self.index.append(IndexEntry {
            block_index: header.block_index,
            segment: segment.number,
            offset: segment.len,
            first_record: header.first_record,
            record_count: header.record_count,
            min_id: self.open_min_id,
            max_id: self.open_max_id,
            prefix_max: [0; 16],
            leaf,
        })?;
        self.open_min_id = [0xff; 16];
        self.open_max_id = [0; 16];
        segment.len += block_len;
        segment.blocks += 1;
        if self.last_block_segment != segment.number || self.last_block_header.is_empty() {
            self.last_block_header.clone_from(&segment.header_bytes);
        }
        self.last_block_segment = segment.number;
        self.frontier.push(leaf);
        self.next_record += self.leaves.len() as u64;
        self.last_sealed_seq = self.last_seq;
        self.leaves.clear();
        self.payload.clear();
        self.opened_at = None;
        self.dirty = true;
        metrics::counter!("kuzet_store_blocks_sealed_total").increment(1);
        Ok(())
    }

    fn open_segment(&mut self, now: jiff::Timestamp) -> Result<(), StoreError> {
        let now_nanos = timestamp_nanos(now);
        let number = self.next_segment_number;
        let path = self.dir.join(segment_file_name(number));
        let header = SegmentHeader {
            version: FORMAT_VERSION,
            tenant: self.tenant.as_str().to_owned(),
            number,
            first_block: self.frontier.size(),
            first_record: self.next_record,
            opened_at_nanos: now_nanos,
            prev_chain: self.prev_chain,
        };
        let header_bytes = header.encode();
        let mut file = crate::durable::open_created(|| {
            OpenOptions::new().create_new(true).append(true).open(&path)
        })
        .map_err(StoreError::io(&path))?;
        file.write_all(&header_bytes)
            .and_then(|()| crate::durable::sync_file(&file))
            .map_err(StoreError::io(&path))?;
        sync_dir(&self.dir)?;
        self.next_segment_number += 1;
        self.segment = Some(OpenSegment {
            file,
            path,
            number,
            len: header_bytes.len() as u64,
            header_bytes,
            version: FORMAT_VERSION,
            blocks: 0,
            opened_day: day_of(now_nanos, self.settings.day_offset_nanos),
        });
        Ok(())
    }

    /// Checkpoints what is written, then appends the trailer and links the chain.
    fn close_segment(&mut self, now: jiff::Timestamp) -> Result<(), StoreError> {
        self.checkpoint(now)?;
        let Some(mut segment) = self.segment.take() else {
            return Ok(());
        };
        let trailer = Trailer {
            block_count: segment.blocks,
            tree_size: self.frontier.size(),
            log_root: self.frontier.root(),
        };
        let trailer_bytes = trailer.encode();
        segment
            .file
            .write_all(&trailer_bytes)
            .and_then(|()| crate::durable::sync_file(&segment.file))
            .map_err(StoreError::io(&segment.path))?;
        self.prev_chain = chain_hash(&segment.header_bytes, &trailer_bytes);
        self.closed_since_backup = true;
        metrics::counter!("kuzet_store_segments_closed_total").increment(1);
        Ok(())
    }

    /// Makes written blocks durable and appends a signed checkpoint. Returns whether one was written.
    pub fn checkpoint(&mut self, now: jiff::Timestamp) -> Result<bool, StoreError> {
        if !self.dirty {
            return Ok(false);
        }
        if let Some(segment) = self.segment.as_mut() {
            crate::durable::sync_file(&segment.file).map_err(StoreError::io(&segment.path))?;
        }
        let cp = Checkpoint::sign(
            &self.signer,
            &self.tenant,
            self.next_link,
            self.frontier.size(),
            &self.frontier.root(),
            &segment_file_name(self.last_block_segment),
            &self.last_block_header,
            now,
        );
        let line = cp.to_line();
        self.checkpoints
            .write_all(line.as_bytes())
            .and_then(|()| crate::durable::sync_file(&self.checkpoints))
            .map_err(StoreError::io(&self.checkpoints_path))?;
        self.checkpoints_len += line.len() as u64;
        self.next_link = CheckpointLink::after(&cp, self.next_link.n + 1);
        self.dirty = false;
        self.durable_records = self.next_record;
        Ok(true)
    }
}

/// Direct access to one tenant's archive writer, without the WAL and threads: for benchmarks, fault tests that
/// need a controlled clock (day rolls), and offline import tools. Not part of the stable API.
#[doc(hidden)]
pub struct ArchiveWriter {
    log: TenantLog,
}

impl ArchiveWriter {
    pub fn open(
        archive_dir: &Path,
        tenant: TenantId,
        block_bytes: usize,
        segment_bytes: u64,
        zstd_level: i32,
        signer: &Signer,
    ) -> Result<(Self, RecoveryReport), StoreError> {
        let settings = LogSettings {
            block_bytes,
            segment_bytes,
            zstd_level,
            day_offset_nanos: KAZAKHSTAN_DAY_OFFSET.as_nanos() as i64,
        };
        // Without a WAL nothing uncheckpointed can be re-derived, so recovery never cuts complete blocks.
        let (log, report) = TenantLog::open(archive_dir, tenant, settings, signer, None)?;
        Ok((Self { log }, report))
    }

    /// Appends one raw event under the parse `profile` (sealing a block when full); `seq` must increase.
    pub fn append(
        &mut self,
        seq: u64,
        raw: &RawEvent,
        profile: &str,
        now: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        self.log.append(seq, raw, profile, now)
    }

    /// Seals the open block and writes a signed checkpoint.
    pub fn flush(&mut self, now: jiff::Timestamp) -> Result<(), StoreError> {
        self.log.seal_block(now)?;
        self.log.checkpoint(now)?;
        Ok(())
    }

    pub fn last_sealed_seq(&self) -> u64 {
        self.log.last_sealed_seq
    }
}
