//! Conformance of [`AlertChannel`]: what is sent arrives, once, in order, with its group,
//! status and alerts intact, as seen by the receiver.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::{check, ok, unique};
use crate::alerts::{Alert, AlertChannel, AlertStatus, Notification, fingerprint};
use crate::metrics::Labels;

fn alert(run: &str, instance: &str, status: AlertStatus, at: OffsetDateTime) -> Alert {
    let labels: Labels = [
        ("alertname", "LegalOpsConformance"),
        ("severity", "warning"),
        ("instance", instance),
        ("run", run),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let annotations: BTreeMap<String, String> = [
        (
            "summary".to_owned(),
            "Conformance check: \"quotes\", <angle> & ünïcödé ✓".to_owned(),
        ),
        ("description".to_owned(), "line one\nline two".to_owned()),
    ]
    .into();
    Alert {
        status,
        fingerprint: fingerprint(&labels),
        labels,
        annotations,
        starts_at: at,
        ends_at: (status == AlertStatus::Resolved).then_some(at + Duration::minutes(5)),
        generator_url: "http://localhost/conformance".to_owned(),
    }
}

/// Checks an [`AlertChannel`]: healthy; a firing and then a resolved notification are both
/// delivered, each exactly once and in order, and the receiver sees each one's `group_key`
/// and `status` and, per alert, its `status` and `labels`.
///
/// `delivered` returns what the receiver got so far, decoded back into [`Notification`]s:
/// a recording channel returns its record; a network channel's test returns what its fake
/// receiver parsed (a lossy format must decode at least the fields above). Each run uses a
/// unique group key, so earlier deliveries to a shared receiver do not matter.
pub async fn alert_channel(
    channel: &dyn AlertChannel,
    delivered: &(dyn Fn() -> Vec<Notification> + Send + Sync),
) {
    let name = channel.to_string();
    let name = name.as_str();
    check(name, !name.is_empty(), "Display names the channel", name);
    ok(name, "healthcheck", channel.healthcheck().await);

    let run = unique();
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let group_labels: Labels = [("alertname".to_owned(), "LegalOpsConformance".to_owned())].into();
    let group_key = format!("{{}}:{{alertname=\"LegalOpsConformance\", run=\"{run}\"}}");
    let firing = Notification::new(
        "conformance",
        group_key.clone(),
        group_labels.clone(),
        "http://localhost",
        vec![
            alert(&run, "a", AlertStatus::Firing, now),
            alert(&run, "b", AlertStatus::Firing, now),
        ],
    );
    let resolved = Notification::new(
        "conformance",
        group_key.clone(),
        group_labels,
        "http://localhost",
        vec![
            alert(&run, "a", AlertStatus::Resolved, now),
            alert(&run, "b", AlertStatus::Firing, now),
        ],
    );
    let mut all_resolved = resolved.clone();
    all_resolved
        .alerts
        .iter_mut()
        .for_each(|a| a.status = AlertStatus::Resolved);
    all_resolved.status = AlertStatus::Resolved;

    let sent = [firing, resolved, all_resolved];
    for n in &sent {
        ok(
            name,
            format!("send of a {:?} notification", n.status),
            channel.send(n).await,
        );
    }

    let ours: Vec<Notification> = delivered()
        .into_iter()
        .filter(|n| n.group_key == group_key)
        .collect();
    check(
        name,
        ours.len() == sent.len(),
        "each notification is delivered exactly once",
        ours.len(),
    );
    for (i, (got, want)) in ours.iter().zip(&sent).enumerate() {
        let what = format_args!("delivery {i} (in send order)");
        check(
            name,
            got.status == want.status,
            format_args!("{what} keeps the status"),
            got.status,
        );
        let alerts = |n: &Notification| {
            n.alerts
                .iter()
                .map(|a| (a.status, a.labels.clone()))
                .collect::<Vec<_>>()
        };
        check(
            name,
            alerts(got) == alerts(want),
            format_args!("{what} keeps each alert's status and labels"),
            alerts(got),
        );
    }
    ok(name, "healthcheck after sends", channel.healthcheck().await);
}
