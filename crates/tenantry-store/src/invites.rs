//! The `org_invites` and `ownership_transfers` tables. Both carry a single-use token stored as
//! its SHA-256; single use holds across nodes because every state change is an `UPDATE … WHERE
//! state = 'pending'` on a row the transaction has locked.
//!
//! **Invariant:** functions about one org's invites take its `org_id` and filter on it; only the
//! look-up by token hash does not, since the token alone names the invite.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use tenantry_core::org::{InviteState, TransferState};
use tenantry_core::{InviteId, OrgId, TransferId};
use uuid::Uuid;

use crate::members::{after, prefix_range};
use crate::{Engine, Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InviteRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub email_normalized: String,
    pub role: String,
    pub additional_roles: Json<Vec<String>>,
    pub invited_by: Option<Uuid>,
    pub token_hash: Vec<u8>,
    /// Stored as its text (`pending`, `accepted`, `declined`, `revoked` or `expired`).
    #[sqlx(try_from = "String")]
    pub state: InviteState,
    pub expires_at: DateTime<Utc>,
    pub answered_by: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, org_id, email, email_normalized, role, additional_roles, invited_by, token_hash, state, \
    expires_at, answered_by, version, created_at, updated_at";

pub async fn insert_invite(ex: Ex<'_>, i: &InviteRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO org_invites (id, org_id, email, email_normalized, role, additional_roles, invited_by, \
         token_hash, state, expires_at, answered_by, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        i.id,
        i.org_id,
        &i.email,
        &i.email_normalized,
        &i.role,
        &i.additional_roles,
        i.invited_by,
        &i.token_hash,
        i.state.as_str(),
        i.expires_at,
        i.answered_by,
        i.version,
        i.created_at,
        i.updated_at,
    )?;
    Ok(())
}

pub async fn get_invite(ex: Ex<'_>, org_id: OrgId, id: InviteId) -> Result<Option<InviteRow>> {
    let sql = format!("SELECT {COLUMNS} FROM org_invites WHERE org_id = $1 AND id = $2");
    sql_rows!(ex, fetch_optional, InviteRow, &sql, org_id.as_uuid(), id.as_uuid())
}

/// The invite a token names, whatever its state.
pub async fn find_invite_by_token(ex: Ex<'_>, token_hash: &[u8]) -> Result<Option<InviteRow>> {
    let sql = format!("SELECT {COLUMNS} FROM org_invites WHERE token_hash = $1");
    sql_rows!(ex, fetch_optional, InviteRow, &sql, token_hash)
}

/// [`find_invite_by_token`], locking the row on PostgreSQL (SQLite's write transaction already
/// excludes other writers).
pub async fn lock_invite_by_token(ex: Ex<'_>, token_hash: &[u8]) -> Result<Option<InviteRow>> {
    let sql = match ex.engine() {
        Engine::Postgres => format!("SELECT {COLUMNS} FROM org_invites WHERE token_hash = $1 FOR UPDATE"),
        Engine::Sqlite => format!("SELECT {COLUMNS} FROM org_invites WHERE token_hash = $1"),
    };
    sql_rows!(ex, fetch_optional, InviteRow, &sql, token_hash)
}

/// An invite by id alone, whatever its org and state: for the invitee answering from their own
/// list, who names no org. The caller checks that the invite is addressed to them.
pub async fn find_invite_by_id(ex: Ex<'_>, id: InviteId) -> Result<Option<InviteRow>> {
    let sql = format!("SELECT {COLUMNS} FROM org_invites WHERE id = $1");
    sql_rows!(ex, fetch_optional, InviteRow, &sql, id.as_uuid())
}

/// [`get_invite`], locking the row on PostgreSQL (SQLite's write transaction already excludes
/// other writers).
pub async fn lock_invite(ex: Ex<'_>, org_id: OrgId, id: InviteId) -> Result<Option<InviteRow>> {
    let sql = match ex.engine() {
        Engine::Postgres => format!("SELECT {COLUMNS} FROM org_invites WHERE org_id = $1 AND id = $2 FOR UPDATE"),
        Engine::Sqlite => format!("SELECT {COLUMNS} FROM org_invites WHERE org_id = $1 AND id = $2"),
    };
    sql_rows!(ex, fetch_optional, InviteRow, &sql, org_id.as_uuid(), id.as_uuid())
}

/// A pending invite as its invitee sees it in their own list: the org's name and who invited.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AddressedInviteRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub role: String,
    pub invited_by: Option<Uuid>,
    pub inviter_email: Option<String>,
    pub inviter_first_name: Option<String>,
    pub inviter_last_name: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// The pending, unexpired invites addressed to `email_normalized`, across orgs, in id order.
pub async fn list_live_invites_to(
    ex: Ex<'_>,
    email_normalized: &str,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<AddressedInviteRow>> {
    sql_rows!(
        ex,
        fetch_all,
        AddressedInviteRow,
        "SELECT i.id, i.org_id, o.name AS org_name, i.role, i.invited_by, u.email AS inviter_email, \
         u.first_name AS inviter_first_name, u.last_name AS inviter_last_name, i.expires_at \
         FROM org_invites i JOIN orgs o ON o.id = i.org_id LEFT JOIN users u ON u.id = i.invited_by \
         WHERE i.email_normalized = $1 AND i.state = 'pending' AND i.expires_at > $2 ORDER BY i.id LIMIT $3",
        email_normalized,
        now,
        i64::from(limit)
    )
}

/// Keeps the hash of a token that a resend replaced, so that the old link can be told apart
/// from one that never existed.
pub async fn insert_replaced_invite_token(
    ex: Ex<'_>,
    token_hash: &[u8],
    invite_id: InviteId,
    replaced_at: DateTime<Utc>,
) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO org_invite_replaced_tokens (token_hash, invite_id, replaced_at) VALUES ($1, $2, $3)",
        token_hash,
        invite_id.as_uuid(),
        replaced_at,
    )?;
    Ok(())
}

