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
