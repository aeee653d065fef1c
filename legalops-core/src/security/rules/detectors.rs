//! Suspicious-activity detectors: credential stuffing, password spraying, many IPs against
//! one account, many user agents from one IP, unauthenticated admin probing and robotic
//! request timing. Each is a bounded sliding-window state machine fed by the engine with
//! the event and `now`; each finding fires once per key per window.
//!
//! Password spraying is recognised by a **keyed tag** of the password that the caller
//! computes (an HMAC under a per-process secret): the password never reaches this module,
//! and the tag is held for the window only and never appears in a finding.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::target::canonical_ip;
use super::window::{DistinctCounter, EventWindow};
use super::{elapsed, human};
use crate::error::{Error, Result};

/// A threshold within a window: a detector fires when a key shows **more than** `threshold`
/// (for robotic timing: at least `threshold` requests) within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The count to exceed.
    pub threshold: u64,
    /// The sliding window.
    pub window: Duration,
}

const TEN_MIN: Duration = Duration::from_secs(600);

impl Rule {
    const fn new(threshold: u64, window: Duration) -> Self {
        Self { threshold, window }
    }
}

/// The detectors' thresholds and memory bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Distinct accounts failing from one IP (more than 10 in 10 min).
    pub stuffing: Rule,
    /// Distinct accounts one password fails against (more than 5 in 10 min).
    pub spraying: Rule,
    /// Distinct IPs failing against one account (more than 10 in 10 min).
    pub many_ips: Rule,
    /// Distinct user agents from one IP (more than 5 in 10 min).
    pub many_user_agents: Rule,
    /// Unauthenticated requests to admin paths from one IP (more than 3 in 10 min).
    pub admin_probing: Rule,
    /// Requests from one IP judged for timing (at least 20, within 10 min).
    pub robotic: Rule,
    /// Inter-arrival times with a coefficient of variation below this are robotic (0.1).
    pub robotic_max_cv: f64,
    /// Keys held per detector (10 000); the least recently seen is evicted first.
    pub max_keys: usize,
    /// Distinct values held per key (64); must exceed every distinct-count threshold.
    pub max_values_per_key: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            stuffing: Rule::new(10, TEN_MIN),
            spraying: Rule::new(5, TEN_MIN),
            many_ips: Rule::new(10, TEN_MIN),
            many_user_agents: Rule::new(5, TEN_MIN),
            admin_probing: Rule::new(3, TEN_MIN),
            robotic: Rule::new(20, TEN_MIN),
            robotic_max_cv: 0.1,
            max_keys: 10_000,
            max_values_per_key: 64,
        }
    }
}

const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);
const MAX_KEYS: usize = 1_000_000;
const MAX_VALUES: usize = 10_000;
const MAX_ROBOTIC_REQUESTS: u64 = 1_000;
/// Longer account names are not email addresses; truncating bounds memory per key.
const MAX_ACCOUNT_LEN: usize = 254;

impl DetectorConfig {
    /// Checks the configuration; errors name the key (`security.detect_stuffing_threshold`).
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, msg: String| {
            Err(Error::invalid_config(format!("security.detect_{key}"), msg))
        };
        let rules = [
            ("stuffing", self.stuffing),
            ("spraying", self.spraying),
            ("many_ips", self.many_ips),
            ("many_user_agents", self.many_user_agents),
            ("admin_probing", self.admin_probing),
            ("robotic", self.robotic),
        ];
        for (name, rule) in rules {
            if rule.threshold == 0 {
                return bad(&format!("{name}_threshold"), "must be at least 1".into());
            }
            if rule.window.as_secs() == 0 || rule.window > MAX_WINDOW {
                return bad(
                    &format!("{name}_window_secs"),
                    format!("must be between 1 s and {}", human(MAX_WINDOW)),
                );
            }
        }
        for (name, rule) in &rules[..4] {
            if rule.threshold >= self.max_values_per_key as u64 {
                return bad(
                    &format!("{name}_threshold"),
                    format!(
                        "must be below max_values_per_key ({})",
                        self.max_values_per_key
                    ),
                );
            }
        }
        if !(3..=MAX_ROBOTIC_REQUESTS).contains(&self.robotic.threshold) {
            return bad(
                "robotic_threshold",
                format!("must be between 3 and {MAX_ROBOTIC_REQUESTS} requests"),
            );
        }
        if !(self.robotic_max_cv > 0.0 && self.robotic_max_cv <= 1.0) {
            return bad("robotic_max_cv", "must be above 0 and at most 1".into());
        }
        if !(1..=MAX_KEYS).contains(&self.max_keys) {
            return bad("max_keys", format!("must be between 1 and {MAX_KEYS}"));
        }
        if !(1..=MAX_VALUES).contains(&self.max_values_per_key) {
            return bad(
                "max_values_per_key",
                format!("must be between 1 and {MAX_VALUES}"),
            );
        }
        Ok(())
    }
}

