//! Conformance of [`LeaseStore`]: one holder at a time, expiry at exactly `now`, renewal,
//! release by the holder only, and atomicity under concurrent takers.

use std::time::Duration as StdDuration;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{BoxFuture, check, join_all, ok, unique};
use crate::alerting::LeaseStore;
use crate::error::Result;

/// Lease times fall on this day (2000-01-07); lease names are unique to the run.
const BASE: OffsetDateTime = datetime!(2000-01-07 00:00 UTC);

const TTL: StdDuration = StdDuration::from_secs(30);

fn at(seconds: i64, micros: i64) -> OffsetDateTime {
    BASE + Duration::seconds(seconds) + Duration::microseconds(micros)
}

/// Checks a [`LeaseStore`].
///
/// A lease never taken is `None`; a free lease is taken (`true`) and reported with its
/// holder and `now + ttl`; another holder is refused (`false`) while it is live, up to 1µs
/// before its expiry, and takes it at exactly its expiry; the holder renews (`true`, the
/// expiry moves to `now + ttl`); leases of other names are independent; release by a
/// non-holder changes nothing, release by the holder frees the lease at once. Eight takers
/// racing for a free lease, and eight for an expired one, at the same instant: exactly one
/// wins, and it is the one reported.
///
/// Lease names are unique to the run (`conf-<uuid>-...`), times fall on 2000-01-07.
pub async fn lease_store(store: &dyn LeaseStore) {
    let name = store.to_string();
    let name = name.as_str();
    check(name, !name.is_empty(), "Display names the store", name);
    let run = format!("conf-{}", unique());
    one_holder(store, &run).await;
    race(store, &format!("{run}-race-free"), None).await;
    race(store, &format!("{run}-race-expired"), Some("stale")).await;
}

async fn one_holder(store: &dyn LeaseStore, run: &str) {
    let name = store.to_string();
    let name = name.as_str();
    let lease = format!("{run}-evaluator");
    let (a, b) = (format!("{run}-replica-a"), format!("{run}-replica-b"));
    let ttl = Duration::seconds(30);
    let holds = |who: &str, until: OffsetDateTime| Some((who.to_owned(), until));

    let got = ok(name, "lease never taken", store.lease(&lease).await);
    check(name, got.is_none(), "a lease never taken is None", &got);
    let taken = ok(
        name,
        "try_acquire of a free lease",
        store.try_acquire(&lease, &a, TTL, at(0, 250)).await,
    );
    check(name, taken, "a free lease is taken", taken);
    let got = ok(name, "lease", store.lease(&lease).await);
    check(
        name,
        got == holds(&a, at(0, 250) + ttl),
        "lease reports the holder and now + ttl",
        &got,
    );

    let refused = ok(
        name,
        "try_acquire by another holder while live",
        store.try_acquire(&lease, &b, TTL, at(10, 0)).await,
    );
    check(
        name,
        !refused,
        "another holder is refused a live lease",
        refused,
    );
    let renewed = ok(
        name,
        "try_acquire by the holder (renewal)",
        store.try_acquire(&lease, &a, TTL, at(20, 1)).await,
    );
    check(name, renewed, "the holder renews its lease", renewed);
    let until = at(20, 1) + ttl;
    let got = ok(name, "lease after renewal", store.lease(&lease).await);
    check(
        name,
        got == holds(&a, until),
        "renewal moves the expiry to now + ttl",
        &got,
    );
    let refused = ok(
        name,
        "try_acquire by another holder 1µs before expiry",
        store
            .try_acquire(&lease, &b, TTL, until - Duration::microseconds(1))
            .await,
    );
    check(
        name,
        !refused,
        "a lease is live until its expiry (renewal extended it)",
        refused,
    );
    let got = ok(name, "lease after a refusal", store.lease(&lease).await);
    check(
        name,
        got == holds(&a, until),
        "a refused try_acquire changes nothing",
        &got,
    );

    let other = format!("{run}-scheduler");
    let independent = ok(
        name,
        "try_acquire of another lease name",
        store.try_acquire(&other, &b, TTL, at(21, 0)).await,
    );
    check(
        name,
        independent,
        "leases of other names are independent",
        independent,
    );

    let taken = ok(
        name,
        "try_acquire by another holder at exactly the expiry",
        store.try_acquire(&lease, &b, TTL, until).await,
    );
    check(name, taken, "a lease expired at now is taken", taken);
    let b_until = until + ttl;
    let got = ok(name, "lease after takeover", store.lease(&lease).await);
    check(
        name,
        got == holds(&b, b_until),
        "the new holder is reported",
        &got,
    );

    ok(
        name,
        "release by a non-holder",
        store.release(&lease, &a).await,
    );
    let got = ok(
        name,
        "lease after release by a non-holder",
        store.lease(&lease).await,
    );
    check(
        name,
        got == holds(&b, b_until),
        "release by a non-holder changes nothing",
        &got,
    );
    let refused = ok(
        name,
        "try_acquire after release by a non-holder",
        store.try_acquire(&lease, &a, TTL, until).await,
    );
    check(name, !refused, "the lease is still held", refused);

    ok(
        name,
        "release by the holder",
        store.release(&lease, &b).await,
    );
    let retaken = ok(
        name,
        "try_acquire after release",
        store.try_acquire(&lease, &a, TTL, until).await,
    );
    check(
        name,
        retaken,
        "a released lease is taken at once, before the old expiry",
        retaken,
    );
    let got = ok(name, "lease after release", store.lease(&lease).await);
    check(
        name,
        got == holds(&a, until + ttl),
        "the new holder is reported after release",
        &got,
    );
    for (l, h) in [(&lease, &a), (&other, &b)] {
        ok(name, "release (cleanup)", store.release(l, h).await);
    }
    ok(
        name,
        "release of a lease never taken",
        store.release(&format!("{run}-never"), &a).await,
    );
}

/// Eight holders try to take `lease` at the same instant; with `stale`, the lease is first
/// held by that holder and has expired at that instant.
async fn race(store: &dyn LeaseStore, lease: &str, stale: Option<&str>) {
    let name = store.to_string();
    let name = name.as_str();
    let now = at(100, 0);
    let what = if stale.is_some() {
        "an expired lease"
    } else {
        "a free lease"
    };
    if let Some(stale) = stale {
        let taken = ok(
            name,
            "try_acquire before the race",
            store
                .try_acquire(lease, stale, TTL, now - Duration::seconds(30))
                .await,
        );
        check(name, taken, "a free lease is taken", taken);
    }
    let holders: Vec<String> = (0..8).map(|i| format!("{lease}-holder-{i}")).collect();
    let tries: Vec<BoxFuture<'_, Result<bool>>> = holders
        .iter()
        .map(|h| store.try_acquire(lease, h, TTL, now))
        .collect();
    let results: Vec<bool> = join_all(tries)
        .await
        .into_iter()
        .map(|r| ok(name, format_args!("concurrent try_acquire of {what}"), r))
        .collect();
    let winners: Vec<&String> = holders
        .iter()
        .zip(&results)
        .filter_map(|(h, won)| won.then_some(h))
        .collect();
    check(
        name,
        winners.len() == 1,
        format_args!("exactly one of eight concurrent try_acquire of {what} wins"),
        &results,
    );
    let got = ok(name, "lease after the race", store.lease(lease).await);
    check(
        name,
        winners
            .first()
            .is_some_and(|w| got == Some(((*w).clone(), now + Duration::seconds(30)))),
        format_args!("the winner of the race for {what} is the holder reported"),
        (&winners, &got),
    );
    for h in &holders {
        ok(name, "release (cleanup)", store.release(lease, h).await);
    }
}
