//! The clock watch: the regulatory clocks must not run out unseen. Every [`CHECK`] the obligations not yet fulfilled
//! are looked at (`Db::system_raise_clock_alerts`): one inside its warning window (5 minutes for the owner and NCCIS
//! clocks, 4 hours for the others) raises a **due soon** alert of its tenant, one past its due instant an
//! **overdue** alert — once per obligation and state, in the alert queue analysts already watch.

use std::time::Duration;

use jiff::Timestamp;
use kuzet_db::Db;
use tokio_util::sync::CancellationToken;

/// How often the clocks are looked at.
pub const CHECK: Duration = Duration::from_secs(30);

/// The passes of a background task: the first at once, then one every `interval` (a late pass delays the next
/// rather than bunching them), until `shutdown`.
pub struct Passes {
    tick: tokio::time::Interval,
    shutdown: CancellationToken,
}

impl Passes {
    pub fn new(interval: Duration, shutdown: CancellationToken) -> Self {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self { tick, shutdown }
    }

    /// Waits for the next pass; `false` once the task is to stop.
    pub async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.shutdown.cancelled() => false,
            _ = self.tick.tick() => true,
        }
    }
}

/// Watches the clocks until `shutdown`.
pub async fn run(db: Db, shutdown: CancellationToken) {
    let mut passes = Passes::new(CHECK, shutdown);
    while passes.next().await {
        match db.system_raise_clock_alerts(Timestamp::now()).await {
            Ok(raised) => {
                for alert in raised {
                    let state = alert.detail["state"].as_str().unwrap_or("");
                    metrics::counter!("kuzet_clock_alerts_total", "state" => state.to_owned())
                        .increment(1);
                    tracing::warn!(tenant = %alert.tenant, title = %alert.rule_title, detail = %alert.detail, "regulatory clock alarm");
                }
            }
            Err(error) => tracing::error!(%error, "clock watch failed; tried again next look"),
        }
    }
}
