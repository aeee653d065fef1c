//! Notification routing, Alertmanager-style and pure: which alerts form a group
//! ([`group_key`]), which are muted and why (silences, maintenance windows, inhibition:
//! [`route`]), and when a group is notified ([`next_action`]: group_wait, group_interval,
//! repeat_interval, decided from the persisted [`GroupState`](crate::alerting::GroupState)
//! so a restart neither re-sends early nor forgets a resolution).
//!
//! The notifier in `legalops-ops` calls [`route`] on every evaluation, then
//! [`next_action`] per group, and persists what it decided. Nothing here reads a clock:
//! `now` is always given.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::alerting::Silence;
use crate::alerts::{Alert, AlertStatus, fingerprint};
use crate::error::{Error, Result};
use crate::metrics::Labels;

mod inhibit;
mod matchers;
mod silences;
mod timers;
mod windows;

pub use inhibit::{InhibitRule, inhibited, validate_inhibit_rules};
pub use matchers::{CompiledMatchers, MAX_MATCHER_VALUE, compile};
pub use silences::{
    MAX_COMMENT, MAX_CREATED_BY, MAX_SILENCE_MATCHERS, SilenceState, silence_state, silenced_by,
    validate_silence,
};
pub use timers::{GroupAction, next_action, notified_hash};
pub use windows::{
    MAX_WINDOW_NAME, MaintenanceWindow, active_windows, in_window, validate_windows,
};

/// In `group_by`, groups by every label (Alertmanager's `...`): one group per alert.
pub const GROUP_BY_ALL: &str = "...";

/// The longest any routing interval may be (30 days): longer is a typo, and it keeps the
/// timer arithmetic far from overflow.
pub const MAX_ROUTE_INTERVAL: Duration = Duration::from_secs(30 * 24 * 3600);

/// How alerts are grouped and how often groups are notified (Alertmanager's route).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// Labels whose values form the group; [`GROUP_BY_ALL`] for every label.
    pub group_by: Vec<String>,
    /// How long a new group waits before its first notification (collects its siblings).
    pub group_wait: Duration,
    /// The least time between two notifications of a changed group.
    pub group_interval: Duration,
    /// How often an unchanged firing group is re-sent.
    pub repeat_interval: Duration,
}

impl Default for RouteConfig {
    /// `group_by = ["alertname"]`, 30 s, 5 min, 4 h (Alertmanager's defaults).
    fn default() -> Self {
        Self {
            group_by: vec!["alertname".to_owned()],
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(5 * 60),
            repeat_interval: Duration::from_secs(4 * 3600),
        }
    }
}

impl RouteConfig {
    /// Checks the route: label names in `group_by`, `group_interval` at least a second,
    /// `repeat_interval` at least `group_interval`, none over [`MAX_ROUTE_INTERVAL`].
    /// `InvalidConfig` naming the key (`alerting.route.group_wait`).
    pub fn validate(&self) -> Result<()> {
        let key = |k: &str| format!("alerting.route.{k}");
        if let Some(bad) = self
            .group_by
            .iter()
            .find(|n| n.as_str() != GROUP_BY_ALL && !matchers::is_label_name(n))
        {
            return Err(Error::invalid_config(
                key("group_by"),
                format!("{bad:?} is not a label name (or \"...\" for all labels)"),
            ));
        }
        for (name, d) in [
            ("group_wait", self.group_wait),
            ("group_interval", self.group_interval),
            ("repeat_interval", self.repeat_interval),
        ] {
            if d > MAX_ROUTE_INTERVAL {
                return Err(Error::invalid_config(key(name), "must be at most 30 days"));
            }
        }
        if self.group_interval < Duration::from_secs(1) {
            return Err(Error::invalid_config(
                key("group_interval"),
                "must be at least 1 s",
            ));
        }
        if self.repeat_interval < self.group_interval {
            return Err(Error::invalid_config(
                key("repeat_interval"),
                "must be at least group_interval",
            ));
        }
        Ok(())
    }
}

