//! [`MemoryTracker`]: an incident tracker in process memory with PagerDuty's dedup
//! semantics and the lifecycle of [`can_transition`], for tests and for a single process
//! that needs no durability. The logic is [`TrackerState`], which [`super::MemoryRecords`]
//! also holds (as its built-in tracker), so there is one implementation of it.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::identity::saturating_usize;
use super::{NAME, lock};
use crate::error::{Error, Result};
use crate::incidents::{
    Incident, IncidentStatus, IncidentTracker, TimelineEntry, Trigger, can_transition,
    validate_trigger,
};

/// Prefix of the ids this tracker hands out (`INC-1`, `INC-2`, ...).
const ID_PREFIX: &str = "INC-";

/// Every incident and the dedup index, without a lock: the caller holds one.
#[derive(Debug, Default)]
pub(super) struct TrackerState {
    // Index i holds the incident with id INC-(i+1); incidents are never removed.
    incidents: Vec<Incident>,
    // Dedup key -> index of the newest incident with it (open or not), for notes.
    newest: HashMap<String, usize>,
}

/// An [`IncidentTracker`] in memory: a trigger with the dedup key of an open incident adds
/// to it; once resolved, the same key opens a new incident with a new id.
#[derive(Debug, Default)]
pub struct MemoryTracker {
    inner: Mutex<TrackerState>,
}

impl MemoryTracker {
    /// A tracker with no incidents.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Display for MemoryTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAME)
    }
}

fn entry(at: OffsetDateTime, actor: &str, kind: &str, text: impl Into<String>) -> TimelineEntry {
    TimelineEntry {
        at,
        actor: actor.to_owned(),
        kind: kind.to_owned(),
        text: text.into(),
    }
}

fn no_open(dedup_key: &str) -> Error {
    Error::not_found(format!("open incident with dedup key {dedup_key:?}"))
}

/// The status as the API and the timeline spell it (`snake_case`, as serialised).
pub(super) fn status_name(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Triggered => "triggered",
        IncidentStatus::Acknowledged => "acknowledged",
        IncidentStatus::Investigating => "investigating",
        IncidentStatus::Resolved => "resolved",
        IncidentStatus::Reviewing => "reviewing",
        IncidentStatus::Closed => "closed",
    }
}

