//! The engine's metrics: time to acknowledge and to resolve per severity, whether the
//! runbook's response target was met, and how many incidents are open.
//!
//! Counting rule for the response target: an incident counts once, at its first
//! acknowledgement (met = acknowledged within `response_target(severity)`). One resolved
//! without ever being acknowledged counts as missed if its target had passed by then, and
//! not at all if it cleared within the target (nobody had to respond yet).

use legalops_core::alerting::classify::response_target;
use legalops_core::incidents::{Incident, IncidentSeverity};

use super::config::policy_name;
use crate::metrics::Registry;

/// Histogram: seconds from opening to first acknowledgement, labelled `severity`.
pub const INCIDENT_TIME_TO_ACKNOWLEDGE_SECONDS: &str =
    "legalops_incident_time_to_acknowledge_seconds";
/// Histogram: seconds from opening to resolution, labelled `severity`.
pub const INCIDENT_TIME_TO_RESOLVE_SECONDS: &str = "legalops_incident_time_to_resolve_seconds";
/// Counter: incidents measured against their response target, labelled `severity` and
/// `met` (`true` / `false`).
pub const INCIDENT_RESPONSE_TARGET_MET_TOTAL: &str = "legalops_incident_response_target_met_total";
/// Gauge: incidents open now (triggered, acknowledged or investigating).
pub const INCIDENTS_OPEN: &str = "legalops_incidents_open";

/// Bucket bounds for incident durations, seconds: 1 min to 2 days, around the targets.
const BUCKETS: [f64; 11] = [
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14_400.0, 28_800.0, 86_400.0, 172_800.0, 604_800.0,
];

/// The registry with the engine's families described and bucketed.
pub(super) struct EngineMetrics {
    registry: Registry,
}

impl EngineMetrics {
    pub(super) fn new(registry: Registry) -> Self {
        for name in [
            INCIDENT_TIME_TO_ACKNOWLEDGE_SECONDS,
            INCIDENT_TIME_TO_RESOLVE_SECONDS,
        ] {
            // The bounds are constant, finite and ascending: set_buckets cannot refuse them.
            let _ = registry.set_buckets(name, &BUCKETS);
        }
        registry.describe(
            INCIDENT_TIME_TO_ACKNOWLEDGE_SECONDS,
            "Seconds from an incident's opening to its first acknowledgement, by severity.",
        );
        registry.describe(
            INCIDENT_TIME_TO_RESOLVE_SECONDS,
            "Seconds from an incident's opening to its resolution, by severity.",
        );
        registry.describe(
            INCIDENT_RESPONSE_TARGET_MET_TOTAL,
            "Incidents measured against the runbook's response target, by severity and met.",
        );
        registry.describe(INCIDENTS_OPEN, "Incidents open now.");
        Self { registry }
    }

    pub(super) fn set_open(&self, n: usize) {
        self.registry.gauge(INCIDENTS_OPEN, &[]).set(n as f64);
    }

    /// Records the first acknowledgement of `after` (its `acknowledged_at` is set).
    pub(super) fn acknowledged(&self, after: &Incident) {
        let Some(at) = after.acknowledged_at else {
            return;
        };
        let took = seconds(at - after.opened_at);
        let sev = label(after.severity);
        self.registry
            .histogram(INCIDENT_TIME_TO_ACKNOWLEDGE_SECONDS, &[("severity", sev)])
            .record(took);
        self.target(
            after.severity,
            took <= response_target(after.severity).as_secs_f64(),
        );
    }

    /// Records the resolution of `after` (its `resolved_at` is set).
    pub(super) fn resolved(&self, after: &Incident) {
        let Some(at) = after.resolved_at else {
            return;
        };
        let took = seconds(at - after.opened_at);
        self.registry
            .histogram(
                INCIDENT_TIME_TO_RESOLVE_SECONDS,
                &[("severity", label(after.severity))],
            )
            .record(took);
        if after.acknowledged_at.is_none() && took > response_target(after.severity).as_secs_f64() {
            self.target(after.severity, false);
        }
    }

    fn target(&self, sev: IncidentSeverity, met: bool) {
        let met = if met { "true" } else { "false" };
        self.registry
            .counter(
                INCIDENT_RESPONSE_TARGET_MET_TOTAL,
                &[("severity", label(sev)), ("met", met)],
            )
            .increment(1);
    }
}

fn label(sev: IncidentSeverity) -> &'static str {
    policy_name(sev)
}

/// Whole seconds, never negative (a clock that stepped back reads as 0).
fn seconds(d: time::Duration) -> f64 {
    d.as_seconds_f64().max(0.0)
}
