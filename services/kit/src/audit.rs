//! Append-only, hash-chained audit log of security and operations events (sign-ins, role
//! changes, refunds, key rotations): one JSON line per record, one file per service, e.g.
//! `<data_dir>/audit/user.jsonl`.
//!
//! A log file is easy to edit after the fact, so records are chained. Each [`AuditRecord`] carries
//! `prev`, the `hash` of the record before it (64 zeros for the first), and `hash`, the SHA-256
//! (lowercase hex) of `prev`, a newline and the record's own JSON without the `hash` field.
//! Changing, inserting, reordering or deleting a record breaks the chain at that line and
//! [`verify`] names it. The chain has no key: someone who can rewrite the file can also rewrite
//! every hash after an edit, and cutting off the tail leaves a valid chain. Keep the latest `seq`
//! and `hash` somewhere else too (central logging, a backup) to detect that.
//!
//! The hash covers the bytes that were written, not a re-encoding. [`verify`] recomputes it from
//! the stored line with its trailing `,"hash":"…"` member removed, so reformatting a line counts as
//! tampering, and numbers in `details` do not need to survive a JSON round trip.
//!
//! Use one [`AuditLog`] per file; its clones share it. A mutex keeps appends in order. The write
//! runs on a blocking task that holds the lock, so it finishes and the chain moves on even if the
//! caller's future is dropped (for example by a request timeout). That leaves no gap and no
//! repeated `seq`. Two `AuditLog`s or two processes writing one file would split the chain.
//!
//! No secrets belong in the log: callers must keep passwords, tokens and card data out of
//! [`AuditEvent::details`].

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

/// `prev` of the first record of a chain.
mod watch;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The action was carried out.
    Success,
    /// The action was attempted and failed (wrong password, invalid input, dependency down).
    Failure,
    /// The actor was not allowed to perform the action.
    Denied,
}

/// What happened, as the caller reports it. [`AuditLog::append`] adds the sequence number, time,
/// service and hashes.
///
/// `details` is written as given and kept for good. It must never contain passwords, tokens,
/// API keys, card data or other secrets. The log cannot tell them apart, so keeping them out is
/// the caller's duty.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Who acted: a user id, `service:<name>`, or `anonymous`.
    pub actor: String,
    /// What was attempted, as a stable snake_case name (`login`, `role_change`, `key_rotation`).
    pub action: String,
    /// What it was done to (usually an id), when there is one.
    pub target: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Extra context such as `{"ip": "…", "reason": "…"}`, or `Value::Null`. Never secrets.
    pub details: serde_json::Value,
}

/// One line of the log: an [`AuditEvent`] sealed into the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, starting at 1 with no gaps.
    pub seq: u64,
    /// When the record was appended (UTC).
    pub at: DateTime<Utc>,
    /// The service that wrote the record.
    pub service: String,
    /// Who acted.
    pub actor: String,
    /// What was attempted.
    pub action: String,
    /// What it was done to.
    pub target: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Extra context.
    pub details: serde_json::Value,
    /// `hash` of the previous record, or 64 zeros for the first.
    pub prev: String,
    /// SHA-256 (lowercase hex) of `prev`, `"\n"` and this record's JSON without `hash`.
    pub hash: String,
}

/// The signed part of a record: every field of [`AuditRecord`] except `hash`, in the same order,
/// so that the record's JSON is this JSON with `,"hash":"…"` added before the closing brace.
#[derive(Serialize)]
struct Unsigned<'a> {
    seq: u64,
    at: &'a DateTime<Utc>,
    service: &'a str,
    actor: &'a str,
    action: &'a str,
    target: Option<&'a str>,
    outcome: Outcome,
    details: &'a serde_json::Value,
    prev: &'a str,
}

/// Errors opening, appending to or verifying an audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file or its directory cannot be created, read or written.
    #[error("audit log I/O failed on `{}`: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The last line is not a valid record, so the chain cannot be continued.
    #[error(
        "cannot continue audit log `{}`: line {line} is bad ({reason}); repair it or move the file aside rather than start a new chain",
        .path.display()
    )]
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// [`verify`] found a record that breaks the chain.
    #[error("audit chain broken at line {line}: {reason}")]
    Tampered {
        /// 1-based line number of the first problem.
        line: u64,
        /// What is wrong there.
        reason: String,
    },
}

