//! Conformance of [`RollupStore`]: per-minute metric rollups, the stored trends.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{check, ok};
use crate::metrics::{Labels, Rollup};
use crate::records::RollupStore;

/// A fixed day in the past that only this suite writes to, so that pruning it cannot touch
/// real trends in a shared database.
const BASE: OffsetDateTime = datetime!(2000-01-01 00:00 UTC);

fn minute(n: i64) -> OffsetDateTime {
    BASE + Duration::minutes(n)
}

fn rollup(name: &str, host: &str, n: i64, count: u64) -> Rollup {
    let labels: Labels = [
        ("host".to_owned(), host.to_owned()),
        ("région".to_owned(), "eu \"1\"".to_owned()),
    ]
    .into();
    Rollup {
        name: name.to_owned(),
        labels,
        minute: minute(n),
        count,
        sum: count as f64 * 1.5,
        min: Some(-2.25),
        max: Some(1e9),
    }
}

/// Checks a [`RollupStore`]: round trip of every field, `from <= minute < to` oldest first,
/// filtering by name, one rollup per (name, labels, minute) however often it is written,
/// and prune counts.
///
/// Writes only whole minutes of 2000-01-01 (SQL backends keep microseconds at best, so
/// minutes compare exactly) and clears that day first with `prune_rollups`.
pub async fn rollups(store: &dyn RollupStore) {
    let name = store.to_string();
    let name = name.as_str();
    let end = BASE + Duration::days(1);
    ok(
        name,
        "clearing with prune_rollups",
        store.prune_rollups(end).await,
    );
    let (cpu, mem) = ("legalops_conformance_cpu", "legalops_conformance_mem");

    ok(
        name,
        "put_rollups of an empty batch",
        store.put_rollups(&[]).await,
    );
    // Written out of order, to prove the read sorts.
    let mut written = vec![
        rollup(cpu, "a", 2, 3),
        rollup(cpu, "a", 0, 1),
        rollup(cpu, "a", 1, 2),
    ];
    written.push(Rollup {
        labels: Labels::new(),
        min: None,
        max: None,
        ..rollup(cpu, "", 3, 0)
    });
    ok(name, "put_rollups", store.put_rollups(&written).await);
    ok(
        name,
        "put_rollups of another metric",
        store.put_rollups(&[rollup(mem, "a", 1, 9)]).await,
    );

    let got = ok(
        name,
        "rollups over the whole day",
        store.rollups(cpu, BASE, end).await,
    );
    let mut expected = written.clone();
    expected.sort_by_key(|r| r.minute);
    check(
        name,
        got == expected,
        "rollups returns every field as written, oldest first, only the named metric",
        &got,
    );

    let got = ok(
        name,
        "rollups of [minute 1, minute 2)",
        store.rollups(cpu, minute(1), minute(2)).await,
    );
    let minutes: Vec<_> = got.iter().map(|r| r.minute).collect();
    check(
        name,
        minutes == [minute(1)],
        "`from` is inclusive and `to` exclusive",
        &minutes,
    );
    let got = ok(
        name,
        "rollups of an empty range",
        store.rollups(cpu, minute(1), minute(1)).await,
    );
    check(
        name,
        got.is_empty(),
        "a range with from == to is empty",
        &got,
    );
    let got = ok(
        name,
        "rollups of an unknown metric",
        store.rollups("legalops_conformance_none", BASE, end).await,
    );
    check(
        name,
        got.is_empty(),
        "an unknown metric has no rollups",
        &got,
    );

    // A retried write must not double-count; a corrected one replaces.
    ok(
        name,
        "writing the same rollups again",
        store.put_rollups(&written).await,
    );
    let corrected = rollup(cpu, "a", 1, 20);
    ok(
        name,
        "replacing one rollup",
        store.put_rollups(std::slice::from_ref(&corrected)).await,
    );
    let got = ok(
        name,
        "rollups after rewriting",
        store.rollups(cpu, BASE, end).await,
    );
    check(
        name,
        got.len() == written.len(),
        "writing a rollup again does not duplicate it",
        &got,
    );
    let at1: Vec<_> = got.iter().filter(|r| r.minute == minute(1)).collect();
    check(
        name,
        at1 == [&corrected],
        "a rewritten rollup replaces the stored one",
        &at1,
    );

    // Same minute, other labels: another series, kept side by side.
    ok(
        name,
        "a rollup of another label set",
        store.put_rollups(&[rollup(cpu, "b", 1, 7)]).await,
    );
    let got = ok(
        name,
        "rollups of one minute",
        store.rollups(cpu, minute(1), minute(2)).await,
    );
    check(
        name,
        got.len() == 2,
        "rollups of the same minute with other labels are distinct",
        &got,
    );

    // Stored now: cpu at minutes 0, 1 (x2), 2, 3 and mem at minute 1.
    let pruned = ok(
        name,
        "prune_rollups before minute 2",
        store.prune_rollups(minute(2)).await,
    );
    check(
        name,
        pruned == 4,
        "prune_rollups counts the rollups strictly older than `before`",
        pruned,
    );
    let got = ok(
        name,
        "rollups after prune",
        store.rollups(cpu, BASE, end).await,
    );
    let minutes: Vec<_> = got.iter().map(|r| r.minute).collect();
    check(
        name,
        minutes == [minute(2), minute(3)],
        "prune keeps rollups at or after `before`",
        &minutes,
    );
    let pruned = ok(
        name,
        "prune_rollups again",
        store.prune_rollups(minute(2)).await,
    );
    check(name, pruned == 0, "pruning again removes nothing", pruned);
    ok(
        name,
        "clearing after the suite",
        store.prune_rollups(end).await,
    );
}
