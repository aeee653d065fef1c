//! Conformance of the records family's shared parts: [`SettingStore`] and [`Database`]
//! (metric rollups are in `rollups.rs`).

use super::{BoxFuture, check, join_all, ok};
use crate::records::{Database, SettingStore};

/// Checks a [`SettingStore`]: absent is `None`, round trip, overwrite, idempotent delete,
/// values kept byte for byte, and `put_setting_if_absent` that sets once, never overwrites,
/// and lets exactly one of several concurrent callers win.
///
/// Uses only keys starting with `conformance.settings.`, deleting them first.
pub async fn settings(store: &dyn SettingStore) {
    let name = store.to_string();
    let name = name.as_str();
    let key = |s: &str| format!("conformance.settings.{s}");
    for s in ["a", "once", "race", "values"] {
        ok(
            name,
            format!("clearing {}", key(s)),
            store.delete_setting(&key(s)).await,
        );
    }

    let a = key("a");
    let got = ok(
        name,
        "get of an absent setting",
        store.get_setting(&a).await,
    );
    check(name, got.is_none(), "an absent setting is None", got);
    ok(name, "put_setting", store.put_setting(&a, "one").await);
    let got = ok(name, "get after put", store.get_setting(&a).await);
    check(
        name,
        got.as_deref() == Some("one"),
        "get returns what put stored",
        got,
    );
    ok(
        name,
        "put_setting over an existing value",
        store.put_setting(&a, "two").await,
    );
    let got = ok(name, "get after overwrite", store.get_setting(&a).await);
    check(
        name,
        got.as_deref() == Some("two"),
        "put_setting replaces the value",
        got,
    );
    ok(name, "delete_setting", store.delete_setting(&a).await);
    let got = ok(name, "get after delete", store.get_setting(&a).await);
    check(name, got.is_none(), "a deleted setting is None", got);
    ok(
        name,
        "delete_setting of an absent key (idempotent)",
        store.delete_setting(&a).await,
    );

    let once = key("once");
    let set = ok(
        name,
        "first put_setting_if_absent",
        store.put_setting_if_absent(&once, "first").await,
    );
    check(
        name,
        set,
        "put_setting_if_absent on an absent key returns true",
        set,
    );
    let set = ok(
        name,
        "second put_setting_if_absent",
        store.put_setting_if_absent(&once, "second").await,
    );
    check(
        name,
        !set,
        "put_setting_if_absent on a set key returns false",
        set,
    );
    let got = ok(
        name,
        "get after put_setting_if_absent",
        store.get_setting(&once).await,
    );
    check(
        name,
        got.as_deref() == Some("first"),
        "put_setting_if_absent never overwrites",
        got,
    );
    ok(
        name,
        "delete after put_setting_if_absent",
        store.delete_setting(&once).await,
    );
    let set = ok(
        name,
        "put_setting_if_absent after delete",
        store.put_setting_if_absent(&once, "third").await,
    );
    check(
        name,
        set,
        "a deleted key can be set again by put_setting_if_absent",
        set,
    );

    // Replicas starting together race for the admin token: exactly one may win.
    let race = key("race");
    let values: Vec<String> = (0..8).map(|i| format!("replica-{i}")).collect();
    let calls: Vec<BoxFuture<'_, crate::error::Result<bool>>> = values
        .iter()
        .map(|v| store.put_setting_if_absent(&race, v))
        .collect();
    let results = join_all(calls).await;
    let winners: Vec<&String> = results
        .into_iter()
        .zip(&values)
        .filter_map(|(r, v)| ok(name, "concurrent put_setting_if_absent", r).then_some(v))
        .collect();
    check(
        name,
        winners.len() == 1,
        "exactly one concurrent put_setting_if_absent wins",
        &winners,
    );
    let got = ok(name, "get after the race", store.get_setting(&race).await);
    check(
        name,
        got.as_ref() == winners.first().copied(),
        "the winner's value is stored",
        got,
    );

    let v = key("values");
    let long = "x".repeat(4096);
    for value in [
        "",
        "ünïcödé ✓ \"quoted\" 'single' \\ back\nslash\ttab",
        &long,
    ] {
        ok(
            name,
            "put_setting of an unusual value",
            store.put_setting(&v, value).await,
        );
        let got = ok(name, "get of an unusual value", store.get_setting(&v).await);
        check(
            name,
            got.as_deref() == Some(value),
            format_args!("value {value:.40?} round-trips exactly"),
            got,
        );
    }
}

/// Checks a [`Database`]: healthy, a stable non-negative schema version, and pool and query
/// figures that are consistent with themselves.
pub async fn database(db: &dyn Database) {
    let name = db.to_string();
    let name = name.as_str();
    check(name, !name.is_empty(), "Display names the backend", name);
    ok(name, "healthcheck", db.healthcheck().await);
    let v1 = ok(name, "schema_version", db.schema_version().await);
    let v2 = ok(name, "schema_version again", db.schema_version().await);
    check(
        name,
        v1 >= 0 && v1 == v2,
        "schema_version is non-negative and stable",
        (v1, v2),
    );

    let p = db.pool_stats();
    check(
        name,
        p.idle + p.in_use == p.size,
        "pool: idle + in_use == size",
        p,
    );
    check(name, p.max == 0 || p.size <= p.max, "pool: size <= max", p);

    let q = db.query_stats();
    let finite = |x: f64| x.is_finite() && x >= 0.0;
    check(
        name,
        finite(q.mean_ms) && finite(q.p95_ms),
        "query stats: mean and p95 are finite and >= 0",
        &q,
    );
    check(
        name,
        q.count > 0 || (q.mean_ms == 0.0 && q.slow.is_empty()),
        "query stats: no queries means zero figures",
        &q,
    );
    check(
        name,
        q.slow.windows(2).all(|w| w[0].at <= w[1].at),
        "slow queries are listed newest last",
        &q.slow,
    );
    check(
        name,
        q.slow.iter().all(|s| finite(s.duration_ms)),
        "slow query durations are finite",
        &q.slow,
    );
    let again = db.query_stats();
    check(
        name,
        again.count >= q.count,
        "the query count never goes down",
        (q.count, again.count),
    );
}
