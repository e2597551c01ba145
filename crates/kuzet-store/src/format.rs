//! Byte layouts of the sealed archive (see `docs/formats/archive.md`). Everything little-endian. Parsing never
//! panics and returns `None`/`Err(detail)` on anything malformed, because the verifier reads untrusted files.

use kuzet_model::{EventId, TenantId};
use sha2::{Digest, Sha256};

use crate::codec::{Reader, put_i64, put_u16, put_u32, put_u64};
use crate::merkle::{Hash, leaf_hash, leaf_hash_parts};

pub const SEGMENT_MAGIC: &[u8; 8] = b"KUZETSEG";
pub const BLOCK_MAGIC: &[u8; 4] = b"KZBK";
pub const TRAILER_MAGIC: &[u8; 4] = b"KZTR";
/// The segment format new segments are written in; version 1 segments are still read and verified.
pub const FORMAT_VERSION: u16 = 2;
/// The record version of format 1 (the normalized event as JSON); format 2 records are `columns::RECORD_VERSION_2`.
pub const RECORD_VERSION: u8 = 1;
/// Blocks carry their segment's format version.
pub const BLOCK_VERSION: u8 = 2;
pub const TRAILER_VERSION: u8 = 1;
pub const BLOCK_HEADER_LEN: usize = 64;
pub const TRAILER_LEN: usize = 60;
/// Size of a record's locator hint (first bytes of its leaf hash) inside a block payload.
pub const HINT_LEN: usize = 8;
pub const CHECKPOINTS_FILE: &str = "checkpoints.log";
pub const PUBLIC_KEY_FILE: &str = "public.key";

pub fn segment_file_name(number: u64) -> String {
    format!("{number:010}.seg")
}

pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Format version (1 or 2): every block of the segment has it too.
    pub version: u16,
    pub tenant: String,
    pub number: u64,
    /// Index in the tenant log of this segment's first block.
    pub first_block: u64,
    /// Index in the tenant log of this segment's first record.
    pub first_record: u64,
    pub opened_at_nanos: i64,
    /// Chain hash of the previous segment (zeros for segment 0).
    pub prev_chain: Hash,
}

