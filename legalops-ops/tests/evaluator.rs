//! The rule evaluator end to end over the in-memory records and a registry the tests
//! drive: pending -> firing -> resolved from counters, keep_firing_for and recovery,
//! restarts that keep pending progress and firing alerts, two replicas sharing one store
//! under the lease, refusal of unknown metrics, and the default rules on a fresh registry.
//! Time is a ManualClock advanced by one interval per tick; nothing sleeps.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::alerting::rule::{RuleFile, default_rules};
use legalops_core::alerting::state::Transition;
use legalops_core::alerting::{
    AlertState, AlertStore, Delivery, GroupState, RuleStateRecord, Silence,
};
use legalops_core::alerts::AlertStatus;
use legalops_core::health::{CheckResult, ComponentType, Status};
use legalops_core::mem::MemoryRecords;
use legalops_core::metrics::MetricValue;
use legalops_core::{Clock, Error, ManualClock, SharedClock};
use legalops_ops::alerting::evaluator::{
    ALERT_EVALUATION_FAILURES_TOTAL, ALERTS_FIRING, Evaluator, EvaluatorConfig,
    HEALTH_CHECK_STATUS, TickOutcome,
};
use legalops_ops::health::{HealthCheck, HealthRegistry, Probe};
use legalops_ops::metrics::Registry;
use legalops_ops::security::SECURITY_EVENTS_TOTAL;
use time::OffsetDateTime;
use time::macros::datetime;

const START: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
const TICK: Duration = Duration::from_secs(15);

const ERROR_RATE: &str = r#"
[[rules]]
name = "HighErrorRate"
expr = 'rate(http_requests_total{status="5xx"}[5m]) / rate(http_requests_total[5m]) * 100 > 5'
for = "1m"
keep_firing_for = "2m"
recover = 'rate(http_requests_total{status="5xx"}[5m]) / rate(http_requests_total[5m]) * 100 < 3'
severity = "critical"
labels = { team = "ops" }
annotations = { summary = "5xx error rate {{ $value }}%" }
"#;

/// A gauge rule, so that each tick's value is exactly what the test sets.
const GAUGE: &str = r#"
[[rules]]
name = "ErrorRatio"
expr = 'error_ratio_percent > 5'
for = "2m"
keep_firing_for = "2m"
recover = 'error_ratio_percent < 3'
severity = "warning"
"#;

struct World {
    clock: ManualClock,
    records: Arc<MemoryRecords>,
    registry: Registry,
}

impl World {
    fn new() -> Self {
        let clock = ManualClock::new(START);
        let records = Arc::new(MemoryRecords::with_clock(Arc::new(clock.clone())));
        Self {
            clock,
            records,
            registry: Registry::new(),
        }
    }

    fn config() -> EvaluatorConfig {
        EvaluatorConfig {
            external_url: "https://ops.example/".to_owned(),
            known_metrics: vec!["error_ratio_percent".to_owned()],
            ..EvaluatorConfig::default()
        }
    }

    fn try_evaluator(
        &self,
        rules: &str,
        holder: &str,
        config: EvaluatorConfig,
    ) -> Result<Evaluator, Error> {
        let rules = RuleFile::parse(rules, "test.toml").expect("valid rules");
        let clock: SharedClock = Arc::new(self.clock.clone());
        Evaluator::new(
            rules,
            self.registry.clone(),
            self.records.clone(),
            self.records.clone(),
            clock,
            holder,
            config,
        )
    }

    fn evaluator(&self, rules: &str, holder: &str) -> Evaluator {
        self.try_evaluator(rules, holder, Self::config())
            .expect("valid evaluator")
    }

    fn requests(&self, ok: u64, failed: u64) {
        self.registry
            .counter("http_requests_total", &[("status", "2xx")])
            .increment(ok);
        self.registry
            .counter("http_requests_total", &[("status", "5xx")])
            .increment(failed);
    }

    fn ratio(&self, percent: f64) {
        self.registry.gauge("error_ratio_percent", &[]).set(percent);
    }

    fn gauge(&self, name: &str, check: Option<&str>) -> Option<f64> {
        let snap = self.registry.snapshot(self.clock.now());
        snap.samples
            .iter()
            .find(|s| s.name == name && s.labels.get("check").map(String::as_str) == check)
            .and_then(|s| match s.value {
                MetricValue::Gauge { value } => Some(value),
                _ => None,
            })
    }
}

async fn tick(e: &Evaluator) -> TickOutcome {
    e.tick().await.expect("tick")
}

