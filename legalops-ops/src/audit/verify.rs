//! Verifying the audit log: every entry read in pages through core's streaming
//! [`Verifier`], against the checkpoints stored in the log and, optionally, checkpoints an
//! auditor kept outside the database. Memory stays constant in the log's length: the
//! verifier knows the checkpoints up front and keeps only a Merkle frontier.

use legalops_core::Result;
use legalops_core::audit::Checkpoint;
use legalops_core::audit::verify::{Verifier, VerifyReport};

use super::Auditor;
use super::checkpoint::PAGE;

impl Auditor {
    /// Recomputes the hash chain and the stored checkpoints; the report names the first
    /// entry altered, removed or reordered. `Err` only when the log cannot be read.
    pub async fn verify(&self) -> Result<VerifyReport> {
        self.verify_against(&[]).await
    }

    /// As [`Self::verify`], also checking `external`: checkpoints exported earlier and kept
    /// outside the database. One whose root no longer matches means the log was rewritten
    /// (chain and all); one beyond the log's end means it was cut short.
    pub async fn verify_against(&self, external: &[Checkpoint]) -> Result<VerifyReport> {
        let log = &self.inner.log;
        // An external checkpoint is trusted over a stored one of the same size: the stored
        // one may have been rewritten along with the chain.
        let mut checkpoints: Vec<Checkpoint> = log
            .checkpoints()
            .await?
            .into_iter()
            .filter(|c| !external.iter().any(|x| x.tree_size == c.tree_size))
            .collect();
        checkpoints.extend(external.iter().cloned());
        let mut verifier = Verifier::with_checkpoints(&checkpoints);
        let mut from = 1;
        loop {
            let page = log.entries(from, PAGE).await?;
            for e in &page {
                verifier.push(e);
            }
            let Some(last) = page.last() else { break };
            // A problem is final: the report names the first one, so reading on is waste.
            if verifier.problem().is_some() || (page.len() as u64) < PAGE {
                break;
            }
            from = last.seq.max(from) + 1;
        }
        Ok(verifier.finish(&[]))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use legalops_core::ManualClock;
    use legalops_core::audit::verify::ProblemKind;
    use legalops_core::audit::{AuditLog, Outcome};
    use time::macros::datetime;

    use super::super::testlog::TestLog;
    use super::*;

    async fn log_of(n: u64) -> (Auditor, Arc<TestLog>) {
        let log = Arc::new(TestLog::default());
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
        let a = Auditor::new(log.clone(), clock);
        for i in 0..n {
            a.event("document.read", Outcome::Success)
                .actor("u1")
                .target(format!("doc-{i}"))
                .record()
                .await
                .expect("recorded");
        }
        (a, log)
    }

    #[tokio::test]
    async fn a_clean_log_verifies() {
        let (a, _) = log_of(30).await;
        a.checkpoint().await.expect("checkpoint");
        let r = a.verify().await.expect("read");
        assert!(r.ok, "{r}");
        assert_eq!((r.entries, r.checkpoints), (30, 1));
        let empty = log_of(0).await.0.verify().await.expect("read");
        assert!(empty.ok && empty.entries == 0);
    }

    #[tokio::test]
    async fn an_entry_edited_in_place_is_named() {
        let (a, log) = log_of(20).await;
        log.tamper(7, |row| row.entry.actor = "someone-else".into());
        let r = a.verify().await.expect("read");
        assert!(!r.ok);
        let p = r.problem.expect("problem");
        assert_eq!(p.seq, Some(7));
        assert_eq!(p.kind, ProblemKind::Altered);
        assert!(p.message.contains("entry 7"), "{p}");
    }

    #[tokio::test]
    async fn a_removed_entry_is_named() {
        let (a, log) = log_of(10).await;
        log.remove(4);
        let p = a.verify().await.expect("read").problem.expect("problem");
        assert_eq!(p.seq, Some(4));
        assert!(matches!(
            p.kind,
            ProblemKind::Removed {
                expected_seq: 4,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn a_rewritten_chain_is_caught_by_an_external_checkpoint() {
        let (a, log) = log_of(12).await;
        a.checkpoint().await.expect("checkpoint");
        let kept_outside = a.export_checkpoints().await.expect("export");
        // The attacker edits entry 5, re-hashes the whole chain and the stored checkpoint.
        log.tamper(5, |row| row.entry.target = Some("doc-x".into()));
        let mut prev = legalops_core::audit::chain::GENESIS_HASH.to_owned();
        for seq in 1..=12 {
            log.tamper(seq, |row| {
                row.prev_hash.clone_from(&prev);
                row.entry_hash = legalops_core::audit::chain::entry_hash(seq, &row.entry, &prev);
                prev.clone_from(&row.entry_hash);
            });
        }
        let fake_root = {
            let leaves: Vec<_> = log
                .entries(1, 12)
                .await
                .expect("read")
                .iter()
                .map(|e| legalops_core::audit::merkle::audit_leaf(&e.entry_hash).expect("hex"))
                .collect();
            legalops_core::audit::merkle::to_hex(&legalops_core::audit::merkle::root(&leaves))
        };
        log.tamper_checkpoint(12, &fake_root);
        assert!(
            a.verify().await.expect("read").ok,
            "the database alone looks intact"
        );
        let r = a.verify_against(&kept_outside).await.expect("read");
        assert!(!r.ok);
        assert!(matches!(
            r.problem.expect("problem").kind,
            ProblemKind::CheckpointMismatch {
                tree_size: 12,
                from_seq: 1
            }
        ));
    }

    #[tokio::test]
    async fn a_log_cut_short_is_caught_by_its_checkpoint() {
        let (a, log) = log_of(8).await;
        a.checkpoint().await.expect("checkpoint");
        log.remove(8);
        let p = a.verify().await.expect("read").problem.expect("problem");
        assert!(matches!(
            p.kind,
            ProblemKind::Truncated {
                tree_size: 8,
                entries: 7
            }
        ));
    }

    #[tokio::test]
    async fn verification_reads_in_pages() {
        let (a, log) = log_of(PAGE + 5).await;
        let before = log.reads.load(std::sync::atomic::Ordering::SeqCst);
        let r = a.verify().await.expect("read");
        assert!(r.ok && r.entries == PAGE + 5);
        let reads = log.reads.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert_eq!(reads, 2);
        assert_eq!(log.len().await.expect("len"), PAGE + 5);
    }
}
