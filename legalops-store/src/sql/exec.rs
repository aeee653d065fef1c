//! What every SQL backend shares around its queries: timing each one (latency stats and
//! the `metrics` facade), turning sqlx errors into `legalops_core::Error` kinds, and the
//! column encodings of the rollup table (whole Unix seconds, canonical label JSON).

use std::future::Future;
use std::time::{Duration, Instant};

use legalops_core::metrics::{Labels, Rollup};
use legalops_core::records::QueryStats;
use legalops_core::stats::LatencyStats;
use legalops_core::{Error, Result, SharedClock};
use time::OffsetDateTime;

/// Decides whether a database error code (SQLSTATE, or SQLite's extended result code) is
/// transient.
pub(crate) type TransientCode = fn(&str) -> bool;

/// Times queries and maps their errors, for one backend.
#[derive(Debug)]
pub(crate) struct Instrument {
    /// The backend's display name (a redacted URL).
    pub(crate) backend: String,
    stats: LatencyStats,
    clock: SharedClock,
    transient: TransientCode,
}

impl Instrument {
    pub(crate) fn new(
        backend: String,
        slow: Duration,
        clock: SharedClock,
        transient: TransientCode,
    ) -> Self {
        Self {
            backend,
            stats: LatencyStats::new(slow),
            clock,
            transient,
        }
    }

    /// The current time from the injected clock.
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Runs one query named `operation` (`settings.get`), recording its duration, and
    /// converts its error.
    pub(crate) async fn run<T, F>(&self, operation: &'static str, query: F) -> Result<T>
    where
        F: Future<Output = Result<T, sqlx::Error>>,
    {
        let start = Instant::now();
        let out = query.await;
        let took = start.elapsed();
        self.stats.record(operation, took, self.clock.now());
        metrics::histogram!("legalops_db_query_duration_seconds", "operation" => operation)
            .record(took.as_secs_f64());
        out.map_err(|e| {
            metrics::counter!("legalops_db_errors_total", "operation" => operation).increment(1);
            tracing::debug!(backend = %self.backend, operation, error = %e, "query failed");
            self.error(operation, e)
        })
    }

    /// The statistics so far.
    pub(crate) fn snapshot(&self) -> QueryStats {
        self.stats.snapshot()
    }

    /// Converts a sqlx error from `operation` into an error kind.
    pub(crate) fn error(&self, operation: &str, e: sqlx::Error) -> Error {
        map_sqlx(&self.backend, operation, self.transient, e)
    }
}

/// Converts a sqlx error into an error kind, judging whether a retry may succeed.
pub(crate) fn map_sqlx(
    backend: &str,
    operation: &str,
    transient: TransientCode,
    e: sqlx::Error,
) -> Error {
    use sqlx::error::ErrorKind;
    let retryable = match &e {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => {
                return Error::already_exists(format!("{operation}: {}", db.message()));
            }
            ErrorKind::ForeignKeyViolation => {
                return Error::conflict(format!("{operation}: {}", db.message()));
            }
            ErrorKind::NotNullViolation | ErrorKind::CheckViolation => {
                return Error::invalid_input(operation, db.message().to_owned());
            }
            _ => db.code().is_some_and(|c| transient(&c)),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        _ => false,
    };
    Error::backend(backend, retryable, e)
}

/// Converts a migration error: a failed statement is judged like any query; a database
/// whose applied migrations this binary does not know (a newer release ran) is not
/// retryable.
pub(crate) fn map_migrate(
    backend: &str,
    transient: TransientCode,
    e: sqlx::migrate::MigrateError,
) -> Error {
    use sqlx::migrate::MigrateError;
    match e {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => {
            map_sqlx(backend, "migrate", transient, e)
        }
        other => Error::backend(backend, false, other),
    }
}

/// A rollup as bound to the table's columns.
pub(crate) struct RollupRow {
    pub(crate) name: String,
    pub(crate) labels: String,
    pub(crate) minute: i64,
    pub(crate) count: i64,
    pub(crate) sum: f64,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

impl RollupRow {
    /// Checks and encodes a rollup; bad input names the field and changes nothing.
    pub(crate) fn encode(r: &Rollup) -> Result<Self> {
        if r.name.is_empty() {
            return Err(Error::invalid_input("rollup.name", "must not be empty"));
        }
        let count = i64::try_from(r.count)
            .map_err(|_| Error::invalid_input("rollup.count", "must be at most 2^63 - 1"))?;
        for (field, v) in [
            ("rollup.sum", Some(r.sum)),
            ("rollup.min", r.min),
            ("rollup.max", r.max),
        ] {
            // SQLite stores NaN as NULL; refuse it everywhere so backends agree.
            if v.is_some_and(f64::is_nan) {
                return Err(Error::invalid_input(field, "must not be NaN"));
            }
        }
        let labels = serde_json::to_string(&r.labels)
            .map_err(|e| Error::invalid_input("rollup.labels", e.to_string()))?;
        Ok(Self {
            name: r.name.clone(),
            labels,
            minute: r.minute.unix_timestamp(),
            count,
            sum: r.sum,
            min: r.min,
            max: r.max,
        })
    }

