//! The runbook's performance endpoints (`/api/performance/{metrics,database,cache}`): the
//! same figures as `/api/metrics/*`, under the paths the runbook's commands use. There is
//! no cache in the platform yet, and the cache answer says so rather than inventing a hit
//! rate.

use axum::Json;
use axum::extract::State;
use legalops_ops::metrics::reports::{ApplicationReport, DatabaseReport};
use serde_json::{Value, json};

use super::metrics;
use crate::error::AppError;
use crate::platform::Platform;

/// `GET /api/performance/metrics`: requests, latency and error rate, with the per-route
/// figures (`topRoutes`).
pub async fn application(state: State<Platform>) -> Json<ApplicationReport> {
    metrics::application(state).await
}

/// `GET /api/performance/database`: pool and query figures, slow queries included
/// (`queries.slow`).
pub async fn database(state: State<Platform>) -> Result<Json<DatabaseReport>, AppError> {
    metrics::database(state).await
}

/// `GET /api/performance/cache`: no cache exists, so there is nothing to report.
pub async fn cache() -> Json<Value> {
    Json(json!({
        "caches": [],
        "note": "this deployment has no cache: responses and queries are not cached, so \
                 there is no hit rate to report",
    }))
}
