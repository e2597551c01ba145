//! `kuzet hunt` (Sigma rules over EVTX, NDJSON and syslog files, offline) and `kuzet rules lint|test`.
//!
//! Files are parsed by the same parsers as live ingest, so a hunt finds what streaming detection would.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use kuzet_detect::{
    CorrelationHit, Correlator, Engine, IndicatorHit, IndicatorSet, Level, Limits, Pipeline,
    RuleSet,
};
use kuzet_model::{Event, EventId, FormatHint, RawEvent, SourceId, TenantId, Transport, fields};
use kuzet_parse::ParseOptions;

use crate::cli_files::{FileKind, file_kind, read_file};

/// How hits are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HuntFormat {
    /// Aligned columns for a terminal.
    Table,
    /// A header row, then one row per hit.
    Csv,
    /// One JSON array of hits.
    Json,
    /// One JSON object per (rule, event) hit per line.
    Jsonl,
}

/// The lowest rule level printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MinLevel {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl MinLevel {
    fn level(self) -> Level {
        match self {
            MinLevel::Informational => Level::Informational,
            MinLevel::Low => Level::Low,
            MinLevel::Medium => Level::Medium,
            MinLevel::High => Level::High,
            MinLevel::Critical => Level::Critical,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct HuntArgs {
    /// Sigma rule files or directories (searched for .yml and .yaml), e.g. a SigmaHQ checkout. Repeatable.
    #[arg(long = "rules", required_unless_present_any = ["builtin", "indicators"])]
    pub rules: Vec<PathBuf>,
    /// Add Kuzet's own rule pack (log clearing, audit policy, new administrators, password guessing, …).
    #[arg(long)]
    pub builtin: bool,
    /// Indicator feeds: CSV (`type,value,…`), STIX 2.1 bundles or MISP feed events (JSON). Repeatable.
    #[arg(long = "indicators")]
    pub indicators: Vec<PathBuf>,
    /// A Sigma pipeline file (docs/formats/sigma-pipeline.md) instead of the built-in one.
    #[arg(long)]
    pub pipeline: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HuntFormat::Table)]
    pub format: HuntFormat,
    /// Print only hits of rules at this level or above.
    #[arg(long, value_enum, default_value_t = MinLevel::Informational)]
    pub min_level: MinLevel,
    /// Parse and detect with this many threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Hunt a tenant's stored events received within this long (e.g. `30d`, `12h`) instead of files: for newly
    /// imported rules over what the archive already holds. Needs --tenant.
    #[arg(long)]
    pub since: Option<String>,
    /// The tenant whose stored events `--since` hunts.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Files or directories: .evtx, .json/.ndjson/.jsonl, .log/.txt (syslog, CEF, LEEF, …), each optionally .gz.
    #[arg(required_unless_present = "since")]
    pub files: Vec<PathBuf>,
}

/// Reads every rule file under `paths`. A path that cannot be read is an error; a document that cannot be
/// parsed is a problem of the rule set (reported by the engine).
pub fn load_rules(paths: &[PathBuf], builtin: bool) -> Result<RuleSet> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files, &|p| {
                matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
            })?;
        } else {
            files.push(path.clone());
        }
    }
    let mut set = if builtin {
        kuzet_detect::builtin_rules()
    } else {
        RuleSet::new()
    };
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("rule file {}: cannot read", file.display()))?;
        set.add_yaml(&file.display().to_string(), &text);
    }
    Ok(set)
}

/// Reads indicator feeds: `.csv` files as CSV, JSON with `objects` as a STIX 2.1 bundle, JSON with `Event` as a
/// MISP feed event. A file that is none of these is an error; a bad entry is a problem of the set.
pub fn load_indicators(paths: &[PathBuf]) -> Result<IndicatorSet> {
    let mut set = IndicatorSet::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("indicator feed {}: cannot read", path.display()))?;
        let name = path.display().to_string();
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            set.add_csv(&name, &text);
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("indicator feed {name}: neither a .csv file nor JSON"))?;
        if json.get("objects").is_some() {
            set.add_stix(&name, &text);
        } else if json.get("Event").is_some() {
            set.add_misp(&name, &text);
        } else {
            bail!(
                "indicator feed {name}: JSON that is neither a STIX bundle (`objects`) nor a MISP event (`Event`)"
            );
        }
    }
    Ok(set)
}

