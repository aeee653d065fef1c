//! Bindings of `legalops_core::thresholds`: the runbook's targets and alert levels, and
//! grading a figure against them by name.

use legalops_core::Error;
use legalops_core::thresholds::{self as core, Threshold};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::to_python;
use crate::errors::to_py;
use crate::health::Status;

/// Every threshold as a dict: `name`, `unit`, `direction` (`higher_is_worse` or
/// `lower_is_worse`), `target`, `warning`, `critical` (None where the runbook has none).
#[pyfunction]
pub fn thresholds(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    to_python(py, &core::ALL)
}

/// The threshold called `name`, as a dict like those of `thresholds()`.
#[pyfunction]
pub fn threshold<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    to_python(py, &by_name(name)?)
}

/// Grades `value` against the threshold called `name`: a dict of `value`, `target`,
/// `status` (a `Status`) and `meets_target`.
#[pyfunction]
pub fn grade<'py>(py: Python<'py>, name: &str, value: f64) -> PyResult<Bound<'py, PyDict>> {
    let graded = by_name(name)?.grade(value);
    let dict = PyDict::new(py);
    dict.set_item("value", graded.value)?;
    dict.set_item("target", graded.target)?;
    dict.set_item("status", Status::from(graded.status))?;
    dict.set_item("meets_target", graded.meets_target)?;
    Ok(dict)
}

fn by_name(name: &str) -> PyResult<Threshold> {
    core::by_name(name).ok_or_else(|| {
        let known: Vec<&str> = core::ALL.iter().map(|t| t.name).collect();
        to_py(Error::invalid_input(
            "name",
            format!("unknown threshold {name:?}; known: {}", known.join(", ")),
        ))
    })
}

/// Adds the threshold functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(thresholds, m)?)?;
    m.add_function(wrap_pyfunction!(threshold, m)?)?;
    m.add_function(wrap_pyfunction!(grade, m)?)?;
    Ok(())
}
