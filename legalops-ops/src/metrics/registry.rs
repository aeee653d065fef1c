//! The in-process metric registry: counters, gauges and fixed-bucket histograms keyed by
//! (name, sorted labels), which is also a `metrics::Recorder` so that code anywhere can
//! record through the `metrics` macros once it is installed globally.
//!
//! Names are normalised when a series is registered, not when it is rendered, so that the
//! snapshot, the Prometheus text and the reports all see one name: metric and label names
//! are sanitised to Prometheus' character set and counters get a `_total` suffix.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use legalops_core::metrics::{Labels, MetricsSnapshot, Sample};
use legalops_core::{Error, Result};

use super::cells::{Cell, HistogramCell};
use super::names::{sanitize_label, sanitize_name};
use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit,
};
use time::OffsetDateTime;

/// Default histogram bucket bounds: request latencies in seconds (Prometheus' defaults).
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

type SeriesKey = (String, Labels);

#[derive(Debug, Default)]
struct Inner {
    series: RwLock<BTreeMap<SeriesKey, Cell>>,
    // The same cells by the caller's unnormalised `metrics::Key`, one map per kind: a
    // repeated registration (every `metrics::counter!` call, every request through the
    // middleware) is one hash lookup instead of re-sanitising the name and rebuilding the
    // labels.
    by_key: [RwLock<HashMap<Key, Cell>>; 3],
    help: RwLock<HashMap<String, String>>,
    buckets: RwLock<HashMap<String, Arc<[f64]>>>,
}

/// The in-process metric registry. Cheap to clone; clones share series.
///
/// Several registries may live in one process (one per platform in a test); at most one is
/// the global recorder behind the `metrics` macros ([`Registry::install_global`]).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl Registry {
    /// An empty registry whose histograms use [`DEFAULT_BUCKETS`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes this registry the recorder behind the `metrics` macros for the whole process.
    /// `Conflict` if a global recorder is already installed.
    pub fn install_global(&self) -> Result<()> {
        metrics::set_global_recorder(self.clone())
            .map_err(|_| Error::conflict("a global metrics recorder is already installed"))
    }

    /// The counter `name` with `labels`, created at 0 if new. `_total` is appended to a
    /// name that lacks it.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Counter {
        self.register_counter(&key(name, labels), &metadata())
    }

    /// The gauge `name` with `labels`, created at 0 if new.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Gauge {
        self.register_gauge(&key(name, labels), &metadata())
    }

    /// The histogram `name` with `labels`, created empty if new.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Histogram {
        self.register_histogram(&key(name, labels), &metadata())
    }

    /// Sets the help text rendered for metric family `name`.
    pub fn describe(&self, name: &str, help: &str) {
        let mut map = self.inner.help.write().unwrap_or_else(|p| p.into_inner());
        map.insert(sanitize_name(name), help.to_owned());
    }

    /// Uses `bounds` (ascending, finite) as the buckets of histograms named `name` that are
    /// created from now on (byte sizes, long jobs). `InvalidInput` otherwise.
    pub fn set_buckets(&self, name: &str, bounds: &[f64]) -> Result<()> {
        let ascending = bounds.windows(2).all(|w| w[0] < w[1]);
        if bounds.is_empty() || !ascending || bounds.iter().any(|b| !b.is_finite()) {
            return Err(Error::invalid_input(
                "bounds",
                "histogram buckets must be finite, ascending and not empty",
            ));
        }
        let mut map = self
            .inner
            .buckets
            .write()
            .unwrap_or_else(|p| p.into_inner());
        map.insert(sanitize_name(name), bounds.into());
        Ok(())
    }

    /// Every series now, ordered by name then labels.
    pub fn snapshot(&self, at: OffsetDateTime) -> MetricsSnapshot {
        let series = self.inner.series.read().unwrap_or_else(|p| p.into_inner());
        let samples = series
            .iter()
            .map(|((name, labels), cell)| Sample {
                name: name.clone(),
                labels: labels.clone(),
                value: cell.value(),
            })
            .collect();
        MetricsSnapshot { at, samples }
    }

    /// The help text described for family `name`, if any (a counter's may have been
    /// described without its `_total`).
    pub(crate) fn help_for(&self, name: &str) -> Option<String> {
        let map = self.inner.help.read().unwrap_or_else(|p| p.into_inner());
        map.get(name)
            .or_else(|| name.strip_suffix("_total").and_then(|n| map.get(n)))
            .cloned()
    }

    /// The series for `key`, created by `make` if new. A name already used by another kind
    /// of metric yields `None`: Prometheus cannot expose one family as two types.
    /// The cell of `key` for `kind`: from the by-key cache, or normalised (`series`),
    /// created if new (`make` gets the normalised name) and cached.
    fn cell_for(
        &self,
        key: &Key,
        kind: &'static str,
        series: impl FnOnce(&Key) -> SeriesKey,
        make: impl FnOnce(&str) -> Cell,
    ) -> Option<Cell> {
        let slot = match kind {
            "counter" => 0,
            "gauge" => 1,
            _ => 2,
        };
        let cache = &self.inner.by_key[slot];
        if let Some(cell) = cache.read().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Some(cell.clone());
        }
        let series = series(key);
        let name = series.0.clone();
        let cell = self.cell(series, kind, || make(&name))?;
        cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), cell.clone());
        Some(cell)
    }

    fn cell(
        &self,
        key: SeriesKey,
        kind: &'static str,
        make: impl FnOnce() -> Cell,
    ) -> Option<Cell> {
        {
            let series = self.inner.series.read().unwrap_or_else(|p| p.into_inner());
            if let Some(cell) = series.get(&key) {
                return (cell.kind() == kind).then(|| cell.clone());
            }
        }
        let mut series = self.inner.series.write().unwrap_or_else(|p| p.into_inner());
        let clash = series
            .range((key.0.clone(), Labels::new())..)
            .take_while(|((n, _), _)| *n == key.0)
            .find(|(_, c)| c.kind() != kind)
            .map(|(_, c)| c.kind());
        if let Some(other) = clash {
            tracing::debug!(name = %key.0, kind, other, "metric name already used by another kind");
            return None;
        }
        let cell = series.entry(key).or_insert_with(make);
        (cell.kind() == kind).then(|| cell.clone())
    }

    fn bounds_for(&self, name: &str) -> Arc<[f64]> {
        let map = self.inner.buckets.read().unwrap_or_else(|p| p.into_inner());
        map.get(name)
            .cloned()
            .unwrap_or_else(|| Arc::from(&DEFAULT_BUCKETS[..]))
    }
}

