//! The notifier end to end over the memory records: routing timers, concurrent delivery
//! with one failing and one slow channel, silences, inhibition, maintenance windows, and a
//! restart over the same records (the issue's "no second firing, one resolved"), plus one
//! run through the real webhook channel to an HTTP receiver started by the test.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::alerting::routing::{MaintenanceWindow, MuteReason, RouteConfig};
use legalops_core::alerting::{AlertStore, MatchOp, Matcher};
use legalops_core::alerts::{Alert, AlertChannel, AlertStatus, Notification, fingerprint};
use legalops_core::mem::{MemoryChannel, MemoryRecords};
use legalops_core::metrics::{Labels, MetricValue};
use legalops_core::{Error, ManualClock, Result};
use legalops_ops::alerting::notifier::{
    NOTIFICATION_FAILURES_TOTAL, NOTIFICATIONS_TOTAL, Notifier, NotifierConfig, channel_from_url,
};
use legalops_ops::channels::WebhookChannel;
use legalops_ops::metrics::Registry;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-03-04 12:00 UTC); // a Wednesday
const DISK: &str = r#"{}:{alertname="Disk"}"#;

fn secs(n: i64) -> time::Duration {
    time::Duration::seconds(n)
}

fn alert(name: &str, instance: &str, severity: &str, status: AlertStatus) -> Alert {
    let labels: Labels = [
        ("alertname".to_owned(), name.to_owned()),
        ("instance".to_owned(), instance.to_owned()),
        ("severity".to_owned(), severity.to_owned()),
    ]
    .into();
    Alert {
        status,
        fingerprint: fingerprint(&labels),
        labels,
        annotations: BTreeMap::new(),
        starts_at: T0,
        ends_at: (status == AlertStatus::Resolved).then_some(T0 + secs(60)),
        generator_url: String::new(),
    }
}

fn disk(status: AlertStatus) -> Alert {
    alert("Disk", "db-1", "critical", status)
}

/// A notifier over shared records with two memory channels, `a` and `b`.
struct Rig {
    clock: Arc<ManualClock>,
    records: Arc<MemoryRecords>,
    a: Arc<MemoryChannel>,
    b: Arc<MemoryChannel>,
    registry: Registry,
    notifier: Notifier,
}

impl Rig {
    fn new(cfg: NotifierConfig) -> Self {
        Self::over(Arc::new(MemoryRecords::new()), cfg)
    }

    /// A fresh process over existing records (what a restart gives).
    fn over(records: Arc<MemoryRecords>, cfg: NotifierConfig) -> Self {
        let clock = Arc::new(ManualClock::new(T0));
        let (a, b) = (
            Arc::new(MemoryChannel::new()),
            Arc::new(MemoryChannel::new()),
        );
        let registry = Registry::new();
        let notifier = Notifier::new(
            records.clone(),
            vec![
                ("a".to_owned(), a.clone() as Arc<dyn AlertChannel>),
                ("b".to_owned(), b.clone() as Arc<dyn AlertChannel>),
            ],
            cfg,
            clock.clone(),
            Some(registry.clone()),
        )
        .expect("valid notifier");
        Self {
            clock,
            records,
            a,
            b,
            registry,
            notifier,
        }
    }

    /// Processes `alerts` at `T0 + at`; returns (channel, status, ok) per delivery.
    async fn at(&self, at: time::Duration, alerts: &[Alert]) -> Vec<(String, String, bool)> {
        self.clock.set(T0 + at);
        self.notifier
            .process(alerts)
            .await
            .expect("process")
            .into_iter()
            .map(|d| (d.channel, d.status, d.ok))
            .collect()
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let want: Labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.registry
            .snapshot(T0)
            .samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map_or(0, |s| match s.value {
                MetricValue::Counter { value } => value,
                ref other => panic!("{name} is not a counter: {other:?}"),
            })
    }
}

fn sent(status: &str) -> Vec<(String, String, bool)> {
    vec![
        ("a".to_owned(), status.to_owned(), true),
        ("b".to_owned(), status.to_owned(), true),
    ]
}

fn statuses(ch: &MemoryChannel) -> Vec<AlertStatus> {
    ch.sent().iter().map(|n| n.status).collect()
}

