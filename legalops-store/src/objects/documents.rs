//! `ObjectStoreDocuments`: customers' documents in a local directory, in memory, or (with
//! later features) in any `object_store` bucket, chosen by URL.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use legalops_core::documents::DocumentStore;
use legalops_core::object::ObjectInfo;
use legalops_core::{Error, Result};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;

use super::Objects;

/// The configuration key that documents URLs are reported under.
const URL_KEY: &str = "documents_url";

/// A [`DocumentStore`] over any `object_store` backend.
#[derive(Debug, Clone)]
pub struct ObjectStoreDocuments {
    objects: Objects,
}

impl ObjectStoreDocuments {
    /// The store at `url`: `file:///absolute/dir` (created if missing) or `memory://`.
    ///
    /// `s3://`, `gs://` and `az://` are [`Error::InvalidConfig`] for `documents_url`
    /// naming the cargo feature that will serve them.
    pub fn from_url(url: &str) -> Result<Self> {
        let (scheme, rest) = url.split_once("://").unwrap_or((url, ""));
        match scheme {
            "file" => {
                let dir = local_dir(URL_KEY, url, rest)?;
                let store = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| Error::invalid_config(URL_KEY, format!("{url}: {e}")))?
                    .with_automatic_cleanup(true);
                Ok(Self::new(
                    Arc::new(store),
                    format!("file://{}", dir.display()),
                ))
            }
            "memory" => Ok(Self::new(Arc::new(InMemory::new()), "memory://".to_owned())),
            // Cloud stores: each arm builds its store here once its feature exists.
            "s3" | "s3a" => Err(feature_needed(url, "s3")),
            "gs" => Err(feature_needed(url, "gcs")),
            "az" | "azure" | "abfs" | "abfss" => Err(feature_needed(url, "azure")),
            _ => Err(Error::invalid_config(
                URL_KEY,
                format!("unknown scheme in {url:?}; expected `file:///dir` or `memory://`"),
            )),
        }
    }

    /// Documents in `store`, shown as `name` (which must not contain secrets).
    pub fn new(store: Arc<dyn ObjectStore>, name: String) -> Self {
        Self {
            objects: Objects::new(store, name),
        }
    }
}

/// The directory of a `file://` URL, created if missing; it must be absolute.
pub(crate) fn local_dir(key: &str, url: &str, path: &str) -> Result<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(path);
    if !dir.is_absolute() {
        return Err(Error::invalid_config(
            key,
            format!("{url:?} must name an absolute directory, as in `file:///srv/legalops/docs`"),
        ));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::invalid_config(key, format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

fn feature_needed(url: &str, feature: &str) -> Error {
    let scheme = url.split_once("://").map_or(url, |(s, _)| s);
    Error::invalid_config(
        URL_KEY,
        format!("`{scheme}://` needs the cargo feature `{feature}` of legalops-store"),
    )
}

impl fmt::Display for ObjectStoreDocuments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.objects.name)
    }
}

#[async_trait]
impl DocumentStore for ObjectStoreDocuments {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<ObjectInfo> {
        self.objects
            .put(key, bytes, object_store::PutOptions::default())
            .await
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        self.objects.get(key).await
    }

    async fn head(&self, key: &str) -> Result<ObjectInfo> {
        self.objects.head(key).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.objects.delete(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        self.objects.list(prefix).await
    }

    async fn healthcheck(&self) -> Result<()> {
        self.objects.probe().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_schemes_name_their_feature() {
        for (url, feature) in [("s3://b/p", "s3"), ("gs://b", "gcs"), ("az://c", "azure")] {
            match ObjectStoreDocuments::from_url(url) {
                Err(Error::InvalidConfig { key, message }) => {
                    assert_eq!(key, "documents_url");
                    assert!(message.contains(feature), "{message}");
                }
                other => panic!("expected InvalidConfig for {url}, got {other:?}"),
            }
        }
    }

    #[test]
    fn relative_file_urls_are_refused() {
        let err = ObjectStoreDocuments::from_url("file://data/docs").err();
        assert!(matches!(err, Some(Error::InvalidConfig { .. })));
    }

    #[tokio::test]
    async fn memory_store_round_trips() {
        let d = ObjectStoreDocuments::from_url("memory://").expect("memory store");
        d.put("a/b.pdf", Bytes::from_static(b"%PDF"))
            .await
            .expect("put");
        assert_eq!(
            d.get("a/b.pdf").await.expect("get"),
            Bytes::from_static(b"%PDF")
        );
        assert_eq!(d.to_string(), "memory://");
        assert!(matches!(
            d.get("../x").await,
            Err(Error::InvalidInput { .. })
        ));
    }
}
