//! Alerting: from metrics to notifications, with the semantics operators know from
//! Prometheus rules and Alertmanager (ops-semantics.md), plus what they ask for and lack:
//! a separate recovery threshold and rule state that survives a restart.
//!
//! The pure parts live here: the rule expression language ([`expr`]), rule definitions
//! and templating ([`rule`]), the per-rule state machine ([`state`]), notification routing
//! ([`routing`]: grouping and its timers, inhibition, silences, maintenance windows), the
//! rule test harness ([`harness`]) and incident classification ([`classify`]). The records
//! traits that persist what must survive a restart are below ([`AlertStore`],
//! [`LeaseStore`]). The engines that run on an interval live in `legalops-ops`.
//!
//! Design notes for maintainers: `docs/design/alerting.md`.

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;
use crate::metrics::Labels;

pub mod classify;
pub mod expr;
pub mod harness;
pub mod routing;
pub mod rule;
pub mod state;

/// Where a rule's alert is in its life (Prometheus' states, plus `Resolved` kept until the
/// resolution is notified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition does not hold.
    Inactive,
    /// The condition holds, for less than the rule's `for`.
    Pending,
    /// The condition held for `for`, or keeps firing (keep_firing_for, recovery threshold).
    Firing,
    /// It fired and has cleared; the resolution is still to be notified.
    Resolved,
}

/// What is persisted per rule so that a restart keeps pending progress and firing alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleStateRecord {
    /// The rule's name (unique in a deployment).
    pub rule: String,
    /// Current state.
    pub state: AlertState,
    /// When the condition started holding (pending or firing); `None` when inactive.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub active_since: Option<OffsetDateTime>,
    /// When it started firing.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub firing_since: Option<OffsetDateTime>,
    /// When the condition last held (for keep_firing_for).
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_true_at: Option<OffsetDateTime>,
    /// When it resolved.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub resolved_at: Option<OffsetDateTime>,
    /// When it was last evaluated.
    #[serde(with = "time::serde::rfc3339")]
    pub evaluated_at: OffsetDateTime,
    /// The expression's value at the last evaluation (`None`: no data).
    pub value: Option<f64>,
    /// The alert's labels as last rendered (identity, for routing and dedup).
    pub labels: Labels,
    /// The alert's annotations as last rendered.
    pub annotations: BTreeMap<String, String>,
}

/// How a silence matcher compares a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MatchOp {
    /// `=`
    #[serde(rename = "=")]
    Equal,
    /// `!=`
    #[serde(rename = "!=")]
    NotEqual,
    /// `=~` (a regular expression, anchored)
    #[serde(rename = "=~")]
    Regex,
    /// `!~`
    #[serde(rename = "!~")]
    NotRegex,
}

/// One label matcher of a silence or an inhibition rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// How to compare.
    pub op: MatchOp,
    /// The value or pattern.
    pub value: String,
}

/// A silence (Alertmanager semantics): alerts whose labels match every matcher are not
/// notified between `starts_at` and `ends_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    /// Public id.
    pub id: String,
    /// All must match.
    pub matchers: Vec<Matcher>,
    /// When it starts (pending before).
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// When it ends (expired after).
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Who made it.
    pub created_by: String,
    /// Why.
    pub comment: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The outcome of one notification to one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Assigned by the store (0 before).
    pub id: u64,
    /// When it finished.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The notification group.
    pub group_key: String,
    /// The channel's display name.
    pub channel: String,
    /// `firing` or `resolved`.
    pub status: String,
    /// How many alerts it carried.
    pub alerts: u64,
    /// Attempts made (retries included).
    pub attempts: u32,
    /// Whether it was delivered.
    pub ok: bool,
    /// The last error, if any (never a secret: channel errors carry no URLs with keys).
    pub error: Option<String>,
}

/// Notification state of one alert group, persisted so a restart neither re-sends a
/// firing group early nor forgets to send its resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupState {
    /// The group key.
    pub group_key: String,
    /// When the group was first seen (group_wait counts from here).
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
    /// When it was last notified, if ever.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_notified_at: Option<OffsetDateTime>,
    /// Hash of the (fingerprint, status) set last notified: a change is an update.
    pub last_notified_hash: String,
}

/// Persistence of alerting state: rule states, silences, group notification state and the
/// delivery log.
#[async_trait]
pub trait AlertStore: Debug + Display + Send + Sync + 'static {
    /// Every stored rule state.
    async fn rule_states(&self) -> Result<Vec<RuleStateRecord>>;

    /// Stores the given rule states (upsert by rule name), atomically as one batch.
    async fn put_rule_states(&self, states: &[RuleStateRecord]) -> Result<()>;

    /// Removes the states of rules no longer configured; returns how many.
    async fn delete_rule_states(&self, rules: &[String]) -> Result<u64>;

    /// Stores a new silence; `AlreadyExists` for a taken id.
    async fn put_silence(&self, silence: &Silence) -> Result<()>;

    /// Every silence (pending, active and expired), newest first.
    async fn silences(&self) -> Result<Vec<Silence>>;

    /// Ends a silence now (`ends_at = at` if later than `at`); `NotFound` if none.
    async fn expire_silence(&self, id: &str, at: OffsetDateTime) -> Result<Silence>;

    /// Every group's notification state.
    async fn group_states(&self) -> Result<Vec<GroupState>>;

    /// Stores a group's notification state (upsert by group key).
    async fn put_group_state(&self, state: &GroupState) -> Result<()>;

    /// Removes a group's state (the group resolved and was notified).
    async fn delete_group_state(&self, group_key: &str) -> Result<()>;

    /// Appends a delivery record; returns it with its id.
    async fn record_delivery(&self, delivery: &Delivery) -> Result<Delivery>;

    /// Deliveries with `at >= since`, newest first, at most `limit`.
    async fn deliveries(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<Delivery>>;
}

/// Leases: at most one holder of a named lease at a time across replicas, so that the
/// rule evaluator and scheduled jobs run once per deployment.
#[async_trait]
pub trait LeaseStore: Debug + Display + Send + Sync + 'static {
    /// Takes or renews lease `name` for `holder` until `now + ttl`. Succeeds (true) when
    /// the lease is free, expired at `now`, or already held by `holder`; false when another
    /// holder has it. Atomic across replicas.
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: OffsetDateTime,
    ) -> Result<bool>;

    /// Gives the lease up if `holder` has it; otherwise does nothing.
    async fn release(&self, name: &str, holder: &str) -> Result<()>;

    /// The current holder and expiry, if the lease has ever been taken.
    async fn lease(&self, name: &str) -> Result<Option<(String, OffsetDateTime)>>;
}
