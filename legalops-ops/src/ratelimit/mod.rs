//! Rate limiting per route group and subject (an IP or a user id), by GCRA: no bursts at
//! window edges and an exact retry-after. DoS mode tightens every quota at once
//! ([`RateLimiter::set_tightening`]) without forgetting who is already in debt.
//!
//! State is per process and bounded: a subject whose theoretical arrival time has passed
//! is indistinguishable from a fresh one and is swept away, and past
//! [`RateLimitConfig::max_keys`] the subjects closest to fresh are forgotten first (which
//! can only ever let a request through that would have been refused, never the reverse).

mod config;
mod gcra;
mod headers;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use legalops_core::{Error, Result, SharedClock};

pub use config::{GROUP_API, GROUP_AUTH, GROUP_FORMATIONS, GROUP_UPLOADS, Quota, RateLimitConfig};
pub use headers::headers;

use gcra::Cell;

/// Counter of refused requests, labelled `group`.
pub const RATE_LIMITED_TOTAL: &str = "legalops_rate_limited_total";

/// What is being limited: a route group and the subject within it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RateLimitKey {
    /// The route group (`auth`, `api`, ...).
    pub group: String,
    /// The IP (canonical text) or the user id.
    pub subject: String,
}

/// The answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Requests per minute in force for the group (after any tightening).
    pub limit: u32,
    /// Requests the subject could still make right now.
    pub remaining: u32,
    /// Until the subject is back to its full burst.
    pub reset_after: Duration,
    /// When refused: the exact wait until a request would be allowed.
    pub retry_after: Option<Duration>,
}

/// The limiter; cheap to clone (one shared state).
#[derive(Debug, Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: SharedClock,
    groups: BTreeMap<String, (usize, Quota)>,
    max_keys: usize,
    factor_bits: AtomicU64,
    refused: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    // One map per group (indexed as in `Inner::groups`), so that a lookup borrows the
    // subject instead of building an owned key per request.
    maps: Vec<HashMap<String, i128>>,
    total: usize,
    inserts_since_sweep: usize,
}

impl RateLimiter {
    /// A limiter with `config`'s quotas; `InvalidConfig` naming the key if one is invalid.
    pub fn new(config: RateLimitConfig, clock: SharedClock) -> Result<Self> {
        config.validate()?;
        metrics::describe_counter!(
            RATE_LIMITED_TOTAL,
            "Requests refused by the rate limiter, by route group."
        );
        let groups: BTreeMap<_, _> = config
            .groups
            .into_iter()
            .enumerate()
            .map(|(i, (name, quota))| (name, (i, quota)))
            .collect();
        let state = State {
            maps: vec![HashMap::new(); groups.len()],
            ..State::default()
        };
        Ok(Self {
            inner: Arc::new(Inner {
                clock,
                groups,
                max_keys: config.max_keys,
                factor_bits: AtomicU64::new(1.0f64.to_bits()),
                refused: AtomicU64::new(0),
                state: Mutex::new(state),
            }),
        })
    }

    /// Judges one request of `subject` in `group`, counting it if allowed.
    /// `InvalidInput` for a group that is not configured.
    pub fn check(&self, group: &str, subject: &str) -> Result<RateDecision> {
        let quota = self.quota(group)?;
        let (index, _) = self.inner.groups[group];
        let cell = Cell::per_minute(quota.per_minute, quota.burst);
        let now = self.inner.clock.now().unix_timestamp_nanos();
        let outcome = {
            let mut state = self.lock();
            match state.maps[index].get_mut(subject) {
                Some(tat) => {
                    let o = cell.check(Some(*tat), now);
                    *tat = o.tat;
                    o
                }
                None => {
                    let o = cell.check(None, now);
                    self.insert(&mut state, index, subject, o.tat, now);
                    o
                }
            }
        };
        if !outcome.allowed {
            self.inner.refused.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(RATE_LIMITED_TOTAL, "group" => group.to_owned()).increment(1);
        }
        Ok(RateDecision {
            allowed: outcome.allowed,
            limit: quota.per_minute,
            remaining: outcome.remaining,
            reset_after: nanos(outcome.reset_after),
            retry_after: (!outcome.allowed).then(|| nanos(outcome.retry_after)),
        })
    }

    /// [`check`](Self::check) for a [`RateLimitKey`].
    pub fn check_key(&self, key: &RateLimitKey) -> Result<RateDecision> {
        self.check(&key.group, &key.subject)
    }

