//! `MetricsSink`: where metric snapshots and per-minute rollups go.
//!
//! The in-process registry (in `legalops-ops`) produces [`MetricsSnapshot`]s; sinks compose
//! like tracing layers: a [`FanoutSink`] of several is itself one, a [`NoopSink`] is a
//! disabled one.

use std::collections::BTreeMap;
use std::fmt::{self, Debug, Display};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;

/// Label pairs, sorted by name so that a series has one identity.
pub type Labels = BTreeMap<String, String>;

/// The value of one series at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MetricValue {
    /// A monotonic count.
    Counter {
        /// The total so far.
        value: u64,
    },
    /// A value that goes up and down.
    Gauge {
        /// The current value.
        value: f64,
    },
    /// A distribution in cumulative buckets (Prometheus `le` semantics).
    Histogram {
        /// Observations so far.
        count: u64,
        /// Sum of observations.
        sum: f64,
        /// `(upper bound, cumulative count)`, ascending; `+Inf` is implied by `count`.
        buckets: Vec<(f64, u64)>,
    },
}

/// One series' value in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Metric name (`http_requests_total`).
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// Its value.
    pub value: MetricValue,
}

/// Every series of a registry at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// When it was taken.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The series.
    pub samples: Vec<Sample>,
}

/// One series summarised over one minute: the unit of stored trends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    /// Metric name.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// The minute this covers (seconds and below are zero).
    #[serde(with = "time::serde::rfc3339")]
    pub minute: OffsetDateTime,
    /// Counter: increase in the minute; gauge: samples taken; histogram: observations.
    pub count: u64,
    /// Counter: increase; gauge: sum of samples; histogram: sum of observations.
    pub sum: f64,
    /// Smallest sample (gauges), if known.
    pub min: Option<f64>,
    /// Largest sample (gauges), if known.
    pub max: Option<f64>,
}

/// A destination for metric snapshots.
#[async_trait]
pub trait MetricsSink: Debug + Display + Send + Sync + 'static {
    /// Accepts one snapshot. Called once per collection interval.
    async fn write(&self, snapshot: &MetricsSnapshot) -> Result<()>;

    /// Proves the sink can accept writes.
    async fn healthcheck(&self) -> Result<()>;
}

/// Several sinks as one: writes go to all; the first error is returned after every sink
/// has been tried, so that one failing sink never starves the others.
#[derive(Debug, Clone, Default)]
pub struct FanoutSink {
    sinks: Vec<Arc<dyn MetricsSink>>,
}

impl FanoutSink {
    /// A fan-out over `sinks`.
    pub fn new(sinks: Vec<Arc<dyn MetricsSink>>) -> Self {
        Self { sinks }
    }

    /// Adds a sink.
    pub fn push(&mut self, sink: Arc<dyn MetricsSink>) {
        self.sinks.push(sink);
    }
}

impl Display for FanoutSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fanout[")?;
        for (i, s) in self.sinks.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{s}")?;
        }
        f.write_str("]")
    }
}

#[async_trait]
impl MetricsSink for FanoutSink {
    async fn write(&self, snapshot: &MetricsSnapshot) -> Result<()> {
        let mut first_err = None;
        for sink in &self.sinks {
            if let Err(e) = sink.write(snapshot).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    async fn healthcheck(&self) -> Result<()> {
        for sink in &self.sinks {
            sink.healthcheck().await?;
        }
        Ok(())
    }
}

/// A disabled sink: accepts and drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopSink;

impl Display for NoopSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("noop")
    }
}

#[async_trait]
impl MetricsSink for NoopSink {
    async fn write(&self, _snapshot: &MetricsSnapshot) -> Result<()> {
        Ok(())
    }

    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }
}
