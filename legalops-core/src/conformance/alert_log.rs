//! The append-mostly half of the [`AlertStore`] suite: silences (round trip, newest first,
//! expiry) and the delivery log (ids, `at >= since`, newest first, a limit).

use time::Duration;

use super::alert_store::at;
use super::{check, ok};
use crate::alerting::{AlertStore, Delivery, MatchOp, Matcher, Silence};
use crate::error::Error;

fn matcher(name: &str, op: MatchOp, value: &str) -> Matcher {
    Matcher {
        name: name.to_owned(),
        op,
        value: value.to_owned(),
    }
}

pub(super) async fn silences(store: &dyn AlertStore, run: &str) {
    let name = store.to_string();
    let name = name.as_str();
    let silence = |n: &str, created: i64| Silence {
        id: format!("{run}-silence-{n}"),
        matchers: vec![
            matcher("alertname", MatchOp::Equal, &format!("{run}-Disk ✓")),
            matcher("instance", MatchOp::NotEqual, ""),
            matcher("team", MatchOp::Regex, "ops|db-.*"),
            matcher("env", MatchOp::NotRegex, "staging|dev"),
        ],
        starts_at: at(created + 60, 123_456),
        ends_at: at(created + 3_600, 654_321),
        created_by: "ann@example.com".to_owned(),
        comment: format!("maintenance «{n}» — ünïcödé, \"quoted\""),
        created_at: at(created, 1),
    };
    // Stored out of creation order: the listing follows created_at.
    let (first, third, second) = (silence("1", 0), silence("3", 20), silence("2", 10));
    let plain = Silence {
        matchers: vec![matcher("alertname", MatchOp::Equal, "x")],
        comment: String::new(),
        ..second.clone()
    };
    for s in [&first, &third, &plain] {
        ok(name, "put_silence", store.put_silence(s).await);
    }
    assert_kind!(
        name,
        store.put_silence(&second).await,
        Error::AlreadyExists { .. },
        "put_silence with a taken id"
    );
    let all = ok(name, "silences", store.silences().await);
    check(
        name,
        all.windows(2).all(|w| w[0].created_at >= w[1].created_at),
        "silences lists newest first by created_at",
        all.iter().map(|s| s.created_at).collect::<Vec<_>>(),
    );
    let ours: Vec<&Silence> = all.iter().filter(|s| s.id.starts_with(run)).collect();
    check(
        name,
        ours == [&third, &plain, &first],
        "silences returns every field as put (the first of a taken id kept), newest first",
        &ours,
    );

    // Expire the active-or-pending one at a time before its end: the end moves back.
    let when = at(25, 5);
    let expired = ok(
        name,
        "expire_silence",
        store.expire_silence(&third.id, when).await,
    );
    let want = Silence {
        ends_at: when,
        ..third.clone()
    };
    check(
        name,
        expired == want,
        "expire_silence sets ends_at = at and returns the silence",
        &expired,
    );
    let later = ok(
        name,
        "expire_silence again, later",
        store
            .expire_silence(&third.id, when + Duration::hours(1))
            .await,
    );
    check(
        name,
        later == want,
        "expire_silence of an expired silence keeps its end",
        &later,
    );
    let exact = ok(
        name,
        "expire_silence at its end",
        store.expire_silence(&first.id, first.ends_at).await,
    );
    check(
        name,
        exact == first,
        "expire_silence at exactly ends_at changes nothing",
        &exact,
    );
    assert_kind!(
        name,
        store
            .expire_silence(&format!("{run}-silence-never"), when)
            .await,
        Error::NotFound { .. },
        "expire_silence of an unknown id"
    );
    let all = ok(name, "silences after expiry", store.silences().await);
    let ours: Vec<&Silence> = all.iter().filter(|s| s.id.starts_with(run)).collect();
    check(
        name,
        ours == [&want, &plain, &first],
        "silences shows the expiry and nothing else changed",
        &ours,
    );
}

pub(super) async fn deliveries(store: &dyn AlertStore, run: &str) {
    let name = store.to_string();
    let name = name.as_str();
    let since = at(1_000, 0);
    let tick = Duration::microseconds(1);
    let delivery = |at, n: u64, ok: bool| Delivery {
        id: 0,
        at,
        group_key: format!("{{}}:{{alertname=\"{run}\"}}"),
        channel: format!("slack #ops-ünïcödé {n}"),
        status: if n.is_multiple_of(2) {
            "firing"
        } else {
            "resolved"
        }
        .to_owned(),
        alerts: n,
        attempts: u32::try_from(n).unwrap_or(u32::MAX) + 1,
        ok,
        error: (!ok).then(|| format!("HTTP 503 after {n} attempts «retry»")),
    };
    // Recorded out of time order: ids follow recording, the listing follows time.
    let written = [
        delivery(since - tick, 1, true),
        delivery(since, 2, false),
        delivery(since + Duration::seconds(2) + tick * 7, 3, true),
        delivery(since + Duration::seconds(1), 4, false),
    ];
    let mut stored: Vec<Delivery> = Vec::new();
    for d in &written {
        let got = ok(name, "record_delivery", store.record_delivery(d).await);
        check(
            name,
            got == Delivery {
                id: got.id,
                ..d.clone()
            },
            "record_delivery returns the delivery as given, with its id",
            &got,
        );
        check(
            name,
            got.id > 0 && stored.last().is_none_or(|p| got.id > p.id),
            "record_delivery assigns increasing ids from 1",
            (stored.last().map(|p| p.id), got.id),
        );
        stored.push(got);
    }

    // Newer deliveries of other runs may list first: judge the whole list, then ours.
    let all = ok(name, "deliveries", store.deliveries(since, 1_000_000).await);
    check(
        name,
        all.iter().all(|d| d.at >= since) && all.windows(2).all(|w| w[0].at >= w[1].at),
        "deliveries lists only `at >= since`, newest first",
        all.iter().map(|d| (d.id, d.at)).collect::<Vec<_>>(),
    );
    let key = &written[0].group_key;
    let ours: Vec<&Delivery> = all.iter().filter(|d| &d.group_key == key).collect();
    check(
        name,
        ours == [&stored[2], &stored[3], &stored[1]],
        "deliveries returns every field, newest first; one at `since` is listed, one 1µs before is not",
        &ours,
    );
    let two = ok(
        name,
        "deliveries with a limit",
        store.deliveries(since, 2).await,
    );
    let times = |v: &[Delivery]| v.iter().map(|d| d.at).collect::<Vec<_>>();
    check(
        name,
        times(&two) == times(&all[..all.len().min(2)]),
        "deliveries with limit n returns the n newest",
        &two,
    );
    let none = ok(
        name,
        "deliveries with limit 0",
        store.deliveries(since, 0).await,
    );
    check(
        name,
        none.is_empty(),
        "deliveries with limit 0 is empty",
        &none,
    );
}
