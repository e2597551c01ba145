//! The offline verifier: re-reads every segment, decompresses every block, re-hashes every record, recomputes the
//! tenant log's Merkle tree and checks it against every signed checkpoint. Tampering is reported as findings that
//! name the tenant, segment file, block index, record index and event id where they can be known.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use kuzet_model::EventId;
use serde::Serialize;

use crate::format::{
    self, BLOCK_HEADER_LEN, BLOCK_MAGIC, BlockHeader, CHECKPOINTS_FILE, Checkpoint, HINT_LEN,
    PUBLIC_KEY_FILE, SegmentHeader, TRAILER_LEN, TRAILER_MAGIC, Trailer, block_leaf, chain_hash,
    segment_file_name,
};
use crate::merkle::{Frontier, Hash, leaf_hash};
use crate::tombstone::{self, TOMBSTONES_FILE};
use crate::{StoreError, VerifyingKey};

/// Largest decompressed block the verifier accepts (blocks are sealed at ≤ 512 MiB by configuration).
const MAX_BLOCK_BYTES: u32 = 512 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A record's bytes differ from what was sealed.
    RecordAltered,
    /// A record's locator hint was changed; the record itself is intact (its block root matches).
    HintAltered,
    /// A record index is missing from its block.
    RecordRemoved,
    /// Records appear out of index order.
    RecordReordered,
    /// A block header, payload or root does not match (record-level location unknown).
    BlockAltered,
    /// Block indices are missing.
    BlockRemoved,
    /// Blocks appear out of index order or duplicated.
    BlockReordered,
    /// A segment header is damaged.
    SegmentHeaderAltered,
    /// A segment ends early: inside a block, or without its trailer though later segments exist, or with fewer
    /// blocks than its trailer or the checkpoints say.
    SegmentTruncated,
    /// A segment file is missing.
    SegmentMissing,
    /// A segment's header names another tenant or number: it was swapped or replaced.
    SegmentSwapped,
    /// A segment's back link does not match the previous segment (history rewritten or segments swapped).
    ChainBroken,
    /// A checkpoint line is malformed or its signature does not verify.
    CheckpointForged,
    /// Checkpoint lines were removed, repeated or reordered (their numbers or back links do not follow), or a
    /// checkpoint kept off the host is missing from the host's log.
    CheckpointLogAltered,
    /// A checkpoint's root differs from the recomputed tree at its size.
    CheckpointMismatch,
    /// Segments exist but the checkpoint log is missing.
    CheckpointLogMissing,
    /// Blocks after the last checkpoint: not yet covered by a signature (normal only right after a crash).
    Uncheckpointed,
    /// A file that does not belong in the archive.
    UnexpectedFile,
    /// A tombstone (the record of a lawful expiry) is malformed, not signed with this key, out of sequence, or
    /// does not continue the chain and tree of the segments before it.
    TombstoneInvalid,
    /// A validly signed tombstone removed a segment before its retention ended (below three years or before its
    /// day's retention was over).
    ExpiredEarly,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub tenant: String,
    pub segment: Option<String>,
    pub block: Option<u64>,
    pub record: Option<u64>,
    pub event_id: Option<EventId>,
    pub kind: FindingKind,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: tenant {}", self.kind, self.tenant)?;
        if let Some(s) = &self.segment {
            write!(f, ", segment {s}")?;
        }
        if let Some(b) = self.block {
            write!(f, ", block {b}")?;
        }
        if let Some(r) = self.record {
            write!(f, ", record {r}")?;
        }
        if let Some(id) = self.event_id {
            write!(f, ", event {id}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TenantSummary {
    pub tenant: String,
    pub segments: u64,
    pub blocks: u64,
    pub records: u64,
    pub checkpoints: u64,
    /// Tree size of the last valid checkpoint.
    pub checkpointed_blocks: u64,
    /// Segments removed lawfully after their retention, each with a valid signed tombstone.
    pub expired_segments: u64,
    /// Blocks those segments held (the log tree continues from their frontier).
    pub expired_blocks: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub tenants: Vec<TenantSummary>,
    pub segments: u64,
    pub blocks: u64,
    pub records: u64,
    pub checkpoints: u64,
    /// Segments removed lawfully after their retention (with valid tombstones).
    pub expired_segments: u64,
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} tenants, {} segments ({} more expired lawfully), {} blocks, {} records, {} checkpoints: {}",
            self.tenants.len(),
            self.segments,
            self.expired_segments,
            self.blocks,
            self.records,
            self.checkpoints,
            if self.is_intact() {
                "intact".to_owned()
            } else {
                format!("{} findings", self.findings.len())
            }
        )?;
        for finding in &self.findings {
            writeln!(f, "  {finding}")?;
        }
        Ok(())
    }
}

/// Where the verifier reads from: an archive directory or a backup copy in an object store.
pub(crate) trait Source {
    /// Sub-directories and files directly under `dir` (the root when `None`).
    fn list(&self, dir: Option<&str>) -> Result<(Vec<String>, Vec<String>), StoreError>;
    /// A file's bytes, `None` when absent. `rel` is `tenant/name` or `name`.
    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

struct FsSource {
    root: PathBuf,
}

impl Source for FsSource {
    fn list(&self, dir: Option<&str>) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let path = match dir {
            Some(d) => self.root.join(d),
            None => self.root.clone(),
        };
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&path).map_err(StoreError::io(&path))? {
            let entry = entry.map_err(StoreError::io(&path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry
                .file_type()
                .map_err(StoreError::io(entry.path()))?
                .is_dir()
            {
                dirs.push(name);
            } else {
                files.push(name);
            }
        }
        dirs.sort();
        files.sort();
        Ok((dirs, files))
    }

    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.root.join(rel);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }
}

