//! `POST /api/v1/session/token` and CORS (issue 13, "Back to the SaaS app"): a single-page app on
//! an allowed origin gets the hosted session's access token with a credentialed `fetch`; any other
//! origin gets no CORS header and its request is refused.

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, CONTENT_TYPE, COOKIE, ORIGIN, VARY,
};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::pages_support::{sign_up_and_verify, Browser};
use crate::support::{claims, problem_code, with_token};

const APP: &str = "https://app.acme.test";
const EVIL: &str = "https://evil.test";

async fn spawn(engine: Engine) -> TestApp {
    TestApp::spawn_with(engine, |c| c.http.allowed_origins = vec![APP.to_owned()]).await
}

/// The session cookie of a person signed up and in through the pages, as a `Cookie` header.
async fn session_cookie(t: &TestApp) -> String {
    let b = Browser::new(t);
    sign_up_and_verify(&b, "ada@acme.test", "Ada", None).await;
    let value = b.cookie("tenantry_session").expect("the session cookie");
    format!("tenantry_session={value}")
}

/// The SPA's `fetch("/api/v1/session/token", { method: "POST", credentials: "include", headers:
/// { "content-type": "application/json" } })` from `origin`.
async fn ask_token(t: &TestApp, origin: &str, cookie: Option<&str>) -> Response {
    let mut req =
        t.client.post(t.url("/api/v1/session/token")).header(ORIGIN, origin).header(CONTENT_TYPE, "application/json");
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    req.send().await.expect("sent")
}

fn header(resp: &Response, name: reqwest::header::HeaderName) -> Option<&str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn an_allowed_origin_gets_the_sessions_access_token(engine: Engine) {
    let t = spawn(engine).await;
    let cookie = session_cookie(&t).await;
    let resp = ask_token(&t, APP, Some(&cookie)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, ACCESS_CONTROL_ALLOW_ORIGIN), Some(APP));
    assert_eq!(header(&resp, ACCESS_CONTROL_ALLOW_CREDENTIALS), Some("true"));
    assert!(resp.headers().get_all(VARY).iter().any(|v| v.to_str().unwrap_or("").contains("Origin")));
    assert!(resp.headers().get("set-cookie").is_none(), "the session stays as it is");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], t.app().settings().auth.access_ttl.num_seconds());
    assert!(body.get("refresh_token").is_none(), "no refresh token");
    let access = body["access_token"].as_str().expect("access token");

    // It is the cookie's session: the same `sid`, listed once, and it ends with it.
    let sessions = with_token(&t, Method::GET, "/api/v1/me/sessions", access, None, 200).await;
    let listed = sessions["sessions"].as_array().expect("sessions");
    assert_eq!(listed.len(), 1, "no new session: {sessions}");
    let valid = claims(&t, access).await;
    assert_eq!(valid["sid"].as_str(), listed[0]["session_id"].as_str());
    assert_eq!(valid["email"], "ada@acme.test");

    // Actual answers to the allowed origin carry CORS headers too (a bearer call from the SPA).
    let me = t.client.get(t.url("/api/v1/me")).header(ORIGIN, APP).bearer_auth(access).send().await.expect("sent");
    assert_eq!(me.status(), 200);
    assert_eq!(header(&me, ACCESS_CONTROL_ALLOW_ORIGIN), Some(APP));

    // Signing out ends the token with the session.
    let out = t
        .client
        .post(t.url("/api/v1/logout"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, APP)
        .json(&json!({}))
        .send()
        .await
        .expect("sent");
    assert_eq!(out.status(), 204);
    with_token(&t, Method::GET, "/api/v1/me", access, None, 401).await;
    let after = ask_token(&t, APP, Some(&cookie)).await;
    assert_eq!(after.status(), 401);
    assert_eq!(header(&after, ACCESS_CONTROL_ALLOW_ORIGIN), Some(APP), "the SPA can read why");
}

async fn a_foreign_origin_gets_no_cors_and_is_refused(engine: Engine) {
    let t = spawn(engine).await;
    let cookie = session_cookie(&t).await;
    let resp = ask_token(&t, EVIL, Some(&cookie)).await;
    assert_eq!(resp.status(), 403);
    assert!(header(&resp, ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    assert!(header(&resp, ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
    let body: Value = resp.json().await.expect("json");
    assert_eq!(problem_code(&body), "csrf-refused");

    // A form-encoded ("simple") request from the allowed origin is refused as well: it must say JSON.
    let simple = t
        .client
        .post(t.url("/api/v1/session/token"))
        .header(ORIGIN, APP)
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("sent");
    assert_eq!(simple.status(), 403);

    // A bearer GET from a foreign origin answers, but without CORS headers its script cannot read it.
    let me = t.client.get(t.url("/healthz")).header(ORIGIN, EVIL).send().await.expect("sent");
    assert!(header(&me, ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

async fn preflights_are_answered_for_allowed_origins_only(engine: Engine) {
    let t = spawn(engine).await;
    let preflight = |origin: &'static str| {
        t.client
            .request(Method::OPTIONS, t.url("/api/v1/session/token"))
            .header(ORIGIN, origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight(APP).await.expect("sent");
    assert_eq!(ok.status(), 204);
    assert_eq!(header(&ok, ACCESS_CONTROL_ALLOW_ORIGIN), Some(APP));
    assert_eq!(header(&ok, ACCESS_CONTROL_ALLOW_CREDENTIALS), Some("true"));
    assert!(header(&ok, ACCESS_CONTROL_ALLOW_METHODS).is_some_and(|m| m.contains("POST") && m.contains("PUT")));
    assert_eq!(header(&ok, ACCESS_CONTROL_ALLOW_HEADERS), Some("content-type, authorization"));
    assert_eq!(header(&ok, ACCESS_CONTROL_MAX_AGE), Some("600"));
    assert!(ok.headers().get_all(VARY).iter().any(|v| v.to_str().unwrap_or("").contains("Origin")));

    let foreign = preflight(EVIL).await.expect("sent");
    assert_ne!(foreign.status(), 204);
    assert!(header(&foreign, ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    assert!(header(&foreign, ACCESS_CONTROL_ALLOW_METHODS).is_none());
    // Not the end-user API: no CORS, even for the allowed origin.
    let backend = t
        .client
        .request(Method::OPTIONS, t.url("/api/backend/v1/users"))
        .header(ORIGIN, APP)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("sent");
    assert!(header(&backend, ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

async fn signed_out_the_token_is_a_401_problem(engine: Engine) {
    let t = spawn(engine).await;
    let resp = ask_token(&t, APP, None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(header(&resp, CONTENT_TYPE), Some("application/problem+json"));
    assert_eq!(header(&resp, ACCESS_CONTROL_ALLOW_ORIGIN), Some(APP));
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], 401);
    problem_code(&body);
    // A stale cookie: the same.
    let stale = ask_token(&t, APP, Some("tenantry_session=not-a-session")).await;
    assert_eq!(stale.status(), 401);
    let body: Value = stale.json().await.expect("json");
    assert_eq!(problem_code(&body), "session-ended");
}

engine_tests!(
    an_allowed_origin_gets_the_sessions_access_token,
    a_foreign_origin_gets_no_cors_and_is_refused,
    preflights_are_answered_for_allowed_origins_only,
    signed_out_the_token_is_a_401_problem,
);