/// What a detector saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Many accounts failing from one IP.
    CredentialStuffing,
    /// One password failing against many accounts.
    PasswordSpraying,
    /// Many IPs failing against one account.
    ManyIpsOneAccount,
    /// Many user agents from one IP.
    ManyUserAgents,
    /// Unauthenticated requests to admin paths.
    AdminProbing,
    /// Requests at machine-regular intervals.
    RoboticTiming,
}

impl FindingKind {
    /// The security event kind (`credential_stuffing`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CredentialStuffing => "credential_stuffing",
            Self::PasswordSpraying => "password_spraying",
            Self::ManyIpsOneAccount => "many_ips_one_account",
            Self::ManyUserAgents => "many_user_agents",
            Self::AdminProbing => "admin_probing",
            Self::RoboticTiming => "robotic_timing",
        }
    }

    /// The security event severity: attacks on credentials are `critical`, reconnaissance
    /// `warning`, timing alone (monitoring looks robotic too) `info`.
    pub fn severity(self) -> &'static str {
        match self {
            Self::CredentialStuffing | Self::PasswordSpraying => "critical",
            Self::ManyIpsOneAccount | Self::ManyUserAgents | Self::AdminProbing => "warning",
            Self::RoboticTiming => "info",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A detector's finding: becomes a security event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Which detector.
    pub kind: FindingKind,
    /// What it is about: the IP, or the account for many-IPs; for spraying the number of
    /// accounts (never the password tag).
    pub key: String,
    /// The figure that passed the threshold.
    pub count: u64,
    /// A summary for people.
    pub message: String,
}

/// The suspicious-activity detectors, fed with every failed login and every request.
#[derive(Debug, Clone)]
pub struct Detectors {
    config: DetectorConfig,
    /// Values (accounts, user agents) are held as keyed 64-bit hashes: fixed size, and an
    /// attacker cannot choose values that collide.
    hasher: RandomState,
    stuffing: DistinctCounter<IpAddr, u64>,
    spraying: DistinctCounter<[u8; 32], u64>,
    many_ips: DistinctCounter<String, IpAddr>,
    user_agents: DistinctCounter<IpAddr, u64>,
    admin: EventWindow<IpAddr>,
    timing: EventWindow<IpAddr>,
}

impl Default for Detectors {
    fn default() -> Self {
        Self::new(DetectorConfig::default())
    }
}

