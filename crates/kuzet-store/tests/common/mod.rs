//! Shared helpers for the integration tests: building small archives and taking them apart like an attacker would.
#![allow(dead_code)]
// Test helpers: a failure is a broken test setup and should panic at once.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use kuzet_model::{Event, EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_store::format::{self, BLOCK_HEADER_LEN, BlockHeader, SegmentHeader, TRAILER_MAGIC};
use kuzet_store::merkle::leaf_hash;
use kuzet_store::{Normalize, Normalizer, Signer, Store, StoreConfig};

pub fn signer() -> Signer {
    Signer::from_seed([42; 32])
}

pub fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

/// A ~300-byte syslog line with a per-event id.
pub fn raw(tenant_name: &str, n: u64) -> RawEvent {
    let tenant_code = tenant_name
        .bytes()
        .fold(0u128, |acc, b| acc * 131 + u128::from(b))
        & 0xF_FFFF;
    let id = EventId::from_parts(1_763_780_000_000 + n, u128::from(n) << 20 | tenant_code);
    let bytes = format!(
        "<134>1 2026-11-22T08:00:00+05:00 fw-{tenant_name} sshd 4242 ID47 - Accepted publickey for user{n} from \
         10.0.{}.{} port 5{n:04} ssh2: RSA SHA256:{:032x} session opened for user{n} by (uid=0) event {n}",
        n % 256,
        (n * 7) % 256,
        u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
    .into_bytes();
    RawEvent {
        id,
        tenant: tenant(tenant_name),
        source: SourceId::new("fw1").unwrap(),
        received: jiff::Timestamp::from_second(1_763_780_000).unwrap()
            + jiff::SignedDuration::from_millis(n as i64),
        transport: Transport::Tcp,
        peer: Some("10.1.2.3:514".parse().unwrap()),
        format: FormatHint::Syslog,
        bytes,
    }
}

/// A stand-in for kuzet-parse: deterministic, keeps the original, adds a field.
pub struct TestNormalizer;

pub const TEST_PROFILE: &str = "test-parser/1";

impl Normalizer for TestNormalizer {
    fn profile(&self) -> String {
        TEST_PROFILE.to_owned()
    }

    fn normalize(&self, r: &RawEvent, profile: &str) -> Event {
        assert_eq!(
            profile, TEST_PROFILE,
            "records name the profile they were sealed under"
        );
        let mut e = Event::new(
            r.id,
            r.tenant.clone(),
            r.source.clone(),
            r.received,
            r.bytes.clone(),
        );
        e.fields
            .insert(kuzet_model::fields::MESSAGE, "accepted publickey");
        e
    }
}

pub fn normalize() -> Normalize {
    std::sync::Arc::new(TestNormalizer)
}

pub fn small_config(data_dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(data_dir);
    // Format 2 compresses these lines well: small blocks and segments keep several of each per tenant.
    config.block_bytes = 2048;
    config.segment_bytes = 4096;
    config.block_max_age = Duration::from_secs(3600);
    config
}

pub struct Built {
    pub dir: tempfile::TempDir,
    pub ids: Vec<(String, Vec<EventId>)>,
}

impl Built {
    pub fn archive(&self) -> PathBuf {
        self.dir.path().join("archive")
    }
    pub fn tenant_dir(&self, tenant: &str) -> PathBuf {
        self.archive().join(tenant)
    }
    pub fn segment(&self, tenant: &str, n: u64) -> PathBuf {
        self.tenant_dir(tenant).join(format::segment_file_name(n))
    }
}

/// Several tenants, several segments each, several blocks per segment.
pub fn build_archive(config_edit: impl FnOnce(&mut StoreConfig)) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config_edit(&mut config);
    let store = Store::open(config, signer(), normalize()).unwrap();
    let wal = store.wal();
    let tenants = ["alpha", "beta", "gamma"];
    let mut ids: Vec<(String, Vec<EventId>)> = tenants
        .iter()
        .map(|t| (t.to_string(), Vec::new()))
        .collect();
    for chunk in 0..20u64 {
        let mut batch = Vec::new();
        for (t, (_, list)) in tenants.iter().zip(ids.iter_mut()) {
            for i in 0..10 {
                let r = raw(t, chunk * 10 + i);
                list.push(r.id);
                batch.push(r);
            }
        }
        wal.append_blocking(batch).unwrap();
    }
    drop(wal);
    store.shutdown().unwrap();
    Built { dir, ids }
}

