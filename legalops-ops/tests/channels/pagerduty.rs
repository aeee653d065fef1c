//! PagerDutyChannel and PagerDutyTracker against the in-test receiver speaking Events API
//! v2: exact trigger and resolve events, dedup keys within 255 bytes, retries of 429 and
//! 500, no retry of 400, the tracker's conformance suite, and the routing key kept secret.

use std::time::Duration;

use legalops_core::alerts::{AlertChannel, AlertStatus};
use legalops_core::conformance;
use legalops_core::incidents::IncidentTracker;
use legalops_ops::channels::{PagerDutyChannel, deliver};
use legalops_ops::incidents::PagerDutyTracker;
use serde_json::json;
use tokio::time::Instant;

use crate::fixtures::{alert, firing, group};
use crate::receiver::{Accept, Receiver};

const KEY: &str = "R0UT1NGKEYs3cretR0UT1NGKEYs3cret";

fn channel(rx: &Receiver) -> PagerDutyChannel {
    PagerDutyChannel::builder(KEY)
        .base_url(&rx.base)
        .build()
        .expect("valid config")
}

#[tokio::test]
async fn a_firing_group_triggers_and_a_resolved_group_resolves_with_the_group_key() {
    let rx = Receiver::start(Accept::PagerDuty).await;
    let ch = channel(&rx);
    let n = firing();
    ch.send(&n).await.expect("trigger accepted");
    ch.send(&group(vec![alert("api-1", AlertStatus::Resolved)]))
        .await
        .expect("resolve accepted");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs.iter()
            .all(|r| r.path == "/v2/enqueue" && r.method == "POST")
    );
    let details_alert = |instance: &str| {
        json!({
            "status": "firing",
            "labels": { "alertname": "HighErrorRate", "severity": "critical", "instance": instance },
            "annotations": {
                "summary": "5xx error rate 7.5% over 5 m",
                "runbook_url": "https://runbooks.example/high-error-rate",
            },
            "startsAt": "2026-03-01T12:00:00Z",
        })
    };
    assert_eq!(
        reqs[0].json(),
        json!({
            "routing_key": KEY,
            "event_action": "trigger",
            "dedup_key": "{}:{alertname=\"HighErrorRate\"}",
            "client": "LegalOps",
            "client_url": "http://legalops.local",
            "payload": {
                "summary": "[FIRING:2] HighErrorRate (critical): 5xx error rate 7.5% over 5 m",
                "source": "legalops",
                "severity": "critical",
                "timestamp": "2026-03-01T12:00:00Z",
                "class": "HighErrorRate",
                "custom_details": {
                    "num_firing": 2,
                    "num_resolved": 0,
                    "group_key": "{}:{alertname=\"HighErrorRate\"}",
                    "receiver": "ops",
                    "group_labels": { "alertname": "HighErrorRate" },
                    "common_labels": { "alertname": "HighErrorRate", "severity": "critical" },
                    "common_annotations": {
                        "summary": "5xx error rate 7.5% over 5 m",
                        "runbook_url": "https://runbooks.example/high-error-rate",
                    },
                    "alerts": [details_alert("api-1"), details_alert("api-2")],
                },
            },
        })
    );
    assert_eq!(
        reqs[1].json(),
        json!({
            "routing_key": KEY,
            "event_action": "resolve",
            "dedup_key": "{}:{alertname=\"HighErrorRate\"}",
        })
    );
}

