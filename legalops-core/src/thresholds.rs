//! The runbook's targets and alert thresholds as data, so that every report (JSON metrics,
//! daily checklists, the dashboard) grades a figure the same way.
//!
//! Sources: runbook "Key Metrics to Monitor" (targets) and "Alert Thresholds"
//! (warning and critical), plan "Alert Configuration".

use serde::{Deserialize, Serialize};

use crate::health::Status;

/// Whether a higher or a lower value is worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is worse (latency, error rate, utilisation).
    HigherIsWorse,
    /// Lower is worse (cache hit rate, uptime, days to certificate expiry).
    LowerIsWorse,
}

/// A figure's target and the levels at which it warns and turns critical.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The figure's name (`response_time_avg_ms`).
    pub name: &'static str,
    /// The unit of the figure (`ms`, `percent`, `days`).
    pub unit: &'static str,
    /// Which way is worse.
    pub direction: Direction,
    /// The runbook's target (`< 200 ms average`): meeting it is `pass`.
    pub target: f64,
    /// Past this the figure is a warning alert.
    pub warning: Option<f64>,
    /// Past this the figure is a critical alert.
    pub critical: Option<f64>,
}

/// How one figure compares with its threshold; reported beside the figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Graded {
    /// The measured value.
    pub value: f64,
    /// The target it is held to.
    pub target: f64,
    /// `pass` within target, `warn` past target or warning, `fail` past critical.
    pub status: Status,
    /// Whether the target is met.
    pub meets_target: bool,
}

impl Threshold {
    fn worse(&self, value: f64, level: f64) -> bool {
        match self.direction {
            Direction::HigherIsWorse => value > level,
            Direction::LowerIsWorse => value < level,
        }
    }

    /// Grades `value`: `fail` past critical, `warn` past warning or off target, else `pass`.
    /// A NaN (no measurement possible) is `warn`: unknown is a concern, not an outage.
    pub fn grade(&self, value: f64) -> Graded {
        let meets_target = !value.is_nan() && !self.worse(value, self.target);
        let status = if value.is_nan() {
            Status::Warn
        } else if self.critical.is_some_and(|c| self.worse(value, c)) {
            Status::Fail
        } else if !meets_target || self.warning.is_some_and(|w| self.worse(value, w)) {
            Status::Warn
        } else {
            Status::Pass
        };
        Graded {
            value,
            target: self.target,
            status,
            meets_target,
        }
    }
}

const fn t(
    name: &'static str,
    unit: &'static str,
    direction: Direction,
    target: f64,
    warning: Option<f64>,
    critical: Option<f64>,
) -> Threshold {
    Threshold {
        name,
        unit,
        direction,
        target,
        warning,
        critical,
    }
}

use Direction::{HigherIsWorse as Hi, LowerIsWorse as Lo};

/// Average response time: target < 200 ms, warning > 500 ms, critical > 2000 ms.
pub const RESPONSE_TIME_MS: Threshold = t(
    "response_time_avg_ms",
    "ms",
    Hi,
    200.0,
    Some(500.0),
    Some(2000.0),
);
/// Error rate (5xx share of requests): target < 1 %, warning > 2 %, critical > 5 %.
pub const ERROR_RATE_PERCENT: Threshold = t(
    "error_rate_percent",
    "percent",
    Hi,
    1.0,
    Some(2.0),
    Some(5.0),
);
/// Uptime: target > 99.9 %.
pub const UPTIME_PERCENT: Threshold = t("uptime_percent", "percent", Lo, 99.9, None, None);
/// Memory: target < 80 %, warning > 80 %, critical > 90 %.
pub const MEMORY_PERCENT: Threshold = t(
    "memory_percent",
    "percent",
    Hi,
    80.0,
    Some(80.0),
    Some(90.0),
);
/// CPU: target < 70 % average, warning > 80 %.
pub const CPU_PERCENT: Threshold = t("cpu_percent", "percent", Hi, 70.0, Some(80.0), None);
/// Disk: target < 85 %, critical > 90 %.
pub const DISK_PERCENT: Threshold = t("disk_percent", "percent", Hi, 85.0, Some(85.0), Some(90.0));
/// Connection pool utilisation: target < 80 %.
pub const POOL_PERCENT: Threshold = t(
    "pool_utilization_percent",
    "percent",
    Hi,
    80.0,
    Some(80.0),
    None,
);
/// Average query time: target < 100 ms, warning > 200 ms.
pub const QUERY_TIME_MS: Threshold = t("query_time_avg_ms", "ms", Hi, 100.0, Some(200.0), None);
/// Lock wait time: target < 50 ms average.
pub const LOCK_WAIT_MS: Threshold = t("lock_wait_avg_ms", "ms", Hi, 50.0, None, None);
/// Cache hit rate: target > 95 %.
pub const CACHE_HIT_PERCENT: Threshold =
    t("cache_hit_rate_percent", "percent", Lo, 95.0, None, None);