/// Verifies a whole archive directory (or a local backup copy). `Err` only for I/O errors and unusable input;
/// every kind of tampering is a finding.
pub fn verify(archive_dir: &Path, public_key: &VerifyingKey) -> Result<VerifyReport, StoreError> {
    if !archive_dir.is_dir() {
        return Err(StoreError::Io {
            path: archive_dir.into(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "archive directory not found",
            ),
        });
    }
    verify_source(
        &FsSource {
            root: archive_dir.into(),
        },
        public_key,
    )
}

/// Verifies an archive as [`verify`] does and also against checkpoints kept **outside** it — copies of
/// `checkpoints.log` lines of any tenants, in any order, taken off the host earlier. Whoever can write the archive
/// can cut the tail of a log together with the tail of its checkpoint log, and the archive alone then looks
/// intact; a checkpoint kept elsewhere still names the size and root the log had, so the cut (a rollback) and any
/// rewrite below that size are found.
pub fn verify_with_checkpoints(
    archive_dir: &Path,
    public_key: &VerifyingKey,
    external_checkpoints: &[u8],
) -> Result<VerifyReport, StoreError> {
    let mut report = verify(archive_dir, public_key)?;
    let (lines, _) = format::parse_checkpoints(external_checkpoints);
    let mut by_tenant: BTreeMap<String, Vec<(usize, Checkpoint)>> = BTreeMap::new();
    for (line, parsed) in lines {
        match parsed {
            Ok(cp) if cp.signature_ok(public_key) && cp.root_bytes().is_some() => {
                by_tenant.entry(cp.tenant.clone()).or_default().push((line, cp));
            }
            Ok(cp) => report.findings.push(external_finding(
                &cp.tenant,
                FindingKind::CheckpointForged,
                format!("external checkpoint at line {line}: its signature does not verify with this key"),
            )),
            Err(e) => report.findings.push(external_finding(
                "",
                FindingKind::CheckpointForged,
                format!("external checkpoint at line {line} is malformed: {e}"),
            )),
        }
    }
    let source = FsSource {
        root: archive_dir.into(),
    };
    for (tenant, checkpoints) in by_tenant {
        if !archive_dir.join(&tenant).is_dir() {
            let largest = checkpoints
                .iter()
                .map(|(_, c)| c.tree_size)
                .max()
                .unwrap_or(0);
            report.findings.push(external_finding(
                &tenant,
                FindingKind::SegmentMissing,
                format!("the tenant's log is gone, but an external checkpoint covers {largest} blocks of it"),
            ));
            continue;
        }
        let mut verifier = TenantVerifier::new(tenant, public_key);
        verifier.external = checkpoints;
        verifier.run(&source)?;
        // Only the findings about external checkpoints: the archive's own were reported by `verify` above.
        report.findings.extend(
            verifier
                .findings
                .into_iter()
                .filter(|f| f.detail.starts_with("external checkpoint")),
        );
    }
    Ok(report)
}

fn external_finding(tenant: &str, kind: FindingKind, detail: String) -> Finding {
    Finding {
        tenant: tenant.to_owned(),
        segment: None,
        block: None,
        record: None,
        event_id: None,
        kind,
        detail,
    }
}

pub(crate) fn verify_source(
    source: &dyn Source,
    key: &VerifyingKey,
) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let (dirs, files) = source.list(None)?;
    for file in files {
        if file != PUBLIC_KEY_FILE {
            report.findings.push(Finding {
                tenant: String::new(),
                segment: None,
                block: None,
                record: None,
                event_id: None,
                kind: FindingKind::UnexpectedFile,
                detail: format!("unexpected file `{file}` in the archive root"),
            });
        }
    }
    for tenant in dirs {
        let mut verifier = TenantVerifier::new(tenant.clone(), key);
        verifier.run(source)?;
        report.segments += verifier.summary.segments;
        report.blocks += verifier.summary.blocks;
        report.records += verifier.summary.records;
        report.checkpoints += verifier.summary.checkpoints;
        report.expired_segments += verifier.summary.expired_segments;
        report.tenants.push(verifier.summary);
        report.findings.extend(verifier.findings);
    }
    Ok(report)
}

/// Verifies one segment file's bytes on their own (no chain, no checkpoints): for fuzzing and quick checks.
pub fn verify_segment_bytes(tenant: &str, file_name: &str, bytes: &[u8]) -> Vec<Finding> {
    let mut verifier = TenantVerifier::new(tenant.to_owned(), &NO_KEY);
    let number = format::parse_segment_file_name(file_name).unwrap_or(0);
    verifier.next_segment = number;
    verifier.segment(file_name, number, bytes);
    verifier.findings
}

/// A placeholder key for `verify_segment_bytes`, which checks no signatures.
static NO_KEY: std::sync::LazyLock<VerifyingKey> =
    std::sync::LazyLock::new(|| crate::Signer::from_seed([0; 32]).verifying_key());

