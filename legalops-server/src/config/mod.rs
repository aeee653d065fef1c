//! The server's configuration: one set of keys, read from `legalops.toml`, then
//! `LEGALOPS_*` environment variables, then command-line flags, each later source
//! overriding the earlier. Every source goes through [`Config::set`], so a key means the
//! same thing and is validated the same way wherever it comes from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use legalops_core::redact::{REDACTED, redact_url};
use legalops_core::{Error, Result};
use serde::{Deserialize, Serialize};

mod sections;

pub use sections::{
    AlertingConfig, AuditConfig, ESCALATION_TARGETS, IdentityConfig, IncidentsConfig, LogConfig,
    LogFormat, LogRotation, RateLimitsConfig, SecurityConfig, UploadsConfig, name_value_pairs,
};

/// The file read when no `--config` / `LEGALOPS_CONFIG` is given (if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "legalops.toml";
/// Environment variables starting with this prefix set keys (`LEGALOPS_LOG_LEVEL` sets
/// `log.level`; see [`Config::env_key`]).
pub const ENV_PREFIX: &str = "LEGALOPS_";

/// The whole configuration of `legalops serve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Where embedded defaults keep their files (database, documents, logs).
    pub data_dir: PathBuf,
    /// Records backend: `sqlite://FILE`, `sqlite::memory:` or `postgres://...`.
    /// Default: `sqlite://<data_dir>/legalops.db`.
    pub database_url: Option<String>,
    /// Document store: `file:///DIR` or `memory://`. Default: `<data_dir>/documents`.
    pub documents_url: Option<String>,
    /// The admin bearer token. When unset, the first start generates one, stores its hash
    /// in the records store and prints it once.
    pub admin_token: Option<String>,
    /// Serve `/metrics` without the admin token (for a scraper on a private network).
    pub metrics_public: bool,
    /// How long one health check may take before it counts as failed.
    pub health_timeout_ms: u64,
    /// How long in-flight requests may run after SIGTERM before the process exits.
    pub shutdown_grace_secs: u64,
    /// How often metrics are rolled up into the records store.
    pub rollup_interval_secs: u64,
    /// The URL operators reach this server at (used in links in notifications).
    pub external_url: Option<String>,
    /// Logging.
    pub log: LogConfig,
    /// Logins, sessions and API keys.
    pub identity: IdentityConfig,
    /// Failed logins, bans, lockouts, allowlist, proxies.
    pub security: SecurityConfig,
    /// Request rate limits per route group.
    pub rate_limits: RateLimitsConfig,
    /// Uploaded files.
    pub uploads: UploadsConfig,
    /// The audit trail.
    pub audit: AuditConfig,
    /// Alert rules, evaluation and notification channels.
    pub alerting: AlertingConfig,
    /// Incidents and their escalation.
    pub incidents: IncidentsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            documents_url: None,
            admin_token: None,
            metrics_public: false,
            health_timeout_ms: 1000,
            shutdown_grace_secs: 30,
            rollup_interval_secs: 60,
            external_url: None,
            log: LogConfig::default(),
            identity: IdentityConfig::default(),
            security: SecurityConfig::default(),
            rate_limits: RateLimitsConfig::default(),
            uploads: UploadsConfig::default(),
            audit: AuditConfig::default(),
            alerting: AlertingConfig::default(),
            incidents: IncidentsConfig::default(),
        }
    }
}

/// Every key [`Config::set`] accepts, in dotted form.
pub const KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "documents_url",
    "admin_token",
    "metrics_public",
    "health_timeout_ms",
    "shutdown_grace_secs",
    "rollup_interval_secs",
    "external_url",
    "log.format",
    "log.level",
    "log.file",
    "log.rotation",
    "log.max_size_mb",
    "log.keep",
    "identity.session_lifetime_secs",
    "identity.idle_timeout_secs",
    "identity.max_sessions_per_user",
    "identity.argon2_memory_kib",
    "identity.argon2_iterations",
    "security.allowlist",
    "security.trusted_proxies",
    "security.ban_max_failures",
    "security.ban_find_time_secs",
    "security.ban_time_secs",
    "security.ban_increment_factor",
    "security.ban_max_time_secs",
    "security.lockout_threshold",
    "security.lockout_window_secs",
    "security.lockout_secs",
    "rate_limits.auth_per_minute",
    "rate_limits.api_per_minute",
    "rate_limits.uploads_per_minute",
    "rate_limits.formations_per_minute",
    "rate_limits.dos_factor",
    "uploads.max_bytes",
    "uploads.clamd_url",
    "audit.checkpoint_interval_secs",
    "alerting.rules_file",
    "alerting.evaluation_interval_secs",
    "alerting.channels",
    "alerting.group_by",
    "alerting.group_wait_secs",
    "alerting.group_interval_secs",
    "alerting.repeat_interval_secs",
    "incidents.ack_timeout_secs",
    "incidents.escalation_targets",
];

