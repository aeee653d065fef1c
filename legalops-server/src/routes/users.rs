//! Admin endpoints over accounts and API keys: list users, grant a role, create, list and
//! revoke named, scoped, expiring API keys.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use legalops_core::Error;
use legalops_core::identity::{ApiKey, Role};
use serde::{Deserialize, Serialize};

use super::auth::{UserView, bad_json};
use crate::access::{ClientIp, Principal, request_meta};
use crate::error::AppError;
use crate::platform::Platform;

/// Paging of listings.
#[derive(Debug, Deserialize)]
pub struct Page {
    #[serde(default)]
    offset: u64,
    #[serde(default = "default_limit")]
    limit: u64,
}

fn default_limit() -> u64 {
    100
}

/// `GET /api/users`.
pub async fn list(
    State(p): State<Platform>,
    Query(page): Query<Page>,
) -> Result<Json<Vec<UserView>>, AppError> {
    let users = p
        .identity()
        .users(page.offset, page.limit.min(1000))
        .await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// `PUT /api/users/{id}/role` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    role: String,
}

/// `PUT /api/users/{id}/role`.
pub async fn set_role(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<SetRole>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let Some(role) = Role::parse(&body.role) else {
        return AppError::from(Error::invalid_input(
            "role",
            "must be one of customer, staff, attorney, admin",
        ))
        .into_response();
    };
    match p
        .identity()
        .set_role(&principal.actor(), &id, role, &request_meta(ip, &headers))
        .await
    {
        Ok(user) => Json(UserView::from(user)).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// `POST /api/admin/api-keys` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewKey {
    name: String,
    scopes: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
}

/// A created key: the secret is shown this once.
#[derive(Debug, Serialize)]
pub struct CreatedKey {
    secret: String,
    key: ApiKey,
}

/// `POST /api/admin/api-keys`.
pub async fn create_key(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Json<NewKey>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let meta = request_meta(ip, &headers);
    match p
        .identity()
        .create_api_key(
            &principal.actor(),
            &body.name,
            body.scopes,
            body.expires_at,
            &meta,
        )
        .await
    {
        Ok((secret, key)) => {
            (StatusCode::CREATED, Json(CreatedKey { secret, key })).into_response()
        }
        Err(e) => AppError::from(e).into_response(),
    }
}

/// `GET /api/admin/api-keys`.
pub async fn list_keys(State(p): State<Platform>) -> Result<Json<Vec<ApiKey>>, AppError> {
    Ok(Json(p.identity().list_api_keys().await?))
}

/// `DELETE /api/admin/api-keys/{id}`.
pub async fn revoke_key(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, AppError> {
    p.identity()
        .revoke_api_key(&principal.actor(), &id, &request_meta(ip, &headers))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
