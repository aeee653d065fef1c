//! [`MemoryRecords`]: the in-memory records backend, for tests and for a single process
//! that needs no durability. This file holds the shared state and the settings and metric
//! rollups; the other aggregates are in `identity.rs`, `sessions.rs`, `audit.rs`,
//! `security.rs` and `alerting.rs` (alerts, leases, incidents), each over its own part of
//! the one state.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{NAME, lock};
use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, Result};
use crate::metrics::{Labels, Rollup};
use crate::records::{Database, PoolStats, QueryStats, RollupStore, SLOW_QUERY, SettingStore};
use crate::stats::LatencyStats;

// Ordered by name, then minute, then labels, so that one name's minutes are a contiguous
// range and a range scan comes out oldest first.
type RollupKey = (String, OffsetDateTime, Labels);

// One state behind one lock: an operation never needs two locks, so there is no lock order
// to get wrong, and the in-memory backend is not where contention matters.
#[derive(Debug, Default)]
pub(super) struct Inner {
    settings: BTreeMap<String, String>,
    rollups: BTreeMap<RollupKey, Rollup>,
    pub(super) identity: super::identity::IdentityState,
    pub(super) sessions: super::sessions::SessionState,
    pub(super) audit: super::audit::AuditState,
    pub(super) security: super::security::SecurityState,
    pub(super) alerting: super::alerting::AlertingState,
    pub(super) incidents: super::incidents::TrackerState,
}

/// Every records aggregate kept in process memory: implements [`Database`],
/// [`SettingStore`], [`RollupStore`], [`crate::identity::UserStore`],
/// [`crate::identity::SessionStore`], [`crate::identity::ApiKeyStore`],
/// [`crate::audit::AuditLog`], [`crate::security::SecurityStore`],
/// [`crate::alerting::AlertStore`], [`crate::alerting::LeaseStore`] and
/// [`crate::incidents::IncidentTracker`] (the same tracker logic as
/// [`super::MemoryTracker`]); wrap it with [`crate::records::Records::from_backend`].
#[derive(Debug)]
pub struct MemoryRecords {
    inner: Mutex<Inner>,
    stats: LatencyStats,
    clock: SharedClock,
}

impl Default for MemoryRecords {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRecords {
    /// The schema version the in-memory backend reports. It has no migrations; a constant
    /// lets `/api/metrics/database` show the same field for every backend.
    pub const SCHEMA_VERSION: i64 = 1;

    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(std::sync::Arc::new(SystemClock))
    }

    /// An empty store whose query statistics are stamped by `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            stats: LatencyStats::new(SLOW_QUERY),
            clock,
        }
    }

    /// Runs `f` on the state and records it as one query, so that `query_stats` means the
    /// same thing here as on a SQL backend.
    pub(super) fn query<T>(&self, operation: &str, f: impl FnOnce(&mut Inner) -> T) -> T {
        let started = Instant::now();
        let out = f(&mut lock(&self.inner));
        let took: Duration = started.elapsed();
        self.stats.record(operation, took, self.clock.now());
        out
    }
}

impl fmt::Display for MemoryRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAME)
    }
}

#[async_trait]
impl Database for MemoryRecords {
    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }

    async fn schema_version(&self) -> Result<i64> {
        Ok(Self::SCHEMA_VERSION)
    }

    fn pool_stats(&self) -> PoolStats {
        // No connections: every figure is zero, which is true rather than invented.
        PoolStats::default()
    }

    fn query_stats(&self) -> QueryStats {
        self.stats.snapshot()
    }
}

#[async_trait]
impl SettingStore for MemoryRecords {
    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self.query("settings.get", |s| s.settings.get(key).cloned()))
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        self.query("settings.put", |s| {
            s.settings.insert(key.to_owned(), value.to_owned())
        });
        Ok(())
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> Result<bool> {
        // Check and insert under one lock: that is what makes it atomic.
        Ok(self.query("settings.put_if_absent", |s| {
            if s.settings.contains_key(key) {
                false
            } else {
                s.settings.insert(key.to_owned(), value.to_owned());
                true
            }
        }))
    }

    async fn delete_setting(&self, key: &str) -> Result<()> {
        self.query("settings.delete", |s| s.settings.remove(key));
        Ok(())
    }
}

/// Refuses a rollup that would break the (name, labels, minute) identity: an empty name or
/// a minute with seconds, which would make two rollups of one minute look distinct.
fn validate_rollup(r: &Rollup) -> Result<()> {
    if r.name.is_empty() {
        return Err(Error::invalid_input("name", "must not be empty"));
    }
    let m = r.minute.to_offset(time::UtcOffset::UTC);
    if m.second() != 0 || m.nanosecond() != 0 {
        return Err(Error::invalid_input(
            "minute",
            format!(
                "must be a whole minute (seconds and below zero), got {}",
                r.minute
            ),
        ));
    }
    Ok(())
}

