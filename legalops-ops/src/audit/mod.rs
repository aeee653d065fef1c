//! The audit engine: the one way the platform writes its audit trail.
//!
//! [`Auditor::record`] makes every entry safe before it reaches the [`AuditLog`] (secrets
//! redacted by field name at every depth, control characters escaped, overlong values cut;
//! see [`sanitize`]), counts it, and logs a failed write without the entry's contents. A
//! failed write is returned to the caller, who decides: a security decision (a block, a
//! denial) still takes effect when its audit entry cannot be written.
//!
//! [`Auditor::checkpoint`] takes Merkle checkpoints over the log (RFC 6962 hashing),
//! [`Auditor::verify`] recomputes the chain and the checkpoints and names the first entry
//! that was altered, and [`Auditor::inclusion_proof`] / [`Auditor::consistency_proof`]
//! give an outside auditor what they need to check the log with core's pure functions.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use legalops_core::audit::{AuditEntry, AuditLog, NewAuditEntry, Outcome};
use legalops_core::{Result, SharedClock};
use serde::Serialize;
use serde_json::{Map, Value};

mod checkpoint;
pub mod sanitize;
#[cfg(test)]
mod testlog;
mod verify;

pub use checkpoint::{ConsistencyProof, InclusionProof, spawn_checkpointer};

/// Counter of audit entries written, labelled [`LABEL_OUTCOME`].
pub const AUDIT_ENTRIES_TOTAL: &str = "legalops_audit_entries_total";
/// Counter of audit entries that could not be written.
pub const AUDIT_ERRORS_TOTAL: &str = "legalops_audit_errors_total";
/// Label: the entry's outcome (`success`, `failure`, `denied`).
pub const LABEL_OUTCOME: &str = "outcome";

/// Where a request came from, as the audit trail and the login guard see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    /// Client address (canonical: an IPv4-mapped IPv6 address is given as IPv4).
    pub ip: IpAddr,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// The request's id (the `x-request-id` the server assigned or accepted).
    pub request_id: Option<String>,
}

impl RequestMeta {
    /// A request from `ip` with no user agent or request id; IPv4-mapped IPv6 becomes
    /// IPv4 so that one client is one address everywhere.
    pub fn new(ip: IpAddr) -> Self {
        Self {
            ip: ip.to_canonical(),
            user_agent: None,
            request_id: None,
        }
    }

    /// With a user agent.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// With a request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Work the platform does on its own (schedulers, the CLI on the server's host):
    /// the loopback address, no user agent.
    pub fn local() -> Self {
        Self::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST))
    }
}

/// Writes the audit trail; cheap to clone (shared state inside).
#[derive(Clone)]
pub struct Auditor {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) log: Arc<dyn AuditLog>,
    pub(crate) clock: SharedClock,
    /// Checkpointing state; a tokio mutex because it is held across reads of the log, and
    /// so that two checkpointers of one process never race each other.
    pub(crate) merkle: tokio::sync::Mutex<checkpoint::MerkleState>,
}

impl fmt::Debug for Auditor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auditor")
            .field("log", &self.inner.log.to_string())
            .finish_non_exhaustive()
    }
}

