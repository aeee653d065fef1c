//! `LogChannel`: the default alert channel, writing each notification as one structured
//! tracing event, so that a platform with no channel configured still leaves a record of
//! every alert in its logs.

use std::fmt;

use async_trait::async_trait;
use legalops_core::Result;
use legalops_core::alerts::{AlertChannel, AlertStatus, Notification};

/// Logs notifications: `warn` while firing, `info` when resolved. Never fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogChannel;

impl LogChannel {
    /// A log channel.
    pub fn new() -> Self {
        Self
    }
}

impl fmt::Display for LogChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("log")
    }
}

/// `alertname[severity]` of each alert, for a line a human can scan.
fn summary(n: &Notification) -> String {
    n.alerts
        .iter()
        .map(|a| {
            let name = a.labels.get("alertname").map_or("unnamed", String::as_str);
            match a.labels.get("severity") {
                Some(sev) => format!("{name}[{sev}]"),
                None => name.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl AlertChannel for LogChannel {
    async fn send(&self, n: &Notification) -> Result<()> {
        // The full alerts as JSON keep labels and annotations for log-based tooling.
        let alerts = serde_json::to_string(&n.alerts).unwrap_or_default();
        let summary = summary(n);
        match n.status {
            AlertStatus::Firing => tracing::warn!(
                receiver = %n.receiver,
                group_key = %n.group_key,
                status = "firing",
                count = n.alerts.len(),
                alerts = %alerts,
                "alert firing: {summary}"
            ),
            AlertStatus::Resolved => tracing::info!(
                receiver = %n.receiver,
                group_key = %n.group_key,
                status = "resolved",
                count = n.alerts.len(),
                alerts = %alerts,
                "alert resolved: {summary}"
            ),
        }
        Ok(())
    }

    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::alerts::{Alert, fingerprint};
    use legalops_core::metrics::Labels;
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use time::macros::datetime;

    /// Collects what the fmt subscriber writes.
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

    fn notification(status: AlertStatus) -> Notification {
        let labels: Labels = [
            ("alertname".to_owned(), "DiskFull".to_owned()),
            ("severity".to_owned(), "critical".to_owned()),
        ]
        .into();
        let alert = Alert {
            status,
            fingerprint: fingerprint(&labels),
            labels,
            annotations: Default::default(),
            starts_at: datetime!(2026-01-01 0:00 UTC),
            ends_at: None,
            generator_url: String::new(),
        };
        Notification::new("ops", "g1", Labels::new(), "http://localhost", vec![alert])
    }

    fn logged(n: &Notification) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let rt = tokio::runtime::Builder::new_current_thread().build();
        tracing::subscriber::with_default(subscriber, || {
            if let Ok(rt) = rt {
                let sent = rt.block_on(LogChannel.send(n));
                assert!(sent.is_ok());
            }
        });
        let bytes = out.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn firing_is_one_warn_event_with_the_alerts() {
        let text = logged(&notification(AlertStatus::Firing));
        assert_eq!(text.lines().count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["fields"]["message"], "alert firing: DiskFull[critical]");
        assert_eq!(v["fields"]["group_key"], "g1");
        assert!(
            v["fields"]["alerts"]
                .as_str()
                .unwrap_or_default()
                .contains("DiskFull")
        );
    }

    #[test]
    fn resolved_is_an_info_event() {
        let text = logged(&notification(AlertStatus::Resolved));
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["fields"]["status"], "resolved");
        assert_eq!(LogChannel.to_string(), "log");
    }
}
