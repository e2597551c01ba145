//! Listener configuration. A plain struct with defaults; the binary fills it from its TOML file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kuzet_model::SourceId;

/// What to do with a UDP datagram whose peer address maps to no source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UdpUnattributed {
    /// Drop it and count `dropped{reason="unattributed"}`.
    #[default]
    Refuse,
    /// Attribute it to this source (which must exist in the directory, or the datagram is refused anyway).
    DefaultSource(SourceId),
}

/// The certificate the TLS listener presents and how it checks client certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_path: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_path: PathBuf,
    /// PEM bundle of the CAs that sign client certificates; without it no client certificate is asked for and
    /// every TLS sender is attributed by its peer address.
    pub client_ca_path: Option<PathBuf>,
    /// Refuse the handshake of a client without a certificate signed by `client_ca_path`.
    pub require_client_cert: bool,
}

#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    /// Needs `tls`.
    pub syslog_tls: Option<SocketAddr>,
    /// HTTP JSON ingest and the Elastic `_bulk`-compatible endpoint on one listener.
    pub http: Option<SocketAddr>,
    pub tls: Option<TlsConfig>,
    /// Longest accepted syslog message (after framing) or UDP datagram; longer ones are refused whole and counted
    /// `oversized`, never truncated: a truncated event would be stored as if it were what the sender said.
    pub max_message_bytes: usize,
    /// Open TCP and TLS connections, all peers together; more are closed at once and counted.
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
    /// A connection that sends nothing for this long, or leaves a frame (or the TLS handshake) incomplete for this
    /// long, is closed: slow senders must not hold connection slots.
    pub idle_timeout: Duration,
    /// At shutdown, how long answers still being sent (a long export, a slow client) may take before the listener
    /// stops waiting for them.
    pub shutdown_grace: Duration,
    pub max_batch_events: usize,
    /// How long a listener waits for more events before handing a partial batch to the sink.
    pub batch_linger: Duration,
    /// Largest HTTP request body as sent (possibly compressed).
    pub http_max_body_bytes: usize,
    /// Largest HTTP request body after gzip decompression: the guard against compression bombs.
    pub http_max_decompressed_bytes: usize,
    pub udp_unattributed: UdpUnattributed,
    /// Receive buffer asked of the kernel for the UDP socket; the kernel may grant less (`net.core.rmem_max`).
    pub udp_receive_buffer_bytes: usize,
    /// The Elasticsearch version the `_bulk` endpoint claims. Beats refuse a cluster older (major.minor) than
    /// themselves unless `allow_older_versions` is set, so this should be at least the shippers' version.
    pub elastic_version: String,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            syslog_udp: None,
            syslog_tcp: None,
            syslog_tls: None,
            http: None,
            tls: None,
            max_message_bytes: 64 * 1024,
            max_connections: 4096,
            max_connections_per_peer: 64,
            idle_timeout: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(10),
            max_batch_events: 512,
            batch_linger: Duration::from_millis(5),
            http_max_body_bytes: 32 * 1024 * 1024,
            http_max_decompressed_bytes: 256 * 1024 * 1024,
            udp_unattributed: UdpUnattributed::Refuse,
            udp_receive_buffer_bytes: 8 * 1024 * 1024,
            elastic_version: "8.19.0".to_owned(),
        }
    }
}
