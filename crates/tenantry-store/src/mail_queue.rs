//! The `mail_queue` table: emails that use cases enqueue inside their own transaction and the mail
//! worker sends later, with retries.
//!
//! A row is `pending` until it is `sent` or `failed` for good. A worker claims due rows by setting
//! `locked_until` (a lease): while the lease runs no other worker claims the row, and if the worker
//! dies the row becomes claimable again when the lease ends. Each claim counts as an attempt, so a
//! mail that kills its worker still runs out of attempts. The retry schedule is the worker's; this
//! module only records what it decides.
//!
//! The variables may hold bearer secrets (a verification or reset link), so they are emptied once
//! the row is finished with.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use tenantry_core::MailId;
use uuid::Uuid;

use crate::{Db, Engine, Ex, Result};

/// Where a queued mail stands. Stored as lowercase text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailState {
    /// Waiting to be sent, possibly after a failed attempt.
    Pending,
    Sent,
    /// Given up on: no attempt left, or the mail could never be sent.
    Failed,
}

impl MailState {
    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Pending => "pending",
            MailState::Sent => "sent",
            MailState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<MailState> {
        match s {
            "pending" => Some(MailState::Pending),
            "sent" => Some(MailState::Sent),
            "failed" => Some(MailState::Failed),
            _ => None,
        }
    }
}

text_sql_type!(MailState, "mail state");

/// A queued mail as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MailRow {
    pub id: Uuid,
    pub to_address: String,
    /// The template's name, e.g. `verify_email`.
    pub template: String,
    /// The template's variables; emptied once the row is sent or failed.
    pub vars: Json<Map<String, Value>>,
    pub state: MailState,
    /// Claims so far, this one included once claimed.
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The end of the current worker's lease, if any.
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl MailRow {
    /// A new pending mail, due at once.
    pub fn pending(to_address: &str, template: &str, vars: Map<String, Value>, now: DateTime<Utc>) -> MailRow {
        MailRow {
            id: Uuid::now_v7(),
            to_address: to_address.to_owned(),
            template: template.to_owned(),
            vars: Json(vars),
            state: MailState::Pending,
            attempts: 0,
            next_attempt_at: now,
            locked_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        }
    }
}

/// How many rows are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailCounts {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
}

const COLUMNS: &str = "id, to_address, template, vars, state, attempts, next_attempt_at, locked_until, last_error, \
    created_at, sent_at";

/// Queues a mail. Use cases call it inside the transaction that makes the change the mail is about,
/// so the mail exists exactly when the change does.
pub async fn enqueue_mail(ex: Ex<'_>, m: &MailRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO mail_queue (id, to_address, template, vars, state, attempts, next_attempt_at, locked_until, \
         last_error, created_at, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        m.id,
        &m.to_address,
        &m.template,
        &m.vars,
        m.state,
        m.attempts,
        m.next_attempt_at,
        m.locked_until,
        &m.last_error,
        m.created_at,
        m.sent_at,
    )?;
    Ok(())
}

