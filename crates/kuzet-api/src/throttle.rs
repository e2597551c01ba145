//! Login throttling (`docs/security.md`, "Login throttling"): failures are counted per (typed name, address) and per
//! address, in memory; past a free allowance each further attempt must wait a delay that doubles with every
//! failure. The name is taken as typed, so an unknown name is throttled exactly like a known one and the answers
//! (401, then 429 with `Retry-After`) say nothing about which accounts exist. One address cannot push an account
//! to its lockout in the database: that needs `auth.lockout_threshold` failures, and the pair's delays make the
//! failures past the allowance cost hours from one address.
//!
//! Attempts in flight count as failures until they end, so parallel attempts cannot all pass the allowance.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// Failures of one name from one address before delays begin.
pub const PAIR_FREE: u32 = 5;
/// Failures from one address, whatever the names, before delays begin (password spraying).
pub const ADDRESS_FREE: u32 = 30;
/// The longest delay.
pub const MAX_DELAY: SignedDuration = SignedDuration::from_mins(15);
/// Counters forget an address or a pair this long after its last failure.
const FORGET_AFTER: SignedDuration = SignedDuration::from_hours(6);
/// At most this many counters are kept; past it, the ones idle longest are dropped (a flood of made-up names
/// cannot grow memory without bound).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// A hash of the name as typed (trimmed, lowercased) — names are not kept — with the address.
    Pair(u64, IpAddr),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy, Default)]
struct Counter {
    failures: u32,
    in_flight: u32,
    last_failure: Option<Timestamp>,
}

impl Counter {
    /// When the next attempt may run, given `free` failures without delay.
    fn next_allowed(&self, free: u32) -> Option<Timestamp> {
        let counted = self.failures + self.in_flight;
        if counted < free {
            return None;
        }
        let doublings = (counted - free).min(20);
        let delay = SignedDuration::from_secs(1i64 << doublings).min(MAX_DELAY);
        // Attempts still in flight with no failure yet: wait as if the last had just failed.
        Some(self.last_failure.map_or(Timestamp::MAX, |at| at + delay))
    }
}

/// The in-memory counters of the API's login route.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    counters: Mutex<HashMap<Key, Counter>>,
}

/// An attempt allowed to run; report how it ended with [`LoginThrottle::finish`].
#[derive(Debug)]
pub struct Attempt {
    pair: Key,
    address: Key,
}

fn name_key(name: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // A fixed-key hash: names are not stored, only what tells two of them apart.
    let mut hasher =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .build_hasher();
    hasher.write(name.trim().to_lowercase().as_bytes());
    hasher.finish()
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Counter>> {
        self.counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Ok` when an attempt of `name` from `address` may run now, `Err(wait)` otherwise.
    pub fn begin(
        &self,
        name: &str,
        address: IpAddr,
        now: Timestamp,
    ) -> Result<Attempt, SignedDuration> {
        let pair = Key::Pair(name_key(name), address);
        let address = Key::Address(address);
        let mut counters = self.lock();
        if counters.len() >= MAX_ENTRIES {
            forget_idle(&mut counters, now);
        }
        let mut wait = SignedDuration::ZERO;
        for (key, free) in [(pair, PAIR_FREE), (address, ADDRESS_FREE)] {
            let counter = counters.entry(key).or_default();
            if counter
                .last_failure
                .is_some_and(|at| now.duration_since(at) > FORGET_AFTER)
            {
                *counter = Counter {
                    in_flight: counter.in_flight,
                    ..Counter::default()
                };
            }
            if let Some(at) = counter.next_allowed(free)
                && at > now
            {
                let until = if at == Timestamp::MAX {
                    now + SignedDuration::from_secs(1)
                } else {
                    at
                };
                wait = wait.max(until.duration_since(now));
            }
        }
        if wait > SignedDuration::ZERO {
            return Err(wait);
        }
        for key in [pair, address] {
            counters.entry(key).or_default().in_flight += 1;
        }
        Ok(Attempt { pair, address })
    }

    /// Ends an attempt: a failure counts against the pair and the address; a success clears the pair.
    pub fn finish(&self, attempt: Attempt, succeeded: bool, now: Timestamp) {
        let mut counters = self.lock();
        for key in [attempt.pair, attempt.address] {
            let counter = counters.entry(key).or_default();
            counter.in_flight = counter.in_flight.saturating_sub(1);
            if !succeeded {
                counter.failures += 1;
                counter.last_failure = Some(now);
            }
        }
        if succeeded {
            counters.remove(&attempt.pair);
        }
    }
}

fn forget_idle(counters: &mut HashMap<Key, Counter>, now: Timestamp) {
    counters.retain(|_, c| {
        c.in_flight > 0
            || c.last_failure
                .is_some_and(|at| now.duration_since(at) <= FORGET_AFTER)
    });
    if counters.len() >= MAX_ENTRIES {
        // Still full of recent failures: drop the oldest half.
        let mut ages: Vec<Timestamp> = counters.values().filter_map(|c| c.last_failure).collect();
        ages.sort();
        if let Some(cut) = ages.get(ages.len() / 2).copied() {
            counters.retain(|_, c| c.in_flight > 0 || c.last_failure.is_some_and(|at| at > cut));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn past_the_allowance_delays_double_for_known_and_unknown_names_alike() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        for name in ["admin", "no-such-user"] {
            for n in 0..PAIR_FREE {
                let attempt = throttle
                    .begin(name, ip, at(0))
                    .unwrap_or_else(|_| panic!("{name} {n}"));
                throttle.finish(attempt, false, at(0));
            }
            assert_eq!(
                throttle.begin(name, ip, at(0)).unwrap_err(),
                SignedDuration::from_secs(1)
            );
            let attempt = throttle.begin(name, ip, at(1)).unwrap();
            throttle.finish(attempt, false, at(1));
            assert_eq!(
                throttle.begin(name, ip, at(1)).unwrap_err(),
                SignedDuration::from_secs(2)
            );
            // The same name from another address is not delayed.
            let other: IpAddr = "198.51.100.7".parse().unwrap();
            throttle.finish(throttle.begin(name, other, at(1)).unwrap(), true, at(1));
        }
    }

    #[test]
    fn attempts_in_flight_count_so_parallel_ones_cannot_all_pass() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let running: Vec<_> = (0..40)
            .filter_map(|_| throttle.begin("admin", ip, at(0)).ok())
            .collect();
        assert_eq!(running.len(), PAIR_FREE as usize);
    }

    #[test]
    fn spraying_many_names_from_one_address_is_delayed_too() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        for n in 0..ADDRESS_FREE {
            let attempt = throttle.begin(&format!("user{n}"), ip, at(0)).unwrap();
            throttle.finish(attempt, false, at(0));
        }
        assert!(throttle.begin("fresh-name", ip, at(0)).is_err());
        // Forgotten after a quiet while.
        assert!(throttle.begin("fresh-name", ip, at(7 * 3600)).is_ok());
    }
}
