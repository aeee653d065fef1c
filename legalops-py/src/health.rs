//! Bindings of `legalops_core::health`: `Status`, `CheckResult`, `HealthReport`,
//! `overall_status` and `grade_upper`.
//!
//! Reports cross the boundary in their `application/health+json` form (camelCase keys,
//! statuses as strings), so a dict from Python is exactly what `/health` serves.

use std::collections::BTreeMap;

use legalops_core::Error;
use legalops_core::health as core;
use pyo3::prelude::*;
use pyo3::types::PyType;
use time::format_description::well_known::Rfc3339;

use crate::convert::{from_json, from_python, to_json, to_python};
use crate::errors::to_py;

/// `pass`, `warn` or `fail`; ordered so that the worst status is the maximum.
#[pyclass(eq, ord, hash, frozen, from_py_object, module = "legalops")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Healthy.
    #[pyo3(name = "PASS")]
    Pass,
    /// Healthy, with a concern (answers 2xx).
    #[pyo3(name = "WARN")]
    Warn,
    /// Unhealthy (answers 503).
    #[pyo3(name = "FAIL")]
    Fail,
}

impl From<core::Status> for Status {
    fn from(s: core::Status) -> Self {
        match s {
            core::Status::Pass => Self::Pass,
            core::Status::Warn => Self::Warn,
            core::Status::Fail => Self::Fail,
        }
    }
}

impl From<Status> for core::Status {
    fn from(s: Status) -> Self {
        match s {
            Status::Pass => Self::Pass,
            Status::Warn => Self::Warn,
            Status::Fail => Self::Fail,
        }
    }
}

#[pymethods]
impl Status {
    /// Parses `"pass"`, `"warn"` or `"fail"`; anything else raises `InvalidInputError`.
    #[staticmethod]
    fn parse(value: &str) -> PyResult<Self> {
        let s: core::Status = serde_json::from_value(serde_json::Value::from(value))
            .map_err(|e| to_py(Error::invalid_input("status", e.to_string())))?;
        Ok(s.into())
    }

    /// The lowercase name, as in health+json.
    #[getter]
    fn value(&self) -> &'static str {
        core::Status::from(*self).as_str()
    }

    /// 200 for pass and warn, 503 for fail.
    #[getter]
    fn http_status(&self) -> u16 {
        core::Status::from(*self).http_status()
    }

    /// The worse of two statuses.
    fn worst(&self, other: StatusArg) -> Self {
        core::Status::from(*self).worst(other.0).into()
    }

    fn __str__(&self) -> &'static str {
        self.value()
    }
}

/// A status argument: a `Status` or its name (`"fail"`), as found in a health+json dict.
pub struct StatusArg(pub core::Status);

impl<'a, 'py> FromPyObject<'a, 'py> for StatusArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.extract::<Status>() {
            return Ok(Self(s.into()));
        }
        let name: String = obj.extract()?;
        Status::parse(&name).map(|s| Self(s.into()))
    }
}

/// One measurement of one component: an element of `checks["component:measurement"]`.
#[pyclass(eq, frozen, module = "legalops")]
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult(pub core::CheckResult);

#[pymethods]
impl CheckResult {
    /// Parses one check from health+json text.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        from_json("check", text).map(Self)
    }

    /// Parses one check from a health+json dict (`componentType`, `status`, `time`, ...).
    #[staticmethod]
    fn from_dict(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        from_python("check", data).map(Self)
    }

    /// This measurement's status.
    #[getter]
    fn status(&self) -> Status {
        self.0.status.into()
    }

    /// `component`, `datastore` or `system`.
    #[getter]
    fn component_type<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.component_type)
    }

    /// The component instance, if given.
    #[getter]
    fn component_id(&self) -> Option<&str> {
        self.0.component_id.as_deref()
    }

    /// The measured value (number, string, dict) or None.
    #[getter]
    fn observed_value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.observed_value)
    }

    /// The unit of `observed_value`, if given.
    #[getter]
    fn observed_unit(&self) -> Option<&str> {
        self.0.observed_unit.as_deref()
    }

    /// When it was measured, RFC 3339.
    #[getter]
    fn time(&self) -> PyResult<String> {
        self.0
            .time
            .format(&Rfc3339)
            .map_err(|e| to_py(Error::invalid_input("time", e.to_string())))
    }

    /// Why it is not `pass`, for a human.
    #[getter]
    fn output(&self) -> Option<&str> {
        self.0.output.as_deref()
    }

    /// The health+json dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }

    /// The health+json text.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.0)
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!("CheckResult.from_json({:?})", to_json(&self.0)?))
    }
}

