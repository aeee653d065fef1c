//! AlertmanagerChannel against a real Alertmanager (Debian's prometheus-alertmanager,
//! address in LEGALOPS_TEST_ALERTMANAGER_URL): a firing alert is listed by its API with
//! our labels; once sent resolved it is no longer active.

use legalops_core::alerts::{AlertChannel, AlertStatus};
use legalops_ops::channels::AlertmanagerChannel;
use serde_json::Value;

use crate::fixtures::{alert, group, service};

/// The alerts Alertmanager lists as active (resolved ones are left out) for `run`.
async fn listed(base: &str, run: &str) -> Vec<Value> {
    let mut url = reqwest::Url::parse(&format!("{}/api/v2/alerts", base.trim_end_matches('/')))
        .expect("a valid Alertmanager URL");
    url.query_pairs_mut()
        .append_pair("filter", &format!("run=\"{run}\""));
    let resp = reqwest::Client::new()
        .get(url)
        .send()
        .await
        .expect("Alertmanager answers");
    assert!(resp.status().is_success(), "{}", resp.status());
    let v: Value = resp.json().await.expect("JSON");
    v.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_real_alertmanager_lists_our_alert_until_it_is_resolved() {
    let Some(base) = service("LEGALOPS_TEST_ALERTMANAGER_URL", "the Alertmanager channel") else {
        return;
    };
    let ch = AlertmanagerChannel::from_url(&base).expect("valid config");
    ch.healthcheck().await.expect("Alertmanager is healthy");
    let run = uuid::Uuid::new_v4().simple().to_string();
    let with_run = |status| {
        let mut a = alert("api-1", status);
        a.labels.insert("run".into(), run.clone());
        a.fingerprint = legalops_core::alerts::fingerprint(&a.labels);
        // Alertmanager dates the alert by startsAt; keep it recent and before now.
        a.starts_at = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
        a.ends_at = None;
        a
    };

    ch.send(&group(vec![with_run(AlertStatus::Firing)]))
        .await
        .expect("Alertmanager takes the firing alert");
    let alerts = listed(&base, &run).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["labels"]["alertname"], "HighErrorRate");
    assert_eq!(a["labels"]["severity"], "critical");
    assert_eq!(a["labels"]["instance"], "api-1");
    assert_eq!(a["labels"]["run"], run.as_str());
    assert_eq!(a["annotations"]["summary"], "5xx error rate 7.5% over 5 m");
    assert_eq!(
        a["generatorURL"],
        "http://legalops.local/alerts/HighErrorRate"
    );
    let state = a["status"]["state"].as_str().unwrap_or_default();
    assert!(matches!(state, "active" | "unprocessed"), "{state}");

    ch.send(&group(vec![with_run(AlertStatus::Resolved)]))
        .await
        .expect("Alertmanager takes the resolved alert");
    let alerts = listed(&base, &run).await;
    assert!(alerts.is_empty(), "still active after resolve: {alerts:?}");
}
