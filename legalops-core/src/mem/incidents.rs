//! [`MemoryTracker`]: an incident tracker in process memory with PagerDuty's dedup
//! semantics, for tests and for a single process that needs no durability.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{NAME, lock};
use crate::error::{Error, Result};
use crate::incidents::{
    Incident, IncidentStatus, IncidentTracker, TimelineEntry, Trigger, validate_trigger,
};

/// Prefix of the ids this tracker hands out (`INC-1`, `INC-2`, ...).
const ID_PREFIX: &str = "INC-";

#[derive(Debug, Default)]
struct Inner {
    // Index i holds the incident with id INC-(i+1); incidents are never removed.
    incidents: Vec<Incident>,
    // Dedup key -> index of the newest incident with it (open or not), for notes.
    newest: HashMap<String, usize>,
}

impl Inner {
    fn open_index(&self, dedup_key: &str) -> Option<usize> {
        self.newest
            .get(dedup_key)
            .copied()
            .filter(|&i| self.incidents[i].status.is_open())
    }
}

/// An [`IncidentTracker`] in memory: a trigger with the dedup key of an open incident adds
/// to it; once resolved, the same key opens a new incident with a new id.
#[derive(Debug, Default)]
pub struct MemoryTracker {
    inner: Mutex<Inner>,
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

#[async_trait]
impl IncidentTracker for MemoryTracker {
    async fn trigger(&self, t: &Trigger) -> Result<Incident> {
        validate_trigger(t)?;
        let mut inner = lock(&self.inner);
        if let Some(i) = inner.open_index(&t.dedup_key) {
            let inc = &mut inner.incidents[i];
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
        let index = inner.incidents.len();
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
        inner.incidents.push(incident.clone());
        inner.newest.insert(t.dedup_key.clone(), index);
        Ok(incident)
    }

    async fn acknowledge(
        &self,
        dedup_key: &str,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        let mut inner = lock(&self.inner);
        let i = inner
            .open_index(dedup_key)
            .ok_or_else(|| no_open(dedup_key))?;
        let inc = &mut inner.incidents[i];
        // Acknowledging again changes nothing: the first acknowledgement is the one that
        // stops the response-time clock.
        if inc.acknowledged_at.is_none() {
            inc.acknowledged_at = Some(at);
            if inc.status == IncidentStatus::Triggered {
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

    async fn resolve(&self, dedup_key: &str, actor: &str, at: OffsetDateTime) -> Result<Incident> {
        let mut inner = lock(&self.inner);
        let i = inner
            .open_index(dedup_key)
            .ok_or_else(|| no_open(dedup_key))?;
        let inc = &mut inner.incidents[i];
        inc.status = IncidentStatus::Resolved;
        inc.resolved_at = Some(at);
        inc.timeline
            .push(entry(at, actor, "resolved", format!("resolved by {actor}")));
        Ok(inc.clone())
    }

    async fn note(
        &self,
        dedup_key: &str,
        actor: &str,
        text: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        let mut inner = lock(&self.inner);
        let i =
            inner.newest.get(dedup_key).copied().ok_or_else(|| {
                Error::not_found(format!("incident with dedup key {dedup_key:?}"))
            })?;
        let inc = &mut inner.incidents[i];
        inc.timeline.push(entry(at, actor, "note", text));
        Ok(inc.clone())
    }

    async fn get(&self, id: &str) -> Result<Incident> {
        let inner = lock(&self.inner);
        id.strip_prefix(ID_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| inner.incidents.get(i))
            .cloned()
            .ok_or_else(|| Error::not_found(format!("incident {id:?}")))
    }

    async fn list_open(&self) -> Result<Vec<Incident>> {
        let inner = lock(&self.inner);
        let mut open: Vec<Incident> = inner
            .incidents
            .iter()
            .filter(|i| i.status.is_open())
            .cloned()
            .collect();
        // Creation order is usually opening order, but trigger times come from callers.
        open.sort_by_key(|i| i.opened_at);
        Ok(open)
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
