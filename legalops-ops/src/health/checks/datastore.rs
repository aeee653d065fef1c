//! Checks of the datastores the platform depends on: the records database (response time
//! and schema version) and the document store.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use legalops_core::documents::DocumentStore;
use legalops_core::health::{CheckResult, ComponentType, Status};
use legalops_core::records::Database;
use legalops_core::{SharedClock, SystemClock, thresholds};

use super::elapsed_ms;
use crate::health::HealthCheck;

/// Times [`Database::healthcheck`]; graded by the runbook's query-time target
/// (`thresholds::QUERY_TIME_MS`: over 100 ms warns). An error fails with its text, which
/// our backends keep free of credentials.
#[derive(Debug, Clone)]
pub struct DatabaseCheck {
    db: Arc<dyn Database>,
    clock: SharedClock,
}

impl DatabaseCheck {
    /// The key to register this check under.
    pub const KEY: &'static str = "database:responseTime";

    /// A check of `db`, timed with `clock`.
    pub fn new(db: Arc<dyn Database>, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}

#[async_trait]
impl HealthCheck for DatabaseCheck {
    async fn check(&self) -> CheckResult {
        let start = self.clock.now();
        let outcome = self.db.healthcheck().await;
        let end = self.clock.now();
        timed(
            ComponentType::Datastore,
            self.db.to_string(),
            start,
            end,
            outcome,
            |ms| thresholds::QUERY_TIME_MS.grade(ms).status,
        )
    }

    fn component_type(&self) -> ComponentType {
        ComponentType::Datastore
    }
}

/// Reports the applied schema version (the newest migration); fails when it cannot be read.
#[derive(Debug, Clone)]
pub struct SchemaVersionCheck {
    db: Arc<dyn Database>,
    clock: SharedClock,
}

impl SchemaVersionCheck {
    /// The key to register this check under.
    pub const KEY: &'static str = "database:schemaVersion";

    /// A check of `db`'s schema version, stamped with `clock`.
    pub fn new(db: Arc<dyn Database>, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}

#[async_trait]
impl HealthCheck for SchemaVersionCheck {
    async fn check(&self) -> CheckResult {
        let outcome = self.db.schema_version().await;
        let now = self.clock.now();
        let base = |status| {
            CheckResult::new(ComponentType::Datastore, status, now)
                .component_id(self.db.to_string())
        };
        match outcome {
            Ok(version) => {
                let mut r = base(Status::Pass);
                r.observed_value = Some(version.into());
                r
            }
            Err(e) => base(Status::Fail).output(e.to_string()),
        }
    }

    fn component_type(&self) -> ComponentType {
        ComponentType::Datastore
    }
}

/// Times [`DocumentStore::healthcheck`]. Pass or fail only: object stores answer in tens to
/// hundreds of milliseconds by nature, so a latency grade would warn on healthy S3.
#[derive(Debug, Clone)]
pub struct DocumentStoreCheck {
    store: Arc<dyn DocumentStore>,
    clock: SharedClock,
}

impl DocumentStoreCheck {
    /// The key to register this check under.
    pub const KEY: &'static str = "documents:responseTime";

