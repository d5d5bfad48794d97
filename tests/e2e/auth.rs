//! End-user authentication over HTTP: signup, verification, login, refresh rotation and reuse
//! detection, logout, password reset, throttling, enumeration safety, JWKS and key rotation.

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_store::mail_queue::{list_mail, MailRow};
use tenantry_testkit::{engine_tests, expect_status, Engine, TestApp};

use crate::support::{anon, problem_code, with_token};

/// Every queued email to `to`, oldest first.
async fn mails_to(t: &TestApp, to: &str) -> Vec<MailRow> {
    let mut c = t.app().db().acquire().await.unwrap();
    list_mail(c.ex(), None, None, 1000).await.unwrap().into_iter().filter(|m| m.to_address == to).collect()
}

/// The token in the link of the newest email to `to` with `template`.
async fn token_from_mail(t: &TestApp, to: &str, template: &str) -> String {
    let mail = mails_to(t, to).await.into_iter().rev().find(|m| m.template == template).expect("a mail was queued");
    let link = mail.vars.0["link"].as_str().expect("the mail has a link").to_owned();
    assert!(link.starts_with(&t.config.public_url), "links use the configured public URL: {link}");
    link.split("token=").nth(1).unwrap().to_owned()
}

async fn login(t: &TestApp, email: &str, password: &str) -> Value {
    anon(t, "/api/v1/login", json!({ "email": email, "password": password }), 200).await
}

async fn signup_verify_login_refresh_logout(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    anon(&t, "/api/v1/signup", json!({ "email": "Nora@Example.com", "password": "a long passphrase" }), 202).await;
    let token = token_from_mail(&t, "Nora@example.com", "verify_email").await;
    let user = anon(&t, "/api/v1/email/verify", json!({ "token": token }), 200).await;
    assert_eq!(user["email_verified"], true);
    let again = anon(&t, "/api/v1/email/verify", json!({ "token": token }), 410).await;
    assert_eq!(problem_code(&again), "link-used", "verification links are single-use");

    let signed_in = login(&t, "nora@example.com", "a long passphrase").await;
    let access = signed_in["tokens"]["access_token"].as_str().unwrap().to_owned();
    let refresh = signed_in["tokens"]["refresh_token"].as_str().unwrap().to_owned();
    let me = with_token(&t, Method::GET, "/api/v1/me", &access, None, 200).await;
    assert_eq!(me["email"], "Nora@example.com", "the domain in its ASCII form, lowercased");

    // The backend validates the token and sees the fixed claim shape.
    let claims = t.post("/api/backend/v1/tokens/validate", json!({ "access_token": access }), 200).await;
    assert_eq!(claims["sub"], user["user_id"]);
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["orgs"], json!({}));
    assert_eq!(claims["iss"], t.config.public_url.as_str());

    // Refresh rotates; the spent token, presented again, ends the whole family.
    let rotated = anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh }), 200).await;
    let refresh2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    let reuse = anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh }), 401).await;
    assert_eq!(problem_code(&reuse), "invalid-refresh-token");
    anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh2 }), 401).await;
    // Reuse revoked the session, so its access token is refused before it expires.
    with_token(&t, Method::GET, "/api/v1/me", &access, None, 401).await;

    // Logout ends the session at once.
    let fresh = login(&t, "nora@example.com", "a long passphrase").await;
    let access = fresh["tokens"]["access_token"].as_str().unwrap().to_owned();
    with_token(&t, Method::POST, "/api/v1/logout", &access, Some(json!({})), 204).await;
    with_token(&t, Method::GET, "/api/v1/me", &access, None, 401).await;
    let problem = t.post("/api/backend/v1/tokens/validate", json!({ "access_token": access }), 401).await;
    assert_eq!(problem_code(&problem), "session-ended", "the backend sees the logout too");
    let refresh = fresh["tokens"]["refresh_token"].as_str().unwrap();
    anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh }), 401).await;
    t.stop().await;
}