impl Auditor {
    /// An auditor writing to `log`, taking times from `clock`.
    pub fn new(log: Arc<dyn AuditLog>, clock: SharedClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                log,
                clock,
                merkle: tokio::sync::Mutex::new(checkpoint::MerkleState::default()),
            }),
        }
    }

    /// The log written to.
    pub fn log(&self) -> &Arc<dyn AuditLog> {
        &self.inner.log
    }

    /// The clock entries are timed by.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// Cleans `entry` (see [`sanitize::clean_entry`]) and appends it. A failed write is
    /// logged (action and outcome only, never the details) and counted in
    /// [`AUDIT_ERRORS_TOTAL`], then returned.
    pub async fn record(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        let clean = sanitize::clean_entry(&entry);
        match self.inner.log.append(&clean).await {
            Ok(stored) => {
                metrics::counter!(AUDIT_ENTRIES_TOTAL, LABEL_OUTCOME => clean.outcome.as_str())
                    .increment(1);
                Ok(stored)
            }
            Err(e) => {
                metrics::counter!(AUDIT_ERRORS_TOTAL).increment(1);
                tracing::error!(
                    action = %clean.action,
                    outcome = clean.outcome.as_str(),
                    log = %self.inner.log,
                    error = %e,
                    "audit entry could not be written"
                );
                Err(e)
            }
        }
    }

    /// Starts an entry for `action` (a dotted verb, `auth.login`) that ended with
    /// `outcome`, timed now; the actor is `anonymous` until set.
    pub fn event(&self, action: impl Into<String>, outcome: Outcome) -> AuditBuilder {
        AuditBuilder {
            auditor: self.clone(),
            entry: NewAuditEntry {
                at: self.inner.clock.now(),
                actor: "anonymous".to_owned(),
                action: action.into(),
                target: None,
                outcome,
                ip: None,
                user_agent: None,
                request_id: None,
                details: Value::Object(Map::new()),
            },
        }
    }
}

/// An audit entry being put together; see [`Auditor::event`].
#[derive(Debug)]
#[must_use = "an audit entry is written only by `record` or `emit`"]
pub struct AuditBuilder {
    auditor: Auditor,
    entry: NewAuditEntry,
}

