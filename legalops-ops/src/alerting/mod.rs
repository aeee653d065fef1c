//! Alerting engines over the pure rules of `legalops_core::alerting`: the rule
//! [`evaluator`] (interval, lease, persisted state) and the [`history`] of metrics it reads,
//! and the [`notifier`] (routing, timers and deliveries to the channels, silences API).

pub mod evaluator;
pub mod history;
pub mod notifier;
