//! The notifier: from the evaluator's alerts to deliveries. Each call to
//! [`Notifier::process`] routes the current alerts (silences, maintenance windows,
//! inhibition: `routing::route`), asks the routing timers what each group needs
//! (`routing::next_action`: group_wait, group_interval, repeat_interval), sends the groups
//! that are due to every channel at once, and records one [`Delivery`] per channel.
//!
//! Everything that decides *when* to send lives in the persisted [`GroupState`], read from
//! the [`AlertStore`] on every call, so a new notifier over the same store (a restart, or
//! another replica taking over the evaluator lease) neither re-sends a firing group early
//! nor forgets to send its resolution.
//!
//! Decisions worth knowing:
//! - A group counts as notified once it has been sent to every channel, whatever each
//!   channel answered: retries belong to the channels (bounded, with backoff), and a
//!   channel that stays down must not turn every evaluation into a burst of re-sends to
//!   the channels that work. Its failures are in the delivery log and the metrics.
//! - A resolved alert whose group may not be re-notified yet (group_interval) is held here
//!   until its group is sent, so the resolution is not lost when the evaluator reports it
//!   only once. The hold is in memory: a restart inside that window loses it (the group
//!   is then dropped, as Alertmanager does when an alert vanishes).
//! - Groups that were stored but have no current alerts are dropped as the timers say
//!   (their alerts are gone without a resolution to send).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use legalops_core::alerting::routing::{
    GroupAction, InhibitRule, MaintenanceWindow, RouteConfig, RoutedGroup, next_action, route,
    validate_inhibit_rules, validate_windows,
};
use legalops_core::alerting::{AlertStore, Delivery, GroupState};
use legalops_core::alerts::{Alert, AlertChannel, AlertStatus, Notification};
use legalops_core::{Error, Result, SharedClock};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::channels::deliver_within;
use crate::metrics::Registry;

mod channels_config;
mod silences;

pub use channels_config::{
    MAX_CHANNEL_NAME, SUPPORTED_SCHEMES, channel_from_url, channel_from_url_with_clock,
    channels_from_urls,
};
pub use silences::{MutedAlert, SilenceView};

/// Counter of notifications sent, by channel name and notification status
/// (`firing`/`resolved`), delivered or not.
pub const NOTIFICATIONS_TOTAL: &str = "legalops_notifications_total";
/// Counter of notifications a channel failed to deliver (after its retries), by channel.
pub const NOTIFICATION_FAILURES_TOTAL: &str = "legalops_notification_failures_total";

/// How the notifier routes and sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierConfig {
    /// Grouping and timers.
    pub route: RouteConfig,
    /// Inhibition rules (default: a critical mutes the matching warning).
    pub inhibit: Vec<InhibitRule>,
    /// Maintenance windows: alerts inside one are muted.
    pub windows: Vec<MaintenanceWindow>,
    /// The receiver named in every notification (default `legalops`).
    pub receiver: String,
    /// A link back to the platform, in every notification.
    pub external_url: String,
    /// How long one channel may take for one notification, retries included (30 s).
    pub channel_deadline: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            route: RouteConfig::default(),
            inhibit: InhibitRule::default_rules(),
            windows: Vec::new(),
            receiver: "legalops".to_owned(),
            external_url: String::new(),
            channel_deadline: Duration::from_secs(30),
        }
    }
}

impl NotifierConfig {
    /// Checks the route, inhibition rules and windows, a non-blank receiver and a deadline
    /// of at least a second; `InvalidConfig` naming the key (`alerting.receiver`).
    pub fn validate(&self) -> Result<()> {
        self.route.validate()?;
        validate_inhibit_rules(&self.inhibit)?;
        validate_windows(&self.windows)?;
        if self.receiver.trim().is_empty() {
            return Err(Error::invalid_config(
                "alerting.receiver",
                "must not be empty",
            ));
        }
        if self.channel_deadline < Duration::from_secs(1) {
            return Err(Error::invalid_config(
                "alerting.channel_deadline",
                "must be at least 1 s",
            ));
        }
        Ok(())
    }
}

/// Routes alerts and delivers due groups to every channel. Cheap to clone (shared inside);
/// calls to [`process`](Self::process) on clones run one at a time.
#[derive(Debug, Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn AlertStore>,
    channels: Vec<(String, Arc<dyn AlertChannel>)>,
    cfg: NotifierConfig,
    clock: SharedClock,
    metrics: Option<Registry>,
    /// Resolved alerts not yet notified, by fingerprint, with their group key. The lock
    /// also serialises `process`, so two calls never send the same group twice.
    held: Mutex<BTreeMap<String, (String, Alert)>>,
}