impl SegmentHeader {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(SEGMENT_MAGIC);
        put_u16(&mut out, self.version);
        // Tenant ids are at most 63 bytes (kuzet-model validates), so the length fits in one byte.
        out.push(self.tenant.len().min(255) as u8);
        out.extend_from_slice(&self.tenant.as_bytes()[..self.tenant.len().min(255)]);
        put_u64(&mut out, self.number);
        put_u64(&mut out, self.first_block);
        put_u64(&mut out, self.first_record);
        put_i64(&mut out, self.opened_at_nanos);
        out.extend_from_slice(&self.prev_chain);
        put_crc(&mut out);
        out
    }

    /// Parses a header at the start of `bytes`, returning it and its encoded length.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), String> {
        let mut r = Reader::new(bytes);
        let short = || "segment header is truncated".to_string();
        let magic = r.take(8).ok_or_else(short)?;
        if magic != SEGMENT_MAGIC {
            return Err("not a kuzet segment (bad magic)".into());
        }
        let version = r.u16().ok_or_else(short)?;
        if !(1..=FORMAT_VERSION).contains(&version) {
            return Err(format!("unsupported segment format version {version}"));
        }
        let tenant_len = r.u8().ok_or_else(short)? as usize;
        let tenant = String::from_utf8_lossy(r.take(tenant_len).ok_or_else(short)?).into_owned();
        let number = r.u64().ok_or_else(short)?;
        let first_block = r.u64().ok_or_else(short)?;
        let first_record = r.u64().ok_or_else(short)?;
        let opened_at_nanos = r.i64().ok_or_else(short)?;
        let prev_chain = r.array::<32>().ok_or_else(short)?;
        if !crc_matches(&mut r, bytes).ok_or_else(short)? {
            return Err("segment header checksum mismatch".into());
        }
        Ok((
            Self {
                version,
                tenant,
                number,
                first_block,
                first_record,
                opened_at_nanos,
                prev_chain,
            },
            r.pos(),
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    /// The segment's format version (1 or 2).
    pub version: u8,
    pub block_index: u64,
    pub first_record: u64,
    pub record_count: u32,
    pub first_seq: u64,
    pub last_seq: u64,
    pub sealed_at_nanos: i64,
    pub uncompressed_len: u32,
    pub compressed_len: u32,
}

impl BlockHeader {
    pub fn encode(&self) -> [u8; BLOCK_HEADER_LEN] {
        let mut out = Vec::with_capacity(BLOCK_HEADER_LEN);
        out.extend_from_slice(BLOCK_MAGIC);
        out.push(self.version);
        out.push(0); // flags: 0 = zstd payload
        put_u16(&mut out, 0);
        put_u64(&mut out, self.block_index);
        put_u64(&mut out, self.first_record);
        put_u32(&mut out, self.record_count);
        put_u64(&mut out, self.first_seq);
        put_u64(&mut out, self.last_seq);
        put_i64(&mut out, self.sealed_at_nanos);
        put_u32(&mut out, self.uncompressed_len);
        put_u32(&mut out, self.compressed_len);
        put_crc(&mut out);
        fixed(&out)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader::new(bytes);
        let short = || "block header is truncated".to_string();
        if r.take(4).ok_or_else(short)? != BLOCK_MAGIC {
            return Err("bad block magic".into());
        }
        let version = r.u8().ok_or_else(short)?;
        let flags = r.u8().ok_or_else(short)?;
        let _reserved = r.u16().ok_or_else(short)?;
        let header = Self {
            version,
            block_index: r.u64().ok_or_else(short)?,
            first_record: r.u64().ok_or_else(short)?,
            record_count: r.u32().ok_or_else(short)?,
            first_seq: r.u64().ok_or_else(short)?,
            last_seq: r.u64().ok_or_else(short)?,
            sealed_at_nanos: r.i64().ok_or_else(short)?,
            uncompressed_len: r.u32().ok_or_else(short)?,
            compressed_len: r.u32().ok_or_else(short)?,
        };
        if !crc_matches(&mut r, bytes).ok_or_else(short)? {
            return Err("block header checksum mismatch".into());
        }
        if !(1..=BLOCK_VERSION).contains(&version) || flags != 0 {
            return Err(format!("unsupported block version {version} flags {flags}"));
        }
        Ok(header)
    }

    /// Total bytes of the block on disk: header, payload, root.
    pub fn encoded_len(&self) -> u64 {
        BLOCK_HEADER_LEN as u64 + u64::from(self.compressed_len) + 32
    }
}

/// The block's leaf in the tenant log: `H(0x00 ‖ header ‖ block root)`.
pub fn block_leaf(header_bytes: &[u8], block_root: &Hash) -> Hash {
    leaf_hash_parts(&[header_bytes, block_root])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub block_count: u64,
    pub tree_size: u64,
    pub log_root: Hash,
}

impl Trailer {
    pub fn encode(&self) -> [u8; TRAILER_LEN] {
        let mut out = Vec::with_capacity(TRAILER_LEN);
        out.extend_from_slice(TRAILER_MAGIC);
        out.push(TRAILER_VERSION);
        out.extend_from_slice(&[0, 0, 0]);
        put_u64(&mut out, self.block_count);
        put_u64(&mut out, self.tree_size);
        out.extend_from_slice(&self.log_root);
        put_crc(&mut out);
        fixed(&out)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader::new(bytes);
        let short = || "segment trailer is truncated".to_string();
        if r.take(4).ok_or_else(short)? != TRAILER_MAGIC {
            return Err("bad trailer magic".into());
        }
        let version = r.u8().ok_or_else(short)?;
        r.take(3).ok_or_else(short)?;
        let trailer = Self {
            block_count: r.u64().ok_or_else(short)?,
            tree_size: r.u64().ok_or_else(short)?,
            log_root: r.array::<32>().ok_or_else(short)?,
        };
        if !crc_matches(&mut r, bytes).ok_or_else(short)? {
            return Err("segment trailer checksum mismatch".into());
        }
        if version != TRAILER_VERSION {
            return Err(format!("unsupported trailer version {version}"));
        }
        Ok(trailer)
    }
}

/// Ends a header or trailer with the CRC-32 of every byte before it.
fn put_crc(out: &mut Vec<u8>) {
    let crc = crc32fast::hash(out);
    put_u32(out, crc);
}

/// Reads the CRC-32 that ends a header or trailer decoded from the start of `bytes`: `None` when it is cut off,
/// else whether it matches the bytes before it.
fn crc_matches(r: &mut Reader<'_>, bytes: &[u8]) -> Option<bool> {
    let body_len = r.pos();
    let crc = r.u32()?;
    Some(crc == crc32fast::hash(&bytes[..body_len]))
}

/// The fixed-size encodings are built in a `Vec` and returned as arrays.
fn fixed<const N: usize>(out: &[u8]) -> [u8; N] {
    let mut fixed = [0u8; N];
    // Panics on a length other than N: each encoder writes exactly N bytes, and every archive test runs them.
    fixed.copy_from_slice(out);
    fixed
}

/// The hash linking a closed segment to the next one: `SHA-256("kuzet-segment-chain-v1" ‖ header ‖ trailer)`.
pub fn chain_hash(header_bytes: &[u8], trailer_bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(b"kuzet-segment-chain-v1");
    h.update(header_bytes);
    h.update(trailer_bytes);
    h.finalize().into()
}

/// Appends one record entry (`[len u32][hint 8][record]`) to a block payload, writing the event JSON straight into
/// the payload buffer so nothing is serialized twice. Returns the record's leaf hash.
pub fn append_record(
    payload: &mut Vec<u8>,
    record_index: u64,
    wal_seq: u64,
    event: &kuzet_model::Event,
) -> Result<Hash, serde_json::Error> {
    let json = serde_json::to_vec(event)?;
    Ok(append_encoded_record(
        payload,
        record_index,
        wal_seq,
        event.id,
        &json,
    ))
}

/// Like [`append_record`] for an event already serialized to JSON (the sealer serializes on worker threads).
pub fn append_encoded_record(
    payload: &mut Vec<u8>,
    record_index: u64,
    wal_seq: u64,
    event_id: EventId,
    json: &[u8],
) -> Hash {
    let entry_start = payload.len();
    payload.extend_from_slice(&[0u8; 4 + HINT_LEN]);
    let record_start = payload.len();
    payload.push(RECORD_VERSION);
    put_u64(payload, record_index);
    put_u64(payload, wal_seq);
    payload.extend_from_slice(&event_id.to_bytes());
    payload.extend_from_slice(json);
    let record_len = payload.len() - record_start;
    let leaf = leaf_hash(&payload[record_start..]);
    // Blocks are sealed at block_bytes (≤ 4 GiB by config validation), so a record length fits in u32.
    payload[entry_start..entry_start + 4].copy_from_slice(&(record_len as u32).to_le_bytes());
    payload[entry_start + 4..record_start].copy_from_slice(&leaf[..HINT_LEN]);
    leaf
}

/// A record as read back from a block payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub hint: [u8; HINT_LEN],
    /// The hashed bytes: version, index, seq, id, JSON.
    pub bytes: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFields<'a> {
    pub record_index: u64,
    pub wal_seq: u64,
    pub event_id: EventId,
    pub body: RecordBody<'a>,
}

