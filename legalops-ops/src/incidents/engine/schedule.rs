//! Escalation as a pure function of the incident's timeline: which steps are due now and
//! which were already notified, so that the engine keeps no state of its own and any
//! replica (or a restarted one) reaches the same answer from the tracker's record.
//!
//! What the engine writes, and reads back (kind `note`, actor [`SYSTEM_ACTOR`]):
//! - `escalated step <i> to <targets> (repeat <r>): <outcome>` after notifying step `i`
//!   of repeat `r` (0-based, as in the configuration);
//! - `classified <Sev>: <reason>; <reason>` when an alert group opens the incident, so
//!   that the postmortem can be drafted from the record alone ([`recorded_reasons`]);
//! - `re-triggered: <why>` when an acknowledgement timed out. It starts a new escalation
//!   epoch, as does any status entry ending in `-> triggered`: only escalation notes after
//!   the epoch's start count, and the policy starts over from step 0 at once.

use std::collections::BTreeSet;
use std::time::Duration;

use legalops_core::incidents::{Incident, IncidentSeverity, TimelineEntry};
use time::OffsetDateTime;

use super::config::EscalationPolicy;

/// The actor of everything the engine itself writes; reserved (people cannot use it).
pub const SYSTEM_ACTOR: &str = "system";
/// Start of the note that marks a return to triggered.
pub const RETRIGGER_PREFIX: &str = "re-triggered:";
/// Start of the note that records a notified escalation step.
pub const ESCALATED_PREFIX: &str = "escalated step ";

/// Start of the note that records why an incident got its severity.
pub const CLASSIFIED_PREFIX: &str = "classified ";

/// The note text recording a classification.
pub fn classification_note(sev: IncidentSeverity, reasons: &[String]) -> String {
    format!("{CLASSIFIED_PREFIX}{sev:?}: {}", reasons.join("; "))
}

/// The classification reasons the engine noted on `incident` (empty for an incident the
/// engine did not open from alerts), to pass to
/// [`postmortem_draft`](super::postmortem_draft).
pub fn recorded_reasons(incident: &Incident) -> Vec<String> {
    incident
        .timeline
        .iter()
        .filter(|e| e.kind == "note" && e.actor == SYSTEM_ACTOR)
        .filter_map(|e| e.text.strip_prefix(CLASSIFIED_PREFIX)?.split_once(": "))
        .flat_map(|(_, reasons)| reasons.split("; ").map(str::to_owned))
        .collect()
}

/// One step of one run of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StepRef {
    /// Which run (0 = the first, then the repeats).
    pub repeat: u32,
    /// Index into the policy's steps.
    pub step: usize,
}

/// The note text recording that `at` was notified to `targets` with `outcome`.
pub fn escalation_note(at: StepRef, targets: &[String], outcome: &str) -> String {
    format!(
        "{ESCALATED_PREFIX}{} to {} (repeat {}): {outcome}",
        at.step,
        targets.join(", "),
        at.repeat
    )
}

/// Parses an [`escalation_note`] back; `None` for any other text.
pub fn parse_escalation(entry: &TimelineEntry) -> Option<(StepRef, Vec<String>)> {
    if entry.kind != "note" || entry.actor != SYSTEM_ACTOR {
        return None;
    }
    let rest = entry.text.strip_prefix(ESCALATED_PREFIX)?;
    let (step, rest) = rest.split_once(" to ")?;
    let (targets, rest) = rest.split_once(" (repeat ")?;
    let (repeat, _) = rest.split_once("):")?;
    let at = StepRef {
        repeat: repeat.parse().ok()?,
        step: step.parse().ok()?,
    };
    Some((at, targets.split(", ").map(str::to_owned).collect()))
}

fn is_retrigger(e: &TimelineEntry) -> bool {
    (e.kind == "status" && e.text.ends_with("-> triggered"))
        || (e.kind == "note" && e.actor == SYSTEM_ACTOR && e.text.starts_with(RETRIGGER_PREFIX))
}

