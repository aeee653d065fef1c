//! The request pipeline's own layers: request id, one access-log line per request inside a
//! span that carries the request id, HTTP metrics by route template, and panics turned into
//! counted, logged 500s (the server keeps serving).
//!
//! Order (outermost first): request context (id, span, metrics, access log) -> panic
//! catcher -> auth (admin routes) -> handler. Later issues add maintenance gate, blocklist
//! and rate limits between the context and auth.

use std::any::Any;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use legalops_ops::metrics::{Registry, names};
use tracing::Instrument;

use crate::error::Problem;

/// The request id header, taken from the client when well-formed and always echoed.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Route label for requests that matched no route (keeps metric cardinality bounded).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Whether a client-supplied request id is safe to log and echo: 1 to 128 characters of
/// `[A-Za-z0-9._:-]`.
pub fn valid_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// `2xx`, `4xx`, ...: the status label (bounded cardinality).
pub fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Request id, span, metrics and the access-log line.
pub async fn request_context(
    State(registry): State<Registry>,
    mut req: Request,
    next: Next,
) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |p| p.as_str().to_owned());
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);

    let in_flight = registry.gauge(names::HTTP_REQUESTS_IN_FLIGHT, &[]);
    in_flight.increment(1.0);
    let start = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let latency = start.elapsed();
    in_flight.decrement(1.0);

    let status = res.status();
    let class = status_class(status);
    registry
        .counter(
            names::HTTP_REQUESTS_TOTAL,
            &[
                ("method", method.as_str()),
                ("route", route.as_str()),
                ("status", class),
            ],
        )
        .increment(1);
    registry
        .histogram(
            names::HTTP_REQUEST_DURATION_SECONDS,
            &[("method", method.as_str()), ("route", route.as_str())],
        )
        .record(latency.as_secs_f64());
    span.in_scope(|| {
        let latency_ms = latency.as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), latency_ms, "request");
        } else {
            tracing::info!(status = status.as_u16(), latency_ms, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    res
}

/// Turns a handler panic into a 500 problem, counted and logged (the message stays in
/// the log, never in the response).
#[derive(Clone)]
pub struct PanicToProblem {
    /// Where panics are counted.
    pub registry: Registry,
}

impl tower_http::catch_panic::ResponseForPanic for PanicToProblem {
    type ResponseBody = axum::body::Body;

    fn response_for_panic(
        &mut self,
        err: Box<dyn Any + Send + 'static>,
    ) -> axum::http::Response<Self::ResponseBody> {
        let message = err
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| err.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        self.registry
            .counter(names::HTTP_PANICS_TOTAL, &[])
            .increment(1);
        tracing::error!(panic = %message, "handler panicked");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal")
            .detail("internal error; quote the x-request-id header when reporting it")
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_filtered() {
        assert!(valid_request_id("3f2a-11:ab_c.d"));
        assert!(!valid_request_id(""));
        assert!(!valid_request_id("a b"));
        assert!(!valid_request_id("a\nb"));
        assert!(!valid_request_id(&"x".repeat(129)));
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(StatusCode::OK), "2xx");
        assert_eq!(status_class(StatusCode::NOT_FOUND), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
    }
}
