//! The audit log verifier run by `legalops audit verify` and the admin endpoint: it
//! recomputes the hash chain and the Merkle checkpoints and names the first problem.
//!
//! Entries are fed in `seq` order, page by page, so a log of millions of entries is
//! checked in one pass without holding it. The chain catches an entry altered in place, an
//! entry removed, and entries reordered; the checkpoints, kept (and exported) outside the
//! entries, catch what the chain cannot: an entry altered together with its hash and every
//! later hash rewritten, and a log cut short.

use std::collections::VecDeque;
use std::fmt::{self, Display};

use serde::{Deserialize, Serialize};

use super::chain::{GENESIS_HASH, entry_hash};
use super::merkle::{self, Hash, MerkleAccumulator};
use super::{AuditEntry, Checkpoint};

/// What kind of tampering (or damage) was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ProblemKind {
    /// The entry's content no longer matches its stored hash.
    Altered,
    /// Entries are missing: `after_seq` is followed by `found_seq`, not `expected_seq`.
    Removed {
        /// The last good entry (0 at the start of the log).
        after_seq: u64,
        /// The first missing entry.
        expected_seq: u64,
        /// The entry found in its place.
        found_seq: u64,
    },
    /// The entry's `seq` goes backwards or repeats after `after_seq`.
    Reordered {
        /// The last good entry (0 at the start of the log).
        after_seq: u64,
    },
    /// The entry is consistent with itself but its `prev_hash` is not the previous entry's
    /// hash (or, for entry 1, not the genesis hash): the previous entry was altered and
    /// re-hashed, or entries were removed and the rest renumbered.
    BrokenLink,
    /// A checkpoint covers more entries than the log has: the log shrank.
    Truncated {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// The log's length.
        entries: u64,
    },
    /// A checkpoint's root differs from the root recomputed over the first `tree_size`
    /// entries: an entry in `from_seq..=tree_size` was altered and the chain re-hashed.
    CheckpointMismatch {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// The first entry not covered by an earlier matching checkpoint.
        from_seq: u64,
    },
    /// A checkpoint given to [`Verifier::finish`] of a streaming verifier
    /// ([`Verifier::with_checkpoints`]) at a size the stream had already passed: it could
    /// not be checked, which is reported rather than silently skipped.
    Unverifiable {
        /// The checkpoint's tree size.
        tree_size: u64,
    },
}

/// The first problem found, named for an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The entry it is about (for `Removed`, the first missing one; for `Truncated`, the
    /// first entry gone), if it names one.
    pub seq: Option<u64>,
    /// What was found.
    #[serde(flatten)]
    pub kind: ProblemKind,
    /// One sentence for the CLI and the admin endpoint.
    pub message: String,
}

impl Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// Checkpoints whose root matched.
    pub checkpoints: u64,
    /// Whether no problem was found.
    pub ok: bool,
    /// The first problem, if any.
    pub problem: Option<Problem>,
}

impl Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            None => write!(
                f,
                "audit log intact: {} entries chained, {} checkpoints match",
                self.entries, self.checkpoints
            ),
            Some(p) => write!(f, "audit log TAMPERED ({} entries read): {p}", self.entries),
        }
    }
}

/// A streaming verifier: [`push`](Self::push) entries in `seq` order, then
/// [`finish`](Self::finish).
#[derive(Debug, Clone)]
pub struct Verifier {
    entries: u64,
    last_seq: u64,
    last_hash: String,
    /// Leaves of the valid prefix of the log.
    acc: MerkleAccumulator,
    /// Kept only by [`Self::new`], whose checkpoints arrive at the end (32 bytes/entry).
    leaves: Option<Vec<Hash>>,
    /// Checkpoints still ahead of the stream, by tree size ascending.
    pending: VecDeque<Checkpoint>,
    /// Checkpoints already checked against the stream.
    passed: Vec<Checkpoint>,
    /// Checkpoints whose root matched.
    matched: u64,
    /// The largest tree size of a matching checkpoint.
    last_good: u64,
    problem: Option<Problem>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// A verifier that is given the checkpoints at [`finish`](Self::finish). It keeps
    /// each entry's 32-byte leaf hash until then (32 MB per million entries); prefer
    /// [`Self::with_checkpoints`] when the checkpoints can be read first.
    pub fn new() -> Self {
        Self::build(Some(Vec::new()), &[])
    }