/// Whether a token is one that a resend replaced.
pub async fn is_replaced_invite_token(ex: Ex<'_>, token_hash: &[u8]) -> Result<bool> {
    let n = sql_scalar!(
        ex,
        fetch_one,
        i64,
        "SELECT COUNT(*) FROM org_invite_replaced_tokens WHERE token_hash = $1",
        token_hash
    )?;
    Ok(n > 0)
}

/// The pending invite of an address to an org, expired or not.
pub async fn find_pending_invite(ex: Ex<'_>, org_id: OrgId, email_normalized: &str) -> Result<Option<InviteRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM org_invites WHERE org_id = $1 AND email_normalized = $2 AND state = 'pending'");
    sql_rows!(ex, fetch_optional, InviteRow, &sql, org_id.as_uuid(), email_normalized)
}

/// Writes the mutable columns of an invite.
pub async fn update_invite(ex: Ex<'_>, i: &InviteRow) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE org_invites SET role = $3, additional_roles = $4, token_hash = $5, state = $6, expires_at = $7, \
         answered_by = $8, version = $9, updated_at = $10 WHERE org_id = $1 AND id = $2",
        i.org_id,
        i.id,
        &i.role,
        &i.additional_roles,
        &i.token_hash,
        i.state.as_str(),
        i.expires_at,
        i.answered_by,
        i.version,
        i.updated_at,
    )
}

/// Pending invites that have not expired: each holds a seat.
pub async fn count_live_invites(ex: Ex<'_>, org_id: OrgId, now: DateTime<Utc>) -> Result<i64> {
    sql_scalar!(
        ex,
        fetch_one,
        i64,
        "SELECT COUNT(*) FROM org_invites WHERE org_id = $1 AND state = 'pending' AND expires_at > $2",
        org_id.as_uuid(),
        now
    )
}

/// Filters of an invite listing.
#[derive(Debug, Clone, Default)]
pub struct InviteQuery {
    pub role: Option<String>,
    pub email_prefix: Option<String>,
    /// Only pending invites that have not expired; otherwise every state.
    pub live_at: Option<DateTime<Utc>>,
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// A page of an org's invites in id order.
pub async fn list_invites(ex: Ex<'_>, org_id: OrgId, q: &InviteQuery) -> Result<Vec<InviteRow>> {
    let (lo, hi) = prefix_range(&q.email_prefix);
    let sql = format!(
        "SELECT {COLUMNS} FROM org_invites WHERE org_id = $1 AND ($2 IS NULL OR role = $2) \
         AND ($3 IS NULL OR email_normalized >= $3) AND ($4 IS NULL OR email_normalized < $4) \
         AND ($5 IS NULL OR (state = 'pending' AND expires_at > $5)) \
         AND id > $6 ORDER BY id LIMIT $7"
    );
    sql_rows!(
        ex,
        fetch_all,
        InviteRow,
        &sql,
        org_id.as_uuid(),
        &q.role,
        lo,
        hi,
        q.live_at,
        after(q.after),
        i64::from(q.limit)
    )
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TransferRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
    pub token_hash: Vec<u8>,
    /// Stored as its text (`pending`, `confirmed`, `cancelled` or `expired`).
    #[sqlx(try_from = "String")]
    pub state: TransferState,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const TRANSFER_COLUMNS: &str =
    "id, org_id, from_user_id, to_user_id, token_hash, state, expires_at, created_at, updated_at";

pub async fn insert_transfer(ex: Ex<'_>, t: &TransferRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO ownership_transfers (id, org_id, from_user_id, to_user_id, token_hash, state, expires_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        t.id,
        t.org_id,
        t.from_user_id,
        t.to_user_id,
        &t.token_hash,
        t.state.as_str(),
        t.expires_at,
        t.created_at,
        t.updated_at,
    )?;
    Ok(())
}

/// The org's pending transfer, expired or not.
pub async fn find_pending_transfer(ex: Ex<'_>, org_id: OrgId) -> Result<Option<TransferRow>> {
    let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ownership_transfers WHERE org_id = $1 AND state = 'pending'");
    sql_rows!(ex, fetch_optional, TransferRow, &sql, org_id.as_uuid())
}

pub async fn find_transfer_by_token(ex: Ex<'_>, token_hash: &[u8]) -> Result<Option<TransferRow>> {
    let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ownership_transfers WHERE token_hash = $1");
    sql_rows!(ex, fetch_optional, TransferRow, &sql, token_hash)
}

/// Moves a pending transfer to `state`; 0 rows when it was no longer pending.
pub async fn finish_transfer(
    ex: Ex<'_>,
    org_id: OrgId,
    id: TransferId,
    state: TransferState,
    now: DateTime<Utc>,
) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE ownership_transfers SET state = $3, updated_at = $4 WHERE org_id = $1 AND id = $2 AND state = 'pending'",
        org_id.as_uuid(),
        id.as_uuid(),
        state.as_str(),
        now
    )
}
