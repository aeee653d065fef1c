//! Evaluation of an [`Expr`] at one instant over a [`SeriesSource`].
//!
//! Prometheus semantics, reduced to one number per rule:
//! - `rate`/`increase` use the samples inside the window, count a drop as a counter reset
//!   (the new value counts from zero), and extrapolate to the window's edges exactly as
//!   Prometheus' `extrapolatedRate` does (so `increase(x[5m])` of a counter sampled every
//!   minute is the 4-minute increase scaled to 5 minutes). Fewer than two samples: no data.
//! - A selector sums its series (one counter reset in one of several summed series is
//!   seen as a reset of the sum; in practice series reset together, when the process
//!   restarts, and then the result is exact).
//! - `histogram_quantile` interpolates linearly inside the bucket holding the rank, over
//!   the window's bucket increases; a rank in `+Inf` answers the largest finite bound.
//! - No data propagates through arithmetic; a comparison with no data is false. Unlike
//!   Prometheus, a condition used as a number (`(a > 1) * 2`) filters: its value when it
//!   holds, no data when it does not.
//! - `a and b` has `a`'s value; `a or b` has the value of the first side that holds (`a`'s
//!   when neither does).

use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;

use super::series::raw_increase;
use super::{ArithOp, CmpOp, Expr, RangeFn, SeriesSource};

/// The outcome of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluated {
    /// The value (`$value`): the left side of a top-level comparison, or the bare value;
    /// `None` for no data.
    pub value: Option<f64>,
    /// The truth of a condition; `None` for a bare value.
    pub condition: Option<bool>,
}

impl Evaluated {
    /// Whether it holds: the condition, or for a bare value, a value that is neither zero,
    /// NaN nor missing.
    pub fn holds(&self) -> bool {
        self.condition
            .unwrap_or_else(|| self.value.is_some_and(|v| v != 0.0 && !v.is_nan()))
    }
}

// Saturate instead of panicking on absurd windows (`99999999d`).
const EARLIEST: OffsetDateTime = datetime!(-9999-01-01 0:00 UTC);

fn minus(at: OffsetDateTime, d: Duration) -> OffsetDateTime {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| at.checked_sub(d))
        .unwrap_or(EARLIEST)
}

impl Expr {
    /// Evaluates the expression at `at`.
    pub fn eval(&self, src: &dyn SeriesSource, at: OffsetDateTime) -> Evaluated {
        match self {
            Expr::Compare { op, lhs, rhs } => {
                let l = lhs.value(src, at);
                let r = rhs.value(src, at);
                let holds = match (l, r) {
                    (Some(l), Some(r)) => compare(*op, l, r),
                    _ => false,
                };
                Evaluated {
                    value: l,
                    condition: Some(holds),
                }
            }
            Expr::And(a, b) => {
                let a = a.eval(src, at);
                let holds = a.holds() && b.eval(src, at).holds();
                Evaluated {
                    value: a.value,
                    condition: Some(holds),
                }
            }
            Expr::Or(a, b) => {
                let a = a.eval(src, at);
                if a.holds() {
                    return Evaluated {
                        value: a.value,
                        condition: Some(true),
                    };
                }
                let b = b.eval(src, at);
                Evaluated {
                    value: if b.holds() { b.value } else { a.value },
                    condition: Some(b.holds()),
                }
            }
            _ => Evaluated {
                value: self.value(src, at),
                condition: None,
            },
        }
    }

