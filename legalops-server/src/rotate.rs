//! A log file that rotates by day or by size and keeps a bounded number of old files
//! (runbook: log rotation). `legalops.log` is the file being written; rotated files are
//! `legalops.<start time>.log`, which sort by age.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use legalops_core::SharedClock;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::config::LogRotation;

/// The rotating writer. Not shared: wrap it in a non-blocking worker or a mutex.
#[derive(Debug)]
pub struct RotatingFile {
    dir: PathBuf,
    stem: String,
    rotation: LogRotation,
    max_bytes: u64,
    keep: usize,
    clock: SharedClock,
    file: File,
    size: u64,
    opened: OffsetDateTime,
}

impl RotatingFile {
    /// Opens (appending) `<dir>/<stem>.log`, creating `dir`.
    pub fn open(
        dir: &Path,
        stem: &str,
        rotation: LogRotation,
        max_bytes: u64,
        keep: usize,
        clock: SharedClock,
    ) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let path = dir.join(format!("{stem}.log"));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let meta = file.metadata()?;
        // A file left by an earlier run belongs to the day it was last written.
        let opened = match meta.modified() {
            Ok(t) if meta.len() > 0 => OffsetDateTime::from(t),
            _ => clock.now(),
        };
        Ok(Self {
            dir: dir.to_owned(),
            stem: stem.to_owned(),
            rotation,
            max_bytes,
            keep,
            clock,
            file,
            size: meta.len(),
            opened,
        })
    }

    fn current_path(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.stem))
    }

    fn due(&self, now: OffsetDateTime, incoming: usize) -> bool {
        match self.rotation {
            LogRotation::Daily => now.date() != self.opened.date() && self.size > 0,
            LogRotation::Size => self.size > 0 && self.size + incoming as u64 > self.max_bytes,
        }
    }

    fn rotate(&mut self, now: OffsetDateTime) -> io::Result<()> {
        self.file.flush()?;
        let fmt =
            format_description!("[year]-[month]-[day]T[hour][minute][second].[subsecond digits:3]");
        let stamp = self.opened.format(fmt).map_err(io::Error::other)?;
        let mut target = self.dir.join(format!("{}.{stamp}.log", self.stem));
        let mut n = 1;
        while target.exists() {
            target = self.dir.join(format!("{}.{stamp}-{n}.log", self.stem));
            n += 1;
        }
        fs::rename(self.current_path(), &target)?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.current_path())?;
        self.size = 0;
        self.opened = now;
        self.prune()
    }

    /// Removes the oldest rotated files beyond `keep`.
    fn prune(&self) -> io::Result<()> {
        let prefix = format!("{}.", self.stem);
        let current = format!("{}.log", self.stem);
        let mut rotated: Vec<PathBuf> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".log") && n != current)
            })
            .collect();
        rotated.sort();
        let excess = rotated.len().saturating_sub(self.keep);
        for old in &rotated[..excess] {
            fs::remove_file(old)?;
        }
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let now = self.clock.now();
        if self.due(now, buf.len()) {
            self.rotate(now)?;
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::ManualClock;
    use std::sync::Arc;
    use std::time::Duration;
    use time::macros::datetime;

    fn logs(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn size_rotation_keeps_only_the_newest_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(datetime!(2026-11-23 10:00 UTC));
        let mut f = RotatingFile::open(
            dir.path(),
            "legalops",
            LogRotation::Size,
            100,
            3,
            Arc::new(clock.clone()),
        )
        .expect("open");
        for _ in 0..10 {
            f.write_all(&[b'x'; 60]).expect("write");
            clock.advance(Duration::from_secs(1));
        }
        let names = logs(dir.path());
        assert_eq!(names.len(), 4, "current + 3 kept: {names:?}");
        assert!(names.contains(&"legalops.log".to_owned()));
        for n in &names {
            let len = fs::metadata(dir.path().join(n))
                .map(|m| m.len())
                .unwrap_or(0);
            assert!(len <= 100, "{n} has {len} bytes");
        }
    }

    #[test]
    fn daily_rotation_starts_a_new_file_after_midnight() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(datetime!(2026-11-23 23:59 UTC));
        let mut f = RotatingFile::open(
            dir.path(),
            "legalops",
            LogRotation::Daily,
            1,
            14,
            Arc::new(clock.clone()),
        )
        .expect("open");
        f.write_all(b"monday\n").expect("write");
        f.write_all(b"still monday\n").expect("write");
        assert_eq!(logs(dir.path()), vec!["legalops.log"]);
        clock.advance(Duration::from_secs(120));
        f.write_all(b"tuesday\n").expect("write");
        let names = logs(dir.path());
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(names[0], "legalops.2026-11-23T235900.000.log");
        let old = fs::read_to_string(dir.path().join(&names[0])).unwrap_or_default();
        assert_eq!(old, "monday\nstill monday\n");
        assert_eq!(
            fs::read_to_string(dir.path().join("legalops.log")).unwrap_or_default(),
            "tuesday\n"
        );
    }
}