fn state_of<'a>(out: &'a TickOutcome, rule: &str) -> &'a RuleStateRecord {
    out.states
        .iter()
        .find(|s| s.rule == rule)
        .expect("the rule has a state")
}

fn firing(out: &TickOutcome) -> Vec<String> {
    out.states
        .iter()
        .filter(|s| s.state == AlertState::Firing)
        .map(|s| s.rule.clone())
        .collect()
}

#[tokio::test]
async fn an_error_rate_goes_pending_then_firing_then_resolved_from_counters() {
    let w = World::new();
    let e = w.evaluator(ERROR_RATE, "replica-a");
    w.requests(0, 0);
    let first = tick(&e).await;
    assert_eq!(
        state_of(&first, "HighErrorRate").state,
        AlertState::Inactive
    );

    // 10 % errors: pending at the first rate, firing once it held for a minute.
    let mut log = Vec::new();
    let mut fired_at = None;
    for _ in 0..10 {
        w.clock.advance(TICK);
        w.requests(90, 10);
        let out = tick(&e).await;
        for (rule, t) in &out.transitions {
            assert_eq!(rule, "HighErrorRate");
            log.push((w.clock.now(), *t));
        }
        if let Some(alert) = out.alerts.first() {
            fired_at.get_or_insert(w.clock.now());
            assert_eq!(alert.status, AlertStatus::Firing);
            assert_eq!(alert.labels.get("team").map(String::as_str), Some("ops"));
            assert_eq!(
                alert.labels.get("severity").map(String::as_str),
                Some("critical")
            );
            assert_eq!(alert.annotations["summary"], "5xx error rate 10%");
            assert_eq!(
                alert.generator_url,
                "https://ops.example/api/alerts#HighErrorRate"
            );
            assert_eq!(alert.ends_at, None);
        }
    }
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0], (START + TICK, Transition::ToPending));
    assert_eq!(
        log[1],
        (START + TICK + Duration::from_secs(60), Transition::ToFiring)
    );
    assert_eq!(w.gauge(ALERTS_FIRING, None), Some(1.0));
    let fired_at = fired_at.expect("it fired");

    // No more errors: the 5-minute rate decays; it resolves only once below 3 % and two
    // minutes after the condition last held.
    let mut resolved = None;
    for _ in 0..40 {
        w.clock.advance(TICK);
        w.requests(100, 0);
        let out = tick(&e).await;
        let s = state_of(&out, "HighErrorRate").clone();
        if out
            .transitions
            .contains(&("HighErrorRate".to_owned(), Transition::ToResolved))
        {
            let alert = out.alerts.first().expect("the resolved alert is passed on");
            assert_eq!(alert.status, AlertStatus::Resolved);
            assert_eq!(alert.starts_at, fired_at);
            assert_eq!(alert.ends_at, Some(w.clock.now()));
            resolved = Some(s);
            break;
        }
        assert_eq!(s.state, AlertState::Firing);
    }
    let r = resolved.expect("it resolved");
    assert!(
        r.value.expect("a value") < 3.0,
        "recovered below 3 %: {:?}",
        r.value
    );
    let since_true = r.evaluated_at - r.last_true_at.expect("it held once");
    assert!(since_true >= time::Duration::minutes(2), "{since_true}");
    assert_eq!(w.gauge(ALERTS_FIRING, None), Some(0.0));

    w.clock.advance(TICK);
    let out = tick(&e).await;
    assert_eq!(
        out.transitions,
        vec![("HighErrorRate".to_owned(), Transition::ToInactive)]
    );
    assert!(out.alerts.is_empty());
    assert_eq!(e.current(), out.states);
}

#[tokio::test]
async fn keep_firing_for_and_the_recovery_threshold_hold_a_firing_alert() {
    let w = World::new();
    let e = w.evaluator(GAUGE, "replica-a");
    let mut steps = Vec::new();
    // 0..2m above 5: pending then firing at 2m; then 4 (below 5, above 3) for 3 minutes:
    // keeps firing (recovery not met); then 2 at 5m: the condition last held at 2m, so
    // keep_firing_for has elapsed and it resolves at once.
    for (minute, value) in [
        (0, 10.0),
        (1, 10.0),
        (2, 10.0),
        (3, 4.0),
        (4, 4.0),
        (5, 2.0),
        (6, 2.0),
    ] {
        w.clock.set(START + Duration::from_secs(minute * 60));
        w.ratio(value);
        let out = tick(&e).await;
        steps.push((
            minute,
            state_of(&out, "ErrorRatio").state,
            out.transitions.first().map(|t| t.1),
        ));
    }
    use AlertState::*;
    assert_eq!(
        steps,
        vec![
            (0, Pending, Some(Transition::ToPending)),
            (1, Pending, None),
            (2, Firing, Some(Transition::ToFiring)),
            (3, Firing, None),
            (4, Firing, None),
            (5, Resolved, Some(Transition::ToResolved)),
            (6, Inactive, Some(Transition::ToInactive)),
        ]
    );

    // Recovered at once after clearing, but keep_firing_for holds it for two minutes.
    let w = World::new();
    let e = w.evaluator(GAUGE, "replica-a");
    let mut states = Vec::new();
    for (minute, value) in [(0, 10.0), (2, 10.0), (3, 1.0), (4, 1.0), (5, 1.0)] {
        w.clock.set(START + Duration::from_secs(minute * 60));
        w.ratio(value);
        states.push(state_of(&tick(&e).await, "ErrorRatio").state);
    }
    assert_eq!(states, vec![Pending, Firing, Firing, Resolved, Inactive]);
}

