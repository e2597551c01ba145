//! Lawful expiry of the sealed archive (R3): every `store.expiry_interval`, and on `kuzet expire`, each tenant's
//! closed segments whose archive retention (its `archive_years`, never below three) has ended are removed, each
//! after a signed tombstone (`kuzet_store::expire`, `docs/formats/archive.md`), and each removal is sealed in the
//! audit trail as `archive.expire`. Nothing else ever removes sealed data: disk pressure refuses new events instead.
//! The audit trail's own log is not expired.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use anyhow::{Context, Result};
use jiff::Timestamp;
use kuzet_api::WalAudit;
use kuzet_model::audit::{Actor, AuditRecord, Outcome};
use kuzet_model::{Retention, TenantId};
use kuzet_store::{Signer, Store, WalHandle};

use crate::config::Config;
use crate::indexing::Retentions;

/// What one pass removed and what it could not do.
#[derive(Debug, Default)]
pub struct Pass {
    pub removed: Vec<kuzet_store::Expiry>,
    pub failures: Vec<(TenantId, String)>,
}

/// One pass over every tenant at `now`: removes what is due and seals one audit record per removed segment
/// (actor `via`: `retention` for the server's job, `cli` for `kuzet expire`).
pub fn pass(
    config: &Config,
    signer: &Signer,
    retentions: &[(TenantId, Retention)],
    wal: &WalHandle,
    audit: &WalAudit,
    via: &str,
    now: Timestamp,
) -> Pass {
    let mut out = Pass::default();
    let archive = config.archive_dir();
    for (tenant, retention) in retentions {
        if tenant.is_reserved() {
            continue;
        }
        let removed = match kuzet_store::expire(
            &archive,
            tenant,
            signer,
            retention.archive_years,
            now,
        ) {
            Ok(removed) => removed,
            Err(error) => {
                tracing::error!(%tenant, %error, "archive expiry failed; nothing of this tenant was removed after the failure");
                metrics::counter!("kuzet_archive_expiry_failures_total").increment(1);
                out.failures.push((tenant.clone(), error.to_string()));
                continue;
            }
        };
        for expiry in removed {
            metrics::counter!("kuzet_archive_expired_segments_total").increment(1);
            let record = audit_record(&expiry, via, now);
            // The tombstone already proves the removal lawful; the audit record tells people where to look.
            if let Err(error) = wal.append_blocking(vec![audit.raw_event(&record)]) {
                tracing::error!(%error, ?record, "the audit record of an archive expiry could not be sealed");
            }
            out.removed.push(expiry);
        }
    }
    out
}

fn audit_record(expiry: &kuzet_store::Expiry, via: &str, now: Timestamp) -> AuditRecord {
    use sha2::Digest as _;
    let line = expiry.tombstone.to_line();
    AuditRecord::new(
        now,
        Actor {
            user: None,
            via: via.into(),
            address: None,
        },
        "archive.expire",
        Outcome::Success,
    )
    .tenant(Some(expiry.tenant.clone()))
    .object(format!("segment:{}/{}", expiry.tenant, expiry.segment))
    .detail(format!(
        "{} records in {} blocks of the segment opened {}: retention of {} years ended {}; tombstone {} (sha256 {})",
        expiry.records,
        expiry.blocks,
        expiry.opened_at,
        expiry.tombstone.archive_years,
        expiry.kept_until,
        expiry.tombstone.n,
        hex::encode(sha2::Sha256::digest(line.trim_end().as_bytes())),
    ))
    .bounded()
}

/// The server's expiry job: a pass at start and then every `interval`, until stopped.
pub struct ExpiryJob {
    stop: Option<SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ExpiryJob {
    pub fn start(config: &Config, store: &Store, mut retentions: Retentions) -> Result<Self> {
        let signer = kuzet_store::keys::read_signing_key(&config.signing_key)?;
        let wal = store.wal();
        let audit = WalAudit::new(wal.clone(), kuzet_ingest::IdGenerator::new()?);
        let interval = config.store.expiry_interval.std();
        let config = config.clone();
        let (stop, stopped) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("kuzet-expiry".into())
            .spawn(move || {
                run(&stopped, interval, || {
                    let list = match retentions() {
                        Ok(list) => list,
                        Err(error) => {
                            tracing::warn!(%error, "tenants' retention not read; expiry waits for the next pass");
                            return;
                        }
                    };
                    pass(&config, &signer, &list, &wal, &audit, "retention", Timestamp::now());
                });
            })
            .context("expiry thread")?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the job (a pass under way finishes first).
    pub fn stop(mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `each` now and then every `interval` until the sender of `stopped` is dropped.
fn run(stopped: &Receiver<()>, interval: Duration, mut each: impl FnMut()) {
    loop {
        each();
        match stopped.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// `kuzet expire [--at TIME]`: one pass, offline, with the data directory locked; prints each removal.
pub fn run_cli(config: &Config, at: Option<&str>) -> Result<()> {
    let now = match at {
        Some(text) => text
            .parse::<Timestamp>()
            .with_context(|| format!("--at `{text}`: expected an RFC 3339 time"))?,
        None => Timestamp::now(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    let retentions = runtime.block_on(async {
        let db = crate::identity::open_db(config).await?;
        crate::identity::apply_directory(&db, config).await?;
        anyhow::Ok(db.system_retentions().await?)
    })?;
    let (_lock, store) = crate::serve::open_store_locked(config)?;
    let signer = kuzet_store::keys::read_signing_key(&config.signing_key)?;
    let wal = store.wal();
    let audit = WalAudit::new(wal.clone(), kuzet_ingest::IdGenerator::new()?);
    let result = pass(config, &signer, &retentions, &wal, &audit, "cli", now);
    drop(wal);
    store.shutdown()?;
    for e in &result.removed {
        println!(
            "expired {}/{}: {} records, opened {}, kept until {} ({} years)",
            e.tenant, e.segment, e.records, e.opened_at, e.kept_until, e.tombstone.archive_years
        );
    }
    println!("{} segments expired", result.removed.len());
    if let Some((tenant, error)) = result.failures.first() {
        anyhow::bail!("tenant {tenant}: {error}");
    }
    Ok(())
}
