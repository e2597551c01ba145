//! Streaming detection: a named consumer of sealed events runs the Sigma engine and the correlations on every
//! event of every tenant and records what they find as alerts in the database.
//!
//! Delivery is at least once: the consumer's cursor is committed only after the batch's alerts are written, so a
//! crash replays the batch, and deduplication folds the repeated hits into the alerts already open. The
//! correlation state is saved beside the cursor (`detection/correlation.state`) so a restart does not reset a
//! count.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use kuzet_db::{Db, NewAlert};
use kuzet_detect::{
    Anomaly, AnomalyConfig, Baselines, CorrelationHit, Correlator, Engine, IndicatorHit,
    LoadedIndicators, SharedIndicators,
};
use kuzet_model::Event;
use kuzet_model::FacilityClass;
use kuzet_store::{ConsumerStart, Store, StoreError};

use crate::config::Config;

/// The consumer's name: its cursor is `consumers/detection.cursor`.
const CONSUMER: &str = "detection";
/// How often the correlation state is saved while events flow.
const SAVE_EVERY: Duration = Duration::from_secs(10);

/// What `/health` shows of detection: what is loaded, what it has done, and everything it dropped or suppressed,
/// counted. Updated by the task at most every ten seconds and whenever it goes idle.
#[derive(Debug, Clone, Default)]
pub struct DetectionStatus(std::sync::Arc<std::sync::Mutex<serde_json::Value>>);

impl DetectionStatus {
    fn set(&self, value: serde_json::Value) {
        if let Ok(mut status) = self.0.lock() {
            *status = value;
        }
    }

    pub fn get(&self) -> serde_json::Value {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// What the task has done since start.
#[derive(Debug, Default)]
struct Counts {
    events: u64,
    hits: u64,
    alerts_new: u64,
    alerts_folded: u64,
    suppressed_disabled: u64,
    suppressed_exception: u64,
}

/// A running detection task; [`Detection::join`] waits until it has handled everything sealed before the store
/// stopped.
pub struct Detection {
    thread: std::thread::JoinHandle<()>,
    status: DetectionStatus,
    indicators: SharedIndicators,
}

impl Detection {
    pub fn status(&self) -> DetectionStatus {
        self.status.clone()
    }

    /// The indicators the task matches, reloaded when their feeds change: for the API to show and share.
    pub fn indicators(&self) -> SharedIndicators {
        self.indicators.clone()
    }

    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("the detection task panicked");
        }
    }
}

/// Loads the rules and starts the task; `None` when detection is disabled.
pub fn start(
    config: &Config,
    store: &Store,
    db: Db,
    directory: kuzet_ingest::SharedDirectory,
    runtime: tokio::runtime::Handle,
) -> Result<Option<Detection>> {
    let section = &config.detection;
    if !section.enabled {
        tracing::info!("detection disabled");
        return Ok(None);
    }
    let imported = runtime.block_on(db.system_rule_files())?;
    let versions = versions_of(&imported);
    let set = rule_set(section, &imported)?;
    let pipeline = crate::hunt::load_pipeline(section.pipeline.as_deref())?;
    let (engine, mut correlator) = crate::hunt::compile(&set, &pipeline);
    let problems = engine.problems().len() + correlator.problems().len();
    for problem in crate::hunt::problems(&engine, &correlator) {
        tracing::debug!(%problem, "rule not loaded");
    }
    tracing::info!(
        rules = engine.rules().len(),
        correlations = correlator.rules().len(),
        not_loaded = problems,
        "detection rules loaded (`kuzet rules lint` names the ones not loaded)"
    );
    for feed in &section.taxii {
        crate::intel::prepare_feed(std::path::Path::new(&feed.out))?;
    }
    let feeds = Feeds::of(&section.feeds());
    let shared = SharedIndicators::new(
        crate::hunt::load_indicators(&feeds.paths)?,
        jiff::Timestamp::now(),
    );
    let indicators = shared.load();
    for problem in indicators.problems() {
        tracing::warn!(%problem, "indicator not loaded");
    }
    tracing::info!(indicators = indicators.len(), "indicator feeds loaded");
    let state = config.data_dir.join("detection").join("correlation.state");
    if let Some(bytes) = read_state(&state)
        && let Err(error) = correlator.restore(&bytes)
    {
        tracing::warn!(path = %state.display(), %error, "correlation state not restored; counts start over");
    }
    let mut baselines = Baselines::new(AnomalyConfig::default());
    let baseline = config.data_dir.join("detection").join("anomaly.baseline");
    if let Some(bytes) = read_state(&baseline)
        && let Err(error) = baselines.restore(&bytes)
    {
        tracing::warn!(path = %baseline.display(), %error, "anomaly baselines not restored; they are learned again");
    }
    let consumer = store
        .consumer(CONSUMER, ConsumerStart::Latest)
        .context("detection consumer")?;
    let window = jiff::SignedDuration::try_from(section.dedup_window.std())?;
    let responder = crate::response::Responder::start(&section.block_command, store.wal())?;
    let controls = Controls::load(&db, &runtime).context("rule settings and exceptions")?;
    let status = DetectionStatus::default();
    let task = Task {
        status: status.clone(),
        counts: Counts::default(),
        rubric: kuzet_cases::Rubric::default_rubric()?,
        section: section.clone(),
        pipeline,
        versions,
        controls,
        controls_read: Instant::now(),
        responder,
        engine,
        correlator,
        indicators: Arc::clone(&indicators),
        shared: shared.clone(),
        feeds,
        baselines,
        baseline,
        directory,
        party: config.exchange.party.clone(),
        db,
        runtime,
        window,
        state,
    };
    let thread = std::thread::Builder::new()
        .name("kuzet-detect".into())
        .spawn(move || {
            task.publish();
            task.run(consumer)
        })?;
    Ok(Some(Detection {
        thread,
        status,
        indicators: shared,
    }))
}

