//! The incident engine end to end over the in-memory record (`MemoryRecords` as tracker,
//! `MemoryChannel`s as the on-call targets, a `ManualClock`): a critical alert opens exactly
//! one incident, escalation reaches its targets at the runbook's times and is on the
//! timeline, acknowledgement stops it, an acknowledgement timeout restarts it, response
//! metrics are observed, postmortem drafts come from the timeline, and illegal manual
//! moves are refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use legalops_core::alerts::{Alert, AlertChannel, AlertStatus, fingerprint};
use legalops_core::incidents::{
    Incident, IncidentSeverity, IncidentStatus, IncidentTracker, Trigger,
};
use legalops_core::mem::{MemoryChannel, MemoryRecords, MemoryTracker};
use legalops_core::metrics::{Labels, MetricValue};
use legalops_core::{Error, ManualClock};
use legalops_ops::incidents::engine::{
    INCIDENT_RESPONSE_TARGET_MET_TOTAL, INCIDENT_TIME_TO_ACKNOWLEDGE_SECONDS,
    INCIDENT_TIME_TO_RESOLVE_SECONDS, INCIDENTS_OPEN, IncidentConfig, IncidentEngine,
    IncidentSignals, MISSED_DETECTION, postmortem_draft, recorded_reasons,
};
use legalops_ops::metrics::Registry;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
const GROUP: &str = "{}:{alertname=\"ApiDown\"}";

