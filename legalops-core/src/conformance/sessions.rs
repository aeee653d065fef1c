//! Conformance of [`SessionStore`]: login sessions found by their token's hash, touched,
//! revoked, listed while active and pruned.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use sha2::{Digest, Sha256};

use super::{check, ok, unique};
use crate::audit::chain::hex_lower;
use crate::error::Error;
use crate::identity::{Session, SessionStore};

/// Sessions' times: whole minutes of a fixed past day that only this suite writes to, so
/// that pruning it cannot touch real sessions in a shared database.
const BASE: OffsetDateTime = datetime!(2000-01-02 00:00 UTC);

fn at(minutes: i64) -> OffsetDateTime {
    BASE + Duration::minutes(minutes)
}

fn session(run: &str, id: &str, user: &str, created: i64, expires: i64) -> Session {
    Session {
        id: format!("conf-{run}-{id}"),
        // Shaped like the real thing: the SHA-256 of a token, in hex.
        token_hash: hex_lower(&Sha256::digest(format!("{run}/{id}"))),
        user_id: user.to_owned(),
        created_at: at(created),
        last_seen_at: at(created),
        expires_at: at(expires),
        revoked_at: None,
        ip: Some("2001:db8::1".to_owned()),
        user_agent: Some("Mozilla/5.0 (conformance) «ü»".to_owned()),
    }
}