/// The indicator feed files, with each one's modification time and size when last looked at (`None`: unreadable).
#[derive(Debug, Clone, PartialEq)]
struct Feeds {
    paths: Vec<PathBuf>,
    seen: Vec<Option<(std::time::SystemTime, u64)>>,
}

impl Feeds {
    fn of(paths: &[PathBuf]) -> Self {
        let seen = paths
            .iter()
            .map(|p| {
                let meta = std::fs::metadata(p).ok()?;
                Some((meta.modified().ok()?, meta.len()))
            })
            .collect();
        Self {
            paths: paths.to_vec(),
            seen,
        }
    }
}

/// How often the per-tenant rule settings and exceptions are read again from the database.
const CONTROLS_EVERY: Duration = Duration::from_secs(10);

/// A tenant's exceptions to one rule: (field, lower-cased value, until).
type Exceptions = Vec<(String, String, Option<jiff::Timestamp>)>;

/// Per-tenant rule settings and exceptions, as detection applies them.
#[derive(Default)]
struct Controls {
    disabled: std::collections::HashSet<(String, String)>,
    /// By (tenant, rule).
    exceptions: std::collections::HashMap<(String, String), Exceptions>,
}

impl Controls {
    fn load(db: &Db, runtime: &tokio::runtime::Handle) -> Result<Self> {
        let (settings, exceptions) = runtime.block_on(db.system_rule_controls())?;
        let mut controls = Controls::default();
        for setting in settings.into_iter().filter(|s| !s.enabled) {
            controls
                .disabled
                .insert((setting.tenant.to_string(), setting.rule_id));
        }
        for exception in exceptions {
            controls
                .exceptions
                .entry((exception.tenant.to_string(), exception.rule_id))
                .or_default()
                .push((
                    exception.field,
                    exception.value.to_lowercase(),
                    exception.until,
                ));
        }
        Ok(controls)
    }

    /// Why `alert` (raised by `event`) is not to be recorded, if it is not.
    fn suppresses(&self, alert: &NewAlert, event: &Event) -> Option<&'static str> {
        let key = (alert.tenant.to_string(), alert.rule_id.clone());
        if self.disabled.contains(&key) {
            return Some("disabled");
        }
        let now = jiff::Timestamp::now();
        let excepted = self.exceptions.get(&key).is_some_and(|list| {
            list.iter().any(|(field, value, until)| {
                until.is_none_or(|u| now < u)
                    && event.fields.get(field).is_some_and(|v| {
                        let mut hit = false;
                        each_value(v, &mut |text| hit = hit || text.to_lowercase() == *value);
                        hit
                    })
            })
        });
        excepted.then_some("exception")
    }
}

