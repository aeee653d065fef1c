//! Latency statistics kept in memory: count, mean, an estimated p95 and the recent slow
//! operations. Records backends use it for `/api/metrics/database`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

use crate::records::{QueryStats, SlowQuery};

/// Upper bounds of the latency buckets, in milliseconds (roughly x2 steps).
const BOUNDS_MS: [f64; 16] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
    10000.0,
];

/// How many slow operations are remembered.
const SLOW_KEPT: usize = 20;

#[derive(Debug, Default)]
struct Inner {
    count: u64,
    sum_ms: f64,
    // One more bucket than bounds, for +Inf.
    buckets: [u64; BOUNDS_MS.len() + 1],
    slow: VecDeque<SlowQuery>,
}

/// Records operation latencies; cheap enough to call on every query.
#[derive(Debug)]
pub struct LatencyStats {
    slow_threshold: Duration,
    inner: Mutex<Inner>,
}

impl LatencyStats {
    /// Stats that remember operations slower than `slow_threshold`.
    pub fn new(slow_threshold: Duration) -> Self {
        Self {
            slow_threshold,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Records one operation that took `took` and finished at `at`.
    pub fn record(&self, operation: &str, took: Duration, at: OffsetDateTime) {
        let ms = took.as_secs_f64() * 1000.0;
        let idx = BOUNDS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(BOUNDS_MS.len());
        let mut inner = self.lock();
        inner.count += 1;
        inner.sum_ms += ms;
        inner.buckets[idx] += 1;
        if took >= self.slow_threshold {
            if inner.slow.len() == SLOW_KEPT {
                inner.slow.pop_front();
            }
            inner.slow.push_back(SlowQuery {
                operation: operation.to_owned(),
                duration_ms: ms,
                at,
            });
        }
    }

    /// The figures so far. The p95 is the upper bound of the bucket holding the 95th
    /// percentile (an over-estimate by at most one bucket step, never an under-estimate).
    pub fn snapshot(&self) -> QueryStats {
        let inner = self.lock();
        let mean_ms = if inner.count == 0 {
            0.0
        } else {
            inner.sum_ms / inner.count as f64
        };
        QueryStats {
            count: inner.count,
            mean_ms,
            p95_ms: quantile(&inner.buckets, inner.count, 0.95),
            slow: inner.slow.iter().cloned().collect(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Poisoning needs a panic while holding the lock; the counters stay consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn quantile(buckets: &[u64], count: u64, q: f64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    let rank = (q * count as f64).ceil() as u64;
    let mut seen = 0;
    for (i, n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return BOUNDS_MS.get(i).copied().unwrap_or(f64::INFINITY);
        }
    }
    f64::INFINITY
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn mean_p95_and_slow_list() {
        let s = LatencyStats::new(Duration::from_millis(100));
        let at = datetime!(2026-01-01 0:00 UTC);
        for _ in 0..95 {
            s.record("fast", Duration::from_millis(2), at);
        }
        for _ in 0..5 {
            s.record("slow", Duration::from_millis(300), at);
        }
        let q = s.snapshot();
        assert_eq!(q.count, 100);
        assert!((q.mean_ms - (95.0 * 2.0 + 5.0 * 300.0) / 100.0).abs() < 1e-9);
        assert_eq!(q.p95_ms, 2.5);
        assert_eq!(q.slow.len(), 5);
        assert!(q.slow.iter().all(|x| x.operation == "slow"));
    }

    #[test]
    fn slow_list_keeps_only_the_newest() {
        let s = LatencyStats::new(Duration::ZERO);
        let at = datetime!(2026-01-01 0:00 UTC);
        for i in 0..50 {
            s.record(&format!("q{i}"), Duration::from_millis(1), at);
        }
        let q = s.snapshot();
        assert_eq!(q.slow.len(), SLOW_KEPT);
        assert_eq!(q.slow.last().map(|x| x.operation.as_str()), Some("q49"));
    }

    #[test]
    fn empty_stats_are_zero() {
        let q = LatencyStats::new(Duration::from_millis(1)).snapshot();
        assert_eq!((q.count, q.mean_ms, q.p95_ms), (0, 0.0, 0.0));
    }
}
