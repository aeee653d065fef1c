//! What the platform knows when the alerting round hands alert groups to the incident
//! engine ([`IncidentSignals`]), and which groups it hands over at all.
//!
//! - Error rates are WINDOWED: the increase of `http_requests_total` by status class since
//!   the previous round (the registry's counters diffed between rounds, a counter that
//!   dropped counting from zero as in Prometheus), not the since-start figures of
//!   `ApplicationReport`, which a long healthy uptime would dilute. A window without
//!   requests has no rate (`None`: no signal). Failing routes are those whose 5xx share in
//!   the window is over the critical threshold.
//! - Failing checks: the health the evaluator sampled in this very round (the gauge
//!   `legalops_health_check_status{check}` at 2), so classification and the rules agree
//!   and no second probe runs.
//! - Security breach: a `critical` security event stored since the previous round (from
//!   every replica, through the security store). It is given only to groups with a
//!   firing critical alert: the incident engine opens an incident for ANY firing group
//!   when told of a breach, and a breach must raise the breach alert's incident to Sev1,
//!   not turn the Watchdog into a second incident.
//! - Data loss: nothing reports it yet (the backup engine will); always false.
//!
//! Silences mute paging as they mute notification: a group whose firing critical alerts
//! are all muted (silence, maintenance window, inhibition) opens no incident, and muted
//! alerts are left out of the groups that are handed over. An incident opened before the
//! silence is left as it is (no update, no resolution from the silence) and its
//! escalation goes on: a human must acknowledge it.

use std::collections::{BTreeMap, BTreeSet};

use legalops_core::SharedClock;
use legalops_core::alerting::classify::CRITICAL_5XX_PERCENT;
use legalops_core::alerting::routing::group_key;
use legalops_core::alerts::{Alert, AlertStatus};
use legalops_core::metrics::{MetricValue, MetricsSnapshot};
use legalops_ops::alerting::evaluator::HEALTH_CHECK_STATUS;
use legalops_ops::incidents::engine::IncidentSignals;
use legalops_ops::metrics::{Registry, names};
use legalops_ops::security::SecurityEngine;
use time::OffsetDateTime;

/// At most this many security events are read per round (the store's limit); critical
/// ones are rare, and one is enough.
const EVENTS_PER_ROUND: u64 = 1000;
/// The gauge value of a failing check.
const CHECK_FAILING: f64 = 2.0;

/// Requests answered in a window, by status class.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    total: u64,
    client_errors: u64,
    server_errors: u64,
}

/// `http_requests_total` summed per route and status class.
fn request_counts(snapshot: &MetricsSnapshot) -> BTreeMap<String, Counts> {
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    for s in &snapshot.samples {
        let (names::HTTP_REQUESTS_TOTAL, MetricValue::Counter { value }) =
            (s.name.as_str(), &s.value)
        else {
            continue;
        };
        let route = s
            .labels
            .get(names::LABEL_ROUTE)
            .cloned()
            .unwrap_or_default();
        let c = out.entry(route).or_default();
        c.total += value;
        match s.labels.get(names::LABEL_STATUS).map(String::as_str) {
            Some("5xx") => c.server_errors += value,
            Some("4xx") => c.client_errors += value,
            _ => {}
        }
    }
    out
}

