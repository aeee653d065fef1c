//! The metric history the rule evaluator reads: one registry snapshot per evaluation
//! tick, kept for as long as the longest rule looks back, so that `rate`,
//! `increase`, `*_over_time` and `histogram_quantile` windows have samples to work on.
//!
//! The registry holds only current values (a counter's total, a histogram's buckets);
//! windows need the past, which this keeps in memory (core's `MemorySeries`): only the
//! metrics the rules read, each for the longest [`Rule::lookback`] (widest window plus the
//! staleness window) of the rules reading it.
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

use std::collections::BTreeMap;
use std::time::Duration;

use legalops_core::alerting::expr::{
    HistogramDelta, MemorySeries, STALENESS, Selector, SeriesSource,
};
use legalops_core::alerting::rule::Rule;
use legalops_core::metrics::MetricsSnapshot;
use time::OffsetDateTime;

// A histogram's series as rules name them; the registry names the histogram by its base.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_sum", "_count", "_bucket"];

/// A bounded in-memory [`SeriesSource`] fed with one registry snapshot per tick.
///
/// Built [`for_rules`](Self::for_rules), it records only the metrics the rules read, each
/// for as long as the rules reading it look back: six hours of a disk gauge for a
/// `min_over_time(...[6h])` rule does not mean six hours of every request histogram.
#[derive(Debug, Clone)]
pub struct MetricHistory {
    // One store per distinct retention, longest last.
    tiers: Vec<(Duration, MemorySeries)>,
    // Metric name (as the registry and the rules name it) -> tier; `None`: every metric
    // goes to the only tier.
    names: Option<BTreeMap<String, usize>>,
}

impl MetricHistory {
    /// A history of every metric, keeping `keep` back from the newest snapshot (at least
    /// [`STALENESS`], so that an instant value is always readable).
    pub fn new(keep: Duration) -> Self {
        Self {
            tiers: vec![(keep.max(STALENESS), MemorySeries::new())],
            names: None,
        }
    }

    /// A history of what `rules` read, each metric kept for the longest
    /// [`Rule::lookback`] of the rules naming it.
    pub fn for_rules(rules: &[Rule]) -> Self {
        let mut keep_by_name: BTreeMap<String, Duration> = BTreeMap::new();
        for rule in rules {
            let keep = rule.lookback().max(STALENESS);
            let exprs = std::iter::once(&rule.expr).chain(rule.recover.as_ref());
            for name in exprs.flat_map(|e| e.metric_names()) {
                // `x_sum` in a rule is recorded from the registry's histogram `x`.
                let base = base_name(&name);
                for n in std::iter::once(name).chain(base) {
                    let k = keep_by_name.entry(n).or_default();
                    *k = (*k).max(keep);
                }
            }
        }
        // A histogram's series and its base name share a retention, so that what is
        // recorded under the base is read back from the same store under any suffix.
        let suffixed: Vec<(String, String)> = keep_by_name
            .keys()
            .filter_map(|n| base_name(n).map(|b| (n.clone(), b)))
            .collect();
        for (n, b) in &suffixed {
            if let Some(&k) = keep_by_name.get(n) {
                keep_by_name
                    .entry(b.clone())
                    .and_modify(|kb| *kb = (*kb).max(k));
            }
        }
        for (n, b) in &suffixed {
            if let Some(&kb) = keep_by_name.get(b) {
                keep_by_name.insert(n.clone(), kb);
            }
        }
        let mut keeps: Vec<Duration> = keep_by_name.values().copied().collect();
        keeps.sort();
        keeps.dedup();
        let names = keep_by_name
            .into_iter()
            .map(|(n, k)| (n, keeps.partition_point(|x| *x < k)))
            .collect();
        Self {
            tiers: keeps
                .into_iter()
                .map(|k| (k, MemorySeries::new()))
                .collect(),
            names: Some(names),
        }
    }

    /// How far back samples are kept (the longest retention).
    pub fn keep(&self) -> Duration {
        self.tiers.last().map_or(STALENESS, |t| t.0)
    }

