//! The moves people make through the API and CLI: acknowledge, investigate, resolve, note,
//! review and close. Each goes through the tracker's `set_status` (or `note`), refuses an
//! illegal move with `Conflict` naming both states before touching anything, tells the
//! mirror tracker what it understands, and feeds the response metrics.

use legalops_core::incidents::{Incident, IncidentStatus, can_transition};
use legalops_core::{Error, Result};

use super::IncidentEngine;
use super::schedule::SYSTEM_ACTOR;

/// Longest actor name accepted.
pub const MAX_ACTOR_LEN: usize = 128;
/// Longest note accepted, bytes.
pub const MAX_NOTE_LEN: usize = 4096;

fn check_actor(actor: &str) -> Result<()> {
    if actor.trim().is_empty() || actor.len() > MAX_ACTOR_LEN {
        return Err(Error::invalid_input("actor", "must be 1 to 128 bytes"));
    }
    if actor == SYSTEM_ACTOR {
        return Err(Error::invalid_input(
            "actor",
            "\"system\" is reserved for the incident engine's own entries",
        ));
    }
    Ok(())
}

fn status_name(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Triggered => "triggered",
        IncidentStatus::Acknowledged => "acknowledged",
        IncidentStatus::Investigating => "investigating",
        IncidentStatus::Resolved => "resolved",
        IncidentStatus::Reviewing => "reviewing",
        IncidentStatus::Closed => "closed",
    }
}

impl IncidentEngine {
    /// Acknowledges the incident with tracker id `key_or_id`, or else the open incident
    /// with that dedup key (what a PagerDuty-style client has). `Conflict` unless it is
    /// triggered.
    pub async fn acknowledge(&self, key_or_id: &str, actor: &str) -> Result<Incident> {
        check_actor(actor)?;
        let incident = match self.inner.tracker.get(key_or_id).await {
            Ok(i) => i,
            Err(Error::NotFound { .. }) => self.open_by_key(key_or_id).await?.ok_or_else(|| {
                Error::not_found(format!("incident or open dedup key {key_or_id:?}"))
            })?,
            Err(e) => return Err(e),
        };
        let after = self
            .move_to(&incident, IncidentStatus::Acknowledged, actor)
            .await?;
        let now = self.inner.clock.now();
        self.mirror("acknowledge", |m| {
            m.acknowledge(&incident.dedup_key, actor, now)
        })
        .await;
        Ok(after)
    }

    /// Moves the incident to investigating. From triggered it is acknowledged first (taking
    /// it on is a response), so the timeline shows both and the response is measured.
    pub async fn investigate(&self, id: &str, actor: &str) -> Result<Incident> {
        check_actor(actor)?;
        let mut incident = self.inner.tracker.get(id).await?;
        if incident.status == IncidentStatus::Triggered {
            incident = self
                .move_to(&incident, IncidentStatus::Acknowledged, actor)
                .await?;
            let now = self.inner.clock.now();
            let key = incident.dedup_key.clone();
            self.mirror("acknowledge", |m| m.acknowledge(&key, actor, now))
                .await;
        }
        self.move_to(&incident, IncidentStatus::Investigating, actor)
            .await
    }

    /// Resolves the incident (from any open state).
    pub async fn resolve(&self, id: &str, actor: &str) -> Result<Incident> {
        check_actor(actor)?;
        let incident = self.inner.tracker.get(id).await?;
        let after = self
            .move_to(&incident, IncidentStatus::Resolved, actor)
            .await?;
        let now = self.inner.clock.now();
        self.mirror("resolve", |m| m.resolve(&incident.dedup_key, actor, now))
            .await;
        self.refresh_open_gauge().await;
        Ok(after)
    }

    /// Starts the post-incident review of a resolved incident.
    pub async fn review(&self, id: &str, actor: &str) -> Result<Incident> {
        check_actor(actor)?;
        let incident = self.inner.tracker.get(id).await?;
        self.move_to(&incident, IncidentStatus::Reviewing, actor)
            .await
    }

    /// Closes a resolved or reviewed incident.
    pub async fn close(&self, id: &str, actor: &str) -> Result<Incident> {
        check_actor(actor)?;
        let incident = self.inner.tracker.get(id).await?;
        self.move_to(&incident, IncidentStatus::Closed, actor).await
    }

    /// Adds a note to the incident's timeline. Trackers address notes by dedup key (to the
    /// newest incident with it), so a note for an older incident whose key has opened a
    /// newer one is refused with `Conflict` rather than written to the wrong incident.
    pub async fn note(&self, id: &str, actor: &str, text: &str) -> Result<Incident> {
        check_actor(actor)?;
        if text.trim().is_empty() || text.len() > MAX_NOTE_LEN {
            return Err(Error::invalid_input("text", "must be 1 to 4096 bytes"));
        }
        let incident = self.inner.tracker.get(id).await?;
        if !incident.status.is_open() {
            let later = self
                .inner
                .tracker
                .list_recent(incident.opened_at, 10_000)
                .await?
                .into_iter()
                .find(|i| {
                    i.dedup_key == incident.dedup_key
                        && i.id != incident.id
                        && (i.status.is_open() || i.opened_at > incident.opened_at)
                });
            if let Some(later) = later {
                return Err(Error::conflict(format!(
                    "incident {id} was followed by {} with the same dedup key; notes go to \
                     the newest, add it there",
                    later.id
                )));
            }
        }
        let now = self.inner.clock.now();
        self.inner
            .tracker
            .note(&incident.dedup_key, actor, text, now)
            .await
    }

    /// Moves `incident` to `to` through the tracker, checking the lifecycle first, and
    /// records the response metrics the move completes.
    async fn move_to(
        &self,
        incident: &Incident,
        to: IncidentStatus,
        actor: &str,
    ) -> Result<Incident> {
        if !can_transition(incident.status, to) {
            return Err(Error::conflict(format!(
                "incident {} cannot move from {} to {}",
                incident.id,
                status_name(incident.status),
                status_name(to)
            )));
        }
        let now = self.inner.clock.now();
        let after = self
            .inner
            .tracker
            .set_status(&incident.id, to, actor, now)
            .await?;
        if let Some(m) = &self.inner.metrics {
            if incident.acknowledged_at.is_none() && after.acknowledged_at.is_some() {
                m.acknowledged(&after);
            }
            if incident.resolved_at.is_none() && after.resolved_at.is_some() {
                m.resolved(&after);
            }
        }
        Ok(after)
    }
}
