//! The `audit_log` table: who did what to what, when and from where. Rows outlive their targets.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use tenantry_core::{AuditId, OrgId};
use uuid::Uuid;

use crate::{Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub org_id: Option<Uuid>,
    /// `api_key`, `user` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub details: Json<Value>,
}

pub(crate) const COLUMNS: &str =
    "id, occurred_at, org_id, actor_kind, actor_id, action, target_kind, target_id, ip, request_id, details";

pub async fn append_audit(ex: Ex<'_>, a: &AuditRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO audit_log (id, occurred_at, org_id, actor_kind, actor_id, action, target_kind, target_id, \
         ip, request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        a.id,
        a.occurred_at,
        a.org_id,
        &a.actor_kind,
        &a.actor_id,
        &a.action,
        &a.target_kind,
        &a.target_id,
        &a.ip,
        &a.request_id,
        &a.details,
    )?;
    Ok(())
}

/// Entries about one target, oldest first.
pub async fn list_audit_for_target(ex: Ex<'_>, target_id: &str) -> Result<Vec<AuditRow>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE target_id = $1 ORDER BY id");
    sql_rows!(ex, fetch_all, AuditRow, &sql, target_id)
}

/// An org's entries, newest first, before the cursor `before` when given.
pub async fn list_audit_for_org(
    ex: Ex<'_>,
    org_id: OrgId,
    before: Option<AuditId>,
    limit: u32,
) -> Result<Vec<AuditRow>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3");
    sql_rows!(
        ex,
        fetch_all,
        AuditRow,
        &sql,
        org_id.as_uuid(),
        before.map_or(Uuid::max(), |id| id.as_uuid()),
        i64::from(limit)
    )
}

/// Entries with `action`, oldest first (tests and support tooling).
pub async fn list_audit_by_action(ex: Ex<'_>, action: &str) -> Result<Vec<AuditRow>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE action = $1 ORDER BY id");
    sql_rows!(ex, fetch_all, AuditRow, &sql, action)
}
