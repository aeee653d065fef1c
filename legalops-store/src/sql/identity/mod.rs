//! Users, sessions and API keys over sqlx: the SQL, written once for SQLite and
//! PostgreSQL, the rows it reads and writes, and [`impl_identity!`], which stamps out
//! `UserStore`, `SessionStore` and `ApiKeyStore` for a backend type (see `queries.rs`).
//!
//! Uniqueness (a user's email, a session's token hash, a live key's name) is enforced by
//! the schema, so it holds across replicas; a violation comes back as `AlreadyExists`.

mod rows;

use legalops_core::{Error, Result};

pub(crate) use rows::{ApiKeyRow, SessionRow, UserRow};

pub(crate) const INSERT_USER: &str = "INSERT INTO users \
     (id, email, display_name, role, password_hash, disabled, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

pub(crate) const UPDATE_USER: &str = "UPDATE users SET email = $2, display_name = $3, \
     role = $4, password_hash = $5, disabled = $6, created_at = $7, updated_at = $8 \
     WHERE id = $1";

pub(crate) const GET_USER: &str = "SELECT id, email, display_name, role, password_hash, \
     disabled, created_at, updated_at FROM users WHERE id = $1";

pub(crate) const FIND_USER_BY_EMAIL: &str = "SELECT id, email, display_name, role, \
     password_hash, disabled, created_at, updated_at FROM users WHERE email = $1";

pub(crate) const LIST_USERS: &str = "SELECT id, email, display_name, role, password_hash, \
     disabled, created_at, updated_at FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2";

pub(crate) const INSERT_SESSION: &str = "INSERT INTO sessions (id, token_hash, user_id, \
     created_at, last_seen_at, expires_at, revoked_at, ip, user_agent) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(crate) const FIND_SESSION: &str = "SELECT id, token_hash, user_id, created_at, \
     last_seen_at, expires_at, revoked_at, ip, user_agent FROM sessions WHERE token_hash = $1";

/// Matches the row whatever the time, so that zero rows means "no such session".
pub(crate) const TOUCH_SESSION: &str = "UPDATE sessions SET last_seen_at = \
     CASE WHEN last_seen_at < $2 THEN $2 ELSE last_seen_at END WHERE id = $1";

/// Matches the row even when already revoked (then keeps the first time).
pub(crate) const REVOKE_SESSION: &str =
    "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1";

pub(crate) const REVOKE_USER_SESSIONS: &str =
    "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";

pub(crate) const ACTIVE_SESSIONS: &str = "SELECT id, token_hash, user_id, created_at, \
     last_seen_at, expires_at, revoked_at, ip, user_agent FROM sessions \
     WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
     ORDER BY created_at, id";

pub(crate) const PRUNE_SESSIONS: &str = "DELETE FROM sessions \
     WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)";

pub(crate) const INSERT_API_KEY: &str = "INSERT INTO api_keys (id, name, key_hash, scopes, \
     created_by, created_at, expires_at, revoked_at, last_used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(crate) const FIND_API_KEY: &str = "SELECT id, name, key_hash, scopes, created_by, \
     created_at, expires_at, revoked_at, last_used_at FROM api_keys WHERE key_hash = $1";

pub(crate) const LIST_API_KEYS: &str = "SELECT id, name, key_hash, scopes, created_by, \
     created_at, expires_at, revoked_at, last_used_at FROM api_keys \
     ORDER BY created_at DESC, id DESC";

pub(crate) const REVOKE_API_KEY: &str =
    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1";

pub(crate) const TOUCH_API_KEY: &str = "UPDATE api_keys SET last_used_at = \
     CASE WHEN last_used_at IS NULL OR last_used_at < $2 THEN $2 ELSE last_used_at END \
     WHERE id = $1";

/// `NotFound` for an update that matched no row.
pub(crate) fn one_row(affected: u64, what: impl FnOnce() -> String) -> Result<()> {
    if affected == 0 {
        Err(Error::not_found(what()))
    } else {
        Ok(())
    }
}