    /// The expression as a number.
    fn value(&self, src: &dyn SeriesSource, at: OffsetDateTime) -> Option<f64> {
        match self {
            Expr::Number(n) => Some(*n),
            Expr::Select(sel) => src.instant(sel, at),
            Expr::Neg(e) => e.value(src, at).map(|v| -v),
            Expr::Arith { op, lhs, rhs } => {
                let (l, r) = (lhs.value(src, at)?, rhs.value(src, at)?);
                Some(match op {
                    ArithOp::Add => l + r,
                    ArithOp::Sub => l - r,
                    ArithOp::Mul => l * r,
                    ArithOp::Div => l / r,
                })
            }
            Expr::Compare { .. } | Expr::And(..) | Expr::Or(..) => {
                let e = self.eval(src, at);
                if e.holds() { e.value } else { None }
            }
            Expr::Range {
                func,
                selector,
                window,
            } => {
                let from = minus(at, *window);
                let samples = src.samples(selector, from, at);
                let values = samples.iter().map(|s| s.1);
                match func {
                    RangeFn::Rate => extrapolated(&samples, from, at, true),
                    RangeFn::Increase => extrapolated(&samples, from, at, false),
                    RangeFn::AvgOverTime => {
                        (!samples.is_empty()).then(|| values.sum::<f64>() / samples.len() as f64)
                    }
                    RangeFn::MinOverTime => values.reduce(f64::min),
                    RangeFn::MaxOverTime => values.reduce(f64::max),
                    RangeFn::AbsentOverTime => samples.is_empty().then_some(1.0),
                }
            }
            Expr::HistogramQuantile {
                q,
                selector,
                window,
            } => {
                let d = src.histogram(selector, minus(at, *window), at)?;
                quantile(&d.buckets, d.count, *q)
            }
            Expr::Absent(sel) => src.instant(sel, at).is_none().then_some(1.0),
        }
    }
}

fn compare(op: CmpOp, l: f64, r: f64) -> bool {
    match op {
        CmpOp::Gt => l > r,
        CmpOp::Ge => l >= r,
        CmpOp::Lt => l < r,
        CmpOp::Le => l <= r,
        CmpOp::Eq => l == r,
        CmpOp::Ne => l != r,
    }
}

fn secs(from: OffsetDateTime, to: OffsetDateTime) -> f64 {
    (to - from).as_seconds_f64()
}

/// Prometheus' `extrapolatedRate` for a counter: the increase inside the window, scaled
/// to the window's edges when the samples reach close enough to them (within 1.1 average
/// intervals; otherwise half an interval), never extrapolating below zero at the start.
/// Per second when `per_second`.
pub(crate) fn extrapolated(
    samples: &[(OffsetDateTime, f64)],
    from: OffsetDateTime,
    to: OffsetDateTime,
    per_second: bool,
) -> Option<f64> {
    let increase = raw_increase(samples)?;
    let (first, last) = (samples.first()?, samples.last()?);
    let sampled = secs(first.0, last.0);
    if sampled <= 0.0 {
        return None;
    }
    let mut to_start = secs(from, first.0);
    let to_end = secs(last.0, to);
    let avg_step = sampled / (samples.len() - 1) as f64;
    // A counter cannot have been below zero: do not extrapolate past where it was zero.
    if increase > 0.0 && first.1 >= 0.0 {
        to_start = to_start.min(sampled * (first.1 / increase));
    }
    let threshold = avg_step * 1.1;
    let mut span = sampled;
    span += if to_start < threshold {
        to_start
    } else {
        avg_step / 2.0
    };
    span += if to_end < threshold {
        to_end
    } else {
        avg_step / 2.0
    };
    let scaled = increase * (span / sampled);
    Some(if per_second {
        scaled / secs(from, to)
    } else {
        scaled
    })
}