    /// A verifier that knows the checkpoints up front and checks each as the stream
    /// passes its tree size, in O(log n) memory.
    pub fn with_checkpoints(checkpoints: &[Checkpoint]) -> Self {
        Self::build(None, checkpoints)
    }

    fn build(leaves: Option<Vec<Hash>>, checkpoints: &[Checkpoint]) -> Self {
        let mut sorted = checkpoints.to_vec();
        sorted.sort_by_key(|c| c.tree_size);
        let mut v = Self {
            entries: 0,
            last_seq: 0,
            last_hash: GENESIS_HASH.to_owned(),
            acc: MerkleAccumulator::new(),
            leaves,
            pending: sorted.into(),
            passed: Vec::new(),
            matched: 0,
            last_good: 0,
            problem: None,
        };
        v.check_reached();
        v
    }

    /// The first problem found so far; a caller paging through the log may stop reading
    /// once there is one.
    pub fn problem(&self) -> Option<&Problem> {
        self.problem.as_ref()
    }

    /// Checks the next entry of the log.
    pub fn push(&mut self, entry: &AuditEntry) {
        self.entries += 1;
        if self.problem.is_some() {
            return;
        }
        if let Err(p) = self.check_entry(entry) {
            self.problem = Some(p);
            return;
        }
        self.check_reached();
    }

    fn check_entry(&mut self, e: &AuditEntry) -> Result<(), Problem> {
        let (after, seq) = (self.last_seq, e.seq);
        let expected = after.saturating_add(1);
        if seq > expected {
            let missing = if seq - expected == 1 {
                format!("entry {expected} was removed")
            } else {
                format!("entries {expected} to {} were removed", seq - 1)
            };
            let context = if after == 0 {
                format!("the log starts at entry {seq}")
            } else {
                format!("entry {after} is followed by entry {seq}")
            };
            return Err(Problem {
                seq: Some(expected),
                kind: ProblemKind::Removed {
                    after_seq: after,
                    expected_seq: expected,
                    found_seq: seq,
                },
                message: format!("{missing}: {context}"),
            });
        }
        if seq < expected {
            let context = if after == 0 {
                "the log must start at entry 1".to_owned()
            } else {
                format!("it comes after entry {after}")
            };
            return Err(Problem {
                seq: Some(seq),
                kind: ProblemKind::Reordered { after_seq: after },
                message: format!("entry {seq} is out of order: {context}"),
            });
        }
        let recomputed = entry_hash(seq, &e.entry, &e.prev_hash);
        let leaf = match merkle::audit_leaf(&e.entry_hash) {
            Ok(leaf) if recomputed == e.entry_hash => leaf,
            _ => {
                return Err(Problem {
                    seq: Some(seq),
                    kind: ProblemKind::Altered,
                    message: format!(
                        "entry {seq} was altered: stored hash {} does not match its content \
                         (recomputed {})",
                        short(&e.entry_hash),
                        short(&recomputed)
                    ),
                });
            }
        };
        if e.prev_hash != self.last_hash {
            let message = if after == 0 {
                format!(
                    "entry {seq} does not start the chain: its previous hash {} is not the \
                     genesis hash (earlier entries were removed, or it was rewritten)",
                    short(&e.prev_hash)
                )
            } else {
                format!(
                    "entry {seq} does not link to entry {after}: its previous hash {} is not \
                     entry {after}'s hash {} (entry {after} was altered and re-hashed, or \
                     entries were removed and renumbered)",
                    short(&e.prev_hash),
                    short(&self.last_hash)
                )
            };
            return Err(Problem {
                seq: Some(seq),
                kind: ProblemKind::BrokenLink,
                message,
            });
        }
        self.acc.push(leaf);
        if let Some(leaves) = &mut self.leaves {
            leaves.push(leaf);
        }
        self.last_seq = seq;
        self.last_hash.clone_from(&e.entry_hash);
        Ok(())
    }

