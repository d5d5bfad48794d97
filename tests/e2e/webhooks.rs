//! Signed webhooks (docs/design.md §5, docs/security.md §11–12): endpoints through the backend API, deliveries to
//! a receiver on 127.0.0.1 verified by the Python Standard Webhooks library, the retry schedule on
//! the manual clock, failures (5xx, 3xx, timeouts), replay, secrets sealed at rest, and the SSRF
//! refusals at creation.
//!
//! The test kit runs no workers: each test drives the delivery worker with `run_once` at the
//! manual clock's time, so the schedule is checked without sleeping. One test runs the real
//! worker inside `serve`.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::{Request, Response};
use serde_json::{json, Value};
use tenantry_core::{Clock, WebhookEndpointId};
use tenantry_sdk::{verify_webhook, WebhookHeaders};
use tenantry_store::webhooks::get_endpoint;
use tenantry_testkit::peers::peers_python;
use tenantry_testkit::{engine_tests, Engine, TestApp};
use uuid::Uuid;

use crate::support::problem_code;

const ENDPOINTS: &str = "/api/backend/v1/webhooks/endpoints";
const MESSAGES: &str = "/api/backend/v1/webhooks/messages";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Delivery {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

impl Delivery {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or_else(|| panic!("no {name} header"))
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// A webhook receiver on 127.0.0.1 that records requests and answers with the status the test
/// chooses (or hangs).
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Delivery>>>,
    status: Arc<AtomicU16>,
    hang: Arc<AtomicBool>,
    /// A `Retry-After` header to answer with.
    retry_after: Arc<Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The body every answer carries: longer than the 1 KiB that attempts keep.
fn answer_body() -> String {
    "ok-".repeat(1000)
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(status));
        let hang = Arc::new(AtomicBool::new(false));
        let retry_after = Arc::new(Mutex::new(None::<String>));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let location = url.replace("/hook", "/followed");
        let (s, st, h, ra) = (seen.clone(), status.clone(), hang.clone(), retry_after.clone());
        let endpoint = poem::endpoint::make(move |mut req: Request| {
            let (seen, status, hang, location) = (s.clone(), st.clone(), h.clone(), location.clone());
            let retry_after = ra.lock().unwrap().clone();
            async move {
                let headers = req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                    .collect();
                let path = req.uri().path().to_owned();
                let body = req.take_body().into_string().await.unwrap_or_default();
                seen.lock().unwrap().push(Delivery { path, headers, body });
                if hang.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                let mut answer = Response::builder()
                    .status(StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap())
                    .header("location", location);
                if let Some(value) = retry_after {
                    answer = answer.header("retry-after", value);
                }
                answer.body(answer_body())
            }
        });
        let acceptor = TcpAcceptor::from_tokio(listener).unwrap();
        let task = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(endpoint).await;
        });
        Receiver { url, seen, status, hang, retry_after, task }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.seen.lock().unwrap().clone()
    }

    fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn set_retry_after(&self, value: Option<&str>) {
        *self.retry_after.lock().unwrap() = value.map(str::to_owned);
    }

    /// Waits (at most 10 s) for `n` deliveries.
    async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = self.deliveries();
            if seen.len() >= n || Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Creates an endpoint; returns (endpoint id, secret).
async fn create_endpoint(t: &TestApp, url: &str, event_types: Value) -> (String, String) {
    let body = t.post(ENDPOINTS, json!({ "url": url, "event_types": event_types, "description": "test" }), 201).await;
    let id = body["endpoint"]["endpoint_id"].as_str().unwrap().to_owned();
    (id, body["secret"].as_str().unwrap().to_owned())
}

async fn create_user(t: &TestApp, email: &str) -> String {
    let user = t.post("/api/backend/v1/users", json!({ "email": email }), 201).await;
    user["user_id"].as_str().unwrap().to_owned()
}

/// One worker pass at the manual clock's time.
async fn deliver(t: &TestApp) -> tenantry_webhooks::worker::Batch {
    let worker = t.app().webhook_worker().expect("worker");
    worker.run_once(t.clock.now()).await.expect("worker pass")
}

async fn messages(t: &TestApp, query: &str) -> Vec<Value> {
    t.get(&format!("{MESSAGES}?{query}"), 200).await["messages"].as_array().unwrap().clone()
}

async fn attempts(t: &TestApp, message_id: &str) -> Vec<Value> {
    t.get(&format!("{MESSAGES}/{message_id}/attempts"), 200).await["attempts"].as_array().unwrap().clone()
}

