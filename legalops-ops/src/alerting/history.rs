//! The metric history the rule evaluator reads: one registry snapshot per evaluation
//! tick, kept for as long as the longest rule looks back, so that `rate`,
//! `increase`, `*_over_time` and `histogram_quantile` windows have samples to work on.
//!
//! The registry holds only current values (a counter's total, a histogram's buckets);
//! windows need the past, which this keeps in memory (core's `MemorySeries`), bounded by
//! [`MetricHistory::keep`]: the longest [`Rule::lookback`] (its widest window plus the
//! staleness window).
//!
//! # After a restart
//!
//! History is not persisted. A process that just started has only what it recorded since:
//! a rule over `rate(x[5m])` has no data until two ticks were recorded, and a window
//! longer than the time since start (`min_over_time(x[6h])` an hour after start) sees
//! only that hour. No data never fires, so the effect is a late alert, never a false one.
//! Rule *state* (pending progress, firing alerts) is persisted separately by the
//! evaluator and survives.
//!
//! TODO(rollups): the per-minute rollups the metrics collector stores could back-fill the
//! history at start (a `SeriesSource` over rollups for windows older than the process),
//! and would also give the evaluator every replica's metrics rather than this replica's
//! registry only. Not done yet: rollups keep averages and percentiles, not the raw
//! counters and buckets `rate` and `histogram_quantile` need.

use std::time::Duration;

use legalops_core::alerting::expr::{
    HistogramDelta, MemorySeries, STALENESS, Selector, SeriesSource,
};
use legalops_core::alerting::rule::Rule;
use legalops_core::metrics::MetricsSnapshot;
use time::OffsetDateTime;

/// A bounded in-memory [`SeriesSource`] fed with one registry snapshot per tick.
#[derive(Debug, Clone)]
pub struct MetricHistory {
    series: MemorySeries,
    keep: Duration,
}

impl MetricHistory {
    /// A history keeping `keep` back from the newest snapshot (at least [`STALENESS`], so
    /// that an instant value is always readable).
    pub fn new(keep: Duration) -> Self {
        Self {
            series: MemorySeries::new(),
            keep: keep.max(STALENESS),
        }
    }

    /// A history keeping what `rules` read: their longest [`Rule::lookback`].
    pub fn for_rules(rules: &[Rule]) -> Self {
        Self::new(rules.iter().map(Rule::lookback).max().unwrap_or(STALENESS))
    }

    /// How far back samples are kept.
    pub fn keep(&self) -> Duration {
        self.keep
    }

    /// Records every series of `snapshot` at its instant and drops samples older than
    /// [`keep`](Self::keep) before it.
    pub fn record(&mut self, snapshot: &MetricsSnapshot) {
        self.series.push_snapshot(snapshot);
        // A `keep` too large to subtract (centuries) keeps everything.
        if let Some(cut) = snapshot.at.checked_sub(time_duration(self.keep)) {
            self.series.retain_since(cut);
        }
    }
}

fn time_duration(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

impl SeriesSource for MetricHistory {
    fn instant(&self, sel: &Selector, at: OffsetDateTime) -> Option<f64> {
        self.series.instant(sel, at)
    }

    fn samples(
        &self,
        sel: &Selector,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Vec<(OffsetDateTime, f64)> {
        self.series.samples(sel, from, to)
    }

    fn histogram(
        &self,
        sel: &Selector,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Option<HistogramDelta> {
        self.series.histogram(sel, from, to)
    }

    fn has_metric(&self, name: &str) -> bool {
        self.series.has_metric(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::alerting::expr::Expr;
    use legalops_core::alerting::rule::RuleFile;
    use legalops_core::metrics::{Labels, MetricValue, Sample};

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)
    }

    fn counter(at: i64, value: u64) -> MetricsSnapshot {
        MetricsSnapshot {
            at: t(at),
            samples: vec![Sample {
                name: "x_total".to_owned(),
                labels: Labels::new(),
                value: MetricValue::Counter { value },
            }],
        }
    }

    fn eval(h: &MetricHistory, expr: &str, at: i64) -> Option<f64> {
        Expr::parse(expr)
            .expect("valid expression")
            .eval(h, t(at))
            .value
    }

    #[test]
    fn keep_is_the_longest_rule_lookback_and_at_least_the_staleness_window() {
        let rules = RuleFile::parse(
            "[[rules]]\nname = \"A\"\nexpr = 'rate(x_total[5m]) > 1'\nseverity = \"info\"\n\
             [[rules]]\nname = \"B\"\nexpr = 'min_over_time(x_total[1h]) > 1'\nseverity = \"info\"\n",
            "test.toml",
        )
        .expect("valid rules");
        assert_eq!(
            MetricHistory::for_rules(&rules).keep(),
            Duration::from_secs(3600) + STALENESS
        );
        assert_eq!(MetricHistory::for_rules(&[]).keep(), STALENESS);
        assert_eq!(MetricHistory::new(Duration::ZERO).keep(), STALENESS);
    }

    #[test]
    fn rates_are_computed_over_recorded_ticks() {
        let mut h = MetricHistory::new(Duration::from_secs(600));
        assert_eq!(
            eval(&h, "rate(x_total[5m])", 0),
            None,
            "no data before any tick"
        );
        h.record(&counter(0, 0));
        assert_eq!(
            eval(&h, "rate(x_total[5m])", 0),
            None,
            "one sample is no rate"
        );
        for i in 1..=20 {
            h.record(&counter(i * 15, (i * 15) as u64));
        }
        let r = eval(&h, "rate(x_total[5m])", 300).expect("a rate");
        assert!((r - 1.0).abs() < 1e-9, "one per second, got {r}");
        assert_eq!(eval(&h, "x_total", 300), Some(300.0));
    }

    #[test]
    fn samples_older_than_keep_are_dropped() {
        let mut h = MetricHistory::new(Duration::from_secs(600));
        h.record(&counter(0, 5));
        h.record(&counter(600, 10));
        assert_eq!(eval(&h, "min_over_time(x_total[1h])", 600), Some(5.0));
        h.record(&counter(601, 11));
        assert_eq!(
            eval(&h, "min_over_time(x_total[1h])", 601),
            Some(10.0),
            "the sample at 0 is past keep and gone"
        );
        assert!(h.has_metric("x_total"));
    }

    #[test]
    fn a_huge_keep_keeps_everything_without_panicking() {
        let mut h = MetricHistory::new(Duration::MAX);
        h.record(&counter(0, 1));
        h.record(&counter(60, 2));
        assert_eq!(eval(&h, "min_over_time(x_total[1h])", 60), Some(1.0));
    }
}
