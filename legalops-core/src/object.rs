//! What blob-shaped contracts share: object keys and object metadata.
//!
//! Used by [`crate::documents::DocumentStore`] and [`crate::backup::BackupTarget`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// Metadata of one stored object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    /// The object's key (a `/`-separated relative path).
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written.
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
}

/// Longest key accepted, in bytes (S3's limit).
pub const MAX_KEY_LEN: usize = 1024;

/// Checks that `key` is a safe relative object key: non-empty, at most [`MAX_KEY_LEN`]
/// bytes, `/`-separated segments that are neither empty, `.` nor `..`, no leading `/`, no
/// backslash and no control characters. Every backend applies it before touching storage,
/// so that a hostile key cannot escape a directory or mean different things on different
/// backends.
pub fn validate_key(key: &str) -> Result<()> {
    let bad = |rule: &str| Err(Error::invalid_input("key", format!("{rule} (key {key:?})")));
    if key.is_empty() {
        return bad("must not be empty");
    }
    if key.len() > MAX_KEY_LEN {
        return bad("must be at most 1024 bytes");
    }
    if key.chars().any(|c| c.is_control() || c == '\\') {
        return bad("must not contain control characters or backslashes");
    }
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return bad("segments must be non-empty and not `.` or `..`");
    }
    Ok(())
}

/// Checks a listing prefix: empty (everything) or a valid key prefix, which may end in `/`.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    validate_key(prefix.strip_suffix('/').unwrap_or(prefix)).map_err(|_| {
        Error::invalid_input(
            "prefix",
            format!("not a valid key prefix (prefix {prefix:?})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hostile_keys_are_refused() {
        for k in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a//b",
            "a/./b",
            "a\\b",
            "a\0b",
            "a/",
        ] {
            assert!(validate_key(k).is_err(), "{k:?} should be refused");
        }
        for k in ["a", "a/b.pdf", "customers/42/Articles (final).pdf", "x..y"] {
            assert!(validate_key(k).is_ok(), "{k:?} should be accepted");
        }
    }

    #[test]
    fn prefixes_may_end_in_a_slash() {
        assert!(validate_prefix("").is_ok());
        assert!(validate_prefix("a/b/").is_ok());
        assert!(validate_prefix("../").is_err());
    }

    proptest! {
        #[test]
        fn accepted_keys_never_climb(key in "[a-z./]{1,12}") {
            if validate_key(&key).is_ok() {
                prop_assert!(!key.starts_with('/'));
                prop_assert!(!key.split('/').any(|s| s == ".."));
            }
        }
    }
}
