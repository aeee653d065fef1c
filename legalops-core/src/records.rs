//! Records: the platform's structured state, one trait per aggregate.
//!
//! Aggregates so far: settings (the admin token's hash), metric rollups (trends that
//! survive a restart), users, sessions and API keys ([`crate::identity`]), the audit trail
//! ([`crate::audit`]) and security state ([`crate::security`]), plus [`Database`] for what
//! every records backend shares (health, schema version, pool and query statistics).
//! Later work adds entities and filings, deadlines, documents' metadata, alerts and
//! incidents, the backup catalog and reports. [`Records`] bundles them as shared handles.
//!
//! Defaults: memory ([`crate::mem::MemoryRecords`]) and SQLite; real backend: PostgreSQL.

use std::fmt::{Debug, Display};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::alerting::{AlertStore, LeaseStore};
use crate::audit::AuditLog;
use crate::error::Result;
use crate::identity::{ApiKeyStore, SessionStore, UserStore};
use crate::incidents::IncidentTracker;
use crate::metrics::Rollup;
use crate::security::SecurityStore;

/// Connection pool figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PoolStats {
    /// Connections open now.
    pub size: u32,
    /// Open and idle.
    pub idle: u32,
    /// Open and in use.
    pub in_use: u32,
    /// The configured maximum.
    pub max: u32,
    /// Callers waiting for a connection, where the pool can tell (else 0).
    pub waiting: u32,
}

/// One query that took longer than the slow-query threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowQuery {
    /// The operation's name (`rollups.insert`), never the SQL text with values.
    pub operation: String,
    /// How long it took.
    pub duration_ms: f64,
    /// When it finished.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Query statistics since start.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QueryStats {
    /// Queries run.
    pub count: u64,
    /// Mean duration.
    pub mean_ms: f64,
    /// 95th percentile duration.
    pub p95_ms: f64,
    /// The most recent slow queries, newest last.
    pub slow: Vec<SlowQuery>,
}

/// What every records backend shares.
#[async_trait]
pub trait Database: Debug + Display + Send + Sync + 'static {
    /// Runs a trivial query; the error says why the database is unreachable.
    async fn healthcheck(&self) -> Result<()>;

    /// The applied schema version (the newest migration), 0 when none.
    async fn schema_version(&self) -> Result<i64>;

    /// Pool figures now.
    fn pool_stats(&self) -> PoolStats;

    /// Query statistics since start.
    fn query_stats(&self) -> QueryStats;
}

/// Small named values the platform keeps (the admin token's hash, instance id).
#[async_trait]
pub trait SettingStore: Debug + Display + Send + Sync + 'static {
    /// The value of `key`, if set.
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;

    /// Sets `key` to `value`, replacing any previous value.
    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;

    /// Sets `key` only if unset; returns whether it was set. Atomic across replicas, so
    /// that exactly one of several starting replicas generates the admin token.
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> Result<bool>;

    /// Removes `key`; absent is success.
    async fn delete_setting(&self, key: &str) -> Result<()>;
}

/// Per-minute metric rollups.
#[async_trait]
pub trait RollupStore: Debug + Display + Send + Sync + 'static {
    /// Stores rollups; a rollup for a series and minute already stored is replaced
    /// (idempotent, so a retried write does not double-count).
    async fn put_rollups(&self, rollups: &[Rollup]) -> Result<()>;

    /// Rollups of metric `name` (every label set) with `from <= minute < to`, oldest first.
    async fn rollups(
        &self,
        name: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<Rollup>>;

    /// Removes rollups older than `before`; returns how many were removed.
    async fn prune_rollups(&self, before: OffsetDateTime) -> Result<u64>;
}

/// Every records aggregate of one backend, as shared handles. Each can be replaced on its
/// own (a team may keep its audit log elsewhere, say).
#[derive(Debug, Clone)]
pub struct Records {
    /// Health, schema and statistics.
    pub database: Arc<dyn Database>,
    /// Settings.
    pub settings: Arc<dyn SettingStore>,
    /// Metric rollups.
    pub rollups: Arc<dyn RollupStore>,
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// Sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Admin API keys.
    pub api_keys: Arc<dyn ApiKeyStore>,
    /// The audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// Failed logins, blocks, lockouts, security events.
    pub security: Arc<dyn SecurityStore>,
    /// Alert rule states, silences, notification groups, deliveries.
    pub alerts: Arc<dyn AlertStore>,
    /// Leases (one evaluator / scheduler per deployment).
    pub leases: Arc<dyn LeaseStore>,
    /// The built-in incident tracker.
    pub incidents: Arc<dyn IncidentTracker>,
}

/// A backend that serves every records aggregate.
pub trait RecordsBackend:
    Database
    + SettingStore
    + RollupStore
    + UserStore
    + SessionStore
    + ApiKeyStore
    + AuditLog
    + SecurityStore
    + AlertStore
    + LeaseStore
    + IncidentTracker
{
}

impl<B> RecordsBackend for B where
    B: Database
        + SettingStore
        + RollupStore
        + UserStore
        + SessionStore
        + ApiKeyStore
        + AuditLog
        + SecurityStore
        + AlertStore
        + LeaseStore
        + IncidentTracker
{
}

impl Records {
    /// All aggregates served by one backend value.
    pub fn from_backend<B: RecordsBackend>(backend: Arc<B>) -> Self {
        Self {
            database: backend.clone(),
            settings: backend.clone(),
            rollups: backend.clone(),
            users: backend.clone(),
            sessions: backend.clone(),
            api_keys: backend.clone(),
            audit: backend.clone(),
            security: backend.clone(),
            alerts: backend.clone(),
            leases: backend.clone(),
            incidents: backend,
        }
    }
}

/// The default slow-query threshold (runbook: query performance < 100 ms average).
pub const SLOW_QUERY: Duration = Duration::from_millis(100);