#[async_trait]
impl RollupStore for MemoryRecords {
    async fn put_rollups(&self, rollups: &[Rollup]) -> Result<()> {
        // Validate the whole batch first so that a bad rollup changes nothing.
        rollups.iter().try_for_each(validate_rollup)?;
        self.query("rollups.put", |s| {
            for r in rollups {
                let key = (r.name.clone(), r.minute, r.labels.clone());
                s.rollups.insert(key, r.clone());
            }
        });
        Ok(())
    }

    async fn rollups(
        &self,
        name: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<Rollup>> {
        if from >= to {
            return Ok(Vec::new());
        }
        // Empty labels sort first, so these bounds cover exactly `from <= minute < to`.
        let lo = (name.to_owned(), from, Labels::new());
        let hi = (name.to_owned(), to, Labels::new());
        Ok(self.query("rollups.range", |s| {
            s.rollups.range(lo..hi).map(|(_, r)| r.clone()).collect()
        }))
    }

    async fn prune_rollups(&self, before: OffsetDateTime) -> Result<u64> {
        Ok(self.query("rollups.prune", |s| {
            let n = s.rollups.len();
            s.rollups.retain(|(_, minute, _), _| *minute >= before);
            (n - s.rollups.len()) as u64
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::block_on;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn rollup(name: &str, minute: OffsetDateTime, host: &str, count: u64) -> Rollup {
        Rollup {
            name: name.to_owned(),
            labels: [("host".to_owned(), host.to_owned())].into(),
            minute,
            count,
            sum: count as f64,
            min: None,
            max: None,
        }
    }

    #[test]
    fn a_rollup_with_seconds_is_refused_and_its_batch_changes_nothing() {
        let db = MemoryRecords::new();
        let t = datetime!(2026-01-01 10:00 UTC);
        let good = rollup("x", t, "a", 1);
        let bad = rollup("x", t + Duration::from_secs(30), "a", 1);
        let err = block_on(db.put_rollups(&[good, bad]));
        assert!(
            matches!(err, Err(Error::InvalidInput { ref field, .. }) if field == "minute"),
            "{err:?}"
        );
        let got = block_on(db.rollups("x", t, t + Duration::from_secs(3600)));
        assert!(matches!(got, Ok(ref v) if v.is_empty()), "{got:?}");
    }

    #[test]
    fn an_empty_or_reversed_range_is_empty() {
        let db = MemoryRecords::new();
        let t = datetime!(2026-01-01 10:00 UTC);
        assert!(block_on(db.put_rollups(&[rollup("x", t, "a", 1)])).is_ok());
        assert!(matches!(block_on(db.rollups("x", t, t)), Ok(v) if v.is_empty()));
        assert!(
            matches!(block_on(db.rollups("x", t + Duration::from_secs(60), t)), Ok(v) if v.is_empty())
        );
    }

    #[test]
    fn memory_records_is_every_records_aggregate() {
        // The records bundle takes one backend for every aggregate; this fails to compile
        // the day a records trait is added that MemoryRecords does not implement.
        fn every<B: crate::records::RecordsBackend>(_: &B) {}
        every(&MemoryRecords::new());
    }

    #[test]
    fn every_operation_is_counted_in_query_stats() {
        let db = MemoryRecords::new();
        assert!(block_on(db.put_setting("k", "v")).is_ok());
        assert!(block_on(db.get_setting("k")).is_ok());
        assert!(block_on(crate::audit::AuditLog::len(&db)).is_ok());
        assert!(block_on(crate::security::SecurityStore::get_lockout(&db, "a")).is_ok());
        assert_eq!(db.query_stats().count, 4);
        assert_eq!(db.pool_stats(), PoolStats::default());
    }

    proptest! {
        // Whatever is written, in whatever order and however often, the store holds at most
        // one rollup per (name, labels, minute), and it is the last one written.
        #[test]
        fn upsert_keeps_one_rollup_per_series_and_minute(
            puts in proptest::collection::vec((0u8..2, 0u8..3, 0i64..4, 0u64..100), 0..40)
        ) {
            let db = MemoryRecords::new();
            let base = datetime!(2026-01-01 00:00 UTC);
            let mut last = BTreeMap::new();
            for (name, host, minute, count) in &puts {
                let r = rollup(&format!("m{name}"), base + time::Duration::minutes(*minute), &format!("h{host}"), *count);
                prop_assert!(block_on(db.put_rollups(std::slice::from_ref(&r))).is_ok());
                last.insert((name, host, minute), r);
            }
            let end = base + time::Duration::minutes(4);
            let mut stored = Vec::new();
            for name in ["m0", "m1"] {
                let got = block_on(db.rollups(name, base, end));
                prop_assert!(got.is_ok());
                stored.extend(got.unwrap_or_default());
            }
            prop_assert_eq!(stored.len(), last.len());
            for r in last.values() {
                prop_assert!(stored.contains(r));
            }
            prop_assert!(stored.windows(2).all(|w| w[0].name != w[1].name || w[0].minute <= w[1].minute));
        }
    }
}
