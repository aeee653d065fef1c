//! What the SQL encodings of the alerting tables must get right beyond the conformance
//! suites: microsecond instants, the ordering of ties, batch semantics, the lease's expiry
//! boundary, and leases taken by several replicas at once. The single-store functions
//! expect a fresh, empty store.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use legalops_core::Error;
use legalops_core::alerting::{
    AlertState, AlertStore, Delivery, GroupState, LeaseStore, MatchOp, Matcher, RuleStateRecord,
    Silence,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T: OffsetDateTime = datetime!(2026-04-01 09:00:00 UTC);

fn rule(name: &str, state: AlertState, value: Option<f64>) -> RuleStateRecord {
    RuleStateRecord {
        rule: name.to_owned(),
        state,
        active_since: Some(T),
        firing_since: (state == AlertState::Firing).then_some(T + Duration::minutes(5)),
        // Nanoseconds below the microsecond are dropped by the store.
        last_true_at: Some(T + Duration::nanoseconds(1_500)),
        resolved_at: None,
        evaluated_at: T + Duration::minutes(6),
        value,
        labels: [("alertname", name), ("severity", "critical"), ("ü", "✓")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        annotations: [("summary".to_owned(), format!("{name}: \"quoted\"\n"))].into(),
    }
}

fn silence(id: &str, created: OffsetDateTime) -> Silence {
    Silence {
        id: id.to_owned(),
        matchers: vec![
            Matcher {
                name: "alertname".into(),
                op: MatchOp::Regex,
                value: "Disk.*".into(),
            },
            Matcher {
                name: "instance".into(),
                op: MatchOp::NotEqual,
                value: String::new(),
            },
        ],
        starts_at: T,
        ends_at: T + Duration::hours(2),
        created_by: "ann".into(),
        comment: "maintenance".into(),
        created_at: created,
    }
}

fn delivery(at: OffsetDateTime, channel: &str) -> Delivery {
    Delivery {
        id: 0,
        at,
        group_key: "{}:{alertname=\"Disk\"}".into(),
        channel: channel.to_owned(),
        status: "firing".into(),
        alerts: 3,
        attempts: 4,
        ok: false,
        error: Some("HTTP 500".into()),
    }
}

/// Rule states, silences, group states and deliveries on an empty store.
pub async fn alert_store(store: &dyn AlertStore) {
    assert!(store.rule_states().await.expect("states").is_empty());
    let a = rule("A", AlertState::Pending, None);
    let b = rule("B", AlertState::Firing, Some(f64::INFINITY));
    store
        .put_rule_states(&[b.clone(), a.clone()])
        .await
        .expect("put");
    let got = store.rule_states().await.expect("states");
    let mut want_b = b.clone();
    want_b.last_true_at = Some(T + Duration::microseconds(1));
    let mut want_a = a.clone();
    want_a.last_true_at = want_b.last_true_at;
    assert_eq!(got, [want_a.clone(), want_b.clone()], "by rule name, at µs");

    // An upsert replaces; a bad batch stores nothing, not even its good states.
    let a2 = rule("A", AlertState::Firing, Some(-0.25));
    let bad = rule("", AlertState::Inactive, None);
    let err = store.put_rule_states(&[a2.clone(), bad]).await;
    assert!(
        matches!(err, Err(Error::InvalidInput { ref field, .. }) if field == "rule_state.rule"),
        "{err:?}"
    );
    assert_eq!(store.rule_states().await.expect("states")[0], want_a);
    store
        .put_rule_states(std::slice::from_ref(&a2))
        .await
        .expect("upsert");
    let got = store.rule_states().await.expect("states");
    assert_eq!(
        (got[0].state, got[0].value, got.len()),
        (AlertState::Firing, Some(-0.25), 2)
    );
    let nan = rule("C", AlertState::Inactive, Some(f64::NAN));
    store.put_rule_states(&[nan]).await.expect("NaN is no data");
    let got = store.rule_states().await.expect("states");
    assert_eq!(got[2].value, None, "NaN is stored as no data");
    let removed = store
        .delete_rule_states(&["A".into(), "A".into(), "nope".into(), "C".into()])
        .await
        .expect("delete");
    assert_eq!(removed, 2, "a name given twice counts once");
    assert_eq!(store.delete_rule_states(&[]).await.expect("none"), 0);
    assert_eq!(store.rule_states().await.expect("states"), [want_b]);

    // Silences: newest first, ties by id descending; ids unique; expiring keeps earlier ends.
    for (id, created) in [("s-a", T), ("s-c", T + Duration::seconds(1)), ("s-b", T)] {
        store
            .put_silence(&silence(id, created))
            .await
            .expect("silence");
    }
    let dup = store.put_silence(&silence("s-a", T)).await;
    assert!(matches!(dup, Err(Error::AlreadyExists { .. })), "{dup:?}");
    let ids: Vec<String> = store
        .silences()
        .await
        .expect("silences")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, ["s-c", "s-b", "s-a"]);
    let at = T + Duration::minutes(30) + Duration::nanoseconds(999);
    let expired = store.expire_silence("s-a", at).await.expect("expire");
    assert_eq!(
        expired.ends_at,
        T + Duration::minutes(30),
        "rounded down to µs"
    );
    assert_eq!(expired.matchers, silence("s-a", T).matchers);
    let again = store
        .expire_silence("s-a", T + Duration::hours(1))
        .await
        .expect("expire again");
    assert_eq!(
        again.ends_at, expired.ends_at,
        "an expired silence keeps its end"
    );
    let missing = store.expire_silence("nope", T).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );

    // Group states: upsert by key, delete (absent is fine).
    let g = GroupState {
        group_key: "{}:{alertname=\"Disk\"}".into(),
        first_seen_at: T,
        last_notified_at: None,
        last_notified_hash: String::new(),
    };
    store.put_group_state(&g).await.expect("group");
    let notified = GroupState {
        last_notified_at: Some(T + Duration::seconds(30)),
        last_notified_hash: "ab12".into(),
        ..g.clone()
    };
    store
        .put_group_state(&notified)
        .await
        .expect("group upsert");
    assert_eq!(store.group_states().await.expect("groups"), [notified]);
    store
        .delete_group_state(&g.group_key)
        .await
        .expect("delete");
    store.delete_group_state(&g.group_key).await.expect("again");
    assert!(store.group_states().await.expect("groups").is_empty());

    // Deliveries: ids grow; newest first, ties newest-stored first; since and limit.
    let mut ids = Vec::new();
    for (at, channel) in [(T, "one"), (T + Duration::seconds(5), "two"), (T, "three")] {
        let stored = store
            .record_delivery(&delivery(at, channel))
            .await
            .expect("record");
        assert_eq!(
            stored,
            Delivery {
                id: stored.id,
                ..delivery(at, channel)
            }
        );
        ids.push(stored.id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let all: Vec<String> = store
        .deliveries(T, 10)
        .await
        .expect("deliveries")
        .into_iter()
        .map(|d| d.channel)
        .collect();
    assert_eq!(all, ["two", "three", "one"]);
    let since = store
        .deliveries(T + Duration::nanoseconds(1), 10)
        .await
        .expect("since");
    assert_eq!(since.len(), 1, "a bound just after T excludes T");
    assert_eq!(store.deliveries(T, 2).await.expect("limit").len(), 2);
    assert!(store.deliveries(T, 0).await.expect("limit 0").is_empty());
    let huge = Delivery {
        alerts: u64::MAX,
        ..delivery(T, "huge")
    };
    let err = store.record_delivery(&huge).await;
    assert!(matches!(err, Err(Error::InvalidInput { .. })), "{err:?}");
}

/// One lease taken, refused, renewed, expired, released.
pub async fn leases(store: &dyn LeaseStore) {
    let ttl = StdDuration::from_secs(30);
    let s = |n: i64| T + Duration::seconds(n);
    assert_eq!(store.lease("evaluator").await.expect("lease"), None);
    assert!(
        store
            .try_acquire("evaluator", "a", ttl, s(0))
            .await
            .expect("free")
    );
    assert!(
        !store
            .try_acquire("evaluator", "b", ttl, s(29))
            .await
            .expect("held")
    );
    assert_eq!(
        store.lease("evaluator").await.expect("lease"),
        Some(("a".to_owned(), s(30))),
        "a refused attempt changes nothing"
    );
    assert!(
        store
            .try_acquire("evaluator", "a", ttl, s(10))
            .await
            .expect("renew")
    );
    let just_before = s(40) - Duration::microseconds(1);
    assert!(
        !store
            .try_acquire("evaluator", "b", ttl, just_before)
            .await
            .expect("held")
    );
    assert!(
        store
            .try_acquire("evaluator", "b", ttl, s(40))
            .await
            .expect("expired"),
        "a lease expired at now is free"
    );
    assert!(
        store
            .try_acquire("other", "a", ttl, s(40))
            .await
            .expect("another name")
    );
    store
        .release("evaluator", "a")
        .await
        .expect("release by a non-holder");
    assert_eq!(
        store.lease("evaluator").await.expect("lease").map(|l| l.0),
        Some("b".to_owned())
    );
    let err = store
        .try_acquire("evaluator", "b", StdDuration::MAX, s(41))
        .await;
    assert!(
        matches!(err, Err(Error::InvalidInput { ref field, .. }) if field == "ttl"),
        "{err:?}"
    );
    store.release("evaluator", "b").await.expect("release");
    assert_eq!(store.lease("evaluator").await.expect("lease"), None);
    assert!(
        store
            .try_acquire("evaluator", "c", ttl, s(41))
            .await
            .expect("free again")
    );
}

/// `contenders` holders, spread over `replicas`, race for each of `rounds` free leases at
/// once; exactly one wins each, and the store names the winner.
pub async fn lease_race(replicas: &[Arc<dyn LeaseStore>], rounds: usize, contenders: usize) {
    let run = uuid::Uuid::new_v4().simple().to_string();
    for round in 0..rounds {
        let name = format!("race-{run}-{round}");
        let tasks: Vec<_> = (0..contenders)
            .map(|i| {
                let store = replicas[i % replicas.len()].clone();
                let name = name.clone();
                tokio::spawn(async move {
                    let holder = format!("replica-{i}");
                    let won = store
                        .try_acquire(&name, &holder, StdDuration::from_secs(30), T)
                        .await
                        .expect("try_acquire");
                    (holder, won)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            let (holder, won) = t.await.expect("task");
            if won {
                winners.push(holder);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let held = replicas[0].lease(&name).await.expect("lease").map(|l| l.0);
        assert_eq!(held.as_ref(), winners.first(), "round {round}");
    }
}
