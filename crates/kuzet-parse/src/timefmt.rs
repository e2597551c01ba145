//! Timestamp readers for the layouts logs use, written by hand because they sit on the hot path of every syslog
//! line (jiff's general parsers are used only for the rare device-specific layouts).
//!
//! Year and zone inference for layouts that omit them lives here too, so that every format guesses the same way:
//! - zone: [`crate::ParseOptions::default_offset`], else Kazakhstan's offset at the receive instant;
//! - year: the receive year (in that zone); if that puts the event more than 31 days after the receive instant,
//!   the previous year (a December event received in January); if the event is in January, received in December,
//!   and the next year puts it no more than 31 days ahead, the next year (a sender whose clock runs slightly ahead
//!   across New Year).

use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

use crate::Ctx;

/// A wall-clock time as read from text, with the zone when the text had one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Civil {
    pub datetime: DateTime,
    pub offset: Option<Offset>,
}

impl Civil {
    /// The instant, and whether the zone had to be assumed.
    pub fn resolve(self, ctx: &Ctx<'_>) -> Option<(Timestamp, bool)> {
        match self.offset {
            Some(offset) => offset
                .to_timestamp(self.datetime)
                .ok()
                .map(|ts| (ts, false)),
            None => ctx
                .offset()
                .to_timestamp(self.datetime)
                .ok()
                .map(|ts| (ts, true)),
        }
    }
}

fn digits(bytes: &[u8], at: usize, count: usize) -> Option<i32> {
    let slice = bytes.get(at..at + count)?;
    let mut value = 0i32;
    for &b in slice {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i32::from(b - b'0');
    }
    Some(value)
}

/// Reads `.123456` at `at`: returns nanoseconds and the bytes consumed (0 when there is no fraction).
fn fraction(bytes: &[u8], at: usize) -> (i32, usize) {
    if !matches!(bytes.get(at), Some(b'.' | b',')) {
        return (0, 0);
    }
    let mut nanos = 0i32;
    let mut scale = 100_000_000i32;
    let mut end = at + 1;
    while let Some(b) = bytes.get(end).filter(|b| b.is_ascii_digit()) {
        nanos += i32::from(b - b'0') * scale;
        scale /= 10;
        end += 1;
    }
    if end == at + 1 {
        return (0, 0);
    }
    (nanos, end - at)
}

/// Reads a zone designator at `at` (`Z`, `+05:00`, `+0500`, `+05`): the offset and the bytes consumed.
pub(crate) fn zone(bytes: &[u8], at: usize) -> Option<(Offset, usize)> {
    match bytes.get(at)? {
        b'Z' | b'z' => Some((Offset::UTC, 1)),
        sign @ (b'+' | b'-') => {
            let hours = digits(bytes, at + 1, 2)?;
            let (minutes, used) = if bytes.get(at + 3) == Some(&b':') {
                (digits(bytes, at + 4, 2)?, 6)
            } else if let Some(minutes) = digits(bytes, at + 3, 2) {
                (minutes, 5)
            } else {
                (0, 3)
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let mut seconds = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                seconds = -seconds;
            }
            Some((Offset::from_seconds(seconds).ok()?, used))
        }
        _ => None,
    }
}

/// Reads an ISO 8601 / RFC 3339 date-time at the start of `text`: `YYYY-MM-DD[T ]HH:MM[:SS[.f]][zone]`.
/// Returns the time and the number of bytes consumed.
pub(crate) fn parse_iso_prefix(text: &str) -> Option<(Civil, usize)> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let minute = digits(b, 14, 2)?;
    let mut pos = 16;
    let mut second = 0;
    if b.get(16) == Some(&b':') {
        second = digits(b, 17, 2)?;
        pos = 19;
    }
    let (nanos, used) = fraction(b, pos);
    pos += used;
    let offset = match zone(b, pos) {
        Some((offset, used)) => {
            pos += used;
            Some(offset)
        }
        None => None,
    };
    let datetime = civil(year, month, day, hour, minute, second.min(59), nanos)?;
    Some((Civil { datetime, offset }, pos))
}

/// Reads a whole string as an ISO 8601 date-time (trailing text is not allowed).
pub(crate) fn parse_iso(text: &str) -> Option<Civil> {
    let (civil, used) = parse_iso_prefix(text.trim())?;
    (used == text.trim().len()).then_some(civil)
}

fn civil(
    year: i32,
    month: i32,
    day: i32,
    hour: i32,
    minute: i32,
    second: i32,
    nanos: i32,
) -> Option<DateTime> {
    DateTime::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        nanos,
    )
    .ok()
}