fn each_value(value: &kuzet_model::Value, f: &mut dyn FnMut(&str)) {
    match value {
        kuzet_model::Value::Str(s) => f(s),
        kuzet_model::Value::Int(n) => f(&n.to_string()),
        kuzet_model::Value::Array(items) => items.iter().for_each(|v| each_value(v, f)),
        other => f(&other.to_json().to_string()),
    }
}

struct Task {
    status: DetectionStatus,
    counts: Counts,
    /// Proposes each alert's criticality level (the incident's assessment is made on confirmed facts).
    rubric: kuzet_cases::Rubric,
    section: crate::config::DetectionSection,
    pipeline: kuzet_detect::Pipeline,
    /// The imported rule files (name, version) the engine was built from.
    versions: Vec<(String, i64)>,
    controls: Controls,
    controls_read: Instant,
    responder: Option<crate::response::Responder>,
    engine: Engine,
    correlator: Correlator,
    indicators: Arc<LoadedIndicators>,
    /// The same set, for the API; replaced with the task's.
    shared: SharedIndicators,
    /// The feed files and what they were when last read.
    feeds: Feeds,
    baselines: Baselines,
    baseline: PathBuf,
    directory: kuzet_ingest::SharedDirectory,
    /// This ISOC's party at the hub (`[exchange] party`): first sightings are reported to NCCIS when it is set.
    party: String,
    db: Db,
    runtime: tokio::runtime::Handle,
    window: jiff::SignedDuration,
    state: PathBuf,
}

