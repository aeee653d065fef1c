//! Admin API keys: named, scoped, optionally expiring, revocable, stored only as a hash.
//! The secret (`lo_key_` + 64 hex digits) is shown once, at creation.
//!
//! Scopes are `resource:access` from a fixed list ([`KNOWN_SCOPES`]); `*` allows
//! everything and a `:write` scope also allows the `:read` of the same resource.

use legalops_core::audit::Outcome;
use legalops_core::identity::ApiKey;
use legalops_core::{Error, Result};
use time::OffsetDateTime;

use super::tokens::{API_KEY_PREFIX, hash_secret, new_secret, well_formed};
use super::{IdentityService, after};
use crate::audit::RequestMeta;

/// Every scope an API key may hold.
pub const KNOWN_SCOPES: [&str; 12] = [
    SCOPE_ALL,
    "health:read",
    "metrics:read",
    "security:read",
    "security:write",
    "audit:read",
    "users:read",
    "users:write",
    "alerts:read",
    "alerts:write",
    "incidents:read",
    "incidents:write",
];

/// The scope that allows everything.
pub const SCOPE_ALL: &str = "*";

/// The one answer to an API key that does not authenticate.
pub const INVALID_API_KEY: &str = "invalid API key";

/// Longest key name, in characters.
const MAX_NAME: usize = 64;

/// Whether a key holding `scopes` may do what `needed` names.
pub fn scope_allows(scopes: &[String], needed: &str) -> bool {
    let write_of_read = needed
        .strip_suffix(":read")
        .map(|resource| format!("{resource}:write"));
    scopes
        .iter()
        .any(|s| s == SCOPE_ALL || s == needed || write_of_read.as_deref() == Some(s.as_str()))
}

