//! Every fsync the store makes goes through here — of a file's data, of a directory's entries — and so does every
//! directory it creates, which is fsync'd into its parent. That one place lets the power-loss test know exactly
//! what a crash would keep: with a recorder on (`crash`, tests only), each file fsync notes the file's bytes and
//! each directory fsync its entries, and [`crash::image`] builds the disk a power cut would leave behind — synced
//! data kept, unsynced data dropped or torn, entries created, renamed or removed since their directory's last fsync
//! kept or lost at random.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::StoreError;

static RECORDING: AtomicBool = AtomicBool::new(false);

/// Opens a file that `open` creates, noting it for the recorder: its inode is a new file, whatever file had that
/// number before. The recorder's journal is held across the creation, so that a crash image built by another
/// thread at that moment never takes the new file for the deleted one whose inode it reuses.
pub(crate) fn open_created(open: impl FnOnce() -> std::io::Result<File>) -> std::io::Result<File> {
    if RECORDING.load(Ordering::Acquire) {
        crash::create(open)
    } else {
        open()
    }
}

/// `fdatasync`s a file's data (and size) and notes it for the recorder.
pub(crate) fn sync_file(file: &File) -> std::io::Result<()> {
    file.sync_data()?;
    if RECORDING.load(Ordering::Acquire) {
        crash::file_synced(file);
    }
    Ok(())
}

/// Makes a directory's entries durable (names created, renamed or removed in it).
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(dir))?;
    if RECORDING.load(Ordering::Acquire) {
        crash::dir_synced(dir);
    }
    Ok(())
}

/// Creates `dir` and any missing parents, each made durable in its own parent.
pub(crate) fn create_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(StoreError::io(dir)(e)),
    }
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => sync_dir(Path::new(".")),
    }
}

/// The power-loss model for tests. Not part of the stable API.
#[doc(hidden)]
pub mod crash {
    use std::collections::{BTreeMap, HashMap};
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;

    #[derive(Default)]
    struct Journal {
        /// Files by identity: an inode number names a new file each time one is created with it.
        file_of: HashMap<u64, u64>,
        next_file: u64,
        /// Per file: its bytes at its last fsync.
        content: HashMap<u64, Vec<u8>>,
        /// Per directory: its entries (name → file, and whether a directory) at its last fsync.
        entries: HashMap<PathBuf, BTreeMap<String, (u64, bool)>>,
        /// Take the image at this many syncs from now (`Some`), into this directory, with this seed.
        plan: Option<(u64, PathBuf, PathBuf, u64)>,
        syncs: u64,
        taken: bool,
    }

    static JOURNAL: Mutex<Option<Journal>> = Mutex::new(None);

    fn journal() -> std::sync::MutexGuard<'static, Option<Journal>> {
        JOURNAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts recording (everything created from now on), and plans a crash image of `root` into `into` at the
    /// `at`-th fsync from now: what the disk would hold had the power gone just before that fsync.
    pub fn record(root: &Path, at: u64, into: &Path, seed: u64) {
        let mut j = journal();
        *j = Some(Journal {
            plan: Some((at, root.to_owned(), into.to_owned(), seed)),
            ..Journal::default()
        });
        // The root itself exists durably.
        if let Some(j) = j.as_mut() {
            j.entries.insert(root.to_owned(), BTreeMap::new());
        }
        super::RECORDING.store(true, Ordering::Release);
    }

    /// Takes the planned crash image now if no fsync reached its turn (the power goes at the end).
    pub fn take_now() {
        let mut j = journal();
        let Some(j) = j.as_mut() else { return };
        if !j.taken {
            j.syncs = j.plan.as_ref().map_or(u64::MAX, |p| p.0.saturating_sub(1));
            tick(j);
        }
    }

    /// Stops recording; returns whether the crash image was taken.
    pub fn stop() -> bool {
        super::RECORDING.store(false, Ordering::Release);
        journal().take().is_some_and(|j| j.taken)
    }

    /// Whether the crash image has been taken (an acknowledgement after this point is not one the image owes).
    pub fn taken() -> bool {
        journal().as_ref().is_some_and(|j| j.taken)
    }

    impl Journal {
        fn file(&mut self, inode: u64) -> u64 {
            if let Some(file) = self.file_of.get(&inode) {
                return *file;
            }
            self.new_file(inode)
        }

        fn new_file(&mut self, inode: u64) -> u64 {
            self.next_file += 1;
            self.file_of.insert(inode, self.next_file);
            self.next_file
        }
    }

    pub(super) fn create(
        open: impl FnOnce() -> std::io::Result<std::fs::File>,
    ) -> std::io::Result<std::fs::File> {
        let mut j = journal();
        let file = open()?;
        if let (Some(j), Ok(meta)) = (j.as_mut(), file.metadata()) {
            j.new_file(meta.ino());
        }
        Ok(file)
    }

