//! The API's answers as the console reads them: only the fields it shows (the API may add more).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;

/// `GET /api/v1/auth/me`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Me {
    pub user: String,
    pub roles: Vec<String>,
    /// `complete`, `change_password` or `enrol_mfa`.
    pub onboarding: String,
    pub csrf_token: Option<String>,
}

/// `GET /api/v1/overview`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Overview {
    pub now: Timestamp,
    pub tenants: Vec<TenantCounts>,
    pub tenants_not_shown: u64,
    pub service: Option<Service>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TenantCounts {
    pub tenant: String,
    pub name: String,
    #[serde(default)]
    pub hot_days: u64,
    #[serde(default)]
    pub archive_years: u64,
    pub alerts_new: BTreeMap<String, u64>,
    pub alerts_acknowledged: u64,
    /// Criticality level (as a JSON key) → open incidents.
    pub incidents_open: BTreeMap<String, u64>,
    pub clocks: Vec<Obligation>,
    pub clocks_total: u64,
    /// Each source's health, when the person may read the organization's sources.
    #[serde(default)]
    pub sources: Option<Vec<SourceHealth>>,
}

/// A source as the overview sees it (R6).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SourceHealth {
    pub source: String,
    pub name: String,
    pub events: u64,
    pub last_seen: Option<Timestamp>,
    pub clock_offset_ms: i64,
    pub silent: bool,
    pub drifting: bool,
}

impl SourceHealth {
    /// The clock's offset in seconds, signed, for people.
    pub fn offset_seconds(&self) -> String {
        format!("{:+.1}", self.clock_offset_ms as f64 / 1000.0)
    }
}

impl TenantCounts {
    pub fn alerts_waiting(&self) -> u64 {
        self.alerts_new.values().sum()
    }

    pub fn incidents(&self) -> u64 {
        self.incidents_open.values().sum()
    }

    /// New alerts at one Sigma level.
    pub fn at_level(&self, level: &str) -> u64 {
        self.alerts_new.get(level).copied().unwrap_or(0)
    }

    /// Open incidents at one criticality level.
    pub fn at_criticality(&self, level: &u8) -> u64 {
        self.incidents_open
            .get(&level.to_string())
            .copied()
            .unwrap_or(0)
    }
}

/// The service's counters (for the ISOC's staff).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Service {
    #[serde(default)]
    pub wal_appended: u64,
    #[serde(default)]
    pub sealed_events: u64,
    #[serde(default)]
    pub wal_queue_depth: u64,
    #[serde(default)]
    pub backup_errors: u64,
    #[serde(default)]
    pub disk_free_bytes: u64,
    #[serde(default)]
    pub disk_total_bytes: u64,
    #[serde(default)]
    pub disk_refusing: bool,
    #[serde(default)]
    pub disk_warning: Option<String>,
}

impl Service {
    /// Free space on the data disk, in percent.
    pub fn disk_free_percent(&self) -> String {
        if self.disk_total_bytes == 0 {
            return "—".into();
        }
        format!(
            "{:.1} %",
            self.disk_free_bytes as f64 * 100.0 / self.disk_total_bytes as f64
        )
    }

    pub fn disk_free_gib(&self) -> String {
        format!("{:.1}", self.disk_free_bytes as f64 / f64::from(1u32 << 30))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Done {
    pub at: Timestamp,
    pub by: String,
}

/// A regulatory clock.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Obligation {
    pub incident: Option<String>,
    pub kind: String,
    pub due: Timestamp,
    pub fulfilled: Option<Done>,
    pub clock: Clock,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Clock {
    /// `pending`, `due_soon`, `overdue` or `done`.
    pub state: String,
}

/// A facility of `GET /api/v1/tenants/{t}/facilities`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Facility {
    pub id: String,
    pub name: String,
    pub class: u8,
    pub critical: bool,
}

/// `GET /api/v1/tenants`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Tenant {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AlertRule {
    pub id: String,
    pub title: String,
    pub level: String,
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Triage {
    pub by: String,
    pub reason: Option<String>,
}

/// An alert of `GET /api/v1/tenants/{t}/alerts`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Alert {
    pub id: String,
    pub rule: AlertRule,
    pub first: Timestamp,
    pub last: Timestamp,
    pub hits: u64,
    pub status: String,
    pub triage: Option<Triage>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Category {
    pub name: String,
    pub kz_cert: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Level {
    pub value: u8,
    pub assessed: u8,
    pub explanation: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Title {
    pub en: String,
    pub ru: String,
    pub kk: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Task {
    pub seq: u32,
    pub title: Title,
    pub owner: String,
    pub due: Timestamp,
    pub done: Option<Done>,
}

impl Task {
    pub fn title_in(&self, lang: &str) -> &str {
        match lang {
            "kk" => &self.title.kk,
            "ru" => &self.title.ru,
            _ => &self.title.en,
        }
    }
}

/// `GET /api/v1/tenants/{t}/incidents/{id}` and the list.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Incident {
    pub id: String,
    pub tenant: String,
    pub title: String,
    pub category: Category,
    pub level: Level,
    pub detected: Timestamp,
    pub status: String,
    pub next: Vec<String>,
    pub obligations: Vec<Obligation>,
    pub tasks: Vec<Task>,
    pub alerts: Vec<String>,
    /// Who works it.
    #[serde(default)]
    pub assignee: Option<String>,
}

impl Incident {
    pub fn tasks_open(&self) -> u64 {
        self.tasks.iter().filter(|t| t.done.is_none()).count() as u64
    }
}

/// An entry of `GET …/incidents/{id}/timeline`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TimelineEntry {
    pub at: Timestamp,
    pub kind: String,
    pub text: String,
    pub by: Option<String>,
}

/// `POST …/incidents` answers the new incident's id.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Created {
    pub id: String,
}

/// `POST /api/v1/auth/mfa/enrol`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}
