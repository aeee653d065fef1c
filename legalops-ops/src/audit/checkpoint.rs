//! Merkle checkpoints over the audit log, and the proofs an outside auditor checks them
//! with (RFC 6962 hashing, see `legalops_core::audit::merkle`).
//!
//! The auditor keeps a [`MerkleAccumulator`] in memory and extends it from where it left
//! off, so a checkpoint reads only the entries written since the last one (the first one
//! after a start reads the log once, in pages). While extending, it checks that each entry
//! still hashes to its stored hash and links to the one before: a checkpoint must never
//! certify a log that was already rewritten.

use std::time::Duration;

use legalops_core::audit::chain::entry_hash;
use legalops_core::audit::merkle::{self, Hash, MerkleAccumulator, audit_leaf, to_hex};
use legalops_core::audit::{AuditEntry, Checkpoint};
use legalops_core::{Error, Result};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::Auditor;

/// Entries read per call to the log when catching up, verifying or building proofs.
pub(crate) const PAGE: u64 = 1000;

/// What the auditor remembers between checkpoints.
#[derive(Debug, Default)]
pub(crate) struct MerkleState {
    acc: MerkleAccumulator,
    /// The chain hash of the last entry folded in (`None` before the first).
    last_hash: Option<String>,
    /// The tree size of the newest checkpoint stored, once read from the log.
    last_checkpoint: Option<Option<u64>>,
}

/// Proof that entry `seq` is in the tree of `tree_size` entries whose root is `root`:
/// check with `merkle::verify_inclusion(seq - 1, tree_size, leaf_hash, proof, root)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The entry's sequence number (its leaf index is `seq - 1`).
    pub seq: u64,
    /// The size of the tree proved against.
    pub tree_size: u64,
    /// The entry's chain hash, as stored.
    pub entry_hash: String,
    /// Hex Merkle leaf hash of the entry (`audit_leaf(entry_hash)`).
    pub leaf_hash: String,
    /// Hex audit path, from the leaf's sibling upwards.
    pub proof: Vec<String>,
    /// Hex root of the tree of `tree_size` entries.
    pub root: String,
}

/// Proof that the tree of `old_size` entries is a prefix of the tree of `new_size`:
/// check with `merkle::verify_consistency(old_size, new_size, old_root, new_root, proof)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The older, smaller tree size.
    pub old_size: u64,
    /// The newer tree size.
    pub new_size: u64,
    /// Hex root of the old tree (compare with the checkpoint you kept).
    pub old_root: String,
    /// Hex root of the new tree.
    pub new_root: String,
    /// Hex proof hashes.
    pub proof: Vec<String>,
}

/// Checks that `entry` is entry number `expected_seq`, follows `prev` and hashes to its
/// stored hash; `Conflict` naming the entry otherwise.
fn check_link(entry: &AuditEntry, expected_seq: u64, prev: Option<&str>) -> Result<()> {
    let prev = prev.unwrap_or(legalops_core::audit::chain::GENESIS_HASH);
    if entry.seq != expected_seq {
        return Err(Error::conflict(format!(
            "audit entry {expected_seq} is missing (found {} next); run `audit verify`",
            entry.seq
        )));
    }
    if entry.prev_hash != prev || entry_hash(entry.seq, &entry.entry, prev) != entry.entry_hash {
        return Err(Error::conflict(format!(
            "audit entry {} does not match its hash chain; run `audit verify`",
            entry.seq
        )));
    }
    Ok(())
}

