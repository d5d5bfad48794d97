//! The `throttles` table: failure counters shared by every node.

use chrono::{DateTime, Utc};

use crate::{Ex, Result};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ThrottleRow {
    pub key: String,
    pub failures: i32,
    /// When the last attempt was counted (the column once held the start of a fixed window; a
    /// counter now starts over after a quiet period measured from this time).
    pub window_start: DateTime<Utc>,
    pub blocked_until: Option<DateTime<Utc>>,
}

/// Reads the counters of `keys` for update in one statement, creating missing ones empty
/// (no failures, a window starting `now`). The upsert takes PostgreSQL's row lock even on a row
/// it has just created, so the very first attempts racing each other queue as well; SQLite's
/// write transaction serializes them anyway. Rows lock in key order, so two callers locking
/// overlapping keys cannot deadlock.
pub async fn lock_throttles(ex: Ex<'_>, keys: &[&str], now: DateTime<Utc>) -> Result<Vec<ThrottleRow>> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    let values: Vec<String> = (2..keys.len() + 2).map(|i| format!("(${i}, 0, $1, NULL)")).collect();
    let sql = format!(
        "INSERT INTO throttles (key, failures, window_start, blocked_until) VALUES {} \
         ON CONFLICT (key) DO UPDATE SET failures = throttles.failures \
         RETURNING key, failures, window_start, blocked_until",
        values.join(", ")
    );
    // One key per row: the time, then each key.
    per_engine!(ex, |c| keys
        .iter()
        .fold(sqlx::query_as::<_, ThrottleRow>(&sql).bind(now), |q, key| q.bind(*key))
        .fetch_all(&mut *c)
        .await)
}

/// Writes these counters (each read with [`lock_throttles`] in the same transaction) in one
/// statement.
pub async fn store_throttles(ex: Ex<'_>, rows: &[ThrottleRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let values: Vec<String> =
        (0..rows.len()).map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4)).collect();
    let sql = format!(
        "INSERT INTO throttles (key, failures, window_start, blocked_until) VALUES {} \
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start, \
         blocked_until = excluded.blocked_until",
        values.join(", ")
    );
    per_engine!(ex, |c| rows
        .iter()
        .fold(sqlx::query(&sql), |q, t| q.bind(&t.key).bind(t.failures).bind(t.window_start).bind(t.blocked_until))
        .execute(&mut *c)
        .await
        .map(drop))
}

/// A counter by key, for tests and support tooling.
pub async fn get_throttle(ex: Ex<'_>, key: &str) -> Result<Option<ThrottleRow>> {
    sql_rows!(
        ex,
        fetch_optional,
        ThrottleRow,
        "SELECT key, failures, window_start, blocked_until FROM throttles WHERE key = $1",
        key
    )
}

/// Deletes a counter: the proof it asked for was given (a sign-in, a reset from the mailbox).
pub async fn delete_throttle(ex: Ex<'_>, key: &str) -> Result<u64> {
    sql_execute!(ex, "DELETE FROM throttles WHERE key = $1", key)
}
