//! Bindings of the core's small pure rules: secret redaction (`legalops_core::redact`),
//! alert fingerprints (`legalops_core::alerts::fingerprint`) and object keys
//! (`legalops_core::object`).

use std::collections::BTreeMap;

use legalops_core::{alerts, object, redact};
use pyo3::prelude::*;

use crate::errors::to_py;

/// Whether a field called `name` holds a secret (`password`, `X-Api-Key`, `card_number`, ...).
#[pyfunction]
pub fn is_secret_field(name: &str) -> bool {
    redact::is_secret_field(name)
}

/// `value` if the field is not secret, else `REDACTED`.
#[pyfunction]
pub fn redact_field(name: &str, value: &str) -> String {
    redact::redact_field(name, value).to_owned()
}

/// Shows only the last four digits of an SSN or card number (`***-**-6789`).
#[pyfunction]
pub fn mask_last4(value: &str) -> String {
    redact::mask_last4(value)
}

/// Replaces the password in a URL's userinfo with `REDACTED`.
#[pyfunction]
pub fn redact_url(url: &str) -> String {
    redact::redact_url(url)
}

/// The stable 16-hex-digit fingerprint of an alert's labels (independent of their order).
#[pyfunction]
pub fn alert_fingerprint(labels: BTreeMap<String, String>) -> String {
    alerts::fingerprint(&labels)
}

/// Raises `InvalidInputError` unless `key` is a safe relative object key.
#[pyfunction]
pub fn validate_key(key: &str) -> PyResult<()> {
    object::validate_key(key).map_err(to_py)
}

/// Raises `InvalidInputError` unless `prefix` is empty or a valid key prefix.
#[pyfunction]
pub fn validate_prefix(prefix: &str) -> PyResult<()> {
    object::validate_prefix(prefix).map_err(to_py)
}

/// Adds the rule functions and their constants to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(is_secret_field, m)?)?;
    m.add_function(wrap_pyfunction!(redact_field, m)?)?;
    m.add_function(wrap_pyfunction!(mask_last4, m)?)?;
    m.add_function(wrap_pyfunction!(redact_url, m)?)?;
    m.add_function(wrap_pyfunction!(alert_fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(validate_key, m)?)?;
    m.add_function(wrap_pyfunction!(validate_prefix, m)?)?;
    m.add("REDACTED", redact::REDACTED)?;
    m.add("MAX_KEY_LEN", object::MAX_KEY_LEN)?;
    Ok(())
}
