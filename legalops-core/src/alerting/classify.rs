//! Incident classification: the runbook's severity rule made sound. Severity comes from the
//! alert's severity, the scope (error rates, failing routes and checks) and data-loss or
//! security signals, following [`CLASSIFICATION_TABLE`] (the table on the design page, kept
//! identical by a test), and "if unsure, the higher severity".
//!
//! What "unsure" means here: a rate that is not a number (NaN, infinite) counts as over its
//! threshold, and a failing check counts as a datastore/readiness check unless its
//! component is one known not to be ([`NON_DATASTORE_COMPONENTS`]: the machine's and
//! operator-only checks). A rate that is absent (`None`) is no signal: many alerts (disk,
//! certificates) have no error rate, and the alert itself still classifies them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alerts::Severity;
use crate::incidents::IncidentSeverity;

/// The classification table, as on the design page (`docs/design/alerting.md`).
pub const CLASSIFICATION_TABLE: &str = "\
| signal | severity |
|---|---|
| security breach event or data loss | Sev1 |
| critical alert and (5xx rate > 5 % or a datastore/readiness check failing or >= 3 routes failing) | Sev1 |
| critical alert otherwise | Sev2 |
| warning alert and (4xx/5xx error rate > 2 % or >= 3 routes failing) | Sev2 |
| warning alert | Sev3 |
| info | Sev4 |
";

/// A critical alert with a 5xx rate above this (percent) is Sev1.
pub const CRITICAL_5XX_PERCENT: f64 = 5.0;
/// A warning alert with a 4xx + 5xx rate above this (percent) is Sev2.
pub const WARNING_ERROR_PERCENT: f64 = 2.0;
/// This many failing routes or more widen the scope (critical -> Sev1, warning -> Sev2).
pub const WIDE_SCOPE_ROUTES: u32 = 3;

/// Check components (the part of `component:measurement` before the colon) that are
/// neither datastores nor readiness checks: the machine's gauges and operator-only checks.
/// Any other failing check counts as a datastore/readiness check.
pub const NON_DATASTORE_COMPONENTS: &[&str] = &[
    "uptime",
    "memory",
    "cpu",
    "disk",
    "load",
    "certificate",
    "certificates",
    "backup",
    "backups",
];

/// What is known when an incident is opened or re-classified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifyInput {
    /// The alert's severity.
    pub alert_severity: Severity,
    /// Share of responses that are 5xx, percent (`None`: not measured for this alert).
    #[serde(default)]
    pub error_rate_5xx_percent: Option<f64>,
    /// Share of responses that are 4xx, percent (`None`: not measured).
    #[serde(default)]
    pub error_rate_4xx_percent: Option<f64>,
    /// How many routes are failing.
    #[serde(default)]
    pub failing_routes: u32,
    /// Failing health checks, as `component:measurement` (`database:responseTime`).
    #[serde(default)]
    pub failing_checks: Vec<String>,
    /// Data was lost.
    #[serde(default)]
    pub data_loss: bool,
    /// A security breach event was raised.
    #[serde(default)]
    pub security_breach: bool,
}

/// The outcome: a severity and the signals that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The incident's severity.
    pub severity: IncidentSeverity,
    /// Why, one signal per entry, in the table's words.
    pub reasons: Vec<String>,
}