impl Auditor {
    /// Takes a checkpoint if the log grew since the last one: the Merkle root over every
    /// entry, stored in the log. `Ok(None)` when there was nothing new. `Conflict` if an
    /// entry read on the way no longer matches its chain hash (nothing is stored then), or
    /// if another replica stored a different root for the same size.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        let log = &self.inner.log;
        let mut st = self.inner.merkle.lock().await;
        let last_checkpoint = match st.last_checkpoint {
            Some(known) => known,
            None => {
                let known = log.checkpoints().await?.last().map(|c| c.tree_size);
                st.last_checkpoint = Some(known);
                known
            }
        };
        loop {
            let from = st.acc.size() + 1;
            let page = log.entries(from, PAGE).await?;
            let n = page.len() as u64;
            for (i, e) in page.iter().enumerate() {
                check_link(e, from + i as u64, st.last_hash.as_deref())?;
                st.acc.push(audit_leaf(&e.entry_hash)?);
                st.last_hash = Some(e.entry_hash.clone());
            }
            if n < PAGE {
                break;
            }
        }
        let size = st.acc.size();
        if size == 0 || last_checkpoint.is_some_and(|last| size <= last) {
            return Ok(None);
        }
        let cp = Checkpoint {
            tree_size: size,
            root_hash: to_hex(&st.acc.root()),
            at: self.inner.clock.now(),
        };
        match log.put_checkpoint(&cp).await {
            Ok(()) => {}
            Err(Error::AlreadyExists { .. }) => {
                // Another replica checkpointed the same size first; fine if it agrees.
                let theirs = log.checkpoints().await?;
                st.last_checkpoint = Some(Some(size));
                return match theirs.iter().find(|c| c.tree_size == size) {
                    Some(c) if c.root_hash == cp.root_hash => Ok(None),
                    _ => Err(Error::conflict(format!(
                        "a checkpoint of tree size {size} with a different root is already stored"
                    ))),
                };
            }
            Err(e) => return Err(e),
        }
        st.last_checkpoint = Some(Some(size));
        tracing::info!(tree_size = size, root = %cp.root_hash, "audit checkpoint taken");
        Ok(Some(cp))
    }

    /// Every stored checkpoint, by tree size ascending: what an operator ships to a
    /// separate system (as JSON) so that a later rewrite of the database is detectable.
    pub async fn export_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.inner.log.checkpoints().await
    }

    /// The Merkle leaf hashes of the first `size` entries, read in pages; `InvalidInput`
    /// naming `field` if the log is shorter.
    async fn leaves(&self, size: u64, field: &str) -> Result<Vec<Hash>> {
        let len = self.inner.log.len().await?;
        if size > len {
            return Err(Error::invalid_input(
                field,
                format!("{size} exceeds the {len} entries in the log"),
            ));
        }
        let mut leaves = Vec::with_capacity(size as usize);
        while (leaves.len() as u64) < size {
            let from = leaves.len() as u64 + 1;
            let page = self
                .inner
                .log
                .entries(from, PAGE.min(size - from + 1))
                .await?;
            if page.is_empty() {
                return Err(Error::conflict(format!(
                    "audit entry {from} is missing; run `audit verify`"
                )));
            }
            for (i, e) in page.iter().enumerate() {
                if e.seq != from + i as u64 {
                    return Err(Error::conflict(format!(
                        "audit entry {} is missing; run `audit verify`",
                        from + i as u64
                    )));
                }
                leaves.push(audit_leaf(&e.entry_hash)?);
            }
        }
        Ok(leaves)
    }

    /// Proof that entry `seq` is included in the tree of the first `tree_size` entries.
    /// `InvalidInput` unless `1 <= seq <= tree_size <= len`.
    pub async fn inclusion_proof(&self, seq: u64, tree_size: u64) -> Result<InclusionProof> {
        if seq == 0 || seq > tree_size {
            return Err(Error::invalid_input(
                "seq",
                format!("must be between 1 and the tree size {tree_size}"),
            ));
        }
        let leaves = self.leaves(tree_size, "tree_size").await?;
        let index = seq - 1;
        let proof = merkle::inclusion_proof(index, &leaves)?;
        let entry = self.inner.log.entries(seq, 1).await?;
        let entry_hash = entry
            .first()
            .filter(|e| e.seq == seq)
            .map(|e| e.entry_hash.clone())
            .ok_or_else(|| Error::not_found(format!("audit entry {seq}")))?;
        Ok(InclusionProof {
            seq,
            tree_size,
            entry_hash,
            leaf_hash: to_hex(&leaves[index as usize]),
            proof: proof.iter().map(to_hex).collect(),
            root: to_hex(&merkle::root(&leaves)),
        })
    }

    /// Proof that the tree of the first `old_size` entries is a prefix of the tree of the
    /// first `new_size`. `InvalidInput` unless `old_size <= new_size <= len`.
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof> {
        if old_size > new_size {
            return Err(Error::invalid_input(
                "old_size",
                format!("must not exceed the new size {new_size}"),
            ));
        }
        let leaves = self.leaves(new_size, "new_size").await?;
        let proof = merkle::consistency_proof(old_size, &leaves)?;
        Ok(ConsistencyProof {
            old_size,
            new_size,
            old_root: to_hex(&merkle::root(&leaves[..old_size as usize])),
            new_root: to_hex(&merkle::root(&leaves)),
            proof: proof.iter().map(to_hex).collect(),
        })
    }
}

