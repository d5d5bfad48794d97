//! Webhook work written straight into the database while the server is stopped: outbox events
//! for the worker to fan out (through `tenantry-store`, as a use case writes them), and a backlog
//! of pending messages (set-based SQL, since a million rows one by one would take minutes).

use std::str::FromStr;
use std::time::Instant;

use anyhow::Context;
use serde_json::{json, Map, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tenantry_core::{Clock, SystemClock};
use tenantry_store::outbox::{append_event, EventRow};
use tenantry_store::{Db, DbOptions, Engine, Json};
use uuid::Uuid;

/// The event type of every seeded event and message; the endpoints subscribe to it alone, so the
/// events the set-up itself emits (the endpoints' creation) are not delivered.
pub const EVENT_TYPE: &str = "user.created";
/// Events written per transaction.
const EVENT_BATCH: usize = 5_000;
/// Messages written per statement.
const BACKLOG_BATCH: usize = 100_000;

/// The `data` of a `user.created` event, shaped as the server writes it.
pub fn user_data(n: usize) -> Value {
    json!({
        "user_id": Uuid::now_v7().to_string(),
        "version": 1,
        "email": format!("webhook-{n}@bench.example.com"),
        "email_verified": false,
        "first_name": "Bench",
        "last_name": null,
        "username": null,
        "properties": Map::new(),
        "disabled": false,
    })
}

/// Appends `count` pending `user.created` events, [`EVENT_BATCH`] per transaction. They happen
/// now, after the endpoints were created, so fan-out gives each to every endpoint.
pub async fn seed_events(url: &str, count: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let db = Db::connect(url, &DbOptions::default()).await.context("cannot open the benchmark database")?;
    for first in (0..count).step_by(EVENT_BATCH) {
        let mut tx = db.begin().await?;
        for n in first..count.min(first + EVENT_BATCH) {
            let row = EventRow {
                id: Uuid::now_v7(),
                event_type: EVENT_TYPE.to_owned(),
                object_id: Uuid::now_v7(),
                object_version: 1,
                org_id: None,
                data: Json(user_data(n)),
                occurred_at: SystemClock.now(),
            };
            append_event(tx.ex(), &row).await.with_context(|| format!("cannot seed event {n}"))?;
        }
        tx.commit().await?;
    }
    db.close().await;
    eprintln!("== seeded {count} outbox events in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Inserts `count` pending messages for `endpoint_id`, each with its own random id and event id
/// (the `webhook-id`), never attempted, due one millisecond apart and all due over a minute ago, so
/// they are claimed in the order written. Every message carries `payload`.
pub async fn seed_backlog(
    engine: Engine,
    url: &str,
    endpoint_id: Uuid,
    payload: &str,
    count: usize,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let count = i64::try_from(count)?;
    let batch = i64::try_from(BACKLOG_BATCH)?;
    // Unix milliseconds of the first message's due time; the last is due a minute ago.
    let now_ms = SystemClock.now().timestamp_millis();
    let base_ms = now_ms - 60_000 - count;
    match engine {
        Engine::Postgres => {
            let mut conn = PgConnectOptions::from_str(url)?.disable_statement_logging().connect().await?;
            for first in (0..count).step_by(BACKLOG_BATCH) {
                let last = count.min(first + batch) - 1;
                sqlx::query(
                    "INSERT INTO webhook_messages (id, event_id, endpoint_id, event_type, payload, state, attempts, \
                     next_attempt_at, occurred_at, created_at) \
                     SELECT gen_random_uuid(), gen_random_uuid(), $1, $2, $3, 'pending', 0, t, t, t \
                     FROM (SELECT to_timestamp(($4 + g) / 1000.0) AS t FROM generate_series($5::bigint, $6::bigint) AS g) s",
                )
                .bind(endpoint_id)
                .bind(EVENT_TYPE)
                .bind(payload)
                .bind(base_ms)
                .bind(first)
                .bind(last)
                .execute(&mut conn)
                .await
                .context("cannot seed the backlog")?;
            }
            conn.close().await?;
        }
        Engine::Sqlite => {
            let mut conn = SqliteConnectOptions::from_str(url)?.disable_statement_logging().connect().await?;
            for first in (0..count).step_by(BACKLOG_BATCH) {
                let last = count.min(first + batch) - 1;
                // Ids are 16-byte BLOBs, as sqlx encodes a Uuid for SQLite; times are RFC 3339 text
                // in UTC, as the store writes them (milliseconds here).
                sqlx::query(
                    "INSERT INTO webhook_messages (id, event_id, endpoint_id, event_type, payload, state, attempts, \
                     next_attempt_at, occurred_at, created_at) \
                     WITH RECURSIVE g(n) AS (SELECT $5 UNION ALL SELECT n + 1 FROM g WHERE n < $6) \
                     SELECT randomblob(16), randomblob(16), $1, $2, $3, 'pending', 0, t, t, t FROM (\
                     SELECT strftime('%Y-%m-%dT%H:%M:%f', ($4 + n) / 1000.0, 'unixepoch') || '+00:00' AS t FROM g)",
                )
                .bind(endpoint_id)
                .bind(EVENT_TYPE)
                .bind(payload)
                .bind(base_ms)
                .bind(first)
                .bind(last)
                .execute(&mut conn)
                .await
                .context("cannot seed the backlog")?;
            }
            conn.close().await?;
        }
    }
    eprintln!("== seeded a backlog of {count} pending messages in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