/// The claim statement: leases up to `$3` pending rows due at `$1` and not leased at `$1` until `$2`,
/// counting an attempt on each, and returns them.
///
/// PostgreSQL: `FOR UPDATE SKIP LOCKED` lets several nodes claim at once without waiting on or
/// taking each other's rows; a row another claimer has just leased fails the re-checked `WHERE`.
/// SQLite: there is one writer, and [`claim_due_mail`] runs this in `BEGIN IMMEDIATE`, so claims
/// are serialized and each sees the previous one's leases.
fn claim_sql(engine: Engine) -> String {
    let lock = match engine {
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    format!(
        "UPDATE mail_queue SET locked_until = $2, attempts = attempts + 1 WHERE id IN (\
         SELECT id FROM mail_queue WHERE state = 'pending' AND next_attempt_at <= $1 \
         AND (locked_until IS NULL OR locked_until <= $1) ORDER BY next_attempt_at, id LIMIT $3{lock}) \
         RETURNING {COLUMNS}"
    )
}

/// Claims up to `limit` due mails for `lease`, oldest due first. Several workers (and nodes) may
/// call this at once: no row is handed to two of them while its lease runs.
pub async fn claim_due_mail(db: &Db, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<MailRow>> {
    let mut tx = db.begin().await?;
    let ex = tx.ex();
    let sql = claim_sql(ex.engine());
    let mut rows = sql_rows!(ex, fetch_all, MailRow, &sql, now, now + lease, i64::from(limit))?;
    tx.commit().await?;
    // RETURNING promises no order.
    rows.sort_by_key(|m| (m.next_attempt_at, m.id));
    Ok(rows)
}

/// Records a delivery: the row is `sent`, its lease and variables are dropped. 0 rows when the row
/// is not pending (another worker whose lease had run out got there first).
pub async fn mark_mail_sent(ex: Ex<'_>, id: MailId, now: DateTime<Utc>) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE mail_queue SET state = $2, sent_at = $3, locked_until = NULL, last_error = NULL, vars = $4 \
         WHERE id = $1 AND state = $5",
        id.as_uuid(),
        MailState::Sent,
        now,
        Json(Map::new()),
        MailState::Pending,
    )
}

/// Records a failed attempt. With `next_attempt_at`, the row stays pending and is retried then;
/// with `None` it is `failed` for good and its variables are dropped.
pub async fn mark_mail_failed(
    ex: Ex<'_>,
    id: MailId,
    error: &str,
    next_attempt_at: Option<DateTime<Utc>>,
) -> Result<u64> {
    match next_attempt_at {
        Some(at) => sql_execute!(
            ex,
            "UPDATE mail_queue SET last_error = $2, next_attempt_at = $3, locked_until = NULL \
             WHERE id = $1 AND state = $4",
            id.as_uuid(),
            error,
            at,
            MailState::Pending,
        ),
        None => sql_execute!(
            ex,
            "UPDATE mail_queue SET state = $2, last_error = $3, locked_until = NULL, vars = $4 \
             WHERE id = $1 AND state = $5",
            id.as_uuid(),
            MailState::Failed,
            error,
            Json(Map::new()),
            MailState::Pending,
        ),
    }
}

pub async fn get_mail(ex: Ex<'_>, id: MailId) -> Result<Option<MailRow>> {
    let sql = format!("SELECT {COLUMNS} FROM mail_queue WHERE id = $1");
    sql_rows!(ex, fetch_optional, MailRow, &sql, id.as_uuid())
}

/// Mails in id (creation) order after the cursor, optionally in one state; for tests and operators.
pub async fn list_mail(
    ex: Ex<'_>,
    state: Option<MailState>,
    after: Option<MailId>,
    limit: u32,
) -> Result<Vec<MailRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM mail_queue WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR id > $2) \
         ORDER BY id LIMIT $3"
    );
    sql_rows!(ex, fetch_all, MailRow, &sql, state, after.map(|id| id.as_uuid()), i64::from(limit))
}

pub async fn count_mail_by_state(ex: Ex<'_>) -> Result<MailCounts> {
    let rows = sql_rows!(ex, fetch_all, (MailState, i64), "SELECT state, COUNT(*) FROM mail_queue GROUP BY state")?;
    let mut counts = MailCounts::default();
    for (state, n) in rows {
        match state {
            MailState::Pending => counts.pending = n,
            MailState::Sent => counts.sent = n,
            MailState::Failed => counts.failed = n,
        }
    }
    Ok(counts)
}

/// The newest mail queued to `to_address` with `template`, if any.
pub async fn latest_mail_to(ex: Ex<'_>, to_address: &str, template: &str) -> Result<Option<MailRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM mail_queue WHERE to_address = $1 AND template = $2 ORDER BY id DESC LIMIT 1");
    sql_rows!(ex, fetch_optional, MailRow, &sql, to_address, template)
}