impl Task {
    fn run(mut self, mut consumer: kuzet_store::Consumer) {
        let mut scratch = self.engine.scratch();
        let mut saved = Instant::now();
        let mut dirty = false;
        loop {
            let delivery = match consumer.next(Duration::from_millis(250)) {
                Ok(Some(delivery)) => delivery,
                Ok(None) => {
                    if dirty {
                        self.save();
                        dirty = false;
                    }
                    // Idle, settings and feeds still follow their changes.
                    self.refresh(&mut scratch);
                    continue;
                }
                Err(StoreError::Closed) => break,
                Err(error) => {
                    tracing::error!(%error, "detection consumer");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            self.refresh(&mut scratch);
            let mut alerts = Vec::new();
            let mut joined = Vec::new();
            let mut found = Vec::new();
            let mut anomalies = Vec::new();
            let directory = self.directory.load();
            for (_, event) in delivery.iter() {
                if event.tenant.is_reserved() {
                    continue;
                }
                self.baselines.observe(event, &mut anomalies);
                for anomaly in anomalies.drain(..) {
                    self.keep(
                        &mut alerts,
                        anomaly_alert(&anomaly, event, &directory),
                        event,
                    );
                }
                dirty = true;
                self.indicators.matches(event, event.timestamp, &mut found);
                for hit in found.drain(..) {
                    let alert = self.indicator_alert(&hit, event);
                    self.keep(&mut alerts, alert, event);
                }
                let matched = self.engine.matches(event, &mut scratch);
                if matched.is_empty() {
                    continue;
                }
                metrics::counter!("kuzet_detection_hits_total").increment(matched.len() as u64);
                self.counts.hits += matched.len() as u64;
                for &rule in matched {
                    if !self.correlator.silences(rule) {
                        let alert = self.rule_alert(rule, event);
                        self.keep(&mut alerts, alert, event);
                    }
                }
                self.correlator
                    .observe(event, matched, event.timestamp, &mut joined);
                for hit in joined.drain(..) {
                    let alert = self.correlation_alert(&hit, event);
                    self.keep(&mut alerts, alert, event);
                }
                dirty = true;
            }
            metrics::counter!("kuzet_detection_events_total").increment(delivery.len() as u64);
            self.counts.events += delivery.len() as u64;
            // Alerts first, then the cursor: a crash in between replays the batch, and deduplication absorbs it.
            while let Err(error) = self.record(&alerts) {
                tracing::error!(%error, "alerts not recorded; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            if let Err(error) = consumer.commit() {
                tracing::error!(%error, "detection cursor not committed");
            }
            if dirty && saved.elapsed() >= SAVE_EVERY {
                self.save();
                saved = Instant::now();
                dirty = false;
            }
        }
        if let Err(error) = consumer.commit() {
            tracing::error!(%error, "detection cursor not committed");
        }
        self.save();
    }

    /// Every [`CONTROLS_EVERY`]: the per-tenant rule settings, imported rules and indicator feeds, read again.
    fn refresh(&mut self, scratch: &mut kuzet_detect::Scratch) {
        if self.controls_read.elapsed() < CONTROLS_EVERY {
            return;
        }
        match Controls::load(&self.db, &self.runtime) {
            Ok(controls) => self.controls = controls,
            Err(error) => {
                tracing::error!(%error, "rule settings not reloaded; the previous ones apply")
            }
        }
        if let Err(error) = self.reload_rules(scratch) {
            tracing::error!(%error, "imported rules not reloaded; the previous ones run");
        }
        self.reload_indicators();
        self.controls_read = Instant::now();
    }

    /// Reads the indicator feeds again when a file changed (a `kuzet intel pull`, an export dropped in place):
    /// the new set is matched from the next event on. A feed that no longer reads keeps the previous set.
    fn reload_indicators(&mut self) {
        let now = Feeds::of(&self.feeds.paths);
        if now == self.feeds {
            return;
        }
        match crate::hunt::load_indicators(&now.paths) {
            Ok(set) => {
                tracing::info!(
                    indicators = set.len(),
                    not_loaded = set.problems().len(),
                    "indicator feeds changed and were read again"
                );
                self.shared.replace(set, jiff::Timestamp::now());
                self.indicators = self.shared.load();
                self.feeds = now;
                self.publish();
            }
            Err(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    "indicator feeds not reloaded; the previous ones match"
                );
                // Not read again until the files change once more.
                self.feeds = now;
            }
        }
    }

    /// Rebuilds the engine when `kuzet rules import` stored new versions; the correlation windows of the rules
    /// still loaded carry over.
    fn reload_rules(&mut self, scratch: &mut kuzet_detect::Scratch) -> Result<()> {
        let imported = self.runtime.block_on(self.db.system_rule_files())?;
        let versions = versions_of(&imported);
        if versions == self.versions {
            return Ok(());
        }
        let set = rule_set(&self.section, &imported)?;
        let (engine, mut correlator) = crate::hunt::compile(&set, &self.pipeline);
        if let Err(error) = correlator.restore(&self.correlator.snapshot()) {
            tracing::warn!(%error, "correlation windows not carried over to the new rules");
        }
        tracing::info!(
            rules = engine.rules().len(),
            correlations = correlator.rules().len(),
            not_loaded = engine.problems().len() + correlator.problems().len(),
            "imported rules changed; detection runs the new versions"
        );
        *scratch = engine.scratch();
        self.engine = engine;
        self.correlator = correlator;
        self.versions = versions;
        Ok(())
    }

    /// Adds `alert` unless the tenant switched its rule off or made an exception for this event; what is
    /// suppressed is counted by reason.
    fn keep(&mut self, alerts: &mut Vec<NewAlert>, mut alert: NewAlert, event: &Event) {
        if let Some(reason) = self.controls.suppresses(&alert, event) {
            metrics::counter!("kuzet_alerts_suppressed_total", "reason" => reason).increment(1);
            match reason {
                "disabled" => self.counts.suppressed_disabled += 1,
                _ => self.counts.suppressed_exception += 1,
            }
            return;
        }
        let directory = self.directory.load();
        let facility = directory.facility_of(&event.source);
        let facts = proposal_facts(&alert.level, &alert.kind, facility);
        if let Some(object) = alert.detail.as_object_mut() {
            object.insert("proposed_criticality".into(), match self.rubric.assess(&facts) {
                Ok(assessment) => serde_json::json!({
                    "level": assessment.level.value(),
                    "explanation": assessment.explanation,
                    "assumed": {
                        "functional_impact": facts.functional_impact, "stage": facts.stage,
                        "facility_class": facts.facility_class, "critical_infrastructure": facts.critical_infrastructure,
                    },
                }),
                Err(error) => serde_json::json!({"error": error.to_string()}),
            });
        }
        alerts.push(alert);
    }

    fn record(&mut self, alerts: &[NewAlert]) -> Result<()> {
        let now = jiff::Timestamp::now();
        let (mut new_alerts, mut folded) = (0u64, 0u64);
        let reports: Vec<Option<String>> = alerts
            .iter()
            .map(|a| self.sighting_report(a, now))
            .collect();
        let result = self.runtime.block_on(async {
            for (alert, report) in alerts.iter().zip(&reports) {
                let (id, new) = self
                    .db
                    .system_record_alert_reporting(alert, report.as_deref(), now, self.window)
                    .await?;
                if new {
                    new_alerts += 1;
                } else {
                    folded += 1;
                }
                metrics::counter!("kuzet_alerts_total", "kind" => alert.kind.clone(), "new" => new.to_string())
                    .increment(1);
                // A new anomaly at a facility whose class requires blocking runs the block command, once.
                let blocks = alert.detail["response"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|a| a == "block"));
                if let (true, true, Some(responder)) = (new, blocks, &self.responder) {
                    responder.block(crate::response::BlockRequest {
                        tenant: alert.tenant.clone(),
                        account: alert.detail["anomaly"]["account"].as_str().unwrap_or_default().to_owned(),
                        alert: id,
                        detail: alert.detail.clone(),
                    });
                }
            }
            anyhow::Ok(())
        });
        self.counts.alerts_new += new_alerts;
        self.counts.alerts_folded += folded;
        result
    }

    /// Shows the task's state on `/health`.
    fn publish(&self) {
        let correlation = self.correlator.stats();
        let anomaly = self.baselines.stats();
        let c = &self.counts;
        self.status.set(serde_json::json!({
            "rules": self.engine.rules().len(),
            "correlations": self.correlator.rules().len(),
            "indicators": self.indicators.len(),
            "not_loaded": self.engine.problems().len() + self.correlator.problems().len()
                + self.indicators.problems().len(),
            "imported_rule_files": self.versions.len(),
            "events": c.events,
            "hits": c.hits,
            "alerts": {"new": c.alerts_new, "folded_into_open": c.alerts_folded},
            "suppressed": {"disabled": c.suppressed_disabled, "exception": c.suppressed_exception},
            "correlation_state": {
                "groups": correlation.groups,
                "evicted_groups": correlation.evicted_groups,
                "dropped_entries": correlation.dropped_entries,
            },
            "anomaly_baselines": {
                "accounts": anomaly.accounts,
                "evicted_accounts": anomaly.evicted_accounts,
                "forgotten_values": anomaly.forgotten_values,
            },
        }));
    }

    fn rule_alert(&self, rule: u32, event: &Event) -> NewAlert {
        let meta = &self.engine.rules()[rule as usize];
        let host = host(event);
        NewAlert {
            tenant: event.tenant.clone(),
            rule_id: meta.id.clone(),
            rule_title: meta.title.clone(),
            level: meta.level.as_str().to_owned(),
            kind: "rule".to_owned(),
            dedup_key: format!("rule:{}:{host}", meta.id),
            at: event.timestamp,
            events: vec![event.id],
            detail: serde_json::json!({
                "host": host,
                "source": event.source.as_str(),
                "tags": meta.tags,
                "description": meta.description,
                "message": excerpt(event),
            }),
        }
    }

    /// What NCCIS is told when an indicator alert is new (written with it, so it cannot be lost): the sighting as
    /// a STIX bundle. Nothing when no hub is configured or the indicator is marked TLP:RED.
    fn sighting_report(&self, alert: &NewAlert, now: jiff::Timestamp) -> Option<String> {
        if alert.kind != "indicator" || self.party.is_empty() {
            return None;
        }
        let indicator: kuzet_detect::Indicator =
            serde_json::from_value(alert.detail["indicator"].clone()).ok()?;
        let directory = self.directory.load();
        let name = directory
            .tenants()
            .iter()
            .find(|t| t.id == alert.tenant)
            .map_or_else(|| alert.tenant.to_string(), |t| t.name.clone());
        let key = kuzet_exchange::stix::sighting_key(
            &self.party,
            alert.tenant.as_str(),
            &kuzet_exchange::stix::indicator_id(&indicator),
            alert.detail["host"].as_str().unwrap_or_default(),
            alert.at,
        );
        let bundle =
            kuzet_exchange::stix::sighting_report(&kuzet_exchange::stix::SightingReport {
                indicator: &indicator,
                party: &self.party,
                tenant: alert.tenant.as_str(),
                tenant_name: &name,
                key: &key,
                count: 1,
                first: alert.at,
                last: alert.at,
                recorded: now,
                description: Some(&alert.rule_title),
            })?;
        Some(serde_json::json!({ "bundle": bundle }).to_string())
    }

    fn indicator_alert(&self, hit: &IndicatorHit, event: &Event) -> NewAlert {
        let indicator = &self.indicators.indicators()[hit.indicator as usize];
        let provenance = &indicator.provenance;
        let host = host(event);
        NewAlert {
            tenant: event.tenant.clone(),
            rule_id: provenance.reference.clone(),
            rule_title: format!(
                "Indicator {} {}{}",
                indicator.kind.as_str(),
                indicator.value,
                provenance
                    .description
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            level: "high".to_owned(),
            kind: "indicator".to_owned(),
            dedup_key: format!(
                "indicator:{}:{}:{host}",
                indicator.kind.as_str(),
                indicator.value
            ),
            at: event.timestamp,
            events: vec![event.id],
            detail: serde_json::json!({
                "host": host,
                "source": event.source.as_str(),
                "field": hit.field,
                "matched": hit.value,
                "indicator": indicator,
                "message": excerpt(event),
            }),
        }
    }

    fn correlation_alert(&self, hit: &CorrelationHit, event: &Event) -> NewAlert {
        let meta = &self.correlator.rules()[hit.correlation as usize];
        let group: serde_json::Map<String, serde_json::Value> = meta
            .group_by
            .iter()
            .zip(&hit.group)
            .map(|(field, value)| (field.clone(), serde_json::json!(value)))
            .collect();
        let key: Vec<&str> = hit
            .group
            .iter()
            .map(|v| v.as_deref().unwrap_or(""))
            .collect();
        NewAlert {
            tenant: event.tenant.clone(),
            rule_id: meta.id.clone(),
            rule_title: meta.title.clone(),
            level: meta.level.as_str().to_owned(),
            kind: "correlation".to_owned(),
            dedup_key: format!("correlation:{}:{}", meta.id, key.join("\u{1f}")),
            at: hit.last,
            events: hit.events.clone(),
            detail: serde_json::json!({
                // The host of the event that completed the correlation (its group may not name one).
                "host": host(event),
                "source": event.source.as_str(),
                "type": meta.kind,
                "group": group,
                "value": hit.value,
                "first": hit.first.to_string(),
                "last": hit.last.to_string(),
                "timespan_seconds": meta.timespan_seconds,
                "tags": meta.tags,
            }),
        }
    }

    /// Writes the correlation state and the anomaly baselines: a temporary file, synced, renamed over the old one.
    fn save(&self) {
        if let Err(error) = write_atomically(&self.state, &self.correlator.snapshot()) {
            tracing::warn!(path = %self.state.display(), %error, "correlation state not saved");
        }
        if let Err(error) = write_atomically(&self.baseline, &self.baselines.snapshot()) {
            tracing::warn!(path = %self.baseline.display(), %error, "anomaly baselines not saved");
        }
        self.publish();
        let anomaly = self.baselines.stats();
        metrics::gauge!("kuzet_anomaly_accounts").set(anomaly.accounts as f64);
        metrics::gauge!("kuzet_anomaly_evicted_accounts").set(anomaly.evicted_accounts as f64);
        let stats = self.correlator.stats();
        metrics::gauge!("kuzet_correlation_groups").set(stats.groups as f64);
        metrics::gauge!("kuzet_correlation_evicted_groups").set(stats.evicted_groups as f64);
        metrics::gauge!("kuzet_correlation_dropped_entries").set(stats.dropped_entries as f64);
    }
}

/// The facts a criticality proposal assumes for an alert: what the rule's level says of the impact and the stage
/// (informational and low: none, an attempt; medium: low impact, an attempt; high: medium impact, ongoing; critical:
/// high impact, succeeded), and what the directory says of the facility. Nothing about information, recovery or
/// scope is known yet; the analyst confirms the facts when opening the incident.
fn proposal_facts(
    level: &str,
    kind: &str,
    facility: Option<&kuzet_model::Facility>,
) -> kuzet_cases::Facts {
    let (functional, mut stage) = match level {
        "critical" => ("high", "succeeded"),
        "high" => ("medium", "ongoing"),
        "medium" => ("low", "attempt"),
        _ => ("none", "attempt"),
    };
    // A correlation is several events of one attack: it is under way.
    if kind == "correlation" && stage == "attempt" {
        stage = "ongoing";
    }
    kuzet_cases::Facts {
        functional_impact: functional.into(),
        information_impact: "none".into(),
        recoverability: "regular".into(),
        scope: "one_facility".into(),
        facility_class: facility.map_or(3, |f| f.class.number()),
        critical_infrastructure: facility.is_some_and(|f| f.critical),
        stage: stage.into(),
        threat_to_life: false,
        unsubstantiated: false,
    }
}

/// The configured rules (files, the built-in pack) and the latest version of every imported file.
fn rule_set(
    section: &crate::config::DetectionSection,
    imported: &[kuzet_db::RuleFile],
) -> Result<kuzet_detect::RuleSet> {
    let mut set = crate::hunt::load_rules(&section.rules, section.builtin_rules)?;
    for file in imported {
        set.add_yaml(
            &format!("imported:{}@v{}", file.name, file.version),
            &file.text,
        );
    }
    Ok(set)
}

fn versions_of(imported: &[kuzet_db::RuleFile]) -> Vec<(String, i64)> {
    imported
        .iter()
        .map(|f| (f.name.clone(), f.version))
        .collect()
}

/// What R9 requires for an anomaly at a facility of each class: register it (class 3), also block the account
/// (class 2), also notify the administrator at once (class 1). Events of a source without a facility are
/// registered.
fn response(class: Option<FacilityClass>) -> (&'static str, &'static [&'static str]) {
    match class {
        Some(FacilityClass::Class1) => ("critical", &["register", "block", "notify_administrator"]),
        Some(FacilityClass::Class2) => ("high", &["register", "block"]),
        Some(FacilityClass::Class3) | None => ("medium", &["register"]),
    }
}

fn anomaly_alert(anomaly: &Anomaly, event: &Event, directory: &kuzet_model::Directory) -> NewAlert {
    let facility = directory.facility_of(&event.source);
    let (level, actions) = response(facility.map(|f| f.class));
    let kind = anomaly.kind.as_str();
    NewAlert {
        tenant: event.tenant.clone(),
        rule_id: format!("kuzet:anomaly:{kind}"),
        rule_title: format!(
            "Abnormal activity of {} {}: {}",
            if anomaly.robot {
                "service account"
            } else {
                "account"
            },
            anomaly.account,
            kind.replace('_', " ")
        ),
        level: level.to_owned(),
        kind: "anomaly".to_owned(),
        dedup_key: format!(
            "anomaly:{kind}:{}:{}",
            anomaly.account.to_lowercase(),
            anomaly.value
        ),
        at: event.timestamp,
        events: vec![event.id],
        detail: serde_json::json!({
            "host": host(event),
            "source": event.source.as_str(),
            "anomaly": anomaly,
            "facility": facility.map(|f| serde_json::json!({"id": f.id, "class": f.class.number(), "critical": f.critical})),
            "response": actions,
        }),
    }
}

fn read_state(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "detection state not readable; it starts over");
            None
        }
    }
}

