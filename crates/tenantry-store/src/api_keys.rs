//! The `api_keys` table: backend API keys, stored as SHA-256 hashes.

use chrono::{DateTime, Utc};
use tenantry_core::ApiKeyId;
use uuid::Uuid;

use crate::{Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    pub display_prefix: String,
    pub secret_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, display_prefix, secret_hash, created_at, last_used_at, revoked_at";

pub async fn insert_api_key(ex: Ex<'_>, k: &ApiKeyRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO api_keys (id, name, display_prefix, secret_hash, created_at, last_used_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        k.id,
        &k.name,
        &k.display_prefix,
        &k.secret_hash,
        k.created_at,
        k.last_used_at,
        k.revoked_at,
    )?;
    Ok(())
}

/// The live (not revoked) key with this hash.
pub async fn find_live_api_key_by_hash(ex: Ex<'_>, secret_hash: &[u8]) -> Result<Option<ApiKeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL");
    sql_rows!(ex, fetch_optional, ApiKeyRow, &sql, secret_hash)
}

pub async fn get_api_key(ex: Ex<'_>, id: ApiKeyId) -> Result<Option<ApiKeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
    sql_rows!(ex, fetch_optional, ApiKeyRow, &sql, id.as_uuid())
}

/// Keys in id order after the cursor.
pub async fn list_api_keys(ex: Ex<'_>, after: Option<ApiKeyId>, limit: u32) -> Result<Vec<ApiKeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2");
    sql_rows!(ex, fetch_all, ApiKeyRow, &sql, after.map(|id| id.as_uuid()), i64::from(limit))
}

/// Records use, at most once per `resolution`: the update only hits rows last used before
/// `stale_before`, so a busy key costs one write a minute, not one per request.
pub async fn touch_api_key(ex: Ex<'_>, id: ApiKeyId, now: DateTime<Utc>, stale_before: DateTime<Utc>) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        id.as_uuid(),
        now,
        stale_before,
    )
}

/// Revokes a live key; 0 rows when it is unknown or already revoked.
pub async fn revoke_api_key(ex: Ex<'_>, id: ApiKeyId, now: DateTime<Utc>) -> Result<u64> {
    sql_execute!(ex, "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", id.as_uuid(), now)
}

/// Every live key (a deployment has few): what a node's key cache reloads.
pub async fn list_live_api_keys(ex: Ex<'_>) -> Result<Vec<ApiKeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE revoked_at IS NULL ORDER BY id");
    sql_rows!(ex, fetch_all, ApiKeyRow, &sql)
}

/// Tells every node that the key `id` was revoked, so that each drops it from its cache. On
/// PostgreSQL a `pg_notify` on [`crate::notify::API_KEYS_CHANNEL`]: run it in the revoking
/// transaction and it is delivered at commit, never for a rollback. SQLite has one server process,
/// which forgets the key itself; nothing to send.
pub async fn notify_api_key_revoked(ex: Ex<'_>, id: ApiKeyId) -> Result<()> {
    if let Ex::Postgres(c) = ex {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(crate::notify::API_KEYS_CHANNEL)
            .bind(id.to_string())
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}
