//! Checks that [`DocumentStore`] and [`BackupTarget`] share (both are key -> bytes stores
//! validated by [`crate::object::validate_key`]), written once over a small adapter.

use bytes::Bytes;

use super::{check, ok};
use crate::backup::{BackupTarget, PutOptions};
use crate::documents::DocumentStore;
use crate::error::{Error, Result};
use crate::object::ObjectInfo;

/// One of the two blob-shaped contracts.
#[derive(Clone, Copy)]
pub(super) enum Blobs<'a> {
    Documents(&'a dyn DocumentStore),
    Backup(&'a dyn BackupTarget),
}

impl Blobs<'_> {
    pub(super) fn name(&self) -> String {
        match self {
            Self::Documents(s) => s.to_string(),
            Self::Backup(t) => t.to_string(),
        }
    }

    pub(super) async fn put(&self, key: &str, bytes: Bytes) -> Result<ObjectInfo> {
        match self {
            Self::Documents(s) => s.put(key, bytes).await,
            Self::Backup(t) => t.put(key, bytes, PutOptions::default()).await,
        }
    }

    pub(super) async fn get(&self, key: &str) -> Result<Bytes> {
        match self {
            Self::Documents(s) => s.get(key).await,
            Self::Backup(t) => t.get(key).await,
        }
    }

    pub(super) async fn head(&self, key: &str) -> Result<ObjectInfo> {
        match self {
            Self::Documents(s) => s.head(key).await,
            Self::Backup(t) => t.head(key).await,
        }
    }

    pub(super) async fn delete(&self, key: &str) -> Result<()> {
        match self {
            Self::Documents(s) => s.delete(key).await,
            Self::Backup(t) => t.delete(key).await,
        }
    }

    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        match self {
            Self::Documents(s) => s.list(prefix).await,
            Self::Backup(t) => t.list(prefix).await,
        }
    }

    pub(super) async fn healthcheck(&self) -> Result<()> {
        match self {
            Self::Documents(s) => s.healthcheck().await,
            Self::Backup(t) => t.healthcheck().await,
        }
    }

    /// Keys listed under `prefix`, in the order the backend gave them.
    async fn keys(&self, prefix: &str) -> Vec<String> {
        let listed = ok(
            &self.name(),
            format!("list({prefix:?})"),
            self.list(prefix).await,
        );
        listed.into_iter().map(|i| i.key).collect()
    }
}

/// Deletes everything under `prefix`.
pub(super) async fn clear(b: Blobs<'_>, prefix: &str) {
    let name = b.name();
    for key in b.keys(prefix).await {
        ok(&name, format!("clearing {key:?}"), b.delete(&key).await);
    }
    let left = b.keys(prefix).await;
    check(
        &name,
        left.is_empty(),
        format_args!("everything under {prefix:?} is deleted"),
        left,
    );
}

/// Every shared check, under `prefix` (a key prefix ending in `/`, cleared first).
pub(super) async fn basics(b: Blobs<'_>, prefix: &str) {
    let name = b.name();
    check(&name, !name.is_empty(), "Display names the backend", &name);
    ok(&name, "healthcheck", b.healthcheck().await);
    clear(b, prefix).await;
    round_trip_and_overwrite(b, prefix).await;
    missing_and_idempotent_delete(b, prefix).await;
    binary_and_empty(b, prefix).await;
    listing(b, prefix).await;
    hostile_keys(b, prefix).await;
}

async fn round_trip_and_overwrite(b: Blobs<'_>, prefix: &str) {
    let name = b.name();
    let key = format!("{prefix}round/Articles (final) – ünï.pdf");
    let info = ok(
        &name,
        "put",
        b.put(&key, Bytes::from_static(b"first version")).await,
    );
    check(
        &name,
        info.key == key && info.size == 13,
        "put returns the key and size",
        &info,
    );
    let got = ok(&name, "get after put", b.get(&key).await);
    check(
        &name,
        got == "first version",
        "get returns what put wrote",
        &got,
    );
    let head = ok(&name, "head after put", b.head(&key).await);
    check(
        &name,
        head.key == key && head.size == 13,
        "head returns the key and size",
        &head,
    );

    ok(
        &name,
        "put over an existing key",
        b.put(&key, Bytes::from_static(b"v2")).await,
    );
    let got = ok(&name, "get after overwrite", b.get(&key).await);
    check(&name, got == "v2", "put replaces the content", &got);
    let head = ok(&name, "head after overwrite", b.head(&key).await);
    check(&name, head.size == 2, "head reports the new size", &head);
    let keys = b.keys(&format!("{prefix}round/")).await;
    check(
        &name,
        keys == [key.clone()],
        "an overwritten key is listed once",
        keys,
    );
}

async fn missing_and_idempotent_delete(b: Blobs<'_>, prefix: &str) {
    let name = b.name();
    let missing = format!("{prefix}missing/never-written");
    assert_kind!(
        name,
        b.get(&missing).await,
        Error::NotFound { .. },
        "get of a missing key"
    );
    assert_kind!(
        name,
        b.head(&missing).await,
        Error::NotFound { .. },
        "head of a missing key"
    );
    ok(
        &name,
        "delete of a missing key (idempotent)",
        b.delete(&missing).await,
    );

    let key = format!("{prefix}delete/me");
    ok(
        &name,
        "put before delete",
        b.put(&key, Bytes::from_static(b"x")).await,
    );
    ok(&name, "delete", b.delete(&key).await);
    assert_kind!(
        name,
        b.get(&key).await,
        Error::NotFound { .. },
        "get after delete"
    );
    assert_kind!(
        name,
        b.head(&key).await,
        Error::NotFound { .. },
        "head after delete"
    );
    ok(&name, "delete again (idempotent)", b.delete(&key).await);
    let keys = b.keys(&format!("{prefix}delete/")).await;
    check(&name, keys.is_empty(), "a deleted key is not listed", keys);
}

