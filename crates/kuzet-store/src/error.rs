//! The crate's one error type.

use std::path::PathBuf;

use kuzet_model::EventId;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The WAL queue has no room; the caller should push back on its sender.
    #[error("write-ahead log queue is full")]
    QueueFull,
    /// The store is shutting down or a background thread has stopped.
    #[error("store is closed")]
    Closed,
    #[error("{}: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("key {}: {detail}", path.display())]
    Key { path: PathBuf, detail: String },
    /// A raw event larger than the write-ahead log can hold; nothing of its batch was accepted.
    #[error("event {id}: {bytes} bytes is larger than the {limit} bytes an event may have")]
    EventTooLarge {
        id: EventId,
        bytes: usize,
        limit: usize,
    },
    #[error("event {0} is not in the archive")]
    NotFound(EventId),
    #[error("backup {location}: {detail}")]
    Backup { location: String, detail: String },
    #[error("inclusion proof: {0}")]
    Proof(String),
    #[error("configuration: {0}")]
    Config(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: path.into(),
            detail: detail.into(),
        }
    }
}
