//! A bounded, TTL-based cache of anonymous catalog reads (`GET /api/products…`,
//! `GET /api/categories…`), with strong ETags so clients revalidate with `If-None-Match` and get
//! a bodiless 304. Requests carrying credentials are never served from or stored in the cache.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::body::Bytes;
use http::{HeaderMap, Method, header};
use sha2::{Digest, Sha256};

/// Largest response body the cache keeps.
pub const MAX_BODY: usize = 256 * 1024;

/// One cached answer.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `Content-Type` of the answer.
    pub content_type: Option<http::HeaderValue>,
    /// The body.
    pub body: Bytes,
    /// Strong ETag (quoted).
    pub etag: String,
    stored: Instant,
}

impl Entry {
    /// An entry for `body` (its ETag computed), stored now.
    pub fn new(content_type: Option<http::HeaderValue>, body: Bytes) -> Self {
        Self {
            etag: etag(&body),
            content_type,
            body,
            stored: Instant::now(),
        }
    }

    /// An entry read back from shared storage, with the ETag it was stored with.
    pub fn restored(content_type: Option<http::HeaderValue>, body: Bytes, etag: String) -> Self {
        Self {
            content_type,
            body,
            etag,
            stored: Instant::now(),
        }
    }
}

/// The cache.
#[derive(Debug)]
pub struct ResponseCache {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<(HashMap<String, Entry>, VecDeque<String>)>,
}

/// Whether a request may be answered from (and its answer stored in) the cache.
pub fn cacheable(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    (*method == Method::GET || *method == Method::HEAD)
        && (path.starts_with("/api/products") || path.starts_with("/api/categories"))
        && !headers.contains_key(header::AUTHORIZATION)
        && !headers.contains_key(header::COOKIE)
}

/// A strong ETag for `body`.
fn etag(body: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(body);
    let hex = digest[..16]
        .iter()
        .fold(String::with_capacity(32), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        });
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` header value matches `etag`.
pub fn matches(if_none_match: Option<&http::HeaderValue>, etag: &str) -> bool {
    if_none_match
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim() == "*"
                || v.split(',')
                    .any(|tag| tag.trim().trim_start_matches("W/") == etag)
        })
}

impl ResponseCache {
    /// A cache keeping at most `capacity` answers for `ttl` each.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// How long an answer is kept (zero: caching is off).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A fresh answer for `key`.
    pub fn get(&self, key: &str, now: Instant) -> Option<Entry> {
        let inner = self.inner.lock().ok()?;
        inner
            .0
            .get(key)
            .filter(|e| now.duration_since(e.stored) < self.ttl)
            .cloned()
    }

    /// Stores an answer, evicting the oldest beyond capacity; returns its ETag.
    pub fn put(
        &self,
        key: &str,
        content_type: Option<http::HeaderValue>,
        body: Bytes,
        now: Instant,
    ) -> String {
        let tag = etag(&body);
        if let Ok(mut inner) = self.inner.lock() {
            let (map, order) = &mut *inner;
            if map
                .insert(
                    key.to_owned(),
                    Entry {
                        content_type,
                        body,
                        etag: tag.clone(),
                        stored: now,
                    },
                )
                .is_none()
            {
                order.push_back(key.to_owned());
            }
            while map.len() > self.capacity {
                match order.pop_front() {
                    Some(oldest) => {
                        map.remove(&oldest);
                    }
                    None => break,
                }
            }
        }
        tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_oldest_is_evicted() {
        let cache = ResponseCache::new(Duration::from_secs(5), 2);
        let t0 = Instant::now();
        let tag = cache.put("/a", None, Bytes::from_static(b"a"), t0);
        assert_eq!(cache.get("/a", t0).unwrap().etag, tag);
        assert!(
            cache.get("/a", t0 + Duration::from_secs(6)).is_none(),
            "expired"
        );
        cache.put("/b", None, Bytes::from_static(b"b"), t0);
        cache.put("/c", None, Bytes::from_static(b"c"), t0);
        assert!(cache.get("/a", t0).is_none(), "evicted");
        assert!(cache.get("/c", t0).is_some());
    }

    #[test]
    fn only_anonymous_catalog_reads_are_cacheable() {
        let mut headers = HeaderMap::new();
        assert!(cacheable(&Method::GET, "/api/products", &headers));
        assert!(!cacheable(&Method::POST, "/api/products", &headers));
        assert!(!cacheable(&Method::GET, "/api/users/me", &headers));
        headers.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert!(!cacheable(&Method::GET, "/api/products", &headers));
    }

    #[test]
    fn if_none_match_compares_strong_tags() {
        let tag = etag(b"body");
        assert!(matches(Some(&tag.parse().unwrap()), &tag));
        assert!(matches(
            Some(&format!("\"other\", W/{tag}").parse().unwrap()),
            &tag
        ));
        assert!(!matches(Some(&"\"other\"".parse().unwrap()), &tag));
        assert!(!matches(None, &tag));
    }
}