/// Where the current escalation epoch starts: the position after which escalation notes
/// count, its instant, and whether the policy's first delay still has to pass (only for
/// the epoch the incident opened with).
fn epoch(incident: &Incident) -> (usize, OffsetDateTime, bool) {
    match incident.timeline.iter().rposition(is_retrigger) {
        Some(i) => (i + 1, incident.timeline[i].at, false),
        None => (0, incident.opened_at, true),
    }
}

/// When each step of each run falls, from an epoch starting at `start`.
pub fn schedule(
    policy: &EscalationPolicy,
    start: OffsetDateTime,
    wait_first: bool,
) -> Vec<(StepRef, Option<OffsetDateTime>)> {
    let add = |t: Option<OffsetDateTime>, d: Duration| {
        t.and_then(|t| {
            time::Duration::try_from(d)
                .ok()
                .and_then(|d| t.checked_add(d))
        })
    };
    let gap = policy.steps.last().map_or(Duration::ZERO, |s| s.delay);
    let mut out = Vec::new();
    let mut last: Option<OffsetDateTime> = Some(start);
    for repeat in 0..=policy.repeat {
        let mut at = if repeat == 0 {
            let first = policy.steps.first().map_or(Duration::ZERO, |s| s.delay);
            add(last, if wait_first { first } else { Duration::ZERO })
        } else {
            add(last, gap)
        };
        for (step, s) in policy.steps.iter().enumerate() {
            if step > 0 {
                at = add(at, s.delay);
            }
            out.push((StepRef { repeat, step }, at));
        }
        last = at;
    }
    out
}

/// The steps notified in the current epoch.
pub fn notified(incident: &Incident) -> BTreeSet<StepRef> {
    let (from, _, _) = epoch(incident);
    incident.timeline[from..]
        .iter()
        .filter_map(parse_escalation)
        .map(|(at, _)| at)
        .collect()
}

/// The steps of `policy` due at `now` and not yet notified in the current epoch, in order.
pub fn due(incident: &Incident, policy: &EscalationPolicy, now: OffsetDateTime) -> Vec<StepRef> {
    let (_, start, wait_first) = epoch(incident);
    let done = notified(incident);
    schedule(policy, start, wait_first)
        .into_iter()
        .filter(|(at, when)| when.is_some_and(|w| w <= now) && !done.contains(at))
        .map(|(at, _)| at)
        .collect()
}

/// When the incident was last moved to acknowledged (the acknowledgement timeout counts
/// from the latest one, since a timed-out acknowledgement can be given again).
pub fn last_acknowledged(incident: &Incident) -> OffsetDateTime {
    incident
        .timeline
        .iter()
        .rev()
        .find(|e| {
            e.kind == "acknowledged" || (e.kind == "status" && e.text.ends_with("-> acknowledged"))
        })
        .map(|e| e.at)
        .or(incident.acknowledged_at)
        .unwrap_or(incident.opened_at)
}

