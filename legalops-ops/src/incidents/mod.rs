//! Incident trackers over external services. The built-in tracker (records store) lives
//! with the stores; here is [`PagerDutyTracker`], which opens, acknowledges and resolves
//! PagerDuty incidents through the Events API v2.

pub mod engine;
mod pagerduty;

pub use pagerduty::{PagerDutyTracker, PagerDutyTrackerBuilder};
