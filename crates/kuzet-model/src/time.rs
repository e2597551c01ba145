//! Time rules. Kuzet stores UTC and shows Kazakhstan time. Since 2024-03-01 00:00 local time all of Kazakhstan is
//! UTC+5 (the east switched from UTC+6 at 2024-02-29 18:00 UTC); before that the capital used UTC+6. The rule is
//! coded here rather than read from the system's tz database so that pure crates need no I/O and every machine
//! shows the same local time.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

/// The instant all of Kazakhstan moved to UTC+5: 2024-02-29T18:00:00Z.
pub const UNIFIED_UTC5_SINCE_UNIX: i64 = 1_709_229_600;

/// Kazakhstan's UTC offset at `instant`: +5 since 2024-03-01, +6 (Astana, Almaty) before.
pub fn kz_offset(instant: Timestamp) -> Offset {
    if instant.as_second() >= UNIFIED_UTC5_SINCE_UNIX {
        Offset::constant(5)
    } else {
        Offset::constant(6)
    }
}

/// The civil (wall-clock) time in Kazakhstan at `instant`.
pub fn kz_local(instant: Timestamp) -> DateTime {
    kz_offset(instant).to_datetime(instant)
}

/// Renders `instant` as Kazakhstan time with its offset, e.g. `2026-11-22T08:00:00+05:00`.
pub fn kz_display(instant: Timestamp) -> String {
    instant
        .to_zoned(TimeZone::fixed(kz_offset(instant)))
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Tracks one source's clock offset (event time minus receive time) as an exponentially weighted moving
/// average, robust to single outliers such as a replayed old event. Pure: callers feed observations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockTracker {
    offset_ms: f64,
    samples: u64,
}

impl Default for ClockTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl ClockTracker {
    /// Weight of a new observation. Small enough that a burst of backlog does not swing the estimate at once.
    const ALPHA: f64 = 0.05;
    /// Observations further than this from the estimate are clamped (old backlog, buffered shippers).
    const CLAMP_MS: f64 = 3_600_000.0;

    pub fn new() -> Self {
        Self {
            offset_ms: 0.0,
            samples: 0,
        }
    }

    /// Adds one observation: `event_time` as the sender stamped it and `received` as Kuzet saw it.
    pub fn observe(&mut self, event_time: Timestamp, received: Timestamp) {
        let diff = (event_time.as_millisecond() - received.as_millisecond()) as f64;
        if self.samples == 0 {
            self.offset_ms = diff.clamp(-Self::CLAMP_MS, Self::CLAMP_MS);
        } else {
            let bounded = diff.clamp(
                self.offset_ms - Self::CLAMP_MS,
                self.offset_ms + Self::CLAMP_MS,
            );
            self.offset_ms += Self::ALPHA * (bounded - self.offset_ms);
        }
        self.samples += 1;
    }

    /// The estimated offset in milliseconds: positive when the source's clock runs ahead.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.round() as i64
    }

    pub fn samples(&self) -> u64 {
        self.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_switches_on_the_day_of_unification() {
        let before: Timestamp = "2024-02-29T17:59:59Z".parse().unwrap();
        let after: Timestamp = "2024-02-29T18:00:00Z".parse().unwrap();
        assert_eq!(kz_display(before), "2024-02-29T23:59:59+06:00");
        assert_eq!(kz_display(after), "2024-02-29T23:00:00+05:00");
        assert_eq!(kz_local("2026-11-22T03:00:00Z".parse().unwrap()).hour(), 8);
    }

    #[test]
    fn clock_tracker_converges_and_resists_outliers() {
        let mut tracker = ClockTracker::new();
        let base: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        for i in 0..200 {
            let received = base + jiff::SignedDuration::from_secs(i);
            let event_time = received + jiff::SignedDuration::from_secs(30);
            tracker.observe(event_time, received);
        }
        assert!(
            (tracker.offset_ms() - 30_000).abs() < 100,
            "{}",
            tracker.offset_ms()
        );
        // One event from a day ago moves the estimate by at most ALPHA * CLAMP.
        tracker.observe(base - jiff::SignedDuration::from_hours(24), base);
        assert!(tracker.offset_ms() > 30_000 - 200_000);
    }
}
