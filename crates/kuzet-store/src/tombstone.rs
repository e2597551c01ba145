//! Lawful expiry of archive segments (R3: logs are kept at least three years, then may go). A segment is removed
//! only when it is closed and its retention has ended, oldest first, and only after a **signed tombstone** is
//! durable in the tenant's `tombstones.log`: the removed segment's header and trailer, the first record after
//! it, and the log tree's frontier at its end — enough for the verifier to continue the hash chain and the
//! Merkle tree over the segments that remain, and for inclusion proofs of later events. A segment missing
//! without a tombstone is tampering; one removed before its retention ended is reported even with a valid
//! signature. Format: `docs/formats/archive.md` ("Expiry and tombstones").

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use jiff::{Span, Timestamp, tz::TimeZone};
use kuzet_model::TenantId;
use sha2::Digest as _;

use crate::format::{SegmentHeader, TRAILER_LEN, Trailer, chain_hash, segment_file_name};
use crate::merkle::{Frontier, Hash};
use crate::{Signer, StoreError, VerifyingKey};

pub const TOMBSTONES_FILE: &str = "tombstones.log";

/// The legal floor of archive retention (R3: three years).
pub const MIN_ARCHIVE_YEARS: u32 = 3;

/// One line of `tombstones.log`: the record that segment `n` of a tenant's log was removed lawfully.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tombstone {
    pub v: u32,
    pub tenant: String,
    /// The tombstone's number, from 0: tombstone `n` removes segment `n` (expiry goes oldest first).
    pub n: u64,
    /// Hex SHA-256 of the previous tombstone's signed message (64 zeros for the first).
    pub prev: String,
    pub segment: String,
    /// Hex of the removed segment's header bytes.
    pub header: String,
    /// Hex of its trailer bytes (block count, tree size and log root after it).
    pub trailer: String,
    /// The first record after the segment (the next segment's `first_record`).
    pub records: u64,
    /// Hex roots of the log tree's perfect subtrees at the trailer's tree size, largest first.
    pub frontier: Vec<String>,
    /// The retention the removal applied, in years (never below [`MIN_ARCHIVE_YEARS`]).
    pub archive_years: u32,
    /// RFC 3339 UTC: when the retention ended — `archive_years` years after the day after the segment opened.
    pub kept_until: String,
    /// RFC 3339 UTC: when the segment was removed.
    pub time: String,
    /// Hex of the Ed25519 signature over [`Tombstone::message`].
    pub sig: String,
}

/// What a tombstone says, decoded and checked against the one before it.
#[derive(Debug, Clone)]
pub(crate) struct Expired {
    pub tombstone: Tombstone,
    pub header: SegmentHeader,
    pub header_bytes: Vec<u8>,
    pub trailer: Trailer,
    pub trailer_bytes: Vec<u8>,
    pub frontier: Frontier,
}

impl Expired {
    /// The back link the segment after this one must carry.
    pub fn chain(&self) -> Hash {
        chain_hash(&self.header_bytes, &self.trailer_bytes)
    }
}

/// A tombstone log that does not hold together: which line, what kind of problem, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TombstoneProblem {
    pub line: usize,
    pub kind: ProblemKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProblemKind {
    /// Malformed, signed by another key, or naming another tenant.
    Forged,
    /// Out of sequence, not linked to the one before, or not continuing the chain and tree.
    Altered,
    /// Validly signed, but the segment was removed before its retention ended.
    Early,
}

impl Tombstone {
    pub const VERSION: u32 = 1;

