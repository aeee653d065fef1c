//! `PagerDutyChannel`: one PagerDuty Events API v2 event per notification: `trigger` while
//! the group fires, `resolve` once it is resolved, with the group key as the dedup key, so
//! that PagerDuty folds every notification of a group into one incident.
//!
//! [`EventsApi`] is the shared client (`POST {base}/v2/enqueue`, 202 expected, retried on
//! 429/5xx) that the PagerDuty incident tracker uses as well. The routing key is the
//! credential: it goes in the request body only.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::alerts::{Alert, AlertChannel, AlertStatus, Notification};
use legalops_core::incidents::{MAX_DEDUP_KEY_LEN, MAX_SUMMARY_LEN};
use legalops_core::{Error, Result};
use reqwest::Url;
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

use super::format::{group_name, split, title, truncate};
use super::http::{self, HttpSender, Secret};
use super::retry::RetryPolicy;

/// PagerDuty's Events API host.
pub const DEFAULT_BASE_URL: &str = "https://events.pagerduty.com";

/// A dedup key for `group_key` within PagerDuty's 255-byte limit: the key itself when it
/// fits, else its head and `~` and 16 hex digits of its BLAKE3 hash, so distinct long keys
/// stay distinct and the same key always maps to the same dedup key.
pub fn dedup_key(group_key: &str) -> String {
    if group_key.len() <= MAX_DEDUP_KEY_LEN {
        return group_key.to_owned();
    }
    let hash = blake3::hash(group_key.as_bytes()).to_hex();
    let mut end = MAX_DEDUP_KEY_LEN - 17;
    while !group_key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}~{}", &group_key[..end], &hash[..16])
}

/// The Events API v2 client shared by the channel and the incident tracker.
pub(crate) struct EventsApi {
    url: Url,
    routing_key: Secret,
    pub(crate) http: HttpSender,
}

impl EventsApi {
    /// A client for `base_url` named `kind:<origin>`; checks the routing key's shape.
    pub(crate) fn new(
        kind: &str,
        routing_key: &Secret,
        base_url: &str,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self> {
        let key = routing_key.expose();
        if key.is_empty() || key.len() > 64 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            // The rule only: the value itself may be a mistyped secret.
            return Err(Error::invalid_config(
                "routing_key",
                "must be 1 to 64 ASCII letters and digits (PagerDuty integration key)",
            ));
        }
        let mut base = http::parse_url("base_url", base_url)?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let url = base
            .join("v2/enqueue")
            .map_err(|e| Error::invalid_config("base_url", e.to_string()))?;
        let name = format!("{kind}:{}", http::origin(&base));
        let mut http = HttpSender::new(name, vec![key.to_owned()])?;
        http.timeout = timeout;
        http.retry = retry;
        Ok(Self {
            url,
            routing_key: routing_key.clone(),
            http,
        })
    }