impl Notifier {
    /// A notifier over `store` sending to `channels` (named; names unique, as
    /// [`channel_from_url`] checks them). `InvalidConfig` for a bad config or channel name.
    pub fn new(
        store: Arc<dyn AlertStore>,
        channels: Vec<(String, Arc<dyn AlertChannel>)>,
        cfg: NotifierConfig,
        clock: SharedClock,
        metrics: Option<Registry>,
    ) -> Result<Self> {
        cfg.validate()?;
        let mut names = HashSet::new();
        for (name, _) in &channels {
            channels_config::check_name(name)?;
            if !names.insert(name.as_str()) {
                return Err(Error::invalid_config(
                    format!("alerting.channels.{name}"),
                    "defined twice",
                ));
            }
        }
        if let Some(m) = &metrics {
            m.describe(
                NOTIFICATIONS_TOTAL,
                "Alert notifications sent, by channel and status.",
            );
            m.describe(
                NOTIFICATION_FAILURES_TOTAL,
                "Alert notifications a channel failed to deliver, by channel.",
            );
        }
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                channels,
                cfg,
                clock,
                metrics,
                held: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &NotifierConfig {
        &self.inner.cfg
    }

    /// The channels, by name.
    pub fn channels(&self) -> &[(String, Arc<dyn AlertChannel>)] {
        &self.inner.channels
    }

    /// Routes `alerts` (the evaluator's current firing and resolved alerts) and sends every
    /// group that is due, to every channel concurrently, each under `channel_deadline`.
    /// Returns the deliveries made (as stored, with ids), in group order then channel
    /// order. Fails when the store cannot be read; a failure to write a delivery or a group
    /// state is logged, the remaining groups are still handled, and the first such error is
    /// returned at the end. A delivery's `channel` is the configured name (so two channels
    /// of one type stay apart), also the `channel` label of the metrics.
    pub async fn process(&self, alerts: &[Alert]) -> Result<Vec<Delivery>> {
        let inner = &self.inner;
        let mut held = inner.held.lock().await;
        let now = inner.clock.now();
        let silences = inner.store.silences().await?;
        let mut states: HashMap<String, GroupState> = inner
            .store
            .group_states()
            .await?
            .into_iter()
            .map(|s| (s.group_key.clone(), s))
            .collect();

        let input = with_held(alerts, &held);
        let groups = route(
            &input,
            &silences,
            &inner.cfg.windows,
            &inner.cfg.inhibit,
            &inner.cfg.route,
            now,
        );
        let mut deliveries = Vec::new();
        let mut first_error = None;
        for group in &groups {
            let state = states.remove(&group.key);
            let action = next_action(state.as_ref(), now, &group.alerts, &inner.cfg.route);
            if matches!(action, GroupAction::Wait { .. }) {
                for a in group.alerts.iter().filter(|a| is_resolved(a)) {
                    held.insert(a.fingerprint.clone(), (group.key.clone(), a.clone()));
                }
            } else {
                held.retain(|_, (key, _)| *key != group.key);
            }
            let outcome = self.apply(group, state, action, now, &mut deliveries).await;
            if let Err(e) = outcome {
                tracing::warn!(group = %group.key, error = %e, "could not store notification state");
                first_error.get_or_insert(e);
            }
        }
        // Groups stored earlier with no alert now: their alerts are gone.
        for (key, state) in states {
            if next_action(Some(&state), now, &[], &inner.cfg.route) == GroupAction::Drop
                && let Err(e) = inner.store.delete_group_state(&key).await
            {
                tracing::warn!(group = %key, error = %e, "could not drop a group");
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(deliveries),
        }
    }

    /// Carries out one group's action; pushes the deliveries it made.
    async fn apply(
        &self,
        group: &RoutedGroup,
        state: Option<GroupState>,
        action: GroupAction,
        now: OffsetDateTime,
        deliveries: &mut Vec<Delivery>,
    ) -> Result<()> {
        let store = &self.inner.store;
        match action {
            GroupAction::Nothing => Ok(()),
            GroupAction::Drop => store.delete_group_state(&group.key).await,
            // Only a new group is written: group_wait counts from its first sighting.
            GroupAction::Wait { .. } if state.is_none() => {
                store
                    .put_group_state(&GroupState {
                        group_key: group.key.clone(),
                        first_seen_at: now,
                        last_notified_at: None,
                        last_notified_hash: String::new(),
                    })
                    .await
            }
            GroupAction::Wait { .. } => Ok(()),
            GroupAction::Notify { hash } => {
                let mut first_error = None;
                for d in self.send(group).await {
                    match store.record_delivery(&d).await {
                        Ok(stored) => deliveries.push(stored),
                        Err(e) => {
                            first_error.get_or_insert(e);
                            deliveries.push(d);
                        }
                    }
                }
                let saved = store
                    .put_group_state(&GroupState {
                        group_key: group.key.clone(),
                        first_seen_at: state.map_or(now, |s| s.first_seen_at),
                        last_notified_at: Some(now),
                        last_notified_hash: hash,
                    })
                    .await;
                match first_error {
                    Some(e) => Err(e),
                    None => saved,
                }
            }
        }
    }

    /// Sends `group` to every channel at once; one delivery (not yet stored) per channel.
    async fn send(&self, group: &RoutedGroup) -> Vec<Delivery> {
        let inner = &self.inner;
        let notification = Notification::new(
            inner.cfg.receiver.clone(),
            group.key.clone(),
            group.group_labels.clone(),
            inner.cfg.external_url.clone(),
            group.alerts.clone(),
        );
        let status = match notification.status {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        };
        let sends = inner.channels.iter().map(|(name, channel)| {
            let notification = &notification;
            async move {
                let (result, attempts) =
                    deliver_within(channel.as_ref(), notification, inner.cfg.channel_deadline)
                        .await;
                if let Err(e) = &result {
                    tracing::warn!(channel = %name, group = %group.key, error = %e, "notification failed");
                }
                Delivery {
                    id: 0,
                    at: inner.clock.now(),
                    group_key: group.key.clone(),
                    channel: name.clone(),
                    status: status.to_owned(),
                    alerts: notification.alerts.len() as u64,
                    attempts,
                    ok: result.is_ok(),
                    error: result.err().map(|e| e.to_string()),
                }
            }
        });
        let done = join_all(sends).await;
        if let Some(m) = &inner.metrics {
            for d in &done {
                m.counter(
                    NOTIFICATIONS_TOTAL,
                    &[("channel", &d.channel), ("status", status)],
                )
                .increment(1);
                if !d.ok {
                    m.counter(NOTIFICATION_FAILURES_TOTAL, &[("channel", &d.channel)])
                        .increment(1);
                }
            }
        }
        done
    }
}

fn is_resolved(a: &Alert) -> bool {
    a.status == AlertStatus::Resolved
}

/// The evaluator's alerts plus the held resolutions it no longer reports (what it reports
/// wins: an alert firing again replaces its held resolution).
fn with_held(alerts: &[Alert], held: &BTreeMap<String, (String, Alert)>) -> Vec<Alert> {
    let current: HashSet<&str> = alerts.iter().map(|a| a.fingerprint.as_str()).collect();
    let mut out = alerts.to_vec();
    out.extend(
        held.iter()
            .filter(|(f, _)| !current.contains(f.as_str()))
            .map(|(_, (_, a))| a.clone()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::alerts::fingerprint;
    use legalops_core::metrics::Labels;
    use time::macros::datetime;

    fn alert(name: &str, status: AlertStatus) -> Alert {
        let labels: Labels = [("alertname".to_owned(), name.to_owned())].into();
        Alert {
            status,
            fingerprint: fingerprint(&labels),
            labels,
            annotations: BTreeMap::new(),
            starts_at: datetime!(2026-01-01 0:00 UTC),
            ends_at: None,
            generator_url: String::new(),
        }
    }

    #[test]
    fn default_config_is_valid_and_bad_values_name_their_key() {
        NotifierConfig::default().validate().expect("defaults");
        let cases = [
            (
                NotifierConfig {
                    receiver: " ".into(),
                    ..NotifierConfig::default()
                },
                "alerting.receiver",
            ),
            (
                NotifierConfig {
                    channel_deadline: Duration::ZERO,
                    ..NotifierConfig::default()
                },
                "alerting.channel_deadline",
            ),
        ];
        for (cfg, want) in cases {
            match cfg.validate() {
                Err(Error::InvalidConfig { key, .. }) => assert_eq!(key, want),
                other => panic!("{want}: {other:?}"),
            }
        }
    }

    #[test]
    fn reported_alerts_win_over_held_resolutions() {
        let firing = alert("Disk", AlertStatus::Firing);
        let gone = alert("Cpu", AlertStatus::Resolved);
        let mut held = BTreeMap::new();
        let mut stale = firing.clone();
        stale.status = AlertStatus::Resolved;
        held.insert(firing.fingerprint.clone(), ("g1".to_owned(), stale));
        held.insert(gone.fingerprint.clone(), ("g2".to_owned(), gone.clone()));
        let merged = with_held(std::slice::from_ref(&firing), &held);
        assert_eq!(merged, vec![firing, gone]);
    }
}