/// A writer for one audit log file. Clones share the file and the chain.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: Arc<Path>,
    service: Arc<str>,
    state: Arc<Mutex<State>>,
}

/// The open file and the chain's next link.
#[derive(Debug)]
struct State {
    file: File,
    next_seq: u64,
    prev: String,
    /// Set when a failed write could not be rolled back: the file ends in a partial line.
    broken: Option<String>,
}

impl AuditLog {
    /// Opens the log at `path` for `service`. Creates the parent directories and the file if they
    /// are missing.
    ///
    /// Reads the last record and continues the chain from it (`seq + 1`, `prev` = its hash). An
    /// empty file starts at `seq` 1 with `prev` = 64 zeros. If the last line is not a valid record
    /// (including one whose hash does not match its content), this returns
    /// [`AuditError::Corrupt`] instead of silently starting a new chain. Earlier lines are not
    /// checked; [`verify`] does that.
    pub async fn open(path: &Path, service: &str) -> Result<Self, AuditError> {
        let (task_path, task_service) = (path.to_path_buf(), service.to_owned());
        let state = blocking(path, move || open_state(&task_path, &task_service)).await?;
        Ok(Self {
            path: Arc::from(path),
            service: Arc::from(service),
            state: Arc::new(Mutex::new(state)),
        })
    }

    /// Appends one record for `event`. It gets the next `seq`, the current UTC time and the
    /// previous record's hash as `prev`. Then `hash` is computed, and the line is written in
    /// append mode and flushed to the operating system (not fsynced).
    ///
    /// Appends are serialized, so concurrent callers keep the chain intact. If the write fails,
    /// the chain does not move on and the partial line is cut off again. If it cannot be cut off,
    /// every later append fails until the file is repaired and reopened.
    pub async fn append(&self, event: AuditEvent) -> Result<AuditRecord, AuditError> {
        let mut state = Arc::clone(&self.state).lock_owned().await;
        let path = Arc::clone(&self.path);
        let service = Arc::clone(&self.service);
        // The blocking task owns the lock, so the write and the chain update finish together
        // even if this future is dropped.
        blocking(&self.path, move || state.append(&path, &service, event)).await
    }

    /// The path of the log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Exports `audit_chain_intact` in `metrics`: the log verified at each scrape.
    pub fn watch(&self, metrics: &crate::metrics::Metrics) {
        metrics.register_collector(watch::ChainWatch::new(self.path.to_path_buf()));
    }

    /// The audit log of `service` (`<data_dir>/audit/<service>.jsonl`), watched in `metrics`:
    /// how every service with an audit trail opens it.
    pub async fn for_service(
        settings: &crate::settings::CommonSettings,
        service: &str,
        metrics: &crate::metrics::Metrics,
    ) -> Result<Self, AuditError> {
        let path = settings
            .data_dir
            .join("audit")
            .join(format!("{service}.jsonl"));
        let log = Self::open(&path, service).await?;
        log.watch(metrics);
        Ok(log)
    }
}

impl State {
    fn append(
        &mut self,
        path: &Path,
        service: &str,
        event: AuditEvent,
    ) -> Result<AuditRecord, AuditError> {
        if let Some(reason) = &self.broken {
            return Err(io_error(path, io::Error::other(reason.clone())));
        }
        let seq = self.next_seq;
        let next_seq = seq
            .checked_add(1)
            .ok_or_else(|| io_error(path, io::Error::other("audit sequence numbers exhausted")))?;
        let at = Utc::now();
        let unsigned = Unsigned {
            seq,
            at: &at,
            service,
            actor: &event.actor,
            action: &event.action,
            target: event.target.as_deref(),
            outcome: event.outcome,
            details: &event.details,
            prev: &self.prev,
        };
        let hash = digest(&self.prev, &to_json(path, &unsigned)?);
        let record = AuditRecord {
            seq,
            at,
            service: service.to_owned(),
            actor: event.actor,
            action: event.action,
            target: event.target,
            outcome: event.outcome,
            details: event.details,
            prev: self.prev.clone(),
            hash,
        };
        let mut line = to_json(path, &record)?;
        line.push('\n');
        self.write(path, line.as_bytes())?;
        self.next_seq = next_seq;
        self.prev.clone_from(&record.hash);
        Ok(record)
    }

