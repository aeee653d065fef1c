//! Audit-trail checks shared by the SQLite and PostgreSQL tests: recomputing the chain from
//! what a store returns, and appending from several stores (replicas) at once.

use std::sync::Arc;

use legalops_core::audit::{AuditEntry, AuditLog, NewAuditEntry, Outcome, chain};
use time::macros::datetime;

/// A distinct entry: a nanosecond time (the store keeps microseconds), text that needs
/// escaping, and nested details with a float, a big integer and unsorted keys.
pub fn entry(replica: &str, i: usize) -> NewAuditEntry {
    NewAuditEntry {
        at: datetime!(2026-11-23 10:00:00.123_456_789 UTC) + time::Duration::milliseconds(i as i64),
        actor: format!("user-{replica}"),
        action: "document.read".into(),
        target: Some(format!("doc/{i}\n\"quoted\" «ü»")),
        outcome: if i.is_multiple_of(3) {
            Outcome::Denied
        } else {
            Outcome::Success
        },
        ip: Some("2001:db8::7".into()),
        user_agent: i.is_multiple_of(2).then(|| "Mozilla/5.0".to_owned()),
        request_id: Some(format!("req-{replica}-{i}")),
        details: serde_json::json!({
            "z": [1.5, 0.1, {"b": null, "a": true}],
            "big": u64::MAX,
            "replica": replica,
            "i": i,
        }),
    }
}

/// The first entry whose position, link or hash does not verify when recomputed with
/// `chain::entry_hash` from what the store returned; `None` for an intact chain.
pub fn first_bad(entries: &[AuditEntry]) -> Option<u64> {
    let mut prev = chain::GENESIS_HASH.to_owned();
    for (i, e) in entries.iter().enumerate() {
        let recomputed = chain::entry_hash(e.seq, &e.entry, &e.prev_hash);
        if e.seq != i as u64 + 1 || e.prev_hash != prev || recomputed != e.entry_hash {
            return Some(e.seq);
        }
        prev = e.entry_hash.clone();
    }
    None
}

/// Appends `per_task` entries from each of `tasks` tasks on each of `logs` at once, and
/// checks that the log is one contiguous, valid chain holding every entry exactly once.
pub async fn append_concurrently(logs: &[Arc<dyn AuditLog>], tasks: usize, per_task: usize) {
    let before = logs[0].len().await.expect("len before");
    let mut handles = Vec::new();
    for (r, log) in logs.iter().enumerate() {
        for t in 0..tasks {
            let log = log.clone();
            handles.push(tokio::spawn(async move {
                let mut stored = Vec::new();
                for i in 0..per_task {
                    let e = entry(&format!("r{r}t{t}"), i);
                    stored.push(log.append(&e).await.expect("concurrent append"));
                }
                stored
            }));
        }
    }
    let mut returned = Vec::new();
    for h in handles {
        returned.extend(h.await.expect("appender task"));
    }
    let total = (logs.len() * tasks * per_task) as u64;
    assert_eq!(logs[0].len().await.expect("len after"), before + total);
    let all = logs[1 % logs.len()]
        .entries(1, u64::MAX)
        .await
        .expect("entries");
    assert_eq!(all.len() as u64, before + total);
    assert_eq!(first_bad(&all), None, "one contiguous valid chain");
    // Every append got the position it reported, and every position is someone's.
    returned.sort_by_key(|e| e.seq);
    assert_eq!(returned.as_slice(), &all[before as usize..]);
}
