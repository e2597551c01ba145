//! Listeners: syslog over UDP, TCP (RFC 6587 octet counting or LF framing, detected per connection) and TLS
//! (RFC 5425), HTTP JSON/NDJSON ingest and an Elastic `_bulk`-compatible endpoint. Each listener attributes the
//! sender to exactly one source of one tenant, frames the bytes into [`RawEvent`]s and hands them to a [`Sink`]
//! that acknowledges only once they are durable.
//!
//! Must not depend on the store, the parser or the API: the binary wires a sink to the write-ahead log.

mod sink;

pub use sink::{Sink, SinkError};
