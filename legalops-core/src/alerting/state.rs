//! The per-rule alert state machine, as a pure function of the previous (persisted) record
//! and one evaluation, so that a restart resuming from the stored record behaves exactly
//! as if the process had never stopped.
//!
//! ```text
//! inactive --true, for > 0--> pending --true for `for`--> firing
//! inactive --true, for = 0------------------------------> firing
//! pending  --false--> inactive                  (one false evaluation resets pending)
//! firing   --false, keep_firing_for elapsed since the condition last held,
//!            and the recovery condition holds (when there is one)--> resolved
//! resolved --false--> inactive;  resolved --true--> pending / firing (a new episode)
//! ```
//!
//! Time is only the evaluation instants given (`StepInput::at`), never a clock.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::{AlertState, RuleStateRecord};
use crate::metrics::Labels;

/// What the machine needs of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleTiming {
    /// How long the condition must hold before firing.
    pub for_: Duration,
    /// How long to keep firing after the condition last held.
    pub keep_firing_for: Duration,
    /// Whether the rule has a recovery condition (then it resolves only when that holds).
    pub has_recover: bool,
}

/// One evaluation of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInput {
    /// The evaluation instant.
    pub at: OffsetDateTime,
    /// Whether the condition holds (no data: false).
    pub condition: bool,
    /// Whether the recovery condition holds; `None` without one (no data: `Some(false)`).
    pub recovered: Option<bool>,
    /// The rule's value (`None`: no data).
    pub value: Option<f64>,
    /// The alert's labels.
    pub labels: Labels,
    /// The alert's annotations, rendered.
    pub annotations: BTreeMap<String, String>,
}

/// A change of state, for logging, metrics and the notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// The condition started holding (`for` > 0).
    ToPending,
    /// It fires.
    ToFiring,
    /// It stopped firing.
    ToResolved,
    /// Pending was reset, or a resolution was passed on.
    ToInactive,
}

/// `to - from`, zero when `to` is earlier (evaluation instants should not go back; if a
/// clock does, nothing fires early).
fn elapsed(from: OffsetDateTime, to: OffsetDateTime) -> Duration {
    Duration::try_from(to - from).unwrap_or(Duration::ZERO)
}

