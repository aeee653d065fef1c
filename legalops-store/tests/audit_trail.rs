//! The audit trail over SQL: concurrent appends from several stores on one database (the
//! replicas of a deployment) make one contiguous, valid chain, and a row edited directly
//! in the database no longer verifies.

mod common;

use std::sync::Arc;

use legalops_core::audit::verify::{ProblemKind, Verifier};
use legalops_core::audit::{AuditEntry, AuditLog, Checkpoint, chain};
use legalops_store::{ConnectOptions, PostgresRecords, SqliteRecords};

/// Appends six entries, returning them as stored.
async fn seed(log: &dyn AuditLog) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    for i in 0..6 {
        out.push(
            log.append(&common::audit::entry("seed", i))
                .await
                .expect("append"),
        );
    }
    out
}

/// Checks that only entry 3 fails to verify after its actor was changed behind the store's
/// back: its recomputed hash differs from the stored one, and the engine's verifier names
/// it as altered.
async fn assert_entry_3_caught(log: &dyn AuditLog, before: &[AuditEntry]) {
    let after = log.entries(1, u64::MAX).await.expect("entries");
    assert_eq!(after.len(), before.len(), "nothing removed");
    let edited = &after[2];
    assert_eq!(edited.entry.actor, "mallory", "the edit reached the store");
    assert_ne!(
        chain::entry_hash(edited.seq, &edited.entry, &edited.prev_hash),
        edited.entry_hash,
        "the edited entry no longer matches its stored hash"
    );
    assert_eq!(common::audit::first_bad(&after), Some(3));
    let checkpoints: Vec<Checkpoint> = log.checkpoints().await.expect("checkpoints");
    let mut verifier = Verifier::new();
    for e in &after {
        verifier.push(e);
    }
    let report = verifier.finish(&checkpoints);
    assert!(!report.ok, "{report}");
    let problem = report.problem.expect("a problem is named");
    assert_eq!(problem.seq, Some(3), "{problem}");
    assert_eq!(problem.kind, ProblemKind::Altered, "{problem}");

    // Untouched, the same log verifies.
    let mut verifier = Verifier::new();
    for e in before {
        verifier.push(e);
    }
    assert!(verifier.finish(&checkpoints).ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_postgres_replicas_appending_at_once_make_one_chain() {
    common::with_pg_schema(|url, opts| async move {
        let a = PostgresRecords::from_url(&url, opts.clone())
            .await
            .expect("replica a");
        let b = PostgresRecords::from_url(&url, opts)
            .await
            .expect("replica b");
        let logs: Vec<Arc<dyn AuditLog>> = vec![Arc::new(a), Arc::new(b)];
        common::audit::append_concurrently(&logs, 4, 10).await;
        // And again, on top of a non-empty log.
        common::audit::append_concurrently(&logs, 2, 5).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_sqlite_stores_on_one_file_appending_at_once_make_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let a = SqliteRecords::from_url(&url, ConnectOptions::default())
        .await
        .expect("store a");
    let b = SqliteRecords::from_url(&url, ConnectOptions::default())
        .await
        .expect("store b");
    let logs: Vec<Arc<dyn AuditLog>> = vec![Arc::new(a), Arc::new(b)];
    common::audit::append_concurrently(&logs, 4, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_in_memory_make_one_chain() {
    let db = SqliteRecords::from_url("sqlite::memory:", ConnectOptions::default())
        .await
        .expect("connect");
    let logs: Vec<Arc<dyn AuditLog>> = vec![Arc::new(db)];
    common::audit::append_concurrently(&logs, 8, 5).await;
}

#[tokio::test]
async fn a_postgres_row_edited_in_the_database_is_caught() {
    common::with_pg_schema_named(|url, schema, opts| async move {
        let db = PostgresRecords::from_url(&url, opts)
            .await
            .expect("connect");
        let before = seed(&db).await;
        let pool = common::pg_pool(&url, &schema).await;
        let edit = sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = $1")
            .bind(3_i64)
            .execute(&pool)
            .await
            .expect("edit a row directly");
        assert_eq!(edit.rows_affected(), 1);
        pool.close().await;
        assert_entry_3_caught(&db, &before).await;
    })
    .await;
}

#[tokio::test]
async fn a_sqlite_row_edited_in_the_database_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.db");
    let url = format!("sqlite://{}", path.display());
    let db = SqliteRecords::from_url(&url, ConnectOptions::default())
        .await
        .expect("connect");
    let before = seed(&db).await;
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open behind the store");
    let edit = sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = $1")
        .bind(3_i64)
        .execute(&pool)
        .await
        .expect("edit a row directly");
    assert_eq!(edit.rows_affected(), 1);
    pool.close().await;
    assert_entry_3_caught(&db, &before).await;
}
