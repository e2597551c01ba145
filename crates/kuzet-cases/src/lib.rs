//! Incident logic that must replay deterministically: the incident workflow (statuses, transitions and the
//! obligations they create), the criticality rubric (levels 0–5, explained), response plans as data (the eleven
//! mandatory measures of R12), the Kazakhstan business calendar (as data, one file a year) and the regulatory
//! clocks — when each obligation falls due, and whether it is pending, due soon, overdue or done — and which part
//! of an NCCIS advisory concerns a tenant's assets.
//!
//! Pure: no I/O, no clock, no environment. The calendar arrives as text, time as a parameter. Computed in
//! Kazakhstan local time (UTC+5 since 1 March 2024), returned as UTC instants. Must depend on kuzet-model only.
//! Incidents are persisted by `kuzet-db` and worked through `kuzet-api`; the notices and reports rendered here are
//! delivered and served by them.

mod advisory;
mod assets;
mod calendar;
mod clocks;
mod error;
mod incident;
mod inventory;
mod metrics;
mod notice;
mod observable;
mod plans;
mod report;
mod risk;
mod rubric;

pub use advisory::{
    Advisory, Affected, Asset, Concerning, Range, compare_versions, concerning, product_key,
    render_advisory_notice,
};
pub use assets::{
    ADDRESS_FIELDS, AssetLink, HOST_FIELDS, Observed, Seen, link_assets, observed_in, same_host,
};
pub use calendar::{BusinessCalendar, CalendarYear, DayKind};
pub use clocks::{Alarm, ClockState, Obligation, Quarter, alarm, clock_state, due, warning_window};
pub use error::CasesError;
pub use incident::{Category, Incident, LevelDecision, Status, Transition};
pub use inventory::{InventoryRow, parse_inventory};
pub use kuzet_model::Criticality;
pub use metrics::{Group as MetricsGroup, MEASURES, MetricsReport, MetricsRow, month_range};
pub use notice::{
    BreachFacts, Notice, NoticeFacts, NoticeKind, render_breach_notice, render_notice,
};
pub use observable::{MAX_OBSERVABLE_CHARS, Observable, ObservableKind};
pub use plans::{DEFAULT_PLAN, MANDATORY_MEASURES, PlanTask, ResponsePlan, TaskKind, Title};
pub use report::{ConsolidatedReport, IncidentReport, Lang, ReportKind, ReportRow};
pub use risk::{Rating, Treatment, risk_score};
pub use rubric::{Assessment, DEFAULT_RUBRIC, Facts, Rubric};
