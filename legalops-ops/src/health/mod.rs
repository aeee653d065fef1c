//! The health engine: a registry of checks, run concurrently per probe into an
//! `application/health+json` report.
//!
//! Which checks a probe runs follows Kubernetes practice: `Liveness` runs only checks of the
//! process itself (a dependency there turns a database outage into a restart storm),
//! `Readiness` runs the dependency checks, `Detailed` runs every registered check. Each
//! check runs in its own task under a deadline, so that one hung or panicking check turns
//! into one failed entry instead of a hung or failed endpoint.

pub mod checks;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use legalops_core::SharedClock;
use legalops_core::health::{CheckResult, ComponentType, HealthReport, Status};

/// One measurement of one component (`database:responseTime`, `disk:utilization`).
#[async_trait]
pub trait HealthCheck: Debug + Send + Sync + 'static {
    /// Measures the component. A check reports its own failures as a `fail` result (with
    /// the reason in `output`) rather than returning an error.
    async fn check(&self) -> CheckResult;

    /// The component type to report when the check cannot report for itself (it timed out
    /// or panicked). Checks of a datastore or of the machine say so.
    fn component_type(&self) -> ComponentType {
        ComponentType::Component
    }
}

/// Which endpoint a check answers on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Probe {
    /// `/livez`: the process only.
    Liveness,
    /// `/readyz`: the dependencies the process needs to serve.
    Readiness,
    /// `/api/health/detailed`: every registered check.
    Detailed,
}

impl Probe {
    /// Probes for a check of the process itself (uptime, event loop): every probe.
    pub const PROCESS: &'static [Probe] = &[Probe::Liveness, Probe::Readiness, Probe::Detailed];
    /// Probes for a check of a dependency (database, documents, disk): readiness and detailed.
    pub const DEPENDENCY: &'static [Probe] = &[Probe::Readiness, Probe::Detailed];
    /// Probes for a check only an operator needs (backup age, certificates): detailed.
    pub const DETAILED: &'static [Probe] = &[Probe::Detailed];
}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    probes: Vec<Probe>,
    check: Arc<dyn HealthCheck>,
}

impl Entry {
    fn runs_on(&self, probe: Probe) -> bool {
        probe == Probe::Detailed || self.probes.contains(&probe)
    }
}

#[derive(Debug)]
struct Inner {
    clock: SharedClock,
    timeout: Duration,
    entries: RwLock<Vec<Entry>>,
}

/// The set of registered checks. Cheap to clone; clones share registrations, so that
/// engines started later (backups, certificates, job heartbeats) can add their checks to
/// the registry the server already serves.
#[derive(Debug, Clone)]
pub struct HealthRegistry {
    inner: Arc<Inner>,
}