struct TenantVerifier<'a> {
    tenant: String,
    key: &'a VerifyingKey,
    summary: TenantSummary,
    findings: Vec<Finding>,
    frontier: Frontier,
    /// Recomputed roots at the sizes checkpoints name.
    wanted_sizes: BTreeMap<u64, Option<Hash>>,
    /// For each leaf position: the segment holding it.
    leaf_segments: Vec<u32>,
    segment_names: Vec<String>,
    expected_block: u64,
    /// Whether a trailer's log root already differed (later trailers then differ as a consequence).
    trailer_root_broken: bool,
    prev_chain: Hash,
    /// Whether the previous segment broke the chain already (to avoid repeating it for each later segment).
    chain_known_broken: bool,
    next_segment: u64,
    previous_closed: bool,
    /// Checkpoints of this tenant kept outside the archive (see [`verify_with_checkpoints`]), signatures checked.
    external: Vec<(usize, Checkpoint)>,
    /// The host's own valid checkpoints, by number (version 2), for comparing external ones.
    host_numbers: BTreeMap<u64, Checkpoint>,
    /// Per segment file: the header hash a version 2 checkpoint signed, and that checkpoint's line.
    signed_headers: BTreeMap<String, (Hash, usize)>,
    /// Whether the previous segment's header differed from its signed hash (the next back link then breaks too).
    previous_header_altered: bool,
    /// Blocks before this expired lawfully: checkpoints below it cannot be recomputed and are not checked.
    expired_blocks: u64,
}

impl<'a> TenantVerifier<'a> {
    fn new(tenant: String, key: &'a VerifyingKey) -> Self {
        Self {
            summary: TenantSummary {
                tenant: tenant.clone(),
                ..Default::default()
            },
            tenant,
            key,
            findings: Vec::new(),
            frontier: Frontier::new(),
            wanted_sizes: BTreeMap::new(),
            leaf_segments: Vec::new(),
            segment_names: Vec::new(),
            expected_block: 0,
            trailer_root_broken: false,
            prev_chain: [0; 32],
            chain_known_broken: false,
            next_segment: 0,
            previous_closed: true,
            external: Vec::new(),
            host_numbers: BTreeMap::new(),
            signed_headers: BTreeMap::new(),
            previous_header_altered: false,
            expired_blocks: 0,
        }
    }

    fn find(
        &mut self,
        kind: FindingKind,
        segment: Option<&str>,
        block: Option<u64>,
        record: Option<u64>,
        event_id: Option<EventId>,
        detail: impl Into<String>,
    ) {
        self.findings.push(Finding {
            tenant: self.tenant.clone(),
            segment: segment.map(str::to_owned),
            block,
            record,
            event_id,
            kind,
            detail: detail.into(),
        });
    }

    /// A finding about a file or a block as a whole, not about one record in it: most findings are.
    fn find_at(
        &mut self,
        kind: FindingKind,
        segment: Option<&str>,
        block: Option<u64>,
        detail: impl Into<String>,
    ) {
        self.find(kind, segment, block, None, None, detail);
    }

    fn run(&mut self, source: &dyn Source) -> Result<(), StoreError> {
        let (subdirs, files) = source.list(Some(&self.tenant))?;
        for d in subdirs {
            let tenant = self.tenant.clone();
            self.find_at(
                FindingKind::UnexpectedFile,
                None,
                None,
                format!("unexpected directory `{tenant}/{d}`"),
            );
        }
        let mut segments = BTreeMap::new();
        let mut has_checkpoints = false;
        let mut has_tombstones = false;
        for name in files {
            if let Some(n) = format::parse_segment_file_name(&name) {
                segments.insert(n, name);
            } else if name == CHECKPOINTS_FILE {
                has_checkpoints = true;
            } else if name == TOMBSTONES_FILE {
                has_tombstones = true;
            } else if name == crate::index::INDEX_FILE {
                // Derived data, rebuilt at start-up and trusted by nothing: see `index.rs`.
            } else {
                self.find_at(
                    FindingKind::UnexpectedFile,
                    None,
                    None,
                    format!("unexpected file `{name}`"),
                );
            }
        }
        // Checkpoints first, so the tree walk knows at which sizes to record roots.
        let mut checkpoints = Vec::new();
        if has_checkpoints {
            let bytes = source
                .read(&format!("{}/{CHECKPOINTS_FILE}", self.tenant))?
                .unwrap_or_default();
            let (lines, complete) = format::parse_checkpoints(&bytes);
            if complete < bytes.len() {
                self.find_at(
                    FindingKind::CheckpointForged,
                    Some(CHECKPOINTS_FILE),
                    None,
                    format!(
                        "checkpoint log ends with {} bytes of an incomplete line",
                        bytes.len() - complete
                    ),
                );
            }
            for (line, parsed) in lines {
                match parsed {
                    Ok(cp) if cp.tenant == self.tenant && cp.signature_ok(self.key) && cp.root_bytes().is_some() => {
                        self.wanted_sizes.insert(cp.tree_size, None);
                        checkpoints.push((line, cp));
                    }
                    Ok(cp) => self.find_at(FindingKind::CheckpointForged, Some(&cp.segment.clone()), None, format!("checkpoint at line {line} (tree size {}): signature does not verify or names another tenant", cp.tree_size)),
                    Err(e) => self.find_at(FindingKind::CheckpointForged, Some(CHECKPOINTS_FILE), None, format!("checkpoint at line {line} is malformed: {e}")),
                }
            }
            self.summary.checkpoints = checkpoints.len() as u64;
            self.check_links(&checkpoints);
        }
        for (_, cp) in &self.external {
            self.wanted_sizes.insert(cp.tree_size, None);
        }
        if !has_checkpoints && !segments.is_empty() {
            self.find_at(FindingKind::CheckpointLogMissing, None, None, "checkpoints.log is missing: nothing in this tenant's archive is covered by a signature");
        }

        let mut expired = Vec::new();
        if has_tombstones {
            let bytes = source
                .read(&format!("{}/{TOMBSTONES_FILE}", self.tenant))?
                .unwrap_or_default();
            let (kept, problems) = tombstone::read(&bytes, &self.tenant, self.key);
            for problem in problems {
                let kind = match problem.kind {
                    tombstone::ProblemKind::Early => FindingKind::ExpiredEarly,
                    _ => FindingKind::TombstoneInvalid,
                };
                self.find_at(kind, Some(TOMBSTONES_FILE), None, problem.detail);
            }
            expired = kept;
        }
        for e in &expired {
            self.expired_segment(e);
        }
        for (number, name) in &segments {
            if *number < self.next_segment {
                // Expired, its removal interrupted: the store removes it at start-up.
                continue;
            }
            if *number != self.next_segment {
                let missing = format!(
                    "{}..{}",
                    segment_file_name(self.next_segment),
                    segment_file_name(number - 1)
                );
                let first_missing = segment_file_name(self.next_segment);
                self.find_at(
                    FindingKind::SegmentMissing,
                    Some(&first_missing),
                    Some(self.expected_block),
                    format!("segment files {missing} are missing"),
                );
                self.chain_known_broken = true;
                self.next_segment = *number;
            }
            let bytes = source
                .read(&format!("{}/{name}", self.tenant))?
                .unwrap_or_default();
            self.segment(name, *number, &bytes);
            self.next_segment = number + 1;
        }
        self.summary.blocks = self.frontier.size();
        self.check_checkpoints(&checkpoints);
        self.check_external();
        Ok(())
    }

