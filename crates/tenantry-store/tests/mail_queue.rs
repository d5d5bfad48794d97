//! Mail queue tests on both engines: enqueue, claim with leases, retries, and racing claimers.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};
use tenantry_core::{Clock, MailId};
use tenantry_store::mail_queue::{self, MailCounts, MailRow, MailState};
use tenantry_store::{Db, DbOptions};
use tenantry_testkit::{engine_tests, Engine, TestDb};
use uuid::Uuid;

async fn open(engine: Engine) -> (TestDb, Db) {
    let test_db = TestDb::new(engine).await;
    let db = Db::connect(test_db.url(), &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    (test_db, db)
}

fn now() -> DateTime<Utc> {
    tenantry_core::SystemClock.now()
}

fn vars(link: &str) -> Map<String, Value> {
    json!({ "link": link, "expires_in": "1 hour" }).as_object().unwrap().clone()
}

async fn enqueue(db: &Db, row: &MailRow) {
    let mut tx = db.begin().await.unwrap();
    mail_queue::enqueue_mail(tx.ex(), row).await.unwrap();
    tx.commit().await.unwrap();
}

async fn get(db: &Db, id: Uuid) -> MailRow {
    let mut c = db.acquire().await.unwrap();
    mail_queue::get_mail(c.ex(), MailId::from_uuid(id)).await.unwrap().expect("mail row")
}

async fn mail_round_trips_with_native_types(engine: Engine) {
    let (_t, db) = open(engine).await;
    let row = MailRow::pending("ada@example.test", "verify_email", vars("https://x.test/v?t=1"), now());
    enqueue(&db, &row).await;
    assert_eq!(get(&db, row.id).await, row);

    // Nothing written inside a rolled-back transaction is queued.
    let lost = MailRow::pending("bob@example.test", "verify_email", vars("l"), now());
    let mut tx = db.begin().await.unwrap();
    mail_queue::enqueue_mail(tx.ex(), &lost).await.unwrap();
    drop(tx);
    let mut c = db.acquire().await.unwrap();
    assert!(mail_queue::get_mail(c.ex(), MailId::from_uuid(lost.id)).await.unwrap().is_none());
}

async fn claim_leases_due_mail_and_counts_attempts(engine: Engine) {
    let (_t, db) = open(engine).await;
    let t0 = now();
    let lease = Duration::seconds(60);
    let a = MailRow::pending("a@example.test", "verify_email", vars("a"), t0);
    let b = MailRow::pending("b@example.test", "reset_password", vars("b"), t0);
    let mut later = MailRow::pending("c@example.test", "verify_email", vars("c"), t0);
    later.next_attempt_at = t0 + Duration::minutes(5);
    for m in [&a, &b, &later] {
        enqueue(&db, m).await;
    }

    // The limit holds, and the oldest due comes first.
    let first = mail_queue::claim_due_mail(&db, t0, lease, 1).await.unwrap();
    assert_eq!(first.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a.id]);
    assert_eq!((first[0].attempts, first[0].locked_until), (1, Some(t0 + lease)));
    assert_eq!(first[0].vars.0, a.vars.0);
    // Leased and not-yet-due rows are left out.
    let second = mail_queue::claim_due_mail(&db, t0, lease, 10).await.unwrap();
    assert_eq!(second.iter().map(|m| m.id).collect::<Vec<_>>(), vec![b.id]);
    // Nothing is handed out again while the leases run.
    assert!(mail_queue::claim_due_mail(&db, t0 + Duration::seconds(30), lease, 10).await.unwrap().is_empty());

    // A lease that ran out (a dead worker) makes the row claimable again, with another attempt.
    let again = mail_queue::claim_due_mail(&db, t0 + lease, lease, 10).await.unwrap();
    let ids: HashSet<Uuid> = again.iter().map(|m| m.id).collect();
    assert_eq!(ids, HashSet::from([a.id, b.id]));
    assert!(again.iter().all(|m| m.attempts == 2));
}