/// The group an alert with `labels` belongs to: its key in Alertmanager's form
/// (`{}:{alertname="Disk", instance="db-1"}`: the root route's `{}`, then the group labels
/// as Go's `%q` writes them, sorted as strings, joined by ", ") and the group labels. A
/// `group_by` label the alert lacks is left out, as in Alertmanager.
pub fn group_key(labels: &Labels, group_by: &[String]) -> (String, Labels) {
    let all = group_by.iter().any(|g| g == GROUP_BY_ALL);
    let group_labels: Labels = labels
        .iter()
        .filter(|(k, _)| all || group_by.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut parts: Vec<String> = group_labels
        .iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    // Go sorts the "name=value" strings, which differs from sorting by name when one name
    // is a prefix of another ("a0=" < "a=").
    parts.sort_unstable();
    (format!("{{}}:{{{}}}", parts.join(", ")), group_labels)
}

/// A string quoted as Go's `strconv.Quote` does for text (control characters escaped).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_control() && u32::from(c) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Why an alert is not notified (shown by the API next to the alert).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MuteReason {
    /// An active silence matches it.
    Silenced {
        /// The silence's id.
        silence_id: String,
    },
    /// A maintenance window is open and matches it (its downtime does not count).
    MaintenanceWindow {
        /// The window's name.
        window: String,
    },
    /// A firing alert inhibits it.
    Inhibited {
        /// The inhibiting alert's fingerprint.
        by: String,
    },
}

impl fmt::Display for MuteReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Silenced { silence_id } => write!(f, "silenced by {silence_id}"),
            Self::MaintenanceWindow { window } => write!(f, "in maintenance window {window}"),
            Self::Inhibited { by } => write!(f, "inhibited by alert {by}"),
        }
    }
}

/// One group after muting.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutedGroup {
    /// The group key ([`group_key`]).
    pub key: String,
    /// The labels it is grouped by.
    pub group_labels: Labels,
    /// The alerts to notify (muted ones left out), by fingerprint.
    pub alerts: Vec<Alert>,
    /// The alerts left out, by fingerprint, with the reason.
    pub muted: Vec<(String, MuteReason)>,
}

