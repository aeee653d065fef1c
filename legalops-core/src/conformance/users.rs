//! Conformance of [`UserStore`]: users with a unique email, paged by creation.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{BoxFuture, check, join_all, ok, unique};
use crate::error::{Error, Result};
use crate::identity::{Role, User, UserStore};

/// Users' times: whole seconds of a fixed past day (SQL backends keep microseconds).
const BASE: OffsetDateTime = datetime!(2001-01-01 00:00 UTC);

fn user(id: &str, email: &str, second: i64) -> User {
    let at = BASE + Duration::seconds(second);
    User {
        id: id.to_owned(),
        email: email.to_owned(),
        display_name: format!("Conformance «{id}» \"user\""),
        role: Role::Customer,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        disabled: false,
        created_at: at,
        updated_at: at,
    }
}

/// Checks a [`UserStore`]: `NotFound` and `None` for absent users, every field round-trips,
/// `AlreadyExists` for a taken email on create and update (and the failed call changes
/// nothing), emails compared exactly (normalising case is the caller's job), listing by
/// creation then id with offset and limit, and exactly one winner among 8 concurrent
/// creates of one email.
///
/// Users cannot be deleted, so every id and email is unique to the run
/// (`conf-<uuid>-...@example.test`) and the listing checks hold whatever else is stored.
pub async fn users(store: &dyn UserStore) {
    let name = store.to_string();
    let name = name.as_str();
    let run = unique();
    let id = |s: &str| format!("conf-{run}-{s}");
    let email = |s: &str| format!("conf-{run}-{s}@example.test");

    let got = store.get_user(&id("absent")).await;
    assert_kind!(
        name,
        got,
        Error::NotFound { .. },
        "get_user of an absent id"
    );
    let got = ok(
        name,
        "find_user_by_email of an absent email",
        store.find_user_by_email(&email("absent")).await,
    );
    check(name, got.is_none(), "an absent email finds None", got);

    let a = user(&id("a"), &email("a"), 1);
    ok(name, "create_user", store.create_user(&a).await);
    let got = ok(name, "get_user after create", store.get_user(&a.id).await);
    check(
        name,
        got == a,
        "get_user returns every field as created",
        got,
    );
    let got = ok(
        name,
        "find_user_by_email after create",
        store.find_user_by_email(&a.email).await,
    );
    check(
        name,
        got.as_ref() == Some(&a),
        "find_user_by_email finds the user",
        got,
    );

    let dup = user(&id("dup"), &a.email, 2);
    let got = store.create_user(&dup).await;
    assert_kind!(
        name,
        got,
        Error::AlreadyExists { .. },
        "create_user with a taken email"
    );
    let got = store.get_user(&dup.id).await;
    assert_kind!(
        name,
        got,
        Error::NotFound { .. },
        "get_user of a refused user"
    );

    // The store compares exactly; a caller that did not normalise gets two accounts.
    let upper = user(&id("upper"), &a.email.to_uppercase(), 3);
    ok(
        name,
        "create_user whose email differs only in case",
        store.create_user(&upper).await,
    );
    let got = ok(
        name,
        "find_user_by_email in upper case",
        store.find_user_by_email(&upper.email).await,
    );
    check(
        name,
        got.as_ref().map(|u| &u.id) == Some(&upper.id),
        "emails are compared exactly, not case-insensitively",
        got,
    );

    let b = user(&id("b"), &email("b"), 4);
    ok(name, "create_user b", store.create_user(&b).await);
    let changed = User {
        email: email("b2"),
        display_name: "Renamed ✓".to_owned(),
        role: Role::Attorney,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3".to_owned(),
        disabled: true,
        updated_at: b.updated_at + Duration::seconds(60),
        ..b.clone()
    };
    ok(name, "update_user", store.update_user(&changed).await);
    let got = ok(name, "get_user after update", store.get_user(&b.id).await);
    check(
        name,
        got == changed,
        "update_user replaces every field",
        got,
    );
    let got = ok(
        name,
        "find_user_by_email of the old email",
        store.find_user_by_email(&b.email).await,
    );
    check(
        name,
        got.is_none(),
        "the old email no longer finds the user",
        got,
    );
    let got = ok(
        name,
        "find_user_by_email of the new email",
        store.find_user_by_email(&changed.email).await,
    );
    check(
        name,
        got.as_ref() == Some(&changed),
        "the new email finds the user",
        got,
    );

    let clash = User {
        email: a.email.clone(),
        display_name: "clash".to_owned(),
        ..changed.clone()
    };
    let got = store.update_user(&clash).await;
    assert_kind!(
        name,
        got,
        Error::AlreadyExists { .. },
        "update_user to a taken email"
    );
    let got = ok(
        name,
        "get_user after a refused update",
        store.get_user(&b.id).await,
    );
    check(
        name,
        got == changed,
        "a refused update changes nothing",
        got,
    );
    ok(
        name,
        "update_user keeping its own email",
        store.update_user(&changed).await,
    );
    let got = store
        .update_user(&user(&id("ghost"), &email("ghost"), 5))
        .await;
    assert_kind!(
        name,
        got,
        Error::NotFound { .. },
        "update_user of an absent id"
    );
    let got = ok(
        name,
        "find_user_by_email after updating an absent user",
        store.find_user_by_email(&email("ghost")).await,
    );
    check(
        name,
        got.is_none(),
        "update_user of an absent id creates nothing",
        got,
    );

    list(store, name, &id, &email).await;
    race(store, name, &id, &email).await;
}

