//! The `outbox_events` table: webhook events, written in the same transaction as the change they
//! describe, read later by the delivery worker.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use tenantry_core::EventId;
use uuid::Uuid;

use crate::{Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EventRow {
    pub id: Uuid,
    pub event_type: String,
    pub object_id: Uuid,
    pub object_version: i64,
    pub org_id: Option<Uuid>,
    /// The `data` member of the delivered body.
    pub data: Json<Value>,
    pub occurred_at: DateTime<Utc>,
}

pub async fn append_event(ex: Ex<'_>, e: &EventRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO outbox_events (id, event_type, object_id, object_version, org_id, data, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        e.id,
        &e.event_type,
        e.object_id,
        e.object_version,
        e.org_id,
        &e.data,
        e.occurred_at,
    )?;
    Ok(())
}

/// Events about one object, oldest first.
pub async fn list_events_for_object(ex: Ex<'_>, object_id: Uuid) -> Result<Vec<EventRow>> {
    sql_rows!(
        ex,
        fetch_all,
        EventRow,
        "SELECT id, event_type, object_id, object_version, org_id, data, occurred_at FROM outbox_events \
         WHERE object_id = $1 ORDER BY id",
        object_id,
    )
}

/// Events in id order after the cursor, at most `limit`.
pub async fn list_events(ex: Ex<'_>, after: Option<EventId>, limit: u32) -> Result<Vec<EventRow>> {
    sql_rows!(
        ex,
        fetch_all,
        EventRow,
        "SELECT id, event_type, object_id, object_version, org_id, data, occurred_at FROM outbox_events \
         WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
        after.map(|id| id.as_uuid()),
        i64::from(limit),
    )
}