async fn binary_and_empty(b: Blobs<'_>, prefix: &str) {
    let name = b.name();
    // Every byte value, including NUL and invalid UTF-8, well past any small buffer.
    let binary: Bytes = (0..300_000u32)
        .map(|i| (i % 256) as u8)
        .collect::<Vec<u8>>()
        .into();
    let key = format!("{prefix}binary/all-bytes.bin");
    ok(
        &name,
        "put of binary content",
        b.put(&key, binary.clone()).await,
    );
    let got = ok(&name, "get of binary content", b.get(&key).await);
    check(
        &name,
        got == binary,
        "binary content round-trips byte for byte",
        got.len(),
    );
    let head = ok(&name, "head of binary content", b.head(&key).await);
    check(
        &name,
        head.size == binary.len() as u64,
        "head reports the binary size",
        &head,
    );

    let empty = format!("{prefix}binary/empty");
    let info = ok(
        &name,
        "put of an empty object",
        b.put(&empty, Bytes::new()).await,
    );
    check(
        &name,
        info.size == 0,
        "put of an empty object reports size 0",
        &info,
    );
    let got = ok(&name, "get of an empty object", b.get(&empty).await);
    check(
        &name,
        got.is_empty(),
        "an empty object reads back empty",
        got,
    );
    let head = ok(&name, "head of an empty object", b.head(&empty).await);
    check(
        &name,
        head.size == 0,
        "head of an empty object reports size 0",
        &head,
    );
}

async fn listing(b: Blobs<'_>, prefix: &str) {
    let name = b.name();
    let base = format!("{prefix}list/");
    // Written out of order, to prove the listing sorts.
    let written = ["b/1", "a/2", "ab", "a/sub/3", "a/1"];
    for (i, k) in written.iter().enumerate() {
        let bytes = Bytes::from(vec![b'x'; i + 1]);
        ok(
            &name,
            format!("put {k:?} for listing"),
            b.put(&format!("{base}{k}"), bytes).await,
        );
    }
    let full = |ks: &[&str]| ks.iter().map(|k| format!("{base}{k}")).collect::<Vec<_>>();

    let keys = b.keys(&base).await;
    check(
        &name,
        keys == full(&["a/1", "a/2", "a/sub/3", "ab", "b/1"]),
        "list sorts by key (bytewise)",
        &keys,
    );
    let keys = b.keys(&format!("{base}a/")).await;
    check(
        &name,
        keys == full(&["a/1", "a/2", "a/sub/3"]),
        "a prefix ending in / lists that folder, nested too",
        &keys,
    );
    let keys = b.keys(&format!("{base}a")).await;
    check(
        &name,
        keys == full(&["a/1", "a/2", "a/sub/3", "ab"]),
        "a prefix matches any key starting with it",
        &keys,
    );
    let keys = b.keys(&format!("{base}nothing/")).await;
    check(
        &name,
        keys.is_empty(),
        "a prefix with no keys lists nothing",
        &keys,
    );

    let listed = ok(&name, "list with sizes", b.list(&format!("{base}b/")).await);
    check(
        &name,
        listed.len() == 1 && listed[0].size == 1,
        "list reports sizes",
        &listed,
    );
    for bad in ["../", "/abs", "a//"] {
        assert_kind!(
            name,
            b.list(bad).await,
            Error::InvalidInput { .. },
            "list of hostile prefix {bad:?}"
        );
    }
}

async fn hostile_keys(b: Blobs<'_>, prefix: &str) {
    let name = b.name();
    let before = b.keys(prefix).await;
    let long = format!("{prefix}{}", "x".repeat(crate::object::MAX_KEY_LEN));
    let hostile = [
        "../conformance-escape".to_owned(),
        "/conformance-abs".to_owned(),
        String::new(),
        format!("{prefix}../escape"),
        format!("/{prefix}abs"),
        format!("{prefix}a//b"),
        format!("{prefix}./dot"),
        format!("{prefix}back\\slash"),
        format!("{prefix}nul\0byte"),
        format!("{prefix}trailing/"),
        long,
    ];
    for key in &hostile {
        let bytes = Bytes::from_static(b"must not be written");
        assert_kind!(
            name,
            b.put(key, bytes).await,
            Error::InvalidInput { .. },
            "put of hostile key {key:.60?}"
        );
        assert_kind!(
            name,
            b.get(key).await,
            Error::InvalidInput { .. },
            "get of hostile key {key:.60?}"
        );
        assert_kind!(
            name,
            b.head(key).await,
            Error::InvalidInput { .. },
            "head of hostile key {key:.60?}"
        );
        assert_kind!(
            name,
            b.delete(key).await,
            Error::InvalidInput { .. },
            "delete of hostile key {key:.60?}"
        );
    }
    // Nothing landed where a lenient backend would have normalised those keys to.
    let after = b.keys(prefix).await;
    check(
        &name,
        after == before,
        "hostile keys write nothing under the prefix",
        &after,
    );
    let parent = prefix
        .trim_end_matches('/')
        .rsplit_once('/')
        .map_or("", |(p, _)| p);
    let escaped = if parent.is_empty() {
        "escape".to_owned()
    } else {
        format!("{parent}/escape")
    };
    for key in [
        escaped,
        format!("{prefix}abs"),
        format!("{prefix}a/b"),
        format!("{prefix}dot"),
    ] {
        assert_kind!(
            name,
            b.head(&key).await,
            Error::NotFound { .. },
            "{key:?} (a normalised hostile key)"
        );
    }
}