impl Detectors {
    /// Detectors with `config` (validate it first with [`DetectorConfig::validate`]).
    pub fn new(config: DetectorConfig) -> Self {
        let c = &config;
        fn distinct<K: std::hash::Hash + Eq + Clone, V: PartialEq>(
            r: Rule,
            c: &DetectorConfig,
        ) -> DistinctCounter<K, V> {
            DistinctCounter::new(r.window, r.threshold, c.max_keys, c.max_values_per_key)
        }
        let robotic_events = usize::try_from(c.robotic.threshold)
            .unwrap_or(usize::MAX)
            .clamp(3, 1000);
        let admin_events = usize::try_from(c.admin_probing.threshold.saturating_add(1))
            .unwrap_or(usize::MAX)
            .min(MAX_VALUES);
        Self {
            hasher: RandomState::new(),
            stuffing: distinct(c.stuffing, c),
            spraying: distinct(c.spraying, c),
            many_ips: distinct(c.many_ips, c),
            user_agents: distinct(c.many_user_agents, c),
            admin: EventWindow::new(c.admin_probing.window, c.max_keys, admin_events),
            timing: EventWindow::new(c.robotic.window, c.max_keys, robotic_events),
            config,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// A failed login of `account` from `ip` with a password whose keyed tag is
    /// `password_tag`. Returns the findings that fire now.
    pub fn on_failed_login(
        &mut self,
        ip: IpAddr,
        account: &str,
        password_tag: [u8; 32],
        now: OffsetDateTime,
    ) -> Vec<Finding> {
        let ip = canonical_ip(ip);
        let account = truncate(account, MAX_ACCOUNT_LEN);
        let account_hash = self.hasher.hash_one(account);
        let c = self.config;
        let mut found = Vec::new();
        if let Some(n) = self.stuffing.observe(&ip, account_hash, now) {
            found.push(finding(
                FindingKind::CredentialStuffing,
                ip.to_string(),
                n,
                format!(
                    "{n} distinct accounts failed to log in from {ip} within {}",
                    human(c.stuffing.window)
                ),
            ));
        }
        if let Some(n) = self.spraying.observe(&password_tag, account_hash, now) {
            found.push(finding(
                FindingKind::PasswordSpraying,
                n.to_string(),
                n,
                format!(
                    "one password failed against {n} distinct accounts within {}",
                    human(c.spraying.window)
                ),
            ));
        }
        if let Some(n) = self.many_ips.observe(&account.to_owned(), ip, now) {
            found.push(finding(
                FindingKind::ManyIpsOneAccount,
                account.to_owned(),
                n,
                format!(
                    "{n} distinct addresses failed to log in to {account} within {}",
                    human(c.many_ips.window)
                ),
            ));
        }
        found
    }

    /// A request from `ip`. Feed it requests from sources outside the allowlist only:
    /// monitoring on the allowlist is robotic by nature.
    pub fn on_request(
        &mut self,
        ip: IpAddr,
        user_agent: Option<&str>,
        path_is_admin: bool,
        authenticated: bool,
        now: OffsetDateTime,
    ) -> Vec<Finding> {
        let ip = canonical_ip(ip);
        let c = self.config;
        let mut found = Vec::new();
        let ua_hash = self.hasher.hash_one(user_agent);
        if let Some(n) = self.user_agents.observe(&ip, ua_hash, now) {
            found.push(finding(
                FindingKind::ManyUserAgents,
                ip.to_string(),
                n,
                format!(
                    "{n} distinct user agents from {ip} within {}",
                    human(c.many_user_agents.window)
                ),
            ));
        }
        if path_is_admin && !authenticated {
            let n = self.admin.observe(&ip, now).len() as u64;
            if n > c.admin_probing.threshold && self.admin.fire(&ip, now) {
                found.push(finding(
                    FindingKind::AdminProbing,
                    ip.to_string(),
                    n,
                    format!(
                        "{n} unauthenticated requests to admin paths from {ip} within {}",
                        human(c.admin_probing.window)
                    ),
                ));
            }
        }
        let arrivals = self.timing.observe(&ip, now);
        if arrivals.len() as u64 >= c.robotic.threshold
            && let Some((mean, cv)) = regularity(arrivals.iter().copied())
            && cv < c.robotic_max_cv
            && self.timing.fire(&ip, now)
        {
            let n = c.robotic.threshold;
            found.push(finding(
                FindingKind::RoboticTiming,
                ip.to_string(),
                n,
                format!("{n} requests from {ip} at near-constant intervals (every {mean:.2} s, variation {cv:.3})"),
            ));
        }
        found
    }

    /// Drops state older than each detector's window (also done as events arrive); call it
    /// periodically so that quiet periods release memory and spraying tags.
    pub fn prune(&mut self, now: OffsetDateTime) {
        self.stuffing.prune(now);
        self.spraying.prune(now);
        self.many_ips.prune(now);
        self.user_agents.prune(now);
        self.admin.prune(now);
        self.timing.prune(now);
    }
}

fn finding(kind: FindingKind, key: String, count: u64, message: String) -> Finding {
    Finding {
        kind,
        key,
        count,
        message,
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The mean inter-arrival time (seconds) and its coefficient of variation, if the arrivals
/// are spread out at all (a burst at one instant is the rate limiter's business).
fn regularity(arrivals: impl Iterator<Item = OffsetDateTime>) -> Option<(f64, f64)> {
    let mut prev: Option<OffsetDateTime> = None;
    let mut gaps = Vec::new();
    for t in arrivals {
        if let Some(p) = prev {
            gaps.push(elapsed(p, t).as_secs_f64());
        }
        prev = Some(t);
    }
    if gaps.is_empty() {
        return None;
    }
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return None;
    }
    let var = gaps.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / n;
    Some((mean, var.sqrt() / mean))
}

// The tests replay traffic per detector and outgrow this file: they live beside it.
#[cfg(test)]
mod tests;