/// What a record holds after its common prefix (version, index, WAL sequence number, event id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordBody<'a> {
    /// Version 1: the normalized event as JSON.
    Json(&'a [u8]),
    /// Version 2: the event as received, with the envelope that parsing needs.
    Raw(crate::columns::RawRecord<'a>),
}

/// Decodes a record's hashed bytes, of either version.
pub fn decode_record(bytes: &[u8]) -> Result<RecordFields<'_>, String> {
    let mut r = Reader::new(bytes);
    let short = || "record is truncated".to_string();
    let version = r.u8().ok_or_else(short)?;
    let record_index = r.u64().ok_or_else(short)?;
    let wal_seq = r.u64().ok_or_else(short)?;
    let event_id = EventId::from_bytes(r.array::<16>().ok_or_else(short)?);
    let body = match version {
        RECORD_VERSION => RecordBody::Json(r.rest()),
        crate::columns::RECORD_VERSION_2 => RecordBody::Raw(crate::columns::decode_raw(bytes)?),
        other => return Err(format!("unsupported record version {other}")),
    };
    Ok(RecordFields {
        record_index,
        wal_seq,
        event_id,
        body,
    })
}

/// The records of one block, of either format, as their hashed bytes.
#[derive(Debug, Default)]
pub struct BlockRecords<'a> {
    pub records: crate::columns::Columns<'a>,
    /// Format 1: each record's hint (format 2 blocks have a locator in `records.locator` instead).
    pub hints: Vec<[u8; HINT_LEN]>,
    /// Why the payload could not be read to its end; format 1 keeps the records before the damage.
    pub error: Option<String>,
}

