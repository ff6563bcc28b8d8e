//! A payment as the service shows it, and the rules for moving between its states.
//!
//! ```text
//! authorized ──capture──▶ captured ──refund──▶ partially_refunded ──refund──▶ refunded
//!     │                       └────────────refund (the rest)────────────────────▲
//!     └──void──▶ voided
//! declined (terminal: nothing was reserved)
//! ```

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Money;

/// Where a payment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The amount is reserved on the card; capture or void it.
    Authorized,
    /// The processor refused the card; see `decline_code`. Nothing is reserved.
    Declined,
    /// The amount was collected.
    Captured,
    /// The authorization was released without collecting anything.
    Voided,
    /// Part of the captured amount was paid back.
    PartiallyRefunded,
    /// All of the captured amount was paid back.
    Refunded,
}

/// What a requested state change amounts to from a payment's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Carry it out.
    Apply,
    /// Nothing to do: the payment is already where the change would take it (or, for a void of
    /// a declined payment, there is nothing to release). Answer with the payment as it is.
    Unchanged,
    /// Not allowed from this status: a conflict.
    Refuse,
}

impl Status {
    /// Every status, in life-cycle order.
    pub const ALL: [Self; 6] = [
        Self::Authorized,
        Self::Declined,
        Self::Captured,
        Self::Voided,
        Self::PartiallyRefunded,
        Self::Refunded,
    ];

    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorized => "authorized",
            Self::Declined => "declined",
            Self::Captured => "captured",
            Self::Voided => "voided",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
        }
    }

    /// The status named `name`, as stored.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// Whether an authorization can be captured from here.
    pub fn can_capture(self) -> bool {
        self == Self::Authorized
    }

    /// Whether an authorization can be released from here.
    pub fn can_void(self) -> bool {
        self == Self::Authorized
    }

    /// Whether (more of) the captured amount can be paid back from here.
    pub fn can_refund(self) -> bool {
        matches!(self, Self::Captured | Self::PartiallyRefunded)
    }

    /// What capturing means from here: capturing twice is harmless (the caller may be
    /// retrying), anything else but an authorization is a conflict.
    pub fn capture(self) -> Transition {
        if self.can_capture() {
            Transition::Apply
        } else if self == Self::Captured {
            Transition::Unchanged
        } else {
            Transition::Refuse
        }
    }

    /// What voiding means from here: voiding twice is harmless, and a declined payment has
    /// nothing to release; a captured payment must be refunded instead.
    pub fn void(self) -> Transition {
        if self.can_void() {
            Transition::Apply
        } else if matches!(self, Self::Voided | Self::Declined) {
            Transition::Unchanged
        } else {
            Transition::Refuse
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is kept of the card: never the number or the security code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CardSummary {
    /// `visa`, `mastercard`, `amex`, `discover` or `unknown`.
    pub brand: String,
    /// Last four digits of the number.
    pub last4: String,
    /// Expiry month, 1–12.
    pub exp_month: u8,
    /// Four-digit expiry year.
    pub exp_year: u16,
    /// Random reference to the card for this payment (`tok_…`); not derived from the number.
    pub token: String,
}

/// A payment: one authorization attempt for an order and what happened to it since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Payment {
    /// Payment id (UUID v7).
    pub id: Uuid,
    /// The order this pays for.
    pub order_id: Uuid,
    /// The buyer's user id; only they (and support) may read the payment.
    pub customer_id: String,
    /// Where the payment is in its life.
    pub status: Status,
    /// The authorized amount.
    pub amount: Money,
    /// The amount collected (zero until captured).
    pub captured_amount: Money,
    /// The amount paid back so far.
    pub refunded_amount: Money,
    /// The card, without its number.
    pub card: CardSummary,
    /// Why the processor refused the card (`card_declined`, `insufficient_funds`,
    /// `processing_error`), for declined payments.
    pub decline_code: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Payment {
    /// What can still be refunded, in minor units.
    pub fn refundable(&self) -> i64 {
        self.captured_amount.amount - self.refunded_amount.amount
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        assert_eq!(Status::parse("pending"), None);
    }

    #[test]
    fn only_authorizations_are_captured_or_voided() {
        for status in Status::ALL {
            assert_eq!(
                status.can_capture(),
                status == Status::Authorized,
                "{status}"
            );
            assert_eq!(status.can_void(), status == Status::Authorized, "{status}");
        }
    }

    #[test]
    fn only_captured_money_is_refunded() {
        for status in Status::ALL {
            assert_eq!(
                status.can_refund(),
                matches!(status, Status::Captured | Status::PartiallyRefunded),
                "{status}"
            );
        }
    }

    #[test]
    fn capture_is_idempotent_and_refused_elsewhere() {
        let expected = [
            (Status::Authorized, Transition::Apply),
            (Status::Captured, Transition::Unchanged),
            (Status::Declined, Transition::Refuse),
            (Status::Voided, Transition::Refuse),
            (Status::PartiallyRefunded, Transition::Refuse),
            (Status::Refunded, Transition::Refuse),
        ];
        for (status, transition) in expected {
            assert_eq!(status.capture(), transition, "{status}");
        }
    }

    #[test]
    fn void_is_idempotent_harmless_on_declines_and_refused_after_capture() {
        let expected = [
            (Status::Authorized, Transition::Apply),
            (Status::Voided, Transition::Unchanged),
            (Status::Declined, Transition::Unchanged),
            (Status::Captured, Transition::Refuse),
            (Status::PartiallyRefunded, Transition::Refuse),
            (Status::Refunded, Transition::Refuse),
        ];
        for (status, transition) in expected {
            assert_eq!(status.void(), transition, "{status}");
        }
    }
}
