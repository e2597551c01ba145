//! The vocabulary every other Kuzet crate speaks: the normalized event with ECS field names, the raw event a
//! listener accepted, newtype ids, tenants with their facilities and sources, parse issues, the time rules of
//! Kazakhstan, roles and tenant scopes, and the audit record.
//!
//! Pure: no I/O, no clock, no environment, no async runtime. Time always arrives as a parameter.
//! Must not depend on any other Kuzet crate.

pub mod access;
pub mod audit;
mod criticality;
mod error;
mod event;
pub mod fields;
mod ids;
mod raw;
mod sector;
mod tenancy;
pub mod time;
mod tlp;
mod value;

pub use criticality::Criticality;
pub use error::ModelError;
pub use event::{Event, IssueCode, ParseIssue};
pub use ids::{EventId, FacilityId, ObjectId, SourceId, TenantId, UserId};
pub use raw::{FormatHint, RawEvent, Transport};
pub use sector::Sector;
pub use tenancy::{
    Directory, DirectoryError, Facility, FacilityClass, Retention, Source, SourceIdentity, Tenant,
};
pub use tlp::Tlp;
pub use value::{Fields, Value};
