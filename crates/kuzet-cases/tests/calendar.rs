//! The Kazakhstan calendar and the regulatory clocks, table-driven. The day table states facts one by one (from the
//! Labour Code's rules and the decrees recorded in `../shared/docs/regulation.md`); the exhaustive check derives
//! every day of 2024–2027 again from the statutory rules written here independently of the data files, with the
//! decree swaps as the only exceptions, and compares.
#![allow(clippy::unwrap_used)]

use jiff::civil::{Date, Weekday};
use jiff::{SignedDuration, Timestamp, ToSpan};
use kuzet_cases::{
    BusinessCalendar, CasesError, ClockState, DayKind, Obligation, Quarter, clock_state, due,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    Working,
    Off,
    Weekend,
    Decree,
}

fn kind(calendar: &BusinessCalendar, date: &str) -> K {
    match calendar.kind(date.parse().unwrap()).unwrap() {
        DayKind::Working => K::Working,
        DayKind::DayOff(_) => K::Off,
        DayKind::Weekend => K::Weekend,
        DayKind::WorkingByDecree(_) => K::Decree,
    }
}

const DAYS: &[(&str, K, &str)] = &[
    ("2024-01-01", K::Off, "New Year"),
    ("2024-01-02", K::Off, "New Year"),
    ("2024-01-03", K::Working, ""),
    ("2024-01-07", K::Weekend, "Christmas on a Sunday"),
    ("2024-01-08", K::Working, "Christmas never moves"),
    ("2024-03-08", K::Off, "8 March"),
    ("2024-03-21", K::Off, "Nauryz"),
    ("2024-03-22", K::Off, "Nauryz"),
    ("2024-03-23", K::Weekend, "Nauryz on a Saturday"),
    ("2024-03-25", K::Off, "Nauryz moved"),
    ("2024-03-26", K::Working, ""),
    ("2024-05-01", K::Off, "Unity Day"),
    ("2024-05-04", K::Decree, "worked for 8 May"),
    ("2024-05-07", K::Off, "Defender's Day"),
    ("2024-05-08", K::Off, "decree"),
    ("2024-05-09", K::Off, "Victory Day"),
    ("2024-06-16", K::Weekend, "Kurban Ait on a Sunday"),
    ("2024-06-17", K::Working, "Kurban Ait never moves"),
    ("2024-07-06", K::Weekend, "Capital Day on a Saturday"),
    ("2024-07-08", K::Off, "Capital Day moved"),
    ("2024-08-30", K::Off, "Constitution Day"),
    ("2024-10-25", K::Off, "Republic Day"),
    ("2024-12-16", K::Off, "Independence Day"),
    ("2024-12-31", K::Working, ""),
    ("2025-01-03", K::Off, "decree"),
    ("2025-01-05", K::Decree, "worked for 3 January"),
    ("2025-01-06", K::Working, ""),
    ("2025-01-07", K::Off, "Christmas"),
    ("2025-03-08", K::Weekend, "8 March on a Saturday"),
    ("2025-03-10", K::Off, "8 March moved"),
    ("2025-03-21", K::Off, "Nauryz"),
    ("2025-03-24", K::Off, "Nauryz moved"),
    ("2025-03-25", K::Off, "Nauryz moved"),
    ("2025-03-26", K::Working, ""),
    ("2025-06-06", K::Off, "Kurban Ait"),
    ("2025-07-07", K::Off, "Capital Day moved"),
    ("2025-08-30", K::Weekend, "Constitution Day on a Saturday"),
    ("2025-09-01", K::Off, "Constitution Day moved"),
    ("2025-10-27", K::Off, "Republic Day moved"),
    ("2025-12-16", K::Off, "Independence Day"),
    ("2026-01-02", K::Off, "New Year"),
    ("2026-01-05", K::Working, ""),
    ("2026-01-07", K::Off, "Christmas"),
    ("2026-03-09", K::Off, "8 March moved"),
    ("2026-03-23", K::Off, "Nauryz"),
    ("2026-03-24", K::Off, "Nauryz moved"),
    ("2026-03-25", K::Off, "Nauryz moved"),
    ("2026-03-26", K::Working, ""),
    ("2026-05-11", K::Off, "Victory Day moved"),
    ("2026-05-27", K::Off, "Kurban Ait"),
    ("2026-07-06", K::Off, "Capital Day"),
    ("2026-08-31", K::Working, "no Constitution Day in 2026"),
    ("2026-10-26", K::Off, "Republic Day moved"),
    ("2026-12-04", K::Working, ""),
    ("2026-12-05", K::Weekend, ""),
    ("2026-12-16", K::Off, "Independence Day"),
    ("2027-01-04", K::Off, "New Year moved"),
    ("2027-03-15", K::Off, "Constitution Day from 2027"),
    ("2027-03-22", K::Off, "Nauryz"),
    ("2027-03-23", K::Off, "Nauryz"),
    ("2027-03-24", K::Off, "Nauryz moved"),
    ("2027-05-03", K::Off, "Unity Day moved"),
    ("2027-05-10", K::Off, "Victory Day moved"),
    (
        "2027-05-17",
        K::Working,
        "Kurban Ait on Sunday 16 May does not move",
    ),
    (
        "2027-08-30",
        K::Working,
        "Constitution Day moved to 15 March",
    ),
    ("2027-10-25", K::Off, "Republic Day"),
];