pub fn load_pipeline(path: Option<&Path>) -> Result<Pipeline> {
    let Some(path) = path else {
        return Ok(Pipeline::builtin());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("sigma pipeline {}: cannot read", path.display()))?;
    Ok(Pipeline::parse(&path.display().to_string(), &text)?)
}

/// Regular files under `dir`, sorted, that `keep` accepts.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, keep: &dyn Fn(&Path) -> bool) -> Result<()> {
    let mut entries = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?
    {
        entries.push(
            entry
                .with_context(|| format!("{}: cannot list", dir.display()))?
                .path(),
        );
    }
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out, keep)?;
        } else if path.is_file() && keep(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn huntable(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    [
        ".evtx", ".json", ".ndjson", ".jsonl", ".log", ".txt", ".syslog",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

/// The files to hunt in: given files as they are, directories walked for the extensions hunt reads.
fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files, &huntable)?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            bail!("{}: no such file or directory", path.display());
        }
    }
    Ok(files)
}

/// One (rule, event) hit.
struct Hit {
    found: Found,
    /// The EVTX record id, else the line number.
    record: u64,
    event: Arc<Event>,
}

/// What matched an event.
enum Found {
    Rule(u32),
    Indicator(IndicatorHit),
}

/// What one file gave.
#[derive(Default)]
struct FileOutcome {
    records: u64,
    damaged: Vec<String>,
    hits: Vec<Hit>,
}

/// Runs the rules (those `keep` accepts) and the indicators on one parsed event and keeps what matched, with the
/// event.
fn detect(
    engine: Option<&Engine>,
    indicators: Option<&IndicatorSet>,
    keep: &(dyn Fn(u32) -> bool + Sync),
    scratch: &mut Option<kuzet_detect::Scratch>,
    event: Event,
    record: u64,
    outcome: &mut FileOutcome,
) {
    let (Some(engine), Some(scratch)) = (engine, scratch.as_mut()) else {
        return;
    };
    let matched = engine.matches(&event, scratch);
    let mut wanted: Vec<Found> = matched
        .iter()
        .copied()
        .filter(|r| keep(*r))
        .map(Found::Rule)
        .collect();
    if let Some(indicators) = indicators {
        let mut found = Vec::new();
        indicators.matches(&event, event.timestamp, &mut found);
        wanted.extend(found.into_iter().map(Found::Indicator));
    }
    if wanted.is_empty() {
        return;
    }
    // The hits of one event share it (a third of the EVTX samples' matching events match several rules).
    let event = Arc::new(event);
    outcome.hits.extend(wanted.into_iter().map(|found| Hit {
        found,
        record,
        event: Arc::clone(&event),
    }));
}

/// `hunt --since`: a tenant's stored events received since `cutoff`, read from the sealed archive, each with its
/// position in the tenant's log as its record number.
fn hunt_archive(
    archive: &Path,
    parser: kuzet_store::Normalize,
    tenant: &TenantId,
    cutoff: jiff::Timestamp,
    engine: &Engine,
    indicators: &IndicatorSet,
    keep: &(dyn Fn(u32) -> bool + Sync),
) -> Result<FileOutcome> {
    let mut outcome = FileOutcome::default();
    let mut scratch = Some(engine.scratch());
    for (position, event) in kuzet_store::read_events(archive, tenant, parser).enumerate() {
        let event = event?;
        if event.ingested < cutoff {
            continue;
        }
        outcome.records += 1;
        detect(
            Some(engine),
            Some(indicators),
            keep,
            &mut scratch,
            event,
            position as u64 + 1,
            &mut outcome,
        );
    }
    Ok(outcome)
}

/// The id a hunted event gets: its file's position and its record id, so that a correlation can name the events
/// it joined.
fn hunt_id(file: usize, record: u64) -> EventId {
    EventId::from_u128((file as u128) << 64 | u128::from(record))
}

