//! Per-minute rollups of successive snapshots (the trends that survive a restart), and the
//! collector task that feeds a registry's snapshots to a sink on an interval.
//!
//! The sink rewrites the current minute's partial rollup on every snapshot; the store's
//! upsert makes that idempotent, so a crash loses at most one interval, and a failed write
//! is repaired by the next one because the partial carries everything seen so far.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::metrics::{Labels, MetricValue, MetricsSink, MetricsSnapshot, Rollup};
use legalops_core::records::RollupStore;
use legalops_core::{Result, SharedClock};
use time::OffsetDateTime;

use super::{Registry, names};

/// Closed minutes kept for rewriting while the store refuses writes; past this the oldest
/// are dropped so that a long outage cannot exhaust memory.
const MAX_UNFLUSHED: usize = 10_000;

type SeriesId = (String, Labels);

/// A series' cumulative value at the previous snapshot.
#[derive(Debug, Clone, Copy)]
enum Last {
    Counter(u64),
    Histogram(u64, f64),
}

#[derive(Debug, Default)]
struct State {
    last: HashMap<SeriesId, Last>,
    /// The open minute's rollup of each series.
    open: HashMap<SeriesId, Rollup>,
    /// Closed minutes whose final rollup has not been written yet.
    unflushed: Vec<Rollup>,
}

/// A [`MetricsSink`] that turns snapshots into per-minute [`Rollup`]s in a [`RollupStore`].
///
/// Counter: the increase since the previous snapshot (a counter that went down, a reset,
/// adds 0); gauge: count, sum, min and max of the samples taken in the minute; histogram:
/// the increase of count and sum. A series seen for the first time counts from 0, and an
/// increase is attributed to the minute of the snapshot that observed it.
#[derive(Debug)]
pub struct RollupSink {
    store: Arc<dyn RollupStore>,
    state: Mutex<State>,
}

impl RollupSink {
    /// A sink writing to `store`.
    pub fn new(store: Arc<dyn RollupStore>) -> Self {
        Self {
            store,
            state: Mutex::new(State::default()),
        }
    }

    /// Folds `snapshot` into the open minutes; returns the rollups to write and how many of
    /// them, at the front, are closed minutes.
    fn fold(&self, snapshot: &MetricsSnapshot) -> (Vec<Rollup>, usize) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        let minute = truncate_to_minute(snapshot.at);
        let mut partials = Vec::with_capacity(snapshot.samples.len());
        for sample in &snapshot.samples {
            let id = (sample.name.clone(), sample.labels.clone());
            let open = state
                .open
                .entry(id.clone())
                .or_insert_with(|| empty(&id, minute));
            // A snapshot older than the open minute (the clock stepped back) is folded into
            // it rather than rewriting a minute already closed.
            if minute > open.minute {
                let closed = std::mem::replace(open, empty(&id, minute));
                state.unflushed.push(closed);
            }
            match sample.value {
                MetricValue::Counter { value } => {
                    let before = match state.last.insert(id, Last::Counter(value)) {
                        Some(Last::Counter(v)) => v,
                        _ => 0,
                    };
                    let inc = value.saturating_sub(before);
                    open.count += inc;
                    open.sum += inc as f64;
                }
                MetricValue::Gauge { value } => {
                    open.count += 1;
                    open.sum += value;
                    open.min = Some(open.min.map_or(value, |m| m.min(value)));
                    open.max = Some(open.max.map_or(value, |m| m.max(value)));
                }
                MetricValue::Histogram { count, sum, .. } => {
                    let (c0, s0) = match state.last.insert(id, Last::Histogram(count, sum)) {
                        Some(Last::Histogram(c, s)) => (c, s),
                        _ => (0, 0.0),
                    };
                    if count >= c0 {
                        open.count += count - c0;
                        open.sum += (sum - s0).max(0.0);
                    }
                }
            }
            partials.push(open.clone());
        }
        if state.unflushed.len() > MAX_UNFLUSHED {
            let excess = state.unflushed.len() - MAX_UNFLUSHED;
            tracing::warn!(
                dropped = excess,
                "rollup store unavailable; dropping oldest rollups"
            );
            state.unflushed.drain(..excess);
        }
        let closed = state.unflushed.len();
        let mut out = state.unflushed.clone();
        out.extend(partials);
        (out, closed)
    }

    fn flushed(&self, written: usize) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // Only what was written: closed minutes pushed meanwhile stay queued.
        let n = written.min(state.unflushed.len());
        state.unflushed.drain(..n);
    }
}

