//! End-to-end tests of the router through `oneshot` (no socket): health probes, admin
//! auth, problem details, request ids, panics, metrics endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use legalops_core::mem::{MemoryDocumentStore, MemoryRecords};
use legalops_core::records::{Database, PoolStats, QueryStats, Records};
use legalops_core::{Error, Result};
use legalops_server::{Config, Platform};
use tower::ServiceExt;

const TOKEN: &str = "test-admin-token-0123456789";

/// A database whose health can be switched between ok, failing and hung.
#[derive(Debug)]
struct SwitchableDb {
    mode: AtomicU8,
}

const OK: u8 = 0;
const DOWN: u8 = 1;
const HUNG: u8 = 2;

impl std::fmt::Display for SwitchableDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("switchable")
    }
}

#[async_trait]
impl Database for SwitchableDb {
    async fn healthcheck(&self) -> Result<()> {
        match self.mode.load(Ordering::SeqCst) {
            OK => Ok(()),
            DOWN => Err(Error::backend(
                "switchable",
                true,
                std::io::Error::other("connection refused"),
            )),
            _ => {
                std::future::pending::<()>().await;
                Ok(())
            }
        }
    }
    async fn schema_version(&self) -> Result<i64> {
        Ok(1)
    }
    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: 2,
            idle: 1,
            in_use: 1,
            max: 10,
            waiting: 0,
        }
    }
    fn query_stats(&self) -> QueryStats {
        QueryStats::default()
    }
}

async fn platform() -> (Platform, Arc<SwitchableDb>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mem = Arc::new(MemoryRecords::new());
    let db = Arc::new(SwitchableDb {
        mode: AtomicU8::new(OK),
    });
    // Every aggregate from memory, but the database's health from the switchable double.
    let records = Records {
        database: db.clone(),
        ..Records::from_backend(mem)
    };
    let mut config = Config {
        admin_token: Some(TOKEN.to_owned()),
        data_dir: dir.path().to_owned(),
        health_timeout_ms: 200,
        ..Config::default()
    };
    config.log.file = false;
    let (p, _) = Platform::builder(config)
        .records(records)
        .documents(Arc::new(MemoryDocumentStore::new()))
        .build()
        .await
        .expect("platform builds");
    (p, db, dir)
}

async fn get_req(
    app: &Router,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body")
        .to_vec();
    (status, headers, body)
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)
}

#[tokio::test]
async fn public_health_is_status_only_health_json() {
    let (p, _db, _dir) = platform().await;
    let app = p.router();
    let (status, headers, body) = get_req(&app, "/health", None).await;
    assert_eq!(status, 200);
    assert_eq!(headers[header::CONTENT_TYPE], "application/health+json");
    assert_eq!(json(&body), serde_json::json!({"status": "pass"}));
}

#[tokio::test]
async fn detailed_health_needs_the_token_and_shows_every_check() {
    let (p, _db, _dir) = platform().await;
    let app = p.router();
    for token in [None, Some("wrong-token-wrong-token")] {
        let (status, headers, body) = get_req(&app, "/api/health/detailed", token).await;
        assert_eq!(status, 401, "token {token:?}");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert!(json(&body).get("detail").is_none(), "401 carries no detail");
    }
    let (status, headers, body) = get_req(&app, "/api/health/detailed", Some(TOKEN)).await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/health+json");
    let v = json(&body);
    // The host's own disk and memory are checked too; a full disk on the test machine may
    // fail the report, but nothing of the platform's may.
    let report: legalops_core::health::HealthReport =
        serde_json::from_value(v.clone()).expect("health+json");
    assert_eq!(status, report.status.http_status());
    for (key, check) in report.failing() {
        assert_eq!(
            check.component_type,
            legalops_core::health::ComponentType::System,
            "{key} failed: {v}"
        );
    }
    assert_eq!(v["version"], legalops_server::VERSION);
    for key in [
        "database:responseTime",
        "database:schemaVersion",
        "documents:responseTime",
        "disk:utilization",
        "memory:utilization",
        "uptime:uptime",
    ] {
        assert!(v["checks"][key].is_array(), "missing {key} in {v}");
    }
    assert_eq!(v["checks"]["database:schemaVersion"][0]["observedValue"], 1);
}

