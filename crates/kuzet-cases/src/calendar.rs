//! The business calendar of Kazakhstan: a five-day week, statutory holidays, holidays moved off weekends, and the
//! Government's yearly swaps — all as data, one TOML file a year (`calendar/kz-YYYY.toml`, format
//! `docs/formats/calendar.md`), embedded for 2024–2027 and amendable by the operator.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Weekday};
use serde::Deserialize;

use crate::CasesError;

/// The embedded years. An operator's file for the same year replaces the embedded one.
const EMBEDDED: &[(&str, &str)] = &[
    ("kz-2024.toml", include_str!("../calendar/kz-2024.toml")),
    ("kz-2025.toml", include_str!("../calendar/kz-2025.toml")),
    ("kz-2026.toml", include_str!("../calendar/kz-2026.toml")),
    ("kz-2027.toml", include_str!("../calendar/kz-2027.toml")),
];

const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    version: u32,
    year: i16,
    #[serde(default)]
    day_off: Vec<DayEntry>,
    #[serde(default)]
    working_day: Vec<DayEntry>,
    #[serde(default)]
    holiday_on_weekend: Vec<DayEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DayEntry {
    date: String,
    reason: String,
}

/// What a day is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    Working,
    /// A working Saturday or Sunday by decree.
    WorkingByDecree(String),
    Weekend,
    /// A weekday off: a holiday, a holiday moved from a weekend, or a decree day off.
    DayOff(String),
}

impl DayKind {
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Working | DayKind::WorkingByDecree(_))
    }
}

/// One year of the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarYear {
    pub year: i16,
    pub days_off: BTreeMap<Date, String>,
    pub working_days: BTreeMap<Date, String>,
}

impl CalendarYear {
    /// Parses one year's file; `source_name` names it in errors. Refuses dates outside the year, a day both off
    /// and working, a day off that is a weekend, and a working day that is a weekday.
    pub fn parse(source_name: &str, text: &str) -> Result<Self, CasesError> {
        let bad = |reason: String| CasesError::Calendar {
            source_name: source_name.to_owned(),
            reason,
        };
        let file: YearFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if file.version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} is not supported (this build reads {FORMAT_VERSION})",
                file.version
            )));
        }
        let date = |entry: &DayEntry| -> Result<Date, CasesError> {
            let date: Date = entry
                .date
                .parse()
                .map_err(|e| bad(format!("date `{}`: {e}", entry.date)))?;
            if date.year() != file.year {
                return Err(bad(format!("date {date} is not in {}", file.year)));
            }
            Ok(date)
        };
        let weekend = |d: Date| matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday);
        let mut days_off = BTreeMap::new();
        for entry in &file.day_off {
            let d = date(entry)?;
            if weekend(d) {
                return Err(bad(format!(
                    "day off {d} is a {:?}, already a day off; a holiday on a weekend is listed as the weekday it moves to",
                    d.weekday()
                )));
            }
            if days_off.insert(d, entry.reason.clone()).is_some() {
                return Err(bad(format!("day off {d} is listed twice")));
            }
        }
        let mut working_days = BTreeMap::new();
        for entry in &file.working_day {
            let d = date(entry)?;
            if !weekend(d) {
                return Err(bad(format!(
                    "working day {d} is a {:?}, already a working day",
                    d.weekday()
                )));
            }
            if days_off.contains_key(&d) || working_days.insert(d, entry.reason.clone()).is_some() {
                return Err(bad(format!("day {d} is listed twice")));
            }
        }
        for entry in &file.holiday_on_weekend {
            let d = date(entry)?;
            if !weekend(d) {
                return Err(bad(format!("holiday_on_weekend {d} is not on a weekend")));
            }
        }
        Ok(Self {
            year: file.year,
            days_off,
            working_days,
        })
    }
}

/// The business calendar over the years it has data for. A date in a year without data is an error, never a
/// guess: a deadline computed from a wrong calendar would be silently wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    years: BTreeMap<i16, CalendarYear>,
}

impl BusinessCalendar {
    /// The embedded calendar (2024–2027).
    pub fn embedded() -> Result<Self, CasesError> {
        Self::from_files(EMBEDDED.iter().map(|(n, t)| (n.to_string(), t.to_string())))
    }

    /// The embedded calendar with the operator's files laid over it (a file replaces its year).
    pub fn with_overrides(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, CasesError> {
        let mut calendar = Self::embedded()?;
        for (name, text) in files {
            let year = CalendarYear::parse(&name, &text)?;
            calendar.years.insert(year.year, year);
        }
        Ok(calendar)
    }

    fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Result<Self, CasesError> {
        let mut years = BTreeMap::new();
        for (name, text) in files {
            let year = CalendarYear::parse(&name, &text)?;
            if years.insert(year.year, year).is_some() {
                return Err(CasesError::Calendar {
                    source_name: name,
                    reason: "a second file for the same year".into(),
                });
            }
        }
        Ok(Self { years })
    }

    pub fn years(&self) -> BTreeSet<i16> {
        self.years.keys().copied().collect()
    }

    pub fn kind(&self, date: Date) -> Result<DayKind, CasesError> {
        let year = self
            .years
            .get(&date.year())
            .ok_or(CasesError::YearMissing(date.year()))?;
        if let Some(reason) = year.days_off.get(&date) {
            return Ok(DayKind::DayOff(reason.clone()));
        }
        if let Some(reason) = year.working_days.get(&date) {
            return Ok(DayKind::WorkingByDecree(reason.clone()));
        }
        Ok(match date.weekday() {
            Weekday::Saturday | Weekday::Sunday => DayKind::Weekend,
            _ => DayKind::Working,
        })
    }

    pub fn is_business_day(&self, date: Date) -> Result<bool, CasesError> {
        Ok(self.kind(date)?.is_working())
    }

    /// The first business day strictly after `date`.
    pub fn next_business_day(&self, date: Date) -> Result<Date, CasesError> {
        let mut day = date;
        // No year has more than a few consecutive days off; 40 bounds a malformed calendar.
        for _ in 0..40 {
            day = day
                .tomorrow()
                .map_err(|e| CasesError::Obligation("calendar", e.to_string()))?;
            if self.is_business_day(day)? {
                return Ok(day);
            }
        }
        Err(CasesError::Calendar {
            source_name: format!("{}", date.year()),
            reason: format!("no business day within 40 days after {date}"),
        })
    }
}
