//! Blocks live in the records store: they survive a restart, and a second replica over the
//! same database enforces them. Run over a shared SQLite file always, and over PostgreSQL
//! when LEGALOPS_TEST_POSTGRES_URL is set (required under CI=true).

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::{ADMIN_TOKEN, call, clock, fast_config};
use legalops_core::ManualClock;
use legalops_server::Platform;
use serde_json::json;

async fn start(database_url: &str, dir: &std::path::Path, clock: &ManualClock) -> Platform {
    let mut config = fast_config(dir);
    config.database_url = Some(database_url.to_owned());
    config.documents_url = Some("memory://".to_owned());
    let (p, _) = Platform::builder(config)
        .clock(Arc::new(clock.clone()))
        .build()
        .await
        .expect("platform");
    p
}

async fn blocked_everywhere(url: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock();
    let a = start(url, dir.path(), &clock).await;
    let b = start(url, dir.path(), &clock).await;
    let (app_a, app_b) = (a.router(), b.router());
    // Unique per run: a shared PostgreSQL keeps blocks from earlier runs.
    let ip = format!("198.18.{}.{}", rand_octet(), rand_octet());
    let made = call(
        &app_a,
        "192.0.2.1",
        Method::POST,
        "/api/security/block-ip",
        Some(ADMIN_TOKEN),
        Some(json!({"ipAddress": ip, "reason": "replica test"})),
    )
    .await;
    assert!(made.status.is_success(), "{}", made.text);
    assert_eq!(
        call(&app_a, &ip, Method::GET, "/health", None, None)
            .await
            .status,
        StatusCode::FORBIDDEN,
        "the deciding replica at once"
    );
    // The other replica picks it up on its next blocklist refresh.
    b.security().refresh_now().await.expect("refresh");
    assert_eq!(
        call(&app_b, &ip, Method::GET, "/health", None, None)
            .await
            .status,
        StatusCode::FORBIDDEN,
        "the second replica"
    );
    // A restart: a fresh platform over the same database.
    drop((a, b, app_a, app_b));
    let c = start(url, dir.path(), &clock).await;
    c.security().refresh_now().await.expect("refresh");
    assert_eq!(
        call(&c.router(), &ip, Method::GET, "/health", None, None)
            .await
            .status,
        StatusCode::FORBIDDEN,
        "after a restart"
    );
    clock.advance(Duration::from_secs(1));
}

fn rand_octet() -> u8 {
    let mut b = [0u8; 1];
    getrandom::fill(&mut b).expect("os random");
    b[0].max(1)
}

#[tokio::test]
async fn blocks_survive_a_restart_and_reach_a_second_replica_over_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    blocked_everywhere(&url).await;
}

#[tokio::test]
async fn blocks_survive_a_restart_and_reach_a_second_replica_over_postgres() {
    let Ok(url) = std::env::var("LEGALOPS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "LEGALOPS_TEST_POSTGRES_URL must be set in CI"
        );
        eprintln!("skipped: LEGALOPS_TEST_POSTGRES_URL not set");
        return;
    };
    blocked_everywhere(&url).await;
}