/// The scopes, deduplicated in their given order; `InvalidInput` naming an unknown one.
fn check_scopes(scopes: Vec<String>) -> Result<Vec<String>> {
    if scopes.is_empty() {
        return Err(Error::invalid_input(
            "scopes",
            "at least one scope is required",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(scopes.len());
    for s in scopes {
        if !KNOWN_SCOPES.contains(&s.as_str()) {
            return Err(Error::invalid_input(
                "scopes",
                format!("unknown scope {s:?}; known: {}", KNOWN_SCOPES.join(", ")),
            ));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "name",
            format!("must be 1 to {MAX_NAME} letters, digits, '-', '_' or '.'"),
        ))
    }
}

fn invalid_key() -> Error {
    Error::PermissionDenied {
        message: INVALID_API_KEY.to_owned(),
    }
}

impl IdentityService {
    /// Creates a key; returns the secret (shown once) and the stored key. `InvalidInput`
    /// for a bad name, an unknown scope or an expiry not in the future; `AlreadyExists` if
    /// an unrevoked key has the name.
    pub async fn create_api_key(
        &self,
        actor: &str,
        name: &str,
        scopes: Vec<String>,
        expires_at: Option<OffsetDateTime>,
        meta: &RequestMeta,
    ) -> Result<(String, ApiKey)> {
        let now = self.now();
        let result = async {
            check_name(name)?;
            let scopes = check_scopes(scopes)?;
            if expires_at.is_some_and(|t| t <= now) {
                return Err(Error::invalid_input("expires_at", "must be in the future"));
            }
            let secret = new_secret(API_KEY_PREFIX)?;
            let key = ApiKey {
                id: uuid::Uuid::new_v4().to_string(),
                name: name.to_owned(),
                key_hash: hash_secret(&secret),
                scopes,
                created_by: actor.to_owned(),
                created_at: now,
                expires_at,
                revoked_at: None,
                last_used_at: None,
            };
            self.inner.api_keys.create_api_key(&key).await?;
            Ok((secret, key))
        }
        .await;
        let event = match &result {
            Ok((_, key)) => self
                .inner
                .auditor
                .event("api_key.create", Outcome::Success)
                .target(&key.id)
                .detail("scopes", &key.scopes)
                .detail("expires_at", key.expires_at.map(|t| t.unix_timestamp())),
            Err(e) => self
                .inner
                .auditor
                .event("api_key.create", Outcome::Failure)
                .detail("reason", e.to_string()),
        };
        event
            .actor(actor)
            .detail("name", name)
            .meta(meta)
            .emit()
            .await;
        result
    }

    /// The key a secret belongs to, if it is unrevoked and unexpired; `PermissionDenied`
    /// ([`INVALID_API_KEY`]) otherwise, audited as `auth.api_key` failure. Use is recorded
    /// at most every `touch_interval`.
    pub async fn authenticate_api_key(&self, secret: &str, meta: &RequestMeta) -> Result<ApiKey> {
        let now = self.now();
        let found = if well_formed(secret, API_KEY_PREFIX) {
            self.inner
                .api_keys
                .find_api_key(&hash_secret(secret))
                .await?
        } else {
            None
        };
        let reason = match &found {
            None => Some("unknown key"),
            Some(k) if k.revoked_at.is_some() => Some("revoked"),
            Some(k) if k.expires_at.is_some_and(|t| t <= now) => Some("expired"),
            Some(_) => None,
        };
        match (found, reason) {
            (Some(mut key), None) => {
                let due = key
                    .last_used_at
                    .is_none_or(|t| after(t, self.inner.config.touch_interval) <= now);
                if due {
                    self.inner.api_keys.touch_api_key(&key.id, now).await?;
                    key.last_used_at = Some(now);
                }
                Ok(key)
            }
            (found, reason) => {
                let mut event = self
                    .inner
                    .auditor
                    .event("auth.api_key", Outcome::Failure)
                    .detail("reason", reason.unwrap_or("unknown key"))
                    .meta(meta);
                if let Some(k) = found {
                    event = event.target(k.id);
                }
                event.emit().await;
                Err(invalid_key())
            }
        }
    }

    /// Every key, newest first (hashes never serialised).
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.inner.api_keys.list_api_keys().await
    }

    /// Revokes key `id`; `NotFound` if there is none.
    pub async fn revoke_api_key(&self, actor: &str, id: &str, meta: &RequestMeta) -> Result<()> {
        let result = self.inner.api_keys.revoke_api_key(id, self.now()).await;
        let mut event = self
            .inner
            .auditor
            .event(
                "api_key.revoke",
                if result.is_ok() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
            )
            .actor(actor)
            .target(id)
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
    use super::*;
    use proptest::prelude::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn star_allows_everything_and_write_implies_read() {
        assert!(scope_allows(&v(&["*"]), "users:write"));
        assert!(scope_allows(&v(&["metrics:read"]), "metrics:read"));
        assert!(!scope_allows(&v(&["metrics:read"]), "security:read"));
        assert!(scope_allows(&v(&["security:write"]), "security:read"));
        assert!(!scope_allows(&v(&["security:read"]), "security:write"));
        assert!(!scope_allows(&[], "health:read"));
    }

    #[test]
    fn unknown_scopes_and_bad_names_are_named() {
        match check_scopes(v(&["metrics:read", "root"])) {
            Err(Error::InvalidInput { field, message }) => {
                assert_eq!(field, "scopes");
                assert!(message.contains("\"root\""), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(check_scopes(vec![]).is_err());
        assert_eq!(
            check_scopes(v(&["audit:read", "audit:read"])).expect("known"),
            v(&["audit:read"])
        );
        assert!(check_name("prometheus-scraper").is_ok());
        for bad in ["", "has space", "new\nline", &"x".repeat(65)] {
            assert!(
                matches!(check_name(bad), Err(Error::InvalidInput { field, .. }) if field == "name")
            );
        }
    }

    proptest! {
        #[test]
        fn a_key_without_star_allows_only_what_it_holds_or_reads_of_its_writes(
            held in proptest::sample::subsequence(KNOWN_SCOPES[1..].to_vec(), 0..7),
            needed in proptest::sample::select(KNOWN_SCOPES[1..].to_vec()),
        ) {
            let held: Vec<String> = held.into_iter().map(str::to_owned).collect();
            let expected = held.iter().any(|h| h == needed
                || (needed.ends_with(":read") && *h == needed.replace(":read", ":write")));
            prop_assert_eq!(scope_allows(&held, needed), expected);
        }
    }
}

#[cfg(test)]
mod service_tests {
    use std::time::Duration;

    use super::super::testkit::{ClockExt, kit, meta};
    use super::*;

    fn scopes(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn a_key_authenticates_with_its_scopes_until_revoked() {
        let k = kit();
        let (secret, key) = k
            .svc
            .create_api_key(
                "admin-token",
                "prometheus",
                scopes(&["metrics:read", "health:read"]),
                None,
                &meta(),
            )
            .await
            .expect("created");
        assert!(secret.starts_with("lo_key_") && secret.len() == 7 + 64);
        assert_eq!(key.key_hash, hash_secret(&secret));
        assert_eq!(key.created_by, "admin-token");
        let found = k
            .svc
            .authenticate_api_key(&secret, &meta())
            .await
            .expect("valid");
        assert!(scope_allows(&found.scopes, "metrics:read"));
        assert!(!scope_allows(&found.scopes, "security:write"));
        assert!(found.last_used_at.is_some());
        let listed = k.svc.list_api_keys().await.expect("list");
        assert_eq!(listed.len(), 1);
        assert!(
            !serde_json::to_string(&listed)
                .expect("json")
                .contains(&key.key_hash)
        );

        k.svc
            .revoke_api_key("admin-token", &key.id, &meta())
            .await
            .expect("revoked");
        let after = k.svc.authenticate_api_key(&secret, &meta()).await;
        assert!(
            matches!(after, Err(Error::PermissionDenied { message }) if message == INVALID_API_KEY)
        );
        let missing = k
            .svc
            .revoke_api_key("admin-token", "no-such-id", &meta())
            .await;
        assert!(matches!(missing, Err(Error::NotFound { .. })));
        let actions: Vec<String> = k
            .audit()
            .await
            .into_iter()
            .map(|e| e.entry.action)
            .collect();
        assert_eq!(
            actions,
            [
                "api_key.create",
                "api_key.revoke",
                "auth.api_key",
                "api_key.revoke"
            ]
        );
    }

    #[tokio::test]
    async fn a_key_stops_at_its_expiry() {
        let k = kit();
        let at = k.clock.now_plus(Duration::from_secs(3600));
        let (secret, _) = k
            .svc
            .create_api_key("admin-token", "ci", scopes(&["*"]), Some(at), &meta())
            .await
            .expect("created");
        k.clock.advance(Duration::from_secs(3599));
        k.svc
            .authenticate_api_key(&secret, &meta())
            .await
            .expect("still valid");
        k.clock.advance(Duration::from_secs(1));
        assert!(k.svc.authenticate_api_key(&secret, &meta()).await.is_err());
        let e = k.audited("auth.api_key").await.pop().expect("audited");
        assert_eq!(e.entry.details["reason"], "expired");
    }

    #[tokio::test]
    async fn bad_key_requests_are_refused_and_change_nothing() {
        let k = kit();
        let past = k.clock.now_plus(Duration::ZERO);
        let cases = [
            ("ok-name", scopes(&["root:all"]), None, "scopes"),
            ("ok-name", scopes(&[]), None, "scopes"),
            ("bad name", scopes(&["*"]), None, "name"),
            ("ok-name", scopes(&["*"]), Some(past), "expires_at"),
        ];
        for (name, s, exp, field) in cases {
            match k
                .svc
                .create_api_key("admin-token", name, s, exp, &meta())
                .await
            {
                Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(k.svc.list_api_keys().await.expect("list").is_empty());
        let (_, _) = k
            .svc
            .create_api_key("admin-token", "dup", scopes(&["*"]), None, &meta())
            .await
            .expect("first");
        let dup = k
            .svc
            .create_api_key("admin-token", "dup", scopes(&["*"]), None, &meta())
            .await;
        assert!(matches!(dup, Err(Error::AlreadyExists { .. })));
        for garbage in [
            "",
            "lo_key_",
            "lo_sess_abc",
            &format!("lo_key_{}", "f".repeat(64)),
        ] {
            assert!(k.svc.authenticate_api_key(garbage, &meta()).await.is_err());
        }
    }
}
