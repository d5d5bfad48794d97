//! Seeding: users written straight through `tenantry-store`, many per transaction, before the
//! server starts. Going around the HTTP API keeps seeding out of the measurements and fast.

use std::time::Instant;

use std::net::SocketAddr;

use anyhow::{bail, Context};
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, HOST};
use hyper::Request;
use serde_json::Map;
use tenantry_core::{Clock, SystemClock};
use tenantry_store::users::{insert_user, UserRow};
use tenantry_store::{Db, DbOptions, Json};
use uuid::Uuid;

use crate::http::Connection;
use crate::load::{login_email, LOGIN_USERS};

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

/// Inserts [`LOGIN_USERS`] verified users whose password is [`crate::load::LOGIN_PASSWORD`], all
/// sharing `password_hash` (hashing each would take minutes; the server's cost per login is the
/// same either way).
pub async fn seed_login_users(url: &str, password_hash: &str) -> anyhow::Result<()> {
    let db = Db::connect(url, &DbOptions::default()).await.context("cannot open the benchmark database")?;
    let mut tx = db.begin().await?;
    for n in 0..LOGIN_USERS {
        let email = login_email(n);
        let row = UserRow {
            email_normalized: email.clone(),
            email,
            email_verified: true,
            password_hash: Some(password_hash.to_owned()),
            ..seeded_user(n)
        };
        insert_user(tx.ex(), &row).await.with_context(|| format!("cannot seed login user {n}"))?;
    }
    tx.commit().await?;
    db.close().await;
    Ok(())
}

/// Opens `count` sessions through the backend API (`POST /users/{id}/access-token`), one per
/// seeded user, and returns their refresh tokens: one rotation chain per connection.
pub async fn open_sessions(
    addr: SocketAddr,
    api_key: &str,
    user_ids: &[Uuid],
    count: usize,
) -> anyhow::Result<Vec<String>> {
    if user_ids.len() < count {
        bail!("seed at least as many users as connections ({count})");
    }
    let mut conn = Connection::open(addr).await?;
    let mut tokens = Vec::with_capacity(count);
    for id in &user_ids[..count] {
        let req = Request::post(format!("/api/backend/v1/users/{id}/access-token"))
            .header(HOST, addr.to_string())
            .header(AUTHORIZATION, format!("Bearer {api_key}"))
            .body(Full::default())?;
        let (status, body) = conn.exchange(req).await?;
        if !status.is_success() {
            bail!("creating a session answered {status}: {}", String::from_utf8_lossy(&body));
        }
        let tokens_out: serde_json::Value = serde_json::from_slice(&body)?;
        tokens.push(tokens_out["refresh_token"].as_str().context("no refresh_token in the answer")?.to_owned());
    }
    Ok(tokens)
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