#[tokio::test]
async fn a_new_group_waits_group_wait_then_goes_to_every_channel_once() {
    let rig = Rig::new(NotifierConfig::default());
    let firing = [disk(AlertStatus::Firing)];
    assert!(rig.at(secs(0), &firing).await.is_empty());
    assert!(rig.at(secs(29), &firing).await.is_empty());
    assert_eq!(rig.at(secs(30), &firing).await, sent("firing"));
    assert!(rig.at(secs(90), &firing).await.is_empty());
    for ch in [&rig.a, &rig.b] {
        let sent = ch.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].group_key, DISK);
        assert_eq!(sent[0].receiver, "legalops");
        assert_eq!(sent[0].alerts, firing);
    }
    let log = rig.records.deliveries(T0, 10).await.expect("deliveries");
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|d| d.ok && d.attempts == 1 && d.alerts == 1));
    assert!(
        log.iter()
            .all(|d| d.at == T0 + secs(30) && d.group_key == DISK)
    );
    assert_ne!(log[0].id, log[1].id);
    let states = rig.records.group_states().await.expect("states");
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].first_seen_at, T0);
    assert_eq!(states[0].last_notified_at, Some(T0 + secs(30)));
}

#[tokio::test]
async fn a_failing_channel_is_recorded_and_the_others_still_receive() {
    let rig = Rig::new(NotifierConfig::default());
    let firing = [disk(AlertStatus::Firing)];
    rig.at(secs(0), &firing).await;
    rig.a.fail_next(1);
    rig.clock.set(T0 + secs(30));
    let deliveries = rig.notifier.process(&firing).await.expect("process");
    assert_eq!(deliveries.len(), 2);
    let a = &deliveries[0];
    assert_eq!((a.channel.as_str(), a.ok), ("a", false));
    assert!(
        a.error
            .as_deref()
            .is_some_and(|e| e.contains("injected failure"))
    );
    assert!(deliveries[1].ok && deliveries[1].error.is_none());
    assert!(rig.a.sent().is_empty());
    assert_eq!(statuses(&rig.b), [AlertStatus::Firing]);

    // The group counts as notified: no burst of re-sends while `a` is down.
    assert!(rig.at(secs(60), &firing).await.is_empty());
    let firing_labels = [("status", "firing")];
    for (ch, failures) in [("a", 1), ("b", 0)] {
        let labels = [("channel", ch), firing_labels[0]];
        assert_eq!(rig.counter(NOTIFICATIONS_TOTAL, &labels), 1, "{ch}");
        assert_eq!(
            rig.counter(NOTIFICATION_FAILURES_TOTAL, &[("channel", ch)]),
            failures,
            "{ch}"
        );
    }
}

/// Records the (paused) tokio instant of each send, after sleeping `delay`.
#[derive(Debug)]
struct Timed {
    delay: Duration,
    at: Mutex<Vec<tokio::time::Instant>>,
}

impl fmt::Display for Timed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed")
    }
}

#[async_trait]
impl AlertChannel for Timed {
    async fn send(&self, _: &Notification) -> Result<()> {
        tokio::time::sleep(self.delay).await;
        self.at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tokio::time::Instant::now());
        Ok(())
    }

    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_channel_delays_nobody_and_is_cut_off_at_its_deadline() {
    let timed = |secs| {
        Arc::new(Timed {
            delay: Duration::from_secs(secs),
            at: Mutex::new(Vec::new()),
        })
    };
    let (slow, fast, quick) = (timed(60), timed(0), timed(2));
    let cfg = NotifierConfig {
        channel_deadline: Duration::from_secs(5),
        ..NotifierConfig::default()
    };
    let clock = Arc::new(ManualClock::new(T0));
    let notifier = Notifier::new(
        Arc::new(MemoryRecords::new()),
        vec![
            ("slow".to_owned(), slow.clone() as Arc<dyn AlertChannel>),
            ("fast".to_owned(), fast.clone() as Arc<dyn AlertChannel>),
            ("quick".to_owned(), quick.clone() as Arc<dyn AlertChannel>),
        ],
        cfg,
        clock.clone(),
        None,
    )
    .expect("notifier");
    let firing = [disk(AlertStatus::Firing)];
    notifier.process(&firing).await.expect("first sighting");
    clock.set(T0 + secs(30));

    let start = tokio::time::Instant::now();
    let deliveries = notifier.process(&firing).await.expect("process");
    // Sequential sends would take 0 + 2 + 5 s and deliver `fast` after `slow`'s deadline.
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    let first = |t: &Timed| t.at.lock().expect("lock").first().map(|i| *i - start);
    assert_eq!(first(&fast), Some(Duration::ZERO));
    assert_eq!(first(&quick), Some(Duration::from_secs(2)));
    assert_eq!(first(&slow), None);
    let by_name: Vec<(&str, bool)> = deliveries
        .iter()
        .map(|d| (d.channel.as_str(), d.ok))
        .collect();
    assert_eq!(by_name, [("slow", false), ("fast", true), ("quick", true)]);
    assert!(
        deliveries[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("timed out") || e.contains("timeout")),
        "{:?}",
        deliveries[0].error
    );
}