    /// The exact bytes signed: `kuzet-tombstone-v1\n<tenant>\n<n>\n<prev>\n<segment>\n<header>\n<trailer>\n
    /// <records>\n<frontier, comma-separated>\n<archive_years>\n<kept_until>\n<time>\n`.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "kuzet-tombstone-v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
            self.tenant,
            self.n,
            self.prev,
            self.segment,
            self.header,
            self.trailer,
            self.records,
            self.frontier.join(","),
            self.archive_years,
            self.kept_until,
            self.time
        )
        .into_bytes()
    }

    pub fn message_hash(&self) -> Hash {
        sha2::Sha256::digest(self.message()).into()
    }

    pub fn signature_ok(&self, key: &VerifyingKey) -> bool {
        self.v == Self::VERSION
            && crate::format::lower_hex::<64>(&self.sig)
                .is_some_and(|sig| key.verify(&self.message(), &sig))
    }

    pub fn to_line(&self) -> String {
        // Serializing a struct of strings, integers and a list of strings cannot fail.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// When the retention of a segment opened at `opened_at_nanos` ends: `years` calendar years (UTC) after the
/// instant one day after it opened. A segment holds one local day at most, so this is never before the end of
/// that day's retention, whatever the day offset.
pub(crate) fn kept_until(opened_at_nanos: i64, years: u32) -> Option<Timestamp> {
    let opened = Timestamp::from_nanosecond(i128::from(opened_at_nanos)).ok()?;
    opened
        .to_zoned(TimeZone::UTC)
        .checked_add(Span::new().days(1).years(i64::from(years)))
        .ok()
        .map(|z| z.timestamp())
}

/// Reads and checks a tenant's tombstone log. Returns the tombstones that hold together (a prefix) and the
/// problems found; a torn last line (a crash while appending) is ignored, as the segment it names is then still
/// present.
pub(crate) fn read(
    bytes: &[u8],
    tenant: &str,
    key: &VerifyingKey,
) -> (Vec<Expired>, Vec<TombstoneProblem>) {
    let mut kept: Vec<Expired> = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        if !line.ends_with(b"\n") {
            break;
        }
        let problem = |kind, detail: String| TombstoneProblem {
            line: line_no,
            kind,
            detail,
        };
        let parsed = match serde_json::from_slice::<Tombstone>(&line[..line.len() - 1]) {
            Ok(t) => t,
            Err(e) => {
                problems.push(problem(
                    ProblemKind::Forged,
                    format!("tombstone at line {line_no} is malformed: {e}"),
                ));
                break;
            }
        };
        if parsed.tenant != tenant || !parsed.signature_ok(key) {
            problems.push(problem(
                ProblemKind::Forged,
                format!(
                    "tombstone at line {line_no} ({}): its signature does not verify with this key or it names another tenant",
                    parsed.segment
                ),
            ));
            break;
        }
        match check_next(kept.last(), parsed, line_no) {
            Ok((expired, early)) => {
                if let Some(detail) = early {
                    problems.push(problem(ProblemKind::Early, detail));
                }
                kept.push(expired);
            }
            Err(detail) => {
                problems.push(problem(ProblemKind::Altered, detail));
                break;
            }
        }
    }
    (kept, problems)
}

