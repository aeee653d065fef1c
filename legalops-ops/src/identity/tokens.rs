//! Bearer secrets (session tokens, API keys) and how they are stored: 32 random bytes from
//! the operating system, shown once with a prefix that says what they are (so secret
//! scanners and people recognise them), and stored only as the hex BLAKE3 hash. One hash
//! everywhere (the server's admin token uses BLAKE3 too); a fast hash suffices because
//! the input is 256 random bits, not a password.

use legalops_core::{Error, Result};

/// Prefix of a session token.
pub const SESSION_TOKEN_PREFIX: &str = "lo_sess_";
/// Prefix of an API key.
pub const API_KEY_PREFIX: &str = "lo_key_";

/// Random bytes in a secret.
const SECRET_BYTES: usize = 32;

/// Fills `buf` from the operating system's generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf)
        .map_err(|e| Error::backend("getrandom", true, std::io::Error::other(e.to_string())))
}

/// Lowercase hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A new secret: `prefix` followed by 64 hex digits.
pub(crate) fn new_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    fill_random(&mut bytes)?;
    Ok(format!("{prefix}{}", to_hex(&bytes)))
}

/// Whether `secret` has the shape of a secret made by [`new_secret`] with `prefix`; a
/// cheap filter before the lookup, so garbage never reaches the database.
pub(crate) fn well_formed(secret: &str, prefix: &str) -> bool {
    secret.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == SECRET_BYTES * 2 && rest.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// What is stored for a secret: its hex BLAKE3 hash.
pub fn hash_secret(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

/// Keys the tag of a password tried at login (see `LoginAttempt::password_tag`): the key
/// lives only in this process's memory, so a tag means nothing outside it and cannot be
/// brute-forced from a leaked security record.
#[derive(Clone)]
pub(crate) struct PasswordTagger {
    key: [u8; 32],
}

impl std::fmt::Debug for PasswordTagger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordTagger { key: [REDACTED] }")
    }
}

impl PasswordTagger {
    /// A tagger under a fresh random key.
    pub(crate) fn new() -> Result<Self> {
        let mut key = [0u8; 32];
        fill_random(&mut key)?;
        Ok(Self { key })
    }

    /// The keyed BLAKE3 of `password`.
    pub(crate) fn tag(&self, password: &str) -> [u8; 32] {
        *blake3::keyed_hash(&self.key, password.as_bytes()).as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn secrets_are_prefixed_random_hex_and_stored_as_hashes() {
        let a = new_secret(SESSION_TOKEN_PREFIX).expect("random");
        let b = new_secret(SESSION_TOKEN_PREFIX).expect("random");
        assert_ne!(a, b);
        assert!(well_formed(&a, SESSION_TOKEN_PREFIX));
        assert!(!well_formed(&a, API_KEY_PREFIX));
        assert_eq!(a.len(), SESSION_TOKEN_PREFIX.len() + 64);
        let h = hash_secret(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a[SESSION_TOKEN_PREFIX.len()..]));
    }

    #[test]
    fn tags_are_stable_within_a_tagger_and_differ_across_taggers() {
        let t = PasswordTagger::new().expect("random");
        let u = PasswordTagger::new().expect("random");
        assert_eq!(t.tag("Summer2026!"), t.tag("Summer2026!"));
        assert_ne!(t.tag("Summer2026!"), t.tag("Summer2026?"));
        assert_ne!(t.tag("Summer2026!"), u.tag("Summer2026!"));
        assert!(!format!("{t:?}").contains(&to_hex(&t.key)));
    }

    proptest! {
        #[test]
        fn arbitrary_strings_are_never_well_formed_unless_shaped_like_one(s in "\\PC{0,80}") {
            let shaped = s.strip_prefix(API_KEY_PREFIX).is_some_and(|r| {
                r.len() == 64 && r.bytes().all(|b| b.is_ascii_hexdigit())
            });
            prop_assert_eq!(well_formed(&s, API_KEY_PREFIX), shaped);
        }
    }
}
