//! One syslog TCP or TLS connection: frame, batch, append, and stop reading while the sink is busy — the sender
//! feels the write-ahead log's pace as TCP backpressure.

use std::net::SocketAddr;

use bytes::BytesMut;
use kuzet_model::{FormatHint, RawEvent, Transport};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

use crate::attribution::Attributed;
use crate::server::Shared;
use crate::telemetry::{DropReason, RefuseReason};
use crate::{FramingError, Sink, SinkError, SyslogFrame, SyslogFrameDecoder};

const READ_CHUNK: usize = 16 * 1024;

/// The sink failed: stop reading, the sender must not believe more is being accepted.
struct SinkFailed;

/// What one connection accumulates between two appends.
struct Connection<'a, S> {
    shared: &'a Shared<S>,
    transport: Transport,
    peer: SocketAddr,
    who: Attributed,
    format: FormatHint,
    events: Vec<RawEvent>,
    bytes: u64,
    /// When the first event of the batch arrived: the batch goes to the sink `batch_linger` later at the latest.
    started: Option<Instant>,
}

impl<S: Sink> Connection<'_, S> {
    /// Adds one framed message; appends when the batch is full.
    async fn push(&mut self, message: BytesMut) -> Result<(), SinkFailed> {
        let received = crate::receive_time();
        self.started.get_or_insert_with(Instant::now);
        self.bytes += message.len() as u64;
        self.events.push(RawEvent {
            id: self.shared.ids.next(received),
            tenant: self.who.tenant.clone(),
            source: self.who.source.clone(),
            received,
            transport: self.transport,
            peer: Some(self.peer),
            format: self.format,
            bytes: Vec::from(message),
        });
        if self.events.len() >= self.shared.config.max_batch_events {
            self.flush().await?;
        }
        Ok(())
    }

    fn dropped(&self, reason: DropReason, events: u64) {
        self.shared.stats.dropped(self.transport, reason, events);
    }

    /// Appends the batch and waits until it is durable.
    async fn flush(&mut self) -> Result<(), SinkFailed> {
        self.started = None;
        if self.events.is_empty() {
            return Ok(());
        }
        let capacity = self.shared.config.max_batch_events.min(1024);
        let events = std::mem::replace(&mut self.events, Vec::with_capacity(capacity));
        let count = events.len() as u64;
        let stats = &self.shared.stats;
        stats.received(self.transport, count, std::mem::take(&mut self.bytes));
        match self.shared.sink.append(events).await {
            Ok(()) => {
                stats.acknowledged(self.transport, count);
                Ok(())
            }
            Err(SinkError::Full) => {
                // `append` waits for room; a sink that still says Full is overloaded beyond waiting.
                self.dropped(DropReason::QueueFull, count);
                Ok(())
            }
            Err(SinkError::TooLarge(detail)) => {
                // Frames are capped far below the write-ahead log's limit; counted if that ever changes.
                tracing::warn!(transport = self.transport.as_str(), %detail, "batch refused");
                self.dropped(DropReason::Oversized, count);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(transport = self.transport.as_str(), %error, "sink failed; closing connection");
                self.dropped(DropReason::Unavailable, count);
                Err(SinkFailed)
            }
        }
    }

    /// The sender closed its side: the last line may lack its newline.
    async fn finish(&mut self, decoder: &mut SyslogFrameDecoder, buffer: &mut BytesMut) {
        loop {
            match decoder.decode_eof(buffer) {
                Ok(Some(SyslogFrame::Message(message))) => {
                    if self.push(message).await.is_err() {
                        return;
                    }
                }
                Ok(Some(SyslogFrame::Oversized(_))) => self.dropped(DropReason::Oversized, 1),
                Ok(None) => break,
                Err(FramingError::Incomplete { .. }) => {
                    self.dropped(DropReason::Incomplete, 1);
                    break;
                }
                Err(_) => {
                    self.dropped(DropReason::Framing, 1);
                    break;
                }
            }
        }
        let _ = self.flush().await;
    }
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
    let mut connection = Connection {
        shared,
        transport,
        peer,
        format: who.syslog_format(),
        who,
        events: Vec::with_capacity(config.max_batch_events.min(1024)),
        bytes: 0,
        started: None,
    };
    let mut decoder = SyslogFrameDecoder::new(config.max_message_bytes);
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    let mut last_read = Instant::now();
    // When the bytes of a frame that is still incomplete started arriving.
    let mut partial_since: Option<Instant> = None;

    loop {
        // Hand out every complete frame in the buffer.
        let mut oversized = 0u64;
        loop {
            match decoder.decode(&mut buffer) {
                Ok(Some(SyslogFrame::Message(message))) => {
                    if connection.push(message).await.is_err() {
                        return;
                    }
                }
                Ok(Some(SyslogFrame::Oversized(_))) => oversized += 1,
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(%peer, %error, "syslog framing error; closing");
                    connection.dropped(DropReason::Framing, 1);
                    connection.dropped(DropReason::Oversized, oversized);
                    let _ = connection.flush().await;
                    return;
                }
            }
        }
        connection.dropped(DropReason::Oversized, oversized);

        let partial = !buffer.is_empty() || decoder.in_partial_frame();
        if !partial {
            partial_since = None;
        } else if partial_since.is_none() {
            partial_since = Some(last_read);
        }
        let idle_deadline = partial_since.unwrap_or(last_read) + config.idle_timeout;
        let linger_deadline = connection
            .started
            .map(|started| started + config.batch_linger);
        let deadline = match linger_deadline {
            Some(linger) if linger < idle_deadline => linger,
            _ => idle_deadline,
        };

        buffer.reserve(READ_CHUNK);
        let read = tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = connection.flush().await;
                return;
            }
            read = tokio::time::timeout_at(deadline, reader.read_buf(&mut buffer)) => read,
        };
        match read {
            Err(_elapsed) => {
                if linger_deadline.is_some_and(|linger| linger <= Instant::now()) {
                    if connection.flush().await.is_err() {
                        return;
                    }
                    continue;
                }
                tracing::debug!(%peer, partial, "connection idle too long; closing");
                shared.stats.refused(transport, RefuseReason::IdleTimeout);
                if partial {
                    connection.dropped(DropReason::Incomplete, 1);
                }
                let _ = connection.flush().await;
                return;
            }
            Ok(Ok(0)) => {
                connection.finish(&mut decoder, &mut buffer).await;
                return;
            }
            Ok(Ok(_)) => last_read = Instant::now(),
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "read failed; closing");
                if partial {
                    connection.dropped(DropReason::Incomplete, 1);
                }
                let _ = connection.flush().await;
                return;
            }
        }
    }
}
