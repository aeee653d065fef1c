//! PostgreSQL records: the shared database of a multi-replica deployment
//! (`postgres://user[:password]@host[:port]/db`).
//!
//! Connecting opens one connection first, on its own, to get a clear error (sqlx's pool
//! retries a refused connection until its timeout and then reports only the timeout), and
//! uses it to create the optional schema; then the pool opens and the migrations run.
//! Audit appends and incident writes each serialize on a transaction-scoped advisory lock
//! shared by every replica.

use std::str::FromStr;

use legalops_core::{Error, Result};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use super::exec::{Instrument, map_migrate, map_sqlx};
use super::queries::impl_records;
use super::{ConnectOptions, URL_KEY, redact_url};

/// The embedded migrations (`migrations/postgres`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Records in a PostgreSQL database (optionally in one schema of it).
#[derive(Debug)]
pub struct PostgresRecords {
    pool: PgPool,
    inst: Instrument,
}

impl PostgresRecords {
    /// Connects to the database at `url`, creates [`ConnectOptions::with_schema`]'s schema
    /// if set and missing, and applies the embedded migrations (in that schema).
    pub async fn from_url(url: &str, options: ConnectOptions) -> Result<Self> {
        options.validate()?;
        let mut name = redact_url(url);
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(|e| Error::invalid_config(URL_KEY, format!("{name}: {e}")))?;
        if let Some(schema) = &options.schema {
            // A startup parameter, so every pooled connection (and the migrator's
            // `_sqlx_migrations` table) lives in the schema without an extra round trip.
            connect = connect.options([("search_path", schema)]);
            name = format!("{name} (schema {schema})");
        }

        let mut conn = tokio::time::timeout(
            options.connect_timeout,
            PgConnection::connect_with(&connect),
        )
        .await
        .map_err(|_| {
            let msg = format!("could not connect within {:?}", options.connect_timeout);
            Error::backend(&name, true, msg)
        })?
        .map_err(|e| map_sqlx(&name, "connect", is_transient, e))?;
        if let Some(schema) = &options.schema {
            create_schema(&mut conn, schema, &name).await?;
        }
        // The pool's connections replace this one; a failed goodbye changes nothing.
        let _ = conn.close().await;

        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| map_sqlx(&name, "connect", is_transient, e))?;
        // Through the pool: migrating over `&mut PgConnection` makes this future !Send
        // (sqlx's "Acquire is not general enough").
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| map_migrate(&name, is_transient, e))?;
        let inst = Instrument::new(name, options.slow_query, options.clock, is_transient);
        Ok(Self { pool, inst })
    }

    /// A transaction holding the audit appenders' advisory lock (released at commit or
    /// rollback), so that appenders of every replica run one at a time and each reads the
    /// entry its predecessor committed (READ COMMITTED takes a fresh snapshot per
    /// statement, after the lock is granted).
    async fn begin_append(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin_locked(super::audit::APPEND_LOCK_KEY).await
    }

    /// A transaction holding the incident writers' advisory lock, for the same reasons:
    /// each writer finds the open incident its predecessor committed, so two replicas
    /// triggering one dedup key end with one open incident.
    async fn begin_incidents(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin_locked(super::incidents::INCIDENT_LOCK_KEY).await
    }

    async fn begin_locked(
        &self,
        key: i64,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

impl_records!(PostgresRecords);

async fn create_schema(conn: &mut PgConnection, schema: &str, name: &str) -> Result<()> {
    // `schema` passed ConnectOptions::validate: a plain identifier, safe to quote.
    let sql = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
    match sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
    {
        Ok(_) => Ok(()),
        // Two replicas creating it at once: the loser sees a unique violation, and the
        // schema exists, which is all we wanted.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(()),
        Err(e) => Err(map_sqlx(name, "create_schema", is_transient, e)),
    }
}

/// Serialization failures, deadlocks, lost connections, shutdowns and resource limits
/// pass; constraint and syntax errors do not.
fn is_transient(sqlstate: &str) -> bool {
    matches!(
        sqlstate,
        "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03" | "53300"
    ) || sqlstate.starts_with("08")
        || sqlstate.starts_with("53")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialization_failures_and_lost_connections_are_transient() {
        for code in ["40001", "40P01", "08006", "57P01", "53300"] {
            assert!(is_transient(code), "{code}");
        }
        for code in ["23505", "42601", "42P01"] {
            assert!(!is_transient(code), "{code}");
        }
    }

    #[test]
    fn connecting_can_be_spawned() {
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&PostgresRecords::from_url(
            "postgres://h/db",
            ConnectOptions::default(),
        ));
        assert_send(&super::super::connect(
            "postgres://h/db",
            ConnectOptions::default(),
        ));
    }

    #[tokio::test]
    async fn malformed_url_names_the_key() {
        let err = PostgresRecords::from_url("postgres://u:pw@[bad", ConnectOptions::default())
            .await
            .err();
        match err {
            Some(Error::InvalidConfig { key, message }) => {
                assert_eq!(key, "database_url");
                assert!(!message.contains("pw"), "{message}");
            }
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }
}
