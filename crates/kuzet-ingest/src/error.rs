use std::path::PathBuf;

/// Failures of setting up or running the listeners. Bad input from senders is never an error here: it is counted
/// and answered on the wire.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("listener {listener} on {address}: {source}")]
    Bind {
        listener: &'static str,
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("listener {listener}: {source}")]
    Io {
        listener: &'static str,
        source: std::io::Error,
    },
    #[error("tls file {path}: {reason}")]
    TlsFile { path: PathBuf, reason: String },
    #[error("tls configuration: {0}")]
    Tls(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("event id generator: no randomness from the operating system: {0}")]
    Randomness(String),
}