fn min(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

struct Rig {
    engine: IncidentEngine,
    clock: ManualClock,
    records: Arc<MemoryRecords>,
    primary: Arc<MemoryChannel>,
    secondary: Arc<MemoryChannel>,
    manager: Arc<MemoryChannel>,
    registry: Registry,
    mirror: Arc<MemoryTracker>,
}

impl Rig {
    fn new() -> Self {
        let clock = ManualClock::new(T0);
        let records = Arc::new(MemoryRecords::new());
        let (primary, secondary, manager) = (
            Arc::new(MemoryChannel::new()),
            Arc::new(MemoryChannel::new()),
            Arc::new(MemoryChannel::new()),
        );
        let registry = Registry::new();
        let mirror = Arc::new(MemoryTracker::new());
        let engine = IncidentEngine::builder(records.clone())
            .target("oncall-primary", primary.clone())
            .target("oncall-secondary", secondary.clone())
            .target("engineering-manager", manager.clone())
            .clock(Arc::new(clock.clone()))
            .registry(registry.clone())
            .mirror(mirror.clone())
            .build()
            .expect("the default policies name the three targets");
        Self {
            engine,
            clock,
            records,
            primary,
            secondary,
            manager,
            registry,
            mirror,
        }
    }

    /// How many notifications primary, secondary and manager have received.
    fn sent(&self) -> [usize; 3] {
        [&self.primary, &self.secondary, &self.manager].map(|c| c.sent().len())
    }

    async fn at(&self, after_open: Duration) {
        self.clock.set(T0 + after_open);
        self.engine.tick().await.expect("tick");
    }

    async fn fire(&self, alerts: &[Alert], signals: &IncidentSignals) -> Option<Incident> {
        self.engine
            .on_alert_group(GROUP, alerts, signals)
            .await
            .expect("on_alert_group")
    }

    async fn open(&self) -> Vec<Incident> {
        self.records.list_open().await.expect("list_open")
    }

    fn sample(&self, name: &str, labels: &[(&str, &str)]) -> Option<MetricValue> {
        let want: Labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.registry
            .snapshot(T0)
            .samples
            .into_iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }
}

fn alert(severity: &str, instance: &str, starts: Duration, status: AlertStatus) -> Alert {
    let labels: Labels = [
        ("alertname", "ApiDown"),
        ("severity", severity),
        ("instance", instance),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Alert {
        status,
        fingerprint: fingerprint(&labels),
        labels,
        annotations: BTreeMap::from([("summary".to_owned(), "API is down".to_owned())]),
        starts_at: T0 + starts,
        ends_at: (status == AlertStatus::Resolved).then_some(T0 + starts + min(1)),
        generator_url: String::new(),
    }
}

fn critical(instance: &str, starts: Duration) -> Alert {
    alert("critical", instance, starts, AlertStatus::Firing)
}

fn escalations(i: &Incident) -> Vec<String> {
    i.timeline
        .iter()
        .filter(|e| e.text.starts_with("escalated step "))
        .map(|e| e.text.clone())
        .collect()
}

fn no_signals() -> IncidentSignals {
    IncidentSignals::default()
}

#[tokio::test]
async fn a_critical_alert_opens_exactly_one_incident_even_when_the_group_flaps() {
    let rig = Rig::new();
    let first = rig
        .fire(&[critical("a", Duration::ZERO)], &no_signals())
        .await
        .expect("opened");
    assert_eq!(
        (first.severity, first.trigger_count),
        (IncidentSeverity::Sev2, 1)
    );
    assert_eq!(first.summary, "API is down");
    assert!(
        first
            .timeline
            .iter()
            .any(|e| e.text == "classified Sev2: critical alert")
    );

    // The same notification repeated (group_interval) is not another trigger.
    rig.clock.advance(min(5));
    let again = rig
        .fire(&[critical("a", Duration::ZERO)], &no_signals())
        .await
        .expect("open");
    assert_eq!(
        (again.id.as_str(), again.trigger_count),
        (first.id.as_str(), 1)
    );

    // Instance a flapped (resolved and fired again) while b fires: the group never
    // resolved, so both add to the open incident.
    for (n, alerts) in [
        (2, vec![critical("a", min(6)), critical("b", min(6))]),
        (3, vec![critical("a", min(9)), critical("b", min(6))]),
    ] {
        rig.clock.advance(min(5));
        let i = rig.fire(&alerts, &no_signals()).await.expect("open");
        assert_eq!((i.id.as_str(), i.trigger_count), (first.id.as_str(), n));
    }
    assert_eq!(rig.open().await.len(), 1);

    // Wider scope later escalates the same incident to Sev1.
    let wide = IncidentSignals {
        failing_routes: 4,
        ..no_signals()
    };
    let i = rig
        .fire(&[critical("a", min(9)), critical("b", min(6))], &wide)
        .await
        .expect("open");
    assert_eq!(
        (i.id.as_str(), i.severity),
        (first.id.as_str(), IncidentSeverity::Sev1)
    );

    // The whole group resolving resolves the incident, as the system.
    rig.clock.advance(min(5));
    let resolved_alerts = [
        alert("critical", "a", min(9), AlertStatus::Resolved),
        alert("critical", "b", min(6), AlertStatus::Resolved),
    ];
    let done = rig
        .fire(&resolved_alerts, &no_signals())
        .await
        .expect("resolved");
    assert_eq!(done.status, IncidentStatus::Resolved);
    let tail: Vec<(&str, &str)> = done.timeline[done.timeline.len() - 2..]
        .iter()
        .map(|e| (e.actor.as_str(), e.text.as_str()))
        .collect();
    assert_eq!(
        tail,
        [
            ("system", "alert resolved"),
            ("system", "resolved by system")
        ]
    );
    assert!(
        rig.fire(&resolved_alerts, &no_signals()).await.is_none(),
        "nothing left open"
    );

    // After resolve, the group firing again opens a new incident (PagerDuty's semantics).
    let next = rig
        .fire(&[critical("a", min(40))], &no_signals())
        .await
        .expect("opened");
    assert_ne!(next.id, first.id);
    assert_eq!(rig.open().await.len(), 1);

    // The mirror tracker heard the triggers and the resolution.
    let mirrored = rig.mirror.list_recent(T0, 10).await.expect("mirror");
    assert_eq!(mirrored.len(), 2);
    assert!(
        mirrored
            .iter()
            .any(|i| i.status == IncidentStatus::Resolved)
    );
}

#[tokio::test]
async fn warnings_open_nothing_unless_data_was_lost() {
    let rig = Rig::new();
    let warn = [alert("warning", "a", Duration::ZERO, AlertStatus::Firing)];
    assert!(rig.fire(&warn, &no_signals()).await.is_none());
    assert!(rig.open().await.is_empty());
    let loss = IncidentSignals {
        data_loss: true,
        ..no_signals()
    };
    let i = rig.fire(&warn, &loss).await.expect("opened");
    assert_eq!(i.severity, IncidentSeverity::Sev1);
    // Sev1 escalates at once: primary is paged without waiting for a tick.
    assert_eq!(rig.sent(), [1, 0, 0]);
    let err = rig
        .engine
        .on_alert_group("", &warn, &loss)
        .await
        .expect_err("empty key");
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "group_key"));
}

