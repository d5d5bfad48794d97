//! Webhook delivery tables: `webhook_endpoints` (where to send, which events, sealed secrets),
//! `webhook_messages` (one per event and matching endpoint, with its delivery state) and
//! `webhook_attempts` (one per try).
//!
//! Fan-out copies committed `outbox_events` into messages. Each event is taken once: the fan-out
//! transaction inserts its messages (a unique index on `(event_id, endpoint_id)` makes a repeat a
//! no-op) and sets the event's `fanned_out_at` marker, so a crash before the commit leaves the
//! event to the next run and a crash after it loses nothing. On PostgreSQL the pending events are
//! locked `FOR UPDATE SKIP LOCKED`, so several nodes fan out side by side; on SQLite the fan-out
//! runs inside the single writer's `BEGIN IMMEDIATE`.
//!
//! Messages are claimed like `mail_queue` rows: a lease in `locked_until`, an attempt counted at
//! each claim, and the retry schedule decided by the worker.

use chrono::{DateTime, Duration, Utc};
use sqlx::types::Json;
use tenantry_core::{EventId, WebhookEndpointId, WebhookMessageId};
use uuid::Uuid;

use crate::outbox::EventRow;
use crate::{Db, Engine, Ex, Result};

/// Where a message stands. Stored as lowercase text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer came back.
    Delivered,
    /// Every attempt failed.
    Failed,
}

impl MessageState {
    pub const ALL: [MessageState; 3] = [MessageState::Pending, MessageState::Delivered, MessageState::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Delivered => "delivered",
            MessageState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<MessageState> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

text_sql_type!(MessageState, "webhook message state");

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// Event type names; empty means all.
    pub event_types: Json<Vec<String>>,
    pub disabled: bool,
    pub secret_sealed: Vec<u8>,
    pub previous_secret_sealed: Option<Vec<u8>>,
    pub previous_expires_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the current unbroken run of failed attempts began; `None` after a success.
    pub failing_since: Option<DateTime<Utc>>,
    /// Why the endpoint is disabled: [`DISABLED_MANUALLY`], [`DISABLED_FAILING`] or [`DISABLED_GONE`].
    pub disabled_reason: Option<String>,
}

/// `disabled_reason` of an endpoint disabled through the API.
pub const DISABLED_MANUALLY: &str = "manual";
/// `disabled_reason` of an endpoint the worker disabled after it failed continuously.
pub const DISABLED_FAILING: &str = "failing";
/// `disabled_reason` of an endpoint whose receiver answered `410 Gone`: it asked for no more.
pub const DISABLED_GONE: &str = "gone";

impl EndpointRow {
    /// Whether events of `event_type` go to this endpoint.
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.0.is_empty() || self.event_types.0.iter().any(|t| t == event_type)
    }
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub endpoint_id: Uuid,
    pub event_type: String,
    pub payload: String,
    pub state: MessageState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl MessageRow {
    /// A new pending message, due at once. The event and endpoint ids are typed, so the two
    /// cannot be swapped:
    ///
    /// ```compile_fail
    /// # use tenantry_core::{EventId, WebhookEndpointId};
    /// # fn swapped(event_id: EventId, endpoint_id: WebhookEndpointId, now: chrono::DateTime<chrono::Utc>) {
    /// let _ = tenantry_store::webhooks::MessageRow::pending(endpoint_id, event_id, "user.created", "{}".into(), now, now);
    /// # }
    /// ```
    ///
    /// ```
    /// # use tenantry_core::{EventId, WebhookEndpointId};
    /// # fn in_order(event_id: EventId, endpoint_id: WebhookEndpointId, now: chrono::DateTime<chrono::Utc>) {
    /// let _ = tenantry_store::webhooks::MessageRow::pending(event_id, endpoint_id, "user.created", "{}".into(), now, now);
    /// # }
    /// ```
    pub fn pending(
        event_id: EventId,
        endpoint_id: WebhookEndpointId,
        event_type: &str,
        payload: String,
        occurred_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> MessageRow {
        MessageRow {
            id: WebhookMessageId::new().as_uuid(),
            event_id: event_id.as_uuid(),
            endpoint_id: endpoint_id.as_uuid(),
            event_type: event_type.to_owned(),
            payload,
            state: MessageState::Pending,
            attempts: 0,
            next_attempt_at: now,
            locked_until: None,
            last_status: None,
            last_error: None,
            occurred_at,
            created_at: now,
            delivered_at: None,
        }
    }
}

/// One delivery attempt as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: Uuid,
    pub message_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub response_body: Option<String>,
}

/// What an attempt decided for its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
}

