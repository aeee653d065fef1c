//! Conformance of [`ApiKeyStore`]: admin API keys, named uniquely among the unrevoked ones.

use sha2::{Digest, Sha256};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{check, ok, unique};
use crate::audit::chain::hex_lower;
use crate::error::Error;
use crate::identity::{ApiKey, ApiKeyStore};

/// Keys' times: whole seconds of a fixed past day (SQL backends keep microseconds).
const BASE: OffsetDateTime = datetime!(2001-01-02 00:00 UTC);

fn at(seconds: i64) -> OffsetDateTime {
    BASE + Duration::seconds(seconds)
}

fn key(id: &str, name: &str, second: i64) -> ApiKey {
    ApiKey {
        id: id.to_owned(),
        name: name.to_owned(),
        // The hash of a secret that is thrown away: a key left behind in a shared database
        // by a failed run can never be presented.
        key_hash: hex_lower(&Sha256::digest(unique())),
        scopes: vec!["metrics:read".to_owned(), "conformance:none".to_owned()],
        created_by: "admin-token".to_owned(),
        created_at: at(second),
        expires_at: Some(at(second + 3600)),
        revoked_at: None,
        last_used_at: None,
    }
}

/// Checks an [`ApiKeyStore`]: the key hash finds the key with every field as created
/// (revoked and expired ones too), `AlreadyExists` for the name of an unrevoked key while
/// a revoked key's name can be reused, the list newest first, `touch_api_key` recording
/// use, and `revoke_api_key` with `NotFound` for an absent id and keeping the first time.
///
/// Keys cannot be deleted, so ids and names are unique to the run; every key the suite
/// creates is revoked before it ends.
pub async fn api_keys(store: &dyn ApiKeyStore) {
    let name = store.to_string();
    let name = name.as_str();
    let run = unique();
    let id = |s: &str| format!("conf-{run}-{s}");
    let scraper = id("scraper");

    let k1 = key(&id("k1"), &scraper, 1);
    let got = ok(
        name,
        "find_api_key of an absent hash",
        store.find_api_key(&k1.key_hash).await,
    );
    check(name, got.is_none(), "an absent key hash finds None", got);
    ok(name, "create_api_key", store.create_api_key(&k1).await);
    let got = ok(name, "find_api_key", store.find_api_key(&k1.key_hash).await);
    check(
        name,
        got.as_ref() == Some(&k1),
        "find_api_key returns every field as created",
        got,
    );

    let dup = key(&id("dup"), &scraper, 2);
    let got = store.create_api_key(&dup).await;
    assert_kind!(
        name,
        got,
        Error::AlreadyExists { .. },
        "create_api_key with the name of an unrevoked key"
    );
    let got = ok(
        name,
        "find_api_key of a refused key",
        store.find_api_key(&dup.key_hash).await,
    );
    check(name, got.is_none(), "a refused key is not stored", got);

    let k2 = ApiKey {
        scopes: Vec::new(),
        expires_at: None,
        created_by: "conformance ✓".to_owned(),
        ..key(&id("k2"), &id("other"), 3)
    };
    ok(name, "create_api_key k2", store.create_api_key(&k2).await);
    let got = ok(
        name,
        "find_api_key k2",
        store.find_api_key(&k2.key_hash).await,
    );
    check(
        name,
        got.as_ref() == Some(&k2),
        "no scopes and no expiry round-trip",
        got,
    );

    let all = ok(name, "list_api_keys", store.list_api_keys().await);
    check(
        name,
        all.windows(2).all(|w| w[0].created_at >= w[1].created_at),
        "list_api_keys is newest first",
        all.iter()
            .map(|k| (&k.id, k.created_at))
            .collect::<Vec<_>>(),
    );
    let ours: Vec<&ApiKey> = all
        .iter()
        .filter(|k| k.id == k1.id || k.id == k2.id)
        .collect();
    check(
        name,
        ours == [&k2, &k1],
        "list_api_keys lists every key with every field",
        &ours,
    );

    ok(
        name,
        "touch_api_key",
        store.touch_api_key(&k1.id, at(10)).await,
    );
    let got = ok(
        name,
        "find_api_key after touch",
        store.find_api_key(&k1.key_hash).await,
    );
    check(
        name,
        got.as_ref().map(|k| k.last_used_at) == Some(Some(at(10))),
        "touch_api_key sets last_used_at",
        got,
    );

    ok(
        name,
        "revoke_api_key",
        store.revoke_api_key(&k1.id, at(20)).await,
    );
    ok(
        name,
        "revoke_api_key again",
        store.revoke_api_key(&k1.id, at(30)).await,
    );
    let got = ok(
        name,
        "find_api_key of a revoked key",
        store.find_api_key(&k1.key_hash).await,
    );
    check(
        name,
        got.as_ref().map(|k| k.revoked_at) == Some(Some(at(20))),
        "a revoked key is still found, and revoking twice keeps the first time",
        got,
    );
    let got = store.revoke_api_key(&id("absent"), at(20)).await;
    assert_kind!(
        name,
        got,
        Error::NotFound { .. },
        "revoke_api_key of an absent id"
    );

    // Rotation: the name of a revoked key is free again, once.
    let k3 = key(&id("k3"), &scraper, 40);
    ok(
        name,
        "create_api_key with a revoked key's name",
        store.create_api_key(&k3).await,
    );
    let k4 = key(&id("k4"), &scraper, 50);
    let got = store.create_api_key(&k4).await;
    assert_kind!(
        name,
        got,
        Error::AlreadyExists { .. },
        "create_api_key with the name of the rotated key"
    );
    let all = ok(
        name,
        "list_api_keys after rotation",
        store.list_api_keys().await,
    );
    let ours: Vec<&str> = all
        .iter()
        .filter(|k| k.name == scraper)
        .map(|k| k.id.as_str())
        .collect();
    check(
        name,
        ours == [k3.id.as_str(), k1.id.as_str()],
        "a revoked key and its replacement are both listed, newest first",
        &ours,
    );

    for k in [&k2, &k3] {
        ok(
            name,
            "revoking the suite's keys",
            store.revoke_api_key(&k.id, at(60)).await,
        );
    }
}
