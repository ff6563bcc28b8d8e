//! Log files that rotate by size with a bounded total and an age limit: `<name>.log` is written
//! until the next line would take it past the file size, then becomes `<name>.log.1` (the one
//! before becomes `.2`, and so on); the rotated files beyond the total, and those older than
//! the retention, are deleted. Lines are never split between two files.

use std::{
    fs::File,
    io::{self, Write as _},
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

/// How the logs of one service are bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Size at which a file is rotated.
    pub file_bytes: u64,
    /// Most bytes the current file and the rotated ones take together.
    pub total_bytes: u64,
    /// Rotated files older than this are deleted.
    pub retention: Duration,
}

impl Default for Rotation {
    /// 64 MiB files, 512 MiB a service, 30 days.
    fn default() -> Self {
        Self {
            file_bytes: 64 << 20,
            total_bytes: 512 << 20,
            retention: Duration::from_secs(30 * 86_400),
        }
    }
}

impl Rotation {
    /// How many rotated files the total leaves room for beside the current one.
    pub fn rotated_files(&self) -> u32 {
        let files = self.total_bytes / self.file_bytes.max(1);
        u32::try_from(files.saturating_sub(1)).unwrap_or(u32::MAX)
    }
}

/// Parses a size: `512`, `64KiB`, `64MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB`, all
/// powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let at = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(at);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; use e.g. 64MiB, 512KiB or 1GiB"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size; use e.g. 64MiB, 512KiB or 1GiB"
            ));
        }
    };
    number
        .checked_mul(1 << shift)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a usable size; use e.g. 64MiB"))
}

/// An append-only log file that rotates itself.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    written: u64,
    rotation: Rotation,
}

impl RotatingFile {
    /// Opens (creating, owner-only) `path` for appending, and prunes what rotation left.
    pub fn open(path: &Path, rotation: Rotation) -> io::Result<Self> {
        let file = shopctl_kit::files::append_private(path)?;
        let written = file.metadata()?.len();
        let this = Self {
            path: path.to_owned(),
            file,
            written,
            rotation,
        };
        this.prune();
        Ok(this)
    }

    /// Appends one line (`line` ends with its newline), rotating first when it would not fit.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let len = u64::try_from(line.len()).unwrap_or(u64::MAX);
        if self.written > 0 && self.written.saturating_add(len) > self.rotation.file_bytes {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        self.written += len;
        Ok(())
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        let keep = self.rotation.rotated_files();
        if keep == 0 {
            self.file.set_len(0)?;
            self.written = 0;
            return Ok(());
        }
        let _ = std::fs::remove_file(self.rotated(keep));
        for n in (1..keep).rev() {
            let from = self.rotated(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        std::fs::rename(&self.path, self.rotated(1))?;
        self.file = shopctl_kit::files::append_private(&self.path)?;
        self.written = 0;
        self.prune();
        Ok(())
    }

    /// Deletes the rotated files past the count the total allows, and those past retention.
    fn prune(&self) {
        let keep = self.rotation.rotated_files();
        let cutoff = SystemTime::now().checked_sub(self.rotation.retention);
        let mut n = 1;
        loop {
            let path = self.rotated(n);
            let Ok(meta) = std::fs::metadata(&path) else {
                if n > keep {
                    return;
                }
                n += 1;
                continue;
            };
            let expired = cutoff.is_some_and(|cutoff| meta.modified().is_ok_and(|m| m < cutoff));
            if n > keep || expired {
                let _ = std::fs::remove_file(&path);
            }
            n += 1;
        }
    }
}

/// The rotating files of several services in one directory (`<dir>/<service>.log`), opened on
/// first use: where `up --in-process` writes each service's lines.
#[derive(Debug)]
pub struct ServiceLogs {
    dir: PathBuf,
    rotation: Rotation,
    files: std::sync::Mutex<std::collections::BTreeMap<String, RotatingFile>>,
}

impl ServiceLogs {
    /// Files in `dir`, bounded by `rotation`.
    pub fn new(dir: &Path, rotation: Rotation) -> Self {
        Self {
            dir: dir.to_owned(),
            rotation,
            files: std::sync::Mutex::default(),
        }
    }

    /// Appends `line` to `service`'s file. A line that cannot be written is dropped: logging
    /// never stops a service.
    pub fn write(&self, service: &str, line: &[u8]) {
        let Ok(mut files) = self.files.lock() else {
            return;
        };
        if !files.contains_key(service) {
            let safe = service
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !safe {
                return;
            }
            match RotatingFile::open(&self.dir.join(format!("{service}.log")), self.rotation) {
                Ok(file) => {
                    files.insert(service.to_owned(), file);
                }
                Err(_) => return,
            }
        }
        if let Some(file) = files.get_mut(service) {
            let _ = file.write_line(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_written() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        for bad in ["", "0", "MiB", "12parsecs", "99999999999999GiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    fn sizes(dir: &Path) -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn files_rotate_by_size_keep_the_total_and_never_split_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("order.log");
        let rotation = Rotation {
            file_bytes: 100,
            total_bytes: 300,
            retention: Duration::from_secs(3600),
        };
        let mut file = RotatingFile::open(&path, rotation).unwrap();
        let line = format!("{}\n", "x".repeat(39));
        for _ in 0..20 {
            file.write_line(line.as_bytes()).unwrap();
        }
        let files = sizes(dir.path());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["order.log", "order.log.1", "order.log.2"]);
        assert!(files.iter().map(|(_, s)| s).sum::<u64>() <= 300);
        for (name, size) in &files {
            assert_eq!(size % 40, 0, "{name} holds a split line");
        }
        for name in names {
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            assert!(text.lines().all(|l| l.len() == 39));
        }
    }

    #[test]
    fn each_service_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let logs = ServiceLogs::new(dir.path(), Rotation::default());
        logs.write("order", b"{\"a\":1}\n");
        logs.write("payment", b"{\"b\":2}\n");
        logs.write("order", b"{\"c\":3}\n");
        logs.write("../escape", b"no\n");
        let order = std::fs::read_to_string(dir.path().join("order.log")).unwrap();
        assert_eq!(order, "{\"a\":1}\n{\"c\":3}\n");
        assert!(dir.path().join("payment.log").is_file());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn rotated_files_past_retention_are_deleted_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("user.log");
        std::fs::write(dir.path().join("user.log.1"), "old\n").unwrap();
        let old = std::fs::File::options()
            .write(true)
            .open(dir.path().join("user.log.1"))
            .unwrap();
        old.set_modified(SystemTime::now() - Duration::from_secs(40 * 86_400))
            .unwrap();
        std::fs::write(
            dir.path().join("user.log.2"),
            "older but kept? no: past the count\n",
        )
        .unwrap();
        let rotation = Rotation {
            file_bytes: 1 << 20,
            total_bytes: 2 << 20,
            retention: Duration::from_secs(30 * 86_400),
        };
        RotatingFile::open(&path, rotation).unwrap();
        let names: Vec<String> = sizes(dir.path()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["user.log"]);
    }
}
