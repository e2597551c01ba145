//! The audit trail: where the guard's records go (the WAL, hence the sealed archive of the reserved tenant
//! `kuzet-audit`), and reading them back with filters and proofs.

use std::path::Path;

use futures::future::BoxFuture;
use kuzet_ingest::IdGenerator;
use kuzet_model::audit::{AuditFilter, AuditRecord};
use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_store::{StoreError, WalHandle};

/// Where audit records go. The API answers only after `append` returned `Ok`: an action whose record could not be
/// made durable is reported as failed to the caller.
pub trait AuditSink: Send + Sync + 'static {
    fn append(&self, record: AuditRecord) -> BoxFuture<'_, Result<(), String>>;

    /// `Err(why)` while records are known not to be made durable (the store has stopped): the guard then refuses
    /// every request that could change something, before it acts.
    fn available(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Audit records into the write-ahead log (fsync'd before `append` returns), from where the sealer seals them into
/// the audit trail's log with the same blocks, Merkle trees and signed checkpoints as events.
pub struct WalAudit {
    wal: WalHandle,
    ids: IdGenerator,
    source: SourceId,
}

impl WalAudit {
    pub fn new(wal: WalHandle, ids: IdGenerator) -> Self {
        Self {
            wal,
            ids,
            // A valid slug: the literal satisfies every slug rule.
            source: SourceId::new("api").unwrap_or_else(|_| unreachable!()),
        }
    }

    /// The raw event that carries `record` (also used by the CLI for its own audit records).
    pub fn raw_event(&self, record: &AuditRecord) -> RawEvent {
        RawEvent {
            id: self.ids.next(record.at),
            tenant: TenantId::audit_trail(),
            source: self.source.clone(),
            received: record.at,
            transport: Transport::Http,
            peer: None,
            format: FormatHint::Json,
            bytes: record.to_bytes(),
        }
    }
}

impl AuditSink for WalAudit {
    fn append(&self, record: AuditRecord) -> BoxFuture<'_, Result<(), String>> {
        let raw = self.raw_event(&record);
        Box::pin(async move { self.wal.append(vec![raw]).await.map_err(|e| e.to_string()) })
    }

    fn available(&self) -> Result<(), String> {
        self.wal.failure().map_or(Ok(()), Err)
    }
}

/// One sealed audit record and the id to prove it by.
#[derive(Debug, Clone)]
pub struct SealedAuditRecord {
    pub event_id: EventId,
    pub record: AuditRecord,
}

/// The newest `limit` sealed audit records matching `filter`, newest first, and how many matched in all. Reads the
/// trail as a stream and keeps only `limit` records in memory, however long the trail is.
pub fn read_audit_newest(
    archive_dir: &Path,
    filter: &AuditFilter,
    limit: usize,
) -> Result<(Vec<SealedAuditRecord>, usize), StoreError> {
    let mut newest = std::collections::VecDeque::with_capacity(limit.min(4096));
    let mut matched = 0;
    for_each_audit(archive_dir, filter, |record| {
        matched += 1;
        if newest.len() == limit {
            newest.pop_front();
        }
        if limit > 0 {
            newest.push_back(record);
        }
    })?;
    Ok((newest.into_iter().rev().collect(), matched))
}

/// Calls `each` with every sealed audit record matching `filter`, oldest first.
fn for_each_audit(
    archive_dir: &Path,
    filter: &AuditFilter,
    mut each: impl FnMut(SealedAuditRecord),
) -> Result<(), StoreError> {
    let tenant = TenantId::audit_trail();
    if !archive_dir.join(tenant.as_str()).is_dir() {
        return Ok(());
    }
    // Audit records are decoded from the original bytes: nothing needs parsing.
    for event in kuzet_store::read_events(archive_dir, &tenant, kuzet_store::unparsed()) {
        let event = event?;
        let record =
            AuditRecord::from_bytes(&event.original).map_err(|detail| StoreError::Corrupt {
                path: archive_dir.join(tenant.as_str()),
                detail: format!("audit record {}: {detail}", event.id),
            })?;
        if filter.matches(&record) {
            each(SealedAuditRecord {
                event_id: event.id,
                record,
            });
        }
    }
    Ok(())
}

/// The sealed audit records matching `filter`, oldest first. Records still in the WAL (sealed within about a
/// second) are not included. A record that does not decode is reported, not skipped.
pub fn read_audit(
    archive_dir: &Path,
    filter: &AuditFilter,
) -> Result<Vec<SealedAuditRecord>, StoreError> {
    let mut out = Vec::new();
    for_each_audit(archive_dir, filter, |record| out.push(record))?;
    Ok(out)
}
