//! The account's soft lockout and growing login delays (OWASP ASVS anti-automation that
//! cannot be turned into a denial of service against the real user).
//!
//! Why it is shaped this way (see also the module docs of [`super`]):
//! - A hard lockout ("5 failures and the account is locked for everyone") hands any stranger
//!   who knows an email address a button that locks its owner out. So the lockout binds only
//!   the **sources that failed against the account** in the window: they are refused without
//!   their password being checked ([`LoginDecision::Locked`]).
//! - A source that has not failed against the account (the owner at home, or a fresh
//!   address of a botnet: the two look the same) still gets its password checked, but no
//!   sooner than a delay after the account's last failure, growing 1 s, 2 s, 4 s ... up to
//!   30 s from the third failure on ([`LoginDecision::Delay`]). A distributed guesser thus
//!   gets one checked guess per delay step, however many addresses it has, and each of its
//!   addresses is locked after its first failure and banned by the IP rule after its sixth;
//!   the owner waits at most `max_delay` per try.
//! - Every lockout expires: `lockout * 2^level`, the level growing with lockouts in a row,
//!   capped at `max_lockout` (24 h). A successful login clears the lockout and its level (the
//!   engine's job: `SecurityStore::clear_lockout`).
//! - `Delay` and `Locked` answers are not password checks: the engine must not record them as
//!   failed logins (that would let the flood extend its own lockout); the rate limiter
//!   counts them like any request.

use std::time::Duration;

use time::OffsetDateTime;

use super::{doubled, elapsed, human, minus, plus};
use crate::error::{Error, Result};
use crate::security::Lockout;

/// The account lockout rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures against one account in the window that lock it (5: the fifth failure locks).
    pub threshold: u64,
    /// The sliding window failures are counted in (15 min).
    pub window: Duration,
    /// The first lockout (15 min); doubled for each lockout in a row.
    pub lockout: Duration,
    /// The delay after the third failure (1 s), doubled per further failure.
    pub base_delay: Duration,
    /// The longest delay between checked attempts (30 s).
    pub max_delay: Duration,
    /// The longest lockout (24 h): a lockout always ends.
    pub max_lockout: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_lockout: Duration::from_secs(24 * 3600),
        }
    }
}

/// Delays start after this many failures in the window: two typos cost nothing.
pub const DELAY_AFTER_FAILURES: u64 = 3;
/// The level stops growing here (`2^32` times any lockout is past any sane cap anyway).
const MAX_LEVEL: u32 = 32;
/// Caps on configuration, so that no setting amounts to a permanent lock.
const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
const MAX_LOCKOUT_CAP: Duration = Duration::from_secs(30 * 24 * 3600);
const MAX_DELAY_CAP: Duration = Duration::from_secs(3600);

/// What to do with a login attempt on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginDecision {
    /// Check the password.
    Allow,
    /// Too soon after the account's last failure: answer 429 with `Retry-After`, without
    /// checking the password.
    Delay {
        /// How long until a checked attempt is allowed (at most `max_delay`).
        retry_after: Duration,
    },
    /// The account is locked against this source: refuse without checking the password.
    Locked {
        /// When the lockout ends.
        until: OffsetDateTime,
    },
}

impl LockoutPolicy {
    /// The start of the counting window at `now`.
    pub fn window_start(&self, now: OffsetDateTime) -> OffsetDateTime {
        minus(now, self.window)
    }

    /// The wait after the last failure before the next checked attempt, when the account has
    /// `failures` in the window: zero below [`DELAY_AFTER_FAILURES`], then
    /// `base_delay * 2^(failures - 3)` capped at `max_delay`.
    pub fn delay_after(&self, failures: u64) -> Duration {
        if failures < DELAY_AFTER_FAILURES {
            return Duration::ZERO;
        }
        doubled(
            self.base_delay,
            failures - DELAY_AFTER_FAILURES,
            self.max_delay,
        )
    }

