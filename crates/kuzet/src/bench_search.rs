//! `kuzet bench gen` and `kuzet bench search`: a reproducible data set of several organizations (Windows, Linux,
//! network and web events with attack scenarios mixed in, `generate.rs`), sealed and indexed as `serve` would,
//! then searched — latency percentiles beside `zstdcat | rg` (or `grep`) over the same raw events in the same run,
//! bytes per event in the index and the archive, and the indexing rate.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use jiff::{SignedDuration, Timestamp};
use kuzet_model::{FormatHint, RawEvent, SourceId, TenantId, Transport};

use crate::generate::{self, Generated, Rng};

/// The data set's shape.
#[derive(Debug, Clone, clap::Args)]
pub struct DataSet {
    /// Events in all.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Organizations (tenants `org-1`, `org-2`, …).
    #[arg(long, default_value_t = 3)]
    pub tenants: usize,
    /// Days the events spread over, ending at `--end`.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// The instant the data set ends (RFC 3339).
    #[arg(long, default_value = "2026-12-01T00:00:00Z")]
    pub end: String,
    /// The generator's seed: the same seed gives the same events.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// One generated event: its tenant (index), when it happened and its line.
pub struct Item {
    pub tenant: usize,
    pub at: Timestamp,
    pub event: Generated,
}

impl DataSet {
    fn tenant_ids(&self) -> Result<Vec<TenantId>> {
        (1..=self.tenants.max(1))
            .map(|i| TenantId::new(format!("org-{i}")).map_err(Into::into))
            .collect()
    }

    /// The events, in time order, made as they are read (the same ones on every call: memory stays flat at
    /// any size); every 2,000th is the start of an attack scenario.
    pub fn items(&self) -> Result<impl Iterator<Item = Item> + use<>> {
        let end: Timestamp = self.end.parse().context("--end")?;
        let span = SignedDuration::from_hours(24 * i64::from(self.days.max(1)));
        let start = end - span;
        let (events, tenants) = (self.events, self.tenants.max(1) as u64);
        let step = span.as_nanos() / events.max(1) as i128;
        let mut rng = Rng::new(self.seed);
        let mut i = 0i128;
        let mut made = 0usize;
        let mut scenario: std::collections::VecDeque<Item> = std::collections::VecDeque::new();
        Ok(std::iter::from_fn(move || {
            if made >= events {
                return None;
            }
            made += 1;
            if let Some(item) = scenario.pop_front() {
                return Some(item);
            }
            loop {
                let at = start + SignedDuration::from_nanos((step * i) as i64);
                i += 1;
                let tenant = rng.below(tenants) as usize;
                if i % 2000 == 0 {
                    scenario.extend(
                        generate::scenario(&mut rng, at, (i / 2000) as u64)
                            .into_iter()
                            .map(|event| Item { tenant, at, event }),
                    );
                    match scenario.pop_front() {
                        Some(item) => return Some(item),
                        None => continue,
                    }
                }
                let event = generate::background(&mut rng, at);
                return Some(Item { tenant, at, event });
            }
        }))
    }
}

fn line_of(event: &Generated) -> (&str, FormatHint) {
    match event {
        Generated::Syslog(line) => (line, FormatHint::Syslog),
        Generated::Json(doc) => (doc, FormatHint::Json),
    }
}

/// `kuzet bench gen`: writes `<out>/<tenant>.log` (one event a line, syslog or JSON) and `<out>/manifest.json`.
pub fn gen_files(set: &DataSet, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("{}", out.display()))?;
    let tenants = set.tenant_ids()?;
    let mut files = Vec::new();
    for tenant in &tenants {
        let path = out.join(format!("{tenant}.log"));
        let file = std::fs::File::create(&path).with_context(|| format!("{}", path.display()))?;
        files.push(std::io::BufWriter::new(file));
    }
    let mut count = 0usize;
    for item in set.items()? {
        let (line, _) = line_of(&item.event);
        writeln!(files[item.tenant], "{line}")?;
        count += 1;
    }
    for mut f in files {
        f.flush()?;
    }
    let manifest = serde_json::json!({
        "events": count, "tenants": tenants.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "days": set.days, "end": set.end, "seed": set.seed,
    });
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    println!(
        "{} events of {} tenants written to {}",
        count,
        tenants.len(),
        out.display()
    );
    Ok(())
}