#[tokio::test]
async fn unacknowledged_escalation_reaches_each_step_at_its_time_and_repeats() {
    let rig = Rig::new();
    let id = rig
        .fire(&[critical("a", Duration::ZERO)], &no_signals())
        .await
        .expect("opened")
        .id;
    // Sev2: primary after 2 h, secondary 15 min later, manager 30 min after that.
    let expect = [
        (min(119), [0, 0, 0]),
        (min(120), [1, 0, 0]),
        (min(121), [1, 0, 0]),
        (min(134), [1, 0, 0]),
        (min(135), [1, 1, 0]),
        (min(164), [1, 1, 0]),
        (min(165), [1, 1, 1]),
        // The repeat starts over 30 min after the last step.
        (min(195), [2, 1, 1]),
        (min(210), [2, 2, 1]),
    ];
    for (at, sent) in expect {
        rig.at(at).await;
        assert_eq!(rig.sent(), sent, "at {} min", at.as_secs() / 60);
    }
    let page = &rig.primary.sent()[0];
    assert_eq!(page.receiver, "oncall-primary");
    let summary = &page.alerts[0].annotations["summary"];
    assert!(
        summary.contains(&id) && summary.contains("API is down"),
        "{summary}"
    );

    let i = rig.engine.get(&id).await.expect("get");
    let notes = escalations(&i);
    assert_eq!(notes.len(), 5);
    assert_eq!(
        notes[0],
        "escalated step 0 to oncall-primary (repeat 0): oncall-primary delivered"
    );
    assert!(notes[2].starts_with("escalated step 2 to engineering-manager (repeat 0)"));
    assert!(notes[4].starts_with("escalated step 1 to oncall-secondary (repeat 1)"));
    let at_min: Vec<i64> = i
        .timeline
        .iter()
        .filter(|e| e.text.starts_with("escalated"))
        .map(|e| (e.at - T0).whole_minutes())
        .collect();
    assert_eq!(at_min, [120, 135, 165, 195, 210]);
}

#[tokio::test]
async fn acknowledgement_stops_escalation_and_its_timeout_starts_it_over() {
    let rig = Rig::new();
    let inc = rig
        .fire(&[critical("a", Duration::ZERO)], &no_signals())
        .await
        .expect("opened");
    rig.at(min(120)).await;
    assert_eq!(rig.sent(), [1, 0, 0]);

    rig.clock.set(T0 + min(125));
    let acked = rig
        .engine
        .acknowledge(&inc.dedup_key, "alice")
        .await
        .expect("by dedup key");
    assert_eq!(acked.status, IncidentStatus::Acknowledged);
    rig.at(min(140)).await;
    assert_eq!(rig.sent(), [1, 0, 0], "acknowledged: secondary not paged");

    // 30 min after the acknowledgement without investigating: back to triggered, and the
    // policy starts over at once.
    rig.at(min(154)).await;
    assert_eq!(
        rig.engine.get(&inc.id).await.expect("get").status,
        IncidentStatus::Acknowledged
    );
    rig.at(min(155)).await;
    let i = rig.engine.get(&inc.id).await.expect("get");
    assert_eq!(i.status, IncidentStatus::Triggered);
    assert!(
        i.timeline
            .iter()
            .any(|e| e.actor == "system" && e.text.starts_with("re-triggered:"))
    );
    assert_eq!(rig.sent(), [2, 0, 0]);
    rig.at(min(170)).await;
    assert_eq!(rig.sent(), [2, 1, 0]);

    // Acknowledged again, then investigating: no timeout, no escalation.
    rig.clock.set(T0 + min(171));
    rig.engine
        .acknowledge(&inc.id, "bob")
        .await
        .expect("ack again");
    rig.engine
        .investigate(&inc.id, "bob")
        .await
        .expect("investigate");
    rig.at(min(171 + 24 * 60)).await;
    assert_eq!(
        rig.engine.get(&inc.id).await.expect("get").status,
        IncidentStatus::Investigating
    );
    assert_eq!(rig.sent(), [2, 1, 0]);
    assert_eq!(
        rig.mirror.list_open().await.expect("mirror")[0].status,
        IncidentStatus::Acknowledged
    );
}

