//! When a source IP is banned and for how long: fail2ban's `maxretry`, `findtime`, `bantime`
//! and `bantime.increment`, with the business's numbers (more than 5 failures in 15 minutes).

use std::time::Duration;

use time::OffsetDateTime;

use super::{human, minus};
use crate::error::{Error, Result};

/// The IP ban rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanPolicy {
    /// Ban when the failures in the window **exceed** this (5: the sixth failure bans).
    pub max_failures: u64,
    /// The sliding window failures are counted in (fail2ban `findtime`; 15 min).
    pub find_time: Duration,
    /// The first ban (fail2ban `bantime`; 10 min).
    pub ban_time: Duration,
    /// Each earlier ban of the same target multiplies the next by this: the ban lasts
    /// `ban_time * increment_factor ^ previous_bans` (fail2ban `bantime.increment` with
    /// `bantime.factor`; 2, so 10, 20, 40 min ...). 1 turns the increase off.
    pub increment_factor: u32,
    /// No ban is longer than this (fail2ban `bantime.maxtime`; 1 week).
    pub max_ban_time: Duration,
}

impl Default for BanPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            find_time: Duration::from_secs(15 * 60),
            ban_time: Duration::from_secs(10 * 60),
            increment_factor: 2,
            max_ban_time: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Longer windows make the per-request count query scan too much history to be useful.
const MAX_FIND_TIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// A factor beyond this reaches `max_ban_time` on the first repeat anyway.
const MAX_FACTOR: u32 = 1000;

impl BanPolicy {
    /// Whether `failures_in_window` (including the one just recorded) earns a ban.
    pub fn should_ban(&self, failures_in_window: u64) -> bool {
        failures_in_window > self.max_failures
    }

    /// The start of the counting window at `now` (failures at or after it count).
    pub fn window_start(&self, now: OffsetDateTime) -> OffsetDateTime {
        minus(now, self.find_time)
    }

    /// How long to ban a target that has been banned `previous_bans` times before:
    /// `ban_time * increment_factor ^ previous_bans`, saturating, capped at `max_ban_time`.
    pub fn ban_duration(&self, previous_bans: u64) -> Duration {
        let cap = self.max_ban_time;
        let mut d = self.ban_time.min(cap);
        if self.increment_factor <= 1 || d.is_zero() {
            return d;
        }
        // Each step at least doubles a non-zero duration, so the cap is reached in well
        // under 128 steps; the bound keeps a huge `previous_bans` cheap.
        for _ in 0..previous_bans.min(128) {
            d = d.saturating_mul(self.increment_factor);
            if d >= cap {
                return cap;
            }
        }
        d
    }

    /// Checks the policy; errors name the configuration key.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |key: &str, msg: String| Err(Error::invalid_config(format!("security.{key}"), msg));
        if self.max_failures == 0 {
            return bad(
                "ban_max_failures",
                "must be at least 1 (0 would ban on the first failure of anyone)".into(),
            );
        }
        if self.find_time.as_secs() == 0 || self.find_time > MAX_FIND_TIME {
            return bad(
                "ban_find_time_secs",
                format!("must be between 1 s and {}", human(MAX_FIND_TIME)),
            );
        }
        if self.ban_time.as_secs() == 0 {
            return bad("ban_time_secs", "must be at least 1 s".into());
        }
        if self.increment_factor == 0 || self.increment_factor > MAX_FACTOR {
            return bad(
                "ban_increment_factor",
                format!("must be between 1 (no increase) and {MAX_FACTOR}"),
            );
        }
        if self.max_ban_time < self.ban_time {
            return bad(
                "ban_max_time_secs",
                format!(
                    "must be at least security.ban_time_secs ({})",
                    human(self.ban_time)
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn the_sixth_failure_bans() {
        let p = BanPolicy::default();
        for (failures, ban) in [(0, false), (1, false), (5, false), (6, true), (100, true)] {
            assert_eq!(p.should_ban(failures), ban, "{failures}");
        }
    }

    #[test]
    fn repeat_offenders_ban_grows_to_the_cap() {
        let p = BanPolicy::default();
        for (previous, want) in [
            (0, 10 * MIN),
            (1, 20 * MIN),
            (2, 40 * MIN),
            (3, 80 * MIN),
            (9, 5120 * MIN),
            (10, 7 * 24 * 60 * MIN),
            (u64::MAX, 7 * 24 * 60 * MIN),
        ] {
            assert_eq!(p.ban_duration(previous), want, "{previous}");
        }
    }

    #[test]
    fn factor_one_means_no_increase() {
        let p = BanPolicy {
            increment_factor: 1,
            ..BanPolicy::default()
        };
        assert_eq!(p.ban_duration(u64::MAX), 10 * MIN);
    }

    #[test]
    fn window_start_is_find_time_ago() {
        let now = time::macros::datetime!(2026-03-01 12:00 UTC);
        assert_eq!(
            BanPolicy::default().window_start(now),
            time::macros::datetime!(2026-03-01 11:45 UTC)
        );
    }

    #[test]
    fn validation_names_the_key() {
        let base = BanPolicy::default();
        assert!(base.validate().is_ok());
        let cases = [
            (
                BanPolicy {
                    max_failures: 0,
                    ..base
                },
                "security.ban_max_failures",
            ),
            (
                BanPolicy {
                    find_time: Duration::ZERO,
                    ..base
                },
                "security.ban_find_time_secs",
            ),
            (
                BanPolicy {
                    find_time: Duration::from_secs(8 * 24 * 3600),
                    ..base
                },
                "security.ban_find_time_secs",
            ),
            (
                BanPolicy {
                    ban_time: Duration::from_millis(10),
                    ..base
                },
                "security.ban_time_secs",
            ),
            (
                BanPolicy {
                    increment_factor: 0,
                    ..base
                },
                "security.ban_increment_factor",
            ),
            (
                BanPolicy {
                    max_ban_time: MIN,
                    ..base
                },
                "security.ban_max_time_secs",
            ),
        ];
        for (policy, key) in cases {
            match policy.validate() {
                Err(Error::InvalidConfig { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}: {other:?}"),
            }
        }
    }

    proptest! {
        #[test]
        fn ban_is_monotonic_and_capped(
            ban in 1u64..100_000, extra in 0u64..10_000_000, factor in 0u32..2000, n in any::<u64>()
        ) {
            let p = BanPolicy {
                ban_time: Duration::from_secs(ban),
                max_ban_time: Duration::from_secs(ban + extra),
                increment_factor: factor,
                ..BanPolicy::default()
            };
            let d = p.ban_duration(n);
            prop_assert!(d <= p.max_ban_time);
            prop_assert!(d >= p.ban_time.min(p.max_ban_time));
            prop_assert!(p.ban_duration(n.saturating_add(1)) >= d);
        }
    }
}
