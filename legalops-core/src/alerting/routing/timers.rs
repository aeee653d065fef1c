//! Group notification timers (Alertmanager's group_wait, group_interval and
//! repeat_interval), decided from the persisted [`GroupState`] alone so that a restart
//! decides exactly what the process before it would have.
//!
//! One difference from Alertmanager, as the design page says: Alertmanager flushes a
//! group only on ticks every `group_interval` after its first flush; we send a change as
//! soon as `group_interval` has passed since the last notification: never sooner than
//! Alertmanager would, and a change after a long quiet spell goes out at once instead of
//! at the next tick.

use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;

use super::RouteConfig;
use crate::alerting::GroupState;
use crate::alerts::{Alert, AlertStatus};

/// What to do with a group now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAction {
    /// Nothing to send yet; decide again at `until` (or when the group's alerts change).
    /// If the group had no state, create it now with `first_seen_at = now`, no
    /// `last_notified_at` and an empty hash: group_wait counts from there.
    Wait {
        /// The earliest instant a notification may go out.
        until: OffsetDateTime,
    },
    /// Send the group's alerts now, then store `last_notified_at = now` and
    /// `last_notified_hash = hash` (creating the state with `first_seen_at = now` if there
    /// was none).
    Notify {
        /// The [`notified_hash`] of the alerts being sent.
        hash: String,
    },
    /// Forget the group: its resolution has been notified, or it resolved before it was
    /// ever sent (inside group_wait), or nothing is left in it. Delete its state.
    Drop,
    /// No group and nothing to start one (no firing alert).
    Nothing,
}

/// The hash stored as `last_notified_hash`: 32 hex digits, the first 16 over the sorted
/// (fingerprint, status) set of `alerts`, the last 16 over the fingerprints of the firing
/// ones. The second half lets [`next_action`] see that a set differs only because resolved
/// alerts already notified have left the group (Alertmanager does not re-send for that).
pub fn notified_hash(alerts: &[Alert]) -> String {
    let mut all: Vec<(&str, bool)> = alerts
        .iter()
        .map(|a| (a.fingerprint.as_str(), a.status == AlertStatus::Firing))
        .collect();
    all.sort_unstable();
    all.dedup();
    let full = hash16(
        all.iter()
            .map(|&(f, firing)| (f, if firing { "firing" } else { "resolved" })),
    );
    let firing = hash16(
        all.iter()
            .filter(|(_, firing)| *firing)
            .map(|&(f, _)| (f, "firing")),
    );
    format!("{full}{firing}")
}

fn hash16<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut h = blake3::Hasher::new();
    for (fingerprint, status) in items {
        // Length-prefixed so that the concatenation is unambiguous.
        h.update(&(fingerprint.len() as u64).to_le_bytes());
        h.update(fingerprint.as_bytes());
        h.update(status.as_bytes());
        h.update(b"\n");
    }
    h.finalize().to_hex()[..16].to_owned()
}

/// Decides what to do with a group at `now`, given its persisted state (`None`: never seen)
/// and its current alerts (firing, and resolved ones not yet notified; muted ones left out):
///
/// - no state: a firing alert starts the group, to be notified after `group_wait`;
/// - never notified: wait until `first_seen_at + group_wait`; if by then nothing fires any
///   more, drop it without a word (an alert that resolves inside group_wait is never sent);
/// - notified, and the (fingerprint, status) set changed: notify no sooner than
///   `group_interval` after the last notification;
/// - notified, unchanged, still firing: re-send `repeat_interval` after the last;
/// - notified, nothing firing and that resolution sent (or nothing left): drop.
pub fn next_action(
    state: Option<&GroupState>,
    now: OffsetDateTime,
    alerts: &[Alert],
    cfg: &RouteConfig,
) -> GroupAction {
    let firing = alerts.iter().any(|a| a.status == AlertStatus::Firing);
    let hash = notified_hash(alerts);
    let Some(state) = state else {
        if !firing {
            return GroupAction::Nothing;
        }
        return if cfg.group_wait.is_zero() {
            GroupAction::Notify { hash }
        } else {
            GroupAction::Wait {
                until: after(now, cfg.group_wait),
            }
        };
    };
    let Some(last) = state.last_notified_at else {
        if !firing {
            return GroupAction::Drop;
        }
        let until = after(state.first_seen_at, cfg.group_wait);
        return if now >= until {
            GroupAction::Notify { hash }
        } else {
            GroupAction::Wait { until }
        };
    };
    if alerts.is_empty() {
        return GroupAction::Drop;
    }
    let (last_full, last_firing) = split(&state.last_notified_hash);
    let (full, firing_part) = split(&hash);
    let nothing_new = full == last_full
        // Only resolved alerts that were already notified have left the group.
        || (alerts.iter().all(|a| a.status == AlertStatus::Firing) && firing_part.is_some()
            && firing_part == last_firing);
    let none_firing = hash16(std::iter::empty());
    if !firing && (nothing_new || last_firing == Some(none_firing.as_str())) {
        // The resolution was sent (or the last notice already had nothing firing).
        return GroupAction::Drop;
    }
    let until = if nothing_new {
        after(last, cfg.repeat_interval)
    } else {
        after(last, cfg.group_interval)
    };
    if now >= until {
        GroupAction::Notify { hash }
    } else {
        GroupAction::Wait { until }
    }
}

