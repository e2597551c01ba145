//! The regulatory clocks: for each obligation an incident (or the calendar) creates, the instant it falls due.
//! Rules (`../shared/docs/regulation.md`):
//!
//! | obligation | due |
//! |---|---|
//! | tell the facility owner | at once: the instant of the fact |
//! | report to NCCIS | confirmation + 15 minutes (R16) |
//! | notify the personal-data authority | one business day after detection (R22): detected on a business day at local time T → T on the next business day; detected on a day off → the end of the first business day after it |
//! | report a change of contacts to NCCIS | change + 48 hours |
//! | quarterly incident report | the end of the 10th day of the month after the quarter, local time (R20) |
//! | quarterly contact confirmation | the end of the 10th day of the quarter's first month, local time (R21) |
//! | review of the response process | six calendar months after the last review |
//!
//! "By the 10th" is kept even when the 10th is a day off: the rule names a date, not a number of business days.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp, ToSpan};
use kuzet_model::time::kz_offset;

use crate::{BusinessCalendar, CasesError};

/// A calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i16,
    /// 1–4.
    pub number: i8,
}

impl Quarter {
    pub fn new(year: i16, number: i8) -> Result<Self, CasesError> {
        if !(1..=4).contains(&number) {
            return Err(CasesError::Obligation(
                "quarter",
                format!("number {number} is not 1–4"),
            ));
        }
        Ok(Self { year, number })
    }

    /// The quarter holding `instant` in Kazakhstan time.
    pub fn of(instant: Timestamp) -> Self {
        let local = local(instant);
        Self {
            year: local.year(),
            number: (local.month() - 1) / 3 + 1,
        }
    }

    fn first_month(self) -> i8 {
        (self.number - 1) * 3 + 1
    }

    /// The quarter after this one.
    pub fn next(self) -> Self {
        if self.number == 4 {
            Self {
                year: self.year + 1,
                number: 1,
            }
        } else {
            Self {
                year: self.year,
                number: self.number + 1,
            }
        }
    }

    /// The quarter before this one.
    pub fn previous(self) -> Self {
        if self.number == 1 {
            Self {
                year: self.year - 1,
                number: 4,
            }
        } else {
            Self {
                year: self.year,
                number: self.number - 1,
            }
        }
    }

    /// The quarter's first instant: midnight of its first day, Kazakhstan time.
    pub fn start(self) -> Result<Timestamp, CasesError> {
        instant_of(date(self.year, self.first_month(), 1)?.to_datetime(Time::midnight()))
    }
}

/// What an obligation is, with the fact its clock starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Obligation {
    OwnerNotification { fact: Timestamp },
    NccisReport { confirmed: Timestamp },
    PersonalDataNotice { detected: Timestamp },
    ContactChange { changed: Timestamp },
    QuarterlyReport { quarter: Quarter },
    QuarterlyContactConfirmation { quarter: Quarter },
    ResponseProcessReview { last_review: Timestamp },
}

impl Obligation {
    /// The stable name of the obligation's kind (storage, API).
    pub fn kind(&self) -> &'static str {
        match self {
            Obligation::OwnerNotification { .. } => "owner_notification",
            Obligation::NccisReport { .. } => "nccis_report",
            Obligation::PersonalDataNotice { .. } => "personal_data_notice",
            Obligation::ContactChange { .. } => "contact_change",
            Obligation::QuarterlyReport { .. } => "quarterly_report",
            Obligation::QuarterlyContactConfirmation { .. } => "quarterly_contact_confirmation",
            Obligation::ResponseProcessReview { .. } => "response_process_review",
        }
    }

    /// The instant the clock starts from: the fact, or the first instant of the quarter reported on.
    pub fn fact(&self) -> Option<Timestamp> {
        match *self {
            Obligation::OwnerNotification { fact } => Some(fact),
            Obligation::NccisReport { confirmed } => Some(confirmed),
            Obligation::PersonalDataNotice { detected } => Some(detected),
            Obligation::ContactChange { changed } => Some(changed),
            Obligation::ResponseProcessReview { last_review } => Some(last_review),
            Obligation::QuarterlyReport { quarter }
            | Obligation::QuarterlyContactConfirmation { quarter } => quarter.start().ok(),
        }
    }
}

/// Kazakhstan local time of `instant`, `YYYY-MM-DD HH:MM` (for documents).
pub(crate) fn kz_local_text(instant: Timestamp) -> String {
    local(instant).strftime("%Y-%m-%d %H:%M").to_string()
}

fn local(instant: Timestamp) -> DateTime {
    kuzet_model::time::kz_local(instant)
}

/// A local Kazakhstan date and time as a UTC instant: UTC+5, or UTC+6 before 1 March 2024.
fn instant_of(local: DateTime) -> Result<Timestamp, CasesError> {
    for hours in [5, 6] {
        let offset = Offset::constant(hours);
        let instant = TimeZone::fixed(offset)
            .to_timestamp(local)
            .map_err(|e| CasesError::Obligation("time", e.to_string()))?;
        if kz_offset(instant) == offset {
            return Ok(instant);
        }
    }
    Err(CasesError::Obligation(
        "time",
        format!("{local} did not exist in Kazakhstan"),
    ))
}

/// The end of a local day: midnight at its end.
fn end_of(date: Date) -> Result<Timestamp, CasesError> {
    let next = date
        .tomorrow()
        .map_err(|e| CasesError::Obligation("date", e.to_string()))?;
    instant_of(next.to_datetime(Time::midnight()))
}

