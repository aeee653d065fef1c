//! The one public error type of `legalops-core`, shared by every trait in the workspace.
//!
//! Variants are kinds of failure, not sources: a backend converts its private errors into
//! [`Error::Backend`] (or a more specific kind) so that callers and the HTTP layer can react
//! to the kind without knowing the backend.

use std::time::Duration;

/// Shorthand for `Result<T, legalops_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed error from a backend, kept as the `source` of [`Error::Backend`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every way an operation on a LegalOps contract can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The named thing does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up, e.g. `document "a/b.pdf"`.
        what: String,
    },
    /// A create-only write found the thing already there.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What was being created.
        what: String,
    },
    /// The operation conflicts with the current state (a lease held, an illegal transition).
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicted.
        message: String,
    },
    /// Input broke a rule; names the field and the rule.
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The offending field (a JSON pointer, a config key, an argument name).
        field: String,
        /// The rule that was broken, in words.
        message: String,
    },
    /// The caller may not do this.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// Why, without revealing anything the caller may not know.
        message: String,
    },
    /// Too many requests; try again after the given delay.
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited {
        /// How long to wait before trying again.
        retry_after: Duration,
    },
    /// The backend cannot do this at all (not a transient failure).
    #[error("{backend} does not support {operation}")]
    NotSupported {
        /// The backend's display name.
        backend: String,
        /// The operation, e.g. `object lock`.
        operation: String,
    },
    /// Configuration is invalid; names the key and the rule.
    #[error("invalid configuration `{key}`: {message}")]
    InvalidConfig {
        /// The configuration key (`database_url`, `LEGALOPS_LISTEN`, ...).
        key: String,
        /// The rule that was broken.
        message: String,
    },
    /// An operation did not finish within its deadline.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// What timed out.
        operation: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The backend failed (I/O, network, the database).
    #[error("{backend} failed: {source}")]
    Backend {
        /// The backend's display name, e.g. `sqlite:./data/legalops.db`.
        backend: String,
        /// Whether retrying the same call may succeed.
        retryable: bool,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// A [`Error::NotFound`] for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// An [`Error::AlreadyExists`] for `what`.
    pub fn already_exists(what: impl Into<String>) -> Self {
        Self::AlreadyExists { what: what.into() }
    }

    /// An [`Error::Conflict`] with a message.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
        }
    }

    /// An [`Error::InvalidInput`] naming the field and the rule.
    pub fn invalid_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An [`Error::InvalidConfig`] naming the key and the rule.
    pub fn invalid_config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidConfig {
            key: key.into(),
            message: message.into(),
        }
    }

    /// An [`Error::NotSupported`] for `operation` on `backend`.
    pub fn not_supported(backend: impl Into<String>, operation: impl Into<String>) -> Self {
        Self::NotSupported {
            backend: backend.into(),
            operation: operation.into(),
        }
    }

    /// An [`Error::Backend`] wrapping `source`.
    pub fn backend(
        backend: impl Into<String>,
        retryable: bool,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Backend {
            backend: backend.into(),
            retryable,
            source: source.into(),
        }
    }

    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Timeout { .. }
                | Self::Backend {
                    retryable: true,
                    ..
                }
        )
    }

    /// A stable, machine-readable name of the kind (`not_found`, `invalid_input`, ...),
    /// used in problem details and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::AlreadyExists { .. } => "already_exists",
            Self::Conflict { .. } => "conflict",
            Self::InvalidInput { .. } => "invalid_input",
            Self::PermissionDenied { .. } => "permission_denied",
            Self::RateLimited { .. } => "rate_limited",
            Self::NotSupported { .. } => "not_supported",
            Self::InvalidConfig { .. } => "invalid_config",
            Self::Timeout { .. } => "timeout",
            Self::Backend { .. } => "backend",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_input_names_field_and_rule() {
        let e = Error::invalid_input("listen", "must be host:port");
        assert_eq!(e.to_string(), "invalid listen: must be host:port");
        assert_eq!(e.kind(), "invalid_input");
        assert!(!e.is_retryable());
    }

    #[test]
    fn only_transient_kinds_are_retryable() {
        let io = std::io::Error::other("boom");
        assert!(Error::backend("x", true, io).is_retryable());
        let io = std::io::Error::other("boom");
        assert!(!Error::backend("x", false, io).is_retryable());
        assert!(
            Error::RateLimited {
                retry_after: Duration::from_secs(1)
            }
            .is_retryable()
        );
        assert!(!Error::not_found("a").is_retryable());
    }
}
