//! The rule evaluator: on an interval, under a lease so that one replica of a deployment
//! evaluates, it samples health into metrics, records the registry into the
//! [`MetricHistory`], evaluates every rule, advances each rule's state machine
//! (`legalops_core::alerting::state::step`) from its last persisted state, and stores
//! every state in one batch, so that a restart or a takeover by another replica resumes
//! pending progress and firing alerts instead of starting over.
//!
//! A replica without the lease evaluates nothing: it reloads the states from the store
//! each tick (so that its `/api/alerts` view is current) and keeps recording its registry,
//! so that its windows have data should it take over. Rules read the registry of the
//! replica holding the lease (see the history module on rollups as the seam for more).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use legalops_core::alerting::rule::Rule;
use legalops_core::alerting::state::{Transition, step};
use legalops_core::alerting::{AlertState, AlertStore, LeaseStore, RuleStateRecord};
use legalops_core::alerts::{Alert, AlertStatus, fingerprint};
use legalops_core::{Error, Result, SharedClock};
use time::OffsetDateTime;
use tokio::task::JoinHandle;

use super::history::MetricHistory;
use crate::health::HealthRegistry;
use crate::metrics::Registry;

mod metrics;

use metrics::sample_health;
pub use metrics::{
    ALERT_EVALUATION_DURATION_SECONDS, ALERT_EVALUATION_FAILURES_TOTAL, ALERTS_FIRING,
    BACKUP_FAILURES_TOTAL, CERTIFICATE_EXPIRY_SECONDS, HEALTH_CHECK_STATUS, LATER_METRICS,
    ensure_default_metrics,
};

/// The lease one replica holds to evaluate rules.
pub const EVALUATOR_LEASE: &str = "alerting.evaluator";

/// How the evaluator runs.
#[derive(Debug, Clone)]
pub struct EvaluatorConfig {
    /// Time between evaluations (default 15 s).
    pub interval: Duration,
    /// How long the lease lasts without renewal; `None`: three intervals, so one missed
    /// tick does not hand evaluation over.
    pub lease_ttl: Option<Duration>,
    /// The platform's external URL, for alerts' `generatorURL` (`<url>/api/alerts#<rule>`).
    pub external_url: String,
    /// Further metric names rules may use (an embedder's own metrics that appear later).
    pub known_metrics: Vec<String>,
    /// Health checks to sample into [`HEALTH_CHECK_STATUS`] each tick, if any.
    pub health: Option<HealthRegistry>,
}

impl Default for EvaluatorConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15),
            lease_ttl: None,
            external_url: String::new(),
            known_metrics: Vec::new(),
            health: None,
        }
    }
}

impl EvaluatorConfig {
    /// The lease time to live in effect.
    pub fn lease_ttl(&self) -> Duration {
        self.lease_ttl.unwrap_or(self.interval.saturating_mul(3))
    }
}

/// What one tick did.
#[derive(Debug, Clone, PartialEq)]
pub struct TickOutcome {
    /// Whether this replica held the lease and evaluated (false: it only reloaded).
    pub evaluated: bool,
    /// Every configured rule's state after the tick, in rule order.
    pub states: Vec<RuleStateRecord>,
    /// The state changes of this tick, by rule (empty when not evaluated).
    pub transitions: Vec<(String, Transition)>,
    /// The firing alerts and those resolved by this tick, for the notifier (empty when
    /// not evaluated, so that only the evaluating replica notifies).
    pub alerts: Vec<Alert>,
}

/// The rule evaluator. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Evaluator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    rules: Vec<Rule>,
    registry: Registry,
    store: Arc<dyn AlertStore>,
    leases: Arc<dyn LeaseStore>,
    clock: SharedClock,
    holder: String,
    config: EvaluatorConfig,
    history: Mutex<MetricHistory>,
    states: RwLock<BTreeMap<String, RuleStateRecord>>,
    // Whether the last tick held the lease: a replica taking over reloads first.
    held: AtomicBool,
    // One tick at a time (the interval task and a manual call).
    tick: tokio::sync::Mutex<()>,
}

