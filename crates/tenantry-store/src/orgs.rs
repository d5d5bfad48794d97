//! The `orgs`, `org_domains` and `role_config` tables.
//!
//! **Invariant:** every function that reads or writes one org's rows takes its `org_id` and puts it
//! in the `WHERE` clause itself, so a caller cannot reach another org's rows by passing a foreign id.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use tenantry_core::{OrgId, UserId};
use uuid::Uuid;

use crate::{Engine, Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OrgRow {
    pub id: Uuid,
    pub name: String,
    pub name_normalized: String,
    pub slug: String,
    pub metadata: Json<Map<String, Value>>,
    pub max_users: Option<i32>,
    pub member_count: i32,
    pub domain_auto_join: bool,
    pub domain_restrict: bool,
    pub isolated: bool,
    pub mfa_required_at: Option<DateTime<Utc>>,
    pub mfa_grace_until: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, name_normalized, slug, metadata, max_users, member_count, domain_auto_join, \
    domain_restrict, isolated, mfa_required_at, mfa_grace_until, created_by, version, created_at, updated_at";

pub async fn insert_org(ex: Ex<'_>, o: &OrgRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO orgs (id, name, name_normalized, slug, metadata, max_users, member_count, domain_auto_join, \
         domain_restrict, isolated, mfa_required_at, mfa_grace_until, created_by, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        o.id,
        &o.name,
        &o.name_normalized,
        &o.slug,
        &o.metadata,
        o.max_users,
        o.member_count,
        o.domain_auto_join,
        o.domain_restrict,
        o.isolated,
        o.mfa_required_at,
        o.mfa_grace_until,
        o.created_by,
        o.version,
        o.created_at,
        o.updated_at,
    )?;
    Ok(())
}

pub async fn get_org(ex: Ex<'_>, id: OrgId) -> Result<Option<OrgRow>> {
    let sql = format!("SELECT {COLUMNS} FROM orgs WHERE id = $1");
    sql_rows!(ex, fetch_optional, OrgRow, &sql, id.as_uuid())
}

pub async fn find_org_by_slug(ex: Ex<'_>, slug: &str) -> Result<Option<OrgRow>> {
    let sql = format!("SELECT {COLUMNS} FROM orgs WHERE slug = $1");
    sql_rows!(ex, fetch_optional, OrgRow, &sql, slug)
}

/// Reads an org for update, serializing every membership change of the org behind it: on
/// PostgreSQL the row stays locked until the transaction ends; on SQLite the `BEGIN IMMEDIATE`
/// transaction already holds the writer lock.
pub async fn lock_org(ex: Ex<'_>, id: OrgId) -> Result<Option<OrgRow>> {
    let sql = match ex.engine() {
        Engine::Postgres => format!("SELECT {COLUMNS} FROM orgs WHERE id = $1 FOR UPDATE"),
        Engine::Sqlite => format!("SELECT {COLUMNS} FROM orgs WHERE id = $1"),
    };
    sql_rows!(ex, fetch_optional, OrgRow, &sql, id.as_uuid())
}

/// Reads an org and keeps it until the transaction ends from being deleted or locked for update
/// (`FOR KEY SHARE` on PostgreSQL), while other transactions holding this lock, and plain updates
/// such as [`add_member_count`], go on side by side. On SQLite `BEGIN IMMEDIATE` already excludes
/// every other writer.
pub async fn share_org(ex: Ex<'_>, id: OrgId) -> Result<Option<OrgRow>> {
    let sql = match ex.engine() {
        Engine::Postgres => format!("SELECT {COLUMNS} FROM orgs WHERE id = $1 FOR KEY SHARE"),
        Engine::Sqlite => format!("SELECT {COLUMNS} FROM orgs WHERE id = $1"),
    };
    sql_rows!(ex, fetch_optional, OrgRow, &sql, id.as_uuid())
}

/// Adds `delta` to the org's `member_count` (never below 0) in one statement, with a new version;
/// the org as it is now.
pub async fn add_member_count(ex: Ex<'_>, id: OrgId, delta: i32, now: DateTime<Utc>) -> Result<Option<OrgRow>> {
    let max = match ex.engine() {
        Engine::Postgres => "GREATEST",
        Engine::Sqlite => "MAX",
    };
    let sql = format!(
        "UPDATE orgs SET member_count = {max}(member_count + $2, 0), version = version + 1, updated_at = $3 \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    sql_rows!(ex, fetch_optional, OrgRow, &sql, id.as_uuid(), delta, now)
}

/// Writes every mutable column of `o`.
pub async fn update_org(ex: Ex<'_>, o: &OrgRow) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE orgs SET name = $2, name_normalized = $3, slug = $4, metadata = $5, max_users = $6, \
         member_count = $7, domain_auto_join = $8, domain_restrict = $9, isolated = $10, mfa_required_at = $11, \
         mfa_grace_until = $12, version = $13, updated_at = $14 WHERE id = $1",
        o.id,
        &o.name,
        &o.name_normalized,
        &o.slug,
        &o.metadata,
        o.max_users,
        o.member_count,
        o.domain_auto_join,
        o.domain_restrict,
        o.isolated,
        o.mfa_required_at,
        o.mfa_grace_until,
        o.version,
        o.updated_at,
    )
}

pub async fn delete_org(ex: Ex<'_>, id: OrgId) -> Result<u64> {
    sql_execute!(ex, "DELETE FROM orgs WHERE id = $1", id.as_uuid())
}

/// Whether a slug is taken (by any org).
pub async fn slug_taken(ex: Ex<'_>, slug: &str) -> Result<bool> {
    let n = sql_scalar!(ex, fetch_one, i64, "SELECT COUNT(*) FROM orgs WHERE slug = $1", slug)?;
    Ok(n > 0)
}

/// A page of orgs, in id (creation) order.
#[derive(Debug, Clone, Default)]
pub struct OrgQuery {
    /// Only names starting with this lowercased prefix.
    pub name_prefix: Option<String>,
    /// Only the org that owns this domain.
    pub domain: Option<String>,
    /// Only orgs with an id greater than this (the cursor).
    pub after: Option<Uuid>,
    pub limit: u32,
}

pub async fn list_orgs(ex: Ex<'_>, q: &OrgQuery) -> Result<Vec<OrgRow>> {
    let (lo, hi) = match &q.name_prefix {
        Some(p) => (Some(p.clone()), Some(format!("{p}\u{10FFFF}"))),
        None => (None, None),
    };
    let cols = COLUMNS.split(", ").map(|c| format!("o.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {cols} FROM orgs o WHERE ($1 IS NULL OR o.name_normalized >= $1) AND ($2 IS NULL OR o.name_normalized < $2) \
         AND ($3 IS NULL OR o.id IN (SELECT d.org_id FROM org_domains d WHERE d.domain = $3)) \
         AND o.id > $4 ORDER BY o.id LIMIT $5"
    );
    sql_rows!(ex, fetch_all, OrgRow, &sql, lo, hi, &q.domain, crate::members::after(q.after), i64::from(q.limit))
}

/// Orgs created by `user_id` or in which they are a member: counted against the per-user limit.
pub async fn count_orgs_of_user(ex: Ex<'_>, user_id: UserId) -> Result<i64> {
    sql_scalar!(ex, fetch_one, i64, "SELECT COUNT(*) FROM org_members WHERE user_id = $1", user_id.as_uuid())
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OrgDomainRow {
    pub domain: String,
    pub org_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Adds a domain to an org; a domain another org holds comes back as [`crate::StoreError::Unique`].
pub async fn insert_org_domain(ex: Ex<'_>, org_id: OrgId, domain: &str, now: DateTime<Utc>) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO org_domains (domain, org_id, created_at) VALUES ($1, $2, $3)",
        domain,
        org_id.as_uuid(),
        now
    )?;
    Ok(())
}

pub async fn delete_org_domain(ex: Ex<'_>, org_id: OrgId, domain: &str) -> Result<u64> {
    sql_execute!(ex, "DELETE FROM org_domains WHERE org_id = $1 AND domain = $2", org_id.as_uuid(), domain)
}

/// An org's domains, alphabetically.
pub async fn list_org_domains(ex: Ex<'_>, org_id: OrgId) -> Result<Vec<String>> {
    sql_scalar!(
        ex,
        fetch_all,
        String,
        "SELECT domain FROM org_domains WHERE org_id = $1 ORDER BY domain",
        org_id.as_uuid()
    )
}

/// The org holding `domain` with auto-join on, if any.
pub async fn find_auto_join_org(ex: Ex<'_>, domain: &str) -> Result<Option<OrgRow>> {
    let cols = COLUMNS.split(", ").map(|c| format!("o.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT {cols} {}", auto_join_orgs_of("$1"));
    sql_rows!(ex, fetch_optional, OrgRow, &sql, domain)
}

/// `FROM … WHERE …` of the orgs (aliased `o`) that take in verified addresses of the domain bound
/// to `param`: shared with `users::find_user_for_sign_in`.
pub(crate) fn auto_join_orgs_of(param: &str) -> String {
    format!(
        "FROM orgs o JOIN org_domains d ON d.org_id = o.id \
         WHERE d.domain = {param} AND o.domain_auto_join AND NOT o.isolated"
    )
}

/// The deployment's role configuration as set through the backend API.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RoleConfigRow {
    pub config: Json<Value>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

pub async fn get_role_config(ex: Ex<'_>) -> Result<Option<RoleConfigRow>> {
    sql_rows!(ex, fetch_optional, RoleConfigRow, "SELECT config, version, updated_at FROM role_config WHERE id = 1")
}

pub async fn put_role_config(ex: Ex<'_>, row: &RoleConfigRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO role_config (id, config, version, updated_at) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET config = excluded.config, version = excluded.version, \
         updated_at = excluded.updated_at",
        &row.config,
        row.version,
        row.updated_at,
    )?;
    Ok(())
}

/// The role names that memberships and pending invites use, hierarchy and additional alike.
pub async fn roles_in_use(mut ex: Ex<'_>) -> Result<Vec<String>> {
    let mut names = sql_scalar!(
        ex.reborrow(),
        fetch_all,
        String,
        "SELECT DISTINCT role FROM org_members UNION SELECT DISTINCT role FROM org_invites WHERE state = 'pending'"
    )?;
    let extra: Vec<Json<Vec<String>>> =
        sql_scalar!(ex, fetch_all, Json<Vec<String>>, "SELECT DISTINCT additional_roles FROM org_members")?;
    names.extend(extra.into_iter().flat_map(|j| j.0));
    names.sort();
    names.dedup();
    Ok(names)
}