impl BlockRecords<'_> {
    pub fn len(&self) -> usize {
        self.records.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> &[u8] {
        self.records.record(i)
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.records.records()
    }
}

/// Reads the records of a decompressed block payload written under `header`'s format version.
pub fn block_records<'a>(header: &BlockHeader, payload: &'a [u8]) -> BlockRecords<'a> {
    if header.version >= 2 {
        return match crate::columns::decode_columns(payload, header.first_record) {
            Ok(records) => BlockRecords {
                records,
                ..BlockRecords::default()
            },
            Err(e) => BlockRecords {
                error: Some(e),
                ..BlockRecords::default()
            },
        };
    }
    let (entries, error) = split_records(payload);
    let mut out = BlockRecords {
        error,
        ..BlockRecords::default()
    };
    out.records.buf.reserve(payload.len());
    for entry in entries {
        out.records.buf.extend_from_slice(entry.bytes);
        out.records.ends.push(out.records.buf.len());
        out.hints.push(entry.hint);
    }
    out
}

/// Splits a decompressed payload into record entries. Stops with an error at the first malformed entry, returning
/// the entries read so far.
pub fn split_records(payload: &[u8]) -> (Vec<RecordRef<'_>>, Option<String>) {
    let mut r = Reader::new(payload);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let Some(len) = r.u32() else {
            return (out, Some("record length is truncated".into()));
        };
        let Some(hint) = r.array::<HINT_LEN>() else {
            return (out, Some("record hint is truncated".into()));
        };
        let Some(bytes) = r.take(len as usize) else {
            return (out, Some(format!("record of {len} bytes is truncated")));
        };
        out.push(RecordRef { hint, bytes });
    }
    (out, None)
}

/// A signed statement of a tenant log's size and root. One JSON line in `checkpoints.log`.
///
/// Version 2 also numbers the checkpoints of a log (`n`, from 0), links each to the one before (`prev`, the SHA-256
/// of its signed message) so that a line removed, repeated or reordered is seen, and binds the header of the
/// segment holding the last block (`header`, its SHA-256) so that no header byte can change unseen. Version 1 lines
/// (without those fields) are still read and verified.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub v: u32,
    pub tenant: String,
    /// Version 2: the checkpoint's number in its log, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    /// Version 2: hex SHA-256 of the previous checkpoint's signed message (64 zeros for the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    pub tree_size: u64,
    /// Hex of the log root.
    pub root: String,
    /// The segment file holding block `tree_size - 1`.
    pub segment: String,
    /// Version 2: hex SHA-256 of that segment's header bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// RFC 3339 UTC.
    pub time: String,
    /// Hex of the Ed25519 signature over [`Checkpoint::message`].
    pub sig: String,
}

/// Where a new checkpoint goes in its log: its number and the hash of the previous checkpoint's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckpointLink {
    pub n: u64,
    pub prev: Hash,
}

impl CheckpointLink {
    /// The link for the checkpoint that follows `cp`, the `count`-th line of its log (from 1).
    pub fn after(cp: &Checkpoint, count: u64) -> Self {
        Self {
            n: count,
            prev: cp.message_hash(),
        }
    }
}

impl Checkpoint {
    pub const VERSION: u32 = 2;