    /// The host's checkpoints must follow one another: numbers 0, 1, 2, … in file order, each linking to the
    /// message of the one before. Records the signed segment headers for the segment walk.
    fn check_links(&mut self, checkpoints: &[(usize, Checkpoint)]) {
        let mut previous: Option<(usize, &Checkpoint)> = None;
        for (index, (line, cp)) in checkpoints.iter().enumerate() {
            if let (Some(n), Some(prev)) = (cp.n, cp.prev_bytes()) {
                // Version 1 lines before the first version 2 line count as checkpoints 0..k.
                let expected_n = previous
                    .and_then(|(_, p)| p.n.map(|pn| pn + 1))
                    .unwrap_or(index as u64);
                let expected_prev = previous.map_or([0u8; 32], |(_, p)| p.message_hash());
                let segment = Some(CHECKPOINTS_FILE);
                if n > expected_n {
                    self.find_at(FindingKind::CheckpointLogAltered, segment, None, format!(
                        "checkpoint at line {line} is number {n} but {expected_n} was expected: checkpoints \
                         {expected_n}..{n} were removed from the log"));
                } else if n < expected_n {
                    self.find_at(FindingKind::CheckpointLogAltered, segment, None, format!(
                        "checkpoint at line {line} is number {n} but {expected_n} was expected: a checkpoint was \
                         repeated or moved"));
                } else if prev != expected_prev {
                    let after = previous.map_or("the start of the log".to_owned(), |(l, _)| {
                        format!("line {l}")
                    });
                    self.find_at(FindingKind::CheckpointLogAltered, segment, None, format!(
                        "checkpoint at line {line} does not link to the checkpoint before it ({after}): lines \
                         were removed or replaced"));
                }
                self.host_numbers.entry(n).or_insert_with(|| cp.clone());
                if let Some(header) = cp.header_bytes() {
                    self.signed_headers
                        .entry(cp.segment.clone())
                        .or_insert((header, *line));
                }
            }
            previous = Some((*line, cp));
        }
    }

    /// Each external checkpoint must still be a prefix of the log: its size present, its root recomputed, and
    /// (version 2) the same checkpoint still in the host's log under its number.
    fn check_external(&mut self) {
        let size = self.frontier.size();
        let host_last = self.host_numbers.keys().next_back().copied();
        for (line, cp) in std::mem::take(&mut self.external) {
            if let Some(n) = cp.n {
                match self.host_numbers.get(&n) {
                    Some(host) if host.sig == cp.sig => {}
                    Some(_) => self.find_at(FindingKind::CheckpointLogAltered, Some(CHECKPOINTS_FILE), None, format!(
                        "external checkpoint at line {line} (number {n}) differs from the host's checkpoint {n}")),
                    None => self.find_at(FindingKind::CheckpointLogAltered, Some(CHECKPOINTS_FILE), None, format!(
                        "external checkpoint at line {line} (number {n}, tree size {}) is missing from the host's \
                         log{}", cp.tree_size, match host_last {
                            Some(last) if last < n => format!(", which ends at checkpoint {last}: its tail was cut"),
                            Some(_) => ": the line was removed".to_owned(),
                            None => ", which holds no checkpoint".to_owned(),
                        })),
                }
            }
            if cp.tree_size < self.expired_blocks {
                continue;
            }
            if cp.tree_size > size {
                let kind = if self.segment_names.contains(&cp.segment) {
                    FindingKind::SegmentTruncated
                } else {
                    FindingKind::SegmentMissing
                };
                self.find_at(kind, Some(&cp.segment.clone()), Some(size), format!(
                    "external checkpoint at line {line} covers {} blocks but the archive holds {size}: blocks {size}..{} \
                     are gone together with their checkpoints (a rollback)",
                    cp.tree_size, cp.tree_size
                ));
            } else if self.wanted_sizes.get(&cp.tree_size).copied().flatten() != cp.root_bytes() {
                let segment = self
                    .segment_of_leaf(cp.tree_size.saturating_sub(1))
                    .unwrap_or_else(|| cp.segment.clone());
                self.find_at(FindingKind::CheckpointMismatch, Some(&segment), None, format!(
                    "external checkpoint at line {line} (tree size {}) does not match the recomputed tree: blocks \
                     below it were rewritten",
                    cp.tree_size
                ));
            }
        }
    }

