//! The `sso_connections`, `sso_requests` and `sso_assertion_ids` tables, and the org's
//! `sso_required` flag.
//!
//! **Invariant:** a connection is read or changed through its org (`org_id` in the `WHERE`
//! clause), except on the ACS, where the connection id in the URL is all there is; the use case
//! then reads the org from the row.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use tenantry_core::{OrgId, SsoConnectionId};
use uuid::Uuid;

use crate::{Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SsoConnectionRow {
    pub id: Uuid,
    pub org_id: Uuid,
    /// `test` or `live`.
    pub status: String,
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    pub idp_certificates: Json<Vec<String>>,
    pub metadata_url: Option<String>,
    pub attribute_mapping: Json<Value>,
    pub allow_idp_initiated: bool,
    pub allow_sha1: bool,
    pub idp_enforces_mfa: bool,
    /// The connection's encryption key (PKCS#8 PEM), sealed with the master key.
    pub sp_key_sealed: Option<Vec<u8>>,
    /// Its self-signed certificate, base64 of DER.
    pub sp_certificate: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, org_id, status, idp_entity_id, idp_sso_url, idp_certificates, metadata_url, \
    attribute_mapping, allow_idp_initiated, allow_sha1, idp_enforces_mfa, sp_key_sealed, sp_certificate, version, \
    created_at, updated_at";

/// Writes an org's connection, replacing the one it had (same id kept by the caller when it
/// replaces, so requests in flight stay valid only if the caller wants them to).
pub async fn upsert_connection(ex: Ex<'_>, c: &SsoConnectionRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO sso_connections (id, org_id, status, idp_entity_id, idp_sso_url, idp_certificates, metadata_url, \
         attribute_mapping, allow_idp_initiated, allow_sha1, idp_enforces_mfa, sp_key_sealed, sp_certificate, \
         version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (org_id) DO UPDATE SET status = excluded.status, idp_entity_id = excluded.idp_entity_id, \
         idp_sso_url = excluded.idp_sso_url, idp_certificates = excluded.idp_certificates, \
         metadata_url = excluded.metadata_url, attribute_mapping = excluded.attribute_mapping, \
         allow_idp_initiated = excluded.allow_idp_initiated, allow_sha1 = excluded.allow_sha1, \
         idp_enforces_mfa = excluded.idp_enforces_mfa, sp_key_sealed = excluded.sp_key_sealed, \
         sp_certificate = excluded.sp_certificate, version = excluded.version, updated_at = excluded.updated_at",
        c.id,
        c.org_id,
        &c.status,
        &c.idp_entity_id,
        &c.idp_sso_url,
        &c.idp_certificates,
        &c.metadata_url,
        &c.attribute_mapping,
        c.allow_idp_initiated,
        c.allow_sha1,
        c.idp_enforces_mfa,
        &c.sp_key_sealed,
        &c.sp_certificate,
        c.version,
        c.created_at,
        c.updated_at,
    )?;
    Ok(())
}

pub async fn get_connection_of_org(ex: Ex<'_>, org_id: OrgId) -> Result<Option<SsoConnectionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM sso_connections WHERE org_id = $1");
    sql_rows!(ex, fetch_optional, SsoConnectionRow, &sql, org_id.as_uuid())
}

/// The connection an ACS or metadata URL names.
pub async fn get_connection(ex: Ex<'_>, id: SsoConnectionId) -> Result<Option<SsoConnectionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM sso_connections WHERE id = $1");
    sql_rows!(ex, fetch_optional, SsoConnectionRow, &sql, id.as_uuid())
}

/// Sets the status of an org's connection; the number of rows changed (0: no connection).
pub async fn set_status(ex: Ex<'_>, org_id: OrgId, status: &str, version: i64, now: DateTime<Utc>) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE sso_connections SET status = $2, version = $3, updated_at = $4 WHERE org_id = $1",
        org_id.as_uuid(),
        status,
        version,
        now,
    )
}

/// Removes an org's connection (its requests and replay cache go with it); rows removed.
pub async fn delete_connection(ex: Ex<'_>, org_id: OrgId) -> Result<u64> {
    sql_execute!(ex, "DELETE FROM sso_connections WHERE org_id = $1", org_id.as_uuid())
}

/// The org that holds `domain` (a domain belongs to at most one org).
pub async fn find_org_id_by_domain(ex: Ex<'_>, domain: &str) -> Result<Option<Uuid>> {
    sql_scalar!(ex, fetch_optional, Uuid, "SELECT org_id FROM org_domains WHERE domain = $1", domain)
}

