//! Carts: what a customer intends to buy. Prices are never kept here; they come from the
//! catalog when the cart is shown and again at checkout.

use serde::Serialize;
use shopctl_kit::ApiError;
use utoipa::ToSchema;

use super::{CartLine, Money};

/// Most units of one SKU in a cart.
pub const MAX_QUANTITY: i64 = 99;
/// Most distinct SKUs in a cart.
pub const MAX_ITEMS: usize = 50;

/// A checked quantity (1-99).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i64);

impl Quantity {
    /// Parses a quantity.
    pub fn parse(value: i64) -> Result<Self, ApiError> {
        if (1..=MAX_QUANTITY).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ApiError::validation(
                "quantity",
                format!("must be 1-{MAX_QUANTITY}"),
            ))
        }
    }

    /// The number.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A stored cart line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartItem {
    /// SKU.
    pub sku: String,
    /// Units.
    pub quantity: i64,
}

/// A cart as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CartView {
    /// Lines.
    pub items: Vec<CartLine>,
    /// Sum of the available lines.
    pub subtotal: Money,
    /// Units in the cart.
    pub item_count: i64,
}