fn from_hunt_id(id: EventId) -> (usize, u64) {
    let value = id.as_u128();
    ((value >> 64) as usize, value as u64)
}

/// Parses `path` (the `index`th file) and runs the engine on every record, keeping the hits of the rules `keep`
/// accepts. Without an engine it only parses (the benchmark's baseline).
fn hunt_file(
    index: usize,
    path: &Path,
    engine: Option<&Engine>,
    indicators: Option<&IndicatorSet>,
    keep: &(dyn Fn(u32) -> bool + Sync),
) -> Result<FileOutcome> {
    let bytes = read_file(path)?;
    let kind = file_kind(
        path,
        &bytes[..bytes.len().min(64)],
        "auto",
        FormatHint::Auto,
    )?;
    let options = ParseOptions::default();
    let tenant = TenantId::new("hunt")?;
    let source = SourceId::new("file")?;
    let received = kuzet_ingest::receive_time();
    let mut outcome = FileOutcome::default();
    let mut scratch = engine.map(|_| SCRATCH.take());
    let mut run = |payload: Vec<u8>, format: FormatHint, line: u64, outcome: &mut FileOutcome| {
        let raw = RawEvent {
            id: EventId::from_u128(u128::from(line)),
            tenant: tenant.clone(),
            source: source.clone(),
            received,
            transport: Transport::File,
            peer: None,
            format,
            bytes: payload,
        };
        let mut event = kuzet_parse::parse(&raw, &options);
        outcome.records += 1;
        if engine.is_none() {
            return;
        }
        let record = event
            .fields
            .get(fields::WINLOG_RECORD_ID)
            .and_then(kuzet_model::Value::as_i64)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(line);
        event.id = hunt_id(index, record);
        detect(
            engine,
            indicators,
            keep,
            &mut scratch,
            event,
            record,
            outcome,
        );
    };
    match kind {
        FileKind::Evtx => {
            for (index, record) in kuzet_parse::evtx::records(bytes).enumerate() {
                match record {
                    Ok(json) => run(json, FormatHint::Evtx, index as u64 + 1, &mut outcome),
                    Err(error) => outcome.damaged.push(format!("{}: {error}", path.display())),
                }
            }
        }
        FileKind::Lines(hint) => {
            for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                run(line.to_vec(), hint, index as u64 + 1, &mut outcome);
            }
        }
    }
    if let Some(scratch) = scratch {
        SCRATCH.set(scratch);
    }
    Ok(outcome)
}

thread_local! {
    /// The thread's detection working memory, kept from file to file: most files hold a few dozen records, and
    /// a fresh scratch sizes (and zeroes) its tables per rule and per field name again.
    static SCRATCH: std::cell::Cell<kuzet_detect::Scratch> = std::cell::Cell::default();
}

/// Runs `work` on every file on `threads` threads and hands the outcomes to `each` in file order as they
/// complete.
fn over_files(
    files: &[PathBuf],
    threads: usize,
    work: &(dyn Fn(usize, &Path) -> Result<FileOutcome> + Sync),
    each: &mut dyn FnMut(&Path, Result<FileOutcome>) -> Result<()>,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..threads {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(index) else { break };
                    if sender.send((index, work(index, path))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut pending = BTreeMap::new();
        let mut expected = 0usize;
        for (index, outcome) in receiver {
            pending.insert(index, outcome);
            while let Some(outcome) = pending.remove(&expected) {
                each(&files[expected], outcome)?;
                expected += 1;
            }
        }
        Ok(())
    })
}

/// The threads to hunt `files` files on: as many as given or as the machine has, and no more than files.
fn threads(given: Option<usize>, files: usize) -> usize {
    given
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, files.max(1))
}