/// Health checks whose sampled status is failing, as `component:measurement`.
fn failing_checks(snapshot: &MetricsSnapshot) -> Vec<String> {
    let mut out: Vec<String> = snapshot
        .samples
        .iter()
        .filter(|s| s.name == HEALTH_CHECK_STATUS)
        .filter(|s| matches!(s.value, MetricValue::Gauge { value } if value >= CHECK_FAILING))
        .filter_map(|s| s.labels.get("check").cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The increase from `prev` to `cur` (a counter below its previous value was reset and
/// counts from zero).
fn increase(prev: u64, cur: u64) -> u64 {
    if cur >= prev { cur - prev } else { cur }
}

/// The error rates (percent) and failing routes of the window between two per-route
/// counts. No request in the window: no rate.
pub(super) fn window_rates(
    prev: &BTreeMap<String, Counts>,
    cur: &BTreeMap<String, Counts>,
) -> (Option<f64>, Option<f64>, u32) {
    let mut sum = Counts::default();
    let mut failing_routes = 0u32;
    for (route, c) in cur {
        let p = prev.get(route).copied().unwrap_or_default();
        let total = increase(p.total, c.total);
        // A class never outgrows its total (it could only if counters were reset apart).
        let w = Counts {
            total,
            client_errors: increase(p.client_errors, c.client_errors).min(total),
            server_errors: increase(p.server_errors, c.server_errors).min(total),
        };
        if w.total > 0 && percent(w.server_errors, w.total) > CRITICAL_5XX_PERCENT {
            failing_routes = failing_routes.saturating_add(1);
        }
        sum.total += w.total;
        sum.client_errors += w.client_errors;
        sum.server_errors += w.server_errors;
    }
    if sum.total == 0 {
        return (None, None, failing_routes);
    }
    (
        Some(percent(sum.server_errors, sum.total)),
        Some(percent(sum.client_errors, sum.total)),
        failing_routes,
    )
}

fn percent(part: u64, total: u64) -> f64 {
    part as f64 / total as f64 * 100.0
}

/// Reads the platform's signals once per round, remembering the previous round.
pub(super) struct SignalSource {
    registry: Registry,
    security: SecurityEngine,
    clock: SharedClock,
    last: tokio::sync::Mutex<(OffsetDateTime, BTreeMap<String, Counts>)>,
}

impl SignalSource {
    /// Starts the first window now.
    pub(super) fn new(registry: Registry, security: SecurityEngine, clock: SharedClock) -> Self {
        let now = clock.now();
        let counts = request_counts(&registry.snapshot(now));
        Self {
            registry,
            security,
            clock,
            last: tokio::sync::Mutex::new((now, counts)),
        }
    }

    /// The signals of the window since the previous call (run it after the evaluator's
    /// tick, which sampled health). A security store that cannot be read is logged and
    /// counts as no breach (the breach rule still fires from the counter).
    pub(super) async fn gather(&self) -> IncidentSignals {
        let mut last = self.last.lock().await;
        let now = self.clock.now();
        let snapshot = self.registry.snapshot(now);
        let counts = request_counts(&snapshot);
        let (r5, r4, failing_routes) = window_rates(&last.1, &counts);
        let security_breach = match self.security.events(last.0, EVENTS_PER_ROUND).await {
            Ok(events) => events.iter().any(|e| e.severity == "critical"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read security events for incident classification");
                false
            }
        };
        *last = (now, counts);
        IncidentSignals {
            error_rate_5xx_percent: r5,
            error_rate_4xx_percent: r4,
            failing_routes,
            failing_checks: failing_checks(&snapshot),
            data_loss: false,
            security_breach,
        }
    }
}

/// One group handed to the incident engine.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct IncidentGroup {
    /// The group key (the incident's dedup key).
    pub(super) key: String,
    /// Its alerts, muted firing ones left out.
    pub(super) alerts: Vec<Alert>,
    /// Whether an unmuted critical alert fires in it.
    pub(super) critical: bool,
}

fn is_critical(a: &Alert) -> bool {
    a.status == AlertStatus::Firing
        && a.labels.get("severity").map(String::as_str) == Some("critical")
}

/// Groups `alerts` by `group_by`, leaving out muted firing alerts and skipping every
/// group whose firing alerts are all muted, or whose firing critical alerts are all muted
/// (a silenced critical alert must not page through an incident).
pub(super) fn incident_groups(
    alerts: &[Alert],
    group_by: &[String],
    muted: &BTreeSet<String>,
) -> Vec<IncidentGroup> {
    let mut groups: BTreeMap<String, Vec<Alert>> = BTreeMap::new();
    for alert in alerts {
        let (key, _) = group_key(&alert.labels, group_by);
        groups.entry(key).or_default().push(alert.clone());
    }
    groups
        .into_iter()
        .filter_map(|(key, alerts)| {
            let is_muted =
                |a: &Alert| a.status == AlertStatus::Firing && muted.contains(&a.fingerprint);
            let firing = alerts
                .iter()
                .filter(|a| a.status == AlertStatus::Firing)
                .count();
            let kept: Vec<Alert> = alerts.iter().filter(|a| !is_muted(a)).cloned().collect();
            let kept_firing = kept
                .iter()
                .filter(|a| a.status == AlertStatus::Firing)
                .count();
            let critical = kept.iter().any(is_critical);
            let all_critical_muted = alerts.iter().any(is_critical) && !critical;
            if firing > 0 && (kept_firing == 0 || all_critical_muted) {
                return None;
            }
            Some(IncidentGroup {
                key,
                alerts: kept,
                critical,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::alerts::fingerprint;
    use proptest::prelude::*;

    fn counts(total: u64, c4: u64, c5: u64) -> Counts {
        Counts {
            total,
            client_errors: c4,
            server_errors: c5,
        }
    }

    fn by_route(entries: &[(&str, Counts)]) -> BTreeMap<String, Counts> {
        entries.iter().map(|(r, c)| ((*r).to_owned(), *c)).collect()
    }

    fn alert(name: &str, severity: &str, status: AlertStatus) -> Alert {
        let labels: BTreeMap<String, String> = [
            ("alertname".to_owned(), name.to_owned()),
            ("severity".to_owned(), severity.to_owned()),
        ]
        .into_iter()
        .collect();
        Alert {
            status,
            fingerprint: fingerprint(&labels),
            labels,
            annotations: BTreeMap::new(),
            starts_at: OffsetDateTime::UNIX_EPOCH,
            ends_at: None,
            generator_url: String::new(),
        }
    }

    #[test]
    fn rates_count_only_the_window_not_the_uptime() {
        // 1000 healthy requests before; 10 in the window, 2 of them 5xx and 1 4xx.
        let prev = by_route(&[("/a", counts(1000, 0, 0))]);
        let cur = by_route(&[("/a", counts(1010, 1, 2))]);
        let (r5, r4, routes) = window_rates(&prev, &cur);
        assert_eq!(r5, Some(20.0));
        assert_eq!(r4, Some(10.0));
        assert_eq!(routes, 1);
    }

    #[test]
    fn a_window_without_requests_has_no_rate() {
        let prev = by_route(&[("/a", counts(5, 1, 1))]);
        assert_eq!(window_rates(&prev, &prev.clone()), (None, None, 0));
        assert_eq!(
            window_rates(&BTreeMap::new(), &BTreeMap::new()),
            (None, None, 0)
        );
    }

    #[test]
    fn a_reset_counter_counts_from_zero_and_new_routes_from_nothing() {
        let prev = by_route(&[("/a", counts(100, 0, 50))]);
        let cur = by_route(&[("/a", counts(4, 0, 0)), ("/b", counts(4, 0, 4))]);
        let (r5, _, routes) = window_rates(&prev, &cur);
        assert_eq!(r5, Some(50.0));
        assert_eq!(routes, 1, "only /b fails");
    }

    #[test]
    fn a_group_whose_critical_alerts_are_all_silenced_is_skipped() {
        let db = alert("DatabaseDown", "critical", AlertStatus::Firing);
        let muted: BTreeSet<String> = [db.fingerprint.clone()].into_iter().collect();
        let by = vec!["alertname".to_owned()];
        assert!(incident_groups(std::slice::from_ref(&db), &by, &muted).is_empty());
        let groups = incident_groups(std::slice::from_ref(&db), &by, &BTreeSet::new());
        assert_eq!(groups.len(), 1);
        assert!(groups[0].critical);
    }

    #[test]
    fn muted_alerts_are_left_out_and_a_muted_critical_does_not_make_the_group_critical() {
        let crit = alert("X", "critical", AlertStatus::Firing);
        let mut warn = alert("X", "warning", AlertStatus::Firing);
        warn.labels.insert("instance".into(), "a".into());
        warn.fingerprint = fingerprint(&warn.labels);
        let by = vec!["alertname".to_owned()];
        let muted: BTreeSet<String> = [warn.fingerprint.clone()].into_iter().collect();
        let groups = incident_groups(&[crit.clone(), warn.clone()], &by, &muted);
        assert_eq!(groups[0].alerts, vec![crit.clone()]);
        let muted: BTreeSet<String> = [crit.fingerprint.clone()].into_iter().collect();
        assert!(incident_groups(&[crit, warn], &by, &muted).is_empty());
    }

    #[test]
    fn a_resolved_group_is_handed_over_so_its_incident_resolves() {
        let gone = alert("DatabaseDown", "critical", AlertStatus::Resolved);
        let muted: BTreeSet<String> = [gone.fingerprint.clone()].into_iter().collect();
        let groups = incident_groups(&[gone], &["alertname".to_owned()], &muted);
        assert_eq!(groups.len(), 1);
        assert!(!groups[0].critical);
    }

    proptest! {
        #[test]
        fn rates_are_percentages_and_never_panic(
            prev in prop::collection::vec((0u64..1000, 0u64..1000, 0u64..1000), 0..4),
            cur in prop::collection::vec((0u64..1000, 0u64..1000, 0u64..1000), 0..4),
        ) {
            let m = |v: &[(u64, u64, u64)]| -> BTreeMap<String, Counts> {
                v.iter().enumerate().map(|(i, &(t, a, b))| {
                    // Classes never exceed the total.
                    (format!("/r{i}"), counts(t + a + b, a, b))
                }).collect()
            };
            let (r5, r4, routes) = window_rates(&m(&prev), &m(&cur));
            for r in [r5, r4].into_iter().flatten() {
                prop_assert!((0.0..=100.0).contains(&r), "{r}");
            }
            prop_assert!(routes as usize <= cur.len());
        }
    }
}
