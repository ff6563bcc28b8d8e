//! Where cached catalog reads live: in this process, or in Redis shared by every replica (so a
//! read cached by one replica is a hit on all, and all expire it together).

use std::{sync::Arc, time::Duration};

use axum::body::Bytes;
use http::HeaderValue;

use crate::{
    domain::{CacheEntry, ResponseCache},
    store::Shared,
};

/// The response cache.
pub enum Cache {
    /// Per replica, bounded, in memory.
    Memory(ResponseCache),
    /// In Redis, bounded by the TTL (and by Redis's own memory policy).
    Redis {
        /// How long an answer is kept.
        ttl: Duration,
        /// The connection.
        shared: Arc<Shared>,
    },
}

impl Cache {
    /// Whether caching is on (a zero TTL turns it off).
    pub fn enabled(&self) -> bool {
        !self.ttl().is_zero()
    }

    /// Seconds an answer is kept, for `Cache-Control: max-age`.
    pub fn max_age(&self) -> u64 {
        self.ttl().as_secs()
    }

    fn ttl(&self) -> Duration {
        match self {
            Self::Memory(cache) => cache.ttl(),
            Self::Redis { ttl, .. } => *ttl,
        }
    }

    /// A fresh answer for `key`; a miss when Redis cannot be reached.
    pub async fn get(&self, key: &str) -> Option<CacheEntry> {
        match self {
            Self::Memory(cache) => cache.get(key, std::time::Instant::now()),
            // Boxed, as the Redis round trips below: inline, their large futures would grow
            // every request's future, cached or not.
            Self::Redis { shared, .. } => Box::pin(redis_get(shared, key)).await,
        }
    }

    /// Stores an answer (best effort: a Redis failure only costs a later miss).
    pub async fn put(&self, key: &str, content_type: Option<HeaderValue>, body: Bytes) {
        match self {
            Self::Memory(cache) => {
                cache.put(key, content_type, body, std::time::Instant::now());
            }
            Self::Redis { ttl, shared } => {
                let entry = CacheEntry::new(content_type, body);
                Box::pin(redis_put(shared, key, entry, *ttl)).await;
            }
        }
    }
}

async fn redis_get(shared: &Shared, key: &str) -> Option<CacheEntry> {
    let redis_key = shared.key("cache", key);
    let found = shared
        .run(|mut connection| async move {
            redis::cmd("HMGET")
                .arg(&redis_key)
                .arg("etag")
                .arg("type")
                .arg("body")
                .query_async::<(Option<String>, Option<Vec<u8>>, Option<Vec<u8>>)>(&mut connection)
                .await
        })
        .await;
    match found {
        Ok((Some(etag), content_type, Some(body))) => Some(CacheEntry::restored(
            content_type.and_then(|v| HeaderValue::from_bytes(&v).ok()),
            Bytes::from(body),
            etag,
        )),
        Ok(_) => None,
        Err(err) => {
            tracing::warn!(error = %err, "response cache unavailable: reading through");
            None
        }
    }
}

async fn redis_put(shared: &Shared, key: &str, entry: CacheEntry, ttl: Duration) {
    let redis_key = shared.key("cache", key);
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    let stored = shared
        .run(|mut connection| async move {
            let mut fields: Vec<(&str, Vec<u8>)> = vec![
                ("etag", entry.etag.into_bytes()),
                ("body", entry.body.to_vec()),
            ];
            if let Some(content_type) = entry.content_type {
                fields.push(("type", content_type.as_bytes().to_vec()));
            }
            redis::pipe()
                .atomic()
                .del(&redis_key)
                .hset_multiple(&redis_key, &fields)
                .pexpire(&redis_key, i64::try_from(ttl_ms).unwrap_or(i64::MAX))
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
    if let Err(err) = stored {
        tracing::warn!(error = %err, "response cache unavailable: answer not stored");
    }
}