#[tokio::test]
async fn a_restart_keeps_pending_progress_and_a_firing_alert() {
    let w = World::new();
    w.ratio(10.0);
    let before = w.evaluator(GAUGE, "replica-a");
    tick(&before).await; // pending at 0
    w.clock.advance(Duration::from_secs(60));
    tick(&before).await;
    drop(before);

    // The process restarts one minute into `for = 2m`: it fires at 2m, not 2m later.
    w.clock.advance(Duration::from_secs(60));
    let after = w.evaluator(GAUGE, "replica-a");
    after.load().await.expect("load");
    assert_eq!(after.current()[0].state, AlertState::Pending);
    let out = tick(&after).await;
    assert_eq!(
        out.transitions,
        vec![("ErrorRatio".to_owned(), Transition::ToFiring)]
    );
    let fired_at = w.clock.now();
    drop(after);

    // Restarting while it fires: still firing, no second transition to firing.
    w.clock.advance(TICK);
    let again = w.evaluator(GAUGE, "replica-a");
    again.load().await.expect("load");
    let out = tick(&again).await;
    assert!(out.transitions.is_empty(), "{:?}", out.transitions);
    assert_eq!(firing(&out), vec!["ErrorRatio"]);
    assert_eq!(out.alerts[0].starts_at, fired_at);
}

#[tokio::test]
async fn load_drops_the_states_of_rules_no_longer_configured() {
    let w = World::new();
    w.ratio(10.0);
    let both = format!("{GAUGE}\n[[rules]]\nname = \"Old\"\nexpr = \"1\"\nseverity = \"info\"\n");
    tick(&w.evaluator(&both, "replica-a")).await;
    assert_eq!(w.records.rule_states().await.expect("states").len(), 2);
    let e = w.evaluator(GAUGE, "replica-a");
    e.load().await.expect("load");
    let stored = w.records.rule_states().await.expect("states");
    assert_eq!(
        stored.iter().map(|s| s.rule.as_str()).collect::<Vec<_>>(),
        vec!["ErrorRatio"]
    );
    assert_eq!(e.current().len(), 1);
}

#[tokio::test]
async fn only_the_lease_holder_evaluates_and_a_stopped_holder_is_taken_over() {
    let w = World::new();
    w.ratio(10.0);
    let a = w.evaluator(GAUGE, "replica-a");
    let b = w.evaluator(GAUGE, "replica-b");
    let mut b_transitions = Vec::new();
    let mut a_fired = false;
    for _ in 0..10 {
        let out_a = tick(&a).await;
        assert!(out_a.evaluated);
        a_fired |= out_a
            .transitions
            .contains(&("ErrorRatio".to_owned(), Transition::ToFiring));
        let out_b = tick(&b).await;
        assert!(!out_b.evaluated);
        assert!(out_b.alerts.is_empty(), "the standby does not notify");
        b_transitions.extend(out_b.transitions);
        // The standby's view follows the holder's.
        assert_eq!(out_b.states, out_a.states);
        assert_eq!(b.current(), a.current());
        w.clock.advance(TICK);
    }
    assert!(a_fired);
    assert!(b_transitions.is_empty());

    // A stops renewing; within the lease's time to live B still waits.
    w.clock.advance(Duration::from_secs(15));
    assert!(!tick(&b).await.evaluated);
    w.clock.advance(Duration::from_secs(45));
    let out = tick(&b).await;
    assert!(out.evaluated, "B took the lease over");
    assert!(
        out.transitions.is_empty(),
        "the alert keeps firing, no new episode"
    );
    assert_eq!(firing(&out), vec!["ErrorRatio"]);
    assert_eq!(out.alerts.len(), 1);
    // A comes back: now A is the standby.
    assert!(!tick(&a).await.evaluated);
}