/// Verifies a delivery with the Python peers (standardwebhooks, and svix when installed).
fn python_verify(python: &Path, secret: &str, d: &Delivery) -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/webhook_verify.py");
    let headers: HashMap<&str, &str> =
        ["webhook-id", "webhook-timestamp", "webhook-signature"].into_iter().map(|h| (h, d.header(h))).collect();
    let input = json!({ "secret": secret, "headers": headers, "body": d.body }).to_string();
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// Verifies with the SDK's verifier at the delivery's own time.
fn sdk_verify(secret: &str, d: &Delivery) -> bool {
    let headers = WebhookHeaders {
        id: d.header("webhook-id"),
        timestamp: d.header("webhook-timestamp"),
        signature: d.header("webhook-signature"),
    };
    let now: i64 = headers.timestamp.parse().unwrap();
    verify_webhook(secret, &headers, d.body.as_bytes(), now).is_ok()
}

async fn deliveries_verify_with_standard_webhooks_across_rotation(engine: Engine) {
    let Some(python) = peers_python("standardwebhooks") else { return };
    let t = TestApp::spawn(engine).await;
    let rx = Receiver::start(200).await;
    let (endpoint_id, secret) = create_endpoint(&t, &rx.url, json!([])).await;
    assert!(secret.starts_with("whsec_"));
    let user_id = create_user(&t, "ana@example.com").await;

    let batch = deliver(&t).await;
    assert_eq!((batch.fanned_out, batch.claimed, batch.delivered), (1, 1, 1), "{batch:?}");
    let seen = rx.deliveries();
    assert_eq!(seen.len(), 1);
    let d = &seen[0];
    assert_eq!(d.path, "/hook");
    assert_eq!(d.header("content-type"), "application/json");
    assert!(!d.header("webhook-id").contains('.'));
    assert_eq!(d.header("webhook-timestamp"), t.clock_now().to_string());
    assert!(d.header("webhook-signature").starts_with("v1,"));
    assert_eq!(d.header("webhook-signature").split(' ').count(), 1);
    let body = d.json();
    assert_eq!(body["type"], "user.created");
    assert_eq!(body["data"]["user_id"], user_id.as_str());
    assert_eq!(body["data"]["version"], 1);
    assert!(d.body.starts_with(r#"{"type":"user.created","timestamp":""#), "{}", d.body);
    python_verify(&python, &secret, d).expect("standardwebhooks verifies the delivery");
    assert!(python_verify(&python, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", d).is_err(), "a wrong secret fails");
    let mut tampered = d.clone();
    tampered.body = tampered.body.replace("ana@", "eve@");
    assert!(python_verify(&python, &secret, &tampered).is_err(), "a changed body fails");

    let listed = messages(&t, &format!("endpoint_id={endpoint_id}")).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "delivered");
    assert_eq!(listed[0]["event_id"], d.header("webhook-id"));
    let tries = attempts(&t, listed[0]["message_id"].as_str().unwrap()).await;
    assert_eq!(tries.len(), 1);
    assert_eq!(tries[0]["status"], 200);
    assert_eq!(tries[0]["response_body"].as_str().unwrap().len(), 1024, "the first 1 KiB of the answer is kept");

    // Rotation: both secrets sign during the overlap, and each verifies alone.
    let rotated = t.post(&format!("{ENDPOINTS}/{endpoint_id}/secret/rotate"), json!({}), 200).await;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated["endpoint"]["previous_secret_expires_at"].is_string());
    let shown = t.get(&format!("{ENDPOINTS}/{endpoint_id}/secret"), 200).await;
    assert_eq!(shown["secret"], new_secret.as_str());
    t.patch(&format!("/api/backend/v1/users/{user_id}"), json!({ "first_name": "Ana" }), 200).await;
    deliver(&t).await;
    let seen = rx.deliveries();
    assert_eq!(seen.len(), 2);
    let d = &seen[1];
    assert_eq!(d.json()["type"], "user.updated");
    assert_eq!(d.header("webhook-signature").split(' ').count(), 2, "{}", d.header("webhook-signature"));
    python_verify(&python, &secret, d).expect("the old secret alone verifies");
    python_verify(&python, &new_secret, d).expect("the new secret alone verifies");

    // After the overlap only the new secret signs.
    t.clock.advance(TimeDelta::hours(25));
    create_user(&t, "bo@example.com").await;
    deliver(&t).await;
    let seen = rx.deliveries();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2].header("webhook-signature").split(' ').count(), 1);
    assert!(sdk_verify(&new_secret, &seen[2]));
    assert!(!sdk_verify(&secret, &seen[2]));
    t.stop().await;
}

