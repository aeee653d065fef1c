//! `PagerDutyTracker`: incidents in PagerDuty, driven through the Events API v2 with the
//! dedup key: `trigger` opens (or adds to) the incident, `acknowledge` and `resolve` act on
//! the open one.
//!
//! The Events API is write-only and answers 202 without saying what the incident looks
//! like, so every call returns a receipt: the dedup key (id and key), the new status, the
//! instant given and one timeline entry. What PagerDuty does not echo is left neutral (an
//! acknowledge or resolve receipt has an empty summary and `Sev4`). Queries (`get`,
//! `list_open`, `list_recent`), notes and `set_status` are `NotSupported`: the Events API
//! cannot do them (the REST API could, with a user token; not needed while the built-in
//! tracker is the record).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::incidents::{
    Incident, IncidentSeverity, IncidentStatus, IncidentTracker, MAX_DEDUP_KEY_LEN, TimelineEntry,
    Trigger, validate_trigger,
};
use legalops_core::{Error, Result};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::channels::RetryPolicy;
use crate::channels::{DEFAULT_TIMEOUT, EventsApi, PAGERDUTY_DEFAULT_BASE_URL, Secret};

/// PagerDuty's event severity for a runbook severity.
fn severity(s: IncidentSeverity) -> &'static str {
    match s {
        IncidentSeverity::Sev1 => "critical",
        IncidentSeverity::Sev2 => "error",
        IncidentSeverity::Sev3 => "warning",
        IncidentSeverity::Sev4 => "info",
    }
}

fn check_key(dedup_key: &str) -> Result<()> {
    if dedup_key.is_empty() || dedup_key.len() > MAX_DEDUP_KEY_LEN {
        return Err(Error::invalid_input("dedup_key", "must be 1 to 255 bytes"));
    }
    Ok(())
}

/// The receipt for an event PagerDuty accepted.
fn receipt(
    key: String,
    status: IncidentStatus,
    at: OffsetDateTime,
    actor: &str,
    kind: &str,
    text: String,
) -> Incident {
    Incident {
        id: key.clone(),
        dedup_key: key,
        summary: String::new(),
        severity: IncidentSeverity::Sev4,
        status,
        opened_at: at,
        acknowledged_at: (status == IncidentStatus::Acknowledged).then_some(at),
        resolved_at: (status == IncidentStatus::Resolved).then_some(at),
        trigger_count: 0,
        timeline: vec![TimelineEntry {
            at,
            actor: actor.to_owned(),
            kind: kind.to_owned(),
            text,
        }],
    }
}

/// Opens, acknowledges and resolves PagerDuty incidents by dedup key (Events API v2).
pub struct PagerDutyTracker {
    api: EventsApi,
}

/// Configures a [`PagerDutyTracker`].
#[derive(Debug, Clone)]
pub struct PagerDutyTrackerBuilder {
    routing_key: Secret,
    base_url: String,
    timeout: Duration,
    retry: RetryPolicy,
}

impl PagerDutyTrackerBuilder {
    /// The Events API's base URL (default `https://events.pagerduty.com`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Deadline of one HTTP request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How failed events are retried (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The tracker; `InvalidConfig` naming `routing_key` or `base_url`.
    pub fn build(self) -> Result<PagerDutyTracker> {
        let api = EventsApi::new(
            "pagerduty-incidents",
            &self.routing_key,
            &self.base_url,
            self.timeout,
            self.retry,
        )?;
        Ok(PagerDutyTracker { api })
    }
}

impl PagerDutyTracker {
    /// A tracker for the integration's `routing_key` with the defaults.
    pub fn new(routing_key: impl Into<String>) -> Result<Self> {
        Self::builder(routing_key).build()
    }

    /// A builder for a tracker with the integration's `routing_key` (a secret).
    pub fn builder(routing_key: impl Into<String>) -> PagerDutyTrackerBuilder {
        PagerDutyTrackerBuilder {
            routing_key: Secret::new(routing_key),
            base_url: PAGERDUTY_DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }

    fn unsupported(&self, operation: &str) -> Error {
        Error::not_supported(self.to_string(), operation)
    }
}

impl fmt::Debug for PagerDutyTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutyTracker")
            .field("api", &self.api.http)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for PagerDutyTracker {
    /// `pagerduty-incidents:<scheme://host>`; never the routing key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.api.http.name)
    }
}

