//! Sessions: issuing one at login (and revoking the oldest beyond the per-user cap),
//! authenticating a bearer token, logging out, and a user's view of their own sessions.
//!
//! A session is valid while it is unrevoked, before its absolute expiry, used within the
//! idle timeout, and its user exists and is enabled; anything else answers the one
//! [`INVALID_SESSION`] message (the server maps it to 401).

use legalops_core::audit::Outcome;
use legalops_core::identity::{Session, User};
use legalops_core::{Error, Result};
use time::OffsetDateTime;

use super::tokens::{SESSION_TOKEN_PREFIX, hash_secret, new_secret, well_formed};
use super::{IdentityService, after};
use crate::audit::RequestMeta;
use crate::audit::sanitize::clean_str;

/// The one answer to a session that does not authenticate, whatever the reason.
pub const INVALID_SESSION: &str = "invalid or expired session";

/// A session just issued: the bearer token is shown once, here, and never again.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedSession {
    /// The bearer token (`lo_sess_` + 64 hex digits).
    pub token: String,
    /// The stored session (holding only the token's hash).
    pub session: Session,
}

impl std::fmt::Debug for IssuedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSession")
            .field("token", &legalops_core::redact::REDACTED)
            .field("session", &self.session)
            .finish()
    }
}

fn invalid_session() -> Error {
    Error::PermissionDenied {
        message: INVALID_SESSION.to_owned(),
    }
}