#[tokio::test]
async fn a_failing_target_is_recorded_and_does_not_hold_back_the_others() {
    let rig = Rig::new();
    let loss = IncidentSignals {
        security_breach: true,
        ..no_signals()
    };
    rig.secondary.fail_next(1);
    let inc = rig
        .fire(&[critical("a", Duration::ZERO)], &loss)
        .await
        .expect("opened");
    // A tick that finds everything due at once notifies each step once.
    rig.at(min(45)).await;
    assert_eq!(rig.sent(), [1, 0, 1]);
    let notes = escalations(&rig.engine.get(&inc.id).await.expect("get"));
    assert_eq!(notes.len(), 3);
    assert!(
        notes[1].ends_with("oncall-secondary failed (backend)"),
        "{}",
        notes[1]
    );
    rig.at(min(46)).await;
    assert_eq!(rig.sent(), [1, 0, 1], "a recorded step is not sent again");
}

#[tokio::test]
async fn response_times_are_measured_against_the_targets() {
    let rig = Rig::new();
    let sev1 = IncidentSignals {
        failing_routes: 3,
        ..no_signals()
    };
    let inc = rig
        .fire(&[critical("a", Duration::ZERO)], &sev1)
        .await
        .expect("opened");
    assert_eq!(inc.severity, IncidentSeverity::Sev1);
    rig.at(Duration::ZERO).await;
    let gauge = |r: &Rig| r.sample(INCIDENTS_OPEN, &[]);
    assert_eq!(gauge(&rig), Some(MetricValue::Gauge { value: 1.0 }));

    rig.clock.set(T0 + min(20));
    rig.engine
        .investigate(&inc.id, "alice")
        .await
        .expect("investigate from triggered");
    rig.clock.set(T0 + min(60));
    rig.engine.resolve(&inc.id, "alice").await.expect("resolve");
    assert_eq!(gauge(&rig), Some(MetricValue::Gauge { value: 0.0 }));

    let sev = [("severity", "sev1")];
    let Some(MetricValue::Histogram { count, sum, .. }) =
        rig.sample(INCIDENT_TIME_TO_ACKNOWLEDGE_SECONDS, &sev)
    else {
        panic!("no time-to-acknowledge histogram");
    };
    assert_eq!((count, sum), (1, 1200.0));
    let Some(MetricValue::Histogram { count, sum, .. }) =
        rig.sample(INCIDENT_TIME_TO_RESOLVE_SECONDS, &sev)
    else {
        panic!("no time-to-resolve histogram");
    };
    assert_eq!((count, sum), (1, 3600.0));
    let met = |sev: &str, met: &str| {
        rig.sample(
            INCIDENT_RESPONSE_TARGET_MET_TOTAL,
            &[("met", met), ("severity", sev)],
        )
    };
    assert_eq!(
        met("sev1", "false"),
        Some(MetricValue::Counter { value: 1 }),
        "20 min > 15 min"
    );
    assert_eq!(met("sev1", "true"), None);

    // A Sev2 acknowledged within its hour meets the target.
    let other = rig
        .engine
        .on_alert_group("other", &[critical("z", min(60))], &no_signals())
        .await
        .expect("on_alert_group")
        .expect("opened");
    rig.clock.set(T0 + min(100));
    rig.engine.acknowledge(&other.id, "bob").await.expect("ack");
    assert_eq!(met("sev2", "true"), Some(MetricValue::Counter { value: 1 }));
}

#[tokio::test]
async fn the_postmortem_draft_comes_from_the_timeline_for_sev1_and_not_for_sev4() {
    let rig = Rig::new();
    let breach = IncidentSignals {
        security_breach: true,
        ..no_signals()
    };
    let inc = rig
        .fire(&[critical("a", Duration::ZERO)], &breach)
        .await
        .expect("opened");
    rig.at(min(15)).await;
    rig.clock.set(T0 + min(16));
    rig.engine.acknowledge(&inc.id, "alice").await.expect("ack");
    rig.engine
        .note(&inc.id, "alice", "failover | started")
        .await
        .expect("note");
    rig.clock.set(T0 + min(50));
    let done = rig.engine.resolve(&inc.id, "alice").await.expect("resolve");
    let reasons = recorded_reasons(&done);
    assert_eq!(reasons, ["security breach event"]);
    let md = postmortem_draft(&done, &reasons).expect("Sev1 needs one");
    for want in [
        "| Time (UTC) | Actor | Event | Details |",
        "| 2026-03-02 09:00:00 | alerting | triggered | API is down |",
        "escalated step 1 to oncall-secondary",
        "failover \\| started",
        "- Escalated to: oncall-primary, oncall-secondary",
        "| Time to acknowledge | 16m | 15m | no |",
        "- Duration: 50m",
        "- Classification: security breach event",
        "## Root cause",
        "## Resolution",
        "## Action items",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }

    let sev4 = rig
        .records
        .trigger(&Trigger {
            dedup_key: "typo".into(),
            summary: "Typo on the login page".into(),
            source: "alice".into(),
            severity: IncidentSeverity::Sev4,
            component: None,
            details: serde_json::Value::Null,
            at: T0,
        })
        .await
        .expect("trigger");
    assert!(postmortem_draft(&sev4, &["info alert".into()]).is_none());
    assert!(postmortem_draft(&sev4, &[MISSED_DETECTION.into()]).is_some());
}

