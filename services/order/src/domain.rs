//! The order service's vocabulary, free of HTTP and SQL: money and totals, carts, shipping
//! addresses, orders and the states of the checkout saga.

mod address;
mod cart;
mod order;
mod pricing;

pub use address::ShippingAddress;
pub use cart::{CartItem, CartLine, CartView, MAX_ITEMS, MAX_QUANTITY, Quantity};
pub use order::{Line, Order, OrderStatus, SagaState};
pub use pricing::{Money, Pricing, Totals};
pub use shopctl_kit::vocabulary::Sku;
