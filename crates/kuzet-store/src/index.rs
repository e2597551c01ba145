//! The block index of a tenant log (`<tenant>/blocks.idx`, `docs/formats/archive.md` "Block index"): one
//! fixed-size entry per sealed block — where it is, its records, the smallest and largest event id in it, the
//! running maximum of those, and its leaf in the log tree. It lets a single event be found in O(log n) small reads
//! instead of reading the archive, and an inclusion proof be built without reading every block.
//!
//! The index is derived data: the sealer appends an entry after writing each block (no fsync of its own), start-up
//! recovery cuts it back to the archive or rebuilds what is missing, and nothing in it is trusted — a block read
//! through it must hash to the leaf the log tree holds, and every proof built with it is verified against a signed
//! checkpoint like any other. It is not part of the backup copy and `kuzet verify` does not need it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::StoreError;
use crate::merkle::Hash;

pub(crate) const INDEX_FILE: &str = "blocks.idx";
const MAGIC: &[u8; 8] = b"KZBLKIDX";
const VERSION: u16 = 1;
const HEADER_LEN: u64 = 16;
pub(crate) const ENTRY_LEN: usize = 120;

/// One sealed block as the index knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub block_index: u64,
    pub segment: u64,
    /// Byte offset of the block header in the segment file.
    pub offset: u64,
    pub first_record: u64,
    pub record_count: u32,
    /// Smallest and largest event id in the block (big-endian bytes, so byte order is id order).
    pub min_id: [u8; 16],
    pub max_id: [u8; 16],
    /// The largest `max_id` of this block and every block before it: never decreases, so it can be searched.
    pub prefix_max: [u8; 16],
    /// The block's leaf in the log tree.
    pub leaf: Hash,
}

impl IndexEntry {
    /// The entry of an expired block when the index is rebuilt after expiry: no segment holds it any more.
    pub(crate) fn expired(block_index: u64, first_kept_record: u64) -> Self {
        Self {
            block_index,
            segment: u64::MAX,
            offset: 0,
            first_record: first_kept_record,
            record_count: 0,
            min_id: [0; 16],
            max_id: [0; 16],
            prefix_max: [0; 16],
            leaf: [0; 32],
        }
    }

    fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[0..8].copy_from_slice(&self.block_index.to_le_bytes());
        out[8..16].copy_from_slice(&self.segment.to_le_bytes());
        out[16..24].copy_from_slice(&self.offset.to_le_bytes());
        out[24..32].copy_from_slice(&self.first_record.to_le_bytes());
        out[32..36].copy_from_slice(&self.record_count.to_le_bytes());
        // 36..40 reserved
        out[40..56].copy_from_slice(&self.min_id);
        out[56..72].copy_from_slice(&self.max_id);
        out[72..88].copy_from_slice(&self.prefix_max);
        out[88..120].copy_from_slice(&self.leaf);
        out
    }

    fn decode(bytes: &[u8; ENTRY_LEN]) -> Self {
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let arr16 = |at: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&bytes[at..at + 16]);
            b
        };
        let mut leaf = [0u8; 32];
        leaf.copy_from_slice(&bytes[88..120]);
        let mut count = [0u8; 4];
        count.copy_from_slice(&bytes[32..36]);
        Self {
            block_index: u64_at(0),
            segment: u64_at(8),
            offset: u64_at(16),
            first_record: u64_at(24),
            record_count: u32::from_le_bytes(count),
            min_id: arr16(40),
            max_id: arr16(56),
            prefix_max: arr16(72),
            leaf,
        }
    }
}

fn header() -> [u8; HEADER_LEN as usize] {
    let mut out = [0u8; HEADER_LEN as usize];
    out[..8].copy_from_slice(MAGIC);
    out[8..10].copy_from_slice(&VERSION.to_le_bytes());
    out
}

/// Reads entries of an index file by number. Entries past a torn end are absent.
pub(crate) struct IndexReader {
    file: File,
    path: PathBuf,
    /// Complete entries in the file when it was opened.
    pub len: u64,
    /// Entry reads made (for benchmarks).
    pub reads: u64,
}

/// Reads the block `entry` describes from the tenant directory `dir`: its path, header and whole bytes (header,
/// payload, root). The index is trusted for nothing: a block whose number or leaf differs from the entry's is
/// an error naming it.
pub(crate) fn read_block(
    dir: &Path,
    entry: &IndexEntry,
) -> Result<(PathBuf, crate::format::BlockHeader, Vec<u8>), StoreError> {
    use crate::format::{BLOCK_HEADER_LEN, BlockHeader, block_leaf, segment_file_name};
    let path = dir.join(segment_file_name(entry.segment));
    let mut file = File::open(&path).map_err(StoreError::io(&path))?;
    let mut head = [0u8; BLOCK_HEADER_LEN];
    file.seek(SeekFrom::Start(entry.offset))
        .and_then(|_| file.read_exact(&mut head))
        .map_err(StoreError::io(&path))?;
    let header = BlockHeader::decode(&head).map_err(|d| StoreError::corrupt(&path, d))?;
    let mut block = vec![0u8; usize::try_from(header.encoded_len()).unwrap_or(usize::MAX)];
    file.seek(SeekFrom::Start(entry.offset))
        .and_then(|_| file.read_exact(&mut block))
        .map_err(StoreError::io(&path))?;
    let mut root = [0u8; 32];
    if let Some(tail) = block.len().checked_sub(32) {
        root.copy_from_slice(&block[tail..]);
    }
    if header.block_index != entry.block_index || block_leaf(&head, &root) != entry.leaf {
        return Err(StoreError::corrupt(
            &path,
            format!(
                "block {}: the block index does not describe it",
                entry.block_index
            ),
        ));
    }
    Ok((path, header, block))
}

