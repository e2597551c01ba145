//! Disk pressure (`docs/sizing.md`): Kuzet never deletes sealed data before its legal time to make room. It watches
//! the free space of the data directory's file system; below `disk_warn_free_percent` it warns (log, `/health`
//! "warning", the gauge `kuzet_disk_free_ratio`), below `disk_refuse_free_percent` it refuses new events with
//! backpressure — TCP and TLS senders are not read until there is room again, HTTP senders get 429, UDP datagrams
//! are dropped — loudly: `/health` turns "failed" naming the reason, and every refused event is counted
//! (`kuzet_disk_refused_events_total`). The audit trail keeps being written: refusals are requests too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// How full the disk is, against the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Pressure {
    #[default]
    Ok,
    Warn,
    Refuse,
}

/// The pressure of `free` bytes of `total` under the thresholds (percent of the file system free).
pub fn pressure(free: u64, total: u64, warn_percent: f64, refuse_percent: f64) -> Pressure {
    if total == 0 {
        return Pressure::Ok;
    }
    let percent = free as f64 * 100.0 / total as f64;
    if percent < refuse_percent {
        Pressure::Refuse
    } else if percent < warn_percent {
        Pressure::Warn
    } else {
        Pressure::Ok
    }
}

/// One reading of the disk.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reading {
    pub pressure: Pressure,
    pub free: u64,
    pub total: u64,
}

impl Reading {
    fn free_percent(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            self.free as f64 * 100.0 / self.total as f64
        }
    }
}

/// The watcher's latest reading, shared with the listeners' sink and `/health`.
#[derive(Debug, Clone)]
pub struct DiskGuard {
    reading: watch::Receiver<Reading>,
    refused: Arc<AtomicU64>,
    path: PathBuf,
    refuse_percent: f64,
}

impl DiskGuard {
    /// Starts watching the file system holding `path` every `every` on the current runtime.
    pub fn start(path: &Path, warn_percent: f64, refuse_percent: f64, every: Duration) -> Self {
        let read = {
            let path = path.to_path_buf();
            move || -> Reading {
                match rustix::fs::statvfs(&path) {
                    Ok(s) => {
                        let free = s.f_bavail.saturating_mul(s.f_frsize);
                        let total = s.f_blocks.saturating_mul(s.f_frsize);
                        Reading {
                            pressure: pressure(free, total, warn_percent, refuse_percent),
                            free,
                            total,
                        }
                    }
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "free disk space unknown");
                        Reading::default()
                    }
                }
            }
        };
        let (tx, rx) = watch::channel(read());
        let guard = Self {
            reading: rx,
            refused: Arc::default(),
            path: path.to_path_buf(),
            refuse_percent,
        };
        guard.report(&guard.reading());
        let watcher = guard.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let now = read();
                if now.pressure != tx.borrow().pressure {
                    watcher.report(&now);
                }
                if tx.send(now).is_err() {
                    break;
                }
            }
        });
        guard
    }

    fn report(&self, reading: &Reading) {
        metrics::gauge!("kuzet_disk_free_ratio").set(reading.free_percent() / 100.0);
        match reading.pressure {
            Pressure::Ok => {
                tracing::info!(path = %self.path.display(), free_percent = reading.free_percent(), "disk space ok")
            }
            Pressure::Warn => {
                tracing::warn!(path = %self.path.display(), free_percent = reading.free_percent(), "disk filling: add space (docs/sizing.md); sealed data is never deleted to make room")
            }
            Pressure::Refuse => {
                tracing::error!(path = %self.path.display(), free_percent = reading.free_percent(), "disk full: new events are refused until there is room (docs/sizing.md)")
            }
        }
    }

    pub fn reading(&self) -> Reading {
        *self.reading.borrow()
    }

    /// Why new events are refused now, if they are.
    pub fn refusing(&self) -> Option<String> {
        let r = self.reading();
        (r.pressure == Pressure::Refuse).then(|| {
            format!(
                "disk: {:.1} % free on {} ({} of {} bytes), below disk_refuse_free_percent {}: new events are refused",
                r.free_percent(),
                self.path.display(),
                r.free,
                r.total,
                self.refuse_percent
            )
        })
    }

    /// The warning `/health` shows below the warning threshold.
    pub fn warning(&self) -> Option<String> {
        let r = self.reading();
        (r.pressure == Pressure::Warn).then(|| {
            format!(
                "disk: {:.1} % free on {}: add space before new events are refused at {} % (docs/sizing.md)",
                r.free_percent(),
                self.path.display(),
                self.refuse_percent
            )
        })
    }

    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Counts `events` refused.
    pub fn count_refused(&self, events: usize) {
        self.refused.fetch_add(events as u64, Ordering::Relaxed);
        metrics::counter!("kuzet_disk_refused_events_total").increment(events as u64);
    }

    /// Waits until events are accepted again (for senders that can be held: TCP, TLS).
    pub async fn room(&self, events: usize) {
        let mut reading = self.reading.clone();
        if reading.borrow().pressure != Pressure::Refuse {
            return;
        }
        self.count_refused(events);
        // The watcher stops only with the runtime; then there is nothing left to wait for.
        let _ = reading.wait_for(|r| r.pressure != Pressure::Refuse).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_percent_of_the_file_system_free() {
        assert_eq!(pressure(50, 100, 20.0, 5.0), Pressure::Ok);
        assert_eq!(pressure(20, 100, 20.0, 5.0), Pressure::Ok);
        assert_eq!(pressure(19, 100, 20.0, 5.0), Pressure::Warn);
        assert_eq!(pressure(4, 100, 20.0, 5.0), Pressure::Refuse);
        assert_eq!(
            pressure(0, 0, 20.0, 5.0),
            Pressure::Ok,
            "an unknown size refuses nothing"
        );
    }
}
