//! [`MemoryBackupTarget`]: a backup target in process memory that also emulates S3 Object
//! Lock (write-once retention), so that backup engines can test retention without S3.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use super::{NAME, lock};
use crate::backup::{BackupTarget, PutMode, PutOptions, TargetCapabilities};
use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, Result};
use crate::object::{ObjectInfo, validate_key, validate_prefix};

#[derive(Debug, Clone)]
struct Stored {
    bytes: Bytes,
    modified: OffsetDateTime,
    retain_until: Option<OffsetDateTime>,
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

/// A [`BackupTarget`] in a sorted map. Retention (`retain_until`) is judged against the
/// injected clock, so tests move time instead of sleeping.
#[derive(Debug)]
pub struct MemoryBackupTarget {
    objects: Mutex<BTreeMap<String, Stored>>,
    clock: SharedClock,
    object_lock: bool,
}

impl Default for MemoryBackupTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBackupTarget {
    /// An empty target with object lock, on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty target with object lock whose retention is judged by `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        Self {
            objects: Mutex::new(BTreeMap::new()),
            clock,
            object_lock: true,
        }
    }

    /// Turns object lock off: writes with `retain_until` then answer `NotSupported`, like a
    /// bucket created without Object Lock. For testing callers' fallback paths.
    pub fn without_object_lock(mut self) -> Self {
        self.object_lock = false;
        self
    }

    fn locked(&self, key: &str, stored: &Stored) -> Option<Error> {
        let until = stored.retain_until?;
        (self.clock.now() < until).then(|| Error::PermissionDenied {
            message: format!("backup object {key:?} is retained until {until}"),
        })
    }
}

impl fmt::Display for MemoryBackupTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAME)
    }
}

fn missing(key: &str) -> Error {
    Error::not_found(format!("backup object {key:?}"))
}

#[async_trait]
impl BackupTarget for MemoryBackupTarget {
    async fn put(&self, key: &str, bytes: Bytes, options: PutOptions) -> Result<ObjectInfo> {
        validate_key(key)?;
        if options.retain_until.is_some() && !self.object_lock {
            return Err(Error::not_supported(NAME, "object lock (retain_until)"));
        }
        let mut objects = lock(&self.objects);
        if let Some(existing) = objects.get(key) {
            if options.mode == PutMode::Create {
                return Err(Error::already_exists(format!("backup object {key:?}")));
            }
            if let Some(e) = self.locked(key, existing) {
                return Err(e);
            }
        }
        let stored = Stored {
            bytes,
            modified: self.clock.now(),
            retain_until: options.retain_until,
        };
        let info = stored.info(key);
        objects.insert(key.to_owned(), stored);
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

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        let mut objects = lock(&self.objects);
        if let Some(e) = objects.get(key).and_then(|s| self.locked(key, s)) {
            return Err(e);
        }
        objects.remove(key);
        Ok(())
    }

    fn capabilities(&self) -> TargetCapabilities {
        TargetCapabilities {
            object_lock: self.object_lock,
        }
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
    use std::time::Duration;
    use time::macros::datetime;

    fn retained(until: OffsetDateTime) -> PutOptions {
        PutOptions {
            mode: PutMode::Overwrite,
            retain_until: Some(until),
        }
    }

    #[test]
    fn retention_blocks_delete_and_overwrite_until_it_passes() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        let target = MemoryBackupTarget::with_clock(Arc::new(clock.clone()));
        let until = datetime!(2026-01-08 00:00 UTC);
        assert!(block_on(target.put("m/1", Bytes::from_static(b"v1"), retained(until))).is_ok());

        let del = block_on(target.delete("m/1"));
        assert!(
            matches!(del, Err(Error::PermissionDenied { .. })),
            "{del:?}"
        );
        let over = block_on(target.put("m/1", Bytes::from_static(b"v2"), PutOptions::default()));
        assert!(
            matches!(over, Err(Error::PermissionDenied { .. })),
            "{over:?}"
        );
        assert_eq!(
            block_on(target.get("m/1")).ok(),
            Some(Bytes::from_static(b"v1"))
        );

        // One second before the end it still holds; at the instant it ends, it is released.
        clock.set(until - Duration::from_secs(1));
        assert!(block_on(target.delete("m/1")).is_err());
        clock.set(until);
        assert!(
            block_on(target.put("m/1", Bytes::from_static(b"v2"), PutOptions::default())).is_ok()
        );
        assert!(block_on(target.delete("m/1")).is_ok());
        assert!(matches!(
            block_on(target.head("m/1")),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn an_overwrite_may_extend_retention_once_the_old_one_passed() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        let target = MemoryBackupTarget::with_clock(Arc::new(clock.clone()));
        let first = datetime!(2026-01-02 00:00 UTC);
        assert!(block_on(target.put("k", Bytes::new(), retained(first))).is_ok());
        clock.set(first);
        assert!(
            block_on(target.put("k", Bytes::new(), retained(datetime!(2026-01-03 00:00 UTC))))
                .is_ok()
        );
        assert!(matches!(
            block_on(target.delete("k")),
            Err(Error::PermissionDenied { .. })
        ));
    }

    #[test]
    fn without_object_lock_retention_is_not_supported_and_nothing_is_written() {
        let target = MemoryBackupTarget::new().without_object_lock();
        assert!(!target.capabilities().object_lock);
        let r = block_on(target.put("k", Bytes::new(), retained(datetime!(2099-01-01 00:00 UTC))));
        assert!(matches!(r, Err(Error::NotSupported { .. })), "{r:?}");
        assert!(matches!(
            block_on(target.head("k")),
            Err(Error::NotFound { .. })
        ));
    }
}