/// [`read_block`], or `None` when the block's segment is gone: it expired (a block index is not rebuilt at
/// expiry, so it still describes expired blocks; the verifier, not a reader, tells expiry from removal).
pub(crate) fn read_held_block(
    dir: &Path,
    entry: &IndexEntry,
) -> Result<Option<(PathBuf, crate::format::BlockHeader, Vec<u8>)>, StoreError> {
    if entry.segment == u64::MAX {
        return Ok(None);
    }
    match read_block(dir, entry) {
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        other => other.map(Some),
    }
}

impl IndexReader {
    /// `None` when the tenant has no index (or one of another version): callers fall back to reading segments.
    pub(crate) fn open(tenant_dir: &Path) -> Result<Option<Self>, StoreError> {
        let path = tenant_dir.join(INDEX_FILE);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(&path)(e)),
        };
        let mut head = [0u8; HEADER_LEN as usize];
        if file.read_exact(&mut head).is_err() || head != header() {
            return Ok(None);
        }
        let size = file.metadata().map_err(StoreError::io(&path))?.len();
        Ok(Some(Self {
            file,
            path,
            len: size.saturating_sub(HEADER_LEN) / ENTRY_LEN as u64,
            reads: 0,
        }))
    }

    pub(crate) fn entry(&mut self, n: u64) -> Result<IndexEntry, StoreError> {
        let mut buf = [0u8; ENTRY_LEN];
        self.file
            .seek(SeekFrom::Start(HEADER_LEN + n * ENTRY_LEN as u64))
            .and_then(|_| self.file.read_exact(&mut buf))
            .map_err(StoreError::io(&self.path))?;
        self.reads += 1;
        let entry = IndexEntry::decode(&buf);
        if entry.block_index != n {
            return Err(StoreError::corrupt(
                &self.path,
                format!("entry {n} names block {}", entry.block_index),
            ));
        }
        Ok(entry)
    }

    /// The leaves of blocks `0..n`, read in one pass.
    pub(crate) fn leaves(&mut self, n: u64) -> Result<Vec<Hash>, StoreError> {
        let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        self.scan::<()>(0, n, |entry| {
            out.push(entry.leaf);
            Ok(None)
        })?;
        self.reads += 1;
        Ok(out)
    }

    /// Finds `id` among the first `n` blocks: a binary search over the running maximum finds the first block
    /// whose ids reach `id` (every block before it holds only smaller ids: O(log n) entry reads); from there the
    /// entries are read in order, sequentially, and `check` reads each block whose own range holds `id` until it
    /// says found. Events are sealed nearly in id order, so the block holding an event comes first.
    pub(crate) fn find<T>(
        &mut self,
        n: u64,
        id: [u8; 16],
        mut check: impl FnMut(&IndexEntry) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let end = n.min(self.len);
        let (mut lo, mut hi) = (0u64, end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid)?.prefix_max < id {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut reads = 0;
        let found = self.scan(lo, end, |entry| {
            if entry.min_id <= id && id <= entry.max_id {
                reads += 1;
                return check(&entry);
            }
            Ok(None)
        })?;
        self.reads += reads;
        Ok(found)
    }

    /// Reads entries `from..to` in order, sequentially, until `each` returns something.
    fn scan<T>(
        &mut self,
        from: u64,
        to: u64,
        mut each: impl FnMut(IndexEntry) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.file
            .seek(SeekFrom::Start(HEADER_LEN + from * ENTRY_LEN as u64))
            .map_err(StoreError::io(&self.path))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, &mut self.file);
        let mut buf = [0u8; ENTRY_LEN];
        for i in from..to {
            reader
                .read_exact(&mut buf)
                .map_err(StoreError::io(&self.path))?;
            let entry = IndexEntry::decode(&buf);
            if entry.block_index != i {
                return Err(StoreError::corrupt(
                    &self.path,
                    format!("entry {i} names block {}", entry.block_index),
                ));
            }
            if let Some(found) = each(entry)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

/// Appends entries as blocks are sealed.
pub(crate) struct IndexWriter {
    file: File,
    path: PathBuf,
    /// Entries in the file.
    pub len: u64,
    prefix_max: [u8; 16],
}

impl IndexWriter {
    /// Opens the tenant's index and cuts it to at most `blocks` entries; the caller appends what is missing.
    /// Returns the writer and the last entry kept (to check against the archive), or an empty index when the
    /// file is missing, of another version, or `rebuild` is set.
    pub(crate) fn open(
        tenant_dir: &Path,
        blocks: u64,
        rebuild: bool,
    ) -> Result<(Self, Option<IndexEntry>), StoreError> {
        let path = tenant_dir.join(INDEX_FILE);
        let existing = if rebuild {
            None
        } else {
            IndexReader::open(tenant_dir)?
        };
        let (keep, last) = match existing {
            Some(mut reader) => {
                let keep = reader.len.min(blocks);
                let last = match keep.checked_sub(1) {
                    Some(n) => reader.entry(n).ok(),
                    None => None,
                };
                match (keep, last) {
                    (0, _) => (0, None),
                    (_, Some(last)) => (keep, Some(last)),
                    (_, None) => (0, None),
                }
            }
            None => (0, None),
        };
        let open = || {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
        };
        // Rebuilt from nothing: for the recorder, a new file.
        let mut file = if keep == 0 {
            crate::durable::open_created(open)
        } else {
            open()
        }
        .map_err(StoreError::io(&path))?;
        file.set_len(HEADER_LEN + keep * ENTRY_LEN as u64)
            .map_err(StoreError::io(&path))?;
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&header()))
            .and_then(|()| file.seek(SeekFrom::End(0)).map(|_| ()))
            .map_err(StoreError::io(&path))?;
        let prefix_max = last.map_or([0u8; 16], |e| e.prefix_max);
        Ok((
            Self {
                file,
                path,
                len: keep,
                prefix_max,
            },
            last,
        ))
    }

    /// Appends the entry of the next block (`entry.block_index` must equal `len`); sets its running maximum.
    pub(crate) fn append(&mut self, mut entry: IndexEntry) -> Result<(), StoreError> {
        if entry.block_index != self.len {
            return Err(StoreError::corrupt(
                &self.path,
                format!(
                    "block {} appended where block {} was expected",
                    entry.block_index, self.len
                ),
            ));
        }
        self.prefix_max = self.prefix_max.max(entry.max_id);
        entry.prefix_max = self.prefix_max;
        self.file
            .write_all(&entry.encode())
            .map_err(StoreError::io(&self.path))?;
        self.len += 1;
        Ok(())
    }

    /// Starts over with an empty index (the kept entries did not match the archive).
    pub(crate) fn reset(&mut self) -> Result<(), StoreError> {
        self.file
            .set_len(HEADER_LEN)
            .and_then(|()| self.file.seek(SeekFrom::End(0)).map(|_| ()))
            .map_err(StoreError::io(&self.path))?;
        self.len = 0;
        self.prefix_max = [0u8; 16];
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u64, min: u8, max: u8) -> IndexEntry {
        IndexEntry {
            block_index: i,
            segment: i / 3,
            offset: 100 + i,
            first_record: i * 10,
            record_count: 10,
            min_id: [min; 16],
            max_id: [max; 16],
            prefix_max: [0; 16],
            leaf: [i as u8; 32],
        }
    }

    #[test]
    fn entries_round_trip_and_candidates_use_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, last) = IndexWriter::open(dir.path(), 0, false).unwrap();
        assert!(last.is_none());
        // Nearly ordered ranges, one out of order.
        let ranges = [(1, 5), (6, 9), (10, 14), (3, 4), (15, 20), (21, 30)];
        for (i, (min, max)) in ranges.iter().enumerate() {
            writer.append(entry(i as u64, *min, *max)).unwrap();
        }
        assert!(writer.append(entry(9, 1, 1)).is_err(), "out of sequence");
        let mut reader = IndexReader::open(dir.path()).unwrap().unwrap();
        assert_eq!(reader.len, 6);
        let e = reader.entry(3).unwrap();
        assert_eq!((e.min_id, e.prefix_max), ([3; 16], [14; 16]));
        let candidates = |r: &mut IndexReader, id: u8| -> Vec<u64> {
            let mut seen = Vec::new();
            let found: Option<()> = r
                .find(6, [id; 16], |e| {
                    seen.push(e.block_index);
                    Ok(None)
                })
                .unwrap();
            assert!(found.is_none());
            seen
        };
        assert_eq!(candidates(&mut reader, 4), vec![0, 3]);
        assert_eq!(candidates(&mut reader, 12), vec![2]);
        assert_eq!(candidates(&mut reader, 31), Vec::<u64>::new());
        let first = reader
            .find(6, [4; 16], |e| Ok(Some(e.block_index)))
            .unwrap();
        assert_eq!(first, Some(0), "stops at the first block that has it");
        assert_eq!(reader.leaves(6).unwrap()[5], [5u8; 32]);
        // Reopened for fewer blocks: cut back, the last kept entry returned for checking.
        drop(writer);
        let (writer, last) = IndexWriter::open(dir.path(), 4, false).unwrap();
        assert_eq!(writer.len, 4);
        assert_eq!(last.unwrap().block_index, 3);
    }
}
