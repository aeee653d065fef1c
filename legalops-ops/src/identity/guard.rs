//! The seam between logging in (identity) and deciding who may try (security): the
//! identity service asks a [`LoginGuard`] before it checks a password and tells it how the
//! attempt ended; the security engine implements it (IP blocks, account lockouts, growing
//! delays, suspicious-activity detectors). Either side is replaceable on its own.

use std::net::IpAddr;

use async_trait::async_trait;
use legalops_core::Result;
use time::OffsetDateTime;

/// One login attempt, as the guard sees it. It never carries the password: only a tag,
/// a keyed hash under a per-process random key, comparable within this process only, so
/// that password spraying (one password against many accounts) is recognisable without
/// the password being kept anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// When.
    pub at: OffsetDateTime,
    /// Client address (canonical: IPv4-mapped IPv6 is IPv4).
    pub ip: IpAddr,
    /// The account named (normalised email).
    pub account: String,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Keyed hash of the password tried.
    pub password_tag: [u8; 32],
    /// The request it came in.
    pub request_id: Option<String>,
}

/// Decides whether a login attempt may be checked at all, and learns from outcomes.
#[async_trait]
pub trait LoginGuard: std::fmt::Debug + Send + Sync + 'static {
    /// Before the password is checked. `Err(PermissionDenied)` for a blocked address or a
    /// locked-out source, `Err(RateLimited { retry_after })` for a growing delay; the
    /// identity service answers those without checking the password.
    async fn before_login(&self, attempt: &LoginAttempt) -> Result<()>;

    /// The password (or the account) was wrong.
    async fn login_failed(&self, attempt: &LoginAttempt) -> Result<()>;

    /// The login succeeded.
    async fn login_succeeded(&self, attempt: &LoginAttempt) -> Result<()>;
}

/// A guard that allows everything and learns nothing: for embedding without security
/// operations, and for tests of the identity service alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenGuard;

#[async_trait]
impl LoginGuard for OpenGuard {
    async fn before_login(&self, _attempt: &LoginAttempt) -> Result<()> {
        Ok(())
    }

    async fn login_failed(&self, _attempt: &LoginAttempt) -> Result<()> {
        Ok(())
    }

    async fn login_succeeded(&self, _attempt: &LoginAttempt) -> Result<()> {
        Ok(())
    }
}
