//! The audit trail: who did what, when (UTC), where, with what outcome: append-only and
//! tamper-evident. Every entry is hash-chained to the one before
//! (`entry_hash = H(canonical(entry) || prev_hash)`), and Merkle checkpoints (RFC 6962
//! hashing) let an auditor check that an entry is included and that the log only grew.
//!
//! The hashing, the Merkle tree and the verifier are pure ([`chain`], [`merkle`],
//! [`verify`]); an [`AuditLog`] backend only stores entries and checkpoints, and assigns
//! sequence numbers and chain hashes atomically on append.

use std::fmt::{Debug, Display};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;

pub mod chain;
pub mod merkle;
pub mod verify;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was attempted and failed (wrong password, invalid input).
    Failure,
    /// It was refused by a control (authorization, block, rate limit, scanner).
    Denied,
}

impl Outcome {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
}

/// An entry as its author writes it (before the log numbers and chains it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// When it happened (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who: a user id, `admin-token`, `api-key:<id>`, `anonymous` or `system`.
    pub actor: String,
    /// What, as a dotted verb (`auth.login`, `security.block_ip`, `document.read`).
    pub action: String,
    /// On what (a user id, an IP, a document key), if anything.
    pub target: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Where from: client IP.
    pub ip: Option<String>,
    /// Where from: client user agent.
    pub user_agent: Option<String>,
    /// The request it belongs to.
    pub request_id: Option<String>,
    /// Anything else, as JSON (never a secret; see [`crate::redact`]).
    pub details: serde_json::Value,
}

/// A stored entry: numbered and chained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// The entry as written.
    #[serde(flatten)]
    pub entry: NewAuditEntry,
    /// Hex hash of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// Hex `H(canonical(entry) || prev_hash)`.
    pub entry_hash: String,
}

/// A Merkle checkpoint: the root over the first `tree_size` entries' hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// How many entries the tree covers.
    pub tree_size: u64,
    /// Hex RFC 6962 root hash.
    pub root_hash: String,
    /// When it was taken.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where audit entries and checkpoints are kept.
// `len` is a count of a remote log, not a collection's size; an `is_empty` would be one
// more round trip with no use.
#[allow(clippy::len_without_is_empty)]
#[async_trait]
pub trait AuditLog: Debug + Display + Send + Sync + 'static {
    /// Appends `entry`: assigns the next `seq`, chains it to the last entry with
    /// [`chain::entry_hash`], and stores it, atomically with respect to concurrent appends
    /// (of this process and of other replicas). Returns the stored entry.
    async fn append(&self, entry: &NewAuditEntry) -> Result<AuditEntry>;

    /// Entries with `seq >= from_seq`, ascending, at most `limit`.
    async fn entries(&self, from_seq: u64, limit: u64) -> Result<Vec<AuditEntry>>;

    /// The number of entries (the last `seq`).
    async fn len(&self) -> Result<u64>;

    /// Stores a checkpoint; `AlreadyExists` for a tree size already checkpointed.
    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()>;

    /// Every checkpoint, by tree size ascending.
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>>;
}
