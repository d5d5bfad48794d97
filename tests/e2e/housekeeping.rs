//! The sweeper on the real server, both engines, on the manual clock: what expired goes and what
//! lives stays, and two nodes (two sweepers on one database) never sweep at once: the second
//! waits until the first's lease has run out.

use chrono::TimeDelta;
use serde_json::json;
use tenantry_app::housekeeping::{SweepSettings, Sweeper};
use tenantry_testkit::{engine_tests, expect_status, Engine, TestApp};

use crate::support::{problem_code, signed_in};

async fn one_node_sweeps_what_expired(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let old = signed_in(&t, "old@example.com").await;
    let settings = SweepSettings::default();
    let (a, b) = (Sweeper::new(t.app().clone(), settings.clone()), Sweeper::new(t.app().clone(), settings));

    let first = a.sweep_once().await.unwrap().expect("a free lease: A sweeps");
    assert!(first.values().all(|n| *n == 0), "nothing has expired yet: {first:?}");
    assert_eq!(b.sweep_once().await.unwrap(), None, "A holds the lease: B does not sweep");
    t.clock.advance(TimeDelta::seconds(60));
    assert!(a.sweep_once().await.unwrap().is_some(), "A renews its lease at its next run");
    t.clock.advance(TimeDelta::seconds(60));
    assert_eq!(b.sweep_once().await.unwrap(), None, "renewed: B still waits");

    // Past the session's 30-day lifetime, and long past A's lease (A stopped sweeping).
    t.clock.advance(TimeDelta::days(31));
    let young = signed_in(&t, "young@example.com").await;
    let report = b.sweep_once().await.unwrap().expect("A's lease ran out: B takes over");
    assert_eq!(report["sessions"], 1, "the expired session goes (its refresh tokens with it): {report:?}");
    assert_eq!(a.sweep_once().await.unwrap(), None, "now B holds it");
    assert_eq!(t.app().sweep_metrics().runs(), 3, "this process's sweeps, both sweepers together");

    let refresh = |token: String, expected: u16| {
        let req = t.client.post(t.url("/api/v1/token/refresh")).json(&json!({ "refresh_token": token }));
        async move { expect_status(req.send().await.unwrap(), "refresh", expected).await }
    };
    let gone = refresh(old.refresh, 401).await;
    assert_eq!(problem_code(&gone), "invalid-refresh-token");
    refresh(young.refresh, 200).await;
    t.stop().await;
}

engine_tests!(one_node_sweeps_what_expired);
