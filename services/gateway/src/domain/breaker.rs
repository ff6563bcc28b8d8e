//! A circuit breaker per upstream: after `threshold` consecutive failures it opens and refuses
//! calls for `open_for`; then one probe is let through (half-open): success closes it, failure
//! opens it again.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls are refused.
    Open,
    /// One probe is in flight.
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    failures: u32,
    opened_at: Option<Instant>,
}

/// One upstream's breaker.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    inner: Mutex<Inner>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                failures: 0,
                opened_at: None,
            }),
        }
    }

    /// Whether a call may go out now (an open breaker past its wait lets one probe through).
    pub fn allow(&self, now: Instant) -> bool {
        let Ok(mut inner) = self.inner.lock() else {
            return true;
        };
        match inner.state {
            BreakerState::Closed => true,
            // A probe that never reported back (its request was cancelled) must not wedge the
            // breaker: after another open period a new probe goes out.
            BreakerState::HalfOpen => {
                if inner
                    .opened_at
                    .is_some_and(|at| now.duration_since(at) >= self.open_for)
                {
                    inner.opened_at = Some(now);
                    true
                } else {
                    false
                }
            }
            BreakerState::Open => {
                if inner
                    .opened_at
                    .is_some_and(|at| now.duration_since(at) >= self.open_for)
                {
                    inner.state = BreakerState::HalfOpen;
                    inner.opened_at = Some(now);
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Records the outcome of a call.
    pub fn record(&self, success: bool, now: Instant) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if success {
            inner.state = BreakerState::Closed;
            inner.failures = 0;
            inner.opened_at = None;
            return;
        }
        inner.failures += 1;
        if inner.state == BreakerState::HalfOpen || inner.failures >= self.threshold {
            inner.state = BreakerState::Open;
            inner.opened_at = Some(now);
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.inner
            .lock()
            .map_or(BreakerState::Closed, |inner| inner.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_probes_and_recovers() {
        let breaker = Breaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(breaker.allow(t0));
            breaker.record(false, t0);
        }
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow(t0 + Duration::from_secs(5)));
        let later = t0 + Duration::from_secs(11);
        assert!(breaker.allow(later), "one probe");
        assert!(!breaker.allow(later), "only one");
        breaker.record(false, later);
        assert_eq!(
            breaker.state(),
            BreakerState::Open,
            "a failed probe reopens"
        );
        let again = later + Duration::from_secs(11);
        assert!(breaker.allow(again));
        breaker.record(true, again);
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.allow(again));
    }

    #[test]
    fn a_probe_that_never_reports_does_not_wedge_the_breaker() {
        let breaker = Breaker::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        breaker.record(false, t0);
        let probe = t0 + Duration::from_secs(11);
        assert!(
            breaker.allow(probe),
            "probe goes out and is cancelled: no record()"
        );
        assert!(!breaker.allow(probe + Duration::from_secs(5)));
        assert!(
            breaker.allow(probe + Duration::from_secs(11)),
            "a new probe after another period"
        );
    }
}
