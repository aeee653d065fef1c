//! Security state: failed logins, IP blocks (bans), account lockouts and security events,
//! kept in the records store so that every replica enforces the same decisions and they
//! survive a restart.
//!
//! The decision rules (windows, ban escalation, lockout delays, CIDR matching, suspicious
//! activity) are pure, in [`rules`]; the engine applying them lives in `legalops-ops`.

use std::fmt::{Debug, Display};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;

pub mod rules;

/// One failed login attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedLogin {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Client IP (canonical text form).
    pub ip: String,
    /// The account tried (normalised email), if one was named.
    pub account: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

/// Who decided a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockSource {
    /// An operator (`POST /api/security/block-ip`).
    Manual,
    /// The failed-login rule or another detector.
    Automatic,
}

/// A block of one IP or a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    /// Public id.
    pub id: String,
    /// The blocked address or range, canonical (`192.0.2.7/32`, `2001:db8::/48`).
    pub target: String,
    /// Why.
    pub reason: String,
    /// Manual or automatic.
    pub source: BlockSource,
    /// Who (a user id, `admin-token`, `system`).
    pub created_by: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it ends by itself; `None` = until lifted.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was lifted early.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub lifted_at: Option<OffsetDateTime>,
}

impl Block {
    /// Whether the block is in force at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.lifted_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// An account's soft lockout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockout {
    /// The account (normalised email).
    pub account: String,
    /// Logins for the account are refused until then.
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// How many lockouts in a row (grows the delay); reset by a successful login.
    pub level: u32,
}

/// A security event: something the security log records and alerts may fire on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// Assigned by the store (0 before it is stored).
    pub id: u64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What kind (`ip_blocked`, `credential_stuffing`, `password_spraying`, ...).
    pub kind: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// The IP involved, if any.
    pub ip: Option<String>,
    /// The account involved, if any.
    pub account: Option<String>,
    /// Human-readable summary.
    pub message: String,
    /// Figures behind it.
    pub details: serde_json::Value,
}

/// Where security state lives.
#[async_trait]
pub trait SecurityStore: Debug + Display + Send + Sync + 'static {
    /// Records a failed login.
    async fn record_failed_login(&self, attempt: &FailedLogin) -> Result<()>;

    /// Failed logins with `at >= since`, newest first, at most `limit`.
    async fn failed_logins(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<FailedLogin>>;

    /// How many failed logins came from `ip` with `at >= since`.
    async fn count_failed_by_ip(&self, ip: &str, since: OffsetDateTime) -> Result<u64>;

    /// How many failed logins named `account` with `at >= since`.
    async fn count_failed_by_account(&self, account: &str, since: OffsetDateTime) -> Result<u64>;

    /// How many failed logins named `account` from `ip` with `at >= since` (an account's
    /// lockout binds the sources that caused it, not its owner elsewhere).
    async fn count_failed_by_account_ip(
        &self,
        account: &str,
        ip: &str,
        since: OffsetDateTime,
    ) -> Result<u64>;

    /// Deletes failed logins older than `before`; returns how many.
    async fn prune_failed_logins(&self, before: OffsetDateTime) -> Result<u64>;

    /// Stores a block.
    async fn add_block(&self, block: &Block) -> Result<()>;

    /// Lifts the block with `id` at `at`; `NotFound` if none is active.
    async fn lift_block(&self, id: &str, at: OffsetDateTime) -> Result<Block>;

    /// Blocks in force at `now`.
    async fn active_blocks(&self, now: OffsetDateTime) -> Result<Vec<Block>>;

    /// How many automatic blocks `target` has had (for bantime.increment).
    async fn count_blocks(&self, target: &str, source: BlockSource) -> Result<u64>;

    /// The lockout of `account`, if any (expired ones included; the caller judges).
    async fn get_lockout(&self, account: &str) -> Result<Option<Lockout>>;

    /// Sets or replaces the lockout of `lockout.account`.
    async fn put_lockout(&self, lockout: &Lockout) -> Result<()>;

    /// Removes the lockout of `account` (after a successful login); absent is success.
    async fn clear_lockout(&self, account: &str) -> Result<()>;

    /// Stores an event; returns it with its id.
    async fn record_event(&self, event: &SecurityEvent) -> Result<SecurityEvent>;

    /// Events with `at >= since`, newest first, at most `limit`.
    async fn events(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<SecurityEvent>>;
}
