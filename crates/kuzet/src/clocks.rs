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

/// Watches the clocks until `shutdown`.
pub async fn run(db: Db, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
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
