//! What the mail worker logs: that a mail went, where to (the recipient's domain) and, without
//! SMTP, which `.eml` file; never the emailed link, its token, or the whole address.
//!
//! The log is captured with a subscriber of this thread, so each test runs on a current-thread
//! runtime, where the worker's spawned sends run too. Both engines, as everywhere.

use std::io;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde_json::{json, Map, Value};
use tenantry_core::{Clock, Email, ManualClock};
use tenantry_mail::{MailConfig, MailTemplate, MailWorker, Mailer};
use tenantry_store::{Db, DbOptions};
use tenantry_testkit::{postgres_url, Engine, TestDb};
use tracing_subscriber::fmt::MakeWriter;

const TOKEN: &str = "c2VjcmV0LXRva2VuLW5vdC1mb3ItbG9ncw";

/// Log output written to memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

async fn worker(engine: Engine, config: MailConfig) -> (TestDb, Db, Arc<ManualClock>, MailWorker) {
    let test_db = TestDb::new(engine).await;
    let db = Db::connect(test_db.url(), &DbOptions::default()).await.expect("connect");
    db.migrate().await.expect("migrate");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let worker = MailWorker::new(db.clone(), Arc::new(Mailer::new(config).expect("mailer")), clock.clone());
    (test_db, db, clock, worker)
}

async fn enqueue(db: &Db, clock: &ManualClock, template: MailTemplate, path: &str) {
    let link = format!("https://id.acme.test/{path}?token={TOKEN}");
    let vars: Map<String, Value> =
        json!({ "link": link, "expires_in": "1 hour", "org_name": "Initech", "inviter": "Bill", "role": "Admin" })
            .as_object()
            .expect("object")
            .clone();
    let mut tx = db.begin().await.expect("begin");
    let to = Email::parse("ada.lovelace@acme.test").expect("email");
    tenantry_mail::enqueue(tx.ex(), &to, template, vars, clock.now()).await.expect("enqueue");
    tx.commit().await.expect("commit");
}

fn assert_no_secret(log: &str) {
    assert!(!log.contains(TOKEN), "the token is in the log:\n{log}");
    assert!(!log.contains("token="), "a link is in the log:\n{log}");
    assert!(!log.contains("ada.lovelace"), "the whole address is in the log:\n{log}");
}

async fn outbox_mail_is_logged_without_its_link(engine: Engine) {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt().with_writer(log.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = dir.path().join("mail");
    let (_test_db, db, clock, worker) =
        worker(engine, MailConfig { outbox_dir: outbox.clone(), ..MailConfig::default() }).await;
    for (template, path) in [
        (MailTemplate::VerifyEmail, "verify-email"),
        (MailTemplate::ResetPassword, "reset-password"),
        (MailTemplate::OrgInvite, "invites/accept"),
    ] {
        enqueue(&db, &clock, template, path).await;
    }
    assert_eq!(worker.run_once(clock.now()).await.expect("run"), 3);

    let text = log.text();
    assert_eq!(text.matches("mail written to the outbox").count(), 3, "{text}");
    for template in ["verify_email", "reset_password", "org_invite"] {
        assert!(text.contains(template), "the template is named: {text}");
    }
    assert!(text.contains("to_domain=\"acme.test\"") || text.contains("to_domain=acme.test"), "{text}");
    assert!(text.contains(&outbox.display().to_string()) && text.contains(".eml"), "the file is named: {text}");
    assert_no_secret(&text);
    // The mail itself still carries the link, for the developer who opens the file.
    let files: Vec<_> = std::fs::read_dir(&outbox).expect("outbox").collect();
    assert_eq!(files.len(), 3);
    db.close().await;
}

async fn failed_mail_is_logged_without_the_address(engine: Engine) {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt().with_writer(log.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // An outbox "folder" that is a file: writing fails, and the worker logs a retry.
    let dir = tempfile::tempdir().expect("temp dir");
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, b"x").expect("file");
    let (_test_db, db, clock, worker) =
        worker(engine, MailConfig { outbox_dir: not_a_dir, ..MailConfig::default() }).await;
    enqueue(&db, &clock, MailTemplate::ResetPassword, "reset-password").await;
    assert_eq!(worker.run_once(clock.now()).await.expect("run"), 0);

    let text = log.text();
    assert!(text.contains("mail delivery failed"), "{text}");
    assert!(text.contains("acme.test"), "the recipient's domain is named: {text}");
    assert_no_secret(&text);
    db.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn outbox_mail_is_logged_without_its_link_sqlite() {
    outbox_mail_is_logged_without_its_link(Engine::Sqlite).await;
}

#[tokio::test(flavor = "current_thread")]
async fn outbox_mail_is_logged_without_its_link_postgres() {
    if postgres_url().is_some() {
        outbox_mail_is_logged_without_its_link(Engine::Postgres).await;
    } else {
        eprintln!("skipped: set TENANTRY_TEST_DATABASE_URL to run on PostgreSQL");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn failed_mail_is_logged_without_the_address_sqlite() {
    failed_mail_is_logged_without_the_address(Engine::Sqlite).await;
}

#[tokio::test(flavor = "current_thread")]
async fn failed_mail_is_logged_without_the_address_postgres() {
    if postgres_url().is_some() {
        failed_mail_is_logged_without_the_address(Engine::Postgres).await;
    } else {
        eprintln!("skipped: set TENANTRY_TEST_DATABASE_URL to run on PostgreSQL");
    }
}
