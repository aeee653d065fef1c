//! The configuration's sections below the top level: logging, identity, security, rate
//! limits, uploads and the audit trail. Defaults are the business's own numbers
//! (legal-domain.md, "Security defaults") and fail2ban's where the business gives none.

use serde::{Deserialize, Serialize};

/// How log lines are written to standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON lines when stdout is not a terminal, human-readable when it is.
    Auto,
    /// Always JSON lines.
    Json,
    /// Always human-readable.
    Pretty,
}

/// When the log file starts a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogRotation {
    /// At midnight UTC.
    Daily,
    /// When the file reaches `log.max_size_mb`.
    Size,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Standard output format.
    pub format: LogFormat,
    /// A `tracing` filter (`info`, `legalops=debug,info`).
    pub level: String,
    /// Write JSON lines to files under `<data_dir>/logs` too.
    pub file: bool,
    /// When the file rotates.
    pub rotation: LogRotation,
    /// Size limit of one file for `rotation = "size"`.
    pub max_size_mb: u64,
    /// How many rotated files are kept.
    pub keep: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Auto,
            level: "info".to_owned(),
            file: true,
            rotation: LogRotation::Daily,
            max_size_mb: 100,
            keep: 14,
        }
    }
}

/// Logins, sessions and API keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// Absolute session lifetime (24 h).
    pub session_lifetime_secs: u64,
    /// Idle logout (2 h).
    pub idle_timeout_secs: u64,
    /// Sessions a user may hold; the oldest is revoked beyond it (10).
    pub max_sessions_per_user: u64,
    /// argon2id memory cost in KiB (19456, OWASP).
    pub argon2_memory_kib: u64,
    /// argon2id passes (2, OWASP).
    pub argon2_iterations: u64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            session_lifetime_secs: 24 * 3600,
            idle_timeout_secs: 2 * 3600,
            max_sessions_per_user: 10,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
        }
    }
}

/// Failed logins, bans, lockouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Addresses and ranges never blocked (fail2ban `ignoreip`).
    pub allowlist: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed; empty = use the peer address.
    pub trusted_proxies: Vec<String>,
    /// An address is banned when its failures in the window exceed this (5).
    pub ban_max_failures: u64,
    /// The failure window (15 min).
    pub ban_find_time_secs: u64,
    /// The first ban's length (10 min).
    pub ban_time_secs: u64,
    /// Each repeat ban is this many times longer (2).
    pub ban_increment_factor: u64,
    /// The longest ban (7 days).
    pub ban_max_time_secs: u64,
    /// Failures on one account in the window that lock it (5).
    pub lockout_threshold: u64,
    /// The account failure window (15 min).
    pub lockout_window_secs: u64,
    /// The first lockout's length (15 min).
    pub lockout_secs: u64,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            allowlist: vec!["127.0.0.0/8".to_owned(), "::1/128".to_owned()],
            trusted_proxies: Vec::new(),
            ban_max_failures: 5,
            ban_find_time_secs: 15 * 60,
            ban_time_secs: 10 * 60,
            ban_increment_factor: 2,
            ban_max_time_secs: 7 * 24 * 3600,
            lockout_threshold: 5,
            lockout_window_secs: 15 * 60,
            lockout_secs: 15 * 60,
        }
    }
}

/// Requests per minute by route group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitsConfig {
    /// Login and registration, per IP (5).
    pub auth_per_minute: u64,
    /// Every other API route, per IP (100).
    pub api_per_minute: u64,
    /// Uploads, per user (10).
    pub uploads_per_minute: u64,
    /// Business formations, per user (5).
    pub formations_per_minute: u64,
    /// DoS mode multiplies every limit by this (0.2).
    pub dos_factor: f64,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        Self {
            auth_per_minute: 5,
            api_per_minute: 100,
            uploads_per_minute: 10,
            formations_per_minute: 5,
            dos_factor: 0.2,
        }
    }
}

/// Uploaded files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadsConfig {
    /// Largest accepted file (10 MiB).
    pub max_bytes: u64,
    /// A clamd to scan with as well (`tcp://127.0.0.1:3310`); none by default.
    pub clamd_url: Option<String>,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            clamd_url: None,
        }
    }
}

/// The audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// How often a Merkle checkpoint is taken (5 min).
    pub checkpoint_interval_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_interval_secs: 300,
        }
    }
}

