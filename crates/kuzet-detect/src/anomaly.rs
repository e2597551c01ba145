//! Abnormal activity of users and software robots (R9): per-account baselines learned online from the events
//! themselves, each anomaly scored and explained in words an analyst can check.
//!
//! - **logon hour**: a successful logon at an hour of the day (Kazakhstan time) at which the account has almost
//!   never logged on;
//! - **new source**: a logon from an address the account has never logged on from;
//! - **new process**: a process the account has never started;
//! - **volume**: an hour with far more events of the account than its hourly baseline (for service accounts this
//!   is their request rate).
//!
//! Nothing is judged before an account's baseline has enough observations ([`AnomalyConfig`]). State is bounded
//! (accounts per tenant, values per set), evictions are counted, and it can be saved and restored like the
//! correlation state. Pure: time comes with each event.

use std::collections::VecDeque;

use kuzet_model::{Event, Value, fields};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{DetectError, Result};

/// The version tag of a saved baseline.
pub const BASELINE_FORMAT: &str = "kuzet-anomaly-baseline/1";

/// When a baseline is trusted, and the state's bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyConfig {
    /// Successful logons of an account before its logon hours and sources are judged.
    pub min_logons: u64,
    /// An hour of the day used by less than this share of the account's logons is unusual.
    pub rare_hour_share: f64,
    /// Process starts of an account before a new process is judged.
    pub min_processes: u64,
    /// Hours of history before the hourly volume is judged.
    pub min_hours: u32,
    /// An hour is a spike above mean + this many standard deviations…
    pub volume_sigmas: f64,
    /// …and at least this many events.
    pub min_volume: u64,
    /// Accounts kept per tenant (the least recently seen is evicted).
    pub max_accounts: usize,
    /// Distinct sources and processes kept per account (the least recently seen is forgotten).
    pub max_values: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            min_logons: 30,
            rare_hour_share: 0.02,
            min_processes: 100,
            min_hours: 24,
            volume_sigmas: 4.0,
            min_volume: 50,
            max_accounts: 50_000,
            max_values: 256,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    LogonHour,
    NewSource,
    NewProcess,
    Volume,
}

impl AnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::LogonHour => "logon_hour",
            AnomalyKind::NewSource => "new_source",
            AnomalyKind::NewProcess => "new_process",
            AnomalyKind::Volume => "volume",
        }
    }
}

/// One anomaly, with the account, a score from 0 to 1 and an explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub account: String,
    /// A service account or other software robot (named `svc-…`, `svc_…`, `sa_…`, or ending in `$`).
    pub robot: bool,
    pub score: f64,
    pub explanation: String,
    /// The unusual value: the hour, the address, the process, the count.
    pub value: String,
}

/// Counters of the state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnomalyStats {
    pub accounts: usize,
    pub evicted_accounts: u64,
    pub forgotten_values: u64,
}

/// A bounded set that forgets its least recently seen value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Recent {
    values: VecDeque<String>,
}