    /// Writes `bytes` at the end of the file. On failure, cuts the file back to its old length.
    fn write(&mut self, path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
        let before = self.file.metadata().map_err(|e| io_error(path, e))?.len();
        let written = self.file.write_all(bytes).and_then(|()| self.file.flush());
        if let Err(source) = written {
            if let Err(rollback) = self.file.set_len(before) {
                tracing::error!(
                    path = %path.display(),
                    error = %rollback,
                    "audit log left with a partial record; appends are disabled"
                );
                self.broken = Some(format!(
                    "an earlier append to `{}` failed and its partial line could not be removed \
                     ({rollback}); repair the end of the file, then reopen the log",
                    path.display()
                ));
            }
            return Err(io_error(path, source));
        }
        Ok(())
    }
}

/// Opens (creating if needed) the file and reads where the chain stands.
fn open_state(path: &Path, service: &str) -> Result<State, AuditError> {
    if let Some(dir) = path.parent() {
        crate::files::create_private_dir(dir).map_err(|e| io_error(dir, e))?;
    }
    // Owner-only: the trail names actors and targets (crate::files).
    let mut file = crate::files::private_options()
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    crate::files::restrict(&file).map_err(|e| io_error(path, e))?;
    let Some((line, mut raw)) = last_line(&file).map_err(|e| io_error(path, e))? else {
        return Ok(State {
            file,
            next_seq: 1,
            prev: GENESIS.to_owned(),
            broken: None,
        });
    };
    let terminated = raw.last() == Some(&b'\n');
    if terminated {
        raw.pop();
    }
    let corrupt = |reason: String| AuditError::Corrupt {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let record = parse_sealed(&raw).map_err(corrupt)?;
    let next_seq = record
        .seq
        .checked_add(1)
        .ok_or_else(|| corrupt("`seq` is at its maximum".to_owned()))?;
    if record.seq != line {
        tracing::warn!(
            path = %path.display(),
            line,
            seq = record.seq,
            "audit log: the last record's seq does not match its line number; run verify"
        );
    }
    if record.service != service {
        tracing::warn!(
            path = %path.display(),
            found = %record.service,
            expected = %service,
            "audit log was written by another service"
        );
    }
    if !terminated {
        // A write that stopped just before its newline: end the line so the next record starts
        // on a line of its own.
        file.write_all(b"\n").map_err(|e| io_error(path, e))?;
    }
    Ok(State {
        file,
        next_seq,
        prev: record.hash,
        broken: None,
    })
}

/// The 1-based number and bytes (with its newline, if any) of the file's last line; `None` for
/// an empty file.
fn last_line(file: &File) -> io::Result<Option<(u64, Vec<u8>)>> {
    let mut reader = BufReader::new(file);
    let mut last = Vec::new();
    let mut current = Vec::new();
    let mut count: u64 = 0;
    loop {
        current.clear();
        if reader.read_until(b'\n', &mut current)? == 0 {
            return Ok((count > 0).then_some((count, last)));
        }
        count += 1;
        std::mem::swap(&mut last, &mut current);
    }
}

/// Reads the whole log at `path` and checks every record. `seq` must start at 1 and go up by
/// exactly 1 per line. `prev` must equal the previous record's hash (64 zeros for the first).
/// Each hash must match its line's content.
///
/// Returns the number of records (0 for an empty file). Otherwise returns
/// [`AuditError::Tampered`] naming the 1-based line of the first problem. Run it on a log that is
/// not being appended to: a record being written at that moment shows up as a broken last line.
pub async fn verify(path: &Path) -> Result<u64, AuditError> {
    let owned = path.to_path_buf();
    blocking(path, move || verify_file(&owned)).await
}

fn verify_file(path: &Path) -> Result<u64, AuditError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = BufReader::new(file);
    let mut raw = Vec::new();
    let mut prev = GENESIS.to_owned();
    let mut line: u64 = 0;
    loop {
        raw.clear();
        if reader
            .read_until(b'\n', &mut raw)
            .map_err(|e| io_error(path, e))?
            == 0
        {
            return Ok(line);
        }
        line += 1;
        if raw.last() == Some(&b'\n') {
            raw.pop();
        }
        let tampered = move |reason: String| AuditError::Tampered { line, reason };
        let record = parse_sealed(&raw).map_err(tampered)?;
        if record.seq != line {
            return Err(tampered(format!(
                "expected seq {line}, found {} (a record is missing, duplicated or out of order)",
                record.seq
            )));
        }
        if record.prev != prev {
            return Err(tampered(if line == 1 {
                "the first record's `prev` is not 64 zeros (records before it were removed)"
                    .to_owned()
            } else {
                format!("`prev` does not match the hash of line {}", line - 1)
            }));
        }
        prev = record.hash;
    }
}