async fn session_cookie_signs_in_and_out(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.post("/api/backend/v1/users", json!({ "email": "cookie@example.com", "password": "cookie monster" }), 201).await;
    let resp = t
        .client
        .post(t.url("/api/v1/login"))
        .json(&json!({ "email": "cookie@example.com", "password": "cookie monster" }))
        .send()
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain-HTTP loopback deployments may not set Secure");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me = t.client.get(t.url("/api/v1/me")).header("cookie", &pair).send().await.unwrap();
    expect_status(me, "me by cookie", 200).await;
    let out = t.client.post(t.url("/api/v1/logout")).header("cookie", &pair).json(&json!({})).send().await.unwrap();
    expect_status(out, "logout by cookie", 204).await;
    let me = t.client.get(t.url("/api/v1/me")).header("cookie", &pair).send().await.unwrap();
    expect_status(me, "me after logout", 401).await;
    t.stop().await;
}

async fn login_failures_look_alike_and_are_throttled(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.post("/api/backend/v1/users", json!({ "email": "vic@example.com", "password": "right password" }), 201).await;
    let unknown =
        anon(&t, "/api/v1/login", json!({ "email": "nobody@example.com", "password": "whatever1" }), 401).await;
    let wrong =
        anon(&t, "/api/v1/login", json!({ "email": "vic@example.com", "password": "wrong password" }), 401).await;
    assert_eq!(unknown, wrong, "unknown email and wrong password answer byte for byte alike");
    for variant in ["right passwor", "Right password", "right password!", "right password "] {
        anon(&t, "/api/v1/login", json!({ "email": "vic@example.com", "password": variant }), 401).await;
    }
    // Five failures so far: the right password is refused until the delay passes.
    let resp = t
        .client
        .post(t.url("/api/v1/login"))
        .json(&json!({ "email": "vic@example.com", "password": "right password" }))
        .send()
        .await
        .unwrap();
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let problem = expect_status(resp, "throttled login", 429).await;
    assert_eq!(problem_code(&problem), "too-many-attempts");
    t.clock.advance(chrono::Duration::seconds(retry_after as i64));
    login(&t, "vic@example.com", "right password").await;
    // The success wiped the account's failures: five free attempts again, not one.
    for _ in 0..4 {
        anon(&t, "/api/v1/login", json!({ "email": "vic@example.com", "password": "wrong password" }), 401).await;
    }
    login(&t, "vic@example.com", "right password").await;
    t.stop().await;
}

