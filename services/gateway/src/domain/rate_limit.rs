//! Token buckets per client and route class: `rate` tokens per minute, at most `burst` saved up.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::RouteClass;

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Whether the request may pass.
    pub allowed: bool,
    /// Bucket size (`RateLimit-Limit`).
    pub limit: u32,
    /// Whole tokens left (`RateLimit-Remaining`).
    pub remaining: u32,
    /// Seconds until the bucket is full again (`RateLimit-Reset`).
    pub reset_secs: u64,
    /// Seconds until one token is available (`Retry-After`, when refused).
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The decision for a bucket that now holds `tokens` (after taking one, if `allowed`).
pub fn decision(allowed: bool, tokens: f64, per_second: f64, burst: u32) -> Decision {
    let capacity = f64::from(burst);
    Decision {
        allowed,
        limit: burst,
        remaining: u32::try_from(whole(tokens.floor())).unwrap_or(burst),
        reset_secs: whole((capacity - tokens) / per_second),
        retry_after_secs: if allowed {
            0
        } else {
            whole((1.0 - tokens) / per_second).max(1)
        },
    }
}

/// Rounds a small non-negative quantity (tokens, seconds; bounded by the bucket size and rate)
/// up to a whole number.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole(value: f64) -> u64 {
    if value.is_finite() {
        value.max(0.0).ceil() as u64
    } else {
        0
    }
}

/// An in-memory limiter for one gateway replica.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    auth_per_minute: u32,
    buckets: Mutex<HashMap<(String, RouteClass), Bucket>>,
}

/// Buckets kept before idle ones are swept.
const SWEEP_AT: usize = 100_000;

impl RateLimiter {
    /// A limiter allowing `per_minute` with bursts of `burst`, and `auth_per_minute` on sign-in
    /// routes (burst: a tenth of that, at least 5).
    pub fn new(per_minute: u32, burst: u32, auth_per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            burst: burst.max(1),
            auth_per_minute: auth_per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Tokens per second and bucket size of `class`.
    pub fn shape(&self, class: RouteClass) -> (f64, u32) {
        match class {
            RouteClass::Auth => (
                f64::from(self.auth_per_minute) / 60.0,
                (self.auth_per_minute / 10).max(5),
            ),
            RouteClass::Api | RouteClass::Web => (f64::from(self.per_minute) / 60.0, self.burst),
        }
    }

    /// Takes one token for `client` in `class`, if there is one.
    pub fn check(&self, client: &str, class: RouteClass, now: Instant) -> Decision {
        let (per_second, burst) = self.shape(class);
        let capacity = f64::from(burst);
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock must not turn into an outage: let the request through.
            return Decision {
                allowed: true,
                limit: burst,
                remaining: burst,
                reset_secs: 0,
                retry_after_secs: 0,
            };
        };
        if buckets.len() > SWEEP_AT {
            buckets.retain(|_, b| now.duration_since(b.at) < Duration::from_secs(600));
        }
        let bucket = buckets.entry((client.to_owned(), class)).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        decision(allowed, bucket.tokens, per_second, burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        let limiter = RateLimiter::new(60, 3, 60);
        let start = Instant::now();
        for i in 0..3 {
            assert!(
                limiter.check("ana", RouteClass::Api, start).allowed,
                "request {i}"
            );
        }
        let refused = limiter.check("ana", RouteClass::Api, start);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
        assert!(
            limiter.check("bo", RouteClass::Api, start).allowed,
            "clients are independent"
        );
        assert!(
            limiter.check("ana", RouteClass::Web, start).allowed,
            "classes are independent"
        );
        assert!(
            limiter
                .check("ana", RouteClass::Api, start + Duration::from_millis(1_100))
                .allowed,
            "one token per second"
        );
    }
}
