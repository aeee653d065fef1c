//! `DocumentStore`: where customers' documents (blobs) live.
//!
//! Defaults: memory ([`crate::mem::MemoryDocumentStore`]) and a local directory
//! (`legalops-store`); real backends: any `object_store` URL.

use std::fmt::{Debug, Display};

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::Result;
use crate::object::ObjectInfo;

/// A store of documents addressed by key.
///
/// Keys are validated with [`crate::object::validate_key`]; an invalid key is
/// `InvalidInput` and touches nothing.
#[async_trait]
pub trait DocumentStore: Debug + Display + Send + Sync + 'static {
    /// Writes `bytes` under `key`, replacing any previous content.
    async fn put(&self, key: &str, bytes: Bytes) -> Result<ObjectInfo>;

    /// Reads the whole object; `NotFound` if absent.
    async fn get(&self, key: &str) -> Result<Bytes>;

    /// Reads the object's metadata; `NotFound` if absent.
    async fn head(&self, key: &str) -> Result<ObjectInfo>;

    /// Removes the object. Removing an absent key succeeds (idempotent).
    async fn delete(&self, key: &str) -> Result<()>;

    /// Lists objects whose key starts with `prefix` (`""` for all), sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>>;

    /// Proves the store is reachable and writable enough to serve (used by `/readyz`).
    async fn healthcheck(&self) -> Result<()>;
}
