//! Bindings of `legalops_core::alerting`'s rules: loading a rule file (`parse_rules`,
//! `default_rules`), evaluating the rules over samples given from Python (`evaluate_rules`)
//! and the rule test harness behind `legalops alerts test` (`run_rule_tests`), so that a
//! Python tool checks a rule file exactly as the server loads and runs it.
//!
//! Durations cross as float seconds (`*_secs`); sample times as aware `datetime`s or
//! RFC 3339 strings (see [`crate::convert::instant`]). A rule file that does not load
//! raises `InvalidConfigError` whose `field` names the rule (`rules[0] (Name).expr`).

use legalops_core::Error;
use legalops_core::alerting::expr::MemorySeries;
use legalops_core::alerting::harness::{self, HarnessReport};
use legalops_core::alerting::rule::{self, Rule, RuleFile};
use legalops_core::alerting::state::Transition;
use legalops_core::metrics::Labels;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use time::OffsetDateTime;

use crate::convert::instant;
use crate::errors::to_py;

/// What errors call a rule file given as text.
const ORIGIN: &str = "rules";

fn load(rules_toml: &str) -> PyResult<Vec<Rule>> {
    RuleFile::parse(rules_toml, ORIGIN).map_err(to_py)
}

fn rule_dict<'py>(py: Python<'py>, r: &Rule) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("name", &r.name)?;
    dict.set_item("expr", r.expr.to_string())?;
    dict.set_item("recover", r.recover.as_ref().map(ToString::to_string))?;
    dict.set_item("for_secs", r.for_.as_secs_f64())?;
    dict.set_item("keep_firing_for_secs", r.keep_firing_for.as_secs_f64())?;
    dict.set_item("severity", r.severity.as_str())?;
    dict.set_item("labels", r.labels())?;
    dict.set_item("annotations", &r.annotations)?;
    Ok(dict)
}

/// Loads a rule file (TOML, `[[rules]]` tables) and returns each rule as a dict: `name`,
/// `expr` and `recover` (canonical text), `for_secs`, `keep_firing_for_secs`, `severity`,
/// `labels` (the alert's identity: the rule's labels plus `alertname` and `severity`) and
/// `annotations` (the templates). Raises `InvalidConfigError` naming the rule.
#[pyfunction]
pub fn parse_rules<'py>(py: Python<'py>, toml_text: &str) -> PyResult<Bound<'py, PyList>> {
    let rules = load(toml_text)?;
    let dicts = rules
        .iter()
        .map(|r| rule_dict(py, r))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, dicts)
}

/// The text of the rule file that ships with LegalOps.
#[pyfunction]
pub fn default_rules() -> &'static str {
    rule::default_rules()
}

/// `obj[key]`, or `InvalidInputError` naming `field.key` if it is missing.
fn item<'py>(obj: &Bound<'py, PyAny>, field: &str, key: &str) -> PyResult<Bound<'py, PyAny>> {
    obj.get_item(key)
        .map_err(|_| to_py(Error::invalid_input(format!("{field}.{key}"), "is missing")))
}

/// One sample: a `(time, value)` pair; a value of None marks the series ended (stale).
fn sample(field: &str, obj: &Bound<'_, PyAny>) -> PyResult<(OffsetDateTime, Option<f64>)> {
    let wrong = || {
        to_py(Error::invalid_input(
            field,
            "must be a (time, value) pair with value a number or None",
        ))
    };
    if obj.len().map_err(|_| wrong())? != 2 || obj.is_instance_of::<PyString>() {
        return Err(wrong());
    }
    let t = instant(
        &format!("{field}[0]"),
        &obj.get_item(0).map_err(|_| wrong())?,
    )?;
    let v = obj.get_item(1).map_err(|_| wrong())?;
    let value = if v.is_none() {
        None
    } else {
        Some(v.extract::<f64>().map_err(|_| wrong())?)
    };
    Ok((t, value))
}

/// The samples of `series` (dicts of `name`, `labels`, `samples`) in a [`MemorySeries`].
fn series_from(series: &Bound<'_, PyAny>) -> PyResult<MemorySeries> {
    let mut out = MemorySeries::new();
    let not_list = || to_py(Error::invalid_input("series", "must be a list of dicts"));
    for (i, s) in series.try_iter().map_err(|_| not_list())?.enumerate() {
        let field = format!("series[{i}]");
        let s = s?;
        let name: String = item(&s, &field, "name")?.extract().map_err(|_| {
            to_py(Error::invalid_input(
                format!("{field}.name"),
                "must be a string",
            ))
        })?;
        let labels: Labels = match s.get_item("labels") {
            Ok(l) if !l.is_none() => l.extract().map_err(|_| {
                to_py(Error::invalid_input(
                    format!("{field}.labels"),
                    "must be a dict of strings to strings",
                ))
            })?,
            _ => Labels::new(),
        };
        let samples = item(&s, &field, "samples")?;
        let iter = samples.try_iter().map_err(|_| {
            to_py(Error::invalid_input(
                format!("{field}.samples"),
                "must be a list of (time, value) pairs",
            ))
        })?;
        for (j, p) in iter.enumerate() {
            match sample(&format!("{field}.samples[{j}]"), &p?)? {
                (t, Some(v)) => out.push(&name, labels.clone(), t, v),
                (t, None) => out.push_stale(&name, labels.clone(), t),
            }
        }
    }
    Ok(out)
}