async fn failures_follow_the_retry_schedule_then_fail(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let rx = Receiver::start(503).await;
    create_endpoint(&t, &rx.url, json!(["user.created"])).await;
    create_user(&t, "cy@example.com").await;
    assert_eq!(deliver(&t).await.claimed, 1, "the first attempt is immediate");
    let first_id = rx.deliveries()[0].header("webhook-id").to_owned();

    // 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each with up to 10 % jitter.
    let schedule = [5, 300, 1800, 7200, 18000, 36000, 36000];
    for (i, secs) in schedule.into_iter().enumerate() {
        t.clock.advance(TimeDelta::seconds(secs - 1));
        assert_eq!(deliver(&t).await.claimed, 0, "retry {} is not due before {secs} s", i + 1);
        t.clock.advance(TimeDelta::seconds(2 + secs / 10));
        assert_eq!(deliver(&t).await.claimed, 1, "retry {} is due after {secs} s and the jitter", i + 1);
        assert_eq!(rx.deliveries().len(), i + 2);
    }
    let seen = rx.deliveries();
    assert!(seen.iter().all(|d| d.header("webhook-id") == first_id), "retries keep the webhook-id");
    let stamps: Vec<i64> = seen.iter().map(|d| d.header("webhook-timestamp").parse().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "each attempt is signed afresh: {stamps:?}");

    t.clock.advance(TimeDelta::days(2));
    assert_eq!(deliver(&t).await.claimed, 0, "eight attempts in all");
    let failed = messages(&t, "state=failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 8);
    assert_eq!(failed[0]["last_status"], 503);
    assert!(failed[0].get("next_attempt_at").is_none());
    let tries = attempts(&t, failed[0]["message_id"].as_str().unwrap()).await;
    assert_eq!(tries.len(), 8);
    assert!(tries.iter().all(|a| a["status"] == 503));
    t.stop().await;
}

/// An endpoint failing without a single success for five days is disabled, says so with a
/// `webhook_endpoint.disabled` event, and starts afresh when enabled; one success ends a run.
async fn endpoints_failing_for_five_days_are_disabled(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let failing = Receiver::start(500).await;
    let watcher = Receiver::start(204).await;
    let flaky = Receiver::start(500).await;
    let (failing_ep, _) = create_endpoint(&t, &failing.url, json!(["user.created"])).await;
    let (flaky_ep, _) = create_endpoint(&t, &flaky.url, json!(["user.created"])).await;
    create_endpoint(&t, &watcher.url, json!(["webhook_endpoint.disabled"])).await;
    let started = t.clock.now();
    create_user(&t, "fa@example.com").await;
    deliver(&t).await;
    let ep = t.get(&format!("{ENDPOINTS}/{failing_ep}"), 200).await;
    let since: chrono::DateTime<chrono::Utc> = ep["failing_since"].as_str().expect("failing").parse().unwrap();
    assert!((since - started).abs() < TimeDelta::seconds(1), "{since} vs {started}");
    assert!(ep.get("disabled_reason").is_none(), "{ep}");

    // One success ends a run of failures.
    flaky.set_status(200);
    t.clock.advance(TimeDelta::seconds(6));
    deliver(&t).await;
    assert!(t.get(&format!("{ENDPOINTS}/{flaky_ep}"), 200).await.get("failing_since").is_none());
    flaky.set_status(500);

    // Four days in, a new event fails too: still enabled.
    t.clock.advance(TimeDelta::days(4));
    create_user(&t, "fb@example.com").await;
    deliver(&t).await;
    assert_eq!(t.get(&format!("{ENDPOINTS}/{failing_ep}"), 200).await["disabled"], false);

    // Past five days, the next failure disables it; the watcher hears of it.
    t.clock.advance(TimeDelta::days(1) + TimeDelta::minutes(1));
    create_user(&t, "fc@example.com").await;
    deliver(&t).await;
    let ep = t.get(&format!("{ENDPOINTS}/{failing_ep}"), 200).await;
    assert_eq!((ep["disabled"].as_bool(), ep["disabled_reason"].as_str()), (Some(true), Some("failing")), "{ep}");
    let flaky_now = t.get(&format!("{ENDPOINTS}/{flaky_ep}"), 200).await;
    assert_eq!(flaky_now["disabled"], false, "a run that began after the success is young");
    deliver(&t).await;
    let seen = watcher.wait_for(1).await;
    assert_eq!(seen.len(), 1);
    let body = seen[0].json();
    assert_eq!(body["type"], "webhook_endpoint.disabled");
    assert_eq!(body["data"]["endpoint_id"], failing_ep.as_str());
    assert_eq!(body["data"]["version"], ep["version"]);
    assert_eq!(body["data"]["url"], failing.url.as_str());
    assert_eq!(body["data"]["reason"], "failing");
    let before = failing.deliveries().len();
    create_user(&t, "fd@example.com").await;
    t.clock.advance(TimeDelta::days(1));
    deliver(&t).await;
    assert_eq!(failing.deliveries().len(), before, "a disabled endpoint gets nothing");

    let enabled = t.post(&format!("{ENDPOINTS}/{failing_ep}/enable"), json!({}), 200).await;
    assert!(enabled.get("disabled_reason").is_none() && enabled.get("failing_since").is_none(), "{enabled}");
    let manual = t.post(&format!("{ENDPOINTS}/{flaky_ep}/disable"), json!({}), 200).await;
    assert_eq!(manual["disabled_reason"], "manual");
    t.stop().await;
}

async fn redirects_timeouts_and_refused_connections_are_failures(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.webhooks.timeout_ms = 300).await;
    let redirect = Receiver::start(302).await;
    let hanging = Receiver::start(200).await;
    hanging.hang.store(true, Ordering::SeqCst);
    // A port that nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let (redirect_ep, _) = create_endpoint(&t, &redirect.url, json!([])).await;
    let (hanging_ep, _) = create_endpoint(&t, &hanging.url, json!([])).await;
    let (closed_ep, _) = create_endpoint(&t, &closed, json!([])).await;
    create_user(&t, "di@example.com").await;
    let batch = deliver(&t).await;
    assert_eq!((batch.claimed, batch.delivered), (3, 0), "{batch:?}");

    let seen = redirect.deliveries();
    assert_eq!(seen.len(), 1, "the redirect is not followed");
    let m = &messages(&t, &format!("endpoint_id={redirect_ep}")).await[0];
    assert_eq!((m["state"].as_str(), m["last_status"].as_i64()), (Some("pending"), Some(302)));
    assert!(m["next_attempt_at"].is_string(), "a 3xx is retried like any failure");

    let m = &messages(&t, &format!("endpoint_id={hanging_ep}")).await[0];
    let tries = attempts(&t, m["message_id"].as_str().unwrap()).await;
    assert!(tries[0].get("status").is_none(), "{tries:?}");
    assert!(tries[0]["error"].as_str().unwrap().contains("timed out"), "{tries:?}");
    assert!(tries[0]["latency_ms"].as_i64().unwrap() < 5000);

    let m = &messages(&t, &format!("endpoint_id={closed_ep}")).await[0];
    assert_eq!(m["state"], "pending");
    assert!(m["last_error"].as_str().unwrap().contains("connect"), "{m}");
    t.stop().await;
}

