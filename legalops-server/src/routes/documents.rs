//! Uploads (runbook: "scan for malicious files"): the body is read up to the size limit,
//! judged by the scanner (built-in, plus clamd when configured), and stored only when
//! accepted. A refusal answers a 4xx naming the reason, stores nothing and is audited.
//! Uploads are rate-limited per user (`uploads` group). The document library itself
//! (metadata, listing, retention) comes with the documents work.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use legalops_core::audit::Outcome;
use legalops_core::scan::{Refusal, Upload};
use legalops_ops::ratelimit::GROUP_UPLOADS;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::access::{ClientIp, Principal, limit, request_meta, with_ratelimit};
use crate::error::{AppError, Problem};
use crate::platform::Platform;

/// `?name=Articles.pdf`.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    name: String,
}

/// A stored upload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    key: String,
    file_name: String,
    media_type: String,
    size: u64,
    sha256: String,
}

fn refusal_status(r: &Refusal) -> StatusCode {
    match r {
        Refusal::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Refusal::TypeNotAllowed(_) | Refusal::TypeMismatch(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// `POST /api/documents?name=...` with the file as the body.
pub async fn upload(
    State(p): State<Platform>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Extension(principal): Extension<Principal>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let meta = request_meta(ip, &headers);
    let actor = principal.actor();
    let d = match limit(&p, GROUP_UPLOADS, &actor, &meta).await {
        Ok(d) => d,
        Err(res) => return res,
    };
    let max = p.config().uploads.max_bytes;
    let audit = |outcome, detail: String| {
        p.auditor()
            .event("document.upload", outcome)
            .actor(&actor)
            .target(q.name.clone())
            .detail("result", detail)
            .meta(&meta)
            .emit()
    };
    // One byte past the limit is enough to know it is too large; nothing more is read.
    let bytes = match axum::body::to_bytes(
        body,
        usize::try_from(max).unwrap_or(usize::MAX).saturating_add(1),
    )
    .await
    {
        Ok(b) if b.len() as u64 <= max => b,
        _ => {
            let refusal = Refusal::TooLarge(max);
            audit(Outcome::Denied, refusal.to_string()).await;
            return refused(&refusal);
        }
    };
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let upload = Upload {
        file_name: &q.name,
        declared_type: declared,
        bytes: &bytes,
    };
    let accepted = match p.scanner().scan(&upload).await {
        Ok(Ok(a)) => a,
        Ok(Err(refusal)) => {
            audit(Outcome::Denied, refusal.to_string()).await;
            return refused(&refusal);
        }
        Err(e) => {
            audit(Outcome::Failure, format!("scanner failed: {e}")).await;
            return AppError::from(e).into_response();
        }
    };
    let sha256 = legalops_core::audit::chain::hex_lower(&Sha256::digest(&bytes));
    let key = format!(
        "uploads/{}/{}-{}",
        actor.replace(':', "_"),
        &sha256[..16],
        accepted.file_name
    );
    let size = bytes.len() as u64;
    if let Err(e) = p.documents().put(&key, bytes).await {
        audit(Outcome::Failure, format!("store failed: {e}")).await;
        return AppError::from(e).into_response();
    }
    audit(Outcome::Success, key.clone()).await;
    let stored = Stored {
        key,
        file_name: accepted.file_name,
        media_type: accepted.media_type,
        size,
        sha256,
    };
    with_ratelimit(
        (StatusCode::CREATED, Json(stored)).into_response(),
        GROUP_UPLOADS,
        &d,
    )
}

fn refused(r: &Refusal) -> Response {
    let status = refusal_status(r);
    let mut problem = Problem::new(status, "upload_refused").detail(r.to_string());
    problem.field = Some("file".to_owned());
    problem.into_response()
}
