//! The network alert channels and the PagerDuty tracker against real receivers: an HTTP
//! receiver started inside each test (webhook, Slack, PagerDuty), a real Alertmanager and
//! a real SMTP server (addresses from `LEGALOPS_TEST_ALERTMANAGER_URL`,
//! `LEGALOPS_TEST_SMTP_ADDR` and `LEGALOPS_TEST_SMTP_MAILDIR`; `scripts/test-services.sh`
//! starts both). One test binary (a crate root finds its modules beside it, hence the
//! paths), so the receiver and fixtures are built and linked once.

#[path = "channels/alertmanager.rs"]
mod alertmanager;
#[path = "channels/fixtures.rs"]
mod fixtures;
#[path = "channels/pagerduty.rs"]
mod pagerduty;
#[path = "channels/receiver.rs"]
mod receiver;
#[path = "channels/slack.rs"]
mod slack;
#[path = "channels/smtp.rs"]
mod smtp;
#[path = "channels/webhook.rs"]
mod webhook;
