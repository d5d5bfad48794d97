//! Backend API keys: create (shown once), list, revoke, and authenticate a presented key.
//!
//! Authentication reads no database for a key it has seen: each node keeps its live keys in
//! memory, by the SHA-256 of the secret ([`ApiKeyCache`]). Only keys that exist enter it: a hash
//! the cache does not know is looked up in the database (one indexed read, as before the cache),
//! and an unknown key is refused without being remembered, so random keys cannot fill memory. A
//! revocation empties the key from the revoking node's cache after its commit and, on PostgreSQL,
//! from every other node's through `NOTIFY` (sent in the revoking transaction, so delivered at
//! commit); each node also reloads every live key periodically and whenever its listening
//! connection comes back, which covers notifications lost meanwhile. A revoked key therefore stops
//! working on every node within a second (README, "API keys"). `last_used_at` is kept in memory
//! and written at most once a minute per key by a background flush, off the request path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tenantry_auth::{constant_time_eq, ApiKeySecret};
use tenantry_core::events::AuditAction;
use tenantry_core::{ApiKeyId, DomainError};
use tenantry_store::api_keys::{self as store, ApiKeyRow};

use crate::record::{audit, Audit};
use crate::users::parse_cursor;
use crate::{authz, Actor, App, AppResult, Ctx, Page};

/// An API key as listed: never its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub display_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(r: ApiKeyRow) -> ApiKey {
        ApiKey {
            id: ApiKeyId::from_uuid(r.id),
            name: r.name,
            display_prefix: r.display_prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// A key just created, with the secret that is shown this once.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: ApiKeySecret,
}

/// How often `last_used_at` is refreshed at most.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);
/// How often a node writes the key uses it has seen (each key at most once per
/// [`LAST_USED_RESOLUTION`]).
pub const FLUSH_INTERVAL: StdDuration = StdDuration::from_secs(5);
/// How often a node reloads every live key by default: the safety net behind the notifications.
pub const DEFAULT_RELOAD_INTERVAL: StdDuration = StdDuration::from_secs(30);
/// A `last_used` of a key never used.
const NEVER: i64 = i64::MIN;

/// One live key in a node's cache.
#[derive(Debug)]
struct CachedKey {
    id: ApiKeyId,
    hash: Vec<u8>,
    /// `last_used_at` as last written (or read), in microseconds since the epoch; [`NEVER`].
    written: AtomicI64,
    /// The latest use seen and not yet written; [`NEVER`] when there is none.
    pending: AtomicI64,
}

impl CachedKey {
    fn new(row: &ApiKeyRow) -> CachedKey {
        CachedKey {
            id: ApiKeyId::from_uuid(row.id),
            hash: row.secret_hash.clone(),
            written: AtomicI64::new(row.last_used_at.map_or(NEVER, |t| t.timestamp_micros())),
            pending: AtomicI64::new(NEVER),
        }
    }

    /// Notes a use at `now`, to be written if the last written one is a minute old.
    fn used(&self, now: DateTime<Utc>) {
        let now = now.timestamp_micros();
        let written = self.written.load(Ordering::Relaxed);
        if written == NEVER || now - written >= LAST_USED_RESOLUTION.num_microseconds().unwrap_or(i64::MAX) {
            self.pending.fetch_max(now, Ordering::Relaxed);
        }
    }
}

/// A node's live API keys by the SHA-256 of their secrets (see the module documentation).
#[derive(Debug, Default)]
pub struct ApiKeyCache {
    keys: RwLock<HashMap<Vec<u8>, Arc<CachedKey>>>,
    /// Bumped by every invalidation: a lookup or reload that read the database before an
    /// invalidation must not put what it read into the cache after it.
    epoch: AtomicU64,
}

