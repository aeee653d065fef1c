//! This crate's backends run the shared conformance suites of `legalops-core`, exactly as a
//! user's backend would: the rollup sink as a `MetricsSink`, the log channel as an
//! `AlertChannel` (its deliveries read back from the log it writes).

use std::io::Write;
use std::sync::{Arc, Mutex};

use legalops_core::alerts::{Alert, Notification};
use legalops_core::conformance;
use legalops_core::mem::MemoryRecords;
use legalops_core::metrics::Labels;
use legalops_ops::channels::LogChannel;
use legalops_ops::metrics::RollupSink;

#[tokio::test]
async fn rollup_sink_passes_the_metrics_sink_suite() {
    let sink = RollupSink::new(Arc::new(MemoryRecords::new()));
    conformance::metrics_sink(&sink).await;
}

/// Collects what the JSON log subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Decodes the notifications the log channel logged, one per JSON line.
fn decode(log: &Captured) -> Vec<Notification> {
    let bytes = log.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| {
            let f = &v["fields"];
            let alerts: Vec<Alert> = serde_json::from_str(f["alerts"].as_str()?).ok()?;
            let mut n = Notification::new(
                f["receiver"].as_str()?,
                f["group_key"].as_str()?,
                Labels::new(),
                "",
                alerts,
            );
            n.status = serde_json::from_value(f["status"].clone()).ok()?;
            Some(n)
        })
        .collect()
}

#[tokio::test]
async fn log_channel_passes_the_alert_channel_suite() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded, so a thread-local default sees every event.
    let _guard = tracing::subscriber::set_default(subscriber);
    let delivered = move || decode(&log);
    conformance::alert_channel(&LogChannel::new(), &delivered).await;
}
