//! The health model: `application/health+json` (IETF draft-inadarei-api-health-check).
//!
//! Pure data and rules; the engine that runs checks lives in `legalops-ops`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The media type of a health report.
pub const HEALTH_JSON: &str = "application/health+json";

/// `pass`, `warn` or `fail`. Ordered so that the worst status is the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Healthy.
    Pass,
    /// Healthy, with a concern (answers 2xx).
    Warn,
    /// Unhealthy (answers 503).
    Fail,
}

impl Status {
    /// The HTTP status a report with this status answers: 200 for pass and warn, 503 for fail.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Pass | Self::Warn => 200,
            Self::Fail => 503,
        }
    }

    /// The worse of two statuses.
    pub fn worst(self, other: Self) -> Self {
        self.max(other)
    }

    /// The lowercase name (`pass`, `warn`, `fail`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check is about (`componentType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentType {
    /// A part of the application.
    Component,
    /// A store of data (database, object store).
    Datastore,
    /// The machine (disk, memory, CPU).
    System,
}

/// One measurement of one component: an element of `checks["component:measurement"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// Identifies the component instance (e.g. the database URL with secrets removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_id: Option<String>,
    /// The kind of component.
    pub component_type: ComponentType,
    /// The measured value (number, string or object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_value: Option<serde_json::Value>,
    /// The unit of `observed_value` (`ms`, `percent`, `s`, `bytes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_unit: Option<String>,
    /// This measurement's status.
    pub status: Status,
    /// When it was measured (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Why it is not `pass`, for a human.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl CheckResult {
    /// A check result with the given status, measured at `time`.
    pub fn new(component_type: ComponentType, status: Status, time: OffsetDateTime) -> Self {
        Self {
            component_id: None,
            component_type,
            observed_value: None,
            observed_unit: None,
            status,
            time,
            output: None,
        }
    }

    /// Sets the observed value and its unit.
    pub fn observed(
        mut self,
        value: impl Into<serde_json::Value>,
        unit: impl Into<String>,
    ) -> Self {
        self.observed_value = Some(value.into());
        self.observed_unit = Some(unit.into());
        self
    }

    /// Sets the component id.
    pub fn component_id(mut self, id: impl Into<String>) -> Self {
        self.component_id = Some(id.into());
        self
    }

    /// Sets the human-readable output.
    pub fn output(mut self, output: impl Into<String>) -> Self {
        self.output = Some(output.into());
        self
    }
}

/// A whole health report: the body of `/health`, `/readyz` and `/api/health/detailed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// The overall status: the worst of the checks.
    pub status: Status,
    /// The service's version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The build or release id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_id: Option<String>,
    /// The service's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// A description of the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Why the status is not `pass`, for a human.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Checks keyed by `"component:measurement"`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub checks: BTreeMap<String, Vec<CheckResult>>,
}

impl HealthReport {
    /// A report whose status is the worst of `checks` (pass when there are none).
    pub fn from_checks(checks: BTreeMap<String, Vec<CheckResult>>) -> Self {
        let status = overall_status(checks.values().flatten().map(|c| c.status));
        let output = (status != Status::Pass).then(|| {
            let failing: Vec<&str> = checks
                .iter()
                .filter(|(_, results)| results.iter().any(|r| r.status != Status::Pass))
                .map(|(key, _)| key.as_str())
                .collect();
            format!("{status}: {}", failing.join(", "))
        });
        Self {
            status,
            version: None,
            release_id: None,
            service_id: None,
            description: None,
            output,
            checks,
        }
    }

    /// Every check result that failed, with its key.
    pub fn failing(&self) -> Vec<(&str, &CheckResult)> {
        self.checks
            .iter()
            .flat_map(|(k, rs)| rs.iter().map(move |r| (k.as_str(), r)))
            .filter(|(_, r)| r.status == Status::Fail)
            .collect()
    }

