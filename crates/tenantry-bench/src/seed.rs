//! Seeding: users written straight through `tenantry-store`, many per transaction, before the
//! server starts. Going around the HTTP API keeps seeding out of the measurements and fast.

use std::time::Instant;

use anyhow::Context;
use serde_json::Map;
use tenantry_core::{Clock, SystemClock};
use tenantry_store::users::{insert_user, UserRow};
use tenantry_store::{Db, DbOptions, Json};
use uuid::Uuid;

/// Users written per transaction.
const BATCH: usize = 5_000;

/// Applies the migrations and inserts `count` users; returns their ids.
pub async fn seed_users(url: &str, count: usize) -> anyhow::Result<Vec<Uuid>> {
    let started = Instant::now();
    let db = Db::connect(url, &DbOptions::default()).await.context("cannot open the benchmark database")?;
    db.migrate().await.context("cannot migrate the benchmark database")?;
    let mut ids = Vec::with_capacity(count);
    for first in (0..count).step_by(BATCH) {
        let mut tx = db.begin().await?;
        for n in first..count.min(first + BATCH) {
            let row = seeded_user(n);
            insert_user(tx.ex(), &row).await.with_context(|| format!("cannot seed user {n}"))?;
            ids.push(row.id);
        }
        tx.commit().await?;
    }
    db.close().await;
    eprintln!("== seeded {count} users in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ids)
}

/// The `n`-th seeded user: unverified, passwordless, with a first name, like one the API creates.
fn seeded_user(n: usize) -> UserRow {
    let now = SystemClock.now();
    let email = format!("seed-{n}@bench.example.com");
    UserRow {
        id: Uuid::now_v7(),
        pool_id: None,
        email_normalized: email.clone(),
        email,
        email_verified: false,
        password_hash: None,
        first_name: Some("Seed".to_owned()),
        last_name: None,
        username: None,
        username_normalized: None,
        properties: Json(Map::new()),
        disabled: false,
        version: 1,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    }
}
