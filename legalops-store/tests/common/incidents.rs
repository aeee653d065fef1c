//! The built-in tracker against its model: every action applied to a SQL tracker and to
//! `MemoryTracker` gives the same result (incident, ids and timeline included, or the same
//! error), so the two cannot drift. And triggers racing from several replicas.

use std::sync::Arc;

use legalops_core::incidents::{
    Incident, IncidentSeverity, IncidentStatus, IncidentTracker, Trigger,
};
use legalops_core::mem::MemoryTracker;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T: OffsetDateTime = datetime!(2026-04-01 09:00:00 UTC);

/// One tracker action.
#[derive(Debug, Clone)]
pub enum Op {
    Trigger(usize, IncidentSeverity),
    Ack(usize),
    Resolve(usize),
    Note(usize),
    SetStatus(u64, IncidentStatus),
    Get(u64),
    ListOpen,
    ListRecent(i64, u64),
}

/// What an action returned, comparable across trackers (errors by their message).
#[derive(Debug, PartialEq)]
pub enum Outcome {
    One(Incident),
    Many(Vec<Incident>),
    Err(String),
}

pub fn trigger(key: &str, severity: IncidentSeverity, at: OffsetDateTime) -> Trigger {
    Trigger {
        dedup_key: key.to_owned(),
        summary: format!("{key} is down"),
        source: "alerting".to_owned(),
        severity,
        component: Some("db".to_owned()),
        details: serde_json::json!({ "value": 7.5, "labels": { "b": "1", "a": "2" } }),
        at,
    }
}

/// Applies `op` (the `n`th) with keys from `keys`; minutes apart, with every third action
/// at the same instant as the one before, so that ties in time are exercised too.
pub async fn apply(tracker: &dyn IncidentTracker, keys: &[&str], n: usize, op: &Op) -> Outcome {
    let at = T + Duration::minutes((n - n / 3) as i64);
    let key = |k: &usize| keys[*k % keys.len()];
    let one = |r: legalops_core::Result<Incident>| match r {
        Ok(i) => Outcome::One(i),
        Err(e) => Outcome::Err(e.to_string()),
    };
    let many = |r: legalops_core::Result<Vec<Incident>>| match r {
        Ok(v) => Outcome::Many(v),
        Err(e) => Outcome::Err(e.to_string()),
    };
    match op {
        Op::Trigger(k, s) => one(tracker.trigger(&trigger(key(k), *s, at)).await),
        Op::Ack(k) => one(tracker.acknowledge(key(k), "ann", at).await),
        Op::Resolve(k) => one(tracker.resolve(key(k), "bob", at).await),
        Op::Note(k) => one(tracker.note(key(k), "ann", "looking «ü»", at).await),
        Op::SetStatus(id, s) => one(tracker.set_status(&format!("INC-{id}"), *s, "cy", at).await),
        Op::Get(id) => one(tracker.get(&format!("INC-{id}")).await),
        Op::ListOpen => many(tracker.list_open().await),
        Op::ListRecent(minutes, limit) => many(
            tracker
                .list_recent(T + Duration::minutes(*minutes), *limit)
                .await,
        ),
    }
}

/// Applies `ops` to `tracker` (fresh) and to a fresh `MemoryTracker`, asserting that each
/// gives the same outcome.
pub async fn matches_memory(tracker: &dyn IncidentTracker, ops: &[Op]) {
    let model = MemoryTracker::new();
    let keys = ["db", "api", "disk"];
    for (n, op) in ops.iter().enumerate() {
        let want = apply(&model, &keys, n, op).await;
        let got = apply(tracker, &keys, n, op).await;
        assert_eq!(got, want, "{tracker}: action {n}: {op:?}");
    }
}

/// A script through every action, error and transition, for [`matches_memory`].
pub fn script() -> Vec<Op> {
    use IncidentSeverity::*;
    use IncidentStatus::*;
    vec![
        Op::Ack(0),
        Op::Note(0),
        Op::Trigger(0, Sev3),
        Op::Trigger(0, Sev1),
        Op::Trigger(0, Sev4),
        Op::Trigger(1, Sev2),
        Op::Ack(0),
        Op::Ack(0),
        Op::SetStatus(1, Triggered),
        Op::Ack(0),
        Op::SetStatus(1, Investigating),
        Op::Note(0),
        Op::SetStatus(1, Closed),
        Op::SetStatus(9, Resolved),
        Op::ListOpen,
        Op::Resolve(0),
        Op::Resolve(0),
        Op::Note(0),
        Op::Trigger(0, Sev2),
        Op::Get(1),
        Op::Get(3),
        Op::Get(4),
        Op::SetStatus(1, Reviewing),
        Op::SetStatus(1, Closed),
        Op::SetStatus(1, Triggered),
        Op::SetStatus(2, Resolved),
        Op::Trigger(2, Sev4),
        Op::ListOpen,
        Op::ListRecent(0, 10),
        Op::ListRecent(0, 2),
        Op::ListRecent(12, 10),
        Op::ListRecent(0, 0),
    ]
}

/// `per_replica` triggers of one dedup key from each replica at once: one open incident
/// counts them all; once resolved, a second race opens exactly one new incident.
pub async fn trigger_race(replicas: &[Arc<dyn IncidentTracker>], per_replica: usize) {
    let key = format!("race-{}", uuid::Uuid::new_v4().simple());
    for round in 0..2 {
        let tasks: Vec<_> = (0..per_replica * replicas.len())
            .map(|i| {
                let tracker = replicas[i % replicas.len()].clone();
                let t = trigger(
                    &key,
                    IncidentSeverity::Sev2,
                    T + Duration::seconds(i as i64),
                );
                tokio::spawn(async move { tracker.trigger(&t).await.expect("trigger") })
            })
            .collect();
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.expect("task").id);
        }
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            1,
            "round {round}: every trigger joined one incident"
        );
        let open: Vec<Incident> = replicas[0]
            .list_open()
            .await
            .expect("list_open")
            .into_iter()
            .filter(|i| i.dedup_key == key)
            .collect();
        assert_eq!(open.len(), 1, "round {round}: one open incident");
        let total = (per_replica * replicas.len()) as u64;
        assert_eq!(open[0].trigger_count, total, "round {round}");
        assert_eq!(open[0].timeline.len() as u64, total, "round {round}");
        assert_eq!(open[0].id, ids[0]);
        replicas[1 % replicas.len()]
            .resolve(&key, "race", T + Duration::hours(1))
            .await
            .expect("resolve");
    }
}
