//! Durations as rule files, expressions and rule tests write them: `5m`, `1h30m`, `250ms`,
//! `0` (Prometheus' units `ms`, `s`, `m`, `h`, `d`).

use std::time::Duration;

use crate::error::{Error, Result};

const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses `5m`, `1h30m`, `250ms` or `0`; `InvalidInput { field: "duration" }` otherwise.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = |why: &str| {
        Error::invalid_input(
            "duration",
            format!(
                "`{text}` {why} (write a number and a unit: ms, s, m, h or d, e.g. 5m or 1h30m)"
            ),
        )
    };
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad("is empty"));
    }
    let mut ms: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad("is not a duration"));
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad("is too long"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let Some((_, per)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(bad("has no known unit"));
        };
        ms = n
            .checked_mul(*per)
            .and_then(|v| ms.checked_add(v))
            .ok_or_else(|| bad("is too long"))?;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_millis(ms))
}

/// Writes a duration the way [`parse_duration`] reads it, largest units first (`1h30m`,
/// `0s`); below a millisecond is dropped.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, per) in UNITS {
        let per = u128::from(per);
        if ms >= per {
            out.push_str(&format!("{}{unit}", ms / per));
            ms %= per;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_single_and_compound_units() {
        assert_eq!(parse_duration("5m").ok(), Some(Duration::from_secs(300)));
        assert_eq!(
            parse_duration("1h30m").ok(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            parse_duration("250ms").ok(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_duration("2d").ok(),
            Some(Duration::from_secs(172_800))
        );
        assert_eq!(parse_duration(" 0 ").ok(), Some(Duration::ZERO));
        assert_eq!(parse_duration("0s").ok(), Some(Duration::ZERO));
    }

    #[test]
    fn refuses_what_is_not_a_duration_naming_it() {
        for bad in [
            "",
            "5",
            "m",
            "5x",
            "5 m",
            "-5m",
            "1.5h",
            "99999999999999999999d",
            "5m3",
        ] {
            let e = parse_duration(bad).expect_err(bad).to_string();
            assert!(
                e.contains("duration") && e.contains(&format!("`{}`", bad.trim())),
                "{e}"
            );
        }
    }

    #[test]
    fn formats_largest_units_first() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(ms in 0u64..10_000_000_000) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(d)).ok(), Some(d));
        }
    }
}
