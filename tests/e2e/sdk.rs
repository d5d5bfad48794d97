//! The SDK a SaaS backend uses: local verification of access tokens against the served JWKS.

use serde_json::json;
use tenantry_sdk::Verifier;
use tenantry_testkit::{engine_tests, Engine, TestApp};

async fn the_sdk_verifies_tokens_locally(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let user =
        t.post("/api/backend/v1/users", json!({ "email": "sdk@example.com", "email_verified": true }), 201).await;
    let path = format!("/api/backend/v1/users/{}/access-token", user["user_id"].as_str().unwrap());
    let token = t.post(&path, json!({}), 200).await["access_token"].as_str().unwrap().to_owned();

    let verifier = Verifier::new(t.config.public_url.clone());
    verifier.refresh(&t.client).await.expect("the JWKS loads");
    let now = t.clock_now();
    let claims = verifier.verify(&token, now).expect("a fresh token verifies");
    assert_eq!(claims.sub, user["user_id"].as_str().unwrap());
    assert!(claims.email_verified);
    assert!(claims.orgs.is_empty());

    assert!(verifier.verify(&token, now + 16 * 60).is_err(), "expired after 15 minutes (and 60 s leeway)");
    let other_issuer = Verifier::new("https://other.example");
    other_issuer.refresh(&t.client).await.ok();
    assert!(other_issuer.verify(&token, now).is_err(), "another issuer's verifier refuses it");
    t.stop().await;
}

engine_tests!(the_sdk_verifies_tokens_locally);
