//! LegalOps engines over the core traits.
//!
//! The engines here speak only through the contracts in `legalops-core`, so that the
//! reference server, an embedding service and the Python bindings compose them the same way:
//!
//! - [`health`]: a registry of health checks run concurrently per probe (liveness,
//!   readiness, detailed), each under a deadline and isolated from panics, producing an
//!   `application/health+json` report; plus the built-in checks (database, documents,
//!   disk, memory, uptime).
//! - [`metrics`]: the in-process metric registry that is also the `metrics` facade's
//!   recorder, its Prometheus text exposition, the JSON reports graded against the
//!   runbook's thresholds, the system sampler, and per-minute rollups for trends.
//! - [`alerting`]: the rule evaluator (on an interval, under a lease, state persisted so
//!   a restart keeps pending and firing alerts) and the metric history it reads.
//! - [`channels`]: alert channels: the default [`channels::LogChannel`] and the network
//!   channels (webhook, Slack, PagerDuty, Alertmanager, SMTP) with their shared retries.
//! - [`incidents`]: incident trackers over external services (PagerDuty Events v2).

pub mod alerting;
pub mod audit;
pub mod channels;
pub mod health;
pub mod identity;
pub mod incidents;
pub mod metrics;
pub mod ratelimit;
pub mod scan;
pub mod security;

mod sys;
