//! [`MemoryDocumentStore`]: documents kept in process memory, for tests, examples and
//! single-process use without a disk.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use super::{NAME, lock};
use crate::clock::{SharedClock, SystemClock};
use crate::documents::DocumentStore;
use crate::error::{Error, Result};
use crate::object::{ObjectInfo, validate_key, validate_prefix};

#[derive(Debug, Clone)]
struct Stored {
    bytes: Bytes,
    modified: OffsetDateTime,
}

impl Stored {
    fn info(&self, key: &str) -> ObjectInfo {
        ObjectInfo {
            key: key.to_owned(),
            size: self.bytes.len() as u64,
            last_modified: self.modified,
        }
    }
}

/// A [`DocumentStore`] in a sorted map; `last_modified` comes from the injected clock.
#[derive(Debug)]
pub struct MemoryDocumentStore {
    objects: Mutex<BTreeMap<String, Stored>>,
    clock: SharedClock,
}

impl Default for MemoryDocumentStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryDocumentStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty store that stamps writes with `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        Self {
            objects: Mutex::new(BTreeMap::new()),
            clock,
        }
    }
}

impl fmt::Display for MemoryDocumentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAME)
    }
}

fn missing(key: &str) -> Error {
    Error::not_found(format!("document {key:?}"))
}

#[async_trait]
impl DocumentStore for MemoryDocumentStore {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<ObjectInfo> {
        validate_key(key)?;
        let stored = Stored {
            bytes,
            modified: self.clock.now(),
        };
        let info = stored.info(key);
        lock(&self.objects).insert(key.to_owned(), stored);
        Ok(info)
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        validate_key(key)?;
        lock(&self.objects)
            .get(key)
            .map(|s| s.bytes.clone())
            .ok_or_else(|| missing(key))
    }

    async fn head(&self, key: &str) -> Result<ObjectInfo> {
        validate_key(key)?;
        lock(&self.objects)
            .get(key)
            .map(|s| s.info(key))
            .ok_or_else(|| missing(key))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        lock(&self.objects).remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        validate_prefix(prefix)?;
        let objects = lock(&self.objects);
        // The map is sorted by key, so a range from the prefix is already in order.
        Ok(objects
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, s)| s.info(k))
            .collect())
    }

    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::mem::block_on;
    use time::macros::datetime;

    #[test]
    fn last_modified_comes_from_the_injected_clock() {
        let clock = ManualClock::new(datetime!(2026-03-01 09:00 UTC));
        let store = MemoryDocumentStore::with_clock(Arc::new(clock.clone()));
        assert!(block_on(store.put("a.pdf", Bytes::from_static(b"v1"))).is_ok());
        clock.advance(std::time::Duration::from_secs(60));
        let info = block_on(store.put("a.pdf", Bytes::from_static(b"v22")));
        assert!(
            matches!(info, Ok(ref i) if i.last_modified == datetime!(2026-03-01 09:01 UTC) && i.size == 3)
        );
        let head = block_on(store.head("a.pdf"));
        assert_eq!(head.ok(), info.ok());
    }

    #[test]
    fn a_prefix_that_sorts_between_keys_lists_only_its_own() {
        let store = MemoryDocumentStore::new();
        for k in ["a", "a/b", "a0", "a/c", "b"] {
            assert!(block_on(store.put(k, Bytes::new())).is_ok());
        }
        let keys: Vec<String> = block_on(store.list("a/"))
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(keys, ["a/b", "a/c"]);
        assert_eq!(block_on(store.list("")).map(|v| v.len()).ok(), Some(5));
    }
}
