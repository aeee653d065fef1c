//! Conformance of [`AlertStore`]: rule states and group states here (upserts that must
//! round-trip every field), silences and deliveries in `alert_log.rs`.

use std::collections::BTreeMap;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{check, ok, unique};
use crate::alerting::{AlertState, AlertStore, GroupState, RuleStateRecord};

/// The day every time written by this suite falls on (2000-01-05: nothing real uses it).
pub(super) const BASE: OffsetDateTime = datetime!(2000-01-05 00:00 UTC);

/// `BASE` plus `seconds` and `micros`: times with microseconds, the precision every
/// backend must keep.
pub(super) fn at(seconds: i64, micros: i64) -> OffsetDateTime {
    BASE + Duration::seconds(seconds) + Duration::microseconds(micros)
}

/// Checks an [`AlertStore`].
///
/// Rule states: `put_rule_states` upserts by rule name and round-trips every field (times
/// at microsecond precision, `value` finite or `None`, labels and annotations with unicode,
/// empty maps); `delete_rule_states` removes the named states and counts each once.
/// Group states: upsert by group key, every field; delete removes it, deleting an absent
/// group is success. Silences: round-trip, a taken id is `AlreadyExists`, listed newest
/// first by `created_at`; `expire_silence` moves `ends_at` back to `at` only when later,
/// `NotFound` for an unknown id. Deliveries: increasing ids (> 0), returned and listed with
/// every field, `at >= since`, newest first, a limit.
///
/// Keys are unique to the run (`conf-<uuid>-...`) and times fall on 2000-01-05, so it can
/// share a database with other data and run again and again; it leaves its silences and
/// deliveries (they cannot be deleted) and removes its rule and group states.
pub async fn alert_store(store: &dyn AlertStore) {
    let name = store.to_string();
    check(&name, !name.is_empty(), "Display names the store", &name);
    let run = format!("conf-{}", unique());
    rule_states(store, &run).await;
    group_states(store, &run).await;
    super::alert_log::silences(store, &run).await;
    super::alert_log::deliveries(store, &run).await;
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The run's rule states as stored, by rule name.
async fn stored_rules(
    store: &dyn AlertStore,
    run: &str,
    what: &str,
) -> BTreeMap<String, RuleStateRecord> {
    let name = store.to_string();
    ok(&name, what, store.rule_states().await)
        .into_iter()
        .filter(|r| r.rule.starts_with(run))
        .map(|r| (r.rule.clone(), r))
        .collect()
}

async fn rule_states(store: &dyn AlertStore, run: &str) {
    let name = store.to_string();
    let name = name.as_str();
    let rule = |n: &str| format!("{run}-rule-{n}");
    let firing = RuleStateRecord {
        rule: rule("firing"),
        state: AlertState::Firing,
        active_since: Some(at(1, 123_456)),
        firing_since: Some(at(61, 1)),
        last_true_at: Some(at(120, 999_999)),
        resolved_at: Some(at(0, 7)),
        evaluated_at: at(121, 500_000),
        // Not exactly representable in decimal: a text round trip must keep every bit.
        value: Some(0.1 + 0.2),
        labels: labels(&[
            ("alertname", "HighErrorRate"),
            ("severity", "critical"),
            ("team", "Ops ünïcödé ✓ 日本"),
        ]),
        annotations: labels(&[
            ("summary", "5xx rate 7.25% over 5 m — «ß»"),
            ("runbook", "https://example.invalid/runbook?a=1&b=\"2\""),
        ]),
    };
    let inactive = RuleStateRecord {
        rule: rule("inactive"),
        state: AlertState::Inactive,
        active_since: None,
        firing_since: None,
        last_true_at: None,
        resolved_at: None,
        evaluated_at: at(121, 0),
        value: None,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    };
    let pending = RuleStateRecord {
        rule: rule("pending"),
        state: AlertState::Pending,
        active_since: Some(at(100, 42)),
        value: Some(-1.5e-300),
        labels: labels(&[("alertname", "DiskFull"), ("instance", "db-1:9100")]),
        ..inactive.clone()
    };
    let resolved = RuleStateRecord {
        rule: rule("resolved"),
        state: AlertState::Resolved,
        resolved_at: Some(at(130, 1)),
        value: Some(12_345.678_901_234_567),
        ..firing.clone()
    };
    let batch = [
        firing.clone(),
        inactive.clone(),
        pending.clone(),
        resolved.clone(),
    ];
    ok(name, "put_rule_states", store.put_rule_states(&batch).await);
    let got = stored_rules(store, run, "rule_states").await;
    let want: BTreeMap<String, RuleStateRecord> =
        batch.iter().map(|r| (r.rule.clone(), r.clone())).collect();
    check(
        name,
        got == want,
        "rule_states returns every field as put (microsecond times, values, unicode maps)",
        &got,
    );

    // Upsert: the pending rule fires, the firing one resolves; the others are untouched.
    let fired = RuleStateRecord {
        state: AlertState::Firing,
        firing_since: Some(at(400, 250_001)),
        evaluated_at: at(400, 250_001),
        value: Some(f64::MAX),
        annotations: labels(&[("summary", "disk 99.5% full")]),
        ..pending.clone()
    };
    let cleared = RuleStateRecord {
        state: AlertState::Resolved,
        resolved_at: Some(at(400, 3)),
        value: None,
        ..firing.clone()
    };
    ok(
        name,
        "put_rule_states (upsert)",
        store
            .put_rule_states(&[fired.clone(), cleared.clone()])
            .await,
    );
    ok(
        name,
        "put_rule_states with no states",
        store.put_rule_states(&[]).await,
    );
    let got = stored_rules(store, run, "rule_states after upsert").await;
    let want: BTreeMap<String, RuleStateRecord> = [&cleared, &inactive, &fired, &resolved]
        .into_iter()
        .map(|r| (r.rule.clone(), r.clone()))
        .collect();
    check(
        name,
        got == want,
        "put_rule_states replaces a rule's state by name and keeps the others",
        &got,
    );

    let n = ok(
        name,
        "delete_rule_states",
        store
            .delete_rule_states(&[rule("firing"), rule("firing"), rule("never-stored")])
            .await,
    );
    check(
        name,
        n == 1,
        "delete_rule_states counts the states removed (a name given twice once, an unknown one not)",
        n,
    );
    let got = stored_rules(store, run, "rule_states after delete").await;
    check(
        name,
        got.len() == 3 && !got.contains_key(&rule("firing")),
        "delete_rule_states removes the named state only",
        got.keys().collect::<Vec<_>>(),
    );
    let rest: Vec<String> = got.into_keys().collect();
    let n = ok(
        name,
        "delete_rule_states (the rest)",
        store.delete_rule_states(&rest).await,
    );
    check(name, n == 3, "delete_rule_states of three states is 3", n);
    let n = ok(
        name,
        "delete_rule_states of nothing",
        store.delete_rule_states(&[]).await,
    );
    check(name, n == 0, "delete_rule_states of no names is 0", n);
    let got = stored_rules(store, run, "rule_states at the end").await;
    check(
        name,
        got.is_empty(),
        "no rule state of the run is left",
        &got,
    );
}

/// The run's group states as stored, by group key.
async fn stored_groups(
    store: &dyn AlertStore,
    run: &str,
    what: &str,
) -> BTreeMap<String, GroupState> {
    let name = store.to_string();
    ok(&name, what, store.group_states().await)
        .into_iter()
        .filter(|g| g.group_key.contains(run))
        .map(|g| (g.group_key.clone(), g))
        .collect()
}

async fn group_states(store: &dyn AlertStore, run: &str) {
    let name = store.to_string();
    let name = name.as_str();
    // Alertmanager's spelling of a group key: quotes, braces and a colon must survive.
    let key = |n: &str| format!("{{}}:{{alertname=\"{run}-{n}\", team=\"ops ✓\"}}");
    let new = GroupState {
        group_key: key("a"),
        first_seen_at: at(10, 654_321),
        last_notified_at: None,
        last_notified_hash: String::new(),
    };
    let other = GroupState {
        group_key: key("b"),
        first_seen_at: at(11, 0),
        last_notified_at: Some(at(41, 1)),
        last_notified_hash: "9f86d081884c7d65".to_owned(),
    };
    for g in [&new, &other] {
        ok(name, "put_group_state", store.put_group_state(g).await);
    }
    let got = stored_groups(store, run, "group_states").await;
    check(
        name,
        got.get(&new.group_key) == Some(&new) && got.get(&other.group_key) == Some(&other),
        "group_states returns every field as put",
        &got,
    );
    let notified = GroupState {
        last_notified_at: Some(at(40, 999_999)),
        last_notified_hash: "e3b0c44298fc1c14".to_owned(),
        ..new.clone()
    };
    ok(
        name,
        "put_group_state (upsert)",
        store.put_group_state(&notified).await,
    );
    let got = stored_groups(store, run, "group_states after upsert").await;
    check(
        name,
        got.len() == 2 && got.get(&new.group_key) == Some(&notified),
        "put_group_state replaces the state of its group key",
        &got,
    );
    ok(
        name,
        "delete_group_state",
        store.delete_group_state(&new.group_key).await,
    );
    let got = stored_groups(store, run, "group_states after delete").await;
    check(
        name,
        got.len() == 1 && got.get(&other.group_key) == Some(&other),
        "delete_group_state removes that group only",
        &got,
    );
    ok(
        name,
        "delete_group_state of an absent group (success)",
        store.delete_group_state(&new.group_key).await,
    );
    ok(
        name,
        "delete_group_state (cleanup)",
        store.delete_group_state(&other.group_key).await,
    );
    let got = stored_groups(store, run, "group_states at the end").await;
    check(
        name,
        got.is_empty(),
        "no group state of the run is left",
        &got,
    );
}