#[tokio::test]
async fn an_unchanged_firing_group_is_repeated_after_repeat_interval() {
    let rig = Rig::new(NotifierConfig::default());
    let firing = [disk(AlertStatus::Firing)];
    rig.at(secs(0), &firing).await;
    assert_eq!(rig.at(secs(30), &firing).await, sent("firing"));
    let four_hours = 4 * 3600;
    assert!(rig.at(secs(30 + four_hours - 1), &firing).await.is_empty());
    assert_eq!(rig.at(secs(30 + four_hours), &firing).await, sent("firing"));
    assert_eq!(rig.a.sent().len(), 2);
}

#[tokio::test]
async fn a_resolution_is_notified_once_and_the_group_dropped() {
    let rig = Rig::new(NotifierConfig::default());
    rig.at(secs(0), &[disk(AlertStatus::Firing)]).await;
    rig.at(secs(30), &[disk(AlertStatus::Firing)]).await;
    let resolved = [disk(AlertStatus::Resolved)];
    assert_eq!(rig.at(secs(600), &resolved).await, sent("resolved"));
    // The next evaluation finds the resolution sent and drops the group.
    assert!(rig.at(secs(630), &resolved).await.is_empty());
    assert!(rig.records.group_states().await.expect("states").is_empty());
    assert!(rig.at(secs(660), &[]).await.is_empty());
    assert_eq!(
        statuses(&rig.a),
        [AlertStatus::Firing, AlertStatus::Resolved]
    );
    assert_eq!(rig.b.sent()[1].alerts[0].ends_at, Some(T0 + secs(60)));
}

#[tokio::test]
async fn a_resolution_inside_group_interval_is_held_until_it_may_be_sent() {
    let rig = Rig::new(NotifierConfig::default());
    rig.at(secs(0), &[disk(AlertStatus::Firing)]).await;
    rig.at(secs(30), &[disk(AlertStatus::Firing)]).await;
    // Reported once, 30 s after the firing notification: group_interval (5 min) holds it.
    assert!(
        rig.at(secs(60), &[disk(AlertStatus::Resolved)])
            .await
            .is_empty()
    );
    assert!(rig.at(secs(120), &[]).await.is_empty());
    assert_eq!(rig.at(secs(330), &[]).await, sent("resolved"));
    assert!(rig.at(secs(400), &[]).await.is_empty());
    assert_eq!(
        statuses(&rig.b),
        [AlertStatus::Firing, AlertStatus::Resolved]
    );
}

#[tokio::test]
async fn an_alert_resolved_inside_group_wait_is_never_sent() {
    let rig = Rig::new(NotifierConfig::default());
    rig.at(secs(0), &[disk(AlertStatus::Firing)]).await;
    assert!(
        rig.at(secs(10), &[disk(AlertStatus::Resolved)])
            .await
            .is_empty()
    );
    assert!(rig.at(secs(40), &[]).await.is_empty());
    assert!(rig.a.sent().is_empty());
    assert!(rig.records.group_states().await.expect("states").is_empty());
}

fn eq(name: &str, value: &str) -> Matcher {
    Matcher {
        name: name.to_owned(),
        op: MatchOp::Equal,
        value: value.to_owned(),
    }
}

#[tokio::test]
async fn a_silence_mutes_and_the_api_says_why_until_it_is_expired() {
    let rig = Rig::new(NotifierConfig::default());
    let silence = rig
        .notifier
        .create_silence(
            vec![eq("instance", "db-1")],
            T0,
            T0 + time::Duration::hours(2),
            "alice",
            "replacing the disk",
        )
        .await
        .expect("silence");
    let firing = [disk(AlertStatus::Firing)];
    for t in [0, 30, 3600] {
        assert!(rig.at(secs(t), &firing).await.is_empty(), "t={t}");
    }
    let muted = rig.notifier.muted(&firing).await.expect("muted");
    assert_eq!(muted.len(), 1);
    assert_eq!(muted[0].fingerprint, firing[0].fingerprint);
    assert_eq!(muted[0].group_key, DISK);
    assert_eq!(
        muted[0].reason,
        MuteReason::Silenced {
            silence_id: silence.id.clone()
        }
    );

    rig.notifier
        .expire_silence(&silence.id)
        .await
        .expect("expire");
    assert!(rig.notifier.muted(&firing).await.expect("muted").is_empty());
    assert!(rig.at(secs(3600), &firing).await.is_empty()); // group_wait from now
    assert_eq!(rig.at(secs(3630), &firing).await, sent("firing"));
}

