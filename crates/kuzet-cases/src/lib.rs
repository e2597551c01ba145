//! Incident logic that must replay deterministically: the Kazakhstan business calendar (as data, one file a year)
//! and the regulatory clocks — when each obligation an incident creates falls due, and whether it is pending, due
//! soon, overdue or done.
//!
//! Pure: no I/O, no clock, no environment. The calendar arrives as text, time as a parameter. Computed in
//! Kazakhstan local time (UTC+5 since 1 March 2024), returned as UTC instants. Must depend on kuzet-model only.
//! Incidents, response plans and their persistence join this crate and `kuzet-db` in later work.

mod calendar;
mod clocks;
mod error;

pub use calendar::{BusinessCalendar, CalendarYear, DayKind};
pub use clocks::{ClockState, Obligation, Quarter, clock_state, due};
pub use error::CasesError;
