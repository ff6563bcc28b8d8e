//! State shared by every gateway replica, in Redis: rate-limit buckets and cached catalog reads.
//!
//! Every call has a 100 ms deadline, and after a failure Redis is left alone for a second, so an
//! outage costs each request nothing rather than a connect attempt: callers then fall back (the
//! limiter lets requests through, the cache misses). An outage of shared state must not become
//! an outage of the shop.

use std::{
    future::Future,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

/// Longest a request waits for Redis.
pub(crate) const DEADLINE: Duration = Duration::from_millis(100);
/// How long Redis is skipped after a failure.
const BACKOFF: Duration = Duration::from_secs(1);

/// A lazily opened, self-healing connection to the shared Redis.
pub struct Shared {
    client: redis::Client,
    /// Opened on first use; the manager re-establishes it after failures.
    connection: OnceCell<ConnectionManager>,
    /// Prefix of every key.
    prefix: String,
    /// Milliseconds since the epoch before which Redis is not tried (0: try).
    down_until_ms: AtomicU64,
}

impl Shared {
    /// A handle on the Redis at `url`; an error when it is not a Redis URL.
    pub fn open(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            connection: OnceCell::new(),
            prefix: prefix.to_owned(),
            down_until_ms: AtomicU64::new(0),
        })
    }

    /// `prefix` + `kind` + `:` + `id`.
    pub fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    /// Runs `command` on the connection within the deadline. Errors are one line for the log;
    /// while Redis is backing off, fails at once without trying.
    pub async fn run<T, F, Fut>(&self, command: F) -> Result<T, String>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let now = now_ms();
        if now < self.down_until_ms.load(Ordering::Relaxed) {
            return Err("Redis failed moments ago; not retried yet".to_owned());
        }
        let attempt = tokio::time::timeout(DEADLINE, async {
            let config = ConnectionManagerConfig::new()
                .set_number_of_retries(1)
                .set_connection_timeout(Some(DEADLINE))
                .set_response_timeout(Some(DEADLINE));
            let connection = self
                .connection
                .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
                .await?;
            command(connection.clone()).await
        })
        .await;
        let outcome = match attempt {
            Ok(Ok(answer)) => return Ok(answer),
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no answer within {} ms", DEADLINE.as_millis()),
        };
        let until = now + u64::try_from(BACKOFF.as_millis()).unwrap_or(u64::MAX);
        self.down_until_ms.store(until, Ordering::Relaxed);
        Err(outcome)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn after_a_failure_redis_is_left_alone_for_a_while() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.to_string())
            .unwrap_or_default();
        let shared = Shared::open(&format!("redis://{closed}"), "t:").unwrap_or_else(|e| {
            panic!("a valid URL: {e}");
        });
        let ping = |mut c: ConnectionManager| async move {
            redis::cmd("PING").query_async::<String>(&mut c).await
        };
        let first = shared.run(ping).await.unwrap_err();
        assert!(!first.contains("not retried"), "{first}");
        let second = shared.run(ping).await.unwrap_err();
        assert!(second.contains("not retried yet"), "{second}");
    }

    /// Uses the real Redis at 127.0.0.1:6379.
    #[tokio::test]
    async fn commands_run_on_the_real_redis() {
        let shared = Shared::open("redis://127.0.0.1:6379", "t:").unwrap_or_else(|e| {
            panic!("a valid URL: {e}");
        });
        let pong = shared
            .run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await;
        assert_eq!(pong.as_deref(), Ok("PONG"));
        assert_eq!(
            shared.key("cache", "/api/products"),
            "t:cache:/api/products"
        );
    }
}
