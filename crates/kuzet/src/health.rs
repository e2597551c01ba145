//! Per-source health (R2, R6): when each source was last heard from and how far its clock is off, exported as
//! Prometheus gauges, and the parse telemetry. Updated once per batch on the sealer thread, not per event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use kuzet_model::time::ClockTracker;
use kuzet_model::{Directory, Event, IssueCode, SourceId};

#[derive(Debug, Clone, Default)]
pub struct SourceState {
    pub tenant: String,
    pub last_seen: Option<Timestamp>,
    pub clock: ClockTracker,
    pub events: u64,
    /// Events of this source that carry at least one parse issue.
    pub events_with_issues: u64,
}

/// Shared between the sealer thread (writes) and the HTTP handlers (read).
#[derive(Debug, Clone, Default)]
pub struct SourceHealth {
    inner: Arc<Mutex<HashMap<SourceId, SourceState>>>,
}

impl SourceHealth {
    pub fn new(directory: &Directory) -> Self {
        let states = directory
            .sources()
            .iter()
            .map(|s| {
                (
                    s.id.clone(),
                    SourceState {
                        tenant: s.tenant.to_string(),
                        ..SourceState::default()
                    },
                )
            })
            .collect();
        Self {
            inner: Arc::new(Mutex::new(states)),
        }
    }

    /// Records a parsed batch: per-source last-seen and clock offset, and parse counters.
    pub fn observe(&self, events: &[Event]) {
        let mut issues: HashMap<IssueCode, u64> = HashMap::new();
        let mut with_issues = 0u64;
        {
            let Ok(mut states) = self.inner.lock() else {
                return;
            };
            for event in events {
                let state = states
                    .entry(event.source.clone())
                    .or_insert_with(|| SourceState {
                        tenant: event.tenant.to_string(),
                        ..SourceState::default()
                    });
                state.events += 1;
                if state.last_seen.is_none_or(|seen| seen < event.ingested) {
                    state.last_seen = Some(event.ingested);
                }
                // Only events that carried their own time say anything about the sender's clock.
                if !event.has_issue(IssueCode::NoTimestamp) {
                    state.clock.observe(event.timestamp, event.ingested);
                }
                if !event.issues.is_empty() {
                    with_issues += 1;
                    state.events_with_issues += 1;
                }
                for issue in &event.issues {
                    *issues.entry(issue.code).or_default() += 1;
                }
            }
            for (source, state) in states.iter() {
                let labels = [
                    ("source", source.to_string()),
                    ("tenant", state.tenant.clone()),
                ];
                if let Some(seen) = state.last_seen {
                    metrics::gauge!("kuzet_source_last_seen_seconds", &labels)
                        .set(seen.as_millisecond() as f64 / 1000.0);
                }
                metrics::gauge!("kuzet_source_clock_offset_seconds", &labels)
                    .set(state.clock.offset_ms() as f64 / 1000.0);
            }
        }
        metrics::counter!("kuzet_parse_events_total").increment(events.len() as u64);
        metrics::counter!("kuzet_parse_events_with_issues_total").increment(with_issues);
        for (code, count) in issues {
            metrics::counter!("kuzet_parse_issues_total", "code" => code.as_str()).increment(count);
        }
    }

    pub fn snapshot(&self) -> Vec<(SourceId, SourceState)> {
        let Ok(states) = self.inner.lock() else {
            return Vec::new();
        };
        let mut out: Vec<_> = states.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
