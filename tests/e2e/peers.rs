//! Tenantry against independent implementations: a real SMTP server (aiosmtpd) receiving the
//! mail the worker sends, and PyJWT verifying access tokens from the published JWKS.

use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_testkit::peers::{link_in, peers_python, SmtpSink};
use tenantry_testkit::{engine_tests, expect_status, Engine, TestApp};

async fn post(t: &TestApp, path: &str, body: Value, expected: u16) -> Value {
    let resp = t.client.post(t.url(path)).json(&body).send().await.unwrap();
    expect_status(resp, path, expected).await
}

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).expect("a token in the link").to_owned()
}

async fn mail_flows_through_a_real_smtp_server(engine: Engine) {
    let Some(sink) = SmtpSink::start() else { return };
    let t = TestApp::spawn_with(engine, |c| {
        c.mail.smtp_url = Some(sink.url());
        c.workers_enabled = true;
    })
    .await;
    let email = "sam@example.com";
    post(&t, "/api/v1/signup", json!({ "email": email, "password": "correct horse battery" }), 202).await;
    let mail = sink.wait_for(email, "/verify-email?token=").await;
    assert!(mail.contains("Tenantry"), "the product name is in the mail");
    let link = link_in(&mail, &format!("{}/verify-email?token=", t.config.public_url)).expect("verification link");
    let user = post(&t, "/api/v1/email/verify", json!({ "token": token_of(&link) }), 200).await;
    assert_eq!(user["email_verified"], true);

    let signed_in =
        post(&t, "/api/v1/login", json!({ "email": email, "password": "correct horse battery" }), 200).await;
    let old_access = signed_in["tokens"]["access_token"].as_str().unwrap().to_owned();

    post(&t, "/api/v1/password/forgot", json!({ "email": email }), 202).await;
    let mail = sink.wait_for(email, "/reset-password?token=").await;
    let link = link_in(&mail, &format!("{}/reset-password?token=", t.config.public_url)).expect("reset link");
    post(&t, "/api/v1/password/reset", json!({ "token": token_of(&link), "password": "a brand new passphrase" }), 204)
        .await;
    let resp = t.client.request(Method::GET, t.url("/api/v1/me")).bearer_auth(&old_access).send().await.unwrap();
    expect_status(resp, "old session after reset", 401).await;
    post(&t, "/api/v1/login", json!({ "email": email, "password": "a brand new passphrase" }), 200).await;
    sink.wait_for(email, "password").await;
    t.stop().await;
}

/// Verifies `token` with PyJWT against the server's JWKS; returns the `sub` or PyJWT's error.
fn pyjwt_verify(python: &std::path::Path, t: &TestApp, token: &str) -> Result<String, String> {
    let script = r#"
import sys, jwt
url, token, issuer = sys.argv[1:4]
key = jwt.PyJWKClient(url, cache_keys=False).get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=["EdDSA"], issuer=issuer, leeway=3600,
                    options={"require": ["exp", "iat", "sub", "iss"]})
print(claims["sub"])
"#;
    let out = Command::new(python)
        .args(["-c", script, &t.url("/.well-known/jwks.json"), token, &t.config.public_url])
        .output()
        .expect("run python");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

async fn access_tokens_verify_with_pyjwt_across_rotation(engine: Engine) {
    let Some(python) = peers_python("jwt") else { return };
    let t = TestApp::spawn(engine).await;
    let user = t.post("/api/backend/v1/users", json!({ "email": "jo@example.com" }), 201).await;
    let user_id = user["user_id"].as_str().unwrap().to_owned();
    let path = format!("/api/backend/v1/users/{user_id}/access-token");

    let before = t.post(&path, json!({}), 200).await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(pyjwt_verify(&python, &t, &before), Ok(user_id.clone()));
    let mut tampered = before.clone();
    tampered.replace_range(tampered.len() - 5.., "AAAAA");
    assert!(pyjwt_verify(&python, &t, &tampered).is_err(), "a tampered signature fails");

    t.app().rotate_signing_key().await.unwrap();
    t.clock.advance(chrono::Duration::minutes(6));
    let after = t.post(&path, json!({}), 200).await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(pyjwt_verify(&python, &t, &after), Ok(user_id.clone()), "the new key verifies");
    assert_eq!(pyjwt_verify(&python, &t, &before), Ok(user_id), "the old key is still published");
    t.stop().await;
}

engine_tests!(mail_flows_through_a_real_smtp_server, access_tokens_verify_with_pyjwt_across_rotation);
