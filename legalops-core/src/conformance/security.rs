//! Conformance of [`SecurityStore`]: failed logins and lockouts here, blocks and events in
//! `security_blocks.rs`; [`security`] runs both.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{check, ok, unique};
use crate::security::{FailedLogin, Lockout, SecurityStore};

/// Security state's times: a fixed past day that only this suite writes to, so that
/// pruning it cannot touch real failed logins, and nothing the suite leaves behind (an
/// expired block, an old event) is in force or shown as recent.
pub(super) const BASE: OffsetDateTime = datetime!(2000-01-04 00:00 UTC);

/// Addresses and accounts unique to one run: the counts are exact whatever else is stored.
pub(super) struct Run {
    /// Unique id of the run.
    pub id: String,
    /// An IPv4 address from the benchmarking range 198.18.0.0/15.
    pub ip4: String,
    /// An IPv6 address from the documentation range, 64 random bits in its prefix.
    pub ip6: String,
    /// The /64 of `ip6`, canonical.
    pub net6: String,
    /// An account (email) unique to the run.
    pub account: String,
}

impl Run {
    pub(super) fn new() -> Self {
        let id = unique();
        // `unique()` is 32 hex digits, so every slice parses.
        let hex = |r: std::ops::Range<usize>| u16::from_str_radix(&id[r], 16).unwrap_or(0);
        let ip4 = std::net::Ipv4Addr::new(
            198,
            18 + (hex(0..1) % 2) as u8,
            hex(1..3) as u8,
            hex(3..5) as u8,
        );
        let (a, b, c, d) = (hex(5..9), hex(9..13), hex(13..17), hex(17..21));
        let ip6 = std::net::Ipv6Addr::new(0x2001, 0xdb8, a, b, c, d, 0, 1);
        Self {
            // Display gives the canonical text forms the engine stores.
            ip4: ip4.to_string(),
            ip6: ip6.to_string(),
            net6: format!(
                "{}/64",
                std::net::Ipv6Addr::new(0x2001, 0xdb8, a, b, 0, 0, 0, 0)
            ),
            account: format!("conf-{id}@example.test"),
            id,
        }
    }
}

/// Checks a [`SecurityStore`]: failed logins (the three counts bound by `at >= since` to
/// the microsecond, the listing newest first with a limit, every field round-trips, prune
/// counts), lockouts (absent is `None`, put replaces, clear is idempotent), blocks (active
/// at `now` unless lifted or expired at `now`, lifting returns the block and is `NotFound`
/// for a block not in force, `count_blocks` counts lifted and expired ones) and events
/// (ids increase, newest first, `at >= since`, a limit).
///
/// Writes only times of 2000-01-04, with addresses and accounts unique to the run, and
/// clears that day's failed logins first with `prune_failed_logins`.
pub async fn security(store: &dyn SecurityStore) {
    let run = Run::new();
    failed_logins(store, &run).await;
    lockouts(store, &run).await;
    super::security_blocks::blocks(store, &run).await;
    super::security_blocks::events(store, &run).await;
}

fn at(seconds: i64) -> OffsetDateTime {
    BASE + Duration::seconds(seconds)
}