impl Recent {
    /// Whether `value` was known; it becomes the most recent. Returns also whether one was forgotten.
    fn see(&mut self, value: &str, max: usize) -> (bool, bool) {
        let known = match self.values.iter().position(|v| v == value) {
            Some(at) => {
                if let Some(v) = self.values.remove(at) {
                    self.values.push_back(v);
                }
                true
            }
            None => {
                self.values.push_back(value.to_owned());
                false
            }
        };
        let forgot = self.values.len() > max;
        if forgot {
            self.values.pop_front();
        }
        (known, forgot)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Profile {
    logons: u64,
    hours: [u64; 24],
    sources: Recent,
    processes: u64,
    executables: Recent,
    /// The hour (Unix hours) being counted and its count.
    hour: i64,
    count: u64,
    /// Whether the current hour already fired.
    fired: bool,
    /// Finished hours: their number, mean and variance of counts (Welford).
    hours_seen: u32,
    mean: f64,
    m2: f64,
    last_seen: i64,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: String,
    stats: AnomalyStats,
    profiles: Vec<(String, String, Profile)>,
}

/// The baselines of every account of every tenant.
#[derive(Debug, Default)]
pub struct Baselines {
    config: AnomalyConfig,
    profiles: FxHashMap<(String, String), Profile>,
    per_tenant: FxHashMap<String, usize>,
    stats: AnomalyStats,
}

impl Baselines {
    pub fn new(config: AnomalyConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    pub fn stats(&self) -> AnomalyStats {
        AnomalyStats {
            accounts: self.profiles.len(),
            ..self.stats
        }
    }

    /// Learns from one event and appends what is abnormal about it (judged against the baseline before the event
    /// is added to it).
    pub fn observe(&mut self, event: &Event, out: &mut Vec<Anomaly>) {
        let Some(account) = account(event) else {
            return;
        };
        let tenant = event.tenant.as_str().to_owned();
        let key = (tenant.clone(), account.to_lowercase());
        if !self.profiles.contains_key(&key) {
            let count = self.per_tenant.entry(tenant.clone()).or_default();
            if *count >= self.config.max_accounts
                && let Some(oldest) = self
                    .profiles
                    .iter()
                    .filter(|((t, _), _)| *t == tenant)
                    .min_by_key(|(_, p)| p.last_seen)
                    .map(|(k, _)| k.clone())
            {
                self.profiles.remove(&oldest);
                self.stats.evicted_accounts += 1;
                *count -= 1;
            }
            *count += 1;
        }
        let config = self.config;
        let profile = self.profiles.entry(key).or_default();
        let at = event.timestamp;
        profile.last_seen = at.as_second();
        let robot = is_robot(account);
        let who = if robot {
            format!("service account {account}")
        } else {
            format!("account {account}")
        };
        let mut found = |kind, score: f64, value: String, explanation: String| {
            out.push(Anomaly {
                kind,
                account: account.to_owned(),
                robot,
                score: score.clamp(0.0, 1.0),
                explanation,
                value,
            });
        };

        // Volume: count this hour; close finished hours into the baseline.
        let hour = at.as_second().div_euclid(3600);
        if hour != profile.hour {
            if profile.count > 0 || profile.hours_seen > 0 {
                // The hours in between, with no events, count as zeros (capped: a long silence is one week).
                let idle = (hour - profile.hour - 1).clamp(0, 168);
                add_hour(profile, profile.count as f64);
                for _ in 0..idle {
                    add_hour(profile, 0.0);
                }
            }
            profile.hour = hour;
            profile.count = 0;
            profile.fired = false;
        }
        profile.count += 1;
        if profile.hours_seen >= config.min_hours && !profile.fired {
            let sd = (profile.m2 / f64::from(profile.hours_seen.max(1)))
                .sqrt()
                .max(1.0);
            let limit = profile.mean + config.volume_sigmas * sd;
            if profile.count as f64 > limit && profile.count >= config.min_volume {
                profile.fired = true;
                let z = (profile.count as f64 - profile.mean) / sd;
                found(
                    AnomalyKind::Volume,
                    1.0 - 1.0 / z.max(1.0),
                    profile.count.to_string(),
                    format!(
                        "{who} has {} events this hour; its usual is {:.1} ± {:.1} an hour over {} hours",
                        profile.count, profile.mean, sd, profile.hours_seen
                    ),
                );
            }
        }

        if is_successful_logon(event) {
            let local = at.to_zoned(jiff::tz::TimeZone::fixed(kuzet_model::time::kz_offset(at)));
            let h = usize::from(local.hour().unsigned_abs()).min(23);
            if profile.logons >= config.min_logons {
                let share = profile.hours[h] as f64 / profile.logons as f64;
                if share < config.rare_hour_share {
                    found(
                        AnomalyKind::LogonHour,
                        1.0 - share / config.rare_hour_share,
                        format!("{h:02}:00"),
                        format!(
                            "{who} logged on at {:02}:{:02} Kazakhstan time; it logged on in that hour {} of {} times",
                            local.hour(),
                            local.minute(),
                            profile.hours[h],
                            profile.logons
                        ),
                    );
                }
            }
            if let Some(source) =
                text(event, fields::SOURCE_IP).or_else(|| text(event, "source.address"))
            {
                let (known, forgot) = profile.sources.see(&source, config.max_values);
                if forgot {
                    self.stats.forgotten_values += 1;
                }
                if !known && profile.logons >= config.min_logons {
                    found(
                        AnomalyKind::NewSource,
                        1.0,
                        source.clone(),
                        format!(
                            "{who} logged on from {source}, an address it has not logged on from in {} logons",
                            profile.logons
                        ),
                    );
                }
            }
            profile.hours[h] += 1;
            profile.logons += 1;
        }

        if is_process_start(event)
            && let Some(executable) = text(event, fields::PROCESS_EXECUTABLE)
                .or_else(|| text(event, fields::PROCESS_NAME))
        {
            let lower = executable.to_lowercase();
            let (known, forgot) = profile.executables.see(&lower, config.max_values);
            if forgot {
                self.stats.forgotten_values += 1;
            }
            if !known && profile.processes >= config.min_processes {
                found(
                    AnomalyKind::NewProcess,
                    1.0,
                    executable.clone(),
                    format!(
                        "{who} started {executable}, a program it has not run in {} process starts",
                        profile.processes
                    ),
                );
            }
            profile.processes += 1;
        }
    }

    /// The baselines as bytes to keep across a restart.
    pub fn snapshot(&self) -> Vec<u8> {
        let snapshot = Snapshot {
            format: BASELINE_FORMAT.to_owned(),
            stats: self.stats,
            profiles: self
                .profiles
                .iter()
                .map(|((t, a), p)| (t.clone(), a.clone(), p.clone()))
                .collect(),
        };
        // Plain data (strings and numbers) always serializes.
        serde_json::to_vec(&snapshot).unwrap_or_default()
    }

    /// Restores baselines saved by [`Baselines::snapshot`]; an unreadable snapshot is an error and the
    /// baselines stay empty (they are learned again).
    pub fn restore(&mut self, bytes: &[u8]) -> Result<()> {
        let fail = |reason: String| DetectError::State { reason };
        let snapshot: Snapshot = serde_json::from_slice(bytes).map_err(|e| fail(e.to_string()))?;
        if snapshot.format != BASELINE_FORMAT {
            return Err(fail(format!(
                "format is `{}`, expected `{BASELINE_FORMAT}`",
                snapshot.format
            )));
        }
        self.stats = snapshot.stats;
        self.per_tenant.clear();
        self.profiles.clear();
        for (tenant, account, profile) in snapshot.profiles {
            *self.per_tenant.entry(tenant.clone()).or_default() += 1;
            self.profiles.insert((tenant, account), profile);
        }
        Ok(())
    }
}

fn add_hour(profile: &mut Profile, count: f64) {
    profile.hours_seen += 1;
    let delta = count - profile.mean;
    profile.mean += delta / f64::from(profile.hours_seen);
    profile.m2 += delta * (count - profile.mean);
}

fn text(event: &Event, name: &str) -> Option<String> {
    match event.fields.get(name)? {
        Value::Str(s) if !s.is_empty() && s != "-" => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        Value::Array(items) => items.first().and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    }
}

/// The account an event is about: `user.name`, skipping the machine's own noise (SYSTEM, anonymous, `-`).
fn account(event: &Event) -> Option<&str> {
    let name = event.user_name()?;
    let lower = name.to_ascii_lowercase();
    let ignored = name.is_empty()
        || name == "-"
        || matches!(
            lower.as_str(),
            "system" | "local service" | "network service" | "anonymous logon" | "dwm-1" | "umfd-0"
        );
    (!ignored).then_some(name)
}

fn is_robot(account: &str) -> bool {
    let lower = account.to_ascii_lowercase();
    ["svc-", "svc_", "sa_", "sa-"]
        .iter()
        .any(|p| lower.starts_with(p))
        || lower.ends_with('$')
}

fn has(event: &Event, name: &str, wanted: &str) -> bool {
    match event.fields.get(name) {
        Some(Value::Str(s)) => s == wanted,
        Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(wanted)),
        _ => false,
    }
}

fn is_successful_logon(event: &Event) -> bool {
    has(event, fields::EVENT_CATEGORY, "authentication")
        && event.event_outcome() == Some("success")
        && !has(event, fields::EVENT_TYPE, "end")
}

fn is_process_start(event: &Event) -> bool {
    has(event, fields::EVENT_CATEGORY, "process") && has(event, fields::EVENT_TYPE, "start")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_event;
    use jiff::Timestamp;

    fn at(hours: i64, minutes: i64) -> Timestamp {
        // 2026-12-07 00:00 in Kazakhstan (UTC+5) plus the offset.
        Timestamp::from_second(1_796_583_600 + hours * 3600 + minutes * 60).unwrap()
    }

    fn logon(user: &str, ip: &str, when: Timestamp) -> Event {
        let mut event = sample_event(
            &serde_json::json!({
                "user": {"name": user}, "source": {"ip": ip},
                "event": {"category": ["authentication"], "type": ["start"], "outcome": "success"},
            }),
            when,
        );
        event.timestamp = when;
        event
    }

    fn config() -> AnomalyConfig {
        AnomalyConfig {
            min_logons: 20,
            min_processes: 10,
            min_hours: 24,
            min_volume: 20,
            ..AnomalyConfig::default()
        }
    }

    #[test]
    fn an_unusual_hour_and_a_new_address_after_a_baseline() {
        let mut baselines = Baselines::new(config());
        let mut out = Vec::new();
        // Thirty working days of logons between 09:00 and 10:00, from one address.
        for day in 0..30 {
            baselines.observe(
                &logon("aidos", "10.0.0.5", at(day * 24 + 9, day % 50)),
                &mut out,
            );
        }
        assert!(out.is_empty(), "{out:?}");
        baselines.observe(&logon("aidos", "10.0.0.5", at(30 * 24 + 3, 12)), &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, AnomalyKind::LogonHour);
        assert_eq!(
            out[0].explanation,
            "account aidos logged on at 03:12 Kazakhstan time; it logged on in that hour 0 of 30 times"
        );
        out.clear();
        baselines.observe(&logon("aidos", "203.0.113.9", at(31 * 24 + 9, 5)), &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, AnomalyKind::NewSource);
        assert_eq!(out[0].value, "203.0.113.9");
        // Another account of another tenant has its own baseline: nothing to judge yet.
        out.clear();
        baselines.observe(&logon("bolat", "203.0.113.9", at(31 * 24 + 3, 0)), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_robots_request_rate_spike() {
        let mut baselines = Baselines::new(config());
        let mut out = Vec::new();
        let event = |when| {
            let mut e = sample_event(&serde_json::json!({"user": {"name": "svc_backup"}}), when);
            e.timestamp = when;
            e
        };
        // Two days of about ten requests an hour.
        for hour in 0..48 {
            for minute in 0..(9 + hour % 3) {
                baselines.observe(&event(at(hour, minute)), &mut out);
            }
        }
        assert!(out.is_empty(), "{out:?}");
        for minute in 0..60 {
            baselines.observe(&event(at(48, minute)), &mut out);
        }
        assert_eq!(
            out.len(),
            1,
            "one alert for the hour, not one per event: {out:?}"
        );
        assert_eq!(out[0].kind, AnomalyKind::Volume);
        assert!(out[0].robot);
        assert!(
            out[0]
                .explanation
                .starts_with("service account svc_backup has "),
            "{}",
            out[0].explanation
        );
    }

    #[test]
    fn a_new_program_for_an_account_and_bounded_state_that_survives_a_restart() {
        let mut baselines = Baselines::new(AnomalyConfig {
            max_accounts: 2,
            ..config()
        });
        let mut out = Vec::new();
        let start = |user: &str, exe: &str, when| {
            let mut e = sample_event(
                &serde_json::json!({"user": {"name": user}, "process": {"executable": exe},
                                    "event": {"category": ["process"], "type": ["start"]}}),
                when,
            );
            e.timestamp = when;
            e
        };
        for i in 0..12 {
            baselines.observe(
                &start("dana", "C:\\Windows\\explorer.exe", at(i, 0)),
                &mut out,
            );
        }
        let saved = baselines.snapshot();
        let mut restored = Baselines::new(AnomalyConfig {
            max_accounts: 2,
            ..config()
        });
        restored.restore(&saved).unwrap();
        restored.observe(
            &start(
                "dana",
                "C:\\Users\\dana\\AppData\\Local\\Temp\\x.exe",
                at(13, 0),
            ),
            &mut out,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, AnomalyKind::NewProcess);
        // A third account evicts the least recently seen one, and it is counted.
        restored.observe(&start("erlan", "a.exe", at(14, 0)), &mut out);
        restored.observe(&start("farida", "a.exe", at(15, 0)), &mut out);
        assert_eq!(restored.stats().accounts, 2);
        assert_eq!(restored.stats().evicted_accounts, 1);
        assert!(restored.restore(b"{\"format\":\"x/1\",\"stats\":{\"accounts\":0,\"evicted_accounts\":0,\"forgotten_values\":0},\"profiles\":[]}").is_err());
    }
}
