//! `IncidentTracker`: where incidents are opened, acknowledged and resolved.
//!
//! Semantics follow PagerDuty's Events API v2: an incident is addressed by its dedup key; a
//! trigger with the key of an open incident adds to it; after resolve, the same key opens a
//! new one. Default: memory ([`crate::mem::MemoryTracker`]); built-in (records store),
//! PagerDuty and webhook trackers live in other crates.

use std::fmt::{Debug, Display};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;

/// Longest dedup key accepted (PagerDuty's limit).
pub const MAX_DEDUP_KEY_LEN: usize = 255;
/// Longest summary accepted (PagerDuty's limit).
pub const MAX_SUMMARY_LEN: usize = 1024;

/// Runbook severity: 1 critical (15 min response) to 4 low (24 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentSeverity {
    /// Severity 1: complete outage.
    Sev1,
    /// Severity 2: significant degradation.
    Sev2,
    /// Severity 3: minor issues.
    Sev3,
    /// Severity 4: cosmetic.
    Sev4,
}

/// Where an incident is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Opened, nobody has taken it.
    Triggered,
    /// Someone has taken it.
    Acknowledged,
    /// Being worked on.
    Investigating,
    /// Fixed; awaiting review.
    Resolved,
    /// Post-incident review under way.
    Reviewing,
    /// Done.
    Closed,
}

impl IncidentStatus {
    /// Whether the incident is still open (a trigger with its key adds to it).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Triggered | Self::Acknowledged | Self::Investigating
        )
    }
}

/// What opens (or adds to) an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// Groups events into one incident (at most [`MAX_DEDUP_KEY_LEN`] bytes).
    pub dedup_key: String,
    /// One line (at most [`MAX_SUMMARY_LEN`] bytes).
    pub summary: String,
    /// What produced it (host, service).
    pub source: String,
    /// How bad.
    pub severity: IncidentSeverity,
    /// The affected component, if known.
    pub component: Option<String>,
    /// Free-form details.
    pub details: serde_json::Value,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// One entry on an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who (a user, `system`, a channel).
    pub actor: String,
    /// What kind (`triggered`, `acknowledged`, `note`, `resolved`, ...).
    pub kind: String,
    /// Text.
    pub text: String,
}

/// An incident as a tracker knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The tracker's id.
    pub id: String,
    /// The dedup key it was opened with.
    pub dedup_key: String,
    /// The summary of the first trigger.
    pub summary: String,
    /// The highest severity seen.
    pub severity: IncidentSeverity,
    /// Lifecycle state.
    pub status: IncidentStatus,
    /// When it was opened.
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// When first acknowledged.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub acknowledged_at: Option<OffsetDateTime>,
    /// When resolved.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub resolved_at: Option<OffsetDateTime>,
    /// How many triggers were folded into it.
    pub trigger_count: u64,
    /// Everything that happened, oldest first.
    pub timeline: Vec<TimelineEntry>,
}

/// A system that tracks incidents.
///
/// Actions address the open incident with a dedup key. Trackers that cannot be queried
/// (PagerDuty's Events API is write-only) answer `NotSupported` from `get` and `list_open`.
#[async_trait]
pub trait IncidentTracker: Debug + Display + Send + Sync + 'static {
    /// Opens an incident, or adds to the open one with the same dedup key.
    async fn trigger(&self, trigger: &Trigger) -> Result<Incident>;

    /// Marks the open incident with `dedup_key` acknowledged by `actor`; `NotFound` if none.
    async fn acknowledge(
        &self,
        dedup_key: &str,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident>;

    /// Resolves the open incident with `dedup_key`; `NotFound` if none is open.
    async fn resolve(&self, dedup_key: &str, actor: &str, at: OffsetDateTime) -> Result<Incident>;

    /// Adds a note to the newest incident with `dedup_key`.
    async fn note(
        &self,
        dedup_key: &str,
        actor: &str,
        text: &str,
        at: OffsetDateTime,
    ) -> Result<Incident>;

    /// Moves the incident with tracker id `id` to `status` along the lifecycle
    /// (triggered -> acknowledged -> investigating -> resolved -> reviewing -> closed; an
    /// acknowledgement that timed out goes back to triggered); `Conflict` naming both
    /// states for an illegal move, `NotFound` for an unknown id, `NotSupported` for a
    /// tracker without this lifecycle (PagerDuty). Appends a timeline entry.
    async fn set_status(
        &self,
        id: &str,
        status: IncidentStatus,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident>;

    /// The incident with tracker id `id`.
    async fn get(&self, id: &str) -> Result<Incident>;

    /// Open incidents, oldest first.
    async fn list_open(&self) -> Result<Vec<Incident>>;

    /// Incidents opened at or after `since`, newest first, at most `limit`.
    async fn list_recent(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<Incident>>;

    /// Proves the tracker is reachable.
    async fn healthcheck(&self) -> Result<()>;
}

/// Whether an incident may move from `from` to `to` (the lifecycle every tracker with
/// [`IncidentTracker::set_status`] enforces): triggered -> acknowledged -> investigating ->
/// resolved -> reviewing -> closed; triggered may go straight to investigating; an open
/// incident may be resolved from any open state; an acknowledgement or investigation that
/// timed out goes back to triggered; a resolved incident that needs no review may close.
pub fn can_transition(from: IncidentStatus, to: IncidentStatus) -> bool {
    use IncidentStatus::{Acknowledged, Closed, Investigating, Resolved, Reviewing, Triggered};
    matches!(
        (from, to),
        (Triggered, Acknowledged)
            | (Triggered, Investigating)
            | (Acknowledged, Investigating)
            | (Acknowledged | Investigating, Triggered)
            | (Triggered | Acknowledged | Investigating, Resolved)
            | (Resolved, Reviewing)
            | (Resolved | Reviewing, Closed)
    )
}

/// Checks a trigger against the limits every tracker shares.
pub fn validate_trigger(t: &Trigger) -> Result<()> {
    use crate::error::Error;
    if t.dedup_key.is_empty() || t.dedup_key.len() > MAX_DEDUP_KEY_LEN {
        return Err(Error::invalid_input("dedup_key", "must be 1 to 255 bytes"));
    }
    if t.summary.is_empty() || t.summary.len() > MAX_SUMMARY_LEN {
        return Err(Error::invalid_input("summary", "must be 1 to 1024 bytes"));
    }
    if t.source.is_empty() {
        return Err(Error::invalid_input("source", "must not be empty"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    #[test]
    fn the_lifecycle_moves_forward_and_timeouts_go_back_to_triggered() {
        let all = [
            Triggered,
            Acknowledged,
            Investigating,
            Resolved,
            Reviewing,
            Closed,
        ];
        let legal = [
            (Triggered, Acknowledged),
            (Triggered, Investigating),
            (Acknowledged, Investigating),
            (Acknowledged, Triggered),
            (Investigating, Triggered),
            (Triggered, Resolved),
            (Acknowledged, Resolved),
            (Investigating, Resolved),
            (Resolved, Reviewing),
            (Resolved, Closed),
            (Reviewing, Closed),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    can_transition(from, to),
                    legal.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }
}