fn empty(id: &SeriesId, minute: OffsetDateTime) -> Rollup {
    Rollup {
        name: id.0.clone(),
        labels: id.1.clone(),
        minute,
        count: 0,
        sum: 0.0,
        min: None,
        max: None,
    }
}

/// `at` with seconds and below set to zero.
fn truncate_to_minute(at: OffsetDateTime) -> OffsetDateTime {
    // Zero is a valid second and nanosecond, so these replacements cannot fail.
    at.replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(at)
}

impl fmt::Display for RollupSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rollups:{}", self.store)
    }
}

#[async_trait]
impl MetricsSink for RollupSink {
    async fn write(&self, snapshot: &MetricsSnapshot) -> Result<()> {
        let (rollups, closed) = self.fold(snapshot);
        self.store.put_rollups(&rollups).await?;
        self.flushed(closed);
        Ok(())
    }

    async fn healthcheck(&self) -> Result<()> {
        // An empty range: proves the store answers without reading anything.
        let epoch = OffsetDateTime::UNIX_EPOCH;
        self.store.rollups("", epoch, epoch).await.map(|_| ())
    }
}

/// Snapshots `registry` every `interval` (stamped by `clock`) and writes it to `sink`. A
/// failed write is logged and counted in `legalops_metrics_sink_errors_total`; collection
/// goes on. Abort the returned handle to stop.
pub fn spawn_collector(
    registry: Registry,
    sink: Arc<dyn MetricsSink>,
    interval: Duration,
    clock: SharedClock,
) -> tokio::task::JoinHandle<()> {
    // Registered up front so that the series exists (at 0) for alert rules before any failure.
    let errors = registry.counter(names::METRICS_SINK_ERRORS_TOTAL, &[]);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(1)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let snapshot = registry.snapshot(clock.now());
            if let Err(e) = sink.write(&snapshot).await {
                errors.increment(1);
                tracing::warn!(sink = %sink, error = %e, "metrics sink write failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::mem::{MemoryRecords, MemorySink};
    use legalops_core::metrics::Sample;
    use legalops_core::{Error, ManualClock};
    use std::sync::atomic::{AtomicBool, Ordering};
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    fn snap(at: OffsetDateTime, values: &[(&str, MetricValue)]) -> MetricsSnapshot {
        let samples = values
            .iter()
            .map(|(name, value)| Sample {
                name: (*name).to_owned(),
                labels: Labels::new(),
                value: value.clone(),
            })
            .collect();
        MetricsSnapshot { at, samples }
    }

    fn counter(value: u64) -> MetricValue {
        MetricValue::Counter { value }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    async fn stored(store: &MemoryRecords, name: &str) -> Vec<(OffsetDateTime, u64, f64)> {
        let all = store.rollups(name, T0 - secs(3600), T0 + secs(3600)).await;
        all.unwrap_or_default()
            .into_iter()
            .map(|r| (r.minute, r.count, r.sum))
            .collect()
    }

    #[tokio::test]
    async fn counter_increases_land_in_the_minute_that_saw_them() -> Result<()> {
        let store = Arc::new(MemoryRecords::new());
        let sink = RollupSink::new(store.clone());
        sink.write(&snap(T0 + secs(10), &[("c_total", counter(5))]))
            .await?;
        sink.write(&snap(T0 + secs(40), &[("c_total", counter(8))]))
            .await?;
        sink.write(&snap(T0 + secs(70), &[("c_total", counter(10))]))
            .await?;
        // A reset (restart of the counted thing) adds nothing.
        sink.write(&snap(T0 + secs(100), &[("c_total", counter(1))]))
            .await?;
        assert_eq!(
            stored(&store, "c_total").await,
            [(T0, 8, 8.0), (T0 + secs(60), 2, 2.0)]
        );
        Ok(())
    }

    #[tokio::test]
    async fn gauge_minutes_keep_count_sum_min_and_max() -> Result<()> {
        let store = Arc::new(MemoryRecords::new());
        let sink = RollupSink::new(store.clone());
        for (s, v) in [(0, 3.0), (20, 1.0), (40, 5.0)] {
            sink.write(&snap(
                T0 + secs(s),
                &[("g", MetricValue::Gauge { value: v })],
            ))
            .await?;
        }
        let r = store.rollups("g", T0, T0 + secs(60)).await?;
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].count, r[0].sum, r[0].min, r[0].max),
            (3, 9.0, Some(1.0), Some(5.0))
        );
        Ok(())
    }

    #[tokio::test]
    async fn histogram_minutes_keep_the_increase_of_count_and_sum() -> Result<()> {
        let store = Arc::new(MemoryRecords::new());
        let sink = RollupSink::new(store.clone());
        let h = |count, sum| MetricValue::Histogram {
            count,
            sum,
            buckets: vec![(1.0, count)],
        };
        sink.write(&snap(T0, &[("h", h(2, 0.5))])).await?;
        sink.write(&snap(T0 + secs(61), &[("h", h(5, 2.0))]))
            .await?;
        assert_eq!(
            stored(&store, "h").await,
            [(T0, 2, 0.5), (T0 + secs(60), 3, 1.5)]
        );
        Ok(())
    }

    /// A rollup store that refuses writes while `down` is set.
    #[derive(Debug, Default)]
    struct Flaky {
        inner: MemoryRecords,
        down: AtomicBool,
    }

    impl fmt::Display for Flaky {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("flaky")
        }
    }

    #[async_trait]
    impl RollupStore for Flaky {
        async fn put_rollups(&self, rollups: &[Rollup]) -> Result<()> {
            if self.down.load(Ordering::SeqCst) {
                return Err(Error::backend("flaky", true, std::io::Error::other("down")));
            }
            self.inner.put_rollups(rollups).await
        }
        async fn rollups(
            &self,
            n: &str,
            f: OffsetDateTime,
            t: OffsetDateTime,
        ) -> Result<Vec<Rollup>> {
            self.inner.rollups(n, f, t).await
        }
        async fn prune_rollups(&self, before: OffsetDateTime) -> Result<u64> {
            self.inner.prune_rollups(before).await
        }
    }

    #[tokio::test]
    async fn a_failed_write_is_repaired_by_the_next_one() -> Result<()> {
        let store = Arc::new(Flaky::default());
        let sink = RollupSink::new(store.clone());
        sink.write(&snap(T0, &[("c_total", counter(1))])).await?;
        store.down.store(true, Ordering::SeqCst);
        // The last write of minute 0 and the first of minute 1 fail...
        assert!(
            sink.write(&snap(T0 + secs(50), &[("c_total", counter(4))]))
                .await
                .is_err()
        );
        assert!(
            sink.write(&snap(T0 + secs(70), &[("c_total", counter(6))]))
                .await
                .is_err()
        );
        store.down.store(false, Ordering::SeqCst);
        sink.write(&snap(T0 + secs(80), &[("c_total", counter(7))]))
            .await?;
        // ...and nothing is lost once the store is back.
        assert_eq!(
            stored(&store.inner, "c_total").await,
            [(T0, 4, 4.0), (T0 + secs(60), 3, 3.0)]
        );
        assert!(sink.healthcheck().await.is_ok());
        assert_eq!(sink.to_string(), "rollups:flaky");
        Ok(())
    }

    #[tokio::test]
    async fn a_clock_stepping_back_does_not_rewrite_a_closed_minute() -> Result<()> {
        let store = Arc::new(MemoryRecords::new());
        let sink = RollupSink::new(store.clone());
        sink.write(&snap(T0 + secs(65), &[("c_total", counter(2))]))
            .await?;
        sink.write(&snap(T0 + secs(30), &[("c_total", counter(3))]))
            .await?;
        assert_eq!(stored(&store, "c_total").await, [(T0 + secs(60), 3, 3.0)]);
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn collector_snapshots_on_the_interval_and_counts_sink_failures() {
        let registry = Registry::new();
        registry.counter("jobs", &[]).increment(1);
        let sink = Arc::new(MemorySink::new());
        let clock = ManualClock::new(T0);
        let handle = spawn_collector(
            registry.clone(),
            sink.clone(),
            secs(15),
            Arc::new(clock.clone()),
        );
        // First tick is immediate; fail the second.
        tokio::time::sleep(secs(1)).await;
        sink.fail_next(1);
        clock.advance(secs(15));
        tokio::time::sleep(secs(15)).await;
        clock.advance(secs(15));
        tokio::time::sleep(secs(15)).await;
        handle.abort();

        let got = sink.snapshots();
        assert_eq!(got.len(), 2, "one of three writes failed");
        assert_eq!(got[0].at, T0);
        assert_eq!(got[1].at, T0 + secs(30));
        let snap = registry.snapshot(T0);
        let failed = snap
            .samples
            .iter()
            .find(|s| s.name == names::METRICS_SINK_ERRORS_TOTAL);
        assert_eq!(failed.map(|s| s.value.clone()), Some(counter(1)));
    }
}
