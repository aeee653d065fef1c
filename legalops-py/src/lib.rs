//! Python bindings for LegalOps: the extension module `legalops._legalops`, re-exported by
//! the pure-Python package `legalops` (see `python/legalops`).
//!
//! This crate is conversion only. Every rule lives in `legalops-core`, which knows nothing
//! of Python; a function here takes Python values, calls the core, and converts the result
//! or the `legalops_core::Error` (through [`errors::to_py`], one exception class per kind).
//! Work that can take long (verifying an audit log of millions of entries, hashing its
//! Merkle tree) runs inside `py.detach(...)`, as must any future binding of I/O (stores,
//! backups).

use pyo3::prelude::*;

pub mod alerting;
pub mod audit;
pub mod classify;
mod convert;
pub mod errors;
pub mod health;
pub mod rules;
pub mod security;
pub mod targets;
pub mod thresholds;

/// The module's initialiser: registers every class, function, exception and constant.
#[pymodule(name = "_legalops")]
pub fn legalops_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    health::register(m)?;
    thresholds::register(m)?;
    rules::register(m)?;
    security::register(m)?;
    targets::register(m)?;
    audit::register(m)?;
    alerting::register(m)?;
    classify::register(m)?;
    Ok(())
}
