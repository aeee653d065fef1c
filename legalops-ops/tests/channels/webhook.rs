//! WebhookChannel against the in-test receiver: the exact Alertmanager v4 payload, the
//! conformance suite, retries of 500 and 429 under paused time, no retry of 400, and no
//! secret in errors or names.

use std::time::Duration;

use legalops_core::alerts::{AlertChannel, Notification};
use legalops_core::conformance;
use legalops_ops::channels::{WebhookChannel, deliver};
use serde_json::json;
use tokio::time::Instant;

use crate::fixtures::{alert, firing, group};
use crate::receiver::{Accept, Receiver};
use legalops_core::alerts::AlertStatus;

const SECRET_PATH: &str = "/hooks/T0KEN-5ecret-path";

#[tokio::test]
async fn posts_the_alertmanager_v4_payload_exactly() {
    let rx = Receiver::start(Accept::Ok).await;
    let ch = WebhookChannel::builder(rx.url(SECRET_PATH))
        .bearer_token("bearer-5ecret")
        .build()
        .expect("valid config");
    let n = group(vec![
        alert("api-1", AlertStatus::Firing),
        alert("api-2", AlertStatus::Resolved),
    ]);
    ch.send(&n).await.expect("delivered");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", SECRET_PATH));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("authorization"), Some("Bearer bearer-5ecret"));
    let alert_json = |instance: &str, status: &str, ends: &str, fp: &str| {
        json!({
            "status": status,
            "labels": { "alertname": "HighErrorRate", "severity": "critical", "instance": instance },
            "annotations": {
                "summary": "5xx error rate 7.5% over 5 m",
                "runbook_url": "https://runbooks.example/high-error-rate",
            },
            "startsAt": "2026-03-01T12:00:00Z",
            "endsAt": ends,
            "generatorURL": "http://legalops.local/alerts/HighErrorRate",
            "fingerprint": fp,
        })
    };
    assert_eq!(
        r.json(),
        json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"HighErrorRate\"}",
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "ops",
            "groupLabels": { "alertname": "HighErrorRate" },
            "commonLabels": { "alertname": "HighErrorRate", "severity": "critical" },
            "commonAnnotations": {
                "summary": "5xx error rate 7.5% over 5 m",
                "runbook_url": "https://runbooks.example/high-error-rate",
            },
            "externalURL": "http://legalops.local",
            "alerts": [
                alert_json("api-1", "firing", "0001-01-01T00:00:00Z", &n.alerts[0].fingerprint),
                alert_json("api-2", "resolved", "2026-03-01T12:20:00Z", &n.alerts[1].fingerprint),
            ],
        })
    );
}

#[tokio::test]
async fn passes_the_alert_channel_conformance_suite() {
    let rx = Receiver::start(Accept::Ok).await;
    let ch = WebhookChannel::from_url(&rx.url("/alertmanager-webhook")).expect("valid config");
    let delivered = || {
        rx.requests()
            .iter()
            .map(|r| {
                let mut v = r.json();
                // Alertmanager's zero time means "no end yet": back to `None`.
                for a in v["alerts"].as_array_mut().into_iter().flatten() {
                    if a["endsAt"] == "0001-01-01T00:00:00Z" {
                        a["endsAt"] = serde_json::Value::Null;
                    }
                }
                serde_json::from_value::<Notification>(v).expect("decodes as a Notification")
            })
            .collect()
    };
    conformance::alert_channel(&ch, &delivered).await;
}

#[tokio::test(start_paused = true)]
async fn a_500_is_retried_with_backoff_until_accepted() {
    let rx = Receiver::start(Accept::Ok).await;
    rx.fail_next(2, 500, None, "upstream down");
    let ch = WebhookChannel::from_url(&rx.url("/hook")).expect("valid config");
    let start = Instant::now();
    let (result, attempts) = deliver(&ch, &firing()).await;
    result.expect("delivered on the third attempt");
    assert_eq!(attempts, 3);
    assert_eq!(rx.requests().len(), 3);
    // 0.5 s after the first failure, 1 s after the second.
    assert_eq!(start.elapsed(), Duration::from_millis(1500));
    let bodies: Vec<_> = rx.requests().iter().map(|r| r.json()).collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every attempt sends the same payload"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_as_long_as_retry_after_says() {
    let rx = Receiver::start(Accept::Ok).await;
    rx.fail_next(1, 429, Some("3"), "slow down");
    let ch = WebhookChannel::from_url(&rx.url("/hook")).expect("valid config");
    let start = Instant::now();
    let (result, attempts) = deliver(&ch, &firing()).await;
    result.expect("delivered after the wait");
    assert_eq!((attempts, rx.requests().len()), (2, 2));
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn retries_stop_after_four_attempts_with_the_last_error() {
    let rx = Receiver::start(Accept::Ok).await;
    rx.fail_next(10, 503, None, "");
    let ch = WebhookChannel::from_url(&rx.url("/hook")).expect("valid config");
    let (result, attempts) = deliver(&ch, &firing()).await;
    let err = result.expect_err("never accepted");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    assert_eq!((attempts, rx.requests().len()), (4, 4));
}

#[tokio::test(start_paused = true)]
async fn a_400_is_final_and_no_secret_reaches_the_error() {
    let rx = Receiver::start(Accept::Ok).await;
    // A receiver that echoes the request line must not leak the secret path through us.
    rx.fail_next(
        1,
        400,
        None,
        &format!("bad payload for POST {SECRET_PATH} bearer-5ecret"),
    );
    let ch = WebhookChannel::builder(rx.url(SECRET_PATH))
        .bearer_token("bearer-5ecret")
        .build()
        .expect("valid config");
    let (result, attempts) = deliver(&ch, &firing()).await;
    let err = result.expect_err("refused");
    assert!(!err.is_retryable());
    assert_eq!((attempts, rx.requests().len()), (1, 1));
    let shown = format!("{err} {err:?} {ch} {ch:?}");
    assert!(shown.contains("HTTP 400"), "{shown}");
    for secret in ["T0KEN-5ecret", "bearer-5ecret"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_the_healthcheck_without_leaking_the_path() {
    let rx = Receiver::start(Accept::Ok).await;
    let ch = WebhookChannel::from_url(&rx.url(SECRET_PATH)).expect("valid config");
    ch.healthcheck().await.expect("the receiver is reachable");
    // A port nothing listens on: bind one, learn it, close it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let ch = WebhookChannel::builder(format!("http://{closed}{SECRET_PATH}"))
        .retry(legalops_ops::channels::RetryPolicy::none())
        .build()
        .expect("valid config");
    let health = ch.healthcheck().await.expect_err("nothing listens");
    let sent = ch.send(&firing()).await.expect_err("nothing listens");
    assert!(sent.is_retryable(), "a refused connection may pass: {sent}");
    let shown = format!("{health} {sent} {sent:?}");
    assert!(!shown.contains("T0KEN"), "{shown}");
}