    /// The exact bytes signed: a line-oriented text, independent of JSON formatting. Version 1 signed
    /// `kuzet-checkpoint-v1\n<tenant>\n<tree_size>\n<root>\n<segment>\n<time>\n`; version 2 signs
    /// `kuzet-checkpoint-v2\n<tenant>\n<n>\n<prev>\n<tree_size>\n<root>\n<segment>\n<header>\n<time>\n`.
    pub fn message(&self) -> Vec<u8> {
        let (tenant, size, root, segment, time) = (
            &self.tenant,
            self.tree_size,
            &self.root,
            &self.segment,
            &self.time,
        );
        match (self.v, self.n, &self.prev, &self.header) {
            (2, Some(n), Some(prev), Some(header)) => format!(
                "kuzet-checkpoint-v2\n{tenant}\n{n}\n{prev}\n{size}\n{root}\n{segment}\n{header}\n{time}\n"
            )
            .into_bytes(),
            _ => format!("kuzet-checkpoint-v1\n{tenant}\n{size}\n{root}\n{segment}\n{time}\n")
                .into_bytes(),
        }
    }

    /// SHA-256 of the signed message: what the next checkpoint's `prev` holds.
    pub fn message_hash(&self) -> Hash {
        use sha2::Digest;
        sha2::Sha256::digest(self.message()).into()
    }

    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        signer: &crate::Signer,
        tenant: &TenantId,
        link: CheckpointLink,
        tree_size: u64,
        root: &Hash,
        segment: &str,
        segment_header: &[u8],
        time: jiff::Timestamp,
    ) -> Self {
        use sha2::Digest;
        let mut cp = Self {
            v: Self::VERSION,
            tenant: tenant.as_str().to_owned(),
            n: Some(link.n),
            prev: Some(hex::encode(link.prev)),
            tree_size,
            root: hex::encode(root),
            segment: segment.to_owned(),
            header: Some(hex::encode(sha2::Sha256::digest(segment_header))),
            time: time.to_string(),
            sig: String::new(),
        };
        cp.sig = hex::encode(signer.sign(&cp.message()));
        cp
    }

    /// Whether the line is well formed for its version and its signature verifies.
    pub fn signature_ok(&self, key: &crate::VerifyingKey) -> bool {
        let well_formed = match self.v {
            1 => self.n.is_none() && self.prev.is_none() && self.header.is_none(),
            2 => {
                self.n.is_some()
                    && self.prev.as_deref().and_then(hex32).is_some()
                    && self.header.as_deref().and_then(hex32).is_some()
            }
            _ => false,
        };
        if !well_formed {
            return false;
        }
        let Some(sig) = lower_hex::<64>(&self.sig) else {
            return false;
        };
        key.verify(&self.message(), &sig)
    }

    /// Version 2: the signed hash of the segment header.
    pub fn header_bytes(&self) -> Option<Hash> {
        self.header.as_deref().and_then(hex32)
    }

    /// Version 2: the signed hash of the previous checkpoint's message.
    pub fn prev_bytes(&self) -> Option<Hash> {
        self.prev.as_deref().and_then(hex32)
    }

    pub fn root_bytes(&self) -> Option<Hash> {
        hex32(&self.root)
    }

    pub fn to_line(&self) -> String {
        // Serializing a struct of strings and integers cannot fail.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

fn hex32(text: &str) -> Option<Hash> {
    lower_hex(text)
}

/// Decodes lowercase hex of exactly `N` bytes. Upper case is refused: every hex field of the signed logs has one
/// spelling, so a re-cased signature (not covered by the message it signs) cannot pass as the line that was written.
pub(crate) fn lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    hex::decode(text).ok().and_then(|b| b.try_into().ok())
}

/// One line of `checkpoints.log`: its number (from 1) and the checkpoint or why it does not parse.
pub type CheckpointLine = (usize, Result<Checkpoint, String>);

