//! Token signing keys: created at first start, rotated without downtime, published as a JWKS.
//!
//! A new key is published at once but signs only from `activates_at` (the publish delay), so every
//! node and every verifier's JWKS cache has it before the first token it signs. The old key stops
//! signing then and stays published until the last token it signed has expired. Nodes cache the
//! key set for [`CACHE_FOR`], well under the publish delay.

use std::sync::{Arc, RwLock};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tenantry_auth::tokens::{SigningKey, TokenSigner, TokenVerifier};
use tenantry_core::DomainError;
use tenantry_store::signing_keys::{self as store, SigningKeyRow};
use tenantry_store::Json;
use uuid::Uuid;

use crate::{App, AppError, AppResult};

/// How long a node trusts its cached key set.
const CACHE_FOR: StdDuration = StdDuration::from_secs(30);

/// A published key, unsealed.
#[derive(Clone)]
pub(crate) struct PublishedKey {
    pub row: SigningKeyRow,
    pub key: SigningKey,
}

/// The key set as last loaded.
#[derive(Default)]
pub(crate) struct KeyCache {
    loaded: RwLock<Option<(Instant, Arc<Vec<PublishedKey>>)>>,
}

impl KeyCache {
    pub(crate) fn invalidate(&self) {
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl App {
    /// Creates the first signing key when none is published. Called at start-up.
    pub async fn ensure_signing_key(&self) -> AppResult<()> {
        if self.published_keys().await?.is_empty() {
            let now = self.clock().now();
            self.insert_key(now, now).await?;
            self.keys.invalidate();
        }
        Ok(())
    }

    /// Publishes a new key that signs after the publish delay; the current key retires then and
    /// leaves the JWKS once its last token has expired. Returns the new key's `kid`.
    pub async fn rotate_signing_key(&self) -> AppResult<String> {
        let now = self.clock().now();
        let activates = now + self.settings().auth.key_publish_delay;
        let expires = activates + self.settings().auth.access_ttl + chrono::Duration::seconds(60);
        let mut tx = self.db().begin().await?;
        store::retire_keys(tx.ex(), activates, expires).await?;
        let kid = self.insert_key_in(&mut tx, now, activates).await?;
        tx.commit().await?;
        self.keys.invalidate();
        Ok(kid)
    }

    async fn insert_key(&self, now: DateTime<Utc>, activates: DateTime<Utc>) -> AppResult<String> {
        let mut tx = self.db().begin().await?;
        let kid = self.insert_key_in(&mut tx, now, activates).await?;
        tx.commit().await?;
        Ok(kid)
    }

    async fn insert_key_in(
        &self,
        tx: &mut tenantry_store::Tx,
        now: DateTime<Utc>,
        activates: DateTime<Utc>,
    ) -> AppResult<String> {
        let key = SigningKey::generate();
        let id = Uuid::now_v7();
        let row = SigningKeyRow {
            id,
            kid: key.kid().to_owned(),
            public_jwk: Json(key.public_jwk()),
            private_sealed: self.keyring.seal(&*key.to_seed(), id.as_bytes()),
            created_at: now,
            activates_at: activates,
            retires_at: None,
            expires_at: None,
        };
        store::insert_signing_key(tx.ex(), &row).await?;
        Ok(row.kid)
    }

    /// Published keys (cached).
    pub(crate) async fn published_keys(&self) -> AppResult<Arc<Vec<PublishedKey>>> {
        if let Some((at, keys)) = &*self.keys.loaded.read().unwrap_or_else(|p| p.into_inner()) {
            if at.elapsed() < CACHE_FOR {
                return Ok(keys.clone());
            }
        }
        let now = self.clock().now();
        let rows = {
            let mut c = self.db().acquire().await?;
            store::list_published_keys(c.ex(), now).await?
        };
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let seed = self
                .keyring
                .open(&row.private_sealed, row.id.as_bytes())
                .map_err(|e| AppError::Internal(format!("signing key {} does not unseal: {e}", row.kid)))?;
            let seed: [u8; 32] = seed
                .as_slice()
                .try_into()
                .map_err(|_| AppError::Internal(format!("signing key {} has a malformed seed", row.kid)))?;
            let key = SigningKey::from_seed(&seed);
            keys.push(PublishedKey { row, key });
        }
        let keys = Arc::new(keys);
        *self.keys.loaded.write().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }

    /// The signer for `now`: the newest key already active and not retired.
    pub(crate) async fn signer(&self, now: DateTime<Utc>) -> AppResult<TokenSigner> {
        let keys = self.published_keys().await?;
        keys.iter()
            .filter(|k| k.row.activates_at <= now && k.row.retires_at.is_none_or(|r| r > now))
            .max_by_key(|k| k.row.activates_at)
            .or_else(|| keys.iter().filter(|k| k.row.activates_at <= now).max_by_key(|k| k.row.activates_at))
            .map(|k| TokenSigner::new(&k.key))
            .ok_or_else(|| AppError::Internal("no active signing key".into()))
    }

    /// The JWKS document: every published key.
    pub async fn jwks(&self) -> AppResult<Value> {
        let now = self.clock().now();
        let keys = self.published_keys().await?;
        let live = keys.iter().filter(|k| k.row.expires_at.is_none_or(|e| e > now));
        Ok(json!({ "keys": live.map(|k| k.row.public_jwk.0.clone()).collect::<Vec<_>>() }))
    }

    /// A verifier over the published keys, for the backend's "validate token".
    pub(crate) async fn verifier(&self) -> AppResult<TokenVerifier> {
        let now = self.clock().now();
        let keys = self.published_keys().await?;
        let live = keys.iter().filter(|k| k.row.expires_at.is_none_or(|e| e > now));
        TokenVerifier::new(live.map(|k| (k.key.kid().to_owned(), k.key.public_key())))
            .map_err(|e| AppError::Internal(e.to_string()))
    }
}

/// Refusal for a token that does not verify.
pub(crate) fn invalid_token(code: &'static str) -> AppError {
    DomainError::unauthenticated(code, "The access token is invalid or expired.").into()
}
