//! What ends a session and what guards a password: disabling a user, a password set by the
//! backend, the idle timeout, throttled current-password checks, and password resets (the link
//! checked before any hash, throttled per address, ending a lockout).

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_store::mail_queue::list_mail;
use tenantry_testkit::{engine_tests, expect_status, Engine, TestApp};

use crate::support::{anon, problem_code, with_token};

async fn with_cookie(t: &TestApp, method: Method, path: &str, cookie: &str, expected: u16) -> Value {
    let req = t.client.request(method, t.url(path)).header("cookie", cookie).header("content-type", "application/json");
    expect_status(req.send().await.unwrap(), path, expected).await
}

/// A password sign-in: its body and the session cookie (`name=value`).
async fn sign_in(t: &TestApp, email: &str, password: &str) -> (Value, String) {
    let resp = t
        .client
        .post(t.url("/api/v1/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    (expect_status(resp, "login", 200).await, cookie)
}

fn access(signed_in: &Value) -> String {
    signed_in["tokens"]["access_token"].as_str().unwrap().to_owned()
}

fn refresh(signed_in: &Value) -> String {
    signed_in["tokens"]["refresh_token"].as_str().unwrap().to_owned()
}

/// The token in the newest reset mail to `to`.
async fn reset_token(t: &TestApp, to: &str) -> String {
    let mut c = t.app().db().acquire().await.unwrap();
    let mails = list_mail(c.ex(), None, None, 1000).await.unwrap();
    let mail = mails.iter().rev().find(|m| m.to_address == to && m.template == "reset_password").expect("a reset mail");
    mail.vars.0["link"].as_str().unwrap().split("token=").nth(1).unwrap().to_owned()
}

async fn disabling_a_user_ends_every_session_at_once(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let user =
        t.post("/api/backend/v1/users", json!({ "email": "dee@example.com", "password": "two devices" }), 201).await;
    let uid = user["user_id"].as_str().unwrap();
    let (phone, cookie) = sign_in(&t, "dee@example.com", "two devices").await;
    let support = t.post(&format!("/api/backend/v1/users/{uid}/access-token"), json!({}), 200).await;
    let org =
        with_token(&t, Method::POST, "/api/v1/orgs", &access(&phone), Some(json!({ "name": "Dee Co" })), 201).await;
    let org_id = org["org_id"].as_str().unwrap();

    t.post(&format!("/api/backend/v1/users/{uid}/disable"), json!({}), 200).await;
    // The access token, the cookie and the backend's validation all refuse at once, long before
    // the token would expire; so does refreshing.
    for token in [access(&phone), support["access_token"].as_str().unwrap().to_owned()] {
        with_token(&t, Method::GET, "/api/v1/me", &token, None, 401).await;
        with_token(&t, Method::POST, "/api/v1/orgs", &token, Some(json!({ "name": "Another" })), 401).await;
        with_token(&t, Method::GET, &format!("/api/v1/orgs/{org_id}/audit-log"), &token, None, 401).await;
        let p = t.post("/api/backend/v1/tokens/validate", json!({ "access_token": token }), 401).await;
        assert_eq!(problem_code(&p), "session-ended");
    }
    with_cookie(&t, Method::GET, "/api/v1/me", &cookie, 401).await;
    with_cookie(&t, Method::POST, &format!("/api/v1/orgs/{org_id}/leave"), &cookie, 401).await;
    anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh(&phone) }), 401).await;
    let sessions = t.get(&format!("/api/backend/v1/users/{uid}/sessions"), 200).await;
    assert_eq!(sessions["sessions"], json!([]), "no session of a disabled user is live");
    let audit = crate::support::audit(&t, uid).await;
    let disabled = audit.iter().find(|a| a.action == "user.disabled").expect("audited");
    assert_eq!(disabled.details.0["sessions_ended"], 2);

    // Enabling does not bring old sessions back; signing in again works.
    t.post(&format!("/api/backend/v1/users/{uid}/enable"), json!({}), 200).await;
    with_token(&t, Method::GET, "/api/v1/me", &access(&phone), None, 401).await;
    let (again, _) = sign_in(&t, "dee@example.com", "two devices").await;
    with_token(&t, Method::GET, "/api/v1/me", &access(&again), None, 200).await;
    t.stop().await;
}

async fn a_password_set_by_the_backend_ends_the_users_sessions(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let user =
        t.post("/api/backend/v1/users", json!({ "email": "pat@example.com", "password": "before support" }), 201).await;
    let uid = user["user_id"].as_str().unwrap();
    let (before, cookie) = sign_in(&t, "pat@example.com", "before support").await;
    t.backend(
        Method::PUT,
        &format!("/api/backend/v1/users/{uid}/password"),
        Some(json!({ "password": "set by support" })),
        200,
    )
    .await;
    with_token(&t, Method::GET, "/api/v1/me", &access(&before), None, 401).await;
    with_cookie(&t, Method::GET, "/api/v1/me", &cookie, 401).await;
    anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh(&before) }), 401).await;
    let (after, _) = sign_in(&t, "pat@example.com", "set by support").await;
    with_token(&t, Method::GET, "/api/v1/me", &access(&after), None, 200).await;
    t.stop().await;
}

