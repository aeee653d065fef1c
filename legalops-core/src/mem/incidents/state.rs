//! [`TrackerState`]: the incident tracker's logic (PagerDuty-style dedup, the lifecycle of
//! [`can_transition`], the timeline) without a lock, so that [`super::MemoryTracker`] and
//! [`crate::mem::MemoryRecords`] each hold it behind their own and share one implementation.

use std::cmp::Reverse;
use std::collections::HashMap;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::incidents::{
    Incident, IncidentStatus, TimelineEntry, Trigger, can_transition, validate_trigger,
};
use crate::mem::identity::saturating_usize;

/// Prefix of the ids this tracker hands out (`INC-1`, `INC-2`, ...).
const ID_PREFIX: &str = "INC-";

/// Every incident and the dedup index, without a lock: the caller holds one.
#[derive(Debug, Default)]
pub(in crate::mem) struct TrackerState {
    // Index i holds the incident with id INC-(i+1); incidents are never removed.
    pub(super) incidents: Vec<Incident>,
    // Dedup key -> index of the newest incident with it (open or not), for notes.
    newest: HashMap<String, usize>,
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

    pub(in crate::mem) fn trigger(&mut self, t: &Trigger) -> Result<Incident> {
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

    pub(in crate::mem) fn acknowledge(
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

    pub(in crate::mem) fn resolve(
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

    pub(in crate::mem) fn note(
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

    pub(in crate::mem) fn set_status(
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

    pub(in crate::mem) fn get(&self, id: &str) -> Result<Incident> {
        self.index_of(id)
            .map(|i| self.incidents[i].clone())
            .ok_or_else(|| Error::not_found(format!("incident {id:?}")))
    }

    pub(in crate::mem) fn list_open(&self) -> Vec<Incident> {
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

    pub(in crate::mem) fn list_recent(&self, since: OffsetDateTime, limit: u64) -> Vec<Incident> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::IncidentSeverity;
    use IncidentStatus::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const ALL: [IncidentStatus; 6] = [
        Triggered,
        Acknowledged,
        Investigating,
        Resolved,
        Reviewing,
        Closed,
    ];

    fn minute(n: i64) -> OffsetDateTime {
        datetime!(2026-01-01 00:00 UTC) + time::Duration::minutes(n)
    }

    fn trigger(key: &str, at: OffsetDateTime) -> Trigger {
        Trigger {
            dedup_key: key.to_owned(),
            summary: format!("{key} is down"),
            source: "test".to_owned(),
            severity: IncidentSeverity::Sev2,
            component: None,
            details: serde_json::Value::Null,
            at,
        }
    }

    #[test]
    fn an_illegal_move_is_a_conflict_naming_both_states_and_changes_nothing() {
        let mut s = TrackerState::default();
        let inc = s
            .trigger(&trigger("a", minute(0)))
            .expect("a valid trigger");
        let err = s.set_status(&inc.id, Closed, "ann", minute(1));
        assert!(
            matches!(&err, Err(Error::Conflict { message })
                if message.contains("triggered") && message.contains("closed")),
            "{err:?}"
        );
        assert_eq!(s.get(&inc.id).ok(), Some(inc));
        assert!(matches!(
            s.set_status("INC-99", Acknowledged, "ann", minute(1)),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn a_legal_move_is_on_the_timeline_as_from_arrow_to() {
        let mut s = TrackerState::default();
        let inc = s
            .trigger(&trigger("a", minute(0)))
            .expect("a valid trigger");
        assert!(
            s.set_status(&inc.id, Acknowledged, "ann", minute(1))
                .is_ok()
        );
        let moved = s
            .set_status(&inc.id, Investigating, "bob", minute(2))
            .expect("acknowledged -> investigating is legal");
        assert_eq!(
            moved.timeline.last(),
            Some(&entry(
                minute(2),
                "bob",
                "status",
                "acknowledged -> investigating"
            ))
        );
        assert_eq!(moved.acknowledged_at, Some(minute(1)));
    }

    #[test]
    fn list_recent_breaks_ties_newest_created_first_and_honours_the_limit() {
        let mut s = TrackerState::default();
        for key in ["a", "b", "c"] {
            assert!(s.trigger(&trigger(key, minute(5))).is_ok());
        }
        assert!(s.trigger(&trigger("old", minute(4))).is_ok());
        let ids = |v: Vec<Incident>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.list_recent(minute(5), 10)),
            ["INC-3", "INC-2", "INC-1"]
        );
        assert_eq!(ids(s.list_recent(minute(5), 2)), ["INC-3", "INC-2"]);
        assert!(s.list_recent(minute(6), 10).is_empty());
        assert!(s.list_recent(minute(0), 0).is_empty());
    }

    proptest! {
        // Whatever moves are asked, an incident only ever moves as can_transition allows,
        // each accepted move adds exactly one entry, the first acknowledgement's time
        // sticks, resolved_at is the last resolution, and the dedup key is free exactly
        // when the incident is no longer open.
        #[test]
        fn any_sequence_of_moves_follows_the_lifecycle(moves in proptest::collection::vec(0..6usize, 0..30)) {
            let mut s = TrackerState::default();
            let inc = s.trigger(&trigger("k", minute(0))).expect("a valid trigger");
            let (mut status, mut entries) = (Triggered, 1);
            let (mut acked, mut resolved) = (None, None);
            for (n, m) in moves.iter().enumerate() {
                let (to, at) = (ALL[*m], minute(n as i64 + 1));
                let got = s.set_status(&inc.id, to, "x", at);
                if can_transition(status, to) {
                    prop_assert!(matches!(got, Ok(ref i) if i.status == to), "{got:?}");
                    status = to;
                    entries += 1;
                    if to == Acknowledged {
                        acked = acked.or(Some(at));
                    }
                    if to == Resolved {
                        resolved = Some(at);
                    }
                } else {
                    prop_assert!(matches!(got, Err(Error::Conflict { .. })), "{got:?}");
                }
            }
            let now = s.get(&inc.id).expect("the incident exists");
            prop_assert_eq!(now.status, status);
            prop_assert_eq!(now.timeline.len(), entries);
            prop_assert_eq!(now.acknowledged_at, acked);
            prop_assert_eq!(now.resolved_at, resolved);
            let again = s.trigger(&trigger("k", minute(99))).expect("a valid trigger");
            prop_assert_eq!(again.id == inc.id, status.is_open());
        }
    }
}
