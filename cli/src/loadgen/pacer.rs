//! The `--rate` cap: requests spaced evenly, all shoppers together.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

/// Spaces requests evenly to stay under a rate: each request claims the next free slot.
#[derive(Debug)]
pub(super) struct Pacer {
    start: Instant,
    interval_ns: u64,
    next_ns: AtomicU64,
}

impl Pacer {
    pub(super) fn new(rate: f64) -> Self {
        Self {
            start: Instant::now(),
            interval_ns: u64::try_from(Duration::from_secs_f64(1.0 / rate.max(0.001)).as_nanos())
                .unwrap_or(u64::MAX),
            next_ns: AtomicU64::new(0),
        }
    }

    pub(super) async fn wait(&self) {
        let now = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let mut slot = self.next_ns.load(Ordering::Relaxed);
        loop {
            let claim = slot.max(now);
            match self.next_ns.compare_exchange_weak(
                slot,
                claim + self.interval_ns,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if claim > now {
                        tokio::time::sleep(Duration::from_nanos(claim - now)).await;
                    }
                    return;
                }
                Err(current) => slot = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pacer_spaces_requests_to_the_rate() {
        let pacer = Pacer::new(100.0);
        let started = Instant::now();
        for _ in 0..21 {
            pacer.wait().await;
        }
        // 21 slots at 100/s: the last starts 200 ms after the first.
        assert!(
            started.elapsed() >= Duration::from_millis(195),
            "{:?}",
            started.elapsed()
        );
    }
}
