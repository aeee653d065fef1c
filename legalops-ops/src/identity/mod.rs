//! Identity: users, sessions, API keys and logging in.
//!
//! [`IdentityService`] is the engine the server's auth routes and middleware call. It
//! keeps every secret out of the records (argon2id PHC strings for passwords, BLAKE3
//! hashes for session tokens and API keys), asks the [`LoginGuard`] before it checks a
//! password, answers an unknown email and a wrong password with the same error after the
//! same work, and writes an audit entry (who, what, when, where, outcome) for every
//! attempt and every change through the [`Auditor`].
//!
//! The files: [`password`] (argon2id off the runtime), [`tokens`] (secrets and their
//! hashes), [`login`], `accounts.rs` (register, change password, roles), `sessions.rs`
//! (authenticate, log out, list and revoke), [`api_keys`] (scoped admin keys).

use std::sync::Arc;
use std::time::Duration;

use legalops_core::identity::{ApiKeyStore, SessionStore, UserStore};
use legalops_core::records::Records;
use legalops_core::{Error, Result, SharedClock};
use time::OffsetDateTime;

use crate::audit::Auditor;

mod accounts;
pub mod api_keys;
pub mod guard;
pub mod login;
pub mod password;
mod sessions;
#[cfg(test)]
mod testkit;
pub mod tokens;

pub use api_keys::{INVALID_API_KEY, KNOWN_SCOPES, scope_allows};
pub use guard::{LoginAttempt, LoginGuard, OpenGuard};
pub use login::INVALID_LOGIN;
pub use password::Argon2Params;
pub use sessions::{INVALID_SESSION, IssuedSession};

/// How sessions live and how passwords are hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConfig {
    /// Absolute lifetime of a session (legal-domain.md: 24 h).
    pub session_lifetime: Duration,
    /// A session unused this long is over (legal-domain.md: 2 h).
    pub idle_timeout: Duration,
    /// Active sessions a user may hold; the oldest are revoked beyond it (10).
    pub max_sessions_per_user: usize,
    /// `last_seen_at` is written at most this often per session, so that every request
    /// does not become a database write (1 min; the idle timeout is that much coarse).
    pub touch_interval: Duration,
    /// argon2id cost.
    pub argon2: Argon2Params,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::from_secs(24 * 3600),
            idle_timeout: Duration::from_secs(2 * 3600),
            max_sessions_per_user: 10,
            touch_interval: Duration::from_secs(60),
            argon2: Argon2Params::OWASP,
        }
    }
}

impl IdentityConfig {
    /// The defaults with the cheapest argon2 parameters, so that tests hash in
    /// microseconds. Never for production.
    pub fn for_tests() -> Self {
        Self {
            argon2: Argon2Params::TEST,
            ..Self::default()
        }
    }

    /// `InvalidConfig` naming the key of the first value out of range.
    pub fn validate(&self) -> Result<()> {
        const YEAR: Duration = Duration::from_secs(366 * 24 * 3600);
        let durations = [
            ("identity.session_lifetime", self.session_lifetime),
            ("identity.idle_timeout", self.idle_timeout),
        ];
        for (key, d) in durations {
            if d.is_zero() || d > YEAR {
                return Err(Error::invalid_config(
                    key,
                    "must be more than zero and at most a year",
                ));
            }
        }
        if self.touch_interval >= self.idle_timeout {
            return Err(Error::invalid_config(
                "identity.touch_interval",
                "must be shorter than the idle timeout, or a session in use would idle out",
            ));
        }
        if self.max_sessions_per_user == 0 {
            return Err(Error::invalid_config(
                "identity.max_sessions_per_user",
                "must be at least 1",
            ));
        }
        self.argon2.to_params().map(|_| ())
    }
}

/// The identity engine; cheap to clone (shared state inside).
#[derive(Clone)]
pub struct IdentityService {
    inner: Arc<Inner>,
}

struct Inner {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    api_keys: Arc<dyn ApiKeyStore>,
    clock: SharedClock,
    guard: Arc<dyn LoginGuard>,
    auditor: Auditor,
    config: IdentityConfig,
    hasher: password::PasswordHasher,
    tagger: tokens::PasswordTagger,
}

impl std::fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityService")
            .field("users", &self.inner.users.to_string())
            .field("guard", &self.inner.guard)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl IdentityService {
    /// The engine over the users, sessions and API keys of `records`. `InvalidConfig` if
    /// `config` is out of range; a backend error if the system has no randomness.
    pub fn new(
        records: &Records,
        clock: SharedClock,
        guard: Arc<dyn LoginGuard>,
        auditor: Auditor,
        config: IdentityConfig,
    ) -> Result<Self> {
        Self::from_stores(
            records.users.clone(),
            records.sessions.clone(),
            records.api_keys.clone(),
            clock,
            guard,
            auditor,
            config,
        )
    }

    /// The engine over separate stores (for a service that keeps identity elsewhere).
    pub fn from_stores(
        users: Arc<dyn UserStore>,
        sessions: Arc<dyn SessionStore>,
        api_keys: Arc<dyn ApiKeyStore>,
        clock: SharedClock,
        guard: Arc<dyn LoginGuard>,
        auditor: Auditor,
        config: IdentityConfig,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                users,
                sessions,
                api_keys,
                clock,
                guard,
                auditor,
                hasher: password::PasswordHasher::new(config.argon2)?,
                tagger: tokens::PasswordTagger::new()?,
                config,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &IdentityConfig {
        &self.inner.config
    }

    /// The auditor this service writes to.
    pub fn auditor(&self) -> &Auditor {
        &self.inner.auditor
    }

    fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }
}

/// `t + d`, saturating at the largest representable time instead of panicking.
pub(crate) fn after(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d))
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_business_numbers() {
        let c = IdentityConfig::default();
        assert_eq!(c.session_lifetime, Duration::from_secs(86_400));
        assert_eq!(c.idle_timeout, Duration::from_secs(7_200));
        assert_eq!(c.max_sessions_per_user, 10);
        assert_eq!(c.argon2, Argon2Params::OWASP);
        c.validate().expect("defaults are valid");
        IdentityConfig::for_tests()
            .validate()
            .expect("test config is valid");
    }

    #[test]
    fn out_of_range_config_names_the_key() {
        let bad = [
            (
                IdentityConfig {
                    session_lifetime: Duration::ZERO,
                    ..IdentityConfig::for_tests()
                },
                "identity.session_lifetime",
            ),
            (
                IdentityConfig {
                    touch_interval: Duration::from_secs(3 * 3600),
                    ..IdentityConfig::for_tests()
                },
                "identity.touch_interval",
            ),
            (
                IdentityConfig {
                    max_sessions_per_user: 0,
                    ..IdentityConfig::for_tests()
                },
                "identity.max_sessions_per_user",
            ),
            (
                IdentityConfig {
                    argon2: Argon2Params {
                        parallelism: 0,
                        ..Argon2Params::TEST
                    },
                    ..IdentityConfig::for_tests()
                },
                "identity.argon2",
            ),
        ];
        for (config, key) in bad {
            match config.validate() {
                Err(Error::InvalidConfig { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}: {other:?}"),
            }
        }
    }

    #[test]
    fn after_saturates_instead_of_panicking() {
        let t = time::PrimitiveDateTime::MAX.assume_utc();
        assert_eq!(after(t, Duration::from_secs(1)), t);
        assert_eq!(after(t, Duration::MAX), t);
    }
}
