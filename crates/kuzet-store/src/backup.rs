//! The backup copy (R4): closed segments and the checkpoint log prefix that covers them, copied to a second
//! location (a directory or an object store), idempotently. The copy has the archive's layout and verifies with
//! the same verifier.

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use object_store::ObjectStoreExt as _;
use object_store::path::Path as ObjectPath;

use crate::StoreError;
use crate::format::{self, CHECKPOINTS_FILE, PUBLIC_KEY_FILE, Trailer};
use crate::store::Counters;

#[derive(Clone)]
pub enum BackupTarget {
    Directory(PathBuf),
    /// A store and a key prefix (may be empty).
    ObjectStore(Arc<dyn object_store::ObjectStore>, String),
}

impl std::fmt::Debug for BackupTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackupTarget::Directory(p) => write!(f, "Directory({})", p.display()),
            BackupTarget::ObjectStore(s, prefix) => write!(f, "ObjectStore({s}, {prefix:?})"),
        }
    }
}

impl BackupTarget {
    fn location(&self) -> String {
        format!("{self:?}")
    }

    fn object_path(prefix: &str, name: &str) -> ObjectPath {
        let trimmed = prefix.trim_matches('/');
        if trimmed.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{trimmed}/{name}"))
        }
    }
}

pub(crate) enum BackupJob {
    Tenant(kuzet_model::TenantId),
    All,
}

/// Runs a future to completion on this (non-async) thread: through the caller's tokio runtime when the store was
/// opened inside one (object stores such as S3 need its reactor), else by parking the thread between polls
/// (enough for the local file system and in-memory stores).
pub(crate) fn block_on<F: Future>(
    runtime: Option<&tokio::runtime::Handle>,
    future: F,
) -> F::Output {
    if let Some(handle) = runtime {
        return handle.block_on(future);
    }
    struct ThreadWaker(std::thread::Thread);
    impl std::task::Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// What a backup run copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupReport {
    pub segments_copied: u64,
    pub segments_present: u64,
    pub checkpoint_logs: u64,
}

struct Copier<'a> {
    target: &'a BackupTarget,
    runtime: Option<&'a tokio::runtime::Handle>,
}

impl Copier<'_> {
    fn err(&self, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Backup {
            location: self.target.location(),
            detail: detail.to_string(),
        }
    }

    fn exists_with_len(&self, rel: &str, len: u64) -> Result<bool, StoreError> {
        match self.target {
            BackupTarget::Directory(dir) => {
                Ok(std::fs::metadata(dir.join(rel)).is_ok_and(|m| m.len() == len))
            }
            BackupTarget::ObjectStore(store, prefix) => {
                let path = BackupTarget::object_path(prefix, rel);
                match block_on(self.runtime, store.head(&path)) {
                    Ok(meta) => Ok(meta.size == len),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(e) => Err(self.err(format!("{rel}: {e}"))),
                }
            }
        }
    }

    fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        match self.target {
            BackupTarget::Directory(dir) => {
                let path = dir.join(rel);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(StoreError::io(parent))?;
                }
                // Write aside and rename, so a reader never sees a half-copied file.
                let tmp = path.with_extension("partial");
                std::fs::write(&tmp, &bytes)
                    .and_then(|()| std::fs::File::open(&tmp).and_then(|f| f.sync_all()))
                    .map_err(StoreError::io(&tmp))?;
                std::fs::rename(&tmp, &path).map_err(StoreError::io(&path))
            }
            BackupTarget::ObjectStore(store, prefix) => {
                let path = BackupTarget::object_path(prefix, rel);
                block_on(self.runtime, store.put(&path, bytes.into()))
                    .map(|_| ())
                    .map_err(|e| self.err(format!("{rel}: {e}")))
            }
        }
    }
}

/// Copies every closed segment of every tenant (and the checkpoints covering them) to `target`. Idempotent:
/// segments already present with the same length are skipped; closed segments never change.
pub fn backup(archive_dir: &Path, target: &BackupTarget) -> Result<BackupReport, StoreError> {
    backup_with(archive_dir, target, None, &mut HashSet::new(), None)
}

