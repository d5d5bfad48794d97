//! Webhook tables on both engines: idempotent fan-out, leased claims, racing claimers, disabled
//! endpoints, replay.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tenantry_core::{EventId, WebhookEndpointId, WebhookMessageId};
use tenantry_store::outbox::{append_event, EventRow};
use tenantry_store::webhooks::{self, EndpointRow, MessageRow, MessageState, Outcome};
use tenantry_store::{Db, DbOptions, Json};
use tenantry_testkit::{engine_tests, Engine, TestDb};
use uuid::Uuid;

async fn open(engine: Engine) -> (TestDb, Db) {
    let test_db = TestDb::new(engine).await;
    let db = Db::connect(test_db.url(), &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    (test_db, db)
}

fn now() -> DateTime<Utc> {
    tenantry_core::Clock::now(&tenantry_core::SystemClock)
}

async fn endpoint(db: &Db, disabled: bool) -> EndpointRow {
    let t = now();
    let row = EndpointRow {
        id: Uuid::now_v7(),
        url: "https://hooks.example.com/in".into(),
        description: None,
        event_types: Json(vec!["user.created".into()]),
        disabled,
        secret_sealed: vec![1, 2, 3],
        previous_secret_sealed: None,
        previous_expires_at: None,
        version: 1,
        created_at: t,
        updated_at: t,
        failing_since: None,
        disabled_reason: if disabled { Some(webhooks::DISABLED_MANUALLY.into()) } else { None },
    };
    let mut c = db.acquire().await.unwrap();
    webhooks::insert_endpoint(c.ex(), &row).await.unwrap();
    row
}

async fn message(db: &Db, endpoint_id: Uuid, at: DateTime<Utc>) -> MessageRow {
    let m = MessageRow::pending(
        EventId::new(),
        WebhookEndpointId::from_uuid(endpoint_id),
        "user.created",
        "{}".into(),
        at,
        at,
    );
    let mut c = db.acquire().await.unwrap();
    assert!(webhooks::insert_message(c.ex(), &m).await.unwrap());
    m
}

async fn messages_are_inserted_many_per_statement(engine: Engine) {
    let (_t, db) = open(engine).await;
    let ep = endpoint(&db, false).await;
    let t0 = now();
    // More than two statements' worth; one of them already there.
    let messages: Vec<MessageRow> = (0..webhooks::MESSAGES_PER_INSERT * 2 + 1)
        .map(|i| {
            let m = MessageRow::pending(
                EventId::new(),
                WebhookEndpointId::from_uuid(ep.id),
                "user.created",
                format!("{{\"n\":{i}}}"),
                t0,
                t0,
            );
            MessageRow { last_status: (i % 2 == 0).then_some(500), ..m }
        })
        .collect();
    let mut c = db.acquire().await.unwrap();
    let there = MessageRow { id: Uuid::now_v7(), ..messages[7].clone() };
    assert!(webhooks::insert_message(c.ex(), &there).await.unwrap());
    let n = messages.len() as u64;
    assert_eq!(webhooks::insert_messages(c.ex(), &messages).await.unwrap(), n - 1, "the one already there is kept");
    assert_eq!(webhooks::get_message(c.ex(), WebhookMessageId::from_uuid(messages[7].id)).await.unwrap(), None);
    for m in [&there, &messages[0], &messages[webhooks::MESSAGES_PER_INSERT], messages.last().unwrap()] {
        assert_eq!(webhooks::get_message(c.ex(), WebhookMessageId::from_uuid(m.id)).await.unwrap().as_ref(), Some(m));
    }
    // The same events and endpoint again, under new ids: one message per pair, so none is new.
    let again: Vec<MessageRow> = messages.iter().map(|m| MessageRow { id: Uuid::now_v7(), ..m.clone() }).collect();
    assert_eq!(webhooks::insert_messages(c.ex(), &again).await.unwrap(), 0);
    assert_eq!(webhooks::insert_messages(c.ex(), &[]).await.unwrap(), 0);
}

async fn fan_out_takes_each_event_once(engine: Engine) {
    let (_t, db) = open(engine).await;
    let ep = endpoint(&db, false).await;
    let t0 = now();
    let event = EventRow {
        id: Uuid::now_v7(),
        event_type: "user.created".into(),
        object_id: Uuid::now_v7(),
        object_version: 1,
        org_id: None,
        data: Json(json!({ "user_id": "u" })),
        occurred_at: t0,
    };
    {
        let mut c = db.acquire().await.unwrap();
        append_event(c.ex(), &event).await.unwrap();
    }
    let mut tx = db.begin().await.unwrap();
    let pending = webhooks::lock_pending_events(tx.ex(), 10).await.unwrap();
    assert_eq!(pending.iter().map(|e| e.id).collect::<Vec<_>>(), vec![event.id]);
    let m = MessageRow::pending(
        EventId::from_uuid(event.id),
        WebhookEndpointId::from_uuid(ep.id),
        &event.event_type,
        "{}".into(),
        t0,
        t0,
    );
    assert!(webhooks::insert_message(tx.ex(), &m).await.unwrap());
    let again = MessageRow::pending(
        EventId::from_uuid(event.id),
        WebhookEndpointId::from_uuid(ep.id),
        &event.event_type,
        "{}".into(),
        t0,
        t0,
    );
    assert!(!webhooks::insert_message(tx.ex(), &again).await.unwrap(), "one message per event and endpoint");
    assert_eq!(webhooks::mark_events_fanned_out(tx.ex(), &pending, t0).await.unwrap(), 1);
    tx.commit().await.unwrap();

    let mut tx = db.begin().await.unwrap();
    assert!(webhooks::lock_pending_events(tx.ex(), 10).await.unwrap().is_empty(), "marked events are done");
    drop(tx);
    let mut c = db.acquire().await.unwrap();
    let all = webhooks::list_messages(c.ex(), &webhooks::MessageQuery { limit: 10, ..Default::default() }).await;
    assert_eq!(all.unwrap().len(), 1);
}

async fn claims_lease_and_skip_disabled_endpoints(engine: Engine) {
    let (_t, db) = open(engine).await;
    let live = endpoint(&db, false).await;
    let off = endpoint(&db, true).await;
    let t0 = now();
    let a = message(&db, live.id, t0).await;
    message(&db, off.id, t0).await;
    let lease = Duration::seconds(60);

    let claim = webhooks::claim_due_messages(&db, t0, lease, 10).await.unwrap();
    assert_eq!(claim.endpoints.iter().map(|e| e.id).collect::<Vec<_>>(), vec![live.id], "the claimed rows' endpoints");
    let claimed = claim.messages;
    assert_eq!(claimed.iter().map(|m| (m.id, m.attempts)).collect::<Vec<_>>(), vec![(a.id, 1)]);
    assert!(webhooks::claim_due_messages(&db, t0, lease, 10).await.unwrap().messages.is_empty(), "leased");
    let again = webhooks::claim_due_messages(&db, t0 + lease, lease, 10).await.unwrap().messages;
    assert_eq!(again[0].attempts, 2, "a lease that ran out is claimable again, with another attempt");

    let mut c = db.acquire().await.unwrap();
    let retry = t0 + Duration::seconds(5);
    webhooks::finish_attempt(
        c.ex(),
        WebhookMessageId::from_uuid(a.id),
        Outcome::RetryAt(retry),
        Some(503),
        Some("503"),
        t0,
    )
    .await
    .unwrap();
    assert!(webhooks::claim_due_messages(&db, t0 + Duration::seconds(4), lease, 10).await.unwrap().messages.is_empty());
    assert_eq!(webhooks::claim_due_messages(&db, retry, lease, 10).await.unwrap().messages.len(), 1);
    webhooks::finish_attempt(c.ex(), WebhookMessageId::from_uuid(a.id), Outcome::Failed, Some(500), Some("500"), retry)
        .await
        .unwrap();
    let failed = webhooks::get_message(c.ex(), WebhookMessageId::from_uuid(a.id)).await.unwrap().unwrap();
    assert_eq!((failed.state, failed.attempts, failed.last_status), (MessageState::Failed, 3, Some(500)));

    assert_eq!(
        webhooks::replay_failed_since(c.ex(), t0, Some(WebhookEndpointId::from_uuid(live.id)), retry).await.unwrap(),
        1
    );
    let replayed = webhooks::get_message(c.ex(), WebhookMessageId::from_uuid(a.id)).await.unwrap().unwrap();
    assert_eq!((replayed.state, replayed.attempts), (MessageState::Pending, 0));
    let counts = webhooks::count_messages_by_state(c.ex()).await.unwrap();
    assert_eq!(counts, vec![(MessageState::Pending, 2)]);
}

/// Two workers claiming at once from 40 due messages: each is claimed by exactly one of them.
async fn racing_claimers_never_share_a_message(engine: Engine) {
    let (_t, db) = open(engine).await;
    let ep = endpoint(&db, false).await;
    let t0 = now();
    let mut all = HashSet::new();
    for _ in 0..40 {
        all.insert(message(&db, ep.id, t0).await.id);
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let claimer = |db: Db| {
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            let mut mine = Vec::new();
            loop {
                let batch = webhooks::claim_due_messages(&db, t0, Duration::seconds(60), 3).await.unwrap().messages;
                if batch.is_empty() {
                    break mine;
                }
                mine.extend(batch.into_iter().map(|m| m.id));
                tokio::task::yield_now().await;
            }
        })
    };
    let (a, b) = (claimer(db.clone()), claimer(db.clone()));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let a_set: HashSet<Uuid> = a.iter().copied().collect();
    let b_set: HashSet<Uuid> = b.iter().copied().collect();
    assert_eq!(a_set.len() + b_set.len(), a.len() + b.len(), "no message claimed twice by one claimer");
    assert!(a_set.is_disjoint(&b_set), "a message was claimed by both claimers");
    assert_eq!(&a_set | &b_set, all, "every message was claimed");
}