#[tokio::test]
async fn a_firing_critical_inhibits_the_warning_with_equal_alertname_and_instance() {
    let rig = Rig::new(NotifierConfig::default());
    let critical = alert("Disk", "db-1", "critical", AlertStatus::Firing);
    let warning = alert("Disk", "db-1", "warning", AlertStatus::Firing);
    let other = alert("Disk", "db-2", "warning", AlertStatus::Firing);
    let all = [critical.clone(), warning.clone(), other.clone()];
    rig.at(secs(0), &all).await;
    assert_eq!(rig.at(secs(30), &all).await, sent("firing"));
    assert_eq!(rig.a.sent()[0].alerts, [critical.clone(), other]);
    let muted = rig.notifier.muted(&all).await.expect("muted");
    assert_eq!(muted.len(), 1);
    assert_eq!(muted[0].fingerprint, warning.fingerprint);
    assert_eq!(
        muted[0].reason,
        MuteReason::Inhibited {
            by: critical.fingerprint
        }
    );
}

#[tokio::test]
async fn a_maintenance_window_mutes_while_open() {
    let cfg = NotifierConfig {
        windows: vec![MaintenanceWindow {
            name: "db-maintenance".into(),
            weekdays: vec!["wed".into()],
            start: "11:00".into(),
            end: "13:00".into(),
            timezone: "UTC".into(),
            matchers: vec![eq("instance", "db-1")],
        }],
        ..NotifierConfig::default()
    };
    let rig = Rig::new(cfg);
    let firing = [disk(AlertStatus::Firing)];
    for t in [0, 30, 3599] {
        assert!(rig.at(secs(t), &firing).await.is_empty(), "t={t}");
    }
    let muted = rig.notifier.muted(&firing).await.expect("muted");
    assert_eq!(
        muted[0].reason,
        MuteReason::MaintenanceWindow {
            window: "db-maintenance".into()
        }
    );
    // 13:00: the window has closed; a new group, so group_wait first.
    assert!(rig.at(secs(3600), &firing).await.is_empty());
    assert_eq!(rig.at(secs(3630), &firing).await, sent("firing"));
}

#[tokio::test]
async fn after_a_restart_a_notified_group_is_not_re_sent_and_resolves_exactly_once() {
    let records = Arc::new(MemoryRecords::new());
    let firing = [disk(AlertStatus::Firing)];
    {
        let before = Rig::over(records.clone(), NotifierConfig::default());
        before.at(secs(0), &firing).await;
        assert_eq!(before.at(secs(30), &firing).await, sent("firing"));
    } // the process dies

    let after = Rig::over(records.clone(), NotifierConfig::default());
    for t in [60, 600, 3600, 4 * 3600] {
        assert!(after.at(secs(t), &firing).await.is_empty(), "t={t}");
    }
    let resolved = [disk(AlertStatus::Resolved)];
    assert_eq!(
        after.at(secs(4 * 3600 + 10), &resolved).await,
        sent("resolved")
    );
    assert!(after.at(secs(4 * 3600 + 40), &resolved).await.is_empty());
    assert!(after.at(secs(5 * 3600), &[]).await.is_empty());
    assert_eq!(statuses(&after.a), [AlertStatus::Resolved]);
    assert_eq!(statuses(&after.b), [AlertStatus::Resolved]);
    let log = records.deliveries(T0, 10).await.expect("deliveries");
    let kinds: Vec<&str> = log.iter().map(|d| d.status.as_str()).collect();
    assert_eq!(kinds, ["resolved", "resolved", "firing", "firing"]); // newest first
}

#[tokio::test]
async fn a_restart_inside_group_wait_keeps_counting_from_the_first_sighting() {
    let records = Arc::new(MemoryRecords::new());
    let firing = [disk(AlertStatus::Firing)];
    Rig::over(records.clone(), NotifierConfig::default())
        .at(secs(0), &firing)
        .await;
    let after = Rig::over(records, NotifierConfig::default());
    assert!(after.at(secs(20), &firing).await.is_empty());
    assert_eq!(after.at(secs(30), &firing).await, sent("firing"));
}