/// The sections whose keys an environment variable names with an underscore
/// (`LEGALOPS_RATE_LIMITS_AUTH_PER_MINUTE` sets `rate_limits.auth_per_minute`).
pub const SECTIONS: &[&str] = &[
    "log",
    "identity",
    "security",
    "rate_limits",
    "uploads",
    "audit",
    "alerting",
    "incidents",
];

impl Config {
    /// Parses a TOML document; an unknown key or a wrong type names the key.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let config: Self = toml::from_str(text).map_err(|e| {
            Error::invalid_config(origin, e.message().to_owned() + &span_hint(text, e.span()))
        })?;
        Ok(config)
    }

    /// Reads `path` as a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid_config("config", format!("cannot read {}: {e}", path.display()))
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The key an environment variable sets: `LEGALOPS_LOG_LEVEL` -> `log.level`. `None`
    /// for variables that are not config keys (`LEGALOPS_CONFIG`, `LEGALOPS_TEST_*`).
    pub fn env_key(var: &str) -> Option<String> {
        let rest = var.strip_prefix(ENV_PREFIX)?.to_ascii_lowercase();
        if rest == "config" || rest.starts_with("test_") {
            return None;
        }
        for section in SECTIONS {
            if let Some(leaf) = rest.strip_prefix(section).and_then(|r| r.strip_prefix('_')) {
                return Some(format!("{section}.{leaf}"));
            }
        }
        Some(rest)
    }

    /// Applies every `LEGALOPS_*` variable of `vars`; the error names the variable.
    pub fn apply_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) -> Result<()> {
        for (var, value) in vars {
            if let Some(key) = Self::env_key(&var) {
                self.set(&key, &value).map_err(|e| match e {
                    Error::InvalidConfig { message, .. } => {
                        Error::invalid_config(var.clone(), message)
                    }
                    other => other,
                })?;
            }
        }
        Ok(())
    }

    /// Sets one key from its text form: the one path for environment variables and flags.
    /// The value is read as the type the key has (number, boolean, a comma-separated list,
    /// text); an empty value unsets an optional key. The error names the key and the rule.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if !KEYS.contains(&key) {
            return Err(Error::invalid_config(
                key,
                format!("unknown key; known keys: {}", KEYS.join(", ")),
            ));
        }
        let mut tree = toml::Table::try_from(&*self).map_err(|e| {
            Error::invalid_config(key, format!("cannot represent the configuration: {e}"))
        })?;
        let (section, leaf) = match key.split_once('.') {
            Some((section, leaf)) => (Some(section), leaf),
            None => (None, key),
        };
        let table = match section {
            None => &mut tree,
            Some(name) => match tree
                .entry(name.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            {
                toml::Value::Table(t) => t,
                _ => return Err(Error::invalid_config(key, "is not a section")),
            },
        };
        let number_rule =
            || Error::invalid_config(key, format!("must be a whole number (got {value:?})"));
        let new = match table.get(leaf) {
            Some(toml::Value::Integer(_)) => Some(toml::Value::Integer(
                value
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(number_rule)?,
            )),
            Some(toml::Value::Float(_)) => {
                Some(toml::Value::Float(value.trim().parse::<f64>().map_err(
                    |_| Error::invalid_config(key, format!("must be a number (got {value:?})")),
                )?))
            }
            Some(toml::Value::Boolean(_)) => Some(toml::Value::Boolean(parse_bool(key, value)?)),
            Some(toml::Value::Array(_)) => Some(toml::Value::Array(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| toml::Value::String(v.to_owned()))
                    .collect(),
            )),
            // Text, or an optional key that is unset now: empty unsets it.
            _ => (!value.is_empty()).then(|| toml::Value::String(value.to_owned())),
        };
        match new {
            Some(v) => table.insert(leaf.to_owned(), v),
            None => table.remove(leaf),
        };
        *self = Self::deserialize(tree)
            .map_err(|e| Error::invalid_config(key, e.message().to_owned()))?;
        Ok(())
    }

    /// Checks every rule; the error names the first key that breaks one.
    pub fn validate(&self) -> Result<()> {
        self.listen_addr()?;
        if self.data_dir.as_os_str().is_empty() {
            return Err(Error::invalid_config("data_dir", "must not be empty"));
        }
        let db = self.database_url();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err(Error::invalid_config(
                "database_url",
                format!(
                    "must start with sqlite: or postgres:// (got {})",
                    redact_url(&db)
                ),
            ));
        }
        let docs = self.documents_url();
        if !docs.contains("://") {
            return Err(Error::invalid_config(
                "documents_url",
                "must be a URL such as file:///srv/docs or memory://",
            ));
        }
        if let Some(token) = &self.admin_token
            && token.len() < 16
        {
            return Err(Error::invalid_config(
                "admin_token",
                "must be at least 16 characters",
            ));
        }
        if !(10..=60_000).contains(&self.health_timeout_ms) {
            return Err(Error::invalid_config(
                "health_timeout_ms",
                "must be between 10 and 60000",
            ));
        }
        if self.shutdown_grace_secs > 3600 {
            return Err(Error::invalid_config(
                "shutdown_grace_secs",
                "must be at most 3600",
            ));
        }
        if !(1..=3600).contains(&self.rollup_interval_secs) {
            return Err(Error::invalid_config(
                "rollup_interval_secs",
                "must be between 1 and 3600",
            ));
        }
        if self.log.keep == 0 {
            return Err(Error::invalid_config("log.keep", "must be at least 1"));
        }
        if self.log.max_size_mb == 0 {
            return Err(Error::invalid_config(
                "log.max_size_mb",
                "must be at least 1",
            ));
        }
        self.validate_sections()?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level).map_err(|e| {
            Error::invalid_config("log.level", format!("not a tracing filter: {e}"))
        })?;
        Ok(())
    }

    fn validate_sections(&self) -> Result<()> {
        let positive = |key: &str, v: u64| {
            if v == 0 {
                Err(Error::invalid_config(key, "must be at least 1"))
            } else {
                Ok(())
            }
        };
        legalops_core::alerting::routing::validate_windows(&self.alerting.maintenance_windows)?;
        let id = &self.identity;
        positive("identity.session_lifetime_secs", id.session_lifetime_secs)?;
        positive("identity.idle_timeout_secs", id.idle_timeout_secs)?;
        positive("identity.max_sessions_per_user", id.max_sessions_per_user)?;
        if id.idle_timeout_secs > id.session_lifetime_secs {
            return Err(Error::invalid_config(
                "identity.idle_timeout_secs",
                "must not exceed identity.session_lifetime_secs",
            ));
        }
        let sec = &self.security;
        for (name, list) in [
            ("security.allowlist", &sec.allowlist),
            ("security.trusted_proxies", &sec.trusted_proxies),
        ] {
            for (i, entry) in list.iter().enumerate() {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        Error::invalid_config(
                            format!("{name}[{i}]"),
                            format!("{entry:?} is not an IP address or CIDR range"),
                        )
                    })?;
            }
        }
        positive("security.ban_max_failures", sec.ban_max_failures)?;
        positive("security.ban_find_time_secs", sec.ban_find_time_secs)?;
        positive("security.ban_time_secs", sec.ban_time_secs)?;
        positive("security.ban_increment_factor", sec.ban_increment_factor)?;
        if sec.ban_max_time_secs < sec.ban_time_secs {
            return Err(Error::invalid_config(
                "security.ban_max_time_secs",
                "must be at least security.ban_time_secs",
            ));
        }
        positive("security.lockout_threshold", sec.lockout_threshold)?;
        positive("security.lockout_window_secs", sec.lockout_window_secs)?;
        positive("security.lockout_secs", sec.lockout_secs)?;
        let rl = &self.rate_limits;
        positive("rate_limits.auth_per_minute", rl.auth_per_minute)?;
        positive("rate_limits.api_per_minute", rl.api_per_minute)?;
        positive("rate_limits.uploads_per_minute", rl.uploads_per_minute)?;
        positive(
            "rate_limits.formations_per_minute",
            rl.formations_per_minute,
        )?;
        if !(rl.dos_factor > 0.0 && rl.dos_factor <= 1.0) {
            return Err(Error::invalid_config(
                "rate_limits.dos_factor",
                "must be greater than 0 and at most 1",
            ));
        }
        if !(1..=1 << 30).contains(&self.uploads.max_bytes) {
            return Err(Error::invalid_config(
                "uploads.max_bytes",
                "must be between 1 byte and 1 GiB",
            ));
        }
        if let Some(url) = &self.uploads.clamd_url
            && !url.starts_with("tcp://")
        {
            return Err(Error::invalid_config(
                "uploads.clamd_url",
                "must be tcp://HOST:PORT",
            ));
        }
        positive(
            "audit.checkpoint_interval_secs",
            self.audit.checkpoint_interval_secs,
        )?;
        sections::validate_alerting(&self.alerting, &self.incidents)
    }

    /// The listen address, parsed.
    pub fn listen_addr(&self) -> Result<SocketAddr> {
        self.listen.parse().map_err(|_| {
            Error::invalid_config(
                "listen",
                format!(
                    "must be host:port, e.g. 127.0.0.1:8080 (got {:?})",
                    self.listen
                ),
            )
        })
    }

    /// The records URL, with the default filled in.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("legalops.db").display()))
    }

    /// The documents URL, with the default filled in (an absolute `file://` URL).
    pub fn documents_url(&self) -> String {
        self.documents_url.clone().unwrap_or_else(|| {
            let dir = self.data_dir.join("documents");
            let abs = std::path::absolute(&dir).unwrap_or(dir);
            format!("file://{}", abs.display())
        })
    }

    /// The health check timeout.
    pub fn health_timeout(&self) -> Duration {
        Duration::from_millis(self.health_timeout_ms)
    }

    /// The effective configuration as TOML, defaults filled in and secrets masked: what
    /// `legalops config check` prints.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = Some(redact_url(&self.database_url()));
        shown.documents_url = Some(redact_url(&self.documents_url()));
        if shown.admin_token.is_some() {
            shown.admin_token = Some(REDACTED.to_owned());
        }
        // Serialising plain data with string keys cannot fail.
        toml::to_string_pretty(&shown).unwrap_or_default()
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::invalid_config(
            key,
            format!("must be true or false (got {value:?})"),
        )),
    }
}

