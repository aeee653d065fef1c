//! Password hashing: argon2id PHC strings, computed off the async runtime
//! (`spawn_blocking`: one hash takes tens of milliseconds of CPU and 19 MiB by default),
//! and a dummy hash to verify against when the account does not exist, so that an unknown
//! email costs the same time as a wrong password.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use legalops_core::{Error, Result};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory in KiB (OWASP: 19456 = 19 MiB).
    pub memory_kib: u32,
    /// Passes over memory (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
}

impl Argon2Params {
    /// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    pub const OWASP: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// The smallest parameters argon2 accepts: for tests only (a hash costs microseconds).
    pub const TEST: Self = Self {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    /// The argon2 parameters; `InvalidConfig` naming the rule argon2 enforces.
    pub(crate) fn to_params(self) -> Result<Params> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(|e| {
            Error::invalid_config(
                "identity.argon2",
                format!("argon2 rejects these parameters: {e}"),
            )
        })
    }
}

/// Hashes and verifies passwords; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PasswordHasher {
    params: Params,
    /// A hash of a random password, made on first need with the same parameters.
    dummy: Arc<OnceCell<String>>,
    /// How many verifications ran (a seam for tests: a denied login must run none).
    verifications: Arc<AtomicU64>,
}

impl PasswordHasher {
    /// A hasher with `params`; `InvalidConfig` if argon2 rejects them.
    pub(crate) fn new(params: Argon2Params) -> Result<Self> {
        Ok(Self {
            params: params.to_params()?,
            dummy: Arc::new(OnceCell::new()),
            verifications: Arc::new(AtomicU64::new(0)),
        })
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// The argon2id PHC string of `password` under a fresh random salt.
    pub(crate) async fn hash(&self, password: &str) -> Result<String> {
        let params = self.params.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            Self::argon2(params)
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| Error::backend("argon2", false, std::io::Error::other(e.to_string())))
        })
        .await
        .map_err(|e| Error::backend("argon2", false, e))?
    }

    /// Whether `password` matches the PHC string `hash`. A malformed stored hash is a
    /// mismatch (logged), never an error that would tell the caller the account exists.
    pub(crate) async fn verify(&self, password: &str, hash: &str) -> Result<bool> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let password = password.to_owned();
        let hash = hash.to_owned();
        tokio::task::spawn_blocking(move || {
            // The PHC string carries its own parameters; the configured ones only matter
            // for new hashes.
            match Self::argon2(Params::default())
                .verify_password(password.as_bytes(), hash.as_str())
            {
                Ok(()) => true,
                Err(argon2::password_hash::Error::PasswordInvalid) => false,
                Err(e) => {
                    tracing::error!(error = %e, "stored password hash cannot be verified");
                    false
                }
            }
        })
        .await
        .map_err(|e| Error::backend("argon2", false, e))
    }

    /// Verifies `password` against the dummy hash and returns false: the same work as a
    /// real check, for an account that does not exist.
    pub(crate) async fn verify_dummy(&self, password: &str) -> Result<bool> {
        let dummy = self
            .dummy
            .get_or_try_init(|| async {
                let mut random = [0u8; 32];
                super::tokens::fill_random(&mut random)?;
                self.hash(&super::tokens::to_hex(&random)).await
            })
            .await?
            .clone();
        self.verify(password, &dummy).await?;
        Ok(false)
    }

    /// How many verifications ran since this hasher was made.
    #[cfg(test)]
    pub(crate) fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Whether `hash` was made with parameters other than the configured ones (so that a
    /// successful login can rehash it).
    pub(crate) fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = argon2::PasswordHash::new(hash) else {
            return true;
        };
        match Params::try_from(&parsed) {
            Ok(p) => {
                parsed.algorithm != Algorithm::Argon2id.ident()
                    || p.m_cost() != self.params.m_cost()
                    || p.t_cost() != self.params.t_cost()
                    || p.p_cost() != self.params.p_cost()
            }
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_is_an_argon2id_phc_string_that_verifies_only_its_password() {
        let h = PasswordHasher::new(Argon2Params::TEST).expect("params");
        let phc = h.hash("Corr3ct-Horse!").await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(h.verify("Corr3ct-Horse!", &phc).await.expect("verify"));
        assert!(!h.verify("corr3ct-Horse!", &phc).await.expect("verify"));
        let again = h.hash("Corr3ct-Horse!").await.expect("hash");
        assert_ne!(phc, again, "every hash has its own salt");
        assert!(!h.needs_rehash(&phc));
        let stronger = PasswordHasher::new(Argon2Params {
            memory_kib: 16,
            ..Argon2Params::TEST
        })
        .expect("params");
        assert!(stronger.needs_rehash(&phc));
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_a_mismatch_not_an_error() {
        let h = PasswordHasher::new(Argon2Params::TEST).expect("params");
        assert!(!h.verify("x", "not a phc string").await.expect("verify"));
        assert!(!h.verify_dummy("anything").await.expect("dummy"));
        assert_eq!(h.verifications(), 2);
    }

    #[test]
    fn impossible_parameters_are_a_config_error() {
        let err = PasswordHasher::new(Argon2Params {
            memory_kib: 1,
            ..Argon2Params::TEST
        });
        assert!(matches!(err, Err(Error::InvalidConfig { key, .. }) if key == "identity.argon2"));
    }
}
