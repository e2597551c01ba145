//! Kuzet's sealed storage: the write-ahead log that makes accepted events durable before they are acknowledged,
//! the per-tenant sealed archive (zstd blocks in day-separated segments, a Merkle tree over blocks, Ed25519-signed
//! checkpoints, a hash chain between segments), the offline verifier that detects and locates tampering,
//! inclusion proofs for single events, and the backup copy.
//!
//! Formats are specified in `docs/formats/wal.md` and `docs/formats/archive.md`.
//! Depends on kuzet-model only among Kuzet crates; must not depend on parsing, detection, the API or any async
//! runtime (it uses tokio's channels, and a caller's runtime handle only for object-store backups).

mod archive;
mod backup;
mod bundle;
mod codec;
pub mod columns;
mod consumer;
mod durable;
mod error;
pub mod format;
mod index;
pub mod keys;
pub mod merkle;
mod proof;
mod read;
mod store;
mod tombstone;
mod verify;
mod wal;

pub use archive::{ArchiveWriter, RecoveryReport};
pub use backup::{BackupReport, BackupTarget, backup, backup_verify};
pub use bundle::{
    BUNDLE_VERSION, BundleFile, BundleItem, BundleManifest, BundleMeta, BundleReport, CustodyEntry,
    FileToBundle, verify_bundle, write_bundle,
};
pub use consumer::{Consumer, ConsumerStart, Delivery, SealedBatch};
#[doc(hidden)]
pub use durable::crash;
pub use error::StoreError;
pub use keys::{PublicKeyFile, Signer, SigningKeyFile, VerifyingKey};
pub use proof::{InclusionProof, prove, prove_in, prove_in_by_scan};
pub use read::{StoredRecord, read_at, read_events, read_records, read_records_since};
pub use store::{
    Normalize, Normalizer, StatsHandle, Store, StoreConfig, StoreStats, Unparsed, unparsed,
};
pub use tombstone::{
    Expiry, MIN_ARCHIVE_YEARS, TOMBSTONES_FILE, Tombstone, check_tombstones, expire,
};
pub use verify::{
    Finding, FindingKind, TenantSummary, VerifyReport, verify, verify_segment_bytes,
    verify_with_checkpoints,
};
pub use wal::WalHandle;
