//! Bytes → normalized [`Event`]: syslog (RFC 3164 and RFC 5424), CEF, LEEF, JSON (ECS and Beats documents), Windows
//! event records (EVTX), the Linux programs every ISOC sees and common network devices, all mapped to ECS names.
//!
//! Invariant: parsing never fails. [`parse`] always returns an event whose `original` holds the input bytes; what
//! could not be understood is recorded as [`kuzet_model::ParseIssue`]s on the event.
//!
//! Pure: no I/O, no clock, no environment. The receive time comes with the [`RawEvent`]; options come as a value.
//! Depends only on `kuzet-model`.

pub mod evtx;

pub use kuzet_model::{Event, RawEvent};
