//! A line of a cart as the order service shows it and the storefront reads it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Money;

/// A cart line as shown, priced from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartLine {
    /// SKU.
    pub sku: String,
    /// Product name (from the catalog).
    pub name: String,
    /// Units.
    pub quantity: i64,
    /// Current price of one unit.
    pub unit_price: Money,
    /// unit price × quantity.
    pub line_total: Money,
    /// Whether the catalog still sells it (an unavailable line blocks checkout).
    pub available: bool,
}