#[tokio::test]
async fn a_released_lease_is_taken_at_the_next_tick() {
    let w = World::new();
    let a = w.evaluator(GAUGE, "replica-a");
    let b = w.evaluator(GAUGE, "replica-b");
    assert!(tick(&a).await.evaluated);
    assert!(!tick(&b).await.evaluated);
    a.release().await.expect("release");
    assert!(tick(&b).await.evaluated);
}

#[test]
fn an_unknown_metric_refuses_the_start_naming_the_rule() {
    let w = World::new();
    let rules = "[[rules]]\nname = \"Typo\"\nexpr = 'rate(http_request_totl[5m]) > 1'\nseverity = \"info\"\n";
    match w.try_evaluator(rules, "replica-a", World::config()) {
        Err(Error::InvalidConfig { key, message }) => {
            assert!(key.contains("Typo"), "{key}");
            assert!(message.contains("http_request_totl"), "{message}");
        }
        other => panic!("should be refused: {other:?}"),
    }
    // Declared by the embedder, or present in the registry: accepted.
    let config = EvaluatorConfig {
        known_metrics: vec!["http_request_totl".to_owned()],
        ..EvaluatorConfig::default()
    };
    assert!(w.try_evaluator(rules, "replica-a", config).is_ok());
    let fresh = World::new();
    // (A gauge: the registry would name a counter `http_request_totl_total`.)
    let _ = fresh.registry.gauge("http_request_totl", &[]);
    assert!(
        fresh
            .try_evaluator(rules, "replica-a", EvaluatorConfig::default())
            .is_ok()
    );
}

#[test]
fn a_bad_configuration_is_refused_naming_the_key() {
    let w = World::new();
    let cases = [
        (
            EvaluatorConfig {
                interval: Duration::ZERO,
                ..World::config()
            },
            "replica-a",
            "alerting.interval",
        ),
        (
            EvaluatorConfig {
                lease_ttl: Some(TICK),
                ..World::config()
            },
            "replica-a",
            "alerting.lease_ttl",
        ),
        (World::config(), " ", "alerting.holder"),
    ];
    for (config, holder, want) in cases {
        match w.try_evaluator(GAUGE, holder, config) {
            Err(Error::InvalidConfig { key, .. }) => assert_eq!(key, want),
            other => panic!("{want} should be refused: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_default_rules_load_on_a_fresh_registry_and_only_the_watchdog_fires() {
    let w = World::new();
    let e = w.evaluator(default_rules(), "replica-a");
    for _ in 0..30 {
        let out = tick(&e).await;
        assert_eq!(firing(&out), vec!["Watchdog"]);
        assert_eq!(out.alerts.len(), 1);
        w.clock.advance(TICK);
    }

    // A critical security event (the engine counts it by kind and severity) is a breach.
    w.registry
        .counter(
            SECURITY_EVENTS_TOTAL,
            &[("kind", "credential_stuffing"), ("severity", "critical")],
        )
        .increment(1);
    let out = tick(&e).await;
    assert_eq!(firing(&out), vec!["SecurityBreach", "Watchdog"]);
}

#[derive(Debug)]
struct Fixed(Status);

#[async_trait]
impl HealthCheck for Fixed {
    async fn check(&self) -> CheckResult {
        CheckResult::new(ComponentType::Datastore, self.0, START)
    }
}

#[tokio::test]
async fn health_is_sampled_into_a_gauge_the_database_rule_reads() {
    let w = World::new();
    let clock: SharedClock = Arc::new(w.clock.clone());
    let health = HealthRegistry::new(clock, Duration::from_secs(5));
    health.register(
        "database:responseTime",
        Probe::DEPENDENCY,
        Arc::new(Fixed(Status::Fail)),
    );
    health.register(
        "disk:utilization",
        Probe::DEPENDENCY,
        Arc::new(Fixed(Status::Warn)),
    );
    let config = EvaluatorConfig {
        health: Some(health),
        ..World::config()
    };
    let e = w
        .try_evaluator(default_rules(), "replica-a", config)
        .expect("valid evaluator");
    let out = tick(&e).await;
    assert_eq!(
        w.gauge(HEALTH_CHECK_STATUS, Some("database:responseTime")),
        Some(2.0)
    );
    assert_eq!(
        w.gauge(HEALTH_CHECK_STATUS, Some("disk:utilization")),
        Some(1.0)
    );
    assert_eq!(state_of(&out, "DatabaseDown").state, AlertState::Pending);
    w.clock.advance(Duration::from_secs(60));
    assert_eq!(firing(&tick(&e).await), vec!["DatabaseDown", "Watchdog"]);
}

/// An alert store whose state writes fail while `broken` is set.
#[derive(Debug)]
struct Flaky {
    inner: Arc<MemoryRecords>,
    broken: AtomicBool,
}

impl fmt::Display for Flaky {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("flaky")
    }
}

#[async_trait]
impl AlertStore for Flaky {
    async fn rule_states(&self) -> legalops_core::Result<Vec<RuleStateRecord>> {
        self.inner.rule_states().await
    }
    async fn put_rule_states(&self, states: &[RuleStateRecord]) -> legalops_core::Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(Error::backend("flaky", true, std::io::Error::other("down")));
        }
        self.inner.put_rule_states(states).await
    }
    async fn delete_rule_states(&self, rules: &[String]) -> legalops_core::Result<u64> {
        self.inner.delete_rule_states(rules).await
    }
    async fn put_silence(&self, silence: &Silence) -> legalops_core::Result<()> {
        self.inner.put_silence(silence).await
    }
    async fn silences(&self) -> legalops_core::Result<Vec<Silence>> {
        self.inner.silences().await
    }
    async fn expire_silence(&self, id: &str, at: OffsetDateTime) -> legalops_core::Result<Silence> {
        self.inner.expire_silence(id, at).await
    }
    async fn group_states(&self) -> legalops_core::Result<Vec<GroupState>> {
        self.inner.group_states().await
    }
    async fn put_group_state(&self, state: &GroupState) -> legalops_core::Result<()> {
        self.inner.put_group_state(state).await
    }
    async fn delete_group_state(&self, group_key: &str) -> legalops_core::Result<()> {
        self.inner.delete_group_state(group_key).await
    }
    async fn record_delivery(&self, delivery: &Delivery) -> legalops_core::Result<Delivery> {
        self.inner.record_delivery(delivery).await
    }
    async fn deliveries(
        &self,
        since: OffsetDateTime,
        limit: u64,
    ) -> legalops_core::Result<Vec<Delivery>> {
        self.inner.deliveries(since, limit).await
    }
}

