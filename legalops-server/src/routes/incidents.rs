//! Incident operations (runbook "Incident Response"): list and read incidents, move them
//! through the lifecycle (acknowledge, investigate, resolve, review, close), add notes,
//! and draft the postmortem. Every change is audited with the caller as actor; an illegal
//! move is 409 and changes nothing.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use legalops_core::Error;
use legalops_core::incidents::{Incident, IncidentStatus};
use legalops_ops::incidents::engine::{postmortem_draft, recorded_reasons};
use serde::Deserialize;

use super::alerts::outcome;
use super::auth::bad_json;
use crate::access::{ClientIp, Principal, request_meta};
use crate::error::{AppError, Problem};
use crate::platform::Platform;

/// How far back `?open=false` lists (90 days) and how many at most.
const RECENT_DAYS: i64 = 90;
const RECENT_LIMIT: u64 = 200;

/// `GET /api/incidents` query: `?open=true` (default) lists the open incidents, `false`
/// the most recent of the last 90 days, open or not.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default = "yes")]
    open: bool,
}

fn yes() -> bool {
    true
}

/// `GET /api/incidents`.
pub async fn list(
    State(p): State<Platform>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Incident>>, AppError> {
    let tracker = p.incidents().tracker();
    let list = if q.open {
        tracker.list_open().await?
    } else {
        let since = p.clock().now() - time::Duration::days(RECENT_DAYS);
        tracker.list_recent(since, RECENT_LIMIT).await?
    };
    Ok(Json(list))
}

/// `GET /api/incidents/{id}`: the incident with its timeline.
pub async fn get(
    State(p): State<Platform>,
    Path(id): Path<String>,
) -> Result<Json<Incident>, AppError> {
    Ok(Json(p.incidents().get(&id).await?))
}

/// A lifecycle move the API offers.
#[derive(Debug, Clone, Copy)]
enum Move {
    Acknowledge,
    Investigate,
    Resolve,
    Review,
    Close,
}

impl Move {
    fn name(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Investigate => "investigate",
            Self::Resolve => "resolve",
            Self::Review => "review",
            Self::Close => "close",
        }
    }
}

async fn apply(
    p: &Platform,
    principal: &Principal,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    id: &str,
    mv: Move,
) -> Result<Json<Incident>, AppError> {
    let actor = principal.actor();
    let engine = p.incidents();
    let mut result = match mv {
        Move::Acknowledge => engine.acknowledge(id, &actor).await,
        Move::Investigate => engine.investigate(id, &actor).await,
        Move::Resolve => engine.resolve(id, &actor).await,
        Move::Review => engine.review(id, &actor).await,
        Move::Close => engine.close(id, &actor).await,
    };
    // Acknowledging twice (two responders, a retried request) is not a mistake: the
    // answer is the incident as it stands, as PagerDuty does.
    if let (Move::Acknowledge, Err(Error::Conflict { .. })) = (mv, &result)
        && let Ok(current) = engine.get(id).await
        && current.status == IncidentStatus::Acknowledged
    {
        result = Ok(current);
    }
    p.auditor()
        .event(format!("incident.{}", mv.name()), outcome(&result))
        .actor(&actor)
        .target(id)
        .meta(&request_meta(ip, headers))
        .emit()
        .await;
    Ok(Json(result?))
}

macro_rules! lifecycle_route {
    ($(#[$doc:meta])* $fn:ident, $mv:expr) => {
        $(#[$doc])*
        pub async fn $fn(
            State(p): State<Platform>,
            Extension(ClientIp(ip)): Extension<ClientIp>,
            Extension(principal): Extension<Principal>,
            Path(id): Path<String>,
            headers: HeaderMap,
        ) -> Result<Json<Incident>, AppError> {
            apply(&p, &principal, ip, &headers, &id, $mv).await
        }
    };
}

lifecycle_route!(
    /// `POST /api/incidents/{id}/acknowledge` (repeating it is harmless).
    acknowledge,
    Move::Acknowledge
);
lifecycle_route!(
    /// `POST /api/incidents/{id}/investigate` (acknowledges first if needed).
    investigate,
    Move::Investigate
);
lifecycle_route!(
    /// `POST /api/incidents/{id}/resolve`.
    resolve,
    Move::Resolve
);
lifecycle_route!(
    /// `POST /api/incidents/{id}/review`: starts the post-incident review.
    review,
    Move::Review
);
lifecycle_route!(
    /// `POST /api/incidents/{id}/close`.
    close,
    Move::Close
);

/// `POST /api/incidents/{id}/notes` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    text: String,
}

/// `POST /api/incidents/{id}/notes`: adds a note to the timeline (1..4096 bytes).
pub async fn note(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<NewNote>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let actor = principal.actor();
    let result = p.incidents().note(&id, &actor, &body.text).await;
    p.auditor()
        .event("incident.note", outcome(&result))
        .actor(&actor)
        .target(&id)
        .meta(&request_meta(ip, &headers))
        .emit()
        .await;
    match result {
        Ok(i) => Json(i).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// `GET /api/incidents/{id}/postmortem`: the Markdown draft generated from the timeline,
/// or 404 with a problem saying that none is required (below Sev2, no data loss, no
/// missed detection).
pub async fn postmortem(
    State(p): State<Platform>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let incident = p.incidents().get(&id).await?;
    let reasons = recorded_reasons(&incident);
    Ok(match postmortem_draft(&incident, &reasons) {
        Some(markdown) => {
            let mut res = markdown.into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/markdown; charset=utf-8"),
            );
            res
        }
        None => Problem::new(StatusCode::NOT_FOUND, "postmortem_not_required")
            .detail(
                "no postmortem is required: the incident is below Sev2 and involves no data \
                 loss or missed detection",
            )
            .into_response(),
    })
}
