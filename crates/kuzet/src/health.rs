//! Per-source health (R2, R6): when each source was last heard from and how far its clock is off, exported as
//! Prometheus gauges, and the parse telemetry. Updated once per batch on the sealer thread, not per event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use kuzet_model::time::ClockTracker;
use kuzet_model::{Directory, Event, IssueCode, SourceId, TenantId};

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

/// Something wrong with a source that the ISOC must hear about (R6).
#[derive(Debug, Clone, PartialEq)]
pub enum SourceFinding {
    /// Nothing heard for longer than the source's expected interval; `since` is its last event, or the start of
    /// this process for a source not heard from since.
    Silent {
        source: SourceId,
        tenant: TenantId,
        since: Timestamp,
        expected_secs: u64,
    },
    /// Its clock is off by more than the allowed drift (positive: ahead).
    ClockDrift {
        source: SourceId,
        tenant: TenantId,
        offset_ms: i64,
    },
}

/// What the sources' state says at `now`: each source with an expected interval that has been silent longer, and
/// each source whose estimated clock offset exceeds `max_drift`. Pure.
pub fn findings(
    directory: &Directory,
    states: &[(SourceId, SourceState)],
    started: Timestamp,
    now: Timestamp,
    max_drift: jiff::SignedDuration,
) -> Vec<SourceFinding> {
    let states: HashMap<&SourceId, &SourceState> = states.iter().map(|(id, s)| (id, s)).collect();
    let mut out = Vec::new();
    for source in directory.sources() {
        let state = states.get(&source.id);
        if let Some(expected) = source.expected_interval_secs {
            let since = state.and_then(|s| s.last_seen).unwrap_or(started);
            let silent_for = now.as_second() - since.as_second();
            if silent_for > i64::try_from(expected).unwrap_or(i64::MAX) {
                out.push(SourceFinding::Silent {
                    source: source.id.clone(),
                    tenant: source.tenant.clone(),
                    since,
                    expected_secs: expected,
                });
            }
        }
        if let Some(state) = state
            && state.clock.samples() > 0
            && state.clock.offset_ms().unsigned_abs() > max_drift.as_millis().unsigned_abs() as u64
        {
            out.push(SourceFinding::ClockDrift {
                source: source.id.clone(),
                tenant: source.tenant.clone(),
                offset_ms: state.clock.offset_ms(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kuzet_model::{EventId, Source, SourceIdentity, Tenant};

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
                sector: None,
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

    #[test]
    fn silent_sources_and_drifting_clocks_are_found() {
        let tenant = TenantId::new("akimat").unwrap();
        let source = |id: &str, interval: Option<u64>| Source {
            id: SourceId::new(id).unwrap(),
            tenant: tenant.clone(),
            facility: None,
            name: id.into(),
            identities: vec![],
            format: kuzet_model::FormatHint::Syslog,
            expected_interval_secs: interval,
        };
        let directory = Directory::new(
            vec![Tenant {
                id: tenant.clone(),
                name: "Akimat".into(),
                sector: None,
            }],
            vec![],
            vec![
                source("quiet", Some(600)),
                source("chatty", Some(600)),
                source("never", Some(600)),
                source("unwatched", None),
                source("skewed", None),
            ],
        )
        .unwrap();
        let started = Timestamp::from_second(1_800_000_000).unwrap();
        let now = started + jiff::SignedDuration::from_mins(30);
        let state = |seen_min: Option<i64>, offset_min: i64| {
            let mut clock = ClockTracker::new();
            if let Some(m) = seen_min {
                let at = started + jiff::SignedDuration::from_mins(m);
                clock.observe(at + jiff::SignedDuration::from_mins(offset_min), at);
            }
            SourceState {
                tenant: "akimat".into(),
                last_seen: seen_min.map(|m| started + jiff::SignedDuration::from_mins(m)),
                clock,
                events: u64::from(seen_min.is_some()),
                events_with_issues: 0,
            }
        };
        let id = |s: &str| SourceId::new(s).unwrap();
        let states = vec![
            (id("quiet"), state(Some(5), 0)),
            (id("chatty"), state(Some(25), 0)),
            (id("never"), state(None, 0)),
            (id("unwatched"), state(Some(1), 0)),
            (id("skewed"), state(Some(29), 8)),
        ];
        let found = findings(
            &directory,
            &states,
            started,
            now,
            jiff::SignedDuration::from_mins(5),
        );
        assert_eq!(
            found,
            vec![
                SourceFinding::Silent {
                    source: id("quiet"),
                    tenant: tenant.clone(),
                    since: started + jiff::SignedDuration::from_mins(5),
                    expected_secs: 600,
                },
                SourceFinding::Silent {
                    source: id("never"),
                    tenant: tenant.clone(),
                    since: started,
                    expected_secs: 600,
                },
                SourceFinding::ClockDrift {
                    source: id("skewed"),
                    tenant: tenant.clone(),
                    offset_ms: 480_000,
                },
            ]
        );
    }
}
