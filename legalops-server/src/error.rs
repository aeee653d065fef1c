//! The one HTTP error type: every handler error becomes RFC 9457 problem details
//! (`application/problem+json`). A 5xx never shows internals: the detail is replaced by
//! the request id, and the real error is logged and counted.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use legalops_core::Error;
use serde::Serialize;

/// The media type of a problem details body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem details body.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, human-readable summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time (safe to show).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For invalid input: the offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    /// A problem of `status` with a title and no detail.
    pub fn new(status: StatusCode, kind: &str) -> Self {
        Self {
            kind: format!("https://legalops.dev/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: None,
            field: None,
        }
    }

    /// Sets the detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        res
    }
}

/// A handler's error.
#[derive(Debug)]
pub enum AppError {
    /// An error from the SDK, mapped by kind.
    Core(Error),
    /// Missing or wrong credentials: 401 with no detail.
    Unauthorized,
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let e = match self {
            Self::Unauthorized => {
                let mut res =
                    Problem::new(StatusCode::UNAUTHORIZED, "unauthorized").into_response();
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return res;
            }
            Self::Core(e) => e,
        };
        let status = match &e {
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::AlreadyExists { .. } | Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::InvalidInput { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::PermissionDenied { .. } => StatusCode::FORBIDDEN,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::NotSupported { .. } => StatusCode::NOT_IMPLEMENTED,
            Error::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut problem = Problem::new(status, e.kind());
        if status.is_server_error() {
            // The log line carries the request id (from the request's span) and the error.
            tracing::error!(error = %e, kind = e.kind(), "request failed");
            problem.detail =
                Some("internal error; quote the x-request-id header when reporting it".to_owned());
        } else {
            if let Error::InvalidInput { field, .. } = &e {
                problem.field = Some(field.clone());
            }
            problem.detail = Some(e.to_string());
        }
        let mut res = problem.into_response();
        if let Error::RateLimited { retry_after } = &e {
            let secs = retry_after.as_secs_f64().ceil() as u64;
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(res: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn server_errors_hide_internals() {
        let e = Error::backend(
            "postgres://app@db/x",
            true,
            std::io::Error::other("password authentication failed"),
        );
        let res = AppError::from(e).into_response();
        assert_eq!(res.status(), 500);
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let v = body(res).await;
        let text = v.to_string();
        assert!(
            !text.contains("password") && !text.contains("postgres"),
            "{text}"
        );
        assert_eq!(v["status"], 500);
    }

    #[tokio::test]
    async fn invalid_input_names_the_field() {
        let res = AppError::from(Error::invalid_input("ipAddress", "not an IP")).into_response();
        assert_eq!(res.status(), 422);
        let v = body(res).await;
        assert_eq!(v["field"], "ipAddress");
        assert!(
            v["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("not an IP")
        );
    }

    #[tokio::test]
    async fn unauthorized_has_no_detail_and_a_challenge() {
        let res = AppError::Unauthorized.into_response();
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let v = body(res).await;
        assert!(v.get("detail").is_none());
    }

    #[tokio::test]
    async fn rate_limited_says_when_to_retry() {
        let res = AppError::from(Error::RateLimited {
            retry_after: std::time::Duration::from_millis(1500),
        })
        .into_response();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
    }
}