impl AuditBuilder {
    /// Who: a user id, `admin-token`, `api-key:<id>`, `anonymous` or `system`.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.entry.actor = actor.into();
        self
    }

    /// On what.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.entry.target = Some(target.into());
        self
    }

    /// Where from: the request's address, user agent and id.
    pub fn meta(mut self, meta: &RequestMeta) -> Self {
        self.entry.ip = Some(meta.ip.to_canonical().to_string());
        self.entry.user_agent = meta.user_agent.clone();
        self.entry.request_id = meta.request_id.clone();
        self
    }

    /// Adds one detail; a value that cannot be represented as JSON is stored as null.
    /// Secret-named keys are redacted when the entry is recorded.
    pub fn detail(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut self.entry.details {
            map.insert(key.into(), value);
        }
        self
    }

    /// The entry as it stands (before cleaning).
    pub fn entry(&self) -> &NewAuditEntry {
        &self.entry
    }

    /// Writes the entry; see [`Auditor::record`].
    pub async fn record(self) -> Result<AuditEntry> {
        self.auditor.record(self.entry).await
    }

    /// Writes the entry where the caller goes on whatever happens (a denial is still a
    /// denial when its entry cannot be written): a failure is already logged and counted
    /// by [`Auditor::record`], so it is dropped here.
    pub async fn emit(self) {
        let _ = self.auditor.record(self.entry).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::ManualClock;
    use serde_json::json;
    use testlog::TestLog;
    use time::macros::datetime;

    fn auditor() -> (Auditor, Arc<TestLog>) {
        let log = Arc::new(TestLog::default());
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
        (Auditor::new(log.clone(), clock), log)
    }

    #[tokio::test]
    async fn builder_records_who_what_when_where_and_outcome() {
        let (a, log) = auditor();
        let meta = RequestMeta::new("::ffff:192.0.2.7".parse().expect("ip"))
            .with_user_agent("curl/8")
            .with_request_id("req-1");
        let e = a
            .event("auth.login", Outcome::Failure)
            .actor("anonymous")
            .target("bob@example.com")
            .meta(&meta)
            .detail("reason", "bad password")
            .detail("password", "hunter2")
            .record()
            .await
            .expect("recorded");
        assert_eq!(e.seq, 1);
        assert_eq!(e.entry.at, datetime!(2026-11-23 10:00 UTC));
        assert_eq!(e.entry.ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(e.entry.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(e.entry.request_id.as_deref(), Some("req-1"));
        assert_eq!(e.entry.outcome, Outcome::Failure);
        assert_eq!(e.entry.details["reason"], "bad password");
        assert_eq!(e.entry.details["password"], legalops_core::redact::REDACTED);
        let stored = log.entries(1, 10).await.expect("entries");
        assert_eq!(stored, vec![e]);
    }

    #[tokio::test]
    async fn injected_newlines_reach_the_log_escaped() {
        let (a, log) = auditor();
        a.event("auth.login\nauth.login success", Outcome::Denied)
            .actor("x\r\nadmin")
            .meta(&RequestMeta::local().with_user_agent("ua\n,evil,row"))
            .detail("nested", json!({"deep": {"token": "t", "note": "a\nb"}}))
            .emit()
            .await;
        let e = &log.entries(1, 1).await.expect("entries")[0];
        assert_eq!(e.entry.action, "auth.login\\u{a}auth.login success");
        assert_eq!(e.entry.actor, "x\\u{d}\\u{a}admin");
        assert_eq!(e.entry.user_agent.as_deref(), Some("ua\\u{a},evil,row"));
        assert_eq!(e.entry.details["nested"]["deep"]["token"], "[REDACTED]");
        assert_eq!(e.entry.details["nested"]["deep"]["note"], "a\\u{a}b");
    }

    #[tokio::test]
    async fn a_failed_write_is_returned_to_the_caller() {
        let (a, log) = auditor();
        log.fail_next();
        let err = a.event("x", Outcome::Success).record().await;
        assert!(matches!(err, Err(legalops_core::Error::Backend { .. })));
        assert_eq!(log.len().await.expect("len"), 0);
        a.event("x", Outcome::Success).emit().await;
        assert_eq!(log.len().await.expect("len"), 1);
    }

    #[test]
    fn entries_and_failures_are_counted_by_outcome() {
        let registry = crate::metrics::Registry::new();
        let (a, log) = auditor();
        metrics::with_local_recorder(&registry, || {
            futures::executor::block_on(async {
                a.event("x", Outcome::Success).emit().await;
                a.event("x", Outcome::Denied).emit().await;
                a.event("x", Outcome::Denied).emit().await;
                log.fail_next();
                a.event("x", Outcome::Success).emit().await;
            });
        });
        let value = |name: &str, labels: &[(&str, &str)]| {
            registry
                .snapshot(datetime!(2026-11-23 10:00 UTC))
                .samples
                .into_iter()
                .find(|s| {
                    s.name == name
                        && s.labels.len() == labels.len()
                        && labels
                            .iter()
                            .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
                })
                .map(|s| s.value)
        };
        use legalops_core::metrics::MetricValue::Counter;
        assert_eq!(
            value(AUDIT_ENTRIES_TOTAL, &[(LABEL_OUTCOME, "success")]),
            Some(Counter { value: 1 })
        );
        assert_eq!(
            value(AUDIT_ENTRIES_TOTAL, &[(LABEL_OUTCOME, "denied")]),
            Some(Counter { value: 2 })
        );
        assert_eq!(value(AUDIT_ERRORS_TOTAL, &[]), Some(Counter { value: 1 }));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_records_produce_a_valid_chain() {
        let (a, log) = auditor();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let a = a.clone();
                tokio::spawn(async move {
                    a.event("doc.read", Outcome::Success)
                        .target(format!("doc-{i}"))
                        .record()
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("joined").expect("recorded");
        }
        let entries = log.entries(1, 100).await.expect("entries");
        assert_eq!(entries.len(), 50);
        let mut prev = legalops_core::audit::chain::GENESIS_HASH.to_owned();
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1);
            assert_eq!(e.prev_hash, prev);
            assert_eq!(
                e.entry_hash,
                legalops_core::audit::chain::entry_hash(e.seq, &e.entry, &prev)
            );
            prev = e.entry_hash.clone();
        }
        let report = a.verify().await.expect("verified");
        assert!(report.ok, "{report}");
    }
}