    /// How long the lockout at `level` lasts: `lockout * 2^level`, capped at `max_lockout`.
    pub fn lockout_for(&self, level: u32) -> Duration {
        doubled(self.lockout, u64::from(level), self.max_lockout)
    }

    /// Checks the policy; errors name the configuration key.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |key: &str, msg: String| Err(Error::invalid_config(format!("security.{key}"), msg));
        if self.threshold == 0 {
            return bad("lockout_threshold", "must be at least 1".into());
        }
        if self.window.as_secs() == 0 || self.window > MAX_WINDOW {
            return bad(
                "lockout_window_secs",
                format!("must be between 1 s and {}", human(MAX_WINDOW)),
            );
        }
        if self.lockout.as_secs() == 0 {
            return bad("lockout_secs", "must be at least 1 s".into());
        }
        if self.max_delay > MAX_DELAY_CAP {
            return bad(
                "lockout_max_delay_secs",
                format!("must be at most {}", human(MAX_DELAY_CAP)),
            );
        }
        if self.base_delay > self.max_delay {
            return bad(
                "lockout_base_delay_secs",
                "must not exceed security.lockout_max_delay_secs".into(),
            );
        }
        if self.max_lockout < self.lockout || self.max_lockout > MAX_LOCKOUT_CAP {
            return bad(
                "lockout_max_secs",
                format!(
                    "must be between security.lockout_secs and {} (a lockout must end)",
                    human(MAX_LOCKOUT_CAP)
                ),
            );
        }
        Ok(())
    }
}

/// Decides a login attempt on an account at `now`, before the password is checked.
///
/// `lockout` is the account's stored lockout (expired ones are ignored);
/// `failures_for_account_in_window` counts failures against the account from anywhere and
/// `failures_from_this_ip_for_account_in_window` those from the attempt's own source, both
/// since [`LockoutPolicy::window_start`]; `last_failure_at` is the account's newest failure.
pub fn login_decision(
    policy: &LockoutPolicy,
    now: OffsetDateTime,
    lockout: Option<&Lockout>,
    failures_for_account_in_window: u64,
    failures_from_this_ip_for_account_in_window: u64,
    last_failure_at: Option<OffsetDateTime>,
) -> LoginDecision {
    if let Some(l) = lockout.filter(|l| now < l.until)
        && failures_from_this_ip_for_account_in_window > 0
    {
        return LoginDecision::Locked { until: l.until };
    }
    let delay = policy.delay_after(failures_for_account_in_window);
    if let Some(last) = last_failure_at
        && !delay.is_zero()
    {
        let allowed_at = plus(last, delay);
        if now < allowed_at {
            // A failure stamped in the future by a replica with a fast clock must not
            // stretch the wait past the policy's longest delay.
            let retry_after = elapsed(now, allowed_at).min(policy.max_delay);
            return LoginDecision::Delay { retry_after };
        }
    }
    LoginDecision::Allow
}