#[tokio::test]
async fn database_down_fails_readiness_but_not_liveness() {
    let (p, db, _dir) = platform().await;
    let app = p.router();
    db.mode.store(DOWN, Ordering::SeqCst);
    assert_eq!(get_req(&app, "/health", None).await.0, 503);
    assert_eq!(get_req(&app, "/readyz", None).await.0, 503);
    assert_eq!(get_req(&app, "/livez", None).await.0, 200);
    let (status, _, body) = get_req(&app, "/api/health/detailed", Some(TOKEN)).await;
    assert_eq!(status, 503);
    let v = json(&body);
    assert_eq!(v["status"], "fail");
    assert_eq!(v["checks"]["database:responseTime"][0]["status"], "fail");
    db.mode.store(OK, Ordering::SeqCst);
    assert_eq!(
        get_req(&app, "/health", None).await.0,
        200,
        "recovers when the database returns"
    );
}

#[tokio::test(start_paused = true)]
async fn hung_database_fails_within_the_check_timeout() {
    let (p, db, _dir) = platform().await;
    let app = p.router();
    db.mode.store(HUNG, Ordering::SeqCst);
    // Paused time: the timeout elapses virtually, so this finishes at once or never.
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        get_req(&app, "/api/health/detailed", Some(TOKEN)),
    )
    .await;
    let (status, _, body) = res.expect("a hung dependency must not hang the endpoint");
    assert_eq!(status, 503);
    let out = json(&body)["checks"]["database:responseTime"][0]["output"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(out.contains("timed out"), "{out}");
    assert_eq!(get_req(&app, "/livez", None).await.0, 200);
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let (p, _db, _dir) = platform().await;
    let app = p.router();
    let req = Request::get("/livez")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .expect("req");
    let res = app.clone().oneshot(req).await.expect("infallible");
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let req = Request::get("/livez")
        .header("x-request-id", "bad id\twith space")
        .body(Body::empty())
        .expect("req");
    let res = app.clone().oneshot(req).await.expect("infallible");
    let id = res.headers()["x-request-id"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(id.len(), 36, "a fresh uuid replaces an unsafe id: {id}");
}

#[tokio::test]
async fn unknown_path_is_a_problem_404() {
    let (p, _db, _dir) = platform().await;
    let (status, headers, body) = get_req(&p.router(), "/nope", None).await;
    assert_eq!(status, 404);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(json(&body)["status"], 404);
}

async fn boom() -> &'static str {
    panic!("secret detail: hunter2")
}

#[tokio::test]
async fn a_panicking_handler_is_a_counted_500_and_serving_goes_on() {
    let (p, _db, _dir) = platform().await;
    let app = p.apply_middleware(
        Router::new()
            .route("/boom", get(boom))
            .route("/ok", get(|| async { "ok" })),
    );
    let (status, headers, body) = get_req(&app, "/boom", None).await;
    assert_eq!(status, 500);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert!(
        !String::from_utf8_lossy(&body).contains("hunter2"),
        "panic message must not leak"
    );
    assert_eq!(get_req(&app, "/ok", None).await.0, 200);
    let text = p.registry().render_prometheus();
    assert!(
        text.lines()
            .any(|l| l.starts_with("http_panics_total") && l.ends_with(" 1")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("route=\"/boom\"")
            && l.contains("status=\"5xx\"")),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_need_the_token_by_default_and_count_by_route_template() {
    let (p, _db, _dir) = platform().await;
    let app = p.router();
    assert_eq!(get_req(&app, "/metrics", None).await.0, 401);
    for _ in 0..3 {
        get_req(&app, "/livez", None).await;
    }
    get_req(&app, "/no/such/thing/42", None).await;
    let (status, headers, body) = get_req(&app, "/metrics", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("route=\"/livez\"")
            && l.ends_with(" 3")),
        "{text}"
    );
    assert!(
        !text.contains("/no/such/thing"),
        "unmatched paths must not become labels"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn json_metric_reports_grade_figures_against_the_runbook() {
    let (p, _db, _dir) = platform().await;
    let app = p.router();
    get_req(&app, "/livez", None).await;
    for path in [
        "/api/metrics/application",
        "/api/metrics/system",
        "/api/metrics/database",
    ] {
        assert_eq!(
            get_req(&app, path, None).await.0,
            401,
            "{path} is admin-only"
        );
        let (status, _, body) = get_req(&app, path, Some(TOKEN)).await;
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(json(&body).is_object(), "{path}");
    }
    let (_, _, body) = get_req(&app, "/api/metrics/database", Some(TOKEN)).await;
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("\"target\""),
        "figures carry their targets: {text}"
    );
}