async fn racing_wrong_passwords_are_evaluated_at_most_five_times(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.post("/api/backend/v1/users", json!({ "email": "race@example.com", "password": "right password" }), 201).await;
    let attempts: Vec<_> = (0..30)
        .map(|i| {
            let req = t
                .client
                .post(t.url("/api/v1/login"))
                .json(&json!({ "email": "race@example.com", "password": format!("wrong {i}") }));
            tokio::spawn(req.send())
        })
        .collect();
    let mut evaluated = 0;
    for a in attempts {
        match a.await.unwrap().unwrap().status().as_u16() {
            401 => evaluated += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(evaluated <= 5, "{evaluated} passwords were evaluated");
    t.stop().await;
}

async fn racing_refreshes_of_one_token_rotate_it_once_and_end_the_family(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.post("/api/backend/v1/users", json!({ "email": "twin@example.com", "password": "one token two tabs" }), 201)
        .await;
    let signed_in = login(&t, "twin@example.com", "one token two tabs").await;
    let refresh = signed_in["tokens"]["refresh_token"].as_str().unwrap().to_owned();
    let racers: Vec<_> = (0..12)
        .map(|_| {
            let req = t.client.post(t.url("/api/v1/token/refresh")).json(&json!({ "refresh_token": refresh }));
            tokio::spawn(async move {
                let res = req.send().await.unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut winners = Vec::new();
    for r in racers {
        match r.await.unwrap() {
            (200, body) => winners.push(body),
            (401, body) => assert_eq!(problem_code(&body), "invalid-refresh-token"),
            (other, body) => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one exchange spends the token");
    // The losers presented a spent token: the family ends, the winner's successor with it.
    anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": winners[0]["refresh_token"] }), 401).await;
    let access = winners[0]["access_token"].as_str().unwrap();
    with_token(&t, Method::GET, "/api/v1/me", access, None, 401).await;
    t.stop().await;
}

async fn password_reset_ends_sessions_and_links_die(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.post("/api/backend/v1/users", json!({ "email": "rita@example.com", "password": "old passphrase" }), 201).await;
    let before = login(&t, "rita@example.com", "old passphrase").await;
    let old_access = before["tokens"]["access_token"].as_str().unwrap().to_owned();

    // Unknown and known emails answer alike.
    anon(&t, "/api/v1/password/forgot", json!({ "email": "ghost@example.com" }), 202).await;
    anon(&t, "/api/v1/password/forgot", json!({ "email": "rita@example.com" }), 202).await;
    let first = token_from_mail(&t, "rita@example.com", "reset_password").await;
    anon(&t, "/api/v1/password/forgot", json!({ "email": "rita@example.com" }), 202).await;
    let second = token_from_mail(&t, "rita@example.com", "reset_password").await;
    let superseded =
        anon(&t, "/api/v1/password/reset", json!({ "token": first, "password": "new passphrase" }), 410).await;
    assert_eq!(problem_code(&superseded), "link-used", "a newer request kills the older link");

    anon(&t, "/api/v1/password/reset", json!({ "token": second, "password": "new passphrase" }), 204).await;
    with_token(&t, Method::GET, "/api/v1/me", &old_access, None, 401).await;
    anon(&t, "/api/v1/password/reset", json!({ "token": second, "password": "another one" }), 410).await;
    anon(&t, "/api/v1/login", json!({ "email": "rita@example.com", "password": "old passphrase" }), 401).await;
    login(&t, "rita@example.com", "new passphrase").await;
    assert!(
        mails_to(&t, "rita@example.com").await.iter().any(|m| m.template == "password_changed"),
        "a notice goes out"
    );

    // An expired link says so.
    anon(&t, "/api/v1/password/forgot", json!({ "email": "rita@example.com" }), 202).await;
    let third = token_from_mail(&t, "rita@example.com", "reset_password").await;
    t.clock.advance(chrono::Duration::minutes(31));
    let expired = anon(&t, "/api/v1/password/reset", json!({ "token": third, "password": "too late now" }), 410).await;
    assert_eq!(problem_code(&expired), "link-expired");
    let forged =
        anon(&t, "/api/v1/password/reset", json!({ "token": "forged", "password": "too late now" }), 404).await;
    assert_eq!(problem_code(&forged), "link-invalid");
    t.stop().await;
}

async fn signup_does_not_reveal_taken_emails(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.post("/api/backend/v1/users", json!({ "email": "taken@example.com" }), 201).await;
    let a = t
        .client
        .post(t.url("/api/v1/signup"))
        .json(&json!({ "email": "taken@example.com", "password": "whatever you like" }))
        .send()
        .await
        .unwrap();
    let b = t
        .client
        .post(t.url("/api/v1/signup"))
        .json(&json!({ "email": "fresh@example.com", "password": "whatever you like" }))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), b.status());
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());
    let problem = anon(&t, "/api/v1/signup", json!({ "email": "x@example.com", "password": "short" }), 422).await;
    assert_eq!(problem_code(&problem), "password-too-short");
    t.stop().await;
}

async fn change_password_and_email(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    t.post("/api/backend/v1/users", json!({ "email": "mo@example.com", "password": "first passphrase" }), 201).await;
    let one = login(&t, "mo@example.com", "first passphrase").await;
    let two = login(&t, "mo@example.com", "first passphrase").await;
    let (a1, a2) = (one["tokens"]["access_token"].as_str().unwrap(), two["tokens"]["access_token"].as_str().unwrap());
    let sessions = with_token(&t, Method::GET, "/api/v1/me/sessions", a1, None, 200).await;
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 2);

    let wrong = json!({ "current_password": "not it at all", "new_password": "second passphrase" });
    with_token(&t, Method::POST, "/api/v1/me/password", a1, Some(wrong), 422).await;
    let right = json!({ "current_password": "first passphrase", "new_password": "second passphrase" });
    with_token(&t, Method::POST, "/api/v1/me/password", a1, Some(right), 204).await;
    with_token(&t, Method::GET, "/api/v1/me", a1, None, 200).await;
    with_token(&t, Method::GET, "/api/v1/me", a2, None, 401).await;

    let change = json!({ "new_email": "mo@new.example", "password": "second passphrase" });
    with_token(&t, Method::POST, "/api/v1/me/email", a1, Some(change), 202).await;
    let me = with_token(&t, Method::GET, "/api/v1/me", a1, None, 200).await;
    assert_eq!(me["email"], "mo@example.com", "nothing changes before the new address confirms");
    let token = token_from_mail(&t, "mo@new.example", "email_change_verify").await;
    let user = anon(&t, "/api/v1/email/change/confirm", json!({ "token": token }), 200).await;
    assert_eq!(user["email"], "mo@new.example");
    assert!(mails_to(&t, "mo@example.com").await.iter().any(|m| m.template == "email_changed_notice"));
    t.stop().await;
}

async fn jwks_publishes_keys_before_they_sign(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let user = t.post("/api/backend/v1/users", json!({ "email": "k@example.com" }), 201).await;
    let path = format!("/api/backend/v1/users/{}/access-token", user["user_id"].as_str().unwrap());
    let jwks: Value = t.client.get(t.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    let discovery: Value =
        t.client.get(t.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["issuer"], t.config.public_url.as_str());

    let old = t.post(&path, json!({}), 200).await["access_token"].as_str().unwrap().to_owned();
    let new_kid = t.app().rotate_signing_key().await.unwrap();
    let jwks: Value = t.client.get(t.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "the new key is published at once");
    let still_old = t.post(&path, json!({}), 200).await["access_token"].as_str().unwrap().to_owned();
    assert_ne!(kid(&still_old), new_kid, "but signs only after the publish delay");
    t.clock.advance(chrono::Duration::minutes(6));
    let fresh = t.post(&path, json!({}), 200).await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(kid(&fresh), new_kid);
    t.post("/api/backend/v1/tokens/validate", json!({ "access_token": fresh }), 200).await;
    t.post("/api/backend/v1/tokens/validate", json!({ "access_token": still_old }), 200).await;

    // Once the last token of the old key has expired, the old key leaves the JWKS.
    t.clock.advance(chrono::Duration::minutes(30));
    let jwks: Value = t.client.get(t.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, [new_kid.as_str()]);
    let expired = t.post("/api/backend/v1/tokens/validate", json!({ "access_token": old }), 401).await;
    assert!(problem_code(&expired).starts_with("token-"), "{expired}");
    t.stop().await;
}

async fn every_link_and_token_expires(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    anon(&t, "/api/v1/signup", json!({ "email": "late@example.com", "password": "patience is key" }), 202).await;
    let verify = token_from_mail(&t, "late@example.com", "verify_email").await;
    let signed_in = login(&t, "late@example.com", "patience is key").await;
    let access = signed_in["tokens"]["access_token"].as_str().unwrap().to_owned();
    let refresh = signed_in["tokens"]["refresh_token"].as_str().unwrap().to_owned();
    let change = json!({ "new_email": "late@new.example", "password": "patience is key" });
    with_token(&t, Method::POST, "/api/v1/me/email", &access, Some(change), 202).await;
    let change_token = token_from_mail(&t, "late@new.example", "email_change_verify").await;

    // Access tokens live 15 minutes.
    t.clock.advance(chrono::Duration::minutes(16));
    with_token(&t, Method::GET, "/api/v1/me", &access, None, 401).await;
    let problem = t.post("/api/backend/v1/tokens/validate", json!({ "access_token": access }), 401).await;
    assert_eq!(problem_code(&problem), "token-expired");
    // Verification and email-change links live 24 hours; refresh tokens 30 days.
    t.clock.advance(chrono::Duration::hours(24));
    let expired = anon(&t, "/api/v1/email/verify", json!({ "token": verify }), 410).await;
    assert_eq!(problem_code(&expired), "link-expired");
    let expired = anon(&t, "/api/v1/email/change/confirm", json!({ "token": change_token }), 410).await;
    assert_eq!(problem_code(&expired), "link-expired");
    let fresh = anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh }), 200).await;
    t.clock.advance(chrono::Duration::days(31));
    let refresh = fresh["refresh_token"].as_str().unwrap();
    anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh }), 401).await;
    t.stop().await;
}

