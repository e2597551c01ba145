//! The TCP listener under the HTTP server: the same connection limits and idle timeout as the syslog listeners,
//! which axum's plain `TcpListener` does not have (hyper reads headers forever without a timer).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use kuzet_model::Transport;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

use crate::server::{ConnectionSlot, Shared, admit};
use crate::telemetry::RefuseReason;
use crate::{IngestStats, Sink};

/// The peer of an HTTP connection accepted by Kuzet's own listener, available to handlers as
/// `ConnectInfo<HttpPeer>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpPeer(pub SocketAddr);

pub(crate) struct HttpListener<S> {
    pub listener: TcpListener,
    pub shared: Arc<Shared<S>>,
}

impl<S: Sink> Listener for HttpListener<S> {
    type Io = IdleStream<S>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (IdleStream<S>, SocketAddr) {
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning on the error.
                    tracing::warn!(listener = "http", %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match admit(&self.shared, Transport::Http, peer.ip()) {
                Some(slot) => {
                    let idle = self.shared.config.idle_timeout;
                    let stream = IdleStream {
                        stream,
                        idle,
                        deadline: Box::pin(tokio::time::sleep(idle)),
                        timed_out: false,
                        stats: Arc::clone(&self.shared.stats),
                        _slot: slot,
                    };
                    return (stream, peer);
                }
                None => {
                    self.shared
                        .stats
                        .refused(Transport::Http, RefuseReason::TooManyConnections);
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl<S: Sink> Connected<IncomingStream<'_, HttpListener<S>>> for HttpPeer {
    fn connect_info(stream: IncomingStream<'_, HttpListener<S>>) -> Self {
        HttpPeer(*stream.remote_addr())
    }
}

/// A connection that fails its read once nothing has moved either way for `idle` — a keep-alive connection left
/// open, or a client that never finishes its request headers.
pub(crate) struct IdleStream<S> {
    stream: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    timed_out: bool,
    stats: Arc<IngestStats>,
    _slot: ConnectionSlot<S>,
}

impl<S> IdleStream<S> {
    fn touch(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    /// Bytes written count as activity, like bytes read: a client slowly reading a large answer is not idle.
    fn touch_if_written(&mut self, written: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            self.touch();
        }
        written
    }
}

impl<S> AsyncRead for IdleStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_ready() {
                    if !this.timed_out {
                        this.timed_out = true;
                        this.stats
                            .refused(Transport::Http, RefuseReason::IdleTimeout);
                    }
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "http connection idle",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<S> AsyncWrite for IdleStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.touch_if_written(written)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.touch_if_written(written)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
