//! The `billing-sync` example (`examples/billing-sync`) against a real Tenantry: it runs
//! in-process on a free port, registered as a webhook endpoint, and calls the backend API with
//! the test app's key. Deliveries are driven with the worker's `run_once`, so every step is
//! deterministic; the customer file is polled with a deadline, never slept on.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use serde_json::{json, Value};
use tenantry_core::Clock;
use tenantry_testkit::{engine_tests, Engine, TestApp};
use tenantry_webhooks::sign::sign;
use tenantry_webhooks::WebhookSecret;

use crate::support::problem_code;

const ENDPOINTS: &str = "/api/backend/v1/webhooks/endpoints";

/// billing-sync, serving on 127.0.0.1 with its data in a temporary folder.
struct BillingSync {
    base: String,
    secret: String,
    endpoint_id: String,
    data: tempfile::TempDir,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BillingSync {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl BillingSync {
    /// Binds a free port, registers `…/webhooks/tenantry` there as an endpoint of `t` (the test
    /// kit allows loopback targets), and starts billing-sync with the endpoint's secret.
    async fn start(t: &TestApp) -> BillingSync {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("bound address");
        let base = format!("http://{addr}");
        let created = t
            .post(ENDPOINTS, json!({ "url": format!("{base}/webhooks/tenantry"), "description": "billing-sync" }), 201)
            .await;
        let secret = created["secret"].as_str().expect("secret").to_owned();
        let endpoint_id = created["endpoint"]["endpoint_id"].as_str().expect("endpoint id").to_owned();
        let data = tempfile::tempdir().expect("a temporary folder");
        let config = billing_sync::Config {
            listen: addr,
            tenantry_url: t.base.clone(),
            api_key: t.api_key.clone(),
            webhook_secret: secret.clone(),
            data_dir: data.path().to_owned(),
        };
        let task = tokio::spawn(async move {
            if let Err(e) = billing_sync::serve(config, listener, std::future::pending()).await {
                panic!("billing-sync failed: {e:#}");
            }
        });
        BillingSync { base, secret, endpoint_id, data, http: reqwest::Client::new(), task }
    }

    /// `POST /billing/plan`; asserts the status and returns the body.
    async fn change_plan(&self, org_id: &str, plan: &str, expected: u16) -> Value {
        let resp = self
            .http
            .post(format!("{}/billing/plan", self.base))
            .json(&json!({ "org_id": org_id, "plan": plan }))
            .send()
            .await
            .expect("billing-sync answers");
        tenantry_testkit::expect_status(resp, &format!("plan {plan}"), expected).await
    }

    /// Posts `body` to the webhook route with the given headers; returns the status and body.
    async fn post_webhook(&self, id: &str, timestamp: i64, signature: &str, body: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/webhooks/tenantry", self.base))
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("billing-sync answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") })
    }

