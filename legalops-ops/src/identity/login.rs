//! Logging in, where an attacker probes, so it is built to tell them nothing: the guard
//! decides first (a blocked address never gets a password checked), an unknown email is
//! verified against a dummy hash (the same work as a real one), a disabled account fails
//! like a wrong password, and every failure answers the same [`INVALID_LOGIN`] message.

use legalops_core::audit::Outcome;
use legalops_core::identity::User;
use legalops_core::identity::rules::normalize_email;
use legalops_core::{Error, Result};

use super::{IdentityService, IssuedSession, LoginAttempt};
use crate::audit::RequestMeta;
use crate::audit::sanitize::clean_str;

/// The one answer to a failed login, whatever failed.
pub const INVALID_LOGIN: &str = "invalid email or password";

/// Longest password checked at all; longer ones are never valid (argon2 would hash them,
/// but an attacker could make every attempt expensive).
pub(super) const MAX_PASSWORD_BYTES: usize = 1024;

fn invalid_login() -> Error {
    Error::PermissionDenied {
        message: INVALID_LOGIN.to_owned(),
    }
}

impl IdentityService {
    /// Logs in: the guard decides first (its `PermissionDenied` or `RateLimited` is
    /// returned as it is, and no password is checked), then the password is verified and
    /// a session issued. Every failure is `PermissionDenied` with [`INVALID_LOGIN`].
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<(User, IssuedSession)> {
        let account = normalize_email(email).unwrap_or_else(|_| clean_str(email.trim()));
        let attempt = LoginAttempt {
            at: self.now(),
            ip: meta.ip.to_canonical(),
            account: account.clone(),
            user_agent: meta.user_agent.clone(),
            password_tag: self.inner.tagger.tag(password),
            request_id: meta.request_id.clone(),
        };
        let audit = |outcome| {
            self.inner
                .auditor
                .event("auth.login", outcome)
                .target(&account)
                .meta(meta)
        };
        if let Err(e) = self.inner.guard.before_login(&attempt).await {
            audit(Outcome::Denied)
                .detail("reason", e.to_string())
                .emit()
                .await;
            return Err(e);
        }

        let user = self.inner.users.find_user_by_email(&account).await?;
        // An overlong password is never valid, but costs the same one verification.
        let fits = password.len() <= MAX_PASSWORD_BYTES;
        let candidate = if fits { password } else { "" };
        let verified = match &user {
            Some(u) => {
                self.inner
                    .hasher
                    .verify(candidate, &u.password_hash)
                    .await?
                    && fits
            }
            None => self.inner.hasher.verify_dummy(candidate).await?,
        };
        let failure = match &user {
            None => Some("unknown account"),
            Some(_) if !verified => Some("wrong password"),
            Some(u) if u.disabled => Some("account disabled"),
            Some(_) => None,
        };
        let user = match (user, failure) {
            (Some(user), None) => user,
            (user, Some(reason)) => {
                if let Err(e) = self.inner.guard.login_failed(&attempt).await {
                    tracing::warn!(error = %e, "login guard could not record a failure");
                }
                let mut event = audit(Outcome::Failure).detail("reason", reason);
                if let Some(u) = &user {
                    event = event.detail("user_id", &u.id);
                }
                event.emit().await;
                return Err(invalid_login());
            }
            (None, None) => return Err(invalid_login()),
        };

        if let Err(e) = self.inner.guard.login_succeeded(&attempt).await {
            tracing::warn!(error = %e, "login guard could not record a success");
        }
        self.rehash_if_needed(&user, password).await;
        let issued = self.issue_session(&user, meta).await?;
        audit(Outcome::Success)
            .actor(&user.id)
            .detail("session_id", &issued.session.id)
            .emit()
            .await;
        Ok((user, issued))
    }