impl HealthRegistry {
    /// An empty registry whose checks each get `timeout` to answer.
    pub fn new(clock: SharedClock, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                timeout,
                entries: RwLock::new(Vec::new()),
            }),
        }
    }

    /// Registers `check` under `key` (`"component:measurement"`) for `probes`. `Detailed`
    /// runs every check whatever `probes` says. Registering a key twice keeps both results:
    /// `application/health+json` allows several measurements per key (one per replica or
    /// per instance of the component).
    pub fn register(&self, key: impl Into<String>, probes: &[Probe], check: Arc<dyn HealthCheck>) {
        let entry = Entry {
            key: key.into(),
            probes: probes.to_vec(),
            check,
        };
        self.write().push(entry);
    }

    /// The keys `probe` runs, in registration order (a key registered twice appears twice).
    pub fn keys(&self, probe: Probe) -> Vec<String> {
        self.read()
            .iter()
            .filter(|e| e.runs_on(probe))
            .map(|e| e.key.clone())
            .collect()
    }

    /// Runs every check of `probe` concurrently and grades the report by the worst result.
    pub async fn run(&self, probe: Probe) -> HealthReport {
        // Clone the entries out so that no lock is held across an await.
        let entries: Vec<Entry> = self
            .read()
            .iter()
            .filter(|e| e.runs_on(probe))
            .cloned()
            .collect();
        let results = join_all(entries.iter().map(|e| self.run_one(e))).await;
        let mut checks: BTreeMap<String, Vec<CheckResult>> = BTreeMap::new();
        for (entry, result) in entries.into_iter().zip(results) {
            checks.entry(entry.key).or_default().push(result);
        }
        HealthReport::from_checks(checks)
    }

    async fn run_one(&self, entry: &Entry) -> CheckResult {
        let check = entry.check.clone();
        // A task of its own: a panic stays inside it, and a check that blocks its thread
        // cannot also block the timer that abandons it.
        let mut task = tokio::spawn(async move { check.check().await });
        let failed = |output: String| {
            CheckResult::new(
                entry.check.component_type(),
                Status::Fail,
                self.inner.clock.now(),
            )
            .output(output)
        };
        match tokio::time::timeout(self.inner.timeout, &mut task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) if join.is_panic() => {
                let payload = join.into_panic();
                let why = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned());
                tracing::error!(check = %entry.key, panic = ?why, "health check panicked");
                failed(match why {
                    Some(why) => format!("check panicked: {why}"),
                    None => "check panicked".to_owned(),
                })
            }
            Ok(Err(_cancelled)) => failed("check was cancelled".to_owned()),
            Err(_elapsed) => {
                task.abort();
                tracing::warn!(check = %entry.key, timeout = ?self.inner.timeout, "health check timed out");
                failed(format!("timed out after {:?}", self.inner.timeout))
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Entry>> {
        // Poisoning only means a registering thread panicked; a push is all-or-nothing.
        self.inner.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Entry>> {
        self.inner
            .entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::ManualClock;
    use time::macros::datetime;

    #[derive(Debug)]
    enum Fake {
        Answers(Status),
        Hangs,
        Panics,
    }

    #[async_trait]
    impl HealthCheck for Fake {
        async fn check(&self) -> CheckResult {
            match self {
                Fake::Answers(s) => {
                    CheckResult::new(ComponentType::Component, *s, datetime!(2026-01-01 0:00 UTC))
                }
                Fake::Hangs => std::future::pending().await,
                Fake::Panics => panic!("boom"),
            }
        }

        fn component_type(&self) -> ComponentType {
            ComponentType::Datastore
        }
    }

    fn registry() -> HealthRegistry {
        let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC)));
        HealthRegistry::new(clock, Duration::from_secs(1))
    }

    #[tokio::test]
    async fn empty_registry_passes() {
        assert_eq!(registry().run(Probe::Readiness).await.status, Status::Pass);
    }

    #[tokio::test]
    async fn probes_run_only_their_checks_and_detailed_runs_all() {
        let r = registry();
        r.register(
            "uptime:uptime",
            Probe::PROCESS,
            Arc::new(Fake::Answers(Status::Pass)),
        );
        r.register(
            "database:responseTime",
            Probe::DEPENDENCY,
            Arc::new(Fake::Answers(Status::Fail)),
        );
        r.register(
            "backup:age",
            Probe::DETAILED,
            Arc::new(Fake::Answers(Status::Warn)),
        );
        assert_eq!(r.keys(Probe::Liveness), ["uptime:uptime"]);
        assert_eq!(
            r.keys(Probe::Readiness),
            ["uptime:uptime", "database:responseTime"]
        );
        assert_eq!(r.keys(Probe::Detailed).len(), 3);

        let live = r.run(Probe::Liveness).await;
        assert_eq!(live.status, Status::Pass);
        assert_eq!(live.checks.len(), 1);
        let ready = r.run(Probe::Readiness).await;
        assert_eq!(ready.status, Status::Fail);
        assert!(!ready.checks.contains_key("backup:age"));
        assert_eq!(r.run(Probe::Detailed).await.checks.len(), 3);
    }

    #[tokio::test]
    async fn clones_share_registrations() {
        let r = registry();
        let later = r.clone();
        later.register(
            "x:y",
            Probe::DETAILED,
            Arc::new(Fake::Answers(Status::Warn)),
        );
        assert_eq!(r.run(Probe::Detailed).await.status, Status::Warn);
    }

    #[tokio::test]
    async fn a_key_registered_twice_reports_both_results() {
        let r = registry();
        r.register(
            "db:responseTime",
            Probe::DEPENDENCY,
            Arc::new(Fake::Answers(Status::Pass)),
        );
        r.register(
            "db:responseTime",
            Probe::DEPENDENCY,
            Arc::new(Fake::Answers(Status::Warn)),
        );
        let report = r.run(Probe::Readiness).await;
        assert_eq!(report.checks["db:responseTime"].len(), 2);
        assert_eq!(report.status, Status::Warn);
    }

    #[tokio::test(start_paused = true)]
    async fn hung_check_fails_with_timeout_while_others_answer() {
        let r = registry();
        r.register(
            "slow:responseTime",
            Probe::DEPENDENCY,
            Arc::new(Fake::Hangs),
        );
        r.register(
            "ok:responseTime",
            Probe::DEPENDENCY,
            Arc::new(Fake::Answers(Status::Pass)),
        );
        let report = r.run(Probe::Readiness).await;
        assert_eq!(report.status, Status::Fail);
        let slow = &report.checks["slow:responseTime"][0];
        assert_eq!(slow.status, Status::Fail);
        assert_eq!(slow.component_type, ComponentType::Datastore);
        assert_eq!(slow.output.as_deref(), Some("timed out after 1s"));
        assert_eq!(report.checks["ok:responseTime"][0].status, Status::Pass);
    }

    #[tokio::test]
    async fn panicking_check_fails_without_taking_the_report_down() {
        let r = registry();
        r.register("bad:check", Probe::PROCESS, Arc::new(Fake::Panics));
        r.register(
            "good:check",
            Probe::PROCESS,
            Arc::new(Fake::Answers(Status::Pass)),
        );
        let report = r.run(Probe::Liveness).await;
        let bad = &report.checks["bad:check"][0];
        assert_eq!(bad.status, Status::Fail);
        assert_eq!(bad.output.as_deref(), Some("check panicked: boom"));
        assert_eq!(bad.time, datetime!(2026-01-01 0:00 UTC));
        assert_eq!(report.checks["good:check"][0].status, Status::Pass);
        assert!(report.output.unwrap_or_default().contains("bad:check"));
    }
}