/// Groups `alerts` and mutes what silences, open maintenance windows and inhibition rules
/// say (checked in that order; the first reason found is reported). Every firing alert is
/// an inhibition source, muted or not, as in Alertmanager. A fingerprint given twice counts
/// once (firing wins over resolved). Groups come sorted by key; a group whose alerts are
/// all muted is still listed, with an empty `alerts`. Invalid silences, windows or rules
/// (refused by their validators) mute nothing.
pub fn route(
    alerts: &[Alert],
    silences: &[Silence],
    windows: &[MaintenanceWindow],
    inhibit_rules: &[InhibitRule],
    cfg: &RouteConfig,
    now: OffsetDateTime,
) -> Vec<RoutedGroup> {
    let active = silences::ActiveSilences::new(silences, now);
    let open: Vec<windows::CompiledWindow<'_>> = windows
        .iter()
        .filter_map(|w| windows::CompiledWindow::new(w, "").ok())
        .filter(|w| w.contains(now))
        .collect();
    let rules: Vec<inhibit::CompiledRule<'_>> = inhibit_rules
        .iter()
        .filter_map(|r| inhibit::compile_rules(std::slice::from_ref(r)).ok())
        .flatten()
        .collect();

    let mut unique: BTreeMap<&str, &Alert> = BTreeMap::new();
    for a in alerts {
        let keep = unique.get(a.fingerprint.as_str()).is_none_or(|prev| {
            prev.status == AlertStatus::Resolved && a.status == AlertStatus::Firing
        });
        if keep {
            unique.insert(a.fingerprint.as_str(), a);
        }
    }
    let firing: Vec<Labels> = unique
        .values()
        .filter(|a| a.status == AlertStatus::Firing)
        .map(|a| a.labels.clone())
        .collect();

    let mut groups: BTreeMap<String, RoutedGroup> = BTreeMap::new();
    // Iterate in input order so that a group lists its alerts as they were given.
    for a in alerts {
        if !unique
            .get(a.fingerprint.as_str())
            .is_some_and(|u| std::ptr::eq(*u, a))
        {
            continue;
        }
        let (key, group_labels) = group_key(&a.labels, &cfg.group_by);
        let group = groups.entry(key.clone()).or_insert_with(|| RoutedGroup {
            key,
            group_labels,
            alerts: Vec::new(),
            muted: Vec::new(),
        });
        let reason = if let Some(s) = active.find(&a.labels) {
            Some(MuteReason::Silenced {
                silence_id: s.id.clone(),
            })
        } else if let Some(w) = open.iter().find(|w| w.matchers.matches(&a.labels)) {
            Some(MuteReason::MaintenanceWindow {
                window: w.window.name.clone(),
            })
        } else {
            inhibit::inhibitor(&rules, &a.labels, &firing).map(|by| MuteReason::Inhibited {
                by: fingerprint(by),
            })
        };
        match reason {
            Some(r) => group.muted.push((a.fingerprint.clone(), r)),
            None => group.alerts.push(a.clone()),
        }
    }
    groups.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::{MatchOp, Matcher};
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-04 12:00 UTC); // a Wednesday

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn alert(pairs: &[(&str, &str)], status: AlertStatus) -> Alert {
        let labels = labels(pairs);
        Alert {
            status,
            fingerprint: fingerprint(&labels),
            labels,
            annotations: BTreeMap::new(),
            starts_at: NOW,
            ends_at: None,
            generator_url: String::new(),
        }
    }

    fn eq(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.to_owned(),
            op: MatchOp::Equal,
            value: value.to_owned(),
        }
    }

    #[test]
    fn default_route_is_alertmanagers_and_valid() {
        let cfg = RouteConfig::default();
        assert_eq!(cfg.group_by, ["alertname"]);
        assert_eq!(cfg.group_wait, Duration::from_secs(30));
        assert_eq!(cfg.group_interval, Duration::from_secs(300));
        assert_eq!(cfg.repeat_interval, Duration::from_secs(14_400));
        cfg.validate().expect("defaults are valid");
        RouteConfig {
            group_by: vec![GROUP_BY_ALL.into()],
            ..cfg.clone()
        }
        .validate()
        .expect("... is allowed");
        RouteConfig {
            group_by: vec![],
            group_wait: Duration::ZERO,
            ..cfg
        }
        .validate()
        .expect("one group for everything, sent at once");
    }

    #[test]
    fn invalid_route_is_refused_naming_the_key() {
        let ok = RouteConfig::default();
        let day = Duration::from_secs(86_400);
        let cases = [
            (
                "group_by",
                RouteConfig {
                    group_by: vec!["bad-label".into()],
                    ..ok.clone()
                },
            ),
            (
                "group_wait",
                RouteConfig {
                    group_wait: 31 * day,
                    ..ok.clone()
                },
            ),
            (
                "group_interval",
                RouteConfig {
                    group_interval: Duration::ZERO,
                    ..ok.clone()
                },
            ),
            (
                "group_interval",
                RouteConfig {
                    group_interval: Duration::from_millis(500),
                    ..ok.clone()
                },
            ),
            (
                "repeat_interval",
                RouteConfig {
                    repeat_interval: Duration::from_secs(60),
                    ..ok.clone()
                },
            ),
            (
                "repeat_interval",
                RouteConfig {
                    repeat_interval: 31 * day,
                    ..ok.clone()
                },
            ),
        ];
        for (key, cfg) in cases {
            match cfg.validate() {
                Err(Error::InvalidConfig { key: got, .. }) => {
                    assert_eq!(got, format!("alerting.route.{key}"));
                }
                other => panic!("{key}: {other:?}"),
            }
        }
    }

    #[test]
    fn group_key_has_alertmanagers_form() {
        let l = labels(&[
            ("alertname", "Disk"),
            ("instance", "db-1"),
            ("severity", "warning"),
        ]);
        let by = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let cases: Vec<(Vec<String>, &str)> = vec![
            (by(&["alertname"]), r#"{}:{alertname="Disk"}"#),
            (
                by(&["instance", "alertname"]),
                r#"{}:{alertname="Disk", instance="db-1"}"#,
            ),
            (by(&["alertname", "team"]), r#"{}:{alertname="Disk"}"#), // missing: left out
            (by(&[]), "{}:{}"),
            (
                by(&["..."]),
                r#"{}:{alertname="Disk", instance="db-1", severity="warning"}"#,
            ),
        ];
        for (group_by, want) in cases {
            assert_eq!(group_key(&l, &group_by).0, want, "{group_by:?}");
        }
        let (_, group_labels) = group_key(&l, &by(&["alertname", "team"]));
        assert_eq!(group_labels, labels(&[("alertname", "Disk")]));
    }

    #[test]
    fn group_key_escapes_values_as_go_does_and_sorts_as_strings() {
        let l = labels(&[("a", "x\"y\\z\n\t\u{1}é"), ("a0", "1")]);
        let (key, _) = group_key(&l, &["a".into(), "a0".into()]);
        assert_eq!(key, "{}:{a0=\"1\", a=\"x\\\"y\\\\z\\n\\t\\x01é\"}");
    }

    #[test]
    fn route_groups_alerts_and_reports_each_muting_reason() {
        let silence = Silence {
            id: "sil-1".into(),
            matchers: vec![eq("instance", "db-9")],
            starts_at: NOW - time::Duration::hours(1),
            ends_at: NOW + time::Duration::hours(1),
            created_by: "alice".into(),
            comment: "replacing the disk".into(),
            created_at: NOW,
        };
        let window = MaintenanceWindow {
            name: "wednesday-backups".into(),
            weekdays: vec!["wed".into()],
            start: "11:00".into(),
            end: "13:00".into(),
            timezone: "UTC".into(),
            matchers: vec![eq("alertname", "BackupSlow")],
        };
        let critical = alert(
            &[
                ("alertname", "Disk"),
                ("instance", "db-1"),
                ("severity", "critical"),
            ],
            AlertStatus::Firing,
        );
        let warning = alert(
            &[
                ("alertname", "Disk"),
                ("instance", "db-1"),
                ("severity", "warning"),
            ],
            AlertStatus::Firing,
        );
        let silenced = alert(
            &[
                ("alertname", "Disk"),
                ("instance", "db-9"),
                ("severity", "critical"),
            ],
            AlertStatus::Firing,
        );
        let in_window = alert(
            &[("alertname", "BackupSlow"), ("instance", "db-1")],
            AlertStatus::Firing,
        );
        let resolved = alert(
            &[("alertname", "Cpu"), ("instance", "app-1")],
            AlertStatus::Resolved,
        );
        let alerts = vec![
            critical.clone(),
            warning.clone(),
            silenced.clone(),
            in_window.clone(),
            resolved.clone(),
            resolved.clone(), // a duplicate counts once
        ];
        let groups = route(
            &alerts,
            &[silence],
            &[window],
            &InhibitRule::default_rules(),
            &RouteConfig::default(),
            NOW,
        );
        let keys: Vec<&str> = groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                r#"{}:{alertname="BackupSlow"}"#,
                r#"{}:{alertname="Cpu"}"#,
                r#"{}:{alertname="Disk"}"#
            ]
        );

        let backup = &groups[0];
        assert!(backup.alerts.is_empty());
        assert_eq!(
            backup.muted,
            [(
                in_window.fingerprint.clone(),
                MuteReason::MaintenanceWindow {
                    window: "wednesday-backups".into()
                }
            )]
        );
        assert_eq!(groups[1].alerts, [resolved]);
        let disk = &groups[2];
        assert_eq!(disk.group_labels, labels(&[("alertname", "Disk")]));
        assert_eq!(disk.alerts, std::slice::from_ref(&critical));
        assert_eq!(
            disk.muted,
            [
                (
                    warning.fingerprint.clone(),
                    MuteReason::Inhibited {
                        by: critical.fingerprint.clone()
                    }
                ),
                (
                    silenced.fingerprint.clone(),
                    MuteReason::Silenced {
                        silence_id: "sil-1".into()
                    }
                ),
            ]
        );
        assert_eq!(disk.muted[1].1.to_string(), "silenced by sil-1");

        // An hour later the window has closed and the silence still holds.
        let later = route(
            &alerts,
            &[],
            &[],
            &[],
            &RouteConfig::default(),
            NOW + time::Duration::hours(2),
        );
        assert!(later.iter().all(|g| g.muted.is_empty()));
        assert_eq!(later.iter().map(|g| g.alerts.len()).sum::<usize>(), 5);
    }

    #[test]
    fn a_silenced_critical_alert_still_inhibits_and_a_firing_copy_wins_over_resolved() {
        let critical = alert(
            &[("alertname", "Disk"), ("severity", "critical")],
            AlertStatus::Firing,
        );
        let warning = alert(
            &[("alertname", "Disk"), ("severity", "warning")],
            AlertStatus::Firing,
        );
        let silence = Silence {
            id: "s".into(),
            matchers: vec![eq("severity", "critical")],
            starts_at: NOW,
            ends_at: NOW + time::Duration::hours(1),
            created_by: "bob".into(),
            comment: "known".into(),
            created_at: NOW,
        };
        let mut stale = critical.clone();
        stale.status = AlertStatus::Resolved;
        let groups = route(
            &[stale, warning.clone(), critical.clone()],
            &[silence],
            &[],
            &InhibitRule::default_rules(),
            &RouteConfig::default(),
            NOW,
        );
        assert_eq!(groups.len(), 1);
        assert!(groups[0].alerts.is_empty());
        assert_eq!(groups[0].muted.len(), 2);
        assert_eq!(
            groups[0].muted[0].1,
            MuteReason::Inhibited {
                by: critical.fingerprint.clone()
            }
        );
        assert_eq!(
            groups[0].muted[1].1,
            MuteReason::Silenced {
                silence_id: "s".into()
            }
        );
    }

    #[test]
    fn mute_reasons_serialize_for_the_api() {
        let v = serde_json::to_value(MuteReason::MaintenanceWindow { window: "w".into() })
            .expect("json");
        assert_eq!(
            v,
            serde_json::json!({"kind": "maintenance_window", "window": "w"})
        );
    }

    proptest! {
        #[test]
        fn group_key_is_independent_of_label_and_group_by_order(
            (pairs, shuffled) in proptest::collection::btree_map("[a-z_][a-z0-9_]{0,6}", "\\PC{0,8}", 0..8)
                .prop_flat_map(|m| {
                    let pairs: Vec<(String, String)> = m.into_iter().collect();
                    (Just(pairs.clone()), Just(pairs).prop_shuffle())
                }),
            take in 0usize..8,
        ) {
            let sorted: Labels = pairs.iter().cloned().collect();
            let mut labels_any_order = Labels::new();
            for (k, v) in shuffled.iter().cloned() {
                labels_any_order.insert(k, v);
            }
            let by_sorted: Vec<String> = pairs.iter().take(take).map(|(k, _)| k.clone()).collect();
            let by_shuffled: Vec<String> = shuffled.iter().map(|(k, _)| k.clone()).filter(|k| by_sorted.contains(k)).collect();
            let (key, group_labels) = group_key(&sorted, &by_sorted);
            prop_assert_eq!(group_key(&labels_any_order, &by_shuffled), (key.clone(), group_labels.clone()));
            let well_formed = key.starts_with("{}:{") && key.ends_with('}');
            prop_assert!(well_formed);
            prop_assert_eq!(group_labels.len(), by_sorted.len());
        }
    }
}