/// Advances rule `rule` from `prev` (`None`: never evaluated) by one evaluation; returns
/// the new record to persist and the transition, if the state changed.
pub fn step(
    timing: &RuleTiming,
    prev: Option<&RuleStateRecord>,
    rule: &str,
    eval: &StepInput,
) -> (RuleStateRecord, Option<Transition>) {
    let at = eval.at;
    let mut next = RuleStateRecord {
        rule: rule.to_owned(),
        state: AlertState::Inactive,
        active_since: None,
        firing_since: None,
        last_true_at: None,
        resolved_at: None,
        evaluated_at: at,
        value: eval.value,
        labels: eval.labels.clone(),
        annotations: eval.annotations.clone(),
    };
    let prev_state = prev.map_or(AlertState::Inactive, |p| p.state);
    let transition = match prev_state {
        AlertState::Inactive | AlertState::Resolved if eval.condition => {
            next.active_since = Some(at);
            next.last_true_at = Some(at);
            if timing.for_.is_zero() {
                next.state = AlertState::Firing;
                next.firing_since = Some(at);
                Some(Transition::ToFiring)
            } else {
                next.state = AlertState::Pending;
                Some(Transition::ToPending)
            }
        }
        AlertState::Inactive => None,
        AlertState::Resolved => Some(Transition::ToInactive),
        AlertState::Pending => {
            if !eval.condition {
                Some(Transition::ToInactive)
            } else {
                let since = prev.and_then(|p| p.active_since).unwrap_or(at);
                next.active_since = Some(since);
                next.last_true_at = Some(at);
                if elapsed(since, at) >= timing.for_ {
                    next.state = AlertState::Firing;
                    next.firing_since = Some(at);
                    Some(Transition::ToFiring)
                } else {
                    next.state = AlertState::Pending;
                    None
                }
            }
        }
        AlertState::Firing => {
            let (since, firing_since, last_true) = prev
                .map(|p| (p.active_since, p.firing_since, p.last_true_at))
                .unwrap_or_default();
            next.active_since = since.or(Some(at));
            next.firing_since = firing_since.or(Some(at));
            next.last_true_at = if eval.condition {
                Some(at)
            } else {
                last_true.or(Some(at))
            };
            let held_long_enough =
                || elapsed(last_true.unwrap_or(at), at) >= timing.keep_firing_for;
            let recovered = !timing.has_recover || eval.recovered == Some(true);
            if !eval.condition && recovered && held_long_enough() {
                next.state = AlertState::Resolved;
                next.resolved_at = Some(at);
                Some(Transition::ToResolved)
            } else {
                next.state = AlertState::Firing;
                None
            }
        }
    };
    (next, transition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use AlertState::{Firing, Inactive, Pending, Resolved};
    use Transition::{ToFiring, ToInactive, ToPending, ToResolved};

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)
    }

    fn timing(for_m: u64, keep_m: u64, has_recover: bool) -> RuleTiming {
        RuleTiming {
            for_: Duration::from_secs(for_m * 60),
            keep_firing_for: Duration::from_secs(keep_m * 60),
            has_recover,
        }
    }

    fn input(at: i64, condition: bool, recovered: Option<bool>) -> StepInput {
        StepInput {
            at: t(at),
            condition,
            recovered,
            value: Some(at as f64),
            labels: Labels::from([("alertname".to_owned(), "R".to_owned())]),
            annotations: BTreeMap::new(),
        }
    }

    /// Runs the machine over `(seconds, condition, recovered)` and returns each step.
    fn run(
        timing: &RuleTiming,
        evals: &[(i64, bool, Option<bool>)],
    ) -> Vec<(RuleStateRecord, Option<Transition>)> {
        let mut prev: Option<RuleStateRecord> = None;
        evals
            .iter()
            .map(|&(at, c, r)| {
                let out = step(timing, prev.as_ref(), "R", &input(at, c, r));
                prev = Some(out.0.clone());
                out
            })
            .collect()
    }

    fn states(
        out: &[(RuleStateRecord, Option<Transition>)],
    ) -> Vec<(AlertState, Option<Transition>)> {
        out.iter().map(|(r, tr)| (r.state, *tr)).collect()
    }

    #[test]
    fn for_zero_fires_at_once_then_resolves_then_goes_inactive() {
        let out = run(
            &timing(0, 0, false),
            &[
                (0, true, None),
                (60, false, None),
                (120, false, None),
                (180, false, None),
            ],
        );
        assert_eq!(
            states(&out),
            vec![
                (Firing, Some(ToFiring)),
                (Resolved, Some(ToResolved)),
                (Inactive, Some(ToInactive)),
                (Inactive, None)
            ]
        );
        let resolved = &out[1].0;
        assert_eq!(
            (resolved.firing_since, resolved.resolved_at),
            (Some(t(0)), Some(t(60)))
        );
        assert_eq!(out[2].0.firing_since, None);
    }

    #[test]
    fn pending_fires_once_the_condition_held_for_the_whole_for() {
        let evals: Vec<_> = (0..=5).map(|i| (i * 60, true, None)).collect();
        let out = run(&timing(5, 0, false), &evals);
        let s = states(&out);
        assert_eq!(s[0], (Pending, Some(ToPending)));
        assert!(s[1..5].iter().all(|x| *x == (Pending, None)));
        assert_eq!(s[5], (Firing, Some(ToFiring)));
        assert_eq!(
            (out[5].0.active_since, out[5].0.firing_since),
            (Some(t(0)), Some(t(300)))
        );
    }

    #[test]
    fn one_false_evaluation_resets_pending() {
        let out = run(
            &timing(5, 0, false),
            &[
                (0, true, None),
                (240, true, None),
                (270, false, None),
                (300, true, None),
                (540, true, None),
                (600, true, None),
            ],
        );
        assert_eq!(
            states(&out),
            vec![
                (Pending, Some(ToPending)),
                (Pending, None),
                (Inactive, Some(ToInactive)),
                (Pending, Some(ToPending)),
                (Pending, None),
                (Firing, Some(ToFiring))
            ]
        );
        assert_eq!(out[3].0.active_since, Some(t(300)));
    }

    #[test]
    fn keep_firing_for_holds_after_the_condition_clears() {
        let mut evals = vec![(0, true, None)];
        evals.extend((1..=10).map(|i| (i * 60, false, None)));
        let out = run(&timing(0, 10, false), &evals);
        let s = states(&out);
        assert!(s[1..10].iter().all(|x| *x == (Firing, None)), "{s:?}");
        assert_eq!(s[10], (Resolved, Some(ToResolved)));
        // Holding again restarts the count.
        let out = run(
            &timing(0, 2, false),
            &[
                (0, true, None),
                (60, false, None),
                (120, true, None),
                (180, false, None),
                (240, false, None),
            ],
        );
        assert_eq!(states(&out)[4], (Resolved, Some(ToResolved)));
        assert_eq!(out[3].0.last_true_at, Some(t(120)));
    }

    #[test]
    fn with_a_recovery_condition_firing_lasts_until_recovery() {
        let out = run(
            &timing(0, 0, true),
            &[
                (0, true, Some(false)),
                (60, false, Some(false)),
                (120, false, None),
                (180, false, Some(true)),
            ],
        );
        assert_eq!(
            states(&out),
            vec![
                (Firing, Some(ToFiring)),
                (Firing, None),
                (Firing, None),
                (Resolved, Some(ToResolved))
            ]
        );
        // Recovery alone does not resolve while keep_firing_for runs, nor while the
        // condition still holds.
        let out = run(
            &timing(0, 3, true),
            &[
                (0, true, Some(true)),
                (60, false, Some(true)),
                (120, false, Some(true)),
                (180, false, Some(true)),
            ],
        );
        assert_eq!(states(&out)[0].0, Firing);
        assert_eq!(states(&out)[2], (Firing, None));
        assert_eq!(states(&out)[3], (Resolved, Some(ToResolved)));
    }

    #[test]
    fn a_resolved_rule_that_holds_again_starts_a_new_episode() {
        let out = run(
            &timing(1, 0, false),
            &[
                (0, true, None),
                (60, true, None),
                (120, false, None),
                (180, true, None),
            ],
        );
        assert_eq!(states(&out)[2], (Resolved, Some(ToResolved)));
        assert_eq!(states(&out)[3], (Pending, Some(ToPending)));
        assert_eq!(
            (out[3].0.active_since, out[3].0.firing_since),
            (Some(t(180)), None)
        );
    }

    #[test]
    fn evaluations_going_back_in_time_never_fire_early() {
        let out = run(
            &timing(5, 0, false),
            &[(600, true, None), (0, true, None), (601, true, None)],
        );
        assert_eq!(
            states(&out),
            vec![(Pending, Some(ToPending)), (Pending, None), (Pending, None)]
        );
    }

    #[test]
    fn the_record_carries_the_latest_value_labels_and_annotations() {
        let out = run(&timing(0, 0, false), &[(0, true, None), (60, true, None)]);
        assert_eq!(out[1].0.value, Some(60.0));
        assert_eq!(out[1].0.evaluated_at, t(60));
        assert_eq!(out[1].0.rule, "R");
        assert_eq!(out[1].0.labels["alertname"], "R");
    }

    fn scenario() -> impl Strategy<Value = (RuleTiming, Vec<(i64, bool, Option<bool>)>)> {
        let timing = (0u64..6, 0u64..6, any::<bool>()).prop_map(|(f, k, r)| timing(f, k, r));
        let evals = proptest::collection::vec((1i64..180, any::<bool>(), any::<bool>()), 1..60);
        (timing, evals).prop_map(|(tm, steps)| {
            let mut at = 0;
            let evals = steps
                .into_iter()
                .map(|(gap, c, r)| {
                    at += gap;
                    (at, c, tm.has_recover.then_some(r))
                })
                .collect();
            (tm, evals)
        })
    }

    proptest! {
        #[test]
        fn the_machine_keeps_its_promises((tm, evals) in scenario()) {
            let out = run(&tm, &evals);
            let mut run_start: Option<i64> = None;
            let mut prev_state = Inactive;
            let mut prev_last_true: Option<OffsetDateTime> = None;
            for (i, ((rec, tr), &(at, c, r))) in out.iter().zip(&evals).enumerate() {
                // Where the current run of true evaluations started.
                run_start = if c { run_start.or(Some(at)) } else { None };
                if *tr == Some(ToFiring) {
                    let held = at - run_start.unwrap_or(at);
                    prop_assert!(c && held >= tm.for_.as_secs() as i64,
                        "fired at step {} after {}s of truth, for = {:?}", i, held, tm.for_);
                }
                if prev_state == Pending && !c {
                    prop_assert_eq!(rec.state, Inactive, "one false evaluation resets pending");
                }
                if prev_state == Firing && !c {
                    let since_true = prev_last_true.map_or(0, |lt| (t(at) - lt).whole_seconds());
                    if since_true < tm.keep_firing_for.as_secs() as i64 {
                        prop_assert_eq!(rec.state, Firing, "keep_firing_for holds");
                    }
                    if tm.has_recover && r != Some(true) {
                        prop_assert_eq!(rec.state, Firing, "firing until recovered");
                    }
                }
                if rec.state == Firing {
                    prop_assert!(rec.firing_since.is_some() && rec.active_since.is_some());
                }
                if rec.state == Inactive {
                    prop_assert!(rec.active_since.is_none() && rec.firing_since.is_none());
                }
                prev_state = rec.state;
                prev_last_true = rec.last_true_at;
            }
        }

        #[test]
        fn resuming_from_the_persisted_record_equals_never_stopping(
            (tm, evals) in scenario(),
            split in 0usize..60,
        ) {
            let straight = run(&tm, &evals);
            let split = split.min(evals.len());
            let mut prev: Option<RuleStateRecord> = None;
            let mut resumed = Vec::new();
            for (i, &(at, c, r)) in evals.iter().enumerate() {
                if i == split {
                    // The restart: only what the store keeps survives.
                    let stored = serde_json::to_string(&prev).expect("serialises");
                    prev = serde_json::from_str(&stored).expect("deserialises");
                }
                let out = step(&tm, prev.as_ref(), "R", &input(at, c, r));
                prev = Some(out.0.clone());
                resumed.push(out);
            }
            prop_assert_eq!(resumed, straight);
        }
    }
}