/// `Jan` … `Dec` (any case) → 1 … 12.
pub(crate) fn month(abbrev: &[u8]) -> Option<i8> {
    let [a, b, c] = abbrev else { return None };
    let key = [
        a.to_ascii_lowercase(),
        b.to_ascii_lowercase(),
        c.to_ascii_lowercase(),
    ];
    Some(match &key {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

/// A BSD (RFC 3164) timestamp: `Mmm dd hh:mm:ss[.fff]`, day space- or zero-padded, or with the year Cisco puts
/// before the time (`Mmm dd yyyy hh:mm:ss`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bsd {
    pub month: i8,
    pub day: i8,
    pub year: Option<i16>,
    pub hour: i8,
    pub minute: i8,
    pub second: i8,
    pub nanos: i32,
}

/// Reads a BSD timestamp at the start of `text`; returns it and the bytes consumed.
pub(crate) fn parse_bsd_prefix(text: &str) -> Option<(Bsd, usize)> {
    let b = text.as_bytes();
    let month = month(b.get(0..3)?)?;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let mut pos = 4;
    if b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let day_len = if b.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        2
    } else {
        1
    };
    let day = digits(b, pos, day_len)?;
    pos += day_len;
    if b.get(pos) != Some(&b' ') {
        return None;
    }
    pos += 1;
    let mut year = None;
    if b.get(pos + 4) == Some(&b' ')
        && let Some(y) = digits(b, pos, 4)
    {
        year = Some(i16::try_from(y).ok()?);
        pos += 5;
    }
    let hour = digits(b, pos, 2)?;
    let minute = digits(b, pos + 3, 2)?;
    let second = digits(b, pos + 6, 2)?;
    if b.get(pos + 2) != Some(&b':') || b.get(pos + 5) != Some(&b':') {
        return None;
    }
    pos += 8;
    let (nanos, used) = fraction(b, pos);
    pos += used;
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some((
        Bsd {
            month,
            day: day as i8,
            year,
            hour: hour as i8,
            minute: minute as i8,
            second: second.min(59) as i8,
            nanos,
        },
        pos,
    ))
}

impl Bsd {
    /// The instant, inferring what the text left out (see the module documentation). Returns the instant and a
    /// description of what was assumed; `None` when the date does not exist (Feb 30).
    pub fn resolve(self, ctx: &Ctx<'_>) -> Option<(Timestamp, String)> {
        let offset = ctx.offset();
        let at_year = |year: i16| {
            DateTime::new(
                year,
                self.month,
                self.day,
                self.hour,
                self.minute,
                self.second,
                self.nanos,
            )
            .ok()
            .and_then(|dt| offset.to_timestamp(dt).ok())
        };
        if let Some(year) = self.year {
            let ts = at_year(year)?;
            return Some((ts, format!("no zone in timestamp: assumed offset {offset}")));
        }
        let local_now = offset.to_datetime(ctx.received);
        let receive_year = local_now.year();
        let month_ahead = ctx.received + SignedDuration::from_hours(24 * 31);
        let mut year = receive_year;
        let mut ts = at_year(year);
        // 29 February written in a year without it can only come from the last leap year.
        if ts.is_none() && self.month == 2 && self.day == 29 {
            for back in 1..=4 {
                if let Some(found) = at_year(receive_year - back) {
                    year = receive_year - back;
                    ts = Some(found);
                    break;
                }
            }
        }
        let mut ts = ts?;
        if ts > month_ahead {
            if let Some(previous) = at_year(year - 1) {
                year -= 1;
                ts = previous;
            }
        } else if self.month == 1
            && local_now.month() == 12
            && let Some(next) = at_year(year + 1).filter(|next| *next <= month_ahead)
        {
            year += 1;
            ts = next;
        }
        Some((
            ts,
            format!("no year and zone in timestamp: assumed year {year} and offset {offset}"),
        ))
    }
}

/// An epoch number in seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude (any of them
/// lands between 1973 and 2286 only in its own unit).
pub(crate) fn from_epoch(value: f64) -> Option<Timestamp> {
    if !value.is_finite() || value <= 0.0 {
        return None;
    }
    let nanos = if value < 1e11 {
        value * 1e9
    } else if value < 1e14 {
        value * 1e6
    } else if value < 1e17 {
        value * 1e3
    } else {
        value
    };
    if nanos > 9.2e18 {
        return None;
    }
    let nanos = nanos as i128;
    Timestamp::from_nanosecond(nanos).ok()
}

/// An epoch number written as text (`1700000000`, `1700000000.123`, `1700000000123`).
pub(crate) fn from_epoch_text(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    // Integers keep nanosecond precision, which f64 cannot hold for nanosecond epochs.
    if let Ok(integer) = text.parse::<i64>() {
        let nanos = match integer {
            i if i < 100_000_000_000 => i128::from(i) * 1_000_000_000,
            i if i < 100_000_000_000_000 => i128::from(i) * 1_000_000,
            i if i < 100_000_000_000_000_000 => i128::from(i) * 1_000,
            i => i128::from(i),
        };
        return Timestamp::from_nanosecond(nanos).ok();
    }
    // Seconds with a fraction: keep the fraction exact rather than going through f64.
    let (seconds, frac) = text.split_once('.')?;
    let seconds: i64 = seconds.parse().ok()?;
    let (nanos, _) = fraction(format!(".{frac}").as_bytes(), 0);
    Timestamp::new(seconds, nanos).ok()
}

/// Reads a time in a Java `SimpleDateFormat` layout (LEEF `devTimeFormat`, some CEF devices) by translating it to
/// a jiff `strptime` layout. Zone names (`z`) are skipped: only numeric offsets are understood.
pub(crate) fn parse_java(pattern: &str, text: &str) -> Option<Civil> {
    let mut layout = String::with_capacity(pattern.len() * 2);
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut run = 1;
        while i + run < chars.len() && chars[i + run] == c {
            run += 1;
        }
        match c {
            '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map(|p| i + 1 + p);
                let end = end.unwrap_or(chars.len());
                for &literal in &chars[i + 1..end] {
                    push_literal(&mut layout, literal);
                }
                i = end + 1;
                continue;
            }
            'y' if run == 2 => layout.push_str("%y"),
            'y' => layout.push_str("%Y"),
            'M' if run >= 4 => layout.push_str("%B"),
            'M' if run == 3 => layout.push_str("%b"),
            'M' => layout.push_str("%m"),
            'd' => layout.push_str("%d"),
            'H' | 'k' => layout.push_str("%H"),
            'h' | 'K' => layout.push_str("%I"),
            'm' => layout.push_str("%M"),
            's' => layout.push_str("%S"),
            'S' => layout.push_str("%f"),
            'a' => layout.push_str("%p"),
            'E' => layout.push_str("%a"),
            'Z' => layout.push_str("%z"),
            'X' if run >= 3 => layout.push_str("%:z"),
            'X' => layout.push_str("%z"),
            'z' => {}
            other => {
                for _ in 0..run {
                    push_literal(&mut layout, other);
                }
            }
        }
        i += run;
    }
    // A pattern with `z` leaves the zone name in the text; drop whatever the layout does not cover.
    let text = text.trim();
    let parsed = jiff::fmt::strtime::BrokenDownTime::parse_prefix(layout.trim_end(), text)
        .ok()
        .map(|(parsed, _)| parsed)?;
    let datetime = parsed.to_datetime().ok()?;
    Some(Civil {
        datetime,
        offset: parsed.offset(),
    })
}

