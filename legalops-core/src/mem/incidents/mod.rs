//! [`MemoryTracker`]: an incident tracker in process memory with PagerDuty's dedup
//! semantics and the lifecycle of [`crate::incidents::can_transition`], for tests and for a single process
//! that needs no durability. The logic is [`TrackerState`], which [`super::MemoryRecords`]
//! also holds (as its built-in tracker), so there is one implementation of it.

use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{NAME, lock};
use crate::error::Result;
use crate::incidents::{Incident, IncidentStatus, IncidentTracker, Trigger};

mod state;

pub(super) use state::TrackerState;

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
    use crate::error::Error;
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
