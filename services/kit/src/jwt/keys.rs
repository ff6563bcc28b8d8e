//! Where verification keys come from: an issuer's own keys ([`StaticKeys`]) or a remote JWKS
//! ([`RemoteJwks`]), fetched, cached and refetched when an unknown `kid` appears or the keys grow
//! old.

use std::{
    sync::RwLock,
    time::{Duration, Instant},
};

use super::{Jwk, JwkSet, JwtError};

/// Boxed future of [`KeySource::key`].
pub type KeyFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Option<Jwk>> + Send + 'a>>;

/// Where verification keys come from.
pub trait KeySource: Send + Sync + 'static {
    /// The key with id `kid`, if the issuer publishes one.
    fn key<'a>(&'a self, kid: &'a str) -> KeyFuture<'a>;
}

/// Keys held in memory (an issuer's own keys); replaceable after a rotation.
#[derive(Debug, Default)]
pub struct StaticKeys(RwLock<Vec<Jwk>>);

impl StaticKeys {
    /// A source with `keys`.
    pub fn new(keys: Vec<Jwk>) -> Self {
        Self(RwLock::new(keys))
    }

    /// Replaces the keys.
    pub fn replace(&self, keys: Vec<Jwk>) {
        if let Ok(mut guard) = self.0.write() {
            *guard = keys;
        }
    }
}

impl KeySource for StaticKeys {
    fn key<'a>(&'a self, kid: &'a str) -> KeyFuture<'a> {
        let key = self
            .0
            .read()
            .ok()
            .and_then(|keys| keys.iter().find(|k| k.kid == kid).cloned());
        Box::pin(std::future::ready(key))
    }
}

/// How long keys fetched from a remote JWKS are used before it is read again: a key the issuer
/// withdraws stops verifying within this (and a token verified with it just before, within
/// [`VERIFIED_FOR`] more).
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(300);

/// A JWKS fetched over HTTP, cached, and refetched when an unknown `kid` appears or the keys are
/// older than their maximum age ([`JWKS_MAX_AGE`]) — at most once per `min_refetch`, so a flood
/// of forged `kid`s cannot hammer the issuer. While the issuer cannot be reached, the keys last
/// fetched keep serving.
#[derive(Debug)]
pub struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    min_refetch: Duration,
    max_age: Duration,
    /// Known keys and when they were fetched: read on every verification, written only on a
    /// refetch.
    keys: RwLock<(Vec<Jwk>, Option<Instant>)>,
    /// When the last fetch started; one refetch at a time.
    fetched: tokio::sync::Mutex<Option<Instant>>,
}

impl RemoteJwks {
    /// A source for the JWKS at `url`.
    pub fn new(url: &str, min_refetch: Duration) -> Self {
        Self {
            url: url.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            min_refetch,
            max_age: JWKS_MAX_AGE,
            keys: RwLock::new((Vec::new(), None)),
            fetched: tokio::sync::Mutex::new(None),
        }
    }

    /// The same, reading the document again once the keys are `max_age` old.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Fetches the document now.
    pub async fn fetch(&self) -> Result<JwkSet, JwtError> {
        let fail = |reason: String| JwtError::Jwks {
            url: self.url.clone(),
            reason,
        };
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("status {}", response.status())));
        }
        response
            .json::<JwkSet>()
            .await
            .map_err(|e| fail(e.to_string()))
    }
}

impl RemoteJwks {
    /// The key `kid` and whether the keys are younger than their maximum age.
    fn cached(&self, kid: &str) -> (Option<Jwk>, bool) {
        self.keys.read().map_or((None, false), |keys| {
            let fresh = keys.1.is_some_and(|at| at.elapsed() < self.max_age);
            (keys.0.iter().find(|k| k.kid == kid).cloned(), fresh)
        })
    }
}

impl KeySource for RemoteJwks {
    fn key<'a>(&'a self, kid: &'a str) -> KeyFuture<'a> {
        Box::pin(async move {
            // Hot path: a shared read lock, no await.
            if let (Some(key), true) = self.cached(kid) {
                return Some(key);
            }
            let mut fetched = self.fetched.lock().await;
            // Another request may have refetched while this one waited.
            let (key, fresh) = self.cached(kid);
            if key.is_some() && fresh {
                return key;
            }
            if fetched.is_some_and(|at| at.elapsed() < self.min_refetch) {
                // Asked too recently: an unknown kid stays unknown, stale keys keep serving.
                return key;
            }
            *fetched = Some(Instant::now());
            match self.fetch().await {
                Ok(set) => {
                    if let Ok(mut keys) = self.keys.write() {
                        *keys = (set.keys, Some(Instant::now()));
                    }
                }
                Err(err) => tracing::warn!(error = %err, "JWKS refresh failed"),
            }
            self.cached(kid).0
        })
    }
}
