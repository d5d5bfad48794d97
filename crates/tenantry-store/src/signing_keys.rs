//! The `signing_keys` table: token signing keys, published before they sign and kept until the
//! last token they signed has expired.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub id: Uuid,
    pub kid: String,
    pub public_jwk: Json<Value>,
    pub private_sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub activates_at: DateTime<Utc>,
    pub retires_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_signing_key(ex: Ex<'_>, k: &SigningKeyRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO signing_keys (id, kid, public_jwk, private_sealed, created_at, activates_at, retires_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        k.id,
        &k.kid,
        &k.public_jwk,
        &k.private_sealed,
        k.created_at,
        k.activates_at,
        k.retires_at,
        k.expires_at,
    )?;
    Ok(())
}

/// Keys still published at `now`, oldest first.
pub async fn list_published_keys(ex: Ex<'_>, now: DateTime<Utc>) -> Result<Vec<SigningKeyRow>> {
    sql_rows!(
        ex,
        fetch_all,
        SigningKeyRow,
        "SELECT id, kid, public_jwk, private_sealed, created_at, activates_at, retires_at, expires_at \
         FROM signing_keys WHERE expires_at IS NULL OR expires_at > $1 ORDER BY activates_at, id",
        now,
    )
}

/// Schedules the retirement of every key that has none yet.
pub async fn retire_keys(ex: Ex<'_>, retires_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE signing_keys SET retires_at = $1, expires_at = $2 WHERE retires_at IS NULL",
        retires_at,
        expires_at,
    )
}
