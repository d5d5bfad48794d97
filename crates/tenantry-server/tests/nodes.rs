//! The `tenantry` binary as operators run it, as child processes: webhook delivery survives a
//! `kill -9` mid-delivery on both engines, and two nodes on one PostgreSQL drain one outbox with
//! no attempt made twice at once and nothing missed.
//!
//! The truth is the database: every event in `outbox_events` must reach the receiver.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::listener::TcpAcceptor;
use poem::{Request, Response};
use serde_json::{json, Value};
use tenantry_core::WebhookMessageId;
use tenantry_store::outbox::list_events;
use tenantry_store::webhooks::{list_messages, MessageQuery, MessageState};
use tenantry_store::{Db, DbOptions};
use tenantry_testkit::{engine_tests, postgres_url, Engine, TestDb};

mod support;

use support::{create_api_key, Node};

/// Webhooks to the loopback receiver, and a lease of 2 × 1 s + 5 s: a killed node's messages
/// come back after 7 s.
const NODE_ENV: &[(&str, &str)] =
    &[("TENANTRY_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"), ("TENANTRY_WEBHOOKS__TIMEOUT_MS", "1000")];

impl Node {
    async fn post(&self, key: &str, path: &str, body: Value) -> reqwest::Result<reqwest::Response> {
        self.client.post(format!("{}{path}", self.base)).bearer_auth(key).json(&body).send().await
    }

    /// This node's own attempt counter for `outcome`, from `/metrics` on its management listener.
    async fn attempts(&self, outcome: &str) -> u64 {
        let text = self.metrics().await;
        let needle = format!("tenantry_webhook_attempts_total{{outcome=\"{outcome}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(&needle)).and_then(|n| n.parse().ok()).unwrap_or(0)
    }
}

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    /// Requests per `webhook-id`.
    counts: HashMap<String, usize>,
    /// `webhook-id`s being answered right now.
    in_flight: HashSet<String>,
    /// `webhook-id`s that arrived while a request with the same id was still being answered.
    overlaps: Vec<String>,
}

/// A receiver on 127.0.0.1 that answers 204 after `delay`, so attempts overlap in time.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(delay: Duration) -> Receiver {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let s = seen.clone();
        let endpoint = poem::endpoint::make(move |req: Request| {
            let seen = s.clone();
            async move {
                let id = req.headers().get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                {
                    let mut seen = seen.lock().unwrap();
                    *seen.counts.entry(id.clone()).or_default() += 1;
                    if !seen.in_flight.insert(id.clone()) {
                        seen.overlaps.push(id.clone());
                    }
                }
                tokio::time::sleep(delay).await;
                seen.lock().unwrap().in_flight.remove(&id);
                Response::builder().status(poem::http::StatusCode::NO_CONTENT).finish()
            }
        });
        let acceptor = TcpAcceptor::from_tokio(listener).unwrap();
        let task = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(endpoint).await;
        });
        Receiver { url, seen, task }
    }

    fn distinct(&self) -> usize {
        self.seen.lock().unwrap().counts.len()
    }

    fn ids(&self) -> HashSet<String> {
        self.seen.lock().unwrap().counts.keys().cloned().collect()
    }
}

/// Every event id in the outbox.
async fn outbox_ids(db: &Db) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut after: Option<tenantry_core::EventId> = None;
    let mut c = db.acquire().await.unwrap();
    loop {
        let page = list_events(c.ex(), after, 500).await.unwrap();
        let Some(last) = page.last() else { return ids };
        after = Some(last.id.into());
        ids.extend(page.iter().map(|e| e.id.to_string()));
    }
}

/// The outbox once it has stopped growing after a kill: on PostgreSQL a `COMMIT` the killed node
/// had already sent still completes in its backend a moment later (the request was never
/// answered, but its event is real and must be delivered too).
async fn settled_outbox_ids(db: &Db) -> HashSet<String> {
    let mut ids = outbox_ids(db).await;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let again = outbox_ids(db).await;
        if again == ids {
            return ids;
        }
        ids = again;
    }
}