pub fn hunt(args: &HuntArgs, config: &crate::config::Config) -> Result<()> {
    let started = Instant::now();
    let set = load_rules(&args.rules, args.builtin)?;
    let pipeline = load_pipeline(args.pipeline.as_deref())?;
    let (engine, mut correlator) = compile(&set, &pipeline);
    let indicators = load_indicators(&args.indicators)?;
    for problem in indicators.problems() {
        eprintln!("{problem}");
    }
    // Stored events (`--since`) are hunted as one pseudo-file named after the tenant's archive.
    let archive = match (&args.since, &args.tenant) {
        (Some(since), Some(tenant)) => {
            let since = crate::config::parse_duration(since).context("--since")?;
            let cutoff = jiff::Timestamp::now() - since.0;
            Some((TenantId::new(tenant.as_str())?, cutoff))
        }
        (Some(_), None) => bail!("--since: give the --tenant whose stored events to hunt"),
        (None, _) => None,
    };
    let files = match &archive {
        Some((tenant, _)) => vec![PathBuf::from(format!("archive:{tenant}"))],
        None => input_files(&args.files)?,
    };
    if engine.rules().is_empty() && indicators.is_empty() {
        bail!(
            "no rule loaded from {} ({} problem(s); `kuzet rules lint` names them)",
            args.rules
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            engine.problems().len()
        );
    }
    let total_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let progress = indicatif::ProgressBar::new(total_bytes).with_style(
        indicatif::ProgressStyle::with_template("{spinner} {wide_bar} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut printer = Printer::new(args.format, &engine, &files);
    printer.archive = archive.is_some();
    printer.start(&mut out)?;
    let (mut records, mut damaged, mut hits) = (0u64, 0u64, 0u64);
    let mut fired = std::collections::BTreeSet::new();
    let min_level = args.min_level.level();
    let shown = |rule: u32| engine.rules()[rule as usize].level >= min_level;
    // Correlations see every hit of the rules they join, whatever level is printed.
    let feeds: Vec<bool> = (0..engine.rules().len())
        .map(|r| correlator.feeds(u32::try_from(r).unwrap_or(u32::MAX)))
        .collect();
    let keep = |rule: u32| shown(rule) || feeds[rule as usize];
    let work =
        |index: usize, path: &Path| hunt_file(index, path, Some(&engine), Some(&indicators), &keep);
    let mut joined = Vec::new();
    let mut correlations = 0u64;
    let mut indicator_hits = 0u64;
    let mut each = |path: &Path, outcome: Result<FileOutcome>| -> Result<()> {
        progress.inc(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0));
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                progress.println(format!("{error:#}"));
                damaged += 1;
                return Ok(());
            }
        };
        records += outcome.records;
        damaged += outcome.damaged.len() as u64;
        for message in &outcome.damaged {
            progress.println(message);
        }
        for hit in &outcome.hits {
            let rule = match &hit.found {
                Found::Rule(rule) => *rule,
                Found::Indicator(found) => {
                    indicator_hits += 1;
                    printer.indicator(&mut out, path, hit, &indicators, found)?;
                    continue;
                }
            };
            if feeds[rule as usize] {
                correlator.observe(&hit.event, &[rule], hit.event.timestamp, &mut joined);
            }
            if shown(rule) {
                hits += 1;
                fired.insert(rule);
                printer.hit(&mut out, path, rule, hit)?;
            }
            for correlation in joined.drain(..) {
                if correlator.rules()[correlation.correlation as usize].level >= min_level {
                    correlations += 1;
                    printer.correlation(&mut out, &correlator, &correlation)?;
                }
            }
        }
        Ok(())
    };
    match &archive {
        Some((tenant, cutoff)) => {
            let outcome = hunt_archive(
                &config.archive_dir(),
                crate::serve::Parser::reader(config),
                tenant,
                *cutoff,
                &engine,
                &indicators,
                &keep,
            );
            each(&files[0], outcome)?;
        }
        None => over_files(&files, threads(args.threads, files.len()), &work, &mut each)?,
    }
    printer.finish(&mut out)?;
    out.flush()?;
    progress.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for problem in problems(&engine, &correlator) {
        *by_kind.entry(problem.kind.as_str()).or_default() += 1;
    }
    let not_loaded = engine.problems().len() + correlator.problems().len();
    let problems: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
    eprintln!(
        "hunt: {} rule(s) and {} correlation(s) loaded{}, {} file(s), {records} record(s){}, {hits} hit(s) of {} \
         rule(s), {correlations} correlation hit(s), {indicator_hits} indicator hit(s) of {} indicator(s) in \
         {elapsed:.2} s ({:.0} records/s)",
        engine.rules().len(),
        correlator.rules().len(),
        if problems.is_empty() {
            String::new()
        } else {
            format!(
                " ({not_loaded} not loaded: {}; `kuzet rules lint` names them)",
                problems.join(", ")
            )
        },
        files.len(),
        if damaged > 0 {
            format!(" ({damaged} damaged, skipped)")
        } else {
            String::new()
        },
        fired.len(),
        indicators.len(),
        records as f64 / elapsed.max(1e-9),
    );
    Ok(())
}