fn backup_with(
    archive_dir: &Path,
    target: &BackupTarget,
    runtime: Option<&tokio::runtime::Handle>,
    copied: &mut HashSet<(String, u64)>,
    only: Option<&str>,
) -> Result<BackupReport, StoreError> {
    let copier = Copier { target, runtime };
    let mut report = BackupReport::default();
    let key_path = archive_dir.join(PUBLIC_KEY_FILE);
    if let Ok(key) = std::fs::read(&key_path)
        && !copier.exists_with_len(PUBLIC_KEY_FILE, key.len() as u64)?
    {
        copier.put(PUBLIC_KEY_FILE, key)?;
    }
    for entry in std::fs::read_dir(archive_dir).map_err(StoreError::io(archive_dir))? {
        let entry = entry.map_err(StoreError::io(archive_dir))?;
        let Some(tenant) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !entry.path().is_dir() || only.is_some_and(|t| t != tenant) {
            continue;
        }
        let dir = entry.path();
        let mut covered_tree_size = None;
        for (number, path) in crate::archive::list_segments(&dir)? {
            let bytes = std::fs::read(&path).map_err(StoreError::io(&path))?;
            // Closed segments end with a valid trailer; the open one is copied once it closes.
            let Some(trailer) = bytes
                .len()
                .checked_sub(format::TRAILER_LEN)
                .and_then(|at| Trailer::decode(&bytes[at..]).ok())
            else {
                break;
            };
            covered_tree_size = Some(trailer.tree_size);
            let name = format::segment_file_name(number);
            let rel = format!("{tenant}/{name}");
            if copied.contains(&(tenant.clone(), number)) {
                report.segments_present += 1;
                continue;
            }
            if copier.exists_with_len(&rel, bytes.len() as u64)? {
                report.segments_present += 1;
            } else {
                copier.put(&rel, bytes)?;
                report.segments_copied += 1;
            }
            copied.insert((tenant.clone(), number));
        }
        let Some(tree_size) = covered_tree_size else {
            continue;
        };
        // The checkpoint log prefix whose checkpoints the copied segments cover: the copy verifies on its own.
        let cp_path = dir.join(CHECKPOINTS_FILE);
        let cp_bytes = std::fs::read(&cp_path).map_err(StoreError::io(&cp_path))?;
        let mut prefix_len = 0;
        for line in cp_bytes.split_inclusive(|&b| b == b'\n') {
            let Ok(cp) = serde_json::from_slice::<format::Checkpoint>(line.trim_ascii_end()) else {
                break;
            };
            if cp.tree_size > tree_size || !line.ends_with(b"\n") {
                break;
            }
            prefix_len += line.len();
        }
        let rel = format!("{tenant}/{CHECKPOINTS_FILE}");
        if !copier.exists_with_len(&rel, prefix_len as u64)? {
            copier.put(&rel, cp_bytes[..prefix_len].to_vec())?;
            report.checkpoint_logs += 1;
        }
    }
    Ok(report)
}

/// The backup thread: one job per closed segment notification, each copying whatever is not yet copied.
pub(crate) fn run(
    archive_dir: PathBuf,
    target: BackupTarget,
    rx: std::sync::mpsc::Receiver<BackupJob>,
    counters: Arc<Counters>,
    runtime: Option<tokio::runtime::Handle>,
) {
    let mut copied = HashSet::new();
    while let Ok(job) = rx.recv() {
        let only = match &job {
            BackupJob::Tenant(t) => Some(t.as_str().to_owned()),
            BackupJob::All => None,
        };
        match backup_with(
            &archive_dir,
            &target,
            runtime.as_ref(),
            &mut copied,
            only.as_deref(),
        ) {
            Ok(report) => {
                metrics::counter!("kuzet_store_backup_segments_total")
                    .increment(report.segments_copied);
            }
            Err(e) => {
                // The next job retries everything not yet copied; the error is visible in stats and logs.
                tracing::error!(error = %e, "backup copy failed");
                counters.backup_errors.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("kuzet_store_backup_errors_total").increment(1);
            }
        }
    }
}

/// Reads an object-store backup for the verifier.
pub(crate) struct ObjectSource<'a> {
    pub store: &'a Arc<dyn object_store::ObjectStore>,
    pub prefix: &'a str,
}

impl ObjectSource<'_> {
    fn err(&self, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Backup {
            location: format!("{}/{}", self.store, self.prefix),
            detail: detail.to_string(),
        }
    }
}

impl crate::verify::Source for ObjectSource<'_> {
    fn list(&self, dir: Option<&str>) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let base = match dir {
            Some(d) => BackupTarget::object_path(self.prefix, d),
            None => ObjectPath::from(self.prefix.trim_matches('/')),
        };
        let prefix = if base.as_ref().is_empty() {
            None
        } else {
            Some(&base)
        };
        let listing =
            block_on(None, self.store.list_with_delimiter(prefix)).map_err(|e| self.err(e))?;
        let dirs = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_owned))
            .collect();
        let files = listing
            .objects
            .iter()
            .filter_map(|o| o.location.filename().map(str::to_owned))
            .collect();
        Ok((dirs, files))
    }

    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = BackupTarget::object_path(self.prefix, rel);
        match block_on(None, async { self.store.get(&path).await?.bytes().await }) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(format!("{rel}: {e}"))),
        }
    }
}

/// Verifies a backup copy exactly as [`crate::verify`] verifies the archive.
pub fn backup_verify(
    target: &BackupTarget,
    public_key: &crate::VerifyingKey,
) -> Result<crate::VerifyReport, StoreError> {
    match target {
        BackupTarget::Directory(dir) => crate::verify(dir, public_key),
        BackupTarget::ObjectStore(store, prefix) => {
            crate::verify::verify_source(&ObjectSource { store, prefix }, public_key)
        }
    }
}