async fn sent_and_failed_rows_drop_their_variables(engine: Engine) {
    let (_t, db) = open(engine).await;
    let t0 = now();
    let lease = Duration::seconds(60);
    let ok = MailRow::pending("ok@example.test", "verify_email", vars("secret-ok"), t0);
    let flaky = MailRow::pending("flaky@example.test", "verify_email", vars("secret-flaky"), t0);
    enqueue(&db, &ok).await;
    enqueue(&db, &flaky).await;
    assert_eq!(mail_queue::claim_due_mail(&db, t0, lease, 10).await.unwrap().len(), 2);

    let mut tx = db.begin().await.unwrap();
    assert_eq!(mail_queue::mark_mail_sent(tx.ex(), MailId::from_uuid(ok.id), t0).await.unwrap(), 1);
    let retry_at = t0 + Duration::seconds(10);
    assert_eq!(
        mail_queue::mark_mail_failed(tx.ex(), MailId::from_uuid(flaky.id), "connection refused", Some(retry_at))
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();

    let sent = get(&db, ok.id).await;
    assert_eq!((sent.state, sent.sent_at, sent.locked_until), (MailState::Sent, Some(t0), None));
    assert!(sent.vars.0.is_empty(), "the link is not kept after sending");
    let pending = get(&db, flaky.id).await;
    assert_eq!(pending.state, MailState::Pending);
    assert_eq!(pending.attempts, 1);
    assert_eq!(pending.last_error.as_deref(), Some("connection refused"));
    assert_eq!((pending.next_attempt_at, pending.locked_until), (retry_at, None));
    assert_eq!(pending.vars.0, flaky.vars.0, "kept for the retry");

    // Marking a sent row again changes nothing.
    let mut c = db.acquire().await.unwrap();
    assert_eq!(mail_queue::mark_mail_sent(c.ex(), MailId::from_uuid(ok.id), t0).await.unwrap(), 0);
    drop(c);

    // Not due before the retry time; due at it.
    assert!(mail_queue::claim_due_mail(&db, t0 + Duration::seconds(9), lease, 10).await.unwrap().is_empty());
    let retried = mail_queue::claim_due_mail(&db, retry_at, lease, 10).await.unwrap();
    assert_eq!((retried.len(), retried[0].attempts), (1, 2));

    let mut c = db.acquire().await.unwrap();
    assert_eq!(
        mail_queue::mark_mail_failed(c.ex(), MailId::from_uuid(flaky.id), "550 no such user", None).await.unwrap(),
        1
    );
    let failed = mail_queue::get_mail(c.ex(), MailId::from_uuid(flaky.id)).await.unwrap().unwrap();
    assert_eq!(failed.state, MailState::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("550 no such user"));
    assert!(failed.vars.0.is_empty());
    assert!(mail_queue::claim_due_mail(&db, t0 + Duration::days(1), lease, 10).await.unwrap().is_empty());

    assert_eq!(mail_queue::count_mail_by_state(c.ex()).await.unwrap(), MailCounts { pending: 0, sent: 1, failed: 1 });
}

async fn list_filters_by_state_and_pages(engine: Engine) {
    let (_t, db) = open(engine).await;
    let t0 = now();
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = MailRow::pending(&format!("u{i}@example.test"), "password_changed", Map::new(), t0);
        enqueue(&db, &m).await;
        ids.push(m.id);
    }
    let mut c = db.acquire().await.unwrap();
    mail_queue::mark_mail_failed(c.ex(), MailId::from_uuid(ids[1]), "boom", None).await.unwrap();

    let all = mail_queue::list_mail(c.ex(), None, None, 100).await.unwrap();
    assert_eq!(all.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    let page = mail_queue::list_mail(c.ex(), None, Some(MailId::from_uuid(ids[1])), 2).await.unwrap();
    assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), ids[2..4]);
    let failed = mail_queue::list_mail(c.ex(), Some(MailState::Failed), None, 100).await.unwrap();
    assert_eq!(failed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![ids[1]]);
    assert_eq!(mail_queue::count_mail_by_state(c.ex()).await.unwrap(), MailCounts { pending: 4, sent: 0, failed: 1 });
}

/// Two workers claiming at once from 50 due rows: every row is claimed by exactly one of them.
async fn racing_claimers_never_share_a_row(engine: Engine) {
    let (_t, db) = open(engine).await;
    let t0 = now();
    let mut all = HashSet::new();
    let mut tx = db.begin().await.unwrap();
    for i in 0..50 {
        let m = MailRow::pending(&format!("r{i}@example.test"), "verify_email", vars("x"), t0);
        mail_queue::enqueue_mail(tx.ex(), &m).await.unwrap();
        all.insert(m.id);
    }
    tx.commit().await.unwrap();

    // Both start together, so their claims interleave.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let claimer = |db: Db| {
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            let mut mine = Vec::new();
            loop {
                let batch = mail_queue::claim_due_mail(&db, t0, Duration::seconds(60), 3).await.unwrap();
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
    assert_eq!(a_set.len(), a.len(), "no row claimed twice by one claimer");
    assert_eq!(b_set.len(), b.len(), "no row claimed twice by one claimer");
    assert!(a_set.is_disjoint(&b_set), "a row was claimed by both claimers");
    assert_eq!(&a_set | &b_set, all, "every row was claimed");
    eprintln!("claims split {} / {}", a.len(), b.len());
}

engine_tests!(
    mail_round_trips_with_native_types,
    claim_leases_due_mail_and_counts_attempts,
    sent_and_failed_rows_drop_their_variables,
    list_filters_by_state_and_pages,
    racing_claimers_never_share_a_row,
);
