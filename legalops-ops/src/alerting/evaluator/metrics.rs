//! The metrics of alerting: the names the evaluator exports or that the default rules read
//! before anything records them, the series registered at zero so that the first event
//! counts as an increase, and health sampled into a gauge rules can compare.

use legalops_core::health::Status;

use crate::health::{HealthRegistry, Probe};
use crate::metrics::Registry;
use crate::metrics::names;

/// Gauge: the health of each detailed check, labelled `check`: 0 pass, 1 warn, 2 fail.
pub const HEALTH_CHECK_STATUS: &str = "legalops_health_check_status";
/// Gauge: seconds until the served certificate expires (set by whoever checks it; not
/// registered here, so that a deployment without TLS has no data and no alert).
pub const CERTIFICATE_EXPIRY_SECONDS: &str = "legalops_certificate_expiry_seconds";
/// Counter: backups that failed.
pub const BACKUP_FAILURES_TOTAL: &str = "legalops_backup_failures_total";
/// Gauge: alerts firing as this replica last saw them.
pub const ALERTS_FIRING: &str = "legalops_alerts_firing";
/// Counter: evaluation ticks that failed (lease or store errors).
pub const ALERT_EVALUATION_FAILURES_TOTAL: &str = "legalops_alert_evaluation_failures_total";
/// Histogram: how long one evaluation took, seconds (by the injected clock).
pub const ALERT_EVALUATION_DURATION_SECONDS: &str = "legalops_alert_evaluation_duration_seconds";

/// Metric names a rule may use although no series of them exists at start: they appear
/// with the first request, query, sample, event or backup. Rules naming anything else
/// (and not in `EvaluatorConfig::known_metrics` or the registry) are refused.
pub const LATER_METRICS: &[&str] = &[
    names::HTTP_REQUESTS_TOTAL,
    names::HTTP_REQUEST_DURATION_SECONDS,
    names::HTTP_REQUESTS_IN_FLIGHT,
    names::HTTP_PANICS_TOTAL,
    names::SYSTEM_CPU_USAGE_RATIO,
    names::SYSTEM_MEMORY_USED_BYTES,
    names::SYSTEM_MEMORY_TOTAL_BYTES,
    names::SYSTEM_DISK_USED_BYTES,
    names::SYSTEM_DISK_TOTAL_BYTES,
    names::PROCESS_RESIDENT_MEMORY_BYTES,
    names::DB_QUERY_DURATION_SECONDS,
    names::METRICS_SINK_ERRORS_TOTAL,
    "legalops_db_errors_total",
    crate::security::SECURITY_EVENTS_TOTAL,
    crate::ratelimit::RATE_LIMITED_TOTAL,
    crate::audit::AUDIT_ENTRIES_TOTAL,
    crate::audit::AUDIT_ERRORS_TOTAL,
    HEALTH_CHECK_STATUS,
    CERTIFICATE_EXPIRY_SECONDS,
    BACKUP_FAILURES_TOTAL,
    ALERTS_FIRING,
    ALERT_EVALUATION_FAILURES_TOTAL,
    ALERT_EVALUATION_DURATION_SECONDS,
];

/// Registers at zero the series the default rules count increases of, so that the first
/// event is an increase from 0 (a series born at 1 has no earlier sample to rise from):
/// [`BACKUP_FAILURES_TOTAL`] and `legalops_security_events_total{severity}` for each
/// severity (without `kind`: the rules sum every kind). [`CERTIFICATE_EXPIRY_SECONDS`]
/// and [`HEALTH_CHECK_STATUS`] are left alone: a zero would be a false reading.
pub fn ensure_default_metrics(registry: &Registry) {
    // Registering creates the series at 0; the handle itself is not needed.
    let _ = registry.counter(BACKUP_FAILURES_TOTAL, &[]);
    for severity in ["critical", "warning", "info"] {
        let _ = registry.counter(
            crate::security::SECURITY_EVENTS_TOTAL,
            &[("severity", severity)],
        );
    }
}

/// The gauge value of a health status: 0 pass, 1 warn, 2 fail.
fn status_value(status: Status) -> f64 {
    match status {
        Status::Pass => 0.0,
        Status::Warn => 1.0,
        Status::Fail => 2.0,
    }
}

/// Runs the detailed probe and sets [`HEALTH_CHECK_STATUS`]`{check}` to the worst result
/// of each check (a key registered twice counts as failing if either instance fails).
pub(super) async fn sample_health(registry: &Registry, health: &HealthRegistry) {
    let report = health.run(Probe::Detailed).await;
    for (key, results) in &report.checks {
        let worst = results
            .iter()
            .map(|r| r.status)
            .max()
            .unwrap_or(Status::Pass);
        registry
            .gauge(HEALTH_CHECK_STATUS, &[("check", key.as_str())])
            .set(status_value(worst));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::metrics::MetricValue;
    use time::OffsetDateTime;

    #[test]
    fn default_metrics_start_at_zero_except_those_a_zero_would_misreport() {
        let registry = Registry::new();
        ensure_default_metrics(&registry);
        ensure_default_metrics(&registry);
        let snap = registry.snapshot(OffsetDateTime::UNIX_EPOCH);
        let series: Vec<String> = snap
            .samples
            .iter()
            .map(|s| {
                assert_eq!(s.value, MetricValue::Counter { value: 0 });
                format!("{}{:?}", s.name, s.labels)
            })
            .collect();
        assert_eq!(
            series,
            vec![
                "legalops_backup_failures_total{}",
                "legalops_security_events_total{\"severity\": \"critical\"}",
                "legalops_security_events_total{\"severity\": \"info\"}",
                "legalops_security_events_total{\"severity\": \"warning\"}",
            ]
        );
    }

    #[test]
    fn health_statuses_map_to_increasing_gauge_values() {
        assert_eq!(status_value(Status::Pass), 0.0);
        assert_eq!(status_value(Status::Warn), 1.0);
        assert_eq!(status_value(Status::Fail), 2.0);
    }

    #[test]
    fn every_name_alerting_exports_is_known_to_rules() {
        for n in [
            HEALTH_CHECK_STATUS,
            CERTIFICATE_EXPIRY_SECONDS,
            BACKUP_FAILURES_TOTAL,
            ALERTS_FIRING,
            ALERT_EVALUATION_FAILURES_TOTAL,
            ALERT_EVALUATION_DURATION_SECONDS,
        ] {
            assert!(LATER_METRICS.contains(&n), "{n}");
        }
    }
}
