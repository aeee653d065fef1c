//! Alert channels: where notifications go. The log channel is the default; network
//! channels (webhook, Slack, PagerDuty, Alertmanager, SMTP) join it here.

mod log;

pub use log::LogChannel;