/// Every webhook message, for its state and attempt count.
async fn all_messages(db: &Db) -> Vec<tenantry_store::webhooks::MessageRow> {
    let mut out = Vec::new();
    let mut c = db.acquire().await.unwrap();
    loop {
        let q = MessageQuery {
            after: out.last().map(|m: &tenantry_store::webhooks::MessageRow| WebhookMessageId::from_uuid(m.id)),
            limit: 500,
            ..Default::default()
        };
        let page = list_messages(c.ex(), &q).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// Waits (at most 20 s) until every message is recorded as delivered; returns them.
async fn wait_all_delivered(db: &Db) -> Vec<tenantry_store::webhooks::MessageRow> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let messages = all_messages(db).await;
        if messages.iter().all(|m| m.state == MessageState::Delivered) {
            return messages;
        }
        assert!(Instant::now() < deadline, "every message ends delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (at most `limit`) until the receiver has seen every event in the outbox.
async fn wait_for_every_event(db: &Db, rx: &Receiver, limit: Duration) -> HashSet<String> {
    let deadline = Instant::now() + limit;
    loop {
        let expected = outbox_ids(db).await;
        let missing: Vec<String> = expected.difference(&rx.ids()).cloned().collect();
        if missing.is_empty() {
            return expected;
        }
        assert!(Instant::now() < deadline, "{} of {} events never reached the receiver", missing.len(), expected.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn create_endpoint(node: &Node, key: &str, url: &str) {
    let r = node.post(key, "/api/backend/v1/webhooks/endpoints", json!({ "url": url })).await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

/// Creates users through `node` until `stop`; returns how many requests succeeded.
fn create_users(
    node_base: String,
    key: String,
    prefix: &'static str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut created = 0;
        for i in 0.. {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let body = json!({ "email": format!("{prefix}{i}@example.com") });
            match client.post(format!("{node_base}/api/backend/v1/users")).bearer_auth(&key).json(&body).send().await {
                Ok(r) if r.status() == 201 => created += 1,
                Ok(r) => panic!("create user: {}", r.status()),
                // The node was killed under this request.
                Err(_) => break,
            }
        }
        created
    })
}

async fn open(url: &str) -> Db {
    Db::connect(url, &DbOptions::default()).await.unwrap()
}

/// Deliveries in flight and events not yet fanned out when the node is killed: after a restart
/// every event in the outbox reaches the receiver at least once.
async fn kill_9_mid_delivery_loses_no_event(engine: Engine) {
    let db = TestDb::new(engine).await;
    let workdir = db.scratch_dir();
    let rx = Receiver::start(Duration::from_millis(100)).await;
    let mut node = Node::start(db.url(), &workdir, NODE_ENV).await;
    let key = create_api_key(db.url(), &workdir);
    create_endpoint(&node, &key, &rx.url).await;

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = ["a", "b", "c", "d"]
        .into_iter()
        .map(|p| create_users(node.base.clone(), key.clone(), p, stop.clone()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while rx.distinct() < 40 {
        assert!(Instant::now() < deadline, "deliveries did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Long enough for some attempts to be recorded, while others are under way.
    tokio::time::sleep(Duration::from_millis(300)).await;
    node.kill();
    stop.store(true, Ordering::SeqCst);
    let mut created = 0;
    for w in writers {
        created += w.await.unwrap();
    }
    let store = open(db.url()).await;
    let before_restart = rx.distinct();
    let events = settled_outbox_ids(&store).await;
    assert!(events.len() >= created, "every acknowledged user has its event");
    let recorded = all_messages(&store).await.iter().filter(|m| m.state == MessageState::Delivered).count();
    assert!(recorded < events.len(), "the kill came mid-delivery: {recorded} of {} recorded", events.len());

    let node = Node::start(db.url(), &workdir, NODE_ENV).await;
    let r = node.post(&key, "/api/backend/v1/users", json!({ "email": "after@example.com" })).await.unwrap();
    assert_eq!(r.status(), 201);
    let expected = wait_for_every_event(&store, &rx, Duration::from_secs(60)).await;
    assert_eq!(expected.len(), events.len() + 1);
    let messages = wait_all_delivered(&store).await;
    assert_eq!(messages.len(), expected.len(), "one message per event");
    let again = rx.seen.lock().unwrap().counts.values().filter(|n| **n > 1).count();
    eprintln!(
        "{engine:?}: {} events; at the kill {before_restart} had arrived and {recorded} were recorded; \
         {again} arrived again after the restart",
        expected.len()
    );
    drop(node);
    store.close().await;
}

/// Two nodes on one PostgreSQL database, events created through both: every event is delivered
/// exactly once (no crash, so no lease runs out), never twice at the same time, and both nodes
/// deliver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_drain_one_outbox() {
    if postgres_url().is_none() {
        eprintln!("skipped: set TENANTRY_TEST_DATABASE_URL to run on PostgreSQL");
        return;
    }
    let db = TestDb::postgres().await;
    let workdir = db.scratch_dir();
    let rx = Receiver::start(Duration::from_millis(20)).await;
    let a = Node::start(db.url(), &workdir, NODE_ENV).await;
    let b = Node::start(db.url(), &workdir, NODE_ENV).await;
    let key = create_api_key(db.url(), &workdir);
    create_endpoint(&a, &key, &rx.url).await;

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = [(&a, "a"), (&b, "b"), (&a, "c"), (&b, "d")]
        .into_iter()
        .map(|(n, p)| create_users(n.base.clone(), key.clone(), p, stop.clone()))
        .collect();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::SeqCst);
    let mut created = 0;
    for w in writers {
        created += w.await.unwrap();
    }
    assert!(created >= 100, "only {created} users in 4 s");

    let store = open(db.url()).await;
    let expected = wait_for_every_event(&store, &rx, Duration::from_secs(60)).await;
    assert_eq!(expected.len(), created);
    {
        let seen = rx.seen.lock().unwrap();
        assert!(seen.overlaps.is_empty(), "attempts made twice at once: {:?}", seen.overlaps);
        let repeated: Vec<_> = seen.counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(repeated.is_empty(), "delivered more than once: {repeated:?}");
    }
    let messages = wait_all_delivered(&store).await;
    assert!(messages.iter().all(|m| m.attempts == 1), "one attempt per message");
    let (da, db_) = (a.attempts("delivered").await, b.attempts("delivered").await);
    assert_eq!(da + db_, created as u64, "the nodes' counters add up");
    assert!(da > 0 && db_ > 0, "both nodes delivered: {da} and {db_}");
    eprintln!("{created} events: node a delivered {da}, node b {db_}");
    store.close().await;
}

engine_tests!(kill_9_mid_delivery_loses_no_event);
