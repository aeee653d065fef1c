//! Records over sqlx: SQLite (the embedded default) and PostgreSQL, chosen by URL.
//!
//! [`connect`] picks the backend from the URL's scheme, applies the embedded migrations
//! and returns a [`Records`] bundle. Both backends share their queries (`queries.rs` for
//! settings and rollups, `identity/`, `audit.rs`, `security/`, `alerting/` and
//! `incidents/` for the later aggregates) and their instrumentation (`exec.rs`); only pool
//! setup, error judgement and how audit appends and incident writes take their lock
//! differ.

use std::time::Duration;

use legalops_core::records::{Records, SLOW_QUERY};
pub(crate) use legalops_core::redact::redact_url;
use legalops_core::{Error, Result, SharedClock, SystemClock};

mod alerting;
mod audit;
mod codec;
mod exec;
mod identity;
mod incidents;
#[cfg(feature = "postgres")]
mod postgres;
mod queries;
mod security;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PostgresRecords;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteRecords;

/// The configuration key that database URLs are reported under.
pub(crate) const URL_KEY: &str = "database_url";

/// How to connect to a records database. Built with `ConnectOptions::default()` and the
/// `with_*` methods.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub(crate) max_connections: u32,
    pub(crate) connect_timeout: Duration,
    pub(crate) schema: Option<String>,
    pub(crate) slow_query: Duration,
    pub(crate) clock: SharedClock,
}

impl Default for ConnectOptions {
    /// 10 connections, a 5 s connect timeout, the default schema, [`SLOW_QUERY`] and the
    /// system clock.
    fn default() -> Self {
        Self {
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
            schema: None,
            slow_query: SLOW_QUERY,
            clock: std::sync::Arc::new(SystemClock),
        }
    }
}

impl ConnectOptions {
    /// The most connections the pool opens (at least 1). An in-memory SQLite database
    /// always uses one connection, since each connection would otherwise see its own data.
    pub fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// How long connecting (and later, waiting for a pooled connection) may take.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// PostgreSQL only: keep every table, the migrations' bookkeeping included, in this
    /// schema (created if missing) by setting the connections' `search_path`. Lets several
    /// deployments or test runs share one database. A name is ASCII letters, digits and
    /// `_`, not starting with a digit, at most 63 bytes.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Queries at least this slow are listed in [`legalops_core::records::QueryStats::slow`].
    pub fn with_slow_query_threshold(mut self, threshold: Duration) -> Self {
        self.slow_query = threshold;
        self
    }

    /// The clock that stamps `updated_at` columns and slow-query records.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the options that do not depend on the backend.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_connections == 0 {
            return Err(Error::invalid_config(
                "max_connections",
                "must be at least 1",
            ));
        }
        if self.connect_timeout.is_zero() {
            return Err(Error::invalid_config(
                "connect_timeout",
                "must be more than zero",
            ));
        }
        if let Some(schema) = &self.schema {
            validate_schema(schema)?;
        }
        Ok(())
    }
}

/// Connects to the records database at `url` and applies the embedded migrations.
///
/// Accepted URLs: `sqlite://path/to/file.db` (created if missing, with its directory),
/// `sqlite::memory:`, and `postgres://user[:password]@host[:port]/db` (or `postgresql://`).
/// A scheme whose cargo feature is off, or an unknown scheme, is
/// [`Error::InvalidConfig`] for `database_url`; an unreachable database is a retryable
/// [`Error::Backend`] named by the URL without its password.
pub async fn connect(url: &str, options: ConnectOptions) -> Result<Records> {
    match scheme(url) {
        "sqlite" => {
            #[cfg(feature = "sqlite")]
            return Ok(Records::from_backend(std::sync::Arc::new(
                SqliteRecords::from_url(url, options).await?,
            )));
            #[cfg(not(feature = "sqlite"))]
            return Err(feature_off(url, "sqlite"));
        }
        "postgres" | "postgresql" => {
            #[cfg(feature = "postgres")]
            return Ok(Records::from_backend(std::sync::Arc::new(
                PostgresRecords::from_url(url, options).await?,
            )));
            #[cfg(not(feature = "postgres"))]
            return Err(feature_off(url, "postgres"));
        }
        other => Err(Error::invalid_config(
            URL_KEY,
            format!(
                "unknown scheme `{other}` in {}; expected `sqlite:` or `postgres:`",
                redact_url(url)
            ),
        )),
    }
}

/// The text before the first `:` (`sqlite::memory:` has scheme `sqlite`).
fn scheme(url: &str) -> &str {
    url.split_once(':').map_or("", |(s, _)| s)
}

#[allow(dead_code)] // Used only when a backend's feature is off.
fn feature_off(url: &str, feature: &str) -> Error {
    Error::invalid_config(
        URL_KEY,
        format!(
            "{} needs the cargo feature `{feature}` of legalops-store (`legalops/{feature}`)",
            redact_url(url)
        ),
    )
}

/// A PostgreSQL schema name we can interpolate without quoting doubts.
fn validate_schema(schema: &str) -> Result<()> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok || !rest_ok || schema.len() > 63 {
        return Err(Error::invalid_config(
            "schema",
            format!(
                "{schema:?} must be ASCII letters, digits and `_`, not start with a digit, \
                 and be at most 63 bytes"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(validate_schema("legalops_test_1").is_ok());
        assert!(validate_schema("_x").is_ok());
        for bad in ["", "1abc", "a-b", "a\"b", "a;drop", &"x".repeat(64)] {
            let err = validate_schema(bad).err();
            assert!(
                matches!(err, Some(Error::InvalidConfig { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[tokio::test]
    async fn unknown_scheme_names_the_key() {
        let err = connect("mysql://root:pw@h/db", ConnectOptions::default())
            .await
            .err();
        match err {
            Some(Error::InvalidConfig { key, message }) => {
                assert_eq!(key, "database_url");
                assert!(message.contains("mysql"), "{message}");
                assert!(!message.contains("pw"), "{message}");
            }
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn zero_connections_is_refused() {
        let opts = ConnectOptions::default().with_max_connections(0);
        assert!(matches!(opts.validate(), Err(Error::InvalidConfig { .. })));
    }
}