async fn malformed_and_forged_tokens_are_refused(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let user = t.post("/api/backend/v1/users", json!({ "email": "f@example.com" }), 201).await;
    let path = format!("/api/backend/v1/users/{}/access-token", user["user_id"].as_str().unwrap());
    let good = t.post(&path, json!({}), 200).await["access_token"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = good.split('.').collect();
    use base64::Engine as _;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none_alg = format!("{}.{}.", b64(json!({ "alg": "none", "typ": "at+jwt" })), parts[1]);
    let hs256 = format!("{}.{}.{}", b64(json!({ "alg": "HS256", "typ": "at+jwt" })), parts[1], parts[2]);
    let jku = format!(
        "{}.{}.{}",
        b64(json!({ "alg": "EdDSA", "typ": "at+jwt", "jku": "http://evil.test/jwks" })),
        parts[1],
        parts[2]
    );
    let forged_claims = format!("{}.{}.{}", parts[0], b64(json!({ "sub": "someone-else" })), parts[2]);
    for (why, token) in [
        ("garbage", "not.a.jwt".to_owned()),
        ("empty", String::new()),
        ("alg none", none_alg),
        ("HS256", hs256),
        ("jku header", jku),
        ("forged claims", forged_claims),
        ("refresh token as access token", "x".repeat(43)),
    ] {
        let problem = t.post("/api/backend/v1/tokens/validate", json!({ "access_token": token }), 401).await;
        assert!(problem_code(&problem).starts_with("token-"), "{why}: {problem}");
        with_token(&t, Method::GET, "/api/v1/me", &token, None, 401).await;
    }
    t.stop().await;
}

async fn disabled_users_cannot_sign_in_or_refresh(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let user =
        t.post("/api/backend/v1/users", json!({ "email": "d@example.com", "password": "soon disabled" }), 201).await;
    let signed_in = login(&t, "d@example.com", "soon disabled").await;
    t.post(&format!("/api/backend/v1/users/{}/disable", user["user_id"].as_str().unwrap()), json!({}), 200).await;
    // Right or wrong, the password gets the answer a wrong one gets: it confirms no guess.
    let right = anon(&t, "/api/v1/login", json!({ "email": "d@example.com", "password": "soon disabled" }), 401).await;
    let wrong = anon(&t, "/api/v1/login", json!({ "email": "d@example.com", "password": "a wrong guess" }), 401).await;
    assert_eq!(problem_code(&right), "invalid-credentials");
    assert_eq!(right, wrong, "a disabled account answers alike whether the password was right or not");
    let refresh = signed_in["tokens"]["refresh_token"].as_str().unwrap();
    anon(&t, "/api/v1/token/refresh", json!({ "refresh_token": refresh }), 401).await;
    t.stop().await;
}

async fn throttles_cover_addresses_and_mail(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    // Successful sign-ins do not use up the address's allowance.
    t.post("/api/backend/v1/users", json!({ "email": "busy@example.com", "password": "office login" }), 201).await;
    for _ in 0..60 {
        login(&t, "busy@example.com", "office login").await;
    }
    // One address trying many accounts: 50 free attempts, then a delay.
    for i in 0..50 {
        anon(&t, "/api/v1/login", json!({ "email": format!("u{i}@example.com"), "password": "guessing" }), 401).await;
    }
    let problem = anon(&t, "/api/v1/login", json!({ "email": "u99@example.com", "password": "guessing" }), 429).await;
    assert_eq!(problem_code(&problem), "too-many-attempts");
    // No mail bombing: three reset mails to one address, then 429.
    for _ in 0..3 {
        anon(&t, "/api/v1/password/forgot", json!({ "email": "victim@example.com" }), 202).await;
    }
    anon(&t, "/api/v1/password/forgot", json!({ "email": "victim@example.com" }), 429).await;
    for _ in 0..3 {
        anon(&t, "/api/v1/email/verify/resend", json!({ "email": "victim@example.com" }), 202).await;
    }
    anon(&t, "/api/v1/email/verify/resend", json!({ "email": "victim@example.com" }), 429).await;
    t.stop().await;
}

async fn signup_can_be_turned_off(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.signup_enabled = false).await;
    let problem =
        anon(&t, "/api/v1/signup", json!({ "email": "n@example.com", "password": "no entry here" }), 403).await;
    assert_eq!(problem_code(&problem), "signup-disabled");
    t.stop().await;
}

