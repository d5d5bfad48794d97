//! The `throttles` table: failure counters shared by every node.

use chrono::{DateTime, Utc};

use crate::{Engine, Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ThrottleRow {
    pub key: String,
    pub failures: i32,
    pub window_start: DateTime<Utc>,
    pub blocked_until: Option<DateTime<Utc>>,
}

/// Makes sure the counter row exists, so that [`lock_throttle`] has a row to lock even for the
/// very first attempts racing each other.
pub async fn ensure_throttle(ex: Ex<'_>, key: &str, now: DateTime<Utc>) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO throttles (key, failures, window_start, blocked_until) VALUES ($1, 0, $2, NULL) \
         ON CONFLICT (key) DO NOTHING",
        key,
        now,
    )?;
    Ok(())
}

/// Reads a counter for update (row lock on PostgreSQL; SQLite's write transaction serializes).
pub async fn lock_throttle(ex: Ex<'_>, key: &str) -> Result<Option<ThrottleRow>> {
    let sql = match ex.engine() {
        Engine::Postgres => {
            "SELECT key, failures, window_start, blocked_until FROM throttles WHERE key = $1 FOR UPDATE"
        }
        Engine::Sqlite => "SELECT key, failures, window_start, blocked_until FROM throttles WHERE key = $1",
    };
    sql_rows!(ex, fetch_optional, ThrottleRow, sql, key)
}

pub async fn upsert_throttle(ex: Ex<'_>, t: &ThrottleRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO throttles (key, failures, window_start, blocked_until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key) DO UPDATE SET failures = $2, window_start = $3, blocked_until = $4",
        &t.key,
        t.failures,
        t.window_start,
        t.blocked_until,
    )?;
    Ok(())
}

pub async fn clear_throttle(ex: Ex<'_>, key: &str) -> Result<u64> {
    sql_execute!(ex, "DELETE FROM throttles WHERE key = $1", key)
}

/// Takes back one counted attempt (it succeeded), without touching any delay already set.
pub async fn forgive_attempt(ex: Ex<'_>, key: &str) -> Result<u64> {
    sql_execute!(ex, "UPDATE throttles SET failures = failures - 1 WHERE key = $1 AND failures > 0", key)
}