/// Parses one line (without its newline) and checks that its `hash` matches its content.
fn parse_sealed(raw: &[u8]) -> Result<AuditRecord, String> {
    let text = std::str::from_utf8(raw).map_err(|e| format!("not UTF-8 ({e})"))?;
    if text.trim().is_empty() {
        return Err("empty line".to_owned());
    }
    let record: AuditRecord = serde_json::from_str(text)
        .map_err(|e| format!("not a valid record: {}", json_reason(&e)))?;
    // As written, the line is the unsigned JSON with `,"hash":"…"` before its closing brace.
    let member = format!(",\"hash\":\"{}\"}}", record.hash);
    let Some(body) = text.strip_suffix(member.as_str()) else {
        return Err("not in the form this log writes (was the line reformatted?)".to_owned());
    };
    if digest(&record.prev, &format!("{body}}}")) != record.hash {
        return Err("`hash` does not match the record's content".to_owned());
    }
    Ok(record)
}

/// A serde_json error for a single line: "at column N" rather than "at line 1 column N".
fn json_reason(err: &serde_json::Error) -> String {
    let text = err.to_string();
    if err.line() == 0 {
        return text;
    }
    let position = format!(" at line {} column {}", err.line(), err.column());
    let message = text.strip_suffix(position.as_str()).unwrap_or(&text);
    format!("{message} at column {}", err.column())
}