/// Checks that a (validly signed) tombstone follows `previous`: its number, back link, segment, the chain and
/// tree it continues. Returns the decoded tombstone and, separately, whether it was removed too early.
fn check_next(
    previous: Option<&Expired>,
    t: Tombstone,
    line: usize,
) -> Result<(Expired, Option<String>), String> {
    let at = format!("tombstone at line {line} ({})", t.segment);
    let expected_n = previous.map_or(0, |p| p.tombstone.n + 1);
    if t.n != expected_n {
        return Err(format!(
            "{at} is number {} but {expected_n} was expected: tombstones were removed, repeated or reordered",
            t.n
        ));
    }
    let expected_prev = previous.map_or([0u8; 32], |p| p.tombstone.message_hash());
    if t.prev != hex::encode(expected_prev) {
        return Err(format!("{at} does not link to the tombstone before it"));
    }
    if t.segment != segment_file_name(t.n) {
        return Err(format!("{at} must name segment {}", segment_file_name(t.n)));
    }
    let header_bytes = hex::decode(&t.header).map_err(|e| format!("{at}: header: {e}"))?;
    let (header, len) =
        SegmentHeader::decode(&header_bytes).map_err(|e| format!("{at}: header: {e}"))?;
    let trailer_bytes = hex::decode(&t.trailer).map_err(|e| format!("{at}: trailer: {e}"))?;
    if len != header_bytes.len() || trailer_bytes.len() != TRAILER_LEN {
        return Err(format!("{at}: header or trailer has the wrong length"));
    }
    let trailer = Trailer::decode(&trailer_bytes).map_err(|e| format!("{at}: trailer: {e}"))?;
    let (prev_chain, first_block, first_record) = match previous {
        Some(p) => (p.chain(), p.trailer.tree_size, p.tombstone.records),
        None => ([0u8; 32], 0, 0),
    };
    if header.number != t.n || header.tenant != t.tenant {
        return Err(format!("{at}: the header names another segment or tenant"));
    }
    if header.prev_chain != prev_chain
        || header.first_block != first_block
        || header.first_record != first_record
    {
        return Err(format!(
            "{at}: the segment does not continue the one before it (back link, first block or first record)"
        ));
    }
    if trailer.tree_size != first_block + trailer.block_count || t.records < first_record {
        return Err(format!("{at}: its trailer or record count does not add up"));
    }
    let hashes: Vec<Hash> = t
        .frontier
        .iter()
        .map(|h| hex::decode(h).ok().and_then(|b| b.try_into().ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("{at}: frontier is not a list of hashes"))?;
    let frontier = Frontier::from_hashes(trailer.tree_size, &hashes)
        .filter(|f| f.root() == trailer.log_root)
        .ok_or_else(|| format!("{at}: its frontier does not give the trailer's log root"))?;
    let early = match (
        kept_until(header.opened_at_nanos, t.archive_years),
        t.time.parse::<Timestamp>(),
    ) {
        (Some(until), Ok(removed))
            if t.archive_years >= MIN_ARCHIVE_YEARS
                && until <= removed
                && t.kept_until == until.to_string() =>
        {
            None
        }
        (until, removed) => Some(format!(
            "{at}: removed at {} under a retention of {} years, but the segment had to be kept until {} \
             (at least {MIN_ARCHIVE_YEARS} years, R3)",
            removed
                .map(|r| r.to_string())
                .unwrap_or_else(|_| t.time.clone()),
            t.archive_years,
            kept_until(
                header.opened_at_nanos,
                t.archive_years.max(MIN_ARCHIVE_YEARS)
            )
            .or(until)
            .map(|u| u.to_string())
            .unwrap_or_default()
        )),
    };
    Ok((
        Expired {
            tombstone: t,
            header,
            header_bytes,
            trailer,
            trailer_bytes,
            frontier,
        },
        early,
    ))
}

/// Reads a tombstone log's bytes as the verifier does: the tombstones that hold together (a prefix) and what is
/// wrong with the rest, in words. For fuzzing and tools; `kuzet verify` reports the same as findings.
#[doc(hidden)]
pub fn check_tombstones(
    bytes: &[u8],
    tenant: &str,
    key: &VerifyingKey,
) -> (Vec<Tombstone>, Vec<String>) {
    let (kept, problems) = read(bytes, tenant, key);
    (
        kept.into_iter().map(|e| e.tombstone).collect(),
        problems.into_iter().map(|p| p.detail).collect(),
    )
}

/// Reads `dir/tombstones.log` for the store: every problem is an error (the verifier reports them instead).
pub(crate) fn load(
    dir: &Path,
    tenant: &str,
    key: &VerifyingKey,
) -> Result<Vec<Expired>, StoreError> {
    let path = dir.join(TOMBSTONES_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(&path)(e)),
    };
    let (kept, problems) = read(&bytes, tenant, key);
    if let Some(problem) = problems.first() {
        return Err(StoreError::corrupt(
            &path,
            format!("{}; run `kuzet verify`", problem.detail),
        ));
    }
    Ok(kept)
}