/// Parse-only and hunt rates over the same files in the same run: how much detection costs.
pub fn bench(args: &HuntArgs) -> Result<()> {
    let set = load_rules(&args.rules, args.builtin)?;
    let engine = Engine::build(&set, &load_pipeline(args.pipeline.as_deref())?);
    let files = input_files(&args.files)?;
    let threads = threads(args.threads, files.len());
    // One round is one pass over all files, parse-only or hunting. Rounds of both sides alternate until each
    // side has run for two seconds (three rounds at least), so that a machine whose speed drifts during the run
    // (a shared one) slows both sides alike and the ratio stays comparable.
    let round = |engine: Option<&Engine>| -> Result<(u64, u64, f64)> {
        let started = Instant::now();
        let (mut records, mut hits) = (0u64, 0u64);
        let work = |index: usize, path: &Path| hunt_file(index, path, engine, None, &|_| true);
        over_files(&files, threads, &work, &mut |_, outcome| {
            let outcome = outcome?;
            records += outcome.records;
            hits += outcome.hits.len() as u64;
            Ok(())
        })?;
        if records == 0 {
            bail!("no record in {} file(s)", files.len());
        }
        Ok((records, hits, started.elapsed().as_secs_f64()))
    };
    // Warm the page cache and the regexes' lazy automata first, so that neither side pays for them.
    round(None)?;
    round(Some(&engine))?;
    let (mut parsed, mut hunted, mut hits, mut rounds) = (0u64, 0u64, 0u64, 0u64);
    let (mut parse_secs, mut hunt_secs) = (0.0f64, 0.0f64);
    while rounds < 3 || parse_secs.min(hunt_secs) < 2.0 {
        let (records, _, secs) = round(None)?;
        parsed += records;
        parse_secs += secs;
        let (records, found, secs) = round(Some(&engine))?;
        hunted += records;
        hits += found;
        hunt_secs += secs;
        rounds += 1;
    }
    let parse_rate = parsed as f64 / parse_secs.max(1e-9);
    let hunt_rate = hunted as f64 / hunt_secs.max(1e-9);
    let per_round = parsed / rounds;
    let stats = engine.stats();
    println!(
        "rules loaded {} ({} units, {} without needles, {} needles; {} not loaded)",
        stats.rules, stats.units, stats.always, stats.needles, stats.problems
    );
    println!(
        "files {}, records {per_round}, threads {threads}; {rounds} rounds of each side, alternating",
        files.len()
    );
    println!("parse only  {parse_secs:>8.3} s  {parse_rate:>10.0} records/s");
    println!(
        "hunt        {hunt_secs:>8.3} s  {hunt_rate:>10.0} records/s  ({} hits per round)",
        hits * per_round / hunted.max(1)
    );
    println!(
        "hunt / parse-only rate: {:.2}",
        hunt_rate / parse_rate.max(1e-9)
    );
    // A thread's time per record hunting, less its time per record parsing, is what detecting one costs it.
    let detect_secs =
        (hunt_secs / hunted.max(1) as f64 - parse_secs / parsed.max(1) as f64) * threads as f64;
    if detect_secs > 0.0 {
        println!(
            "detection alone: {:.0} events/s per thread",
            1.0 / detect_secs
        );
    } else {
        println!("detection alone: too cheap to tell from parsing in this run");
    }
    Ok(())
}

