//! `kuzet bench ingest`: syslog over TCP → WAL (fsync) → parse → sealed archive, end to end in this process,
//! beside rsyslog receiving the same stream into a plain file in the same run (the baseline).
//! `kuzet bench archive FILE…`: the archive's size and speed on files, beside `zstd -3` of the same bytes.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use tokio::io::AsyncWriteExt;

use crate::config::Config;
use crate::generate;
use crate::serve::{self, Ready};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// End-to-end ingest rate to the sealed archive, beside rsyslog writing a plain file.
    Ingest {
        /// Events to send.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Parallel TCP connections.
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Skip the rsyslog baseline.
        #[arg(long)]
        no_baseline: bool,
    },
    /// `kuzet hunt` over files beside parsing the same files without detection, in the same run.
    Hunt(crate::hunt::HuntArgs),
    /// Writes the reproducible data set `bench search` uses, one file per tenant, for other tools.
    Gen {
        #[command(flatten)]
        set: crate::bench_search::DataSet,
        /// The directory to write into.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Seals and indexes a generated data set of several tenants, then searches it: latency percentiles beside
    /// `zstdcat | rg` (or grep) of the same raw events, bytes per event in the index and the archive, indexing rate.
    Search {
        #[command(flatten)]
        set: crate::bench_search::DataSet,
        /// Runs of each query.
        #[arg(long, default_value_t = 20)]
        repeat: usize,
    },
    /// Seals files (text lines, NDJSON, EVTX) into a temporary archive and verifies it: size beside `zstd -3` of
    /// the same bytes, sealing and verification rates beside zstd's own speed, in the same run.
    Archive {
        /// Files to read (`.gz` is unpacked); one event per line, or per EVTX record.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// auto (by extension and content), ndjson, syslog, cef, leef, evtx or text.
        #[arg(long, default_value = "auto")]
        format: String,
    },
}

pub fn run(command: &BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Ingest {
            events,
            connections,
            no_baseline,
        } => ingest(*events, (*connections).max(1), !*no_baseline),
        BenchCommand::Hunt(args) => crate::hunt::bench(args),
        BenchCommand::Archive { files, format } => archive(files, format),
        BenchCommand::Gen { set, out } => crate::bench_search::gen_files(set, out),
        BenchCommand::Search { set, repeat } => crate::bench_search::search(set, *repeat),
    }
}

/// The events of `files` as the archive would receive them: (bytes, format hint).
fn file_events(
    files: &[std::path::PathBuf],
    format: &str,
) -> Result<Vec<(Vec<u8>, kuzet_model::FormatHint)>> {
    use crate::cli_files::{FileKind, file_kind, read_file};
    let mut out = Vec::new();
    for path in files {
        let bytes = read_file(path)?;
        let kind = file_kind(
            path,
            &bytes[..bytes.len().min(64)],
            format,
            kuzet_model::FormatHint::Auto,
        )?;
        match kind {
            FileKind::Evtx => {
                for record in kuzet_parse::evtx::records(bytes).flatten() {
                    out.push((record, kuzet_model::FormatHint::Evtx));
                }
            }
            FileKind::Lines(hint) => {
                for line in bytes.split(|b| *b == b'\n') {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if !line.iter().all(u8::is_ascii_whitespace) {
                        out.push((line.to_vec(), hint));
                    }
                }
            }
        }
    }
    if out.is_empty() {
        bail!("no events in the given files");
    }
    Ok(out)
}

/// The peak resident memory of this process so far (`VmHWM`), in MB.
pub(crate) fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `zstd -3` of `bytes` in one frame, as the command line does it: (compressed length, seconds).
fn zstd3(bytes: &[u8]) -> Result<(usize, f64)> {
    let start = Instant::now();
    let compressed = zstd::stream::encode_all(bytes, 3).context("zstd")?;
    Ok((compressed.len(), start.elapsed().as_secs_f64()))
}