/// A raw TCP receiver on 127.0.0.1: `endless` answers 200 and then streams a body that never
/// ends; otherwise it reads the request and closes the connection without answering.
async fn raw_receiver(endless: bool) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = socket.read(&mut buf).await;
                if endless {
                    let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n").await;
                    let chunk = vec![b'x'; 64 * 1024];
                    while socket.write_all(&chunk).await.is_ok() {}
                }
            });
        }
    });
    (url, task)
}

/// A receiver streaming an endless body is read for 1 KiB only; one closing the connection is a
/// failure; the worker goes on delivering to a healthy endpoint beside them.
async fn endless_bodies_and_closed_connections_leave_the_worker_healthy(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.webhooks.timeout_ms = 2000).await;
    let (endless_url, endless_task) = raw_receiver(true).await;
    let (closing_url, closing_task) = raw_receiver(false).await;
    let healthy = Receiver::start(204).await;
    let (endless_ep, _) = create_endpoint(&t, &endless_url, json!([])).await;
    let (closing_ep, _) = create_endpoint(&t, &closing_url, json!([])).await;
    create_endpoint(&t, &healthy.url, json!([])).await;
    for i in 0..3 {
        create_user(&t, &format!("eb{i}@example.com")).await;
    }
    let started = Instant::now();
    let batch = deliver(&t).await;
    assert_eq!((batch.claimed, batch.delivered), (9, 6), "{batch:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "the endless body is not read to its end");
    assert_eq!(healthy.deliveries().len(), 3);

    for m in messages(&t, &format!("endpoint_id={endless_ep}")).await {
        assert_eq!(m["state"], "delivered", "a 200 is a success, whatever follows it");
        let tries = attempts(&t, m["message_id"].as_str().unwrap()).await;
        let body = tries[0]["response_body"].as_str().unwrap();
        assert_eq!(body.len(), 1024, "the first 1 KiB is kept");
    }
    for m in messages(&t, &format!("endpoint_id={closing_ep}")).await {
        assert_eq!(m["state"], "pending", "{m}");
        assert!(m.get("last_status").is_none(), "{m}");
        assert!(!m["last_error"].as_str().unwrap().is_empty(), "{m}");
    }
    endless_task.abort();
    closing_task.abort();
    t.stop().await;
}