    /// The customer record of `org_id` in the data file, once `ready` holds for it (at most 10 s).
    async fn wait_for_customer(&self, org_id: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let customer = read_customers(self.data.path())["customers"][org_id].clone();
            if ready(&customer) {
                return customer;
            }
            assert!(!self.task.is_finished(), "billing-sync stopped");
            assert!(Instant::now() < deadline, "no such customer record in time; last seen: {customer}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The customer file as billing-sync last wrote it (`{}` before the first write).
fn read_customers(dir: &Path) -> Value {
    match std::fs::read(dir.join(billing_sync::customers::FILE_NAME)) {
        Ok(bytes) => serde_json::from_slice(&bytes).expect("the file is whole JSON (it is replaced atomically)"),
        Err(_) => json!({}),
    }
}

/// One delivery pass at the manual clock's time.
async fn deliver(t: &TestApp) -> tenantry_webhooks::worker::Batch {
    t.app().webhook_worker().expect("worker").run_once(t.clock.now()).await.expect("worker pass")
}

/// The endpoint's messages, oldest first.
async fn messages(t: &TestApp, endpoint_id: &str) -> Vec<Value> {
    let page = t.get(&format!("/api/backend/v1/webhooks/messages?endpoint_id={endpoint_id}&limit=200"), 200).await;
    page["messages"].as_array().expect("messages").clone()
}

async fn last_attempt(t: &TestApp, message_id: &str) -> Value {
    let list = t.get(&format!("/api/backend/v1/webhooks/messages/{message_id}/attempts"), 200).await;
    list["attempts"].as_array().and_then(|a| a.last()).cloned().expect("an attempt")
}

async fn customers_follow_orgs_and_plans_set_seat_limits(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let sync = BillingSync::start(&t).await;

    // org.created opens the customer record.
    let org = t.post("/api/backend/v1/orgs", json!({ "name": "Acme Robotics" }), 201).await;
    let org_id = org["org_id"].as_str().expect("org id").to_owned();
    let batch = deliver(&t).await;
    assert_eq!((batch.fanned_out, batch.delivered), (1, 1), "{batch:?}");
    let customer = sync.wait_for_customer(&org_id, |c| c["version"] == 1).await;
    assert_eq!(customer["name"], "Acme Robotics");
    assert_eq!(customer["slug"], org["slug"]);
    assert_eq!(
        (&customer["deleted"], &customer["plan"], &customer["max_users"]),
        (&json!(false), &Value::Null, &Value::Null)
    );

    // Plan changes set max_users in Tenantry through the backend API.
    let on_startup = sync.change_plan(&org_id, "startup", 200).await;
    assert_eq!(
        (&on_startup["plan"], &on_startup["max_users"], &on_startup["version"]),
        (&json!("startup"), &json!(5), &json!(2))
    );
    assert_eq!(t.get(&format!("/api/backend/v1/orgs/{org_id}"), 200).await["max_users"], 5);
    let on_growth = sync.change_plan(&org_id, "growth", 200).await;
    assert_eq!((&on_growth["plan"], &on_growth["max_users"]), (&json!("growth"), &Value::Null));
    let in_tenantry = t.get(&format!("/api/backend/v1/orgs/{org_id}"), 200).await;
    assert_eq!((&in_tenantry["max_users"], &in_tenantry["version"]), (&Value::Null, &json!(3)));

    // Tenantry's org.updated for both changes (versions 2 and 3) arrive after the record already
    // reflects version 3: accepted (2xx, so no retries) and discarded as stale.
    let batch = deliver(&t).await;
    assert_eq!((batch.fanned_out, batch.delivered), (2, 2), "{batch:?}");
    let all = messages(&t, &sync.endpoint_id).await;
    let types: Vec<&str> = all.iter().map(|m| m["event_type"].as_str().expect("type")).collect();
    assert_eq!(types, ["org.created", "org.updated", "org.updated"]);
    for m in &all[1..] {
        let attempt = last_attempt(&t, m["message_id"].as_str().expect("id")).await;
        assert_eq!(attempt["status"], 200);
        assert_eq!(attempt["response_body"], r#"{"outcome":"stale"}"#);
    }
    let customer = sync.wait_for_customer(&org_id, |c| c["plan"] == "growth").await;
    assert_eq!((&customer["max_users"], &customer["version"]), (&Value::Null, &json!(3)));

    // Input errors are billing-sync's own; Tenantry's errors are passed on.
    let problem = sync.change_plan(&org_id, "enterprise", 422).await;
    assert_eq!(problem["type"], "urn:billing-sync:problem:unknown-plan");
    let missing = "0190a1b2-0000-7000-8000-000000000000";
    let problem = sync.change_plan(missing, "hobby", 404).await;
    assert_eq!(problem["type"], "urn:billing-sync:problem:org-not-found");
    assert_eq!(problem_code(&problem["tenantry"]), "org-not-found", "{problem}");

    // org.deleted marks the customer deleted; the record stays.
    t.delete(&format!("/api/backend/v1/orgs/{org_id}"), 204).await;
    assert_eq!(deliver(&t).await.delivered, 1);
    let customer = sync.wait_for_customer(&org_id, |c| c["deleted"] == true).await;
    assert_eq!((&customer["version"], &customer["plan"]), (&json!(4), &json!("growth")));
    // Seat limits of a deleted org cannot be changed any more: Tenantry's 404, passed on.
    let problem = sync.change_plan(&org_id, "hobby", 404).await;
    assert_eq!(problem_code(&problem["tenantry"]), "org-not-found");
    t.stop().await;
}

async fn forged_stale_and_repeated_deliveries_change_nothing(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let sync = BillingSync::start(&t).await;
    let org = t.post("/api/backend/v1/orgs", json!({ "name": "Globex" }), 201).await;
    let org_id = org["org_id"].as_str().expect("org id").to_owned();
    assert_eq!(deliver(&t).await.delivered, 1);
    let created = sync.wait_for_customer(&org_id, |c| c["version"] == 1).await;

    // The genuine delivery, re-sent by hand.
    let message = messages(&t, &sync.endpoint_id).await.pop().expect("the org.created message");
    let (id, body) = (message["event_id"].as_str().expect("id"), message["payload"].as_str().expect("payload"));
    let now = t.clock_now();
    let secret = WebhookSecret::parse(&sync.secret).expect("whsec_ secret");

    // Tampered with, signed with another secret, unsigned: 401, nothing changes.
    let renamed = body.replace("Globex", "Initech");
    let forged = [
        (sign(&secret, id, now, body.as_bytes()), renamed.as_str(), "invalid-signature"),
        (sign(&WebhookSecret::generate(), id, now, renamed.as_bytes()), renamed.as_str(), "invalid-signature"),
        (String::new(), renamed.as_str(), "invalid-signature"),
        (sign(&secret, id, now - 600, body.as_bytes()), body, "invalid-signature"),
    ];
    for (signature, payload, code) in forged {
        let (status, problem) = sync.post_webhook(id, now, &signature, payload).await;
        assert_eq!(status, 401, "{problem}");
        assert_eq!(problem["type"], format!("urn:billing-sync:problem:{code}"));
    }
    // Correctly signed, but ten minutes old: a replay.
    let (status, problem) =
        sync.post_webhook(id, now - 600, &sign(&secret, id, now - 600, body.as_bytes()), body).await;
    assert_eq!((status, problem["type"].as_str()), (401, Some("urn:billing-sync:problem:stale-timestamp")));
    // Correctly signed and fresh: the same webhook-id again is a duplicate.
    let (status, outcome) = sync.post_webhook(id, now, &sign(&secret, id, now, body.as_bytes()), body).await;
    assert_eq!((status, outcome), (200, json!({ "outcome": "duplicate" })));
    // An event type billing-sync does not handle, properly signed: 204, ignored.
    let user = json!({ "type": "user.created", "timestamp": "2026-01-01T00:00:00Z", "data": {
        "user_id": "u", "version": 1, "email": "ada@acme.example", "email_verified": true, "first_name": null,
        "last_name": null, "username": null, "properties": {}, "disabled": false } })
    .to_string();
    let (status, _) = sync.post_webhook("evt_user", now, &sign(&secret, "evt_user", now, user.as_bytes()), &user).await;
    assert_eq!(status, 204);
    assert_eq!(read_customers(sync.data.path())["customers"][&org_id], created);

    // Tenantry's own delivery with its clock 10 minutes ahead of billing-sync's: refused as
    // stale, so the message stays pending for a retry.
    t.patch(&format!("/api/backend/v1/orgs/{org_id}"), json!({ "name": "Globex Corp" }), 200).await;
    t.clock.advance(TimeDelta::minutes(10));
    let batch = deliver(&t).await;
    assert_eq!((batch.claimed, batch.delivered), (1, 0), "{batch:?}");
    let message = messages(&t, &sync.endpoint_id).await.pop().expect("the org.updated message");
    assert_eq!((&message["state"], &message["last_status"]), (&json!("pending"), &json!(401)));
    assert_eq!(read_customers(sync.data.path())["customers"][&org_id]["name"], "Globex");
    t.stop().await;
}

engine_tests!(customers_follow_orgs_and_plans_set_seat_limits, forged_stale_and_repeated_deliveries_change_nothing);