fn archive(files: &[std::path::PathBuf], format: &str) -> Result<()> {
    let events = file_events(files, format)?;
    // The same bytes the archive keeps, one event per line: what `zstd -3` is given.
    let mut stream = Vec::new();
    for (bytes, _) in &events {
        stream.extend_from_slice(bytes);
        stream.push(b'\n');
    }
    let (zstd_len, zstd_seconds) = zstd3(&stream)?;
    let dir = tempfile::tempdir().context("temporary directory")?;
    // A throwaway key for a throwaway archive.
    let signer = kuzet_store::Signer::from_seed([7; 32]);
    let tenant = kuzet_model::TenantId::new("bench")?;
    let source = kuzet_model::SourceId::new("files")?;
    let ids = kuzet_ingest::IdGenerator::new()?;
    let profile = kuzet_parse::ParseOptions::default().profile();
    let defaults = kuzet_store::StoreConfig::new(dir.path());
    let raws: Vec<kuzet_model::RawEvent> = events
        .into_iter()
        .map(|(bytes, format)| {
            let received = kuzet_ingest::receive_time();
            kuzet_model::RawEvent {
                id: ids.next(received),
                tenant: tenant.clone(),
                source: source.clone(),
                received,
                transport: kuzet_model::Transport::File,
                peer: None,
                format,
                bytes,
            }
        })
        .collect();
    let start = Instant::now();
    {
        let (mut writer, _) = kuzet_store::ArchiveWriter::open(
            dir.path(),
            tenant.clone(),
            defaults.block_bytes,
            defaults.segment_bytes,
            defaults.zstd_level,
            &signer,
        )?;
        let now = jiff::Timestamp::now();
        for (seq, raw) in raws.iter().enumerate() {
            writer.append(seq as u64 + 1, raw, &profile, now)?;
        }
        writer.flush(now)?;
    }
    let seal_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let report = kuzet_store::verify(dir.path(), &signer.verifying_key())?;
    let verify_seconds = start.elapsed().as_secs_f64();
    if !report.is_intact() {
        bail!("the benchmark's archive does not verify: {report}");
    }
    let options = kuzet_parse::ParseOptions::default();
    let start = Instant::now();
    for raw in &raws {
        std::hint::black_box(kuzet_parse::parse(raw, &options));
    }
    let parse_seconds = start.elapsed().as_secs_f64();
    let archive_len = directory_size(&dir.path().join("bench"));
    let (n, raw_len) = (raws.len() as f64, stream.len() as f64);
    println!(
        "input: {} events, {:.0} bytes ({} file(s))",
        raws.len(),
        raw_len,
        files.len()
    );
    println!(
        "zstd -3 of the same bytes: {zstd_len} bytes = {:.1} % of raw, {:.1} MB/s (baseline)",
        zstd_len as f64 * 100.0 / raw_len,
        raw_len / 1e6 / zstd_seconds
    );
    println!(
        "archive: {archive_len} bytes = {:.1} % of raw, {:.1} bytes/event; archive / zstd -3 = {:.2}",
        archive_len as f64 * 100.0 / raw_len,
        archive_len as f64 / n,
        archive_len as f64 / zstd_len as f64
    );
    println!(
        "seal (one thread): {:.0} events/s, {:.1} MB/s = {:.2} × zstd -3's speed",
        n / seal_seconds,
        raw_len / 1e6 / seal_seconds,
        zstd_seconds / seal_seconds
    );
    println!(
        "verify (one thread): {:.0} records/s; parse (one thread): {:.0} events/s",
        report.records as f64 / verify_seconds,
        n / parse_seconds
    );
    if let Some(rss) = peak_rss_mb() {
        println!("peak RSS {rss:.0} MB (holds the input in memory)");
    }
    Ok(())
}

/// The stream, octet-counted (RFC 6587) and split across `connections` buffers.
fn framed_stream(lines: &[String], connections: usize) -> (Vec<Vec<u8>>, u64) {
    let raw_bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
    let mut buffers = vec![Vec::new(); connections];
    for (i, line) in lines.iter().enumerate() {
        let buffer = &mut buffers[i % connections];
        buffer.extend_from_slice(format!("{} ", line.len()).as_bytes());
        buffer.extend_from_slice(line.as_bytes());
    }
    (buffers, raw_bytes)
}

