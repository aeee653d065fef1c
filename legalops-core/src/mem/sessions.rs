//! [`SessionStore`] of [`MemoryRecords`]: login sessions found by the hash of their token.

use std::collections::BTreeMap;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryRecords;
use crate::error::{Error, Result};
use crate::identity::{Session, SessionStore};

/// Sessions by id.
#[derive(Debug, Default)]
pub(super) struct SessionState {
    sessions: BTreeMap<String, Session>,
}

fn no_session(id: &str) -> Error {
    Error::not_found(format!("session {id:?}"))
}

#[async_trait]
impl SessionStore for MemoryRecords {
    async fn create_session(&self, session: &Session) -> Result<()> {
        self.query("sessions.create", |s| {
            let s = &mut s.sessions.sessions;
            if s.contains_key(&session.id) {
                return Err(Error::already_exists(format!("session {:?}", session.id)));
            }
            // Two sessions with one token hash would make `find_session` ambiguous, and a
            // token is the credential: refuse rather than pick one.
            if s.values().any(|x| x.token_hash == session.token_hash) {
                return Err(Error::already_exists("session with this token hash"));
            }
            s.insert(session.id.clone(), session.clone());
            Ok(())
        })
    }

    async fn find_session(&self, token_hash: &str) -> Result<Option<Session>> {
        Ok(self.query("sessions.find", |s| {
            s.sessions
                .sessions
                .values()
                .find(|x| x.token_hash == token_hash)
                .cloned()
        }))
    }

    async fn touch_session(&self, id: &str, at: OffsetDateTime) -> Result<()> {
        self.query("sessions.touch", |s| {
            let x = s
                .sessions
                .sessions
                .get_mut(id)
                .ok_or_else(|| no_session(id))?;
            // Concurrent requests finish out of order; a late one must not make the session
            // look idle for longer than it is.
            x.last_seen_at = x.last_seen_at.max(at);
            Ok(())
        })
    }

    async fn revoke_session(&self, id: &str, at: OffsetDateTime) -> Result<()> {
        self.query("sessions.revoke", |s| {
            let x = s
                .sessions
                .sessions
                .get_mut(id)
                .ok_or_else(|| no_session(id))?;
            x.revoked_at.get_or_insert(at);
            Ok(())
        })
    }

    async fn revoke_user_sessions(&self, user_id: &str, at: OffsetDateTime) -> Result<u64> {
        Ok(self.query("sessions.revoke_user", |s| {
            let mut n = 0;
            for x in s.sessions.sessions.values_mut() {
                if x.user_id == user_id && x.revoked_at.is_none() {
                    x.revoked_at = Some(at);
                    n += 1;
                }
            }
            n
        }))
    }

    async fn active_sessions(&self, user_id: &str, now: OffsetDateTime) -> Result<Vec<Session>> {
        Ok(self.query("sessions.active", |s| {
            let mut v: Vec<Session> = s
                .sessions
                .sessions
                .values()
                .filter(|x| x.user_id == user_id && x.revoked_at.is_none() && x.expires_at > now)
                .cloned()
                .collect();
            // Oldest first, so that the per-user cap revokes from the front.
            v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            v
        }))
    }

    async fn prune_sessions(&self, before: OffsetDateTime) -> Result<u64> {
        Ok(self.query("sessions.prune", |s| {
            let s = &mut s.sessions.sessions;
            let n = s.len();
            s.retain(|_, x| x.expires_at >= before && x.revoked_at.is_none_or(|r| r >= before));
            (n - s.len()) as u64
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::block_on;
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-01-01 10:00 UTC);

    fn session(id: &str, user: &str, created: i64) -> Session {
        let created_at = T + Duration::minutes(created);
        Session {
            id: id.to_owned(),
            token_hash: format!("hash-{id}"),
            user_id: user.to_owned(),
            created_at,
            last_seen_at: created_at,
            expires_at: created_at + Duration::hours(24),
            revoked_at: None,
            ip: None,
            user_agent: None,
        }
    }

    #[test]
    fn a_duplicate_id_or_token_hash_is_already_exists() {
        let db = MemoryRecords::new();
        assert!(block_on(db.create_session(&session("s1", "u", 0))).is_ok());
        let same_id = block_on(db.create_session(&Session {
            token_hash: "other".into(),
            ..session("s1", "u", 0)
        }));
        assert!(
            matches!(same_id, Err(Error::AlreadyExists { .. })),
            "{same_id:?}"
        );
        let same_hash = block_on(db.create_session(&Session {
            token_hash: "hash-s1".into(),
            ..session("s2", "u", 0)
        }));
        assert!(
            matches!(same_hash, Err(Error::AlreadyExists { .. })),
            "{same_hash:?}"
        );
    }

    #[test]
    fn touching_an_unknown_session_is_not_found() {
        let db = MemoryRecords::new();
        let err = block_on(db.touch_session("nope", T));
        assert!(matches!(err, Err(Error::NotFound { .. })), "{err:?}");
    }

    #[test]
    fn a_session_expiring_exactly_now_is_not_active() {
        let db = MemoryRecords::new();
        let s = session("s1", "u", 0);
        assert!(block_on(db.create_session(&s)).is_ok());
        let at_end = block_on(db.active_sessions("u", s.expires_at));
        assert!(matches!(at_end, Ok(ref v) if v.is_empty()), "{at_end:?}");
    }

    proptest! {
        // However touches arrive, last_seen_at ends at the latest of them (or the start).
        #[test]
        fn last_seen_is_the_latest_touch(touches in proptest::collection::vec(-60i64..600, 0..20)) {
            let db = MemoryRecords::new();
            let s = session("s1", "u", 0);
            prop_assert!(block_on(db.create_session(&s)).is_ok());
            for m in &touches {
                prop_assert!(block_on(db.touch_session("s1", T + Duration::minutes(*m))).is_ok());
            }
            let want = touches.iter().map(|m| T + Duration::minutes(*m)).fold(T, OffsetDateTime::max);
            let got = block_on(db.find_session("hash-s1"));
            prop_assert!(matches!(got, Ok(Some(ref x)) if x.last_seen_at == want), "{:?}", got);
        }

        // Revoking in any order: each session is revoked once, at its first revocation, and
        // revoke_user_sessions counts only the sessions it newly revoked.
        #[test]
        fn revocations_count_each_session_once(ops in proptest::collection::vec((any::<bool>(), 0u8..4), 0..20)) {
            let db = MemoryRecords::new();
            for i in 0..4 {
                let id = format!("s{i}");
                prop_assert!(block_on(db.create_session(&session(&id, "u", i))).is_ok());
            }
            let mut revoked = [None::<OffsetDateTime>; 4];
            for (step, (all, i)) in ops.iter().enumerate() {
                let at = T + Duration::hours(1) + Duration::minutes(step as i64);
                if *all {
                    let n = block_on(db.revoke_user_sessions("u", at));
                    let fresh = revoked.iter().filter(|r| r.is_none()).count() as u64;
                    prop_assert_eq!(n.ok(), Some(fresh));
                    revoked.iter_mut().for_each(|r| { r.get_or_insert(at); });
                } else {
                    let id = format!("s{i}");
                    prop_assert!(block_on(db.revoke_session(&id, at)).is_ok());
                    revoked[*i as usize].get_or_insert(at);
                }
            }
            for (i, want) in revoked.iter().enumerate() {
                let got = block_on(db.find_session(&format!("hash-s{i}")));
                prop_assert!(matches!(got, Ok(Some(ref x)) if x.revoked_at == *want), "{:?}", got);
            }
        }
    }
}
