//! Where rate-limit buckets live: in this process, or in Redis shared by every gateway replica.
//!
//! The Redis bucket is one Lua script (atomic per key) on Redis's own clock, so replicas with
//! skewed clocks still share one limit. If Redis cannot be reached the request is let through
//! and a warning logged (see [`crate::store::Shared`]).

use std::{sync::Arc, time::Instant};

use redis::Script;

use crate::{
    domain::{ClientId, Decision, RateLimiter, RouteClass, decision},
    store::Shared,
};

/// Token bucket: refill by elapsed time, take one if there is one, keep the key while it matters.
const BUCKET: &str = r"
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
";

/// Buckets in Redis.
pub struct RedisLimiter {
    shape: RateLimiter,
    shared: Arc<Shared>,
    script: Script,
}

/// Rate-limit buckets.
pub enum Limiter {
    /// Per replica, in memory.
    Memory(RateLimiter),
    /// Shared by all replicas through Redis.
    Redis(Box<RedisLimiter>),
}

impl Limiter {
    /// A limiter keeping its buckets in `shared`.
    pub fn redis(shape: RateLimiter, shared: Arc<Shared>) -> Self {
        Self::Redis(Box::new(RedisLimiter {
            shape,
            shared,
            script: Script::new(BUCKET),
        }))
    }

    /// Takes one token for `client` in `class`, if there is one.
    pub async fn check(&self, client: ClientId<'_>, class: RouteClass) -> Decision {
        match self {
            Self::Memory(limiter) => limiter.check(client, class, Instant::now()),
            // Boxed: the Redis round trip's future is large, and inline it would make every
            // request's future (moved on each poll layer) that much larger.
            Self::Redis(redis) => Box::pin(redis.check(client, class)).await,
        }
    }
}

impl RedisLimiter {
    /// Takes one token from the shared bucket of `client` in `class`; lets the request through
    /// when Redis cannot be reached.
    async fn check(&self, client: ClientId<'_>, class: RouteClass) -> Decision {
        let (per_second, burst) = self.shape.shape(class);
        let key = self
            .shared
            .key("rl", &format!("{}:{client}", class.as_str()));
        let outcome = self
            .shared
            .run(|mut connection| async move {
                self.script
                    .key(&key)
                    .arg(per_second)
                    .arg(burst)
                    .invoke_async::<(i64, String)>(&mut connection)
                    .await
            })
            .await;
        match outcome {
            Ok((allowed, tokens)) => decision(
                allowed == 1,
                tokens.parse().unwrap_or(0.0),
                per_second,
                burst,
            ),
            Err(err) => {
                tracing::warn!(error = %err, "rate limiter unavailable: letting the request through");
                decision(true, f64::from(burst), per_second, burst)
            }
        }
    }
}
