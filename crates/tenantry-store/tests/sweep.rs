//! The sweeper's store functions on both engines: each kind removes (or, for invites, retires)
//! exactly the stale rows and keeps the live ones, in bounded batches; and the job lease goes to
//! one holder at a time.
//!
//! Rows are seeded with plain SQL naming only the columns that matter, so the test does not depend
//! on every row type of the store.

use chrono::{DateTime, Duration, Utc};
use tenantry_store::sweep::{get_lease, release_lease, sweep_batch, take_lease, SweepKind};
use tenantry_store::{Db, DbOptions, Engine as StoreEngine, Ex};
use tenantry_testkit::{engine_tests, Engine, TestDb};
use uuid::Uuid;

async fn open(engine: Engine) -> (TestDb, Db) {
    let test_db = TestDb::new(engine).await;
    let db = Db::connect(test_db.url(), &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    (test_db, db)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// SQL literals for the engine at hand.
struct Lit(StoreEngine);

impl Lit {
    fn id(&self, u: Uuid) -> String {
        match self.0 {
            StoreEngine::Sqlite => format!("x'{}'", u.simple()),
            StoreEngine::Postgres => format!("'{u}'"),
        }
    }

    fn bytes(&self, b: &[u8]) -> String {
        match self.0 {
            StoreEngine::Sqlite => format!("x'{}'", hex(b)),
            StoreEngine::Postgres => format!("'\\x{}'::bytea", hex(b)),
        }
    }

    /// Whole seconds, as RFC 3339 UTC (the form sqlx writes on SQLite).
    fn time(&self, t: DateTime<Utc>) -> String {
        format!("'{}'", t.format("%Y-%m-%dT%H:%M:%S+00:00"))
    }
}

async fn exec(db: &Db, sql: &str) {
    let mut tx = db.begin().await.unwrap();
    match tx.ex() {
        Ex::Sqlite(c) => sqlx::raw_sql(sql).execute(&mut *c).await.map(drop),
        Ex::Postgres(c) => sqlx::raw_sql(sql).execute(&mut *c).await.map(drop),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    tx.commit().await.unwrap();
}

async fn count(db: &Db, sql: &str) -> i64 {
    let mut c = db.acquire().await.unwrap();
    match c.ex() {
        Ex::Sqlite(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut *c).await,
        Ex::Postgres(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut *c).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// One batch of `kind` in its own transaction.
async fn sweep(db: &Db, kind: SweepKind, cutoff: DateTime<Utc>, now: DateTime<Utc>, limit: u32) -> u64 {
    let mut tx = db.begin().await.unwrap();
    let n = sweep_batch(tx.ex(), kind, cutoff, now, limit).await.unwrap();
    tx.commit().await.unwrap();
    n
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

async fn insert_user(db: &Db, l: &Lit) -> Uuid {
    let id = Uuid::now_v7();
    let t = l.time(now() - Duration::days(60));
    exec(
        db,
        &format!(
            "INSERT INTO users (id, email, email_normalized, version, created_at, updated_at) \
             VALUES ({}, '{id}@example.com', '{id}@example.com', 1, {t}, {t})",
            l.id(id)
        ),
    )
    .await;
    id
}

async fn insert_session(db: &Db, l: &Lit, user: Uuid, expires: DateTime<Utc>) -> Uuid {
    let id = Uuid::now_v7();
    let t = l.time(now() - Duration::days(40));
    exec(
        db,
        &format!(
            "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at) VALUES ({}, {}, {t}, {t}, {})",
            l.id(id),
            l.id(user),
            l.time(expires)
        ),
    )
    .await;
    id
}

async fn insert_refresh_token(db: &Db, l: &Lit, session: Uuid, expires: DateTime<Utc>) {
    let id = Uuid::now_v7();
    exec(
        db,
        &format!(
            "INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at) VALUES ({}, {}, {}, {}, {})",
            l.id(id),
            l.id(session),
            l.bytes(Uuid::now_v7().as_bytes()),
            l.time(now() - Duration::days(40)),
            l.time(expires)
        ),
    )
    .await;
}

async fn insert_email_token(db: &Db, l: &Lit, user: Uuid, expires: DateTime<Utc>) {
    let id = Uuid::now_v7();
    exec(
        db,
        &format!(
            "INSERT INTO email_tokens (id, user_id, purpose, token_hash, created_at, expires_at) \
             VALUES ({}, {}, 'reset_password', {}, {}, {})",
            l.id(id),
            l.id(user),
            l.bytes(Uuid::now_v7().as_bytes()),
            l.time(now() - Duration::days(40)),
            l.time(expires)
        ),
    )
    .await;
}

async fn sessions_and_tokens_go_once_expired(engine: Engine) {
    let (_t, db) = open(engine).await;
    let l = Lit(db.engine());
    let user = insert_user(&db, &l).await;
    let expired = insert_session(&db, &l, user, now() - Duration::hours(1)).await;
    let live = insert_session(&db, &l, user, now() + Duration::days(1)).await;
    // The expired session's token goes with it; the live session keeps its live token.
    insert_refresh_token(&db, &l, expired, now() + Duration::days(1)).await;
    insert_refresh_token(&db, &l, live, now() - Duration::seconds(1)).await;
    insert_refresh_token(&db, &l, live, now() + Duration::days(1)).await;
    insert_email_token(&db, &l, user, now() - Duration::days(8)).await;
    insert_email_token(&db, &l, user, now() - Duration::days(1)).await;
    insert_email_token(&db, &l, user, now() + Duration::hours(1)).await;

    assert_eq!(sweep(&db, SweepKind::Sessions, now(), now(), 1000).await, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions").await, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM refresh_tokens").await, 2, "the expired session's token went too");
    assert_eq!(sweep(&db, SweepKind::RefreshTokens, now(), now(), 1000).await, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM refresh_tokens").await, 1);
    // Email tokens: the caller's cut-off (here a week before now) decides.
    assert_eq!(sweep(&db, SweepKind::EmailTokens, now() - Duration::days(7), now(), 1000).await, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM email_tokens").await, 2);
    for kind in [SweepKind::Sessions, SweepKind::RefreshTokens, SweepKind::EmailTokens] {
        assert_eq!(sweep(&db, kind, now() - Duration::days(7), now(), 1000).await, 0, "{kind:?}: nothing more");
    }
    db.close().await;
}

async fn idle_throttles_go_unless_blocked(engine: Engine) {
    let (_t, db) = open(engine).await;
    let l = Lit(db.engine());
    let old = l.time(now() - Duration::hours(25));
    let rows = [
        ("idle", old.clone(), "NULL".to_owned()),
        ("block-ended", old.clone(), l.time(now() - Duration::hours(20))),
        ("still-blocked", old, l.time(now() + Duration::minutes(5))),
        ("recent", l.time(now() - Duration::hours(1)), "NULL".to_owned()),
    ];
    for (key, window, blocked) in rows {
        exec(
            &db,
            &format!(
                "INSERT INTO throttles (key, failures, window_start, blocked_until) VALUES ('{key}', 3, {window}, {blocked})"
            ),
        )
        .await;
    }
    assert_eq!(sweep(&db, SweepKind::Throttles, now() - Duration::hours(24), now(), 1000).await, 2);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM throttles WHERE key IN ('still-blocked', 'recent')").await, 2);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM throttles").await, 2);
    db.close().await;
}

async fn expired_invites_keep_their_rows_but_lose_their_token(engine: Engine) {
    let (_t, db) = open(engine).await;
    let l = Lit(db.engine());
    let org = Uuid::now_v7();
    let t = l.time(now() - Duration::days(30));
    exec(
        &db,
        &format!(
            "INSERT INTO orgs (id, name, name_normalized, slug, version, created_at, updated_at) \
             VALUES ({}, 'Acme', 'acme', 'acme', 1, {t}, {t})",
            l.id(org)
        ),
    )
    .await;
    let mut invites = Vec::new();
    for (state, expires) in [
        ("pending", now() - Duration::days(8)),
        ("accepted", now() - Duration::days(9)),
        ("pending", now() - Duration::days(1)),
        ("pending", now() + Duration::days(1)),
    ] {
        let id = Uuid::now_v7();
        exec(
            &db,
            &format!(
                "INSERT INTO org_invites (id, org_id, email, email_normalized, role, token_hash, state, expires_at, \
                 version, created_at, updated_at) VALUES ({}, {}, '{id}@example.com', '{id}@example.com', 'Member', \
                 {}, '{state}', {}, 1, {t}, {t})",
                l.id(id),
                l.id(org),
                l.bytes(&[7; 32][..16].iter().chain(id.as_bytes()).copied().collect::<Vec<u8>>()),
                l.time(expires)
            ),
        )
        .await;
        invites.push(id);
    }
    assert_eq!(sweep(&db, SweepKind::InviteTokens, now() - Duration::days(7), now(), 1).await, 1, "a batch of one");
    assert_eq!(sweep(&db, SweepKind::InviteTokens, now() - Duration::days(7), now(), 1000).await, 1);
    assert_eq!(sweep(&db, SweepKind::InviteTokens, now() - Duration::days(7), now(), 1000).await, 0, "once");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM org_invites").await, 4, "every row stays");
    let retired = count(&db, "SELECT COUNT(*) FROM org_invites WHERE length(token_hash) = 16").await;
    assert_eq!(retired, 2);
    for (i, id) in invites.iter().enumerate() {
        let token_is_id = count(
            &db,
            &format!("SELECT COUNT(*) FROM org_invites WHERE id = {} AND length(token_hash) = 16", l.id(*id)),
        )
        .await;
        assert_eq!(token_is_id, i64::from(i < 2), "invite {i}");
    }
    db.close().await;
}

async fn delivered_messages_go_after_the_retention_with_their_attempts(engine: Engine) {
    let (_t, db) = open(engine).await;
    let l = Lit(db.engine());
    let endpoint = Uuid::now_v7();
    let t = l.time(now() - Duration::days(30));
    exec(
        &db,
        &format!(
            "INSERT INTO webhook_endpoints (id, url, event_types, disabled, secret_sealed, version, created_at, \
             updated_at) VALUES ({}, 'https://example.com/hook', '[]', FALSE, {}, 1, {t}, {t})",
            l.id(endpoint),
            l.bytes(b"sealed")
        ),
    )
    .await;
    // (state, delivered_at): only the first is delivered and past a 7-day retention.
    let cases = [
        ("delivered", Some(now() - Duration::days(8))),
        ("delivered", Some(now() - Duration::days(1))),
        ("failed", None),
        ("pending", None),
    ];
    for (state, delivered) in cases {
        let id = Uuid::now_v7();
        let delivered = delivered.map_or("NULL".to_owned(), |d| l.time(d));
        exec(
            &db,
            &format!(
                "INSERT INTO webhook_messages (id, event_id, endpoint_id, event_type, payload, state, attempts, \
                 next_attempt_at, occurred_at, created_at, delivered_at) VALUES ({}, {}, {}, 'user.created', '{{}}', \
                 '{state}', 1, {t}, {t}, {t}, {delivered});
                 INSERT INTO webhook_attempts (id, message_id, attempted_at, latency_ms) VALUES ({}, {}, {t}, 5);",
                l.id(id),
                l.id(Uuid::now_v7()),
                l.id(endpoint),
                l.id(Uuid::now_v7()),
                l.id(id),
            ),
        )
        .await;
    }
    assert_eq!(sweep(&db, SweepKind::WebhookMessages, now() - Duration::days(7), now(), 1000).await, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM webhook_messages").await, 3);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM webhook_attempts").await, 3, "its attempt went with it");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM webhook_messages WHERE state = 'delivered'").await, 1);
    db.close().await;
}

async fn batches_are_bounded(engine: Engine) {
    let (_t, db) = open(engine).await;
    let l = Lit(db.engine());
    let user = insert_user(&db, &l).await;
    for _ in 0..25 {
        insert_email_token(&db, &l, user, now() - Duration::days(10)).await;
    }
    let mut batches = Vec::new();
    loop {
        let n = sweep(&db, SweepKind::EmailTokens, now() - Duration::days(7), now(), 10).await;
        batches.push(n);
        if n < 10 {
            break;
        }
    }
    assert_eq!(batches, [10, 10, 5]);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM email_tokens").await, 0);
    db.close().await;
}

async fn the_lease_has_one_holder_at_a_time(engine: Engine) {
    let (_t, db) = open(engine).await;
    let at = |s: i64| now() + Duration::seconds(s);
    let take = |holder: &'static str, from: i64, until: i64| {
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            let held = take_lease(tx.ex(), "sweeper", holder, at(from), at(until)).await.unwrap();
            tx.commit().await.unwrap();
            held
        }
    };
    assert!(take("a", 0, 60).await, "a free lease is taken");
    assert!(!take("b", 30, 90).await, "held by a: b waits");
    assert!(take("a", 30, 90).await, "the holder renews");
    assert!(!take("b", 89, 150).await, "renewed until 90");
    assert!(take("b", 91, 150).await, "run out: b takes it");
    assert!(!take("a", 100, 160).await, "and a no longer holds it");
    let mut c = db.acquire().await.unwrap();
    let lease = get_lease(c.ex(), "sweeper").await.unwrap().unwrap();
    assert_eq!((lease.holder.as_str(), lease.expires_at), ("b", at(150)));
    drop(c);
    let mut tx = db.begin().await.unwrap();
    assert_eq!(release_lease(tx.ex(), "sweeper", "a", at(100)).await.unwrap(), 0, "only the holder releases");
    assert_eq!(release_lease(tx.ex(), "sweeper", "b", at(100)).await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert!(take("a", 101, 160).await, "released: a takes it at once");
    db.close().await;
}

async fn racing_nodes_take_the_lease_once(engine: Engine) {
    let (_t, db) = open(engine).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            let held = take_lease(tx.ex(), "sweeper", &format!("node-{i}"), now(), now() + Duration::seconds(60))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            held
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1, "exactly one node holds the lease");
    db.close().await;
}

engine_tests!(
    sessions_and_tokens_go_once_expired,
    idle_throttles_go_unless_blocked,
    expired_invites_keep_their_rows_but_lose_their_token,
    delivered_messages_go_after_the_retention_with_their_attempts,
    batches_are_bounded,
    the_lease_has_one_holder_at_a_time,
    racing_nodes_take_the_lease_once,
);