impl ApiKeyCache {
    fn get(&self, hash: &[u8]) -> Option<Arc<CachedKey>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).get(hash).cloned()
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Caches a key read from the database while the cache was at `epoch`, unless something was
    /// invalidated since.
    fn insert(&self, epoch: u64, key: Arc<CachedKey>) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if self.epoch() == epoch {
            keys.entry(key.hash.clone()).or_insert(key);
        }
    }

    /// Drops the key `id` (or every key, for `None`).
    pub fn forget(&self, id: Option<ApiKeyId>) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match id {
            Some(id) => keys.retain(|_, k| k.id != id),
            None => keys.clear(),
        }
    }

    /// Replaces the cache with `rows`, read at `epoch`, keeping what is known of the keys that stay;
    /// false if something was invalidated meanwhile (nothing changed then).
    fn replace(&self, epoch: u64, rows: &[ApiKeyRow]) -> bool {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if self.epoch() != epoch {
            return false;
        }
        let fresh = rows
            .iter()
            .map(|r| {
                let key = keys.get(&r.secret_hash).filter(|k| k.id.as_uuid() == r.id).cloned();
                (r.secret_hash.clone(), key.unwrap_or_else(|| Arc::new(CachedKey::new(r))))
            })
            .collect();
        *keys = fresh;
        true
    }

    /// The uses not yet written: (key, time) pairs.
    fn pending(&self) -> Vec<(Arc<CachedKey>, i64)> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.values()
            .filter_map(|k| {
                let at = k.pending.load(Ordering::Relaxed);
                (at != NEVER).then(|| (k.clone(), at))
            })
            .collect()
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl App {
    pub async fn create_api_key(&self, ctx: &Ctx, name: &str) -> AppResult<CreatedApiKey> {
        authz::require_backend(&ctx.actor)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(DomainError::invalid_field(
                "invalid-api-key-name",
                "name",
                "A key name is 1 to 100 characters, without control characters.",
            )
            .into());
        }
        let secret = ApiKeySecret::generate();
        let now = self.clock().now();
        let row = ApiKeyRow {
            id: ApiKeyId::new().as_uuid(),
            name: name.to_owned(),
            display_prefix: secret.display_prefix(),
            secret_hash: secret.hash(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.db().begin().await?;
        store::insert_api_key(tx.ex(), &row).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit {
                action: AuditAction::ApiKeyCreated,
                org_id: None,
                target_kind: "api_key",
                target_id: Some(row.id.to_string()),
                details: json!({ "name": row.name }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedApiKey { key: ApiKey::from(row), secret })
    }

    pub async fn list_api_keys(&self, ctx: &Ctx, cursor: Option<&str>, limit: u32) -> AppResult<Page<ApiKey>> {
        authz::require_backend(&ctx.actor)?;
        // The uses this node has seen show at once; other nodes' within their flush interval.
        self.flush_api_key_uses().await?;
        let after = parse_cursor(cursor)?;
        let mut c = self.db().acquire().await?;
        let limit = crate::paging::limit(limit);
        let rows = store::list_api_keys(c.ex(), after.map(ApiKeyId::from_uuid), limit + 1).await?;
        Ok(Page::from_overfetch(rows.into_iter().map(ApiKey::from).collect(), limit, |k| k.id.to_string()))
    }

    /// Revokes a key: this node forgets it at once, every other node when the notification sent
    /// with the commit arrives (PostgreSQL), at the latest at its next reload.
    pub async fn revoke_api_key(&self, ctx: &Ctx, id: ApiKeyId) -> AppResult<ApiKey> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        if store::revoke_api_key(tx.ex(), id, now).await? == 0 {
            return Err(DomainError::not_found("api-key-not-found", "No live API key has this id.").into());
        }
        audit(
            &mut tx,
            ctx,
            now,
            Audit {
                action: AuditAction::ApiKeyRevoked,
                org_id: None,
                target_kind: "api_key",
                target_id: Some(id.to_string()),
                details: json!({}),
            },
        )
        .await?;
        store::notify_api_key_revoked(tx.ex(), id).await?;
        let row = store::get_api_key(tx.ex(), id).await?;
        tx.commit().await?;
        // After the commit: a lookup racing this one cannot cache the key again.
        self.api_keys.forget(Some(id));
        row.map(ApiKey::from)
            .ok_or_else(|| DomainError::not_found("api-key-not-found", "No API key has this id.").into())
    }

    /// Resolves a presented backend key to its actor: from the node's cache, or for a key it has
    /// not cached from the database (and then cached, if it is live).
    pub async fn authenticate_api_key(&self, presented: &str) -> AppResult<Actor> {
        let invalid = || {
            DomainError::unauthenticated("invalid-api-key", "The API key is missing, malformed, revoked or unknown.")
        };
        let secret = ApiKeySecret::parse(presented).ok_or_else(invalid)?;
        let hash = secret.hash();
        let key = match self.api_keys.get(&hash) {
            Some(key) => key,
            None => {
                let epoch = self.api_keys.epoch();
                let mut c = self.db().acquire().await?;
                let row = store::find_live_api_key_by_hash(c.ex(), &hash).await?.ok_or_else(invalid)?;
                drop(c);
                let key = Arc::new(CachedKey::new(&row));
                self.api_keys.insert(epoch, key.clone());
                key
            }
        };
        if !constant_time_eq(&key.hash, &hash) {
            return Err(invalid().into());
        }
        key.used(self.clock().now());
        Ok(Actor::ApiKey(key.id))
    }

    /// This node's cache of live API keys.
    pub fn api_key_cache(&self) -> &ApiKeyCache {
        &self.api_keys
    }

    /// Drops a key another node revoked (`None`: every key), as its notification arrives.
    pub fn forget_api_key(&self, id: Option<ApiKeyId>) {
        self.api_keys.forget(id);
    }

    /// Replaces the cache with every live key in the database (after writing the pending uses, so
    /// none is lost).
    pub async fn reload_api_keys(&self) -> AppResult<()> {
        self.flush_api_key_uses().await?;
        for _ in 0..3 {
            let epoch = self.api_keys.epoch();
            let mut c = self.db().acquire().await?;
            let rows = store::list_live_api_keys(c.ex()).await?;
            drop(c);
            if self.api_keys.replace(epoch, &rows) {
                return Ok(());
            }
        }
        // Invalidations keep coming: start empty and let lookups fill it again.
        self.api_keys.forget(None);
        Ok(())
    }

    /// Writes the key uses seen since the last flush, in one transaction; each write only moves a
    /// `last_used_at` older than a minute (another node may have written a newer one).
    pub async fn flush_api_key_uses(&self) -> AppResult<()> {
        let pending = self.api_keys.pending();
        if pending.is_empty() {
            return Ok(());
        }
        let mut tx = self.db().begin().await?;
        for (key, at) in &pending {
            let Some(at) = DateTime::from_timestamp_micros(*at) else { continue };
            store::touch_api_key(tx.ex(), key.id, at, at - LAST_USED_RESOLUTION).await?;
        }
        tx.commit().await?;
        for (key, at) in pending {
            key.written.fetch_max(at, Ordering::Relaxed);
            // A use noted meanwhile (a later time) stays pending.
            let _ = key.pending.compare_exchange(at, NEVER, Ordering::Relaxed, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Runs until `shutdown` completes: writes the key uses every [`FLUSH_INTERVAL`] and reloads
    /// every live key every `reload_every`; on shutdown, a last flush.
    pub async fn maintain_api_key_cache(
        self,
        shutdown: impl std::future::Future<Output = ()>,
        reload_every: StdDuration,
    ) {
        tokio::pin!(shutdown);
        let mut flush = tokio::time::interval(FLUSH_INTERVAL);
        let mut reload = tokio::time::interval(reload_every.max(StdDuration::from_millis(100)));
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        reload.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = flush.tick() => {
                    if let Err(e) = self.flush_api_key_uses().await {
                        tracing::warn!(error = %e, "could not record API key use");
                    }
                }
                _ = reload.tick() => {
                    if let Err(e) = self.reload_api_keys().await {
                        tracing::warn!(error = %e, "could not reload the API key cache");
                    }
                }
            }
        }
        if let Err(e) = self.flush_api_key_uses().await {
            tracing::warn!(error = %e, "could not record API key use at shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn row(id: u128, hash: u8, last_used: Option<DateTime<Utc>>) -> ApiKeyRow {
        ApiKeyRow {
            id: Uuid::from_u128(id),
            name: "k".into(),
            display_prefix: "tnt_".into(),
            secret_hash: vec![hash; 32],
            created_at: DateTime::UNIX_EPOCH,
            last_used_at: last_used,
            revoked_at: None,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_lookup_that_raced_an_invalidation_is_not_cached() {
        let cache = ApiKeyCache::default();
        let epoch = cache.epoch();
        cache.forget(Some(ApiKeyId::from_uuid(Uuid::from_u128(9))));
        cache.insert(epoch, Arc::new(CachedKey::new(&row(1, 1, None))));
        assert!(cache.is_empty(), "read before the invalidation: not cached");
        cache.insert(cache.epoch(), Arc::new(CachedKey::new(&row(1, 1, None))));
        assert!(cache.get(&[1; 32]).is_some());
        cache.forget(Some(ApiKeyId::from_uuid(Uuid::from_u128(1))));
        assert!(cache.get(&[1; 32]).is_none(), "forgotten by id");
    }

    #[test]
    fn a_reload_replaces_the_keys_unless_invalidated_meanwhile() {
        let cache = ApiKeyCache::default();
        cache.insert(0, Arc::new(CachedKey::new(&row(1, 1, None))));
        cache.get(&[1; 32]).unwrap().used(at(0));
        let epoch = cache.epoch();
        assert!(cache.replace(epoch, &[row(1, 1, None), row(2, 2, None)]));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.pending().len(), 1, "the kept key keeps its pending use");
        let epoch = cache.epoch();
        cache.forget(Some(ApiKeyId::from_uuid(Uuid::from_u128(2))));
        assert!(!cache.replace(epoch, &[row(1, 1, None), row(2, 2, None)]), "raced a revocation");
        assert!(cache.get(&[2; 32]).is_none());
        assert!(cache.replace(cache.epoch(), &[]));
        assert!(cache.is_empty(), "revoked everywhere: gone");
    }

    #[test]
    fn uses_are_pending_at_most_once_a_minute() {
        let key = CachedKey::new(&row(1, 1, Some(at(0))));
        key.used(at(30));
        assert_eq!(key.pending.load(Ordering::Relaxed), NEVER, "written 30 s ago: nothing to write");
        key.used(at(60));
        key.used(at(61));
        assert_eq!(key.pending.load(Ordering::Relaxed), at(61).timestamp_micros(), "the latest use");
        let never_used = CachedKey::new(&row(2, 2, None));
        never_used.used(at(0));
        assert_eq!(never_used.pending.load(Ordering::Relaxed), at(0).timestamp_micros());
    }
}