#[tokio::test]
async fn a_long_group_key_is_cut_to_255_bytes_and_a_long_summary_to_1024() {
    let rx = Receiver::start(Accept::PagerDuty).await;
    let ch = channel(&rx);
    let mut n = firing();
    n.group_key = format!("{{}}:{{alertname=\"{}\"}}", "é".repeat(300));
    n.common_annotations
        .insert("summary".into(), "x".repeat(2000));
    ch.send(&n).await.expect("accepted");
    let event = rx.requests()[0].json();
    let key = event["dedup_key"].as_str().expect("a dedup key");
    assert!(key.len() <= 255, "{}", key.len());
    assert_eq!(key, legalops_ops::channels::dedup_key(&n.group_key));
    let summary = event["payload"]["summary"].as_str().expect("a summary");
    assert!(
        summary.len() <= 1024 && summary.ends_with('…'),
        "{}",
        summary.len()
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_and_a_500_are_retried_and_a_400_is_not() {
    let rx = Receiver::start(Accept::PagerDuty).await;
    rx.fail_next(1, 500, None, "");
    rx.fail_next(1, 429, None, "");
    let ch = channel(&rx);
    let start = Instant::now();
    let (result, attempts) = deliver(&ch, &firing()).await;
    result.expect("accepted on the third attempt");
    assert_eq!(attempts, 3);
    assert_eq!(start.elapsed(), Duration::from_millis(1500));

    let body = format!(
        r#"{{"status":"invalid event","message":"Event object is invalid","errors":["routing_key {KEY} unknown"]}}"#
    );
    rx.fail_next(1, 400, None, &body);
    let (result, attempts) = deliver(&ch, &firing()).await;
    let err = result.expect_err("refused");
    assert_eq!(attempts, 1);
    assert_eq!(rx.requests().len(), 4);
    let shown = format!("{err} {err:?} {ch} {ch:?}");
    assert!(shown.contains("Event object is invalid"), "{shown}");
    assert!(!shown.contains("s3cret"), "the routing key leaked: {shown}");
}

#[tokio::test]
async fn the_tracker_passes_the_write_only_conformance_suite() {
    let rx = Receiver::start(Accept::PagerDuty).await;
    let tracker = PagerDutyTracker::builder(KEY)
        .base_url(&rx.base)
        .build()
        .expect("valid config");
    conformance::incident_tracker(&tracker, false).await;
    // Invalid triggers never reach PagerDuty; the valid ones arrive in order.
    let actions: Vec<_> = rx
        .requests()
        .iter()
        .map(|r| {
            let v = r.json();
            assert_eq!(v["routing_key"], KEY);
            v["event_action"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(actions, ["trigger", "acknowledge", "resolve"]);
    let trigger = rx.requests()[0].json();
    assert_eq!(trigger["payload"]["severity"], "warning");
    assert_eq!(trigger["payload"]["source"], "legalops-conformance");
    assert_eq!(trigger["payload"]["component"], "conformance");
    assert_eq!(
        trigger["payload"]["custom_details"]["suite"],
        "incident_tracker"
    );
    assert!(!format!("{tracker} {tracker:?}").contains("s3cret"));
}

#[tokio::test]
async fn a_tracker_trigger_returns_a_receipt_with_the_echoed_key() {
    let rx = Receiver::start(Accept::PagerDuty).await;
    let tracker = PagerDutyTracker::builder(KEY)
        .base_url(&rx.base)
        .build()
        .expect("valid config");
    let at = crate::fixtures::STARTS;
    let inc = tracker
        .trigger(&legalops_core::incidents::Trigger {
            dedup_key: "db-down".into(),
            summary: "database unreachable".into(),
            source: "api-1".into(),
            severity: legalops_core::incidents::IncidentSeverity::Sev1,
            component: None,
            details: serde_json::Value::Null,
            at,
        })
        .await
        .expect("accepted");
    assert_eq!(
        (inc.id.as_str(), inc.dedup_key.as_str()),
        ("db-down", "db-down")
    );
    assert_eq!(
        inc.status,
        legalops_core::incidents::IncidentStatus::Triggered
    );
    assert_eq!((inc.opened_at, inc.trigger_count), (at, 1));
    let event = rx.requests()[0].json();
    assert_eq!(event["payload"]["severity"], "critical");
    assert_eq!(event["payload"]["custom_details"], json!({}));
    assert!(event["payload"].get("component").is_none());
}