    /// Re-hashes a password stored under older argon2 parameters, now that it is known.
    /// A failure only means the old hash stays; it is logged.
    async fn rehash_if_needed(&self, user: &User, password: &str) {
        if !self.inner.hasher.needs_rehash(&user.password_hash) {
            return;
        }
        let result = async {
            let mut updated = user.clone();
            updated.password_hash = self.inner.hasher.hash(password).await?;
            updated.updated_at = self.now();
            self.inner.users.update_user(&updated).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(user_id = %user.id, error = %e, "password rehash failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{PW, Verdict, kit, meta};
    use super::*;
    use legalops_core::identity::Role;

    #[tokio::test]
    async fn login_succeeds_and_failures_read_the_same_whatever_failed() {
        let k = kit();
        let u = k.user("dave@example.com", Role::Staff).await;
        let (who, issued) = k
            .svc
            .login("Dave@example.com", PW, &meta())
            .await
            .expect("login");
        assert_eq!(who.id, u.id);
        assert!(issued.token.starts_with("lo_sess_"));
        assert_eq!(issued.session.user_id, u.id);

        let wrong = k
            .svc
            .login("dave@example.com", "Wr0ng-Password!", &meta())
            .await;
        let unknown = k.svc.login("nobody@example.com", PW, &meta()).await;
        let garbage = k.svc.login("not an email", PW, &meta()).await;
        let texts: Vec<String> = [wrong, unknown, garbage]
            .into_iter()
            .map(|r| match r {
                Err(e @ Error::PermissionDenied { .. }) => e.to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(
            texts
                .iter()
                .all(|t| t == "permission denied: invalid email or password")
        );
        assert_eq!(
            k.guard.calls(),
            [
                "before_login",
                "login_succeeded",
                "before_login",
                "login_failed",
                "before_login",
                "login_failed",
                "before_login",
                "login_failed"
            ]
        );
        let logins = k.audited("auth.login").await;
        let outcomes: Vec<Outcome> = logins.iter().map(|e| e.entry.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Success,
                Outcome::Failure,
                Outcome::Failure,
                Outcome::Failure
            ]
        );
        assert_eq!(logins[0].entry.actor, u.id);
        assert_eq!(logins[1].entry.details["reason"], "wrong password");
        assert_eq!(logins[2].entry.details["reason"], "unknown account");
    }

    #[tokio::test]
    async fn an_unknown_account_costs_one_verification_like_a_wrong_password() {
        let k = kit();
        k.user("erin@example.com", Role::Customer).await;
        let before = k.svc.inner.hasher.verifications();
        let _ = k
            .svc
            .login("erin@example.com", "Wr0ng-Password!", &meta())
            .await;
        let wrong = k.svc.inner.hasher.verifications() - before;
        let _ = k
            .svc
            .login("ghost@example.com", "Wr0ng-Password!", &meta())
            .await;
        let unknown = k.svc.inner.hasher.verifications() - before - wrong;
        let _ = k
            .svc
            .login("erin@example.com", &"A1!a".repeat(400), &meta())
            .await;
        let overlong = k.svc.inner.hasher.verifications() - before - wrong - unknown;
        assert_eq!((wrong, unknown, overlong), (1, 1, 1));
    }

    #[tokio::test]
    async fn a_guard_denial_short_circuits_before_the_password_is_checked() {
        let k = kit();
        k.user("frank@example.com", Role::Customer).await;
        let before = k.svc.inner.hasher.verifications();
        k.guard.set(Verdict::Deny);
        let denied = k.svc.login("frank@example.com", PW, &meta()).await;
        assert!(
            matches!(denied, Err(Error::PermissionDenied { message }) if message == "address blocked")
        );
        k.guard
            .set(Verdict::Slow(std::time::Duration::from_secs(30)));
        let slowed = k.svc.login("frank@example.com", PW, &meta()).await;
        assert!(matches!(
            slowed,
            Err(Error::RateLimited { retry_after }) if retry_after.as_secs() == 30
        ));
        assert_eq!(
            k.svc.inner.hasher.verifications(),
            before,
            "no argon2 verify ran"
        );
        assert_eq!(k.guard.calls(), ["before_login", "before_login"]);
        let audited = k.audited("auth.login").await;
        assert_eq!(audited.len(), 2);
        assert!(audited.iter().all(|e| e.entry.outcome == Outcome::Denied));
        assert!(
            k.svc
                .sessions(&k.user_id("frank@example.com").await)
                .await
                .expect("s")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn the_guard_sees_the_account_and_address_but_only_a_keyed_tag_of_the_password() {
        let k = kit();
        let _ = k
            .svc
            .login(" Mallory@Example.com", "Spray-2026!", &meta())
            .await;
        let _ = k
            .svc
            .login("trent@example.com", "Spray-2026!", &meta())
            .await;
        let calls = k.guard.calls.lock().expect("lock").clone();
        let (a, b) = (&calls[0].1, &calls[2].1);
        assert_eq!(a.account, "mallory@example.com");
        assert_eq!(a.ip.to_string(), "203.0.113.9");
        assert_eq!(a.user_agent.as_deref(), Some("test-agent/1"));
        assert_eq!(
            a.password_tag, b.password_tag,
            "one password, one tag: spraying shows"
        );
        assert_ne!(a.password_tag, [0u8; 32]);
        assert!(!format!("{a:?}").contains("Spray-2026!"));
    }

    #[tokio::test]
    async fn a_disabled_user_cannot_log_in_and_loses_their_sessions() {
        let k = kit();
        let admin = k.user("admin@example.com", Role::Admin).await;
        let u = k.user("gina@example.com", Role::Customer).await;
        let (_, issued) = k
            .svc
            .login("gina@example.com", PW, &meta())
            .await
            .expect("login");
        k.svc
            .set_disabled(&admin.id, &u.id, true, &meta())
            .await
            .expect("disabled");
        let again = k.svc.login("gina@example.com", PW, &meta()).await;
        assert!(
            matches!(again, Err(Error::PermissionDenied { message }) if message == INVALID_LOGIN)
        );
        assert!(
            k.svc
                .authenticate_session(&issued.token, &meta())
                .await
                .is_err()
        );
        k.svc
            .set_disabled(&admin.id, &u.id, false, &meta())
            .await
            .expect("enabled");
        k.svc
            .login("gina@example.com", PW, &meta())
            .await
            .expect("login again");
    }

    #[tokio::test]
    async fn secrets_never_reach_the_audit_trail() {
        let k = kit();
        let u = k.user("ivy@example.com", Role::Admin).await;
        let (_, issued) = k
            .svc
            .login("ivy@example.com", PW, &meta())
            .await
            .expect("login");
        let _ = k
            .svc
            .login("ivy@example.com", "Wr0ng-Guess-1!", &meta())
            .await;
        k.svc
            .change_password(&u.id, PW, "An0ther-Phrase!", &meta())
            .await
            .expect("changed");
        let (secret, _) = k
            .svc
            .create_api_key(&u.id, "scraper", vec!["metrics:read".into()], None, &meta())
            .await
            .expect("key");
        let _ = k
            .svc
            .authenticate_api_key(&format!("{secret}x"), &meta())
            .await;
        let _ = k.svc.authenticate_session("lo_sess_forged", &meta()).await;
        let text = serde_json::to_string(&k.audit().await).expect("json");
        for s in [
            PW,
            "Wr0ng-Guess-1!",
            "An0ther-Phrase!",
            &issued.token,
            &secret,
            "$argon2id$",
        ] {
            assert!(!text.contains(s), "{s} leaked into the audit trail");
        }
        assert!(!format!("{issued:?}").contains(&issued.token));
    }
}
