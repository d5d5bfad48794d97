//! The mail worker against a real SMTP server: Python's aiosmtpd, writing what it receives to a
//! Maildir that the test reads back.
//!
//! The Python interpreter is, in order: `$TENANTRY_PEERS_PYTHON`; `.venv-peers/bin/python` at the
//! workspace root; the venv `scripts/peers-venv.sh` makes (`$TENANTRY_PEERS_VENV`, by default
//! `~/.cache/tenantry-peers-venv`); `python3`. Without aiosmtpd the tests fail under CI (`CI` set)
//! and are skipped elsewhere.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use serde_json::{json, Map, Value};
use tenantry_core::{Clock, Email, ManualClock};
use tenantry_mail::{MailConfig, MailTemplate, MailWorker, Mailer};
use tenantry_store::mail_queue::{self, MailRow, MailState};
use tenantry_store::{Db, DbOptions};
use tenantry_testkit::{engine_tests, Engine, TestDb};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const LINK: &str = "https://id.acme.test/verify-email?token=Zm9vYmFyYmF6cXV4&next=%2Fapp";

/// The Python that has aiosmtpd, or `None` (after saying why) when the test should be skipped.
///
/// # Panics
/// Under CI when no interpreter with aiosmtpd is found.
fn peers_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared_venv = std::env::var_os("TENANTRY_PEERS_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/tenantry-peers-venv")));
    let python = if let Some(p) = std::env::var_os("TENANTRY_PEERS_PYTHON") {
        PathBuf::from(p)
    } else if root.join(".venv-peers/bin/python").exists() {
        root.join(".venv-peers/bin/python")
    } else if let Some(venv) = shared_venv.filter(|v| v.join("bin/python").exists()) {
        venv.join("bin/python")
    } else {
        PathBuf::from("python3")
    };
    let importable = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if importable {
        return Some(python);
    }
    let why = format!(
        "aiosmtpd cannot be imported by {}; run scripts/peers-venv.sh, or `python3 -m venv .venv-peers && \
         .venv-peers/bin/pip install aiosmtpd==1.4.6`, or set TENANTRY_PEERS_PYTHON",
        python.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("CI is set and the SMTP peer is missing: {why}");
    }
    eprintln!("skipped: {why}");
    None
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// aiosmtpd on 127.0.0.1, storing mail in a Maildir; killed on drop.
struct SmtpSink {
    child: Child,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    fn start(python: &Path, port: u16) -> SmtpSink {
        let dir = tempfile::tempdir().expect("temp dir");
        // Mailbox creates the Maildir itself; an existing folder without cur/new/tmp makes it fail.
        let maildir = dir.path().join("maildir");
        let log = std::fs::File::create(dir.path().join("aiosmtpd.log")).expect("log file");
        let mut child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn aiosmtpd");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            let log = std::fs::read_to_string(dir.path().join("aiosmtpd.log")).unwrap_or_default();
            if let Ok(Some(status)) = child.try_wait() {
                panic!("aiosmtpd exited ({status}) before accepting connections:\n{log}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("aiosmtpd did not accept connections on {addr} within 15 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        SmtpSink { child, maildir, _dir: dir }
    }

    /// The raw messages received so far.
    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else { return Vec::new() };
        entries.map(|e| std::fs::read_to_string(e.expect("maildir entry").path()).expect("read message")).collect()
    }

    /// Waits (bounded) until `n` messages have arrived, and returns them.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    mail_queue::get_mail(c.ex(), id).await.unwrap().expect("mail row")
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
    let Some(python) = peers_python() else { return };
    let port = free_port();
    let sink = SmtpSink::start(&python, port);
    let s = setup(engine, port).await;

    let id = enqueue_verification(&s, "ada@example.test").await;
    assert_eq!(s.worker.run_once(s.clock.now()).await.unwrap(), 1);

    let messages = sink.wait_for(1).await;
    assert_eq!(messages.len(), 1);
    assert_is_the_verification(&messages[0], "ada@example.test");
    let sent = row(&s, id).await;
    assert_eq!((sent.state, sent.attempts, sent.sent_at), (MailState::Sent, 1, Some(s.clock.now())));
    assert!(sent.vars.0.is_empty(), "the link is not kept once sent");
    // Nothing is sent twice.
    assert_eq!(s.worker.run_once(s.clock.now() + TimeDelta::hours(1)).await.unwrap(), 0);
}

async fn mail_waits_while_the_smtp_server_is_down(engine: Engine) {
    let Some(python) = peers_python() else { return };
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

    let sink = SmtpSink::start(&python, port);
    assert_eq!(s.worker.run_once(t0).await.unwrap(), 0, "not due before the retry time");
    s.clock.advance(TimeDelta::seconds(10));
    assert_eq!(s.worker.run_once(s.clock.now()).await.unwrap(), 1);

    let messages = sink.wait_for(1).await;
    assert_eq!(messages.len(), 1);
    assert_is_the_verification(&messages[0], "bob@example.test");
    let sent = row(&s, id).await;
    assert_eq!((sent.state, sent.attempts), (MailState::Sent, 2));
}

/// The long-running loop: a wake sends at once, and shutdown stops it.
async fn the_worker_loop_wakes_and_stops(engine: Engine) {
    let Some(python) = peers_python() else { return };
    let port = free_port();
    let sink = SmtpSink::start(&python, port);
    let s = setup(engine, port).await;
    let shutdown = CancellationToken::new();
    let wake = Arc::new(Notify::new());
    let running = tokio::spawn(s.worker.clone().run(shutdown.clone(), wake.clone()));

    enqueue_verification(&s, "cy@example.test").await;
    wake.notify_one();
    let messages = sink.wait_for(1).await;
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