#[tokio::test]
async fn bad_channel_names_and_config_are_refused() {
    let records: Arc<MemoryRecords> = Arc::new(MemoryRecords::new());
    let clock = Arc::new(ManualClock::new(T0));
    let ch = || channel_from_url("x", "memory:").expect("memory channel");
    for (channels, key) in [
        (
            vec![("ok".to_owned(), ch()), ("ok".to_owned(), ch())],
            "alerting.channels.ok",
        ),
        (vec![("bad name".to_owned(), ch())], "alerting.channels"),
    ] {
        match Notifier::new(
            records.clone(),
            channels,
            NotifierConfig::default(),
            clock.clone(),
            None,
        ) {
            Err(Error::InvalidConfig { key: got, .. }) => assert_eq!(got, key),
            other => panic!("{key}: {other:?}"),
        }
    }
}

/// The real webhook channel to an HTTP receiver in this test: the payload arrives in
/// Alertmanager's webhook format.
#[tokio::test]
async fn the_webhook_channel_delivers_the_group_to_a_real_receiver() {
    use axum::{Json, Router, routing::post};
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |Json(v): Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    let webhook = WebhookChannel::from_url(&format!("http://{addr}/hook")).expect("webhook");
    let notifier = Notifier::new(
        Arc::new(MemoryRecords::new()),
        vec![(
            "hook".to_owned(),
            Arc::new(webhook) as Arc<dyn AlertChannel>,
        )],
        NotifierConfig {
            route: RouteConfig {
                group_wait: Duration::ZERO, // sent at first sight: nothing to wait for here
                ..RouteConfig::default()
            },
            external_url: "http://legalops.test".into(),
            ..NotifierConfig::default()
        },
        Arc::new(ManualClock::new(T0)),
        None,
    )
    .expect("notifier");
    let firing = [disk(AlertStatus::Firing)];
    let deliveries = notifier.process(&firing).await.expect("process");
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].ok, "{:?}", deliveries[0].error);
    let got = got.lock().expect("lock").clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["version"], "4");
    assert_eq!(got[0]["groupKey"], DISK);
    assert_eq!(got[0]["status"], "firing");
    assert_eq!(got[0]["receiver"], "legalops");
    assert_eq!(got[0]["externalURL"], "http://legalops.test");
    assert_eq!(got[0]["alerts"][0]["labels"]["instance"], "db-1");
    assert_eq!(got[0]["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One evaluation: seconds since the previous one, and the status of each of three
    /// alerts (two in one group, one in another), with `restart` saying whether the
    /// process is replaced (same records) before it.
    #[derive(Debug, Clone)]
    struct Step {
        after: i64,
        statuses: [bool; 3],
        restart: bool,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            prop_oneof![1i64..120, 200i64..400, 3600i64..5 * 3600],
            any::<[bool; 3]>(),
            proptest::bool::weighted(0.2),
        )
            .prop_map(|(after, statuses, restart)| Step {
                after,
                statuses,
                restart,
            })
    }

    /// What each evaluation sent: (step, group, status, alert count) per delivery to `a`.
    fn run(steps: &[Step], restarts: bool) -> Vec<(usize, String, String, u64)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let records = Arc::new(MemoryRecords::new());
            let mut rig = Rig::over(records.clone(), NotifierConfig::default());
            let mut at = 0;
            let mut out = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                if restarts && s.restart {
                    rig = Rig::over(records.clone(), NotifierConfig::default());
                }
                at += s.after;
                let status = |firing: bool| {
                    if firing {
                        AlertStatus::Firing
                    } else {
                        AlertStatus::Resolved
                    }
                };
                let alerts = [
                    alert("Disk", "db-1", "warning", status(s.statuses[0])),
                    alert("Disk", "db-2", "warning", status(s.statuses[1])),
                    alert("Cpu", "app-1", "warning", status(s.statuses[2])),
                ];
                rig.clock.set(T0 + secs(at));
                let sent = rig.notifier.process(&alerts).await.expect("process");
                out.extend(
                    sent.into_iter()
                        .filter(|d| d.channel == "a")
                        .map(|d| (i, d.group_key, d.status, d.alerts)),
                );
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The issue's restart promise, generalised: replacing the process at any points
        /// sends exactly what one uninterrupted process sends, and no group's first
        /// notification is a resolution.
        #[test]
        fn restarts_change_nothing_that_is_sent(steps in proptest::collection::vec(step(), 1..30)) {
            let straight = run(&steps, false);
            let restarted = run(&steps, true);
            prop_assert_eq!(&straight, &restarted);
            let mut seen = std::collections::HashSet::new();
            for (_, group, status, _) in &straight {
                if seen.insert(group.clone()) {
                    prop_assert_eq!(status.as_str(), "firing");
                }
            }
        }
    }
}
