//! The audit trail for auditors: entries, checkpoints (to ship to a separate system),
//! verification of the chain and the checkpoints, and inclusion proofs.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use legalops_core::audit::{AuditEntry, Checkpoint};
use legalops_ops::audit::InclusionProof;
use serde::Deserialize;

use crate::error::AppError;
use crate::platform::Platform;

/// `?from=1&limit=100`.
#[derive(Debug, Deserialize)]
pub struct Range {
    #[serde(default = "one")]
    from: u64,
    #[serde(default = "hundred")]
    limit: u64,
}

fn one() -> u64 {
    1
}

fn hundred() -> u64 {
    100
}

/// `GET /api/audit/entries`.
pub async fn entries(
    State(p): State<Platform>,
    Query(r): Query<Range>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    Ok(Json(
        p.auditor().log().entries(r.from, r.limit.min(1000)).await?,
    ))
}

/// `GET /api/audit/checkpoints`: every checkpoint, to keep outside the database.
pub async fn checkpoints(State(p): State<Platform>) -> Result<Json<Vec<Checkpoint>>, AppError> {
    Ok(Json(p.auditor().export_checkpoints().await?))
}

/// `GET /api/audit/verify`: recomputes the chain and the checkpoints; 200 when intact,
/// 409 naming the first entry altered, removed or reordered.
pub async fn verify(State(p): State<Platform>) -> Result<Response, AppError> {
    let report = p.auditor().verify().await?;
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    Ok((status, Json(report)).into_response())
}

/// `?seq=5&treeSize=10`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofQuery {
    seq: u64,
    tree_size: u64,
}

/// `GET /api/audit/proof`: an RFC 6962 inclusion proof of entry `seq` in the tree of the
/// first `treeSize` entries.
pub async fn proof(
    State(p): State<Platform>,
    Query(q): Query<ProofQuery>,
) -> Result<Json<InclusionProof>, AppError> {
    Ok(Json(p.auditor().inclusion_proof(q.seq, q.tree_size).await?))
}
