//! The rows of the identity tables and their encodings (instants as microseconds, roles
//! as lowercase names, scopes as a JSON array).

use legalops_core::identity::{ApiKey, Role, Session, User};
use legalops_core::{Error, Result};

use crate::sql::codec::{corrupt, from_micros, from_opt_micros, micros, opt_micros, parse_json};

/// A `users` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) display_name: String,
    pub(crate) role: String,
    pub(crate) password_hash: String,
    pub(crate) disabled: bool,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

impl UserRow {
    pub(crate) fn encode(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: u.role.as_str().to_owned(),
            password_hash: u.password_hash.clone(),
            disabled: u.disabled,
            created_at: micros(u.created_at),
            updated_at: micros(u.updated_at),
        }
    }

    pub(crate) fn decode(self, backend: &str) -> Result<User> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| corrupt(backend, format!("stored role {:?} is unknown", self.role)))?;
        Ok(User {
            created_at: from_micros(backend, "users.created_at", self.created_at)?,
            updated_at: from_micros(backend, "users.updated_at", self.updated_at)?,
            id: self.id,
            email: self.email,
            display_name: self.display_name,
            role,
            password_hash: self.password_hash,
            disabled: self.disabled,
        })
    }
}

/// A `sessions` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub(crate) id: String,
    pub(crate) token_hash: String,
    pub(crate) user_id: String,
    pub(crate) created_at: i64,
    pub(crate) last_seen_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) revoked_at: Option<i64>,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
}

impl SessionRow {
    pub(crate) fn encode(s: &Session) -> Self {
        Self {
            id: s.id.clone(),
            token_hash: s.token_hash.clone(),
            user_id: s.user_id.clone(),
            created_at: micros(s.created_at),
            last_seen_at: micros(s.last_seen_at),
            expires_at: micros(s.expires_at),
            revoked_at: opt_micros(s.revoked_at),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
        }
    }

    pub(crate) fn decode(self, backend: &str) -> Result<Session> {
        Ok(Session {
            created_at: from_micros(backend, "sessions.created_at", self.created_at)?,
            last_seen_at: from_micros(backend, "sessions.last_seen_at", self.last_seen_at)?,
            expires_at: from_micros(backend, "sessions.expires_at", self.expires_at)?,
            revoked_at: from_opt_micros(backend, "sessions.revoked_at", self.revoked_at)?,
            id: self.id,
            token_hash: self.token_hash,
            user_id: self.user_id,
            ip: self.ip,
            user_agent: self.user_agent,
        })
    }
}

/// An `api_keys` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) key_hash: String,
    pub(crate) scopes: String,
    pub(crate) created_by: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
    pub(crate) last_used_at: Option<i64>,
}

impl ApiKeyRow {
    pub(crate) fn encode(k: &ApiKey) -> Result<Self> {
        let scopes = serde_json::to_string(&k.scopes)
            .map_err(|e| Error::invalid_input("api_key.scopes", e.to_string()))?;
        Ok(Self {
            id: k.id.clone(),
            name: k.name.clone(),
            key_hash: k.key_hash.clone(),
            scopes,
            created_by: k.created_by.clone(),
            created_at: micros(k.created_at),
            expires_at: opt_micros(k.expires_at),
            revoked_at: opt_micros(k.revoked_at),
            last_used_at: opt_micros(k.last_used_at),
        })
    }

    pub(crate) fn decode(self, backend: &str) -> Result<ApiKey> {
        Ok(ApiKey {
            scopes: parse_json(backend, "api_keys.scopes", &self.scopes)?,
            created_at: from_micros(backend, "api_keys.created_at", self.created_at)?,
            expires_at: from_opt_micros(backend, "api_keys.expires_at", self.expires_at)?,
            revoked_at: from_opt_micros(backend, "api_keys.revoked_at", self.revoked_at)?,
            last_used_at: from_opt_micros(backend, "api_keys.last_used_at", self.last_used_at)?,
            id: self.id,
            name: self.name,
            key_hash: self.key_hash,
            created_by: self.created_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::OffsetDateTime;

    fn instant(us: i64) -> OffsetDateTime {
        crate::sql::codec::from_micros("db", "t", us).expect("in range")
    }

    #[test]
    fn an_unknown_stored_role_is_a_corrupt_row() {
        let row = UserRow {
            id: "u".into(),
            email: "e".into(),
            display_name: "d".into(),
            role: "superuser".into(),
            password_hash: "h".into(),
            disabled: false,
            created_at: 0,
            updated_at: 0,
        };
        assert!(matches!(
            row.decode("db"),
            Err(Error::Backend {
                retryable: false,
                ..
            })
        ));
    }

    proptest! {
        // Any user, session or key with whole-microsecond times survives its row.
        #[test]
        fn records_round_trip_through_their_rows(
            us in 0i64..4_000_000_000_000_000,
            role in 0usize..4,
            text in "\\PC{0,12}",
            flag in any::<bool>(),
            scopes in proptest::collection::vec("\\PC{0,8}", 0..4),
        ) {
            let role = [Role::Customer, Role::Staff, Role::Attorney, Role::Admin][role];
            let user = User {
                id: text.clone(),
                email: text.clone(),
                display_name: text.clone(),
                role,
                password_hash: text.clone(),
                disabled: flag,
                created_at: instant(us),
                updated_at: instant(us + 1),
            };
            prop_assert_eq!(UserRow::encode(&user).decode("db").ok(), Some(user));
            let session = Session {
                id: text.clone(),
                token_hash: text.clone(),
                user_id: text.clone(),
                created_at: instant(us),
                last_seen_at: instant(us + 2),
                expires_at: instant(us + 3),
                revoked_at: flag.then(|| instant(us - 1)),
                ip: flag.then(|| text.clone()),
                user_agent: (!flag).then(|| text.clone()),
            };
            prop_assert_eq!(SessionRow::encode(&session).decode("db").ok(), Some(session));
            let key = ApiKey {
                id: text.clone(),
                name: text.clone(),
                key_hash: text.clone(),
                scopes,
                created_by: text,
                created_at: instant(us),
                expires_at: flag.then(|| instant(us + 5)),
                revoked_at: None,
                last_used_at: (!flag).then(|| instant(us)),
            };
            let row = ApiKeyRow::encode(&key).expect("encodes");
            prop_assert_eq!(row.decode("db").ok(), Some(key));
        }
    }
}