/// Takes a checkpoint every `interval` (the first one `interval` after the start) until
/// the handle is aborted. Failures are logged and retried at the next tick.
pub fn spawn_checkpointer(auditor: Auditor, interval: Duration) -> JoinHandle<()> {
    // tokio's interval panics on a zero period; a zero from configuration means "as
    // often as possible", which one millisecond honours.
    let interval = interval.max(Duration::from_millis(1));
    tokio::spawn(async move {
        let start = tokio::time::Instant::now() + interval;
        let mut ticks = tokio::time::interval_at(start, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = auditor.checkpoint().await {
                tracing::warn!(error = %e, "audit checkpoint failed; retrying at the next tick");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use legalops_core::ManualClock;
    use legalops_core::audit::merkle::{from_hex, verify_consistency, verify_inclusion};
    use legalops_core::audit::{AuditLog, Outcome};
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::super::testlog::TestLog;
    use super::*;

    fn auditor() -> (Auditor, Arc<TestLog>, ManualClock) {
        let log = Arc::new(TestLog::default());
        let clock = ManualClock::new(datetime!(2026-11-23 10:00 UTC));
        (
            Auditor::new(log.clone(), Arc::new(clock.clone())),
            log,
            clock,
        )
    }

    async fn add(a: &Auditor, n: u64) {
        for i in 0..n {
            a.event("record.read", Outcome::Success)
                .target(format!("r{i}"))
                .emit()
                .await;
        }
    }

    async fn leaves(log: &TestLog) -> Vec<Hash> {
        log.entries(1, u64::MAX)
            .await
            .expect("read")
            .iter()
            .map(|e| audit_leaf(&e.entry_hash).expect("hex"))
            .collect()
    }

    #[tokio::test]
    async fn a_checkpoint_is_taken_only_when_the_log_grew() {
        let (a, log, clock) = auditor();
        assert_eq!(a.checkpoint().await.expect("empty"), None);
        add(&a, 5).await;
        let first = a.checkpoint().await.expect("cp").expect("grew");
        assert_eq!(first.tree_size, 5);
        assert_eq!(first.root_hash, to_hex(&merkle::root(&leaves(&log).await)));
        assert_eq!(first.at, datetime!(2026-11-23 10:00 UTC));
        assert_eq!(a.checkpoint().await.expect("cp"), None, "nothing new");
        clock.advance(Duration::from_secs(60));
        add(&a, 3).await;
        let reads = log.reads.load(Ordering::SeqCst);
        let second = a.checkpoint().await.expect("cp").expect("grew");
        assert_eq!(
            log.reads.load(Ordering::SeqCst) - reads,
            1,
            "read only the new entries"
        );
        assert_eq!(second.tree_size, 8);
        assert_eq!(second.root_hash, to_hex(&merkle::root(&leaves(&log).await)));
        assert_eq!(
            a.export_checkpoints().await.expect("export"),
            vec![first, second]
        );
    }

    #[tokio::test]
    async fn a_restarted_auditor_catches_up_and_does_not_repeat_a_checkpoint() {
        let (a, log, clock) = auditor();
        add(&a, 2 * PAGE + 3).await;
        a.checkpoint().await.expect("cp").expect("grew");
        let b = Auditor::new(log.clone(), Arc::new(clock.clone()));
        assert_eq!(b.checkpoint().await.expect("cp"), None);
        add(&b, 1).await;
        let cp = b.checkpoint().await.expect("cp").expect("grew");
        assert_eq!(cp.tree_size, 2 * PAGE + 4);
        assert_eq!(cp.root_hash, to_hex(&merkle::root(&leaves(&log).await)));
    }

    #[tokio::test]
    async fn no_checkpoint_certifies_a_rewritten_entry() {
        let (a, log, _) = auditor();
        add(&a, 4).await;
        log.tamper(2, |row| row.entry.actor = "mallory".into());
        let err = a.checkpoint().await;
        assert!(matches!(err, Err(Error::Conflict { message }) if message.contains("entry 2")));
        assert!(a.export_checkpoints().await.expect("export").is_empty());
    }

    #[tokio::test]
    async fn proofs_verify_with_the_core_functions() {
        let (a, _, _) = auditor();
        add(&a, 13).await;
        let cp7 = a.consistency_proof(7, 7).await.expect("proof").new_root;
        for (seq, size) in [(1, 1), (1, 13), (7, 13), (13, 13), (5, 8)] {
            let p = a.inclusion_proof(seq, size).await.expect("proof");
            let proof: Vec<Hash> = p.proof.iter().map(|h| from_hex(h).expect("hex")).collect();
            assert_eq!(
                from_hex(&p.leaf_hash).expect("hex"),
                audit_leaf(&p.entry_hash).expect("hex")
            );
            assert!(verify_inclusion(
                seq - 1,
                size,
                &from_hex(&p.leaf_hash).expect("hex"),
                &proof,
                &from_hex(&p.root).expect("hex"),
            ));
        }
        for (old, new) in [(0, 13), (1, 13), (7, 13), (8, 13), (13, 13), (3, 5)] {
            let p = a.consistency_proof(old, new).await.expect("proof");
            let proof: Vec<Hash> = p.proof.iter().map(|h| from_hex(h).expect("hex")).collect();
            assert!(
                verify_consistency(
                    old,
                    new,
                    &from_hex(&p.old_root).expect("hex"),
                    &from_hex(&p.new_root).expect("hex"),
                    &proof,
                ),
                "{old} -> {new}"
            );
        }
        let p = a.consistency_proof(7, 13).await.expect("proof");
        assert_eq!(
            p.old_root, cp7,
            "the old root is the root the old checkpoint had"
        );
    }

    #[tokio::test]
    async fn impossible_proof_requests_are_invalid_input() {
        let (a, _, _) = auditor();
        add(&a, 3).await;
        for (seq, size, field) in [(0, 3, "seq"), (4, 3, "seq"), (1, 4, "tree_size")] {
            match a.inclusion_proof(seq, size).await {
                Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{seq}/{size}: {other:?}"),
            }
        }
        assert!(
            matches!(a.consistency_proof(3, 2).await, Err(Error::InvalidInput { field, .. }) if field == "old_size")
        );
        assert!(
            matches!(a.consistency_proof(1, 9).await, Err(Error::InvalidInput { field, .. }) if field == "new_size")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_checkpointer_takes_one_per_interval_while_the_log_grows() {
        let (a, log, _) = auditor();
        let handle = spawn_checkpointer(a.clone(), Duration::from_secs(300));
        add(&a, 2).await;
        let settle = || async {
            for _ in 0..50 {
                tokio::task::yield_now().await;
            }
        };
        settle().await;
        assert!(
            log.checkpoints().await.expect("cps").is_empty(),
            "not before the first tick"
        );
        tokio::time::advance(Duration::from_secs(300)).await;
        settle().await;
        assert_eq!(log.checkpoints().await.expect("cps").len(), 1);
        tokio::time::advance(Duration::from_secs(300)).await;
        settle().await;
        assert_eq!(
            log.checkpoints().await.expect("cps").len(),
            1,
            "no growth, no checkpoint"
        );
        add(&a, 1).await;
        tokio::time::advance(Duration::from_secs(300)).await;
        settle().await;
        let cps = log.checkpoints().await.expect("cps");
        assert_eq!(cps.iter().map(|c| c.tree_size).collect::<Vec<_>>(), [2, 3]);
        handle.abort();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn checkpoints_in_any_rhythm_match_the_root_over_the_whole_log(
            batches in proptest::collection::vec(0u64..40, 1..6)
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
            rt.block_on(async {
                let (a, log, _) = auditor();
                for n in batches {
                    add(&a, n).await;
                    let before = log.checkpoints().await.expect("cps").len();
                    let cp = a.checkpoint().await.expect("cp");
                    let size = log.len().await.expect("len");
                    if let Some(cp) = cp {
                        prop_assert_eq!(cp.tree_size, size);
                        prop_assert_eq!(cp.root_hash, to_hex(&merkle::root(&leaves(&log).await)));
                    } else {
                        prop_assert_eq!(log.checkpoints().await.expect("cps").len(), before);
                    }
                }
                prop_assert!(a.verify().await.expect("verify").ok);
                Ok(())
            })?;
        }
    }
}
