//! `/api/metrics/database`: the connection pool and query figures a records backend keeps
//! (`Database::pool_stats`, `Database::query_stats`), graded by the runbook.

use legalops_core::records::{PoolStats, QueryStats, SlowQuery};
use legalops_core::thresholds::{self, Graded};
use serde::{Deserialize, Serialize};

use super::round;

/// The database's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseReport {
    /// The backend's display name (credentials removed).
    pub backend: String,
    /// The applied schema version; none when it could not be read.
    pub schema_version: Option<i64>,
    /// The connection pool.
    pub pool: PoolReport,
    /// Queries since start.
    pub queries: QueryReport,
}

/// Connection pool figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolReport {
    /// Connections open.
    pub size: u32,
    /// Open and idle.
    pub idle: u32,
    /// Open and in use.
    pub in_use: u32,
    /// The configured maximum.
    pub max: u32,
    /// Callers waiting for a connection.
    pub waiting: u32,
    /// In use as a share of the maximum, graded by `POOL_PERCENT` (target under 80 %);
    /// 0 for a backend without a pool.
    pub utilization_percent: Graded,
}

/// Query figures since start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryReport {
    /// Queries run.
    pub count: u64,
    /// Mean duration in ms, graded by `QUERY_TIME_MS` (target under 100 ms).
    pub mean_ms: Graded,
    /// 95th percentile duration in ms.
    pub p95_ms: f64,
    /// The most recent slow queries, newest last.
    pub slow: Vec<SlowQuery>,
}

impl DatabaseReport {
    /// The report of `backend`'s figures.
    pub fn new(
        backend: String,
        pool: PoolStats,
        queries: QueryStats,
        schema_version: Option<i64>,
    ) -> Self {
        // A backend without a pool (memory, one SQLite connection) cannot run out of one.
        let utilization = if pool.max == 0 {
            0.0
        } else {
            round(f64::from(pool.in_use) / f64::from(pool.max) * 100.0, 2)
        };
        let mean = if queries.count == 0 {
            0.0
        } else {
            queries.mean_ms
        };
        Self {
            backend,
            schema_version,
            pool: PoolReport {
                size: pool.size,
                idle: pool.idle,
                in_use: pool.in_use,
                max: pool.max,
                waiting: pool.waiting,
                utilization_percent: thresholds::POOL_PERCENT.grade(utilization),
            },
            queries: QueryReport {
                count: queries.count,
                mean_ms: thresholds::QUERY_TIME_MS.grade(round(mean, 3)),
                p95_ms: round(queries.p95_ms, 3),
                slow: queries.slow,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::health::Status;
    use time::macros::datetime;

    fn pool(in_use: u32, max: u32) -> PoolStats {
        PoolStats {
            size: in_use + 1,
            idle: 1,
            in_use,
            max,
            waiting: 0,
        }
    }

    #[test]
    fn busy_pool_and_slow_queries_are_graded_by_the_runbook() {
        let queries = QueryStats {
            count: 10,
            mean_ms: 250.0,
            p95_ms: 900.0,
            slow: vec![SlowQuery {
                operation: "rollups.put".into(),
                duration_ms: 900.0,
                at: datetime!(2026-01-01 0:00 UTC),
            }],
        };
        let r = DatabaseReport::new("sqlite:x.db".into(), pool(9, 10), queries, Some(3));
        assert_eq!(r.pool.utilization_percent.value, 90.0);
        assert_eq!(r.pool.utilization_percent.status, Status::Warn);
        assert_eq!(r.queries.mean_ms.status, Status::Warn);
        assert!(!r.queries.mean_ms.meets_target);
        assert_eq!(r.queries.slow.len(), 1);
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(json["schemaVersion"], 3);
        assert_eq!(json["pool"]["utilizationPercent"]["target"], 80.0);
        assert_eq!(json["queries"]["meanMs"]["value"], 250.0);
    }

    #[test]
    fn no_pool_and_no_queries_pass() {
        let r = DatabaseReport::new(
            "memory".into(),
            PoolStats::default(),
            QueryStats::default(),
            None,
        );
        assert_eq!(r.pool.utilization_percent.status, Status::Pass);
        assert_eq!(r.queries.mean_ms.status, Status::Pass);
        assert_eq!(r.schema_version, None);
    }
}
