//! The admin bearer token: generated on first start when none is configured, kept only as
//! a hash in the records store (so every replica over the same database accepts it), and
//! compared in constant time.

use std::sync::Arc;

use legalops_core::records::SettingStore;
use legalops_core::{Error, Result};
use subtle::ConstantTimeEq;

/// The settings key under which the token's hash is stored.
pub const ADMIN_TOKEN_HASH_KEY: &str = "admin_token_hash";
/// Prefix of generated tokens, so that a leaked one is recognisable to secret scanners.
pub const TOKEN_PREFIX: &str = "lo_admin_";

/// Checks admin bearer tokens.
#[derive(Clone)]
pub struct AdminAuth {
    hash: Arc<[u8; 32]>,
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminAuth([REDACTED])")
    }
}

/// What [`AdminAuth::init`] did.
#[derive(Debug)]
pub enum TokenOrigin {
    /// The token came from the configuration.
    Configured,
    /// A stored hash from an earlier start is used.
    Stored,
    /// A new token was generated now; it is shown once and never again.
    Generated(String),
}

fn hash(token: &str) -> [u8; 32] {
    *blake3::hash(token.as_bytes()).as_bytes()
}

impl AdminAuth {
    /// Accepts exactly `token`.
    pub fn from_token(token: &str) -> Self {
        Self {
            hash: Arc::new(hash(token)),
        }
    }

    /// Uses the configured token if any; else the stored hash; else generates a token,
    /// stores its hash (atomically, so that of several replicas starting at once exactly
    /// one generates) and returns it so the caller can print it once.
    pub async fn init(
        configured: Option<&str>,
        settings: &dyn SettingStore,
    ) -> Result<(Self, TokenOrigin)> {
        if let Some(token) = configured {
            return Ok((Self::from_token(token), TokenOrigin::Configured));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            Error::backend("os random", false, std::io::Error::other(e.to_string()))
        })?;
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
        let token_hash = hex::encode(hash(&token));
        let origin = if settings
            .put_setting_if_absent(ADMIN_TOKEN_HASH_KEY, &token_hash)
            .await?
        {
            TokenOrigin::Generated(token)
        } else {
            TokenOrigin::Stored
        };
        let stored = settings
            .get_setting(ADMIN_TOKEN_HASH_KEY)
            .await?
            .ok_or_else(|| Error::conflict("admin token hash vanished while starting"))?;
        let decoded = hex::decode(stored.trim())
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| {
                Error::invalid_config(ADMIN_TOKEN_HASH_KEY, "stored hash is not 64 hex digits")
            })?;
        Ok((
            Self {
                hash: Arc::new(decoded),
            },
            origin,
        ))
    }

    /// Whether `presented` is the admin token (constant time in its content).
    pub fn verify(&self, presented: &str) -> bool {
        hash(presented).ct_eq(self.hash.as_ref()).into()
    }

    /// Whether a request's `Authorization` header carries the admin token.
    pub fn verify_header(&self, value: Option<&str>) -> bool {
        value
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .is_some_and(|t| self.verify(t.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::mem::MemoryRecords;

    #[test]
    fn only_the_exact_token_passes() {
        let a = AdminAuth::from_token("correct-horse-battery-staple");
        assert!(a.verify_header(Some("Bearer correct-horse-battery-staple")));
        assert!(!a.verify_header(Some("Bearer correct-horse-battery-stapl")));
        assert!(!a.verify_header(Some("Basic correct-horse-battery-staple")));
        assert!(!a.verify_header(None));
        assert!(!format!("{a:?}").contains("correct"));
    }

    #[tokio::test]
    async fn first_start_generates_once_and_stores_only_a_hash() {
        let store = MemoryRecords::new();
        let (a, origin) = AdminAuth::init(None, &store).await.expect("init");
        let TokenOrigin::Generated(token) = origin else {
            panic!("first start must generate")
        };
        assert!(token.starts_with(TOKEN_PREFIX));
        assert!(a.verify(&token));
        let stored = store
            .get_setting(ADMIN_TOKEN_HASH_KEY)
            .await
            .expect("get")
            .expect("set");
        assert!(!stored.contains(&token[TOKEN_PREFIX.len()..]));
        let (b, origin) = AdminAuth::init(None, &store).await.expect("second init");
        assert!(
            matches!(origin, TokenOrigin::Stored),
            "second start must not print a token"
        );
        assert!(b.verify(&token));
    }
}
