//! Conformance of [`SecurityStore`]'s blocks and security events (part of
//! [`super::security`]).

use time::{Duration, OffsetDateTime};

use super::security::{BASE, Run};
use super::{check, ok};
use crate::error::Error;
use crate::security::{Block, BlockSource, SecurityEvent, SecurityStore};

fn at(seconds: i64) -> OffsetDateTime {
    BASE + Duration::seconds(seconds)
}

/// Blocks: active at `now` unless lifted or expired at `now`, lifting, `count_blocks`.
/// Every block the suite adds is lifted or expired on 2000-01-04, so none stays in force.
pub(super) async fn blocks(store: &dyn SecurityStore, run: &Run) {
    let name = store.to_string();
    let name = name.as_str();
    // Blocks are permanent, so their targets carry the run's 64 random bits: an IPv4
    // address from a /15 could repeat across runs and spoil the exact counts.
    let one = format!("{}/128", run.ip6);
    let net = run.net6.clone();
    let block = |id: &str, target: &str, source: BlockSource, expires: Option<i64>| Block {
        id: format!("conf-{}-{id}", run.id),
        target: target.to_owned(),
        reason: format!("conformance «{id}»: 6 failed logins in 15 min"),
        source,
        created_by: "system".to_owned(),
        created_at: at(0),
        expires_at: expires.map(at),
        lifted_at: None,
    };
    let manual = Block {
        created_by: "admin-token".to_owned(),
        ..block("manual", &one, BlockSource::Manual, None)
    };
    let long = block("long", &net, BlockSource::Automatic, Some(600));
    let short = block("short", &net, BlockSource::Automatic, Some(300));
    for b in [&manual, &long, &short] {
        ok(
            name,
            format!("add_block {}", b.id),
            store.add_block(b).await,
        );
    }
    let ours = |v: Vec<Block>| {
        let mut v: Vec<Block> = v
            .into_iter()
            .filter(|b| b.target == one || b.target == net)
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let active = |now: OffsetDateTime| async move {
        let all = ok(name, "active_blocks", store.active_blocks(now).await);
        check(
            name,
            all.iter().all(|b| b.is_active(now)),
            "active_blocks returns only blocks in force at `now`",
            &all,
        );
        ours(all)
    };

    let got = active(at(60)).await;
    check(
        name,
        got == [long.clone(), manual.clone(), short.clone()],
        "active_blocks returns every block in force with every field",
        &got,
    );
    let got = active(at(300)).await;
    check(
        name,
        got == [long.clone(), manual.clone()],
        "a block is not in force at its expires_at",
        &got,
    );

    let lifted = ok(
        name,
        "lift_block",
        store.lift_block(&manual.id, at(360)).await,
    );
    let want = Block {
        lifted_at: Some(at(360)),
        ..manual.clone()
    };
    check(
        name,
        lifted == want,
        "lift_block returns the block with lifted_at set",
        &lifted,
    );
    let got = active(at(420)).await;
    check(
        name,
        got == [long.clone()],
        "a lifted block is not in force",
        &got,
    );
    let got = store.lift_block(&manual.id, at(480)).await;
    assert_kind!(
        name,
        got,
        Error::NotFound { .. },
        "lift_block of a lifted block"
    );
    let got = store.lift_block(&short.id, at(480)).await;
    assert_kind!(
        name,
        got,
        Error::NotFound { .. },
        "lift_block of an expired block"
    );
    let got = store
        .lift_block(&format!("conf-{}-absent", run.id), at(480))
        .await;
    assert_kind!(
        name,
        got,
        Error::NotFound { .. },
        "lift_block of an absent id"
    );
    let got = active(at(480)).await;
    check(
        name,
        got == [long.clone()],
        "a refused lift changes nothing",
        &got,
    );

    let counts = [
        (
            "count_blocks(network, automatic)",
            store.count_blocks(&net, BlockSource::Automatic).await,
            2,
        ),
        (
            "count_blocks(address, manual)",
            store.count_blocks(&one, BlockSource::Manual).await,
            1,
        ),
        (
            "count_blocks(address, automatic)",
            store.count_blocks(&one, BlockSource::Automatic).await,
            0,
        ),
        (
            "count_blocks(network, manual)",
            store.count_blocks(&net, BlockSource::Manual).await,
            0,
        ),
    ];
    for (what, got, want) in counts {
        let got = ok(name, what, got);
        check(
            name,
            got == want,
            format_args!("{what} == {want} (lifted and expired blocks count)"),
            got,
        );
    }
    let got = active(at(600)).await;
    check(
        name,
        got.is_empty(),
        "every block the suite added is out of force",
        &got,
    );
}

/// Events: ids increase, newest first by time, `at >= since`, a limit, fields round-trip.
pub(super) async fn events(store: &dyn SecurityStore, run: &Run) {
    let name = store.to_string();
    let name = name.as_str();
    let kind = format!("conformance_{}", run.id);
    let since = at(7200);
    let tick = Duration::microseconds(1);
    let event = |at: OffsetDateTime, severity: &str| SecurityEvent {
        id: 0,
        at,
        kind: kind.clone(),
        severity: severity.to_owned(),
        ip: Some(run.ip6.clone()),
        account: Some(run.account.clone()),
        message: format!("conformance event at {at} «ü»"),
        details: serde_json::json!({"failures": 6, "window": {"minutes": 15}, "ips": [run.ip4, run.ip6]}),
    };
    // Recorded out of time order: ids follow recording, the listing follows time.
    let written = [
        event(since - tick, "info"),
        event(since, "warning"),
        event(since + Duration::seconds(2), "critical"),
        SecurityEvent {
            ip: None,
            account: None,
            details: serde_json::Value::Null,
            ..event(since + Duration::seconds(1), "info")
        },
    ];
    let mut stored: Vec<SecurityEvent> = Vec::new();
    for e in &written {
        let got = ok(name, "record_event", store.record_event(e).await);
        check(
            name,
            got == SecurityEvent {
                id: got.id,
                ..e.clone()
            },
            "record_event returns the event as written, with its id",
            &got,
        );
        check(
            name,
            got.id > 0 && stored.last().is_none_or(|p| got.id > p.id),
            "record_event assigns increasing ids from 1",
            (stored.last().map(|p| p.id), got.id),
        );
        stored.push(got);
    }

    let all = ok(name, "events", store.events(since, 1_000_000).await);
    check(
        name,
        all.iter().all(|e| e.at >= since) && all.windows(2).all(|w| w[0].at >= w[1].at),
        "events lists only `at >= since`, newest first",
        all.iter().map(|e| (e.id, e.at)).collect::<Vec<_>>(),
    );
    let ours: Vec<&SecurityEvent> = all.iter().filter(|e| e.kind == kind).collect();
    let want = [&stored[2], &stored[3], &stored[1]];
    check(
        name,
        ours == want,
        "events returns every field, newest first; one at `since` is listed, one 1µs before is not",
        &ours,
    );
    let two = ok(name, "events with a limit", store.events(since, 2).await);
    let times = |v: &[SecurityEvent]| v.iter().map(|e| e.at).collect::<Vec<_>>();
    check(
        name,
        times(&two) == times(&all[..all.len().min(2)]),
        "events with limit n returns the n newest",
        &two,
    );
}
