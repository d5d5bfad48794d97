//! The delivery-time address check (docs/security.md §12), on both engines: with private targets refused,
//! a stored endpoint on a loopback name or address gets no connection at all, and the attempt
//! says why. (Such an endpoint could only exist from a time the setting allowed it, or from a name
//! that resolved elsewhere at creation: DNS rebinding.) The "receiver" only counts connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenantry_auth::{Keyring, MasterKey};
use tenantry_core::{Clock, EventId, SystemClock, WebhookEndpointId, WebhookMessageId};
use tenantry_store::webhooks::{self, EndpointRow, MessageRow, MessageState};
use tenantry_store::{Db, DbOptions, Json};
use tenantry_testkit::{engine_tests, Engine, TestDb};
use tenantry_webhooks::{WebhookSecret, WebhookSettings, WebhookWorker};
use uuid::Uuid;

async fn loopback_targets_are_not_connected_to(engine: Engine) {
    let test_db = TestDb::new(engine).await;
    let db = Db::connect(test_db.url(), &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    let keyring = Arc::new(Keyring::new(MasterKey::generate()));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let task = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });

    let now = SystemClock.now();
    let mut messages = Vec::new();
    for url in [format!("http://localhost:{port}/hook"), format!("http://127.0.0.1:{port}/hook")] {
        let id = Uuid::now_v7();
        let secret = WebhookSecret::generate();
        let endpoint = EndpointRow {
            id,
            url,
            description: None,
            event_types: Json(vec![]),
            disabled: false,
            secret_sealed: keyring.seal(secret.key(), id.as_bytes()),
            previous_secret_sealed: None,
            previous_expires_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
            failing_since: None,
            disabled_reason: None,
        };
        let m = MessageRow::pending(
            EventId::new(),
            WebhookEndpointId::from_uuid(id),
            "user.created",
            "{}".into(),
            now,
            now,
        );
        let mut c = db.acquire().await.unwrap();
        webhooks::insert_endpoint(c.ex(), &endpoint).await.unwrap();
        webhooks::insert_message(c.ex(), &m).await.unwrap();
        messages.push(WebhookMessageId::from_uuid(m.id));
    }

    let settings =
        WebhookSettings { allow_private_targets: false, timeout: Duration::from_secs(2), ..Default::default() };
    let worker = WebhookWorker::new(db.clone(), Arc::new(SystemClock), keyring, settings).unwrap();
    let batch = worker.run_once(now).await.unwrap();
    assert_eq!((batch.claimed, batch.delivered), (2, 0));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 0, "nothing connected to the loopback receiver");

    let mut c = db.acquire().await.unwrap();
    let by_name = webhooks::list_attempts(c.ex(), messages[0]).await.unwrap();
    let error = by_name[0].error.as_deref().unwrap();
    assert!(error.contains("resolves to no address that webhooks may be sent to"), "{error}");
    let by_address = webhooks::list_attempts(c.ex(), messages[1]).await.unwrap();
    assert_eq!(by_address[0].error.as_deref(), Some("the target address is not allowed for webhooks"));
    for id in &messages {
        let m = webhooks::get_message(c.ex(), *id).await.unwrap().unwrap();
        assert_eq!((m.state, m.attempts), (MessageState::Pending, 1), "retried like any failure");
    }
    task.abort();
}

engine_tests!(loopback_targets_are_not_connected_to);
