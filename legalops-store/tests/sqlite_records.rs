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
    assert_eq!(version, 2, "the newest migration is 0002");
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

#[tokio::test]
async fn migration_0002_upgrades_a_version_1_database_and_keeps_its_data() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    // The database an issue-2 release left behind: only migration 0001 applied.
    let old = SqlitePoolOptions::new()
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .expect("open the old database");
    let mut v1 = sqlx::migrate!("./migrations/sqlite");
    v1.migrations = v1
        .migrations
        .iter()
        .filter(|m| m.version == 1)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    v1.run(&old).await.expect("apply 0001 only");
    sqlx::query("INSERT INTO settings (key, value, updated_at) VALUES ('instance_id', 'old', 'x')")
        .execute(&old)
        .await
        .expect("old data");
    old.close().await;

    let db = SqliteRecords::from_url(&file_url(dir.path(), "old.db"), ConnectOptions::default())
        .await
        .expect("connect upgrades");
    use legalops_core::records::{Database, SettingStore};
    assert_eq!(db.schema_version().await.expect("version"), 2);
    assert_eq!(
        db.get_setting("instance_id").await.expect("get").as_deref(),
        Some("old")
    );
    common::v2_suites(&db).await;
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