/// Evaluates every rule of `rules_toml` at `at` over the given samples (`series`: dicts of
/// `name`, `labels` (optional) and `samples`, a list of `(time, value)`; a value of None
/// ends the series). Returns one dict per rule, in file order: `name`, `value` (the
/// expression's value, None for no data), `condition` (whether it holds), `recovered`
/// (whether the recovery condition holds, None without one), `labels` and `annotations`
/// (rendered). Evaluation runs without the GIL.
#[pyfunction]
pub fn evaluate_rules<'py>(
    py: Python<'py>,
    rules_toml: &str,
    series: &Bound<'py, PyAny>,
    at: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let rules = load(rules_toml)?;
    let src = series_from(series)?;
    let at = instant("at", at)?;
    let inputs = py.detach(move || {
        rules
            .iter()
            .map(|r| (r.name.clone(), r.evaluate(&src, at)))
            .collect::<Vec<_>>()
    });
    let dicts = inputs
        .into_iter()
        .map(|(name, input)| {
            let dict = PyDict::new(py);
            dict.set_item("name", name)?;
            dict.set_item("value", input.value)?;
            dict.set_item("condition", input.condition)?;
            dict.set_item("recovered", input.recovered)?;
            dict.set_item("labels", input.labels)?;
            dict.set_item("annotations", input.annotations)?;
            Ok(dict)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, dicts)
}

/// The state a transition enters, as the harness's test files name states.
fn entered(t: Transition) -> &'static str {
    match t {
        Transition::ToPending => "pending",
        Transition::ToFiring => "firing",
        Transition::ToResolved => "resolved",
        Transition::ToInactive => "inactive",
    }
}

fn report_dict<'py>(py: Python<'py>, report: &HarnessReport) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("checks", report.checks)?;
    dict.set_item("passed", report.passed)?;
    dict.set_item("failed", report.failed)?;
    dict.set_item("ok", report.ok())?;
    let mismatches: Vec<String> = report.mismatches.iter().map(ToString::to_string).collect();
    dict.set_item("mismatches", mismatches)?;
    let transitions = report
        .transitions
        .iter()
        .map(|t| {
            let d = PyDict::new(py);
            d.set_item("at_secs", t.at.as_secs_f64())?;
            d.set_item("rule", &t.rule)?;
            d.set_item("state", entered(t.transition))?;
            Ok(d)
        })
        .collect::<PyResult<Vec<_>>>()?;
    dict.set_item("transitions", transitions)?;
    Ok(dict)
}

/// Runs the rule tests of `test_toml` (promtool's format, see `legalops alerts test`)
/// against the rules of `rules_toml`: a dict of `checks`, `passed`, `failed`, `ok`,
/// `mismatches` (one line each, naming the rule) and `transitions` (`at_secs` from time 0,
/// `rule`, `state` entered). A malformed file raises `InvalidConfigError` naming the key.
/// Runs without the GIL.
#[pyfunction]
pub fn run_rule_tests<'py>(
    py: Python<'py>,
    rules_toml: &str,
    test_toml: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let (rules, tests) = (rules_toml.to_owned(), test_toml.to_owned());
    let report = py
        .detach(move || harness::run(&rules, &tests))
        .map_err(to_py)?;
    report_dict(py, &report)
}

/// Adds the rule functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_rules, m)?)?;
    m.add_function(wrap_pyfunction!(default_rules, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_rules, m)?)?;
    m.add_function(wrap_pyfunction!(run_rule_tests, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    // Pure Rust, like the other binding tests: behaviour is tested from pytest.
    use super::*;

    #[test]
    fn every_transition_enters_the_state_test_files_name() {
        let names: Vec<&str> = [
            Transition::ToPending,
            Transition::ToFiring,
            Transition::ToResolved,
            Transition::ToInactive,
        ]
        .into_iter()
        .map(entered)
        .collect();
        assert_eq!(names, ["pending", "firing", "resolved", "inactive"]);
    }

    #[test]
    fn the_default_rules_load_under_the_bindings_origin() {
        let rules = RuleFile::parse(rule::default_rules(), ORIGIN).expect("shipped rules load");
        assert!(rules.iter().any(|r| r.name == "Watchdog"));
    }
}