fn span_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        format!(
            " (line {})",
            text[..s.start.min(text.len())].lines().count().max(1)
        )
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_valid_and_embedded() {
        let c = Config::default();
        c.validate().expect("defaults must validate");
        assert_eq!(c.listen_addr().ok(), "127.0.0.1:8080".parse().ok());
        assert!(c.database_url().starts_with("sqlite://"));
        assert!(c.documents_url().starts_with("file:///"));
    }

    #[test]
    fn env_overrides_file_and_names_the_variable_on_error() {
        let mut c = Config::from_toml("listen = \"0.0.0.0:9000\"\n[log]\nlevel = \"debug\"\n", "t")
            .expect("parses");
        c.apply_env(vars(&[
            ("LEGALOPS_LISTEN", "127.0.0.1:9999"),
            ("LEGALOPS_LOG_FORMAT", "json"),
            ("LEGALOPS_CONFIG", "ignored.toml"),
            ("PATH", "/bin"),
        ]))
        .expect("valid env");
        assert_eq!(c.listen, "127.0.0.1:9999");
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.log.level, "debug");
        let err = c
            .apply_env(vars(&[("LEGALOPS_METRICS_PUBLIC", "maybe")]))
            .expect_err("bad bool");
        assert!(err.to_string().contains("LEGALOPS_METRICS_PUBLIC"), "{err}");
        let err = c
            .apply_env(vars(&[("LEGALOPS_LISTNE", "x")]))
            .expect_err("typo");
        assert!(err.to_string().contains("unknown key"), "{err}");
    }

    #[test]
    fn invalid_values_name_key_and_rule() {
        let cases: &[(&str, &str, &str)] = &[
            ("listen", "localhost", "listen"),
            ("database_url", "mysql://x", "database_url"),
            ("admin_token", "short", "admin_token"),
            ("health_timeout_ms", "0", "health_timeout_ms"),
            ("log.level", "info,[", "log.level"),
            ("log.keep", "0", "log.keep"),
        ];
        for (key, value, named) in cases {
            let mut c = Config::default();
            c.set(key, value).expect("settable");
            let err = c.validate().expect_err(key);
            assert!(
                matches!(&err, Error::InvalidConfig { key, .. } if key == named),
                "{err}"
            );
        }
    }

    #[test]
    fn every_key_is_settable_by_its_type() {
        let mut c = Config::default();
        c.apply_env(vars(&[
            ("LEGALOPS_RATE_LIMITS_AUTH_PER_MINUTE", "7"),
            ("LEGALOPS_RATE_LIMITS_DOS_FACTOR", "0.5"),
            ("LEGALOPS_SECURITY_ALLOWLIST", "10.0.0.0/8, 192.0.2.7"),
            ("LEGALOPS_UPLOADS_CLAMD_URL", "tcp://127.0.0.1:3310"),
            ("LEGALOPS_LOG_ROTATION", "size"),
        ]))
        .expect("typed values");
        assert_eq!(c.rate_limits.auth_per_minute, 7);
        assert_eq!(c.rate_limits.dos_factor, 0.5);
        assert_eq!(c.security.allowlist, vec!["10.0.0.0/8", "192.0.2.7"]);
        assert_eq!(c.uploads.clamd_url.as_deref(), Some("tcp://127.0.0.1:3310"));
        assert_eq!(c.log.rotation, LogRotation::Size);
        c.validate().expect("valid");
        c.set("uploads.clamd_url", "").expect("empty unsets");
        assert_eq!(c.uploads.clamd_url, None);
        for key in KEYS {
            let mut d = Config::default();
            let probe = match *key {
                "listen" => "127.0.0.1:1",
                "log.format" => "json",
                "log.rotation" => "daily",
                "rate_limits.dos_factor" => "0.3",
                "metrics_public" | "log.file" => "true",
                k if k.starts_with("security.allowlist") || k.starts_with("security.trusted") => {
                    "192.0.2.1"
                }
                "uploads.clamd_url" => "tcp://127.0.0.1:3310",
                "admin_token" => "0123456789abcdef0123",
                "database_url" => "sqlite::memory:",
                "documents_url" => "memory://",
                "log.level" | "data_dir" | "external_url" => "x",
                _ => "3",
            };
            d.set(key, probe).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }

    #[test]
    fn section_rules_name_their_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "security.allowlist",
                "10.0.0.0/8,not-an-ip",
                "security.allowlist[1]",
            ),
            ("rate_limits.dos_factor", "1.5", "rate_limits.dos_factor"),
            (
                "rate_limits.auth_per_minute",
                "0",
                "rate_limits.auth_per_minute",
            ),
            ("uploads.clamd_url", "http://x", "uploads.clamd_url"),
            (
                "identity.idle_timeout_secs",
                "999999",
                "identity.idle_timeout_secs",
            ),
            (
                "alerting.channels",
                "log=log:,broken",
                "alerting.channels[1]",
            ),
            (
                "alerting.evaluation_interval_secs",
                "0",
                "alerting.evaluation_interval_secs",
            ),
            (
                "incidents.escalation_targets",
                "oncall-primary=pager,oncall-secondary=log,engineering-manager=log",
                "incidents.escalation_targets[0]",
            ),
            (
                "incidents.escalation_targets",
                "oncall-primary=log",
                "incidents.escalation_targets",
            ),
            (
                "incidents.ack_timeout_secs",
                "0",
                "incidents.ack_timeout_secs",
            ),
        ];
        for (key, value, named) in cases {
            let mut c = Config::default();
            c.set(key, value).expect("settable");
            let err = c.validate().expect_err(key);
            assert!(
                matches!(&err, Error::InvalidConfig { key, .. } if key == named),
                "{err}"
            );
        }
        let err = Config::default()
            .set("rate_limits.api_per_minute", "-3")
            .expect_err("negative");
        assert!(err.to_string().contains("whole number"), "{err}");
    }

    #[test]
    fn maintenance_windows_come_from_the_file_and_a_bad_zone_names_the_window() {
        let text = "[[alerting.maintenance_windows]]\nname = \"sunday-patching\"\nweekdays = [\"sun\"]\n\
                    start = \"02:00\"\nend = \"04:00\"\ntimezone = \"America/New_York\"\nmatchers = []\n";
        let c = Config::from_toml(text, "legalops.toml").expect("parses");
        assert_eq!(c.alerting.maintenance_windows.len(), 1);
        c.validate().expect("valid window");
        let bad = Config::from_toml(
            &text.replace("America/New_York", "Mars/Olympus"),
            "legalops.toml",
        )
        .expect("parses");
        let err = bad.validate().expect_err("unknown zone");
        assert!(err.to_string().contains("maintenance_windows[0]"), "{err}");
    }

    #[test]
    fn unknown_file_key_is_refused_with_its_name() {
        let err = Config::from_toml(
            "listen = \"127.0.0.1:1\"\nlisten_port = 3\n",
            "legalops.toml",
        )
        .expect_err("unknown");
        assert!(err.to_string().contains("listen_port"), "{err}");
        let err = Config::from_toml("[log]\nkeep = \"ten\"\n", "legalops.toml").expect_err("type");
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn masked_toml_hides_token_and_database_password() {
        let mut c = Config::default();
        c.set("admin_token", "super-secret-token-123").expect("set");
        c.set("database_url", "postgres://app:hunter2@db/legal")
            .expect("set");
        let shown = c.to_masked_toml();
        assert!(
            !shown.contains("super-secret-token-123") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains(REDACTED));
        let back =
            Config::from_toml(&shown, "masked").expect("masked output is itself a valid config");
        assert_eq!(back.listen, c.listen);
    }
}