async fn blast(address: std::net::SocketAddr, buffers: Arc<Vec<Vec<u8>>>) -> Result<()> {
    let mut tasks = Vec::new();
    for index in 0..buffers.len() {
        let buffers = Arc::clone(&buffers);
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(address).await?;
            stream.write_all(&buffers[index]).await?;
            stream.shutdown().await?;
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Measured {
    seconds: f64,
    events: usize,
}

impl Measured {
    fn rate(self) -> f64 {
        self.events as f64 / self.seconds
    }
}

fn ingest(events: usize, connections: usize, baseline: bool) -> Result<()> {
    let (buffers, raw_bytes, zstd_len) = {
        let start: jiff::Timestamp = jiff::Timestamp::now();
        let lines = generate::syslog_stream(42, start, events);
        let mut text = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in &lines {
            text.extend_from_slice(line.as_bytes());
            text.push(b'\n');
        }
        let (zstd_len, _) = zstd3(&text)?;
        let (buffers, raw_bytes) = framed_stream(&lines, connections);
        (buffers, raw_bytes, zstd_len)
    };
    let buffers = Arc::new(buffers);
    println!(
        "stream: {events} syslog events, {:.1} MB, {connections} TCP connections",
        raw_bytes as f64 / 1e6
    );
    // The peak memory of the server alone: forget the peak of building the stream.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let kuzet = measure_kuzet(events, Arc::clone(&buffers))?;
    println!(
        "kuzet   (WAL fsync + parse + seal, detection off): {:>8.2} s  {:>10.0} events/s",
        kuzet.0.seconds,
        kuzet.0.rate()
    );
    println!(
        "        archive {:.1} MB = {:.1} % of the raw stream, {:.0} bytes/event",
        kuzet.1 as f64 / 1e6,
        kuzet.1 as f64 * 100.0 / raw_bytes as f64,
        kuzet.1 as f64 / events as f64
    );
    println!(
        "        zstd -3 of the same lines {:.1} MB = {:.1} % of the raw stream; archive / zstd -3 = {:.2}",
        zstd_len as f64 / 1e6,
        zstd_len as f64 * 100.0 / raw_bytes as f64,
        kuzet.1 as f64 / zstd_len as f64
    );
    if let Some(rss) = peak_rss_mb() {
        println!("        peak RSS {rss:.0} MB (the server, and the stream it sends to itself)");
    }
    if baseline {
        match measure_rsyslog(events, raw_bytes, &buffers) {
            Ok(rsyslog) => {
                println!(
                    "rsyslog (imtcp → omfile, no fsync):  {:>8.2} s  {:>10.0} events/s",
                    rsyslog.seconds,
                    rsyslog.rate()
                );
                println!(
                    "ratio kuzet / rsyslog: {:.2}",
                    kuzet.0.rate() / rsyslog.rate()
                );
            }
            Err(error) => println!("rsyslog baseline not measured: {error:#}"),
        }
    }
    Ok(())
}

pub(crate) fn directory_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                directory_size(&path)
            } else {
                entry.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

/// Runs the real server wiring on loopback with a temporary data directory.
fn measure_kuzet(events: usize, buffers: Arc<Vec<Vec<u8>>>) -> Result<(Measured, u64)> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let data_dir = dir.path().join("data");
    let key = dir.path().join("seal.key");
    let config = Config::from_toml(&format!(
        r#"
data_dir = {data_dir:?}
signing_key = {key:?}
[ingest]
syslog_udp = ""
syslog_tcp = "127.0.0.1:0"
http = "127.0.0.1:0"
[[tenants]]
id = "bench"
name = "Benchmark"
[[tenants.sources]]
id = "bench-syslog"
format = "syslog"
peers = ["127.0.0.1/32"]
# The path measured is the write path (WAL fsync, parse, seal); detection reads sealed events beside it and is
# measured by `kuzet bench hunt`.
[detection]
enabled = false
# Search indexing too (`kuzet bench search` measures it); the disk guard must not hold the benchmark's senders.
[search]
index = false
[store]
disk_warn_free_percent = 0.0
disk_refuse_free_percent = 0.0
"#
    ))?;
    crate::keys::ensure_key(&config.signing_key, &config.archive_dir())?;
    let result: Arc<Mutex<Option<Result<Measured>>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&result);
    serve::run_with(config, move |ready: Ready| {
        tokio::spawn(async move {
            let outcome = async {
                let address = ready
                    .addresses
                    .syslog_tcp
                    .ok_or_else(|| anyhow!("no TCP listener"))?;
                let start = Instant::now();
                blast(address, buffers).await?;
                // Waiting on the store's own counter is the measurement itself, not synchronization of a test.
                while (ready.store_stats)().sealed_events < events as u64 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                anyhow::Ok(Measured {
                    seconds: start.elapsed().as_secs_f64(),
                    events,
                })
            }
            .await;
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(outcome);
            }
            ready.shutdown.cancel();
        });
    })?;
    let measured = result
        .lock()
        .map_err(|_| anyhow!("benchmark result lock poisoned"))?
        .take()
        .ok_or_else(|| anyhow!("benchmark did not finish"))??;
    Ok((
        measured,
        directory_size(&dir.path().join("data").join("archive")),
    ))
}

/// rsyslogd with imtcp writing raw messages to a file; measured until the file holds every byte.
fn measure_rsyslog(events: usize, raw_bytes: u64, buffers: &Arc<Vec<Vec<u8>>>) -> Result<Measured> {
    let rsyslogd = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or_else(|| anyhow!("rsyslogd is not installed (apt-get install rsyslog)"))?;
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let out = dir.path().join("out.log");
    let conf = dir.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{dir}\")\n\
             module(load=\"imtcp\" MaxSessions=\"1000\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")\n\
             template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n\
             *.* action(type=\"omfile\" file=\"{out}\" template=\"raw\")\n",
            dir = dir.path().display(),
            out = out.display()
        ),
    )?;
    let mut child = std::process::Command::new(rsyslogd)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.path().join("rsyslogd.pid"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("start rsyslogd")?;
    let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let runtime = tokio::runtime::Runtime::new()?;
    let measured = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(address).await.is_err() {
            if Instant::now() > deadline {
                bail!("rsyslogd did not listen on {address}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let start = Instant::now();
        blast(address, Arc::clone(buffers)).await?;
        let deadline = Instant::now() + Duration::from_secs(600);
        while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) < raw_bytes {
            if Instant::now() > deadline {
                bail!("rsyslogd wrote only part of the stream");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(Measured {
            seconds: start.elapsed().as_secs_f64(),
            events,
        })
    });
    let _ = child.kill();
    let _ = child.wait();
    measured
}
