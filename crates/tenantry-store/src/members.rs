//! The `org_members` table: active memberships. Removing or leaving deletes the row.
//!
//! **Invariant:** functions about one org's members take its `org_id` and filter on it.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use tenantry_core::{OrgId, UserId};
use uuid::Uuid;

use crate::{Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MemberRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub additional_roles: Json<Vec<String>>,
    pub is_creator: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, org_id, user_id, role, additional_roles, is_creator, version, created_at, updated_at";

fn prefixed(alias: &str) -> String {
    COLUMNS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// Adds a membership; an existing one for the same user comes back as [`crate::StoreError::Unique`].
pub async fn insert_member(ex: Ex<'_>, m: &MemberRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO org_members (id, org_id, user_id, role, additional_roles, is_creator, version, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        m.id,
        m.org_id,
        m.user_id,
        &m.role,
        &m.additional_roles,
        m.is_creator,
        m.version,
        m.created_at,
        m.updated_at,
    )?;
    Ok(())
}

/// The membership of `user_id` in `org_id`. The ids are typed, so the two cannot be swapped:
///
/// ```compile_fail
/// # use tenantry_core::{OrgId, UserId};
/// # async fn swapped(ex: tenantry_store::Ex<'_>, org_id: OrgId, user_id: UserId) {
/// let _ = tenantry_store::members::get_member(ex, user_id, org_id).await;
/// # }
/// ```
///
/// ```no_run
/// # use tenantry_core::{OrgId, UserId};
/// # async fn in_order(ex: tenantry_store::Ex<'_>, org_id: OrgId, user_id: UserId) {
/// let _ = tenantry_store::members::get_member(ex, org_id, user_id).await;
/// # }
/// ```
pub async fn get_member(ex: Ex<'_>, org_id: OrgId, user_id: UserId) -> Result<Option<MemberRow>> {
    let sql = format!("SELECT {COLUMNS} FROM org_members WHERE org_id = $1 AND user_id = $2");
    sql_rows!(ex, fetch_optional, MemberRow, &sql, org_id.as_uuid(), user_id.as_uuid())
}

/// Writes the role, additional roles, version and update time of a membership.
pub async fn update_member(ex: Ex<'_>, m: &MemberRow) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE org_members SET role = $3, additional_roles = $4, is_creator = $5, version = $6, updated_at = $7 \
         WHERE org_id = $1 AND user_id = $2",
        m.org_id,
        m.user_id,
        &m.role,
        &m.additional_roles,
        m.is_creator,
        m.version,
        m.updated_at,
    )
}

pub async fn delete_member(ex: Ex<'_>, org_id: OrgId, user_id: UserId) -> Result<u64> {
    sql_execute!(ex, "DELETE FROM org_members WHERE org_id = $1 AND user_id = $2", org_id.as_uuid(), user_id.as_uuid())
}

/// Active members holding `role` (the owner role, to keep at least one).
pub async fn count_members_with_role(ex: Ex<'_>, org_id: OrgId, role: &str) -> Result<i64> {
    sql_scalar!(
        ex,
        fetch_one,
        i64,
        "SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND role = $2",
        org_id.as_uuid(),
        role
    )
}

/// A member with the fields of their user that listings show.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MemberWithUser {
    #[sqlx(flatten)]
    pub member: MemberRow,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// Filters of a member listing.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    pub role: Option<String>,
    /// Only emails starting with this (already normalized) prefix.
    pub email_prefix: Option<String>,
    /// Only rows with an id greater than this (the cursor).
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// The keyset lower bound of a page: the cursor, or the nil id before every id. A plain
/// `id > $n` (rather than `$n IS NULL OR id > $n`) lets both engines seek the `(…, id)` index to
/// the cursor, so a page deep in a large list costs what the first page costs.
pub(crate) fn after(cursor: Option<Uuid>) -> Uuid {
    cursor.unwrap_or(Uuid::nil())
}

/// Byte range of a normalized prefix: `[prefix, prefix + U+10FFFF)`.
pub(crate) fn prefix_range(prefix: &Option<String>) -> (Option<String>, Option<String>) {
    match prefix {
        Some(p) => (Some(p.clone()), Some(format!("{p}\u{10FFFF}"))),
        None => (None, None),
    }
}

/// A page of an org's members in membership-id order (keyset on `(org_id, id)`, so a page deep
/// in a large org costs what the first page costs).
pub async fn list_members(ex: Ex<'_>, org_id: OrgId, q: &MemberQuery) -> Result<Vec<MemberWithUser>> {
    let (lo, hi) = prefix_range(&q.email_prefix);
    let sql = format!(
        "SELECT {}, u.email, u.first_name, u.last_name FROM org_members m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND ($2 IS NULL OR m.role = $2) \
         AND ($3 IS NULL OR u.email_normalized >= $3) AND ($4 IS NULL OR u.email_normalized < $4) \
         AND m.id > $5 ORDER BY m.id LIMIT $6",
        prefixed("m")
    );
    sql_rows!(
        ex,
        fetch_all,
        MemberWithUser,
        &sql,
        org_id.as_uuid(),
        &q.role,
        lo,
        hi,
        after(q.after),
        i64::from(q.limit)
    )
}

/// A membership with the org's name and slug: what tokens and "my orgs" show.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MembershipWithOrg {
    #[sqlx(flatten)]
    pub member: MemberRow,
    pub org_name: String,
    pub org_slug: String,
}

/// A user's memberships in membership-id order, at most `limit`, after `after` when given.
pub async fn list_memberships_of_user(
    ex: Ex<'_>,
    user_id: UserId,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<MembershipWithOrg>> {
    let sql = format!(
        "SELECT {}, o.name AS org_name, o.slug AS org_slug FROM org_members m JOIN orgs o ON o.id = m.org_id \
         WHERE m.user_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3",
        prefixed("m")
    );
    sql_rows!(ex, fetch_all, MembershipWithOrg, &sql, user_id.as_uuid(), self::after(after), i64::from(limit))
}

/// What an access token says about one membership, and nothing else (a token lists many).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClaimRow {
    pub org_id: Uuid,
    pub role: String,
    pub additional_roles: Json<Vec<String>>,
    pub org_name: String,
    pub org_slug: String,
}

/// A user's memberships as tokens list them, in membership-id order, at most `limit`.
pub async fn list_claims_of_user(ex: Ex<'_>, user_id: UserId, limit: u32) -> Result<Vec<ClaimRow>> {
    sql_rows!(
        ex,
        fetch_all,
        ClaimRow,
        "SELECT m.org_id, m.role, m.additional_roles, o.name AS org_name, o.slug AS org_slug \
         FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY m.id LIMIT $2",
        user_id.as_uuid(),
        i64::from(limit)
    )
}

/// One membership of a user with its org's name and slug.
pub async fn get_membership_with_org(ex: Ex<'_>, user_id: UserId, org_id: OrgId) -> Result<Option<MembershipWithOrg>> {
    let sql = format!(
        "SELECT {}, o.name AS org_name, o.slug AS org_slug FROM org_members m JOIN orgs o ON o.id = m.org_id \
         WHERE m.user_id = $1 AND m.org_id = $2",
        prefixed("m")
    );
    sql_rows!(ex, fetch_optional, MembershipWithOrg, &sql, user_id.as_uuid(), org_id.as_uuid())
}