    /// Checks every pending checkpoint the stream has just reached.
    fn check_reached(&mut self) {
        while self.problem.is_none()
            && self
                .pending
                .front()
                .is_some_and(|c| c.tree_size <= self.acc.size())
        {
            let Some(cp) = self.pending.pop_front() else {
                break;
            };
            let root = self.acc.root();
            self.problem = self.compare(&cp, &root);
            self.passed.push(cp);
        }
    }

    /// Compares a checkpoint with the recomputed root at its size, counting a match.
    fn compare(&mut self, cp: &Checkpoint, root: &Hash) -> Option<Problem> {
        match merkle::from_hex(&cp.root_hash) {
            Ok(want) if want == *root => {
                self.matched += 1;
                self.last_good = self.last_good.max(cp.tree_size);
                None
            }
            _ => {
                let from_seq = (self.last_good + 1).min(cp.tree_size);
                Some(Problem {
                    seq: None,
                    kind: ProblemKind::CheckpointMismatch {
                        tree_size: cp.tree_size,
                        from_seq,
                    },
                    message: format!(
                        "checkpoint at tree size {} does not match the log: an entry in \
                         {from_seq} to {} was altered and the chain re-hashed (recomputed root \
                         {}, checkpoint {})",
                        cp.tree_size,
                        cp.tree_size,
                        short(&merkle::to_hex(root)),
                        short(&cp.root_hash)
                    ),
                })
            }
        }
    }

    fn truncated(&self, tree_size: u64) -> Problem {
        Problem {
            seq: Some(self.entries + 1),
            kind: ProblemKind::Truncated {
                tree_size,
                entries: self.entries,
            },
            message: format!(
                "the log was truncated: a checkpoint covers {tree_size} entries but the log \
                 has only {} (entries {} to {tree_size} are gone)",
                self.entries,
                self.entries + 1
            ),
        }
    }

    /// Ends the stream and checks the checkpoints: those given to
    /// [`Self::with_checkpoints`] that the stream did not reach, and `checkpoints` (for a
    /// verifier from [`Self::new`], all of them; for a streaming one, normally none — a
    /// repeat of one already checked is skipped).
    pub fn finish(mut self, checkpoints: &[Checkpoint]) -> VerifyReport {
        let mut extra: Vec<Checkpoint> = checkpoints
            .iter()
            .filter(|c| !self.passed.contains(c))
            .cloned()
            .collect();
        extra.extend(self.pending.drain(..));
        extra.sort_by_key(|c| c.tree_size);
        let valid = self.acc.size();
        let mut replay = MerkleAccumulator::new();
        for cp in &extra {
            if cp.tree_size > valid {
                if self.problem.is_none() {
                    self.problem = Some(self.truncated(cp.tree_size));
                }
                break;
            }
            let root = if let Some(leaves) = &self.leaves {
                // One pass over the kept leaves for every checkpoint, in size order.
                while replay.size() < cp.tree_size {
                    replay.push(leaves[replay.size() as usize]);
                }
                replay.root()
            } else if cp.tree_size == valid {
                self.acc.root()
            } else {
                if self.problem.is_none() {
                    self.problem = Some(Problem {
                        seq: None,
                        kind: ProblemKind::Unverifiable {
                            tree_size: cp.tree_size,
                        },
                        message: format!(
                            "checkpoint at tree size {} could not be checked: give it to \
                             the verifier before the entries",
                            cp.tree_size
                        ),
                    });
                }
                break;
            };
            if let Some(p) = self.compare(cp, &root) {
                // A mismatch inside the valid prefix comes before any chain problem.
                self.problem = Some(p);
                break;
            }
        }
        VerifyReport {
            entries: self.entries,
            checkpoints: self.matched,
            ok: self.problem.is_none(),
            problem: self.problem,
        }
    }
}

