//! A refresh token exchanged for the next one in one round trip: the presented token spent, its
//! successor issued, the session marked seen, and what the new access token needs read back. A
//! refresh is the request every signed-in client repeats all day, so, as with a sign-in
//! ([`crate::sign_in`]), the dialects differ in form: PostgreSQL runs one statement of
//! data-modifying CTEs, SQLite one string of statements inside the write transaction the caller
//! holds ([`crate::Db::one_write`]).
//!
//! The exchange succeeds only for a live token (unused, unexpired) of a live session (not revoked,
//! expired or idle) whose user is not disabled; otherwise nothing is written and the caller finds
//! out why with [`crate::sessions::lock_refresh_token_with_session`] (a spent token presented
//! again ends its session).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::EngineSql;
use crate::sessions::SessionRow;
use crate::{Ex, Result};

/// One exchange.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    /// The hash of the presented token.
    pub token_hash: &'a [u8],
    pub at: DateTime<Utc>,
    /// A session last seen at or before this is idle, and refused.
    pub idle_cutoff: DateTime<Utc>,
    /// The session's `last_seen_at` moves to `at` when it is at or before this (to the minute is
    /// enough, and spares a write on most refreshes).
    pub touch_before: DateTime<Utc>,
    pub new_token_id: Uuid,
    pub new_token_hash: &'a [u8],
    pub new_token_expires_at: DateTime<Utc>,
}

/// What an exchange reads back: the session as it was before the exchange touched it, and the
/// user's claims that are not the orgs'.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Exchanged {
    #[sqlx(flatten)]
    pub session: SessionRow,
    pub user_email: String,
    pub user_email_verified: bool,
}

// $1 at, $2 the presented hash, $3 idle cutoff, $4 touch before, $5–$7 the new token's id, hash
// and expiry.
fn postgres_sql() -> String {
    let returning = session_columns("s");
    format!(
        "WITH spent AS (UPDATE refresh_tokens rt SET used_at = $1 FROM sessions s, users u \
         WHERE rt.token_hash = $2 AND rt.used_at IS NULL AND rt.expires_at > $1 \
         AND s.id = rt.session_id AND s.revoked_at IS NULL AND s.expires_at > $1 AND s.last_seen_at > $3 \
         AND u.id = s.user_id AND NOT u.disabled \
         RETURNING {returning}, u.email AS user_email, u.email_verified AS user_email_verified), \
         issued AS (INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at, used_at) \
         SELECT $5, id, $6, $1, $7, NULL FROM spent), \
         seen AS (UPDATE sessions SET last_seen_at = $1 \
         WHERE id = (SELECT id FROM spent) AND last_seen_at <= $4) \
         SELECT {columns}, user_email, user_email_verified FROM spent",
        columns = crate::sessions::COLUMNS,
    )
}

// The same parameters. `changes()` is the row count of the statement before: the successor is
// issued only by the exchange that spent the token, never by a replay of it. The session is read
// before it is touched, as PostgreSQL's statement reads it.
fn sqlite_sql() -> String {
    let session = session_columns("s");
    format!(
        "UPDATE refresh_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         AND EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL AND s.expires_at > $1 \
         AND s.last_seen_at > $3 AND NOT u.disabled); \
         INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at, used_at) \
         SELECT $5, session_id, $6, $1, $7, NULL FROM refresh_tokens WHERE token_hash = $2 AND changes() = 1; \
         SELECT {session}, u.email AS user_email, u.email_verified AS user_email_verified \
         FROM refresh_tokens n JOIN sessions s ON s.id = n.session_id JOIN users u ON u.id = s.user_id \
         WHERE n.id = $5; \
         UPDATE sessions SET last_seen_at = $1 \
         WHERE id = (SELECT session_id FROM refresh_tokens WHERE id = $5) AND last_seen_at <= $4"
    )
}

/// The sessions' columns, each qualified with `alias`.
fn session_columns(alias: &str) -> String {
    crate::sessions::COLUMNS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// Spends the presented token and issues its successor; `None`, with nothing written, when the
/// token, its session or its user is not live. Run it on a [`crate::Db::one_write`].
pub async fn exchange_refresh_token(ex: Ex<'_>, e: &Exchange<'_>) -> Result<Option<Exchanged>> {
    static SQL: EngineSql = EngineSql::new(postgres_sql, sqlite_sql);
    let sql = SQL.get(ex.engine());
    let rows = per_engine!(ex, |c| {
        sqlx::query_as::<_, Exchanged>(sql)
            .bind(e.at)
            .bind(e.token_hash)
            .bind(e.idle_cutoff)
            .bind(e.touch_before)
            .bind(e.new_token_id)
            .bind(e.new_token_hash)
            .bind(e.new_token_expires_at)
            // Every statement of the SQLite string must run: fetch all, not the first row.
            .fetch_all(&mut *c)
            .await
    })?;
    Ok(rows.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_bind_the_same_seven_values() {
        for sql in [postgres_sql(), sqlite_sql()] {
            for n in 1..=7 {
                assert!(sql.contains(&format!("${n}")), "${n} in {sql}");
            }
            assert!(!sql.contains("$8"), "{sql}");
        }
    }
}