/// Splits a stored hash into its full and firing halves (`None` for the firing half of a
/// hash not made by [`notified_hash`]; then only full equality counts).
fn split(hash: &str) -> (&str, Option<&str>) {
    match (hash.get(..16), hash.get(16..)) {
        (Some(full), Some(firing)) if hash.len() == 32 => (full, Some(firing)),
        _ => (hash, None),
    }
}

/// `t + d`, or the far future when that is out of range (a timer that never fires rather
/// than a panic or a notification storm).
fn after(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d))
        .unwrap_or(datetime!(9999-12-31 23:59:59 UTC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::fingerprint;
    use crate::metrics::Labels;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
    const KEY: &str = "{}:{alertname=\"Disk\"}";

    fn alert(instance: &str, status: AlertStatus) -> Alert {
        let labels: Labels = [
            ("alertname".to_owned(), "Disk".to_owned()),
            ("instance".to_owned(), instance.to_owned()),
        ]
        .into();
        Alert {
            status,
            fingerprint: fingerprint(&labels),
            labels,
            annotations: BTreeMap::new(),
            starts_at: T0,
            ends_at: None,
            generator_url: String::new(),
        }
    }

    fn at(secs: i64) -> OffsetDateTime {
        T0 + time::Duration::seconds(secs)
    }

    /// What the notifier does with a decision: the state it persists afterwards.
    fn apply(
        state: Option<GroupState>,
        action: &GroupAction,
        now: OffsetDateTime,
    ) -> Option<GroupState> {
        match action {
            GroupAction::Wait { .. } => Some(state.unwrap_or(GroupState {
                group_key: KEY.to_owned(),
                first_seen_at: now,
                last_notified_at: None,
                last_notified_hash: String::new(),
            })),
            GroupAction::Notify { hash } => {
                let mut s = state.unwrap_or(GroupState {
                    group_key: KEY.to_owned(),
                    first_seen_at: now,
                    last_notified_at: None,
                    last_notified_hash: String::new(),
                });
                s.last_notified_at = Some(now);
                s.last_notified_hash = hash.clone();
                Some(s)
            }
            GroupAction::Drop => None,
            GroupAction::Nothing => state,
        }
    }

    /// Runs `steps` (second, alerts, expected action kind) and checks each decision.
    fn timeline(steps: &[(i64, Vec<Alert>, &str)]) -> Option<GroupState> {
        let cfg = RouteConfig::default();
        let mut state = None;
        for (secs, alerts, want) in steps {
            let now = at(*secs);
            let action = next_action(state.as_ref(), now, alerts, &cfg);
            let got = match &action {
                GroupAction::Wait { until } => format!("wait {}", (*until - T0).whole_seconds()),
                GroupAction::Notify { .. } => "notify".to_owned(),
                GroupAction::Drop => "drop".to_owned(),
                GroupAction::Nothing => "nothing".to_owned(),
            };
            assert_eq!(&got, want, "at t={secs}s");
            state = apply(state, &action, now);
        }
        state
    }

    const H: i64 = 3600;
    const M: i64 = 60;

    #[test]
    fn one_alert_waits_notifies_repeats_and_resolves_like_alertmanager() {
        let firing = || vec![alert("db-1", AlertStatus::Firing)];
        let resolved = || vec![alert("db-1", AlertStatus::Resolved)];
        timeline(&[
            (0, firing(), "wait 30"),
            (10, firing(), "wait 30"),
            (30, firing(), "notify"),
            (M, firing(), "wait 14430"), // unchanged: repeat_interval after 30 s
            (4 * H + 29, firing(), "wait 14430"),
            (4 * H + 30, firing(), "notify"), // repeat at 4 h 30 s
            (4 * H + 2 * M, resolved(), "wait 14730"), // next group_interval: 4 h 5 m 30 s
            (4 * H + 5 * M + 30, resolved(), "notify"),
            (4 * H + 6 * M, resolved(), "drop"),
        ]);
    }

    #[test]
    fn a_joining_alert_is_sent_a_group_interval_after_the_last_notification() {
        let one = || vec![alert("db-1", AlertStatus::Firing)];
        let two = || {
            vec![
                alert("db-1", AlertStatus::Firing),
                alert("db-2", AlertStatus::Firing),
            ]
        };
        timeline(&[
            (0, one(), "wait 30"),
            (30, one(), "notify"),
            (M, two(), "wait 330"), // not before 5 m 30 s
            (5 * M + 29, two(), "wait 330"),
            (5 * M + 30, two(), "notify"),
            (6 * M, two(), "wait 14730"), // repeat 4 h after 5 m 30 s
            (4 * H + 5 * M + 30, two(), "notify"),
        ]);
    }

    #[test]
    fn a_group_resolved_inside_group_wait_is_never_sent() {
        let state = timeline(&[
            (0, vec![alert("db-1", AlertStatus::Firing)], "wait 30"),
            (20, vec![alert("db-1", AlertStatus::Resolved)], "drop"),
            (30, vec![alert("db-1", AlertStatus::Resolved)], "nothing"),
            (40, vec![], "nothing"),
        ]);
        assert!(state.is_none());
    }

    #[test]
    fn resolved_alerts_leaving_after_notification_are_not_a_change() {
        let both = || {
            vec![
                alert("db-1", AlertStatus::Firing),
                alert("db-2", AlertStatus::Resolved),
            ]
        };
        timeline(&[
            (
                0,
                vec![
                    alert("db-1", AlertStatus::Firing),
                    alert("db-2", AlertStatus::Firing),
                ],
                "wait 30",
            ),
            (
                30,
                vec![
                    alert("db-1", AlertStatus::Firing),
                    alert("db-2", AlertStatus::Firing),
                ],
                "notify",
            ),
            (2 * M, both(), "wait 330"),
            (5 * M + 30, both(), "notify"),
            // db-2's resolution was sent; it leaves the group: nothing new until repeat.
            (
                7 * M,
                vec![alert("db-1", AlertStatus::Firing)],
                "wait 14730",
            ),
            // A third alert is a change again.
            (
                8 * M,
                vec![
                    alert("db-1", AlertStatus::Firing),
                    alert("db-3", AlertStatus::Firing),
                ],
                "wait 630",
            ),
        ]);
    }

    #[test]
    fn a_group_with_nothing_left_is_dropped() {
        timeline(&[
            (0, vec![alert("db-1", AlertStatus::Firing)], "wait 30"),
            (30, vec![alert("db-1", AlertStatus::Firing)], "notify"),
            (M, vec![], "drop"),
        ]);
    }

    #[test]
    fn a_restart_with_the_persisted_state_decides_the_same_and_sends_one_resolution() {
        let cfg = RouteConfig::default();
        let firing = [alert("db-1", AlertStatus::Firing)];
        let resolved = [alert("db-1", AlertStatus::Resolved)];
        // Before the kill: notified at 30 s.
        let state = apply(None, &next_action(None, at(0), &firing, &cfg), at(0));
        let action = next_action(state.as_ref(), at(30), &firing, &cfg);
        assert!(matches!(action, GroupAction::Notify { .. }));
        let state = apply(state, &action, at(30)).expect("group exists");
        // The store round-trips the state through JSON (as SQL rows do through columns).
        let json = serde_json::to_string(&state).expect("serialize");
        let restored: GroupState = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(restored, state);
        for secs in [31, 90, 10 * M, 4 * H + 30, 5 * H] {
            for alerts in [&firing[..], &resolved[..], &[]] {
                assert_eq!(
                    next_action(Some(&restored), at(secs), alerts, &cfg),
                    next_action(Some(&state), at(secs), alerts, &cfg),
                    "t={secs}"
                );
            }
        }
        // After the restart: no second "firing" early, then exactly one "resolved".
        assert!(matches!(
            next_action(Some(&restored), at(2 * M), &firing, &cfg),
            GroupAction::Wait { .. }
        ));
        let action = next_action(Some(&restored), at(10 * M), &resolved, &cfg);
        assert!(matches!(action, GroupAction::Notify { .. }));
        let after_resolution = apply(Some(restored), &action, at(10 * M));
        assert_eq!(
            next_action(after_resolution.as_ref(), at(11 * M), &resolved, &cfg),
            GroupAction::Drop
        );
    }

    #[test]
    fn zero_group_wait_notifies_at_once_and_huge_intervals_do_not_panic() {
        let cfg = RouteConfig {
            group_wait: Duration::ZERO,
            repeat_interval: Duration::MAX,
            ..RouteConfig::default()
        };
        let firing = [alert("db-1", AlertStatus::Firing)];
        assert!(matches!(
            next_action(None, T0, &firing, &cfg),
            GroupAction::Notify { .. }
        ));
        let state = GroupState {
            group_key: KEY.into(),
            first_seen_at: T0,
            last_notified_at: Some(T0),
            last_notified_hash: notified_hash(&firing),
        };
        assert!(matches!(
            next_action(Some(&state), at(H), &firing, &cfg),
            GroupAction::Wait { .. }
        ));
    }

    #[test]
    fn notified_hash_depends_on_the_set_not_the_order() {
        let a = alert("db-1", AlertStatus::Firing);
        let b = alert("db-2", AlertStatus::Resolved);
        assert_eq!(
            notified_hash(&[a.clone(), b.clone()]),
            notified_hash(&[b.clone(), a.clone()])
        );
        assert_eq!(
            notified_hash(&[a.clone(), a.clone()]),
            notified_hash(std::slice::from_ref(&a))
        );
        let a_resolved = alert("db-1", AlertStatus::Resolved);
        assert_ne!(
            notified_hash(std::slice::from_ref(&a)),
            notified_hash(&[a_resolved])
        );
        assert_eq!(notified_hash(&[a]).len(), 32);
    }

    proptest! {
        /// Whatever happens to a group, the notifier never sends before group_wait, never
        /// twice within group_interval, never a group that was never firing, and a decision
        /// made from the persisted state is the one a restarted process makes.
        #[test]
        fn timers_hold_their_guarantees(
            steps in proptest::collection::vec((1i64..900, proptest::collection::vec((0usize..3, any::<bool>()), 0..4)), 1..40)
        ) {
            let cfg = RouteConfig::default();
            let mut state: Option<GroupState> = None;
            let mut now = T0;
            let mut last_sent: Option<OffsetDateTime> = None;
            for (advance, members) in steps {
                now += time::Duration::seconds(advance);
                let alerts: Vec<Alert> = members
                    .iter()
                    .map(|(i, firing)| {
                        alert(&format!("db-{i}"), if *firing { AlertStatus::Firing } else { AlertStatus::Resolved })
                    })
                    .collect();
                let action = next_action(state.as_ref(), now, &alerts, &cfg);
                if let Some(s) = &state {
                    let json = serde_json::to_string(s).expect("serialize");
                    let restored: GroupState = serde_json::from_str(&json).expect("deserialize");
                    prop_assert_eq!(&next_action(Some(&restored), now, &alerts, &cfg), &action);
                }
                if let GroupAction::Notify { hash } = &action {
                    prop_assert_eq!(hash, &notified_hash(&alerts));
                    match &state {
                        Some(s) => prop_assert!(now - s.first_seen_at >= time::Duration::seconds(30)),
                        None => prop_assert!(false, "a new group is never notified at once"),
                    }
                    if let Some(prev) = last_sent {
                        prop_assert!(now - prev >= time::Duration::minutes(5));
                    }
                    if state.as_ref().is_some_and(|s| s.last_notified_at.is_none()) {
                        prop_assert!(alerts.iter().any(|a| a.status == AlertStatus::Firing));
                    }
                    last_sent = Some(now);
                }
                if action == GroupAction::Drop {
                    last_sent = None;
                }
                state = apply(state, &action, now);
            }
        }
    }
}