/// Alert rules, their evaluation, and where notifications go (docs/design/alerting.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    /// A TOML rule file; unset: the rules that ship (every runbook threshold).
    pub rules_file: Option<std::path::PathBuf>,
    /// Time between two evaluations of every rule (15 s).
    pub evaluation_interval_secs: u64,
    /// Notification channels as `name=url` (`log:`, `memory:`, `webhook+https://...`,
    /// `slack+https://...`, `pagerduty://KEY`, `alertmanager+http://...`, `smtp://...`).
    pub channels: Vec<String>,
    /// Labels whose values form a notification group (`["alertname"]`).
    pub group_by: Vec<String>,
    /// How long a new group waits before its first notification (30 s).
    pub group_wait_secs: u64,
    /// The least time between two notifications of a changed group (5 min).
    pub group_interval_secs: u64,
    /// How often an unchanged firing group is re-sent (4 h).
    pub repeat_interval_secs: u64,
    /// Maintenance windows: recurring times that mute matching alerts (notification and
    /// paging). Set in the config file only, as `[[alerting.maintenance_windows]]` tables:
    /// `name`, `weekdays = ["sun"]`, `start = "02:00"`, `end = "04:00"`,
    /// `timezone = "America/New_York"`, optional `matchers`.
    pub maintenance_windows: Vec<legalops_core::alerting::routing::MaintenanceWindow>,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        Self {
            rules_file: None,
            evaluation_interval_secs: 15,
            channels: vec!["log=log:".to_owned(), "dashboard=memory:".to_owned()],
            group_by: vec!["alertname".to_owned()],
            group_wait_secs: 30,
            group_interval_secs: 300,
            repeat_interval_secs: 4 * 3600,
            maintenance_windows: Vec::new(),
        }
    }
}

/// Incidents opened from critical alerts, and who is paged when nobody acknowledges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// An acknowledged incident not being investigated after this goes back to
    /// triggered (30 min, PagerDuty's default).
    pub ack_timeout_secs: u64,
    /// The runbook policy's targets (`oncall-primary`, `oncall-secondary`,
    /// `engineering-manager`) as `target=channel`, the channel named in
    /// `alerting.channels` (default: all three to `log`).
    pub escalation_targets: Vec<String>,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        Self {
            ack_timeout_secs: 30 * 60,
            escalation_targets: vec![
                "oncall-primary=log".to_owned(),
                "oncall-secondary=log".to_owned(),
                "engineering-manager=log".to_owned(),
            ],
        }
    }
}

/// Splits `name=value` entries of list key `key`; the error names the entry
/// (`alerting.channels[1]`) and the rule.
pub fn name_value_pairs(
    key: &str,
    entries: &[String],
) -> legalops_core::Result<Vec<(String, String)>> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| match entry.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
                Ok((name.trim().to_owned(), value.trim().to_owned()))
            }
            _ => Err(legalops_core::Error::invalid_config(
                format!("{key}[{i}]"),
                "must be NAME=VALUE",
            )),
        })
        .collect()
}

/// The runbook escalation policy's target names, each of which must map to a channel.
pub const ESCALATION_TARGETS: [&str; 3] =
    ["oncall-primary", "oncall-secondary", "engineering-manager"];

/// Checks `[alerting]` and `[incidents]`; the error names the key. Channel URLs are
/// checked when the platform builds them (`alerting.channels.<name>`).
pub(super) fn validate_alerting(
    a: &AlertingConfig,
    i: &IncidentsConfig,
) -> legalops_core::Result<()> {
    use legalops_core::Error;
    if !(1..=3600).contains(&a.evaluation_interval_secs) {
        return Err(Error::invalid_config(
            "alerting.evaluation_interval_secs",
            "must be between 1 and 3600",
        ));
    }
    let channels = name_value_pairs("alerting.channels", &a.channels)?;
    for (n, (name, _)) in channels.iter().enumerate() {
        if channels[..n].iter().any(|(other, _)| other == name) {
            return Err(Error::invalid_config(
                format!("alerting.channels[{n}]"),
                format!("channel {name:?} is defined twice"),
            ));
        }
    }
    if a.group_by.is_empty() {
        return Err(Error::invalid_config(
            "alerting.group_by",
            "needs at least one label (or \"...\" for all)",
        ));
    }
    if a.group_interval_secs == 0 {
        return Err(Error::invalid_config(
            "alerting.group_interval_secs",
            "must be at least 1",
        ));
    }
    if a.repeat_interval_secs < a.group_interval_secs {
        return Err(Error::invalid_config(
            "alerting.repeat_interval_secs",
            "must be at least alerting.group_interval_secs",
        ));
    }
    if i.ack_timeout_secs == 0 || i.ack_timeout_secs > 30 * 24 * 3600 {
        return Err(Error::invalid_config(
            "incidents.ack_timeout_secs",
            "must be between 1 and 2592000 (30 days)",
        ));
    }
    let targets = name_value_pairs("incidents.escalation_targets", &i.escalation_targets)?;
    for (n, (target, channel)) in targets.iter().enumerate() {
        if !channels.iter().any(|(name, _)| name == channel) {
            return Err(Error::invalid_config(
                format!("incidents.escalation_targets[{n}]"),
                format!("channel {channel:?} is not in alerting.channels"),
            ));
        }
        if targets[..n].iter().any(|(other, _)| other == target) {
            return Err(Error::invalid_config(
                format!("incidents.escalation_targets[{n}]"),
                format!("target {target:?} is mapped twice"),
            ));
        }
    }
    if let Some(missing) = ESCALATION_TARGETS
        .iter()
        .find(|t| !targets.iter().any(|(name, _)| name == *t))
    {
        return Err(Error::invalid_config(
            "incidents.escalation_targets",
            format!("the runbook policy pages {missing:?}: map it to a channel"),
        ));
    }
    Ok(())
}
