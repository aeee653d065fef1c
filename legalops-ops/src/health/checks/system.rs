//! Checks of the machine and the process: disk and memory utilisation (graded by the
//! runbook's thresholds) and process uptime (the liveness check that always passes).
//!
//! sysinfo blocks while it reads the OS, so its calls run on tokio's blocking pool.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use legalops_core::health::{CheckResult, ComponentType, Status};
use legalops_core::{SharedClock, SystemClock, thresholds};
use time::OffsetDateTime;

use super::round;
use crate::health::HealthCheck;
use crate::sys;

/// Percent used of the filesystem holding a path (the data directory), graded by
/// `thresholds::DISK_PERCENT` (85 % warns, over 90 % fails).
#[derive(Debug, Clone)]
pub struct DiskCheck {
    path: PathBuf,
    clock: SharedClock,
}

impl DiskCheck {
    /// The key to register this check under.
    pub const KEY: &'static str = "disk:utilization";

    /// A check of the filesystem holding `path`, stamped with the system clock.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same check stamped with `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait]
impl HealthCheck for DiskCheck {
    async fn check(&self) -> CheckResult {
        let path = self.path.clone();
        let figures = tokio::task::spawn_blocking(move || sys::disk_of(&path)).await;
        let now = self.clock.now();
        let result = |status| CheckResult::new(ComponentType::System, status, now);
        match figures {
            Ok(Ok(Some(disk))) => {
                let graded = thresholds::DISK_PERCENT.grade(disk.percent());
                let r = result(graded.status)
                    .component_id(disk.mount_point.display().to_string())
                    .observed(round(disk.percent(), 2), "percent");
                if graded.status == Status::Pass {
                    r
                } else {
                    r.output(format!(
                        "{} is {:.1} % full (target under {} %)",
                        disk.mount_point.display(),
                        disk.percent(),
                        graded.target
                    ))
                }
            }
            // No listed filesystem holds the path (a sandbox): unknown is a concern.
            Ok(Ok(None)) => result(Status::Warn).output(format!(
                "no filesystem found holding {}",
                self.path.display()
            )),
            Ok(Err(e)) => result(Status::Fail).output(e.to_string()),
            Err(_) => result(Status::Fail).output("disk probe panicked"),
        }
    }

    fn component_type(&self) -> ComponentType {
        ComponentType::System
    }
}

/// Percent of system memory in use, graded by `thresholds::MEMORY_PERCENT` (over 80 %
/// warns, over 90 % fails).
#[derive(Debug, Clone)]
pub struct MemoryCheck {
    clock: SharedClock,
}

impl MemoryCheck {
    /// The key to register this check under.
    pub const KEY: &'static str = "memory:utilization";

    /// A check stamped with the system clock.
    pub fn new() -> Self {
        Self {
            clock: Arc::new(SystemClock),
        }
    }

    /// The same check stamped with `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
}

impl Default for MemoryCheck {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl HealthCheck for MemoryCheck {
    async fn check(&self) -> CheckResult {
        let figures = tokio::task::spawn_blocking(sys::memory).await;
        let now = self.clock.now();
        let result = |status| CheckResult::new(ComponentType::System, status, now);
        match figures {
            Ok(Ok((used, total))) => memory_result(result, used, total),
            Ok(Err(e)) => result(Status::Fail).output(e.to_string()),
            Err(_) => result(Status::Fail).output("memory probe panicked"),
        }
    }

    fn component_type(&self) -> ComponentType {
        ComponentType::System
    }
}

fn memory_result(result: impl Fn(Status) -> CheckResult, used: u64, total: u64) -> CheckResult {
    let pct = sys::percent(used, total);
    let graded = thresholds::MEMORY_PERCENT.grade(pct);
    let r = result(graded.status).observed(round(pct, 2), "percent");
    if graded.status == Status::Pass {
        r
    } else {
        r.output(format!(
            "memory {pct:.1} % used (target under {} %)",
            graded.target
        ))
    }
}

/// Seconds since the process started; always passes (a process that answers is alive).
#[derive(Debug, Clone)]
pub struct UptimeCheck {
    started: OffsetDateTime,
    clock: SharedClock,
}

impl UptimeCheck {
    /// The key to register this check under.
    pub const KEY: &'static str = "uptime:uptime";

    /// A check of a process started at `started`.
    pub fn new(started: OffsetDateTime, clock: SharedClock) -> Self {
        Self { started, clock }
    }
}

#[async_trait]
impl HealthCheck for UptimeCheck {
    async fn check(&self) -> CheckResult {
        let now = self.clock.now();
        let secs = (now - self.started).as_seconds_f64().max(0.0);
        CheckResult::new(ComponentType::Component, Status::Pass, now).observed(round(secs, 3), "s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::ManualClock;
    use std::time::Duration;
    use time::macros::datetime;

    fn clock() -> (ManualClock, SharedClock) {
        let c = ManualClock::new(datetime!(2026-01-01 0:00 UTC));
        (c.clone(), Arc::new(c))
    }

    #[tokio::test]
    async fn uptime_counts_seconds_since_start_and_passes() {
        let (manual, clock) = clock();
        let check = UptimeCheck::new(manual_now(&manual), clock);
        manual.advance(Duration::from_secs(90));
        let r = check.check().await;
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.observed_value, Some(90.0.into()));
        assert_eq!(r.observed_unit.as_deref(), Some("s"));
    }

    fn manual_now(c: &ManualClock) -> OffsetDateTime {
        use legalops_core::Clock;
        c.now()
    }

    #[test]
    fn memory_is_graded_by_the_runbook_levels() {
        let at = datetime!(2026-01-01 0:00 UTC);
        let result = |s| CheckResult::new(ComponentType::System, s, at);
        assert_eq!(memory_result(result, 50, 100).status, Status::Pass);
        assert_eq!(memory_result(result, 85, 100).status, Status::Warn);
        let full = memory_result(result, 95, 100);
        assert_eq!(full.status, Status::Fail);
        assert_eq!(full.observed_value, Some(95.0.into()));
        assert!(full.output.unwrap_or_default().contains("95.0 %"));
        assert_eq!(memory_result(result, 1, 0).status, Status::Warn);
    }

    #[tokio::test]
    async fn memory_check_measures_this_machine() {
        let (_, clock) = clock();
        let r = MemoryCheck::new().with_clock(clock).check().await;
        assert_eq!(r.observed_unit.as_deref(), Some("percent"), "{r:?}");
        assert_eq!(r.component_type, ComponentType::System);
    }

    #[tokio::test]
    async fn disk_check_reports_percent_of_the_filesystem_holding_the_path() {
        let (_, clock) = clock();
        let r = DiskCheck::new(std::env::temp_dir())
            .with_clock(clock)
            .check()
            .await;
        // Some sandboxes list no filesystems: that is a warning, never a failure.
        if r.observed_value.is_some() {
            assert_eq!(r.observed_unit.as_deref(), Some("percent"));
            assert!(r.component_id.is_some());
        } else {
            assert_eq!(r.status, Status::Warn, "{r:?}");
        }
    }

    #[tokio::test]
    async fn disk_check_of_a_missing_path_fails_and_names_it() {
        let r = DiskCheck::new(PathBuf::from("/no/such/legalops/dir"))
            .check()
            .await;
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.output
                .unwrap_or_default()
                .contains("/no/such/legalops/dir")
        );
    }
}