fn flaky_evaluator(w: &World) -> (Evaluator, Arc<Flaky>) {
    let store = Arc::new(Flaky {
        inner: w.records.clone(),
        broken: AtomicBool::new(true),
    });
    let rules = RuleFile::parse(GAUGE, "test.toml").expect("valid rules");
    let clock: SharedClock = Arc::new(w.clock.clone());
    let e = Evaluator::new(
        rules,
        w.registry.clone(),
        store.clone(),
        w.records.clone(),
        clock,
        "replica-a",
        World::config(),
    )
    .expect("valid evaluator");
    (e, store)
}

#[tokio::test]
async fn a_state_that_could_not_be_stored_is_evaluated_again_and_its_transition_repeated() {
    let w = World::new();
    w.ratio(10.0);
    let (e, store) = flaky_evaluator(&w);
    assert!(e.tick().await.is_err());
    assert!(
        e.current().is_empty(),
        "nothing unstored is shown as current"
    );
    store.broken.store(false, Ordering::SeqCst);
    w.clock.advance(TICK);
    let out = tick(&e).await;
    assert_eq!(
        out.transitions,
        vec![("ErrorRatio".to_owned(), Transition::ToPending)]
    );
    assert_eq!(w.records.rule_states().await.expect("states"), out.states);
}

#[tokio::test(start_paused = true)]
async fn the_spawned_loop_counts_failed_ticks_and_keeps_going() {
    let w = World::new();
    w.ratio(10.0);
    let (e, store) = flaky_evaluator(&w);
    let task = e.clone().spawn(TICK);
    // Paused tokio time, the test waking one second after each interval tick so that the
    // tick has run: ticks at 0, 15, 30, 45 s.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..3 {
        tokio::time::sleep(TICK).await;
    }
    let failures = || {
        w.registry
            .snapshot(w.clock.now())
            .samples
            .into_iter()
            .find(|s| s.name == ALERT_EVALUATION_FAILURES_TOTAL)
            .map(|s| s.value)
    };
    assert!(
        matches!(failures(), Some(MetricValue::Counter { value }) if value >= 3),
        "{:?}",
        failures()
    );
    store.broken.store(false, Ordering::SeqCst);
    tokio::time::sleep(TICK).await;
    assert_eq!(
        e.current().len(),
        1,
        "the loop evaluated again once the store was back"
    );
    task.abort();
}
