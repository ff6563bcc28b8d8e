//! The saga's metrics: `orders_saga_in_flight{state}` (steps running in this process now, by
//! the step: `reserve`, `authorize`, `finish`, `compensate`) and
//! `orders_saga_step_duration_seconds{step}` (how long each step took, calls included).

use std::time::Instant;

use prometheus_client::metrics::{family::Family, gauge::Gauge, histogram::Histogram};
use shopctl_kit::metrics::{LATENCY_BUCKETS, Metrics};

type Labels = Vec<(&'static str, &'static str)>;

fn histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The saga's gauges and histograms (counted, but exported only once registered).
#[derive(Debug, Clone)]
pub struct SagaMetrics {
    in_flight: Family<Labels, Gauge>,
    steps: Family<Labels, Histogram, fn() -> Histogram>,
}

impl Default for SagaMetrics {
    fn default() -> Self {
        Self {
            in_flight: Family::default(),
            steps: Family::new_with_constructor(histogram as fn() -> Histogram),
        }
    }
}

impl SagaMetrics {
    /// Registers the saga's metrics in `metrics`.
    pub fn register(metrics: &Metrics) -> Self {
        let this = Self::default();
        for step in ["reserve", "authorize", "finish", "compensate"] {
            this.in_flight.get_or_create(&vec![("state", step)]).set(0);
            let _ = this.steps.get_or_create(&vec![("step", step)]);
        }
        metrics.register(
            "orders_saga_in_flight",
            "Checkout saga steps running in this process now, by step",
            this.in_flight.clone(),
        );
        metrics.register(
            "orders_saga_step_duration_seconds",
            "How long each checkout saga step took, its calls to other services included",
            this.steps.clone(),
        );
        this
    }

    /// Counts `step` in flight until the returned timer is dropped, then records its duration.
    pub fn step(&self, step: &'static str) -> StepTimer {
        let gauge = self.in_flight.get_or_create(&vec![("state", step)]).clone();
        gauge.inc();
        StepTimer {
            started: Instant::now(),
            gauge,
            histogram: self.steps.get_or_create(&vec![("step", step)]).clone(),
        }
    }
}

/// A step in flight.
#[derive(Debug)]
pub struct StepTimer {
    started: Instant,
    gauge: Gauge,
    histogram: Histogram,
}

impl Drop for StepTimer {
    fn drop(&mut self) {
        self.gauge.dec();
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_in_flight_while_its_timer_lives_and_then_timed() {
        let metrics = Metrics::new("order");
        let saga = SagaMetrics::register(&metrics);
        let timer = saga.step("authorize");
        let text = metrics.render();
        assert!(
            text.contains(r#"orders_saga_in_flight{state="authorize"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"orders_saga_in_flight{state="reserve"} 0"#),
            "{text}"
        );
        drop(timer);
        let text = metrics.render();
        assert!(
            text.contains(r#"orders_saga_in_flight{state="authorize"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"orders_saga_step_duration_seconds_count{step="authorize"} 1"#),
            "{text}"
        );
    }
}
