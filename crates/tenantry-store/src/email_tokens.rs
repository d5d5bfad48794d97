//! The `email_tokens` table: single-use links sent by email (verify, reset, change email).

use chrono::{DateTime, Utc};
use tenantry_core::{EmailTokenId, UserId};
use uuid::Uuid;

use crate::{Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EmailTokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: String,
    pub token_hash: Vec<u8>,
    pub new_email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub async fn insert_email_token(ex: Ex<'_>, t: &EmailTokenRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO email_tokens (id, user_id, purpose, token_hash, new_email, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        t.id,
        t.user_id,
        &t.purpose,
        &t.token_hash,
        &t.new_email,
        t.created_at,
        t.expires_at,
        t.used_at,
    )?;
    Ok(())
}

pub async fn find_email_token(ex: Ex<'_>, purpose: &str, token_hash: &[u8]) -> Result<Option<EmailTokenRow>> {
    sql_rows!(
        ex,
        fetch_optional,
        EmailTokenRow,
        "SELECT id, user_id, purpose, token_hash, new_email, created_at, expires_at, used_at FROM email_tokens \
         WHERE purpose = $1 AND token_hash = $2",
        purpose,
        token_hash,
    )
}

/// Spends a token. Exactly one concurrent caller gets 1 row.
pub async fn use_email_token(ex: Ex<'_>, id: EmailTokenId, now: DateTime<Utc>) -> Result<u64> {
    sql_execute!(ex, "UPDATE email_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL", id.as_uuid(), now)
}

/// Kills a user's unused tokens of one purpose (a newer request or a password change supersedes them).
pub async fn void_email_tokens(ex: Ex<'_>, user_id: UserId, purpose: &str, now: DateTime<Utc>) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE email_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        user_id.as_uuid(),
        purpose,
        now,
    )
}
