//! [`UserStore`] and [`ApiKeyStore`] of [`MemoryRecords`]: users with a unique email and
//! admin API keys with a unique name among the unrevoked ones.

use std::collections::BTreeMap;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryRecords;
use crate::error::{Error, Result};
use crate::identity::{ApiKey, ApiKeyStore, User, UserStore};

/// Users and API keys, by id.
#[derive(Debug, Default)]
pub(super) struct IdentityState {
    users: BTreeMap<String, User>,
    api_keys: BTreeMap<String, ApiKey>,
}

impl IdentityState {
    /// Whether a user other than `except_id` has exactly `email` (the caller normalises:
    /// the store compares bytes, as a SQL unique index with a binary collation does).
    fn email_taken(&self, email: &str, except_id: Option<&str>) -> bool {
        self.users
            .values()
            .any(|u| u.email == email && Some(u.id.as_str()) != except_id)
    }
}

/// `n` as a `usize`, saturating: an offset or limit past memory simply means "all".
pub(super) fn saturating_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn email_exists(email: &str) -> Error {
    Error::already_exists(format!("user with email {email:?}"))
}

#[async_trait]
impl UserStore for MemoryRecords {
    async fn create_user(&self, user: &User) -> Result<()> {
        self.query("users.create", |s| {
            let s = &mut s.identity;
            if s.users.contains_key(&user.id) {
                return Err(Error::already_exists(format!("user {:?}", user.id)));
            }
            // Check and insert under one lock: that is what makes the email unique.
            if s.email_taken(&user.email, None) {
                return Err(email_exists(&user.email));
            }
            s.users.insert(user.id.clone(), user.clone());
            Ok(())
        })
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        self.query("users.get", |s| s.identity.users.get(id).cloned())
            .ok_or_else(|| Error::not_found(format!("user {id:?}")))
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(self.query("users.find_by_email", |s| {
            s.identity
                .users
                .values()
                .find(|u| u.email == email)
                .cloned()
        }))
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        self.query("users.update", |s| {
            let s = &mut s.identity;
            if !s.users.contains_key(&user.id) {
                return Err(Error::not_found(format!("user {:?}", user.id)));
            }
            if s.email_taken(&user.email, Some(&user.id)) {
                return Err(email_exists(&user.email));
            }
            s.users.insert(user.id.clone(), user.clone());
            Ok(())
        })
    }

    async fn list_users(&self, offset: u64, limit: u64) -> Result<Vec<User>> {
        Ok(self.query("users.list", |s| {
            let mut users: Vec<&User> = s.identity.users.values().collect();
            users.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            users
                .into_iter()
                .skip(saturating_usize(offset))
                .take(saturating_usize(limit))
                .cloned()
                .collect()
        }))
    }
}

fn no_key(id: &str) -> Error {
    Error::not_found(format!("API key {id:?}"))
}

