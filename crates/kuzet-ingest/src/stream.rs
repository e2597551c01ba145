//! One syslog TCP or TLS connection: frame, batch, append, and stop reading while the sink is busy — the sender
//! feels the write-ahead log's pace as TCP backpressure.

use std::net::SocketAddr;

use bytes::BytesMut;
use jiff::Timestamp;
use kuzet_model::{RawEvent, Transport};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

use crate::attribution::Attributed;
use crate::server::Shared;
use crate::telemetry::{DropReason, RefuseReason};
use crate::{FramingError, Sink, SinkError, SyslogFrame, SyslogFrameDecoder};

const READ_CHUNK: usize = 16 * 1024;

/// The events of one connection waiting to be appended.
struct Batch {
    events: Vec<RawEvent>,
    bytes: u64,
    /// When the first event of the batch arrived: the batch goes to the sink `batch_linger` later at the latest.
    started: Option<Instant>,
}

enum Ended {
    /// The sender closed, or we shut down.
    Normally,
    /// The sink failed: stop reading, the sender must not believe more is being accepted.
    SinkFailed,
}

pub(crate) async fn run<S: Sink, R: AsyncRead + Unpin>(
    shared: &Shared<S>,
    transport: Transport,
    mut reader: R,
    peer: SocketAddr,
    who: Attributed,
    shutdown: &CancellationToken,
) {
    let config = &shared.config;
    let mut decoder = SyslogFrameDecoder::new(config.max_message_bytes);
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    let mut batch = Batch {
        events: Vec::with_capacity(config.max_batch_events.min(1024)),
        bytes: 0,
        started: None,
    };
    let format = who.syslog_format();
    let mut last_read = Instant::now();
    // When the bytes of a frame that is still incomplete started arriving.
    let mut partial_since: Option<Instant> = None;
    let mut oversized = 0u64;

    loop {
        // Hand out every complete frame in the buffer.
        loop {
            let frame = match decoder.decode(&mut buffer) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(%peer, %error, "syslog framing error; closing");
                    shared.stats.dropped(transport, DropReason::Framing, 1);
                    shared
                        .stats
                        .dropped(transport, DropReason::Oversized, oversized);
                    let _ = flush(shared, transport, &mut batch).await;
                    return;
                }
            };
            match frame {
                SyslogFrame::Message(bytes) => {
                    let received = Timestamp::now();
                    batch.started.get_or_insert_with(Instant::now);
                    batch.bytes += bytes.len() as u64;
                    batch.events.push(RawEvent {
                        id: shared.ids.next(received),
                        tenant: who.tenant.clone(),
                        source: who.source.clone(),
                        received,
                        transport,
                        peer: Some(peer),
                        format,
                        bytes: Vec::from(bytes),
                    });
                    if batch.events.len() >= config.max_batch_events
                        && let Ended::SinkFailed = flush(shared, transport, &mut batch).await
                    {
                        return;
                    }
                }
                SyslogFrame::Oversized(_) => oversized += 1,
            }
        }
        if oversized > 0 {
            shared
                .stats
                .dropped(transport, DropReason::Oversized, oversized);
            oversized = 0;
        }

        let partial = !buffer.is_empty() || decoder.in_partial_frame();
        if !partial {
            partial_since = None;
        } else if partial_since.is_none() {
            partial_since = Some(last_read);
        }
        let idle_deadline = partial_since.unwrap_or(last_read) + config.idle_timeout;
        let linger_deadline = batch.started.map(|started| started + config.batch_linger);
        let deadline = match linger_deadline {
            Some(linger) if linger < idle_deadline => linger,
            _ => idle_deadline,
        };

        buffer.reserve(READ_CHUNK);
        let read = tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = flush(shared, transport, &mut batch).await;
                return;
            }
            read = tokio::time::timeout_at(deadline, reader.read_buf(&mut buffer)) => read,
        };
        match read {
            Err(_elapsed) => {
                if linger_deadline.is_some_and(|linger| linger <= Instant::now()) {
                    if let Ended::SinkFailed = flush(shared, transport, &mut batch).await {
                        return;
                    }
                    continue;
                }
                tracing::debug!(%peer, partial, "connection idle too long; closing");
                shared.stats.refused(transport, RefuseReason::IdleTimeout);
                if partial {
                    shared.stats.dropped(transport, DropReason::Incomplete, 1);
                }
                let _ = flush(shared, transport, &mut batch).await;
                return;
            }
            Ok(Ok(0)) => {
                finish(
                    shared,
                    transport,
                    &mut decoder,
                    &mut buffer,
                    &mut batch,
                    &who,
                    peer,
                    format,
                )
                .await;
                return;
            }
            Ok(Ok(_)) => last_read = Instant::now(),
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "read failed; closing");
                if partial {
                    shared.stats.dropped(transport, DropReason::Incomplete, 1);
                }
                let _ = flush(shared, transport, &mut batch).await;
                return;
            }
        }
    }
}

/// The sender closed its side: the last line may lack its newline.
#[allow(clippy::too_many_arguments)]
async fn finish<S: Sink>(
    shared: &Shared<S>,
    transport: Transport,
    decoder: &mut SyslogFrameDecoder,
    buffer: &mut BytesMut,
    batch: &mut Batch,
    who: &Attributed,
    peer: SocketAddr,
    format: kuzet_model::FormatHint,
) {
    loop {
        match decoder.decode_eof(buffer) {
            Ok(Some(SyslogFrame::Message(bytes))) => {
                let received = Timestamp::now();
                batch.bytes += bytes.len() as u64;
                batch.events.push(RawEvent {
                    id: shared.ids.next(received),
                    tenant: who.tenant.clone(),
                    source: who.source.clone(),
                    received,
                    transport,
                    peer: Some(peer),
                    format,
                    bytes: Vec::from(bytes),
                });
            }
            Ok(Some(SyslogFrame::Oversized(_))) => {
                shared.stats.dropped(transport, DropReason::Oversized, 1)
            }
            Ok(None) => break,
            Err(FramingError::Incomplete { .. }) => {
                shared.stats.dropped(transport, DropReason::Incomplete, 1);
                break;
            }
            Err(_) => {
                shared.stats.dropped(transport, DropReason::Framing, 1);
                break;
            }
        }
    }
    let _ = flush(shared, transport, batch).await;
}

async fn flush<S: Sink>(shared: &Shared<S>, transport: Transport, batch: &mut Batch) -> Ended {
    batch.started = None;
    if batch.events.is_empty() {
        return Ended::Normally;
    }
    let events = std::mem::replace(
        &mut batch.events,
        Vec::with_capacity(shared.config.max_batch_events.min(1024)),
    );
    let count = events.len() as u64;
    shared
        .stats
        .received(transport, count, std::mem::take(&mut batch.bytes));
    match shared.sink.append(events).await {
        Ok(()) => {
            shared.stats.acknowledged(transport, count);
            Ended::Normally
        }
        Err(SinkError::Full) => {
            // `append` waits for room; a sink that still says Full is overloaded beyond waiting.
            shared
                .stats
                .dropped(transport, DropReason::QueueFull, count);
            Ended::Normally
        }
        Err(error) => {
            tracing::warn!(transport = transport.as_str(), %error, "sink failed; closing connection");
            shared
                .stats
                .dropped(transport, DropReason::Unavailable, count);
            Ended::SinkFailed
        }
    }
}
