//! Listeners: syslog over UDP, TCP (RFC 6587 octet counting or LF framing, detected per connection) and TLS
//! (RFC 5425), HTTP JSON/NDJSON ingest and an Elastic `_bulk`-compatible endpoint. Each listener attributes the
//! sender to exactly one source of one tenant, frames the bytes into [`RawEvent`]s and hands them to a [`Sink`]
//! that acknowledges only once they are durable.
//!
//! Must not depend on the store, the parser or the API: the binary wires a sink to the write-ahead log.
//!
//! What each protocol guarantees is written down in `docs/delivery.md`.

mod attribution;
mod config;
mod elastic;
mod error;
mod framing;
mod http;
mod http_listener;
mod ids;
mod server;
mod sink;
mod stream;
mod telemetry;
mod tls;
mod udp;

pub use attribution::SharedDirectory;
pub use config::{IngestConfig, TlsConfig, UdpUnattributed};
pub use error::IngestError;
pub use framing::{FramingError, SyslogFrame, SyslogFrameDecoder};
pub use http_listener::HttpPeer;
pub use ids::{IdGenerator, receive_time};
pub use server::{BoundAddresses, Ingest, Listeners, serve};
pub use sink::{Sink, SinkError};
pub use telemetry::{DropReason, IngestStats, RefuseReason};

#[doc(no_inline)]
pub use kuzet_model::RawEvent;

/// The codec types [`SyslogFrameDecoder`] is used with, so that callers (the fuzz target, tools) need no
/// dependency of their own on `bytes` and `tokio-util`.
pub mod codec {
    pub use bytes::BytesMut;
    pub use tokio_util::codec::Decoder;
}
