//! Metrics: the in-process registry, its Prometheus exposition, reports and rollups (in progress).