fn host(event: &Event) -> String {
    crate::hunt::event_host(event).unwrap_or("").to_owned()
}

/// The event's message (or original text), cut to 512 characters for the alert.
fn excerpt(event: &Event) -> String {
    let text = event
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| event.original_lossy().into_owned());
    text.chars().take(512).collect()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// `kuzet alerts`: a tenant's alerts from the database, newest first.
pub fn print_alerts(
    config: &Config,
    tenant: &str,
    status: Option<&str>,
    limit: u32,
    json: bool,
) -> Result<()> {
    let tenant = kuzet_model::TenantId::new(tenant)?;
    let status = status.map(kuzet_db::AlertStatus::parse).transpose()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (alerts, _) = runtime.block_on(async {
        let db = crate::identity::open_db(config).await?;
        let filter = kuzet_db::AlertFilter { status, kind: None };
        anyhow::Ok(
            db.system_alerts_page(&tenant, &filter, None, limit.max(1))
                .await?,
        )
    })?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for alert in &alerts {
        if json {
            let object = serde_json::json!({
                "id": alert.id, "tenant": alert.tenant, "rule_id": alert.rule_id, "rule_title": alert.rule_title,
                "level": alert.level, "kind": alert.kind, "first": alert.first, "last": alert.last,
                "created": alert.created, "hits": alert.hits, "events": alert.events,
                "events_not_listed": alert.events_dropped, "detail": alert.detail, "status": alert.status.as_str(),
            });
            writeln!(out, "{object}")?;
        } else {
            writeln!(
                out,
                "{:<27} {:<13} {:<14} {:>6}  {}  {}",
                alert.created.to_string(),
                alert.level,
                alert.status.as_str(),
                alert.hits,
                alert.rule_title,
                alert.id
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Every `every`, records an alert for each source silent beyond its expected interval or whose clock drifts more
/// than `max_drift` (R6). Repeated checks of one condition fold into one alert while it lasts.
pub async fn watch_sources(
    db: Db,
    health: crate::health::SourceHealth,
    directory: kuzet_ingest::SharedDirectory,
    every: Duration,
    max_drift: jiff::SignedDuration,
    window: jiff::SignedDuration,
) {
    let started = jiff::Timestamp::now();
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let now = jiff::Timestamp::now();
        let findings = crate::health::findings(
            &directory.load(),
            &health.snapshot(),
            started,
            now,
            max_drift,
        );
        for finding in findings {
            let alert = source_alert(&finding, now);
            match db.system_record_alert(&alert, now, window).await {
                Ok((_, new)) => {
                    metrics::counter!("kuzet_alerts_total", "kind" => "source_health", "new" => new.to_string())
                        .increment(1);
                }
                Err(error) => tracing::error!(%error, "source health alert not recorded"),
            }
        }
    }
}

fn source_alert(finding: &crate::health::SourceFinding, now: jiff::Timestamp) -> NewAlert {
    use crate::health::SourceFinding;
    let (tenant, source, rule_id, title, level, detail) = match finding {
        SourceFinding::Silent {
            source,
            tenant,
            since,
            expected_secs,
        } => (
            tenant,
            source,
            "kuzet:source-silent",
            format!("Source {source} silent beyond its expected interval"),
            "high",
            serde_json::json!({
                "source": source.as_str(), "silent_since": since.to_string(),
                "silent_seconds": now.as_second() - since.as_second(), "expected_interval_seconds": expected_secs,
            }),
        ),
        SourceFinding::ClockDrift {
            source,
            tenant,
            offset_ms,
        } => (
            tenant,
            source,
            "kuzet:source-clock-drift",
            format!("Clock of source {source} drifts"),
            "medium",
            serde_json::json!({"source": source.as_str(), "offset_ms": offset_ms}),
        ),
    };
    NewAlert {
        tenant: tenant.clone(),
        rule_id: rule_id.to_owned(),
        rule_title: title,
        level: level.to_owned(),
        kind: "source_health".to_owned(),
        dedup_key: format!("{rule_id}:{source}"),
        at: now,
        events: Vec::new(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(rule: &str) -> NewAlert {
        NewAlert {
            tenant: kuzet_model::TenantId::new("akimat").unwrap(),
            rule_id: rule.into(),
            rule_title: "t".into(),
            level: "high".into(),
            kind: "rule".into(),
            dedup_key: "k".into(),
            at: jiff::Timestamp::UNIX_EPOCH,
            events: vec![],
            detail: serde_json::json!({}),
        }
    }

    #[test]
    fn a_disabled_rule_and_an_exception_suppress_only_their_tenant_and_value() {
        let mut controls = Controls::default();
        controls.disabled.insert(("akimat".into(), "r-off".into()));
        controls.exceptions.insert(
            ("akimat".into(), "r-logon".into()),
            vec![("host.name".into(), "jump01".into(), None)],
        );
        controls.exceptions.insert(
            ("akimat".into(), "r-old".into()),
            vec![(
                "host.name".into(),
                "jump01".into(),
                Some(jiff::Timestamp::UNIX_EPOCH),
            )],
        );
        let event = |host: &str| {
            kuzet_detect::sample_event(
                &serde_json::json!({"host": {"name": host}}),
                jiff::Timestamp::UNIX_EPOCH,
            )
        };
        assert_eq!(
            controls.suppresses(&alert("r-off"), &event("x")),
            Some("disabled")
        );
        assert_eq!(
            controls.suppresses(&alert("r-logon"), &event("JUMP01")),
            Some("exception")
        );
        assert_eq!(controls.suppresses(&alert("r-logon"), &event("ws7")), None);
        assert_eq!(
            controls.suppresses(&alert("r-old"), &event("jump01")),
            None,
            "an expired exception"
        );
        let mut other = alert("r-off");
        other.tenant = kuzet_model::TenantId::new("bank").unwrap();
        assert_eq!(
            controls.suppresses(&other, &event("x")),
            None,
            "another tenant's rule runs"
        );
    }
}
