//! Conversions between serde values of the core and Python objects, through the wire form.
//!
//! The core's types already define their JSON shape with serde, so a Python dict is that
//! JSON, decoded by Python's own `json` module: one rule for every type, no second mapping
//! to keep in step. Parse failures become `InvalidInputError` naming what was being parsed.
//!
//! Times that are arguments or results of a function (not fields of a wire dict) are aware
//! `datetime`s; an RFC 3339 string is accepted in their place, as found in the server's JSON.

use legalops_core::Error;
use pyo3::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::errors::to_py;

/// `value` as the Python object its JSON decodes to (dicts, lists, str, int, float, None).
pub fn to_python<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = to_json(value)?;
    py.import("json")?.call_method1("loads", (text,))
}

/// `value` as compact JSON text.
pub fn to_json(value: &impl Serialize) -> PyResult<String> {
    // Serialising a core type to a string fails only for a map with non-string keys, which
    // no core type has; still a Python error rather than a panic.
    serde_json::to_string(value).map_err(|e| to_py(Error::invalid_input("value", e.to_string())))
}

/// Parses JSON text into `T`; `what` names the input in the error.
pub fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| to_py(Error::invalid_input(what, e.to_string())))
}

/// Parses a Python object (a dict as `json.loads` would give) into `T`, by way of
/// `json.dumps`; `what` names the input in the error.
pub fn from_python<T: DeserializeOwned>(what: &str, obj: &Bound<'_, PyAny>) -> PyResult<T> {
    let text: String = obj
        .py()
        .import("json")?
        .call_method1("dumps", (obj,))
        .map_err(|e| {
            to_py(Error::invalid_input(
                what,
                format!("not JSON-serialisable: {e}"),
            ))
        })?
        .extract()?;
    from_json(what, &text)
}

/// An instant argument: an aware `datetime` or an RFC 3339 string; `field` names it in the
/// error. A naive `datetime` is refused rather than guessed to be UTC or local time.
pub fn instant(field: &str, obj: &Bound<'_, PyAny>) -> PyResult<OffsetDateTime> {
    let invalid = |message: String| to_py(Error::invalid_input(field, message));
    if let Ok(text) = obj.extract::<String>() {
        return OffsetDateTime::parse(text.trim(), &Rfc3339)
            .map_err(|e| invalid(format!("must be an RFC 3339 time ({e}): {text:?}")));
    }
    let aware = obj
        .call_method0("utcoffset")
        .is_ok_and(|offset| !offset.is_none());
    if !aware {
        return Err(invalid(
            "must be a timezone-aware datetime or an RFC 3339 string".to_owned(),
        ));
    }
    obj.extract::<OffsetDateTime>()
        .map_err(|e| invalid(format!("not a representable time: {e}")))
}

/// An optional instant argument (`None` stays `None`); see [`instant`].
pub fn optional_instant(
    field: &str,
    obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<OffsetDateTime>> {
    obj.filter(|o| !o.is_none())
        .map(|o| instant(field, o))
        .transpose()
}
