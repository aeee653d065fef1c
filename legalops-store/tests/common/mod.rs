//! Helpers shared by the integration tests: finding the real services (and skipping, or
//! failing in CI, when they are absent), giving each PostgreSQL test its own schema, and
//! the suites every SQL backend runs.

#![allow(dead_code)] // Each test binary uses a different subset.

pub mod alerting;
pub mod audit;
pub mod focused;
pub mod incidents;

use std::future::Future;

use legalops_core::records::Records;
use legalops_store::ConnectOptions;
use sqlx::Connection;

/// The environment variable holding the PostgreSQL URL for tests.
pub const POSTGRES_ENV: &str = "LEGALOPS_TEST_POSTGRES_URL";

/// The URL in `var`, or `None` after printing why the test is skipped. Under `CI=true` a
/// missing service is a failure, never a silent skip.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "{var} must be set when CI=true (CI always runs the real-service tests)"
            );
            eprintln!("skipped: {var} not set");
            None
        }
    }
}

/// The PostgreSQL URL for tests, or `None` (see [`service_url`]).
pub fn postgres_url() -> Option<String> {
    service_url(POSTGRES_ENV)
}

/// A schema name no other test or run uses.
pub fn fresh_schema() -> String {
    format!("legalops_test_{}", uuid::Uuid::new_v4().simple())
}

/// Runs `body` with a PostgreSQL URL and connect options set to a fresh schema, then drops
/// the schema, even when `body` panics. Returns without running `body` when PostgreSQL
/// is not configured (see [`service_url`]).
pub async fn with_pg_schema<F, Fut>(body: F)
where
    F: FnOnce(String, ConnectOptions) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_pg_schema_named(|url, _schema, options| body(url, options)).await;
}

/// [`with_pg_schema`], also telling `body` the schema's name (for direct SQL in it).
pub async fn with_pg_schema_named<F, Fut>(body: F)
where
    F: FnOnce(String, String, ConnectOptions) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = postgres_url() else { return };
    let schema = fresh_schema();
    let options = ConnectOptions::default().with_schema(schema.clone());
    // On its own task, so that a failed assertion still lets us clean up.
    let outcome = tokio::spawn(body(url.clone(), schema.clone(), options)).await;
    drop_schema(&url, &schema).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Drops `schema` and everything in it.
pub async fn drop_schema(url: &str, schema: &str) {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to drop the test schema");
    let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("drop the test schema");
    let _ = conn.close().await;
}

/// A one-connection pool on `url` whose tables are those of `schema`, for SQL a test runs
/// behind the store's back (a pool, since migrating over a bare connection is not `Send`).
pub async fn pg_pool(url: &str, schema: &str) -> sqlx::PgPool {
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .expect("test URL parses")
        .options([("search_path", schema)]);
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("connect to the test schema")
}

/// Runs the records conformance suites on every aggregate of `records`, one after another.
pub async fn records_suites(records: &Records) {
    legalops_core::conformance::settings(records.settings.as_ref()).await;
    legalops_core::conformance::rollups(records.rollups.as_ref()).await;
    legalops_core::conformance::database(records.database.as_ref()).await;
}

/// Runs the suites of the identity, audit and security aggregates on a fresh backend: the
/// focused SQL checks first (they need empty tables), then the conformance suites.
pub async fn v2_suites<B>(db: &B)
where
    B: legalops_core::identity::UserStore
        + legalops_core::identity::SessionStore
        + legalops_core::identity::ApiKeyStore
        + legalops_core::audit::AuditLog
        + legalops_core::security::SecurityStore,
{
    focused::audit_log(db).await;
    focused::security(db).await;
    legalops_core::conformance::users(db).await;
    legalops_core::conformance::sessions(db).await;
    legalops_core::conformance::api_keys(db).await;
    legalops_core::conformance::audit_log(db).await;
    legalops_core::conformance::security(db).await;
}

/// Runs the suites of the alerting, lease and incident aggregates on a fresh backend: the
/// focused SQL checks and the model comparison first (they need empty tables), then the
/// conformance suites.
pub async fn v3_suites<B>(db: &B)
where
    B: legalops_core::alerting::AlertStore
        + legalops_core::alerting::LeaseStore
        + legalops_core::incidents::IncidentTracker,
{
    alerting::alert_store(db).await;
    alerting::leases(db).await;
    incidents::matches_memory(db, &incidents::script()).await;
    legalops_core::conformance::alert_store(db).await;
    legalops_core::conformance::lease_store(db).await;
    legalops_core::conformance::incident_tracker(db, true).await;
}
