//! What the SQL encodings must get right beyond the conformance suites: instants at
//! microsecond precision (bounds exactly at a microsecond, nanoseconds below it), audit
//! entries that re-hash the same after the round trip, and the ordering of ties. Each
//! function expects a fresh, empty store.

use legalops_core::Error;
use legalops_core::audit::{AuditLog, Checkpoint, chain};
use legalops_core::security::{
    Block, BlockSource, FailedLogin, Lockout, SecurityEvent, SecurityStore,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::audit::{entry, first_bad};

const T: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

fn us(n: i64) -> OffsetDateTime {
    T + Duration::microseconds(n)
}

/// Appends, reads back and checkpoints on an empty log.
pub async fn audit_log(log: &dyn AuditLog) {
    assert_eq!(log.len().await.expect("len"), 0);
    assert!(log.entries(0, 10).await.expect("entries").is_empty());
    let mut returned = Vec::new();
    for i in 0..3 {
        returned.push(log.append(&entry("a", i)).await.expect("append"));
    }
    assert_eq!(returned[0].prev_hash, chain::GENESIS_HASH);
    assert_eq!(
        returned[0].entry.at,
        datetime!(2026-11-23 10:00:00.123_456 UTC),
        "append stores and returns the time truncated to microseconds"
    );
    let stored = log.entries(0, u64::MAX).await.expect("entries from 0");
    assert_eq!(
        stored, returned,
        "entries return exactly what append returned"
    );
    assert_eq!(
        first_bad(&stored),
        None,
        "the stored entries re-hash the same"
    );
    assert_eq!(log.len().await.expect("len"), 3);
    let page = log.entries(2, 1).await.expect("a page");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
    assert!(log.entries(4, 10).await.expect("past the end").is_empty());
    assert!(log.entries(1, 0).await.expect("limit 0").is_empty());

    let cp = |size: u64, hex: &str| Checkpoint {
        tree_size: size,
        root_hash: hex.repeat(32),
        at: us(size as i64) + Duration::nanoseconds(999),
    };
    log.put_checkpoint(&cp(3, "bb"))
        .await
        .expect("checkpoint 3");
    log.put_checkpoint(&cp(1, "aa"))
        .await
        .expect("checkpoint 1");
    let dup = log.put_checkpoint(&cp(3, "cc")).await;
    assert!(matches!(dup, Err(Error::AlreadyExists { .. })), "{dup:?}");
    let got = log.checkpoints().await.expect("checkpoints");
    let sizes: Vec<(u64, OffsetDateTime)> = got.iter().map(|c| (c.tree_size, c.at)).collect();
    assert_eq!(
        sizes,
        [(1, us(1)), (3, us(3))],
        "ascending, at microseconds"
    );
    assert_eq!(
        got[1].root_hash,
        "bb".repeat(32),
        "a refused checkpoint changes nothing"
    );
}

fn attempt(at: OffsetDateTime, ip: &str, account: Option<&str>) -> FailedLogin {
    FailedLogin {
        at,
        ip: ip.to_owned(),
        account: account.map(str::to_owned),
        user_agent: None,
    }
}

/// Windows bounded exactly at a microsecond, ties, blocks at their expiry, lockouts and
/// events, on an empty store.
pub async fn security(store: &dyn SecurityStore) {
    let (a, b) = ("198.51.100.1", "198.51.100.2");
    for f in [
        attempt(us(0), a, Some("x@example.test")),
        attempt(us(1), a, Some("x@example.test")),
        attempt(us(1), b, Some("x@example.test")),
        attempt(us(2), b, None),
    ] {
        store.record_failed_login(&f).await.expect("record");
    }
    assert_eq!(store.count_failed_by_ip(a, us(0)).await.expect("count"), 2);
    assert_eq!(
        store.count_failed_by_ip(a, us(1)).await.expect("count"),
        1,
        "at == since counts"
    );
    let half = us(0) + Duration::nanoseconds(500);
    assert_eq!(
        store.count_failed_by_ip(a, half).await.expect("count"),
        1,
        "sub-microsecond bound"
    );
    assert_eq!(
        store
            .count_failed_by_account("x@example.test", us(1))
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .count_failed_by_account_ip("x@example.test", b, us(0))
            .await
            .expect("count"),
        1
    );
    let got = store.failed_logins(us(1), 10).await.expect("list");
    let order: Vec<(OffsetDateTime, &str)> = got.iter().map(|f| (f.at, f.ip.as_str())).collect();
    assert_eq!(
        order,
        [(us(2), b), (us(1), b), (us(1), a)],
        "newest first, ties newest-recorded first"
    );
    assert_eq!(store.failed_logins(us(0), 1).await.expect("list").len(), 1);
    assert_eq!(
        store.prune_failed_logins(half).await.expect("prune"),
        1,
        "strictly before"
    );
    assert_eq!(
        store.count_failed_by_ip(a, us(-10)).await.expect("count"),
        1
    );

    let block = |id: &str, expires: Option<i64>| Block {
        id: id.to_owned(),
        target: "192.0.2.7/32".to_owned(),
        reason: "6 failed logins in 15 min".to_owned(),
        source: BlockSource::Automatic,
        created_by: "system".to_owned(),
        created_at: us(0),
        expires_at: expires.map(us),
        lifted_at: None,
    };
    store
        .add_block(&block("b1", Some(10)))
        .await
        .expect("add b1");
    store.add_block(&block("b2", None)).await.expect("add b2");
    let dup = store.add_block(&block("b1", None)).await;
    assert!(matches!(dup, Err(Error::AlreadyExists { .. })), "{dup:?}");
    let ids = |v: Vec<Block>| v.into_iter().map(|b| b.id).collect::<Vec<_>>();
    let just_before = us(10) - Duration::nanoseconds(1);
    assert_eq!(
        ids(store.active_blocks(just_before).await.expect("active")),
        ["b1", "b2"]
    );
    assert_eq!(
        ids(store.active_blocks(us(10)).await.expect("active")),
        ["b2"],
        "ends at expires_at"
    );
    let late = store.lift_block("b1", us(10)).await;
    assert!(
        matches!(late, Err(Error::NotFound { .. })),
        "an expired block: {late:?}"
    );
    let lifted = store.lift_block("b2", us(5)).await.expect("lift b2");
    assert_eq!(lifted.lifted_at, Some(us(5)));
    let again = store.lift_block("b2", us(6)).await;
    assert!(
        matches!(again, Err(Error::NotFound { .. })),
        "lifted twice: {again:?}"
    );
    assert!(
        store
            .active_blocks(us(0))
            .await
            .expect("active")
            .iter()
            .all(|b| b.id != "b2")
    );
    let counted = store
        .count_blocks("192.0.2.7/32", BlockSource::Automatic)
        .await;
    assert_eq!(
        counted.expect("count"),
        2,
        "lifted and expired blocks count"
    );
    let manual = store
        .count_blocks("192.0.2.7/32", BlockSource::Manual)
        .await;
    assert_eq!(manual.expect("count"), 0);

    assert_eq!(
        store.get_lockout("x@example.test").await.expect("get"),
        None
    );
    let lockout = Lockout {
        account: "x@example.test".into(),
        until: us(900),
        level: 1,
    };
    store.put_lockout(&lockout).await.expect("put");
    let worse = Lockout {
        until: us(1800),
        level: 2,
        ..lockout.clone()
    };
    store.put_lockout(&worse).await.expect("replace");
    assert_eq!(
        store.get_lockout("x@example.test").await.expect("get"),
        Some(worse)
    );
    store.clear_lockout("x@example.test").await.expect("clear");
    store
        .clear_lockout("x@example.test")
        .await
        .expect("clear absent");
    assert_eq!(
        store.get_lockout("x@example.test").await.expect("get"),
        None
    );

    let event = |at: OffsetDateTime, kind: &str| SecurityEvent {
        id: 0,
        at,
        kind: kind.to_owned(),
        severity: "warning".to_owned(),
        ip: Some(a.to_owned()),
        account: None,
        message: "credential stuffing: 12 accounts from one IP".to_owned(),
        details: serde_json::json!({"accounts": 12, "window_s": 900.5}),
    };
    let e1 = store
        .record_event(&event(us(1), "one"))
        .await
        .expect("event");
    let e2 = store
        .record_event(&event(us(1), "two"))
        .await
        .expect("event");
    let e3 = store
        .record_event(&event(us(0), "three"))
        .await
        .expect("event");
    assert!(e1.id > 0 && e2.id > e1.id && e3.id > e2.id, "ids grow");
    let got = store
        .events(us(0) + Duration::nanoseconds(1), 10)
        .await
        .expect("events");
    assert_eq!(
        got,
        [e2.clone(), e1.clone()],
        "newest first, ties by id; bound exact"
    );
    assert_eq!(store.events(us(0), 1).await.expect("events"), [e2]);
}
