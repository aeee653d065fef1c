//! The engine's periodic work ([`IncidentEngine::tick`]): acknowledgements that timed out
//! go back to triggered, and triggered incidents notify the escalation steps that are due,
//! each step recorded on the timeline so that it is notified once.

use std::collections::BTreeMap;

use futures::future::join_all;
use legalops_core::Result;
use legalops_core::alerting::classify::response_target;
use legalops_core::alerts::{Alert, AlertStatus, Notification, fingerprint};
use legalops_core::incidents::{Incident, IncidentSeverity, IncidentStatus};
use legalops_core::metrics::Labels;
use time::OffsetDateTime;

use super::IncidentEngine;
use super::config::{EscalationPolicy, policy_name};
use super::postmortem::{human, human_std, utc};
use super::schedule::{self, RETRIGGER_PREFIX, SYSTEM_ACTOR, StepRef, escalation_note};
use crate::channels::deliver_within;

impl IncidentEngine {
    /// One round over the open incidents (the platform runs it on an interval): times out
    /// acknowledgements older than `ack_timeout` (back to triggered, escalation starts over)
    /// and notifies the escalation steps now due. An incident that fails is logged and the
    /// others still run; the first failure is returned.
    pub async fn tick(&self) -> Result<()> {
        let now = self.inner.clock.now();
        let open = self.inner.tracker.list_open().await?;
        if let Some(m) = &self.inner.metrics {
            m.set_open(open.len());
        }
        {
            let ids: Vec<&str> = open.iter().map(|i| i.id.as_str()).collect();
            self.seen().retain(|_, s| ids.contains(&s.id()));
        }
        let mut first_error = None;
        for incident in open {
            let id = incident.id.clone();
            let r = match self.time_out_acknowledgement(incident, now).await {
                Ok(i) => self.escalate(i, now).await.map(drop),
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                tracing::warn!(incident = %id, error = %e, "incident tick failed");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Moves an acknowledgement older than the timeout back to triggered, with a note that
    /// starts a new escalation epoch.
    async fn time_out_acknowledgement(
        &self,
        incident: Incident,
        now: OffsetDateTime,
    ) -> Result<Incident> {
        let timeout = self.inner.config.ack_timeout;
        if incident.status != IncidentStatus::Acknowledged {
            return Ok(incident);
        }
        let since = schedule::last_acknowledged(&incident);
        if now - since < timeout {
            return Ok(incident);
        }
        let t = &self.inner.tracker;
        t.set_status(&incident.id, IncidentStatus::Triggered, SYSTEM_ACTOR, now)
            .await?;
        let text = format!(
            "{RETRIGGER_PREFIX} acknowledged at {} UTC and not moved to investigating within \
             {}; escalation starts over",
            utc(since),
            human_std(timeout)
        );
        t.note(&incident.dedup_key, SYSTEM_ACTOR, &text, now).await
    }

    /// Notifies the steps of the incident's policy now due and not yet notified (a target
    /// named by several due steps gets one notification), and records each step on the
    /// timeline. Returns the incident as it stands after.
    pub(super) async fn escalate(
        &self,
        incident: Incident,
        now: OffsetDateTime,
    ) -> Result<Incident> {
        if incident.status != IncidentStatus::Triggered {
            return Ok(incident);
        }
        let Some(policy) = self.inner.config.policy_for(incident.severity) else {
            return Ok(incident);
        };
        let due = schedule::due(&incident, policy, now);
        let Some(&last) = due.last() else {
            return Ok(incident);
        };
        // Target name -> the latest due step naming it (what its notification describes).
        let mut wanted: BTreeMap<&str, StepRef> = BTreeMap::new();
        for at in &due {
            for t in &policy.steps[at.step].targets {
                wanted.insert(t.as_str(), *at);
            }
        }
        let sends = wanted.iter().filter_map(|(name, at)| {
            let (_, channel) = self.inner.targets.iter().find(|(n, _)| n == name)?;
            let n = self.notification(&incident, policy, *at, name, now);
            let deadline = self.inner.config.delivery_deadline;
            Some(async move {
                let (r, _) = deliver_within(channel.as_ref(), &n, deadline).await;
                (*name, r)
            })
        });
        let outcomes: BTreeMap<&str, String> = join_all(sends)
            .await
            .into_iter()
            .map(|(name, r)| match r {
                Ok(()) => (name, "delivered".to_owned()),
                Err(e) => {
                    tracing::warn!(incident = %incident.id, target = name, error = %e, "escalation not delivered");
                    (name, format!("failed ({})", e.kind()))
                }
            })
            .collect();
        let mut after = incident.clone();
        for at in &due {
            let targets = &policy.steps[at.step].targets;
            let outcome: Vec<String> = targets
                .iter()
                .map(|t| {
                    let o = outcomes
                        .get(t.as_str())
                        .map_or("not configured", String::as_str);
                    format!("{t} {o}")
                })
                .collect();
            let text = escalation_note(*at, targets, &outcome.join(", "));
            after = self
                .inner
                .tracker
                .note(&incident.dedup_key, SYSTEM_ACTOR, &text, now)
                .await?;
        }
        tracing::info!(incident = %incident.id, step = last.step, repeat = last.repeat, "incident escalated");
        Ok(after)
    }

    /// The notification a target gets for step `at` of `policy`.
    fn notification(
        &self,
        incident: &Incident,
        policy: &EscalationPolicy,
        at: StepRef,
        target: &str,
        now: OffsetDateTime,
    ) -> Notification {
        let sev = policy_name(incident.severity);
        let mut labels: Labels = [
            ("alertname", "IncidentEscalation"),
            ("incident", incident.id.as_str()),
            ("incident_severity", sev),
            ("severity", alert_severity(incident.severity)),
            ("escalation_policy", policy.name.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        labels.insert("escalation_step".into(), at.step.to_string());
        let summary = format!(
            "[{}] {} not acknowledged: {}",
            sev.to_uppercase(),
            incident.id,
            incident.summary
        );
        let description = format!(
            "Escalation step {} of policy {} (repeat {}). Opened {} UTC ({} ago), {} \
             trigger(s), status triggered. Response target: {}.",
            at.step,
            policy.name,
            at.repeat,
            utc(incident.opened_at),
            human(now - incident.opened_at),
            incident.trigger_count,
            human_std(response_target(incident.severity)),
        );
        let annotations = [("summary", summary), ("description", description)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let url = &self.inner.config.external_url;
        let alert = Alert {
            status: AlertStatus::Firing,
            fingerprint: fingerprint(&labels),
            labels,
            annotations,
            starts_at: incident.opened_at,
            ends_at: None,
            generator_url: if url.is_empty() {
                String::new()
            } else {
                format!(
                    "{}/api/incidents/{}",
                    url.trim_end_matches('/'),
                    incident.id
                )
            },
        };
        let group: Labels = [("incident".to_owned(), incident.id.clone())].into();
        Notification::new(
            target,
            incident.dedup_key.clone(),
            group,
            url.clone(),
            vec![alert],
        )
    }
}

/// The alert severity a channel formats an escalation with.
fn alert_severity(sev: IncidentSeverity) -> &'static str {
    match sev {
        IncidentSeverity::Sev1 | IncidentSeverity::Sev2 => "critical",
        IncidentSeverity::Sev3 => "warning",
        IncidentSeverity::Sev4 => "info",
    }
}
