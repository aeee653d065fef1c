//! The pure decision rules of security operations: what a block target is, whether an IP is
//! blocked or allowlisted, when an IP is banned and for how long, when an account is locked
//! and how long a login must wait, and which patterns of failures and requests look like an
//! attack. Nothing here does I/O or reads a clock: the engine in `legalops-ops` reads the
//! records store and the injected [`Clock`](crate::Clock) and passes figures and `now` in.
//!
//! # Two separate brakes: the IP ban and the account lockout
//!
//! Brute force is fought per **source** and per **account**, and the two must not be
//! confused, because an attacker controls the source but not the owner's account:
//!
//! - [`BanPolicy`] (fail2ban's `maxretry`/`findtime`/`bantime` and `bantime.increment`): an IP
//!   with more than 5 failures in 15 minutes is blocked for 10 minutes, longer each time it
//!   comes back, up to a week. The allowlist ([`IpSet`], fail2ban's `ignoreip`) is never
//!   blocked.
//! - [`LockoutPolicy`] (OWASP ASVS: a soft lockout that cannot become a denial of service
//!   against the real user): after 5 failures against an account it is locked for 15 minutes
//!   (growing on repeated lockouts, capped, always expiring), **but the lockout binds only the
//!   sources that failed against that account**. A source with no failures against the
//!   account in the window still gets its password checked, throttled by a growing delay
//!   (1 s, 2 s, 4 s, ... up to 30 s after the last failure). So a flood from a thousand
//!   addresses cannot lock the owner out: the owner's own address is clean and gets in, at
//!   worst after the delay; each flooding address is refused outright once it has failed
//!   and is banned by the IP rule after its sixth failure; and the botnet as a whole gets
//!   one checked guess per delay step. See [`login_decision`].
//!
//! # Suspicious activity
//!
//! [`Detectors`] are bounded, in-memory sliding-window state machines (credential stuffing,
//! password spraying, many IPs against one account, many user agents from one IP, admin
//! probing, robotic timing). They see a keyed tag of a password at most, never the
//! password, and forget everything older than their window.

pub mod ban;
pub mod detectors;
pub mod ipset;
pub mod lockout;
pub mod target;
pub mod window;

pub use ban::BanPolicy;
pub use detectors::{DetectorConfig, Detectors, Finding, FindingKind, Rule};
pub use ipset::{IpSet, default_allowlist};
pub use lockout::{LockoutPolicy, LoginDecision, lockout_after_failure, login_decision};
pub use target::{TargetRules, canonical_ip, host_net, parse_target, parse_target_with};
pub use window::{DistinctCounter, EventWindow};

use std::time::Duration;

use time::OffsetDateTime;

/// `t + d`, saturating at the end of representable time instead of panicking: durations
/// come from configuration and must not be able to crash a request.
pub(crate) fn plus(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.saturating_add(time::Duration::try_from(d).unwrap_or(time::Duration::MAX))
}

/// `t - d`, saturating at the start of representable time.
pub(crate) fn minus(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.saturating_sub(time::Duration::try_from(d).unwrap_or(time::Duration::MAX))
}

/// `later - earlier` as a non-negative std duration (zero if `later` is not later).
pub(crate) fn elapsed(earlier: OffsetDateTime, later: OffsetDateTime) -> Duration {
    Duration::try_from(later - earlier).unwrap_or(Duration::ZERO)
}

/// `base * 2^exp`, saturating, then capped at `cap`.
pub(crate) fn doubled(base: Duration, exp: u64, cap: Duration) -> Duration {
    let factor = if exp >= 32 { u32::MAX } else { 1u32 << exp };
    base.saturating_mul(factor).min(cap)
}

/// Whole minutes or seconds, for messages.
pub(crate) fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}
