//! SQLite records: the embedded default (`sqlite://./data/legalops.db`, `sqlite::memory:`).
//!
//! Files are opened in WAL mode with `synchronous=NORMAL` (durable across a process crash,
//! fast enough for one machine), a busy timeout so that concurrent writers wait instead of
//! failing, and foreign keys on. Audit appends and incident writes take the write lock up
//! front (`BEGIN IMMEDIATE`).

use std::str::FromStr;
use std::time::Duration;

use legalops_core::{Error, Result};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::exec::{Instrument, map_migrate, map_sqlx};
use super::queries::impl_records;
use super::{ConnectOptions, URL_KEY, redact_url};

/// How long a writer waits for another's lock before `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The embedded migrations (`migrations/sqlite`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Records in a SQLite database file, or in memory.
#[derive(Debug)]
pub struct SqliteRecords {
    pool: SqlitePool,
    inst: Instrument,
}

impl SqliteRecords {
    /// Opens (creating if missing, with its parent directory) the database at `url` and
    /// applies the embedded migrations. `url` is `sqlite://path`, `sqlite:path` or
    /// `sqlite::memory:`; SQLite URI parameters such as `?mode=ro` are honoured.
    pub async fn from_url(url: &str, options: ConnectOptions) -> Result<Self> {
        options.validate()?;
        let name = redact_url(url);
        if options.schema.is_some() {
            return Err(Error::invalid_config(
                "schema",
                "only PostgreSQL has schemas",
            ));
        }
        let memory = is_memory(url);
        let mut connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::invalid_config(URL_KEY, format!("{name}: {e}")))?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let mut pool = SqlitePoolOptions::new().acquire_timeout(options.connect_timeout);
        if memory {
            // An in-memory database lives as long as a connection to it: keep exactly one.
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            connect = connect
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            create_parent_dir(connect.get_filename(), &name).await?;
            pool = pool.max_connections(options.max_connections);
        }
        let pool = pool
            .connect_with(connect)
            .await
            .map_err(|e| map_sqlx(&name, "connect", is_transient, e))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| map_migrate(&name, is_transient, e))?;
        let inst = Instrument::new(name, options.slow_query, options.clock, is_transient);
        Ok(Self { pool, inst })
    }

    /// A transaction holding the database's write lock from its first statement, so that
    /// audit appenders (of this process, or another one on the same file) run one at a
    /// time: a deferred `BEGIN` would let two read the same last entry and both try to
    /// take its successor's place.
    async fn begin_append(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// A transaction holding the write lock from its first statement, so that incident
    /// writers (of any process on the file) run one at a time: each finds the open
    /// incident its predecessor left, and two triggers of one dedup key never both open one.
    async fn begin_incidents(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_append().await
    }
}

impl_records!(SqliteRecords);

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

async fn create_parent_dir(file: &std::path::Path, name: &str) -> Result<()> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                let retryable = e.kind() == std::io::ErrorKind::Interrupted;
                Error::backend(name, retryable, e)
            })
        }
        _ => Ok(()),
    }
}

/// `SQLITE_BUSY` and `SQLITE_LOCKED` (and their extended codes) pass when the other
/// writer finishes.
fn is_transient(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_locked_are_transient() {
        assert!(is_transient("5"));
        assert!(is_transient("517")); // SQLITE_BUSY_SNAPSHOT
        assert!(is_transient("6"));
        assert!(!is_transient("19")); // SQLITE_CONSTRAINT
        assert!(!is_transient("not a number"));
    }

    #[test]
    fn memory_urls_are_recognised() {
        assert!(is_memory("sqlite::memory:"));
        assert!(is_memory("sqlite://file.db?mode=memory"));
        assert!(!is_memory("sqlite://./data/legalops.db"));
    }

    #[test]
    fn connecting_can_be_spawned() {
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&SqliteRecords::from_url(
            "sqlite::memory:",
            ConnectOptions::default(),
        ));
    }

    #[tokio::test]
    async fn schema_option_is_refused_for_sqlite() {
        let opts = ConnectOptions::default().with_schema("x");
        let err = SqliteRecords::from_url("sqlite::memory:", opts).await.err();
        assert!(matches!(err, Some(Error::InvalidConfig { key, .. }) if key == "schema"));
    }
}