/// One segment removed by [`expire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    pub tenant: TenantId,
    pub segment: String,
    pub blocks: u64,
    /// Records the segment held.
    pub records: u64,
    pub opened_at: Timestamp,
    pub kept_until: Timestamp,
    /// The signed tombstone line, as appended to `tombstones.log`.
    pub tombstone: Tombstone,
}

/// Removes the oldest closed segments of `tenant` whose retention of `archive_years` has ended at `now`, each
/// only after its signed tombstone is durable. Refuses a retention below the legal floor. Finishes an expiry a
/// crash interrupted (a tombstone written, its segment still present). Never touches the open segment.
pub fn expire(
    archive_dir: &Path,
    tenant: &TenantId,
    signer: &Signer,
    archive_years: u32,
    now: Timestamp,
) -> Result<Vec<Expiry>, StoreError> {
    if archive_years < MIN_ARCHIVE_YEARS {
        return Err(StoreError::Config(format!(
            "archive retention of {archive_years} years is below the legal floor of {MIN_ARCHIVE_YEARS} years \
             (R3: event logs are kept at least three years)"
        )));
    }
    let dir = archive_dir.join(tenant.as_str());
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let key = signer.verifying_key();
    let mut expired = load(&dir, tenant.as_str(), &key)?;
    remove_tombstoned(&dir, expired.len() as u64)?;
    let segments = crate::archive::list_segments(&dir)?;
    let mut out = Vec::new();
    let path = dir.join(TOMBSTONES_FILE);
    let mut log: Option<fs::File> = None;
    for (number, segment_path) in segments {
        if number != expired.len() as u64 {
            return Err(StoreError::corrupt(
                &segment_path,
                format!(
                    "segment {} is missing without a tombstone; run `kuzet verify`",
                    segment_file_name(expired.len() as u64)
                ),
            ));
        }
        let scanned = crate::archive::scan_segment(&segment_path)?;
        let Some((trailer, trailer_bytes)) = scanned.trailer else {
            break; // the open segment
        };
        let Some(until) = kept_until(scanned.header.opened_at_nanos, archive_years) else {
            break;
        };
        if until > now {
            break;
        }
        let mut frontier = expired
            .last()
            .map(|e| e.frontier.clone())
            .unwrap_or_default();
        let mut records = scanned.header.first_record;
        for block in &scanned.blocks {
            frontier.push(block.leaf);
            records = block.header.first_record + u64::from(block.header.record_count);
        }
        let previous = expired.last();
        let prev = previous.map_or([0u8; 32], |p| p.tombstone.message_hash());
        let prev_chain = previous.map_or([0u8; 32], Expired::chain);
        if frontier.size() != trailer.tree_size
            || frontier.root() != trailer.log_root
            || scanned.header.prev_chain != prev_chain
        {
            return Err(StoreError::corrupt(
                &segment_path,
                "segment does not match its trailer or the chain; refusing to expire it, run `kuzet verify`",
            ));
        }
        let mut tombstone = Tombstone {
            v: Tombstone::VERSION,
            tenant: tenant.as_str().to_owned(),
            n: number,
            prev: hex::encode(prev),
            segment: segment_file_name(number),
            header: hex::encode(&scanned.header_bytes),
            trailer: hex::encode(trailer_bytes),
            records,
            frontier: frontier.hashes().iter().map(hex::encode).collect(),
            archive_years,
            kept_until: until.to_string(),
            time: now.to_string(),
            sig: String::new(),
        };
        tombstone.sig = hex::encode(signer.sign(&tombstone.message()));
        let line = tombstone.to_line();
        if log.is_none() {
            let existed = path.exists();
            let open = || OpenOptions::new().create(true).append(true).open(&path);
            let file = if existed {
                open()
            } else {
                crate::durable::open_created(open)
            }
            .map_err(StoreError::io(&path))?;
            if !existed {
                crate::durable::sync_dir(&dir)?;
            }
            log = Some(file);
        }
        if let Some(file) = log.as_mut() {
            file.write_all(line.as_bytes())
                .and_then(|()| crate::durable::sync_file(file))
                .map_err(StoreError::io(&path))?;
        }
        fs::remove_file(&segment_path).map_err(StoreError::io(&segment_path))?;
        crate::durable::sync_dir(&dir)?;
        tracing::info!(tenant = %tenant, segment = %tombstone.segment, kept_until = %until, "archive segment expired");
        let (checked, early) = check_next(expired.last(), tombstone.clone(), 0)
            .map_err(|d| StoreError::corrupt(&path, d))?;
        debug_assert!(early.is_none());
        out.push(Expiry {
            tenant: tenant.clone(),
            segment: tombstone.segment.clone(),
            blocks: scanned.blocks.len() as u64,
            records: records - scanned.header.first_record,
            opened_at: Timestamp::from_nanosecond(i128::from(scanned.header.opened_at_nanos))
                .unwrap_or(Timestamp::UNIX_EPOCH),
            kept_until: until,
            tombstone,
        });
        expired.push(checked);
    }
    Ok(out)
}

