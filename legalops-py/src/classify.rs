//! Bindings of `legalops_core::alerting::classify`: the incident severity an alert and its
//! scope earn (the design page's classification table), and the runbook's response and
//! escalation times per severity, so that a Python tool grades an incident exactly as the
//! incident engine does.
//!
//! Severities cross as the server's JSON names them: alert severities `critical`,
//! `warning`, `info`; incident severities `sev1` to `sev4`. Durations as float seconds.

use legalops_core::Error;
use legalops_core::alerting::classify::{self as core, ClassifyInput};
use legalops_core::alerts::Severity;
use legalops_core::incidents::IncidentSeverity;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::de::DeserializeOwned;

use crate::errors::to_py;

/// `value` as the enum whose JSON name it is, or `InvalidInputError` naming `field` and
/// listing the names accepted.
fn named<T: DeserializeOwned>(field: &str, value: &str, allowed: &str) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).map_err(|_| {
        to_py(Error::invalid_input(
            field,
            format!("must be one of {allowed}, got {value:?}"),
        ))
    })
}

fn incident_severity(sev: &str) -> PyResult<IncidentSeverity> {
    named("sev", sev, "sev1, sev2, sev3, sev4")
}

/// Classifies an incident by the first row of `CLASSIFICATION_TABLE` that applies: a dict
/// of `severity` (`sev1` to `sev4`) and `reasons` (the signals that decided it, in the
/// table's words). A rate of None is not measured; one that is not a finite number counts
/// as over its threshold (if unsure, the higher severity).
#[pyfunction]
#[pyo3(signature = (
    alert_severity,
    error_rate_5xx_percent=None,
    error_rate_4xx_percent=None,
    failing_routes=0,
    failing_checks=Vec::new(),
    data_loss=false,
    security_breach=false,
))]
#[allow(clippy::too_many_arguments)] // One argument per signal of the table, as in the core.
pub fn classify<'py>(
    py: Python<'py>,
    alert_severity: &str,
    error_rate_5xx_percent: Option<f64>,
    error_rate_4xx_percent: Option<f64>,
    failing_routes: u32,
    failing_checks: Vec<String>,
    data_loss: bool,
    security_breach: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let alert_severity: Severity =
        named("alert_severity", alert_severity, "critical, warning, info")?;
    let out = core::classify(&ClassifyInput {
        alert_severity,
        error_rate_5xx_percent,
        error_rate_4xx_percent,
        failing_routes,
        failing_checks,
        data_loss,
        security_breach,
    });
    let dict = PyDict::new(py);
    dict.set_item("severity", crate::convert::to_python(py, &out.severity)?)?;
    dict.set_item("reasons", out.reasons)?;
    Ok(dict)
}

/// How soon an incident of severity `sev` (`sev1` to `sev4`) must be responded to, in
/// seconds: 15 min, 1 h, 4 h, 24 h.
#[pyfunction]
pub fn response_target_secs(sev: &str) -> PyResult<f64> {
    Ok(core::response_target(incident_severity(sev)?).as_secs_f64())
}

/// How long an unresolved incident of severity `sev` waits before it escalates, in
/// seconds: at once, 2 h, 8 h, 48 h.
#[pyfunction]
pub fn escalate_after_secs(sev: &str) -> PyResult<f64> {
    Ok(core::escalate_after(incident_severity(sev)?).as_secs_f64())
}

/// Adds the classification functions and table to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(classify, m)?)?;
    m.add_function(wrap_pyfunction!(response_target_secs, m)?)?;
    m.add_function(wrap_pyfunction!(escalate_after_secs, m)?)?;
    m.add("CLASSIFICATION_TABLE", core::CLASSIFICATION_TABLE)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    // Pure Rust, like the other binding tests: behaviour is tested from pytest.
    use super::*;

    #[test]
    fn severities_parse_by_their_json_names_only() {
        let s: Severity = named("f", "warning", "").expect("known");
        assert_eq!(s, Severity::Warning);
        assert_eq!(
            named::<IncidentSeverity>("f", "sev2", "").expect("known"),
            IncidentSeverity::Sev2
        );
    }
}