    /// Sends one event; returns the dedup key PagerDuty echoes (or the one sent).
    pub(crate) async fn enqueue(
        &self,
        action: &str,
        dedup_key: &str,
        payload: Option<Value>,
        extra: Map<String, Value>,
    ) -> Result<String> {
        let mut event = extra;
        event.insert("routing_key".into(), self.routing_key.expose().into());
        event.insert("event_action".into(), action.into());
        event.insert("dedup_key".into(), dedup_key.into());
        if let Some(p) = payload {
            event.insert("payload".into(), p);
        }
        let body = self.http.post_json(&self.url, &event, None).await?;
        let echoed = serde_json::from_str::<Value>(&body).ok().and_then(|v| {
            v.get("dedup_key")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        Ok(echoed.unwrap_or_else(|| dedup_key.to_owned()))
    }

    /// The endpoint accepts connections (an event would page someone, so none is sent).
    pub(crate) async fn healthcheck(&self) -> Result<()> {
        http::reachable(&self.url, self.http.timeout, &self.http.name).await
    }
}

/// PagerDuty's severity for a label value; unknown or missing is `error`, as in
/// Alertmanager's PagerDuty integration. The number orders them.
fn severity(label: Option<&str>) -> (u8, &'static str) {
    match label {
        Some("critical") => (3, "critical"),
        Some("warning") => (1, "warning"),
        Some("info" | "none") => (0, "info"),
        _ => (2, "error"),
    }
}

fn alert_details(a: &Alert) -> Value {
    json!({
        "status": a.status,
        "labels": a.labels,
        "annotations": a.annotations,
        "startsAt": a.starts_at.format(&Rfc3339).unwrap_or_default(),
    })
}

/// The `trigger` payload for a firing notification.
pub(crate) fn trigger_payload(n: &Notification, source: &str) -> Value {
    let (firing, resolved) = split(n);
    let relevant = if firing.is_empty() {
        &resolved
    } else {
        &firing
    };
    let sev = relevant
        .iter()
        .map(|a| severity(a.labels.get("severity").map(String::as_str)))
        .max()
        .unwrap_or((2, "error"))
        .1;
    let started = relevant.iter().map(|a| a.starts_at).min();
    let mut summary = title(n);
    if let Some(s) = n.common_annotations.get("summary") {
        summary = format!("{summary}: {s}");
    }
    let mut p = Map::new();
    p.insert("summary".into(), truncate(&summary, MAX_SUMMARY_LEN).into());
    p.insert("source".into(), source.into());
    p.insert("severity".into(), sev.into());
    if let Some(t) = started.and_then(|t| t.format(&Rfc3339).ok()) {
        p.insert("timestamp".into(), t.into());
    }
    let common = |keys: &[&str]| keys.iter().find_map(|k| n.common_labels.get(*k)).cloned();
    if let Some(c) = common(&["component", "job"]) {
        p.insert("component".into(), c.into());
    }
    if let Some(g) = common(&["service", "team"]) {
        p.insert("group".into(), g.into());
    }
    p.insert("class".into(), group_name(n).into());
    p.insert(
        "custom_details".into(),
        json!({
            "num_firing": firing.len(),
            "num_resolved": resolved.len(),
            "group_key": n.group_key,
            "receiver": n.receiver,
            "group_labels": n.group_labels,
            "common_labels": n.common_labels,
            "common_annotations": n.common_annotations,
            "alerts": n.alerts.iter().map(alert_details).collect::<Vec<_>>(),
        }),
    );
    Value::Object(p)
}

/// Delivers notifications as PagerDuty Events API v2 events.
pub struct PagerDutyChannel {
    api: EventsApi,
    source: String,
}

/// Configures a [`PagerDutyChannel`].
#[derive(Debug, Clone)]
pub struct PagerDutyChannelBuilder {
    routing_key: Secret,
    base_url: String,
    source: String,
    timeout: Duration,
    retry: RetryPolicy,
}

impl PagerDutyChannelBuilder {
    /// The Events API's base URL (default [`DEFAULT_BASE_URL`]; tests point it at a local
    /// receiver).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// `payload.source` of every event (default `legalops`).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
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

    /// The channel; `InvalidConfig` naming `routing_key`, `base_url` or `source`.
    pub fn build(self) -> Result<PagerDutyChannel> {
        if self.source.trim().is_empty() {
            return Err(Error::invalid_config("source", "must not be empty"));
        }
        let api = EventsApi::new(
            "pagerduty",
            &self.routing_key,
            &self.base_url,
            self.timeout,
            self.retry,
        )?;
        Ok(PagerDutyChannel {
            api,
            source: self.source,
        })
    }
}

impl PagerDutyChannel {
    /// A channel for the integration's `routing_key` with the defaults.
    pub fn new(routing_key: impl Into<String>) -> Result<Self> {
        Self::builder(routing_key).build()
    }

    /// A builder for a channel with the integration's `routing_key` (a secret).
    pub fn builder(routing_key: impl Into<String>) -> PagerDutyChannelBuilder {
        PagerDutyChannelBuilder {
            routing_key: Secret::new(routing_key),
            base_url: DEFAULT_BASE_URL.to_owned(),
            source: "legalops".to_owned(),
            timeout: http::DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

impl fmt::Debug for PagerDutyChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutyChannel")
            .field("api", &self.api.http)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for PagerDutyChannel {
    /// `pagerduty:<scheme://host>`; never the routing key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.api.http.name)
    }
}

#[async_trait]
impl AlertChannel for PagerDutyChannel {
    async fn send(&self, n: &Notification) -> Result<()> {
        let key = dedup_key(&n.group_key);
        let (action, payload, extra) = match n.status {
            AlertStatus::Firing => {
                let mut extra = Map::new();
                extra.insert("client".into(), "LegalOps".into());
                if n.external_url.starts_with("http://") || n.external_url.starts_with("https://") {
                    extra.insert("client_url".into(), n.external_url.clone().into());
                }
                ("trigger", Some(trigger_payload(n, &self.source)), extra)
            }
            AlertStatus::Resolved => ("resolve", None, Map::new()),
        };
        self.api
            .enqueue(action, &key, payload, extra)
            .await
            .map(drop)
    }

    async fn healthcheck(&self) -> Result<()> {
        self.api.healthcheck().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_routing_key_is_checked_and_never_shown() {
        let bad = PagerDutyChannel::builder("not a key!")
            .base_url("http://127.0.0.1:9")
            .build();
        match bad {
            Err(Error::InvalidConfig { key, message }) => {
                assert_eq!(key, "routing_key");
                assert!(!message.contains("not a key"));
            }
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
        let ch = PagerDutyChannel::builder("R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY00")
            .base_url("http://127.0.0.1:9/pd")
            .build()
            .expect("valid");
        let shown = format!("{ch} {ch:?}");
        assert!(
            shown.starts_with("pagerduty:http://127.0.0.1:9 "),
            "{shown}"
        );
        assert!(!shown.contains("R0UT1NG"), "{shown}");
    }

    #[test]
    fn unknown_severities_are_errors_and_the_highest_wins() {
        assert_eq!(severity(None).1, "error");
        assert_eq!(severity(Some("page")).1, "error");
        assert_eq!(severity(Some("none")).1, "info");
        assert!(severity(Some("critical")) > severity(Some("error")));
        assert!(severity(Some("error")) > severity(Some("warning")));
    }

    proptest! {
        #[test]
        fn dedup_keys_fit_the_limit_and_keep_distinct_groups_apart(
            a in "\\PC{0,400}", b in "\\PC{0,400}",
        ) {
            let (ka, kb) = (dedup_key(&a), dedup_key(&b));
            prop_assert!(ka.len() <= MAX_DEDUP_KEY_LEN);
            prop_assert_eq!(&ka, &dedup_key(&a));
            if a.len() <= MAX_DEDUP_KEY_LEN {
                prop_assert_eq!(&ka, &a);
            }
            if a != b {
                prop_assert_ne!(ka, kb);
            }
        }
    }
}
