//! Two `tenantry` processes on one PostgreSQL database, as operators run them: a key revoked
//! through one node stops working on the other within a second (the revocation's `NOTIFY`, not
//! the periodic reload, which is an hour here), and the sweeper runs on one node at a time (its
//! lease), passing to the other only when the holder is gone.

use std::time::{Duration, Instant};

use serde_json::json;
use tenantry_testkit::{postgres_url, TestDb};

mod support;

use support::{create_api_key, Node};

impl Node {
    /// The status of `GET /api/backend/v1/users` with `key`.
    async fn list_users(&self, key: &str) -> u16 {
        let r = self.client.get(format!("{}/api/backend/v1/users", self.base)).bearer_auth(key).send().await.unwrap();
        r.status().as_u16()
    }

    /// This node's sweeps, from `/metrics`.
    async fn sweeps(&self) -> u64 {
        let text = self.metrics().await;
        let line = text.lines().find_map(|l| l.strip_prefix("tenantry_sweeper_runs_total "));
        line.expect("the sweeper's metrics").trim().parse().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_stops_working_on_every_node_within_a_second() {
    if postgres_url().is_none() {
        eprintln!("skipped: set TENANTRY_TEST_DATABASE_URL to run on PostgreSQL");
        return;
    }
    let db = TestDb::postgres().await;
    let workdir = db.scratch_dir();
    // An hour between reloads: only the notification can make B refuse in time.
    let env = [("TENANTRY_HOUSEKEEPING__API_KEY_RELOAD_SECS", "3600")];
    let a = Node::start(db.url(), &workdir, &env).await;
    let b = Node::start(db.url(), &workdir, &env).await;
    let admin = create_api_key(db.url(), &workdir);
    let r = a
        .client
        .post(format!("{}/api/backend/v1/api-keys", a.base))
        .bearer_auth(&admin)
        .json(&json!({ "name": "to revoke" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: serde_json::Value = r.json().await.unwrap();
    let (secret, id) = (created["secret"].as_str().unwrap(), created["api_key"]["api_key_id"].as_str().unwrap());
    for node in [&a, &b, &b] {
        assert_eq!(node.list_users(secret).await, 200, "the key works, and each node has cached it");
    }

    let r =
        a.client.delete(format!("{}/api/backend/v1/api-keys/{id}", a.base)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let revoked = Instant::now();
    assert_eq!(a.list_users(secret).await, 401, "the revoking node refuses at once");
    loop {
        if b.list_users(secret).await == 401 {
            break;
        }
        // Reloads are an hour apart, so only the revocation's notification can end the key on B.
        // The promise is a second; the bound is wider so that a loaded machine cannot fail the
        // test for being slow, and the time it took is printed.
        assert!(revoked.elapsed() < Duration::from_secs(10), "node B still accepts the revoked key after 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("node B refused the revoked key {:?} after the revocation", revoked.elapsed());
    assert_eq!(b.list_users(&admin).await, 200, "other keys still work on B");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_runs_on_one_node_at_a_time() {
    if postgres_url().is_none() {
        eprintln!("skipped: set TENANTRY_TEST_DATABASE_URL to run on PostgreSQL");
        return;
    }
    let db = TestDb::postgres().await;
    let workdir = db.scratch_dir();
    // A sweep every second; the lease lasts two intervals and 10 s.
    let env = [("TENANTRY_HOUSEKEEPING__INTERVAL_SECS", "1")];
    let mut nodes = [Node::start(db.url(), &workdir, &env).await, Node::start(db.url(), &workdir, &env).await];
    tokio::time::sleep(Duration::from_secs(4)).await;
    let runs = [nodes[0].sweeps().await, nodes[1].sweeps().await];
    assert!(runs.iter().filter(|n| **n > 0).count() == 1, "exactly one node sweeps: {runs:?}");
    let holder = runs.iter().position(|n| *n > 0).unwrap();
    let other = 1 - holder;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(nodes[holder].sweeps().await > runs[holder], "the holder keeps sweeping");
    assert_eq!(nodes[other].sweeps().await, 0, "the other node never does while the holder lives");

    // The holder dies without giving the lease up: the other takes over once it runs out.
    nodes[holder].kill();
    let killed = Instant::now();
    loop {
        if nodes[other].sweeps().await > 0 {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(20), "the other node did not take the lease over");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("the other node took the sweeper over {:?} after the holder died", killed.elapsed());
}
