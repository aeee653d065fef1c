//! The storage behind each series: lock-free cells that implement the `metrics` crate's
//! handle traits, so that recording on a hot path is one atomic operation (two for a
//! histogram) with no lock and no lookup.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use legalops_core::metrics::MetricValue;
use metrics::{CounterFn, GaugeFn, HistogramFn};

#[derive(Debug, Default)]
pub(super) struct CounterCell(pub(super) AtomicU64);

impl CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        // A counter never goes down; an absolute value below ours is a stale report.
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

/// An f64 kept as its bits, so that gauges and sums update without a lock.
#[derive(Debug, Default)]
pub(super) struct AtomicF64(AtomicU64);

impl AtomicF64 {
    pub(super) fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }

    fn add(&self, delta: f64) {
        // The closure always returns Some, so fetch_update cannot fail.
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + delta).to_bits())
            });
    }
}

#[derive(Debug, Default)]
pub(super) struct GaugeCell(pub(super) AtomicF64);

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.0.add(value);
    }

    fn decrement(&self, value: f64) {
        self.0.add(-value);
    }

    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

#[derive(Debug)]
pub(super) struct HistogramCell {
    bounds: Arc<[f64]>,
    /// Per-bucket (not cumulative) counts; the last is the `+Inf` overflow.
    counts: Vec<AtomicU64>,
    sum: AtomicF64,
}

impl HistogramCell {
    pub(super) fn new(bounds: Arc<[f64]>) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            bounds,
            counts,
            sum: AtomicF64::default(),
        }
    }

    fn value(&self) -> MetricValue {
        let mut cumulative = 0u64;
        let mut buckets = Vec::with_capacity(self.bounds.len());
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            buckets.push((*bound, cumulative));
        }
        // Count derives from the buckets so that `+Inf` always equals it, even while
        // observations land concurrently.
        let overflow = self.counts.last().map_or(0, |c| c.load(Ordering::Relaxed));
        MetricValue::Histogram {
            count: cumulative + overflow,
            sum: self.sum.get(),
            buckets,
        }
    }
}

impl HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        // NaN has no bucket and would poison the sum; it is not an observation.
        if value.is_nan() {
            return;
        }
        let idx = self.bounds.partition_point(|b| *b < value);
        if let Some(c) = self.counts.get(idx) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.add(value);
    }
}

#[derive(Debug, Clone)]
pub(super) enum Cell {
    Counter(Arc<CounterCell>),
    Gauge(Arc<GaugeCell>),
    Histogram(Arc<HistogramCell>),
}

impl Cell {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Cell::Counter(_) => "counter",
            Cell::Gauge(_) => "gauge",
            Cell::Histogram(_) => "histogram",
        }
    }

    pub(super) fn value(&self) -> MetricValue {
        match self {
            Cell::Counter(c) => MetricValue::Counter {
                value: c.0.load(Ordering::Relaxed),
            },
            Cell::Gauge(g) => MetricValue::Gauge { value: g.0.get() },
            Cell::Histogram(h) => h.value(),
        }
    }
}
