//! Health endpoints (runbook "Health Check Commands"; IETF health+json; Kubernetes probes):
//! `/health` (public, status only), `/livez` (process only), `/readyz` (dependencies),
//! `/api/health/detailed` (admin, every check).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use legalops_core::health::{HEALTH_JSON, HealthReport};
use legalops_ops::health::Probe;

use crate::platform::Platform;

fn health_response(report: &HealthReport) -> Response {
    let status = StatusCode::from_u16(report.status.http_status())
        .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let body = serde_json::to_vec(report).unwrap_or_default();
    let mut res = (status, body).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(HEALTH_JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /health`: the overall status of the dependencies, nothing else.
pub async fn health(State(p): State<Platform>) -> Response {
    health_response(&p.health().run(Probe::Readiness).await.status_only())
}

/// `GET /livez`: the process only; a dependency never fails it (no restart storms).
pub async fn livez(State(p): State<Platform>) -> Response {
    health_response(&p.health().run(Probe::Liveness).await.status_only())
}

/// `GET /readyz`: whether the dependencies can serve traffic.
pub async fn readyz(State(p): State<Platform>) -> Response {
    health_response(&p.health().run(Probe::Readiness).await.status_only())
}

/// `GET /api/health/detailed` (admin): every check with its observed values.
pub async fn detailed(State(p): State<Platform>) -> Response {
    let mut report = p.health().run(Probe::Detailed).await;
    report.version = Some(crate::VERSION.to_owned());
    report.release_id = Some(crate::VERSION.to_owned());
    report.service_id = Some(p.service_id().to_owned());
    report.description = Some("LegalOps platform".to_owned());
    health_response(&report)
}
