//! Helpers shared by the e2e modules.

use serde_json::Value;
use tenantry_store::audit::{list_audit_for_target, AuditRow};
use tenantry_store::outbox::{list_events_for_object, EventRow};
use tenantry_testkit::TestApp;
use uuid::Uuid;

/// The outbox events about `object_id`, oldest first.
pub async fn events(t: &TestApp, object_id: &str) -> Vec<EventRow> {
    let id = Uuid::parse_str(object_id).expect("uuid");
    let mut c = t.app().db().acquire().await.expect("connection");
    list_events_for_object(c.ex(), id).await.expect("events")
}

/// The event types about `object_id`, oldest first.
pub async fn event_types(t: &TestApp, object_id: &str) -> Vec<String> {
    events(t, object_id).await.into_iter().map(|e| e.event_type).collect()
}

/// The audit entries about `target_id`, oldest first.
pub async fn audit(t: &TestApp, target_id: &str) -> Vec<AuditRow> {
    let mut c = t.app().db().acquire().await.expect("connection");
    list_audit_for_target(c.ex(), target_id).await.expect("audit")
}

/// The `type` of a problem body, without the URN prefix.
pub fn problem_code(body: &Value) -> &str {
    body["type"]
        .as_str()
        .and_then(|t| t.strip_prefix("urn:tenantry:problem:"))
        .unwrap_or_else(|| panic!("not a problem: {body}"))
}

/// Creates a user through the API and returns its body.
pub async fn create_user(t: &TestApp, email: &str) -> Value {
    t.post("/api/backend/v1/users", serde_json::json!({ "email": email }), 201).await
}

/// A signed-in user made through the backend: verified email, a session and its tokens.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
    #[allow(dead_code)]
    pub session: String,
}

/// Creates a user with a verified `email` and signs them in through the backend's support token.
pub async fn signed_in(t: &TestApp, email: &str) -> SignedIn {
    let user =
        t.post("/api/backend/v1/users", serde_json::json!({ "email": email, "email_verified": true }), 201).await;
    let id = user["user_id"].as_str().expect("user id").to_owned();
    let tokens = t.post(&format!("/api/backend/v1/users/{id}/access-token"), serde_json::json!({}), 200).await;
    SignedIn {
        id,
        email: email.to_owned(),
        access: tokens["access_token"].as_str().expect("access token").to_owned(),
        refresh: tokens["refresh_token"].as_str().expect("refresh token").to_owned(),
        session: tokens["session_id"].as_str().expect("session id").to_owned(),
    }
}

/// A call with a user's access token (or none); asserts the status and returns the body.
pub async fn call(
    t: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let mut req = t.client.request(method.clone(), t.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    tenantry_testkit::expect_status(req.send().await.expect("request sent"), &format!("{method} {path}"), expected)
        .await
}

/// Every queued email to `to`, oldest first.
pub async fn mails_to(t: &TestApp, to: &str) -> Vec<tenantry_store::mail_queue::MailRow> {
    let mut c = t.app().db().acquire().await.expect("connection");
    tenantry_store::mail_queue::list_mail(c.ex(), None, None, 1000)
        .await
        .expect("mail")
        .into_iter()
        .filter(|m| m.to_address == to)
        .collect()
}

/// The token in the link of the newest email to `to` with `template`.
pub async fn mailed_token(t: &TestApp, to: &str, template: &str) -> String {
    let mail = mails_to(t, to).await.into_iter().rev().find(|m| m.template == template).expect("a mail was queued");
    let link = mail.vars.0["link"].as_str().expect("the mail has a link").to_owned();
    link.split("token=").nth(1).expect("a token in the link").to_owned()
}

/// The claims of an access token as the backend validates them.
pub async fn claims(t: &TestApp, access: &str) -> Value {
    t.post("/api/backend/v1/tokens/validate", serde_json::json!({ "access_token": access }), 200).await
}

/// The raw payload of a JWT (no verification), for claims the validate endpoint does not echo.
pub fn jwt_payload(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

/// Gives `user` a fresh session (after the clock moved past their access token's life).
pub async fn sign_in_again(t: &TestApp, user: &mut SignedIn) {
    let tokens = t.post(&format!("/api/backend/v1/users/{}/access-token", user.id), serde_json::json!({}), 200).await;
    user.access = tokens["access_token"].as_str().expect("access token").to_owned();
    user.refresh = tokens["refresh_token"].as_str().expect("refresh token").to_owned();
    user.session = tokens["session_id"].as_str().expect("session id").to_owned();
}

/// An anonymous JSON POST (sign-up, sign-in, emailed links); asserts the status and returns the body.
pub async fn anon(t: &TestApp, path: &str, body: Value, expected: u16) -> Value {
    let resp = t.client.post(t.url(path)).json(&body).send().await.expect("request");
    tenantry_testkit::expect_status(resp, path, expected).await
}

/// A call with a user's access token and an optional JSON body; asserts the status and returns the body.
pub async fn with_token(
    t: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let mut req = t.client.request(method, t.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    tenantry_testkit::expect_status(req.send().await.expect("request"), path, expected).await
}
