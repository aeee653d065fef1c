//! The embedding example works: own routes, LegalOps under /ops, shared middleware.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use legalops::server::{Config, Platform};
use tower::ServiceExt;

const TOKEN: &str = "example-admin-token-0123456789";

async fn app() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        admin_token: Some(TOKEN.to_owned()),
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    let (platform, _) = Platform::in_memory(config).build().await.expect("platform");
    (legalops_examples::embedded_app(&platform), dir)
}

async fn call(app: &axum::Router, path: &str, token: bool) -> (StatusCode, String, Option<String>) {
    let mut req = Request::get(path);
    if token {
        req = req.header("authorization", format!("Bearer {TOKEN}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("req"))
        .await
        .expect("infallible");
    let status = res.status();
    let id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&body).into_owned(), id)
}

#[tokio::test]
async fn own_routes_and_mounted_ops_share_the_middleware() {
    let (app, _dir) = app().await;
    let (status, body, id) = call(&app, "/orders/7", false).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "order 7"));
    assert!(
        id.is_some(),
        "LegalOps middleware gives the embedding app's routes request ids"
    );

    let (status, body, _) = call(&app, "/ops/health", false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"status":"pass"}"#);
    assert_eq!(
        call(&app, "/ops/api/health/detailed", false).await.0,
        StatusCode::UNAUTHORIZED
    );
    let detailed = call(&app, "/ops/api/health/detailed", true).await;
    assert!(
        detailed.1.contains("\"database:responseTime\""),
        "authorized callers get the detailed report (its status depends on the host's disk too): {}",
        detailed.1
    );
    assert_eq!(
        call(&app, "/health", false).await.0,
        StatusCode::NOT_FOUND,
        "nothing leaks outside the prefix"
    );

    let (_, metrics, _) = call(&app, "/ops/metrics", true).await;
    assert!(
        metrics.contains("route=\"/orders/{id}\""),
        "own routes are counted by template: {metrics}"
    );
    assert!(metrics.contains("route=\"/ops/health\""), "{metrics}");
}
