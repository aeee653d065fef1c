//! Conformance of [`BackupTarget`]: the blob checks it shares with document stores, plus
//! create-only writes and write-once retention (object lock).

use bytes::Bytes;
use time::{Duration, OffsetDateTime};

use super::blobs::{self, Blobs};
use super::{check, ok, unique};
use crate::backup::{BackupTarget, PutMode, PutOptions};
use crate::error::Error;

/// The key prefix the suite owns; everything under it is deleted first and last.
pub const BACKUP_PREFIX: &str = "conformance/backup/";

/// Where retained objects go: one fresh key per run, since a retained object cannot be
/// cleared. Kept apart from [`BACKUP_PREFIX`] so that clearing never meets one.
pub const BACKUP_LOCKED_PREFIX: &str = "conformance/backup-locked/";

/// How long the retained test object is kept: past the end of any run, short enough not
/// to pile up in a real bucket.
const RETENTION: Duration = Duration::minutes(10);

/// Checks a [`BackupTarget`]: everything [`super::document_store`] checks, plus
/// `PutMode::Create` answering `AlreadyExists` without touching the object, and retention:
///
/// - `supports_object_lock == true`: `capabilities().object_lock` is true; an object put
///   with `retain_until` in the future cannot be deleted or overwritten (`PermissionDenied`)
///   and keeps its content;
/// - `false`: `capabilities().object_lock` is false; a put with `retain_until` is
///   `NotSupported` and writes nothing.
///
/// Works under [`BACKUP_PREFIX`] (cleared first and last) and writes one retained object
/// under [`BACKUP_LOCKED_PREFIX`] per run (retained for ten minutes by the system clock).
pub async fn backup_target(target: &dyn BackupTarget, supports_object_lock: bool) {
    let b = Blobs::Backup(target);
    blobs::basics(b, BACKUP_PREFIX).await;
    create_only(target).await;
    let caps = target.capabilities();
    check(
        &target.to_string(),
        caps.object_lock == supports_object_lock,
        format_args!(
            "capabilities().object_lock is {supports_object_lock}, as the caller declared"
        ),
        caps,
    );
    if supports_object_lock {
        retention_is_enforced(target).await;
    } else {
        retention_is_not_supported(target).await;
    }
    blobs::clear(b, BACKUP_PREFIX).await;
}

fn create() -> PutOptions {
    PutOptions {
        mode: PutMode::Create,
        retain_until: None,
    }
}

async fn create_only(target: &dyn BackupTarget) {
    let name = target.to_string();
    let key = format!("{BACKUP_PREFIX}create/manifest.json");
    ok(
        &name,
        "put Create of a new key",
        target
            .put(&key, Bytes::from_static(b"first"), create())
            .await,
    );
    let again = target
        .put(&key, Bytes::from_static(b"second"), create())
        .await;
    assert_kind!(
        name,
        again,
        Error::AlreadyExists { .. },
        "put Create of an existing key"
    );
    let got = ok(&name, "get after a refused Create", target.get(&key).await);
    check(
        &name,
        got == "first",
        "a refused Create leaves the object unchanged",
        got,
    );

    let over = target
        .put(&key, Bytes::from_static(b"third"), PutOptions::default())
        .await;
    ok(&name, "put Overwrite over a created key", over);
    let got = ok(&name, "get after Overwrite", target.get(&key).await);
    check(
        &name,
        got == "third",
        "Overwrite replaces a created object",
        got,
    );

    ok(&name, "delete of a created key", target.delete(&key).await);
    ok(
        &name,
        "put Create after delete",
        target
            .put(&key, Bytes::from_static(b"fourth"), create())
            .await,
    );

    let hostile = format!("{BACKUP_PREFIX}../create-escape");
    let r = target.put(&hostile, Bytes::new(), create()).await;
    assert_kind!(
        name,
        r,
        Error::InvalidInput { .. },
        "put Create of a hostile key"
    );
}

fn retain_until() -> OffsetDateTime {
    // Whole seconds: S3 keeps retention dates at second precision.
    let t = OffsetDateTime::now_utc() + RETENTION;
    t.replace_nanosecond(0).unwrap_or(t)
}

async fn retention_is_enforced(target: &dyn BackupTarget) {
    let name = target.to_string();
    let key = format!("{BACKUP_LOCKED_PREFIX}{}", unique());
    let locked = PutOptions {
        mode: PutMode::Create,
        retain_until: Some(retain_until()),
    };
    ok(
        &name,
        "put with retain_until",
        target.put(&key, Bytes::from_static(b"kept"), locked).await,
    );

    assert_kind!(
        name,
        target.delete(&key).await,
        Error::PermissionDenied { .. },
        "delete of a retained object"
    );
    let over = target
        .put(&key, Bytes::from_static(b"tampered"), PutOptions::default())
        .await;
    assert_kind!(
        name,
        over,
        Error::PermissionDenied { .. },
        "overwrite of a retained object"
    );
    let again = target
        .put(&key, Bytes::from_static(b"tampered"), create())
        .await;
    assert_kind!(
        name,
        again,
        Error::AlreadyExists { .. },
        "put Create of a retained object"
    );
    let got = ok(&name, "get of a retained object", target.get(&key).await);
    check(
        &name,
        got == "kept",
        "a retained object keeps its content",
        got,
    );
    let head = ok(&name, "head of a retained object", target.head(&key).await);
    check(
        &name,
        head.size == 4,
        "a retained object keeps its size",
        head,
    );
}

async fn retention_is_not_supported(target: &dyn BackupTarget) {
    let name = target.to_string();
    let key = format!("{BACKUP_PREFIX}lock/unsupported");
    let locked = PutOptions {
        mode: PutMode::Overwrite,
        retain_until: Some(retain_until()),
    };
    let r = target.put(&key, Bytes::from_static(b"x"), locked).await;
    assert_kind!(
        name,
        r,
        Error::NotSupported { .. },
        "put with retain_until on a target without object lock"
    );
    assert_kind!(
        name,
        target.head(&key).await,
        Error::NotFound { .. },
        "head after a refused retained put"
    );
}
