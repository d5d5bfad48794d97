//! Appending the webhook event and the audit entry of a change, inside its transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::ids::AuditId;
use tenantry_core::EventId;
use tenantry_store::audit::{append_audit, AuditRow};
use tenantry_store::outbox::{append_event, EventRow};
use tenantry_store::{Json, Tx};
use uuid::Uuid;

use crate::{AppResult, Ctx};

/// A webhook event about one object at one version.
pub(crate) struct Event {
    pub event_type: EventType,
    pub object_id: Uuid,
    pub object_version: i64,
    pub org_id: Option<Uuid>,
    pub data: Value,
}

pub(crate) async fn emit(tx: &mut Tx, now: DateTime<Utc>, e: Event) -> AppResult<()> {
    let row = EventRow {
        id: EventId::new().as_uuid(),
        event_type: e.event_type.as_str().to_owned(),
        object_id: e.object_id,
        object_version: e.object_version,
        org_id: e.org_id,
        data: Json(e.data),
        occurred_at: now,
    };
    append_event(tx.ex(), &row).await?;
    Ok(())
}

/// An audit entry: what happened to which target.
pub(crate) struct Audit {
    pub action: AuditAction,
    pub org_id: Option<Uuid>,
    pub target_kind: &'static str,
    pub target_id: Option<String>,
    pub details: Value,
}

pub(crate) async fn audit(tx: &mut Tx, ctx: &Ctx, now: DateTime<Utc>, a: Audit) -> AppResult<()> {
    append_audit(tx.ex(), &audit_row(ctx, now, a)).await?;
    Ok(())
}

/// The row [`audit`] appends, for a store function that writes it together with other rows.
pub(crate) fn audit_row(ctx: &Ctx, now: DateTime<Utc>, a: Audit) -> AuditRow {
    let (actor_kind, actor_id) = ctx.actor.audit_parts();
    AuditRow {
        id: AuditId::new().as_uuid(),
        occurred_at: now,
        org_id: a.org_id,
        actor_kind: actor_kind.to_owned(),
        actor_id,
        action: a.action.as_str().to_owned(),
        target_kind: a.target_kind.to_owned(),
        target_id: a.target_id,
        ip: ctx.ip.map(|ip| ip.to_string()),
        request_id: ctx.request_id.clone(),
        details: Json(a.details),
    }
}

impl Audit {
    /// An entry about a user account (no org).
    pub(crate) fn user(action: AuditAction, user_id: impl ToString, details: Value) -> Audit {
        Audit { action, org_id: None, target_kind: "user", target_id: Some(user_id.to_string()), details }
    }
}