impl TrackerState {
    fn open_index(&self, dedup_key: &str) -> Option<usize> {
        self.newest
            .get(dedup_key)
            .copied()
            .filter(|&i| self.incidents[i].status.is_open())
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        id.strip_prefix(ID_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .filter(|&i| i < self.incidents.len())
    }

    pub(super) fn trigger(&mut self, t: &Trigger) -> Result<Incident> {
        validate_trigger(t)?;
        if let Some(i) = self.open_index(&t.dedup_key) {
            let inc = &mut self.incidents[i];
            inc.trigger_count += 1;
            // Sev1 sorts first, so the more severe of two is the smaller.
            let escalated = t.severity < inc.severity;
            inc.severity = inc.severity.min(t.severity);
            let text = if escalated {
                format!("{} (escalated to {:?})", t.summary, t.severity)
            } else {
                t.summary.clone()
            };
            inc.timeline
                .push(entry(t.at, &t.source, "retriggered", text));
            return Ok(inc.clone());
        }
        let index = self.incidents.len();
        let incident = Incident {
            id: format!("{ID_PREFIX}{}", index + 1),
            dedup_key: t.dedup_key.clone(),
            summary: t.summary.clone(),
            severity: t.severity,
            status: IncidentStatus::Triggered,
            opened_at: t.at,
            acknowledged_at: None,
            resolved_at: None,
            trigger_count: 1,
            timeline: vec![entry(t.at, &t.source, "triggered", t.summary.clone())],
        };
        self.incidents.push(incident.clone());
        self.newest.insert(t.dedup_key.clone(), index);
        Ok(incident)
    }

    pub(super) fn acknowledge(
        &mut self,
        dedup_key: &str,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        let i = self
            .open_index(dedup_key)
            .ok_or_else(|| no_open(dedup_key))?;
        let inc = &mut self.incidents[i];
        // Acknowledging again changes nothing: the first acknowledgement is the one that
        // stops the response-time clock. An acknowledgement that timed out (back to
        // triggered) can be given again, and moves the incident again.
        let triggered = inc.status == IncidentStatus::Triggered;
        if triggered || inc.acknowledged_at.is_none() {
            inc.acknowledged_at.get_or_insert(at);
            if triggered {
                inc.status = IncidentStatus::Acknowledged;
            }
            inc.timeline.push(entry(
                at,
                actor,
                "acknowledged",
                format!("acknowledged by {actor}"),
            ));
        }
        Ok(inc.clone())
    }

    pub(super) fn resolve(
        &mut self,
        dedup_key: &str,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        let i = self
            .open_index(dedup_key)
            .ok_or_else(|| no_open(dedup_key))?;
        let inc = &mut self.incidents[i];
        inc.status = IncidentStatus::Resolved;
        inc.resolved_at = Some(at);
        inc.timeline
            .push(entry(at, actor, "resolved", format!("resolved by {actor}")));
        Ok(inc.clone())
    }

    pub(super) fn note(
        &mut self,
        dedup_key: &str,
        actor: &str,
        text: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        let i =
            self.newest.get(dedup_key).copied().ok_or_else(|| {
                Error::not_found(format!("incident with dedup key {dedup_key:?}"))
            })?;
        let inc = &mut self.incidents[i];
        inc.timeline.push(entry(at, actor, "note", text));
        Ok(inc.clone())
    }

    pub(super) fn set_status(
        &mut self,
        id: &str,
        status: IncidentStatus,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        let i = self
            .index_of(id)
            .ok_or_else(|| Error::not_found(format!("incident {id:?}")))?;
        let inc = &mut self.incidents[i];
        let (from, to) = (status_name(inc.status), status_name(status));
        if !can_transition(inc.status, status) {
            return Err(Error::conflict(format!(
                "incident {id} cannot move from {from} to {to}"
            )));
        }
        inc.status = status;
        match status {
            IncidentStatus::Acknowledged => {
                inc.acknowledged_at.get_or_insert(at);
            }
            IncidentStatus::Resolved => inc.resolved_at = Some(at),
            _ => {}
        }
        inc.timeline
            .push(entry(at, actor, "status", format!("{from} -> {to}")));
        Ok(inc.clone())
    }

    pub(super) fn get(&self, id: &str) -> Result<Incident> {
        self.index_of(id)
            .map(|i| self.incidents[i].clone())
            .ok_or_else(|| Error::not_found(format!("incident {id:?}")))
    }

    pub(super) fn list_open(&self) -> Vec<Incident> {
        let mut open: Vec<Incident> = self
            .incidents
            .iter()
            .filter(|i| i.status.is_open())
            .cloned()
            .collect();
        // Creation order is usually opening order, but trigger times come from callers.
        open.sort_by_key(|i| i.opened_at);
        open
    }

    pub(super) fn list_recent(&self, since: OffsetDateTime, limit: u64) -> Vec<Incident> {
        // Reverse first, then a stable sort: equal times stay newest-created first.
        let mut recent: Vec<&Incident> = self
            .incidents
            .iter()
            .rev()
            .filter(|i| i.opened_at >= since)
            .collect();
        recent.sort_by_key(|i| Reverse(i.opened_at));
        recent
            .into_iter()
            .take(saturating_usize(limit))
            .cloned()
            .collect()
    }
}

#[async_trait]
impl IncidentTracker for MemoryTracker {
    async fn trigger(&self, t: &Trigger) -> Result<Incident> {
        lock(&self.inner).trigger(t)
    }

    async fn acknowledge(
        &self,
        dedup_key: &str,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        lock(&self.inner).acknowledge(dedup_key, actor, at)
    }

    async fn resolve(&self, dedup_key: &str, actor: &str, at: OffsetDateTime) -> Result<Incident> {
        lock(&self.inner).resolve(dedup_key, actor, at)
    }

    async fn note(
        &self,
        dedup_key: &str,
        actor: &str,
        text: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        lock(&self.inner).note(dedup_key, actor, text, at)
    }

    async fn set_status(
        &self,
        id: &str,
        status: IncidentStatus,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        lock(&self.inner).set_status(id, status, actor, at)
    }

    async fn get(&self, id: &str) -> Result<Incident> {
        lock(&self.inner).get(id)
    }

    async fn list_open(&self) -> Result<Vec<Incident>> {
        Ok(lock(&self.inner).list_open())
    }

