//! Where expressions read values from: the [`SeriesSource`] trait, and [`MemorySeries`],
//! an in-memory store of samples used by the rule test harness, by tests, and by the
//! evaluator (fed one registry snapshot per tick with [`MemorySeries::push_snapshot`]).
//!
//! Histograms are stored as Prometheus exposes them, so that a rule test file can feed
//! them exactly as promtool's does: `NAME_bucket{le="0.5"}` (cumulative count per upper
//! bound, `le="+Inf"` equal to the count), `NAME_count` and `NAME_sum`.
//! [`MemorySeries::push_histogram`] turns a [`MetricValue::Histogram`]'s `(count, sum,
//! buckets)` into those series, and [`SeriesSource::histogram`] reads them back by the
//! histogram's base name.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::Selector;
use crate::metrics::{Labels, MetricValue, MetricsSnapshot};

/// How long a sample stays current: an instant value is the latest sample no older than
/// this (Prometheus' lookback delta).
pub const STALENESS: Duration = Duration::from_secs(300);

/// A histogram's increases over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramDelta {
    /// `(upper bound, cumulative increase)` for the finite bounds, ascending (`+Inf` is
    /// implied by `count`, as in [`MetricValue::Histogram`]).
    pub buckets: Vec<(f64, f64)>,
    /// Increase of the observation count.
    pub count: f64,
    /// Increase of the sum of observations (0 when no `_sum` series exists).
    pub sum: f64,
}

/// Values for expressions. Every method sums the series the selector matches.
pub trait SeriesSource {
    /// The sum of the matching series' latest samples at or before `at` and newer than
    /// [`STALENESS`]; `None` when no series has one.
    fn instant(&self, sel: &Selector, at: OffsetDateTime) -> Option<f64>;

    /// The matching series summed per timestamp, for timestamps `from < t <= to`,
    /// ascending.
    fn samples(
        &self,
        sel: &Selector,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Vec<(OffsetDateTime, f64)>;

    /// The increases of histogram `sel.name` (its `_bucket`, `_count` and `_sum` series)
    /// over `from < t <= to`, counter resets handled; `None` without two samples of it.
    fn histogram(
        &self,
        sel: &Selector,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Option<HistogramDelta>;

    /// Whether a metric of this name (or a histogram of this base name) is known.
    fn has_metric(&self, name: &str) -> bool;
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Point {
    Value(f64),
    // Prometheus' staleness marker: the series ended here.
    Stale,
}

type Points = Vec<(OffsetDateTime, Point)>;

/// Samples in memory: metric name -> labels -> points in time order.
#[derive(Debug, Clone, Default)]
pub struct MemorySeries {
    series: BTreeMap<String, BTreeMap<Labels, Points>>,
}

impl MemorySeries {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn put(&mut self, name: &str, labels: Labels, t: OffsetDateTime, p: Point) {
        let points = self
            .series
            .entry(name.to_owned())
            .or_default()
            .entry(labels)
            .or_default();
        // Usually an append; a sample for an existing instant replaces it.
        let i = points.partition_point(|(pt, _)| *pt < t);
        match points.get_mut(i) {
            Some(slot) if slot.0 == t => slot.1 = p,
            _ => points.insert(i, (t, p)),
        }
    }

    /// Records `value` for series `name{labels}` at `t`.
    pub fn push(&mut self, name: &str, labels: Labels, t: OffsetDateTime, value: f64) {
        self.put(name, labels, t, Point::Value(value));
    }

    /// Marks series `name{labels}` as ended at `t` (no instant value from `t` on).
    pub fn push_stale(&mut self, name: &str, labels: Labels, t: OffsetDateTime) {
        self.put(name, labels, t, Point::Stale);
    }

    /// Records a histogram as its `_bucket{le}`, `_count` and `_sum` series (see the
    /// module docs); `buckets` as in [`MetricValue::Histogram`].
    pub fn push_histogram(
        &mut self,
        name: &str,
        labels: Labels,
        t: OffsetDateTime,
        count: u64,
        sum: f64,
        buckets: &[(f64, u64)],
    ) {
        let bucket = format!("{name}_bucket");
        for &(le, c) in buckets.iter().filter(|b| b.0.is_finite()) {
            let mut l = labels.clone();
            l.insert("le".to_owned(), le.to_string());
            self.push(&bucket, l, t, c as f64);
        }
        let mut inf = labels.clone();
        inf.insert("le".to_owned(), "+Inf".to_owned());
        self.push(&bucket, inf, t, count as f64);
        self.push(&format!("{name}_count"), labels.clone(), t, count as f64);
        self.push(&format!("{name}_sum"), labels, t, sum);
    }

    /// Records every series of a registry snapshot at its instant.
    pub fn push_snapshot(&mut self, snapshot: &MetricsSnapshot) {
        for s in &snapshot.samples {
            let labels = s.labels.clone();
            match &s.value {
                MetricValue::Counter { value } => {
                    self.push(&s.name, labels, snapshot.at, *value as f64)
                }
                MetricValue::Gauge { value } => self.push(&s.name, labels, snapshot.at, *value),
                MetricValue::Histogram {
                    count,
                    sum,
                    buckets,
                } => self.push_histogram(&s.name, labels, snapshot.at, *count, *sum, buckets),
            }
        }
    }

    /// Drops every sample older than `t` (keep `t` at least the longest rule window plus
    /// [`STALENESS`] back), and series left empty.
    pub fn retain_since(&mut self, t: OffsetDateTime) {
        for by_labels in self.series.values_mut() {
            for points in by_labels.values_mut() {
                let cut = points.partition_point(|(pt, _)| *pt < t);
                points.drain(..cut);
            }
            by_labels.retain(|_, p| !p.is_empty());
        }
        self.series.retain(|_, s| !s.is_empty());
    }

    fn matching<'a>(
        &'a self,
        name: &str,
        sel: &'a Selector,
    ) -> impl Iterator<Item = (&'a Labels, &'a Points)> + 'a {
        self.series
            .get(name)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(move |(labels, _)| sel.matches(labels))
    }
}

/// The series' value at `t`: its latest point at or before `t`, if a value and current.
fn value_at(points: &Points, t: OffsetDateTime) -> Option<f64> {
    let i = points.partition_point(|(pt, _)| *pt <= t);
    let (pt, p) = points.get(i.checked_sub(1)?)?;
    match p {
        Point::Value(v) if t - *pt < STALENESS => Some(*v),
        _ => None,
    }
}

/// Several series summed at each instant any of them has a sample in `from < t <= to`.
fn summed(
    series: &[&Points],
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Vec<(OffsetDateTime, f64)> {
    let mut instants: Vec<OffsetDateTime> = series
        .iter()
        .flat_map(|p| p.iter())
        .filter(|(t, p)| *t > from && *t <= to && matches!(p, Point::Value(_)))
        .map(|(t, _)| *t)
        .collect();
    instants.sort();
    instants.dedup();
    instants
        .into_iter()
        .filter_map(|t| {
            let vals: Vec<f64> = series.iter().filter_map(|p| value_at(p, t)).collect();
            (!vals.is_empty()).then(|| (t, vals.iter().sum()))
        })
        .collect()
}

/// A counter's increase over samples, a drop counting as a reset to zero; `None` with
/// fewer than two samples.
pub(crate) fn raw_increase(samples: &[(OffsetDateTime, f64)]) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    if samples.len() < 2 {
        return None;
    }
    let resets: f64 = samples
        .windows(2)
        .filter(|w| w[1].1 < w[0].1)
        .map(|w| w[0].1)
        .sum();
    Some(last.1 - first.1 + resets)
}

impl SeriesSource for MemorySeries {
    fn instant(&self, sel: &Selector, at: OffsetDateTime) -> Option<f64> {
        let vals: Vec<f64> = self
            .matching(&sel.name, sel)
            .filter_map(|(_, p)| value_at(p, at))
            .collect();
        (!vals.is_empty()).then(|| vals.iter().sum())
    }

