//! From the server's configuration to the engines' own (security, rate limits, identity,
//! scanning), and the platform's housekeeping task. Kept apart from the builder so that
//! each conversion reads as one table of keys.

use std::sync::Arc;
use std::time::Duration;

use legalops_core::records::Records;
use legalops_core::scan::Scanner;
use legalops_core::scan::builtin::{BuiltinScanner, ScanPolicy};
use legalops_core::security::rules::{BanPolicy, LockoutPolicy};
use legalops_core::{Error, Result, SharedClock};
use legalops_ops::identity::{Argon2Params, IdentityConfig};
use legalops_ops::ratelimit::{
    GROUP_API, GROUP_AUTH, GROUP_FORMATIONS, GROUP_UPLOADS, Quota, RateLimitConfig, RateLimiter,
};
use legalops_ops::scan::{ChainScanner, ClamdScanner};
use legalops_ops::security::SecurityConfig;

use crate::config::Config;

/// Sessions that ended (expired or revoked) are deleted this long after (their history is
/// in the audit trail).
const SESSION_KEEP: time::Duration = time::Duration::days(30);
/// Failed logins are security logs: kept 3 years (legal-domain.md, retention of records).
const FAILED_LOGIN_KEEP: time::Duration = time::Duration::days(3 * 365 + 1);
/// How often housekeeping runs.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

/// Every 10 minutes: forget idle rate-limit subjects, delete long-ended sessions and
/// failed logins past their retention. Failures are logged and retried next round.
pub(super) fn spawn_housekeeping(
    records: Records,
    limiter: RateLimiter,
    clock: SharedClock,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = clock.now();
            let swept = limiter.sweep();
            let sessions = records.sessions.prune_sessions(now - SESSION_KEEP).await;
            let failed = records
                .security
                .prune_failed_logins(now - FAILED_LOGIN_KEEP)
                .await;
            match (sessions, failed) {
                (Ok(s), Ok(f)) => {
                    tracing::debug!(swept, sessions = s, failed_logins = f, "housekeeping")
                }
                (s, f) => {
                    tracing::warn!(sessions = ?s.err(), failed_logins = ?f.err(), "housekeeping failed; retrying next round")
                }
            }
        }
    })
}

pub(super) fn security_config(c: &Config) -> Result<SecurityConfig> {
    let s = &c.security;
    let secs = Duration::from_secs;
    let mut config = SecurityConfig {
        ban: BanPolicy {
            max_failures: s.ban_max_failures,
            find_time: secs(s.ban_find_time_secs),
            ban_time: secs(s.ban_time_secs),
            increment_factor: u32::try_from(s.ban_increment_factor).map_err(|_| {
                Error::invalid_config("security.ban_increment_factor", "is too large")
            })?,
            max_ban_time: secs(s.ban_max_time_secs),
        },
        lockout: LockoutPolicy {
            threshold: s.lockout_threshold,
            window: secs(s.lockout_window_secs),
            lockout: secs(s.lockout_secs),
            ..LockoutPolicy::default()
        },
        allowlist: s.allowlist.clone(),
        dos_tightening: c.rate_limits.dos_factor,
        ..SecurityConfig::default()
    };
    // Requests without a known peer (a router called in-process by an embedding service)
    // come from 0.0.0.0: never ban that, or every such request would be refused.
    config.allowlist.push("0.0.0.0/32".to_owned());
    Ok(config)
}

pub(super) fn rate_limit_config(c: &Config) -> RateLimitConfig {
    let r = &c.rate_limits;
    let mut config = RateLimitConfig::default();
    for (group, per_minute) in [
        (GROUP_AUTH, r.auth_per_minute),
        (GROUP_API, r.api_per_minute),
        (GROUP_UPLOADS, r.uploads_per_minute),
        (GROUP_FORMATIONS, r.formations_per_minute),
    ] {
        config.groups.insert(
            group.to_owned(),
            Quota::per_minute(u32::try_from(per_minute).unwrap_or(u32::MAX)),
        );
    }
    config
}

pub(super) fn identity_config(c: &Config) -> IdentityConfig {
    let i = &c.identity;
    IdentityConfig {
        session_lifetime: Duration::from_secs(i.session_lifetime_secs),
        idle_timeout: Duration::from_secs(i.idle_timeout_secs),
        max_sessions_per_user: usize::try_from(i.max_sessions_per_user).unwrap_or(usize::MAX),
        argon2: Argon2Params {
            memory_kib: u32::try_from(i.argon2_memory_kib).unwrap_or(u32::MAX),
            iterations: u32::try_from(i.argon2_iterations).unwrap_or(u32::MAX),
            parallelism: 1,
        },
        ..IdentityConfig::default()
    }
}

pub(super) fn scanner(c: &Config) -> Result<Arc<dyn Scanner>> {
    let builtin: Arc<dyn Scanner> = Arc::new(BuiltinScanner::new(ScanPolicy {
        max_bytes: c.uploads.max_bytes,
        ..ScanPolicy::default()
    }));
    Ok(match &c.uploads.clamd_url {
        None => builtin,
        Some(url) => Arc::new(ChainScanner::new(vec![
            builtin,
            Arc::new(ClamdScanner::from_url(url)?),
        ])?),
    })
}
