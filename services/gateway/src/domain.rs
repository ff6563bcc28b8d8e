//! The gateway's decisions, free of HTTP plumbing: where a path goes, who may call it, whether a
//! client is over its rate, whether an upstream is healthy enough to call, and the public API
//! document.

mod api_document;
mod breaker;
mod cache;
mod policy;
mod rate_limit;
mod route_label;
mod route_table;

pub use api_document::{DocumentError, SERVICE_DOCUMENTS, is_public, public_document};
pub use breaker::{Breaker, BreakerState};
pub use cache::{Entry as CacheEntry, MAX_BODY, ResponseCache, cacheable, matches as etag_matches};
pub use policy::{Requirement, RouteClass, classify, requirement};
pub use rate_limit::{ClientId, Decision, RateLimiter, decision};
pub use route_label::RouteLabels;
pub use route_table::{GATEWAY, OPENAPI_PATH, Target, upstream_for};