    /// Before each recorded sync: take the image when its turn has come.
    fn tick(j: &mut Journal) {
        j.syncs += 1;
        if let Some((at, root, into, seed)) = j.plan.clone()
            && j.syncs >= at
            && !j.taken
        {
            j.taken = true;
            let mut rng = seed | 1;
            if let Err(e) = build(j, &root, &into, &mut rng) {
                panic!("crash image of {}: {e}", root.display());
            }
        }
    }

    pub(super) fn file_synced(file: &std::fs::File) {
        use std::io::{Read, Seek, SeekFrom};
        let mut j = journal();
        let Some(j) = j.as_mut() else { return };
        tick(j);
        let Ok(meta) = file.metadata() else { return };
        let mut bytes = Vec::new();
        // A second handle reads what the first wrote (the same open file description would move its offset).
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(file));
        if let Ok(mut f) = std::fs::File::open(&path) {
            let _ = f
                .seek(SeekFrom::Start(0))
                .and_then(|_| f.read_to_end(&mut bytes));
        }
        let id = j.file(meta.ino());
        j.content.insert(id, bytes);
    }

    pub(super) fn dir_synced(dir: &Path) {
        let mut j = journal();
        let Some(j) = j.as_mut() else { return };
        tick(j);
        let mut entries = BTreeMap::new();
        if let Ok(read) = std::fs::read_dir(dir) {
            for entry in read.flatten() {
                if let (Some(name), Ok(meta)) = (
                    entry.file_name().to_str().map(str::to_owned),
                    entry.metadata(),
                ) {
                    let id = j.file(meta.ino());
                    entries.insert(name, (id, meta.is_dir()));
                }
            }
        }
        j.entries.insert(dir.to_owned(), entries);
    }

    fn next(rng: &mut u64) -> u64 {
        // xorshift64*: deterministic per seed.
        *rng ^= *rng >> 12;
        *rng ^= *rng << 25;
        *rng ^= *rng >> 27;
        rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Where each file is now (by identity), if some current entry is that file.
    fn current_files(j: &mut Journal, root: &Path) -> HashMap<u64, PathBuf> {
        let mut out = HashMap::new();
        let mut stack = vec![root.to_owned()];
        while let Some(dir) = stack.pop() {
            let Ok(read) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in read.flatten() {
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    stack.push(entry.path());
                } else {
                    let id = j.file(meta.ino());
                    out.insert(id, entry.path());
                }
            }
        }
        out
    }

    fn build(j: &mut Journal, root: &Path, into: &Path, rng: &mut u64) -> std::io::Result<()> {
        let current = current_files(j, root);
        std::fs::create_dir_all(into)?;
        copy_dir(j, root, into, &current, rng)
    }

    /// One directory of the image: the entries its last fsync made durable (content as last synced, plus a torn
    /// part of what was written since), and each entry created since with probability ½ (the file system may have
    /// written it anyway).
    fn copy_dir(
        j: &mut Journal,
        dir: &Path,
        into: &Path,
        current: &HashMap<u64, PathBuf>,
        rng: &mut u64,
    ) -> std::io::Result<()> {
        let mut entries: BTreeMap<String, (u64, bool)> =
            j.entries.get(dir).cloned().unwrap_or_default();
        if let Ok(read) = std::fs::read_dir(dir) {
            for entry in read.flatten() {
                let (Some(name), Ok(meta)) = (
                    entry.file_name().to_str().map(str::to_owned),
                    entry.metadata(),
                ) else {
                    continue;
                };
                let now = (j.file(meta.ino()), meta.is_dir());
                match entries.get(&name) {
                    Some(durable) if *durable == now => {}
                    // Created, or renamed over, since the last fsync of the directory: kept or not.
                    _ if next(rng).is_multiple_of(2) => {
                        entries.insert(name, now);
                    }
                    _ => {}
                }
            }
        }
        for (name, (id, is_dir)) in entries {
            let target = into.join(&name);
            if is_dir {
                std::fs::create_dir_all(&target)?;
                copy_dir(j, &dir.join(&name), &target, current, rng)?;
                continue;
            }
            let mut bytes = j.content.get(&id).cloned().unwrap_or_default();
            if let Some(path) = current.get(&id)
                && let Ok(now) = std::fs::read(path)
            {
                // Written since the last fsync (everything, for a file never synced): any prefix of it may have
                // reached the disk. A file rewritten since keeps what was synced.
                if now.starts_with(&bytes) && now.len() > bytes.len() {
                    let extra = now.len() - bytes.len();
                    let keep = (next(rng) % (extra as u64 + 1)) as usize;
                    bytes.extend_from_slice(&now[bytes.len()..bytes.len() + keep]);
                }
            }
            std::fs::write(&target, &bytes)?;
        }
        Ok(())
    }
}
