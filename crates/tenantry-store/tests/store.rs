//! Store tests: every query on both engines, against a database of its own.

use chrono::{Duration, Utc};
use serde_json::json;
use tenantry_core::{ApiKeyId, OrgId, SessionId, UserId};
use tenantry_store::api_keys::{self, ApiKeyRow};
use tenantry_store::audit::{list_audit_for_target, AuditRow};
use tenantry_store::refresh::{exchange_refresh_token, Exchange, Exchanged};
use tenantry_store::sessions::{self, RefreshTokenRow, SessionRow};
use tenantry_store::sign_in::{record_sign_in, SignInWrite};
use tenantry_store::throttles::{self, ThrottleRow};
use tenantry_store::users::{self, UserQuery, UserRow};
use tenantry_store::{Db, DbOptions, Json};
use tenantry_testkit::{engine_tests, Engine, TestDb};
use uuid::Uuid;

async fn open(engine: Engine) -> (TestDb, Db) {
    let test_db = TestDb::new(engine).await;
    let db = Db::connect(test_db.url(), &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    (test_db, db)
}

fn user(email: &str, pool: Option<Uuid>) -> UserRow {
    let now = tenantry_core::Clock::now(&tenantry_core::SystemClock);
    UserRow {
        id: Uuid::now_v7(),
        pool_id: pool,
        email: email.to_owned(),
        email_normalized: email.to_lowercase(),
        email_verified: false,
        password_hash: None,
        first_name: Some("Ada".into()),
        last_name: None,
        username: None,
        username_normalized: None,
        properties: Json(json!({ "tier": "gold" }).as_object().unwrap().clone()),
        disabled: false,
        version: 1,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    }
}

async fn users_round_trip_with_native_types(engine: Engine) {
    let (_t, db) = open(engine).await;
    let u = user("Ada@Example.com", None);
    let mut tx = db.begin().await.unwrap();
    users::insert_user(tx.ex(), &u).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = db.acquire().await.unwrap();
    let back = users::get_user(c.ex(), UserId::from_uuid(u.id)).await.unwrap().unwrap();
    assert_eq!(back, u, "uuid, times, JSON and booleans survive the round trip");
    assert_eq!(users::get_user(c.ex(), UserId::new()).await.unwrap(), None);
}

async fn email_uniqueness_is_per_pool(engine: Engine) {
    let (_t, db) = open(engine).await;
    let pool = Some(Uuid::now_v7());
    let mut tx = db.begin().await.unwrap();
    users::insert_user(tx.ex(), &user("sam@example.com", None)).await.unwrap();
    users::insert_user(tx.ex(), &user("sam@example.com", pool)).await.unwrap();
    let err = users::insert_user(tx.ex(), &user("SAM@example.com", None)).await.unwrap_err();
    assert!(err.is_unique_on("email_normalized"), "{err}");
    drop(tx);

    let mut tx = db.begin().await.unwrap();
    users::insert_user(tx.ex(), &user("sam@example.com", None)).await.unwrap();
    users::insert_user(tx.ex(), &user("sam@example.com", pool)).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = db.acquire().await.unwrap();
    let shared = users::find_user_by_email(c.ex(), None, "sam@example.com").await.unwrap().unwrap();
    assert_eq!(shared.pool_id, None, "a look-up without a pool finds only the shared user");
    let isolated =
        users::find_user_by_email(c.ex(), pool.map(OrgId::from_uuid), "sam@example.com").await.unwrap().unwrap();
    assert_eq!(isolated.pool_id, pool);
    let page = users::list_users(c.ex(), &UserQuery { limit: 10, ..UserQuery::default() }).await.unwrap();
    assert_eq!(page.len(), 1, "queries list the shared pool");
}

async fn rolled_back_transactions_leave_nothing(engine: Engine) {
    let (_t, db) = open(engine).await;
    {
        let mut tx = db.begin().await.unwrap();
        users::insert_user(tx.ex(), &user("gone@example.com", None)).await.unwrap();
        // dropped without commit
    }
    let mut c = db.acquire().await.unwrap();
    assert_eq!(users::count_users(c.ex()).await.unwrap(), 0);
}

async fn prefix_ranges_and_cursors(engine: Engine) {
    let (_t, db) = open(engine).await;
    let mut tx = db.begin().await.unwrap();
    let emails = ["b@x.test", "ab@x.test", "a@x.test", "a_b@x.test", "a%c@x.test", "az@x.test", "é@x.test"];
    let mut ids = Vec::new();
    for e in emails {
        let u = user(e, None);
        ids.push(u.id);
        users::insert_user(tx.ex(), &u).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut c = db.acquire().await.unwrap();
    let q = |prefix: &str| UserQuery { email_prefix: Some(prefix.to_owned()), after: None, limit: 100 };
    let found: Vec<String> = users::list_users(c.ex(), &q("a")).await.unwrap().into_iter().map(|u| u.email).collect();
    assert_eq!(
        found,
        ["ab@x.test", "a@x.test", "a_b@x.test", "a%c@x.test", "az@x.test"],
        "id order, no LIKE wildcards"
    );
    let found = users::list_users(c.ex(), &q("a_")).await.unwrap();
    assert_eq!(found.len(), 1, "'_' is literal");
    let found = users::list_users(c.ex(), &q("é")).await.unwrap();
    assert_eq!(found.len(), 1, "non-ASCII prefixes work");
    let after = users::list_users(
        c.ex(),
        &UserQuery { email_prefix: None, after: Some(UserId::from_uuid(ids[3])), limit: 100 },
    )
    .await
    .unwrap();
    assert_eq!(after.iter().map(|u| u.id).collect::<Vec<_>>(), ids[4..].to_vec());
}

async fn api_key_use_is_recorded_at_most_once_a_minute(engine: Engine) {
    let (_t, db) = open(engine).await;
    let now = Utc::now();
    let key = ApiKeyRow {
        id: Uuid::now_v7(),
        name: "k".into(),
        display_prefix: "tnt_abcdef".into(),
        secret_hash: vec![7; 32],
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    let mut tx = db.begin().await.unwrap();
    api_keys::insert_api_key(tx.ex(), &key).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = db.acquire().await.unwrap();
    let minute = Duration::seconds(60);
    assert_eq!(api_keys::touch_api_key(c.ex(), ApiKeyId::from_uuid(key.id), now, now - minute).await.unwrap(), 1);
    let soon = now + Duration::seconds(5);
    assert_eq!(api_keys::touch_api_key(c.ex(), ApiKeyId::from_uuid(key.id), soon, soon - minute).await.unwrap(), 0);
    let later = now + Duration::seconds(61);
    assert_eq!(api_keys::touch_api_key(c.ex(), ApiKeyId::from_uuid(key.id), later, later - minute).await.unwrap(), 1);

    assert!(api_keys::find_live_api_key_by_hash(c.ex(), &[7; 32]).await.unwrap().is_some());
    assert_eq!(api_keys::revoke_api_key(c.ex(), ApiKeyId::from_uuid(key.id), later).await.unwrap(), 1);
    assert_eq!(
        api_keys::revoke_api_key(c.ex(), ApiKeyId::from_uuid(key.id), later).await.unwrap(),
        0,
        "revoking twice changes nothing"
    );
    assert!(api_keys::find_live_api_key_by_hash(c.ex(), &[7; 32]).await.unwrap().is_none());
}

async fn migrations_are_idempotent(engine: Engine) {
    let (_t, db) = open(engine).await;
    db.migrate().await.unwrap();
    db.ping().await.unwrap();
}

async fn throttles_lock_and_store_several_keys_at_once(engine: Engine) {
    let (_t, db) = open(engine).await;
    let now = tenantry_core::Clock::now(&tenantry_core::SystemClock);
    let mut tx = db.begin().await.unwrap();
    let mut fresh = throttles::lock_throttles(tx.ex(), &["b", "a", "a"], now).await.unwrap();
    fresh.sort_by(|x, y| x.key.cmp(&y.key));
    let empty = |key: &str| ThrottleRow { key: key.into(), failures: 0, window_start: now, blocked_until: None };
    assert_eq!(fresh, vec![empty("a"), empty("b")], "missing counters are created empty, each key once");
    let counted = ThrottleRow { key: "a".into(), failures: 3, window_start: now, blocked_until: Some(now) };
    throttles::store_throttles(tx.ex(), &[counted.clone(), ThrottleRow { failures: 1, ..empty("b") }]).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = db.begin().await.unwrap();
    let later = now + Duration::minutes(1);
    let mut read = throttles::lock_throttles(tx.ex(), &["c", "a"], later).await.unwrap();
    read.sort_by(|x, y| x.key.cmp(&y.key));
    let c = ThrottleRow { window_start: later, ..empty("c") };
    assert_eq!(read, vec![counted, c], "an existing counter is read as stored, not reset");
    drop(tx);
    let mut c = db.acquire().await.unwrap();
    assert_eq!(throttles::get_throttle(c.ex(), "c").await.unwrap(), None, "rolled back with its transaction");
    assert_eq!(throttles::get_throttle(c.ex(), "b").await.unwrap().unwrap().failures, 1);
}

/// The rows of one sign-in of `user_id` at `at`.
fn sign_in_rows(user_id: Uuid, at: chrono::DateTime<Utc>) -> (SessionRow, RefreshTokenRow, AuditRow) {
    let session = SessionRow {
        id: Uuid::now_v7(),
        user_id,
        cookie_hash: Some(Uuid::now_v7().as_bytes().to_vec()),
        created_at: at,
        last_seen_at: at,
        expires_at: at + Duration::days(30),
        revoked_at: None,
        revoked_reason: None,
        ip: Some("192.0.2.7".into()),
        user_agent: Some("test".into()),
        mfa_level: 1,
        sso_connection_id: None,
        active_org_id: None,
        amr: "pwd".into(),
        mfa_org_id: None,
    };
    let refresh = RefreshTokenRow {
        id: Uuid::now_v7(),
        session_id: session.id,
        token_hash: Uuid::now_v7().as_bytes().to_vec(),
        created_at: at,
        expires_at: at + Duration::days(30),
        used_at: None,
    };
    let audit = AuditRow {
        id: Uuid::now_v7(),
        occurred_at: at,
        org_id: None,
        actor_kind: "user".into(),
        actor_id: Some(user_id.to_string()),
        action: "user.logged_in".into(),
        target_kind: "user".into(),
        target_id: Some(user_id.to_string()),
        ip: Some("192.0.2.7".into()),
        request_id: Some("req-1".into()),
        details: Json(json!({ "method": "password" })),
    };
    (session, refresh, audit)
}

async fn a_sign_in_is_written_in_one_call(engine: Engine) {
    let (_t, db) = open(engine).await;
    let u = user("sig@example.com", None);
    let at = u.created_at + Duration::minutes(5);
    let counter =
        |key: &str, failures| ThrottleRow { key: key.into(), failures, window_start: at, blocked_until: None };
    let mut tx = db.begin().await.unwrap();
    users::insert_user(tx.ex(), &u).await.unwrap();
    throttles::store_throttles(tx.ex(), &[counter("acct", 3), counter("ip", 2), counter("other", 4)]).await.unwrap();
    tx.commit().await.unwrap();

    let (session, refresh, audit) = sign_in_rows(u.id, at);
    let write = SignInWrite {
        user_id: u.id,
        at,
        rehash: Some("$argon2id$new"),
        clear_throttle: "acct",
        forgive_throttle: Some("ip"),
        session: &session,
        refresh_token: &refresh,
        audit: &audit,
    };
    let back = record_sign_in(&db, &write).await.unwrap().expect("the user exists");
    assert_eq!(back.last_login_at, Some(at));
    assert_eq!(back.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(UserRow { last_login_at: None, password_hash: None, ..back }, u, "nothing else changes");

    let mut c = db.acquire().await.unwrap();
    assert_eq!(sessions::get_session(c.ex(), SessionId::from_uuid(session.id)).await.unwrap(), Some(session.clone()));
    let token = sessions::lock_refresh_token_with_session(c.ex(), &refresh.token_hash).await.unwrap().unwrap();
    assert_eq!((token.token_id, token.session.id), (refresh.id, session.id));
    assert_eq!(list_audit_for_target(c.ex(), &u.id.to_string()).await.unwrap(), vec![audit.clone()]);
    assert_eq!(throttles::get_throttle(c.ex(), "acct").await.unwrap(), None, "the account's counter is wiped");
    assert_eq!(throttles::get_throttle(c.ex(), "ip").await.unwrap().unwrap().failures, 1, "one attempt forgiven");
    assert_eq!(throttles::get_throttle(c.ex(), "other").await.unwrap().unwrap().failures, 4);
    drop(c);

    // Without a re-hash the stored hash stays; a user gone meanwhile gets nothing written.
    let (session, refresh, audit) = sign_in_rows(u.id, at);
    let again = SignInWrite { rehash: None, session: &session, refresh_token: &refresh, audit: &audit, ..write };
    let back = record_sign_in(&db, &again).await.unwrap().unwrap();
    assert_eq!(back.password_hash.as_deref(), Some("$argon2id$new"));
    let (session, refresh, audit) = sign_in_rows(Uuid::now_v7(), at);
    let ghost = SignInWrite {
        user_id: session.user_id,
        clear_throttle: "other",
        forgive_throttle: None,
        session: &session,
        refresh_token: &refresh,
        audit: &audit,
        ..again
    };
    assert_eq!(record_sign_in(&db, &ghost).await.unwrap(), None);
    let mut c = db.acquire().await.unwrap();
    assert_eq!(sessions::get_session(c.ex(), SessionId::from_uuid(session.id)).await.unwrap(), None);
    assert!(list_audit_for_target(c.ex(), &session.user_id.to_string()).await.unwrap().is_empty());
    assert_eq!(throttles::get_throttle(c.ex(), "other").await.unwrap().unwrap().failures, 4, "untouched");
}

/// Exchanges `presented` at `at` (7-day idle limit, seen to the minute) in a write of its own;
/// with the successor's hash it would have.
async fn exchange(db: &Db, presented: &[u8], at: chrono::DateTime<Utc>) -> (Option<Exchanged>, Vec<u8>) {
    let successor = Uuid::now_v7().as_bytes().to_vec();
    let e = Exchange {
        token_hash: presented,
        at,
        idle_cutoff: at - Duration::days(7),
        touch_before: at - Duration::minutes(1),
        new_token_id: Uuid::now_v7(),
        new_token_hash: &successor,
        new_token_expires_at: at + Duration::days(30),
    };
    let mut w = db.one_write().await.unwrap();
    let out = exchange_refresh_token(w.ex(), &e).await.unwrap();
    w.finish().await.unwrap();
    (out, successor)
}

async fn a_refresh_token_is_exchanged_once_and_only_while_live(engine: Engine) {
    let (_t, db) = open(engine).await;
    let u = UserRow { email_verified: true, ..user("rot@example.com", None) };
    let at = u.created_at + Duration::minutes(5);
    let mut tx = db.begin().await.unwrap();
    users::insert_user(tx.ex(), &u).await.unwrap();
    tx.commit().await.unwrap();
    let (session, first, audit) = sign_in_rows(u.id, at);
    let write = SignInWrite {
        user_id: u.id,
        at,
        rehash: None,
        clear_throttle: "acct",
        forgive_throttle: None,
        session: &session,
        refresh_token: &first,
        audit: &audit,
    };
    record_sign_in(&db, &write).await.unwrap().unwrap();
    let token = |hash: Vec<u8>| {
        let db = db.clone();
        async move {
            let mut c = db.acquire().await.unwrap();
            sessions::lock_refresh_token_with_session(c.ex(), &hash).await.unwrap()
        }
    };

    let later = at + Duration::minutes(10);
    let (got, second) = exchange(&db, &first.token_hash, later).await;
    let got = got.expect("a live token is exchanged");
    assert_eq!(got.session, session, "the session as it was before the exchange");
    assert_eq!((got.user_email.as_str(), got.user_email_verified), ("rot@example.com", true));
    assert_eq!(token(first.token_hash.clone()).await.unwrap().token_used_at, Some(later), "the token is spent");
    let issued = token(second.clone()).await.expect("its successor is issued");
    assert_eq!((issued.token_used_at, issued.token_expires_at), (None, later + Duration::days(30)));
    assert_eq!(issued.session.last_seen_at, later, "the session is marked seen");

    // A replay, even in the same instant, spends nothing and issues nothing.
    let (replayed, would_be) = exchange(&db, &first.token_hash, later).await;
    assert_eq!(replayed, None);
    assert!(token(would_be).await.is_none(), "no second successor");

    // Idle past the limit, expired, or of a disabled user: refused, and the token stays unspent.
    let (idle, _) = exchange(&db, &second, later + Duration::days(8)).await;
    assert_eq!(idle, None);
    let (expired, _) = exchange(&db, &second, later + Duration::days(30)).await;
    assert_eq!(expired, None);
    let mut tx = db.begin().await.unwrap();
    users::update_user(tx.ex(), &UserRow { disabled: true, ..u.clone() }).await.unwrap();
    tx.commit().await.unwrap();
    let (disabled, _) = exchange(&db, &second, later + Duration::minutes(1)).await;
    assert_eq!(disabled, None);
    assert_eq!(token(second.clone()).await.unwrap().token_used_at, None, "never spent");
    let mut tx = db.begin().await.unwrap();
    users::update_user(tx.ex(), &u).await.unwrap();
    tx.commit().await.unwrap();

    // Seen less than a minute ago: the exchange leaves `last_seen_at` alone.
    let soon = later + Duration::seconds(30);
    let (again, _) = exchange(&db, &second, soon).await;
    assert_eq!(again.unwrap().session.last_seen_at, later);
    let mut c = db.acquire().await.unwrap();
    let stored = sessions::get_session(c.ex(), SessionId::from_uuid(session.id)).await.unwrap().unwrap();
    assert_eq!(stored.last_seen_at, later);
}

engine_tests!(
    users_round_trip_with_native_types,
    email_uniqueness_is_per_pool,
    rolled_back_transactions_leave_nothing,
    prefix_ranges_and_cursors,
    api_key_use_is_recorded_at_most_once_a_minute,
    migrations_are_idempotent,
    throttles_lock_and_store_several_keys_at_once,
    a_sign_in_is_written_in_one_call,
    a_refresh_token_is_exchanged_once_and_only_while_live,
);

/// Both engines have the same migrations: same versions, same names.
#[test]
fn migration_folders_match() {
    let names = |engine: &str| {
        let dir = format!("{}/../../migrations/{engine}", env!("CARGO_MANIFEST_DIR"));
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    let (sqlite, postgres) = (names("sqlite"), names("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "every migration exists for both engines");
}
