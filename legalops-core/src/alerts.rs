//! `AlertChannel`: where alert notifications are delivered.
//!
//! A [`Notification`] is one group of alerts in the shape of Alertmanager's webhook payload
//! (version "4"), so that a webhook receiver built for Alertmanager accepts ours unchanged.
//! Defaults: log (`legalops-ops`) and memory ([`crate::mem::MemoryChannel`]); real channels
//! (webhook, Slack, PagerDuty, Alertmanager API v2, SMTP) live in `legalops-ops`.

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;
use crate::metrics::Labels;

/// How urgent an alert is (runbook: critical = immediate, warning = within 1 hour, info =
/// monitor and log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Monitor and log.
    Info,
    /// Respond within an hour.
    Warning,
    /// Respond immediately.
    Critical,
}

/// Whether an alert is firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// The condition holds.
    Firing,
    /// The condition cleared.
    Resolved,
}

/// One alert, as in Alertmanager's webhook payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Identity (`alertname`, `severity`, `instance`, ...).
    pub labels: Labels,
    /// Text (`summary`, `description`, `runbook_url`).
    pub annotations: BTreeMap<String, String>,
    /// When it started firing.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// When it resolved; `None` while firing.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub ends_at: Option<OffsetDateTime>,
    /// A link to the expression or dashboard that produced it.
    #[serde(rename = "generatorURL", default)]
    pub generator_url: String,
    /// A stable hash of the labels ([`fingerprint`]).
    pub fingerprint: String,
}

/// One notification: a group of alerts sent together to one receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Always `"4"` (Alertmanager webhook payload version).
    pub version: String,
    /// Identifies the group (stable across notifications of the same group).
    pub group_key: String,
    /// Alerts left out because of a size limit.
    pub truncated_alerts: u64,
    /// `firing` if any alert fires, else `resolved`.
    pub status: AlertStatus,
    /// The receiver's name.
    pub receiver: String,
    /// The labels the group is keyed by.
    pub group_labels: Labels,
    /// Labels every alert shares.
    pub common_labels: Labels,
    /// Annotations every alert shares.
    pub common_annotations: BTreeMap<String, String>,
    /// A link back to the platform.
    #[serde(rename = "externalURL")]
    pub external_url: String,
    /// The alerts.
    pub alerts: Vec<Alert>,
}

impl Notification {
    /// A notification of `alerts` for `receiver`: status, common labels and common
    /// annotations are derived from the alerts.
    pub fn new(
        receiver: impl Into<String>,
        group_key: impl Into<String>,
        group_labels: Labels,
        external_url: impl Into<String>,
        alerts: Vec<Alert>,
    ) -> Self {
        let status = if alerts.iter().any(|a| a.status == AlertStatus::Firing) {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        };
        let common_labels = common(alerts.iter().map(|a| &a.labels));
        let common_annotations = common(alerts.iter().map(|a| &a.annotations));
        Self {
            version: "4".to_owned(),
            group_key: group_key.into(),
            truncated_alerts: 0,
            status,
            receiver: receiver.into(),
            group_labels,
            common_labels,
            common_annotations,
            external_url: external_url.into(),
            alerts,
        }
    }
}

fn common<'a>(
    mut maps: impl Iterator<Item = &'a BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let Some(first) = maps.next() else {
        return BTreeMap::new();
    };
    let mut out = first.clone();
    for m in maps {
        out.retain(|k, v| m.get(k) == Some(v));
    }
    out
}

/// A stable identity for a label set: 16 hex digits of BLAKE3 over the sorted pairs.
pub fn fingerprint(labels: &Labels) -> String {
    let mut h = blake3::Hasher::new();
    for (k, v) in labels {
        // Length-prefix each part so that ("ab","c") and ("a","bc") differ.
        h.update(&(k.len() as u64).to_le_bytes());
        h.update(k.as_bytes());
        h.update(&(v.len() as u64).to_le_bytes());
        h.update(v.as_bytes());
    }
    h.finalize().to_hex()[..16].to_owned()
}

/// A destination for alert notifications.
#[async_trait]
pub trait AlertChannel: Debug + Display + Send + Sync + 'static {
    /// Delivers one notification. A channel retries transient failures itself (bounded);
    /// the error it returns is final for this notification.
    async fn send(&self, notification: &Notification) -> Result<()>;

    /// Proves the channel can deliver (configuration valid, endpoint reachable).
    async fn healthcheck(&self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn alert(name: &str, status: AlertStatus, extra: &[(&str, &str)]) -> Alert {
        let mut labels: Labels = [("alertname".to_owned(), name.to_owned())].into();
        labels.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Alert {
            status,
            fingerprint: fingerprint(&labels),
            labels,
            annotations: BTreeMap::new(),
            starts_at: datetime!(2026-01-01 0:00 UTC),
            ends_at: None,
            generator_url: String::new(),
        }
    }

    #[test]
    fn fingerprint_depends_on_every_label_and_not_on_order() {
        let a: Labels = [("a".into(), "bc".into())].into();
        let b: Labels = [("ab".into(), "c".into())].into();
        assert_ne!(fingerprint(&a), fingerprint(&b));
        let c: Labels = [("x".into(), "1".into()), ("y".into(), "2".into())].into();
        let d: Labels = [("y".into(), "2".into()), ("x".into(), "1".into())].into();
        assert_eq!(fingerprint(&c), fingerprint(&d));
        assert_eq!(fingerprint(&c).len(), 16);
    }

    #[test]
    fn notification_derives_status_and_common_labels() {
        let n = Notification::new(
            "ops",
            "{}:{alertname=\"Disk\"}",
            Labels::new(),
            "http://localhost:8080",
            vec![
                alert(
                    "Disk",
                    AlertStatus::Resolved,
                    &[("instance", "a"), ("severity", "critical")],
                ),
                alert(
                    "Disk",
                    AlertStatus::Firing,
                    &[("instance", "b"), ("severity", "critical")],
                ),
            ],
        );
        assert_eq!(n.status, AlertStatus::Firing);
        assert_eq!(
            n.common_labels.get("severity").map(String::as_str),
            Some("critical")
        );
        assert!(!n.common_labels.contains_key("instance"));
        let v = serde_json::to_value(&n).unwrap_or_default();
        assert_eq!(v["version"], "4");
        assert_eq!(v["externalURL"], "http://localhost:8080");
        assert!(v["alerts"][0].get("generatorURL").is_some());
        assert_eq!(v["alerts"][1]["endsAt"], serde_json::Value::Null);
    }
}
