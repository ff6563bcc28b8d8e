//! Inventory's vocabulary, free of HTTP and SQL: SKUs and quantities as parsed values, stock
//! levels, reservations and their states.

mod reservation;
mod stock;

pub use reservation::{Line, Reservation, ReservationState, ReservationView, ReserveRequest};
pub use shopctl_kit::vocabulary::Sku;
pub use stock::{Adjustment, StockLevel};
