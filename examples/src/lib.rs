//! Embedding LegalOps in your own axum service.
//!
//! [`embedded_app`] is the whole pattern: your routes stay yours, LegalOps' probes and
//! admin APIs are nested under a prefix (`/ops/health`, `/ops/api/health/detailed`, ...),
//! and LegalOps' middleware (request ids, access log, metrics by route template, panic
//! catcher) wraps both, so your routes show up in `/ops/metrics` too.
//!
//! Run it: `cargo run -p legalops-examples --example embed_axum`.

use axum::Router;
use axum::routing::get;
use legalops::server::Platform;

/// The prefix LegalOps is mounted under.
pub const OPS_PREFIX: &str = "/ops";

/// Your service's own routes.
pub fn my_routes() -> Router {
    Router::new()
        .route("/", get(|| async { "my legal-services app" }))
        .route("/orders/{id}", get(|axum::extract::Path(id): axum::extract::Path<u64>| async move { format!("order {id}") }))
}

/// Your routes plus LegalOps under [`OPS_PREFIX`], all behind LegalOps' middleware.
pub fn embedded_app(platform: &Platform) -> Router {
    let app = my_routes().nest(OPS_PREFIX, platform.routes());
    platform.apply_middleware(app)
}
