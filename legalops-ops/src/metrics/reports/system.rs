//! `/api/metrics/system`: CPU, memory, disk of the data directory, load, uptimes and this
//! process's memory, graded by the runbook, plus the sampler that keeps them fresh.
//!
//! CPU usage is a difference between two readings taken at least
//! `sysinfo::MINIMUM_CPU_UPDATE_INTERVAL` apart, so a request cannot measure it without
//! waiting: a long-lived [`SystemSampler`] reads on a background interval and a request
//! reads its latest report.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use legalops_core::thresholds::{self, Graded};
use serde::{Deserialize, Serialize};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::round;
use crate::metrics::{Registry, names};
use crate::sys::{self, DiskFigures};

/// The machine's figures at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemReport {
    /// CPU busy across all cores, graded by `CPU_PERCENT` (target under 70 %); unknown
    /// (null, a warning) until two readings exist.
    pub cpu_percent: Graded,
    /// Logical cores.
    pub cpu_count: usize,
    /// System memory.
    pub memory: MemoryReport,
    /// The filesystem holding the data directory.
    pub disk: DiskReport,
    /// Load average.
    pub load_average: LoadAverage,
    /// Seconds since the host booted.
    pub host_uptime_seconds: u64,
    /// Seconds since this process started.
    pub process_uptime_seconds: u64,
    /// This process's resident memory, bytes.
    pub process_resident_bytes: u64,
}

/// System memory figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryReport {
    /// Bytes in use.
    pub used_bytes: u64,
    /// Bytes in all.
    pub total_bytes: u64,
    /// Percent in use, graded by `MEMORY_PERCENT` (target under 80 %, critical over 90 %).
    pub percent: Graded,
}

/// Figures of the filesystem holding the data directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskReport {
    /// The data directory.
    pub path: String,
    /// Where its filesystem is mounted; none when it could not be found.
    pub mount_point: Option<String>,
    /// Bytes in use.
    pub used_bytes: u64,
    /// Bytes in all.
    pub total_bytes: u64,
    /// Percent in use, graded by `DISK_PERCENT` (target under 85 %, critical over 90 %).
    pub percent: Graded,
}

/// Load average (runnable processes) over 1, 5 and 15 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LoadAverage {
    /// Over one minute.
    pub one: f64,
    /// Over five minutes.
    pub five: f64,
    /// Over fifteen minutes.
    pub fifteen: f64,
}

/// Raw readings; anything unreadable stays at its default (unknown).
#[derive(Debug, Default)]
struct Raw {
    cpu_percent: Option<f64>,
    cpu_count: usize,
    memory: Option<(u64, u64)>,
    disk: Option<DiskFigures>,
    load: LoadAverage,
    host_uptime: u64,
    process_uptime: u64,
    rss: u64,
}

impl SystemReport {
    /// Reads the machine now, CPU included (which waits
    /// `sysinfo::MINIMUM_CPU_UPDATE_INTERVAL` on the blocking pool). For a request path,
    /// prefer [`SystemSampler::latest`].
    pub async fn collect(data_dir: &Path) -> SystemReport {
        let dir = data_dir.to_path_buf();
        let raw = tokio::task::spawn_blocking(move || Reader::new(dir).read())
            .await
            .unwrap_or_default();
        Self::from_raw(data_dir, raw)
    }

    fn from_raw(data_dir: &Path, raw: Raw) -> Self {
        let (used, total) = raw.memory.unwrap_or((0, 0));
        let disk = raw.disk.as_ref();
        Self {
            cpu_percent: thresholds::CPU_PERCENT
                .grade(raw.cpu_percent.map_or(f64::NAN, |c| round(c, 2))),
            cpu_count: raw.cpu_count,
            memory: MemoryReport {
                used_bytes: used,
                total_bytes: total,
                percent: thresholds::MEMORY_PERCENT.grade(round(sys::percent(used, total), 2)),
            },
            disk: DiskReport {
                path: data_dir.display().to_string(),
                mount_point: disk.map(|d| d.mount_point.display().to_string()),
                used_bytes: disk.map_or(0, |d| d.used),
                total_bytes: disk.map_or(0, |d| d.total),
                percent: thresholds::DISK_PERCENT
                    .grade(disk.map_or(f64::NAN, |d| round(d.percent(), 2))),
            },
            load_average: raw.load,
            host_uptime_seconds: raw.host_uptime,
            process_uptime_seconds: raw.process_uptime,
            process_resident_bytes: raw.rss,
        }
    }

