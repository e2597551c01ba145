//! Kuzet's HTTP API (`/api/v1`): authentication (console sessions with CSRF tokens, API tokens), authorization by
//! route, tenant scopes, and the audit trail.
//!
//! Every route is declared once in the route table ([`routes`]) with the permission it needs; the router is built
//! from that table and nothing else, so a route cannot exist without a rule, and the RBAC matrix test walks the
//! same table. One guard in front of every route authenticates the caller, builds the [`kuzet_model::access::Scope`]
//! the handler must use, and appends an audit record of the request — allowed, failed or refused — to the sealed
//! audit trail before the answer leaves.
//!
//! Only this crate knows HTTP DTOs. Depends on kuzet-model, kuzet-db, kuzet-store (reading sealed events and
//! proofs) and kuzet-ingest (event ids); must not know the console's templates or the binary's configuration.

mod access;
mod admin;
mod advisories;
mod audit;
mod auth;
mod contacts;
mod content;
mod crises;
mod error;
mod files;
mod hub;
mod incidents;
mod indicators;
mod observables;
mod openapi;
mod overview;
mod risks;
mod routes;
mod rule_test;
pub mod search;
mod state;
pub mod taxii;
mod throttle;

pub use audit::{AuditSink, SealedAuditRecord, WalAudit, read_audit};
pub use error::ApiError;
pub use openapi::document as openapi_document;
pub use routes::{Access, RouteSpec, router, routes};
pub use state::{ApiState, Clock, SESSION_COOKIE, SourceSeen, SourcesSeen};