    async fn list_recent(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<Incident>> {
        Ok(lock(&self.inner).list_recent(since, limit))
    }

    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::IncidentSeverity;
    use crate::mem::block_on;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn trigger(key: &str, severity: IncidentSeverity, minute: i64) -> Trigger {
        Trigger {
            dedup_key: key.to_owned(),
            summary: format!("{key} is down"),
            source: "test".to_owned(),
            severity,
            component: None,
            details: serde_json::Value::Null,
            at: datetime!(2026-01-01 00:00 UTC) + time::Duration::minutes(minute),
        }
    }

    #[test]
    fn ids_that_are_not_ours_are_not_found() {
        let t = MemoryTracker::new();
        assert!(block_on(t.trigger(&trigger("a", IncidentSeverity::Sev2, 0))).is_ok());
        assert!(block_on(t.get("INC-1")).is_ok());
        for id in [
            "INC-0",
            "INC-2",
            "INC-",
            "1",
            "",
            "INC-99999999999999999999999",
        ] {
            assert!(
                matches!(block_on(t.get(id)), Err(Error::NotFound { .. })),
                "{id:?}"
            );
        }
    }

    #[test]
    fn repeated_acknowledgement_keeps_the_timeline_and_first_time() {
        let t = MemoryTracker::new();
        assert!(block_on(t.trigger(&trigger("a", IncidentSeverity::Sev2, 0))).is_ok());
        let first = block_on(t.acknowledge("a", "ann", datetime!(2026-01-01 00:05 UTC)));
        let again = block_on(t.acknowledge("a", "bob", datetime!(2026-01-01 00:09 UTC)));
        assert_eq!(first.ok(), again.ok());
    }

    #[test]
    fn list_open_is_ordered_by_opening_time_not_creation() {
        let t = MemoryTracker::new();
        assert!(block_on(t.trigger(&trigger("late", IncidentSeverity::Sev3, 10))).is_ok());
        assert!(block_on(t.trigger(&trigger("early", IncidentSeverity::Sev3, 1))).is_ok());
        let keys: Vec<String> = block_on(t.list_open())
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.dedup_key)
            .collect();
        assert_eq!(keys, ["early", "late"]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Trigger(usize, IncidentSeverity),
        Ack(usize),
        Resolve(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let sev = prop_oneof![
            Just(IncidentSeverity::Sev1),
            Just(IncidentSeverity::Sev2),
            Just(IncidentSeverity::Sev3),
            Just(IncidentSeverity::Sev4),
        ];
        prop_oneof![
            (0..2usize, sev).prop_map(|(k, s)| Op::Trigger(k, s)),
            (0..2usize).prop_map(Op::Ack),
            (0..2usize).prop_map(Op::Resolve),
        ]
    }

    proptest! {
        // Whatever happens, each key has at most one open incident, every trigger is counted
        // in exactly one incident, and each incident's severity is the most severe it saw.
        #[test]
        fn dedup_invariants_hold_for_any_sequence(ops in proptest::collection::vec(op(), 0..40)) {
            let t = MemoryTracker::new();
            let keys = ["a", "b"];
            let mut triggers = 0u64;
            for (n, op) in ops.iter().enumerate() {
                let at = datetime!(2026-01-01 00:00 UTC) + time::Duration::minutes(n as i64);
                match op {
                    Op::Trigger(k, s) => {
                        triggers += 1;
                        let inc = block_on(t.trigger(&trigger(keys[*k], *s, n as i64)));
                        prop_assert!(matches!(inc, Ok(ref i) if i.severity <= *s));
                    }
                    Op::Ack(k) => { let _ = block_on(t.acknowledge(keys[*k], "x", at)); }
                    Op::Resolve(k) => { let _ = block_on(t.resolve(keys[*k], "x", at)); }
                }
            }
            let open = block_on(t.list_open()).unwrap_or_default();
            for k in keys {
                prop_assert!(open.iter().filter(|i| i.dedup_key == k).count() <= 1);
            }
            let all = lock(&t.inner).incidents.clone();
            prop_assert_eq!(all.iter().map(|i| i.trigger_count).sum::<u64>(), triggers);
            for i in &all {
                let transitions = u64::from(i.acknowledged_at.is_some()) + u64::from(i.resolved_at.is_some());
                prop_assert_eq!(i.timeline.len() as u64, i.trigger_count + transitions);
            }
        }
    }
}