    /// Sets the system gauges of `registry` from this report; unknown figures are skipped.
    fn record(&self, registry: &Registry) {
        if !self.cpu_percent.value.is_nan() {
            registry
                .gauge(names::SYSTEM_CPU_USAGE_RATIO, &[])
                .set(self.cpu_percent.value / 100.0);
        }
        let bytes = [
            (
                names::SYSTEM_MEMORY_USED_BYTES,
                self.memory.used_bytes,
                self.memory.total_bytes,
            ),
            (
                names::SYSTEM_MEMORY_TOTAL_BYTES,
                self.memory.total_bytes,
                self.memory.total_bytes,
            ),
            (
                names::SYSTEM_DISK_USED_BYTES,
                self.disk.used_bytes,
                self.disk.total_bytes,
            ),
            (
                names::SYSTEM_DISK_TOTAL_BYTES,
                self.disk.total_bytes,
                self.disk.total_bytes,
            ),
            (
                names::PROCESS_RESIDENT_MEMORY_BYTES,
                self.process_resident_bytes,
                self.process_resident_bytes,
            ),
        ];
        // A zero total means the figure was not read: leave the gauge as it was.
        for (name, value, total) in bytes {
            if total > 0 {
                registry.gauge(name, &[]).set(value as f64);
            }
        }
    }
}

/// Keeps sysinfo's state between readings, so CPU usage is the difference since the last.
struct Reader {
    system: Option<System>,
    pid: Option<Pid>,
    data_dir: PathBuf,
    primed: bool,
}

impl Reader {
    fn new(data_dir: PathBuf) -> Self {
        Self {
            system: System::new().ok(),
            pid: sysinfo::get_current_pid().ok(),
            data_dir,
            primed: false,
        }
    }

    /// Blocking: reads every figure (the first call waits once for a CPU baseline).
    fn read(&mut self) -> Raw {
        let mut raw = Raw::default();
        if let Some(system) = self.system.as_mut() {
            system.refresh_cpu_usage();
            if !self.primed {
                std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
                system.refresh_cpu_usage();
                self.primed = true;
            }
            raw.cpu_count = system.cpus().len();
            raw.cpu_percent = (raw.cpu_count > 0).then(|| f64::from(system.global_cpu_usage()));
            system.refresh_memory();
            raw.memory = Some((system.used_memory(), system.total_memory()));
            if let Some(pid) = self.pid {
                let what = ProcessRefreshKind::nothing().with_memory();
                system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, what);
                if let Some(p) = system.process(pid) {
                    raw.rss = p.memory();
                    raw.process_uptime = p.run_time();
                }
            }
        }
        raw.disk = sys::disk_of(&self.data_dir).ok().flatten();
        if let Ok(l) = System::load_average() {
            raw.load = LoadAverage {
                one: l.one,
                five: l.five,
                fifteen: l.fifteen,
            };
        }
        raw.host_uptime = System::uptime().unwrap_or(0);
        raw
    }
}

/// Reads the machine on a background interval, keeps the latest [`SystemReport`] and sets
/// the system gauges (`system_cpu_usage_ratio`, `system_memory_*_bytes`,
/// `system_disk_*_bytes`, `process_resident_memory_bytes`). Stops when dropped.
#[derive(Debug)]
pub struct SystemSampler {
    latest: Arc<RwLock<SystemReport>>,
    task: tokio::task::JoinHandle<()>,
}

