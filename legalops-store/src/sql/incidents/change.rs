//! What each tracker action does to an incident, as pure functions over the stored row:
//! the rules of `legalops_core::mem::MemoryTracker` (PagerDuty's dedup, the lifecycle of
//! `can_transition`), so that the built-in tracker behaves the same on every backend. The
//! caller holds the incident writers' lock, finds the row, applies one of these and stores
//! the [`Write`].

use legalops_core::incidents::{IncidentStatus, Trigger, can_transition};
use legalops_core::{Error, Result};
use time::OffsetDateTime;

use super::rows::{EntryRow, IncidentRow, severity_str, status_str};
use crate::sql::codec::micros;

/// Prefix of the built-in tracker's ids (`INC-1`, `INC-2`, ...), as in memory.
pub(crate) const ID_PREFIX: &str = "INC-";

/// An incident row to store and the timeline entries to append to it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Write {
    /// The row as it must be stored (`id` and `num` unset for a new incident).
    pub(crate) row: IncidentRow,
    /// Insert (a new incident) rather than update.
    pub(crate) is_new: bool,
    /// Entries to append after the row's `last_seq`.
    pub(crate) entries: Vec<EntryRow>,
}

impl Write {
    /// Gives a new incident its creation number and the id made of it.
    pub(crate) fn number(&mut self, num: i64) {
        self.row.num = num;
        self.row.id = format!("{ID_PREFIX}{num}");
    }

    /// The entries to append with their timeline positions.
    pub(crate) fn numbered_entries(&self) -> impl Iterator<Item = (i64, &EntryRow)> {
        (self.row.last_seq.saturating_add(1)..).zip(&self.entries)
    }

    fn update(row: IncidentRow, entries: Vec<EntryRow>) -> Self {
        Self {
            row,
            is_new: false,
            entries,
        }
    }
}

fn entry(at: OffsetDateTime, actor: &str, kind: &str, text: impl Into<String>) -> EntryRow {
    EntryRow {
        at: micros(at),
        actor: actor.to_owned(),
        kind: kind.to_owned(),
        text: text.into(),
    }
}

fn no_open(dedup_key: &str) -> Error {
    Error::not_found(format!("open incident with dedup key {dedup_key:?}"))
}

/// A (validated) trigger: adds to `open`, the open incident with its dedup key, or opens a
/// new incident.
pub(crate) fn trigger(backend: &str, open: Option<IncidentRow>, t: &Trigger) -> Result<Write> {
    if let Some(mut row) = open {
        let current = row.severity(backend)?;
        row.trigger_count = row.trigger_count.saturating_add(1);
        // Sev1 sorts first, so the more severe of two is the smaller.
        let escalated = t.severity < current;
        row.severity = severity_str(current.min(t.severity)).to_owned();
        let text = if escalated {
            format!("{} (escalated to {:?})", t.summary, t.severity)
        } else {
            t.summary.clone()
        };
        let retriggered = entry(t.at, &t.source, "retriggered", text);
        return Ok(Write::update(row, vec![retriggered]));
    }
    let row = IncidentRow {
        id: String::new(),
        num: 0,
        dedup_key: t.dedup_key.clone(),
        summary: t.summary.clone(),
        severity: severity_str(t.severity).to_owned(),
        status: status_str(IncidentStatus::Triggered).to_owned(),
        opened_at: micros(t.at),
        acknowledged_at: None,
        resolved_at: None,
        trigger_count: 1,
        source: t.source.clone(),
        component: t.component.clone(),
        details: legalops_core::audit::chain::canonical_json(&t.details),
        last_seq: 0,
    };
    Ok(Write {
        row,
        is_new: true,
        entries: vec![entry(t.at, &t.source, "triggered", t.summary.clone())],
    })
}

/// Acknowledges `open`. Acknowledging again changes nothing (the first acknowledgement
/// stops the response-time clock); one that timed out (back to triggered) can be given
/// again and moves the incident again.
pub(crate) fn acknowledge(
    backend: &str,
    open: Option<IncidentRow>,
    dedup_key: &str,
    actor: &str,
    at: OffsetDateTime,
) -> Result<Write> {
    let mut row = open.ok_or_else(|| no_open(dedup_key))?;
    let triggered = row.status(backend)? == IncidentStatus::Triggered;
    let mut entries = Vec::new();
    if triggered || row.acknowledged_at.is_none() {
        row.acknowledged_at.get_or_insert(micros(at));
        if triggered {
            row.status = status_str(IncidentStatus::Acknowledged).to_owned();
        }
        entries.push(entry(
            at,
            actor,
            "acknowledged",
            format!("acknowledged by {actor}"),
        ));
    }
    Ok(Write::update(row, entries))
}

/// Resolves `open`.
pub(crate) fn resolve(
    open: Option<IncidentRow>,
    dedup_key: &str,
    actor: &str,
    at: OffsetDateTime,
) -> Result<Write> {
    let mut row = open.ok_or_else(|| no_open(dedup_key))?;
    row.status = status_str(IncidentStatus::Resolved).to_owned();
    row.resolved_at = Some(micros(at));
    let resolved = entry(at, actor, "resolved", format!("resolved by {actor}"));
    Ok(Write::update(row, vec![resolved]))
}

/// Adds a note to `newest`, the newest incident with the dedup key, open or not.
pub(crate) fn note(
    newest: Option<IncidentRow>,
    dedup_key: &str,
    actor: &str,
    text: &str,
    at: OffsetDateTime,
) -> Result<Write> {
    let row =
        newest.ok_or_else(|| Error::not_found(format!("incident with dedup key {dedup_key:?}")))?;
    Ok(Write::update(row, vec![entry(at, actor, "note", text)]))
}

