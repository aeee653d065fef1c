//! Column encodings of the identity, audit and security tables (migration 0002): instants
//! as integer microseconds since the Unix epoch, paging figures as BIGINT, and the helpers
//! that turn a row this code could not have written into a backend error.
//!
//! Microseconds are what both backends store losslessly, and what the audit chain hashes
//! (`legalops_core::audit::chain::micros`), so a stored entry re-hashes to the same value.

use legalops_core::{Error, Result};
use time::OffsetDateTime;

/// `t` as whole microseconds since the epoch, rounded down (toward the past).
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    // Without `time`'s large-dates feature every instant is within ±10^4 years, about
    // ±3.2·10^17 µs, far inside i64; saturate rather than panic should that ever change.
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000)).unwrap_or(i64::MAX)
}

/// `t` as whole microseconds, rounded up: for a stored microsecond value `c`,
/// `c >= t` and `c < t` hold exactly when they hold against this bound.
pub(crate) fn ceil_micros(t: OffsetDateTime) -> i64 {
    let nanos = t.unix_timestamp_nanos();
    i64::try_from(nanos.div_euclid(1_000) + i128::from(nanos.rem_euclid(1_000) > 0))
        .unwrap_or(i64::MAX)
}

/// Optional instants, as [`micros`].
pub(crate) fn opt_micros(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(micros)
}

/// A stored microsecond value back as an instant (UTC).
pub(crate) fn from_micros(backend: &str, column: &str, us: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .map_err(|e| corrupt(backend, format!("stored {column} out of range: {e}")))
}

/// Optional stored instants, as [`from_micros`].
pub(crate) fn from_opt_micros(
    backend: &str,
    column: &str,
    us: Option<i64>,
) -> Result<Option<OffsetDateTime>> {
    us.map(|us| from_micros(backend, column, us)).transpose()
}

/// A `u64` paging figure (offset, limit, sequence bound) as a BIGINT parameter: anything
/// past `i64::MAX` means "all" and behaves the same clamped.
pub(crate) fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored non-negative BIGINT (a count, a sequence number, a level) as `u64`.
pub(crate) fn unsigned(backend: &str, column: &str, n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| corrupt(backend, format!("stored {column} is negative: {n}")))
}

/// JSON text as stored; a column this code wrote is always JSON.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    backend: &str,
    column: &str,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| corrupt(backend, format!("stored {column} is not valid JSON: {e}")))
}

/// A row this code could not have written (edited by hand, or by a newer release).
pub(crate) fn corrupt(backend: &str, message: String) -> Error {
    Error::backend(backend, false, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn micros_floor_and_ceil_differ_only_on_fractions() {
        let whole = datetime!(2026-01-01 0:00:00.000_001 UTC);
        assert_eq!(micros(whole), ceil_micros(whole));
        let frac = datetime!(2026-01-01 0:00:00.000_001_5 UTC);
        assert_eq!(micros(frac) + 1, ceil_micros(frac));
        let before_epoch = datetime!(1969-12-31 23:59:59.999_999_5 UTC);
        assert_eq!(micros(before_epoch), -1);
        assert_eq!(ceil_micros(before_epoch), 0);
    }

    #[test]
    fn huge_paging_figures_clamp() {
        assert_eq!(big(u64::MAX), i64::MAX);
        assert_eq!(big(7), 7);
    }

    #[test]
    fn negative_stored_counts_are_corrupt_rows() {
        assert!(matches!(
            unsigned("db", "seq", -1),
            Err(Error::Backend {
                retryable: false,
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn whole_microsecond_instants_round_trip(us in -62_000_000_000_000_000i64..253_000_000_000_000_000) {
            let t = from_micros("db", "at", us).expect("in range");
            prop_assert_eq!(micros(t), us);
            prop_assert_eq!(ceil_micros(t), us);
        }

        #[test]
        fn ceil_bound_agrees_with_exact_comparison(stored in -1_000_000i64..1_000_000, nanos in -1_000_000_000i128..1_000_000_000) {
            let bound = OffsetDateTime::from_unix_timestamp_nanos(nanos).expect("near the epoch");
            let exact_ge = i128::from(stored) * 1_000 >= nanos;
            prop_assert_eq!(stored >= ceil_micros(bound), exact_ge);
            prop_assert_eq!(stored < ceil_micros(bound), !exact_ge);
            // `now < expires` (Block::is_active) is `expires > floor(now)`.
            prop_assert_eq!(nanos < i128::from(stored) * 1_000, stored > micros(bound));
        }
    }
}