/// Positions of the blocks in a segment's bytes: (offset, header).
pub fn layout(bytes: &[u8]) -> (usize, Vec<(usize, BlockHeader)>) {
    let (_, mut pos) = SegmentHeader::decode(bytes).unwrap();
    let header_len = pos;
    let mut out = Vec::new();
    while pos < bytes.len() && !bytes[pos..].starts_with(TRAILER_MAGIC) {
        let h = BlockHeader::decode(&bytes[pos..pos + BLOCK_HEADER_LEN]).unwrap();
        out.push((pos, h));
        pos += h.encoded_len() as usize;
    }
    (header_len, out)
}

/// Rewrites block `which` (position in the segment) like a careful attacker: decompress, edit the records (their
/// hashed bytes), re-encode them as columns, recompress, fix the header's lengths and checksum. The unhashed
/// locator is kept as it was unless `recompute`, which also recomputes it, the record count and the block root, so
/// that only the signed checkpoints can tell.
pub fn rewrite_block(
    path: &Path,
    which: usize,
    recompute: bool,
    edit: impl FnOnce(&mut Vec<Vec<u8>>),
) {
    rewrite_payload(path, which, |header, data, root| {
        let read = format::block_records(header, data);
        assert!(read.error.is_none(), "{:?}", read.error);
        let old_locator = read.records.locator.to_vec();
        let mut list: Vec<Vec<u8>> = read.iter().map(<[u8]>::to_vec).collect();
        edit(&mut list);
        let leaves: Vec<_> = list.iter().map(|r| leaf_hash(r)).collect();
        let mut builder = kuzet_store::columns::ColumnBuilder::default();
        for record in &list {
            builder.push(record).unwrap();
        }
        let mut out = Vec::new();
        builder.finish(&leaves, &mut out);
        if recompute {
            *root = kuzet_store::merkle::root(&leaves);
            header.record_count = list.len() as u32;
        } else {
            let new_len = kuzet_store::columns::locator(&leaves).len();
            out.truncate(out.len() - new_len);
            out.extend_from_slice(&old_locator);
        }
        *data = out;
    });
}

/// Rewrites the decompressed payload of block `which` (and, if the edit wants, its header fields and root),
/// recompressing it and fixing the header's lengths and checksum.
pub fn rewrite_payload(
    path: &Path,
    which: usize,
    edit: impl FnOnce(&mut BlockHeader, &mut Vec<u8>, &mut [u8; 32]),
) {
    let bytes = std::fs::read(path).unwrap();
    let (_, blocks) = layout(&bytes);
    let (offset, header) = blocks[which];
    let end = offset + header.encoded_len() as usize;
    let payload = &bytes[offset + BLOCK_HEADER_LEN..end - 32];
    let mut data = zstd::bulk::decompress(payload, header.uncompressed_len as usize).unwrap();
    let mut root: [u8; 32] = bytes[end - 32..end].try_into().unwrap();
    let mut new_header = header;
    edit(&mut new_header, &mut data, &mut root);
    let compressed = zstd::bulk::compress(&data, 3).unwrap();
    new_header.uncompressed_len = data.len() as u32;
    new_header.compressed_len = compressed.len() as u32;
    let mut out = bytes[..offset].to_vec();
    out.extend_from_slice(&new_header.encode());
    out.extend_from_slice(&compressed);
    out.extend_from_slice(&root);
    out.extend_from_slice(&bytes[end..]);
    std::fs::write(path, out).unwrap();
}

/// The event id of a record's bytes.
pub fn record_event_id(record: &[u8]) -> EventId {
    format::decode_record(record).unwrap().event_id
}

pub fn record_index(record: &[u8]) -> u64 {
    format::decode_record(record).unwrap().record_index
}

pub fn segment_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".seg")
        })
        .count()
}
