//! Where listeners put what they accepted.

use std::future::Future;

use kuzet_model::RawEvent;

/// A durable destination for raw events, implemented by the binary over the write-ahead log.
///
/// Invariant: `append` resolves `Ok` only once every event of the batch is durable (fsync'd); only then may a
/// listener acknowledge to the sender.
pub trait Sink: Clone + Send + Sync + 'static {
    /// Waits for room, appends the batch and waits until it is durable. Used where the protocol can push back by
    /// not reading (TCP, TLS).
    fn append(&self, batch: Vec<RawEvent>) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Appends only if there is room right now and then waits until durable; `Err(SinkError::Full)` at once
    /// otherwise. Used where the protocol cannot wait: HTTP answers 429, UDP counts a drop.
    fn try_append(
        &self,
        batch: Vec<RawEvent>,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkError {
    /// The queue in front of the write-ahead log is full.
    #[error("write-ahead log queue is full")]
    Full,
    /// The store is shutting down or failed; nothing of the batch is durable.
    #[error("write-ahead log unavailable: {0}")]
    Unavailable(String),
    /// An event of the batch is larger than the write-ahead log holds; nothing of the batch is durable.
    #[error("{0}")]
    TooLarge(String),
}
