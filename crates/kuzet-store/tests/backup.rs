//! One conformance suite for every backup backend: a directory, object_store's local file system and its
//! in-memory store. Each must take an idempotent copy that verifies, and expose tampering with the copy.

// Helpers outside #[test] functions unwrap too: a failure is a broken test setup.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use kuzet_store::{BackupTarget, FindingKind, Store, backup, backup_verify};
use object_store::ObjectStoreExt as _;

fn conformance(
    target: BackupTarget,
    tamper: impl FnOnce(&str, Vec<u8>) -> Vec<u8>,
    read: impl Fn(&str) -> Vec<u8>,
) {
    let built = build_archive(|_| {});
    let key = signer().verifying_key();
    let first = backup(&built.archive(), &target).unwrap();
    assert!(first.segments_copied >= 6, "{first:?}");
    let second = backup(&built.archive(), &target).unwrap();
    assert_eq!(second.segments_copied, 0, "idempotent");
    assert_eq!(second.segments_present, first.segments_copied);
    // A second run reads the trailers (the open segments' too) and the checkpoint logs, never a copied segment
    // again: what it reads does not grow with the archive.
    let checkpoint_bytes: u64 = ["alpha", "beta", "gamma"]
        .iter()
        .map(|t| {
            std::fs::metadata(built.tenant_dir(t).join("checkpoints.log"))
                .unwrap()
                .len()
        })
        .sum();
    let trailers = (second.segments_present + 3) * kuzet_store::format::TRAILER_LEN as u64;
    assert!(
        second.bytes_read <= trailers + checkpoint_bytes,
        "{second:?}: read {} bytes, at most {trailers} of trailers and {checkpoint_bytes} of checkpoints expected",
        second.bytes_read
    );
    assert!(first.bytes_read > second.bytes_read, "{first:?}");
    let report = backup_verify(&target, &key).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.tenants.len(), 3);
    // The copy holds closed segments only; the open one follows when it closes.
    let live = kuzet_store::verify(&built.archive(), &key).unwrap();
    assert!(report.blocks > 0 && report.blocks <= live.blocks);

    let rel = "beta/0000000001.seg";
    let original = read(rel);
    let changed = tamper(rel, original);
    assert_eq!(read(rel), changed);
    let report = backup_verify(&target, &key).unwrap();
    assert!(
        report.findings.iter().any(|f| f.tenant == "beta"
            && f.segment.as_deref() == Some("0000000001.seg")
            && matches!(
                f.kind,
                FindingKind::BlockAltered | FindingKind::SegmentTruncated
            )),
        "{report}"
    );
}

fn flip(mut bytes: Vec<u8>) -> Vec<u8> {
    let (offset, _) = layout(&bytes).1[0];
    bytes[offset + kuzet_store::format::BLOCK_HEADER_LEN + 12] ^= 0x40;
    bytes
}

#[test]
fn directory_backend() {
    let copy = tempfile::tempdir().unwrap();
    let root = copy.path().to_path_buf();
    let root2 = root.clone();
    conformance(
        BackupTarget::Directory(root.clone()),
        move |rel, bytes| {
            let changed = flip(bytes);
            std::fs::write(root.join(rel), &changed).unwrap();
            changed
        },
        move |rel| std::fs::read(root2.join(rel)).unwrap(),
    );
}

fn object_backend(store: Arc<dyn object_store::ObjectStore>, prefix: &str) {
    let prefix_owned = prefix.to_owned();
    let path = move |rel: &str| object_store::path::Path::from(format!("{prefix_owned}/{rel}"));
    let path2 = path.clone();
    let (s1, s2) = (store.clone(), store.clone());
    let runtime = Arc::new(
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
    );
    let r2 = runtime.clone();
    conformance(
        BackupTarget::ObjectStore(store, prefix.to_owned()),
        move |rel, bytes| {
            let changed = flip(bytes);
            runtime
                .block_on(s1.put(&path(rel), changed.clone().into()))
                .unwrap();
            changed
        },
        move |rel| {
            r2.block_on(async {
                s2.get(&path2(rel))
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap()
                    .to_vec()
            })
        },
    );
}

#[test]
fn object_store_local_file_system_backend() {
    let copy = tempfile::tempdir().unwrap();
    let store = object_store::local::LocalFileSystem::new_with_prefix(copy.path()).unwrap();
    object_backend(Arc::new(store), "kuzet/backup");
}

#[test]
fn object_store_in_memory_backend() {
    object_backend(Arc::new(object_store::memory::InMemory::new()), "copy");
}

#[test]
fn the_running_store_copies_closed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    let target = BackupTarget::Directory(copy.path().to_path_buf());
    config.backup = Some(target.clone());
    let store = Store::open(config, signer(), normalize()).unwrap();
    let wal = store.wal();
    for chunk in 0..10u64 {
        wal.append_blocking((0..20).map(|i| raw("alpha", chunk * 20 + i)).collect())
            .unwrap();
    }
    drop(wal);
    store.shutdown().unwrap();
    // The backup thread is joined at shutdown, so every job it was given has run.
    let report = backup_verify(&target, &signer().verifying_key()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert!(report.segments >= 1, "{report}");
}

#[test]
fn inside_a_tokio_runtime_async_appends_and_object_store_backup_work() {
    let dir = tempfile::tempdir().unwrap();
    let memory: Arc<dyn object_store::ObjectStore> =
        Arc::new(object_store::memory::InMemory::new());
    let target = BackupTarget::ObjectStore(memory, "kuzet".into());
    let mut config = small_config(dir.path());
    config.backup = Some(target.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let ids = runtime.block_on(async {
        // Opened inside the runtime, as the binary does: the backup thread then drives object-store futures on it.
        let store = Store::open(config, signer(), normalize()).unwrap();
        let mut tasks = Vec::new();
        for task in 0..8u64 {
            let wal = store.wal();
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for chunk in 0..10u64 {
                    let batch: Vec<_> = (0..10)
                        .map(|i| raw("alpha", task * 1000 + chunk * 10 + i))
                        .collect();
                    ids.extend(batch.iter().map(|r| r.id));
                    wal.append(batch).await.unwrap();
                }
                ids
            }));
        }
        let mut ids = Vec::new();
        for t in tasks {
            ids.extend(t.await.unwrap());
        }
        // Called from async code: must neither panic nor hang.
        store.shutdown().unwrap();
        ids
    });
    let sealed: std::collections::HashSet<_> =
        kuzet_store::read_events(&dir.path().join("archive"), &tenant("alpha"), normalize())
            .map(|e| e.unwrap().id)
            .collect();
    assert_eq!(sealed.len(), ids.len());
    assert!(ids.iter().all(|id| sealed.contains(id)));
    let report = backup_verify(&target, &signer().verifying_key()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert!(report.segments >= 1, "{report}");
}