/// Writes hits in one of the formats.
struct Printer<'e> {
    format: HuntFormat,
    engine: &'e Engine,
    files: &'e [PathBuf],
    first: bool,
    /// Events are stored ones, named by their own ids rather than by file and record.
    archive: bool,
}

impl<'e> Printer<'e> {
    fn new(format: HuntFormat, engine: &'e Engine, files: &'e [PathBuf]) -> Self {
        Self {
            format,
            engine,
            files,
            first: true,
            archive: false,
        }
    }

    /// Writes one JSON object of the `json` and `jsonl` formats.
    fn object(&mut self, out: &mut dyn Write, object: &serde_json::Value) -> Result<()> {
        if self.format == HuntFormat::Json {
            if !self.first {
                write!(out, ",")?;
            }
            write!(out, "\n{object}")?;
        } else {
            writeln!(out, "{object}")?;
        }
        self.first = false;
        Ok(())
    }

    fn correlation(
        &mut self,
        out: &mut dyn Write,
        correlator: &Correlator,
        hit: &CorrelationHit,
    ) -> Result<()> {
        let rule = &correlator.rules()[hit.correlation as usize];
        let located: Vec<(String, u64)> = hit
            .events
            .iter()
            .map(|id| {
                let (file, record) = from_hunt_id(*id);
                let file = self
                    .files
                    .get(file)
                    .map(|f| f.display().to_string())
                    .unwrap_or_default();
                (file, record)
            })
            .collect();
        let (file, record) = located.last().cloned().unwrap_or_default();
        let group: Vec<String> = hit
            .group
            .iter()
            .map(|v| v.clone().unwrap_or_else(|| "-".to_owned()))
            .collect();
        let timestamp = hit.last.to_string();
        match self.format {
            HuntFormat::Table => writeln!(
                out,
                "{timestamp:<27} {:<13} {}  [{}]  {} event(s), {} = {}",
                rule.level.as_str(),
                rule.title,
                group.join(", "),
                hit.events.len(),
                rule.kind,
                hit.value
            )?,
            HuntFormat::Csv => writeln!(
                out,
                "{},{},{},{},{},{},{record}",
                csv(&timestamp),
                rule.level.as_str(),
                csv(&rule.id),
                csv(&rule.title),
                csv(&group.join("/")),
                csv(&file)
            )?,
            HuntFormat::Json | HuntFormat::Jsonl => {
                let group: serde_json::Map<String, serde_json::Value> = rule
                    .group_by
                    .iter()
                    .zip(&hit.group)
                    .map(|(field, value)| (field.clone(), serde_json::json!(value)))
                    .collect();
                let events: Vec<serde_json::Value> = if self.archive {
                    hit.events
                        .iter()
                        .map(|id| serde_json::json!({ "event_id": id }))
                        .collect()
                } else {
                    located
                        .iter()
                        .map(|(file, record)| serde_json::json!({ "file": file, "record_id": record }))
                        .collect()
                };
                let object = serde_json::json!({
                    "rule_id": rule.id,
                    "rule_title": rule.title,
                    "level": rule.level.as_str(),
                    "tags": rule.tags,
                    "timestamp": timestamp,
                    "file": file,
                    "record_id": record,
                    "correlation": {
                        "type": rule.kind,
                        "group": group,
                        "value": hit.value,
                        "first": hit.first.to_string(),
                        "last": timestamp,
                        "events": events,
                    },
                });
                self.object(out, &object)?;
            }
        }
        Ok(())
    }

    fn start(&mut self, out: &mut dyn Write) -> Result<()> {
        match self.format {
            HuntFormat::Csv => writeln!(
                out,
                "timestamp,level,rule_id,rule_title,host,file,record_id"
            )?,
            HuntFormat::Json => write!(out, "[")?,
            HuntFormat::Table | HuntFormat::Jsonl => {}
        }
        Ok(())
    }