/// `kuzet bench search`.
pub fn search(set: &DataSet, repeat: usize) -> Result<()> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let archive_dir = dir.path().join("archive");
    let index_dir = dir.path().join("index");
    let tenants = set.tenant_ids()?;
    println!(
        "data set: {} events, {} tenants, {} days (generated as they are read, twice: raw, then sealed)",
        set.events,
        tenants.len(),
        set.days,
    );
    // The raw events, one a line: what the baseline greps, compressed as an operator would keep them.
    let raw_path = dir.path().join("raw.log");
    let mut raw_len = 0u64;
    {
        let mut raw = std::io::BufWriter::new(std::fs::File::create(&raw_path)?);
        for item in set.items()? {
            let (line, _) = line_of(&item.event);
            raw.write_all(line.as_bytes())?;
            raw.write_all(b"\n")?;
            raw_len += line.len() as u64 + 1;
        }
        raw.flush()?;
    }
    let status = std::process::Command::new("zstd")
        .args(["-q", "-3", "-f", "--rm"])
        .arg(&raw_path)
        .status()
        .context("zstd (the baseline needs it: apt install zstd)")?;
    if !status.success() {
        bail!("zstd failed on {}", raw_path.display());
    }
    let zst = dir.path().join("raw.log.zst");

    // Seal as the store does: one log per tenant, positions from 0.
    let signer = kuzet_store::Signer::from_seed([9; 32]);
    let source = SourceId::new("bench")?;
    let ids = kuzet_ingest::IdGenerator::new()?;
    let options = kuzet_parse::ParseOptions::default();
    let profile = options.profile();
    let defaults = kuzet_store::StoreConfig::new(dir.path());
    let mut writers = Vec::new();
    for tenant in &tenants {
        let (writer, _) = kuzet_store::ArchiveWriter::open(
            &archive_dir,
            tenant.clone(),
            defaults.block_bytes,
            defaults.segment_bytes,
            defaults.zstd_level,
            &signer,
        )?;
        writers.push(writer);
    }
    let mut indexer = kuzet_index::Indexer::open(kuzet_index::IndexConfig::new(&index_dir))?;
    let mut positions = vec![0u64; tenants.len()];
    let (mut seal_s, mut parse_s, mut index_s) = (0f64, 0f64, 0f64);
    let now = Instant::now();
    let mut count = 0usize;
    for (seq, item) in set.items()?.enumerate() {
        count += 1;
        let (line, format) = line_of(&item.event);
        let raw = RawEvent {
            id: ids.next(item.at),
            tenant: tenants[item.tenant].clone(),
            source: source.clone(),
            received: item.at,
            transport: Transport::Tcp,
            peer: None,
            format,
            bytes: line.as_bytes().to_vec(),
        };
        let t = Instant::now();
        writers[item.tenant].append(seq as u64 + 1, &raw, &profile, item.at)?;
        seal_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let event = kuzet_parse::parse(&raw, &options);
        parse_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        indexer.add(positions[item.tenant], &event, now)?;
        index_s += t.elapsed().as_secs_f64();
        positions[item.tenant] += 1;
    }
    let t = Instant::now();
    for writer in &mut writers {
        writer.flush(Timestamp::now())?;
    }
    seal_s += t.elapsed().as_secs_f64();
    let t = Instant::now();
    indexer.close()?;
    index_s += t.elapsed().as_secs_f64();
    let n = count as f64;
    let (zst_len, archive_len, index_len) = (
        file_len(&zst),
        crate::bench::directory_size(&archive_dir),
        crate::bench::directory_size(&index_dir),
    );
    println!(
        "raw: {raw_len} bytes ({:.0} bytes/event); zstd -3: {zst_len} bytes = {:.1} % of raw",
        raw_len as f64 / n,
        pct(zst_len, raw_len)
    );
    println!(
        "archive: {archive_len} bytes = {:.1} bytes/event = {:.1} % of raw ({:.2} × zstd -3); sealed at {:.0} events/s",
        archive_len as f64 / n,
        pct(archive_len, raw_len),
        archive_len as f64 / zst_len as f64,
        n / seal_s
    );
    println!(
        "index: {index_len} bytes = {:.1} bytes/event = {:.1} % of raw; indexed at {:.0} events/s (parsing beside it: {:.0} events/s)",
        index_len as f64 / n,
        pct(index_len, raw_len),
        n / index_s,
        n / parse_s
    );

    let mut parts: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    by_extension(&index_dir, &mut parts);
    println!(
        "index by file kind: {}",
        parts
            .iter()
            .map(|(ext, len)| format!("{ext} {:.1} B/event", *len as f64 / n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut costs: Vec<_> = kuzet_index::field_costs(&index_dir)?.into_iter().collect();
    costs.sort_by_key(|(_, c)| {
        std::cmp::Reverse(c.postings_bytes + c.positions_bytes + c.term_bytes)
    });
    println!("index by field (B/event: postings + positions + term bytes; terms per 1000 events):");
    for ((kind, field), c) in costs.iter().take(16) {
        println!(
            "  {kind} {field}: {:.1} + {:.1} + {:.1}; {:.0}",
            c.postings_bytes as f64 / n,
            c.positions_bytes as f64 / n,
            c.term_bytes as f64 / n,
            c.terms as f64 * 1000.0 / n
        );
    }
    let searcher = kuzet_index::IndexSearcher::open(&index_dir);
    let normalizer: kuzet_store::Normalize = Arc::new(crate::serve::Parser::new(options, None));
    let end: Timestamp = set.end.parse()?;
    let day = (end - SignedDuration::from_hours(24), end);
    let whole = (
        end - SignedDuration::from_hours(24 * i64::from(set.days.max(1))),
        end,
    );
    // (label, query, range, the fixed string the baseline greps for)
    let cases: Vec<(&str, &str, (Timestamp, Timestamp), &str)> = vec![
        ("term, last 24 h", "user.name:dana", day, "dana"),
        ("CIDR, last 24 h", "source.ip:10.20.1.0/24", day, "10.20.1."),
        (
            "free text, last 24 h",
            "\"session opened\"",
            day,
            "session opened",
        ),
        ("free-text address, 24 h", "10.20.3.7", day, "10.20.3.7"),
        (
            "two terms, whole range",
            "event.code:4624 AND host.name:dc-01*",
            whole,
            "4624",
        ),
        (
            "rare phrase, whole range",
            "\"failed password\" AND root",
            whole,
            "Failed password",
        ),
    ];
    let grep = if which("rg") { "rg" } else { "grep" };
    println!(
        "\nsearch ({repeat} runs each, all tenants, first page of 100, newest first) beside `zstdcat | {grep} -c -F` over the same raw events:"
    );
    let mut ratios = Vec::new();
    for (label, text, (from, to), needle) in cases {
        let query = kuzet_query::parse(text)?;
        let request = kuzet_index::Request {
            query: &query,
            tenants: &tenants,
            from,
            to,
            size: 100,
            order: kuzet_index::Order::Newest,
            after: None,
        };
        let (p50, p99, total) = timed(repeat, || {
            Ok(searcher
                .search(&request, &mut fetch_from(&archive_dir, &normalizer))?
                .total)
        })?;
        let t = Instant::now();
        let baseline_count = grep_count(grep, &zst, needle)?;
        let baseline_ms = t.elapsed().as_secs_f64() * 1000.0;
        ratios.push(baseline_ms / p50);
        println!(
            "  {label:<24} `{text}`: {total} matches; p50 {p50:.1} ms, p99 {p99:.1} ms; baseline {baseline_ms:.0} ms ({baseline_count} lines) = {:.0}× the p50",
            baseline_ms / p50
        );
    }
    // Histograms of the whole range (automatic interval), from the index alone.
    for text in [
        "*",
        "user.name:dana",
        "event.code:4624 AND host.name:dc-01*",
    ] {
        let query = kuzet_query::parse(text)?;
        let interval = kuzet_index::auto_interval(whole.0, whole.1, 60);
        let (p50, p99, counted) = timed(repeat, || {
            let histogram = searcher.histogram(&query, &tenants, whole.0, whole.1, interval)?;
            Ok(histogram.buckets.iter().map(|(_, n)| n).sum::<u64>())
        })?;
        println!(
            "  histogram, whole range  `{text}`: {counted} events in {}-second buckets; p50 {p50:.1} ms, p99 {p99:.1} ms",
            interval.as_secs(),
        );
    }
    // Top values and distinct count of a field over every match, from the index's terms (`"values"`).
    for (text, field, range) in [
        ("*", "user.name", whole),
        ("event.code:4624", "winlog.event_data.IpAddress", whole),
        ("*", "host.name", day),
    ] {
        let query = kuzet_query::parse(text)?;
        let (p50, p99, answer) = timed(repeat, || {
            Ok(searcher.values(&query, &tenants, range.0, range.1, field, 10)?)
        })?;
        let first = answer.top.first().cloned().unwrap_or_default();
        println!(
            "  values of `{field}` over `{text}`: {} distinct, most frequent {} ({}); p50 {p50:.1} ms, p99 {p99:.1} ms",
            answer.distinct, first.0, first.1,
        );
    }
    // Top values (the field sidebar): the fields and their top values over the first 500 matches, read from the
    // archive, as `POST /api/v1/search` computes them.
    for (text, range) in [("user.name:dana", day), ("event.code:4624", whole)] {
        let query = kuzet_query::parse(text)?;
        let request = kuzet_index::Request {
            query: &query,
            tenants: &tenants,
            from: range.0,
            to: range.1,
            size: kuzet_api::search::FIELD_SAMPLE,
            order: kuzet_index::Order::Newest,
            after: None,
        };
        let (p50, p99, fields) = timed(repeat, || {
            let page = searcher.search(&request, &mut fetch_from(&archive_dir, &normalizer))?;
            Ok(kuzet_api::search::field_list(&page.events).fields.len())
        })?;
        println!(
            "  top values of 500 matches `{text}`: {fields} fields; p50 {p50:.1} ms, p99 {p99:.1} ms"
        );
    }
    Ok(())
}

/// Runs `f` `repeat` times (at least once): its p50 and p99 in milliseconds, and its last answer.
fn timed<T>(repeat: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, f64, T)> {
    let mut times = Vec::with_capacity(repeat.max(1));
    let t = Instant::now();
    let mut last = f()?;
    times.push(t.elapsed().as_secs_f64() * 1000.0);
    for _ in 1..repeat {
        let t = Instant::now();
        last = f()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok((p(0.5), p(0.99), last))
}

/// What a search reads hits with: the sealed archive, as the product does.
fn fetch_from<'a>(
    archive_dir: &'a Path,
    normalizer: &'a kuzet_store::Normalize,
) -> impl FnMut(&TenantId, &[u64]) -> std::result::Result<Vec<(u64, kuzet_model::Event)>, String> + 'a
{
    move |tenant, positions| {
        kuzet_store::read_at(archive_dir, tenant, positions, normalizer).map_err(|e| e.to_string())
    }
}

fn pct(a: u64, b: u64) -> f64 {
    a as f64 * 100.0 / b.max(1) as f64
}

fn file_len(path: &PathBuf) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn which(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `zstdcat FILE | TOOL -c -F NEEDLE`: the lines holding the needle, the way an operator greps compressed logs.
fn grep_count(tool: &str, zst: &Path, needle: &str) -> Result<u64> {
    let cat = std::process::Command::new("zstdcat")
        .arg(zst)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("zstdcat")?;
    let out = std::process::Command::new(tool)
        .args(["-c", "-F", needle])
        .stdin(cat.stdout.context("zstdcat output")?)
        .output()
        .with_context(|| tool.to_string())?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0))
}

/// Bytes of the files under `dir` by extension (tantivy's file kinds: term dictionary, postings, positions, …).
fn by_extension(dir: &Path, out: &mut std::collections::BTreeMap<String, u64>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            by_extension(&path, out);
        } else {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("other")
                .to_owned();
            *out.entry(ext).or_default() += entry.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
}
