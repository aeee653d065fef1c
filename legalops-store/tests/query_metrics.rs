//! Records backends report every query to the `metrics` facade: a duration histogram per
//! operation, and an error counter per operation when a query fails.

use std::sync::{Arc, Mutex};

use legalops_store::{ConnectOptions, connect};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// Remembers which series were touched, as `name{label=value,...}`.
#[derive(Debug, Default, Clone)]
struct Touched(Arc<Mutex<Vec<String>>>);

impl Touched {
    fn note(&self, key: &Key) {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let series = format!("{}{{{}}}", key.name(), labels.join(","));
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(series);
    }

    fn has(&self, series: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|s| s == series)
    }
}

impl Recorder for Touched {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.note(key);
        Counter::noop()
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.note(key);
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.note(key);
        Histogram::noop()
    }
}

#[test]
fn queries_emit_duration_histograms_and_error_counters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.db");
    let touched = Touched::default();
    // A current-thread runtime keeps every poll on this thread, where the local recorder is.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    metrics::with_local_recorder(&touched, || {
        rt.block_on(async {
            let rw = format!("sqlite://{}", path.display());
            let records = connect(&rw, ConnectOptions::default())
                .await
                .expect("connect");
            records.settings.get_setting("k").await.expect("get");
            drop(records);
            // Read-only: the migrations are already there, but every write fails.
            let ro = format!("sqlite://{}?mode=ro", path.display());
            let records = connect(&ro, ConnectOptions::default())
                .await
                .expect("connect ro");
            let err = records.settings.put_setting("k", "v").await.err();
            assert!(err.is_some(), "writing a read-only database fails");
        });
    });
    assert!(touched.has("legalops_db_query_duration_seconds{operation=settings.get}"));
    assert!(touched.has("legalops_db_query_duration_seconds{operation=settings.put}"));
    assert!(touched.has("legalops_db_errors_total{operation=settings.put}"));
    assert!(!touched.has("legalops_db_errors_total{operation=settings.get}"));
}
