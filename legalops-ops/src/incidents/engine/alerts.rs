//! From alert groups to incidents: a group with a firing critical alert (or any firing
//! alert, when data was lost or security breached) opens an incident keyed by the group,
//! classified by the core table; the same group firing again adds to the open incident;
//! the group resolving resolves it.

use std::collections::BTreeSet;

use legalops_core::alerting::classify::{ClassifyInput, classify};
use legalops_core::alerts::{Alert, AlertStatus, Severity};
use legalops_core::incidents::{Incident, IncidentSeverity, MAX_SUMMARY_LEN, Trigger};
use legalops_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::IncidentEngine;
use super::schedule::{SYSTEM_ACTOR, classification_note};
use crate::channels::dedup_key;

/// The `source` of triggers the engine raises from alerts.
pub const ALERT_SOURCE: &str = "alerting";
/// At most this many alerts are copied into a trigger's details.
const MAX_DETAIL_ALERTS: usize = 20;

/// What is known about a group's scope besides its alerts (the parts of
/// [`ClassifyInput`] that do not come from the alerts themselves).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IncidentSignals {
    /// Share of responses that are 5xx, percent.
    pub error_rate_5xx_percent: Option<f64>,
    /// Share of responses that are 4xx, percent.
    pub error_rate_4xx_percent: Option<f64>,
    /// How many routes are failing.
    pub failing_routes: u32,
    /// Failing health checks, as `component:measurement`.
    pub failing_checks: Vec<String>,
    /// Data was lost.
    pub data_loss: bool,
    /// A security breach event was raised.
    pub security_breach: bool,
}

/// What last triggered a group's open incident.
pub(super) struct Seen {
    id: String,
    alerts: BTreeSet<(String, OffsetDateTime)>,
    severity: IncidentSeverity,
}

impl Seen {
    /// The incident these alerts triggered.
    pub(super) fn id(&self) -> &str {
        &self.id
    }
}

/// The alert's `severity` label; a missing or unknown one is `info` (it cannot open an
/// incident by itself, and is still classified if a breach or data loss does).
fn severity_of(a: &Alert) -> Severity {
    match a
        .labels
        .get("severity")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("critical") => Severity::Critical,
        Some("warning") => Severity::Warning,
        _ => Severity::Info,
    }
}

/// The firing alerts' `summary` annotations (else their `alertname`), distinct, joined,
/// within the tracker's limit.
fn summary_of(group_key: &str, firing: &[&Alert]) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for a in firing {
        let s = a
            .annotations
            .get("summary")
            .or_else(|| a.labels.get("alertname"))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty());
        if let Some(s) = s.filter(|s| !parts.contains(s)) {
            parts.push(s);
        }
    }
    let mut out = if parts.is_empty() {
        format!("alert group {group_key}")
    } else {
        parts.join("; ")
    };
    if out.len() > MAX_SUMMARY_LEN {
        let mut end = MAX_SUMMARY_LEN - '…'.len_utf8();
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push('…');
    }
    out
}

impl IncidentEngine {
    /// Handles one notification's worth of a group: opens or adds to the group's incident
    /// while a critical alert fires (any alert, with a breach or data loss), resolves it
    /// once every alert in the group has resolved (actor `system`, note "alert resolved").
    /// Returns the incident touched, or `None` when the group concerns no incident. A
    /// notification repeated for an unchanged group (same alerts, same or lower severity)
    /// is not counted as another trigger.
    pub async fn on_alert_group(
        &self,
        group_key: &str,
        alerts: &[Alert],
        signals: &IncidentSignals,
    ) -> Result<Option<Incident>> {
        if group_key.is_empty() {
            return Err(Error::invalid_input("group_key", "must not be empty"));
        }
        if alerts.is_empty() {
            return Ok(None);
        }
        let key = dedup_key(group_key);
        let now = self.inner.clock.now();
        let firing: Vec<&Alert> = alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
            .collect();
        if firing.is_empty() {
            return self.group_resolved(&key, now).await;
        }
        let alert_severity = firing
            .iter()
            .map(|a| severity_of(a))
            .max()
            .unwrap_or(Severity::Info);
        if alert_severity != Severity::Critical && !signals.data_loss && !signals.security_breach {
            return Ok(None);
        }
        let class = classify(&ClassifyInput {
            alert_severity,
            error_rate_5xx_percent: signals.error_rate_5xx_percent,
            error_rate_4xx_percent: signals.error_rate_4xx_percent,
            failing_routes: signals.failing_routes,
            failing_checks: signals.failing_checks.clone(),
            data_loss: signals.data_loss,
            security_breach: signals.security_breach,
        });
        let sigs: BTreeSet<(String, OffsetDateTime)> = firing
            .iter()
            .map(|a| (a.fingerprint.clone(), a.starts_at))
            .collect();
        if let Some(open) = self.unchanged(&key, &sigs, class.severity).await? {
            return Ok(Some(open));
        }

        let component = firing[0]
            .labels
            .get("component")
            .filter(|c| firing.iter().all(|a| a.labels.get("component") == Some(*c)))
            .cloned();
        let detail_alerts: Vec<_> = firing
            .iter()
            .take(MAX_DETAIL_ALERTS)
            .map(|a| {
                json!({
                    "labels": a.labels,
                    "summary": a.annotations.get("summary"),
                    "startsAt": a.starts_at.unix_timestamp(),
                    "fingerprint": a.fingerprint,
                })
            })
            .collect();
        let trigger = Trigger {
            dedup_key: key.clone(),
            summary: summary_of(group_key, &firing),
            source: ALERT_SOURCE.to_owned(),
            severity: class.severity,
            component,
            details: json!({
                "groupKey": group_key,
                "classification": class,
                "signals": signals,
                "alerts": detail_alerts,
                "firingAlerts": firing.len(),
            }),
            at: now,
        };
        let mut incident = self.inner.tracker.trigger(&trigger).await?;
        self.mirror("trigger", |m| m.trigger(&trigger)).await;
        let opened = incident.trigger_count == 1;
        if opened {
            let text = classification_note(class.severity, &class.reasons);
            incident = self
                .inner
                .tracker
                .note(&key, SYSTEM_ACTOR, &text, now)
                .await?;
        }
        {
            let mut seen = self.seen();
            let entry = seen.entry(key.clone()).or_insert_with(|| Seen {
                id: incident.id.clone(),
                alerts: BTreeSet::new(),
                severity: incident.severity,
            });
            if entry.id != incident.id {
                entry.id = incident.id.clone();
                entry.alerts.clear();
            }
            entry.alerts.extend(sigs);
            entry.severity = incident.severity;
        }
        if opened {
            self.refresh_open_gauge().await;
            // Sev1 escalates at once: page now rather than at the next tick.
            match self.escalate(incident.clone(), now).await {
                Ok(after) => incident = after,
                Err(e) => {
                    tracing::warn!(incident = %incident.id, error = %e, "first escalation failed; the next tick retries")
                }
            }
        }
        Ok(Some(incident))
    }

