//! Metrics endpoints (runbook "Monitoring Commands"): Prometheus text at `/metrics`, and
//! JSON reports with each figure graded against the runbook's thresholds at
//! `/api/metrics/{application,system,database}`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use legalops_ops::metrics::reports::{ApplicationReport, DatabaseReport, SystemReport};

use crate::error::AppError;
use crate::platform::Platform;

/// The Prometheus text exposition content type.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`: every series in Prometheus text format.
pub async fn prometheus(State(p): State<Platform>) -> Response {
    let mut res = p.registry().render_prometheus().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_TEXT),
    );
    res
}

/// `GET /api/metrics/application`: requests, latency, error rate.
pub async fn application(State(p): State<Platform>) -> Json<ApplicationReport> {
    let snapshot = p.registry().snapshot(p.clock().now());
    Json(ApplicationReport::from_snapshot(&snapshot, p.uptime()))
}

/// `GET /api/metrics/system`: CPU, memory, disk, load, uptime.
pub async fn system(State(p): State<Platform>) -> Json<SystemReport> {
    Json(p.system().latest())
}

/// `GET /api/metrics/database`: pool and query figures.
pub async fn database(State(p): State<Platform>) -> Result<Json<DatabaseReport>, AppError> {
    let db = &p.records().database;
    let version = db.schema_version().await.ok();
    Ok(Json(DatabaseReport::new(
        db.to_string(),
        db.pool_stats(),
        db.query_stats(),
        version,
    )))
}