async fn event_filters_disabled_and_deleted_endpoints(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let all = Receiver::start(200).await;
    let created_only = Receiver::start(200).await;
    let (all_ep, _) = create_endpoint(&t, &all.url, json!([])).await;
    let (created_ep, _) = create_endpoint(&t, &created_only.url, json!(["user.created", "user.created"])).await;
    let ep = t.get(&format!("{ENDPOINTS}/{created_ep}"), 200).await;
    assert_eq!(ep["event_types"], json!(["user.created"]), "repeats are dropped");

    let user_id = create_user(&t, "ed@example.com").await;
    t.post(&format!("/api/backend/v1/users/{user_id}/disable"), json!({}), 200).await;
    deliver(&t).await;
    let types = |rx: &Receiver| {
        rx.deliveries().iter().map(|d| d.json()["type"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let mut got = types(&all);
    got.sort();
    assert_eq!(got, vec!["user.created", "user.disabled"]);
    assert_eq!(types(&created_only), vec!["user.created"]);
    assert_eq!(messages(&t, "event_type=user.disabled").await.len(), 1);
    assert_eq!(messages(&t, &format!("endpoint_id={created_ep}&event_type=user.disabled")).await.len(), 0);

    // A disabled endpoint gets nothing new; enabled again, it gets later events.
    let disabled = t.post(&format!("{ENDPOINTS}/{all_ep}/disable"), json!({}), 200).await;
    assert_eq!(disabled["disabled"], true);
    create_user(&t, "fay@example.com").await;
    deliver(&t).await;
    assert_eq!(all.deliveries().len(), 2);
    assert_eq!(created_only.deliveries().len(), 2);
    t.post(&format!("{ENDPOINTS}/{all_ep}/enable"), json!({}), 200).await;
    create_user(&t, "gus@example.com").await;
    deliver(&t).await;
    assert_eq!(all.deliveries().len(), 3);

    // Fan-out is idempotent: a second pass creates nothing more.
    assert_eq!(deliver(&t).await.fanned_out, 0);

    // Updating the filter; deleting the endpoint takes its messages with it.
    let patched =
        t.patch(&format!("{ENDPOINTS}/{created_ep}"), json!({ "event_types": [], "description": null }), 200).await;
    assert_eq!(patched["event_types"], json!([]));
    assert!(patched.get("description").is_none());
    assert_eq!(patched["version"], 2);
    t.delete(&format!("{ENDPOINTS}/{created_ep}"), 204).await;
    let gone = t.get(&format!("{ENDPOINTS}/{created_ep}"), 404).await;
    assert_eq!(problem_code(&gone), "webhook-endpoint-not-found");
    assert_eq!(messages(&t, &format!("endpoint_id={created_ep}")).await.len(), 0);
    t.stop().await;
}

async fn endpoints_page_and_secrets_are_sealed_at_rest(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let mut ids = Vec::new();
    let mut secrets = Vec::new();
    for i in 0..3 {
        let (id, secret) = create_endpoint(&t, &format!("https://hooks{i}.example.com/in"), json!([])).await;
        ids.push(id);
        secrets.push(secret);
    }
    let page = t.get(&format!("{ENDPOINTS}?limit=2"), 200).await;
    assert_eq!(page["endpoints"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = t.get(&format!("{ENDPOINTS}?limit=2&cursor={cursor}"), 200).await;
    assert_eq!(rest["endpoints"][0]["endpoint_id"], ids[2].as_str());
    assert!(rest.get("next_cursor").is_none());
    assert!(t.get(&format!("{ENDPOINTS}/{}", ids[0]), 200).await.get("secret").is_none(), "never in listings");

    let shown = t.get(&format!("{ENDPOINTS}/{}/secret", ids[0]), 200).await;
    assert_eq!(shown["secret"], secrets[0].as_str());
    let rotated = t.post(&format!("{ENDPOINTS}/{}/secret/rotate", ids[0]), json!({}), 200).await;
    let new_secret = rotated["secret"].as_str().unwrap();

    let id = Uuid::parse_str(&ids[0]).unwrap();
    let row = {
        let mut c = t.app().db().acquire().await.unwrap();
        get_endpoint(c.ex(), WebhookEndpointId::from_uuid(id)).await.unwrap().unwrap()
    };
    let stored = [row.secret_sealed.clone(), row.previous_secret_sealed.clone().unwrap()];
    for secret in [&secrets[0], &new_secret.to_owned()] {
        let key = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &secret[6..]).unwrap();
        for bytes in &stored {
            assert!(!bytes.windows(key.len()).any(|w| w == key.as_slice()), "the key bytes are not stored");
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret text is not stored");
        }
    }
    assert!(crate::support::audit(&t, &ids[0]).await.iter().any(|a| a.action == "webhook_endpoint.secret_revealed"));
    t.stop().await;
}

async fn test_events_and_replays(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let rx = Receiver::start(500).await;
    let (endpoint_id, _) = create_endpoint(&t, &rx.url, json!(["user.deleted"])).await;
    let queued = t.post(&format!("{ENDPOINTS}/{endpoint_id}/test"), json!({}), 202).await;
    assert_eq!(queued["event_type"], "webhook.test");
    assert_eq!(queued["state"], "pending");
    let message_id = queued["message_id"].as_str().unwrap().to_owned();
    // Fail all eight attempts.
    for _ in 0..8 {
        deliver(&t).await;
        t.clock.advance(TimeDelta::hours(12));
    }
    assert_eq!(rx.deliveries().len(), 8);
    assert_eq!(rx.deliveries()[0].json()["data"]["endpoint_id"], endpoint_id.as_str());
    assert_eq!(t.get(&format!("{MESSAGES}/{message_id}"), 200).await["state"], "failed");
    assert_eq!(messages(&t, "event_type=webhook.test&state=failed").await.len(), 1);

    // Replay one message: same webhook-id, fresh attempts.
    rx.set_status(204);
    let replayed = t.post(&format!("{MESSAGES}/{message_id}/replay"), json!({}), 202).await;
    assert_eq!((replayed["state"].as_str(), replayed["attempts"].as_i64()), (Some("pending"), Some(0)));
    assert_eq!(deliver(&t).await.delivered, 1);
    let seen = rx.deliveries();
    assert_eq!(seen.len(), 9);
    assert_eq!(seen[8].header("webhook-id"), seen[0].header("webhook-id"));
    let m = t.get(&format!("{MESSAGES}/{message_id}"), 200).await;
    assert_eq!(m["state"], "delivered");
    assert_eq!(attempts(&t, &message_id).await.len(), 9, "the earlier attempts are kept");

    // Replay every failed message since a time.
    rx.set_status(500);
    let since = t.clock.now();
    let second = t.post(&format!("{ENDPOINTS}/{endpoint_id}/test"), json!({}), 202).await;
    for _ in 0..8 {
        deliver(&t).await;
        t.clock.advance(TimeDelta::hours(12));
    }
    assert_eq!(t.get(&format!("{MESSAGES}/{}", second["message_id"].as_str().unwrap()), 200).await["state"], "failed");
    rx.set_status(200);
    let later = since + TimeDelta::seconds(1);
    let none = t.post(&format!("{MESSAGES}/replay"), json!({ "since": later }), 202).await;
    assert_eq!(none["replayed"], 0);
    let body = json!({ "since": since, "endpoint_id": endpoint_id });
    assert_eq!(t.post(&format!("{MESSAGES}/replay"), body, 202).await["replayed"], 1);
    assert_eq!(deliver(&t).await.delivered, 1);
    assert_eq!(messages(&t, "state=failed").await.len(), 0);
    assert_eq!(messages(&t, "state=delivered").await.len(), 2);

    let unknown = t.post(&format!("{MESSAGES}/{}/replay", Uuid::now_v7()), json!({}), 404).await;
    assert_eq!(problem_code(&unknown), "webhook-message-not-found");
    let metrics = t.metrics().await;
    assert!(metrics.contains("tenantry_webhook_messages{state=\"delivered\"} 2"), "{metrics}");
    assert!(metrics.contains("tenantry_webhook_oldest_pending_age_seconds 0.000"), "nothing pending: {metrics}");
    assert!(metrics.contains("tenantry_webhook_events_awaiting_fanout 0"), "{metrics}");
    create_user(&t, "late@example.com").await;
    let metrics = t.metrics().await;
    assert!(metrics.contains("tenantry_webhook_events_awaiting_fanout 1"), "{metrics}");
    rx.set_status(500);
    t.post(&format!("{ENDPOINTS}/{endpoint_id}/test"), json!({}), 202).await;
    deliver(&t).await;
    t.clock.advance(TimeDelta::seconds(90));
    let metrics = t.metrics().await;
    assert!(
        metrics.contains("tenantry_webhook_oldest_pending_age_seconds 90.000"),
        "a failed first attempt waits: {metrics}"
    );
    t.stop().await;
}

/// Creating an endpoint at `url` is a 422 with `code` on the `url` field.
async fn refuse(t: &TestApp, url: &str, code: &str) {
    let body = t.post(ENDPOINTS, json!({ "url": url }), 422).await;
    assert_eq!(problem_code(&body), code, "{url}: {body}");
    assert_eq!(body["errors"][0]["field"], "url", "{url}");
}

async fn bad_input_and_internal_targets_are_refused(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.webhooks.allow_private_targets = false).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://127.1/",
    ] {
        refuse(&t, url, "url-target-not-allowed").await;
    }
    for url in ["ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "gopher://example.com/"] {
        refuse(&t, url, "url-scheme-not-allowed").await;
    }
    for url in ["not a url", "", "//example.com/hook", "https://user:pw@example.com/"] {
        refuse(&t, url, "invalid-url").await;
    }
    let body =
        t.post(ENDPOINTS, json!({ "url": "https://93.184.216.34/", "event_types": ["user.exploded"] }), 422).await;
    assert_eq!(problem_code(&body), "unknown-event-type");
    assert_eq!(body["errors"][0]["field"], "event_types");
    let body = t.post(ENDPOINTS, json!({ "url": "http://10.0.0.1/", "event_types": ["nope"] }), 422).await;
    assert_eq!(problem_code(&body), "invalid-input");
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let body = t.post(ENDPOINTS, json!({ "url": "https://93.184.216.34/", "description": "x".repeat(501) }), 422).await;
    assert_eq!(problem_code(&body), "invalid-description");
    t.post(ENDPOINTS, json!({ "event_types": [] }), 400).await;
    t.get(&format!("{ENDPOINTS}/not-a-uuid"), 400).await;
    assert_eq!(problem_code(&t.get(&format!("{MESSAGES}?state=lost"), 422).await), "invalid-state");
    assert_eq!(problem_code(&t.get(&format!("{MESSAGES}?event_type=user.exploded"), 422).await), "unknown-event-type");
    assert_eq!(problem_code(&t.get(&format!("{ENDPOINTS}?cursor=zzz"), 422).await), "invalid-cursor");

    // A public literal address is accepted (nothing is sent: no worker runs here).
    let (id, _) = create_endpoint(&t, "https://93.184.216.34/hook", json!(["org.created"])).await;
    let body = t.patch(&format!("{ENDPOINTS}/{id}"), json!({ "url": "http://[::ffff:10.0.0.1]/" }), 422).await;
    assert_eq!(problem_code(&body), "url-target-not-allowed");
    let resp = t.client.post(t.url(ENDPOINTS)).json(&json!({ "url": "https://93.184.216.34/" })).send().await.unwrap();
    assert_eq!(resp.status(), 401, "the backend key is required");
    t.stop().await;
}

async fn the_server_runs_the_worker(engine: Engine) {
    let rx = Receiver::start(200).await;
    let t = TestApp::spawn_with(engine, |c| c.workers_enabled = true).await;
    create_endpoint(&t, &rx.url, json!(["user.created"])).await;
    create_user(&t, "hal@example.com").await;
    let seen = rx.wait_for(1).await;
    assert_eq!(seen.len(), 1, "the worker in serve delivers after the commit");
    assert_eq!(seen[0].json()["type"], "user.created");
    t.stop().await;
}

/// A receiver that answers `410 Gone` has its endpoint disabled by that very attempt, with the
/// `webhook_endpoint.disabled` event and an audit entry; its message waits, and nothing new is
/// sent to it.
async fn gone_disables_the_endpoint_at_once(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let gone = Receiver::start(410).await;
    let watcher = Receiver::start(204).await;
    let (gone_ep, _) = create_endpoint(&t, &gone.url, json!(["user.created"])).await;
    create_endpoint(&t, &watcher.url, json!(["webhook_endpoint.disabled"])).await;
    create_user(&t, "go@example.com").await;
    assert_eq!(deliver(&t).await.claimed, 1);
    let ep = t.get(&format!("{ENDPOINTS}/{gone_ep}"), 200).await;
    assert_eq!((ep["disabled"].as_bool(), ep["disabled_reason"].as_str()), (Some(true), Some("gone")), "{ep}");
    assert_eq!(ep["version"], 2);
    let actions: Vec<(String, Value)> =
        crate::support::audit(&t, &gone_ep).await.into_iter().map(|a| (a.action, a.details.0)).collect();
    let disabled = actions.iter().find(|(a, _)| a == "webhook_endpoint.disabled").expect("an audit entry");
    assert_eq!(disabled.1["reason"], "gone");

    deliver(&t).await;
    let seen = watcher.wait_for(1).await;
    assert_eq!(seen.len(), 1, "the watcher hears of it");
    let body = seen[0].json();
    assert_eq!(body["type"], "webhook_endpoint.disabled");
    assert_eq!(body["data"]["endpoint_id"], gone_ep.as_str());
    assert_eq!(body["data"]["version"], 2);
    assert_eq!(body["data"]["reason"], "gone");
    assert!(body["data"].get("failing_since").is_none(), "no failure before the 410: {body}");

    let waiting = messages(&t, &format!("endpoint_id={gone_ep}")).await;
    assert_eq!(waiting.len(), 1);
    assert_eq!((waiting[0]["state"].as_str(), waiting[0]["last_status"].as_i64()), (Some("pending"), Some(410)));
    create_user(&t, "gone-again@example.com").await;
    t.clock.advance(TimeDelta::hours(1));
    deliver(&t).await;
    assert_eq!(gone.deliveries().len(), 1, "a disabled endpoint gets nothing more");
    assert_eq!(messages(&t, &format!("endpoint_id={gone_ep}")).await.len(), 1, "no new message for it");
    t.stop().await;
}

/// `Retry-After` on 429 and 503 postpones the next attempt (seconds or an HTTP date), never past
/// 10 h and never sooner than the schedule; 0, garbage, or the header on another status leave the
/// schedule as it is.
async fn retry_after_is_honoured_within_the_schedule(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let rx = Receiver::start(503).await;
    create_endpoint(&t, &rx.url, json!(["user.created"])).await;
    create_user(&t, "ra@example.com").await;

    // 503, Retry-After: 120 (the schedule says 5 s): not before 120 s.
    rx.set_retry_after(Some("120"));
    assert_eq!(deliver(&t).await.claimed, 1);
    t.clock.advance(TimeDelta::seconds(119));
    assert_eq!(deliver(&t).await.claimed, 0, "not before Retry-After");
    t.clock.advance(TimeDelta::seconds(1));
    // 429 with an HTTP date 20 min ahead (the schedule says 5 min).
    rx.set_status(429);
    let at = (t.clock.now() + TimeDelta::minutes(20)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    rx.set_retry_after(Some(&at));
    assert_eq!(deliver(&t).await.claimed, 1, "due at 120 s");
    t.clock.advance(TimeDelta::minutes(20) - TimeDelta::seconds(1));
    assert_eq!(deliver(&t).await.claimed, 0, "not before the date");
    t.clock.advance(TimeDelta::seconds(1));
    // Three days asked for: capped at 10 h.
    rx.set_retry_after(Some("259200"));
    assert_eq!(deliver(&t).await.claimed, 1);
    t.clock.advance(TimeDelta::hours(10));
    // 0 falls back to the schedule (the fourth failure: 2 h + up to 10 %).
    rx.set_retry_after(Some("0"));
    assert_eq!(deliver(&t).await.claimed, 1, "due after 10 h, not 3 days");
    t.clock.advance(TimeDelta::hours(2) + TimeDelta::minutes(13));
    // Garbage too (the fifth: 5 h + up to 10 %).
    rx.set_retry_after(Some("later, please"));
    assert_eq!(deliver(&t).await.claimed, 1, "Retry-After: 0 is the schedule");
    t.clock.advance(TimeDelta::hours(5) + TimeDelta::minutes(31));
    // On a 500 the header means nothing (the sixth: 10 h).
    rx.set_status(500);
    rx.set_retry_after(Some("1"));
    assert_eq!(deliver(&t).await.claimed, 1, "garbage is the schedule");
    t.clock.advance(TimeDelta::hours(9));
    assert_eq!(deliver(&t).await.claimed, 0, "a 500's Retry-After does not shorten the schedule");
    // A shorter Retry-After than the schedule does not make it sooner either.
    t.clock.advance(TimeDelta::hours(2));
    rx.set_status(503);
    assert_eq!(deliver(&t).await.claimed, 1);
    t.clock.advance(TimeDelta::hours(9));
    assert_eq!(deliver(&t).await.claimed, 0, "Retry-After: 1 does not advance a 10 h wait");
    t.clock.advance(TimeDelta::hours(2));
    assert_eq!(deliver(&t).await.claimed, 1, "the eighth and last attempt");
    let failed = messages(&t, "state=failed").await;
    assert_eq!(failed.len(), 1, "Retry-After adds no attempt");
    assert_eq!(failed[0]["attempts"], 8);
    assert_eq!(rx.deliveries().len(), 8);
    t.stop().await;
}

engine_tests!(
    gone_disables_the_endpoint_at_once,
    retry_after_is_honoured_within_the_schedule,
    endless_bodies_and_closed_connections_leave_the_worker_healthy,
    endpoints_failing_for_five_days_are_disabled,
    deliveries_verify_with_standard_webhooks_across_rotation,
    failures_follow_the_retry_schedule_then_fail,
    redirects_timeouts_and_refused_connections_are_failures,
    event_filters_disabled_and_deleted_endpoints,
    endpoints_page_and_secrets_are_sealed_at_rest,
    test_events_and_replays,
    bad_input_and_internal_targets_are_refused,
    the_server_runs_the_worker,
);