    /// A check of `store`, timed with the system clock.
    pub fn new(store: Arc<dyn DocumentStore>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same check timed and stamped with `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait]
impl HealthCheck for DocumentStoreCheck {
    async fn check(&self) -> CheckResult {
        let start = self.clock.now();
        let outcome = self.store.healthcheck().await;
        let end = self.clock.now();
        timed(
            ComponentType::Datastore,
            self.store.to_string(),
            start,
            end,
            outcome,
            |_| Status::Pass,
        )
    }

    fn component_type(&self) -> ComponentType {
        ComponentType::Datastore
    }
}

/// The result of a timed call: its duration in ms graded by `grade`, or `fail` with the
/// error's text.
fn timed(
    kind: ComponentType,
    id: impl fmt::Display,
    start: time::OffsetDateTime,
    end: time::OffsetDateTime,
    outcome: legalops_core::Result<()>,
    grade: impl FnOnce(f64) -> Status,
) -> CheckResult {
    let ms = elapsed_ms(start, end);
    let result = |status| CheckResult::new(kind, status, end).component_id(id.to_string());
    match outcome {
        Ok(()) => {
            let status = grade(ms);
            let r = result(status).observed(ms, "ms");
            if status == Status::Pass {
                r
            } else {
                r.output(format!("responded in {ms} ms"))
            }
        }
        Err(e) => result(Status::Fail)
            .observed(ms, "ms")
            .output(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::records::{PoolStats, QueryStats};
    use legalops_core::{Error, ManualClock, Result};
    use std::time::Duration;
    use time::macros::datetime;

    /// A database that takes `delay` (on the manual clock) and may fail.
    #[derive(Debug)]
    struct FakeDb {
        clock: ManualClock,
        delay: Duration,
        fail: bool,
    }

    impl fmt::Display for FakeDb {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("fake:db")
        }
    }

    #[async_trait]
    impl Database for FakeDb {
        async fn healthcheck(&self) -> Result<()> {
            self.clock.advance(self.delay);
            if self.fail {
                return Err(Error::backend(
                    "fake:db",
                    true,
                    std::io::Error::other("refused"),
                ));
            }
            Ok(())
        }
        async fn schema_version(&self) -> Result<i64> {
            if self.fail {
                return Err(Error::backend(
                    "fake:db",
                    true,
                    std::io::Error::other("refused"),
                ));
            }
            Ok(7)
        }
        fn pool_stats(&self) -> PoolStats {
            PoolStats::default()
        }
        fn query_stats(&self) -> QueryStats {
            QueryStats::default()
        }
    }

    fn db(delay_ms: u64, fail: bool) -> (Arc<dyn Database>, SharedClock) {
        let clock = ManualClock::new(datetime!(2026-01-01 0:00 UTC));
        let db = FakeDb {
            clock: clock.clone(),
            delay: Duration::from_millis(delay_ms),
            fail,
        };
        (Arc::new(db), Arc::new(clock))
    }

    #[tokio::test]
    async fn fast_database_passes_with_its_response_time() {
        let (db, clock) = db(12, false);
        let r = DatabaseCheck::new(db, clock).check().await;
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.observed_value, Some(12.0.into()));
        assert_eq!(r.observed_unit.as_deref(), Some("ms"));
        assert_eq!(r.component_id.as_deref(), Some("fake:db"));
        assert_eq!(r.component_type, ComponentType::Datastore);
        assert_eq!(r.output, None);
    }

    #[tokio::test]
    async fn database_slower_than_query_target_warns() {
        let (db, clock) = db(150, false);
        let r = DatabaseCheck::new(db, clock).check().await;
        assert_eq!(r.status, Status::Warn);
        assert_eq!(r.output.as_deref(), Some("responded in 150 ms"));
    }

    #[tokio::test]
    async fn unreachable_database_fails_with_the_reason() {
        let (db, clock) = db(1, true);
        let r = DatabaseCheck::new(db, clock).check().await;
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.output.as_deref(), Some("fake:db failed: refused"));
    }

    #[tokio::test]
    async fn schema_version_is_observed_and_failure_fails() {
        let (ok, clock) = db(0, false);
        let r = SchemaVersionCheck::new(ok, clock.clone()).check().await;
        assert_eq!((r.status, r.observed_value), (Status::Pass, Some(7.into())));
        let (bad, clock) = db(0, true);
        let r = SchemaVersionCheck::new(bad, clock).check().await;
        assert_eq!(r.status, Status::Fail);
        assert!(r.output.unwrap_or_default().contains("refused"));
    }

    #[tokio::test]
    async fn reachable_document_store_passes_with_its_response_time() {
        let (_, clock) = db(0, false);
        let store = Arc::new(legalops_core::mem::MemoryDocumentStore::new());
        let r = DocumentStoreCheck::new(store)
            .with_clock(clock)
            .check()
            .await;
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.observed_unit.as_deref(), Some("ms"));
        assert_eq!(r.component_id.as_deref(), Some("memory"));
    }
}
