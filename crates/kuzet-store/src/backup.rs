//! The backup copy (R4): closed segments and the checkpoint log prefix that covers them, copied to a second
//! location (a directory or an object store), idempotently. The copy has the archive's layout and verifies with
//! the same verifier.

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
    /// Bytes read from the archive: the segments copied, the trailers that tell a closed segment, and the new part
    /// of each checkpoint log. It does not grow with the archive's age.
    pub bytes_read: u64,
}

/// What the backup thread remembers between jobs, so that each job reads only what is new.
#[derive(Debug, Default)]
pub(crate) struct Copied {
    /// Per tenant: the closed segments known to be in the copy (number → the log's tree size at its end), and the
    /// checkpoint log prefix already copied (its length and the tree size it covers).
    tenants: std::collections::HashMap<String, TenantCopied>,
}

#[derive(Debug, Default)]
struct TenantCopied {
    segments: std::collections::BTreeMap<u64, u64>,
    checkpoints_len: u64,
}

/// Chunks of segment copies: small enough to bound memory, large enough for object-store multipart parts.
const COPY_CHUNK: usize = 8 << 20;

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

    fn len_of(&self, rel: &str) -> Result<Option<u64>, StoreError> {
        match self.target {
            BackupTarget::Directory(dir) => {
                Ok(std::fs::metadata(dir.join(rel)).ok().map(|m| m.len()))
            }
            BackupTarget::ObjectStore(store, prefix) => {
                let path = BackupTarget::object_path(prefix, rel);
                match block_on(self.runtime, store.head(&path)) {
                    Ok(meta) => Ok(Some(meta.size)),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(self.err(format!("{rel}: {e}"))),
                }
            }
        }
    }

    fn exists_with_len(&self, rel: &str, len: u64) -> Result<bool, StoreError> {
        Ok(self.len_of(rel)? == Some(len))
    }

    /// Copies `len` bytes of `source` from its start to `rel`, in chunks; a reader of the copy never sees a
    /// half-copied file (written aside and renamed, or a multipart upload completed at the end).
    fn copy_file(&self, rel: &str, source: &Path, len: u64) -> Result<(), StoreError> {
        use std::io::Read;
        let file = std::fs::File::open(source).map_err(StoreError::io(source))?;
        let mut reader = file.take(len);
        match self.target {
            BackupTarget::Directory(dir) => {
                let path = dir.join(rel);
                let parent = path.parent().unwrap_or(dir).to_owned();
                std::fs::create_dir_all(&parent).map_err(StoreError::io(&parent))?;
                let tmp = path.with_extension("partial");
                let mut out = std::fs::File::create(&tmp).map_err(StoreError::io(&tmp))?;
                let copied = std::io::copy(&mut reader, &mut out)
                    .and_then(|n| out.sync_all().map(|()| n))
                    .map_err(StoreError::io(&tmp))?;
                if copied != len {
                    return Err(self.err(format!(
                        "{rel}: {} changed while it was copied",
                        source.display()
                    )));
                }
                std::fs::rename(&tmp, &path).map_err(StoreError::io(&path))?;
                crate::wal::sync_dir(&parent)
            }
            BackupTarget::ObjectStore(store, prefix) => {
                let path = BackupTarget::object_path(prefix, rel);
                block_on(self.runtime, async {
                    let fail = |e: object_store::Error| self.err(format!("{rel}: {e}"));
                    let mut upload = store.put_multipart(&path).await.map_err(fail)?;
                    // Parts one at a time, awaited here: no runtime task needed, memory bounded by one chunk.
                    let mut copied = 0u64;
                    let outcome = loop {
                        let mut chunk = Vec::with_capacity(COPY_CHUNK);
                        match (&mut reader)
                            .take(COPY_CHUNK as u64)
                            .read_to_end(&mut chunk)
                        {
                            Ok(0) => break Ok(()),
                            Ok(n) => copied += n as u64,
                            Err(e) => {
                                break Err(StoreError::Io {
                                    path: source.to_owned(),
                                    source: e,
                                });
                            }
                        }
                        if let Err(e) = upload.put_part(chunk.into()).await {
                            break Err(fail(e));
                        }
                    };
                    let outcome = outcome.and_then(|()| {
                        if copied == len {
                            Ok(())
                        } else {
                            Err(self.err(format!(
                                "{rel}: {} changed while it was copied",
                                source.display()
                            )))
                        }
                    });
                    match outcome {
                        Ok(()) => upload.complete().await.map(|_| ()).map_err(fail),
                        Err(e) => {
                            // The copy was not made; a failed abort leaves only an incomplete upload behind.
                            let _ = upload.abort().await;
                            Err(e)
                        }
                    }
                })
            }
        }
    }

    fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        match self.target {
            BackupTarget::Directory(dir) => {
                let path = dir.join(rel);
                let parent = path.parent().unwrap_or(dir).to_owned();
                std::fs::create_dir_all(&parent).map_err(StoreError::io(&parent))?;
                crate::wal::write_atomically(&path, &bytes)
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

/// The trailer of a segment file if it is closed (read from the file's last bytes only).
fn read_trailer(path: &Path) -> Result<(Option<Trailer>, u64), StoreError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(StoreError::io(path))?;
    let len = file.metadata().map_err(StoreError::io(path))?.len();
    let Some(at) = len.checked_sub(format::TRAILER_LEN as u64) else {
        return Ok((None, len));
    };
    let mut buf = [0u8; format::TRAILER_LEN];
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(StoreError::io(path))?;
    Ok((Trailer::decode(&buf).ok(), len))
}

/// Copies every closed segment of every tenant (and the checkpoints covering them) to `target`. Idempotent:
/// segments already present with the same length are skipped; closed segments never change.
pub fn backup(archive_dir: &Path, target: &BackupTarget) -> Result<BackupReport, StoreError> {
    backup_with(archive_dir, target, None, &mut Copied::default(), None)
}

fn backup_with(
    archive_dir: &Path,
    target: &BackupTarget,
    runtime: Option<&tokio::runtime::Handle>,
    copied: &mut Copied,
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
        let known = copied.tenants.entry(tenant.clone()).or_default();
        let mut covered_tree_size = known.segments.values().next_back().copied();
        for (number, path) in crate::archive::list_segments(&dir)? {
            if known.segments.contains_key(&number) {
                report.segments_present += 1;
                continue;
            }
            // Closed segments end with a valid trailer; the open one is copied once it closes.
            let (trailer, len) = read_trailer(&path)?;
            report.bytes_read += format::TRAILER_LEN as u64;
            let Some(trailer) = trailer else {
                break;
            };
            let rel = format!("{tenant}/{}", format::segment_file_name(number));
            if copier.exists_with_len(&rel, len)? {
                report.segments_present += 1;
            } else {
                copier.copy_file(&rel, &path, len)?;
                report.bytes_read += len;
                report.segments_copied += 1;
            }
            known.segments.insert(number, trailer.tree_size);
            covered_tree_size = Some(trailer.tree_size);
        }
        let Some(tree_size) = covered_tree_size else {
            continue;
        };
        // The checkpoint log prefix whose checkpoints the copied segments cover: the copy verifies on its own.
        // Only the part after what was copied before is read to find the new end.
        let cp_path = dir.join(CHECKPOINTS_FILE);
        let new_part = read_from(&cp_path, known.checkpoints_len)?;
        report.bytes_read += new_part.len() as u64;
        let mut prefix_len = known.checkpoints_len;
        for line in new_part.split_inclusive(|&b| b == b'\n') {
            let Ok(cp) = serde_json::from_slice::<format::Checkpoint>(line.trim_ascii_end()) else {
                break;
            };
            if cp.tree_size > tree_size || !line.ends_with(b"\n") {
                break;
            }
            prefix_len += line.len() as u64;
        }
        let rel = format!("{tenant}/{CHECKPOINTS_FILE}");
        let have = copier.len_of(&rel)?;
        if have != Some(prefix_len) {
            match (target, have) {
                // A directory copy grows by appending the new lines; an object is replaced whole.
                (BackupTarget::Directory(backup_dir), Some(have))
                    if have == known.checkpoints_len && have < prefix_len =>
                {
                    use std::io::Write;
                    let path = backup_dir.join(&rel);
                    let new = &new_part[..(prefix_len - have) as usize];
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(&path)
                        .and_then(|mut f| f.write_all(new).and_then(|()| f.sync_data()))
                        .map_err(StoreError::io(&path))?;
                }
                _ => {
                    copier.copy_file(&rel, &cp_path, prefix_len)?;
                    report.bytes_read += prefix_len;
                }
            }
            report.checkpoint_logs += 1;
        }
        known.checkpoints_len = prefix_len;
    }
    Ok(report)
}

/// The bytes of a file from `offset` to its end.
fn read_from(path: &Path, offset: u64) -> Result<Vec<u8>, StoreError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(StoreError::io(path))?;
    let mut out = Vec::new();
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_to_end(&mut out))
        .map_err(StoreError::io(path))?;
    Ok(out)
}

/// The backup thread: one job per closed segment notification, each copying whatever is not yet copied.
pub(crate) fn run(
    archive_dir: PathBuf,
    target: BackupTarget,
    rx: std::sync::mpsc::Receiver<BackupJob>,
    counters: Arc<Counters>,
    runtime: Option<tokio::runtime::Handle>,
) {
    let mut copied = Copied::default();
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