    fn samples(
        &self,
        sel: &Selector,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Vec<(OffsetDateTime, f64)> {
        let series: Vec<&Points> = self.matching(&sel.name, sel).map(|(_, p)| p).collect();
        summed(&series, from, to)
    }

    fn histogram(
        &self,
        sel: &Selector,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Option<HistogramDelta> {
        let bucket_name = format!("{}_bucket", sel.name);
        // Group the bucket series by bound (`1` and `1.0` are one bound); an unparsable or
        // NaN `le` is not a bucket.
        let mut by_le: Vec<(f64, Vec<&Points>)> = Vec::new();
        for (labels, points) in self.matching(&bucket_name, sel) {
            let Some(le) = labels.get("le").and_then(|v| v.parse::<f64>().ok()) else {
                continue;
            };
            if le.is_nan() {
                continue;
            }
            match by_le.iter_mut().find(|(b, _)| *b == le) {
                Some((_, series)) => series.push(points),
                None => by_le.push((le, vec![points])),
            }
        }
        by_le.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut buckets = Vec::new();
        let mut inf_count = None;
        for (le, series) in by_le {
            let inc = raw_increase(&summed(&series, from, to));
            if le == f64::INFINITY {
                inf_count = inc;
            } else {
                buckets.push((le, inc.unwrap_or(0.0)));
            }
        }
        let total = |suffix: &str| {
            let series: Vec<&Points> = self
                .matching(&format!("{}_{suffix}", sel.name), sel)
                .map(|(_, p)| p)
                .collect();
            raw_increase(&summed(&series, from, to))
        };
        let count = inf_count.or_else(|| total("count"))?;
        Some(HistogramDelta {
            buckets,
            count,
            sum: total("sum").unwrap_or(0.0),
        })
    }

    fn has_metric(&self, name: &str) -> bool {
        self.series.contains_key(name) || self.series.contains_key(&format!("{name}_bucket"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::{MatchOp, Matcher};

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn sel(name: &str, m: &[(&str, MatchOp, &str)]) -> Selector {
        let matchers = m
            .iter()
            .map(|(n, op, v)| Matcher {
                name: (*n).to_owned(),
                op: *op,
                value: (*v).to_owned(),
            })
            .collect();
        Selector::new(name, matchers).expect("valid selector")
    }

    #[test]
    fn instant_sums_matching_series_and_honours_staleness() {
        let mut s = MemorySeries::new();
        s.push("x", labels(&[("status", "5xx")]), t(0), 2.0);
        s.push("x", labels(&[("status", "2xx")]), t(0), 5.0);
        s.push("x", labels(&[("status", "2xx")]), t(60), 7.0);
        assert_eq!(s.instant(&sel("x", &[]), t(60)), Some(9.0));
        let five = sel("x", &[("status", MatchOp::Equal, "5xx")]);
        assert_eq!(s.instant(&five, t(60)), Some(2.0));
        // Five minutes after its last sample a series is no longer current.
        assert_eq!(s.instant(&five, t(300)), None);
        assert_eq!(s.instant(&five, t(299)), Some(2.0));
        assert_eq!(s.instant(&sel("x", &[]), t(-1)), None);
        assert_eq!(s.instant(&sel("y", &[]), t(60)), None);
    }

    #[test]
    fn regex_matchers_are_anchored_and_missing_labels_are_empty() {
        let mut s = MemorySeries::new();
        s.push("x", labels(&[("status", "5xx")]), t(0), 1.0);
        s.push("x", labels(&[("status", "15xx")]), t(0), 10.0);
        s.push("x", Labels::new(), t(0), 100.0);
        assert_eq!(
            s.instant(&sel("x", &[("status", MatchOp::Regex, "5..")]), t(0)),
            Some(1.0)
        );
        assert_eq!(
            s.instant(&sel("x", &[("status", MatchOp::NotRegex, "5..")]), t(0)),
            Some(110.0)
        );
        assert_eq!(
            s.instant(&sel("x", &[("status", MatchOp::Equal, "")]), t(0)),
            Some(100.0)
        );
        assert_eq!(
            s.instant(&sel("x", &[("status", MatchOp::NotEqual, "5xx")]), t(0)),
            Some(110.0)
        );
    }

    #[test]
    fn a_stale_marker_ends_the_series() {
        let mut s = MemorySeries::new();
        s.push("x", Labels::new(), t(0), 1.0);
        s.push_stale("x", Labels::new(), t(60));
        assert_eq!(s.instant(&sel("x", &[]), t(30)), Some(1.0));
        assert_eq!(s.instant(&sel("x", &[]), t(90)), None);
        assert_eq!(s.samples(&sel("x", &[]), t(-1), t(120)), vec![(t(0), 1.0)]);
    }

    #[test]
    fn samples_are_summed_per_instant_within_the_half_open_window() {
        let mut s = MemorySeries::new();
        for i in 0..5 {
            s.push("x", labels(&[("a", "1")]), t(i * 60), i as f64);
            s.push("x", labels(&[("a", "2")]), t(i * 60), 10.0);
        }
        let got = s.samples(&sel("x", &[]), t(60), t(180));
        assert_eq!(got, vec![(t(120), 12.0), (t(180), 13.0)]);
    }

    #[test]
    fn histograms_are_read_back_from_their_bucket_series() {
        let mut s = MemorySeries::new();
        let l = labels(&[("route", "/a")]);
        s.push_histogram("h", l.clone(), t(0), 10, 1.0, &[(0.1, 5), (0.5, 8)]);
        s.push_histogram("h", l, t(60), 110, 21.0, &[(0.1, 15), (0.5, 88)]);
        let d = s
            .histogram(&sel("h", &[]), t(-1), t(60))
            .expect("two samples");
        assert_eq!(d.buckets, vec![(0.1, 10.0), (0.5, 80.0)]);
        assert_eq!(d.count, 100.0);
        assert_eq!(d.sum, 20.0);
        assert!(s.has_metric("h") && s.has_metric("h_sum") && !s.has_metric("g"));
        assert_eq!(
            s.histogram(&sel("h", &[]), t(0), t(60)),
            None,
            "one sample is no increase"
        );
    }

    #[test]
    fn increase_counts_a_drop_as_a_reset_to_zero() {
        let s = [(t(0), 5.0), (t(1), 8.0), (t(2), 2.0), (t(3), 4.0)];
        assert_eq!(raw_increase(&s), Some(3.0 + 2.0 + 2.0));
        assert_eq!(raw_increase(&s[..1]), None);
    }

    #[test]
    fn retain_since_drops_old_samples_and_empty_series() {
        let mut s = MemorySeries::new();
        s.push("x", Labels::new(), t(0), 1.0);
        s.push("y", Labels::new(), t(100), 2.0);
        s.retain_since(t(50));
        assert!(!s.has_metric("x"));
        assert_eq!(s.instant(&sel("y", &[]), t(100)), Some(2.0));
    }
}