const ENDPOINT_COLUMNS: &str = "id, url, description, event_types, disabled, secret_sealed, previous_secret_sealed, \
    previous_expires_at, version, created_at, updated_at, failing_since, disabled_reason";
const MESSAGE_COLUMNS: &str = "id, event_id, endpoint_id, event_type, payload, state, attempts, next_attempt_at, \
    locked_until, last_status, last_error, occurred_at, created_at, delivered_at";
const ATTEMPT_COLUMNS: &str = "id, message_id, attempted_at, status, error, latency_ms, response_body";

pub async fn insert_endpoint(ex: Ex<'_>, e: &EndpointRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO webhook_endpoints (id, url, description, event_types, disabled, secret_sealed, \
         previous_secret_sealed, previous_expires_at, version, created_at, updated_at, failing_since, disabled_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        e.id,
        &e.url,
        &e.description,
        &e.event_types,
        e.disabled,
        &e.secret_sealed,
        &e.previous_secret_sealed,
        e.previous_expires_at,
        e.version,
        e.created_at,
        e.updated_at,
        e.failing_since,
        &e.disabled_reason,
    )?;
    Ok(())
}

/// Writes every mutable column of `e` (the caller read and changed the row in its transaction).
pub async fn update_endpoint(ex: Ex<'_>, e: &EndpointRow) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, disabled = $5, \
         secret_sealed = $6, previous_secret_sealed = $7, previous_expires_at = $8, version = $9, updated_at = $10, \
         failing_since = $11, disabled_reason = $12 WHERE id = $1",
        e.id,
        &e.url,
        &e.description,
        &e.event_types,
        e.disabled,
        &e.secret_sealed,
        &e.previous_secret_sealed,
        e.previous_expires_at,
        e.version,
        e.updated_at,
        e.failing_since,
        &e.disabled_reason,
    )
}

pub async fn get_endpoint(ex: Ex<'_>, id: WebhookEndpointId) -> Result<Option<EndpointRow>> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
    sql_rows!(ex, fetch_optional, EndpointRow, &sql, id.as_uuid())
}

/// The endpoint, locked for a read-modify-write: `FOR UPDATE` on PostgreSQL; inside SQLite's
/// `BEGIN IMMEDIATE` a plain read is already exclusive.
pub async fn lock_endpoint(ex: Ex<'_>, id: WebhookEndpointId) -> Result<Option<EndpointRow>> {
    let lock = match ex.engine() {
        Engine::Postgres => " FOR UPDATE",
        Engine::Sqlite => "",
    };
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1{lock}");
    sql_rows!(ex, fetch_optional, EndpointRow, &sql, id.as_uuid())
}

pub async fn delete_endpoint(ex: Ex<'_>, id: WebhookEndpointId) -> Result<u64> {
    sql_execute!(ex, "DELETE FROM webhook_endpoints WHERE id = $1", id.as_uuid())
}

/// Endpoints in creation order after the cursor.
pub async fn list_endpoints(ex: Ex<'_>, after: Option<WebhookEndpointId>, limit: u32) -> Result<Vec<EndpointRow>> {
    let rows = match after {
        Some(after) => {
            let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id > $1 ORDER BY id LIMIT $2");
            sql_rows!(ex, fetch_all, EndpointRow, &sql, after.as_uuid(), i64::from(limit))?
        }
        None => {
            let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id LIMIT $1");
            sql_rows!(ex, fetch_all, EndpointRow, &sql, i64::from(limit))?
        }
    };
    Ok(rows)
}

/// Inserts a message unless one exists for its (event, endpoint); returns whether it was new.
pub async fn insert_message(ex: Ex<'_>, m: &MessageRow) -> Result<bool> {
    let n = sql_execute!(
        ex,
        "INSERT INTO webhook_messages (id, event_id, endpoint_id, event_type, payload, state, attempts, \
         next_attempt_at, locked_until, last_status, last_error, occurred_at, created_at, delivered_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (event_id, endpoint_id) DO NOTHING",
        m.id,
        m.event_id,
        m.endpoint_id,
        &m.event_type,
        &m.payload,
        m.state,
        m.attempts,
        m.next_attempt_at,
        m.locked_until,
        m.last_status,
        &m.last_error,
        m.occurred_at,
        m.created_at,
        m.delivered_at,
    )?;
    Ok(n == 1)
}