fn add(instant: Timestamp, span: Span) -> Result<Timestamp, CasesError> {
    instant
        .checked_add(span)
        .map_err(|e| CasesError::Obligation("time", e.to_string()))
}

/// When `obligation` falls due.
pub fn due(obligation: Obligation, calendar: &BusinessCalendar) -> Result<Timestamp, CasesError> {
    match obligation {
        Obligation::OwnerNotification { fact } => Ok(fact),
        Obligation::NccisReport { confirmed } => add(confirmed, 15.minutes()),
        Obligation::ContactChange { changed } => add(changed, 48.hours()),
        Obligation::PersonalDataNotice { detected } => {
            let at = local(detected);
            let next = calendar.next_business_day(at.date())?;
            if calendar.is_business_day(at.date())? {
                instant_of(next.to_datetime(at.time()))
            } else {
                end_of(next)
            }
        }
        Obligation::QuarterlyReport { quarter } => {
            let (year, month) = if quarter.number == 4 {
                (quarter.year + 1, 1)
            } else {
                (quarter.year, quarter.first_month() + 3)
            };
            end_of(date(year, month, 10)?)
        }
        Obligation::QuarterlyContactConfirmation { quarter } => {
            end_of(date(quarter.year, quarter.first_month(), 10)?)
        }
        Obligation::ResponseProcessReview { last_review } => {
            let at = local(last_review);
            let later = at
                .checked_add(6.months())
                .map_err(|e| CasesError::Obligation("review", e.to_string()))?;
            instant_of(later)
        }
    }
}

fn date(year: i16, month: i8, day: i8) -> Result<Date, CasesError> {
    Date::new(year, month, day).map_err(|e| CasesError::Obligation("date", e.to_string()))
}

/// How long before its due instant a clock of `kind` (an [`Obligation::kind`]) shows as due soon and warns: 5
/// minutes for the minutes-long clocks (owner, NCCIS), 4 hours for the others.
pub fn warning_window(kind: &str) -> SignedDuration {
    match kind {
        "nccis_report" | "owner_notification" => SignedDuration::from_mins(5),
        _ => SignedDuration::from_hours(4),
    }
}

/// What an open clock calls for: a warning inside its [`warning_window`], an alert once past due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alarm {
    DueSoon,
    Overdue,
}

impl Alarm {
    pub fn name(self) -> &'static str {
        match self {
            Alarm::DueSoon => "due_soon",
            Alarm::Overdue => "overdue",
        }
    }

    /// The alert level (Sigma's words) of this alarm on a clock of `kind`: the minutes-long clocks whose miss is
    /// reported upward (owner, NCCIS, personal-data authority) rank higher.
    pub fn level(self, kind: &str) -> &'static str {
        let urgent = matches!(
            kind,
            "nccis_report" | "owner_notification" | "personal_data_notice"
        );
        match (self, urgent) {
            (Alarm::Overdue, true) => "critical",
            (Alarm::Overdue, false) | (Alarm::DueSoon, true) => "high",
            (Alarm::DueSoon, false) => "medium",
        }
    }
}

/// The alarm a clock of `kind` due at `due` raises at `now` when not fulfilled.
pub fn alarm(kind: &str, due: Timestamp, now: Timestamp) -> Option<Alarm> {
    let remaining = due.duration_since(now);
    if remaining <= SignedDuration::ZERO {
        Some(Alarm::Overdue)
    } else if remaining <= warning_window(kind) {
        Some(Alarm::DueSoon)
    } else {
        None
    }
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockState {
    Pending {
        remaining: SignedDuration,
    },
    /// Within the warning window before the due instant.
    DueSoon {
        remaining: SignedDuration,
    },
    Overdue {
        by: SignedDuration,
    },
    Done {
        on_time: bool,
    },
}

/// The state of a clock due at `due` at `now`, fulfilled at `fulfilled` if it was; `warn_before` is the warning
/// window (e.g. 5 minutes for the NCCIS report).
pub fn clock_state(
    due: Timestamp,
    fulfilled: Option<Timestamp>,
    now: Timestamp,
    warn_before: SignedDuration,
) -> ClockState {
    if let Some(at) = fulfilled {
        return ClockState::Done { on_time: at <= due };
    }
    let remaining = due.duration_since(now);
    if remaining.is_negative() || remaining.is_zero() {
        ClockState::Overdue { by: -remaining }
    } else if remaining <= warn_before {
        ClockState::DueSoon { remaining }
    } else {
        ClockState::Pending { remaining }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_warn_inside_the_window_and_alert_from_the_due_instant() {
        let due: Timestamp = "2026-12-04T06:15:00Z".parse().unwrap();
        let before = |mins| due - SignedDuration::from_mins(mins);
        assert_eq!(alarm("nccis_report", due, before(6)), None);
        assert_eq!(alarm("nccis_report", due, before(5)), Some(Alarm::DueSoon));
        assert_eq!(alarm("nccis_report", due, due), Some(Alarm::Overdue));
        assert_eq!(
            alarm("quarterly_report", due, before(6)),
            Some(Alarm::DueSoon)
        );
        assert_eq!(alarm("quarterly_report", due, before(241)), None);
        assert_eq!(Alarm::Overdue.level("nccis_report"), "critical");
        assert_eq!(Alarm::DueSoon.level("owner_notification"), "high");
        assert_eq!(Alarm::Overdue.level("quarterly_report"), "high");
        assert_eq!(Alarm::DueSoon.level("quarterly_report"), "medium");
    }
}