    /// Records the series of `snapshot` the history keeps, at the snapshot's instant, and
    /// drops samples older than their retention before it.
    pub fn record(&mut self, snapshot: &MetricsSnapshot) {
        match &self.names {
            None => {
                if let Some((_, series)) = self.tiers.first_mut() {
                    series.push_snapshot(snapshot);
                }
            }
            Some(names) => {
                let mut parts: Vec<MetricsSnapshot> = self
                    .tiers
                    .iter()
                    .map(|_| MetricsSnapshot {
                        at: snapshot.at,
                        samples: Vec::new(),
                    })
                    .collect();
                for s in &snapshot.samples {
                    if let Some(part) = names.get(&s.name).and_then(|&i| parts.get_mut(i)) {
                        part.samples.push(s.clone());
                    }
                }
                for ((_, series), part) in self.tiers.iter_mut().zip(&parts) {
                    series.push_snapshot(part);
                }
            }
        }
        for (keep, series) in &mut self.tiers {
            // A retention too long to subtract (centuries) keeps everything.
            if let Some(cut) = snapshot.at.checked_sub(time_duration(*keep)) {
                series.retain_since(cut);
            }
        }
    }

    /// The store holding metric `name` (as an expression names it).
    fn tier(&self, name: &str) -> Option<&MemorySeries> {
        let i = match &self.names {
            None => 0,
            Some(names) => *names.get(name)?,
        };
        self.tiers.get(i).map(|t| &t.1)
    }
}

/// The histogram base of `x_sum`, `x_count`, `x_bucket`.
fn base_name(name: &str) -> Option<String> {
    HISTOGRAM_SUFFIXES
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .map(str::to_owned)
}

fn time_duration(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

impl SeriesSource for MetricHistory {
    fn instant(&self, sel: &Selector, at: OffsetDateTime) -> Option<f64> {
        self.tier(&sel.name)?.instant(sel, at)
    }

    fn samples(
        &self,
        sel: &Selector,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Vec<(OffsetDateTime, f64)> {
        self.tier(&sel.name)
            .map(|t| t.samples(sel, from, to))
            .unwrap_or_default()
    }

    fn histogram(
        &self,
        sel: &Selector,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Option<HistogramDelta> {
        self.tier(&sel.name)?.histogram(sel, from, to)
    }

    fn has_metric(&self, name: &str) -> bool {
        self.tier(name).is_some_and(|t| t.has_metric(name))
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

    fn gauge(name: &str, value: f64) -> Sample {
        Sample {
            name: name.to_owned(),
            labels: Labels::new(),
            value: MetricValue::Gauge { value },
        }
    }

    #[test]
    fn only_the_metrics_rules_read_are_kept_each_for_its_own_lookback() {
        let rules = RuleFile::parse(
            "[[rules]]\nname = \"A\"\nexpr = 'rate(h_sum[5m]) / rate(h_count[5m]) > 1'\nseverity = \"info\"\n\
             [[rules]]\nname = \"B\"\nexpr = 'min_over_time(disk[1h]) > 1'\nseverity = \"info\"\n",
            "test.toml",
        )
        .expect("valid rules");
        let mut h = MetricHistory::for_rules(&rules);
        for at in [0, 900, 1800] {
            h.record(&MetricsSnapshot {
                at: t(at),
                samples: vec![
                    gauge("disk", at as f64 + 1.0),
                    gauge("unread", 1.0),
                    Sample {
                        name: "h".to_owned(),
                        labels: Labels::new(),
                        value: MetricValue::Histogram {
                            count: at as u64,
                            sum: at as f64 * 2.0,
                            buckets: vec![(1.0, at as u64)],
                        },
                    },
                ],
            });
        }
        assert!(!h.has_metric("unread"), "no rule reads it");
        assert_eq!(eval(&h, "unread", 1800), None);
        // The disk gauge is kept for an hour: its first sample is still there...
        assert_eq!(eval(&h, "min_over_time(disk[1h])", 1800), Some(1.0));
        // ... the histogram for 10 minutes: only its last sample is.
        assert_eq!(eval(&h, "h_count", 1800), Some(1800.0));
        assert_eq!(eval(&h, "min_over_time(h_sum[1h])", 1800), Some(3600.0));
        assert_eq!(h.keep(), Duration::from_secs(3600) + STALENESS);
    }
}