    /// The same report with only the overall status: what a public endpoint may show.
    pub fn status_only(&self) -> Self {
        Self {
            status: self.status,
            version: None,
            release_id: None,
            service_id: None,
            description: None,
            output: None,
            checks: BTreeMap::new(),
        }
    }
}

/// The worst of a set of statuses; `pass` for none.
pub fn overall_status(statuses: impl IntoIterator<Item = Status>) -> Status {
    statuses.into_iter().fold(Status::Pass, Status::worst)
}

/// Grades a measured value against a warn and a fail threshold, where higher is worse
/// (disk 85 % warns, 90 % fails). `warn_at` and `fail_at` are inclusive lower bounds.
pub fn grade_upper(value: f64, warn_at: f64, fail_at: f64) -> Status {
    if value.is_nan() || value >= fail_at {
        Status::Fail
    } else if value >= warn_at {
        Status::Warn
    } else {
        Status::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn check(status: Status) -> Vec<CheckResult> {
        vec![CheckResult::new(
            ComponentType::System,
            status,
            datetime!(2026-01-01 0:00 UTC),
        )]
    }

    #[test]
    fn fail_answers_503_and_warn_answers_200() {
        assert_eq!(Status::Fail.http_status(), 503);
        assert_eq!(Status::Warn.http_status(), 200);
        assert_eq!(Status::Pass.http_status(), 200);
    }

    #[test]
    fn report_takes_the_worst_check_and_names_it() {
        let mut checks = BTreeMap::new();
        checks.insert("disk:utilization".to_owned(), check(Status::Warn));
        checks.insert("database:responseTime".to_owned(), check(Status::Fail));
        checks.insert("memory:utilization".to_owned(), check(Status::Pass));
        let r = HealthReport::from_checks(checks);
        assert_eq!(r.status, Status::Fail);
        let out = r.output.as_deref().unwrap_or_default();
        assert!(out.contains("database:responseTime") && out.contains("disk:utilization"));
        assert!(!out.contains("memory"));
    }

    #[test]
    fn serializes_as_health_json() {
        let mut checks = BTreeMap::new();
        checks.insert(
            "database:responseTime".to_owned(),
            vec![
                CheckResult::new(
                    ComponentType::Datastore,
                    Status::Pass,
                    datetime!(2026-01-01 0:00 UTC),
                )
                .observed(3, "ms"),
            ],
        );
        let v = serde_json::to_value(HealthReport::from_checks(checks)).unwrap_or_default();
        assert_eq!(v["status"], "pass");
        let c = &v["checks"]["database:responseTime"][0];
        assert_eq!(c["componentType"], "datastore");
        assert_eq!(c["observedValue"], 3);
        assert_eq!(c["observedUnit"], "ms");
        assert_eq!(c["time"], "2026-01-01T00:00:00Z");
        let public = serde_json::to_value(HealthReport::from_checks(BTreeMap::new()).status_only())
            .unwrap_or_default();
        assert_eq!(public, serde_json::json!({"status": "pass"}));
    }

    #[test]
    fn grade_upper_uses_inclusive_bounds() {
        assert_eq!(grade_upper(84.9, 85.0, 90.0), Status::Pass);
        assert_eq!(grade_upper(85.0, 85.0, 90.0), Status::Warn);
        assert_eq!(grade_upper(90.0, 85.0, 90.0), Status::Fail);
        assert_eq!(grade_upper(f64::NAN, 85.0, 90.0), Status::Fail);
    }

    proptest! {
        #[test]
        fn overall_is_never_better_than_any_check(v in proptest::collection::vec(0u8..3, 0..20)) {
            let s: Vec<Status> = v.iter().map(|i| [Status::Pass, Status::Warn, Status::Fail][*i as usize]).collect();
            let all = overall_status(s.iter().copied());
            prop_assert!(s.iter().all(|x| *x <= all));
            prop_assert!(s.is_empty() || s.contains(&all));
        }
    }
}
