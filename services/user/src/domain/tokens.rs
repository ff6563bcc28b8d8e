//! Token issuing: short-lived Ed25519 access tokens and rotating opaque refresh tokens.
//!
//! A refresh token is 256 random bits, shown to the client once and stored only as its SHA-256
//! hash. Each use consumes it and issues the next token of the same *family*; presenting a token
//! that was already used means a copy leaked, so the whole family is revoked.

use std::{sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shopctl_kit::{
    db::StoreError,
    jwt::{Claims, JwkSet, SigningKey, StaticKeys},
};
use tokio::sync::RwLock;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    domain::User,
    settings::UserSettings,
    store::{UserStore, now},
};

/// What login and refresh return.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPair {
    /// Signed JWT for the `Authorization: Bearer` header.
    pub access_token: String,
    /// Opaque token for `POST /api/users/refresh`; shown once.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
}

/// The SHA-256 (hex) under which a refresh token is stored.
pub fn refresh_hash(token: &str) -> String {
    use std::fmt::Write as _;
    Sha256::digest(token.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Signs tokens with the active key; publishes active and recently retired keys.
#[derive(Clone)]
pub struct Issuer {
    active: Arc<RwLock<SigningKey>>,
    published: Arc<StaticKeys>,
    settings: UserSettings,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

fn decode_seed(seed: &str) -> Result<[u8; 32], StoreError> {
    URL_SAFE_NO_PAD
        .decode(seed)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| StoreError::Db(sqlx::Error::Decode("corrupt signing key seed".into())))
}

/// Creates the first signing key when there is none.
pub async fn ensure_key(store: &dyn UserStore) -> Result<(), StoreError> {
    if store
        .signing_keys(now())
        .await?
        .iter()
        .any(|k| k.retired_at.is_none())
    {
        return Ok(());
    }
    rotate(store).await.map(drop)
}

/// Adds a new active key and retires the others (they stay published until the tokens they
/// signed have expired). Returns the new key id.
pub async fn rotate(store: &dyn UserStore) -> Result<String, StoreError> {
    let key = SigningKey::generate();
    store
        .rotate_key(key.kid(), &URL_SAFE_NO_PAD.encode(key.seed()), now())
        .await?;
    Ok(key.kid().to_owned())
}

impl Issuer {
    /// Loads the keys from the store.
    pub async fn load(store: &dyn UserStore, settings: &UserSettings) -> Result<Self, StoreError> {
        ensure_key(store).await?;
        let (active, published) = Self::read_keys(store, settings).await?;
        Ok(Self {
            active: Arc::new(RwLock::new(active)),
            published: Arc::new(StaticKeys::new(published.keys)),
            settings: settings.clone(),
        })
    }

    async fn read_keys(
        store: &dyn UserStore,
        settings: &UserSettings,
    ) -> Result<(SigningKey, JwkSet), StoreError> {
        let grace =
            chrono::Duration::seconds(i64::try_from(settings.access_ttl_secs).unwrap_or(900) + 60);
        let rows = store.signing_keys(now() - grace).await?;
        let mut keys = Vec::new();
        let mut active = None;
        for row in rows {
            let key = SigningKey::from_seed(&row.kid, decode_seed(&row.seed)?);
            keys.push(key.public_jwk());
            if row.retired_at.is_none() && active.is_none() {
                active = Some(key);
            }
        }
        let active = active.ok_or(StoreError::NotFound)?;
        Ok((active, JwkSet { keys }))
    }

    /// Re-reads the keys (after a rotation by another process).
    pub async fn reload(&self, store: &dyn UserStore) -> Result<(), StoreError> {
        let (active, published) = Self::read_keys(store, &self.settings).await?;
        *self.active.write().await = active;
        self.published.replace(published.keys);
        Ok(())
    }

    /// The published keys, as verifiers see them.
    pub fn key_source(&self) -> Arc<StaticKeys> {
        self.published.clone()
    }

    /// The JWKS document.
    pub async fn jwks(&self, store: &dyn UserStore) -> Result<JwkSet, StoreError> {
        Ok(Self::read_keys(store, &self.settings).await?.1)
    }

    /// Signs an access token for `user`.
    pub async fn access_token(&self, user: &User) -> anyhow::Result<String> {
        let claims = Claims::new(
            &user.id.to_string(),
            user.roles.clone(),
            &self.settings.issuer,
            &self.settings.audience,
            Duration::from_secs(self.settings.access_ttl_secs),
        );
        Ok(self.active.read().await.sign(&claims)?)
    }

    /// Issues an access token and a new refresh token in `family` (a new family at login);
    /// `None` when the family was revoked meanwhile.
    pub async fn issue(
        &self,
        store: &dyn UserStore,
        user: &User,
        family: Option<Uuid>,
    ) -> anyhow::Result<Option<TokenPair>> {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let refresh_token = URL_SAFE_NO_PAD.encode(raw);
        let issued: DateTime<Utc> = now();
        let expires = issued
            + chrono::Duration::seconds(
                i64::try_from(self.settings.refresh_ttl_secs).unwrap_or(86_400),
            );
        let stored = store
            .insert_refresh(
                &refresh_hash(&refresh_token),
                user.id,
                family.unwrap_or_else(Uuid::now_v7),
                issued,
                expires,
            )
            .await?;
        if !stored {
            return Ok(None);
        }
        Ok(Some(TokenPair {
            access_token: self.access_token(user).await?,
            refresh_token,
            token_type: "Bearer",
            expires_in: self.settings.access_ttl_secs,
        }))
    }
}
