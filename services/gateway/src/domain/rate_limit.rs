//! Token buckets per client and route class: `rate` tokens per minute, at most `burst` saved up.

use std::{
    collections::HashMap,
    fmt,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::RouteClass;

/// Whose bucket a request takes from: the signed-in subject, else the client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientId<'a> {
    /// A verified token's subject.
    Subject(&'a str),
    /// An anonymous caller's address.
    Address(IpAddr),
}

impl fmt::Display for ClientId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Subject(subject) => write!(f, "sub:{subject}"),
            Self::Address(address) => write!(f, "{address}"),
        }
    }
}

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
    /// One lock per route class (indexed by [`RouteClass::index`]), so classes never wait on
    /// each other.
    buckets: Box<[Mutex<Buckets>; 3]>,
}

/// The buckets of one route class. Keys are looked up borrowed (no allocation for a known
/// client) with a fast seeded hash.
#[derive(Debug, Default)]
struct Buckets {
    subjects: HashMap<String, Bucket, foldhash::fast::RandomState>,
    addresses: HashMap<IpAddr, Bucket, foldhash::fast::RandomState>,
}

impl Buckets {
    fn len(&self) -> usize {
        self.subjects.len() + self.addresses.len()
    }

    /// Forgets buckets idle for ten minutes (full again long since).
    fn sweep(&mut self, now: Instant) {
        let fresh = |b: &mut Bucket| now.duration_since(b.at) < Duration::from_secs(600);
        self.subjects.retain(|_, b| fresh(b));
        self.addresses.retain(|_, b| fresh(b));
    }

    fn bucket(&mut self, client: ClientId<'_>, full: Bucket) -> &mut Bucket {
        match client {
            ClientId::Subject(subject) => {
                if !self.subjects.contains_key(subject) {
                    self.subjects.insert(subject.to_owned(), full);
                }
                self.subjects
                    .get_mut(subject)
                    .unwrap_or_else(|| unreachable!())
            }
            ClientId::Address(address) => self.addresses.entry(address).or_insert(full),
        }
    }
}

/// Buckets kept per class before idle ones are swept.
const SWEEP_AT: usize = 100_000;

impl RateLimiter {
    /// A limiter allowing `per_minute` with bursts of `burst`, and `auth_per_minute` on sign-in
    /// routes (burst: a tenth of that, at least 5).
    pub fn new(per_minute: u32, burst: u32, auth_per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            burst: burst.max(1),
            auth_per_minute: auth_per_minute.max(1),
            buckets: Box::default(),
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
    pub fn check(&self, client: ClientId<'_>, class: RouteClass, now: Instant) -> Decision {
        let (per_second, burst) = self.shape(class);
        let capacity = f64::from(burst);
        let Ok(mut buckets) = self.buckets[class.index()].lock() else {
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
            buckets.sweep(now);
        }
        let full = Bucket {
            tokens: capacity,
            at: now,
        };
        let bucket = buckets.bucket(client, full);
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

    const ANA: ClientId<'static> = ClientId::Subject("ana");

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        let limiter = RateLimiter::new(60, 3, 60);
        let start = Instant::now();
        for i in 0..3 {
            assert!(
                limiter.check(ANA, RouteClass::Api, start).allowed,
                "request {i}"
            );
        }
        let refused = limiter.check(ANA, RouteClass::Api, start);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
        assert!(
            limiter
                .check(ClientId::Subject("bo"), RouteClass::Api, start)
                .allowed,
            "clients are independent"
        );
        assert!(
            limiter.check(ANA, RouteClass::Web, start).allowed,
            "classes are independent"
        );
        assert!(
            limiter
                .check(ANA, RouteClass::Api, start + Duration::from_millis(1_100))
                .allowed,
            "one token per second"
        );
    }

    #[test]
    fn subjects_and_addresses_have_their_own_buckets() {
        let limiter = RateLimiter::new(60, 1, 60);
        let start = Instant::now();
        let address = ClientId::Address(IpAddr::from([127, 0, 0, 1]));
        assert!(limiter.check(address, RouteClass::Api, start).allowed);
        assert!(!limiter.check(address, RouteClass::Api, start).allowed);
        assert!(
            limiter
                .check(ClientId::Subject("127.0.0.1"), RouteClass::Api, start)
                .allowed,
            "a subject named like an address is not that address"
        );
        assert_eq!(address.to_string(), "127.0.0.1");
        assert_eq!(ANA.to_string(), "sub:ana");
    }

    #[test]
    fn idle_buckets_are_swept_full() {
        let mut buckets = Buckets::default();
        let start = Instant::now();
        let empty = Bucket {
            tokens: 0.0,
            at: start,
        };
        buckets.bucket(ANA, empty);
        buckets.bucket(ClientId::Address(IpAddr::from([10, 0, 0, 1])), empty);
        buckets.sweep(start + Duration::from_secs(60));
        assert_eq!(buckets.len(), 2, "recent buckets stay");
        buckets.sweep(start + Duration::from_secs(601));
        assert_eq!(buckets.len(), 0, "idle ones go");
    }
}
