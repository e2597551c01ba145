//! End-to-end syslog ingest over loopback: a client streams LF-framed messages over one TCP connection, or sends
//! datagrams over UDP, into the listeners, which frame, attribute, batch and append them to a sink that only
//! counts. Reports events/s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark that cannot set up should stop loudly

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kuzet_ingest::{Ingest, IngestConfig, RawEvent, SharedDirectory, Sink, SinkError};
use kuzet_model::SourceIdentity;
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
struct CountingSink {
    events: Arc<AtomicU64>,
    changed: Arc<Notify>,
}

impl CountingSink {
    /// Waits until `target` events in all have been appended.
    async fn wait_for(&self, target: u64) {
        while self.events.load(Ordering::SeqCst) < target {
            let changed = self.changed.notified();
            if self.events.load(Ordering::SeqCst) >= target {
                break;
            }
            // The listener flushes a partial batch after `batch_linger`, so this wakes up.
            let _ = tokio::time::timeout(Duration::from_millis(50), changed).await;
        }
    }
}

impl Sink for CountingSink {
    async fn append(&self, batch: Vec<RawEvent>) -> Result<(), SinkError> {
        self.events.fetch_add(batch.len() as u64, Ordering::SeqCst);
        self.changed.notify_waiters();
        Ok(())
    }
    async fn try_append(&self, batch: Vec<RawEvent>) -> Result<(), SinkError> {
        self.append(batch).await
    }
}

const MESSAGE: &[u8] = b"<34>1 2026-11-22T03:15:32.123Z web-01.example.kz sshd 4242 - - Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2\n";
const PER_ITERATION: u64 = 100_000;

fn tcp(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let directory = common::one_source(SourceIdentity::Peer("127.0.0.0/8".parse().unwrap()));
    let sink = CountingSink::default();
    let config = IngestConfig {
        syslog_tcp: Some("127.0.0.1:0".parse().unwrap()),
        syslog_udp: Some("127.0.0.1:0".parse().unwrap()),
        ..IngestConfig::default()
    };
    let shutdown = CancellationToken::new();
    let (mut client, udp_server) = runtime.block_on(async {
        let ingest = Ingest::new(config, SharedDirectory::new(directory), sink.clone()).unwrap();
        let listeners = ingest.bind().await.unwrap();
        let addresses = listeners.addresses();
        let token = shutdown.clone();
        tokio::spawn(async move { listeners.serve(axum::Router::new(), token).await });
        let client = tokio::net::TcpStream::connect(addresses.syslog_tcp.unwrap())
            .await
            .unwrap();
        (client, addresses.syslog_udp.unwrap())
    });
    let udp_client = runtime
        .block_on(tokio::net::UdpSocket::bind("127.0.0.1:0"))
        .unwrap();
    let payload = MESSAGE.repeat(PER_ITERATION as usize);

    let mut group = c.benchmark_group("syslog_tcp");
    group.throughput(Throughput::Elements(PER_ITERATION));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("one_connection_lf", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    let target = sink.events.load(Ordering::SeqCst) + PER_ITERATION;
                    client.write_all(&payload).await.unwrap();
                    sink.wait_for(target).await;
                }
                started.elapsed()
            })
        })
    });
    group.finish();

    // Datagrams per iteration stay well inside the 8 MiB receive buffer, so the kernel drops none.
    const DATAGRAMS: u64 = 10_000;
    let mut group = c.benchmark_group("syslog_udp");
    group.throughput(Throughput::Elements(DATAGRAMS));
    group.sample_size(10);
    group.bench_function("datagrams", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    let target = sink.events.load(Ordering::SeqCst) + DATAGRAMS;
                    for _ in 0..DATAGRAMS {
                        udp_client.send_to(MESSAGE, udp_server).await.unwrap();
                    }
                    sink.wait_for(target).await;
                }
                started.elapsed()
            })
        })
    });
    group.finish();
    shutdown.cancel();
}

criterion_group!(benches, tcp);
criterion_main!(benches);
