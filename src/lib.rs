//! LegalOps: the operations SDK for legal-services businesses.
//!
//! This facade re-exports the workspace's crates so that an embedding service needs one
//! dependency: [`core`] (contracts, rules, in-memory defaults), [`ops`] (engines),
//! [`store`] (persistence backends) and, with the `server` feature, [`server`] (the axum
//! router, middleware and the `legalops` CLI).

pub use legalops_core as core;
pub use legalops_ops as ops;
#[cfg(feature = "server")]
pub use legalops_server as server;
pub use legalops_store as store;