#[test]
fn day_table() {
    let calendar = BusinessCalendar::embedded().unwrap();
    let wrong: Vec<String> = DAYS
        .iter()
        .filter(|(date, want, _)| kind(&calendar, date) != *want)
        .map(|(date, want, why)| {
            format!(
                "{date}: want {want:?} ({why}), got {:?}",
                kind(&calendar, date)
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The statutory rules, independently of the data: fixed holidays, the first day of Kurban Ait, a holiday on a
/// weekend moving to the next free weekday (never Christmas or Kurban Ait), then the decree swaps.
fn statutory_days_off(year: i16) -> (Vec<Date>, Vec<Date>) {
    let d = |m, day| Date::new(year, m, day).unwrap();
    let mut holidays = vec![
        (d(1, 1), true),
        (d(1, 2), true),
        (d(1, 7), false),
        (d(3, 8), true),
        (d(3, 21), true),
        (d(3, 22), true),
        (d(3, 23), true),
        (d(5, 1), true),
        (d(5, 7), true),
        (d(5, 9), true),
        (d(7, 6), true),
        (d(10, 25), true),
        (d(12, 16), true),
    ];
    if year <= 2025 {
        holidays.push((d(8, 30), true));
    }
    if year >= 2027 {
        holidays.push((d(3, 15), true));
    }
    let kurban = match year {
        2024 => d(6, 16),
        2025 => d(6, 6),
        2026 => d(5, 27),
        _ => d(5, 16),
    };
    holidays.push((kurban, false));
    holidays.sort();
    let weekend = |x: Date| matches!(x.weekday(), Weekday::Saturday | Weekday::Sunday);
    let mut off: Vec<Date> = holidays
        .iter()
        .map(|(x, _)| *x)
        .filter(|x| !weekend(*x))
        .collect();
    for (day, moves) in &holidays {
        if weekend(*day) && *moves {
            let mut next = day.tomorrow().unwrap();
            while weekend(next) || off.contains(&next) || holidays.iter().any(|(h, _)| *h == next) {
                next = next.tomorrow().unwrap();
            }
            off.push(next);
        }
    }
    let mut working = Vec::new();
    match year {
        2024 => {
            off.push(d(5, 8));
            working.push(d(5, 4));
        }
        2025 => {
            off.push(d(1, 3));
            working.push(d(1, 5));
        }
        _ => {}
    }
    (off, working)
}

#[test]
fn every_day_of_2024_to_2027_follows_the_rules() {
    let calendar = BusinessCalendar::embedded().unwrap();
    let mut checked = 0;
    for year in 2024..=2027i16 {
        let (off, working) = statutory_days_off(year);
        let mut day = Date::new(year, 1, 1).unwrap();
        while day.year() == year {
            let want = if off.contains(&day) {
                K::Off
            } else if working.contains(&day) {
                K::Decree
            } else if matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
                K::Weekend
            } else {
                K::Working
            };
            assert_eq!(kind(&calendar, &day.to_string()), want, "{day}");
            checked += 1;
            day = day.tomorrow().unwrap();
        }
    }
    assert_eq!(checked, 366 + 365 + 365 + 365);
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn deadline_table() {
    let calendar = BusinessCalendar::embedded().unwrap();
    let q = |y, n| Quarter::new(y, n).unwrap();
    let cases: &[(Obligation, &str)] = &[
        (
            Obligation::OwnerNotification {
                fact: t("2026-12-04T05:00:00Z"),
            },
            "2026-12-04T05:00:00Z",
        ),
        (
            Obligation::NccisReport {
                confirmed: t("2026-12-04T05:00:00Z"),
            },
            "2026-12-04T05:15:00Z",
        ),
        (
            Obligation::NccisReport {
                confirmed: t("2026-12-31T18:50:00Z"),
            },
            "2026-12-31T19:05:00Z",
        ),
        (
            Obligation::ContactChange {
                changed: t("2026-12-04T05:00:00Z"),
            },
            "2026-12-06T05:00:00Z",
        ),
        // Personal data: detected on a business day → the same local time on the next business day.
        (
            Obligation::PersonalDataNotice {
                detected: t("2026-12-04T05:00:00Z"),
            },
            "2026-12-07T05:00:00Z",
        ),
        (
            Obligation::PersonalDataNotice {
                detected: t("2026-12-15T11:00:00Z"),
            },
            "2026-12-17T11:00:00Z",
        ),
        (
            Obligation::PersonalDataNotice {
                detected: t("2026-03-20T04:30:00Z"),
            },
            "2026-03-26T04:30:00Z",
        ),
        (
            Obligation::PersonalDataNotice {
                detected: t("2024-05-03T06:00:00Z"),
            },
            "2024-05-04T06:00:00Z",
        ),
        (
            Obligation::PersonalDataNotice {
                detected: t("2026-05-26T12:00:00Z"),
            },
            "2026-05-28T12:00:00Z",
        ),
        // Detected late in the local evening: still that local day.
        (
            Obligation::PersonalDataNotice {
                detected: t("2026-12-04T18:30:00Z"),
            },
            "2026-12-07T18:30:00Z",
        ),
        // Detected on a day off → the end of the first business day after it.
        (
            Obligation::PersonalDataNotice {
                detected: t("2026-12-05T07:00:00Z"),
            },
            "2026-12-07T19:00:00Z",
        ),
        (
            Obligation::PersonalDataNotice {
                detected: t("2025-01-02T03:00:00Z"),
            },
            "2025-01-05T19:00:00Z",
        ),
        (
            Obligation::PersonalDataNotice {
                detected: t("2026-03-21T10:00:00Z"),
            },
            "2026-03-26T19:00:00Z",
        ),
        // Quarterly: the 10th, end of day, Kazakhstan time.
        (
            Obligation::QuarterlyReport {
                quarter: q(2026, 1),
            },
            "2026-04-10T19:00:00Z",
        ),
        (
            Obligation::QuarterlyReport {
                quarter: q(2026, 3),
            },
            "2026-10-10T19:00:00Z",
        ),
        (
            Obligation::QuarterlyReport {
                quarter: q(2026, 4),
            },
            "2027-01-10T19:00:00Z",
        ),
        (
            Obligation::QuarterlyContactConfirmation {
                quarter: q(2026, 2),
            },
            "2026-04-10T19:00:00Z",
        ),
        (
            Obligation::QuarterlyContactConfirmation {
                quarter: q(2025, 1),
            },
            "2025-01-10T19:00:00Z",
        ),
        (
            Obligation::QuarterlyContactConfirmation {
                quarter: q(2027, 4),
            },
            "2027-10-10T19:00:00Z",
        ),
        (
            Obligation::ResponseProcessReview {
                last_review: t("2026-06-15T05:00:00Z"),
            },
            "2026-12-15T05:00:00Z",
        ),
        (
            Obligation::ResponseProcessReview {
                last_review: t("2026-08-31T05:00:00Z"),
            },
            "2027-02-28T05:00:00Z",
        ),
    ];
    for (obligation, want) in cases {
        assert_eq!(
            due(*obligation, &calendar).unwrap(),
            t(want),
            "{obligation:?}"
        );
    }
}

#[test]
fn no_deadline_is_guessed_past_the_calendar() {
    let calendar = BusinessCalendar::embedded().unwrap();
    let err = due(
        Obligation::PersonalDataNotice {
            detected: t("2027-12-31T05:00:00Z"),
        },
        &calendar,
    )
    .unwrap_err();
    assert_eq!(err, CasesError::YearMissing(2028));
    assert!(
        err.to_string().contains("add a file for that year"),
        "{err}"
    );
    // The operator adds 2028 and the deadline is computed.
    let next = "version = 1\nyear = 2028\n[[day_off]]\ndate = \"2028-01-03\"\nreason = \"New Year moved\"\n";
    let calendar =
        BusinessCalendar::with_overrides([("kz-2028.toml".to_string(), next.to_string())]).unwrap();
    assert_eq!(
        due(
            Obligation::PersonalDataNotice {
                detected: t("2027-12-31T05:00:00Z")
            },
            &calendar
        )
        .unwrap(),
        t("2028-01-04T05:00:00Z")
    );
}

#[test]
fn an_amended_year_replaces_the_embedded_one_and_bad_files_are_named() {
    // Kurban Ait 2027 announced a day later than expected: the operator amends the file.
    let amended =
        "version = 1\nyear = 2027\n[[day_off]]\ndate = \"2027-05-17\"\nreason = \"Kurban Ait\"\n";
    let calendar =
        BusinessCalendar::with_overrides([("kz-2027.toml".into(), amended.into())]).unwrap();
    assert_eq!(kind(&calendar, "2027-05-17"), K::Off);
    assert_eq!(
        kind(&calendar, "2027-03-15"),
        K::Working,
        "the whole year is the operator's file"
    );
    for (text, needle) in [
        ("version = 2\nyear = 2027\n", "format version 2"),
        (
            "version = 1\nyear = 2027\n[[day_off]]\ndate = \"2026-05-17\"\nreason = \"x\"\n",
            "not in 2027",
        ),
        (
            "version = 1\nyear = 2027\n[[day_off]]\ndate = \"2027-05-16\"\nreason = \"x\"\n",
            "Sunday",
        ),
        (
            "version = 1\nyear = 2027\n[[working_day]]\ndate = \"2027-05-17\"\nreason = \"x\"\n",
            "already a working day",
        ),
        (
            "version = 1\nyear = 2027\n[[day_off]]\ndate = \"2027-02-31\"\nreason = \"x\"\n",
            "2027-02-31",
        ),
        ("version = 1\nyear = 2027\nholidays = []\n", "unknown field"),
    ] {
        let err =
            BusinessCalendar::with_overrides([("kz-2027.toml".into(), text.into())]).unwrap_err();
        assert!(
            err.to_string().starts_with("calendar kz-2027.toml: "),
            "{err}"
        );
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}

#[test]
fn clock_states() {
    let due_at = t("2026-12-04T05:15:00Z");
    let warn = SignedDuration::from_mins(5);
    assert_eq!(
        clock_state(due_at, None, t("2026-12-04T05:00:00Z"), warn),
        ClockState::Pending {
            remaining: SignedDuration::from_mins(15)
        }
    );
    assert_eq!(
        clock_state(due_at, None, t("2026-12-04T05:12:00Z"), warn),
        ClockState::DueSoon {
            remaining: SignedDuration::from_mins(3)
        }
    );
    assert_eq!(
        clock_state(due_at, None, t("2026-12-04T05:20:00Z"), warn),
        ClockState::Overdue {
            by: SignedDuration::from_mins(5)
        }
    );
    assert_eq!(
        clock_state(due_at, None, due_at, warn),
        ClockState::Overdue {
            by: SignedDuration::ZERO
        }
    );
    assert_eq!(
        clock_state(
            due_at,
            Some(t("2026-12-04T05:14:59Z")),
            t("2026-12-05T00:00:00Z"),
            warn
        ),
        ClockState::Done { on_time: true }
    );
    assert_eq!(
        clock_state(
            due_at,
            Some(t("2026-12-04T05:15:01Z")),
            t("2026-12-05T00:00:00Z"),
            warn
        ),
        ClockState::Done { on_time: false }
    );
    assert_eq!(
        Quarter::of(t("2026-12-31T20:00:00Z")),
        Quarter::new(2027, 1).unwrap()
    );
    assert_eq!(
        Quarter::of(t("2026-12-31T18:59:59Z")),
        Quarter::new(2026, 4).unwrap()
    );
    assert!(Quarter::new(2026, 5).is_err());
    assert_eq!(
        Quarter::new(2026, 1).unwrap().previous(),
        Quarter::new(2025, 4).unwrap()
    );
    assert_eq!(
        Quarter::new(2026, 3).unwrap().previous(),
        Quarter::new(2026, 2).unwrap()
    );
    assert_eq!(
        Quarter::new(2026, 4).unwrap().start().unwrap(),
        t("2026-09-30T19:00:00Z")
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_next_business_day_is_the_first_one(offset in 0i32..(4 * 365 - 20)) {
            let calendar = BusinessCalendar::embedded().unwrap();
            let day = Date::new(2024, 1, 1).unwrap().checked_add(offset.days()).unwrap();
            let next = calendar.next_business_day(day).unwrap();
            prop_assert!(next > day);
            prop_assert!(calendar.is_business_day(next).unwrap());
            let mut between = day.tomorrow().unwrap();
            while between < next {
                prop_assert!(!calendar.is_business_day(between).unwrap());
                between = between.tomorrow().unwrap();
            }
        }

        #[test]
        fn the_personal_data_notice_is_due_within_one_business_day(seconds in 1_704_067_200i64..1_829_000_000) {
            let calendar = BusinessCalendar::embedded().unwrap();
            let detected = Timestamp::from_second(seconds).unwrap();
            let due_at = due(Obligation::PersonalDataNotice { detected }, &calendar).unwrap();
            prop_assert!(due_at > detected);
            // Never more than one business day of the calendar later, which is at most a little over a week.
            prop_assert!(due_at.duration_since(detected) <= SignedDuration::from_hours(24 * 9));
        }
    }
}