/// A whole health report: the body of `/health`, `/readyz` and `/api/health/detailed`.
#[pyclass(eq, frozen, module = "legalops")]
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport(pub core::HealthReport);

#[pymethods]
impl HealthReport {
    /// Parses a report from health+json text.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        from_json("health report", text).map(Self)
    }

    /// Parses a report from a health+json dict.
    #[staticmethod]
    fn from_dict(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        from_python("health report", data).map(Self)
    }

    /// A report whose status is the worst of `checks` (`pass` when empty) and whose
    /// `output` names the checks that are not `pass`. Items may be `CheckResult`s or dicts.
    #[classmethod]
    fn from_checks(
        _cls: &Bound<'_, PyType>,
        checks: BTreeMap<String, Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<Self> {
        let mut parsed = BTreeMap::new();
        for (key, items) in checks {
            let results = items
                .iter()
                .map(|item| match item.cast::<CheckResult>() {
                    Ok(c) => Ok(c.get().0.clone()),
                    Err(_) => from_python(&format!("checks[{key:?}]"), item),
                })
                .collect::<PyResult<Vec<_>>>()?;
            parsed.insert(key, results);
        }
        Ok(Self(core::HealthReport::from_checks(parsed)))
    }

    /// The overall status.
    #[getter]
    fn status(&self) -> Status {
        self.0.status.into()
    }

    /// The HTTP status this report answers with (503 when it fails).
    #[getter]
    fn http_status(&self) -> u16 {
        self.0.status.http_status()
    }

    /// Checks keyed by `"component:measurement"`, each a list of health+json dicts.
    #[getter]
    fn checks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.checks)
    }

    /// Why the status is not `pass`, for a human.
    #[getter]
    fn output(&self) -> Option<&str> {
        self.0.output.as_deref()
    }

    /// The service's version.
    #[getter]
    fn version(&self) -> Option<&str> {
        self.0.version.as_deref()
    }

    /// The build or release id.
    #[getter]
    fn release_id(&self) -> Option<&str> {
        self.0.release_id.as_deref()
    }

    /// The service's id.
    #[getter]
    fn service_id(&self) -> Option<&str> {
        self.0.service_id.as_deref()
    }

    /// A description of the service.
    #[getter]
    fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The same report with only the overall status: what a public endpoint may show.
    fn status_only(&self) -> Self {
        Self(self.0.status_only())
    }

    /// The health+json dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }

    /// The health+json text.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.0)
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!("HealthReport.from_json({:?})", to_json(&self.0)?))
    }
}

/// The worst of the statuses (`Status` or names); `PASS` for none.
#[pyfunction]
pub fn overall_status(statuses: Vec<StatusArg>) -> Status {
    core::overall_status(statuses.into_iter().map(|s| s.0)).into()
}

/// Grades a value where higher is worse: `FAIL` at or above `fail_at` (or NaN), `WARN` at
/// or above `warn_at`, else `PASS`.
#[pyfunction]
pub fn grade_upper(value: f64, warn_at: f64, fail_at: f64) -> Status {
    core::grade_upper(value, warn_at, fail_at).into()
}

/// Adds the health classes and functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Status>()?;
    m.add_class::<CheckResult>()?;
    m.add_class::<HealthReport>()?;
    m.add_function(wrap_pyfunction!(overall_status, m)?)?;
    m.add_function(wrap_pyfunction!(grade_upper, m)?)?;
    m.add("HEALTH_JSON", core::HEALTH_JSON)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    // Pure Rust: a test that called into Python would need libpython at run time, which a
    // plain `cargo test --workspace` does not provide; behaviour is tested from pytest.
    use super::*;

    #[test]
    fn status_converts_both_ways_and_keeps_the_core_order() {
        let all = [core::Status::Pass, core::Status::Warn, core::Status::Fail];
        for s in all {
            assert_eq!(core::Status::from(Status::from(s)), s);
        }
        for pair in all.windows(2) {
            assert!(Status::from(pair[0]) < Status::from(pair[1]));
        }
    }
}