/// After a failure has been recorded: the lockout to store, if the account's failures in the
/// window (this one included) reach the threshold and no lockout is in force already.
///
/// The new lockout's level is one more than the previous lockout's if that one ended less
/// than `max_lockout` ago (lockouts in a row), else 0; it lasts
/// [`LockoutPolicy::lockout_for`] that level. `None` means "store nothing".
pub fn lockout_after_failure(
    policy: &LockoutPolicy,
    account: &str,
    now: OffsetDateTime,
    current: Option<&Lockout>,
    failures_for_account_in_window: u64,
) -> Option<Lockout> {
    if failures_for_account_in_window < policy.threshold {
        return None;
    }
    if current.is_some_and(|l| now < l.until) {
        return None;
    }
    let level = match current {
        Some(prev) if elapsed(prev.until, now) < policy.max_lockout => {
            prev.level.saturating_add(1).min(MAX_LEVEL)
        }
        _ => 0,
    };
    Some(Lockout {
        account: account.to_owned(),
        until: plus(now, policy.lockout_for(level)),
        level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-05-01 09:00 UTC);
    const SEC: Duration = Duration::from_secs(1);

    fn secs(n: i64) -> time::Duration {
        time::Duration::seconds(n)
    }

    fn locked_until(until: OffsetDateTime, level: u32) -> Lockout {
        Lockout {
            account: "owner@example.com".into(),
            until,
            level,
        }
    }

    #[test]
    fn decision_table() {
        let p = LockoutPolicy::default();
        let lock = locked_until(T0 + secs(600), 0);
        let ended = locked_until(T0, 0);
        let ended_high = locked_until(T0 - secs(1), 3);
        let allow = LoginDecision::Allow;
        let delay = |s: u64| LoginDecision::Delay {
            retry_after: SEC * s as u32,
        };
        let locked = LoginDecision::Locked { until: lock.until };
        // (name, lockout, account failures, failures from this ip, last failure, want)
        type Case<'a> = (
            &'a str,
            Option<&'a Lockout>,
            u64,
            u64,
            Option<OffsetDateTime>,
            LoginDecision,
        );
        let cases: Vec<Case> = vec![
            ("clean account", None, 0, 0, None, allow),
            ("two typos cost nothing", None, 2, 2, Some(T0), allow),
            ("third failure: 1 s", None, 3, 3, Some(T0), delay(1)),
            ("fourth failure: 2 s", None, 4, 0, Some(T0), delay(2)),
            ("fifth failure: 4 s", None, 5, 0, Some(T0), delay(4)),
            (
                "delay already served",
                None,
                5,
                5,
                Some(T0 - secs(4)),
                allow,
            ),
            (
                "delay partly served",
                None,
                6,
                0,
                Some(T0 - secs(5)),
                delay(3),
            ),
            ("delay capped at 30 s", None, 60, 0, Some(T0), delay(30)),
            (
                "future-stamped failure capped",
                None,
                60,
                0,
                Some(T0 + secs(3600)),
                delay(30),
            ),
            (
                "locked source refused",
                Some(&lock),
                6,
                1,
                Some(T0 - secs(3600)),
                locked,
            ),
            (
                "flooding source stays locked",
                Some(&lock),
                500,
                5,
                Some(T0),
                locked,
            ),
            (
                "clean source during lockout, delay served",
                Some(&lock),
                500,
                0,
                Some(T0 - secs(30)),
                allow,
            ),
            (
                "clean source during lockout, too soon",
                Some(&lock),
                500,
                0,
                Some(T0 - secs(10)),
                delay(20),
            ),
            (
                "expired lockout releases the source",
                Some(&ended),
                2,
                2,
                Some(T0 - secs(700)),
                allow,
            ),
            (
                "expired lockout, delay still applies",
                Some(&ended_high),
                5,
                5,
                Some(T0),
                delay(4),
            ),
            ("no last failure known: no delay", None, 9, 0, None, allow),
        ];
        for (name, lockout, f_acct, f_ip, last, want) in cases {
            assert_eq!(
                login_decision(&p, T0, lockout, f_acct, f_ip, last),
                want,
                "{name}"
            );
        }
    }

    /// Replays a flood: 40 addresses each try once a second against one account. The
    /// account locks, every flooding address is refused, and the owner, from an address
    /// that never failed, gets their password checked within one `max_delay`.
    #[test]
    fn owner_from_a_clean_ip_logs_in_during_a_lockout_caused_by_a_flood_from_other_ips() {
        let p = LockoutPolicy::default();
        let mut failures: Vec<(OffsetDateTime, u32)> = Vec::new();
        let mut lockout: Option<Lockout> = None;
        let count = |f: &[(OffsetDateTime, u32)], now: OffsetDateTime, ip: Option<u32>| {
            let since = p.window_start(now);
            f.iter()
                .filter(|(at, i)| *at >= since && ip.is_none_or(|x| x == *i))
                .count() as u64
        };
        let mut now = T0;
        for step in 0..120u32 {
            now = T0 + secs(i64::from(step));
            let bot = step % 40;
            let last = failures.last().map(|(at, _)| *at);
            let d = login_decision(
                &p,
                now,
                lockout.as_ref(),
                count(&failures, now, None),
                count(&failures, now, Some(bot)),
                last,
            );
            if d == LoginDecision::Allow {
                failures.push((now, bot)); // the guess is wrong
                if let Some(l) = lockout_after_failure(
                    &p,
                    "owner@example.com",
                    now,
                    lockout.as_ref(),
                    count(&failures, now, None),
                ) {
                    lockout = Some(l);
                }
            }
        }
        let lock = lockout.clone().expect("the flood locked the account");
        assert!(now < lock.until, "lockout in force");
        // The flooding sources that failed are refused outright.
        let (_, bot) = failures[0];
        assert_eq!(
            login_decision(
                &p,
                now,
                Some(&lock),
                count(&failures, now, None),
                count(&failures, now, Some(bot)),
                failures.last().map(|f| f.0)
            ),
            LoginDecision::Locked { until: lock.until }
        );
        // The botnet got few checked guesses: one per delay step after the first few.
        assert!(failures.len() < 15, "{} checked guesses", failures.len());
        // The owner (address 999, never failed) is at worst told to wait, then let in.
        let owner = 999;
        let last = failures.last().map(|f| f.0);
        let first = login_decision(
            &p,
            now,
            Some(&lock),
            count(&failures, now, None),
            count(&failures, now, Some(owner)),
            last,
        );
        let wait = match first {
            LoginDecision::Allow => Duration::ZERO,
            LoginDecision::Delay { retry_after } => retry_after,
            LoginDecision::Locked { .. } => panic!("the owner must never be locked out"),
        };
        assert!(wait <= p.max_delay);
        let later = plus(now, wait);
        assert_eq!(
            login_decision(
                &p,
                later,
                Some(&lock),
                count(&failures, later, None),
                0,
                last
            ),
            LoginDecision::Allow
        );
    }

    #[test]
    fn the_flooding_ip_stays_locked_until_the_lockout_expires() {
        let p = LockoutPolicy::default();
        let lock =
            lockout_after_failure(&p, "a@example.com", T0, None, 5).expect("fifth failure locks");
        assert_eq!(lock.until, T0 + secs(15 * 60));
        for t in [0, 1, 60, 899] {
            assert!(
                matches!(
                    login_decision(&p, T0 + secs(t), Some(&lock), 5, 5, Some(T0)),
                    LoginDecision::Locked { .. }
                ),
                "{t}"
            );
        }
    }

    #[test]
    fn lockout_expires() {
        let p = LockoutPolicy::default();
        let lock = lockout_after_failure(&p, "a@example.com", T0, None, 5).expect("locks");
        // At `until` the attacker's failures (all 15 min old) have left the window too.
        let at = lock.until;
        assert_eq!(
            login_decision(&p, at, Some(&lock), 0, 0, Some(T0)),
            LoginDecision::Allow
        );
        // Even if they are still in the window, the source is no longer locked, only delayed.
        assert_eq!(
            login_decision(&p, at, Some(&lock), 5, 5, Some(at - secs(1))),
            LoginDecision::Delay {
                retry_after: 3 * SEC
            }
        );
    }

    #[test]
    fn lockout_table() {
        let p = LockoutPolicy::default();
        let min = |m: i64| secs(60 * m);
        let active = locked_until(T0 + min(5), 0);
        let recent = locked_until(T0 - min(1), 2);
        let long_ago = locked_until(T0 - min(25 * 60), 6);
        let maxed = locked_until(T0 - min(1), 31);
        // (name, current, failures, want (until, level))
        type Case<'a> = (
            &'a str,
            Option<&'a Lockout>,
            u64,
            Option<(OffsetDateTime, u32)>,
        );
        let cases: Vec<Case> = vec![
            ("below threshold", None, 4, None),
            ("threshold locks 15 min", None, 5, Some((T0 + min(15), 0))),
            ("already locked: unchanged", Some(&active), 9, None),
            (
                "in a row: doubled",
                Some(&recent),
                5,
                Some((T0 + min(120), 3)),
            ),
            (
                "long after the last: back to level 0",
                Some(&long_ago),
                6,
                Some((T0 + min(15), 0)),
            ),
            (
                "capped at 24 h",
                Some(&maxed),
                5,
                Some((T0 + min(24 * 60), 32)),
            ),
        ];
        for (name, current, failures, want) in cases {
            let got = lockout_after_failure(&p, "a@example.com", T0, current, failures);
            assert_eq!(got.as_ref().map(|l| (l.until, l.level)), want, "{name}");
            if let Some(l) = got {
                assert_eq!(l.account, "a@example.com");
            }
        }
    }

    #[test]
    fn validation_names_the_key() {
        let base = LockoutPolicy::default();
        assert!(base.validate().is_ok());
        let cases = [
            (
                LockoutPolicy {
                    threshold: 0,
                    ..base
                },
                "security.lockout_threshold",
            ),
            (
                LockoutPolicy {
                    window: Duration::ZERO,
                    ..base
                },
                "security.lockout_window_secs",
            ),
            (
                LockoutPolicy {
                    lockout: Duration::ZERO,
                    ..base
                },
                "security.lockout_secs",
            ),
            (
                LockoutPolicy {
                    base_delay: 60 * SEC,
                    ..base
                },
                "security.lockout_base_delay_secs",
            ),
            (
                LockoutPolicy {
                    max_delay: 7200 * SEC,
                    ..base
                },
                "security.lockout_max_delay_secs",
            ),
            (
                LockoutPolicy {
                    max_lockout: SEC,
                    ..base
                },
                "security.lockout_max_secs",
            ),
            (
                LockoutPolicy {
                    max_lockout: Duration::MAX,
                    ..base
                },
                "security.lockout_max_secs",
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
        fn a_lockout_always_ends_within_the_cap(
            level in any::<u32>(),
            ended_ago in 0i64..10_000_000,
            failures in any::<u64>(),
            now_offset in -1_000_000_000i64..1_000_000_000,
        ) {
            let p = LockoutPolicy::default();
            let now = T0 + secs(now_offset);
            let prev = locked_until(now - secs(ended_ago), level);
            for current in [None, Some(&prev)] {
                if let Some(l) = lockout_after_failure(&p, "a@example.com", now, current, failures) {
                    prop_assert!(l.until > now);
                    prop_assert!(l.until <= plus(now, p.max_lockout));
                    prop_assert!(l.level <= MAX_LEVEL);
                }
            }
        }

        #[test]
        fn a_clean_source_is_never_locked_and_delays_are_bounded(
            f_acct in any::<u64>(),
            f_ip in any::<u64>(),
            until_offset in -100_000i64..100_000,
            last_offset in proptest::option::of(-100_000i64..100_000),
        ) {
            let p = LockoutPolicy::default();
            let lock = locked_until(T0 + secs(until_offset), 0);
            let last = last_offset.map(|o| T0 + secs(o));
            let d = login_decision(&p, T0, Some(&lock), f_acct, f_ip, last);
            match d {
                LoginDecision::Locked { until } => {
                    prop_assert!(f_ip > 0);
                    prop_assert!(T0 < until);
                }
                LoginDecision::Delay { retry_after } => {
                    prop_assert!(retry_after > Duration::ZERO);
                    prop_assert!(retry_after <= p.max_delay);
                }
                LoginDecision::Allow => {}
            }
            let locked = matches!(d, LoginDecision::Locked { .. });
            prop_assert!(f_ip > 0 || !locked, "a clean source was locked");
        }
    }
}
