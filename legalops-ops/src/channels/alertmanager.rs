//! `AlertmanagerChannel`: forwards alerts to a Prometheus Alertmanager through its API v2
//! (`POST {base}/api/v2/alerts` with `[{labels, annotations, startsAt, endsAt,
//! generatorURL}]`), so that an organisation already running Alertmanager routes our alerts
//! with its own.
//!
//! Alertmanager resolves an alert whose `endsAt` has passed. A resolved alert is sent with
//! `endsAt` in the past (its end, at the latest now). A firing alert is sent with `endsAt =
//! now + firing_ttl`: Prometheus re-sends every minute, but our notifier re-sends an
//! unchanged group only every `repeat_interval` (4 h), so the default TTL (4 h 30 min)
//! outlives that interval and the alert stays active in between; should we stop sending,
//! it still resolves itself eventually.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::alerts::{Alert, AlertChannel, AlertStatus, Notification};
use legalops_core::clock::{SharedClock, SystemClock};
use legalops_core::{Error, Result};
use reqwest::Url;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::http::{self, HttpSender, Secret};
use super::retry::RetryPolicy;

/// Default life of a firing alert in Alertmanager before we send it again.
pub const DEFAULT_FIRING_TTL: Duration = Duration::from_secs(4 * 3600 + 30 * 60);

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// One alert in API v2's `postableAlert` shape, as of `now`.
pub(crate) fn postable(a: &Alert, now: OffsetDateTime, firing_ttl: Duration) -> Value {
    // Alertmanager (like Prometheus) treats an empty label value as no label.
    let labels: Map<String, Value> = a
        .labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    let ends_at = match a.status {
        AlertStatus::Firing => now + firing_ttl,
        // In the past, and never before the start (Alertmanager refuses end < start).
        AlertStatus::Resolved => a.ends_at.unwrap_or(now).min(now).max(a.starts_at),
    };
    let mut out = json!({
        "labels": labels,
        "annotations": a.annotations,
        "startsAt": rfc3339(a.starts_at),
        "endsAt": rfc3339(ends_at),
    });
    if !a.generator_url.is_empty() {
        out["generatorURL"] = a.generator_url.clone().into();
    }
    out
}

/// Forwards alerts to an Alertmanager's API v2.
pub struct AlertmanagerChannel {
    alerts_url: Url,
    health_url: Url,
    firing_ttl: Duration,
    clock: SharedClock,
    http: HttpSender,
}

/// Configures an [`AlertmanagerChannel`].
#[derive(Debug, Clone)]
pub struct AlertmanagerChannelBuilder {
    url: Secret,
    firing_ttl: Duration,
    clock: SharedClock,
    timeout: Duration,
    retry: RetryPolicy,
}

impl AlertmanagerChannelBuilder {
    /// How long a firing alert stays active in Alertmanager unless sent again (default
    /// [`DEFAULT_FIRING_TTL`]; keep it above the route's `repeat_interval`).
    pub fn firing_ttl(mut self, ttl: Duration) -> Self {
        self.firing_ttl = ttl;
        self
    }

    /// The clock that dates `endsAt` (default the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
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

    /// The channel; `InvalidConfig` (key `alertmanager_url`) for a URL that is not http(s)
    /// with a host, or a zero `firing_ttl`.
    pub fn build(self) -> Result<AlertmanagerChannel> {
        let key = "alertmanager_url";
        let mut base = http::parse_url(key, self.url.expose())?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let join = |p: &str| {
            base.join(p)
                .map_err(|e| Error::invalid_config(key, e.to_string()))
        };
        let (alerts_url, health_url) = (join("api/v2/alerts")?, join("-/healthy")?);
        if self.firing_ttl.is_zero() {
            return Err(Error::invalid_config("firing_ttl", "must be positive"));
        }
        // Basic-auth credentials may sit in the URL's userinfo.
        let secrets = base.password().map(str::to_owned).into_iter().collect();
        let name = format!("alertmanager:{}", http::origin(&base));
        let mut http = HttpSender::new(name, secrets)?.with_clock(self.clock.clone());
        http.timeout = self.timeout;
        http.retry = self.retry;
        Ok(AlertmanagerChannel {
            alerts_url,
            health_url,
            firing_ttl: self.firing_ttl,
            clock: self.clock,
            http,
        })
    }
}