#[async_trait]
impl IncidentTracker for PagerDutyTracker {
    async fn trigger(&self, t: &Trigger) -> Result<Incident> {
        validate_trigger(t)?;
        let mut payload = json!({
            "summary": t.summary,
            "source": t.source,
            "severity": severity(t.severity),
            "timestamp": t.at.format(&Rfc3339).unwrap_or_default(),
        });
        if let Some(c) = &t.component {
            payload["component"] = c.clone().into();
        }
        // PagerDuty wants an object; anything else is kept under `details`.
        payload["custom_details"] = match &t.details {
            Value::Null => json!({}),
            Value::Object(_) => t.details.clone(),
            other => json!({ "details": other }),
        };
        let mut extra = Map::new();
        extra.insert("client".into(), "LegalOps".into());
        let key = self
            .api
            .enqueue("trigger", &t.dedup_key, Some(payload), extra)
            .await?;
        let mut inc = receipt(
            key,
            IncidentStatus::Triggered,
            t.at,
            &t.source,
            "triggered",
            t.summary.clone(),
        );
        inc.summary = t.summary.clone();
        inc.severity = t.severity;
        inc.trigger_count = 1;
        Ok(inc)
    }

    async fn acknowledge(
        &self,
        dedup_key: &str,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        check_key(dedup_key)?;
        let key = self
            .api
            .enqueue("acknowledge", dedup_key, None, Map::new())
            .await?;
        let text = format!("acknowledged by {actor}");
        Ok(receipt(
            key,
            IncidentStatus::Acknowledged,
            at,
            actor,
            "acknowledged",
            text,
        ))
    }

    async fn resolve(&self, dedup_key: &str, actor: &str, at: OffsetDateTime) -> Result<Incident> {
        check_key(dedup_key)?;
        let key = self
            .api
            .enqueue("resolve", dedup_key, None, Map::new())
            .await?;
        let text = format!("resolved by {actor}");
        Ok(receipt(
            key,
            IncidentStatus::Resolved,
            at,
            actor,
            "resolved",
            text,
        ))
    }

    async fn note(&self, _: &str, _: &str, _: &str, _: OffsetDateTime) -> Result<Incident> {
        Err(self.unsupported("notes (the Events API v2 cannot add them)"))
    }

    async fn set_status(
        &self,
        _: &str,
        _: IncidentStatus,
        _: &str,
        _: OffsetDateTime,
    ) -> Result<Incident> {
        Err(self.unsupported("set_status (the Events API v2 has no lifecycle beyond resolve)"))
    }

    async fn get(&self, _: &str) -> Result<Incident> {
        Err(self.unsupported("get (the Events API v2 is write-only)"))
    }

    async fn list_open(&self) -> Result<Vec<Incident>> {
        Err(self.unsupported("list_open (the Events API v2 is write-only)"))
    }

    async fn list_recent(&self, _: OffsetDateTime, _: u64) -> Result<Vec<Incident>> {
        Err(self.unsupported("list_recent (the Events API v2 is write-only)"))
    }

    async fn healthcheck(&self) -> Result<()> {
        self.api.healthcheck().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> PagerDutyTracker {
        PagerDutyTracker::builder("R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY00")
            .base_url("http://127.0.0.1:9")
            .build()
            .expect("valid")
    }

    #[tokio::test]
    async fn queries_notes_and_lifecycle_moves_are_not_supported() {
        let t = tracker();
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            t.get("x").await.map(drop).unwrap_err().kind(),
            "not_supported"
        );
        assert_eq!(
            t.list_open().await.map(drop).unwrap_err().kind(),
            "not_supported"
        );
        let recent = t.list_recent(now, 10).await.map(drop);
        assert_eq!(recent.unwrap_err().kind(), "not_supported");
        let note = t.note("k", "me", "text", now).await.map(drop);
        assert_eq!(note.unwrap_err().kind(), "not_supported");
        let moved = t
            .set_status("k", IncidentStatus::Closed, "me", now)
            .await
            .map(drop);
        assert_eq!(moved.unwrap_err().kind(), "not_supported");
    }

    #[tokio::test]
    async fn bad_dedup_keys_are_refused_before_anything_is_sent() {
        let t = tracker();
        let now = OffsetDateTime::UNIX_EPOCH;
        let long = "k".repeat(MAX_DEDUP_KEY_LEN + 1);
        for key in ["", long.as_str()] {
            let r = t.acknowledge(key, "me", now).await.map(drop);
            assert_eq!(r.unwrap_err().kind(), "invalid_input");
            let r = t.resolve(key, "me", now).await.map(drop);
            assert_eq!(r.unwrap_err().kind(), "invalid_input");
        }
        assert_eq!(severity(IncidentSeverity::Sev2), "error");
    }
}