impl IdentityService {
    /// Whether `session` is alive at `now`: unrevoked, unexpired and not idle.
    fn alive(
        &self,
        session: &Session,
        now: OffsetDateTime,
    ) -> std::result::Result<(), &'static str> {
        if session.revoked_at.is_some() {
            Err("revoked")
        } else if now >= session.expires_at {
            Err("expired")
        } else if after(session.last_seen_at, self.inner.config.idle_timeout) <= now {
            Err("idle")
        } else {
            Ok(())
        }
    }

    /// Stores a new session for `user` and revokes the oldest beyond the cap.
    pub(super) async fn issue_session(
        &self,
        user: &User,
        meta: &RequestMeta,
    ) -> Result<IssuedSession> {
        let now = self.now();
        let token = new_secret(SESSION_TOKEN_PREFIX)?;
        let session = Session {
            id: uuid::Uuid::new_v4().to_string(),
            token_hash: hash_secret(&token),
            user_id: user.id.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: after(now, self.inner.config.session_lifetime),
            revoked_at: None,
            ip: Some(meta.ip.to_canonical().to_string()),
            user_agent: meta.user_agent.as_deref().map(clean_str),
        };
        self.inner.sessions.create_session(&session).await?;
        self.enforce_cap(user, &session.id, meta, now).await;
        Ok(IssuedSession { token, session })
    }

    /// Revokes the oldest live sessions beyond `max_sessions_per_user`, never `keep` (the
    /// one just issued). A failure leaves one session too many; it is logged.
    async fn enforce_cap(&self, user: &User, keep: &str, meta: &RequestMeta, now: OffsetDateTime) {
        let live = match self.inner.sessions.active_sessions(&user.id, now).await {
            Ok(all) => all
                .into_iter()
                .filter(|s| self.alive(s, now).is_ok())
                .collect::<Vec<_>>(),
            Err(e) => {
                tracing::warn!(user_id = %user.id, error = %e, "session cap not enforced");
                return;
            }
        };
        let excess = live
            .len()
            .saturating_sub(self.inner.config.max_sessions_per_user);
        let mut oldest: Vec<&Session> = live.iter().filter(|s| s.id != keep).collect();
        oldest.sort_by_key(|s| (s.created_at, s.id.clone()));
        for s in oldest.into_iter().take(excess) {
            if let Err(e) = self.inner.sessions.revoke_session(&s.id, now).await {
                tracing::warn!(session_id = %s.id, error = %e, "session over the cap not revoked");
                continue;
            }
            self.inner
                .auditor
                .event("session.revoked_over_cap", Outcome::Success)
                .actor(&user.id)
                .target(&s.id)
                .detail("max_sessions", self.inner.config.max_sessions_per_user)
                .meta(meta)
                .emit()
                .await;
        }
    }

    /// The user and live session a bearer token belongs to; `PermissionDenied`
    /// ([`INVALID_SESSION`]) for anything else, audited as `auth.session` failure. Use
    /// moves `last_seen_at`, written at most every `touch_interval`.
    pub async fn authenticate_session(
        &self,
        token: &str,
        meta: &RequestMeta,
    ) -> Result<(User, Session)> {
        match self.check_session(token).await? {
            Ok(found) => Ok(found),
            Err((reason, session_id)) => {
                let mut event = self
                    .inner
                    .auditor
                    .event("auth.session", Outcome::Failure)
                    .detail("reason", reason)
                    .meta(meta);
                if let Some(id) = session_id {
                    event = event.target(id);
                }
                event.emit().await;
                Err(invalid_session())
            }
        }
    }

    /// Outer error: the store failed. Inner error: why the token does not authenticate,
    /// and the session it named, if any.
    async fn check_session(
        &self,
        token: &str,
    ) -> Result<std::result::Result<(User, Session), (&'static str, Option<String>)>> {
        if !well_formed(token, SESSION_TOKEN_PREFIX) {
            return Ok(Err(("malformed token", None)));
        }
        let Some(mut session) = self
            .inner
            .sessions
            .find_session(&hash_secret(token))
            .await?
        else {
            return Ok(Err(("unknown token", None)));
        };
        let now = self.now();
        if let Err(reason) = self.alive(&session, now) {
            return Ok(Err((reason, Some(session.id))));
        }
        let user = match self.inner.users.get_user(&session.user_id).await {
            Ok(u) if !u.disabled => u,
            Ok(_) => return Ok(Err(("user disabled", Some(session.id)))),
            Err(Error::NotFound { .. }) => return Ok(Err(("user gone", Some(session.id)))),
            Err(e) => return Err(e),
        };
        if after(session.last_seen_at, self.inner.config.touch_interval) <= now {
            self.inner.sessions.touch_session(&session.id, now).await?;
            session.last_seen_at = now;
        }
        Ok(Ok((user, session)))
    }

    /// Ends the session of `token`. `PermissionDenied` ([`INVALID_SESSION`]) if it is not
    /// a live session.
    pub async fn logout(&self, token: &str, meta: &RequestMeta) -> Result<()> {
        let (user, session) = self.authenticate_session(token, meta).await?;
        self.inner
            .sessions
            .revoke_session(&session.id, self.now())
            .await?;
        self.inner
            .auditor
            .event("auth.logout", Outcome::Success)
            .actor(&user.id)
            .target(&session.id)
            .meta(meta)
            .emit()
            .await;
        Ok(())
    }

    /// The live sessions of `user_id`, oldest first.
    pub async fn sessions(&self, user_id: &str) -> Result<Vec<Session>> {
        let now = self.now();
        let all = self.inner.sessions.active_sessions(user_id, now).await?;
        Ok(all
            .into_iter()
            .filter(|s| self.alive(s, now).is_ok())
            .collect())
    }

    /// Revokes one of `user_id`'s own live sessions; `NotFound` for any other id (another
    /// user's session is indistinguishable from none).
    pub async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let result = async {
            let mine = self.sessions(user_id).await?;
            if !mine.iter().any(|s| s.id == session_id) {
                return Err(Error::not_found(format!("session {session_id:?}")));
            }
            self.inner
                .sessions
                .revoke_session(session_id, self.now())
                .await
        }
        .await;
        let mut event = self
            .inner
            .auditor
            .event(
                "session.revoke",
                if result.is_ok() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
            )
            .actor(user_id)
            .target(session_id)
            .meta(meta);
        if let Err(e) = &result {
            event = event.detail("reason", e.to_string());
        }
        event.emit().await;
        result
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testkit::{PW, kit, meta};
    use super::*;
    use legalops_core::identity::{Role, SessionStore};

    const HOUR: Duration = Duration::from_secs(3600);
    const MINUTE: Duration = Duration::from_secs(60);

    fn denied(r: Result<(User, Session)>) -> bool {
        matches!(r, Err(Error::PermissionDenied { message }) if message == INVALID_SESSION)
    }

    #[tokio::test]
    async fn only_the_token_hash_is_stored() {
        let k = kit();
        k.user("a@example.com", Role::Customer).await;
        let (_, issued) = k
            .svc
            .login("a@example.com", PW, &meta())
            .await
            .expect("login");
        assert_eq!(issued.token.len(), "lo_sess_".len() + 64);
        let stored = k
            .records
            .find_session(&hash_secret(&issued.token))
            .await
            .expect("find")
            .expect("stored by hash");
        assert_eq!(stored.id, issued.session.id);
        assert_ne!(stored.token_hash, issued.token);
        assert_eq!(stored.ip.as_deref(), Some("203.0.113.9"));
        assert!(
            k.records
                .find_session(&issued.token)
                .await
                .expect("find")
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_session_ends_24_hours_after_login_even_in_use() {
        let k = kit();
        k.user("b@example.com", Role::Customer).await;
        let (_, s) = k
            .svc
            .login("b@example.com", PW, &meta())
            .await
            .expect("login");
        for _ in 0..23 {
            k.clock.advance(HOUR);
            k.svc
                .authenticate_session(&s.token, &meta())
                .await
                .expect("still valid");
        }
        k.clock.advance(HOUR - Duration::from_secs(1));
        k.svc
            .authenticate_session(&s.token, &meta())
            .await
            .expect("one second left");
        k.clock.advance(Duration::from_secs(1));
        assert!(denied(k.svc.authenticate_session(&s.token, &meta()).await));
        let e = k.audited("auth.session").await.pop().expect("audited");
        assert_eq!(e.entry.details["reason"], "expired");
        assert_eq!(e.entry.target.as_deref(), Some(s.session.id.as_str()));
    }

    #[tokio::test]
    async fn two_idle_hours_end_a_session_and_use_keeps_it_alive() {
        let k = kit();
        k.user("c@example.com", Role::Customer).await;
        let (_, idle) = k
            .svc
            .login("c@example.com", PW, &meta())
            .await
            .expect("login");
        let (_, used) = k
            .svc
            .login("c@example.com", PW, &meta())
            .await
            .expect("login");
        for _ in 0..3 {
            k.clock.advance(HOUR);
            k.svc
                .authenticate_session(&used.token, &meta())
                .await
                .expect("kept alive");
        }
        assert!(denied(
            k.svc.authenticate_session(&idle.token, &meta()).await
        ));
        k.clock.advance(2 * HOUR);
        assert!(denied(
            k.svc.authenticate_session(&used.token, &meta()).await
        ));
        assert!(
            k.svc
                .sessions(&used.session.user_id)
                .await
                .expect("list")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn last_seen_is_written_at_most_once_a_minute() {
        let k = kit();
        k.user("d@example.com", Role::Customer).await;
        let (_, s) = k
            .svc
            .login("d@example.com", PW, &meta())
            .await
            .expect("login");
        let stored = || async {
            k.records
                .find_session(&hash_secret(&s.token))
                .await
                .expect("find")
                .expect("stored")
                .last_seen_at
        };
        let t0 = stored().await;
        k.clock.advance(Duration::from_secs(30));
        let (_, seen) = k
            .svc
            .authenticate_session(&s.token, &meta())
            .await
            .expect("ok");
        assert_eq!((seen.last_seen_at, stored().await), (t0, t0), "not yet due");
        k.clock.advance(Duration::from_secs(30));
        let (_, seen) = k
            .svc
            .authenticate_session(&s.token, &meta())
            .await
            .expect("ok");
        assert_eq!(seen.last_seen_at, t0 + MINUTE);
        assert_eq!(stored().await, t0 + MINUTE);
    }

    #[tokio::test]
    async fn the_eleventh_login_revokes_the_oldest_session() {
        let k = kit();
        let u = k.user("e@example.com", Role::Customer).await;
        let mut tokens = Vec::new();
        for _ in 0..11 {
            k.clock.advance(MINUTE);
            let (_, s) = k
                .svc
                .login("e@example.com", PW, &meta())
                .await
                .expect("login");
            tokens.push(s);
        }
        assert!(denied(
            k.svc.authenticate_session(&tokens[0].token, &meta()).await
        ));
        for s in &tokens[1..] {
            k.svc
                .authenticate_session(&s.token, &meta())
                .await
                .expect("kept");
        }
        let live = k.svc.sessions(&u.id).await.expect("list");
        assert_eq!(live.len(), 10);
        assert!(live.iter().all(|s| s.id != tokens[0].session.id));
        let over = k.audited("session.revoked_over_cap").await;
        assert_eq!(over.len(), 1);
        assert_eq!(
            over[0].entry.target.as_deref(),
            Some(tokens[0].session.id.as_str())
        );
    }

    #[tokio::test]
    async fn forged_malformed_and_unknown_tokens_are_denied_alike() {
        let k = kit();
        k.user("f@example.com", Role::Customer).await;
        let (_, s) = k
            .svc
            .login("f@example.com", PW, &meta())
            .await
            .expect("login");
        let mut flipped = s.token.clone();
        let last = if flipped.ends_with('0') { "1" } else { "0" };
        flipped.replace_range(flipped.len() - 1.., last);
        for forged in [
            flipped.as_str(),
            "lo_sess_",
            "",
            "Bearer x",
            &format!("lo_sess_{}", "0".repeat(64)),
            &s.session.token_hash,
            &s.session.id,
        ] {
            assert!(
                denied(k.svc.authenticate_session(forged, &meta()).await),
                "{forged}"
            );
        }
    }

    #[tokio::test]
    async fn logout_ends_the_session_once() {
        let k = kit();
        let u = k.user("g@example.com", Role::Customer).await;
        let (_, s) = k
            .svc
            .login("g@example.com", PW, &meta())
            .await
            .expect("login");
        k.svc.logout(&s.token, &meta()).await.expect("logged out");
        assert!(denied(k.svc.authenticate_session(&s.token, &meta()).await));
        assert!(matches!(
            k.svc.logout(&s.token, &meta()).await,
            Err(Error::PermissionDenied { .. })
        ));
        let out = k.audited("auth.logout").await;
        assert_eq!((out.len(), out[0].entry.actor.as_str()), (1, u.id.as_str()));
    }

    #[tokio::test]
    async fn a_user_revokes_only_their_own_sessions() {
        let k = kit();
        let h = k.user("h@example.com", Role::Customer).await;
        let i = k.user("i@example.com", Role::Customer).await;
        let (_, hs) = k
            .svc
            .login("h@example.com", PW, &meta())
            .await
            .expect("login");
        let (_, is) = k
            .svc
            .login("i@example.com", PW, &meta())
            .await
            .expect("login");
        let theirs = k.svc.revoke_session(&h.id, &is.session.id, &meta()).await;
        assert!(matches!(theirs, Err(Error::NotFound { .. })));
        k.svc
            .authenticate_session(&is.token, &meta())
            .await
            .expect("untouched");
        k.svc
            .revoke_session(&h.id, &hs.session.id, &meta())
            .await
            .expect("own");
        assert!(denied(k.svc.authenticate_session(&hs.token, &meta()).await));
        assert_eq!(k.svc.sessions(&i.id).await.expect("list").len(), 1);
        let audited = k.audited("session.revoke").await;
        assert_eq!(audited.len(), 2);
    }
}