impl SystemSampler {
    /// Starts sampling the machine and the filesystem holding `data_dir` every `interval`
    /// (at least `sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`), the first time at once. Must be
    /// called inside a tokio runtime.
    pub fn spawn(data_dir: PathBuf, interval: Duration, registry: Registry) -> Self {
        let latest = Arc::new(RwLock::new(SystemReport::from_raw(
            &data_dir,
            Raw::default(),
        )));
        let shared = latest.clone();
        let task = tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval(interval.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut reader = Some(Reader::new(data_dir.clone()));
            loop {
                ticks.tick().await;
                // The reader moves to the blocking pool and back; if reading panicked it is
                // lost, and a fresh one starts over.
                let mut r = reader
                    .take()
                    .unwrap_or_else(|| Reader::new(data_dir.clone()));
                let Ok((r, raw)) = tokio::task::spawn_blocking(move || {
                    let raw = r.read();
                    (r, raw)
                })
                .await
                else {
                    tracing::warn!("system sampler read panicked; starting over");
                    continue;
                };
                reader = Some(r);
                let report = SystemReport::from_raw(&data_dir, raw);
                report.record(&registry);
                *shared.write().unwrap_or_else(|p| p.into_inner()) = report;
            }
        });
        Self { latest, task }
    }

    /// The most recent report (all unknown until the first reading lands).
    pub fn latest(&self) -> SystemReport {
        self.latest
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for SystemSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::health::Status;
    use legalops_core::metrics::MetricValue;

    #[test]
    fn readings_are_graded_by_the_runbook() {
        let raw = Raw {
            cpu_percent: Some(85.0),
            cpu_count: 2,
            memory: Some((50, 100)),
            disk: Some(DiskFigures {
                mount_point: "/".into(),
                used: 95,
                total: 100,
            }),
            load: LoadAverage {
                one: 1.0,
                five: 0.5,
                fifteen: 0.25,
            },
            host_uptime: 100,
            process_uptime: 10,
            rss: 4096,
        };
        let r = SystemReport::from_raw(Path::new("/data"), raw);
        assert_eq!(r.cpu_percent.status, Status::Warn);
        assert_eq!(r.memory.percent.value, 50.0);
        assert_eq!(r.memory.percent.status, Status::Pass);
        assert_eq!(r.disk.percent.status, Status::Fail);
        assert_eq!(r.disk.mount_point.as_deref(), Some("/"));
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(json["processResidentBytes"], 4096);
        assert_eq!(json["loadAverage"]["fifteen"], 0.25);
    }

    #[test]
    fn unreadable_figures_are_unknown_warnings_and_leave_gauges_alone() {
        let r = SystemReport::from_raw(Path::new("/data"), Raw::default());
        assert_eq!(r.cpu_percent.status, Status::Warn);
        assert_eq!(r.disk.percent.status, Status::Warn);
        let registry = Registry::new();
        r.record(&registry);
        assert!(
            registry
                .snapshot(time::OffsetDateTime::UNIX_EPOCH)
                .samples
                .is_empty()
        );
    }

    #[tokio::test]
    async fn collect_reads_this_machine() {
        let r = SystemReport::collect(&std::env::temp_dir()).await;
        assert!(r.memory.total_bytes > 0, "{r:?}");
        assert!(r.process_resident_bytes > 0, "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn sampler_publishes_reports_and_sets_gauges() {
        let registry = Registry::new();
        let sampler = SystemSampler::spawn(
            std::env::temp_dir(),
            Duration::from_secs(10),
            registry.clone(),
        );
        // Virtual time: each sleep lets the sampler run; the clock does not advance while its
        // blocking read is in flight.
        for _ in 0..50 {
            if sampler.latest().memory.total_bytes > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(sampler.latest().memory.total_bytes > 0);
        let snap = registry.snapshot(time::OffsetDateTime::UNIX_EPOCH);
        let gauge = |name: &str| {
            snap.samples
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.value.clone())
        };
        assert!(
            matches!(gauge(names::SYSTEM_MEMORY_TOTAL_BYTES), Some(MetricValue::Gauge { value }) if value > 0.0)
        );
        assert!(
            matches!(gauge(names::SYSTEM_CPU_USAGE_RATIO), Some(MetricValue::Gauge { value }) if (0.0..=1.0).contains(&value))
        );
    }
}
