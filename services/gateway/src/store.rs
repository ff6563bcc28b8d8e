//! Where the gateway's state lives: cached catalog reads and rate-limit buckets, each either in
//! this process or in Redis shared by every replica ([`Shared`], which degrades to "let through,
//! miss" when Redis is away). The gateway owns no database.

mod cache;
mod limiter;
mod shared;

pub use cache::Cache;
pub use limiter::Limiter;
pub use shared::Shared;