/// Every target an escalation note names, in first-notified order (for the postmortem).
pub fn escalated_targets(incident: &Incident) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, targets) in incident.timeline.iter().filter_map(parse_escalation) {
        for t in targets {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::engine::config::EscalationStep;
    use legalops_core::incidents::IncidentStatus;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-03-01 00:00 UTC);
    const MIN: u64 = 60;

    fn policy(delays: &[u64], repeat: u32) -> EscalationPolicy {
        EscalationPolicy {
            name: "sev1".into(),
            steps: delays
                .iter()
                .enumerate()
                .map(|(i, d)| EscalationStep {
                    delay: Duration::from_secs(d * MIN),
                    targets: vec![format!("t{i}")],
                })
                .collect(),
            repeat,
        }
    }

    fn incident(entries: Vec<TimelineEntry>) -> Incident {
        Incident {
            id: "INC-1".into(),
            dedup_key: "k".into(),
            summary: "s".into(),
            severity: IncidentSeverity::Sev1,
            status: IncidentStatus::Triggered,
            opened_at: T0,
            acknowledged_at: None,
            resolved_at: None,
            trigger_count: 1,
            timeline: entries,
        }
    }

    fn at(min: i64) -> OffsetDateTime {
        T0 + time::Duration::minutes(min)
    }

    fn note(min: i64, text: String) -> TimelineEntry {
        TimelineEntry {
            at: at(min),
            actor: SYSTEM_ACTOR.into(),
            kind: "note".into(),
            text,
        }
    }

    fn minutes(s: &[(StepRef, Option<OffsetDateTime>)]) -> Vec<i64> {
        s.iter()
            .map(|(_, t)| t.map_or(-1, |t| (t - T0).whole_minutes()))
            .collect()
    }

    #[test]
    fn steps_fall_at_cumulative_delays_and_repeats_pause_as_long_as_the_last_step() {
        let p = policy(&[120, 15, 30], 1);
        assert_eq!(
            minutes(&schedule(&p, T0, true)),
            [120, 135, 165, 195, 210, 240]
        );
        // After a re-trigger the first delay has been waited out already.
        assert_eq!(minutes(&schedule(&p, T0, false)), [0, 15, 45, 75, 90, 120]);
    }

    #[test]
    fn notified_steps_are_read_back_from_the_notes_of_the_current_epoch_only() {
        let s0 = StepRef { repeat: 0, step: 0 };
        let s1 = StepRef { repeat: 0, step: 1 };
        let t = |s| vec![format!("t{s}")];
        let mut inc = incident(vec![
            note(0, escalation_note(s0, &t(0), "delivered")),
            note(15, escalation_note(s1, &t(1), "failed: timeout")),
        ]);
        assert_eq!(notified(&inc), [s0, s1].into());
        assert_eq!(due(&inc, &policy(&[0, 15, 30], 0), at(44)), []);
        assert_eq!(
            due(&inc, &policy(&[0, 15, 30], 0), at(45)),
            [StepRef { repeat: 0, step: 2 }]
        );
        assert_eq!(escalated_targets(&inc), ["t0", "t1"]);
        inc.timeline
            .push(note(50, format!("{RETRIGGER_PREFIX} ack timed out")));
        assert!(notified(&inc).is_empty());
        assert_eq!(due(&inc, &policy(&[0, 15, 30], 0), at(50)), [s0]);
    }

    #[test]
    fn classification_reasons_are_read_back_from_the_record() {
        let reasons = vec!["security breach event".to_owned(), "data loss".to_owned()];
        let inc = incident(vec![note(
            0,
            classification_note(IncidentSeverity::Sev1, &reasons),
        )]);
        assert_eq!(recorded_reasons(&inc), reasons);
        assert!(recorded_reasons(&incident(vec![])).is_empty());
    }

    #[test]
    fn notes_by_people_never_count_as_escalations() {
        let mut e = note(0, escalation_note(StepRef { repeat: 0, step: 0 }, &[], "x"));
        e.actor = "alice".into();
        assert_eq!(parse_escalation(&e), None);
    }

    proptest! {
        /// The schedule never goes back in time, and a note round-trips.
        #[test]
        fn schedule_is_monotonic_and_notes_round_trip(
            delays in proptest::collection::vec(0u64..5000, 1..5),
            repeat in 0u32..4,
            wait_first: bool,
            step in 0usize..10,
            targets in proptest::collection::vec("[a-z][a-z-]{0,12}", 1..4),
        ) {
            let s = schedule(&policy(&delays, repeat), T0, wait_first);
            prop_assert_eq!(s.len(), delays.len() * (repeat as usize + 1));
            let times: Vec<OffsetDateTime> = s.iter().filter_map(|(_, t)| *t).collect();
            prop_assert_eq!(times.len(), s.len());
            prop_assert!(times.windows(2).all(|w| w[0] <= w[1]));
            let r = StepRef { repeat, step };
            let parsed = parse_escalation(&note(0, escalation_note(r, &targets, "delivered")));
            prop_assert_eq!(parsed, Some((r, targets)));
        }
    }
}