    fn check_checkpoints(&mut self, checkpoints: &[(usize, Checkpoint)]) {
        let size = self.frontier.size();
        let mut last_good = 0u64;
        let mut mismatches = 0usize;
        let mut first_mismatch: Option<(usize, &Checkpoint, u64)> = None;
        let mut previous_size = 0;
        for (line, cp) in checkpoints {
            if cp.tree_size < previous_size {
                self.find_at(FindingKind::CheckpointMismatch, Some(&cp.segment.clone()), None, format!("checkpoint at line {line}: tree size {} is smaller than the previous {previous_size}", cp.tree_size));
            }
            previous_size = previous_size.max(cp.tree_size);
            if cp.tree_size > size {
                continue; // reported below as truncation or missing segment
            }
            if cp.tree_size < self.expired_blocks {
                continue; // its blocks expired lawfully: nothing left to recompute
            }
            let recomputed = self.wanted_sizes.get(&cp.tree_size).copied().flatten();
            if recomputed.is_some() && recomputed == cp.root_bytes() {
                if first_mismatch.is_none() {
                    last_good = cp.tree_size;
                }
            } else {
                mismatches += 1;
                if first_mismatch.is_none() {
                    first_mismatch = Some((*line, cp, last_good));
                }
            }
        }
        if let Some((line, cp, good)) = first_mismatch {
            let blocks = good..cp.tree_size;
            let segment = self
                .segment_of_leaf(good)
                .unwrap_or_else(|| cp.segment.clone());
            let block = (blocks.end - blocks.start == 1).then_some(blocks.start);
            self.find_at(FindingKind::CheckpointMismatch, Some(&segment), block.or(Some(blocks.start)), format!("checkpoint at line {line} (tree size {}) does not match the recomputed tree: blocks {}..{} changed \
                         since the checkpoint at tree size {good}; {} later checkpoints also differ",
                         cp.tree_size, blocks.start, blocks.end, mismatches - 1));
        }
        if let Some((line, cp)) = checkpoints.iter().max_by_key(|(_, c)| c.tree_size) {
            self.summary.checkpointed_blocks = cp.tree_size;
            if cp.tree_size > size {
                let segment_present = self.segment_names.contains(&cp.segment);
                let kind = if segment_present {
                    FindingKind::SegmentTruncated
                } else {
                    FindingKind::SegmentMissing
                };
                self.find_at(kind, Some(&cp.segment.clone()), Some(size), format!("checkpoint at line {line} covers {} blocks but the archive holds {size}: blocks {size}..{} are gone",
                        cp.tree_size, cp.tree_size));
            } else if size > cp.tree_size {
                let segment = self.segment_of_leaf(cp.tree_size);
                self.find_at(
                    FindingKind::Uncheckpointed,
                    segment.as_deref(),
                    Some(cp.tree_size),
                    format!(
                        "blocks {}..{size} are not covered by any checkpoint",
                        cp.tree_size
                    ),
                );
            }
        }
    }

    /// A segment removed lawfully: the chain and the tree continue from what its tombstone kept.
    fn expired_segment(&mut self, e: &tombstone::Expired) {
        let name = e.tombstone.segment.clone();
        if let Some((signed, line)) = self.signed_headers.get(&name).copied() {
            use sha2::Digest;
            let actual: Hash = sha2::Sha256::digest(&e.header_bytes).into();
            if actual != signed {
                self.find_at(
                    FindingKind::TombstoneInvalid,
                    Some(&name),
                    None,
                    format!(
                        "the tombstone's segment header differs from the one signed by the checkpoint at line {line}"
                    ),
                );
            }
        }
        self.segment_names.push(name);
        let index = (self.segment_names.len() - 1) as u32;
        let size = e.trailer.tree_size;
        self.leaf_segments
            .resize(usize::try_from(size).unwrap_or(usize::MAX), index);
        self.frontier = e.frontier.clone();
        if let Some(slot) = self.wanted_sizes.get_mut(&size) {
            *slot = Some(self.frontier.root());
        }
        self.prev_chain = e.chain();
        self.expected_block = size;
        self.expired_blocks = size;
        self.previous_closed = true;
        self.next_segment = e.header.number + 1;
        self.summary.expired_segments += 1;
        self.summary.expired_blocks = size;
    }

    fn segment_of_leaf(&self, leaf: u64) -> Option<String> {
        let index = *self.leaf_segments.get(usize::try_from(leaf).ok()?)?;
        self.segment_names.get(index as usize).cloned()
    }