/// Removes segments `0..count` still present: a crash between a tombstone and its removal.
pub(crate) fn remove_tombstoned(dir: &Path, count: u64) -> Result<(), StoreError> {
    let mut removed = false;
    for (number, path) in crate::archive::list_segments(dir)? {
        if number < count {
            tracing::warn!(file = %path.display(), "removing a segment its tombstone already expired");
            fs::remove_file(&path).map_err(StoreError::io(&path))?;
            removed = true;
        }
    }
    if removed {
        crate::durable::sync_dir(dir)?;
    }
    Ok(())
}

/// The frontier of the last tombstone (the expired prefix of the log tree), without checking signatures: for
/// inclusion proofs, which are verified against a signed checkpoint anyway.
pub(crate) fn expired_prefix(dir: &Path) -> Result<Frontier, StoreError> {
    let path = dir.join(TOMBSTONES_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Frontier::new()),
        Err(e) => return Err(StoreError::io(&path)(e)),
    };
    // Complete lines only: a torn last line was never a tombstone (its segment is still present).
    let Some(line) = bytes
        .split_inclusive(|&b| b == b'\n')
        .filter_map(|l| l.strip_suffix(b"\n"))
        .next_back()
    else {
        return Ok(Frontier::new());
    };
    let bad = |d: String| StoreError::corrupt(&path, d);
    let t: Tombstone = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
    let trailer = hex::decode(&t.trailer)
        .ok()
        .and_then(|b| Trailer::decode(&b).ok())
        .ok_or_else(|| bad("last tombstone: unreadable trailer".into()))?;
    let hashes: Option<Vec<Hash>> = t
        .frontier
        .iter()
        .map(|h| hex::decode(h).ok().and_then(|b| b.try_into().ok()))
        .collect();
    hashes
        .and_then(|h| Frontier::from_hashes(trailer.tree_size, &h))
        .ok_or_else(|| bad("last tombstone: unreadable frontier".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment header and trailer for segment 0 holding one block with leaf `leaf`, opened at `opened`.
    fn tombstone(signer: &Signer, opened: Timestamp, years: u32, removed: Timestamp) -> Tombstone {
        let header = SegmentHeader {
            version: 2,
            tenant: "alpha".into(),
            number: 0,
            first_block: 0,
            first_record: 0,
            opened_at_nanos: i64::try_from(opened.as_nanosecond()).unwrap(),
            prev_chain: [0; 32],
        };
        let mut frontier = Frontier::new();
        frontier.push([9; 32]);
        let trailer = Trailer {
            block_count: 1,
            tree_size: 1,
            log_root: frontier.root(),
        };
        let until = kept_until(header.opened_at_nanos, years).unwrap();
        let mut t = Tombstone {
            v: Tombstone::VERSION,
            tenant: "alpha".into(),
            n: 0,
            prev: hex::encode([0u8; 32]),
            segment: segment_file_name(0),
            header: hex::encode(header.encode()),
            trailer: hex::encode(trailer.encode()),
            records: 10,
            frontier: frontier.hashes().iter().map(hex::encode).collect(),
            archive_years: years,
            kept_until: until.to_string(),
            time: removed.to_string(),
            sig: String::new(),
        };
        t.sig = hex::encode(signer.sign(&t.message()));
        t
    }

    proptest::proptest! {
        /// A valid tombstone with any bytes changed is either refused with a reason or reads back as the same
        /// tombstone (a change JSON ignores); it never reads as another one.
        #[test]
        fn a_changed_tombstone_never_reads_as_another(flips in proptest::collection::vec((0usize..4096, 1u8..=255), 1..4)) {
            let signer = Signer::from_seed([3; 32]);
            let opened: Timestamp = "2022-03-01T06:00:00Z".parse().unwrap();
            let original = tombstone(&signer, opened, 3, "2025-03-03T06:00:00Z".parse().unwrap());
            let mut line = original.to_line().into_bytes();
            let body = line.len() - 1;
            for (at, xor) in flips {
                line[at % body] ^= xor;
            }
            let (kept, problems) = read(&line, "alpha", &signer.verifying_key());
            if problems.is_empty() {
                proptest::prop_assert_eq!(kept.len(), 1);
                proptest::prop_assert_eq!(&kept[0].tombstone, &original);
            } else {
                proptest::prop_assert!(kept.is_empty());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_reader(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = read(&bytes, "alpha", &Signer::from_seed([3; 32]).verifying_key());
        }
    }

    #[test]
    fn a_re_cased_signature_is_refused() {
        let signer = Signer::from_seed([3; 32]);
        let opened: Timestamp = "2022-03-01T06:00:00Z".parse().unwrap();
        let mut t = tombstone(&signer, opened, 3, "2025-03-03T06:00:00Z".parse().unwrap());
        assert!(t.signature_ok(&signer.verifying_key()));
        t.sig = t.sig.to_uppercase();
        assert!(!t.signature_ok(&signer.verifying_key()));
        let (kept, problems) = read(t.to_line().as_bytes(), "alpha", &signer.verifying_key());
        assert!(kept.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn a_signed_removal_before_its_time_is_still_reported() {
        let signer = Signer::from_seed([3; 32]);
        let key = signer.verifying_key();
        let opened: Timestamp = "2022-03-01T06:00:00Z".parse().unwrap();
        let lawful: Timestamp = "2025-03-02T06:00:00Z".parse().unwrap();
        let cases = [
            (3, lawful, None),
            (
                3,
                lawful - jiff::SignedDuration::from_secs(1),
                Some(ProblemKind::Early),
            ),
            // One year's retention, even if its own arithmetic holds, is below the floor.
            (1, lawful, Some(ProblemKind::Early)),
        ];
        for (years, removed, expected) in cases {
            let line = tombstone(&signer, opened, years, removed).to_line();
            let (kept, problems) = read(line.as_bytes(), "alpha", &key);
            assert_eq!(kept.len(), 1, "a signed tombstone still continues the tree");
            assert_eq!(
                problems.first().map(|p| p.kind),
                expected,
                "{years} {removed}: {problems:?}"
            );
            if let Some(p) = problems.first() {
                assert!(
                    p.detail
                        .contains("had to be kept until 2025-03-02T06:00:00Z"),
                    "{}",
                    p.detail
                );
            }
        }
        // Another key, another tenant: forged.
        let line = tombstone(&Signer::from_seed([4; 32]), opened, 3, lawful).to_line();
        assert_eq!(
            read(line.as_bytes(), "alpha", &key).1[0].kind,
            ProblemKind::Forged
        );
        assert_eq!(
            read(
                line.as_bytes(),
                "beta",
                &Signer::from_seed([4; 32]).verifying_key()
            )
            .1[0]
                .kind,
            ProblemKind::Forged
        );
    }
}
