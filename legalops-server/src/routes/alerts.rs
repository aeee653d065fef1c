//! Alerting operations: the rules' current states (`GET /api/alerts`) with what the
//! notifier mutes and why, and silences (`/api/silences`), created and expired by admins
//! and audited. Muting is answered by the notifier itself, so the API shows exactly what
//! is (not) sent.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use legalops_core::Error;
use legalops_core::alerting::{AlertState, Matcher, RuleStateRecord};
use legalops_core::alerts::{Alert, AlertStatus, fingerprint};
use legalops_core::audit::Outcome;
use legalops_ops::alerting::notifier::{MutedAlert, SilenceView};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::auth::bad_json;
use crate::access::{ClientIp, Principal, request_meta};
use crate::error::AppError;
use crate::platform::Platform;

/// One rule's alert as `GET /api/alerts` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    /// The rule.
    pub rule: String,
    /// `pending`, `firing` or `resolved`.
    pub state: AlertState,
    /// Labels as rendered (identity of the alert).
    pub labels: BTreeMap<String, String>,
    /// Annotations as rendered.
    pub annotations: BTreeMap<String, String>,
    /// The expression's value at the last evaluation (`null`: no data).
    pub value: Option<f64>,
    /// Since when it is in this state.
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Its fingerprint (as `muted` and the notifications name it).
    pub fingerprint: String,
}

/// `GET /api/alerts` body.
#[derive(Debug, Serialize)]
pub struct AlertsView {
    /// Every rule not inactive, in rule order.
    pub alerts: Vec<AlertView>,
    /// Which firing or resolved alerts the notifier leaves out now, and why.
    pub muted: Vec<MutedAlert>,
}

fn since(s: &RuleStateRecord) -> Option<OffsetDateTime> {
    match s.state {
        AlertState::Firing => s.firing_since.or(s.active_since),
        AlertState::Resolved => s.resolved_at,
        AlertState::Pending => s.active_since,
        AlertState::Inactive => None,
    }
}

/// The alert the notifier routes for a firing or resolved state (as the evaluator makes
/// it), so `muted` is computed over the same alerts that are sent.
fn as_alert(s: &RuleStateRecord) -> Option<Alert> {
    let status = match s.state {
        AlertState::Firing => AlertStatus::Firing,
        AlertState::Resolved => AlertStatus::Resolved,
        AlertState::Inactive | AlertState::Pending => return None,
    };
    Some(Alert {
        status,
        labels: s.labels.clone(),
        annotations: s.annotations.clone(),
        starts_at: s.firing_since.or(s.active_since).unwrap_or(s.evaluated_at),
        ends_at: (status == AlertStatus::Resolved).then(|| s.resolved_at.unwrap_or(s.evaluated_at)),
        generator_url: String::new(),
        fingerprint: fingerprint(&s.labels),
    })
}

/// `GET /api/alerts`: the current rule states (firing, pending, resolved) and `muted`.
pub async fn list(State(p): State<Platform>) -> Result<Json<AlertsView>, AppError> {
    let states: Vec<RuleStateRecord> = p
        .evaluator()
        .current()
        .into_iter()
        .filter(|s| s.state != AlertState::Inactive)
        .collect();
    let routed: Vec<Alert> = states.iter().filter_map(as_alert).collect();
    let muted = p.notifier().muted(&routed).await?;
    let alerts = states
        .into_iter()
        .map(|s| AlertView {
            since: since(&s),
            fingerprint: fingerprint(&s.labels),
            rule: s.rule,
            state: s.state,
            labels: s.labels.into_iter().collect(),
            annotations: s.annotations,
            value: s.value,
        })
        .collect();
    Ok(Json(AlertsView { alerts, muted }))
}

/// `GET /api/silences`: every silence, newest first, with its state now.
pub async fn silences(State(p): State<Platform>) -> Result<Json<Vec<SilenceView>>, AppError> {
    Ok(Json(p.notifier().silences().await?))
}

/// `POST /api/silences` body (Alertmanager's shape; the creator is the caller).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSilence {
    matchers: Vec<Matcher>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    starts_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    ends_at: OffsetDateTime,
    #[serde(default)]
    comment: String,
}

/// `POST /api/silences`: 201 with the silence; 422 naming the field for bad input.
pub async fn create_silence(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Json<NewSilence>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let actor = principal.actor();
    let result = if body.comment.trim().is_empty() {
        Err(Error::invalid_input(
            "comment",
            "say why the alerts are silenced",
        ))
    } else {
        let starts_at = body.starts_at.unwrap_or_else(|| p.clock().now());
        p.notifier()
            .create_silence(
                body.matchers,
                starts_at,
                body.ends_at,
                &actor,
                &body.comment,
            )
            .await
    };
    let mut event = p
        .auditor()
        .event("alerting.silence_create", outcome(&result))
        .actor(&actor)
        .detail("comment", &body.comment)
        .meta(&request_meta(ip, &headers));
    match &result {
        Ok(s) => event = event.target(&s.id),
        Err(e) => event = event.detail("error", e.to_string()),
    }
    event.emit().await;
    match result {
        Ok(s) => (StatusCode::CREATED, Json(s)).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// `DELETE /api/silences/{id}`: expires the silence now (it stops muting at once).
pub async fn expire_silence(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let actor = principal.actor();
    let result = p.notifier().expire_silence(&id).await;
    p.auditor()
        .event("alerting.silence_expire", outcome(&result))
        .actor(&actor)
        .target(&id)
        .meta(&request_meta(ip, &headers))
        .emit()
        .await;
    Ok(Json(result?).into_response())
}

/// The audit outcome of a result.
pub(super) fn outcome<T>(r: &legalops_core::Result<T>) -> Outcome {
    if r.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}
