//! Event ids: unique within and across processes, ordered by receive time.

use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use kuzet_model::EventId;

use crate::IngestError;

/// The receive time of an event accepted now, to the millisecond: the precision receive times are kept at (ECS
/// dates are milliseconds), and the millisecond its id carries, so the archive stores no receive time of its own
/// for it (format 2 keeps the difference, zero here).
pub fn receive_time() -> Timestamp {
    let now = Timestamp::now();
    Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
}

/// Bits of the 74 entropy bits of an [`EventId`] given to the per-process counter; the rest are random per process.
const COUNTER_BITS: u32 = 42;
const RANDOM_BITS: u32 = 74 - COUNTER_BITS;

/// Makes [`EventId`]s: receive time in milliseconds, then a per-process counter (so that ids of one process are
/// unique and ordered within a millisecond), then random bits drawn once at start (so that two processes, or a
/// restarted one whose counter starts again at zero, do not collide).
#[derive(Debug)]
pub struct IdGenerator {
    counter: AtomicU64,
    random: u128,
}

impl IdGenerator {
    pub fn new() -> Result<Self, IngestError> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| IngestError::Randomness(e.to_string()))?;
        Ok(Self::with_random(u64::from_le_bytes(bytes)))
    }

    /// A generator with chosen random bits, for deterministic tests.
    pub fn with_random(random: u64) -> Self {
        Self {
            counter: AtomicU64::new(0),
            random: u128::from(random) & ((1u128 << RANDOM_BITS) - 1),
        }
    }

    pub fn next(&self, received: Timestamp) -> EventId {
        let count = self.counter.fetch_add(1, Ordering::Relaxed) & ((1u64 << COUNTER_BITS) - 1);
        let millis = u64::try_from(received.as_millisecond()).unwrap_or(0);
        EventId::from_parts(millis, (u128::from(count) << RANDOM_BITS) | self.random)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_one_millisecond_are_unique_and_ordered() {
        let generator = IdGenerator::with_random(0xdead_beef);
        let now = Timestamp::from_millisecond(1_700_000_000_000).unwrap();
        let ids: Vec<EventId> = (0..10_000).map(|_| generator.next(now)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|id| id.unix_millis() == 1_700_000_000_000));
    }

    #[test]
    fn later_time_sorts_after_a_high_counter() {
        let generator = IdGenerator::with_random(u64::MAX);
        let early = Timestamp::from_millisecond(1_000).unwrap();
        let late = Timestamp::from_millisecond(1_001).unwrap();
        let mut last = generator.next(early);
        for _ in 0..1000 {
            last = generator.next(early);
        }
        assert!(generator.next(late) > last);
    }

    #[test]
    fn two_processes_differ_by_their_random_bits() {
        let now = Timestamp::from_millisecond(5).unwrap();
        let a = IdGenerator::with_random(1).next(now);
        let b = IdGenerator::with_random(2).next(now);
        assert_ne!(a, b);
    }
}