/// The sign-up throttle per source address (`signup_limit_per_ip`): that many sign-ups go through
/// at once; then each waits 30 s, doubling, until an hour passes without one.
async fn signup_limit_per_ip_is_configurable(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.signup_limit_per_ip = 3).await;
    let signup = |n: u32, status: u16| {
        let t = &t;
        async move {
            let body = json!({ "email": format!("new{n}@example.com"), "password": "a fine passphrase" });
            let resp = t.client.post(t.url("/api/v1/signup")).json(&body).send().await.unwrap();
            let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let body = expect_status(resp, "signup", status).await;
            (body, retry_after)
        }
    };
    for n in 0..3 {
        signup(n, 202).await;
    }
    let (problem, retry_after) = signup(3, 429).await;
    assert_eq!(problem_code(&problem), "too-many-attempts");
    assert_eq!(retry_after.as_deref(), Some("30"));
    t.clock.advance(chrono::Duration::seconds(31));
    signup(4, 202).await;
    let (_, retry_after) = signup(5, 429).await;
    assert_eq!(retry_after.as_deref(), Some("60"), "each further sign-up waits twice as long");
    // An hour without a sign-up from the address starts its count over.
    t.clock.advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
    for n in 6..9 {
        signup(n, 202).await;
    }
    signup(9, 429).await;
    t.stop().await;
}

