//! PostgreSQL records against a real server (`LEGALOPS_TEST_POSTGRES_URL`, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`). Each test works in a schema of its own,
//! created for it and dropped after it, so tests and parallel runs never see each other.

mod common;

use std::time::Duration;

use legalops_core::Error;
use legalops_store::{ConnectOptions, PostgresRecords, connect};

#[tokio::test]
async fn postgres_passes_the_records_suites() {
    common::with_pg_schema(|url, opts| async move {
        let records = connect(&url, opts).await.expect("connect");
        common::records_suites(&records).await;
    })
    .await;
}

#[tokio::test]
async fn postgres_passes_the_identity_audit_and_security_suites() {
    common::with_pg_schema(|url, opts| async move {
        let db = PostgresRecords::from_url(&url, opts)
            .await
            .expect("connect");
        common::v2_suites(&db).await;
    })
    .await;
}

#[tokio::test]
async fn migrations_are_idempotent_and_the_version_is_visible() {
    common::with_pg_schema(|url, opts| async move {
        let first = connect(&url, opts.clone()).await.expect("first connect");
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

        let second = connect(&url, opts).await.expect("second connect");
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
        assert_eq!(kept.as_deref(), Some("abc"));
    })
    .await;
}

#[tokio::test]
async fn schemas_keep_deployments_apart() {
    common::with_pg_schema(|url, opts| async move {
        let other_schema = common::fresh_schema();
        let other_opts = ConnectOptions::default().with_schema(other_schema.clone());
        let ours = connect(&url, opts).await.expect("connect ours");
        let theirs = connect(&url, other_opts).await.expect("connect theirs");
        ours.settings
            .put_setting("admin_token_hash", "ours")
            .await
            .expect("put");
        let seen = theirs.settings.get_setting("admin_token_hash").await;
        common::drop_schema(&url, &other_schema).await;
        assert_eq!(
            seen.expect("get"),
            None,
            "another schema sees nothing of ours"
        );
    })
    .await;
}

#[tokio::test]
async fn display_shows_the_url_without_password() {
    common::with_pg_schema(|url, opts| async move {
        let db = PostgresRecords::from_url(&url, opts)
            .await
            .expect("connect");
        let shown = db.to_string();
        assert!(shown.starts_with("postgres"), "{shown}");
        assert!(shown.contains("(schema legalops_test_"), "{shown}");
    })
    .await;
}

/// Needs no server: nothing listens on port 1.
#[tokio::test]
async fn unreachable_server_is_a_retryable_backend_error_without_the_password() {
    let url = "postgres://app:hunter2@127.0.0.1:1/legalops";
    let opts = ConnectOptions::default().with_connect_timeout(Duration::from_secs(2));
    let err = connect(url, opts)
        .await
        .expect_err("connecting to port 1 fails");
    assert!(err.is_retryable(), "{err:?}");
    match &err {
        Error::Backend { backend, .. } => {
            assert_eq!(backend, "postgres://app:[REDACTED]@127.0.0.1:1/legalops")
        }
        other => panic!("expected Backend, got {other:?}"),
    }
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn invalid_schema_names_are_refused_before_connecting() {
    let opts = ConnectOptions::default().with_schema("x; DROP TABLE settings");
    let err = connect("postgres://postgres@127.0.0.1:1/test", opts)
        .await
        .err();
    assert!(matches!(err, Some(Error::InvalidConfig { key, .. }) if key == "schema"));
}

/// A schema as an older release left it: only migrations up to `version` applied.
async fn old_schema(url: &str, schema: &str, version: i64) -> sqlx::PgPool {
    let pool = common::pg_pool(url, schema).await;
    let create = format!("CREATE SCHEMA \"{schema}\"");
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&pool)
        .await
        .expect("create schema");
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= version)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator.run(&pool).await.expect("apply the old migrations");
    pool
}

#[tokio::test]
async fn migration_0002_upgrades_a_version_1_schema_and_keeps_its_data() {
    common::with_pg_schema_named(|url, schema, opts| async move {
        // The schema an issue-2 release left behind: only migration 0001 applied.
        let pool = old_schema(&url, &schema, 1).await;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ('instance_id', 'old', now())",
        )
        .execute(&pool)
        .await
        .expect("old data");
        pool.close().await;

        let db = PostgresRecords::from_url(&url, opts)
            .await
            .expect("connect upgrades");
        use legalops_core::records::{Database, SettingStore};
        assert_eq!(db.schema_version().await.expect("version"), 3);
        assert_eq!(
            db.get_setting("instance_id").await.expect("get").as_deref(),
            Some("old")
        );
        common::v2_suites(&db).await;
    })
    .await;
}

