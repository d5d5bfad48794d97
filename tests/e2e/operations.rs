//! Health, readiness, metrics (on the management listener), request ids, the OpenAPI document
//! and the explorer.

use tenantry_testkit::{engine_tests, expect_status, Engine, TestApp};

async fn health_and_readiness(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let resp = t.client.get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let resp = t.client.get(t.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    t.stop().await;
}

async fn request_ids_are_echoed_or_made(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let resp = t.client.get(t.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = t.client.get(t.url("/healthz")).header("x-request-id", "bad id\twith junk").send().await.unwrap();
    let made = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "a fresh id replaces an unusable one: {made}");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    t.stop().await;
}

async fn metrics_count_requests_per_operation(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.get("/api/backend/v1/users?limit=1", 200).await;
    t.get(&format!("/api/backend/v1/users/{}", uuid::Uuid::now_v7()), 404).await;
    let text = t.metrics().await;
    assert!(
        text.contains(r#"tenantry_http_requests_total{method="GET",route="query_users",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"tenantry_http_requests_total{method="GET",route="get_user",status="404"} 1"#), "{text}");
    assert!(
        text.contains(r#"tenantry_http_request_duration_seconds_count{method="GET",route="get_user"} 1"#),
        "{text}"
    );
    t.stop().await;
}

/// `/metrics` is served on the management listener only (issue 11, item 11): the public
/// listener answers 404 for it, and the management listener serves nothing else.
async fn metrics_are_served_on_the_management_listener_only(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let management = t.management_addr().expect("the management listener is on by default");
    assert_ne!(management, t.addr());
    let public = t.client.get(t.url("/metrics")).send().await.unwrap();
    let problem = expect_status(public, "public /metrics", 404).await;
    assert_eq!(problem["type"], "urn:tenantry:problem:not-found");
    assert!(t.metrics().await.contains("tenantry_http_requests_total"));
    for path in ["/healthz", "/api/backend/v1/users", "/openapi.json", "/metrics/x"] {
        let resp = t.client.get(t.management_url(path)).bearer_auth(&t.api_key).send().await.unwrap();
        expect_status(resp, &format!("management {path}"), 404).await;
    }
    t.stop().await;

    let t = TestApp::spawn_with(engine, |c| c.http.management_enabled = false).await;
    assert_eq!(t.management_addr(), None, "turned off: no management listener");
    expect_status(t.client.get(t.url("/metrics")).send().await.unwrap(), "public /metrics", 404).await;
    t.stop().await;
}

async fn served_openapi_matches_the_committed_document(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let served = t.client.get(t.url("/openapi.json")).send().await.unwrap().text().await.unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json"))
        .expect("openapi/openapi.json is committed");
    assert!(
        served == committed,
        "openapi/openapi.json is stale: regenerate it with `cargo run -p tenantry-server -- openapi > openapi/openapi.json`"
    );
    let docs = t.client.get(t.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"), "the explorer is served");
    t.stop().await;
}

async fn graceful_shutdown_lets_the_server_stop(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let base = t.base.clone();
    t.stop().await;
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err(), "nothing listens after shutdown");
}

engine_tests!(
    health_and_readiness,
    request_ids_are_echoed_or_made,
    metrics_count_requests_per_operation,
    metrics_are_served_on_the_management_listener_only,
    served_openapi_matches_the_committed_document,
    graceful_shutdown_lets_the_server_stop,
);
