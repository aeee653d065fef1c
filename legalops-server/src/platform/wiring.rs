//! From the server's configuration to the engines' own (security, rate limits, identity,
//! scanning, alerting and incidents), the platform's housekeeping task and its alerting
//! round. Kept apart from the builder so that
//! each conversion reads as one table of keys.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use legalops_core::alerting::routing::RouteConfig;
use legalops_core::alerting::rule::{Rule, RuleFile, default_rules};
use legalops_ops::alerting::evaluator::{
    ALERT_EVALUATION_FAILURES_TOTAL, Evaluator, EvaluatorConfig, TickOutcome,
};
use legalops_ops::alerting::notifier::{Notifier, NotifierConfig, channels_from_urls};
use legalops_ops::health::HealthRegistry;
use legalops_ops::incidents::engine::{IncidentConfig, IncidentEngine};
use legalops_ops::metrics::Registry;

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
use legalops_ops::security::{SecurityConfig, SecurityEngine};

use super::signals::{SignalSource, incident_groups};
use crate::config::{Config, name_value_pairs};

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

/// The alerting pipeline of one platform: rules evaluated, alerts routed to channels,
/// critical groups turned into incidents classified by what the platform knows.
#[derive(Clone)]
pub(super) struct Alerting {
    pub(super) evaluator: Evaluator,
    pub(super) notifier: Notifier,
    pub(super) incidents: IncidentEngine,
    signals: Arc<SignalSource>,
}

/// The rules in force: `alerting.rules_file`, or the shipped ones. A file that cannot be
/// read or does not compile is an error naming the key or the rule.
pub(super) fn alert_rules(c: &Config) -> Result<Vec<Rule>> {
    match &c.alerting.rules_file {
        None => RuleFile::parse(default_rules(), "default rules"),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::invalid_config(
                    "alerting.rules_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            RuleFile::parse(&text, &path.display().to_string())
        }
    }
}

/// Builds the evaluator (holding the lease as `holder`), the notifier over the configured
/// channels, the incident engine paging the runbook's targets through them, and the
/// incident signals read from the registry and `security`'s events.
pub(super) fn alerting(
    c: &Config,
    records: &Records,
    registry: &Registry,
    health: &HealthRegistry,
    security: &SecurityEngine,
    clock: &SharedClock,
    holder: &str,
) -> Result<Alerting> {
    let external_url = c
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", c.listen));
    let a = &c.alerting;
    let evaluator = Evaluator::new(
        alert_rules(c)?,
        registry.clone(),
        records.alerts.clone(),
        records.leases.clone(),
        clock.clone(),
        holder,
        EvaluatorConfig {
            interval: Duration::from_secs(a.evaluation_interval_secs),
            external_url: external_url.clone(),
            health: Some(health.clone()),
            ..EvaluatorConfig::default()
        },
    )?;
    let pairs = name_value_pairs("alerting.channels", &a.channels)?;
    let channels = channels_from_urls(&pairs, clock.clone())?;
    let notifier = Notifier::new(
        records.alerts.clone(),
        channels.clone(),
        NotifierConfig {
            route: route_config(c),
            windows: c.alerting.maintenance_windows.clone(),
            external_url: external_url.clone(),
            ..NotifierConfig::default()
        },
        clock.clone(),
        Some(registry.clone()),
    )?;
    let mut targets = Vec::new();
    for (n, (target, channel)) in name_value_pairs(
        "incidents.escalation_targets",
        &c.incidents.escalation_targets,
    )?
    .into_iter()
    .enumerate()
    {
        let found = channels.iter().find(|(name, _)| *name == channel);
        let Some((_, ch)) = found else {
            return Err(Error::invalid_config(
                format!("incidents.escalation_targets[{n}]"),
                format!("channel {channel:?} is not in alerting.channels"),
            ));
        };
        targets.push((target, ch.clone()));
    }
    let incidents = IncidentEngine::builder(records.incidents.clone())
        .targets(targets)
        .clock(clock.clone())
        .registry(registry.clone())
        .config(IncidentConfig {
            ack_timeout: Duration::from_secs(c.incidents.ack_timeout_secs),
            external_url,
            ..IncidentConfig::default()
        })
        .build()?;
    let signals = Arc::new(SignalSource::new(
        registry.clone(),
        security.clone(),
        clock.clone(),
    ));
    Ok(Alerting {
        evaluator,
        notifier,
        incidents,
        signals,
    })
}

/// The notifier's grouping and timers from `[alerting]`.
pub(super) fn route_config(c: &Config) -> RouteConfig {
    let a = &c.alerting;
    RouteConfig {
        group_by: a.group_by.clone(),
        group_wait: Duration::from_secs(a.group_wait_secs),
        group_interval: Duration::from_secs(a.group_interval_secs),
        repeat_interval: Duration::from_secs(a.repeat_interval_secs),
    }
}

impl Alerting {
    /// One round: evaluate; if this replica evaluated, notify the due groups and hand
    /// each group of alerts to the incident engine with the round's signals (windowed
    /// error rates, failing checks, security breach: see `signals`), leaving out what
    /// silences, maintenance windows and inhibition mute; then run escalations and ack
    /// timeouts. A failing stage is logged and the later ones still run (an unreachable
    /// channel must not stop incidents from opening); the first error is returned.
    pub(super) async fn run_once(&self) -> Result<TickOutcome> {
        let outcome = self.evaluator.tick().await?;
        let mut first_err = None;
        if outcome.evaluated {
            if let Err(e) = self.notifier.process(&outcome.alerts).await {
                tracing::warn!(error = %e, "alert notification failed; retrying next round");
                first_err.get_or_insert(e);
            }
            let signals = self.signals.gather().await;
            // What cannot be muted-checked is paged: a missed page is worse than one that
            // a silence should have stopped.
            let muted: BTreeSet<String> = match self.notifier.muted(&outcome.alerts).await {
                Ok(m) => m.into_iter().map(|m| m.fingerprint).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read silences; paging regardless");
                    first_err.get_or_insert(e);
                    BTreeSet::new()
                }
            };
            let group_by = &self.notifier.config().route.group_by;
            for group in incident_groups(&outcome.alerts, group_by, &muted) {
                let mut signals = signals.clone();
                // A breach raises a critical group to Sev1; it must not make every other
                // firing group (the Watchdog) an incident of its own.
                signals.security_breach &= group.critical;
                if let Err(e) = self
                    .incidents
                    .on_alert_group(&group.key, &group.alerts, &signals)
                    .await
                {
                    tracing::warn!(error = %e, group = %group.key, "incident update failed; retrying next round");
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Err(e) = self.incidents.tick().await {
            tracing::warn!(error = %e, "incident escalation failed; retrying next round");
            first_err.get_or_insert(e);
        }
        match first_err {
            None => Ok(outcome),
            Some(e) => Err(e),
        }
    }
}

/// Runs [`Alerting::run_once`] every `interval` until aborted; failures are logged and
/// counted, and the next round tries again.
pub(super) fn spawn_alerting(
    alerting: Alerting,
    interval: Duration,
    registry: &Registry,
) -> tokio::task::JoinHandle<()> {
    let failures = registry.counter(ALERT_EVALUATION_FAILURES_TOTAL, &[]);
    let interval = interval.max(Duration::from_millis(1));
    tokio::spawn(async move {
        // The first round one interval after start (states were loaded by the build), so
        // a caller driving rounds itself right after the build is never raced.
        let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            timer.tick().await;
            if let Err(e) = alerting.run_once().await {
                failures.increment(1);
                tracing::warn!(error = %e, "alerting round failed");
            }
        }
    })
}
