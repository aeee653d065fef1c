//! Metrics: the in-process registry (also the `metrics` facade's recorder), its Prometheus
//! text exposition, quantiles from histogram buckets, the JSON reports graded against the
//! runbook's thresholds, and per-minute rollups kept for trends.

pub mod names;
pub mod reports;

mod cells;
mod prometheus;
mod quantile;
mod registry;
mod rollup;

pub use prometheus::CONTENT_TYPE;
pub use quantile::quantile;
pub use registry::{DEFAULT_BUCKETS, Registry};
pub use rollup::{RollupSink, spawn_collector};