#[tokio::test]
async fn blocks_survive_a_restart_and_every_replica_sees_them() {
    use legalops_core::security::{Block, BlockSource, SecurityStore};
    use time::macros::datetime;
    common::with_pg_schema(|url, opts| async move {
        let now = datetime!(2026-05-01 08:00 UTC);
        let block = Block {
            id: "b-1".into(),
            target: "2001:db8:bad::/48".into(),
            reason: "manual".into(),
            source: BlockSource::Manual,
            created_by: "admin-token".into(),
            created_at: now,
            expires_at: None,
            lifted_at: None,
        };
        let first = PostgresRecords::from_url(&url, opts.clone())
            .await
            .expect("connect");
        let replica = PostgresRecords::from_url(&url, opts.clone())
            .await
            .expect("replica");
        first.add_block(&block).await.expect("add");
        assert_eq!(
            replica.active_blocks(now).await.expect("replica active"),
            std::slice::from_ref(&block)
        );
        drop(first);
        drop(replica);
        let restarted = PostgresRecords::from_url(&url, opts)
            .await
            .expect("reconnect");
        assert_eq!(restarted.active_blocks(now).await.expect("active"), [block]);
    })
    .await;
}

#[tokio::test]
async fn migration_0003_upgrades_a_version_2_schema_and_keeps_its_data() {
    common::with_pg_schema_named(|url, schema, opts| async move {
        // The schema an issue-3 release left behind: migrations 0001 and 0002 applied.
        let pool = old_schema(&url, &schema, 2).await;
        sqlx::query(
            "INSERT INTO lockouts (account, until, level) VALUES ('ann@example.com', 1, 2)",
        )
        .execute(&pool)
        .await
        .expect("old data");
        pool.close().await;

        let db = PostgresRecords::from_url(&url, opts)
            .await
            .expect("connect upgrades");
        use legalops_core::records::Database;
        use legalops_core::security::SecurityStore;
        assert_eq!(db.schema_version().await.expect("version"), 3);
        let kept = db.get_lockout("ann@example.com").await.expect("lockout");
        assert_eq!(kept.map(|l| l.level), Some(2));
        common::v3_suites(&db).await;
    })
    .await;
}

#[tokio::test]
async fn postgres_passes_the_alerting_lease_and_incident_suites() {
    common::with_pg_schema(|url, opts| async move {
        let db = PostgresRecords::from_url(&url, opts.clone())
            .await
            .expect("connect");
        common::v3_suites(&db).await;
        let records = connect(&url, opts).await.expect("connect the bundle");
        legalops_core::conformance::incident_tracker(records.incidents.as_ref(), true).await;
    })
    .await;
}

/// Two replicas on one schema race for leases: the conditional upsert lets exactly one
/// holder win each free lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_racing_for_a_lease_get_exactly_one_holder() {
    use legalops_core::alerting::LeaseStore;
    use std::sync::Arc;
    common::with_pg_schema(|url, opts| async move {
        let a = PostgresRecords::from_url(&url, opts.clone())
            .await
            .expect("a");
        let b = PostgresRecords::from_url(&url, opts).await.expect("b");
        let replicas: Vec<Arc<dyn LeaseStore>> = vec![Arc::new(a), Arc::new(b)];
        common::alerting::lease_race(&replicas, 20, 10).await;
    })
    .await;
}

/// Two replicas on one schema trigger one dedup key at once: one open incident counts
/// every trigger, and after resolve the next race opens exactly one new incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_triggering_one_dedup_key_open_one_incident() {
    use legalops_core::incidents::IncidentTracker;
    use std::sync::Arc;
    common::with_pg_schema(|url, opts| async move {
        let a = PostgresRecords::from_url(&url, opts.clone())
            .await
            .expect("a");
        let b = PostgresRecords::from_url(&url, opts).await.expect("b");
        let replicas: Vec<Arc<dyn IncidentTracker>> = vec![Arc::new(a), Arc::new(b)];
        common::incidents::trigger_race(&replicas, 10).await;
    })
    .await;
}
