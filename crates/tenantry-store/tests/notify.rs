//! Notifications on PostgreSQL: a committed event notifies listeners, a rolled-back one does
//! not; a revoked API key is announced with its id at commit. SQLite has no listener.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tenantry_core::ApiKeyId;
use tenantry_store::api_keys::notify_api_key_revoked;
use tenantry_store::notify::{Listener, Notification};
use tenantry_store::outbox::{append_event, EventRow};
use tenantry_store::{Db, DbOptions, Json};
use tenantry_testkit::{engine_tests, Engine, TestDb};
use uuid::Uuid;

fn event() -> EventRow {
    EventRow {
        id: Uuid::now_v7(),
        event_type: "user.created".into(),
        object_id: Uuid::now_v7(),
        object_version: 1,
        org_id: None,
        data: Json(json!({})),
        occurred_at: Utc::now(),
    }
}

async fn committed_events_notify_listeners(engine: Engine) {
    let test_db = TestDb::new(engine).await;
    let db = Db::connect(test_db.url(), &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    let Some(mut listener) = Listener::connect(&db).await.unwrap() else {
        assert_eq!(engine, Engine::Sqlite, "only SQLite has no listener");
        return;
    };
    // Rolled back: no notification.
    let mut tx = db.begin().await.unwrap();
    append_event(tx.ex(), &event()).await.unwrap();
    drop(tx);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), listener.recv()).await.is_err(),
        "a rollback notifies nobody"
    );
    // Committed: one notification, however many events the transaction held.
    let mut tx = db.begin().await.unwrap();
    for _ in 0..3 {
        append_event(tx.ex(), &event()).await.unwrap();
    }
    tx.commit().await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await.expect("notified at commit");
    assert_eq!(got.unwrap(), Notification::Outbox);
    // A key revocation: announced with the key's id, at commit only.
    let key = ApiKeyId::new();
    let mut tx = db.begin().await.unwrap();
    notify_api_key_revoked(tx.ex(), key).await.unwrap();
    drop(tx);
    let mut tx = db.begin().await.unwrap();
    notify_api_key_revoked(tx.ex(), key).await.unwrap();
    tx.commit().await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await.expect("notified at commit");
    assert_eq!(got.unwrap(), Notification::ApiKeyRevoked(Some(key)), "only the committed revocation");
    // The listener holds a pooled connection: closing the pool waits for it.
    drop(listener);
    db.close().await;
}

engine_tests!(committed_events_notify_listeners);
