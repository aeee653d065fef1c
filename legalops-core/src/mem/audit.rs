//! [`AuditLog`] of [`MemoryRecords`]: the hash-chained audit trail and its Merkle
//! checkpoints, numbered and chained under the store's one lock.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::MemoryRecords;
use super::identity::saturating_usize;
use crate::audit::chain::{self, GENESIS_HASH};
use crate::audit::{AuditEntry, AuditLog, Checkpoint, NewAuditEntry};
use crate::error::{Error, Result};

/// Entries (index i holds seq i + 1) and checkpoints by tree size.
#[derive(Debug, Default)]
pub(super) struct AuditState {
    entries: Vec<AuditEntry>,
    checkpoints: BTreeMap<u64, Checkpoint>,
}

#[async_trait]
impl AuditLog for MemoryRecords {
    async fn append(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        // Normalise before hashing, so that what is stored is exactly what was hashed and
        // a SQL backend holding the same entry computes the same hash.
        let mut entry = entry.clone();
        chain::normalize(&mut entry);
        Ok(self.query("audit.append", |s| {
            // Number, chain and store under one lock: two appends can never take the same
            // seq or chain to the same predecessor.
            let log = &mut s.audit.entries;
            let seq = log.len() as u64 + 1;
            let prev_hash = log
                .last()
                .map_or_else(|| GENESIS_HASH.to_owned(), |e| e.entry_hash.clone());
            let entry_hash = chain::entry_hash(seq, &entry, &prev_hash);
            let stored = AuditEntry {
                seq,
                entry,
                prev_hash,
                entry_hash,
            };
            log.push(stored.clone());
            stored
        }))
    }

    async fn entries(&self, from_seq: u64, limit: u64) -> Result<Vec<AuditEntry>> {
        Ok(self.query("audit.entries", |s| {
            // seq 0 does not exist; from 0 means from the start, as `seq >= 0` would in SQL.
            let start = saturating_usize(from_seq.saturating_sub(1));
            s.audit
                .entries
                .iter()
                .skip(start)
                .take(saturating_usize(limit))
                .cloned()
                .collect()
        }))
    }

    async fn len(&self) -> Result<u64> {
        Ok(self.query("audit.len", |s| s.audit.entries.len() as u64))
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        self.query("audit.put_checkpoint", |s| {
            let cps = &mut s.audit.checkpoints;
            if cps.contains_key(&checkpoint.tree_size) {
                return Err(Error::already_exists(format!(
                    "checkpoint of tree size {}",
                    checkpoint.tree_size
                )));
            }
            cps.insert(checkpoint.tree_size, checkpoint.clone());
            Ok(())
        })
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        Ok(self.query("audit.checkpoints", |s| {
            s.audit.checkpoints.values().cloned().collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Outcome;
    use crate::mem::block_on;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn entry(actor: &str) -> NewAuditEntry {
        NewAuditEntry {
            at: datetime!(2026-01-01 10:00:00.123456789 UTC),
            actor: actor.to_owned(),
            action: "auth.login".to_owned(),
            target: None,
            outcome: Outcome::Success,
            ip: None,
            user_agent: None,
            request_id: None,
            details: serde_json::Value::Null,
        }
    }

    #[test]
    fn entries_from_zero_start_at_the_first() {
        let db = MemoryRecords::new();
        for a in ["a", "b"] {
            assert!(block_on(db.append(&entry(a))).is_ok());
        }
        let got = block_on(db.entries(0, 10)).unwrap_or_default();
        assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn the_first_entry_chains_to_genesis() {
        let db = MemoryRecords::new();
        let first = block_on(db.append(&entry("a")));
        assert!(
            matches!(first, Ok(ref e) if e.seq == 1 && e.prev_hash == GENESIS_HASH),
            "{first:?}"
        );
    }

    #[test]
    fn a_refused_checkpoint_keeps_the_stored_one() {
        let db = MemoryRecords::new();
        let cp = |root: &str| Checkpoint {
            tree_size: 3,
            root_hash: root.to_owned(),
            at: datetime!(2026-01-01 10:00 UTC),
        };
        assert!(block_on(db.put_checkpoint(&cp("aa"))).is_ok());
        assert!(block_on(db.put_checkpoint(&cp("bb"))).is_err());
        let got = block_on(db.checkpoints()).unwrap_or_default();
        assert_eq!(got, [cp("aa")]);
    }

    #[test]
    fn appends_from_many_threads_form_one_chain() {
        // Real parallelism, which the suite's single-task join cannot give an in-memory
        // backend: numbering and chaining must still happen as one step.
        let db = MemoryRecords::new();
        std::thread::scope(|s| {
            for t in 0..8 {
                let db = &db;
                s.spawn(move || {
                    for i in 0..50 {
                        let e = entry(&format!("t{t}-{i}"));
                        assert!(block_on(db.append(&e)).is_ok());
                    }
                });
            }
        });
        let got = block_on(db.entries(1, u64::MAX)).unwrap_or_default();
        assert_eq!(got.len(), 400);
        let mut prev = GENESIS_HASH.to_owned();
        for (i, e) in got.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1);
            assert_eq!(e.prev_hash, prev);
            assert_eq!(e.entry_hash, chain::entry_hash(e.seq, &e.entry, &prev));
            prev = e.entry_hash.clone();
        }
    }

    proptest! {
        // Any sequence of appends yields seqs 1..=n without gaps, each chained to the one
        // before with the hash the pure chain module computes.
        #[test]
        fn appends_form_a_valid_chain(actors in proptest::collection::vec("[a-z]{0,8}", 0..20)) {
            let db = MemoryRecords::new();
            for a in &actors {
                prop_assert!(block_on(db.append(&entry(a))).is_ok());
            }
            let got = block_on(db.entries(1, u64::MAX)).unwrap_or_default();
            prop_assert_eq!(got.len(), actors.len());
            prop_assert_eq!(block_on(db.len()).ok(), Some(actors.len() as u64));
            let mut prev = GENESIS_HASH.to_owned();
            for (i, e) in got.iter().enumerate() {
                prop_assert_eq!(e.seq, i as u64 + 1);
                prop_assert_eq!(&e.prev_hash, &prev);
                prop_assert_eq!(&e.entry_hash, &chain::entry_hash(e.seq, &e.entry, &prev));
                prop_assert_eq!(e.entry.at, datetime!(2026-01-01 10:00:00.123456 UTC));
                prev = e.entry_hash.clone();
            }
        }
    }
}