#[async_trait]
impl ApiKeyStore for MemoryRecords {
    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        self.query("api_keys.create", |s| {
            let s = &mut s.identity;
            if s.api_keys.contains_key(&key.id) {
                return Err(Error::already_exists(format!("API key {:?}", key.id)));
            }
            // A revoked key's name may be reused: operators rotate a key under its name.
            if s.api_keys
                .values()
                .any(|k| k.name == key.name && k.revoked_at.is_none())
            {
                return Err(Error::already_exists(format!(
                    "unrevoked API key named {:?}",
                    key.name
                )));
            }
            s.api_keys.insert(key.id.clone(), key.clone());
            Ok(())
        })
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        Ok(self.query("api_keys.find", |s| {
            s.identity
                .api_keys
                .values()
                .find(|k| k.key_hash == key_hash)
                .cloned()
        }))
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        Ok(self.query("api_keys.list", |s| {
            let mut keys: Vec<ApiKey> = s.identity.api_keys.values().cloned().collect();
            // Newest first; the id breaks ties so that the order is stable.
            keys.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            keys
        }))
    }

    async fn revoke_api_key(&self, id: &str, at: OffsetDateTime) -> Result<()> {
        self.query("api_keys.revoke", |s| {
            let key = s.identity.api_keys.get_mut(id).ok_or_else(|| no_key(id))?;
            // Revoking twice keeps the first time, as for sessions: the audit trail and
            // the record agree on when the key stopped working.
            key.revoked_at.get_or_insert(at);
            Ok(())
        })
    }

    async fn touch_api_key(&self, id: &str, at: OffsetDateTime) -> Result<()> {
        self.query("api_keys.touch", |s| {
            let key = s.identity.api_keys.get_mut(id).ok_or_else(|| no_key(id))?;
            // Concurrent requests may finish out of order: keep the latest use.
            key.last_used_at = Some(key.last_used_at.map_or(at, |t| t.max(at)));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Role;
    use crate::mem::block_on;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-01-01 10:00 UTC);

    fn user(id: &str, email: &str) -> User {
        User {
            id: id.to_owned(),
            email: email.to_owned(),
            display_name: id.to_owned(),
            role: Role::Customer,
            password_hash: "$argon2id$x".to_owned(),
            disabled: false,
            created_at: T,
            updated_at: T,
        }
    }

    fn key(id: &str, name: &str) -> ApiKey {
        ApiKey {
            id: id.to_owned(),
            name: name.to_owned(),
            key_hash: format!("hash-{id}"),
            scopes: vec!["*".to_owned()],
            created_by: "admin-token".to_owned(),
            created_at: T,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn a_duplicate_user_id_is_already_exists_and_keeps_the_first() {
        let db = MemoryRecords::new();
        assert!(block_on(db.create_user(&user("u1", "a@x.test"))).is_ok());
        let again = block_on(db.create_user(&user("u1", "b@x.test")));
        assert!(
            matches!(again, Err(Error::AlreadyExists { .. })),
            "{again:?}"
        );
        let got = block_on(db.get_user("u1"));
        assert!(matches!(got, Ok(ref u) if u.email == "a@x.test"), "{got:?}");
    }

    #[test]
    fn a_failed_update_changes_nothing() {
        let db = MemoryRecords::new();
        assert!(block_on(db.create_user(&user("u1", "a@x.test"))).is_ok());
        assert!(block_on(db.create_user(&user("u2", "b@x.test"))).is_ok());
        let err = block_on(db.update_user(&User {
            display_name: "changed".into(),
            ..user("u2", "a@x.test")
        }));
        assert!(matches!(err, Err(Error::AlreadyExists { .. })), "{err:?}");
        let got = block_on(db.get_user("u2"));
        assert!(
            matches!(got, Ok(ref u) if u.display_name == "u2"),
            "{got:?}"
        );
    }

    #[test]
    fn touching_an_unknown_key_is_not_found_and_a_late_touch_does_not_move_back() {
        let db = MemoryRecords::new();
        let err = block_on(db.touch_api_key("nope", T));
        assert!(matches!(err, Err(Error::NotFound { .. })), "{err:?}");
        assert!(block_on(db.create_api_key(&key("k1", "scraper"))).is_ok());
        let later = T + time::Duration::minutes(5);
        assert!(block_on(db.touch_api_key("k1", later)).is_ok());
        assert!(block_on(db.touch_api_key("k1", T)).is_ok());
        let got = block_on(db.find_api_key("hash-k1"));
        assert!(
            matches!(got, Ok(Some(ref k)) if k.last_used_at == Some(later)),
            "{got:?}"
        );
    }

    #[test]
    fn a_duplicate_key_id_is_already_exists_even_under_another_name() {
        let db = MemoryRecords::new();
        assert!(block_on(db.create_api_key(&key("k1", "a"))).is_ok());
        let err = block_on(db.create_api_key(&key("k1", "b")));
        assert!(matches!(err, Err(Error::AlreadyExists { .. })), "{err:?}");
    }

    proptest! {
        // Whatever sequence of creates and updates runs, no two stored users share an
        // email, and a call that failed left the store as it was.
        #[test]
        fn emails_stay_unique_under_any_sequence(
            ops in proptest::collection::vec((any::<bool>(), 0u8..4, 0u8..3), 0..40)
        ) {
            let db = MemoryRecords::new();
            for (create, id, email) in ops {
                let u = user(&format!("u{id}"), &format!("e{email}@x.test"));
                let before = block_on(db.list_users(0, u64::MAX)).unwrap_or_default();
                let r = if create {
                    block_on(db.create_user(&u))
                } else {
                    block_on(db.update_user(&u))
                };
                let after = block_on(db.list_users(0, u64::MAX)).unwrap_or_default();
                if r.is_err() {
                    prop_assert_eq!(&before, &after);
                }
                let mut emails: Vec<&str> = Vec::new();
                for u in &after {
                    prop_assert!(!emails.contains(&u.email.as_str()));
                    emails.push(&u.email);
                }
            }
        }
    }
}