/// The `q`-quantile of cumulative `(bound, count)` buckets with `count` observations in
/// all, interpolating linearly inside the bucket holding the rank (Prometheus'
/// `histogram_quantile`; the same algorithm as `legalops_ops::metrics::quantile`, over
/// fractional increases). `None` without observations.
pub fn quantile(buckets: &[(f64, f64)], count: f64, q: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let total = buckets.iter().map(|b| b.1).fold(count, f64::max);
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut prev = 0.0;
    let mut lower = 0.0;
    for (i, &(upper, cumulative)) in buckets.iter().enumerate() {
        // Skip empty buckets so that q = 0 lands on the first observation, not on 0/0.
        if cumulative > prev && cumulative >= rank {
            if i == 0 && upper <= 0.0 {
                return Some(upper);
            }
            let into = (rank - prev).max(0.0);
            return Some(lower + (upper - lower) * (into / (cumulative - prev)));
        }
        prev = f64::max(prev, cumulative);
        lower = upper;
    }
    // The rank lies in +Inf: nothing is known above the largest finite bound.
    buckets.last().map(|b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::expr::MemorySeries;
    use crate::metrics::Labels;

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)
    }

    fn status(s: &str) -> Labels {
        Labels::from([("status".to_owned(), s.to_owned())])
    }

    /// `http_requests_total`: 2xx grows 100/min, 5xx `err_per_min`/min, for 20 minutes.
    fn traffic(err_per_min: f64) -> MemorySeries {
        let mut s = MemorySeries::new();
        for i in 0..=20 {
            s.push(
                "http_requests_total",
                status("2xx"),
                t(i * 60),
                100.0 * i as f64,
            );
            s.push(
                "http_requests_total",
                status("5xx"),
                t(i * 60),
                err_per_min * i as f64,
            );
        }
        s
    }

    fn eval(src: &MemorySeries, e: &str, at: i64) -> Evaluated {
        Expr::parse(e).expect("parses").eval(src, t(at))
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn rate_extrapolates_to_the_window_like_prometheus() {
        let s = traffic(10.0);
        // 110 requests a minute = 1.8333/s; the samples at 6..10 m reach both edges.
        let r = eval(&s, "rate(http_requests_total[5m])", 600);
        assert!(close(r.value, 110.0 / 60.0), "{r:?}");
        assert_eq!(r.condition, None);
        assert!(close(
            eval(&s, "increase(http_requests_total[5m])", 600).value,
            550.0
        ));
        let ratio =
            r#"rate(http_requests_total{status="5xx"}[5m]) / rate(http_requests_total[5m]) * 100"#;
        let e = eval(&s, &format!("{ratio} > 5"), 600);
        assert!(
            close(e.value, 1000.0 / 110.0) && e.condition == Some(true),
            "{e:?}"
        );
    }

    #[test]
    fn a_counter_reset_counts_from_zero() {
        let mut s = MemorySeries::new();
        for (i, v) in [0.0, 60.0, 120.0, 30.0, 90.0, 150.0]
            .into_iter()
            .enumerate()
        {
            s.push("c", Labels::new(), t(i as i64 * 60), v);
        }
        // Raw increase at 1..5 m: 60 + (30 after the reset) + 120 = 210 in 240 s, scaled to 300 s.
        assert!(close(
            eval(&s, "increase(c[5m])", 300).value,
            210.0 * 300.0 / 240.0
        ));
    }

    #[test]
    fn rate_needs_two_samples_and_does_not_extrapolate_below_zero() {
        let mut s = MemorySeries::new();
        s.push("c", Labels::new(), t(240), 5.0);
        assert_eq!(eval(&s, "rate(c[5m])", 300).value, None);
        s.push("c", Labels::new(), t(300), 10.0);
        // A counter at 5 a minute after ... reaches zero 60 s before its first sample.
        assert!(
            close(eval(&s, "increase(c[5m])", 300).value, 10.0),
            "{:?}",
            eval(&s, "increase(c[5m])", 300)
        );
    }

    #[test]
    fn over_time_functions_and_absence() {
        let mut s = MemorySeries::new();
        for (i, v) in [3.0, 9.0, 6.0].into_iter().enumerate() {
            s.push("g", Labels::new(), t(i as i64 * 60), v);
        }
        assert!(close(eval(&s, "avg_over_time(g[5m])", 120).value, 6.0));
        assert!(close(eval(&s, "min_over_time(g[5m])", 120).value, 3.0));
        assert!(close(eval(&s, "max_over_time(g[1m])", 120).value, 6.0));
        assert_eq!(eval(&s, "absent_over_time(g[5m])", 120).value, None);
        assert_eq!(eval(&s, "absent_over_time(g[1m])", 900).value, Some(1.0));
        assert_eq!(eval(&s, "absent(g)", 120).value, None);
        assert_eq!(eval(&s, "absent(nope)", 120).value, Some(1.0));
        assert!(eval(&s, "absent(nope)", 120).holds());
        assert!(!eval(&s, "absent(g)", 120).holds());
        assert_eq!(eval(&s, "avg_over_time(g[1m])", 900).value, None);
    }

    #[test]
    fn no_data_makes_a_comparison_false_and_arithmetic_no_data() {
        let s = MemorySeries::new();
        let e = eval(&s, "nope > 1", 0);
        assert_eq!((e.value, e.condition), (None, Some(false)));
        assert_eq!(eval(&s, "nope + 1", 0).value, None);
        assert!(!eval(&s, "nope", 0).holds());
        assert!(eval(&s, "nope < 1 or 2 > 1", 0).holds());
    }

    #[test]
    fn and_or_values_come_from_the_side_that_decides() {
        let mut s = MemorySeries::new();
        s.push("a", Labels::new(), t(0), 10.0);
        s.push("b", Labels::new(), t(0), 20.0);
        let e = eval(&s, "a > 5 and b > 5", 0);
        assert_eq!((e.value, e.condition), (Some(10.0), Some(true)));
        let e = eval(&s, "a > 50 or b > 5", 0);
        assert_eq!((e.value, e.condition), (Some(20.0), Some(true)));
        let e = eval(&s, "a > 50 or b > 50", 0);
        assert_eq!((e.value, e.condition), (Some(10.0), Some(false)));
        assert_eq!(eval(&s, "a > 5 and b > 50", 0).condition, Some(false));
        // A condition used as a number filters.
        assert_eq!(eval(&s, "(a > 5) * 2", 0).value, Some(20.0));
        assert_eq!(eval(&s, "(a > 50) * 2", 0).value, None);
        assert!(
            eval(&s, "1", 0).holds() && !eval(&s, "0", 0).holds() && !eval(&s, "0 / 0", 0).holds()
        );
    }

    #[test]
    fn histogram_quantile_interpolates_over_the_window_increase() {
        let mut s = MemorySeries::new();
        let l = Labels::new();
        s.push_histogram(
            "h",
            l.clone(),
            t(0),
            0,
            0.0,
            &[(0.1, 0), (0.5, 0), (1.0, 0)],
        );
        s.push_histogram(
            "h",
            l,
            t(60),
            100,
            30.0,
            &[(0.1, 10), (0.5, 60), (1.0, 100)],
        );
        // Rank 35 is halfway through the 0.1..0.5 bucket (10..60).
        assert!(close(
            eval(&s, "histogram_quantile(0.35, h[5m])", 60).value,
            0.3
        ));
        assert!(close(
            eval(&s, "histogram_quantile(1, h[5m])", 60).value,
            1.0
        ));
        assert_eq!(eval(&s, "histogram_quantile(0.5, h[5m])", 3600).value, None);
    }

    #[test]
    fn quantile_matches_the_registry_estimate() {
        let b = [(0.1, 10.0), (0.5, 60.0), (1.0, 100.0)];
        assert_eq!(quantile(&b, 100.0, 0.05), Some(0.05));
        assert_eq!(
            quantile(&b, 200.0, 0.99),
            Some(1.0),
            "a rank in +Inf answers the last bound"
        );
        assert_eq!(quantile(&[(1.0, 0.0), (2.0, 4.0)], 4.0, 0.0), Some(1.0));
        // The buckets' count stands in for a missing +Inf: rank 50 of 100.
        assert!(close(quantile(&b, 0.0, 0.5), 0.42));
        assert_eq!(quantile(&[], 0.0, 0.5), None);
        assert_eq!(quantile(&b, 100.0, f64::NAN), None);
        assert_eq!(quantile(&[(-1.0, 5.0)], 5.0, 0.5), Some(-1.0));
    }

    #[test]
    fn absurd_windows_saturate_instead_of_panicking() {
        let s = traffic(1.0);
        assert!(
            eval(&s, "rate(http_requests_total[99999999999d])", 600)
                .value
                .is_some()
        );
    }
}
