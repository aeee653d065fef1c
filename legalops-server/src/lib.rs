//! The LegalOps reference server: an axum router and middleware over a [`Platform`], and
//! the `legalops` CLI (`serve`, `health`, `config check`).
//!
//! Embedding: build a [`Platform`] with [`Platform::builder`], then either serve
//! [`Platform::router`] or nest it in your own axum app and wrap your routes with
//! [`Platform::apply_middleware`]; see `examples/`.

pub mod access;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod logging;
pub mod middleware;
pub mod platform;
pub mod rotate;
pub mod routes;
pub mod serve;

pub use config::Config;
pub use error::{AppError, Problem};
pub use platform::{Platform, PlatformBuilder};

/// The version reported in health and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