/// Parses `checkpoints.log`: complete lines only. Returns (line number from 1, parsed or error) and the byte length
/// of the complete-line prefix (a torn last line is excluded).
pub fn parse_checkpoints(bytes: &[u8]) -> (Vec<CheckpointLine>, usize) {
    let mut out = Vec::new();
    let mut complete = 0;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        if !line.ends_with(b"\n") {
            break;
        }
        complete += line.len();
        let parsed = serde_json::from_slice::<Checkpoint>(&line[..line.len() - 1])
            .map_err(|e| e.to_string());
        out.push((i + 1, parsed));
    }
    (out, complete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(id: u128, original: Vec<u8>) -> kuzet_model::Event {
        kuzet_model::Event::new(
            EventId::from_u128(id),
            TenantId::new("t1").unwrap(),
            kuzet_model::SourceId::new("s1").unwrap(),
            jiff::Timestamp::from_second(1_700_000_000).unwrap(),
            original,
        )
    }

    proptest! {
        #[test]
        fn records_round_trip(index: u64, seq: u64, id: u128, original: Vec<u8>) {
            let e = event(id, original);
            let mut payload = Vec::new();
            let leaf = append_record(&mut payload, index, seq, &e).unwrap();
            append_record(&mut payload, index + 1, seq, &e).unwrap();
            let (records, err) = split_records(&payload);
            prop_assert!(err.is_none());
            prop_assert_eq!(records.len(), 2);
            prop_assert_eq!(leaf_hash(records[0].bytes), leaf);
            prop_assert_eq!(&records[0].hint[..], &leaf[..HINT_LEN]);
            let fields = decode_record(records[0].bytes).unwrap();
            prop_assert_eq!(fields.record_index, index);
            prop_assert_eq!(fields.wal_seq, seq);
            prop_assert_eq!(fields.event_id, e.id);
            let RecordBody::Json(json) = fields.body else { panic!("format 1 records hold JSON") };
            let back: kuzet_model::Event = serde_json::from_slice(json).unwrap();
            prop_assert_eq!(back, e);
        }

        #[test]
        fn headers_round_trip(block_index: u64, first_record: u64, record_count: u32, first_seq: u64,
                              last_seq: u64, sealed_at_nanos: i64, uncompressed_len: u32, compressed_len: u32) {
            let h = BlockHeader { version: 2, block_index, first_record, record_count, first_seq, last_seq, sealed_at_nanos,
                                  uncompressed_len, compressed_len };
            prop_assert_eq!(BlockHeader::decode(&h.encode()).unwrap(), h);
            let s = SegmentHeader { version: 2, tenant: "t-1".into(), number: block_index, first_block: first_record,
                                    first_record: first_seq, opened_at_nanos: sealed_at_nanos, prev_chain: [7; 32] };
            let bytes = s.encode();
            prop_assert_eq!(SegmentHeader::decode(&bytes).unwrap(), (s, bytes.len()));
        }
    }

    proptest! {
        #[test]
        fn checkpoints_round_trip_through_their_line_and_bind_every_field(
            n in 0u64..1_000_000, size in 1u64..1_000_000, root: [u8; 32], prev: [u8; 32],
            segment in 0u64..10_000, header: Vec<u8>, nanos in 0i64..4_000_000_000_000_000_000,
        ) {
            let signer = crate::Signer::from_seed([9; 32]);
            let key = signer.verifying_key();
            let time = jiff::Timestamp::from_nanosecond(i128::from(nanos)).unwrap();
            let cp = Checkpoint::sign(&signer, &TenantId::new("alpha").unwrap(), CheckpointLink { n, prev },
                size, &root, &segment_file_name(segment), &header, time);
            let (lines, complete) = parse_checkpoints(cp.to_line().as_bytes());
            prop_assert_eq!(complete, cp.to_line().len());
            let back = lines[0].1.clone().unwrap();
            prop_assert_eq!(&back, &cp);
            prop_assert!(back.signature_ok(&key));
            let next = CheckpointLink::after(&cp, n + 1);
            prop_assert_eq!(next.prev, cp.message_hash());
            let changed = [
                Checkpoint { n: Some(n + 1), ..cp.clone() },
                Checkpoint { prev: Some(hex::encode([0xab; 32])), ..cp.clone() },
                Checkpoint { header: Some(hex::encode([0xcd; 32])), ..cp.clone() },
                Checkpoint { tree_size: size + 1, ..cp.clone() },
                Checkpoint { v: 1, n: None, prev: None, header: None, ..cp.clone() },
            ];
            for c in changed {
                prop_assert!(!c.signature_ok(&key), "{:?}", c);
            }
        }
    }

    #[test]
    fn segment_names_are_strict() {
        assert_eq!(segment_file_name(3), "0000000003.seg");
        assert_eq!(parse_segment_file_name("0000000003.seg"), Some(3));
        assert_eq!(parse_segment_file_name("3.seg"), None);
        assert_eq!(parse_segment_file_name("000000000a.seg"), None);
    }
}
