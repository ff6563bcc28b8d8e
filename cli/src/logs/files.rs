//! The logs of a local shop: `<data>/logs/<service>.log`, and the older files rotation made of
//! it (`<service>.log.1` the newest of those, up to `.N`). Reading looks for the text every
//! shown line must hold (a trace id, the `--grep` text) with a vectorised substring search over
//! large blocks and parses only the lines that hold it, so a search costs about what `grep -F`
//! costs; following polls the files for growth and rotation.

use std::{
    collections::BTreeMap,
    io::{self, Read, Seek as _, SeekFrom},
    path::{Path, PathBuf},
    time::Duration,
};

use chrono::{DateTime, Utc};

use super::{Entry, Filter};

/// Bytes read at a time.
const BLOCK: usize = 8 << 20;

/// The log files of `service` in `dir`, oldest first (`.log.N` … `.log.1`, then `.log`).
pub fn files_of(dir: &Path, service: &str) -> Vec<PathBuf> {
    let current = dir.join(format!("{service}.log"));
    let mut rotated: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let n = name
                .strip_prefix(&format!("{service}.log."))?
                .parse::<u32>()
                .ok()?;
            Some((n, entry.path()))
        })
        .collect();
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    if current.is_file() {
        files.push(current);
    }
    files
}

/// Calls `each` with every complete line of `reader` (and a last line without its newline);
/// with a `needle`, only the lines that contain it.
pub fn scan(
    mut reader: impl Read,
    needle: Option<&str>,
    mut each: impl FnMut(&str),
) -> io::Result<()> {
    let finder = needle
        .filter(|n| !n.is_empty())
        .map(|n| memchr::memmem::Finder::new(n.as_bytes()).into_owned());
    let mut block = vec![0u8; BLOCK];
    let mut pending: Vec<u8> = Vec::new();
    let mut emit = |line: &[u8]| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        each(&String::from_utf8_lossy(line));
    };
    loop {
        let n = reader.read(&mut block)?;
        if n == 0 {
            if !pending.is_empty() && finder.as_ref().is_none_or(|f| f.find(&pending).is_some()) {
                emit(&pending);
            }
            return Ok(());
        }
        pending.extend_from_slice(&block[..n]);
        let Some(last) = memchr::memrchr(b'\n', &pending) else {
            continue;
        };
        let complete = &pending[..last];
        if let Some(finder) = &finder {
            let mut next = 0;
            for hit in finder.find_iter(complete) {
                if hit < next {
                    continue;
                }
                let start = memchr::memrchr(b'\n', &complete[..hit]).map_or(0, |at| at + 1);
                let end =
                    memchr::memchr(b'\n', &complete[hit..]).map_or(complete.len(), |at| hit + at);
                emit(&complete[start..end]);
                next = end + 1;
            }
        } else {
            for line in complete.split(|b| *b == b'\n') {
                emit(line);
            }
        }
        pending.drain(..=last);
    }
}

/// Every line of `dir`'s logs that `filter` shows, across services, ordered by time.
pub fn read(dir: &Path, services: &[&str], filter: &Filter) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for service in services.iter().filter(|s| filter.wants_service(s)) {
        for path in files_of(dir, service) {
            let file = std::fs::File::open(&path)?;
            let mut previous: Option<DateTime<Utc>> = None;
            scan(file, filter.needle(), |line| {
                if line.is_empty() || filter.rejects_raw(line) {
                    return;
                }
                let entry = Entry::parse(line, service, previous);
                previous = entry.timestamp;
                if filter.accepts(&entry) {
                    entries.push(entry);
                }
            })?;
        }
    }
    super::by_time(&mut entries);
    Ok(entries)
}

/// Where following has got to in one service's current log file.
#[derive(Debug, Default)]
struct Cursor {
    offset: u64,
    identity: Option<(u64, u64)>,
    partial: Vec<u8>,
}