    /// The quota in force for `group` now (after any tightening).
    pub fn quota(&self, group: &str) -> Result<Quota> {
        let (_, quota) = self.inner.groups.get(group).ok_or_else(|| {
            Error::invalid_input("group", format!("no rate-limit group named {group:?}"))
        })?;
        let factor = self.tightening();
        Ok(if factor < 1.0 {
            quota.tightened(factor)
        } else {
            *quota
        })
    }

    /// The configured groups, by name.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.inner.groups.keys().map(String::as_str)
    }

    /// Scales every quota by `factor` (DoS mode: 0.2 leaves a fifth, at least 1 per
    /// minute); 1.0 restores them. Subjects keep their debt, so tightening cannot hand
    /// anyone a fresh burst. `InvalidInput` unless 0 < factor <= 1.
    pub fn set_tightening(&self, factor: f64) -> Result<()> {
        if !(factor > 0.0 && factor <= 1.0) {
            return Err(Error::invalid_input(
                "factor",
                "must be greater than 0 and at most 1",
            ));
        }
        self.inner
            .factor_bits
            .store(factor.to_bits(), Ordering::Relaxed);
        Ok(())
    }

    /// The tightening factor in force (1.0 = none).
    pub fn tightening(&self) -> f64 {
        f64::from_bits(self.inner.factor_bits.load(Ordering::Relaxed))
    }

    /// Requests refused since this limiter was built.
    pub fn refused_total(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// How many subjects are remembered now.
    pub fn len(&self) -> usize {
        self.lock().total
    }

    /// Whether no subject is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every subject that is back to a fresh state (also done by itself as keys
    /// are added); returns how many were forgotten.
    pub fn sweep(&self) -> usize {
        let now = self.inner.clock.now().unix_timestamp_nanos();
        sweep(&mut self.lock(), now)
    }

    fn insert(&self, state: &mut State, index: usize, subject: &str, tat: i128, now: i128) {
        state.inserts_since_sweep += 1;
        // Sweeping after as many inserts as there are keys keeps the cost amortised O(1).
        if state.total >= self.inner.max_keys || state.inserts_since_sweep > state.total.max(1024) {
            sweep(state, now);
        }
        if state.total >= self.inner.max_keys {
            evict_idlest(state, self.inner.max_keys);
        }
        state.maps[index].insert(subject.to_owned(), tat);
        state.total += 1;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic mid-update of a plain map of numbers: still usable.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn sweep(state: &mut State, now: i128) -> usize {
    let before = state.total;
    for map in &mut state.maps {
        map.retain(|_, tat| *tat > now);
    }
    state.total = state.maps.iter().map(HashMap::len).sum();
    state.inserts_since_sweep = 0;
    before - state.total
}

// Forgets about a sixteenth of the cap at once, smallest TAT first (closest to fresh), so
// that a flood of new subjects pays for one scan per many inserts rather than one each.
fn evict_idlest(state: &mut State, max_keys: usize) {
    let target = max_keys - (max_keys / 16).max(1);
    let excess = state.total.saturating_sub(target);
    if excess == 0 {
        return;
    }
    let mut tats: Vec<i128> = state
        .maps
        .iter()
        .flat_map(|m| m.values().copied())
        .collect();
    let (_, threshold, _) = tats.select_nth_unstable(excess - 1);
    let threshold = *threshold;
    for map in &mut state.maps {
        map.retain(|_, tat| *tat > threshold);
    }
    state.total = state.maps.iter().map(HashMap::len).sum();
}

fn nanos(n: i128) -> Duration {
    Duration::from_nanos(u64::try_from(n.max(0)).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::ManualClock;
    use time::macros::datetime;

    fn limiter(config: RateLimitConfig) -> (RateLimiter, ManualClock) {
        let clock = ManualClock::new(datetime!(2026-03-01 09:00 UTC));
        let limiter = RateLimiter::new(config, Arc::new(clock.clone())).expect("valid config");
        (limiter, clock)
    }

    #[test]
    fn sixth_auth_request_in_a_minute_waits_twelve_seconds() {
        let (rl, clock) = limiter(RateLimitConfig::default());
        for left in (0..5).rev() {
            let d = rl.check(GROUP_AUTH, "192.0.2.7").expect("known group");
            assert!(d.allowed);
            assert_eq!((d.limit, d.remaining), (5, left));
        }
        let d = rl.check(GROUP_AUTH, "192.0.2.7").expect("known group");
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Some(Duration::from_secs(12)));
        assert_eq!(rl.refused_total(), 1);
        // Another subject is not affected.
        assert!(rl.check(GROUP_AUTH, "192.0.2.8").expect("known").allowed);
        clock.advance(Duration::from_secs(12));
        assert!(rl.check(GROUP_AUTH, "192.0.2.7").expect("known").allowed);
        assert!(!rl.check(GROUP_AUTH, "192.0.2.7").expect("known").allowed);
    }

    #[test]
    fn no_second_burst_across_a_minute_boundary() {
        let (rl, clock) = limiter(RateLimitConfig::default());
        clock.advance(Duration::from_secs(59));
        let first = (0..5).filter(|_| rl.check(GROUP_AUTH, "ip").expect("known").allowed);
        assert_eq!(first.count(), 5);
        // A fixed window would reset here and allow five more.
        clock.advance(Duration::from_secs(2));
        let second = (0..5).filter(|_| rl.check(GROUP_AUTH, "ip").expect("known").allowed);
        assert_eq!(second.count(), 0);
    }

    #[test]
    fn unknown_group_is_invalid_input() {
        let (rl, _) = limiter(RateLimitConfig::default());
        let e = rl.check("nope", "ip").expect_err("unknown group");
        assert_eq!(e.kind(), "invalid_input");
    }

    #[test]
    fn tightening_scales_quotas_and_keeps_debt() {
        let (rl, clock) = limiter(RateLimitConfig::default());
        // 50 requests: 30 s of debt at 0.6 s each.
        for _ in 0..50 {
            assert!(rl.check(GROUP_API, "ip").expect("known").allowed);
        }
        rl.set_tightening(0.2).expect("valid factor");
        assert_eq!(rl.quota(GROUP_API).expect("known"), Quota::per_minute(20));
        assert_eq!(rl.quota(GROUP_AUTH).expect("known"), Quota::per_minute(1));
        // Debt is kept as time: 30 s of the tightened 60 s capacity (20 x 3 s) is used, so
        // 10 more, not a fresh 20.
        let allowed = (0..30).filter(|_| rl.check(GROUP_API, "ip").expect("known").allowed);
        assert_eq!(allowed.count(), 10);
        assert!(rl.set_tightening(0.0).is_err());
        assert!(rl.set_tightening(f64::NAN).is_err());
        rl.set_tightening(1.0).expect("valid factor");
        clock.advance(Duration::from_secs(60));
        assert_eq!(rl.check(GROUP_API, "ip").expect("known").remaining, 99);
    }

    #[test]
    fn idle_subjects_are_swept() {
        let (rl, clock) = limiter(RateLimitConfig::default());
        rl.check(GROUP_AUTH, "a").expect("known");
        rl.check(GROUP_API, "b").expect("known");
        assert_eq!(rl.len(), 2);
        // Each is back to fresh one interval after its single request: 0.6 s for the API
        // subject, 12 s for the auth one.
        clock.advance(Duration::from_secs(11));
        assert_eq!(rl.sweep(), 1);
        assert_eq!(rl.len(), 1);
        clock.advance(Duration::from_secs(1));
        assert_eq!(rl.sweep(), 1);
        assert!(rl.is_empty());
    }

    #[test]
    fn key_count_stays_under_the_cap_evicting_the_idlest() {
        let config = RateLimitConfig {
            max_keys: 64,
            ..RateLimitConfig::default()
        };
        let (rl, clock) = limiter(config);
        // The heavy user is deep in debt; then a flood of one-off subjects arrives.
        for _ in 0..5 {
            rl.check(GROUP_AUTH, "heavy").expect("known");
        }
        for i in 0..1_000 {
            clock.advance(Duration::from_millis(1));
            rl.check(GROUP_API, &format!("flood-{i}")).expect("known");
            assert!(rl.len() <= 64);
        }
        assert!(!rl.check(GROUP_AUTH, "heavy").expect("known").allowed);
    }

    proptest::proptest! {
        // The limiter as a whole keeps the GCRA bound for every subject: in any span of
        // `s` nanoseconds between two allowed requests, at most burst + s / T are allowed.
        #[test]
        fn limiter_keeps_the_gcra_bound(gaps in proptest::collection::vec(0u64..30_000, 1..200)) {
            let (rl, clock) = limiter(RateLimitConfig::default());
            let mut allowed = Vec::new();
            let mut at = 0u64;
            for gap in gaps {
                clock.advance(Duration::from_millis(gap));
                at += gap;
                if rl.check(GROUP_AUTH, "ip").expect("known").allowed {
                    allowed.push(at);
                }
            }
            for (i, a) in allowed.iter().enumerate() {
                for (j, b) in allowed.iter().enumerate().skip(i) {
                    proptest::prop_assert!((j - i + 1) as u64 <= 5 + (b - a) / 12_000);
                }
            }
        }
    }
}