    /// The open incident already triggered by exactly these alerts at no lower severity,
    /// if the group is unchanged since its last trigger.
    async fn unchanged(
        &self,
        key: &str,
        sigs: &BTreeSet<(String, OffsetDateTime)>,
        severity: IncidentSeverity,
    ) -> Result<Option<Incident>> {
        let id = {
            let seen = self.seen();
            match seen.get(key) {
                // Sev1 sorts first: a smaller severity is a worse one and must re-trigger.
                Some(s) if sigs.is_subset(&s.alerts) && severity >= s.severity => s.id.clone(),
                _ => return Ok(None),
            }
        };
        match self.inner.tracker.get(&id).await {
            Ok(i) if i.status.is_open() => Ok(Some(i)),
            Ok(_) | Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn group_resolved(&self, key: &str, now: OffsetDateTime) -> Result<Option<Incident>> {
        self.seen().remove(key);
        let Some(open) = self.open_by_key(key).await? else {
            return Ok(None);
        };
        let t = &self.inner.tracker;
        t.note(key, SYSTEM_ACTOR, "alert resolved", now).await?;
        let resolved = t.resolve(key, SYSTEM_ACTOR, now).await?;
        self.mirror("resolve", |m| m.resolve(key, SYSTEM_ACTOR, now))
            .await;
        if let Some(m) = &self.inner.metrics
            && open.resolved_at.is_none()
        {
            m.resolved(&resolved);
        }
        self.refresh_open_gauge().await;
        Ok(Some(resolved))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::alerts::fingerprint;
    use legalops_core::metrics::Labels;
    use std::collections::BTreeMap;

    fn alert(summary: Option<&str>, name: &str) -> Alert {
        let labels: Labels = [("alertname".to_owned(), name.to_owned())].into();
        Alert {
            status: AlertStatus::Firing,
            fingerprint: fingerprint(&labels),
            labels,
            annotations: summary
                .map(|s| BTreeMap::from([("summary".to_owned(), s.to_owned())]))
                .unwrap_or_default(),
            starts_at: OffsetDateTime::UNIX_EPOCH,
            ends_at: None,
            generator_url: String::new(),
        }
    }

    #[test]
    fn summaries_are_distinct_fall_back_to_the_alertname_and_fit_the_limit() {
        let (a, b, c) = (
            alert(Some("API down"), "A"),
            alert(Some("API down"), "B"),
            alert(None, "DbDown"),
        );
        assert_eq!(summary_of("g", &[&a, &b, &c]), "API down; DbDown");
        let long = "é".repeat(MAX_SUMMARY_LEN);
        let d = alert(Some(&long), "X");
        let s = summary_of("g", &[&d]);
        assert!(s.len() <= MAX_SUMMARY_LEN && s.ends_with('…'));
        let mut e = alert(Some("  "), "");
        e.labels.clear();
        assert_eq!(summary_of("g", &[&e]), "alert group g");
    }

    #[test]
    fn an_unknown_severity_label_counts_as_info() {
        let mut a = alert(None, "A");
        assert_eq!(severity_of(&a), Severity::Info);
        a.labels.insert("severity".into(), "CRITICAL".into());
        assert_eq!(severity_of(&a), Severity::Critical);
    }
}
