//! The services' answers as the storefront reads them: the documented shapes (DESIGN.md §11) of
//! products, carts, orders, accounts and dead letters, keeping only the fields the pages use.
//! A cart line and a shipping address are kit's vocabulary, the types the order service answers
//! with.

use std::collections::BTreeMap;

use serde::Deserialize;
use shopctl_kit::vocabulary::{CartLine, Money, ShippingAddress};

/// A catalog product.
#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    /// Id.
    pub id: String,
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Price.
    pub price: Money,
    /// Category slug.
    pub category: String,
    /// Brand.
    pub brand: String,
    /// Free-form attributes (`color`, `material`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// On sale.
    pub active: bool,
}

/// One facet value and its count.
#[derive(Debug, Clone, Deserialize)]
pub struct FacetValue {
    /// Value.
    pub value: String,
    /// Matching products.
    pub count: i64,
}

/// Facets of a listing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Facets {
    /// By category slug.
    #[serde(default)]
    pub category: Vec<FacetValue>,
    /// By brand.
    #[serde(default)]
    pub brand: Vec<FacetValue>,
}

/// A page of products.
#[derive(Debug, Clone, Deserialize)]
pub struct ProductPage {
    /// Products.
    pub items: Vec<Product>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
    /// Matches in all.
    #[serde(default)]
    pub total: i64,
    /// Facets over the whole match.
    #[serde(default)]
    pub facets: Facets,
}

/// A category.
#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Active products.
    #[serde(default)]
    pub product_count: i64,
}

/// Stock of a SKU.
#[derive(Debug, Clone, Deserialize)]
pub struct Stock {
    /// On hand.
    pub on_hand: i64,
    /// Reserved by checkouts in flight.
    pub reserved: i64,
    /// Sellable now.
    pub available: i64,
}

/// A priced cart.
#[derive(Debug, Clone, Deserialize)]
pub struct Cart {
    /// Lines.
    pub items: Vec<CartLine>,
    /// Subtotal of the available lines.
    pub subtotal: Money,
    /// Units.
    pub item_count: i64,
}

/// An order line.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderLine {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Units.
    pub quantity: i64,
    /// Unit price.
    pub unit_price: Money,
}

/// An order.
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    /// Id.
    pub id: String,
    /// Buyer.
    pub user_id: String,
    /// `pending`, `confirmed`, `cancelled`, `shipped`, `delivered`.
    pub status: String,
    /// Why it was cancelled.
    #[serde(default)]
    pub reason: Option<String>,
    /// Lines.
    pub lines: Vec<OrderLine>,
    /// Subtotal.
    pub subtotal: Money,
    /// Tax.
    pub tax: Money,
    /// Shipping.
    pub shipping: Money,
    /// Total.
    pub total: Money,
    /// Where it goes.
    pub shipping_address: ShippingAddress,
    /// `visa •••• 4242`.
    #[serde(default)]
    pub card: String,
    /// When it was placed.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A page of orders.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderPage {
    /// Orders, newest first.
    pub items: Vec<Order>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// An account.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Tokens from sign-in or refresh.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenPair {
    /// Access token (JWT).
    pub access_token: String,
    /// Rotating refresh token.
    pub refresh_token: String,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
}

/// A dead-lettered event delivery.
#[derive(Debug, Clone, Deserialize)]
pub struct DeadLetter {
    /// Row id.
    pub id: String,
    /// Topic.
    pub topic: String,
    /// Where it was going.
    pub destination: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last error.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When it was given up on.
    pub failed_at: chrono::DateTime<chrono::Utc>,
}