async fn failed_logins(store: &dyn SecurityStore, run: &Run) {
    let name = store.to_string();
    let name = name.as_str();
    let day_end = BASE + Duration::days(1);
    ok(
        name,
        "clearing with prune_failed_logins",
        store.prune_failed_logins(day_end).await,
    );
    let (ip4, ip6, acct) = (run.ip4.as_str(), run.ip6.as_str(), run.account.as_str());
    let other = format!("conf-{}-other@example.test", run.id);
    let since = at(60);
    let tick = Duration::microseconds(1);
    let f = |at: OffsetDateTime, ip: &str, account: Option<&str>| FailedLogin {
        at,
        ip: ip.to_owned(),
        account: account.map(str::to_owned),
        user_agent: None,
    };
    let recorded = [
        f(since - tick, ip6, Some(acct)),
        f(since, ip6, Some(acct)),
        f(at(61), ip6, None),
        f(at(62), ip4, Some(acct)),
        f(at(63), ip6, Some(&other)),
        FailedLogin {
            user_agent: Some("python-requests/2.32 «ü»".to_owned()),
            ..f(at(64), ip6, Some(acct))
        },
    ];
    // Recorded out of time order, to prove the listing sorts.
    for i in [1, 0, 3, 2, 5, 4] {
        ok(
            name,
            "record_failed_login",
            store.record_failed_login(&recorded[i]).await,
        );
    }

    let counts = [
        (
            "count_failed_by_ip(ipv6, since)",
            store.count_failed_by_ip(ip6, since).await,
            4,
        ),
        (
            "count_failed_by_ip(ipv6, since - 1µs)",
            store.count_failed_by_ip(ip6, since - tick).await,
            5,
        ),
        (
            "count_failed_by_ip(ipv4, since)",
            store.count_failed_by_ip(ip4, since).await,
            1,
        ),
        (
            "count_failed_by_ip after the last",
            store.count_failed_by_ip(ip6, at(65)).await,
            0,
        ),
        (
            "count_failed_by_account(since)",
            store.count_failed_by_account(acct, since).await,
            3,
        ),
        (
            "count_failed_by_account(since - 1µs)",
            store.count_failed_by_account(acct, since - tick).await,
            4,
        ),
        (
            "count_failed_by_account of another",
            store.count_failed_by_account(&other, since).await,
            1,
        ),
        (
            "count_failed_by_account_ip(ipv6, since)",
            store.count_failed_by_account_ip(acct, ip6, since).await,
            2,
        ),
        (
            "count_failed_by_account_ip(ipv6, since - 1µs)",
            store
                .count_failed_by_account_ip(acct, ip6, since - tick)
                .await,
            3,
        ),
        (
            "count_failed_by_account_ip(ipv4, since)",
            store.count_failed_by_account_ip(acct, ip4, since).await,
            1,
        ),
        (
            "count_failed_by_account_ip of another pair",
            store.count_failed_by_account_ip(&other, ip4, since).await,
            0,
        ),
    ];
    for (what, got, want) in counts {
        let got = ok(name, what, got);
        check(
            name,
            got == want,
            format_args!(
                "{what} == {want} (an attempt at `since` counts, one 1µs before does not)"
            ),
            got,
        );
    }

    // Newer real attempts (if any) list first: judge the whole list, then the run's part.
    let all = ok(
        name,
        "failed_logins",
        store.failed_logins(since, 1_000_000).await,
    );
    check(
        name,
        all.iter().all(|x| x.at >= since) && all.windows(2).all(|w| w[0].at >= w[1].at),
        "failed_logins lists only `at >= since`, newest first",
        all.iter().map(|x| x.at).collect::<Vec<_>>(),
    );
    let ours: Vec<&FailedLogin> = all.iter().filter(|x| x.ip == ip4 || x.ip == ip6).collect();
    let want: Vec<&FailedLogin> = recorded[1..].iter().rev().collect();
    check(
        name,
        ours == want,
        "failed_logins returns every field, newest first",
        &ours,
    );
    let two = ok(
        name,
        "failed_logins with a limit",
        store.failed_logins(since, 2).await,
    );
    let times = |v: &[FailedLogin]| v.iter().map(|x| x.at).collect::<Vec<_>>();
    check(
        name,
        times(&two) == times(&all[..all.len().min(2)]),
        "failed_logins with limit n returns the n newest",
        &two,
    );

    // Stored now: 6 attempts at seconds 60 (minus 1µs) to 64 of the day.
    let n = ok(
        name,
        "prune_failed_logins",
        store.prune_failed_logins(at(62)).await,
    );
    check(
        name,
        n == 3,
        "prune_failed_logins removes the attempts older than `before`",
        n,
    );
    let n = ok(
        name,
        "count after prune",
        store.count_failed_by_account(acct, BASE).await,
    );
    check(
        name,
        n == 2,
        "pruned attempts no longer count; one at `before` is kept",
        n,
    );
    let n = ok(
        name,
        "prune_failed_logins again",
        store.prune_failed_logins(at(62)).await,
    );
    check(name, n == 0, "pruning again removes nothing", n);
    let n = ok(
        name,
        "clearing after the suite",
        store.prune_failed_logins(day_end).await,
    );
    check(
        name,
        n == 3,
        "prune_failed_logins counts every removed attempt",
        n,
    );
}

async fn lockouts(store: &dyn SecurityStore, run: &Run) {
    let name = store.to_string();
    let name = name.as_str();
    let acct = run.account.as_str();
    let other = format!("conf-{}-other@example.test", run.id);
    let got = ok(
        name,
        "get_lockout of an absent account",
        store.get_lockout(acct).await,
    );
    check(
        name,
        got.is_none(),
        "an account without a lockout has None",
        got,
    );
    let first = Lockout {
        account: acct.to_owned(),
        until: at(900),
        level: 1,
    };
    ok(name, "put_lockout", store.put_lockout(&first).await);
    let got = ok(name, "get_lockout", store.get_lockout(acct).await);
    check(
        name,
        got.as_ref() == Some(&first),
        "get_lockout returns what put_lockout stored (expired included)",
        got,
    );
    let second = Lockout {
        until: at(2700),
        level: 2,
        ..first.clone()
    };
    ok(name, "put_lockout again", store.put_lockout(&second).await);
    let got = ok(
        name,
        "get_lockout after replace",
        store.get_lockout(acct).await,
    );
    check(
        name,
        got.as_ref() == Some(&second),
        "put_lockout replaces the account's lockout",
        got,
    );
    let got = ok(
        name,
        "get_lockout of another account",
        store.get_lockout(&other).await,
    );
    check(name, got.is_none(), "a lockout binds only its account", got);
    ok(name, "clear_lockout", store.clear_lockout(acct).await);
    let got = ok(
        name,
        "get_lockout after clear",
        store.get_lockout(acct).await,
    );
    check(
        name,
        got.is_none(),
        "clear_lockout removes the lockout",
        got,
    );
    ok(
        name,
        "clear_lockout of an absent lockout (idempotent)",
        store.clear_lockout(acct).await,
    );
}
