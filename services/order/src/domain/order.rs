//! Orders and the checkout saga's states.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Money, ShippingAddress};

/// What a customer sees of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Checkout in progress.
    Pending,
    /// Paid and stock taken.
    Confirmed,
    /// Refused, failed or cancelled; see `reason`.
    Cancelled,
    /// Handed to the carrier.
    Shipped,
    /// Arrived.
    Delivered,
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Confirmed,
        Self::Cancelled,
        Self::Shipped,
        Self::Delivered,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether an order in this state may be cancelled (by its owner or support).
    pub fn cancellable(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed)
    }
}

/// Where the checkout saga stands (DESIGN §5): `pending → stock_reserved → payment_authorized →
/// confirmed`, or `compensating → cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SagaState {
    /// Order written; nothing reserved yet.
    Pending,
    /// Stock held for the order.
    StockReserved,
    /// Payment authorized.
    PaymentAuthorized,
    /// Done: paid, stock taken.
    Confirmed,
    /// Undoing: compensations are owed.
    Compensating,
    /// Done: cancelled, nothing owed.
    Cancelled,
}

impl SagaState {
    /// Every state, in the order of a saga that succeeds, then those of one undone.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::StockReserved,
        Self::PaymentAuthorized,
        Self::Confirmed,
        Self::Compensating,
        Self::Cancelled,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::StockReserved => "stock_reserved",
            Self::PaymentAuthorized => "payment_authorized",
            Self::Confirmed => "confirmed",
            Self::Compensating => "compensating",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether the saga has ended.
    pub fn terminal(self) -> bool {
        matches!(self, Self::Confirmed | Self::Cancelled)
    }

    /// Whether the saga may move from `self` to `next`.
    pub fn can_move_to(self, next: Self) -> bool {
        use SagaState::{
            Cancelled, Compensating, Confirmed, PaymentAuthorized, Pending, StockReserved,
        };
        matches!(
            (self, next),
            (Pending, StockReserved | Compensating | Cancelled)
                | (StockReserved, PaymentAuthorized | Compensating)
                | (PaymentAuthorized, Confirmed | Compensating)
                | (Confirmed, Compensating)
                | (Compensating, Cancelled)
        )
    }
}

/// One line of an order: name and price as the catalog had them at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Line {
    /// SKU.
    pub sku: String,
    /// Product name at checkout.
    pub name: String,
    /// Units.
    pub quantity: i64,
    /// Price of one unit at checkout.
    pub unit_price: Money,
}

/// An order as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Order {
    /// Order id.
    pub id: Uuid,
    /// Buyer.
    pub user_id: String,
    /// Status.
    pub status: OrderStatus,
    /// Why it was cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Lines.
    pub lines: Vec<Line>,
    /// Sum of the lines.
    pub subtotal: Money,
    /// Tax.
    pub tax: Money,
    /// Shipping.
    pub shipping: Money,
    /// What was charged.
    pub total: Money,
    /// Where it goes.
    pub shipping_address: ShippingAddress,
    /// Card used, e.g. `visa •••• 4242` (empty until authorized).
    pub card: String,
    /// Payment id, once authorized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saga_only_moves_forward_or_into_compensation() {
        use SagaState::{
            Cancelled, Compensating, Confirmed, PaymentAuthorized, Pending, StockReserved,
        };
        assert!(Pending.can_move_to(StockReserved));
        assert!(StockReserved.can_move_to(PaymentAuthorized));
        assert!(PaymentAuthorized.can_move_to(Confirmed));
        assert!(Compensating.can_move_to(Cancelled));
        assert!(!Confirmed.can_move_to(Pending));
        assert!(!Cancelled.can_move_to(Confirmed));
        assert!(!Pending.can_move_to(Confirmed), "no skipping payment");
        for state in SagaState::ALL {
            assert_eq!(SagaState::parse(state.as_str()), Some(state));
        }
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
    }
}
