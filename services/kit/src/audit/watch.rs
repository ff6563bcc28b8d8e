//! `audit_chain_intact`: whether a service's audit log still verifies, checked at each scrape:
//! every complete record from the first, its sequence, its link to the one before and its hash
//! (a record being written at that moment, not yet ending in its newline, waits for the next
//! scrape). An altered, removed or reordered record turns the gauge to 0 and fires the
//! AuditChainBroken alert; it stays 0 until the service restarts, and `AuditLog::open` refuses a
//! broken tail. Audit logs grow by security events, not by requests: a pass over one is
//! milliseconds.

use std::{
    io::{BufRead as _, BufReader},
    path::PathBuf,
    sync::atomic::{AtomicBool, Ordering},
};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric as _},
    metrics::gauge::ConstGauge,
};

use super::{GENESIS, parse_sealed};

/// Verifies the log at `path` at each scrape.
#[derive(Debug)]
pub(super) struct ChainWatch {
    path: PathBuf,
    broken: AtomicBool,
}

impl ChainWatch {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            broken: AtomicBool::new(false),
        }
    }

    /// Whether the chain holds (a log not written yet holds).
    pub(super) fn check(&self) -> bool {
        if self.broken.load(Ordering::Relaxed) {
            return false;
        }
        let intact = self.verify();
        if !intact {
            self.broken.store(true, Ordering::Relaxed);
        }
        intact
    }

    fn verify(&self) -> bool {
        let Ok(file) = std::fs::File::open(&self.path) else {
            return !self.path.exists();
        };
        let mut reader = BufReader::new(file);
        let mut raw = Vec::new();
        let mut prev = GENESIS.to_owned();
        let mut seq = 0;
        loop {
            raw.clear();
            let Ok(n) = reader.read_until(b'\n', &mut raw) else {
                return false;
            };
            if n == 0 || raw.last() != Some(&b'\n') {
                return true;
            }
            raw.pop();
            seq += 1;
            match parse_sealed(&raw) {
                Ok(record) if record.seq == seq && record.prev == prev => prev = record.hash,
                _ => return false,
            }
        }
    }
}

impl Collector for ChainWatch {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let gauge = ConstGauge::new(i64::from(self.check()));
        gauge.encode(encoder.encode_descriptor(
            "audit_chain_intact",
            "Whether the service's hash-chained audit log verifies: 1 intact, 0 altered",
            None,
            gauge.metric_type(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use crate::{
        audit::{AuditEvent, AuditLog, Outcome},
        metrics::Metrics,
    };

    fn event(actor: &str) -> AuditEvent {
        AuditEvent {
            actor: actor.to_owned(),
            action: "refund".to_owned(),
            target: None,
            outcome: Outcome::Success,
            details: serde_json::Value::Null,
        }
    }

    #[tokio::test]
    async fn the_gauge_holds_while_the_log_verifies_and_drops_for_good_when_altered() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("payment.jsonl");
        let log = AuditLog::open(&path, "payment").await.expect("opened");
        let metrics = Metrics::new("payment");
        log.watch(&metrics);
        assert!(metrics.render().contains("audit_chain_intact 1\n"));
        for actor in ["alice", "bob", "carol"] {
            log.append(event(actor)).await.expect("appended");
        }
        assert!(metrics.render().contains("audit_chain_intact 1\n"));
        // A record being written (no newline yet) is not a break.
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, format!("{text}{{\"seq\":4")).expect("partial");
        assert!(metrics.render().contains("audit_chain_intact 1\n"));
        // An old record altered, same length: the chain no longer verifies.
        std::fs::write(&path, text.replacen("\"bob\"", "\"eve\"", 1)).expect("altered");
        assert!(metrics.render().contains("audit_chain_intact 0\n"));
        std::fs::write(&path, &text).expect("restored");
        assert!(
            metrics.render().contains("audit_chain_intact 0\n"),
            "a break is not forgotten"
        );
    }
}