/// Classifies by the first row of [`CLASSIFICATION_TABLE`] that applies.
pub fn classify(input: &ClassifyInput) -> Classification {
    let done = |severity, reasons| Classification { severity, reasons };

    let mut reasons = Vec::new();
    if input.security_breach {
        reasons.push("security breach event".to_owned());
    }
    if input.data_loss {
        reasons.push("data loss".to_owned());
    }
    if !reasons.is_empty() {
        return done(IncidentSeverity::Sev1, reasons);
    }

    let wide = input.failing_routes >= WIDE_SCOPE_ROUTES;
    let routes_reason = || {
        format!(
            "{} routes failing (>= {WIDE_SCOPE_ROUTES})",
            input.failing_routes
        )
    };
    match input.alert_severity {
        Severity::Critical => {
            if let Some(rate) = input
                .error_rate_5xx_percent
                .filter(|r| over(*r, CRITICAL_5XX_PERCENT))
            {
                reasons.push(format!(
                    "5xx rate {} % > {CRITICAL_5XX_PERCENT} %",
                    show(rate)
                ));
            }
            let datastore: Vec<&String> = input
                .failing_checks
                .iter()
                .filter(|c| is_datastore_or_readiness(c))
                .collect();
            if !datastore.is_empty() {
                let names: Vec<&str> = datastore.iter().map(|s| s.as_str()).collect();
                reasons.push(format!(
                    "datastore/readiness check failing: {}",
                    names.join(", ")
                ));
            }
            if wide {
                reasons.push(routes_reason());
            }
            if reasons.is_empty() {
                done(IncidentSeverity::Sev2, vec!["critical alert".to_owned()])
            } else {
                reasons.insert(0, "critical alert".to_owned());
                done(IncidentSeverity::Sev1, reasons)
            }
        }
        Severity::Warning => {
            let (r4, r5) = (input.error_rate_4xx_percent, input.error_rate_5xx_percent);
            if r4.is_some() || r5.is_some() {
                let rate = r4.unwrap_or(0.0) + r5.unwrap_or(0.0);
                if over(rate, WARNING_ERROR_PERCENT) {
                    reasons.push(format!(
                        "4xx/5xx error rate {} % > {WARNING_ERROR_PERCENT} %",
                        show(rate)
                    ));
                }
            }
            if wide {
                reasons.push(routes_reason());
            }
            if reasons.is_empty() {
                done(IncidentSeverity::Sev3, vec!["warning alert".to_owned()])
            } else {
                reasons.insert(0, "warning alert".to_owned());
                done(IncidentSeverity::Sev2, reasons)
            }
        }
        Severity::Info => done(IncidentSeverity::Sev4, vec!["info alert".to_owned()]),
    }
}

/// `rate > limit`, where a rate that is not a finite number counts as over (if unsure,
/// the higher severity).
fn over(rate: f64, limit: f64) -> bool {
    !rate.is_finite() || rate > limit
}

fn show(rate: f64) -> String {
    if rate.is_finite() {
        format!("{}", (rate * 100.0).round() / 100.0)
    } else {
        "unknown".to_owned()
    }
}

/// Whether a failing check counts as a datastore/readiness check: unless its component is
/// known not to be one ([`NON_DATASTORE_COMPONENTS`]), it does.
pub fn is_datastore_or_readiness(check: &str) -> bool {
    let component = check.split(':').next().unwrap_or(check).trim();
    !NON_DATASTORE_COMPONENTS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(component))
}

/// How soon an incident of this severity must be responded to (runbook): 15 min, 1 h,
/// 4 h, 24 h.
pub fn response_target(sev: IncidentSeverity) -> Duration {
    const MIN: u64 = 60;
    Duration::from_secs(match sev {
        IncidentSeverity::Sev1 => 15 * MIN,
        IncidentSeverity::Sev2 => 60 * MIN,
        IncidentSeverity::Sev3 => 4 * 60 * MIN,
        IncidentSeverity::Sev4 => 24 * 60 * MIN,
    })
}

