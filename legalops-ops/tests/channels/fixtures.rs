//! Notifications the channel tests send, and the skip rule for tests that need a service.

use std::collections::BTreeMap;

use legalops_core::alerts::{Alert, AlertStatus, Notification, fingerprint};
use legalops_core::metrics::Labels;
use time::OffsetDateTime;
use time::macros::datetime;

pub const STARTS: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn alert(instance: &str, status: AlertStatus) -> Alert {
    let labels = labels(&[
        ("alertname", "HighErrorRate"),
        ("severity", "critical"),
        ("instance", instance),
    ]);
    let annotations: BTreeMap<String, String> = [
        (
            "summary".to_owned(),
            "5xx error rate 7.5% over 5 m".to_owned(),
        ),
        (
            "runbook_url".to_owned(),
            "https://runbooks.example/high-error-rate".to_owned(),
        ),
    ]
    .into();
    Alert {
        status,
        fingerprint: fingerprint(&labels),
        labels,
        annotations,
        starts_at: STARTS,
        ends_at: (status == AlertStatus::Resolved).then_some(datetime!(2026-03-01 12:20:00 UTC)),
        generator_url: "http://legalops.local/alerts/HighErrorRate".to_owned(),
    }
}

/// The group `HighErrorRate` with the given alerts.
pub fn group(alerts: Vec<Alert>) -> Notification {
    Notification::new(
        "ops",
        "{}:{alertname=\"HighErrorRate\"}",
        labels(&[("alertname", "HighErrorRate")]),
        "http://legalops.local",
        alerts,
    )
}

/// Two firing alerts of one group.
pub fn firing() -> Notification {
    group(vec![
        alert("api-1", AlertStatus::Firing),
        alert("api-2", AlertStatus::Firing),
    ])
}

/// The service address in `var`, or `None` after printing why the test is skipped; under
/// `CI=true` a missing address fails the test instead (a skip in CI is a failure).
pub fn service(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "{var} is not set under CI=true: {what} cannot be tested (scripts/test-services.sh starts it)"
            );
            eprintln!(
                "skipped: {var} is not set, so {what} is not tested (source scripts/test-services.sh and run start_test_services)"
            );
            None
        }
    }
}