async fn an_idle_session_ends_and_a_used_one_lives_on(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.post("/api/backend/v1/users", json!({ "email": "ida@example.com", "password": "idle hands" }), 201).await;
    let (busy, busy_cookie) = sign_in(&t, "ida@example.com", "idle hands").await;
    let (idle, idle_cookie) = sign_in(&t, "ida@example.com", "idle hands").await;
    // The busy session is used every six days (a refresh, then the cookie); the idle one is not.
    t.clock.advance(chrono::Duration::days(6));
    let rotated = anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh(&busy) }), 200).await;
    t.clock.advance(chrono::Duration::days(6));
    with_cookie(&t, Method::GET, "/api/v1/me", &busy_cookie, 200).await;
    let token = rotated["access_token"].as_str().unwrap();
    t.clock.advance(chrono::Duration::minutes(5));
    let again = anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": rotated["refresh_token"] }), 200).await;
    assert_ne!(again["access_token"].as_str().unwrap(), token);

    // Twelve days without use: past the 7-day idle limit, within the 30-day lifetime.
    with_cookie(&t, Method::GET, "/api/v1/me", &idle_cookie, 401).await;
    anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh(&idle) }), 401).await;
    let listed =
        with_token(&t, Method::GET, "/api/v1/me/sessions", again["access_token"].as_str().unwrap(), None, 200).await;
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1, "an idle session is no longer listed");

    // The absolute lifetime (30 days) still ends the busy one, however active: used on days 18
    // and 24, it is refused on day 30.
    let mut refresh_token = again["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        t.clock.advance(chrono::Duration::days(6));
        let next = anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh_token }), 200).await;
        refresh_token = next["refresh_token"].as_str().unwrap().to_owned();
    }
    t.clock.advance(chrono::Duration::days(6));
    anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh_token }), 401).await;
    t.stop().await;
}

async fn current_password_checks_are_throttled_like_sign_ins(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.post("/api/backend/v1/users", json!({ "email": "cp@example.com", "password": "the real one" }), 201).await;
    let (s, _) = sign_in(&t, "cp@example.com", "the real one").await;
    let token = access(&s);
    // Five wrong guesses through the two forms that ask for the current password …
    for i in 0..5 {
        let (path, body) = if i % 2 == 0 {
            (
                "/api/v1/me/password",
                json!({ "current_password": format!("guess {i}"), "new_password": "brand new one" }),
            )
        } else {
            ("/api/v1/me/email", json!({ "new_email": "thief@example.net", "password": format!("guess {i}") }))
        };
        let p = with_token(&t, Method::POST, path, &token, Some(body), 422).await;
        assert_eq!(problem_code(&p), "wrong-password");
    }
    // … and even the right password is refused until the delay passes, here and at sign-in.
    let right = json!({ "current_password": "the real one", "new_password": "brand new one" });
    let p = with_token(&t, Method::POST, "/api/v1/me/password", &token, Some(right.clone()), 429).await;
    assert_eq!(problem_code(&p), "too-many-attempts");
    let p = anon(&t, "/api/v1/login", json!({ "email": "cp@example.com", "password": "the real one" }), 429).await;
    assert_eq!(problem_code(&p), "too-many-attempts");
    t.clock.advance(chrono::Duration::seconds(2));
    with_token(&t, Method::POST, "/api/v1/me/password", &token, Some(right), 204).await;
    t.stop().await;
}

async fn a_reset_checks_the_link_first_is_throttled_and_ends_a_lockout(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.post("/api/backend/v1/users", json!({ "email": "lou@example.com", "password": "locked out soon" }), 201).await;
    // An attacker locks the account out by guessing.
    for i in 0..5 {
        anon(&t, "/api/v1/login", json!({ "email": "lou@example.com", "password": format!("guess {i}") }), 401).await;
    }
    anon(&t, "/api/v1/login", json!({ "email": "lou@example.com", "password": "locked out soon" }), 429).await;

    // A made-up link is refused for what it is, before the new password is even looked at (a
    // one-character password would otherwise be the complaint), and costs no hash.
    let p = anon(&t, "/api/v1/password/reset", json!({ "token": "made-up", "password": "x" }), 404).await;
    assert_eq!(problem_code(&p), "link-invalid");

    // The owner resets from the mailbox: the delay is gone at once.
    anon(&t, "/api/v1/password/forgot", json!({ "email": "lou@example.com" }), 202).await;
    let token = reset_token(&t, "lou@example.com").await;
    anon(&t, "/api/v1/password/reset", json!({ "token": token, "password": "back in again" }), 204).await;
    sign_in(&t, "lou@example.com", "back in again").await;

    // Bad tokens from one address: 19 more are answered, then the address waits.
    for _ in 0..18 {
        anon(&t, "/api/v1/password/reset", json!({ "token": "made-up", "password": "whatever it is" }), 404).await;
    }
    let p = anon(&t, "/api/v1/password/reset", json!({ "token": "made-up", "password": "whatever it is" }), 429).await;
    assert_eq!(problem_code(&p), "too-many-attempts");
    t.stop().await;
}

engine_tests!(
    disabling_a_user_ends_every_session_at_once,
    a_password_set_by_the_backend_ends_the_users_sessions,
    an_idle_session_ends_and_a_used_one_lives_on,
    current_password_checks_are_throttled_like_sign_ins,
    a_reset_checks_the_link_first_is_throttled_and_ends_a_lockout,
);