impl Evaluator {
    /// An evaluator of `rules` over `registry`, persisting to `store`, evaluating while it
    /// holds [`EVALUATOR_LEASE`] as `holder` (this replica's id). `InvalidConfig` for a
    /// zero interval, a lease shorter than the interval, an empty holder, or a rule naming
    /// a metric that is neither in the registry, nor in [`LATER_METRICS`], nor in
    /// `config.known_metrics` (the error names the rule and the metric). Registers the
    /// series of [`ensure_default_metrics`].
    pub fn new(
        rules: Vec<Rule>,
        registry: Registry,
        store: Arc<dyn AlertStore>,
        leases: Arc<dyn LeaseStore>,
        clock: SharedClock,
        holder: impl Into<String>,
        config: EvaluatorConfig,
    ) -> Result<Self> {
        let holder = holder.into();
        if config.interval.is_zero() {
            return Err(Error::invalid_config(
                "alerting.interval",
                "must be more than 0",
            ));
        }
        if config.lease_ttl() <= config.interval {
            return Err(Error::invalid_config(
                "alerting.lease_ttl",
                "must be longer than the interval, or the lease lapses between ticks",
            ));
        }
        if holder.trim().is_empty() {
            return Err(Error::invalid_config(
                "alerting.holder",
                "a replica id is required",
            ));
        }
        ensure_default_metrics(&registry);
        let present: Vec<String> = registry
            .snapshot(clock.now())
            .samples
            .into_iter()
            .map(|s| s.name)
            .collect();
        let known = |name: &str| {
            LATER_METRICS.contains(&name)
                || config.known_metrics.iter().any(|k| k == name)
                || present.iter().any(|k| k == name)
        };
        for rule in &rules {
            rule.check_metrics(&known)?;
        }
        registry.describe(
            ALERTS_FIRING,
            "Alerts firing as this replica last saw them.",
        );
        registry.describe(
            ALERT_EVALUATION_FAILURES_TOTAL,
            "Rule evaluation ticks that failed.",
        );
        registry.describe(
            ALERT_EVALUATION_DURATION_SECONDS,
            "Duration of one evaluation of every rule, in seconds.",
        );
        registry.describe(
            HEALTH_CHECK_STATUS,
            "Health of each detailed check: 0 pass, 1 warn, 2 fail.",
        );
        let _ = registry.counter(ALERT_EVALUATION_FAILURES_TOTAL, &[]);
        let history = Mutex::new(MetricHistory::for_rules(&rules));
        Ok(Self {
            inner: Arc::new(Inner {
                rules,
                registry,
                store,
                leases,
                clock,
                holder,
                config,
                history,
                states: RwLock::new(BTreeMap::new()),
                held: AtomicBool::new(false),
                tick: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Reads the persisted states (a restart keeps pending progress and firing alerts)
    /// and deletes the states of rules no longer configured.
    pub async fn load(&self) -> Result<()> {
        let stored = self.inner.store.rule_states().await?;
        let gone: Vec<String> = stored
            .iter()
            .filter(|s| !self.is_configured(&s.rule))
            .map(|s| s.rule.clone())
            .collect();
        if !gone.is_empty() {
            let n = self.inner.store.delete_rule_states(&gone).await?;
            tracing::info!(deleted = n, rules = ?gone, "dropped states of rules no longer configured");
        }
        self.replace_states(stored);
        Ok(())
    }

    /// Every configured rule's last state, in rule order (rules never evaluated are left
    /// out).
    pub fn current(&self) -> Vec<RuleStateRecord> {
        let states = self.inner.states.read().unwrap_or_else(|p| p.into_inner());
        self.inner
            .rules
            .iter()
            .filter_map(|r| states.get(&r.name).cloned())
            .collect()
    }

    /// The rules evaluated.
    pub fn rules(&self) -> &[Rule] {
        &self.inner.rules
    }

    /// One evaluation (see the module docs). Errors (lease or store) change nothing that
    /// was persisted; the next tick evaluates again from the last stored state.
    pub async fn tick(&self) -> Result<TickOutcome> {
        let _one = self.inner.tick.lock().await;
        let inner = &self.inner;
        let now = inner.clock.now();
        let ttl = inner.config.lease_ttl();
        let holds = inner
            .leases
            .try_acquire(EVALUATOR_LEASE, &inner.holder, ttl, now)
            .await?;
        if !holds || !inner.held.load(Ordering::SeqCst) {
            // Standby, or taking over: what the store has is newer than what we have.
            self.replace_states(inner.store.rule_states().await?);
        }
        // Only once reloaded: a takeover whose reload failed reloads again next tick.
        inner.held.store(holds, Ordering::SeqCst);
        if !holds {
            self.record_history(now);
            let states = self.current();
            self.export_firing(&states);
            return Ok(TickOutcome {
                evaluated: false,
                states,
                transitions: Vec::new(),
                alerts: Vec::new(),
            });
        }
        if let Some(health) = &inner.config.health {
            sample_health(&inner.registry, health).await;
        }
        // Evaluate at the tick's instant: the history's newest sample is at `now`.
        self.record_history(now);
        let prev = inner
            .states
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut states = Vec::with_capacity(inner.rules.len());
        let mut transitions = Vec::new();
        {
            let history = inner.history.lock().unwrap_or_else(|p| p.into_inner());
            for rule in &inner.rules {
                let input = rule.evaluate(&*history, now);
                let (next, change) = step(&rule.timing(), prev.get(&rule.name), &rule.name, &input);
                if let Some(t) = change {
                    tracing::info!(rule = %rule.name, transition = ?t, value = ?next.value, "alert rule changed state");
                    transitions.push((rule.name.clone(), t));
                }
                states.push(next);
            }
        }
        inner.store.put_rule_states(&states).await?;
        self.replace_states(states.clone());
        let alerts = states.iter().filter_map(|s| self.alert_of(s)).collect();
        self.export_firing(&states);
        let took = inner.clock.now() - now;
        inner
            .registry
            .histogram(ALERT_EVALUATION_DURATION_SECONDS, &[])
            .record(took.as_seconds_f64().max(0.0));
        Ok(TickOutcome {
            evaluated: true,
            states,
            transitions,
            alerts,
        })
    }

    /// Gives the lease up (on shutdown), so that another replica takes over at its next
    /// tick instead of after the lease's time to live.
    pub async fn release(&self) -> Result<()> {
        self.inner.held.store(false, Ordering::SeqCst);
        self.inner
            .leases
            .release(EVALUATOR_LEASE, &self.inner.holder)
            .await
    }

    /// Runs [`tick`](Self::tick) every `interval` until the handle is aborted; a failed
    /// tick is logged and counted in [`ALERT_EVALUATION_FAILURES_TOTAL`], and the next
    /// one tries again.
    pub fn spawn(self, interval: Duration) -> JoinHandle<()> {
        let failures = self
            .inner
            .registry
            .counter(ALERT_EVALUATION_FAILURES_TOTAL, &[]);
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(interval.max(Duration::from_millis(1)));
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                timer.tick().await;
                if let Err(e) = self.tick().await {
                    failures.increment(1);
                    tracing::warn!(error = %e, "alert rule evaluation failed");
                }
            }
        })
    }

    /// The alert a state stands for: firing, or resolved at this tick; `None` otherwise.
    fn alert_of(&self, s: &RuleStateRecord) -> Option<Alert> {
        let status = match s.state {
            AlertState::Firing => AlertStatus::Firing,
            AlertState::Resolved => AlertStatus::Resolved,
            AlertState::Inactive | AlertState::Pending => return None,
        };
        let base = self.inner.config.external_url.trim_end_matches('/');
        Some(Alert {
            status,
            labels: s.labels.clone(),
            annotations: s.annotations.clone(),
            starts_at: s.firing_since.or(s.active_since).unwrap_or(s.evaluated_at),
            ends_at: (status == AlertStatus::Resolved)
                .then(|| s.resolved_at.unwrap_or(s.evaluated_at)),
            generator_url: format!("{base}/api/alerts#{}", s.rule),
            fingerprint: fingerprint(&s.labels),
        })
    }

    fn is_configured(&self, rule: &str) -> bool {
        self.inner.rules.iter().any(|r| r.name == rule)
    }

    /// Replaces the in-memory states with `states`, keeping configured rules only (during
    /// a rolling deploy another replica may run other rules).
    fn replace_states(&self, states: Vec<RuleStateRecord>) {
        let map: BTreeMap<String, RuleStateRecord> = states
            .into_iter()
            .filter(|s| self.is_configured(&s.rule))
            .map(|s| (s.rule.clone(), s))
            .collect();
        *self.inner.states.write().unwrap_or_else(|p| p.into_inner()) = map;
    }

    fn record_history(&self, now: OffsetDateTime) {
        let snapshot = self.inner.registry.snapshot(now);
        let mut history = self.inner.history.lock().unwrap_or_else(|p| p.into_inner());
        history.record(&snapshot);
    }

    fn export_firing(&self, states: &[RuleStateRecord]) {
        let firing = states
            .iter()
            .filter(|s| s.state == AlertState::Firing)
            .count();
        self.inner
            .registry
            .gauge(ALERTS_FIRING, &[])
            .set(firing as f64);
    }
}
