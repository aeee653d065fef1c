//! Accounts: registering, logging in, changing a password, and the admin's changes to a
//! user (role, disabled).
//!
//! Logging in is where an attacker probes, so it is built to tell them nothing: the guard
//! decides first (a blocked address never gets a password checked), an unknown email is
//! verified against a dummy hash (the same work as a real one), and every failure answers
//! the same [`INVALID_LOGIN`] message.

use legalops_core::audit::Outcome;
use legalops_core::identity::rules::{check_password, normalize_email};
use legalops_core::identity::{Role, User};
use legalops_core::{Error, Result};

use super::{IdentityService, IssuedSession, LoginAttempt};
use crate::audit::RequestMeta;
use crate::audit::sanitize::clean_str;

/// The one answer to a failed login, whatever failed.
pub const INVALID_LOGIN: &str = "invalid email or password";

/// Longest password checked at all; longer ones are never valid (argon2 would hash them,
/// but an attacker could make every attempt expensive).
const MAX_PASSWORD_BYTES: usize = 1024;

/// Longest display name, in characters.
const MAX_DISPLAY_NAME: usize = 100;

fn invalid_login() -> Error {
    Error::PermissionDenied {
        message: INVALID_LOGIN.to_owned(),
    }
}

/// The display name, trimmed; `InvalidInput` if empty, too long or holding control
/// characters.
fn check_display_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME {
        return Err(Error::invalid_input(
            "display_name",
            format!("must be 1 to {MAX_DISPLAY_NAME} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            "display_name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

impl IdentityService {
    /// Creates a user with `role` (the caller decides who may create which role: public
    /// sign-up gives [`Role::Customer`]). The email is normalised; the password must
    /// pass the policy (`InvalidInput` naming the rule); `AlreadyExists` if the email is
    /// taken.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        display_name: &str,
        role: Role,
        meta: &RequestMeta,
    ) -> Result<User> {
        let result = self
            .register_inner(email, password, display_name, role)
            .await;
        let event = match &result {
            Ok(user) => self
                .inner
                .auditor
                .event("user.register", Outcome::Success)
                .actor(&user.id)
                .target(&user.id)
                .detail("email", &user.email)
                .detail("role", role.as_str()),
            Err(e) => self
                .inner
                .auditor
                .event("user.register", Outcome::Failure)
                .target(normalize_email(email).unwrap_or_else(|_| email.to_owned()))
                .detail("reason", e.to_string()),
        };
        event.meta(meta).emit().await;
        result
    }

    async fn register_inner(
        &self,
        email: &str,
        password: &str,
        display_name: &str,
        role: Role,
    ) -> Result<User> {
        let email = normalize_email(email)?;
        let display_name = check_display_name(display_name)?;
        check_password(password, &email)?;
        // Checked before hashing to save the work; the store's unique index decides races.
        if self.inner.users.find_user_by_email(&email).await?.is_some() {
            return Err(Error::already_exists("an account with this email"));
        }
        let password_hash = self.inner.hasher.hash(password).await?;
        let now = self.now();
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            email,
            display_name,
            role,
            password_hash,
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        self.inner
            .users
            .create_user(&user)
            .await
            .map_err(|e| match e {
                Error::AlreadyExists { .. } => Error::already_exists("an account with this email"),
                other => other,
            })?;
        Ok(user)
    }

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

    /// Changes a password: the current one must verify (`PermissionDenied` otherwise), the
    /// new one must pass the policy (`InvalidInput` naming `new_password`). Every session
    /// of the user is revoked, the current one included.
    pub async fn change_password(
        &self,
        user_id: &str,
        old_password: &str,
        new_password: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let result = self
            .change_password_inner(user_id, old_password, new_password)
            .await;
        let event = match &result {
            Ok(revoked) => self
                .inner
                .auditor
                .event("user.password_change", Outcome::Success)
                .detail("sessions_revoked", revoked),
            Err(e) => self
                .inner
                .auditor
                .event("user.password_change", Outcome::Failure)
                .detail("reason", e.to_string()),
        };
        event.actor(user_id).target(user_id).meta(meta).emit().await;
        result.map(|_| ())
    }

    async fn change_password_inner(
        &self,
        user_id: &str,
        old_password: &str,
        new_password: &str,
    ) -> Result<u64> {
        let mut user = self.inner.users.get_user(user_id).await?;
        let verified = old_password.len() <= MAX_PASSWORD_BYTES
            && self
                .inner
                .hasher
                .verify(old_password, &user.password_hash)
                .await?;
        if !verified {
            return Err(Error::PermissionDenied {
                message: "the current password is incorrect".to_owned(),
            });
        }
        check_password(new_password, &user.email).map_err(|e| match e {
            Error::InvalidInput { message, .. } => Error::invalid_input("new_password", message),
            other => other,
        })?;
        if new_password == old_password {
            return Err(Error::invalid_input(
                "new_password",
                "must differ from the current password",
            ));
        }
        user.password_hash = self.inner.hasher.hash(new_password).await?;
        let now = self.now();
        user.updated_at = now;
        self.inner.users.update_user(&user).await?;
        self.inner.sessions.revoke_user_sessions(user_id, now).await
    }

    /// Users ordered by creation, `offset`-paged; `InvalidInput` unless
    /// `1 <= limit <= 1000`.
    pub async fn users(&self, offset: u64, limit: u64) -> Result<Vec<User>> {
        if !(1..=1000).contains(&limit) {
            return Err(Error::invalid_input("limit", "must be between 1 and 1000"));
        }
        self.inner.users.list_users(offset, limit).await
    }

    /// Gives `user_id` the role `role`. `actor` is whoever the caller authenticated (a
    /// user id, `admin-token`, `api-key:<id>`); the route checks that they are an admin.
    /// An admin cannot take their own admin role away (`Conflict`), so that the last
    /// admin cannot lock everyone out by mistake.
    pub async fn set_role(
        &self,
        actor: &str,
        user_id: &str,
        role: Role,
        meta: &RequestMeta,
    ) -> Result<User> {
        let result = async {
            let mut user = self.inner.users.get_user(user_id).await?;
            if actor == user.id && user.role == Role::Admin && role != Role::Admin {
                return Err(Error::conflict(
                    "an admin cannot remove their own admin role",
                ));
            }
            let from = user.role;
            user.role = role;
            user.updated_at = self.now();
            self.inner.users.update_user(&user).await?;
            Ok((from, user))
        }
        .await;
        let event = match &result {
            Ok((from, _)) => self
                .inner
                .auditor
                .event("user.set_role", Outcome::Success)
                .detail("from", from.as_str()),
            Err(e) => self
                .inner
                .auditor
                .event("user.set_role", Outcome::Failure)
                .detail("reason", e.to_string()),
        };
        event
            .actor(actor)
            .target(user_id)
            .detail("role", role.as_str())
            .meta(meta)
            .emit()
            .await;
        result.map(|(_, user)| user)
    }

    /// Disables (or re-enables) a user; disabling revokes every session at once.
    pub async fn set_disabled(
        &self,
        actor: &str,
        user_id: &str,
        disabled: bool,
        meta: &RequestMeta,
    ) -> Result<User> {
        let result = async {
            let mut user = self.inner.users.get_user(user_id).await?;
            if actor == user.id && disabled {
                return Err(Error::conflict("a user cannot disable their own account"));
            }
            let now = self.now();
            user.disabled = disabled;
            user.updated_at = now;
            self.inner.users.update_user(&user).await?;
            if disabled {
                self.inner
                    .sessions
                    .revoke_user_sessions(user_id, now)
                    .await?;
            }
            Ok(user)
        }
        .await;
        let outcome = if result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        let mut event = self
            .inner
            .auditor
            .event(
                if disabled {
                    "user.disable"
                } else {
                    "user.enable"
                },
                outcome,
            )
            .actor(actor)
            .target(user_id)
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
    use super::super::testkit::{PW, Verdict, kit, meta};
    use super::*;
    use legalops_core::audit::Outcome;

    #[tokio::test]
    async fn registering_normalises_the_email_and_stores_only_an_argon2id_hash() {
        let k = kit();
        let u = k
            .svc
            .register(
                "  Alice@Example.COM ",
                PW,
                " Alice ",
                Role::Customer,
                &meta(),
            )
            .await
            .expect("registered");
        assert_eq!(u.email, "alice@example.com");
        assert_eq!(u.display_name, "Alice");
        assert!(u.password_hash.starts_with("$argon2id$"));
        assert!(!u.password_hash.contains(PW));
        let e = &k.audited("user.register").await[0];
        assert_eq!(e.entry.outcome, Outcome::Success);
        assert_eq!(e.entry.ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(e.entry.request_id.as_deref(), Some("req-1"));
    }

    #[tokio::test]
    async fn weak_and_common_passwords_are_refused_naming_the_rule() {
        let k = kit();
        for (pw, rule) in [
            ("short1!", "at least 8 characters"),
            ("alllowercase1!", "uppercase"),
            ("Password123!", "common password"),
        ] {
            match k
                .svc
                .register("bob@example.com", pw, "Bob", Role::Customer, &meta())
                .await
            {
                Err(Error::InvalidInput { field, message }) => {
                    assert_eq!(field, "password");
                    assert!(message.contains(rule), "{pw}: {message}");
                    assert!(!message.contains(pw), "the password is never echoed");
                }
                other => panic!("{pw}: {other:?}"),
            }
        }
        assert!(
            k.svc.users(0, 10).await.expect("list").is_empty(),
            "nothing stored"
        );
        let failures = k.audited("user.register").await;
        assert_eq!(failures.len(), 3);
        assert!(failures.iter().all(|e| e.entry.outcome == Outcome::Failure));
        let bad_email = k
            .svc
            .register("not-an-email", PW, "X", Role::Customer, &meta())
            .await;
        assert!(matches!(bad_email, Err(Error::InvalidInput { field, .. }) if field == "email"));
    }

    #[tokio::test]
    async fn a_duplicate_email_is_already_exists_in_any_case() {
        let k = kit();
        k.user("carol@example.com", Role::Customer).await;
        let err = k
            .svc
            .register("CAROL@example.com", PW, "Carol", Role::Customer, &meta())
            .await;
        match err {
            Err(e @ Error::AlreadyExists { .. }) => {
                assert_eq!(e.to_string(), "an account with this email already exists");
            }
            other => panic!("{other:?}"),
        }
    }

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
    async fn changing_the_password_checks_the_old_one_and_revokes_every_session() {
        let k = kit();
        let u = k.user("hank@example.com", Role::Customer).await;
        let (_, s1) = k
            .svc
            .login("hank@example.com", PW, &meta())
            .await
            .expect("login");
        let (_, s2) = k
            .svc
            .login("hank@example.com", PW, &meta())
            .await
            .expect("login");
        let wrong = k
            .svc
            .change_password(&u.id, "Not-The-0ld!", "N3w-Secret-Phrase!", &meta())
            .await;
        assert!(matches!(wrong, Err(Error::PermissionDenied { .. })));
        let weak = k.svc.change_password(&u.id, PW, "weak", &meta()).await;
        assert!(matches!(weak, Err(Error::InvalidInput { field, .. }) if field == "new_password"));
        let same = k.svc.change_password(&u.id, PW, PW, &meta()).await;
        assert!(matches!(same, Err(Error::InvalidInput { field, .. }) if field == "new_password"));
        assert_eq!(
            k.svc.sessions(&u.id).await.expect("sessions").len(),
            2,
            "failures change nothing"
        );

        k.svc
            .change_password(&u.id, PW, "N3w-Secret-Phrase!", &meta())
            .await
            .expect("changed");
        for s in [&s1, &s2] {
            assert!(k.svc.authenticate_session(&s.token, &meta()).await.is_err());
        }
        assert!(k.svc.login("hank@example.com", PW, &meta()).await.is_err());
        k.svc
            .login("hank@example.com", "N3w-Secret-Phrase!", &meta())
            .await
            .expect("new password works");
        let changes = k.audited("user.password_change").await;
        let last = changes.last().expect("audited");
        assert_eq!(last.entry.outcome, Outcome::Success);
        assert_eq!(last.entry.details["sessions_revoked"], 2);
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

    #[tokio::test]
    async fn roles_change_by_an_admin_but_an_admin_cannot_demote_themselves() {
        let k = kit();
        let admin = k.user("judy@example.com", Role::Admin).await;
        let u = k.user("ken@example.com", Role::Customer).await;
        let changed = k
            .svc
            .set_role(&admin.id, &u.id, Role::Attorney, &meta())
            .await
            .expect("set");
        assert_eq!(changed.role, Role::Attorney);
        let own = k
            .svc
            .set_role(&admin.id, &admin.id, Role::Staff, &meta())
            .await;
        assert!(matches!(own, Err(Error::Conflict { .. })));
        let missing = k
            .svc
            .set_role(&admin.id, "nope", Role::Staff, &meta())
            .await;
        assert!(matches!(missing, Err(Error::NotFound { .. })));
        let e = &k.audited("user.set_role").await[0];
        assert_eq!(
            (e.entry.actor.as_str(), e.entry.target.as_deref()),
            (admin.id.as_str(), Some(u.id.as_str()))
        );
        assert_eq!(e.entry.details["from"], "customer");
        assert_eq!(e.entry.details["role"], "attorney");
        let listed = k.svc.users(0, 10).await.expect("list");
        assert_eq!(listed.len(), 2);
        assert!(
            matches!(k.svc.users(0, 0).await, Err(Error::InvalidInput { field, .. }) if field == "limit")
        );
    }
}
