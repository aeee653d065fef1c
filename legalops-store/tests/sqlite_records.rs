//! SQLite records: the conformance suites on a temp file and in memory, plus what only a
//! SQL backend has (migrations, schema version and upgrades, file creation, statistics,
//! errors, state that outlives the process).

mod common;

use std::time::Duration;

use legalops_core::Error;
use legalops_store::{ConnectOptions, SqliteRecords, connect};

fn file_url(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

#[tokio::test]
async fn memory_database_passes_the_records_suites() {
    let records = connect("sqlite::memory:", ConnectOptions::default())
        .await
        .expect("connect");
    common::records_suites(&records).await;
    assert_eq!(records.database.to_string(), "sqlite::memory:");
}

#[tokio::test]
async fn memory_database_passes_the_identity_audit_and_security_suites() {
    let db = SqliteRecords::from_url("sqlite::memory:", ConnectOptions::default())
        .await
        .expect("connect");
    common::v2_suites(&db).await;
}

#[tokio::test]
async fn file_database_passes_the_identity_audit_and_security_suites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = SqliteRecords::from_url(&file_url(dir.path(), "v2.db"), ConnectOptions::default())
        .await
        .expect("connect");
    common::v2_suites(&db).await;
}

#[tokio::test]
async fn file_database_passes_the_records_suites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = file_url(dir.path(), "legalops.db");
    let records = connect(&url, ConnectOptions::default())
        .await
        .expect("connect");
    common::records_suites(&records).await;
}

#[tokio::test]
async fn migrations_are_idempotent_and_the_version_is_visible() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A missing parent directory is created, like ./data on a first start.
    let url = file_url(dir.path(), "data/legalops.db?mode=rwc");
    let first = connect(&url, ConnectOptions::default())
        .await
        .expect("first connect");
    let version = first
        .database
        .schema_version()
        .await
        .expect("schema_version");
    assert_eq!(version, 3, "the newest migration is 0003");
    first
        .settings
        .put_setting("instance_id", "abc")
        .await
        .expect("put");
    drop(first);

    let second = connect(&url, ConnectOptions::default())
        .await
        .expect("second connect");
    assert_eq!(
        second
            .database
            .schema_version()
            .await
            .expect("schema_version"),
        version
    );
    let kept = second
        .settings
        .get_setting("instance_id")
        .await
        .expect("get");
    assert_eq!(kept.as_deref(), Some("abc"), "reconnecting keeps the data");
}

#[tokio::test]
async fn every_query_is_timed_under_its_operation_name() {
    let opts = ConnectOptions::default().with_slow_query_threshold(Duration::ZERO);
    let db = SqliteRecords::from_url("sqlite::memory:", opts)
        .await
        .expect("connect");
    use legalops_core::records::{Database, SettingStore};
    db.put_setting("k", "v").await.expect("put");
    db.get_setting("k").await.expect("get");
    db.healthcheck().await.expect("healthcheck");
    let stats = db.query_stats();
    assert_eq!(stats.count, 3);
    let ops: Vec<&str> = stats.slow.iter().map(|s| s.operation.as_str()).collect();
    assert_eq!(ops, ["settings.put", "settings.get", "db.healthcheck"]);
}

#[tokio::test]
async fn pool_stats_report_the_configured_maximum() {
    use legalops_core::records::Database;
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = ConnectOptions::default().with_max_connections(3);
    let db = SqliteRecords::from_url(&file_url(dir.path(), "p.db"), opts)
        .await
        .expect("connect");
    let p = db.pool_stats();
    assert_eq!(p.max, 3);
    assert_eq!(p.idle + p.in_use, p.size);
    // In memory there is exactly one connection, whatever was asked.
    let opts = ConnectOptions::default().with_max_connections(3);
    let mem = SqliteRecords::from_url("sqlite::memory:", opts)
        .await
        .expect("connect");
    assert_eq!(mem.pool_stats().max, 1);
}

#[tokio::test]
async fn an_unusable_path_is_a_backend_error_naming_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    let url = format!("sqlite://{}/legalops.db", file.display());
    match connect(&url, ConnectOptions::default()).await {
        Err(Error::Backend { backend, .. }) => assert!(backend.contains("not-a-dir"), "{backend}"),
        other => panic!("expected Backend, got {other:?}"),
    }
}

#[tokio::test]
async fn rollups_with_nan_are_refused_and_store_nothing() {
    use legalops_core::metrics::Rollup;
    use time::macros::datetime;
    let records = connect("sqlite::memory:", ConnectOptions::default())
        .await
        .expect("connect");
    let at = datetime!(2026-01-01 0:00 UTC);
    let good = Rollup {
        name: "m".into(),
        labels: Default::default(),
        minute: at,
        count: 1,
        sum: 1.0,
        min: None,
        max: None,
    };
    let bad = Rollup {
        sum: f64::NAN,
        minute: datetime!(2026-01-01 0:01 UTC),
        ..good.clone()
    };
    let err = records.rollups.put_rollups(&[good, bad]).await.err();
    assert!(matches!(err, Some(Error::InvalidInput { .. })), "{err:?}");
    let stored = records
        .rollups
        .rollups("m", at, datetime!(2026-01-02 0:00 UTC))
        .await;
    assert_eq!(
        stored.expect("rollups").len(),
        0,
        "a bad batch stores nothing"
    );
}

