//! Per-source health (R2, R6): when each source was last heard from and how far its clock is off, exported as
//! Prometheus gauges, and the parse telemetry. Updated once per batch on the sealer thread, not per event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use kuzet_model::time::ClockTracker;
use kuzet_model::{Directory, Event, IssueCode, SourceId};

/// A source's gauge labels, last-seen time and clock offset (ms), read under the lock and set after it.
type SourceGauges = ([(&'static str, String); 2], Option<Timestamp>, i64);

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

    /// Records a parsed batch: per-source last-seen and clock offset, and parse counters. Only the sources in
    /// the batch are touched, and their gauges are set after the lock is released, so parse workers do not queue
    /// behind a walk of every source. Returns how many sources the batch touched.
    pub fn observe(&self, events: &[Event]) -> usize {
        let mut issues: HashMap<IssueCode, u64> = HashMap::new();
        let mut with_issues = 0u64;
        let touched: std::collections::HashSet<&SourceId> =
            events.iter().map(|e| &e.source).collect();
        let gauges: Vec<SourceGauges> = {
            let Ok(mut states) = self.inner.lock() else {
                return 0;
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
            touched
                .iter()
                .filter_map(|source| {
                    let state = states.get(*source)?;
                    Some((
                        [
                            ("source", source.to_string()),
                            ("tenant", state.tenant.clone()),
                        ],
                        state.last_seen,
                        state.clock.offset_ms(),
                    ))
                })
                .collect()
        };
        for (labels, last_seen, offset_ms) in &gauges {
            if let Some(seen) = last_seen {
                metrics::gauge!("kuzet_source_last_seen_seconds", labels)
                    .set(seen.as_millisecond() as f64 / 1000.0);
            }
            metrics::gauge!("kuzet_source_clock_offset_seconds", labels)
                .set(*offset_ms as f64 / 1000.0);
        }
        metrics::counter!("kuzet_parse_events_total").increment(events.len() as u64);
        metrics::counter!("kuzet_parse_events_with_issues_total").increment(with_issues);
        for (code, count) in issues {
            metrics::counter!("kuzet_parse_issues_total", "code" => code.as_str()).increment(count);
        }
        gauges.len()
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

#[cfg(test)]
mod tests {
    use super::*;
    use kuzet_model::{EventId, Source, SourceIdentity, Tenant, TenantId};

    #[test]
    fn a_batch_touches_only_its_own_sources() {
        let tenant = TenantId::new("akimat").unwrap();
        let sources: Vec<Source> = (0..500)
            .map(|i| Source {
                id: SourceId::new(format!("src-{i}")).unwrap(),
                tenant: tenant.clone(),
                facility: None,
                name: format!("source {i}"),
                identities: vec![SourceIdentity::Peer(
                    format!("10.0.{}.{}/32", i / 256, i % 256).parse().unwrap(),
                )],
                format: kuzet_model::FormatHint::Syslog,
                expected_interval_secs: None,
            })
            .collect();
        let directory = Directory::new(
            vec![Tenant {
                id: tenant.clone(),
                name: "Akimat".into(),
            }],
            vec![],
            sources,
        )
        .unwrap();
        let health = SourceHealth::new(&directory);
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let events: Vec<Event> = (0..100u64)
            .map(|n| {
                let source = SourceId::new(format!("src-{}", n % 3)).unwrap();
                Event::new(
                    EventId::from_parts(1, u128::from(n)),
                    tenant.clone(),
                    source,
                    at,
                    b"x".to_vec(),
                )
            })
            .collect();
        assert_eq!(health.observe(&events), 3, "3 of 500 sources touched");
        let snapshot = health.snapshot();
        assert_eq!(snapshot.len(), 500);
        let seen: u64 = snapshot.iter().map(|(_, s)| s.events).sum();
        assert_eq!(seen, 100);
    }
}
