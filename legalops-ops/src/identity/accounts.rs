//! Accounts: registering, changing a password, and the admin's changes to a user (role,
//! disabled). Logging in is in `login.rs`.

use legalops_core::audit::Outcome;
use legalops_core::identity::rules::{check_password, normalize_email};
use legalops_core::identity::{Role, User};
use legalops_core::{Error, Result};

use super::IdentityService;
use super::login::MAX_PASSWORD_BYTES;
use crate::audit::RequestMeta;

/// Longest display name, in characters.
const MAX_DISPLAY_NAME: usize = 100;

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
    use super::super::testkit::{PW, kit, meta};
    use super::*;

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
