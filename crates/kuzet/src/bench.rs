//! `kuzet bench ingest`: syslog over TCP → WAL (fsync) → parse → sealed archive, end to end in this process,
//! beside rsyslog receiving the same stream into a plain file in the same run (the baseline).

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
}

pub fn run(command: &BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Ingest {
            events,
            connections,
            no_baseline,
        } => ingest(*events, (*connections).max(1), !*no_baseline),
        BenchCommand::Hunt(args) => crate::hunt::bench(args),
    }
}

/// The stream, octet-counted (RFC 6587) and split across `connections` buffers.
fn framed_stream(events: usize, connections: usize) -> (Vec<Vec<u8>>, u64) {
    let start: jiff::Timestamp = jiff::Timestamp::now();
    let lines = generate::syslog_stream(42, start, events);
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
    let (buffers, raw_bytes) = framed_stream(events, connections);
    let buffers = Arc::new(buffers);
    println!(
        "stream: {events} syslog events, {:.1} MB, {connections} TCP connections",
        raw_bytes as f64 / 1e6
    );
    let kuzet = measure_kuzet(events, Arc::clone(&buffers))?;
    println!(
        "kuzet   (WAL fsync + parse + seal): {:>8.2} s  {:>10.0} events/s",
        kuzet.0.seconds,
        kuzet.0.rate()
    );
    println!(
        "        archive {:.1} MB = {:.1} % of the raw stream, {:.0} bytes/event",
        kuzet.1 as f64 / 1e6,
        kuzet.1 as f64 * 100.0 / raw_bytes as f64,
        kuzet.1 as f64 / events as f64
    );
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

fn directory_size(path: &Path) -> u64 {
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
