//! `SlackChannel`: posts a summary of each notification to a Slack incoming webhook as
//! `{"text": ..., "blocks": [...]}`: a header with the title, one section per alert (name,
//! identifying labels, status, severity, summary and description, runbook link) and a
//! context line with the receiver and a link back to the platform.
//!
//! The webhook URL is the credential (anyone holding it can post), so only its origin is
//! ever shown.

use std::fmt;
use std::fmt::Write;
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::Result;
use legalops_core::alerts::{Alert, AlertChannel, AlertStatus, Notification};
use reqwest::Url;
use serde_json::{Value, json};

use super::format::{alertname, identity, title, truncate};
use super::http::{self, HttpSender, Secret};
use super::retry::RetryPolicy;

/// Alerts shown one section each; Slack allows 50 blocks, and a long list helps nobody.
pub const MAX_ALERT_SECTIONS: usize = 20;
/// Slack's limit on a header's text.
const HEADER_MAX: usize = 150;
/// Slack's limit on a section's text.
const SECTION_MAX: usize = 3000;

/// `s` with the three characters Slack's mrkdwn treats as control characters escaped.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn section(a: &Alert) -> Value {
    let status = match a.status {
        AlertStatus::Firing => "firing",
        AlertStatus::Resolved => "resolved",
    };
    let mut text = format!("*{}*", escape(alertname(a)));
    let id = identity(a);
    if !id.is_empty() {
        let _ = write!(text, " `{}`", escape(&id));
    }
    let _ = write!(text, " · {status}");
    if let Some(sev) = a.labels.get("severity") {
        let _ = write!(text, " · {}", escape(sev));
    }
    for key in ["summary", "description"] {
        if let Some(v) = a.annotations.get(key) {
            let _ = write!(text, "\n{}", escape(v));
        }
    }
    let runbook = a
        .annotations
        .get("runbook_url")
        .or_else(|| a.annotations.get("runbook"));
    if let Some(url) = runbook.filter(|u| u.starts_with("http://") || u.starts_with("https://")) {
        let _ = write!(text, "\n<{}|Runbook>", escape(url));
    }
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&text, SECTION_MAX) } })
}

/// The incoming-webhook payload for `n`.
pub(crate) fn payload(n: &Notification) -> Value {
    let title = title(n);
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate(&title, HEADER_MAX) },
    })];
    blocks.extend(n.alerts.iter().take(MAX_ALERT_SECTIONS).map(section));
    let hidden = n.alerts.len().saturating_sub(MAX_ALERT_SECTIONS);
    let mut context = format!("receiver *{}*", escape(&n.receiver));
    if hidden > 0 {
        let _ = write!(context, " · {hidden} more alerts not shown");
    }
    if n.external_url.starts_with("http://") || n.external_url.starts_with("https://") {
        let _ = write!(context, " · <{}|LegalOps>", escape(&n.external_url));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": context }],
    }));
    json!({ "text": title, "blocks": blocks })
}

/// Delivers notifications to a Slack incoming webhook.
pub struct SlackChannel {
    url: Url,
    http: HttpSender,
}

/// Configures a [`SlackChannel`].
#[derive(Debug, Clone)]
pub struct SlackChannelBuilder {
    url: Secret,
    timeout: Duration,
    retry: RetryPolicy,
}

impl SlackChannelBuilder {
    /// Deadline of one HTTP request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How failed deliveries are retried (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The channel; `InvalidConfig` (key `slack_webhook_url`) for a URL that is not http(s)
    /// with a host and a path.
    pub fn build(self) -> Result<SlackChannel> {
        let key = "slack_webhook_url";
        let url = http::parse_url(key, self.url.expose())?;
        if url.path() == "/" {
            return Err(legalops_core::Error::invalid_config(
                key,
                "must be the full incoming-webhook URL (https://hooks.slack.com/services/...)",
            ));
        }
        let secrets = vec![url.to_string(), url.path().to_owned()];
        let mut http = HttpSender::new(format!("slack:{}", http::origin(&url)), secrets)?;
        http.timeout = self.timeout;
        http.retry = self.retry;
        Ok(SlackChannel { url, http })
    }
}

impl SlackChannel {
    /// A channel posting to the incoming-webhook `url` with the defaults.
    pub fn from_url(url: &str) -> Result<Self> {
        Self::builder(url).build()
    }

    /// A builder for a channel posting to the incoming-webhook `url`.
    pub fn builder(url: impl Into<String>) -> SlackChannelBuilder {
        SlackChannelBuilder {
            url: Secret::new(url),
            timeout: http::DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

impl fmt::Debug for SlackChannel {
    // By hand: the URL is the credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackChannel")
            .field("endpoint", &self.http.name)
            .field("timeout", &self.http.timeout)
            .field("retry", &self.http.retry)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for SlackChannel {
    /// `slack:<scheme://host>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.http.name)
    }
}

#[async_trait]
impl AlertChannel for SlackChannel {
    async fn send(&self, n: &Notification) -> Result<()> {
        self.http
            .post_json(&self.url, &payload(n), None)
            .await
            .map(drop)
    }

    /// The URL is valid (checked at build) and Slack's host accepts connections; nothing
    /// is posted, since any POST lands in the channel.
    async fn healthcheck(&self) -> Result<()> {
        http::reachable(&self.url, self.http.timeout, &self.http.name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::alerts::fingerprint;
    use legalops_core::metrics::Labels;
    use time::macros::datetime;

    fn alert(i: usize) -> Alert {
        let labels: Labels = [
            ("alertname".to_owned(), "Disk<Full>".to_owned()),
            ("instance".to_owned(), format!("db{i}")),
        ]
        .into();
        Alert {
            status: AlertStatus::Firing,
            fingerprint: fingerprint(&labels),
            labels,
            annotations: [("summary".to_owned(), "a & b".to_owned())].into(),
            starts_at: datetime!(2026-01-01 0:00 UTC),
            ends_at: None,
            generator_url: String::new(),
        }
    }

    #[test]
    fn mrkdwn_control_characters_are_escaped() {
        let n = Notification::new("ops", "g", Labels::new(), "", vec![alert(1)]);
        let p = payload(&n);
        assert_eq!(
            p["blocks"][1]["text"]["text"],
            "*Disk&lt;Full&gt;* `{instance=\"db1\"}` · firing\na &amp; b"
        );
    }

    #[test]
    fn a_large_group_is_cut_to_a_bounded_number_of_sections() {
        let alerts = (0..MAX_ALERT_SECTIONS + 5).map(alert).collect();
        let n = Notification::new("ops", "g", Labels::new(), "", alerts);
        let p = payload(&n);
        let blocks = p["blocks"].as_array().map_or(0, Vec::len);
        assert_eq!(blocks, MAX_ALERT_SECTIONS + 2);
        let context = p["blocks"][MAX_ALERT_SECTIONS + 1]["elements"][0]["text"].as_str();
        assert_eq!(context, Some("receiver *ops* · 5 more alerts not shown"));
    }

    #[test]
    fn a_url_without_a_webhook_path_is_refused_and_the_path_never_shown() {
        assert!(SlackChannel::from_url("http://hooks.slack.test/").is_err());
        let ch = SlackChannel::from_url("http://hooks.slack.test/services/T0/B0/XSECRETX");
        let ch = ch.expect("valid");
        let shown = format!("{ch} {ch:?}");
        assert!(
            !shown.contains("XSECRETX") && !shown.contains("services"),
            "{shown}"
        );
        assert!(!format!("{:?}", SlackChannel::builder("http://h/XSECRETX")).contains("XSECRETX"));
    }
}