/// Listing: ordered by creation then id across everything stored, pages that are slices of
/// the whole, and empty pages past the end or of size zero.
async fn list(
    store: &dyn UserStore,
    name: &str,
    id: &(dyn Fn(&str) -> String + Sync),
    email: &(dyn Fn(&str) -> String + Sync),
) {
    // Same creation time, created in the opposite order of their ids: the id decides.
    let (y, x) = (
        user(&id("tie-y"), &email("tie-y"), 10),
        user(&id("tie-x"), &email("tie-x"), 10),
    );
    ok(name, "create_user tie-y", store.create_user(&y).await);
    ok(name, "create_user tie-x", store.create_user(&x).await);
    let all = ok(
        name,
        "list_users of everything",
        store.list_users(0, 1_000_000).await,
    );
    check(
        name,
        all.windows(2)
            .all(|w| (w[0].created_at, &w[0].id) < (w[1].created_at, &w[1].id)),
        "list_users is ordered by created_at, then id",
        all.iter()
            .map(|u| (&u.id, u.created_at))
            .collect::<Vec<_>>(),
    );
    let pos = all.iter().position(|u| u.id == x.id);
    check(
        name,
        pos.is_some(),
        "list_users includes a created user",
        pos,
    );
    let pos = pos.unwrap_or_default();
    check(
        name,
        all.get(pos + 1).map(|u| &u.id) == Some(&y.id),
        "of two users created at the same time, the smaller id lists first",
        all.get(pos + 1),
    );
    let page = ok(
        name,
        "list_users of a page",
        store.list_users(pos as u64, 2).await,
    );
    check(
        name,
        page.as_slice() == &all[pos..pos + 2],
        "a page is the slice [offset, offset + limit) of the whole list",
        &page,
    );
    let page = ok(
        name,
        "list_users past the end",
        store.list_users(all.len() as u64, 10).await,
    );
    check(name, page.is_empty(), "a page past the end is empty", &page);
    let page = ok(
        name,
        "list_users with limit 0",
        store.list_users(0, 0).await,
    );
    check(name, page.is_empty(), "a page of limit 0 is empty", &page);
}

/// Registrations racing for one email: exactly one wins, on every replica's store.
async fn race(
    store: &dyn UserStore,
    name: &str,
    id: &(dyn Fn(&str) -> String + Sync),
    email: &(dyn Fn(&str) -> String + Sync),
) {
    let racers: Vec<User> = (0..8)
        .map(|i| user(&id(&format!("race-{i}")), &email("race"), 20))
        .collect();
    let calls: Vec<BoxFuture<'_, Result<()>>> =
        racers.iter().map(|u| store.create_user(u)).collect();
    let results = join_all(calls).await;
    let mut winners = Vec::new();
    for (r, u) in results.into_iter().zip(&racers) {
        match r {
            Ok(()) => winners.push(u.id.clone()),
            Err(Error::AlreadyExists { .. }) => {}
            other => panic!(
                "{name}: concurrent create_user of one email: expected Ok or \
                 Err(Error::AlreadyExists {{ .. }}), got {other:?}"
            ),
        }
    }
    check(
        name,
        winners.len() == 1,
        "exactly one of 8 concurrent create_user calls with one email succeeds",
        &winners,
    );
    let got = ok(
        name,
        "find_user_by_email after the race",
        store.find_user_by_email(&email("race")).await,
    );
    check(
        name,
        got.as_ref().map(|u| &u.id) == winners.first(),
        "the winner is the stored user",
        got,
    );
}