/// How long an unresolved incident of this severity waits before it escalates (runbook):
/// at once, 2 h, 8 h, 48 h.
pub fn escalate_after(sev: IncidentSeverity) -> Duration {
    const H: u64 = 3600;
    Duration::from_secs(match sev {
        IncidentSeverity::Sev1 => 0,
        IncidentSeverity::Sev2 => 2 * H,
        IncidentSeverity::Sev3 => 8 * H,
        IncidentSeverity::Sev4 => 48 * H,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentSeverity::*;
    use proptest::prelude::*;

    fn input(severity: Severity) -> ClassifyInput {
        ClassifyInput {
            alert_severity: severity,
            error_rate_5xx_percent: None,
            error_rate_4xx_percent: None,
            failing_routes: 0,
            failing_checks: vec![],
            data_loss: false,
            security_breach: false,
        }
    }

    #[test]
    fn design_page_carries_the_same_table() {
        let page = include_str!("../../../docs/design/alerting.md");
        assert!(
            page.contains(CLASSIFICATION_TABLE),
            "docs/design/alerting.md and CLASSIFICATION_TABLE differ: change both"
        );
    }

    #[test]
    fn every_row_and_boundary_of_the_table() {
        use Severity::{Critical, Info, Warning};
        let with = |sev: Severity, f: &dyn Fn(&mut ClassifyInput)| {
            let mut i = input(sev);
            f(&mut i);
            i
        };
        let cases: Vec<(&str, ClassifyInput, IncidentSeverity)> = vec![
            // Row 1: security breach or data loss, whatever the alert.
            (
                "breach on info",
                with(Info, &|i| i.security_breach = true),
                Sev1,
            ),
            (
                "data loss on warning",
                with(Warning, &|i| i.data_loss = true),
                Sev1,
            ),
            (
                "data loss on critical",
                with(Critical, &|i| i.data_loss = true),
                Sev1,
            ),
            // Row 2: critical and a wide or deep signal.
            (
                "critical, 5xx 5.01 %",
                with(Critical, &|i| i.error_rate_5xx_percent = Some(5.01)),
                Sev1,
            ),
            (
                "critical, 5xx exactly 5 % is not > 5 %",
                with(Critical, &|i| i.error_rate_5xx_percent = Some(5.0)),
                Sev2,
            ),
            (
                "critical, 5xx NaN: unsure, higher",
                with(Critical, &|i| i.error_rate_5xx_percent = Some(f64::NAN)),
                Sev1,
            ),
            (
                "critical, 4xx 50 % does not count",
                with(Critical, &|i| i.error_rate_4xx_percent = Some(50.0)),
                Sev2,
            ),
            (
                "critical, database check failing",
                with(Critical, &|i| {
                    i.failing_checks = vec!["database:responseTime".into()]
                }),
                Sev1,
            ),
            (
                "critical, documents check failing",
                with(Critical, &|i| {
                    i.failing_checks = vec!["documents:responseTime".into()]
                }),
                Sev1,
            ),
            (
                "critical, unknown check: unsure, higher",
                with(Critical, &|i| i.failing_checks = vec!["queue:depth".into()]),
                Sev1,
            ),
            (
                "critical, only a machine check failing",
                with(Critical, &|i| {
                    i.failing_checks = vec!["disk:utilization".into(), "memory:utilization".into()]
                }),
                Sev2,
            ),
            (
                "critical, 3 routes failing",
                with(Critical, &|i| i.failing_routes = 3),
                Sev1,
            ),
            (
                "critical, 2 routes failing",
                with(Critical, &|i| i.failing_routes = 2),
                Sev2,
            ),
            // Row 3.
            ("critical otherwise", input(Critical), Sev2),
            // Row 4: warning and errors or scope.
            (
                "warning, 5xx 2.5 %",
                with(Warning, &|i| i.error_rate_5xx_percent = Some(2.5)),
                Sev2,
            ),
            (
                "warning, 4xx 2.5 %",
                with(Warning, &|i| i.error_rate_4xx_percent = Some(2.5)),
                Sev2,
            ),
            (
                "warning, 4xx exactly 2 % is not > 2 %",
                with(Warning, &|i| i.error_rate_4xx_percent = Some(2.0)),
                Sev3,
            ),
            (
                "warning, 4xx 1.5 % + 5xx 1 % = 2.5 % of responses are errors",
                with(Warning, &|i| {
                    i.error_rate_4xx_percent = Some(1.5);
                    i.error_rate_5xx_percent = Some(1.0);
                }),
                Sev2,
            ),
            (
                "warning, 4xx 1 % + 5xx 1 % = 2 % is not > 2 %",
                with(Warning, &|i| {
                    i.error_rate_4xx_percent = Some(1.0);
                    i.error_rate_5xx_percent = Some(1.0);
                }),
                Sev3,
            ),
            (
                "warning, 3 routes failing",
                with(Warning, &|i| i.failing_routes = 3),
                Sev2,
            ),
            (
                "warning, 2 routes failing",
                with(Warning, &|i| i.failing_routes = 2),
                Sev3,
            ),
            (
                "warning, a database check alone does not widen it",
                with(Warning, &|i| {
                    i.failing_checks = vec!["database:responseTime".into()]
                }),
                Sev3,
            ),
            // Row 5.
            ("warning alone", input(Warning), Sev3),
            // Row 6: info, whatever the scope.
            ("info", input(Info), Sev4),
            (
                "info with errors and routes",
                with(Info, &|i| {
                    i.error_rate_5xx_percent = Some(90.0);
                    i.failing_routes = 10;
                }),
                Sev4,
            ),
        ];
        for (name, i, want) in cases {
            let got = classify(&i);
            assert_eq!(got.severity, want, "{name}: {:?}", got.reasons);
            assert!(
                !got.reasons.is_empty(),
                "{name}: a classification always says why"
            );
        }
    }

    #[test]
    fn reasons_name_the_signals() {
        let mut i = input(Severity::Critical);
        i.error_rate_5xx_percent = Some(7.456);
        i.failing_routes = 4;
        i.failing_checks = vec!["database:responseTime".into(), "disk:utilization".into()];
        let c = classify(&i);
        assert_eq!(
            c.reasons,
            [
                "critical alert",
                "5xx rate 7.46 % > 5 %",
                "datastore/readiness check failing: database:responseTime",
                "4 routes failing (>= 3)",
            ]
        );
        let mut i = input(Severity::Info);
        i.security_breach = true;
        i.data_loss = true;
        assert_eq!(classify(&i).reasons, ["security breach event", "data loss"]);
    }

    #[test]
    fn response_targets_and_escalation_follow_the_runbook() {
        let m = |n: u64| Duration::from_secs(n * 60);
        let cases = [
            (Sev1, m(15), Duration::ZERO),
            (Sev2, m(60), m(120)),
            (Sev3, m(240), m(480)),
            (Sev4, m(1440), m(2880)),
        ];
        for (sev, target, escalate) in cases {
            assert_eq!(response_target(sev), target, "{sev:?}");
            assert_eq!(escalate_after(sev), escalate, "{sev:?}");
        }
    }

    fn any_input() -> impl Strategy<Value = ClassifyInput> {
        (
            prop_oneof![
                Just(Severity::Info),
                Just(Severity::Warning),
                Just(Severity::Critical)
            ],
            proptest::option::of(prop_oneof![-1.0f64..100.0, Just(f64::NAN)]),
            proptest::option::of(-1.0f64..100.0),
            0u32..6,
            proptest::collection::vec(
                prop_oneof![
                    Just("database:responseTime".to_owned()),
                    Just("disk:utilization".to_owned())
                ],
                0..3,
            ),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(s, r5, r4, routes, checks, loss, breach)| ClassifyInput {
                alert_severity: s,
                error_rate_5xx_percent: r5,
                error_rate_4xx_percent: r4,
                failing_routes: routes,
                failing_checks: checks,
                data_loss: loss,
                security_breach: breach,
            })
    }

    proptest! {
        /// More signals never lower the severity, and a higher alert severity never yields
        /// a lower incident severity.
        #[test]
        fn more_signals_never_lower_the_severity(i in any_input()) {
            let base = classify(&i).severity;
            let mut worse = i.clone();
            worse.failing_routes += 1;
            worse.failing_checks.push("database:responseTime".into());
            worse.error_rate_5xx_percent = worse.error_rate_5xx_percent.map(|r| r + 1.0);
            prop_assert!(classify(&worse).severity <= base);
            let mut breach = i.clone();
            breach.security_breach = true;
            prop_assert_eq!(classify(&breach).severity, Sev1);
            let mut higher = i.clone();
            higher.alert_severity = match i.alert_severity {
                Severity::Info => Severity::Warning,
                _ => Severity::Critical,
            };
            prop_assert!(classify(&higher).severity <= base);
        }
    }
}
