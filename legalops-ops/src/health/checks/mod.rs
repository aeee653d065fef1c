//! The built-in health checks: one small type per `component:measurement`.
//!
//! Each check carries the key it is meant to be registered under (`KEY`), reports its own
//! failures as a `fail` result whose output says why, and grades measured figures with the
//! runbook thresholds in `legalops_core::thresholds`.

mod datastore;
mod system;

pub use datastore::{DatabaseCheck, DocumentStoreCheck, SchemaVersionCheck};
pub use system::{DiskCheck, MemoryCheck, UptimeCheck};

use time::OffsetDateTime;

/// Milliseconds from `start` to `end`, never negative (a clock stepped back reads as 0),
/// rounded to microseconds so that reports stay readable.
fn elapsed_ms(start: OffsetDateTime, end: OffsetDateTime) -> f64 {
    let ms = (end - start).as_seconds_f64() * 1000.0;
    round(ms.max(0.0), 3)
}

/// `value` rounded to `digits` decimals.
fn round(value: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (value * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn elapsed_is_never_negative() {
        let a = datetime!(2026-01-01 0:00:01 UTC);
        let b = datetime!(2026-01-01 0:00 UTC);
        assert_eq!(elapsed_ms(a, b), 0.0);
        assert_eq!(elapsed_ms(b, a), 1000.0);
    }

    #[test]
    fn round_keeps_the_requested_decimals() {
        assert_eq!(round(12.34567, 2), 12.35);
        assert_eq!(round(0.0004, 3), 0.0);
    }
}
