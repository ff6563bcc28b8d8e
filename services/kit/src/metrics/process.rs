//! Process metrics with Prometheus's standard names, read from `/proc/self` at each scrape:
//! `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//! `process_open_fds`, `process_max_fds` and `process_start_time_seconds`.
//!
//! A process exports them once, from the first registry made in it: when several services share
//! one process (`shopctl up --in-process`), only one of them reports the process, and every
//! series says so with `scope="shared"` (a process of its own has `scope="service"`), so a sum
//! over services never counts the process twice. On systems without `/proc` nothing is exported.

use std::sync::{
    Mutex,
    atomic::{AtomicBool, Ordering},
};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric as _},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
    registry::Unit,
};

/// Set when the process hosts several services.
static SHARED: AtomicBool = AtomicBool::new(false);
/// Whether a registry of this process exports the process metrics already.
static CLAIMED: Mutex<bool> = Mutex::new(false);

/// Says that this process hosts several services (`shopctl up --in-process`): the process
/// metrics are then labelled `scope="shared"`.
pub fn share_process() {
    SHARED.store(true, Ordering::Relaxed);
}

/// The Linux kernel reports times in `/proc` in USER_HZ ticks, fixed at 100 for user space.
const TICKS_PER_SECOND: f64 = 100.0;

/// Exports the process metrics for as long as it lives; made by the first registry of the
/// process, and giving the claim back when dropped (a restarted in-process service claims anew).
#[derive(Debug)]
pub(super) struct ProcessCollector {
    scope: &'static str,
}

impl ProcessCollector {
    /// The collector, unless another registry of this process has it.
    pub(super) fn claim() -> Option<Self> {
        let mut claimed = CLAIMED.lock().ok()?;
        if *claimed || !std::path::Path::new("/proc/self/stat").exists() {
            return None;
        }
        *claimed = true;
        Some(Self {
            scope: if SHARED.load(Ordering::Relaxed) {
                "shared"
            } else {
                "service"
            },
        })
    }
}

impl Drop for ProcessCollector {
    fn drop(&mut self) {
        if let Ok(mut claimed) = CLAIMED.lock() {
            *claimed = false;
        }
    }
}

/// What `/proc/self` says about this process.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Sample {
    pub(super) cpu_seconds: f64,
    pub(super) resident_bytes: i64,
    pub(super) virtual_bytes: i64,
    pub(super) start_time_seconds: f64,
    pub(super) open_fds: i64,
    pub(super) max_fds: i64,
}

/// Reads `/proc/self/{stat,status,limits,fd}` and `/proc/stat`; a part that cannot be read is 0.
pub(super) fn sample() -> Sample {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let mut sample = Sample::default();
    let stat = read("/proc/self/stat");
    // The command name (field 2) may hold spaces: the fields after it follow its last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| -> f64 {
        // Field n of stat(5), counted from 1; `fields` starts at field 3.
        fields
            .get(n - 3)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    sample.cpu_seconds = (field(14) + field(15)) / TICKS_PER_SECOND;
    let boot: f64 = read("/proc/stat")
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    sample.start_time_seconds = boot + field(22) / TICKS_PER_SECOND;
    let status = read("/proc/self/status");
    let kib = |key: &str| -> i64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
            * 1024
    };
    sample.resident_bytes = kib("VmRSS:");
    sample.virtual_bytes = kib("VmSize:");
    sample.open_fds = std::fs::read_dir("/proc/self/fd")
        .map_or(0, |d| i64::try_from(d.count()).unwrap_or(i64::MAX));
    sample.max_fds = read("/proc/self/limits")
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    sample
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = sample();
        let labels = [("scope", self.scope)];
        let cpu = ConstCounter::new(s.cpu_seconds);
        cpu.encode(
            encoder
                .encode_descriptor(
                    "process_cpu",
                    "Total user and system CPU time spent",
                    Some(&Unit::Seconds),
                    cpu.metric_type(),
                )?
                .encode_family(&labels)?,
        )?;
        for (name, help, value) in [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                s.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                s.virtual_bytes,
            ),
            ("process_open_fds", "Open file descriptors", s.open_fds),
            (
                "process_max_fds",
                "Most file descriptors the process may open",
                s.max_fds,
            ),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(
                encoder
                    .encode_descriptor(name, help, None, gauge.metric_type())?
                    .encode_family(&labels)?,
            )?;
        }
        let start = ConstGauge::new(s.start_time_seconds);
        start.encode(
            encoder
                .encode_descriptor(
                    "process_start_time_seconds",
                    "Start time of the process since the Unix epoch in seconds",
                    None,
                    start.metric_type(),
                )?
                .encode_family(&labels)?,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_collector_exports_prometheus_s_standard_names_and_one_process_one_claim() {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(ProcessCollector { scope: "shared" }));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encoded");
        for series in [
            "process_cpu_seconds_total{scope=\"shared\"} ",
            "process_resident_memory_bytes{scope=\"shared\"} ",
            "process_virtual_memory_bytes{scope=\"shared\"} ",
            "process_open_fds{scope=\"shared\"} ",
            "process_max_fds{scope=\"shared\"} ",
            "process_start_time_seconds{scope=\"shared\"} ",
        ] {
            assert!(text.contains(series), "{series} in {text}");
        }
        let (first, second) = (ProcessCollector::claim(), ProcessCollector::claim());
        assert!(
            first.is_none() || second.is_none(),
            "two registries of one process export its metrics"
        );
    }

    #[test]
    fn the_sample_describes_this_process() {
        let s = sample();
        assert!(s.resident_bytes > 1024 * 1024, "{s:?}");
        assert!(s.virtual_bytes >= s.resident_bytes, "{s:?}");
        assert!(s.open_fds >= 3 && s.open_fds <= s.max_fds, "{s:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        assert!(
            s.start_time_seconds > now - 3600.0 && s.start_time_seconds <= now + 1.0,
            "started {} for now {now}",
            s.start_time_seconds
        );
        // Burn some CPU and see it counted.
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(std::hint::black_box(x) != 1);
        assert!(
            sample().cpu_seconds > s.cpu_seconds,
            "the CPU spent is counted"
        );
    }
}