impl AlertmanagerChannel {
    /// A channel for the Alertmanager at `url` (e.g. `http://127.0.0.1:9093`) with the
    /// defaults.
    pub fn from_url(url: &str) -> Result<Self> {
        Self::builder(url).build()
    }

    /// A builder for a channel to the Alertmanager at `url`.
    pub fn builder(url: impl Into<String>) -> AlertmanagerChannelBuilder {
        AlertmanagerChannelBuilder {
            url: Secret::new(url),
            firing_ttl: DEFAULT_FIRING_TTL,
            clock: Arc::new(SystemClock),
            timeout: http::DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

impl fmt::Debug for AlertmanagerChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertmanagerChannel")
            .field("endpoint", &self.http.name)
            .field("firing_ttl", &self.firing_ttl)
            .field("retry", &self.http.retry)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AlertmanagerChannel {
    /// `alertmanager:<scheme://host:port>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.http.name)
    }
}

#[async_trait]
impl AlertChannel for AlertmanagerChannel {
    async fn send(&self, n: &Notification) -> Result<()> {
        if n.alerts.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let body: Vec<Value> = n
            .alerts
            .iter()
            .map(|a| postable(a, now, self.firing_ttl))
            .collect();
        self.http
            .post_json(&self.alerts_url, &body, None)
            .await
            .map(drop)
    }

    /// `GET {base}/-/healthy` answers 2xx.
    async fn healthcheck(&self) -> Result<()> {
        self.http.get_ok(&self.health_url).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::alerts::fingerprint;
    use legalops_core::metrics::Labels;
    use time::macros::datetime;

    fn alert(status: AlertStatus, ends_at: Option<OffsetDateTime>) -> Alert {
        let labels: Labels = [
            ("alertname".to_owned(), "DiskFull".to_owned()),
            ("empty".to_owned(), String::new()),
        ]
        .into();
        Alert {
            status,
            fingerprint: fingerprint(&labels),
            labels,
            annotations: [("summary".to_owned(), "disk 95%".to_owned())].into(),
            starts_at: datetime!(2026-01-01 10:00 UTC),
            ends_at,
            generator_url: String::new(),
        }
    }

    #[test]
    fn a_firing_alert_lives_for_the_ttl_and_drops_empty_labels() {
        let now = datetime!(2026-01-01 11:00 UTC);
        let v = postable(
            &alert(AlertStatus::Firing, None),
            now,
            Duration::from_secs(600),
        );
        assert_eq!(
            v,
            json!({
                "labels": { "alertname": "DiskFull" },
                "annotations": { "summary": "disk 95%" },
                "startsAt": "2026-01-01T10:00:00Z",
                "endsAt": "2026-01-01T11:10:00Z",
            })
        );
    }

    #[test]
    fn a_resolved_alert_ends_in_the_past_and_not_before_it_started() {
        let now = datetime!(2026-01-01 11:00 UTC);
        let ttl = DEFAULT_FIRING_TTL;
        let ended = |end| postable(&alert(AlertStatus::Resolved, end), now, ttl)["endsAt"].clone();
        assert_eq!(ended(None), "2026-01-01T11:00:00Z");
        assert_eq!(
            ended(Some(datetime!(2026-01-01 10:30 UTC))),
            "2026-01-01T10:30:00Z"
        );
        assert_eq!(
            ended(Some(datetime!(2026-01-01 12:00 UTC))),
            "2026-01-01T11:00:00Z"
        );
        assert_eq!(
            ended(Some(datetime!(2026-01-01 9:00 UTC))),
            "2026-01-01T10:00:00Z"
        );
    }

    #[test]
    fn the_api_paths_extend_a_base_path_and_userinfo_is_not_shown() {
        let ch =
            AlertmanagerChannel::from_url("http://u:PASSWORD@127.0.0.1:9093/am").expect("valid");
        assert_eq!(ch.alerts_url.path(), "/am/api/v2/alerts");
        assert_eq!(ch.health_url.path(), "/am/-/healthy");
        let shown = format!("{ch} {ch:?}");
        assert!(
            shown.starts_with("alertmanager:http://127.0.0.1:9093 "),
            "{shown}"
        );
        assert!(!shown.contains("PASSWORD"), "{shown}");
    }
}
