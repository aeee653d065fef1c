//! `BackupTarget`: where backup repositories (chunks, manifests, locks) are written.
//!
//! Defaults: memory ([`crate::mem::MemoryBackupTarget`]) and a local directory
//! (`legalops-store`); real backends: `object_store` (S3 and friends), S3 with Object Lock.

use std::fmt::{Debug, Display};

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use crate::error::Result;
use crate::object::ObjectInfo;

/// How a write treats an existing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PutMode {
    /// Replace whatever is there.
    #[default]
    Overwrite,
    /// Fail with `AlreadyExists` if the key exists (atomic where the backend allows):
    /// used for content-addressed chunks, manifests and lock files.
    Create,
}

/// Options of one write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Overwrite or create-only.
    pub mode: PutMode,
    /// Write-once retention: the object may not be deleted or overwritten before this
    /// instant. A backend without object lock answers `NotSupported`.
    pub retain_until: Option<OffsetDateTime>,
}

/// What a target can do beyond the basics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetCapabilities {
    /// Honours [`PutOptions::retain_until`] (S3 Object Lock).
    pub object_lock: bool,
}

/// A place backups are written to and read from.
#[async_trait]
pub trait BackupTarget: Debug + Display + Send + Sync + 'static {
    /// Writes `bytes` under `key` with `options`.
    async fn put(&self, key: &str, bytes: Bytes, options: PutOptions) -> Result<ObjectInfo>;

    /// Reads the whole object; `NotFound` if absent.
    async fn get(&self, key: &str) -> Result<Bytes>;

    /// Reads the object's metadata; `NotFound` if absent.
    async fn head(&self, key: &str) -> Result<ObjectInfo>;

    /// Lists objects under `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>>;

    /// Removes the object; absent is success; a retained object is `PermissionDenied`.
    async fn delete(&self, key: &str) -> Result<()>;

    /// What this target supports.
    fn capabilities(&self) -> TargetCapabilities;

    /// Proves the target is reachable.
    async fn healthcheck(&self) -> Result<()>;
}
