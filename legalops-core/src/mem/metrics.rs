//! [`MemorySink`]: a metrics sink that keeps the latest snapshots, for the dashboard's
//! short history and as a receiver in tests of the collector and of [`crate::metrics::FanoutSink`].

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{NAME, injected_failure, lock};
use crate::error::Result;
use crate::metrics::{MetricsSink, MetricsSnapshot};

#[derive(Debug, Default)]
struct Inner {
    snapshots: VecDeque<MetricsSnapshot>,
    fail_next: u32,
}

/// A [`MetricsSink`] that keeps the last `capacity` snapshots, oldest first.
#[derive(Debug)]
pub struct MemorySink {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for MemorySink {
    fn default() -> Self {
        Self::new()
    }
}

impl MemorySink {
    /// How many snapshots a sink keeps by default: an hour at one per minute.
    pub const DEFAULT_CAPACITY: usize = 60;

    /// A sink keeping the last [`Self::DEFAULT_CAPACITY`] snapshots.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A sink keeping the last `capacity` snapshots (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    /// The kept snapshots, oldest first.
    pub fn snapshots(&self) -> Vec<MetricsSnapshot> {
        lock(&self.inner).snapshots.iter().cloned().collect()
    }

    /// The newest snapshot, if any.
    pub fn latest(&self) -> Option<MetricsSnapshot> {
        lock(&self.inner).snapshots.back().cloned()
    }

    /// Makes the next `n` writes fail with a retryable `Backend` error and keep nothing.
    pub fn fail_next(&self, n: u32) {
        lock(&self.inner).fail_next = n;
    }
}

impl fmt::Display for MemorySink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAME)
    }
}

#[async_trait]
impl MetricsSink for MemorySink {
    async fn write(&self, snapshot: &MetricsSnapshot) -> Result<()> {
        let mut inner = lock(&self.inner);
        if inner.fail_next > 0 {
            inner.fail_next -= 1;
            return Err(injected_failure());
        }
        if inner.snapshots.len() == self.capacity {
            inner.snapshots.pop_front();
        }
        inner.snapshots.push_back(snapshot.clone());
        Ok(())
    }

    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::block_on;
    use crate::metrics::{FanoutSink, NoopSink};
    use std::sync::Arc;
    use time::macros::datetime;

    fn snap(minute: i64) -> MetricsSnapshot {
        MetricsSnapshot {
            at: datetime!(2026-01-01 00:00 UTC) + time::Duration::minutes(minute),
            samples: vec![],
        }
    }

    #[test]
    fn keeps_the_newest_snapshots_up_to_capacity() {
        let sink = MemorySink::with_capacity(2);
        for m in 0..3 {
            assert!(block_on(sink.write(&snap(m))).is_ok());
        }
        assert_eq!(sink.snapshots(), [snap(1), snap(2)]);
        assert_eq!(sink.latest(), Some(snap(2)));
    }

    #[test]
    fn a_failing_sink_in_a_fanout_does_not_starve_the_others() {
        let failing = Arc::new(MemorySink::new());
        let healthy = Arc::new(MemorySink::new());
        failing.fail_next(1);
        let fan = FanoutSink::new(vec![failing.clone(), Arc::new(NoopSink), healthy.clone()]);
        assert!(block_on(fan.write(&snap(0))).is_err());
        assert_eq!(healthy.snapshots(), [snap(0)]);
        assert!(failing.snapshots().is_empty());
        assert!(block_on(fan.write(&snap(1))).is_ok());
        assert_eq!(fan.to_string(), "fanout[memory, noop, memory]");
    }
}
