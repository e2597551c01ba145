//! Counters, exported through the `metrics` facade and kept in process so that tests and the binary's readiness
//! checks can read them. Counted per batch or per connection, never per byte.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use kuzet_model::Transport;

const TRANSPORTS: usize = 6;

/// Why accepted bytes did not become durable events. Every drop is counted with one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The sink had no room (UDP; HTTP answers 429 and counts the refused events here too).
    QueueFull,
    /// A message longer than `max_message_bytes` (or an HTTP body over its limits).
    Oversized,
    /// A UDP datagram from a peer that maps to no source.
    Unattributed,
    /// Bytes that are not valid framing (a bad octet count); the connection is closed.
    Framing,
    /// A frame left incomplete when the connection closed or timed out.
    Incomplete,
    /// A gzip body that does not decompress.
    Decompress,
    /// An HTTP body or `_bulk` line that is not JSON.
    InvalidJson,
    /// The sink failed (shutting down or broken).
    Unavailable,
}

impl DropReason {
    const ALL: [DropReason; 8] = [
        DropReason::QueueFull,
        DropReason::Oversized,
        DropReason::Unattributed,
        DropReason::Framing,
        DropReason::Incomplete,
        DropReason::Decompress,
        DropReason::InvalidJson,
        DropReason::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Oversized => "oversized",
            DropReason::Unattributed => "unattributed",
            DropReason::Framing => "framing",
            DropReason::Incomplete => "incomplete",
            DropReason::Decompress => "decompress",
            DropReason::InvalidJson => "invalid_json",
            DropReason::Unavailable => "unavailable",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Why a connection or request was turned away or closed by us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefuseReason {
    /// The peer, certificate or token maps to no source.
    UnknownSource,
    /// `max_connections` or `max_connections_per_peer` reached.
    TooManyConnections,
    /// Nothing sent, or a frame or handshake left incomplete, for `idle_timeout`.
    IdleTimeout,
    /// The TLS handshake failed.
    Handshake,
}

impl RefuseReason {
    const ALL: [RefuseReason; 4] = [
        RefuseReason::UnknownSource,
        RefuseReason::TooManyConnections,
        RefuseReason::IdleTimeout,
        RefuseReason::Handshake,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefuseReason::UnknownSource => "unknown_source",
            RefuseReason::TooManyConnections => "too_many_connections",
            RefuseReason::IdleTimeout => "idle_timeout",
            RefuseReason::Handshake => "handshake",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// The listeners' counters: `kuzet_ingest_received_total{transport}`, `kuzet_ingest_bytes_total{transport}`,
/// `kuzet_ingest_acknowledged_total{transport}`, `kuzet_ingest_dropped_total{transport,reason}`,
/// `kuzet_ingest_refused_total{transport,reason}` and the gauge `kuzet_ingest_connections{transport}`.
#[derive(Debug, Default)]
pub struct IngestStats {
    received: [AtomicU64; TRANSPORTS],
    bytes: [AtomicU64; TRANSPORTS],
    acknowledged: [AtomicU64; TRANSPORTS],
    dropped: [[AtomicU64; DropReason::ALL.len()]; TRANSPORTS],
    refused: [[AtomicU64; RefuseReason::ALL.len()]; TRANSPORTS],
    connections: [AtomicI64; TRANSPORTS],
}

fn slot(transport: Transport) -> usize {
    usize::from(transport.code()).min(TRANSPORTS - 1)
}

impl IngestStats {
    /// Events framed (whether or not they then became durable) and their bytes.
    pub(crate) fn received(&self, transport: Transport, events: u64, bytes: u64) {
        if events == 0 {
            return;
        }
        self.received[slot(transport)].fetch_add(events, Ordering::Relaxed);
        self.bytes[slot(transport)].fetch_add(bytes, Ordering::Relaxed);
        metrics::counter!("kuzet_ingest_received_total", "transport" => transport.as_str())
            .increment(events);
        metrics::counter!("kuzet_ingest_bytes_total", "transport" => transport.as_str())
            .increment(bytes);
    }

    /// Events the sink made durable.
    pub(crate) fn acknowledged(&self, transport: Transport, events: u64) {
        self.acknowledged[slot(transport)].fetch_add(events, Ordering::Relaxed);
        metrics::counter!("kuzet_ingest_acknowledged_total", "transport" => transport.as_str())
            .increment(events);
    }

    pub(crate) fn dropped(&self, transport: Transport, reason: DropReason, events: u64) {
        if events == 0 {
            return;
        }
        self.dropped[slot(transport)][reason.index()].fetch_add(events, Ordering::Relaxed);
        metrics::counter!(
            "kuzet_ingest_dropped_total",
            "transport" => transport.as_str(),
            "reason" => reason.as_str()
        )
        .increment(events);
    }

    pub(crate) fn refused(&self, transport: Transport, reason: RefuseReason) {
        self.refused[slot(transport)][reason.index()].fetch_add(1, Ordering::Relaxed);
        metrics::counter!(
            "kuzet_ingest_refused_total",
            "transport" => transport.as_str(),
            "reason" => reason.as_str()
        )
        .increment(1);
    }

    pub(crate) fn connection_opened(&self, transport: Transport) {
        let now = self.connections[slot(transport)].fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("kuzet_ingest_connections", "transport" => transport.as_str())
            .set(now as f64);
    }

    pub(crate) fn connection_closed(&self, transport: Transport) {
        let now = self.connections[slot(transport)].fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!("kuzet_ingest_connections", "transport" => transport.as_str())
            .set(now as f64);
    }

    pub fn received_events(&self, transport: Transport) -> u64 {
        self.received[slot(transport)].load(Ordering::Relaxed)
    }
    pub fn received_bytes(&self, transport: Transport) -> u64 {
        self.bytes[slot(transport)].load(Ordering::Relaxed)
    }
    pub fn acknowledged_events(&self, transport: Transport) -> u64 {
        self.acknowledged[slot(transport)].load(Ordering::Relaxed)
    }
    pub fn dropped_events(&self, transport: Transport, reason: DropReason) -> u64 {
        self.dropped[slot(transport)][reason.index()].load(Ordering::Relaxed)
    }
    pub fn refusals(&self, transport: Transport, reason: RefuseReason) -> u64 {
        self.refused[slot(transport)][reason.index()].load(Ordering::Relaxed)
    }
    pub fn open_connections(&self, transport: Transport) -> i64 {
        self.connections[slot(transport)].load(Ordering::Relaxed)
    }
}
