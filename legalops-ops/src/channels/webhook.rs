//! `WebhookChannel`: POSTs each notification as Alertmanager's webhook payload (version
//! "4"), so that any receiver built for Alertmanager accepts ours unchanged.
//!
//! On the wire a firing alert carries `endsAt: "0001-01-01T00:00:00Z"` (Go's zero time), as
//! Alertmanager sends it; the core type keeps `None`, and this channel translates.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::Result;
use legalops_core::alerts::{AlertChannel, Notification};
use reqwest::Url;
use serde_json::Value;

use super::http::{self, HttpSender, Secret};
use super::retry::RetryPolicy;

/// What Alertmanager writes for "no end yet".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The notification as Alertmanager's webhook sends it: `endsAt` of a firing alert is the
/// zero time rather than `null`.
pub fn wire_payload(n: &Notification) -> Value {
    let mut v = serde_json::to_value(n).unwrap_or(Value::Null);
    if let Some(alerts) = v.get_mut("alerts").and_then(Value::as_array_mut) {
        for a in alerts {
            if let Some(end) = a.get_mut("endsAt").filter(|e| e.is_null()) {
                *end = Value::String(ZERO_TIME.to_owned());
            }
        }
    }
    v
}

/// Delivers notifications to an HTTP endpoint in Alertmanager's webhook format.
pub struct WebhookChannel {
    url: Url,
    bearer: Option<Secret>,
    http: HttpSender,
}

/// Configures a [`WebhookChannel`].
#[derive(Debug, Clone)]
pub struct WebhookChannelBuilder {
    url: Secret,
    bearer: Option<Secret>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl WebhookChannelBuilder {
    /// Sends `Authorization: Bearer <token>` (a secret: never shown).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(Secret::new(token));
        self
    }

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

    /// The channel; `InvalidConfig` (key `url`) for a URL that is not http(s) with a host.
    pub fn build(self) -> Result<WebhookChannel> {
        let url = http::parse_url("url", self.url.expose())?;
        // The path and query of a webhook URL often hold a token (Teams, Discord, Mattermost).
        let mut secrets = vec![url.to_string(), url.path().to_owned()];
        secrets.extend(url.query().map(str::to_owned));
        secrets.extend(url.password().map(str::to_owned));
        secrets.extend(self.bearer.as_ref().map(|b| b.expose().to_owned()));
        if url.path() == "/" {
            secrets.retain(|s| s != "/");
        }
        let mut http = HttpSender::new(format!("webhook:{}", http::origin(&url)), secrets)?;
        http.timeout = self.timeout;
        http.retry = self.retry;
        Ok(WebhookChannel {
            url,
            bearer: self.bearer,
            http,
        })
    }
}

impl WebhookChannel {
    /// A channel posting to `url` with the defaults.
    pub fn from_url(url: &str) -> Result<Self> {
        Self::builder(url).build()
    }

    /// A builder for a channel posting to `url`.
    pub fn builder(url: impl Into<String>) -> WebhookChannelBuilder {
        WebhookChannelBuilder {
            url: Secret::new(url),
            bearer: None,
            timeout: http::DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

impl fmt::Debug for WebhookChannel {
    // By hand: the URL's path may be a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookChannel")
            .field("endpoint", &self.http.name)
            .field("timeout", &self.http.timeout)
            .field("retry", &self.http.retry)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for WebhookChannel {
    /// `webhook:<scheme://host:port>`; the path, query and credentials may be secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.http.name)
    }
}

#[async_trait]
impl AlertChannel for WebhookChannel {
    async fn send(&self, n: &Notification) -> Result<()> {
        self.http
            .post_json(
                &self.url,
                &wire_payload(n),
                self.bearer.as_ref().map(Secret::expose),
            )
            .await
            .map(drop)
    }

    /// The URL is valid (checked at build) and its host accepts connections; nothing is
    /// posted, since any POST would be taken for a notification.
    async fn healthcheck(&self) -> Result<()> {
        http::reachable(&self.url, self.http.timeout, &self.http.name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::alerts::{Alert, AlertStatus, fingerprint};
    use legalops_core::metrics::Labels;
    use time::macros::datetime;

    #[test]
    fn firing_alerts_carry_the_zero_time_and_resolved_ones_their_end() {
        let labels: Labels = [("alertname".to_owned(), "X".to_owned())].into();
        let alert = |status, ends_at| Alert {
            status,
            fingerprint: fingerprint(&labels),
            labels: labels.clone(),
            annotations: Default::default(),
            starts_at: datetime!(2026-01-01 0:00 UTC),
            ends_at,
            generator_url: String::new(),
        };
        let n = Notification::new(
            "ops",
            "g",
            Labels::new(),
            "",
            vec![
                alert(AlertStatus::Firing, None),
                alert(AlertStatus::Resolved, Some(datetime!(2026-01-01 0:05 UTC))),
            ],
        );
        let v = wire_payload(&n);
        assert_eq!(v["alerts"][0]["endsAt"], ZERO_TIME);
        assert_eq!(v["alerts"][1]["endsAt"], "2026-01-01T00:05:00Z");
        assert_eq!(v["version"], "4");
    }

    #[test]
    fn display_shows_the_origin_only() {
        let ch = WebhookChannel::builder("http://u:pw@hooks.example.com:8080/hook/SECRET?t=TOKEN")
            .bearer_token("BEARER-TOKEN")
            .build()
            .expect("valid");
        let shown = format!("{ch} {ch:?}");
        assert!(!format!("{:?}", WebhookChannel::builder("http://h/SECRET")).contains("SECRET"));
        assert!(
            shown.starts_with("webhook:http://hooks.example.com:8080 "),
            "{shown}"
        );
        for secret in ["SECRET", "TOKEN", "pw", "BEARER"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
