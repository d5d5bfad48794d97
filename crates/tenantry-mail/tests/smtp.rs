//! The mail worker against a real SMTP server: Python's aiosmtpd, writing what it receives to a
//! Maildir that the test reads back.
//!
//! The sink and the choice of Python are the test kit's (`tenantry_testkit::peers`): without
//! aiosmtpd the tests fail under CI (`CI` set) and are skipped elsewhere.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{json, Map, Value};
use tenantry_core::{Clock, Email, MailId, ManualClock};
use tenantry_mail::{MailConfig, MailTemplate, MailWorker, Mailer};
use tenantry_store::mail_queue::{self, MailRow, MailState};
use tenantry_store::{Db, DbOptions};
use tenantry_testkit::peers::{free_port, peers_python, SmtpSink};
use tenantry_testkit::{engine_tests, Engine, TestDb};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const LINK: &str = "https://id.acme.test/verify-email?token=Zm9vYmFyYmF6cXV4&next=%2Fapp";

/// The decoded text/plain and text/html bodies of a raw message.
fn decoded_parts(raw: &str) -> Vec<String> {
    raw.split("Content-Type: text/")
        .skip(1)
        .map(|chunk| {
            let (headers, body) = chunk.split_once("\n\n").or_else(|| chunk.split_once("\r\n\r\n")).expect("part body");
            let body = body.split("\n--").next().expect("part end");
            assert!(!headers.contains("base64"), "unexpected base64 part: {headers}");
            if headers.contains("quoted-printable") {
                let bytes =
                    quoted_printable::decode(body, quoted_printable::ParseMode::Robust).expect("quoted-printable");
                String::from_utf8(bytes).expect("utf-8")
            } else {
                body.to_owned()
            }
        })
        .collect()
}

struct Setup {
    _test_db: TestDb,
    db: Db,
    clock: Arc<ManualClock>,
    worker: MailWorker,
}

async fn setup(engine: Engine, port: u16) -> Setup {
    let test_db = TestDb::new(engine).await;
    let db = Db::connect(test_db.url(), &DbOptions::default()).await.expect("connect");
    db.migrate().await.expect("migrate");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mailer = Mailer::new(MailConfig {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        from: "Acme ID <no-reply@acme.test>".into(),
        product_name: "Acme ID".into(),
        ..MailConfig::default()
    })
    .expect("mailer");
    let worker = MailWorker::new(db.clone(), Arc::new(mailer), clock.clone());
    Setup { _test_db: test_db, db, clock, worker }
}

async fn enqueue_verification(s: &Setup, to: &str) -> Uuid {
    let vars: Map<String, Value> = json!({ "link": LINK, "expires_in": "24 hours" }).as_object().unwrap().clone();
    let mut tx = s.db.begin().await.unwrap();
    let id =
        tenantry_mail::enqueue(tx.ex(), &Email::parse(to).unwrap(), MailTemplate::VerifyEmail, vars, s.clock.now())
            .await
            .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn row(s: &Setup, id: Uuid) -> MailRow {
    let mut c = s.db.acquire().await.unwrap();
    mail_queue::get_mail(c.ex(), MailId::from_uuid(id)).await.unwrap().expect("mail row")
}

fn assert_is_the_verification(raw: &str, to: &str) {
    assert!(raw.contains(&format!("To: {to}")), "{raw}");
    assert!(
        raw.contains("From: \"Acme ID\" <no-reply@acme.test>") || raw.contains("From: Acme ID <no-reply@acme.test>"),
        "{raw}"
    );
    assert!(raw.contains("Subject: Verify your email address for Acme ID"), "{raw}");
    let parts = decoded_parts(raw);
    assert_eq!(parts.len(), 2, "text and HTML parts: {raw}");
    assert!(parts[0].contains(LINK), "the link is in the text part: {}", parts[0]);
    assert!(parts[1].contains(&LINK.replace('&', "&amp;")), "the link is in the HTML part: {}", parts[1]);
}

async fn a_queued_mail_reaches_the_smtp_server(engine: Engine) {
    let port = free_port();
    let Some(sink) = SmtpSink::start_on(port) else { return };
    let s = setup(engine, port).await;

    let id = enqueue_verification(&s, "ada@example.test").await;
    assert_eq!(s.worker.run_once(s.clock.now()).await.unwrap(), 1);

    let messages = sink.wait_for_count(1).await;
    assert_eq!(messages.len(), 1);
    assert_is_the_verification(&messages[0], "ada@example.test");
    let sent = row(&s, id).await;
    assert_eq!((sent.state, sent.attempts, sent.sent_at), (MailState::Sent, 1, Some(s.clock.now())));
    assert!(sent.vars.0.is_empty(), "the link is not kept once sent");
    // Nothing is sent twice.
    assert_eq!(s.worker.run_once(s.clock.now() + TimeDelta::hours(1)).await.unwrap(), 0);
}

async fn mail_waits_while_the_smtp_server_is_down(engine: Engine) {
    if peers_python("aiosmtpd").is_none() {
        return;
    }
    let port = free_port();
    let s = setup(engine, port).await;
    let t0 = s.clock.now();

    let id = enqueue_verification(&s, "bob@example.test").await;
    assert_eq!(s.worker.run_once(t0).await.unwrap(), 0, "nothing listens yet");
    let pending = row(&s, id).await;
    assert_eq!((pending.state, pending.attempts), (MailState::Pending, 1));
    assert!(pending.last_error.as_deref().is_some_and(|e| !e.is_empty()), "{pending:?}");
    assert_eq!(pending.next_attempt_at, t0 + TimeDelta::seconds(10), "first retry after 10 s");
    assert_eq!(pending.locked_until, None);

    let sink = SmtpSink::start_on(port).expect("aiosmtpd was found above");
    assert_eq!(s.worker.run_once(t0).await.unwrap(), 0, "not due before the retry time");
    s.clock.advance(TimeDelta::seconds(10));
    assert_eq!(s.worker.run_once(s.clock.now()).await.unwrap(), 1);

    let messages = sink.wait_for_count(1).await;
    assert_eq!(messages.len(), 1);
    assert_is_the_verification(&messages[0], "bob@example.test");
    let sent = row(&s, id).await;
    assert_eq!((sent.state, sent.attempts), (MailState::Sent, 2));
}

/// The long-running loop: a wake sends at once, and shutdown stops it.
async fn the_worker_loop_wakes_and_stops(engine: Engine) {
    let port = free_port();
    let Some(sink) = SmtpSink::start_on(port) else { return };
    let s = setup(engine, port).await;
    let shutdown = CancellationToken::new();
    let wake = Arc::new(Notify::new());
    let running = tokio::spawn(s.worker.clone().run(shutdown.clone(), wake.clone()));

    enqueue_verification(&s, "cy@example.test").await;
    wake.notify_one();
    let messages = sink.wait_for_count(1).await;
    assert_eq!(messages.len(), 1, "the woken worker sent the mail");
    assert_is_the_verification(&messages[0], "cy@example.test");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the worker stops on shutdown")
        .expect("the worker did not panic");
}

engine_tests!(
    a_queued_mail_reaches_the_smtp_server,
    mail_waits_while_the_smtp_server_is_down,
    the_worker_loop_wakes_and_stops,
);