    fn push_leaf(&mut self, leaf: Hash) {
        self.frontier.push(leaf);
        self.leaf_segments
            .push(self.segment_names.len().saturating_sub(1) as u32);
        if let Some(slot) = self.wanted_sizes.get_mut(&self.frontier.size()) {
            *slot = Some(self.frontier.root());
        }
    }

    fn segment(&mut self, name: &str, number: u64, bytes: &[u8]) {
        self.summary.segments += 1;
        self.segment_names.push(name.to_owned());
        if !self.previous_closed {
            let prev = segment_file_name(number.saturating_sub(1));
            self.find_at(
                FindingKind::SegmentTruncated,
                Some(&prev),
                Some(self.expected_block),
                "segment has no trailer but a later segment exists: its end was cut off",
            );
            self.chain_known_broken = true;
        }
        let (header_bytes, mut pos) = match SegmentHeader::decode(bytes) {
            Ok((header, len)) => {
                if header.tenant != self.tenant {
                    self.find_at(
                        FindingKind::SegmentSwapped,
                        Some(name),
                        None,
                        format!("segment belongs to tenant `{}`", header.tenant),
                    );
                }
                if header.number != number {
                    self.find_at(
                        FindingKind::SegmentSwapped,
                        Some(name),
                        None,
                        format!(
                            "segment header says it is {}",
                            segment_file_name(header.number)
                        ),
                    );
                } else if header.prev_chain != self.prev_chain
                    && !self.chain_known_broken
                    && !self.previous_header_altered
                {
                    self.find_at(
                        FindingKind::ChainBroken,
                        Some(name),
                        None,
                        "back link does not match the previous segment's header and trailer",
                    );
                }
                if header.first_block != self.expected_block {
                    // A removed or inserted segment; block-level findings locate it, this only explains.
                    tracing::debug!(
                        segment = name,
                        "first block {} where {} was expected",
                        header.first_block,
                        self.expected_block
                    );
                }
                self.previous_header_altered = false;
                if let Some((signed, line)) = self.signed_headers.get(name).copied() {
                    use sha2::Digest;
                    let actual: Hash = sha2::Sha256::digest(&bytes[..len]).into();
                    if actual != signed {
                        self.previous_header_altered = true;
                        self.find_at(
                            FindingKind::SegmentHeaderAltered,
                            Some(name),
                            None,
                            format!(
                                "segment header differs from the one signed by the checkpoint at line {line}: a header \
                                 field (opened at {}, first block {}, first record {}) was changed",
                                jiff::Timestamp::from_nanosecond(i128::from(header.opened_at_nanos))
                                    .map(|t| t.to_string())
                                    .unwrap_or_else(|_| header.opened_at_nanos.to_string()),
                                header.first_block,
                                header.first_record
                            ),
                        );
                    }
                }
                (bytes[..len].to_vec(), len)
            }
            Err(detail) => {
                self.find_at(FindingKind::SegmentHeaderAltered, Some(name), None, detail);
                self.chain_known_broken = true;
                (Vec::new(), resync(bytes, 8))
            }
        };
        let mut block_indices: Vec<Option<u64>> = Vec::new();
        // The index the next block should have, for locating damage before its header is readable.
        let mut running = self.expected_block;
        let mut trailer: Option<(Trailer, &[u8])> = None;
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            if rest.starts_with(TRAILER_MAGIC) {
                match Trailer::decode(rest) {
                    Ok(t) => {
                        trailer = Some((t, &rest[..TRAILER_LEN]));
                        if rest.len() > TRAILER_LEN {
                            self.find_at(
                                FindingKind::SegmentTruncated,
                                Some(name),
                                None,
                                format!(
                                    "{} bytes follow the segment trailer",
                                    rest.len() - TRAILER_LEN
                                ),
                            );
                        }
                        break;
                    }
                    Err(detail) => {
                        self.find_at(
                            FindingKind::SegmentTruncated,
                            Some(name),
                            Some(running),
                            format!("damaged trailer: {detail}"),
                        );
                        break;
                    }
                }
            }
            if rest.len() < BLOCK_HEADER_LEN {
                self.find_at(
                    FindingKind::SegmentTruncated,
                    Some(name),
                    Some(running),
                    format!("segment ends inside a block header ({} bytes)", rest.len()),
                );
                break;
            }
            let header = match BlockHeader::decode(&rest[..BLOCK_HEADER_LEN]) {
                Ok(h) => h,
                Err(detail) => {
                    self.find_at(
                        FindingKind::BlockAltered,
                        Some(name),
                        Some(running),
                        format!("block header at offset {pos}: {detail}"),
                    );
                    block_indices.push(None);
                    running += 1;
                    pos = resync(bytes, pos + 1);
                    continue;
                }
            };
            let total = header.encoded_len();
            if (rest.len() as u64) < total {
                self.find_at(
                    FindingKind::SegmentTruncated,
                    Some(name),
                    Some(header.block_index),
                    format!(
                        "segment ends inside block {} ({} of {total} bytes)",
                        header.block_index,
                        rest.len()
                    ),
                );
                break;
            }
            let total = total as usize;
            let header_bytes = &rest[..BLOCK_HEADER_LEN];
            let payload = &rest[BLOCK_HEADER_LEN..total - 32];
            let mut root = [0u8; 32];
            root.copy_from_slice(&rest[total - 32..total]);
            self.push_leaf(block_leaf(header_bytes, &root));
            block_indices.push(Some(header.block_index));
            running = running.max(header.block_index + 1);
            self.check_block_contents(name, &header, payload, &root);
            pos += total;
        }
        self.check_block_order(name, &block_indices);
        match trailer {
            Some((t, trailer_bytes)) => {
                let blocks_here = block_indices.len() as u64;
                if t.block_count != blocks_here || t.tree_size != self.frontier.size() {
                    let kind = if t.block_count > blocks_here {
                        FindingKind::SegmentTruncated
                    } else {
                        FindingKind::BlockAltered
                    };
                    self.find_at(kind, Some(name), None, format!(
                        "trailer says {} blocks (tree size {}), segment holds {blocks_here} (tree size {})",
                        t.block_count, t.tree_size, self.frontier.size()));
                } else if t.log_root != self.frontier.root() && !self.trailer_root_broken {
                    self.trailer_root_broken = true;
                    self.find_at(FindingKind::ChainBroken, Some(name), None, "trailer's log root differs from the recomputed tree: blocks of this segment (or an earlier one) were rewritten");
                }
                self.prev_chain = chain_hash(&header_bytes, trailer_bytes);
                self.previous_closed = true;
            }
            // A missing trailer is reported when (and if) a later segment is seen.
            None => self.previous_closed = false,
        }
    }

    /// Locates removed and reordered blocks of one segment from the indices in file order (`None`: a block whose
    /// header was unreadable, assumed to be the expected one).
    fn check_block_order(&mut self, name: &str, indices: &[Option<u64>]) {
        let mut expected = self.expected_block;
        let mut seen = HashSet::with_capacity(indices.len());
        let mut max_seen: Option<u64> = None;
        // suffix_min[i] = smallest known index at positions ≥ i: tells whether missing blocks come later.
        let mut suffix_min = vec![u64::MAX; indices.len() + 1];
        for i in (0..indices.len()).rev() {
            suffix_min[i] = suffix_min[i + 1].min(indices[i].unwrap_or(u64::MAX));
        }
        for (position, index) in indices.iter().enumerate() {
            let Some(index) = *index else {
                expected += 1;
                continue;
            };
            let duplicate = !seen.insert(index);
            if duplicate || max_seen.is_some_and(|m| index < m) || index < expected {
                self.find_at(
                    FindingKind::BlockReordered,
                    Some(name),
                    Some(index),
                    format!(
                        "block {index} appears after block {}",
                        max_seen.unwrap_or(expected.saturating_sub(1))
                    ),
                );
            } else if index > expected && suffix_min[position + 1] >= index {
                self.find_at(
                    FindingKind::BlockRemoved,
                    Some(name),
                    Some(expected),
                    format!("blocks {expected}..{index} are missing"),
                );
            }
            expected = expected.max(index.saturating_add(1));
            max_seen = max_seen.max(Some(index));
        }
        self.expected_block = expected;
    }

    fn check_block_contents(
        &mut self,
        name: &str,
        header: &BlockHeader,
        payload: &[u8],
        root: &Hash,
    ) {
        let block = Some(header.block_index);
        if header.uncompressed_len > MAX_BLOCK_BYTES {
            self.find_at(
                FindingKind::BlockAltered,
                Some(name),
                block,
                "implausible uncompressed length",
            );
            return;
        }
        // Streamed, so a forged length cannot make the verifier allocate more than the payload really holds.
        let mut data = Vec::new();
        let decoded = zstd::stream::read::Decoder::with_buffer(payload).and_then(|decoder| {
            decoder
                .take(u64::from(header.uncompressed_len) + 1)
                .read_to_end(&mut data)
        });
        if let Err(e) = decoded {
            self.find_at(
                FindingKind::BlockAltered,
                Some(name),
                block,
                format!("payload does not decompress: {e}"),
            );
            return;
        }
        if data.len() != header.uncompressed_len as usize {
            self.find_at(
                FindingKind::BlockAltered,
                Some(name),
                block,
                format!(
                    "payload decompresses to {} bytes, header says {}",
                    data.len(),
                    header.uncompressed_len
                ),
            );
        }
        let read = format::block_records(header, &data);
        let findings_before = self.findings.len();
        let first = header.first_record;
        let end = first + u64::from(header.record_count);
        let leaves: Vec<Hash> = read.iter().map(leaf_hash).collect();
        let decoded: Vec<_> = read.iter().map(format::decode_record).collect();
        let event_id = |position: usize| {
            decoded
                .get(position)
                .and_then(|f| f.as_ref().ok())
                .map(|f| f.event_id)
        };
        let hints_changed = if header.version == 1 {
            self.check_record_order(name, header, &read, &decoded)
        } else {
            if let Some(e) = &read.error {
                self.find_at(FindingKind::BlockAltered, Some(name), block, e.clone());
                return;
            }
            if read.len() != header.record_count as usize {
                self.find(
                    FindingKind::RecordRemoved,
                    Some(name),
                    block,
                    Some(first + read.len().min(header.record_count as usize) as u64),
                    None,
                    format!(
                        "the block holds {} records, its header says {}",
                        read.len(),
                        header.record_count
                    ),
                );
            }
            Vec::new()
        };
        self.summary.records += read.len() as u64;
        if header.version == 1
            && let Some(e) = &read.error
        {
            self.find(
                FindingKind::BlockAltered,
                Some(name),
                block,
                Some(first + read.len() as u64),
                None,
                e.clone(),
            );
        }
        let root_matches = crate::merkle::root(&leaves) == *root;
        for (index, event_id) in hints_changed {
            let (kind, detail) = if root_matches {
                (
                    FindingKind::HintAltered,
                    "the record's locator hint was changed; the record itself is intact (its block root matches)",
                )
            } else {
                (
                    FindingKind::RecordAltered,
                    "record bytes differ from what was sealed",
                )
            };
            self.find(kind, Some(name), block, Some(index), event_id, detail);
        }
        if header.version >= 2 {
            // The locator (not hashed) names the records whose leaves changed, one per group of 256.
            let located = crate::columns::locate(read.records.locator, &leaves);
            if root_matches && !located.is_empty() {
                self.find_at(
                    FindingKind::HintAltered,
                    Some(name),
                    block,
                    "the block's record locator was changed; the records are intact (their block root matches)",
                );
            } else if !root_matches {
                for place in located {
                    match place {
                        crate::columns::Located::One(position) => self.find(
                            FindingKind::RecordAltered,
                            Some(name),
                            block,
                            Some(first + position as u64),
                            event_id(position),
                            "record bytes differ from what was sealed",
                        ),
                        crate::columns::Located::Several(from, to) => self.find(
                            FindingKind::RecordAltered,
                            Some(name),
                            block,
                            Some(first + from as u64),
                            event_id(from),
                            format!(
                                "records {}..{} differ from what was sealed (more than one of them)",
                                first + from as u64,
                                first + to as u64
                            ),
                        ),
                    }
                }
            }
        }
        if expected_end_missing(header, &read) && self.findings.len() == findings_before {
            let expected = first + read.len() as u64;
            self.find(
                FindingKind::RecordRemoved,
                Some(name),
                block,
                Some(expected),
                None,
                format!("records {expected}..{end} are missing at the end of the block"),
            );
        }
        if !root_matches && self.findings.len() == findings_before {
            self.find_at(
                FindingKind::BlockAltered,
                Some(name),
                block,
                "records do not hash to the block root",
            );
        }
    }

    /// Format 1 records carry their own indices: a record removed, repeated or moved is named by them. Returns
    /// the records whose hints disagree with their bytes (the block root tells whether the record changed).
    fn check_record_order(
        &mut self,
        name: &str,
        header: &BlockHeader,
        read: &format::BlockRecords<'_>,
        decoded: &[Result<format::RecordFields<'_>, String>],
    ) -> Vec<(u64, Option<EventId>)> {
        let block = Some(header.block_index);
        let first = header.first_record;
        let indices: Vec<u64> = decoded
            .iter()
            .enumerate()
            .map(|(position, f)| match f {
                Ok(f) => f.record_index,
                Err(_) => first + position as u64,
            })
            .collect();
        // suffix_min[i] = smallest index at positions ≥ i: tells whether a gap's records come later (reordered).
        let mut suffix_min = vec![u64::MAX; indices.len() + 1];
        for i in (0..indices.len()).rev() {
            suffix_min[i] = suffix_min[i + 1].min(indices[i]);
        }
        let mut seen = HashSet::with_capacity(read.len());
        let mut hints_changed = Vec::new();
        let mut max_seen: Option<u64> = None;
        let mut expected = first;
        for (position, record) in read.iter().enumerate() {
            let leaf = leaf_hash(record);
            let index = indices[position];
            let event_id = decoded[position].as_ref().ok().map(|f| f.event_id);
            if decoded[position].is_ok() && read.hints[position][..] != leaf[..HINT_LEN] {
                // Either the hint alone changed or the record too: the block root tells which.
                hints_changed.push((index, event_id));
            } else if decoded[position].is_err() {
                self.find(
                    FindingKind::RecordAltered,
                    Some(name),
                    block,
                    Some(index),
                    event_id,
                    "record bytes differ from what was sealed",
                );
            }
            let duplicate = !seen.insert(index);
            if duplicate || max_seen.is_some_and(|m| index < m) {
                self.find(
                    FindingKind::RecordReordered,
                    Some(name),
                    block,
                    Some(index),
                    event_id,
                    format!("record {index} appears out of order"),
                );
            } else if index > expected && suffix_min[position + 1] >= index {
                self.find(
                    FindingKind::RecordRemoved,
                    Some(name),
                    block,
                    Some(expected),
                    None,
                    format!(
                        "records {expected}..{index} are missing (before event {})",
                        event_id.map(|e| e.to_string()).unwrap_or_default()
                    ),
                );
            }
            expected = expected.max(index.saturating_add(1));
            max_seen = max_seen.max(Some(index));
        }
        hints_changed
    }
}

/// Whether a format 1 block's records end before its header's count (format 2 counts are checked exactly).
fn expected_end_missing(header: &BlockHeader, read: &format::BlockRecords<'_>) -> bool {
    header.version == 1 && (read.len() as u64) < u64::from(header.record_count)
}

/// The next offset at or after `from` where a valid block header or trailer starts (or the end).
fn resync(bytes: &[u8], from: usize) -> usize {
    let mut pos = from;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.starts_with(BLOCK_MAGIC)
            && rest.len() >= BLOCK_HEADER_LEN
            && BlockHeader::decode(&rest[..BLOCK_HEADER_LEN]).is_ok()
        {
            return pos;
        }
        if rest.starts_with(TRAILER_MAGIC) && Trailer::decode(rest).is_ok() {
            return pos;
        }
        pos += 1;
    }
    bytes.len()
}