fn push_literal(layout: &mut String, c: char) {
    if c == '%' {
        layout.push_str("%%");
    } else {
        layout.push(c);
    }
}

/// A device timestamp in whatever common layout it comes: epoch (s, ms, µs, ns), ISO 8601, `Mmm dd yyyy hh:mm:ss`
/// (optionally with `.fff` and a zone: `Z`, `UTC`, `GMT`, `+0500`), or `Mmm dd hh:mm:ss`. Returns the instant
/// and, when something was assumed, what.
pub(crate) fn parse_device_time(text: &str, ctx: &Ctx<'_>) -> Option<(Timestamp, Option<String>)> {
    let text = text.trim();
    if let Some(ts) = from_epoch_text(text) {
        return Some((ts, None));
    }
    if let Some(civil) = parse_iso(text) {
        let (ts, inferred) = civil.resolve(ctx)?;
        let why =
            inferred.then(|| format!("no zone in timestamp: assumed offset {}", ctx.offset()));
        return Some((ts, why));
    }
    let (bsd, used) = parse_bsd_prefix(text)?;
    let tail = text[used..].trim();
    let explicit = match tail {
        "" => None,
        "Z" | "UTC" | "GMT" => Some(Offset::UTC),
        other => match zone(other.as_bytes(), 0) {
            Some((offset, n)) if n == other.len() => Some(offset),
            _ => None,
        },
    };
    match (bsd.year, explicit) {
        (Some(year), Some(offset)) => {
            let dt = DateTime::new(
                year, bsd.month, bsd.day, bsd.hour, bsd.minute, bsd.second, bsd.nanos,
            )
            .ok()?;
            Some((offset.to_timestamp(dt).ok()?, None))
        }
        _ => {
            let (ts, why) = bsd.resolve(ctx)?;
            Some((ts, Some(why)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParseOptions;

    fn ctx<'a>(options: &'a ParseOptions, received: &str) -> Ctx<'a> {
        Ctx {
            received: received.parse().unwrap(),
            options,
        }
    }

    #[test]
    fn iso_variants() {
        let (c, n) = parse_iso_prefix("2026-11-22T08:00:01.5+05:00 host").unwrap();
        assert_eq!(n, 27);
        assert_eq!(c.offset, Some(Offset::constant(5)));
        assert_eq!(c.datetime.subsec_nanosecond(), 500_000_000);
        let c = parse_iso("2018-03-24T14:37:19.037299-0600").unwrap();
        assert_eq!(c.offset, Some(Offset::from_seconds(-6 * 3600).unwrap()));
        assert!(parse_iso("2026-13-01T00:00:00Z").is_none());
        assert!(parse_iso("2026-11-22 08:00:00").unwrap().offset.is_none());
    }

    #[test]
    fn bsd_year_inference_rolls_back_over_new_year() {
        let options = ParseOptions::default();
        // Received 2 January 2027 (KZ), event says 31 December: last year.
        let c = ctx(&options, "2027-01-01T20:00:00Z");
        let (bsd, _) = parse_bsd_prefix("Dec 31 23:59:58 host").unwrap();
        let (ts, why) = bsd.resolve(&c).unwrap();
        assert_eq!(ts.to_string(), "2026-12-31T18:59:58Z");
        assert!(why.contains("2026"), "{why}");
        // Received 31 December 23:59:59 KZ, sender ahead says 1 January: next year.
        let c = ctx(&options, "2026-12-31T18:59:59Z");
        let (bsd, _) = parse_bsd_prefix("Jan  1 00:00:02 host").unwrap();
        assert_eq!(
            bsd.resolve(&c).unwrap().0.to_string(),
            "2026-12-31T19:00:02Z"
        );
        // An ordinary old event stays in the receive year.
        let c = ctx(&options, "2026-11-22T03:00:00Z");
        let (bsd, _) = parse_bsd_prefix("Jun 14 15:16:01 combo").unwrap();
        assert_eq!(
            bsd.resolve(&c).unwrap().0.to_string(),
            "2026-06-14T10:16:01Z"
        );
    }

    #[test]
    fn bsd_leap_day_goes_to_last_leap_year() {
        let options = ParseOptions::default();
        let c = ctx(&options, "2026-03-02T00:00:00Z");
        let (bsd, _) = parse_bsd_prefix("Feb 29 10:00:00 h").unwrap();
        assert_eq!(
            bsd.resolve(&c).unwrap().0.to_string(),
            "2024-02-29T05:00:00Z"
        );
    }

    #[test]
    fn bsd_with_cisco_year_and_fraction() {
        let (bsd, n) = parse_bsd_prefix("Nov 22 2026 08:00:00.250: %ASA").unwrap();
        assert_eq!(bsd.year, Some(2026));
        assert_eq!(bsd.nanos, 250_000_000);
        assert_eq!(n, 24);
        assert!(parse_bsd_prefix("Foo 22 08:00:00").is_none());
        assert!(parse_bsd_prefix("Nov 32 08:00:00").is_none());
    }

    #[test]
    fn epochs_by_magnitude() {
        let s = "2023-11-14T22:13:20Z";
        assert_eq!(from_epoch_text("1700000000").unwrap().to_string(), s);
        assert_eq!(from_epoch_text("1700000000000").unwrap().to_string(), s);
        assert_eq!(
            from_epoch_text("1700000000000000000").unwrap().to_string(),
            s
        );
        assert_eq!(
            from_epoch_text("1700000000.123").unwrap().to_string(),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            from_epoch(1_700_000_000.5).unwrap().to_string(),
            "2023-11-14T22:13:20.5Z"
        );
        assert!(from_epoch_text("abc").is_none());
    }

    #[test]
    fn java_layouts() {
        let c = parse_java("MMM dd yyyy HH:mm:ss", "Nov 22 2026 08:00:00").unwrap();
        assert_eq!(c.datetime.to_string(), "2026-11-22T08:00:00");
        let c = parse_java("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "2026-11-22T08:00:00.123+0500").unwrap();
        assert_eq!(c.offset, Some(Offset::constant(5)));
        assert!(parse_java("MMM dd yyyy HH:mm:ss", "garbage").is_none());
    }
}