#[cfg(unix)]
// `None` where the platform has no device and inode to tell a rotated file by.
#[allow(clippy::unnecessary_wraps)]
fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Follows `dir`'s logs from their current ends: every `interval`, the lines added since (a
/// rotated file is read to its end first) that `filter` shows go to `each`, until `each`
/// returns `false`.
pub async fn follow(
    dir: &Path,
    services: &[&str],
    filter: &Filter,
    interval: Duration,
    mut each: impl FnMut(Entry) -> bool,
) -> io::Result<()> {
    let mut cursors: BTreeMap<&str, Cursor> = BTreeMap::new();
    for service in services.iter().filter(|s| filter.wants_service(s)) {
        let path = dir.join(format!("{service}.log"));
        let cursor = std::fs::metadata(&path).map_or_else(
            |_| Cursor::default(),
            |meta| Cursor {
                offset: meta.len(),
                identity: identity(&meta),
                partial: Vec::new(),
            },
        );
        cursors.insert(service, cursor);
    }
    loop {
        for (service, cursor) in &mut cursors {
            let path = dir.join(format!("{service}.log"));
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let mut fresh = Vec::new();
            if cursor.identity.is_some() && identity(&meta) != cursor.identity
                || meta.len() < cursor.offset
            {
                // Rotated: the rest of the old file is now `.1`.
                let old = dir.join(format!("{service}.log.1"));
                if let Ok(old_meta) = std::fs::metadata(&old)
                    && identity(&old_meta) == cursor.identity
                {
                    read_from(&old, cursor.offset, &mut fresh)?;
                }
                cursor.offset = 0;
                cursor.identity = identity(&meta);
            }
            cursor.offset += read_from(&path, cursor.offset, &mut fresh)?;
            cursor.partial.extend_from_slice(&fresh);
            let Some(last) = memchr::memrchr(b'\n', &cursor.partial) else {
                continue;
            };
            let complete: Vec<u8> = cursor.partial.drain(..=last).collect();
            for line in complete.split(|b| *b == b'\n') {
                let line = String::from_utf8_lossy(line);
                if line.is_empty() || filter.rejects_raw(&line) {
                    continue;
                }
                let entry = Entry::parse(&line, service, None);
                if filter.accepts(&entry) && !each(entry) {
                    return Ok(());
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// Appends what `path` holds from `offset` on to `into`; returns how many bytes.
fn read_from(path: &Path, offset: u64, into: &mut Vec<u8>) -> io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let before = into.len();
    file.read_to_end(into)?;
    Ok(u64::try_from(into.len() - before).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str, needle: Option<&str>) -> Vec<String> {
        let mut lines = Vec::new();
        scan(text.as_bytes(), needle, |l| lines.push(l.to_owned())).unwrap();
        lines
    }

    #[test]
    fn scanning_finds_whole_lines_with_and_without_a_needle() {
        let text = "one abc\ntwo\r\nthree abc abc\nfour abc";
        assert_eq!(
            lines_of(text, None),
            ["one abc", "two", "three abc abc", "four abc"]
        );
        assert_eq!(
            lines_of(text, Some("abc")),
            ["one abc", "three abc abc", "four abc"]
        );
        assert_eq!(lines_of(text, Some("two")), ["two"]);
        assert!(lines_of(text, Some("zzz")).is_empty());
    }

    /// A reader that hands out a few bytes at a time, so lines straddle reads.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(3).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_split_across_reads_are_whole() {
        let text = "alpha needle\nbeta\ngamma needle\n";
        let mut lines = Vec::new();
        scan(Trickle(text.as_bytes()), Some("needle"), |l| {
            lines.push(l.to_owned());
        })
        .unwrap();
        assert_eq!(lines, ["alpha needle", "gamma needle"]);
    }

    #[test]
    fn rotated_files_come_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "order.log",
            "order.log.1",
            "order.log.2",
            "order.log.10",
            "orders.log",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<String> = files_of(dir.path(), "order")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["order.log.10", "order.log.2", "order.log.1", "order.log"]
        );
    }
}