    fn indicator(
        &mut self,
        out: &mut dyn Write,
        path: &Path,
        hit: &Hit,
        set: &IndicatorSet,
        found: &IndicatorHit,
    ) -> Result<()> {
        let indicator = &set.indicators()[found.indicator as usize];
        let provenance = &indicator.provenance;
        let title = format!(
            "Indicator {} {}{}",
            indicator.kind.as_str(),
            indicator.value,
            provenance
                .description
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
        let timestamp = hit.event.timestamp.to_string();
        let file = path.display().to_string();
        match self.format {
            HuntFormat::Table => writeln!(
                out,
                "{timestamp:<27} {:<13} {title}  [{}={}]  {file}#{}",
                "high", found.field, found.value, hit.record
            )?,
            HuntFormat::Csv => writeln!(
                out,
                "{},high,{},{},{},{},{}",
                csv(&timestamp),
                csv(&provenance.reference),
                csv(&title),
                csv(host_of(&hit.event)),
                csv(&file),
                hit.record
            )?,
            HuntFormat::Json | HuntFormat::Jsonl => {
                let object = serde_json::json!({
                    "rule_id": provenance.reference,
                    "rule_title": title,
                    "level": "high",
                    "tags": provenance.tags,
                    "timestamp": timestamp,
                    "host": host_of(&hit.event),
                    "file": file,
                    "record_id": hit.record,
                    "indicator": {
                        "kind": indicator.kind.as_str(), "value": indicator.value, "field": found.field,
                        "matched": found.value, "feed": provenance.feed, "reference": provenance.reference,
                        "description": provenance.description, "confidence": provenance.confidence,
                    },
                    "event": hit.event.to_ecs_json(),
                });
                self.object(out, &object)?;
            }
        }
        Ok(())
    }

    fn hit(&mut self, out: &mut dyn Write, path: &Path, rule: u32, hit: &Hit) -> Result<()> {
        let rule = &self.engine.rules()[rule as usize];
        let host = host_of(&hit.event);
        let timestamp = hit.event.timestamp.to_string();
        let file = path.display().to_string();
        match self.format {
            HuntFormat::Table => writeln!(
                out,
                "{timestamp:<27} {:<13} {}  [{host}]  {file}#{}",
                rule.level.as_str(),
                rule.title,
                hit.record
            )?,
            HuntFormat::Csv => writeln!(
                out,
                "{},{},{},{},{},{},{}",
                csv(&timestamp),
                rule.level.as_str(),
                csv(&rule.id),
                csv(&rule.title),
                csv(host),
                csv(&file),
                hit.record
            )?,
            HuntFormat::Json | HuntFormat::Jsonl => {
                let object = serde_json::json!({
                    "rule_id": rule.id,
                    "rule_title": rule.title,
                    "level": rule.level.as_str(),
                    "tags": rule.tags,
                    "timestamp": timestamp,
                    "host": host,
                    "file": file,
                    "record_id": hit.record,
                    "event_id": hit.event.id,
                    "event": hit.event.to_ecs_json(),
                });
                self.object(out, &object)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> Result<()> {
        if self.format == HuntFormat::Json {
            writeln!(out, "\n]")?;
        }
        Ok(())
    }
}

/// The host an event is about: `host.name`, else the Windows computer, else the syslog header's host.
pub fn event_host(event: &Event) -> Option<&str> {
    event
        .host_name()
        .or_else(|| event.fields.get_str(fields::WINLOG_COMPUTER_NAME))
        .or_else(|| event.fields.get_str(fields::LOG_SYSLOG_HOSTNAME))
}

fn host_of(event: &Event) -> &str {
    event_host(event).unwrap_or("-")
}

/// The rules of `set` compiled for `pipeline`, and the correlations over them.
pub fn compile(set: &RuleSet, pipeline: &Pipeline) -> (Engine, Correlator) {
    let engine = Engine::build(set, pipeline);
    let correlator = Correlator::build(set, &engine, pipeline, Limits::default());
    (engine, correlator)
}

/// Every rule and correlation that did not load.
pub fn problems<'a>(
    engine: &'a Engine,
    correlator: &'a Correlator,
) -> impl Iterator<Item = &'a kuzet_detect::RuleProblem> {
    engine.problems().iter().chain(correlator.problems())
}

/// A CSV field (RFC 4180): quoted when it holds a comma, quote or line break.
fn csv(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

/// `kuzet rules lint`: every problem by file and rule; exits non-zero when there is one.
pub fn lint(paths: &[PathBuf], builtin: bool, pipeline: Option<&Path>) -> Result<bool> {
    let set = load_rules(paths, builtin)?;
    let pipeline = load_pipeline(pipeline)?;
    let (engine, correlator) = compile(&set, &pipeline);
    let problems: Vec<_> = problems(&engine, &correlator).collect();
    for problem in &problems {
        println!("{problem}");
    }
    println!(
        "{} rule(s) and {} correlation(s) loaded, {} problem(s)",
        engine.rules().len(),
        correlator.rules().len(),
        problems.len()
    );
    Ok(problems.is_empty())
}

/// `kuzet rules test`: runs every rule's sample events; exits non-zero when one does not do what it says.
pub fn test(paths: &[PathBuf], builtin: bool, pipeline: Option<&Path>) -> Result<bool> {
    let set = load_rules(paths, builtin)?;
    let pipeline = load_pipeline(pipeline)?;
    let (engine, correlator) = compile(&set, &pipeline);
    let problems: Vec<_> = problems(&engine, &correlator).collect();
    for problem in &problems {
        println!("{problem}");
    }
    let outcomes = engine.test_samples(jiff::Timestamp::now());
    let mut failed = 0usize;
    for outcome in outcomes.iter().filter(|o| !o.passed()) {
        failed += 1;
        let rule = &engine.rules()[outcome.rule as usize];
        let (list, did) = if outcome.expected {
            ("match", "did not match")
        } else {
            ("no_match", "matched")
        };
        println!(
            "{}: rule {} ({}): samples.{list}[{}] {did}",
            rule.origin, rule.id, rule.title, outcome.index
        );
    }
    let without: Vec<&str> = engine
        .rules()
        .iter()
        .filter(|r| r.samples.matching.is_empty())
        .map(|r| r.id.as_str())
        .collect();
    println!(
        "{} rule(s), {} sample(s), {failed} failed, {} problem(s); {} rule(s) without a matching sample",
        engine.rules().len(),
        outcomes.len(),
        problems.len(),
        without.len()
    );
    Ok(failed == 0 && problems.is_empty())
}

/// `kuzet rules import`: stores Sigma rule files in the database as versions (a changed file adds one), names each
/// document that does not load, and says what changed. Detection picks the new versions up within seconds.
pub fn import(config: &crate::config::Config, paths: &[PathBuf]) -> Result<bool> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found, &|p| {
                matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
            })?;
            for file in found {
                let name = file
                    .strip_prefix(path)
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                files.push((name, file));
            }
        } else {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            files.push((name, path.clone()));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let db = runtime.block_on(crate::identity::open_db(config))?;
    let pipeline = load_pipeline(config.detection.pipeline.as_deref())?;
    let (mut new, mut changed, mut unchanged, mut problems) = (0usize, 0usize, 0usize, 0usize);
    let now = jiff::Timestamp::now();
    for (name, path) in &files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("rule file {}: cannot read", path.display()))?;
        let mut set = RuleSet::new();
        set.add_yaml(name, &text);
        let engine = Engine::build(&set, &pipeline);
        for problem in engine.problems() {
            problems += 1;
            println!("{problem}");
        }
        match runtime.block_on(db.system_import_rule_file(name, &text, "cli", now))? {
            kuzet_db::ImportOutcome::New => new += 1,
            kuzet_db::ImportOutcome::Changed { version } => {
                changed += 1;
                println!("{name}: version {version}");
            }
            kuzet_db::ImportOutcome::Unchanged => unchanged += 1,
        }
    }
    println!(
        "{} file(s): {new} new, {changed} changed, {unchanged} unchanged; {problems} rule problem(s)",
        files.len()
    );
    Ok(problems == 0)
}