#[tokio::test]
async fn illegal_manual_moves_are_conflicts_and_change_nothing() {
    let rig = Rig::new();
    let inc = rig
        .fire(&[critical("a", Duration::ZERO)], &no_signals())
        .await
        .expect("opened");
    for (what, r) in [
        (
            "close a triggered incident",
            rig.engine.close(&inc.id, "alice").await,
        ),
        (
            "review a triggered incident",
            rig.engine.review(&inc.id, "alice").await,
        ),
    ] {
        assert!(matches!(r, Err(Error::Conflict { .. })), "{what}: {r:?}");
    }
    rig.engine.acknowledge(&inc.id, "alice").await.expect("ack");
    let twice = rig.engine.acknowledge(&inc.id, "alice").await;
    assert!(
        matches!(twice, Err(Error::Conflict { ref message }) if message.contains("acknowledged to acknowledged")),
        "{twice:?}"
    );
    let before = rig.engine.get(&inc.id).await.expect("get");
    assert_eq!(before.status, IncidentStatus::Acknowledged);

    let reserved = rig
        .engine
        .note(&inc.id, "system", "escalated step 9 to x (repeat 0): y")
        .await;
    assert!(matches!(reserved, Err(Error::InvalidInput { ref field, .. }) if field == "actor"));
    let empty = rig.engine.note(&inc.id, "alice", " ").await;
    assert!(matches!(empty, Err(Error::InvalidInput { ref field, .. }) if field == "text"));
    assert_eq!(rig.engine.get(&inc.id).await.expect("get"), before);
    assert!(matches!(
        rig.engine.acknowledge("nope", "alice").await,
        Err(Error::NotFound { .. })
    ));

    // The full path forward is legal.
    rig.engine
        .investigate(&inc.id, "alice")
        .await
        .expect("investigate");
    rig.engine.resolve(&inc.id, "alice").await.expect("resolve");
    rig.engine.review(&inc.id, "alice").await.expect("review");
    let closed = rig.engine.close(&inc.id, "alice").await.expect("close");
    assert_eq!(closed.status, IncidentStatus::Closed);
    // A note for an incident whose key has opened a newer one would land on the newer one.
    rig.fire(&[critical("a", min(30))], &no_signals())
        .await
        .expect("new incident");
    let stale = rig.engine.note(&inc.id, "alice", "late note").await;
    assert!(matches!(stale, Err(Error::Conflict { .. })), "{stale:?}");
}

#[tokio::test]
async fn a_policy_naming_an_unconfigured_target_is_refused_at_construction() {
    let channel: Arc<dyn AlertChannel> = Arc::new(MemoryChannel::new());
    let err = IncidentEngine::builder(Arc::new(MemoryRecords::new()))
        .target("oncall-primary", channel.clone())
        .target("oncall-secondary", channel)
        .config(IncidentConfig::default())
        .build()
        .expect_err("engineering-manager is missing");
    match err {
        Error::InvalidConfig { key, message } => {
            assert_eq!(key, "incidents.policies.sev1.steps[2].targets");
            assert!(message.contains("engineering-manager"), "{message}");
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    // Without policies nothing is escalated and no target is needed.
    let quiet = IncidentConfig {
        policies: vec![],
        ..IncidentConfig::default()
    };
    IncidentEngine::builder(Arc::new(MemoryRecords::new()))
        .config(quiet)
        .build()
        .expect("no policies, no targets");
}