impl Recorder for Registry {
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(&counter_name(key.as_str()), &description);
    }

    fn describe_gauge(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key.as_str(), &description);
    }

    fn describe_histogram(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key.as_str(), &description);
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        let series = |k: &Key| (counter_name(k.name()), labels_of(k));
        match self.cell_for(key, "counter", series, |_| Cell::Counter(Arc::default())) {
            Some(Cell::Counter(c)) => Counter::from_arc(c),
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        let series = |k: &Key| (sanitize_name(k.name()), labels_of(k));
        match self.cell_for(key, "gauge", series, |_| Cell::Gauge(Arc::default())) {
            Some(Cell::Gauge(g)) => Gauge::from_arc(g),
            _ => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        let series = |k: &Key| (sanitize_name(k.name()), labels_of(k));
        let make =
            |name: &str| Cell::Histogram(Arc::new(HistogramCell::new(self.bounds_for(name))));
        match self.cell_for(key, "histogram", series, make) {
            Some(Cell::Histogram(h)) => Histogram::from_arc(h),
            _ => Histogram::noop(),
        }
    }
}

fn key(name: &str, labels: &[(&str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new((*k).to_owned(), (*v).to_owned()))
        .collect();
    Key::from_parts(name.to_owned(), labels)
}

fn metadata() -> Metadata<'static> {
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()))
}

fn labels_of(key: &Key) -> Labels {
    key.labels()
        .map(|l| (sanitize_label(l.key()), l.value().to_owned()))
        .collect()
}

