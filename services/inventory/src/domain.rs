//! Inventory's vocabulary, free of HTTP and SQL: SKUs and quantities as parsed values, stock
//! levels, reservations and their states; and the sweeper that returns expired reservations to
//! stock through the store trait.

mod reservation;
mod stock;
mod sweeper;

pub use reservation::{Line, Reservation, ReservationState, ReservationView, ReserveRequest};
pub use shopctl_kit::vocabulary::Sku;
pub use stock::{Adjustment, StockLevel};
pub use sweeper::Sweeper;
