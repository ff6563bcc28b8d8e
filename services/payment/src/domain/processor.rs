//! The simulated card processor: the documented test cards, plus a configurable failure rate
//! and latency so that callers' retries and timeouts can be exercised.

use std::time::Duration;

use rand::Rng as _;

use super::{CardNumber, Outcome, test_card_outcome};

/// Answers authorizations the way a card processor would, without one.
#[derive(Debug, Clone, Copy)]
pub struct Simulator {
    failure_rate: f64,
    latency: Duration,
}

impl Simulator {
    /// A processor that fails `failure_rate` (0.0–1.0) of otherwise approved authorizations
    /// with `processing_error` and takes `latency` longer than the test card says.
    pub fn new(failure_rate: f64, latency: Duration) -> Self {
        Self {
            failure_rate: failure_rate.clamp(0.0, 1.0),
            latency,
        }
    }

    /// The processor's answer for `card`, after the configured latency (and the slow test
    /// card's own delay).
    pub async fn authorize(&self, card: &CardNumber) -> Outcome {
        let roll: f64 = rand::rng().random();
        let outcome = with_failure_rate(test_card_outcome(card), self.failure_rate, roll);
        let wait = self.latency + outcome.delay();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        outcome
    }
}

/// `outcome`, turned into [`Outcome::ProcessingError`] when it would have been an approval and
/// `roll` (uniform in 0.0–1.0) falls below `failure_rate`.
pub fn with_failure_rate(outcome: Outcome, failure_rate: f64, roll: f64) -> Outcome {
    if outcome.decline_code().is_none() && roll < failure_rate {
        Outcome::ProcessingError
    } else {
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_approvals_are_turned_into_processing_errors() {
        let cases = [
            (Outcome::Approve, 0.5, 0.49, Outcome::ProcessingError),
            (Outcome::Slow, 0.5, 0.1, Outcome::ProcessingError),
            (Outcome::Approve, 0.5, 0.5, Outcome::Approve),
            (Outcome::Approve, 0.0, 0.0, Outcome::Approve),
            (Outcome::Decline, 1.0, 0.0, Outcome::Decline),
            (
                Outcome::InsufficientFunds,
                1.0,
                0.0,
                Outcome::InsufficientFunds,
            ),
        ];
        for (outcome, failure_rate, roll, expected) in cases {
            assert_eq!(
                with_failure_rate(outcome, failure_rate, roll),
                expected,
                "{outcome:?} at a failure rate of {failure_rate}, rolled {roll}"
            );
        }
    }

    #[tokio::test]
    async fn the_simulator_answers_for_the_test_cards() {
        let simulator = Simulator::new(0.0, Duration::ZERO);
        let approved = CardNumber::parse("4242424242424242").unwrap();
        let declined = CardNumber::parse("4000000000000002").unwrap();
        assert_eq!(simulator.authorize(&approved).await, Outcome::Approve);
        assert_eq!(simulator.authorize(&declined).await, Outcome::Decline);
        let failing = Simulator::new(1.0, Duration::ZERO);
        assert_eq!(failing.authorize(&approved).await, Outcome::ProcessingError);
    }
}
