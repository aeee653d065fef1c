//! Blocking reads of the machine's figures through sysinfo, shared by the health checks and
//! the system report so that both measure the same thing the same way.
//!
//! Every function here blocks (it reads `/proc` or calls the OS): callers run it inside
//! `tokio::task::spawn_blocking`.

use std::path::{Path, PathBuf};

use legalops_core::{Error, Result};

/// Space on the filesystem that holds a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DiskFigures {
    /// Where that filesystem is mounted.
    pub mount_point: PathBuf,
    /// Bytes in use (total minus available to us, as `df` reports).
    pub used: u64,
    /// Bytes in all.
    pub total: u64,
}

impl DiskFigures {
    /// Percent used; NaN when the total is unknown (zero), which grades as a warning.
    pub fn percent(&self) -> f64 {
        percent(self.used, self.total)
    }
}

/// `used / total` in percent; NaN for a zero total (no measurement possible).
pub(crate) fn percent(used: u64, total: u64) -> f64 {
    if total == 0 {
        f64::NAN
    } else {
        used as f64 / total as f64 * 100.0
    }
}

/// The mount point among `mounts` that holds `path`: the longest one that is a prefix of it,
/// compared component by component (so `/data` does not hold `/database`).
pub(crate) fn pick_mount<'a>(
    mounts: impl IntoIterator<Item = &'a Path>,
    path: &Path,
) -> Option<&'a Path> {
    mounts
        .into_iter()
        .filter(|m| path.starts_with(m))
        .max_by_key(|m| m.components().count())
}

/// Disk figures of the filesystem holding `path`; `Ok(None)` when no listed filesystem
/// holds it (some containers list none).
pub(crate) fn disk_of(path: &Path) -> Result<Option<DiskFigures>> {
    // Canonicalize so that symlinks and `..` resolve to the filesystem really written to.
    let path = path.canonicalize().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::not_found(format!("path {}", path.display()))
        } else {
            Error::backend("filesystem", false, e)
        }
    })?;
    let disks = sysinfo::Disks::new_with_refreshed_list()
        .map_err(|e| Error::backend("sysinfo", false, e))?;
    let Some(mount) = pick_mount(disks.iter().map(|d| d.mount_point()), &path) else {
        return Ok(None);
    };
    Ok(disks
        .iter()
        .find(|d| d.mount_point() == mount)
        .map(|d| DiskFigures {
            mount_point: mount.to_path_buf(),
            used: d.total_space().saturating_sub(d.available_space()),
            total: d.total_space(),
        }))
}

/// System memory `(used, total)` in bytes.
pub(crate) fn memory() -> Result<(u64, u64)> {
    let mut sys = sysinfo::System::new().map_err(|e| Error::backend("sysinfo", false, e))?;
    sys.refresh_memory();
    Ok((sys.used_memory(), sys.total_memory()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_mount_prefix_holds_the_path() {
        let mounts = [Path::new("/"), Path::new("/data"), Path::new("/data/db")];
        let pick = |p: &str| pick_mount(mounts.iter().copied(), Path::new(p));
        assert_eq!(pick("/data/db/x.sqlite"), Some(Path::new("/data/db")));
        assert_eq!(pick("/data/docs"), Some(Path::new("/data")));
        assert_eq!(pick("/home/u"), Some(Path::new("/")));
    }

    #[test]
    fn mount_prefix_is_matched_by_whole_components() {
        let mounts = [Path::new("/"), Path::new("/data")];
        assert_eq!(
            pick_mount(mounts.iter().copied(), Path::new("/database")),
            Some(Path::new("/"))
        );
        assert_eq!(pick_mount([Path::new("/data")], Path::new("/srv")), None);
    }

    #[test]
    fn zero_total_is_an_unknown_percent() {
        assert!(percent(1, 0).is_nan());
        assert_eq!(percent(1, 4), 25.0);
    }

    #[test]
    fn missing_path_is_not_found() {
        let err = disk_of(Path::new("/no/such/legalops/path"));
        assert!(matches!(err, Err(Error::NotFound { .. })), "{err:?}");
    }

    #[test]
    fn temp_dir_lives_on_a_filesystem_with_space() -> Result<()> {
        // Some sandboxes list no filesystems; then there is nothing to check.
        if let Some(d) = disk_of(&std::env::temp_dir())? {
            assert!(d.total > 0 && d.used <= d.total, "{d:?}");
        }
        Ok(())
    }
}
