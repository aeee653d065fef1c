//! Conformance of [`MetricsSink`]: accepts every value kind, awkward labels, empty and
//! repeated snapshots.

use time::{Duration, OffsetDateTime};

use super::{check, ok};
use crate::metrics::{Labels, MetricValue, MetricsSink, MetricsSnapshot, Sample};

fn sample(name: &str, labels: &[(&str, &str)], value: MetricValue) -> Sample {
    let labels: Labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

fn snapshot(at: OffsetDateTime, scale: u64) -> MetricsSnapshot {
    let samples = vec![
        sample(
            "legalops_conformance_requests_total",
            &[("route", "/api/x"), ("status", "200")],
            MetricValue::Counter { value: 10 * scale },
        ),
        sample(
            "legalops_conformance_requests_total",
            &[("route", "/api/x"), ("status", "500")],
            MetricValue::Counter { value: scale },
        ),
        sample(
            "legalops_conformance_temperature",
            &[],
            MetricValue::Gauge {
                value: -3.25 * scale as f64,
            },
        ),
        // Values a text exposition must escape, and non-ASCII.
        sample(
            "legalops_conformance_labels",
            &[
                ("quote", "say \"hi\""),
                ("backslash", "C:\\dir"),
                ("newline", "a\nb"),
                ("unicode", "ünï ✓"),
            ],
            MetricValue::Gauge { value: 1.0 },
        ),
        sample(
            "legalops_conformance_latency_seconds",
            &[("route", "/api/x")],
            MetricValue::Histogram {
                count: 4 * scale,
                sum: 0.75 * scale as f64,
                buckets: vec![(0.05, scale), (0.1, 2 * scale), (0.5, 4 * scale)],
            },
        ),
        sample(
            "legalops_conformance_empty_seconds",
            &[],
            MetricValue::Histogram {
                count: 0,
                sum: 0.0,
                buckets: vec![],
            },
        ),
    ];
    MetricsSnapshot { at, samples }
}

/// Checks a [`MetricsSink`]: healthy, and accepts an empty snapshot, every value kind
/// (counter, gauge, histogram with and without buckets), label values that need escaping,
/// the same snapshot twice (a retried write), and a later snapshot with grown counters.
///
/// Writes only series named `legalops_conformance_*`, stamped with the current time (to the
/// second), so that a real sink keeps them apart from real series.
pub async fn metrics_sink(sink: &dyn MetricsSink) {
    let name = sink.to_string();
    let name = name.as_str();
    check(name, !name.is_empty(), "Display names the sink", name);
    ok(name, "healthcheck", sink.healthcheck().await);

    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let empty = MetricsSnapshot {
        at: now,
        samples: Vec::new(),
    };
    ok(name, "write of an empty snapshot", sink.write(&empty).await);

    let first = snapshot(now, 1);
    ok(
        name,
        "write of a snapshot with every value kind",
        sink.write(&first).await,
    );
    ok(
        name,
        "write of the same snapshot again (a retry)",
        sink.write(&first).await,
    );
    ok(
        name,
        "write of a later snapshot",
        sink.write(&snapshot(now + Duration::seconds(1), 2)).await,
    );

    ok(name, "healthcheck after writes", sink.healthcheck().await);
}