/// A member of an org as converting it to isolated sees them: whether they have a password and in
/// how many orgs they are.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IsolationCandidate {
    pub user_id: Uuid,
    pub email: String,
    pub has_password: bool,
    pub org_count: i64,
}

pub async fn isolation_candidates(ex: Ex<'_>, org_id: OrgId) -> Result<Vec<IsolationCandidate>> {
    sql_rows!(
        ex,
        fetch_all,
        IsolationCandidate,
        "SELECT u.id AS user_id, u.email, u.password_hash IS NOT NULL AS has_password, \
         (SELECT COUNT(*) FROM org_members m2 WHERE m2.user_id = u.id) AS org_count \
         FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY u.email",
        org_id.as_uuid(),
    )
}

/// Moves every member of the org into its user pool and marks it isolated; rows of users moved.
pub async fn isolate_org(mut ex: Ex<'_>, org_id: OrgId) -> Result<u64> {
    let moved = sql_execute!(
        ex.reborrow(),
        "UPDATE users SET pool_id = $1 WHERE id IN (SELECT user_id FROM org_members WHERE org_id = $1)",
        org_id.as_uuid(),
    )?;
    sql_execute!(ex, "UPDATE orgs SET isolated = TRUE WHERE id = $1", org_id.as_uuid())?;
    Ok(moved)
}

pub async fn get_sso_required(ex: Ex<'_>, org_id: OrgId) -> Result<bool> {
    let found = sql_scalar!(ex, fetch_optional, bool, "SELECT sso_required FROM orgs WHERE id = $1", org_id.as_uuid())?;
    Ok(found.unwrap_or(false))
}

pub async fn set_sso_required(ex: Ex<'_>, org_id: OrgId, required: bool) -> Result<u64> {
    sql_execute!(ex, "UPDATE orgs SET sso_required = $2 WHERE id = $1", org_id.as_uuid(), required)
}

/// `FROM … WHERE …` of the memberships of `user` (an SQL expression) in orgs that require SSO
/// or are isolated: such a member signs in only through SSO, never with a password.
pub(crate) fn sso_required_memberships_of(user: &str) -> String {
    format!(
        "FROM org_members m JOIN orgs o ON o.id = m.org_id \
         WHERE m.user_id = {user} AND (o.sso_required OR o.isolated)"
    )
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SsoRequestRow {
    pub id: String,
    pub connection_id: Uuid,
    pub relay_state_hash: Vec<u8>,
    pub return_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub async fn insert_request(ex: Ex<'_>, r: &SsoRequestRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO sso_requests (id, connection_id, relay_state_hash, return_to, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &r.id,
        r.connection_id,
        &r.relay_state_hash,
        &r.return_to,
        r.created_at,
        r.expires_at,
        r.used_at,
    )?;
    Ok(())
}

/// Spends the request `id` of `connection_id` that `relay_state_hash` names, if unspent and
/// unexpired: exactly one concurrent caller gets it back.
pub async fn take_request(
    ex: Ex<'_>,
    connection_id: SsoConnectionId,
    id: &str,
    relay_state_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<SsoRequestRow>> {
    sql_rows!(
        ex,
        fetch_optional,
        SsoRequestRow,
        "UPDATE sso_requests SET used_at = $4 WHERE id = $2 AND connection_id = $1 AND relay_state_hash = $3 \
         AND used_at IS NULL AND expires_at > $4 \
         RETURNING id, connection_id, relay_state_hash, return_to, created_at, expires_at, used_at",
        connection_id.as_uuid(),
        id,
        relay_state_hash,
        now,
    )
}

/// Records a consumed assertion id; `false` when it was already there (a replay), on any node.
/// Expired ids of the connection are dropped first.
pub async fn remember_assertion(
    mut ex: Ex<'_>,
    connection_id: SsoConnectionId,
    assertion_id: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    sql_execute!(
        ex.reborrow(),
        "DELETE FROM sso_assertion_ids WHERE connection_id = $1 AND expires_at <= $2",
        connection_id.as_uuid(),
        now,
    )?;
    let inserted = sql_execute!(
        ex,
        "INSERT INTO sso_assertion_ids (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
        connection_id.as_uuid(),
        assertion_id,
        expires_at,
    )?;
    Ok(inserted == 1)
}

/// Drops expired requests and assertion ids (housekeeping); rows removed.
pub async fn sweep(mut ex: Ex<'_>, now: DateTime<Utc>) -> Result<u64> {
    let a = sql_execute!(ex.reborrow(), "DELETE FROM sso_requests WHERE expires_at <= $1", now)?;
    let b = sql_execute!(ex, "DELETE FROM sso_assertion_ids WHERE expires_at <= $1", now)?;
    Ok(a + b)
}
