//! Health, readiness, metrics, request ids, the OpenAPI document and the explorer.

use tenantry_testkit::{engine_tests, Engine, TestApp};

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
    let text = t.client.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
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
    served_openapi_matches_the_committed_document,
    graceful_shutdown_lets_the_server_stop,
);
