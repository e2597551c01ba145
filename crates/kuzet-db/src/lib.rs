//! Kuzet's relational store: the directory of tenants, facilities and sources (with their retention), users and
//! their roles, console sessions, API tokens, machine tokens of sources and NCCIS access grants — on SQLite (the
//! embedded default) or PostgreSQL, with the same SQL and one conformance suite (`tests/conformance.rs`) run
//! against both.
//!
//! It is also the authenticator: the only place that turns a password, a session cookie or a token into a
//! [`kuzet_model::access::Principal`]. Every call that reads or changes tenant data takes a
//! [`kuzet_model::access::Scope`] and answers "not found" for objects outside it, so that an id of another tenant
//! reveals nothing. Calls named `system_*` serve the process itself (start-up from the configuration file, the
//! listeners' directory) and are not reachable from the API.
//!
//! Depends on kuzet-model only among Kuzet crates; knows nothing of HTTP, the archive or the parser. Time is
//! always a parameter.

mod advisories;
mod alerts;
mod asset_links;
mod backend;
mod crises;
mod directory;
mod error;
mod evidence;
mod exchange;
mod hub;
mod hub_outbox;
mod incidents;
mod intel;
mod notifications;
mod observables;
mod outbox;
mod overview;
mod risks;
mod rule_files;
mod rule_settings;
mod secrets;
mod timeline;
mod users;

pub use advisories::{
    AccessAsk, AccessDecision, AccessRequestRecord, AssetRecord, Incoming, NewAsset, Received,
    TenantAdvisory,
};
pub use alerts::{ALERT_EVENTS_KEPT, AlertFilter, AlertRecord, AlertStatus, NewAlert};
pub use asset_links::{LinkedAsset, alert_observed};
pub use backend::{Backend, Db, redact};
pub use crises::{CrisisEntry, CrisisMember, CrisisRecord, CrisisTask, NewCrisis};
pub use directory::{NewSource, SourceToken, TenantRecord};
pub use error::DbError;
pub use evidence::{CustodyRecord, EvidenceFile, EvidenceItem};
pub use exchange::ExchangeRecord;
pub use hub::{Escalate, EscalationNotice, EscalationRecord, HubIsoc, HubMessage, HubStored};
pub use hub_outbox::HubOutgoing;
pub use incidents::{IncidentRecord, IncidentRules, IncidentStep, ObligationRecord, TaskRecord};
pub use intel::IntelRecords;
pub use notifications::{
    Channel, ContactRecord, ContactRole, Delivery, NewContact, NotificationRecord,
};
pub use observables::ObservableRecord;
pub use outbox::{Backlog, CLAIM_LEASE, RETRY_BASE, retry_delay, retry_delay_from};
pub use overview::TenantOverview;
pub use risks::{NewRisk, RiskRecord};
pub use rule_files::{ImportOutcome, MAX_RULE_FILE_BYTES, RuleFile};
pub use rule_settings::{NewRuleException, RuleException, RuleSetting};
pub use secrets::{AuthPolicy, PasswordPolicy, sha256_hex, totp_code};
pub use timeline::{EntryKind, EntryRecord, MAX_ENTRY_CHARS, NewEntry, TimelineItem};
pub use users::{
    ApiTokenRecord, LoginOutcome, MfaEnrolment, NewApiToken, NewGrant, NewUser, Session, UserRecord,
};
