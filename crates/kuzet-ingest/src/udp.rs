//! Syslog over UDP: one datagram is one message. Nothing can push back on a UDP sender, so when the sink is full
//! the batch is dropped and counted.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use kuzet_model::{RawEvent, Transport};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::attribution::{self, Attributed};
use crate::server::Shared;
use crate::telemetry::DropReason;
use crate::{IngestError, Sink, SinkError, UdpUnattributed};

/// Larger than any UDP payload (65,507 bytes over IPv4), so the kernel never truncates silently.
const DATAGRAM_BUFFER: usize = 65_536;

pub(crate) fn bind(address: SocketAddr, receive_buffer: usize) -> Result<UdpSocket, IngestError> {
    let failed = |source| IngestError::Bind {
        listener: "syslog_udp",
        address,
        source,
    };
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .map_err(failed)?;
    // Bursts arrive faster than a batch is appended; the kernel buffer absorbs them. The kernel may cap it at
    // net.core.rmem_max, which is logged rather than fatal.
    if let Err(error) = socket.set_recv_buffer_size(receive_buffer) {
        tracing::warn!(%error, receive_buffer, "could not enlarge the UDP receive buffer");
    }
    socket.set_nonblocking(true).map_err(failed)?;
    socket.bind(&address.into()).map_err(failed)?;
    UdpSocket::from_std(socket.into()).map_err(failed)
}

pub(crate) async fn receive<S: Sink>(
    shared: Arc<Shared<S>>,
    socket: UdpSocket,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    let config = &shared.config;
    let mut datagram = vec![0u8; DATAGRAM_BUFFER];
    let mut events: Vec<RawEvent> = Vec::with_capacity(config.max_batch_events);
    let mut counts = Counts::default();
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            first = socket.recv_from(&mut datagram) => first,
        };
        let directory = shared.directory.load();
        // A directory swap takes effect from the next batch on.
        let mut cache: Option<(IpAddr, Option<Attributed>)> = None;
        match first {
            Ok((length, peer)) => accept(
                &shared,
                &directory,
                &datagram[..length],
                peer,
                &mut cache,
                &mut events,
                &mut counts,
            ),
            Err(error) => {
                tracing::warn!(%error, "udp receive failed");
                continue;
            }
        }
        let deadline = Instant::now() + config.batch_linger;
        while events.len() < config.max_batch_events {
            match socket.try_recv_from(&mut datagram) {
                Ok((length, peer)) => accept(
                    &shared,
                    &directory,
                    &datagram[..length],
                    peer,
                    &mut cache,
                    &mut events,
                    &mut counts,
                ),
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    if tokio::time::timeout_at(deadline, socket.readable())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "udp receive failed");
                    break;
                }
            }
        }
        counts.report(&shared);
        if events.is_empty() {
            continue;
        }
        let batch = std::mem::replace(&mut events, Vec::with_capacity(config.max_batch_events));
        // The receive loop must not wait for fsync, or the kernel buffer overflows uncounted; the sink's queue
        // bounds how many of these are in flight.
        let shared = Arc::clone(&shared);
        tasks.spawn(async move { append(&shared, batch).await });
    }
}

#[derive(Default)]
struct Counts {
    received: u64,
    bytes: u64,
    oversized: u64,
    unattributed: u64,
}

impl Counts {
    fn report<S>(&mut self, shared: &Shared<S>) {
        let stats = &shared.stats;
        stats.received(Transport::Udp, self.received, self.bytes);
        stats.dropped(Transport::Udp, DropReason::Oversized, self.oversized);
        stats.dropped(Transport::Udp, DropReason::Unattributed, self.unattributed);
        *self = Counts::default();
    }
}

fn accept<S>(
    shared: &Shared<S>,
    directory: &kuzet_model::Directory,
    datagram: &[u8],
    peer: SocketAddr,
    cache: &mut Option<(IpAddr, Option<Attributed>)>,
    events: &mut Vec<RawEvent>,
    counts: &mut Counts,
) {
    let end = datagram
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r' | 0))
        .map_or(0, |last| last + 1);
    let message = &datagram[..end];
    if message.is_empty() {
        return;
    }
    if message.len() > shared.config.max_message_bytes {
        counts.oversized += 1;
        return;
    }
    let who = match cache {
        Some((ip, who)) if *ip == peer.ip() => who.clone(),
        _ => {
            let who = attribution::by_peer(directory, peer.ip()).or_else(|| {
                match &shared.config.udp_unattributed {
                    UdpUnattributed::Refuse => None,
                    UdpUnattributed::DefaultSource(id) => directory.source(id).map(Attributed::of),
                }
            });
            *cache = Some((peer.ip(), who.clone()));
            who
        }
    };
    let Some(who) = who else {
        counts.unattributed += 1;
        return;
    };
    let format = who.syslog_format();
    let received = crate::receive_time();
    counts.received += 1;
    counts.bytes += message.len() as u64;
    events.push(RawEvent {
        id: shared.ids.next(received),
        tenant: who.tenant,
        source: who.source,
        received,
        transport: Transport::Udp,
        peer: Some(peer),
        format,
        bytes: message.to_vec(),
    });
}

/// Last time (Unix seconds) a full queue was logged: at most one warning per ten seconds.
static LAST_FULL_WARNING: AtomicI64 = AtomicI64::new(0);

async fn append<S: Sink>(shared: &Shared<S>, batch: Vec<RawEvent>) {
    let count = batch.len() as u64;
    match shared.sink.try_append(batch).await {
        Ok(()) => shared.stats.acknowledged(Transport::Udp, count),
        Err(SinkError::Full) => {
            shared
                .stats
                .dropped(Transport::Udp, DropReason::QueueFull, count);
            let now = Timestamp::now().as_second();
            let last = LAST_FULL_WARNING.load(Ordering::Relaxed);
            if now - last >= 10
                && LAST_FULL_WARNING
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                tracing::warn!(
                    dropped = count,
                    "write-ahead log queue full; dropping UDP syslog (counted in kuzet_ingest_dropped_total)"
                );
            }
        }
        Err(error) => {
            shared
                .stats
                .dropped(Transport::Udp, DropReason::Unavailable, count);
            tracing::warn!(%error, dropped = count, "sink failed; dropping UDP syslog");
        }
    }
}
