//! Identity endpoints: register, log in, log out, who am I, change password, list and
//! revoke sessions. Login and registration are rate-limited per IP (`auth` group).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use legalops_core::Error;
use legalops_core::identity::{Role, Session, User};
use legalops_ops::ratelimit::GROUP_AUTH;
use serde::{Deserialize, Serialize};

use crate::access::{ClientIp, Principal, limit, request_meta, with_ratelimit};
use crate::error::{AppError, Problem};
use crate::platform::Platform;

/// A user as the API shows it (never the password hash).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    id: String,
    email: String,
    display_name: String,
    role: Role,
    disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            role: u.role,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// `POST /api/auth/register` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Register {
    email: String,
    password: String,
    display_name: String,
}

/// `POST /api/auth/login` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

/// `POST /api/auth/password` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// What a successful login returns: the session token, shown once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginAnswer {
    token: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: time::OffsetDateTime,
    user: UserView,
}

/// `POST /api/auth/register`: a new customer account (staff roles are granted by admins).
pub async fn register(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    body: Result<Json<Register>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let meta = request_meta(ip, &headers);
    let d = match limit(&p, GROUP_AUTH, &ip.to_string(), &meta).await {
        Ok(d) => d,
        Err(res) => return res,
    };
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let res = match p
        .identity()
        .register(
            &body.email,
            &body.password,
            &body.display_name,
            Role::Customer,
            &meta,
        )
        .await
    {
        Ok(user) => (StatusCode::CREATED, Json(UserView::from(user))).into_response(),
        Err(e) => AppError::from(e).into_response(),
    };
    with_ratelimit(res, GROUP_AUTH, &d)
}

/// `POST /api/auth/login`: a session token, or 401 with one message for every failure.
pub async fn login(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let meta = request_meta(ip, &headers);
    let d = match limit(&p, GROUP_AUTH, &ip.to_string(), &meta).await {
        Ok(d) => d,
        Err(res) => return res,
    };
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let res = match p.identity().login(&body.email, &body.password, &meta).await {
        Ok((user, issued)) => Json(LoginAnswer {
            token: issued.token,
            expires_at: issued.session.expires_at,
            user: user.into(),
        })
        .into_response(),
        // Wrong password, unknown account and a locked source all read the same.
        Err(Error::PermissionDenied { message }) => {
            Problem::new(StatusCode::UNAUTHORIZED, "unauthorized")
                .detail(message)
                .into_response()
        }
        Err(e) => AppError::from(e).into_response(),
    };
    with_ratelimit(res, GROUP_AUTH, &d)
}

/// `POST /api/auth/logout`: ends the calling session.
pub async fn logout(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
) -> Result<StatusCode, AppError> {
    let token = bearer(&headers).ok_or(AppError::Unauthorized)?;
    p.identity()
        .logout(token, &request_meta(ip, &headers))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/auth/me`.
pub async fn me(Extension(principal): Extension<Principal>) -> Result<Json<UserView>, AppError> {
    match principal {
        Principal::User { user, .. } => Ok(Json(user.into())),
        _ => Err(AppError::Unauthorized),
    }
}

/// `POST /api/auth/password`: verifies the current password, sets the new one, and ends
/// every session of the user.
pub async fn change_password(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Json<ChangePassword>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let Principal::User { user, .. } = principal else {
        return AppError::Unauthorized.into_response();
    };
    let meta = request_meta(ip, &headers);
    match p
        .identity()
        .change_password(&user.id, &body.current_password, &body.new_password, &meta)
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(Error::PermissionDenied { message }) => {
            Problem::new(StatusCode::FORBIDDEN, "forbidden")
                .detail(message)
                .into_response()
        }
        Err(e) => AppError::from(e).into_response(),
    }
}

/// `GET /api/auth/sessions`: the caller's active sessions.
pub async fn sessions(
    State(p): State<Platform>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Vec<Session>>, AppError> {
    let Principal::User { user, .. } = principal else {
        return Err(AppError::Unauthorized);
    };
    Ok(Json(p.identity().sessions(&user.id).await?))
}

/// `DELETE /api/auth/sessions/{id}`: revokes one of the caller's sessions.
pub async fn revoke_session(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, AppError> {
    let Principal::User { user, .. } = principal else {
        return Err(AppError::Unauthorized);
    };
    p.identity()
        .revoke_session(&user.id, &id, &request_meta(ip, &headers))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

/// A body that is not the expected JSON: 422 naming what is wrong.
pub fn bad_json(e: axum::extract::rejection::JsonRejection) -> Response {
    AppError::from(Error::invalid_input("body", e.body_text())).into_response()
}
