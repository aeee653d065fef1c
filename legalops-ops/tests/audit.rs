//! The audit engine over the in-memory records backend, through the public API only: what
//! an operator and an outside auditor do (record, checkpoint, export, verify, prove).

use std::sync::Arc;

use legalops_core::ManualClock;
use legalops_core::audit::Outcome;
use legalops_core::audit::merkle::{from_hex, verify_consistency, verify_inclusion};
use legalops_core::mem::MemoryRecords;
use legalops_core::records::Records;
use legalops_ops::audit::{Auditor, ConsistencyProof, InclusionProof, RequestMeta};
use time::macros::datetime;

fn auditor() -> (Auditor, ManualClock) {
    let clock = ManualClock::new(datetime!(2026-11-23 08:00 UTC));
    let records = Records::from_backend(Arc::new(MemoryRecords::new()));
    (Auditor::new(records.audit, Arc::new(clock.clone())), clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_checkpoints_and_proofs_agree_on_memory_records() {
    let (a, clock) = auditor();
    let meta = RequestMeta::new("198.51.100.4".parse().expect("ip")).with_request_id("r-9");
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (a, meta) = (a.clone(), meta.clone());
            tokio::spawn(async move {
                for i in 0..25 {
                    a.event("document.read", Outcome::Success)
                        .actor(format!("user-{w}"))
                        .target(format!("doc-{i}"))
                        .meta(&meta)
                        .detail("authorization", "Bearer should-never-be-stored")
                        .record()
                        .await
                        .expect("recorded");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer");
    }
    let first = a.checkpoint().await.expect("checkpoint").expect("grew");
    assert_eq!(first.tree_size, 200);
    clock.advance(std::time::Duration::from_secs(600));
    a.event("security.block_ip", Outcome::Success)
        .actor("system")
        .target("203.0.113.0/24")
        .emit()
        .await;
    let second = a.checkpoint().await.expect("checkpoint").expect("grew");
    assert_eq!(second.tree_size, 201);

    // What the operator ships elsewhere, and what an auditor later checks against.
    let shipped =
        serde_json::to_string(&a.export_checkpoints().await.expect("export")).expect("json");
    let kept: Vec<legalops_core::audit::Checkpoint> =
        serde_json::from_str(&shipped).expect("round trip");
    let report = a.verify_against(&kept).await.expect("verify");
    assert!(report.ok, "{report}");
    assert_eq!((report.entries, report.checkpoints), (201, 2));

    let p: InclusionProof = a.inclusion_proof(77, 200).await.expect("inclusion");
    assert_eq!(
        p.root, first.root_hash,
        "proved against the checkpoint the auditor holds"
    );
    let proof: Vec<_> = p.proof.iter().map(|h| from_hex(h).expect("hex")).collect();
    assert!(verify_inclusion(
        76,
        200,
        &from_hex(&p.leaf_hash).expect("hex"),
        &proof,
        &from_hex(&first.root_hash).expect("hex")
    ));
    let c: ConsistencyProof = a.consistency_proof(200, 201).await.expect("consistency");
    let proof: Vec<_> = c.proof.iter().map(|h| from_hex(h).expect("hex")).collect();
    assert!(verify_consistency(
        200,
        201,
        &from_hex(&first.root_hash).expect("hex"),
        &from_hex(&second.root_hash).expect("hex"),
        &proof
    ));

    let all = a.log().entries(1, 1000).await.expect("entries");
    let text = serde_json::to_string(&all).expect("json");
    assert!(!text.contains("should-never-be-stored"));
    assert!(
        all.iter()
            .all(|e| e.entry.request_id.as_deref() == Some("r-9") || e.seq == 201)
    );
}
