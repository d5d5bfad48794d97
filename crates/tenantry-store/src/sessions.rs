//! The `sessions` and `refresh_tokens` tables. A session is one sign-in; its refresh tokens form
//! one family, rotated on every use.

use chrono::{DateTime, Utc};
use tenantry_core::{OrgId, SessionId, UserId};
use uuid::Uuid;

use crate::{Engine, Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub cookie_hash: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub mfa_level: i32,
    pub sso_connection_id: Option<Uuid>,
    pub active_org_id: Option<Uuid>,
    /// The RFC 8176 `amr` values the sign-in proved, space-separated (`pwd otp`, `saml mfa`).
    pub amr: String,
    /// The org whose 2FA requirement this session meets through its IdP's MFA.
    pub mfa_org_id: Option<Uuid>,
}

pub(crate) const COLUMNS: &str =
    "id, user_id, cookie_hash, created_at, last_seen_at, expires_at, revoked_at, revoked_reason, \
    ip, user_agent, mfa_level, sso_connection_id, active_org_id, amr, mfa_org_id";

pub async fn insert_session(ex: Ex<'_>, s: &SessionRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO sessions (id, user_id, cookie_hash, created_at, last_seen_at, expires_at, revoked_at, \
         revoked_reason, ip, user_agent, mfa_level, sso_connection_id, active_org_id, amr, mfa_org_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        s.id,
        s.user_id,
        &s.cookie_hash,
        s.created_at,
        s.last_seen_at,
        s.expires_at,
        s.revoked_at,
        &s.revoked_reason,
        &s.ip,
        &s.user_agent,
        s.mfa_level,
        s.sso_connection_id,
        s.active_org_id,
        &s.amr,
        s.mfa_org_id,
    )?;
    Ok(())
}

pub async fn get_session(ex: Ex<'_>, id: SessionId) -> Result<Option<SessionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = $1");
    sql_rows!(ex, fetch_optional, SessionRow, &sql, id.as_uuid())
}

/// What makes a session live at `$2` with `$3` the idle cutoff: not revoked, not past its absolute
/// lifetime, seen since the cutoff, and its user not disabled.
const LIVE: &str = "revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3 \
    AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.disabled)";

/// The session `id` if it is live at `now`, having been seen after `idle_cutoff`.
pub async fn get_live_session(
    ex: Ex<'_>,
    id: SessionId,
    now: DateTime<Utc>,
    idle_cutoff: DateTime<Utc>,
) -> Result<Option<SessionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = $1 AND {LIVE}");
    sql_rows!(ex, fetch_optional, SessionRow, &sql, id.as_uuid(), now, idle_cutoff)
}

/// The live session whose cookie secret hashes to `cookie_hash` (see [`get_live_session`]).
pub async fn find_session_by_cookie(
    ex: Ex<'_>,
    cookie_hash: &[u8],
    now: DateTime<Utc>,
    idle_cutoff: DateTime<Utc>,
) -> Result<Option<SessionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE cookie_hash = $1 AND {LIVE}");
    sql_rows!(ex, fetch_optional, SessionRow, &sql, cookie_hash, now, idle_cutoff)
}

/// A user's live sessions (see [`get_live_session`]), newest first.
pub async fn list_live_sessions(
    ex: Ex<'_>,
    user_id: UserId,
    now: DateTime<Utc>,
    idle_cutoff: DateTime<Utc>,
) -> Result<Vec<SessionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND {LIVE} ORDER BY id DESC");
    sql_rows!(ex, fetch_all, SessionRow, &sql, user_id.as_uuid(), now, idle_cutoff)
}

pub async fn touch_session(ex: Ex<'_>, id: SessionId, now: DateTime<Utc>) -> Result<u64> {
    sql_execute!(ex, "UPDATE sessions SET last_seen_at = $2 WHERE id = $1", id.as_uuid(), now)
}

/// Revokes one live session of `user_id`; 0 rows when unknown, another user's, or already ended.
pub async fn revoke_session(
    ex: Ex<'_>,
    user_id: UserId,
    id: SessionId,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL",
        user_id.as_uuid(),
        id.as_uuid(),
        now,
        reason,
    )
}

/// Revokes every live session of a user except `keep`.
pub async fn revoke_user_sessions(
    ex: Ex<'_>,
    user_id: UserId,
    keep: Option<SessionId>,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
         WHERE user_id = $1 AND revoked_at IS NULL AND ($2 IS NULL OR id <> $2)",
        user_id.as_uuid(),
        keep.map(|id| id.as_uuid()),
        now,
        reason,
    )
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefreshTokenRow {
    pub id: Uuid,
    pub session_id: Uuid,
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub async fn insert_refresh_token(ex: Ex<'_>, r: &RefreshTokenRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        r.id,
        r.session_id,
        &r.token_hash,
        r.created_at,
        r.expires_at,
        r.used_at,
    )?;
    Ok(())
}

/// A refresh token with its session, as the exchange reads them.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TokenWithSession {
    #[sqlx(rename = "rt_id")]
    pub token_id: Uuid,
    #[sqlx(rename = "rt_expires_at")]
    pub token_expires_at: DateTime<Utc>,
    #[sqlx(rename = "rt_used_at")]
    pub token_used_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub session: SessionRow,
}

/// The refresh token whose hash is `token_hash`, with its session, in one round trip; locked for
/// update on PostgreSQL (the token row only; SQLite's write transaction already excludes others).
pub async fn lock_refresh_token_with_session(ex: Ex<'_>, token_hash: &[u8]) -> Result<Option<TokenWithSession>> {
    let session_cols = COLUMNS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ");
    let lock = match ex.engine() {
        Engine::Postgres => " FOR UPDATE OF rt",
        Engine::Sqlite => "",
    };
    let sql = format!(
        "SELECT rt.id AS rt_id, rt.expires_at AS rt_expires_at, rt.used_at AS rt_used_at, {session_cols} \
         FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE rt.token_hash = $1{lock}"
    );
    sql_rows!(ex, fetch_optional, TokenWithSession, &sql, token_hash)
}

/// Ends every live session whose active org is `org_id` (the org was deleted).
pub async fn revoke_sessions_in_org(ex: Ex<'_>, org_id: OrgId, now: DateTime<Utc>, reason: &str) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE active_org_id = $1 AND revoked_at IS NULL",
        org_id.as_uuid(),
        now,
        reason
    )
}

/// Ends a user's live sessions whose active org is `org_id` (they left or were removed).
pub async fn revoke_user_sessions_in_org(
    ex: Ex<'_>,
    user_id: UserId,
    org_id: OrgId,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
         WHERE user_id = $1 AND active_org_id = $2 AND revoked_at IS NULL",
        user_id.as_uuid(),
        org_id.as_uuid(),
        now,
        reason
    )
}

/// Selects the org a session acts in (`None` clears it).
pub async fn set_active_org(ex: Ex<'_>, id: SessionId, org_id: Option<OrgId>) -> Result<u64> {
    sql_execute!(ex, "UPDATE sessions SET active_org_id = $2 WHERE id = $1", id.as_uuid(), org_id.map(|o| o.as_uuid()))
}
