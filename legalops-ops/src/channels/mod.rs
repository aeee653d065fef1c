//! Alert channels: where notifications go. The log channel is the default; the network
//! channels deliver to a webhook (Alertmanager's format), Slack, PagerDuty Events v2, an
//! Alertmanager's API v2 and SMTP.
//!
//! Every network channel retries inside its `send` with the shared [`RetryPolicy`] (429, 5xx
//! and connection failures, exponential backoff honouring `Retry-After`; other 4xx are
//! final). [`deliver`] (and [`deliver_within`], under a deadline) runs one `send` and
//! reports how many attempts it made, for the notifier's `Delivery` record. Secrets (webhook paths, the Slack URL, the routing key, the
//! SMTP password, bearer tokens) never appear in `Display`, `Debug` or errors.
//!
//! HTTPS and SMTP over TLS need the crate's `tls` feature; without it an `https://` or
//! `smtps://` URL is refused at build time with `InvalidConfig`.

mod alertmanager;
mod format;
mod http;
mod log;
mod pagerduty;
pub mod retry;
mod slack;
mod smtp;
mod webhook;

pub use alertmanager::{AlertmanagerChannel, AlertmanagerChannelBuilder, DEFAULT_FIRING_TTL};
pub(crate) use http::{DEFAULT_TIMEOUT, Secret};
pub use log::LogChannel;
pub(crate) use pagerduty::EventsApi;
pub use pagerduty::{
    DEFAULT_BASE_URL as PAGERDUTY_DEFAULT_BASE_URL, PagerDutyChannel, PagerDutyChannelBuilder,
    dedup_key,
};
pub use retry::{RetryPolicy, deliver, deliver_within};
pub use slack::{SlackChannel, SlackChannelBuilder};
pub use smtp::{DEFAULT_SMTP_TIMEOUT, SmtpChannel, SmtpChannelBuilder};
pub use webhook::{WebhookChannel, WebhookChannelBuilder, ZERO_TIME, wire_payload};