/// Moves `found` (the incident with id `id`) to `status` along the lifecycle.
pub(crate) fn set_status(
    backend: &str,
    found: Option<IncidentRow>,
    id: &str,
    status: IncidentStatus,
    actor: &str,
    at: OffsetDateTime,
) -> Result<Write> {
    let mut row = found.ok_or_else(|| Error::not_found(format!("incident {id:?}")))?;
    let current = row.status(backend)?;
    let (from, to) = (status_str(current), status_str(status));
    if !can_transition(current, status) {
        return Err(Error::conflict(format!(
            "incident {id} cannot move from {from} to {to}"
        )));
    }
    row.status = to.to_owned();
    match status {
        IncidentStatus::Acknowledged => {
            row.acknowledged_at.get_or_insert(micros(at));
        }
        IncidentStatus::Resolved => row.resolved_at = Some(micros(at)),
        _ => {}
    }
    let moved = entry(at, actor, "status", format!("{from} -> {to}"));
    Ok(Write::update(row, vec![moved]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::incidents::IncidentSeverity;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    fn trig(severity: IncidentSeverity) -> Trigger {
        Trigger {
            dedup_key: "k".into(),
            summary: "db down".into(),
            source: "alerting".into(),
            severity,
            component: Some("db".into()),
            details: serde_json::json!({"b": 1, "a": 2}),
            at: T0,
        }
    }

    fn opened(severity: IncidentSeverity) -> IncidentRow {
        let mut w = trigger("db", None, &trig(severity)).expect("opens");
        w.number(7);
        w.row.last_seq = 1;
        w.row
    }

    #[test]
    fn a_new_trigger_opens_an_incident_numbered_by_the_store() {
        let mut w = trigger("db", None, &trig(IncidentSeverity::Sev3)).expect("opens");
        assert!(w.is_new);
        w.number(42);
        assert_eq!(w.row.id, "INC-42");
        assert_eq!(w.row.details, r#"{"a":2,"b":1}"#);
        let seqs: Vec<i64> = w.numbered_entries().map(|(s, _)| s).collect();
        assert_eq!(seqs, [1]);
        assert_eq!(w.entries[0].kind, "triggered");
    }

    #[test]
    fn a_retrigger_counts_escalates_and_says_so() {
        let w = trigger(
            "db",
            Some(opened(IncidentSeverity::Sev3)),
            &trig(IncidentSeverity::Sev1),
        )
        .expect("adds");
        assert!(!w.is_new);
        assert_eq!((w.row.trigger_count, w.row.severity.as_str()), (2, "sev1"));
        assert_eq!(w.entries[0].text, "db down (escalated to Sev1)");
        assert_eq!(w.numbered_entries().next().map(|(s, _)| s), Some(2));
        let milder = trigger(
            "db",
            Some(opened(IncidentSeverity::Sev2)),
            &trig(IncidentSeverity::Sev4),
        )
        .expect("adds");
        assert_eq!(milder.row.severity, "sev2", "never lowered");
        assert_eq!(milder.entries[0].text, "db down");
    }

    #[test]
    fn acknowledging_twice_adds_nothing_but_after_a_timeout_it_moves_again() {
        let at = T0 + time::Duration::minutes(5);
        let first = acknowledge("db", Some(opened(IncidentSeverity::Sev2)), "k", "ann", at)
            .expect("acknowledges");
        assert_eq!(first.row.status, "acknowledged");
        assert_eq!(first.row.acknowledged_at, Some(micros(at)));
        let again = acknowledge(
            "db",
            Some(first.row.clone()),
            "k",
            "bob",
            at + time::Duration::minutes(1),
        )
        .expect("acknowledges");
        assert!(again.entries.is_empty());
        assert_eq!(again.row, first.row);
        let mut timed_out = first.row.clone();
        timed_out.status = "triggered".into();
        let re = acknowledge(
            "db",
            Some(timed_out),
            "k",
            "bob",
            at + time::Duration::hours(1),
        )
        .expect("acknowledges");
        assert_eq!(re.row.status, "acknowledged");
        assert_eq!(
            re.row.acknowledged_at,
            Some(micros(at)),
            "the first time stays"
        );
        assert_eq!(re.entries.len(), 1);
    }

    #[test]
    fn actions_without_an_incident_are_not_found() {
        assert!(matches!(
            acknowledge("db", None, "k", "a", T0),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            resolve(None, "k", "a", T0),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            note(None, "k", "a", "t", T0),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            set_status("db", None, "INC-9", IncidentStatus::Closed, "a", T0),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn an_illegal_move_is_a_conflict_naming_both_states() {
        let err = set_status(
            "db",
            Some(opened(IncidentSeverity::Sev2)),
            "INC-7",
            IncidentStatus::Closed,
            "ann",
            T0,
        )
        .err();
        match err {
            Some(Error::Conflict { message, .. }) => {
                assert!(
                    message.contains("triggered") && message.contains("closed"),
                    "{message}"
                );
            }
            other => panic!("expected Conflict, got {other:?}"),
        }
    }

    #[test]
    fn moving_to_resolved_stamps_the_time_and_the_timeline() {
        let at = T0 + time::Duration::minutes(30);
        let w = set_status(
            "db",
            Some(opened(IncidentSeverity::Sev2)),
            "INC-7",
            IncidentStatus::Resolved,
            "ann",
            at,
        )
        .expect("moves");
        assert_eq!(w.row.resolved_at, Some(micros(at)));
        assert_eq!(
            (w.entries[0].kind.as_str(), w.entries[0].text.as_str()),
            ("status", "triggered -> resolved")
        );
    }
}
