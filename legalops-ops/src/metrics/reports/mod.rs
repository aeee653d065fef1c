//! The JSON reports behind `/api/metrics/application`, `/system` and `/database`: each
//! figure is reported beside its runbook threshold, graded with
//! `legalops_core::thresholds::Threshold::grade`, so that every consumer (dashboard,
//! checklists, alert rules) reads the same verdict.

mod application;
mod database;
mod system;

pub use application::{ApplicationReport, RouteReport};
pub use database::{DatabaseReport, PoolReport, QueryReport};
pub use system::{DiskReport, LoadAverage, MemoryReport, SystemReport, SystemSampler};

/// `value` rounded to `digits` decimals, to keep reports readable.
fn round(value: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (value * f).round() / f
}

/// `part / whole` in percent; 0 for an empty whole (nothing happened, nothing failed).
fn share_percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}