/// The first 8 characters of a hash, for messages.
fn short(hash: &str) -> String {
    let head: String = hash.chars().take(8).collect();
    if hash.chars().count() > 8 {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{NewAuditEntry, Outcome};
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;

    fn new_entry(i: u64) -> NewAuditEntry {
        NewAuditEntry {
            at: datetime!(2026-11-23 10:00:00 UTC) + Duration::seconds(i as i64),
            actor: format!("user-{i}"),
            action: "document.read".into(),
            target: Some(format!("doc-{i}")),
            outcome: Outcome::Success,
            ip: Some("192.0.2.7".into()),
            user_agent: None,
            request_id: Some(format!("req-{i}")),
            details: serde_json::json!({"n": i}),
        }
    }

    /// Re-chains `log` from position `from` on, as an attacker who can write every row.
    fn rechain(log: &mut [AuditEntry], from: usize) {
        for i in from..log.len() {
            let prev = if i == 0 {
                GENESIS_HASH.to_owned()
            } else {
                log[i - 1].entry_hash.clone()
            };
            log[i].prev_hash = prev;
            log[i].entry_hash = entry_hash(log[i].seq, &log[i].entry, &log[i].prev_hash);
        }
    }

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut log: Vec<AuditEntry> = (1..=n)
            .map(|seq| AuditEntry {
                seq,
                entry: new_entry(seq),
                prev_hash: String::new(),
                entry_hash: String::new(),
            })
            .collect();
        rechain(&mut log, 0);
        log
    }

    fn checkpoint(log: &[AuditEntry], tree_size: u64) -> Checkpoint {
        let leaves: Vec<Hash> = log[..tree_size as usize]
            .iter()
            .map(|e| merkle::audit_leaf(&e.entry_hash).expect("own hash"))
            .collect();
        Checkpoint {
            tree_size,
            root_hash: merkle::to_hex(&merkle::root(&leaves)),
            at: datetime!(2026-11-24 00:00 UTC),
        }
    }

    /// Verifies in both modes and checks that they agree.
    fn verify(log: &[AuditEntry], cps: &[Checkpoint]) -> VerifyReport {
        let mut kept = Verifier::new();
        let mut streamed = Verifier::with_checkpoints(cps);
        for e in log {
            kept.push(e);
            streamed.push(e);
        }
        let a = kept.finish(cps);
        let b = streamed.finish(&[]);
        assert_eq!(a, b, "both modes agree");
        a
    }

    fn kind(r: &VerifyReport) -> (Option<u64>, ProblemKind) {
        let p = r.problem.as_ref().expect("a problem");
        assert!(!r.ok);
        (p.seq, p.kind.clone())
    }

    #[test]
    fn intact_log_with_checkpoints_verifies() {
        let log = chain(20);
        let cps = [
            checkpoint(&log, 8),
            checkpoint(&log, 0),
            checkpoint(&log, 20),
        ];
        let r = verify(&log, &cps);
        assert_eq!(
            r,
            VerifyReport {
                entries: 20,
                checkpoints: 3,
                ok: true,
                problem: None
            }
        );
        assert_eq!(
            r.to_string(),
            "audit log intact: 20 entries chained, 3 checkpoints match"
        );
        assert!(verify(&[], &[]).ok);
    }

    #[test]
    fn altered_field_is_named_with_its_seq() {
        let mut log = chain(10);
        log[6].entry.outcome = Outcome::Failure;
        let r = verify(&log, &[]);
        assert_eq!(kind(&r), (Some(7), ProblemKind::Altered));
        let msg = r.problem.expect("problem").to_string();
        let stored = &log[6].entry_hash[..8];
        assert_eq!(
            msg.split(" (").next(),
            Some(
                format!("entry 7 was altered: stored hash {stored}… does not match its content")
                    .as_str()
            )
        );
    }

    #[test]
    fn deleted_entry_is_named_removed() {
        let mut log = chain(10);
        log.remove(4);
        let r = verify(&log, &[]);
        let want = ProblemKind::Removed {
            after_seq: 4,
            expected_seq: 5,
            found_seq: 6,
        };
        assert_eq!(kind(&r), (Some(5), want));
        assert_eq!(
            r.problem.expect("problem").message,
            "entry 5 was removed: entry 4 is followed by entry 6"
        );
        let mut log = chain(10);
        log.drain(0..3);
        let r = verify(&log, &[]);
        assert_eq!(
            r.problem.expect("problem").message,
            "entries 1 to 3 were removed: the log starts at entry 4"
        );
    }

    #[test]
    fn swapped_entries_are_named_at_the_first_break() {
        let mut log = chain(10);
        log.swap(2, 7);
        let r = verify(&log, &[]);
        let want = ProblemKind::Removed {
            after_seq: 2,
            expected_seq: 3,
            found_seq: 8,
        };
        assert_eq!(kind(&r), (Some(3), want));
    }

    #[test]
    fn repeated_or_backward_seq_is_reordered() {
        let mut log = chain(6);
        log.insert(4, log[2].clone());
        let r = verify(&log, &[]);
        assert_eq!(kind(&r), (Some(3), ProblemKind::Reordered { after_seq: 4 }));
        assert_eq!(
            r.problem.expect("problem").to_string(),
            "entry 3 is out of order: it comes after entry 4"
        );
        let mut log = chain(2);
        log[0].seq = 0;
        let r = verify(&log, &[]);
        assert_eq!(kind(&r), (Some(0), ProblemKind::Reordered { after_seq: 0 }));
    }

    #[test]
    fn rehashed_entry_breaks_the_next_link() {
        let mut log = chain(10);
        log[3].entry.actor = "someone-else".into();
        log[3].entry_hash = entry_hash(4, &log[3].entry, &log[3].prev_hash);
        let r = verify(&log, &[]);
        assert_eq!(kind(&r), (Some(5), ProblemKind::BrokenLink));
        assert!(r.to_string().contains("entry 5 does not link to entry 4"));
    }

    #[test]
    fn first_entry_must_follow_genesis() {
        let mut log = chain(3);
        log[0].prev_hash = "ab".repeat(32);
        rechain(&mut log[..], 1);
        log[0].entry_hash = entry_hash(1, &log[0].entry, &log[0].prev_hash);
        rechain(&mut log[1..], 1);
        let mut log2 = log.clone();
        log2[1].prev_hash = log2[0].entry_hash.clone();
        log2[1].entry_hash = entry_hash(2, &log2[1].entry, &log2[1].prev_hash);
        log2[2].prev_hash = log2[1].entry_hash.clone();
        log2[2].entry_hash = entry_hash(3, &log2[2].entry, &log2[2].prev_hash);
        let r = verify(&log2, &[]);
        assert_eq!(kind(&r), (Some(1), ProblemKind::BrokenLink));
        assert!(r.to_string().contains("does not start the chain"));
    }

    #[test]
    fn rewrite_with_full_rechain_passes_the_chain_but_not_the_checkpoint() {
        let mut log = chain(30);
        let cps = [checkpoint(&log, 10), checkpoint(&log, 25)];
        log[14].entry.details = serde_json::json!({"n": "forged"});
        rechain(&mut log, 14);
        assert!(verify(&log, &[]).ok, "the chain alone cannot see it");
        let r = verify(&log, &cps);
        assert_eq!(
            kind(&r),
            (
                None,
                ProblemKind::CheckpointMismatch {
                    tree_size: 25,
                    from_seq: 11
                }
            )
        );
        assert_eq!(r.checkpoints, 1);
        assert!(r.to_string().contains("an entry in 11 to 25 was altered"));
    }

    #[test]
    fn dropped_tail_below_a_checkpoint_is_truncated() {
        let mut log = chain(20);
        let cps = [checkpoint(&log, 5), checkpoint(&log, 18)];
        log.truncate(12);
        let r = verify(&log, &cps);
        assert_eq!(
            kind(&r),
            (
                Some(13),
                ProblemKind::Truncated {
                    tree_size: 18,
                    entries: 12
                }
            )
        );
        assert_eq!(r.checkpoints, 1);
        assert!(r.to_string().contains("entries 13 to 18 are gone"));
    }

    #[test]
    fn malformed_checkpoint_root_is_a_mismatch() {
        let log = chain(4);
        let mut cp = checkpoint(&log, 4);
        cp.root_hash = "zz".into();
        let r = verify(&log, &[cp]);
        assert!(matches!(
            kind(&r).1,
            ProblemKind::CheckpointMismatch { tree_size: 4, .. }
        ));
    }

    #[test]
    fn streaming_verifier_reports_a_checkpoint_it_could_not_check() {
        let log = chain(6);
        let mut v = Verifier::with_checkpoints(&[checkpoint(&log, 6)]);
        log.iter().for_each(|e| v.push(e));
        let r = v.finish(&[checkpoint(&log, 6), checkpoint(&log, 3)]);
        assert_eq!(kind(&r), (None, ProblemKind::Unverifiable { tree_size: 3 }));
    }

    #[test]
    fn verifier_stops_checking_after_the_first_problem_but_counts_entries() {
        let mut log = chain(10);
        log[1].entry.actor = "x".into();
        log[5].entry.actor = "y".into();
        let mut v = Verifier::new();
        for e in &log {
            v.push(e);
        }
        assert_eq!(v.problem().and_then(|p| p.seq), Some(2));
        let r = v.finish(&[]);
        assert_eq!(r.entries, 10);
        assert_eq!(r.problem.and_then(|p| p.seq), Some(2));
    }

    #[test]
    fn report_serialises_in_camel_case() {
        let mut log = chain(3);
        log.remove(1);
        let json = serde_json::to_value(verify(&log, &[])).expect("serialise");
        assert_eq!(
            json,
            serde_json::json!({
                "entries": 2, "checkpoints": 0, "ok": false,
                "problem": {
                    "seq": 2, "kind": "removed", "afterSeq": 1, "expectedSeq": 2,
                    "foundSeq": 3,
                    "message": "entry 2 was removed: entry 1 is followed by entry 3"
                }
            })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_single_tampering_is_caught_at_its_position(
            n in 2u64..40,
            k_frac in 0.0f64..1.0,
            how in 0u8..4,
        ) {
            let k = 1 + ((n - 1) as f64 * k_frac) as u64; // 1..=n
            let mut log = chain(n);
            let cps = [checkpoint(&log, n)];
            let i = (k - 1) as usize;
            let (want_seq, want_kind) = match how {
                0 => {
                    log[i].entry.action = "auth.logout".into();
                    (Some(k), ProblemKind::Altered)
                }
                1 => {
                    log.remove(i);
                    if k == n {
                        (Some(n), ProblemKind::Truncated { tree_size: n, entries: n - 1 })
                    } else {
                        (Some(k), ProblemKind::Removed {
                            after_seq: k - 1, expected_seq: k, found_seq: k + 1,
                        })
                    }
                }
                2 => {
                    log[i].entry.ip = Some("198.51.100.1".into());
                    rechain(&mut log, i);
                    (None, ProblemKind::CheckpointMismatch { tree_size: n, from_seq: 1 })
                }
                _ => {
                    let j = if k == n { i - 1 } else { i + 1 };
                    log.swap(i, j);
                    let first = i.min(j) as u64 + 1;
                    (Some(first), ProblemKind::Removed {
                        after_seq: first - 1, expected_seq: first, found_seq: first + 1,
                    })
                }
            };
            let r = verify(&log, &cps);
            let p = r.problem.expect("tampering is caught");
            prop_assert_eq!(p.seq, want_seq);
            prop_assert_eq!(p.kind, want_kind);
        }
    }
}