    /// Decodes a stored row; a row this code could not have written is a backend error.
    pub(crate) fn decode(self, backend: &str) -> Result<Rollup> {
        let corrupt = |what: String| Error::backend(backend, false, what);
        let labels: Labels = serde_json::from_str(&self.labels)
            .map_err(|e| corrupt(format!("stored rollup labels are not JSON: {e}")))?;
        let minute = OffsetDateTime::from_unix_timestamp(self.minute)
            .map_err(|e| corrupt(format!("stored rollup minute out of range: {e}")))?;
        let count = u64::try_from(self.count)
            .map_err(|_| corrupt(format!("stored rollup count is negative: {}", self.count)))?;
        Ok(Rollup {
            name: self.name,
            labels,
            minute,
            count,
            sum: self.sum,
            min: self.min,
            max: self.max,
        })
    }
}

/// The smallest whole Unix second at or after `t`: `minute >= t` and `minute < t` hold
/// for a whole-second `minute` exactly when they hold against this bound.
pub(crate) fn ceil_seconds(t: OffsetDateTime) -> i64 {
    t.unix_timestamp() + i64::from(t.nanosecond() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn rollup() -> Rollup {
        Rollup {
            name: "http_requests_total".into(),
            labels: [("route", "/a"), ("method", "GET")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            minute: datetime!(2026-03-01 12:34 UTC),
            count: 7,
            sum: 7.0,
            min: None,
            max: Some(2.5),
        }
    }

    #[test]
    fn rollup_round_trips_with_sorted_label_json() {
        let row = RollupRow::encode(&rollup()).expect("valid rollup");
        assert_eq!(row.labels, r#"{"method":"GET","route":"/a"}"#);
        assert_eq!(row.decode("test").expect("decodes"), rollup());
    }

    #[test]
    fn nan_and_huge_counts_are_refused() {
        let mut r = rollup();
        r.sum = f64::NAN;
        assert!(
            matches!(RollupRow::encode(&r), Err(Error::InvalidInput { field, .. }) if field == "rollup.sum")
        );
        let mut r = rollup();
        r.count = u64::MAX;
        assert!(
            matches!(RollupRow::encode(&r), Err(Error::InvalidInput { field, .. }) if field == "rollup.count")
        );
    }

    #[test]
    fn ceil_seconds_rounds_only_fractions_up() {
        assert_eq!(ceil_seconds(datetime!(1970-01-01 0:01 UTC)), 60);
        assert_eq!(ceil_seconds(datetime!(1970-01-01 0:00:59.5 UTC)), 60);
        assert_eq!(ceil_seconds(datetime!(1969-12-31 23:59:59.5 UTC)), 0);
    }

    #[test]
    fn io_errors_are_retryable_decode_errors_are_not() {
        let io = sqlx::Error::Io(std::io::Error::other("reset"));
        let e = map_sqlx("db", "settings.get", |_| false, io);
        assert!(e.is_retryable());
        let e = map_sqlx(
            "db",
            "settings.get",
            |_| false,
            sqlx::Error::ColumnNotFound("x".into()),
        );
        assert!(!e.is_retryable());
    }
}
