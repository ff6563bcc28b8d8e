//! What a checkout bought: the order it answered with judged against the card that paid, and
//! the checkouts of one shopper counted by outcome.

use std::time::Duration;

use serde_json::Value;

/// The test card that is always approved.
pub const APPROVED_CARD: &str = "4242424242424242";
/// The test card that is always declined.
pub const DECLINED_CARD: &str = "4000000000000002";
/// How long after the run checkouts answered 202 are followed until their order settles.
pub const SETTLE_FOR: Duration = Duration::from_secs(15);

/// What a checkout's order says, given the card it was paid with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Confirmed (or further along), paid with the card that is approved.
    Confirmed,
    /// Cancelled because the declined test card was declined: expected.
    Declined,
    /// Still running: the order's id.
    Pending(String),
    /// Anything else, by error kind: `cancelled` (a good card's order cancelled),
    /// `confirmed_declined_card`, or `unreadable_order` (an answer that is no order).
    Unexpected(&'static str),
}

/// Judges the order a checkout answered with (or a later read of it).
pub fn settled(order: &Value, declined_card: bool) -> Settled {
    let status = order["status"].as_str().unwrap_or_default();
    let reason = order["reason"].as_str().unwrap_or_default();
    match (status, declined_card) {
        ("confirmed" | "shipped" | "delivered", false) => Settled::Confirmed,
        ("confirmed" | "shipped" | "delivered", true) => {
            Settled::Unexpected("confirmed_declined_card")
        }
        ("cancelled", true) if reason.starts_with("payment declined") => Settled::Declined,
        ("pending", _) => Settled::Pending(order["id"].as_str().unwrap_or_default().to_owned()),
        ("cancelled", _) => Settled::Unexpected("cancelled"),
        _ => Settled::Unexpected("unreadable_order"),
    }
}

/// Checkouts of one shopper by outcome.
#[derive(Debug, Default)]
pub(super) struct Checkouts {
    pub(super) confirmed: u64,
    pub(super) declined: u64,
    pub(super) cancelled: u64,
    pub(super) unsettled: u64,
    /// Orders answered 202, with whether the declined card paid for them.
    pub(super) pending: Vec<(String, bool)>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_checkout_counts_as_an_order_only_when_confirmed() {
        let order =
            |status: &str, reason: &str| json!({"id": "o-1", "status": status, "reason": reason});
        let table = [
            (order("confirmed", ""), false, Settled::Confirmed),
            (order("shipped", ""), false, Settled::Confirmed),
            (
                order("pending", ""),
                false,
                Settled::Pending("o-1".to_owned()),
            ),
            (
                order("pending", ""),
                true,
                Settled::Pending("o-1".to_owned()),
            ),
            (
                order("cancelled", "payment declined: card_declined"),
                true,
                Settled::Declined,
            ),
            // The approved card declined (the processor failing) is not a test card's decline.
            (
                order("cancelled", "payment declined: processing_error"),
                false,
                Settled::Unexpected("cancelled"),
            ),
            (
                order(
                    "cancelled",
                    "the stock reservation expired before payment completed",
                ),
                true,
                Settled::Unexpected("cancelled"),
            ),
            (
                order("confirmed", ""),
                true,
                Settled::Unexpected("confirmed_declined_card"),
            ),
            (
                json!({"detail": "no order"}),
                false,
                Settled::Unexpected("unreadable_order"),
            ),
        ];
        for (order, declined_card, expected) in table {
            assert_eq!(
                settled(&order, declined_card),
                expected,
                "{order} ({declined_card})"
            );
        }
    }
}