async fn backend_lists_and_ends_a_users_sessions(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let user =
        t.post("/api/backend/v1/users", json!({ "email": "s@example.com", "password": "many devices" }), 201).await;
    let uid = user["user_id"].as_str().unwrap();
    let a = login(&t, "s@example.com", "many devices").await;
    login(&t, "s@example.com", "many devices").await;
    let list = t.get(&format!("/api/backend/v1/users/{uid}/sessions"), 200).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 2);
    t.delete(&format!("/api/backend/v1/users/{uid}/sessions"), 204).await;
    let access = a["tokens"]["access_token"].as_str().unwrap();
    with_token(&t, Method::GET, "/api/v1/me", access, None, 401).await;
    let list = t.get(&format!("/api/backend/v1/users/{uid}/sessions"), 200).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 0);
    // A user cannot see another user's sessions through the end-user API.
    let other =
        t.post("/api/backend/v1/users", json!({ "email": "o@example.com", "password": "nosy neighbour" }), 201).await;
    let nosy = login(&t, "o@example.com", "nosy neighbour").await;
    let mine =
        with_token(&t, Method::GET, "/api/v1/me/sessions", nosy["tokens"]["access_token"].as_str().unwrap(), None, 200)
            .await;
    assert_eq!(mine["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(mine["sessions"][0]["current"], true);
    let _ = other;
    t.stop().await;
}

/// The `kid` of a JWT's header.
fn kid(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["kid"].as_str().unwrap().to_owned()
}

engine_tests!(
    signup_verify_login_refresh_logout,
    session_cookie_signs_in_and_out,
    login_failures_look_alike_and_are_throttled,
    racing_wrong_passwords_are_evaluated_at_most_five_times,
    racing_refreshes_of_one_token_rotate_it_once_and_end_the_family,
    password_reset_ends_sessions_and_links_die,
    signup_does_not_reveal_taken_emails,
    change_password_and_email,
    jwks_publishes_keys_before_they_sign,
    every_link_and_token_expires,
    malformed_and_forged_tokens_are_refused,
    disabled_users_cannot_sign_in_or_refresh,
    throttles_cover_addresses_and_mail,
    signup_can_be_turned_off,
    signup_limit_per_ip_is_configurable,
    backend_lists_and_ends_a_users_sessions,
);
