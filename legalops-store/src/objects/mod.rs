//! Blob backends over `object_store`: documents ([`ObjectStoreDocuments`]) and backup
//! targets ([`ObjectStoreTarget`], [`LocalDirTarget`]).
//!
//! Both families share [`Objects`]: key validation before any I/O, key-prefix listing
//! (the contracts' prefixes are string prefixes, `object_store`'s are whole segments),
//! metadata conversion and the one mapping of `object_store` errors to error kinds.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use legalops_core::object::{ObjectInfo, validate_key, validate_prefix};
use legalops_core::{Error, Result};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use time::OffsetDateTime;

mod documents;
mod target;

pub use documents::ObjectStoreDocuments;
pub use target::{LocalDirTarget, ObjectStoreTarget};

/// Keys under this prefix belong to LegalOps itself (health probes) and are not listed.
pub(crate) const RESERVED_PREFIX: &str = ".legalops/";

/// An object store plus the name it is shown by.
#[derive(Debug, Clone)]
pub(crate) struct Objects {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) name: String,
}

impl Objects {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, name: String) -> Self {
        Self { store, name }
    }

    pub(crate) async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        opts: object_store::PutOptions,
    ) -> Result<ObjectInfo> {
        let path = self.path(key)?;
        let size = bytes.len() as u64;
        self.store
            .put_opts(&path, PutPayload::from(bytes), opts)
            .await
            .map_err(|e| self.error(key, e))?;
        // The store's own timestamp, so that put and head agree.
        match self.store.head(&path).await {
            Ok(meta) => Ok(info(key, &meta)),
            // Written but gone already (a concurrent delete): report what we wrote.
            Err(object_store::Error::NotFound { .. }) => Ok(ObjectInfo {
                key: key.to_owned(),
                size,
                last_modified: OffsetDateTime::now_utc(),
            }),
            Err(e) => Err(self.error(key, e)),
        }
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Bytes> {
        let path = self.path(key)?;
        let got = self
            .store
            .get(&path)
            .await
            .map_err(|e| self.error(key, e))?;
        got.bytes().await.map_err(|e| self.error(key, e))
    }

    pub(crate) async fn head(&self, key: &str) -> Result<ObjectInfo> {
        let path = self.path(key)?;
        let meta = self
            .store
            .head(&path)
            .await
            .map_err(|e| self.error(key, e))?;
        Ok(info(key, &meta))
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(key, e)),
        }
    }

    /// Objects whose key starts with `prefix`, sorted by key, without reserved keys.
    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        validate_prefix(prefix)?;
        // List the deepest whole directory the prefix names, then filter by string prefix.
        let dir = prefix.rsplit_once('/').map_or("", |(d, _)| d);
        let dir = if dir.is_empty() {
            None
        } else {
            Some(self.path(dir)?)
        };
        let metas: Vec<ObjectMeta> = self
            .store
            .list(dir.as_ref())
            .try_collect()
            .await
            .map_err(|e| self.error(prefix, e))?;
        let mut out: Vec<ObjectInfo> = metas
            .iter()
            .map(|m| info(m.location.as_ref(), m))
            .filter(|o| o.key.starts_with(prefix) && !o.key.starts_with(RESERVED_PREFIX))
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Writes, reads back and deletes a probe object, so that a read-only, missing or
    /// unreachable store fails.
    pub(crate) async fn probe(&self) -> Result<()> {
        let key = format!("{RESERVED_PREFIX}healthcheck");
        let body = Bytes::from_static(b"legalops healthcheck");
        self.put(&key, body.clone(), object_store::PutOptions::default())
            .await?;
        let read = self.get(&key).await?;
        self.delete(&key).await?;
        if read != body {
            let msg = "health probe read back different bytes than it wrote";
            return Err(Error::backend(&self.name, false, msg));
        }
        Ok(())
    }

    /// A validated key as an `object_store` path.
    pub(crate) fn path(&self, key: &str) -> Result<Path> {
        validate_key(key)?;
        Path::parse(key).map_err(|e| Error::invalid_input("key", format!("{e} (key {key:?})")))
    }

    pub(crate) fn error(&self, key: &str, e: object_store::Error) -> Error {
        map_error(&self.name, key, e)
    }
}

