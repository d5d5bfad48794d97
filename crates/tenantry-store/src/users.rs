//! The `users` table.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use tenantry_core::{OrgId, UserId};
use uuid::Uuid;

use crate::{Engine, Ex, Result};

/// A user as stored. The password hash is a PHC string (Argon2id).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub pool_id: Option<Uuid>,
    pub email: String,
    pub email_normalized: String,
    pub email_verified: bool,
    pub password_hash: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub username_normalized: Option<String>,
    pub properties: Json<Map<String, Value>>,
    pub disabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

pub(crate) const COLUMNS: &str = "id, pool_id, email, email_normalized, email_verified, password_hash, first_name, \
    last_name, username, username_normalized, properties, disabled, version, created_at, updated_at, last_login_at";

pub async fn insert_user(ex: Ex<'_>, u: &UserRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO users (id, pool_id, email, email_normalized, email_verified, password_hash, first_name, \
         last_name, username, username_normalized, properties, disabled, version, created_at, updated_at, last_login_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        u.id,
        u.pool_id,
        &u.email,
        &u.email_normalized,
        u.email_verified,
        &u.password_hash,
        &u.first_name,
        &u.last_name,
        &u.username,
        &u.username_normalized,
        &u.properties,
        u.disabled,
        u.version,
        u.created_at,
        u.updated_at,
        u.last_login_at,
    )?;
    Ok(())
}

pub async fn get_user(ex: Ex<'_>, id: UserId) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    sql_rows!(ex, fetch_optional, UserRow, &sql, id.as_uuid())
}

/// Reads a user for update: on PostgreSQL the row stays locked until the transaction ends; on
/// SQLite the `BEGIN IMMEDIATE` transaction already holds the writer lock.
pub async fn lock_user(ex: Ex<'_>, id: UserId) -> Result<Option<UserRow>> {
    let sql = match ex.engine() {
        Engine::Postgres => format!("SELECT {COLUMNS} FROM users WHERE id = $1 FOR UPDATE"),
        Engine::Sqlite => format!("SELECT {COLUMNS} FROM users WHERE id = $1"),
    };
    sql_rows!(ex, fetch_optional, UserRow, &sql, id.as_uuid())
}

/// Finds a user by normalized email within one pool: `None` is the shared pool, so a look-up
/// without an isolated org never finds an isolated user.
pub async fn find_user_by_email(ex: Ex<'_>, pool_id: Option<OrgId>, email_normalized: &str) -> Result<Option<UserRow>> {
    match pool_id {
        None => {
            let sql = format!("SELECT {COLUMNS} FROM users WHERE pool_id IS NULL AND email_normalized = $1");
            sql_rows!(ex, fetch_optional, UserRow, &sql, email_normalized)
        }
        Some(pool) => {
            let sql = format!("SELECT {COLUMNS} FROM users WHERE pool_id = $1 AND email_normalized = $2");
            sql_rows!(ex, fetch_optional, UserRow, &sql, pool.as_uuid(), email_normalized)
        }
    }
}

/// A user of the shared pool found by email for a password sign-in, with what else the sign-in
/// decides on, in one read.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SignInUser {
    #[sqlx(flatten)]
    pub user: UserRow,
    /// An org takes in verified addresses of the email's domain (docs/design.md §4.12).
    pub domain_auto_join: bool,
    /// A member of an org that requires SSO or is isolated: no password sign-in.
    pub must_use_sso: bool,
    /// 2FA is on: a code must follow the password (`mfa::has_confirmed_mfa`).
    pub has_mfa: bool,
}

/// [`find_user_by_email`] in the shared pool, with [`SignInUser::domain_auto_join`] for `domain`
/// (the test of `orgs::find_auto_join_org`) and the user's SSO and 2FA requirements.
pub async fn find_user_for_sign_in(ex: Ex<'_>, email_normalized: &str, domain: &str) -> Result<Option<SignInUser>> {
    let sql = format!(
        "SELECT {COLUMNS}, EXISTS (SELECT 1 {}) AS domain_auto_join, \
         EXISTS (SELECT 1 {}) AS must_use_sso, EXISTS (SELECT 1 {}) AS has_mfa \
         FROM users WHERE pool_id IS NULL AND email_normalized = $1",
        crate::orgs::auto_join_orgs_of("$2"),
        crate::sso::sso_required_memberships_of("users.id"),
        crate::mfa::confirmed_mfa_of("users.id"),
    );
    sql_rows!(ex, fetch_optional, SignInUser, &sql, email_normalized, domain)
}

/// A page of users of the shared pool, in id (creation) order.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Only emails starting with this (already normalized) prefix.
    pub email_prefix: Option<String>,
    /// Only users with an id greater than this (the cursor).
    pub after: Option<UserId>,
    pub limit: u32,
}

pub async fn list_users(ex: Ex<'_>, q: &UserQuery) -> Result<Vec<UserRow>> {
    // Prefix as a byte range: [prefix, prefix + U+10FFFF) uses the index on both engines.
    let (lo, hi) = match &q.email_prefix {
        Some(p) => (Some(p.clone()), Some(format!("{p}\u{10FFFF}"))),
        None => (None, None),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE pool_id IS NULL \
         AND ($1 IS NULL OR email_normalized >= $1) AND ($2 IS NULL OR email_normalized < $2) \
         AND id > $3 ORDER BY id LIMIT $4"
    );
    sql_rows!(
        ex,
        fetch_all,
        UserRow,
        &sql,
        lo,
        hi,
        crate::members::after(q.after.map(|id| id.as_uuid())),
        i64::from(q.limit)
    )
}

/// Writes every mutable column of `u` and sets `version` to `u.version`.
pub async fn update_user(ex: Ex<'_>, u: &UserRow) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE users SET email = $2, email_normalized = $3, email_verified = $4, password_hash = $5, \
         first_name = $6, last_name = $7, username = $8, username_normalized = $9, properties = $10, \
         disabled = $11, version = $12, updated_at = $13, last_login_at = $14 WHERE id = $1",
        u.id,
        &u.email,
        &u.email_normalized,
        u.email_verified,
        &u.password_hash,
        &u.first_name,
        &u.last_name,
        &u.username,
        &u.username_normalized,
        &u.properties,
        u.disabled,
        u.version,
        u.updated_at,
        u.last_login_at,
    )
}

pub async fn delete_user(ex: Ex<'_>, id: UserId) -> Result<u64> {
    sql_execute!(ex, "DELETE FROM users WHERE id = $1", id.as_uuid())
}

pub async fn count_users(ex: Ex<'_>) -> Result<i64> {
    sql_scalar!(ex, fetch_one, i64, "SELECT COUNT(*) FROM users")
}
