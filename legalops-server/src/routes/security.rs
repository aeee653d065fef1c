//! Security operations (runbook "Security Commands"): block and unblock addresses, list
//! blocks, failed logins and security events, the security metrics, and the DoS-mode
//! switch. Every change is audited.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use legalops_core::audit::Outcome;
use legalops_core::security::{Block, FailedLogin, SecurityEvent};
use legalops_ops::security::SecurityReport;
use serde::Deserialize;
use time::OffsetDateTime;

use super::auth::bad_json;
use crate::access::{ClientIp, Principal, request_meta};
use crate::error::AppError;
use crate::platform::Platform;

/// `POST /api/security/block-ip` body (runbook: `{"ipAddress", "reason"}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockIp {
    ip_address: String,
    reason: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
}

/// `POST /api/security/block-ip`.
pub async fn block_ip(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Json<BlockIp>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let actor = principal.actor();
    let result = p
        .security()
        .block(&body.ip_address, &body.reason, body.expires_at, &actor)
        .await;
    let outcome = if result.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    let mut event = p
        .auditor()
        .event("security.block_ip", outcome)
        .actor(&actor)
        .target(&body.ip_address)
        .detail("reason", &body.reason)
        .meta(&request_meta(ip, &headers));
    if let Err(e) = &result {
        event = event.detail("error", e.to_string());
    }
    event.emit().await;
    match result {
        Ok(block) => (StatusCode::CREATED, Json(block)).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// `DELETE /api/security/blocked-ips/{id}`: lifts a block.
pub async fn unblock(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Block>, AppError> {
    let actor = principal.actor();
    let result = p.security().unblock(&id, &actor).await;
    p.auditor()
        .event(
            "security.unblock_ip",
            if result.is_ok() {
                Outcome::Success
            } else {
                Outcome::Failure
            },
        )
        .actor(&actor)
        .target(result.as_ref().map_or(id.clone(), |b| b.target.clone()))
        .meta(&request_meta(ip, &headers))
        .emit()
        .await;
    Ok(Json(result?))
}

/// `GET /api/security/blocked-ips`.
pub async fn blocked_ips(State(p): State<Platform>) -> Result<Json<Vec<Block>>, AppError> {
    Ok(Json(p.security().blocks().await?))
}

/// Listing window: `?hours=24&limit=100`.
#[derive(Debug, Deserialize)]
pub struct Window {
    #[serde(default = "default_hours")]
    hours: u32,
    #[serde(default = "default_limit")]
    limit: u64,
}

fn default_hours() -> u32 {
    24
}

fn default_limit() -> u64 {
    100
}

impl Window {
    fn since(&self, now: OffsetDateTime) -> OffsetDateTime {
        now - time::Duration::hours(i64::from(self.hours.min(24 * 366)))
    }
}

/// `GET /api/security/failed-logins`.
pub async fn failed_logins(
    State(p): State<Platform>,
    Query(w): Query<Window>,
) -> Result<Json<Vec<FailedLogin>>, AppError> {
    let since = w.since(p.clock().now());
    Ok(Json(
        p.security().failed_logins(since, w.limit.min(1000)).await?,
    ))
}

/// `GET /api/security/events`.
pub async fn events(
    State(p): State<Platform>,
    Query(w): Query<Window>,
) -> Result<Json<Vec<SecurityEvent>>, AppError> {
    let since = w.since(p.clock().now());
    Ok(Json(p.security().events(since, w.limit.min(1000)).await?))
}

/// `GET /api/metrics/security`.
pub async fn metrics(State(p): State<Platform>) -> Result<Json<SecurityReport>, AppError> {
    Ok(Json(p.security().report().await?))
}

/// `POST /api/security/dos-mode` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DosMode {
    enabled: bool,
}

/// `POST /api/security/dos-mode`: tightens every rate limit at once (runbook: high load).
pub async fn dos_mode(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Json<DosMode>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let actor = principal.actor();
    let result = p.security().set_dos_mode(body.enabled, &actor).await;
    p.auditor()
        .event(
            "security.dos_mode",
            if result.is_ok() {
                Outcome::Success
            } else {
                Outcome::Failure
            },
        )
        .actor(&actor)
        .detail("enabled", body.enabled)
        .meta(&request_meta(ip, &headers))
        .emit()
        .await;
    match result {
        Ok(on) => Json(serde_json::json!({ "enabled": on })).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}