/// A counter's exposed name: sanitised, ending in `_total`.
fn counter_name(name: &str) -> String {
    let mut n = sanitize_name(name);
    if !n.ends_with("_total") {
        n.push_str("_total");
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::metrics::MetricValue;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    fn value(r: &Registry, name: &str, labels: &[(&str, &str)]) -> Option<MetricValue> {
        let labels: Labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        r.snapshot(AT)
            .samples
            .into_iter()
            .find(|s| s.name == name && s.labels == labels)
            .map(|s| s.value)
    }

    #[test]
    fn series_record_and_snapshot_in_name_then_label_order() {
        let r = Registry::new();
        r.gauge("b_gauge", &[]).set(2.5);
        r.counter("a_total", &[("status", "5xx")]).increment(1);
        r.counter("a_total", &[("status", "2xx")]).increment(3);
        r.counter("a_total", &[("status", "2xx")]).increment(1);
        r.gauge("b_gauge", &[]).decrement(1.0);
        let snap = r.snapshot(AT);
        let order: Vec<(&str, Option<&String>)> = snap
            .samples
            .iter()
            .map(|s| (s.name.as_str(), s.labels.get("status")))
            .collect();
        let (two, five) = ("2xx".to_owned(), "5xx".to_owned());
        assert_eq!(
            order,
            [
                ("a_total", Some(&two)),
                ("a_total", Some(&five)),
                ("b_gauge", None)
            ]
        );
        assert_eq!(snap.samples[0].value, MetricValue::Counter { value: 4 });
        assert_eq!(snap.samples[2].value, MetricValue::Gauge { value: 1.5 });
        assert_eq!(snap.at, AT);
    }

    #[test]
    fn label_order_does_not_split_a_series() {
        let r = Registry::new();
        r.counter("x", &[("a", "1"), ("b", "2")]).increment(1);
        r.counter("x", &[("b", "2"), ("a", "1")]).increment(1);
        assert_eq!(
            value(&r, "x_total", &[("a", "1"), ("b", "2")]),
            Some(MetricValue::Counter { value: 2 })
        );
    }

    #[test]
    fn counters_gain_total_and_names_are_sanitised() {
        let r = Registry::new();
        r.counter("jobs.run", &[("job-name", "backup")])
            .increment(1);
        r.gauge("9lives", &[]).set(1.0);
        let names: Vec<String> = r.snapshot(AT).samples.into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["_9lives", "jobs_run_total"]);
        assert!(value(&r, "jobs_run_total", &[("job_name", "backup")]).is_some());
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_count_includes_overflow() {
        let r = Registry::new();
        let h = r.histogram("latency_seconds", &[]);
        for v in [0.001, 0.005, 0.2, 30.0, f64::NAN] {
            h.record(v);
        }
        let Some(MetricValue::Histogram {
            count,
            sum,
            buckets,
        }) = value(&r, "latency_seconds", &[])
        else {
            panic!("no histogram");
        };
        assert_eq!(count, 4, "NaN is not an observation");
        assert!((sum - 30.206).abs() < 1e-9);
        assert_eq!(buckets.len(), DEFAULT_BUCKETS.len());
        // 0.005 falls in le="0.005" (bounds are inclusive).
        assert_eq!(buckets[0], (0.005, 2));
        assert_eq!(buckets[5], (0.25, 3));
        assert_eq!(buckets[10], (10.0, 3));
    }

    #[test]
    fn custom_buckets_apply_to_new_histograms_and_bad_ones_are_refused() {
        let r = Registry::new();
        assert!(r.set_buckets("size_bytes", &[1024.0, 1048576.0]).is_ok());
        r.histogram("size_bytes", &[]).record(2048.0);
        let Some(MetricValue::Histogram { buckets, .. }) = value(&r, "size_bytes", &[]) else {
            panic!("no histogram");
        };
        assert_eq!(buckets, [(1024.0, 0), (1048576.0, 1)]);
        for bad in [&[][..], &[2.0, 1.0], &[1.0, f64::INFINITY]] {
            let e = r.set_buckets("x", bad);
            assert!(matches!(e, Err(Error::InvalidInput { .. })), "{bad:?}");
        }
    }

    #[test]
    fn a_name_taken_by_another_kind_gives_a_detached_handle() {
        let r = Registry::new();
        r.gauge("dual", &[]).set(1.0);
        r.histogram("dual", &[("a", "b")]).record(1.0);
        let snap = r.snapshot(AT);
        assert_eq!(snap.samples.len(), 1);
        assert_eq!(snap.samples[0].value, MetricValue::Gauge { value: 1.0 });
    }

    #[test]
    fn the_metrics_macros_record_into_the_registry() {
        let r = Registry::new();
        metrics::with_local_recorder(&r, || {
            metrics::describe_counter!("hits", "Hits served.");
            metrics::counter!("hits", "route" => "/a").increment(2);
            metrics::gauge!("temp").set(3.0);
            metrics::histogram!("wait_seconds").record(0.3);
        });
        assert_eq!(
            value(&r, "hits_total", &[("route", "/a")]),
            Some(MetricValue::Counter { value: 2 })
        );
        assert_eq!(r.help_for("hits_total").as_deref(), Some("Hits served."));
        assert_eq!(r.snapshot(AT).samples.len(), 3);
    }

    #[test]
    fn counter_absolute_never_goes_down() {
        let r = Registry::new();
        let c = r.counter("c", &[]);
        c.absolute(10);
        c.absolute(4);
        assert_eq!(
            value(&r, "c_total", &[]),
            Some(MetricValue::Counter { value: 10 })
        );
    }

    #[test]
    fn a_second_global_install_is_a_conflict() {
        let _ = Registry::new().install_global();
        let again = Registry::new().install_global();
        assert!(matches!(again, Err(Error::Conflict { .. })), "{again:?}");
    }
}
