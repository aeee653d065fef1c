//! Backup targets over `object_store`: [`ObjectStoreTarget`] for any store (memory, and
//! later S3 and friends) and [`LocalDirTarget`] for a local directory.
//!
//! Neither has object lock: a write with `retain_until` is `NotSupported` rather than a
//! silent write that could be deleted early.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use legalops_core::backup::{BackupTarget, PutMode, PutOptions, TargetCapabilities};
use legalops_core::object::ObjectInfo;
use legalops_core::{Error, Result};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;

use super::Objects;
use super::documents::local_dir;

/// The configuration key that backup target URLs are reported under.
const URL_KEY: &str = "backup_target_url";

/// A [`BackupTarget`] over any `object_store` backend, without object lock.
#[derive(Debug, Clone)]
pub struct ObjectStoreTarget {
    objects: Objects,
}

impl ObjectStoreTarget {
    /// A target writing to `store`, shown as `name` (which must not contain secrets).
    pub fn new(store: Arc<dyn ObjectStore>, name: String) -> Self {
        Self {
            objects: Objects::new(store, name),
        }
    }

    /// A target in process memory (`memory://`); for tests and trials.
    pub fn memory() -> Self {
        Self::new(
            Arc::new(object_store::memory::InMemory::new()),
            "memory://".to_owned(),
        )
    }
}

impl fmt::Display for ObjectStoreTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.objects.name)
    }
}

#[async_trait]
impl BackupTarget for ObjectStoreTarget {
    async fn put(&self, key: &str, bytes: Bytes, options: PutOptions) -> Result<ObjectInfo> {
        self.objects.path(key)?;
        if options.retain_until.is_some() {
            return Err(Error::not_supported(
                &self.objects.name,
                "object lock (retain_until)",
            ));
        }
        let mode = match options.mode {
            PutMode::Overwrite => object_store::PutMode::Overwrite,
            PutMode::Create => object_store::PutMode::Create,
        };
        self.objects.put(key, bytes, mode.into()).await
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        self.objects.get(key).await
    }

    async fn head(&self, key: &str) -> Result<ObjectInfo> {
        self.objects.head(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        self.objects.list(prefix).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.objects.delete(key).await
    }

    fn capabilities(&self) -> TargetCapabilities {
        TargetCapabilities { object_lock: false }
    }

    async fn healthcheck(&self) -> Result<()> {
        self.objects.probe().await
    }
}

/// A [`BackupTarget`] in a local directory (`file:///srv/legalops/backups`).
///
/// Create-only writes are atomic (a hard link that fails if the name is taken), so two
/// writers of one lock file cannot both win.
#[derive(Debug, Clone)]
pub struct LocalDirTarget {
    inner: ObjectStoreTarget,
}

impl LocalDirTarget {
    /// A target in `dir`, which must be absolute and is created if missing.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let dir = local_dir(URL_KEY, &dir.display().to_string(), &dir.to_string_lossy())?;
        let store = LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| Error::invalid_config(URL_KEY, format!("{}: {e}", dir.display())))?
            .with_automatic_cleanup(true);
        let name = format!("file://{}", dir.display());
        Ok(Self {
            inner: ObjectStoreTarget::new(Arc::new(store), name),
        })
    }

    /// A target at a `file:///absolute/dir` URL.
    pub fn from_url(url: &str) -> Result<Self> {
        match url.strip_prefix("file://") {
            Some(path) => Self::new(path),
            None => Err(Error::invalid_config(
                URL_KEY,
                format!("{url:?} is not a `file:///absolute/dir` URL"),
            )),
        }
    }
}

impl fmt::Display for LocalDirTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

#[async_trait]
impl BackupTarget for LocalDirTarget {
    async fn put(&self, key: &str, bytes: Bytes, options: PutOptions) -> Result<ObjectInfo> {
        self.inner.put(key, bytes, options).await
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        self.inner.get(key).await
    }

    async fn head(&self, key: &str) -> Result<ObjectInfo> {
        self.inner.head(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        self.inner.list(prefix).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key).await
    }

    fn capabilities(&self) -> TargetCapabilities {
        self.inner.capabilities()
    }

    async fn healthcheck(&self) -> Result<()> {
        self.inner.healthcheck().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[tokio::test]
    async fn create_mode_refuses_an_existing_key() {
        let t = ObjectStoreTarget::memory();
        let create = PutOptions {
            mode: PutMode::Create,
            retain_until: None,
        };
        t.put("lock", Bytes::from_static(b"a"), create.clone())
            .await
            .expect("first create");
        let err = t.put("lock", Bytes::from_static(b"b"), create).await.err();
        assert!(matches!(err, Some(Error::AlreadyExists { .. })), "{err:?}");
        assert_eq!(t.get("lock").await.expect("get"), Bytes::from_static(b"a"));
    }

    #[tokio::test]
    async fn retention_is_not_supported_and_writes_nothing() {
        let t = ObjectStoreTarget::memory();
        let opts = PutOptions {
            retain_until: Some(datetime!(2030-01-01 0:00 UTC)),
            ..Default::default()
        };
        let err = t.put("x", Bytes::from_static(b"a"), opts).await.err();
        assert!(matches!(err, Some(Error::NotSupported { .. })), "{err:?}");
        assert!(matches!(t.head("x").await, Err(Error::NotFound { .. })));
        assert!(!t.capabilities().object_lock);
    }

    #[test]
    fn non_file_urls_are_refused() {
        let err = LocalDirTarget::from_url("s3://bucket").err();
        assert!(
            matches!(err, Some(Error::InvalidConfig { key, .. }) if key == "backup_target_url")
        );
    }
}