/// Messages per statement of [`insert_messages`]: 14 values each, well under both engines' limit
/// on bound values (32,766 on SQLite, 65,535 on PostgreSQL).
pub const MESSAGES_PER_INSERT: usize = 500;

/// Inserts messages as [`insert_message`] does, one multi-row statement per 500: a fan-out writes
/// a batch of events' messages in one round trip instead of one per message. Returns how many
/// were new.
pub async fn insert_messages(mut ex: Ex<'_>, messages: &[MessageRow]) -> Result<u64> {
    let mut created = 0;
    for chunk in messages.chunks(MESSAGES_PER_INSERT) {
        let sql = format!(
            "INSERT INTO webhook_messages (id, event_id, endpoint_id, event_type, payload, state, attempts, \
             next_attempt_at, locked_until, last_status, last_error, occurred_at, created_at, delivered_at) \
             VALUES {} ON CONFLICT (event_id, endpoint_id) DO NOTHING",
            values_list(ex.engine(), chunk.len(), 14, &[""; 14])
        );
        created += per_engine!(ex.reborrow(), |c| {
            let mut q = sqlx::query(&sql);
            for m in chunk {
                q = q
                    .bind(m.id)
                    .bind(m.event_id)
                    .bind(m.endpoint_id)
                    .bind(&m.event_type)
                    .bind(&m.payload)
                    .bind(m.state)
                    .bind(m.attempts)
                    .bind(m.next_attempt_at)
                    .bind(m.locked_until)
                    .bind(m.last_status)
                    .bind(&m.last_error)
                    .bind(m.occurred_at)
                    .bind(m.created_at)
                    .bind(m.delivered_at);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(created)
}

/// Up to `limit` events not fanned out yet, oldest first, locked for this transaction.
/// PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent fan-outs on other nodes take other events.
/// SQLite: the caller's `BEGIN IMMEDIATE` already excludes every other writer.
pub async fn lock_pending_events(ex: Ex<'_>, limit: u32) -> Result<Vec<EventRow>> {
    let lock = match ex.engine() {
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    let sql = format!(
        "SELECT id, event_type, object_id, object_version, org_id, data, occurred_at FROM outbox_events \
         WHERE fanned_out_at IS NULL ORDER BY id LIMIT $1{lock}"
    );
    sql_rows!(ex, fetch_all, EventRow, &sql, i64::from(limit))
}

/// Marks the events of one fan-out (as [`lock_pending_events`] returned them) as fanned out.
pub async fn mark_events_fanned_out(ex: Ex<'_>, events: &[EventRow], now: DateTime<Utc>) -> Result<u64> {
    let Some(last) = events.iter().map(|e| e.id).max() else { return Ok(0) };
    match ex {
        // The writer's transaction sees no other writer's events: the pending ones up to the last
        // taken are exactly the ones taken.
        Ex::Sqlite(c) => {
            sqlx::query("UPDATE outbox_events SET fanned_out_at = $1 WHERE fanned_out_at IS NULL AND id <= $2")
                .bind(now)
                .bind(last)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
                .map_err(crate::StoreError::from)
        }
        // Other nodes hold other pending events under SKIP LOCKED: name ours.
        Ex::Postgres(c) => {
            let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
            sqlx::query("UPDATE outbox_events SET fanned_out_at = $1 WHERE id = ANY($2)")
                .bind(now)
                .bind(ids)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
                .map_err(crate::StoreError::from)
        }
    }
}

/// Every enabled endpoint (a deployment has few).
pub async fn list_enabled_endpoints(ex: Ex<'_>) -> Result<Vec<EndpointRow>> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE disabled = $1 ORDER BY id");
    sql_rows!(ex, fetch_all, EndpointRow, &sql, false)
}

/// Leases up to `$3` pending messages of enabled endpoints, due at `$1` and not leased at `$1`,
/// until `$2`, counting an attempt on each. The lock clause is the only engine difference (see
/// `mail_queue::claim_sql`).
fn claim_sql(engine: Engine) -> String {
    let lock = match engine {
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    format!(
        "UPDATE webhook_messages SET locked_until = $2, attempts = attempts + 1 WHERE id IN (\
         SELECT id FROM webhook_messages WHERE state = 'pending' AND next_attempt_at <= $1 \
         AND (locked_until IS NULL OR locked_until <= $1) \
         AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled = $4) \
         ORDER BY next_attempt_at, id LIMIT $3{lock}) \
         RETURNING {MESSAGE_COLUMNS}"
    )
}

/// What a claim hands a worker: the leased messages, oldest due first, and their endpoints as
/// they are now (the current secrets and URL).
#[derive(Debug, Default)]
pub struct Claim {
    pub messages: Vec<MessageRow>,
    pub endpoints: Vec<EndpointRow>,
}

/// Claims up to `limit` due messages for `lease`, oldest due first. Several workers (and nodes)
/// may call this at once: no message is handed to two of them while its lease runs.
pub async fn claim_due_messages(db: &Db, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Claim> {
    let mut tx = db.begin().await?;
    let ex = tx.ex();
    let sql = claim_sql(ex.engine());
    let until = now + lease;
    let mut messages = sql_rows!(ex, fetch_all, MessageRow, &sql, now, until, i64::from(limit), false)?;
    if messages.is_empty() {
        tx.commit().await?;
        return Ok(Claim::default());
    }
    let mut ids: Vec<Uuid> = messages.iter().map(|m| m.endpoint_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let endpoints = endpoints_by_id(tx.ex(), &ids).await?;
    tx.commit().await?;
    messages.sort_by_key(|m| (m.next_attempt_at, m.id));
    Ok(Claim { messages, endpoints })
}

/// The endpoints with these ids (at most a claim's worth), in id order.
async fn endpoints_by_id(ex: Ex<'_>, ids: &[Uuid]) -> Result<Vec<EndpointRow>> {
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id IN ({}) ORDER BY id",
        placeholders.join(", ")
    );
    // One value per id.
    per_engine!(ex, |c| ids
        .iter()
        .fold(sqlx::query_as::<_, EndpointRow>(&sql), |q, id| q.bind(*id))
        .fetch_all(&mut *c)
        .await)
}

/// Starts an endpoint's run of failures at `at` unless one is under way.
pub async fn mark_endpoint_failing(ex: Ex<'_>, id: WebhookEndpointId, at: DateTime<Utc>) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL",
        id.as_uuid(),
        at
    )
}

/// Ends an endpoint's run of failures: it answered 2xx.
pub async fn mark_endpoint_healthy(ex: Ex<'_>, id: WebhookEndpointId) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
        id.as_uuid()
    )
}

/// Disables the endpoint if it is enabled and has been failing since `cutoff` or earlier; the
/// disabled row, or `None` when it was not (a success came in between, or it is disabled already).
pub async fn disable_failing_endpoint(
    ex: Ex<'_>,
    id: WebhookEndpointId,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<EndpointRow>> {
    let sql = format!(
        "UPDATE webhook_endpoints SET disabled = $4, disabled_reason = $5, version = version + 1, updated_at = $3 \
         WHERE id = $1 AND disabled = $6 AND failing_since <= $2 RETURNING {ENDPOINT_COLUMNS}"
    );
    sql_rows!(ex, fetch_optional, EndpointRow, &sql, id.as_uuid(), cutoff, now, true, DISABLED_FAILING, false)
}

/// Disables the endpoint at once because its receiver answered `410 Gone`; the disabled row, or
/// `None` when it was disabled already.
pub async fn disable_gone_endpoint(
    ex: Ex<'_>,
    id: WebhookEndpointId,
    now: DateTime<Utc>,
) -> Result<Option<EndpointRow>> {
    let sql = format!(
        "UPDATE webhook_endpoints SET disabled = $3, disabled_reason = $4, version = version + 1, updated_at = $2 \
         WHERE id = $1 AND disabled = $5 RETURNING {ENDPOINT_COLUMNS}"
    );
    sql_rows!(ex, fetch_optional, EndpointRow, &sql, id.as_uuid(), now, true, DISABLED_GONE, false)
}

pub async fn insert_attempt(ex: Ex<'_>, a: &AttemptRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO webhook_attempts (id, message_id, attempted_at, status, error, latency_ms, response_body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        a.id,
        a.message_id,
        a.attempted_at,
        a.status,
        &a.error,
        a.latency_ms,
        &a.response_body,
    )?;
    Ok(())
}

/// Records what an attempt decided. 0 rows when the message is no longer pending.
pub async fn finish_attempt(
    ex: Ex<'_>,
    id: WebhookMessageId,
    outcome: Outcome,
    status: Option<i32>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let (state, next, delivered_at) = match outcome {
        Outcome::Delivered => (MessageState::Delivered, None, Some(now)),
        Outcome::RetryAt(at) => (MessageState::Pending, Some(at), None),
        Outcome::Failed => (MessageState::Failed, None, None),
    };
    sql_execute!(
        ex,
        "UPDATE webhook_messages SET state = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
         locked_until = NULL, last_status = $4, last_error = $5, delivered_at = $6 \
         WHERE id = $1 AND state = $7",
        id.as_uuid(),
        state,
        next,
        status,
        error,
        delivered_at,
        MessageState::Pending,
    )
}

/// `rows` rows of `width` values for a multi-row statement, bound in order. PostgreSQL:
/// `($1, …, $w), ($w+1, …)`, with `casts` on the first row's placeholders so it types a VALUES
/// list's columns (NULLs included). SQLite: `(?, …), (?, …)`, since it looks up a numbered
/// parameter's name by scanning all of them, which made binding a batch of a few thousand
/// values cost more than running it (BENCHMARKS.md, "Profiles").
fn values_list(engine: Engine, rows: usize, width: usize, casts: &[&str]) -> String {
    (0..rows)
        .map(|r| {
            let row = (0..width)
                .map(|c| match engine {
                    Engine::Postgres => format!("${}{}", r * width + c + 1, if r == 0 { casts[c] } else { "" }),
                    Engine::Sqlite => "?".to_owned(),
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("({row})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records a batch of finished attempts in two statements, whatever its size: one multi-row
/// `INSERT` of the attempts, and one `UPDATE … FROM (VALUES …)` that gives each message what its
/// attempt decided (as [`finish_attempt`] does one by one; a message no longer pending is left
/// as it is). Two round trips per batch instead of two per delivery.
pub async fn record_attempts(ex: Ex<'_>, batch: &[(&AttemptRow, Outcome)]) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let engine = ex.engine();
    let values = |width: usize, casts: &[&str]| values_list(engine, batch.len(), width, casts);
    let insert = format!(
        "INSERT INTO webhook_attempts (id, message_id, attempted_at, status, error, latency_ms, response_body) \
         VALUES {}",
        values(7, &[""; 7])
    );
    let pending = MessageState::Pending.as_str();
    let update = match ex.engine() {
        Engine::Postgres => format!(
            "UPDATE webhook_messages AS m SET state = v.state, \
             next_attempt_at = COALESCE(v.next_at, m.next_attempt_at), locked_until = NULL, \
             last_status = v.status, last_error = v.error, delivered_at = v.delivered_at \
             FROM (VALUES {}) AS v (id, state, next_at, status, error, delivered_at) \
             WHERE m.id = v.id AND m.state = '{pending}'",
            values(6, &["::uuid", "::text", "::timestamptz", "::integer", "::text", "::timestamptz"])
        ),
        // SQLite names a VALUES list's columns column1, column2, …
        Engine::Sqlite => format!(
            "UPDATE webhook_messages SET state = v.column2, \
             next_attempt_at = COALESCE(v.column3, webhook_messages.next_attempt_at), locked_until = NULL, \
             last_status = v.column4, last_error = v.column5, delivered_at = v.column6 \
             FROM (VALUES {}) AS v \
             WHERE webhook_messages.id = v.column1 AND webhook_messages.state = '{pending}'",
            values(6, &[""; 6])
        ),
    };
    macro_rules! run {
        ($c:expr) => {{
            let mut q = sqlx::query(&insert);
            for (a, _) in batch {
                q = q
                    .bind(a.id)
                    .bind(a.message_id)
                    .bind(a.attempted_at)
                    .bind(a.status)
                    .bind(a.error.as_deref())
                    .bind(a.latency_ms)
                    .bind(a.response_body.as_deref());
            }
            q.execute(&mut *$c).await?;
            let mut q = sqlx::query(&update);
            for (a, outcome) in batch {
                let (state, next, delivered_at) = match outcome {
                    Outcome::Delivered => (MessageState::Delivered, None, Some(a.attempted_at)),
                    Outcome::RetryAt(at) => (MessageState::Pending, Some(*at), None),
                    Outcome::Failed => (MessageState::Failed, None, None),
                };
                q = q
                    .bind(a.message_id)
                    .bind(state.as_str())
                    .bind(next)
                    .bind(a.status)
                    .bind(a.error.as_deref())
                    .bind(delivered_at);
            }
            q.execute(&mut *$c).await?;
        }};
    }
    match ex {
        Ex::Sqlite(c) => run!(c),
        Ex::Postgres(c) => run!(c),
    }
    Ok(())
}

pub async fn get_message(ex: Ex<'_>, id: WebhookMessageId) -> Result<Option<MessageRow>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM webhook_messages WHERE id = $1");
    sql_rows!(ex, fetch_optional, MessageRow, &sql, id.as_uuid())
}

/// Filters of [`list_messages`].
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    pub endpoint_id: Option<WebhookEndpointId>,
    pub event_type: Option<String>,
    pub state: Option<MessageState>,
    pub after: Option<WebhookMessageId>,
    pub limit: u32,
}

/// Messages in creation order after the cursor, optionally filtered.
pub async fn list_messages(ex: Ex<'_>, q: &MessageQuery) -> Result<Vec<MessageRow>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM webhook_messages WHERE ($1 IS NULL OR endpoint_id = $1) \
         AND ($2 IS NULL OR event_type = $2) AND ($3 IS NULL OR state = $3) AND ($4 IS NULL OR id > $4) \
         ORDER BY id LIMIT $5"
    );
    sql_rows!(
        ex,
        fetch_all,
        MessageRow,
        &sql,
        q.endpoint_id.map(|id| id.as_uuid()),
        &q.event_type,
        q.state,
        q.after.map(|id| id.as_uuid()),
        i64::from(q.limit)
    )
}

/// The attempts of a message, oldest first.
pub async fn list_attempts(ex: Ex<'_>, message_id: WebhookMessageId) -> Result<Vec<AttemptRow>> {
    let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE message_id = $1 ORDER BY id");
    sql_rows!(ex, fetch_all, AttemptRow, &sql, message_id.as_uuid())
}

/// Makes a message pending and due at `now` with a fresh attempt budget.
pub async fn replay_message(ex: Ex<'_>, id: WebhookMessageId, now: DateTime<Utc>) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE webhook_messages SET state = $2, attempts = 0, next_attempt_at = $3, locked_until = NULL \
         WHERE id = $1",
        id.as_uuid(),
        MessageState::Pending,
        now,
    )
}

/// Replays every failed message created at or after `since`, optionally for one endpoint.
pub async fn replay_failed_since(
    ex: Ex<'_>,
    since: DateTime<Utc>,
    endpoint_id: Option<WebhookEndpointId>,
    now: DateTime<Utc>,
) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE webhook_messages SET state = $1, attempts = 0, next_attempt_at = $2, locked_until = NULL \
         WHERE state = $3 AND created_at >= $4 AND ($5 IS NULL OR endpoint_id = $5)",
        MessageState::Pending,
        now,
        MessageState::Failed,
        since,
        endpoint_id.map(|id| id.as_uuid()),
    )
}

/// How many messages are in each state, for metrics.
pub async fn count_messages_by_state(ex: Ex<'_>) -> Result<Vec<(MessageState, i64)>> {
    sql_rows!(ex, fetch_all, (MessageState, i64), "SELECT state, COUNT(*) FROM webhook_messages GROUP BY state")
}

/// When the oldest pending message was created, if any is pending.
pub async fn oldest_pending_created_at(ex: Ex<'_>) -> Result<Option<DateTime<Utc>>> {
    let sql = "SELECT created_at FROM webhook_messages WHERE state = $1 ORDER BY created_at LIMIT 1";
    sql_scalar!(ex, fetch_optional, DateTime<Utc>, sql, MessageState::Pending)
}

/// How many committed events wait to be fanned out into messages.
pub async fn count_events_awaiting_fanout(ex: Ex<'_>) -> Result<i64> {
    sql_scalar!(ex, fetch_one, i64, "SELECT COUNT(*) FROM outbox_events WHERE fanned_out_at IS NULL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_lists_number_in_order_on_postgres_and_are_positional_on_sqlite() {
        assert_eq!(values_list(Engine::Postgres, 2, 2, &["::uuid", ""]), "($1::uuid, $2), ($3, $4)");
        assert_eq!(values_list(Engine::Sqlite, 2, 2, &["::uuid", ""]), "(?, ?), (?, ?)");
    }
}