/// Network latency: target < 50 ms.
pub const NETWORK_LATENCY_MS: Threshold = t("network_latency_ms", "ms", Hi, 50.0, None, None);
/// Days until a TLS certificate expires: target > 30, critical < 7.
pub const CERT_DAYS: Threshold = t(
    "certificate_days_remaining",
    "days",
    Lo,
    30.0,
    Some(30.0),
    Some(7.0),
);

/// Every threshold, for listing (`/api/metrics/*`, docs, Python).
pub const ALL: [Threshold; 12] = [
    RESPONSE_TIME_MS,
    ERROR_RATE_PERCENT,
    UPTIME_PERCENT,
    MEMORY_PERCENT,
    CPU_PERCENT,
    DISK_PERCENT,
    POOL_PERCENT,
    QUERY_TIME_MS,
    LOCK_WAIT_MS,
    CACHE_HIT_PERCENT,
    NETWORK_LATENCY_MS,
    CERT_DAYS,
];

/// The threshold called `name`, if any.
pub fn by_name(name: &str) -> Option<Threshold> {
    ALL.iter().copied().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runbook_levels_grade_as_the_runbook_says() {
        // (threshold, value, expected status, meets target)
        let table = [
            (RESPONSE_TIME_MS, 150.0, Status::Pass, true),
            (RESPONSE_TIME_MS, 300.0, Status::Warn, false),
            (RESPONSE_TIME_MS, 600.0, Status::Warn, false),
            (RESPONSE_TIME_MS, 2500.0, Status::Fail, false),
            (ERROR_RATE_PERCENT, 0.5, Status::Pass, true),
            (ERROR_RATE_PERCENT, 3.0, Status::Warn, false),
            (ERROR_RATE_PERCENT, 5.1, Status::Fail, false),
            (MEMORY_PERCENT, 79.0, Status::Pass, true),
            (MEMORY_PERCENT, 85.0, Status::Warn, false),
            (MEMORY_PERCENT, 91.0, Status::Fail, false),
            (DISK_PERCENT, 91.0, Status::Fail, false),
            (CPU_PERCENT, 75.0, Status::Warn, false),
            (CACHE_HIT_PERCENT, 97.0, Status::Pass, true),
            (CACHE_HIT_PERCENT, 90.0, Status::Warn, false),
            (CERT_DAYS, 45.0, Status::Pass, true),
            (CERT_DAYS, 20.0, Status::Warn, false),
            (CERT_DAYS, 3.0, Status::Fail, false),
        ];
        for (th, v, status, meets) in table {
            let g = th.grade(v);
            assert_eq!(
                (g.status, g.meets_target),
                (status, meets),
                "{} at {v}",
                th.name
            );
        }
    }

    #[test]
    fn unknown_value_is_a_warning() {
        assert_eq!(QUERY_TIME_MS.grade(f64::NAN).status, Status::Warn);
    }

    #[test]
    fn names_are_unique_and_found() {
        for t in ALL {
            assert_eq!(by_name(t.name), Some(t));
        }
        assert_eq!(by_name("nope"), None);
    }
}