fn info(key: &str, meta: &ObjectMeta) -> ObjectInfo {
    let nanos = i128::from(meta.last_modified.timestamp()) * 1_000_000_000
        + i128::from(meta.last_modified.timestamp_subsec_nanos());
    ObjectInfo {
        key: key.to_owned(),
        size: meta.size,
        // chrono and time cover the same years in practice; out of range means a broken
        // store, and "now" is the least surprising stand-in for a timestamp.
        last_modified: OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .unwrap_or_else(|_| OffsetDateTime::now_utc()),
    }
}

/// The one mapping of `object_store` errors to error kinds.
pub(crate) fn map_error(backend: &str, key: &str, e: object_store::Error) -> Error {
    use object_store::Error as E;
    match e {
        E::NotFound { .. } => Error::not_found(format!("object {key:?} in {backend}")),
        E::AlreadyExists { .. } => Error::already_exists(format!("object {key:?} in {backend}")),
        E::Precondition { .. } => Error::conflict(format!("object {key:?} in {backend} changed")),
        E::InvalidPath { source } => Error::invalid_input("key", format!("{source} (key {key:?})")),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => Error::PermissionDenied {
            message: format!("{backend} refused access to {key:?}"),
        },
        E::NotSupported { .. } | E::NotImplemented { .. } => {
            Error::not_supported(backend, "this operation")
        }
        e @ E::UnknownConfigurationKey { .. } => Error::backend(backend, false, e),
        e => {
            let retryable = retryable_io(&e).unwrap_or(true);
            Error::backend(backend, retryable, e)
        }
    }
}

/// For an error caused by local I/O, whether it is transient; `None` when no I/O error is
/// in the chain (network stores: assume a retry may help).
fn retryable_io(e: &(dyn std::error::Error + 'static)) -> Option<bool> {
    use std::io::ErrorKind as K;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(matches!(
                io.kind(),
                K::Interrupted
                    | K::TimedOut
                    | K::WouldBlock
                    | K::ConnectionReset
                    | K::ConnectionAborted
            ));
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn objects() -> Objects {
        Objects::new(Arc::new(InMemory::new()), "memory://".into())
    }

    #[tokio::test]
    async fn prefix_is_a_string_prefix_not_a_directory() {
        let o = objects();
        for k in ["a/b1", "a/b2/c", "a/c", "ab"] {
            o.put(k, Bytes::from_static(b"x"), Default::default())
                .await
                .expect("put");
        }
        let keys = |v: Vec<ObjectInfo>| v.into_iter().map(|o| o.key).collect::<Vec<_>>();
        assert_eq!(keys(o.list("a/b").await.expect("list")), ["a/b1", "a/b2/c"]);
        assert_eq!(
            keys(o.list("a").await.expect("list")),
            ["a/b1", "a/b2/c", "a/c", "ab"]
        );
        assert_eq!(
            keys(o.list("a/").await.expect("list")),
            ["a/b1", "a/b2/c", "a/c"]
        );
    }

    #[tokio::test]
    async fn probe_leaves_nothing_behind() {
        let o = objects();
        o.probe().await.expect("probe");
        assert!(o.list("").await.expect("list").is_empty());
        let all: Vec<ObjectMeta> = o.store.list(None).try_collect().await.expect("raw list");
        assert!(all.is_empty());
    }

    #[test]
    fn not_found_and_already_exists_keep_their_kind() {
        let src = || Box::new(std::io::Error::other("x")) as _;
        let e = map_error(
            "m",
            "k",
            object_store::Error::NotFound {
                path: "k".into(),
                source: src(),
            },
        );
        assert_eq!(e.kind(), "not_found");
        let e = map_error(
            "m",
            "k",
            object_store::Error::AlreadyExists {
                path: "k".into(),
                source: src(),
            },
        );
        assert_eq!(e.kind(), "already_exists");
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let e = map_error(
            "m",
            "k",
            object_store::Error::Generic {
                store: "x",
                source: Box::new(denied),
            },
        );
        assert!(!e.is_retryable());
    }
}
