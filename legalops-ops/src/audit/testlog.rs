//! A test double of [`AuditLog`] that lets a test do what an attacker with database access
//! would: rewrite, remove or reorder stored rows, and make the next write fail.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use legalops_core::audit::chain::{GENESIS_HASH, entry_hash, normalize};
use legalops_core::audit::{AuditEntry, AuditLog, Checkpoint, NewAuditEntry};
use legalops_core::{Error, Result};

#[derive(Debug, Default)]
pub(crate) struct TestLog {
    rows: Mutex<Vec<AuditEntry>>,
    checkpoints: Mutex<Vec<Checkpoint>>,
    fail_next: AtomicBool,
    /// How many times `entries` was called (to check paging).
    pub(crate) reads: std::sync::atomic::AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TestLog {
    /// Makes the next write fail with a retryable backend error.
    pub(crate) fn fail_next(&self) {
        self.fail_next.store(true, Ordering::SeqCst);
    }

    /// Rewrites row `seq` in place, leaving its hashes as they were (a direct UPDATE).
    pub(crate) fn tamper(&self, seq: u64, f: impl FnOnce(&mut AuditEntry)) {
        let mut rows = lock(&self.rows);
        if let Some(row) = rows.iter_mut().find(|r| r.seq == seq) {
            f(row);
        }
    }

    /// Deletes row `seq` (a direct DELETE).
    pub(crate) fn remove(&self, seq: u64) {
        lock(&self.rows).retain(|r| r.seq != seq);
    }

    /// Replaces a stored checkpoint's root.
    pub(crate) fn tamper_checkpoint(&self, tree_size: u64, root_hash: &str) {
        for c in lock(&self.checkpoints).iter_mut() {
            if c.tree_size == tree_size {
                c.root_hash = root_hash.to_owned();
            }
        }
    }
}

impl fmt::Display for TestLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("test-audit-log")
    }
}

#[async_trait]
impl AuditLog for TestLog {
    async fn append(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(Error::backend(
                "test-audit-log",
                true,
                std::io::Error::other("injected failure"),
            ));
        }
        let mut entry = entry.clone();
        normalize(&mut entry);
        let mut rows = lock(&self.rows);
        let seq = rows.last().map_or(1, |r| r.seq + 1);
        let prev_hash = rows
            .last()
            .map_or_else(|| GENESIS_HASH.to_owned(), |r| r.entry_hash.clone());
        let stored = AuditEntry {
            seq,
            entry_hash: entry_hash(seq, &entry, &prev_hash),
            entry,
            prev_hash,
        };
        rows.push(stored.clone());
        Ok(stored)
    }

    async fn entries(&self, from_seq: u64, limit: u64) -> Result<Vec<AuditEntry>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(lock(&self.rows)
            .iter()
            .filter(|r| r.seq >= from_seq)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn len(&self) -> Result<u64> {
        Ok(lock(&self.rows).last().map_or(0, |r| r.seq))
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        let mut cps = lock(&self.checkpoints);
        if cps.iter().any(|c| c.tree_size == checkpoint.tree_size) {
            return Err(Error::already_exists(format!(
                "checkpoint of tree size {}",
                checkpoint.tree_size
            )));
        }
        cps.push(checkpoint.clone());
        cps.sort_by_key(|c| c.tree_size);
        Ok(())
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        Ok(lock(&self.checkpoints).clone())
    }
}