/// Checks a [`SessionStore`]: the token hash finds the session with every field as
/// created (revoked and expired ones too: the caller judges), `touch_session` only moves
/// `last_seen_at` forward, revoking keeps the first time and `NotFound` for an absent id,
/// `revoke_user_sessions` counts only newly revoked sessions of that user,
/// `active_sessions` is unrevoked with `expires_at > now`, oldest first, and
/// `prune_sessions` deletes (and counts) what expired or was revoked strictly before.
///
/// Writes only sessions of 2000-01-02, for users unique to the run, and clears that day
/// first with `prune_sessions`.
pub async fn sessions(store: &dyn SessionStore) {
    let name = store.to_string();
    let name = name.as_str();
    ok(
        name,
        "clearing with prune_sessions",
        store.prune_sessions(at(2 * 24 * 60)).await,
    );
    let run = unique();
    let (user, other) = (format!("conf-{run}-user"), format!("conf-{run}-other"));
    let s = |id: &str, user: &str, created: i64, expires: i64| {
        session(&run, id, user, created, expires)
    };

    let s1 = s("s1", &user, 0, 24 * 60);
    let got = ok(
        name,
        "find_session of an absent hash",
        store.find_session(&s1.token_hash).await,
    );
    check(name, got.is_none(), "an absent token hash finds None", got);
    ok(name, "create_session", store.create_session(&s1).await);
    let got = ok(
        name,
        "find_session",
        store.find_session(&s1.token_hash).await,
    );
    check(
        name,
        got.as_ref() == Some(&s1),
        "find_session returns every field as created",
        got,
    );
    let mut near = s1.token_hash.clone();
    near.replace_range(..1, if near.starts_with('0') { "1" } else { "0" });
    let got = ok(
        name,
        "find_session of a near hash",
        store.find_session(&near).await,
    );
    check(
        name,
        got.is_none(),
        "a hash differing in one digit finds None",
        got,
    );

    ok(
        name,
        "touch_session",
        store.touch_session(&s1.id, at(60)).await,
    );
    ok(
        name,
        "touch_session back in time",
        store.touch_session(&s1.id, at(30)).await,
    );
    let got = ok(
        name,
        "find_session after touches",
        store.find_session(&s1.token_hash).await,
    );
    check(
        name,
        got.as_ref().map(|x| x.last_seen_at) == Some(at(60)),
        "touch_session moves last_seen_at forward, never back",
        got,
    );

    // Created later than s3 but earlier in time, to prove the listing sorts.
    let s2 = s("s2", &user, 120, 26 * 60);
    let s3 = s("s3", &user, 60, 240);
    let s4 = s("s4", &other, 0, 30 * 60);
    let s5 = Session {
        user_agent: None,
        ip: None,
        ..s("s5", &user, 300, 480)
    };
    for x in [&s2, &s3, &s4, &s5] {
        ok(
            name,
            format!("create_session {}", x.id),
            store.create_session(x).await,
        );
    }
    let ids = |v: Vec<Session>| v.into_iter().map(|x| x.id).collect::<Vec<_>>();
    let got = ids(ok(
        name,
        "active_sessions",
        store.active_sessions(&user, at(180)).await,
    ));
    check(
        name,
        got == [s1.id.as_str(), &s3.id, &s2.id, &s5.id],
        "active_sessions lists the user's sessions oldest first, and only theirs",
        &got,
    );
    let got = ids(ok(
        name,
        "active_sessions at an expiry",
        store.active_sessions(&user, at(240)).await,
    ));
    check(
        name,
        got == [s1.id.as_str(), &s2.id, &s5.id],
        "a session is not active at its expires_at",
        &got,
    );

    ok(
        name,
        "revoke_session",
        store.revoke_session(&s2.id, at(300)).await,
    );
    ok(
        name,
        "revoke_session again",
        store.revoke_session(&s2.id, at(360)).await,
    );
    let got = ok(
        name,
        "find_session of a revoked session",
        store.find_session(&s2.token_hash).await,
    );
    check(
        name,
        got.as_ref().map(|x| x.revoked_at) == Some(Some(at(300))),
        "a revoked session is still found, and revoking twice keeps the first time",
        got,
    );
    let got = ok(
        name,
        "find_session of an expired session",
        store.find_session(&s3.token_hash).await,
    );
    check(
        name,
        got.as_ref() == Some(&s3),
        "an expired session is still found",
        got,
    );
    let got = ids(ok(
        name,
        "active_sessions after revoke",
        store.active_sessions(&user, at(300)).await,
    ));
    check(
        name,
        got == [s1.id.as_str(), &s5.id],
        "a revoked session is not active",
        &got,
    );
    let got = store
        .revoke_session(&format!("conf-{run}-absent"), at(300))
        .await;
    assert_kind!(
        name,
        got,
        Error::NotFound { .. },
        "revoke_session of an absent id"
    );

    // s1, s3 (expired, but unrevoked) and s5 are newly revoked; s2 keeps its time.
    let n = ok(
        name,
        "revoke_user_sessions",
        store.revoke_user_sessions(&user, at(420)).await,
    );
    check(
        name,
        n == 3,
        "revoke_user_sessions counts the sessions it newly revoked",
        n,
    );
    let n = ok(
        name,
        "revoke_user_sessions again",
        store.revoke_user_sessions(&user, at(480)).await,
    );
    check(
        name,
        n == 0,
        "revoke_user_sessions again revokes nothing",
        n,
    );
    let got = ok(
        name,
        "find_session s2",
        store.find_session(&s2.token_hash).await,
    );
    check(
        name,
        got.as_ref().map(|x| x.revoked_at) == Some(Some(at(300))),
        "revoke_user_sessions keeps an earlier revocation time",
        got,
    );
    let got = ok(
        name,
        "find_session s1",
        store.find_session(&s1.token_hash).await,
    );
    check(
        name,
        got.as_ref().map(|x| x.revoked_at) == Some(Some(at(420))),
        "revoke_user_sessions sets revoked_at",
        got,
    );
    let got = ok(
        name,
        "find_session of another user",
        store.find_session(&s4.token_hash).await,
    );
    check(
        name,
        got.as_ref() == Some(&s4),
        "revoke_user_sessions leaves other users' sessions alone",
        got,
    );
    let got = ids(ok(
        name,
        "active_sessions after revoking all",
        store.active_sessions(&user, at(0)).await,
    ));
    check(
        name,
        got.is_empty(),
        "no session is active after revoke_user_sessions",
        &got,
    );

    // Now: s1 revoked 420; s2 revoked 300; s3 expired 240 (revoked 420); s4 live until
    // 1800; s5 expires 480 (revoked 420).
    let n = ok(name, "prune_sessions", store.prune_sessions(at(301)).await);
    check(
        name,
        n == 2,
        "prune_sessions removes what expired or was revoked before `before` (s2, s3)",
        n,
    );
    let got = ok(
        name,
        "find_session of a pruned session",
        store.find_session(&s2.token_hash).await,
    );
    check(name, got.is_none(), "a pruned session is gone", got);
    let n = ok(
        name,
        "prune_sessions at a revocation time",
        store.prune_sessions(at(420)).await,
    );
    check(
        name,
        n == 0,
        "a session revoked exactly at `before` is kept",
        n,
    );
    let n = ok(
        name,
        "prune_sessions again",
        store.prune_sessions(at(421)).await,
    );
    check(
        name,
        n == 2,
        "prune_sessions counts each removed session once (s1, s5)",
        n,
    );
    let got = ok(
        name,
        "find_session of a live session",
        store.find_session(&s4.token_hash).await,
    );
    check(
        name,
        got.is_some(),
        "prune_sessions keeps live sessions",
        got,
    );
    let n = ok(
        name,
        "prune_sessions at an expiry",
        store.prune_sessions(at(30 * 60)).await,
    );
    check(
        name,
        n == 0,
        "a session expiring exactly at `before` is kept",
        n,
    );
    let n = ok(
        name,
        "clearing after the suite",
        store.prune_sessions(at(30 * 60 + 1)).await,
    );
    check(
        name,
        n == 1,
        "prune_sessions removes an expired, unrevoked session",
        n,
    );
}