/// A run of failures starts once, ends at a success, and disables the endpoint only once it is
/// older than the cutoff.
async fn endpoint_health_runs_and_disabling(engine: Engine) {
    let (_t, db) = open(engine).await;
    let ep = endpoint(&db, false).await;
    let t0 = now();
    let mut c = db.acquire().await.unwrap();
    assert_eq!(webhooks::mark_endpoint_failing(c.ex(), WebhookEndpointId::from_uuid(ep.id), t0).await.unwrap(), 1);
    assert_eq!(
        webhooks::mark_endpoint_failing(c.ex(), WebhookEndpointId::from_uuid(ep.id), t0 + Duration::hours(1))
            .await
            .unwrap(),
        0,
        "a run is under way"
    );
    let early =
        webhooks::disable_failing_endpoint(c.ex(), WebhookEndpointId::from_uuid(ep.id), t0 - Duration::seconds(1), t0)
            .await
            .unwrap();
    assert!(early.is_none(), "failing for less than the period");
    assert_eq!(webhooks::mark_endpoint_healthy(c.ex(), WebhookEndpointId::from_uuid(ep.id)).await.unwrap(), 1);
    let healthy = webhooks::get_endpoint(c.ex(), WebhookEndpointId::from_uuid(ep.id)).await.unwrap().unwrap();
    assert_eq!(healthy.failing_since, None);
    assert!(
        webhooks::disable_failing_endpoint(c.ex(), WebhookEndpointId::from_uuid(ep.id), t0, t0)
            .await
            .unwrap()
            .is_none(),
        "not failing"
    );

    webhooks::mark_endpoint_failing(c.ex(), WebhookEndpointId::from_uuid(ep.id), t0).await.unwrap();
    let later = t0 + Duration::days(5);
    let off = webhooks::disable_failing_endpoint(c.ex(), WebhookEndpointId::from_uuid(ep.id), t0, later)
        .await
        .unwrap()
        .expect("disabled");
    assert!(off.disabled);
    assert_eq!(off.disabled_reason.as_deref(), Some(webhooks::DISABLED_FAILING));
    assert_eq!(off.version, ep.version + 1);
    assert!(
        webhooks::disable_failing_endpoint(c.ex(), WebhookEndpointId::from_uuid(ep.id), t0, later)
            .await
            .unwrap()
            .is_none(),
        "once"
    );
}

engine_tests!(
    endpoint_health_runs_and_disabling,
    messages_are_inserted_many_per_statement,
    fan_out_takes_each_event_once,
    claims_lease_and_skip_disabled_endpoints,
    racing_claimers_never_share_a_message,
);
