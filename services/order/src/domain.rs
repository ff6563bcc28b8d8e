//! The order service's vocabulary, free of HTTP and SQL: money and totals, carts, shipping
//! addresses, orders and the states of the checkout saga; and the checkout saga itself
//! ([`saga`]) with the reconciliation that checks it ([`reconcile`]), which drive the other
//! services through their clients and persist through the store traits.

mod cart;
mod order;
mod pricing;
pub mod reconcile;
pub mod saga;

pub use cart::{CartItem, CartView, MAX_ITEMS, MAX_QUANTITY, Quantity};
pub use order::{Line, Order, OrderStatus, SagaState};
pub use pricing::{Money, Pricing, Totals};
pub use shopctl_kit::vocabulary::{CartLine, ShippingAddress, Sku};