/// A file database as an older release left it: only migrations up to `version` applied.
async fn old_database(path: &std::path::Path, version: i64) -> sqlx::SqlitePool {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let old = SqlitePoolOptions::new()
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true),
        )
        .await
        .expect("open the old database");
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= version)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator.run(&old).await.expect("apply the old migrations");
    old
}

#[tokio::test]
async fn migration_0002_upgrades_a_version_1_database_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The database an issue-2 release left behind: only migration 0001 applied.
    let old = old_database(&dir.path().join("old.db"), 1).await;
    sqlx::query("INSERT INTO settings (key, value, updated_at) VALUES ('instance_id', 'old', 'x')")
        .execute(&old)
        .await
        .expect("old data");
    old.close().await;

    let db = SqliteRecords::from_url(&file_url(dir.path(), "old.db"), ConnectOptions::default())
        .await
        .expect("connect upgrades");
    use legalops_core::records::{Database, SettingStore};
    assert_eq!(db.schema_version().await.expect("version"), 3);
    assert_eq!(
        db.get_setting("instance_id").await.expect("get").as_deref(),
        Some("old")
    );
    common::v2_suites(&db).await;
}

#[tokio::test]
async fn migration_0003_upgrades_a_version_2_database_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The database an issue-3 release left behind: migrations 0001 and 0002 applied.
    let old = old_database(&dir.path().join("v2.db"), 2).await;
    sqlx::query("INSERT INTO lockouts (account, until, level) VALUES ('ann@example.com', 1, 2)")
        .execute(&old)
        .await
        .expect("old data");
    old.close().await;

    let db = SqliteRecords::from_url(&file_url(dir.path(), "v2.db"), ConnectOptions::default())
        .await
        .expect("connect upgrades");
    use legalops_core::records::Database;
    use legalops_core::security::SecurityStore;
    assert_eq!(db.schema_version().await.expect("version"), 3);
    let kept = db.get_lockout("ann@example.com").await.expect("lockout");
    assert_eq!(kept.map(|l| l.level), Some(2));
    common::v3_suites(&db).await;
}

#[tokio::test]
async fn memory_database_passes_the_alerting_lease_and_incident_suites() {
    let db = SqliteRecords::from_url("sqlite::memory:", ConnectOptions::default())
        .await
        .expect("connect");
    common::v3_suites(&db).await;
}

#[tokio::test]
async fn file_database_passes_the_alerting_lease_and_incident_suites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = SqliteRecords::from_url(&file_url(dir.path(), "v3.db"), ConnectOptions::default())
        .await
        .expect("connect");
    common::v3_suites(&db).await;
}

#[tokio::test]
async fn connect_bundles_alerts_leases_and_incidents() {
    let records = connect("sqlite::memory:", ConnectOptions::default())
        .await
        .expect("connect");
    common::alerting::leases(records.leases.as_ref()).await;
    legalops_core::conformance::incident_tracker(records.incidents.as_ref(), true).await;
    assert!(
        records
            .alerts
            .silences()
            .await
            .expect("silences")
            .is_empty()
    );
    assert_eq!(records.incidents.to_string(), "sqlite::memory:");
}

/// Two processes on one file (two pools here) take leases and trigger one dedup key at
/// once: `BEGIN IMMEDIATE` and the single-statement lease keep both atomic.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_race_for_leases_and_incidents() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = file_url(dir.path(), "shared.db");
    let a = Arc::new(
        SqliteRecords::from_url(&url, ConnectOptions::default())
            .await
            .expect("a"),
    );
    let b = Arc::new(
        SqliteRecords::from_url(&url, ConnectOptions::default())
            .await
            .expect("b"),
    );
    let leases: Vec<Arc<dyn legalops_core::alerting::LeaseStore>> = vec![a.clone(), b.clone()];
    common::alerting::lease_race(&leases, 10, 8).await;
    let trackers: Vec<Arc<dyn legalops_core::incidents::IncidentTracker>> = vec![a, b];
    common::incidents::trigger_race(&trackers, 8).await;
}

#[tokio::test]
async fn blocks_survive_a_restart() {
    use legalops_core::security::{Block, BlockSource, SecurityStore};
    use time::macros::datetime;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = file_url(dir.path(), "restart.db");
    let now = datetime!(2026-05-01 08:00 UTC);
    let block = Block {
        id: "b-1".into(),
        target: "203.0.113.9/32".into(),
        reason: "brute force".into(),
        source: BlockSource::Automatic,
        created_by: "system".into(),
        created_at: now,
        expires_at: Some(now + time::Duration::hours(1)),
        lifted_at: None,
    };
    let first = SqliteRecords::from_url(&url, ConnectOptions::default())
        .await
        .expect("connect");
    first.add_block(&block).await.expect("add");
    drop(first);
    let second = SqliteRecords::from_url(&url, ConnectOptions::default())
        .await
        .expect("reconnect");
    let active = second.active_blocks(now).await.expect("active");
    assert_eq!(active, [block]);
}