/// Implements `UserStore`, `SessionStore` and `ApiKeyStore` for a backend type with
/// `pool` and `inst` fields.
macro_rules! impl_identity {
    ($ty:ty) => {
        impl $ty {
            /// Runs `sql`, which sets one timestamp column of the row with `id` (touch,
            /// revoke); `NotFound` naming `what` when no row has that id.
            async fn stamp_by_id(
                &self,
                sql: &'static str,
                operation: &'static str,
                id: &str,
                at: time::OffsetDateTime,
                what: &str,
            ) -> legalops_core::Result<()> {
                let q = sqlx::query(sql)
                    .bind(id)
                    .bind($crate::sql::codec::micros(at))
                    .execute(&self.pool);
                let done = self.inst.run(operation, q).await?;
                $crate::sql::identity::one_row(done.rows_affected(), || format!("{what} {id}"))
            }
        }

        #[async_trait::async_trait]
        impl legalops_core::identity::UserStore for $ty {
            async fn create_user(
                &self,
                user: &legalops_core::identity::User,
            ) -> legalops_core::Result<()> {
                let r = $crate::sql::identity::UserRow::encode(user);
                let q = sqlx::query($crate::sql::identity::INSERT_USER)
                    .bind(&r.id)
                    .bind(&r.email)
                    .bind(&r.display_name)
                    .bind(&r.role)
                    .bind(&r.password_hash)
                    .bind(r.disabled)
                    .bind(r.created_at)
                    .bind(r.updated_at)
                    .execute(&self.pool);
                self.inst.run("users.create", q).await.map(drop)
            }

            async fn get_user(
                &self,
                id: &str,
            ) -> legalops_core::Result<legalops_core::identity::User> {
                let q = sqlx::query_as::<_, $crate::sql::identity::UserRow>(
                    $crate::sql::identity::GET_USER,
                )
                .bind(id)
                .fetch_optional(&self.pool);
                match self.inst.run("users.get", q).await? {
                    Some(row) => row.decode(&self.inst.backend),
                    None => Err(legalops_core::Error::not_found(format!("user {id}"))),
                }
            }

            async fn find_user_by_email(
                &self,
                email: &str,
            ) -> legalops_core::Result<Option<legalops_core::identity::User>> {
                let q = sqlx::query_as::<_, $crate::sql::identity::UserRow>(
                    $crate::sql::identity::FIND_USER_BY_EMAIL,
                )
                .bind(email)
                .fetch_optional(&self.pool);
                let row = self.inst.run("users.find_by_email", q).await?;
                row.map(|r| r.decode(&self.inst.backend)).transpose()
            }

            async fn update_user(
                &self,
                user: &legalops_core::identity::User,
            ) -> legalops_core::Result<()> {
                let r = $crate::sql::identity::UserRow::encode(user);
                let q = sqlx::query($crate::sql::identity::UPDATE_USER)
                    .bind(&r.id)
                    .bind(&r.email)
                    .bind(&r.display_name)
                    .bind(&r.role)
                    .bind(&r.password_hash)
                    .bind(r.disabled)
                    .bind(r.created_at)
                    .bind(r.updated_at)
                    .execute(&self.pool);
                let done = self.inst.run("users.update", q).await?;
                $crate::sql::identity::one_row(done.rows_affected(), || format!("user {}", r.id))
            }

            async fn list_users(
                &self,
                offset: u64,
                limit: u64,
            ) -> legalops_core::Result<Vec<legalops_core::identity::User>> {
                use $crate::sql::codec::big;
                let q = sqlx::query_as::<_, $crate::sql::identity::UserRow>(
                    $crate::sql::identity::LIST_USERS,
                )
                .bind(big(limit))
                .bind(big(offset))
                .fetch_all(&self.pool);
                let rows = self.inst.run("users.list", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl legalops_core::identity::SessionStore for $ty {
            async fn create_session(
                &self,
                session: &legalops_core::identity::Session,
            ) -> legalops_core::Result<()> {
                let r = $crate::sql::identity::SessionRow::encode(session);
                let q = sqlx::query($crate::sql::identity::INSERT_SESSION)
                    .bind(&r.id)
                    .bind(&r.token_hash)
                    .bind(&r.user_id)
                    .bind(r.created_at)
                    .bind(r.last_seen_at)
                    .bind(r.expires_at)
                    .bind(r.revoked_at)
                    .bind(&r.ip)
                    .bind(&r.user_agent)
                    .execute(&self.pool);
                self.inst.run("sessions.create", q).await.map(drop)
            }

            async fn find_session(
                &self,
                token_hash: &str,
            ) -> legalops_core::Result<Option<legalops_core::identity::Session>> {
                let q = sqlx::query_as::<_, $crate::sql::identity::SessionRow>(
                    $crate::sql::identity::FIND_SESSION,
                )
                .bind(token_hash)
                .fetch_optional(&self.pool);
                let row = self.inst.run("sessions.find", q).await?;
                row.map(|r| r.decode(&self.inst.backend)).transpose()
            }

            async fn touch_session(
                &self,
                id: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<()> {
                self.stamp_by_id(
                    $crate::sql::identity::TOUCH_SESSION,
                    "sessions.touch",
                    id,
                    at,
                    "session",
                )
                .await
            }

            async fn revoke_session(
                &self,
                id: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<()> {
                self.stamp_by_id(
                    $crate::sql::identity::REVOKE_SESSION,
                    "sessions.revoke",
                    id,
                    at,
                    "session",
                )
                .await
            }

            async fn revoke_user_sessions(
                &self,
                user_id: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<u64> {
                let q = sqlx::query($crate::sql::identity::REVOKE_USER_SESSIONS)
                    .bind(user_id)
                    .bind($crate::sql::codec::micros(at))
                    .execute(&self.pool);
                Ok(self
                    .inst
                    .run("sessions.revoke_user", q)
                    .await?
                    .rows_affected())
            }

            async fn active_sessions(
                &self,
                user_id: &str,
                now: time::OffsetDateTime,
            ) -> legalops_core::Result<Vec<legalops_core::identity::Session>> {
                // `now < expires_at` for stored microseconds is `expires_at > floor(now)`.
                let q = sqlx::query_as::<_, $crate::sql::identity::SessionRow>(
                    $crate::sql::identity::ACTIVE_SESSIONS,
                )
                .bind(user_id)
                .bind($crate::sql::codec::micros(now))
                .fetch_all(&self.pool);
                let rows = self.inst.run("sessions.active", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }

            async fn prune_sessions(
                &self,
                before: time::OffsetDateTime,
            ) -> legalops_core::Result<u64> {
                let q = sqlx::query($crate::sql::identity::PRUNE_SESSIONS)
                    .bind($crate::sql::codec::ceil_micros(before))
                    .execute(&self.pool);
                Ok(self.inst.run("sessions.prune", q).await?.rows_affected())
            }
        }

        #[async_trait::async_trait]
        impl legalops_core::identity::ApiKeyStore for $ty {
            async fn create_api_key(
                &self,
                key: &legalops_core::identity::ApiKey,
            ) -> legalops_core::Result<()> {
                let r = $crate::sql::identity::ApiKeyRow::encode(key)?;
                let q = sqlx::query($crate::sql::identity::INSERT_API_KEY)
                    .bind(&r.id)
                    .bind(&r.name)
                    .bind(&r.key_hash)
                    .bind(&r.scopes)
                    .bind(&r.created_by)
                    .bind(r.created_at)
                    .bind(r.expires_at)
                    .bind(r.revoked_at)
                    .bind(r.last_used_at)
                    .execute(&self.pool);
                self.inst.run("api_keys.create", q).await.map(drop)
            }

            async fn find_api_key(
                &self,
                key_hash: &str,
            ) -> legalops_core::Result<Option<legalops_core::identity::ApiKey>> {
                let q = sqlx::query_as::<_, $crate::sql::identity::ApiKeyRow>(
                    $crate::sql::identity::FIND_API_KEY,
                )
                .bind(key_hash)
                .fetch_optional(&self.pool);
                let row = self.inst.run("api_keys.find", q).await?;
                row.map(|r| r.decode(&self.inst.backend)).transpose()
            }

            async fn list_api_keys(
                &self,
            ) -> legalops_core::Result<Vec<legalops_core::identity::ApiKey>> {
                let q = sqlx::query_as::<_, $crate::sql::identity::ApiKeyRow>(
                    $crate::sql::identity::LIST_API_KEYS,
                )
                .fetch_all(&self.pool);
                let rows = self.inst.run("api_keys.list", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }

            async fn revoke_api_key(
                &self,
                id: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<()> {
                self.stamp_by_id(
                    $crate::sql::identity::REVOKE_API_KEY,
                    "api_keys.revoke",
                    id,
                    at,
                    "API key",
                )
                .await
            }

            async fn touch_api_key(
                &self,
                id: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<()> {
                self.stamp_by_id(
                    $crate::sql::identity::TOUCH_API_KEY,
                    "api_keys.touch",
                    id,
                    at,
                    "API key",
                )
                .await
            }
        }
    };
}

pub(crate) use impl_identity;
