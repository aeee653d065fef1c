//! The HTTP routes, grouped by the runbook section they serve.

pub mod health;
pub mod metrics;
