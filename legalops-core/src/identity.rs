//! Identity: users with roles, sessions and admin API keys, and the records traits that
//! keep them. Secrets never enter a record: passwords are argon2id PHC strings, session
//! tokens and API keys are stored only as hashes.
//!
//! Pure rules (password policy, role checks) live in [`crate::identity::rules`]; the
//! engine that logs people in lives in `legalops-ops`.

use std::fmt::{Debug, Display};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;

pub mod rules;

/// What a user may do. Access is by explicit membership ([`rules::role_allows`]): a route
/// lists every role it admits, and `Admin` is not implied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A customer: their own entities, orders and documents.
    Customer,
    /// Staff: every customer's records, the filing workflow.
    Staff,
    /// A licensed attorney reviewing orders.
    Attorney,
    /// Operations and security administration.
    Admin,
}

impl Role {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Staff => "staff",
            Self::Attorney => "attorney",
            Self::Admin => "admin",
        }
    }

    /// Parses a lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Self::Customer),
            "staff" => Some(Self::Staff),
            "attorney" => Some(Self::Attorney),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Opaque id (a UUID).
    pub id: String,
    /// Login name, normalised (trimmed, lowercase); unique.
    pub email: String,
    /// Shown name.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// argon2id PHC string; never serialised into API responses (handlers map to views).
    #[serde(skip_serializing)]
    pub password_hash: String,
    /// A disabled user cannot log in; existing sessions stop working.
    pub disabled: bool,
    /// When created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A login session. The bearer token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Public id, used to list and revoke (not a credential).
    pub id: String,
    /// Hex hash of the bearer token.
    #[serde(skip_serializing)]
    pub token_hash: String,
    /// Whose session.
    pub user_id: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last used (for the idle timeout).
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// Absolute end of life.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When revoked (logout, password change, admin action, the per-user cap).
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub revoked_at: Option<OffsetDateTime>,
    /// Client address at login.
    pub ip: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
}

/// An admin API key: named, scoped, expiring, revocable. Stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Public id.
    pub id: String,
    /// A name for humans (`prometheus-scraper`).
    pub name: String,
    /// Hex hash of the key.
    #[serde(skip_serializing)]
    pub key_hash: String,
    /// What it may do (`metrics:read`, `security:write`, `*`).
    pub scopes: Vec<String>,
    /// Who created it (a user id or `admin-token`).
    pub created_by: String,
    /// When created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working, if ever.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub expires_at: Option<OffsetDateTime>,
    /// When revoked.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub revoked_at: Option<OffsetDateTime>,
    /// When last used.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_used_at: Option<OffsetDateTime>,
}

/// Users.
#[async_trait]
pub trait UserStore: Debug + Display + Send + Sync + 'static {
    /// Stores a new user; `AlreadyExists` if the email is taken (atomic across replicas).
    async fn create_user(&self, user: &User) -> Result<()>;

    /// The user with `id`; `NotFound` if none.
    async fn get_user(&self, id: &str) -> Result<User>;

    /// The user with this (normalised) email, if any.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;

    /// Replaces the stored user with `user` (matched by id); `NotFound` if none. The
    /// email stays unique: `AlreadyExists` if it now collides.
    async fn update_user(&self, user: &User) -> Result<()>;

    /// Users ordered by creation (then id), `offset`-paged.
    async fn list_users(&self, offset: u64, limit: u64) -> Result<Vec<User>>;
}

/// Sessions.
#[async_trait]
pub trait SessionStore: Debug + Display + Send + Sync + 'static {
    /// Stores a new session.
    async fn create_session(&self, session: &Session) -> Result<()>;

    /// The session whose token hashes to `token_hash` (revoked or expired ones included:
    /// the caller judges them), if any.
    async fn find_session(&self, token_hash: &str) -> Result<Option<Session>>;

    /// Records use at `at` (moves `last_seen_at` forward, never back).
    async fn touch_session(&self, id: &str, at: OffsetDateTime) -> Result<()>;

    /// Revokes one session; `NotFound` if none; revoking twice keeps the first time.
    async fn revoke_session(&self, id: &str, at: OffsetDateTime) -> Result<()>;

    /// Revokes every unrevoked session of `user_id`; returns how many.
    async fn revoke_user_sessions(&self, user_id: &str, at: OffsetDateTime) -> Result<u64>;

    /// Unrevoked sessions of `user_id` that have not expired at `now`, oldest first.
    async fn active_sessions(&self, user_id: &str, now: OffsetDateTime) -> Result<Vec<Session>>;

    /// Deletes sessions that expired or were revoked before `before`; returns how many.
    async fn prune_sessions(&self, before: OffsetDateTime) -> Result<u64>;
}

/// Admin API keys.
#[async_trait]
pub trait ApiKeyStore: Debug + Display + Send + Sync + 'static {
    /// Stores a new key; `AlreadyExists` if the name is taken by an unrevoked key.
    async fn create_api_key(&self, key: &ApiKey) -> Result<()>;

    /// The key whose secret hashes to `key_hash`, if any (revoked or expired included).
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>>;

    /// Every key, newest first.
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>>;

    /// Revokes a key; `NotFound` if none.
    async fn revoke_api_key(&self, id: &str, at: OffsetDateTime) -> Result<()>;

    /// Records use at `at`.
    async fn touch_api_key(&self, id: &str, at: OffsetDateTime) -> Result<()>;
}
