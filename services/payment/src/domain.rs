//! Payment domain types: parsed once at the edge, valid afterwards. A failure is a
//! [`FieldError`] naming the field (`card.card_number`, `amount.currency`), which becomes a 422.
//!
//! Card data is the one thing this service must never keep: [`CardNumber`] and [`Cvc`] live
//! only as long as an authorization request, and only [`Brand`], the last four digits, the
//! expiry and a random token are stored.

mod card;
mod charge;
mod payment;
mod processor;

pub use card::{
    Brand, CardError, CardNumber, Cvc, Expiry, Outcome, SLOW_RESPONSE, test_card_outcome,
};
pub use charge::{CardDetails, Charge, today};
pub use payment::{CardSummary, Payment, Status, Transition};
pub use processor::{Simulator, with_failure_rate};

pub use shopctl_kit::vocabulary::{FieldError, Money};