/// SHA-256 of `prev`, a newline and `unsigned`, as lowercase hex.
fn digest(prev: &str, unsigned: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(unsigned.as_bytes());
    to_hex(&hasher.finalize())
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn to_json(path: &Path, value: &impl Serialize) -> Result<String, AuditError> {
    serde_json::to_string(value).map_err(|e| io_error(path, io::Error::from(e)))
}

fn io_error(path: &Path, source: io::Error) -> AuditError {
    AuditError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs file work on the blocking pool.
async fn blocking<T, F>(path: &Path, work: F) -> Result<T, AuditError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AuditError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        io_error(
            path,
            io::Error::other(format!("audit log task did not finish: {e}")),
        )
    })?
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn event(actor: &str) -> AuditEvent {
        AuditEvent {
            actor: actor.to_owned(),
            action: "user.login".to_owned(),
            target: Some("user-42".to_owned()),
            outcome: Outcome::Success,
            details: serde_json::json!({ "ip": "192.0.2.1", "ratio": 0.1 }),
        }
    }

    fn log_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("audit").join("user.jsonl")
    }

    async fn log_with(path: &Path, actors: &[&str]) -> Vec<AuditRecord> {
        let log = AuditLog::open(path, "user").await.unwrap();
        let mut records = Vec::new();
        for actor in actors {
            records.push(log.append(event(actor)).await.unwrap());
        }
        records
    }

    fn edit_lines(path: &Path, edit: impl FnOnce(&mut Vec<String>)) {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        edit(&mut lines);
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn digest_is_lowercase_hex_sha256() {
        assert_eq!(GENESIS.len(), 64);
        assert!(GENESIS.bytes().all(|b| b == b'0'));
        assert_eq!(to_hex(&[0x00, 0xab, 0x0f, 0xff]), "00ab0fff");
        // sha256("\n")
        assert_eq!(
            digest("", ""),
            "01ba4719c80b6fe911b091a7c05124b64eeece964e09c058ef8f9805daca546b"
        );
    }

    #[tokio::test]
    async fn appended_records_form_a_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(&dir);
        let records = log_with(&path, &["alice", "bob", "carol"]).await;

        assert_eq!(verify(&path).await.unwrap(), 3);
        assert_eq!(
            records.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [1_u64, 2, 3]
        );
        assert_eq!(records[0].prev, GENESIS);
        for pair in records.windows(2) {
            assert_eq!(pair[1].prev, pair[0].hash);
        }
        // What is on disk is what `append` returned.
        let text = std::fs::read_to_string(&path).unwrap();
        let stored: Vec<AuditRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(stored, records);
        assert_eq!(stored[1].service, "user");
        assert!(text.contains("\"outcome\":\"success\""), "{text}");
    }

    #[tokio::test]
    async fn reopening_continues_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(&dir);
        let records = log_with(&path, &["alice", "bob", "carol"]).await;

        let log = AuditLog::open(&path, "user").await.unwrap();
        assert_eq!(log.path(), path.as_path());
        let fourth = log.append(event("dave")).await.unwrap();
        assert_eq!(fourth.seq, 4);
        assert_eq!(fourth.prev, records[2].hash);
        assert_eq!(verify(&path).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn an_edited_record_is_reported_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(&dir);
        log_with(&path, &["alice", "bob", "carol"]).await;
        edit_lines(&path, |lines| {
            assert!(lines[1].contains("\"actor\":\"bob\""));
            lines[1] = lines[1].replace("\"actor\":\"bob\"", "\"actor\":\"mallory\"");
        });

        let err = verify(&path).await.unwrap_err();
        assert!(matches!(err, AuditError::Tampered { line: 2, .. }), "{err}");
    }

    #[tokio::test]
    async fn a_deleted_record_is_reported_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(&dir);
        log_with(&path, &["alice", "bob", "carol"]).await;
        edit_lines(&path, |lines| {
            lines.remove(1);
        });

        let err = verify(&path).await.unwrap_err();
        assert!(matches!(err, AuditError::Tampered { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_appends_keep_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(&dir);
        let log = AuditLog::open(&path, "user").await.unwrap();

        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let log = log.clone();
                tokio::spawn(async move { log.append(event(&format!("actor-{i}"))).await })
            })
            .collect();
        let mut seqs = Vec::new();
        for task in tasks {
            seqs.push(task.await.unwrap().unwrap().seq);
        }
        seqs.sort_unstable();

        assert_eq!(seqs, (1..=50).collect::<Vec<u64>>());
        assert_eq!(verify(&path).await.unwrap(), 50);
    }

    #[tokio::test]
    async fn a_dropped_append_leaves_no_gap() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(&dir);
        let log = AuditLog::open(&path, "user").await.unwrap();

        // Dropped after its first poll, possibly while the write is under way.
        let _ = tokio::time::timeout(Duration::ZERO, log.append(event("alice"))).await;
        let next = log.append(event("bob")).await.unwrap();

        assert_eq!(verify(&path).await.unwrap(), next.seq);
    }

    #[tokio::test]
    async fn open_refuses_a_garbage_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(&dir);
        log_with(&path, &["alice", "bob"]).await;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"garbage\n").unwrap();

        let err = AuditLog::open(&path, "user").await.unwrap_err();
        assert!(matches!(err, AuditError::Corrupt { line: 3, .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("user.jsonl") && message.contains("line 3") && !message.contains('\n'),
            "{message}"
        );
        let err = verify(&path).await.unwrap_err();
        assert!(matches!(err, AuditError::Tampered { line: 3, .. }), "{err}");
    }

    #[tokio::test]
    async fn a_last_record_without_newline_is_continued_on_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(&dir);
        log_with(&path, &["alice", "bob"]).await;
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.trim_end()).unwrap();

        let log = AuditLog::open(&path, "user").await.unwrap();
        assert_eq!(log.append(event("carol")).await.unwrap().seq, 3);
        assert_eq!(verify(&path).await.unwrap(), 3);
    }
}
