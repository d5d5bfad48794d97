//! Bad input never gets a 500: every error is problem+json with a stable `type`, and nothing is
//! half-written.

use reqwest::Method;
use serde_json::json;
use tenantry_testkit::{engine_tests, expect_status, Engine, TestApp};

use crate::support::problem_code;

async fn framework_errors_are_problems(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let body = t.get("/no/such/path", 404).await;
    assert_eq!(problem_code(&body), "not-found");
    assert_eq!(body["status"], 404);

    let body = t.backend(Method::PUT, "/healthz", None, 405).await;
    assert_eq!(problem_code(&body), "method-not-allowed");
    let body = t.backend(Method::TRACE, "/api/backend/v1/users", None, 405).await;
    assert_eq!(problem_code(&body), "method-not-allowed");

    let body = t.get("/api/backend/v1/users/not-a-uuid", 400).await;
    assert_eq!(problem_code(&body), "bad-request");
    let body = t.get("/api/backend/v1/users?limit=0", 400).await;
    assert_eq!(problem_code(&body), "bad-request");
    let body = t.get("/api/backend/v1/users?limit=201", 400).await;
    assert_eq!(problem_code(&body), "bad-request");
    t.stop().await;
}

async fn malformed_bodies_are_refused(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let send = |body: &'static str, content_type: &'static str| {
        t.client
            .post(t.url("/api/backend/v1/users"))
            .bearer_auth(&t.api_key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (body, why) in [
        ("{bad", "malformed JSON"),
        ("[]", "not an object"),
        (r#"{"email_verified": true}"#, "missing field"),
        (r#"{"email": "a@example.com", "email_verified": "yes"}"#, "wrong type"),
        (r#"{"email": "a@example.com", "properties": [1, 2]}"#, "properties not an object"),
    ] {
        let resp = send(body, "application/json").await.unwrap();
        let problem = expect_status(resp, why, 400).await;
        assert_eq!(problem_code(&problem), "bad-request", "{why}");
    }
    let resp = send(r#"{"email": "a@example.com"}"#, "text/plain").await.unwrap();
    let problem = expect_status(resp, "wrong content type", 415).await;
    assert_eq!(problem_code(&problem), "unsupported-media-type");

    let page = t.get("/api/backend/v1/users", 200).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 0, "nothing was written");
    t.stop().await;
}

async fn oversized_bodies_get_413(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let huge = "x".repeat(t.config.body_limit_bytes + 1);
    let resp = t
        .client
        .post(t.url("/api/backend/v1/users"))
        .bearer_auth(&t.api_key)
        .json(&json!({ "email": "a@example.com", "password": huge }))
        .send()
        .await
        .unwrap();
    let problem = expect_status(resp, "oversized body", 413).await;
    assert_eq!(problem_code(&problem), "payload-too-large");

    // Chunked, without Content-Length: still bounded.
    let status = post_chunked(&t, t.config.body_limit_bytes + 10).await;
    assert_eq!(status, "413", "oversized chunked body");
    t.stop().await;
}

/// POSTs `n` bytes as a chunked body over a raw connection and returns the response status.
async fn post_chunked(t: &TestApp, n: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = t.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/backend/v1/users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        t.api_key
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut left = n;
    while left > 0 {
        let len = left.min(chunk.len());
        let framed = [format!("{len:x}\r\n").as_bytes(), &chunk[..len], b"\r\n"].concat();
        if conn.write_all(&framed).await.is_err() {
            break; // the server may answer and close before the body ends
        }
        left -= len;
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut buf = vec![0u8; 1024];
    let n = conn.read(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split_whitespace().nth(1).unwrap_or_default().to_owned()
}

/// A malformed id in the path is named as the OpenAPI document names it, never by the
/// framework's internal name (`param0`).
async fn malformed_path_ids_name_the_parameter(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let body = t.get("/api/backend/v1/users/not-a-uuid", 400).await;
    assert_eq!(problem_code(&body), "bad-request");
    assert_eq!(body["detail"], "The path parameter `user_id` is not a UUID.");
    assert_eq!(body["errors"], json!([{ "field": "user_id", "detail": "Not a UUID." }]));

    let org = t.post("/api/backend/v1/orgs", json!({ "name": "Acme" }), 201).await;
    let org_id = org["org_id"].as_str().unwrap();
    let body = t.get(&format!("/api/backend/v1/orgs/{org_id}/members/42"), 400).await;
    assert_eq!(body["detail"], "The path parameter `user_id` is not a UUID.", "the second parameter");
    let body = t.get("/api/backend/v1/orgs/acme/members", 400).await;
    assert_eq!(body["errors"][0]["field"], "org_id");
    // The end-user API too.
    let user = crate::support::signed_in(&t, "u@example.com").await;
    let body = crate::support::call(&t, Method::GET, "/api/v1/orgs/nope", Some(&user.access), None, 400).await;
    assert_eq!(body["detail"], "The path parameter `org_id` is not a UUID.");
    assert!(!body.to_string().contains("param0"), "{body}");
    t.stop().await;
}

/// Org metadata that is not a JSON object is a field error on `metadata`, in all three places
/// it is sent: create, update and merge.
async fn non_object_metadata_is_a_field_error(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let check = |problem: &serde_json::Value, kind: &str| {
        assert_eq!(problem_code(problem), "invalid-metadata", "{problem}");
        assert_eq!(problem["errors"][0]["field"], "metadata", "{problem}");
        let detail = problem["errors"][0]["detail"].as_str().unwrap();
        assert!(detail.contains("is a JSON object") && detail.contains(kind), "{detail}");
    };
    let problem = t.post("/api/backend/v1/orgs", json!({ "name": "Acme", "metadata": [1, 2] }), 422).await;
    check(&problem, "an array");
    let problem = t.post("/api/backend/v1/orgs", json!({ "name": "Acme", "metadata": "crm" }), 422).await;
    check(&problem, "a string");
    let org = t.post("/api/backend/v1/orgs", json!({ "name": "Acme", "metadata": { "crm_id": "A-1" } }), 201).await;
    let org_id = org["org_id"].as_str().unwrap();
    let problem = t.patch(&format!("/api/backend/v1/orgs/{org_id}"), json!({ "metadata": [] }), 422).await;
    check(&problem, "an array");
    let problem = t.patch(&format!("/api/backend/v1/orgs/{org_id}/metadata"), json!([1]), 422).await;
    check(&problem, "an array");
    // `null` in an update leaves the metadata as it is, as before.
    t.patch(&format!("/api/backend/v1/orgs/{org_id}"), json!({ "metadata": null }), 200).await;
    let org = t.get(&format!("/api/backend/v1/orgs/{org_id}"), 200).await;
    assert_eq!(org["metadata"], json!({ "crm_id": "A-1" }), "nothing was written");
    t.stop().await;
}

engine_tests!(
    framework_errors_are_problems,
    malformed_bodies_are_refused,
    oversized_bodies_get_413,
    malformed_path_ids_name_the_parameter,
    non_object_metadata_is_a_field_error,
);
