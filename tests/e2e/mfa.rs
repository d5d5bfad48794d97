//! Two-factor authentication on the real server, both engines, with pyotp (PyPI) as the
//! independent authenticator: it reads the secret from the `otpauth://` URI the API returns and
//! makes the codes. The manual clock drives window edges, replay, the pending sign-in's expiry, an
//! org's grace deadline and the reminder's timing; two servers on one database race one code.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::{json, Value};
use tenantry_app::mfa::{MfaNotifier, NoticeReport};
use tenantry_core::Clock as _;
use tenantry_testkit::peers::peers_python;
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::support::{anon, audit, call, event_types, jwt_payload, mails_to, problem_code};

const PASSWORD: &str = "correct horse battery staple";

/// pyotp's code for the account in `uri` at unix time `t`.
fn pyotp_at(python: &Path, uri: &str, t: i64) -> String {
    let out = Command::new(python)
        .args([
            "-c",
            "import pyotp, sys; print(pyotp.parse_uri(sys.argv[1]).at(int(sys.argv[2])))",
            uri,
            &t.to_string(),
        ])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "pyotp: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
}

/// A user with a password, signed in with it: (user id, access token).
async fn password_user(t: &TestApp, email: &str) -> (String, String) {
    let user = t
        .post("/api/backend/v1/users", json!({ "email": email, "password": PASSWORD, "email_verified": true }), 201)
        .await;
    let login = anon(t, "/api/v1/login", json!({ "email": email, "password": PASSWORD }), 200).await;
    (user["user_id"].as_str().unwrap().to_owned(), login["tokens"]["access_token"].as_str().unwrap().to_owned())
}

/// Enrolls and confirms 2FA for the holder of `access` at the clock's time: (otpauth URI, backup
/// codes).
async fn enable_mfa(t: &TestApp, python: &Path, access: &str) -> (String, Vec<String>) {
    let e = call(t, Method::POST, "/api/v1/me/mfa/enroll", Some(access), None, 201).await;
    let uri = e["otpauth_uri"].as_str().unwrap().to_owned();
    let code = pyotp_at(python, &uri, t.clock_now());
    let confirmed =
        call(t, Method::POST, "/api/v1/me/mfa/confirm", Some(access), Some(json!({ "code": code })), 200).await;
    let codes = confirmed["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    (uri, codes)
}

/// The password step of a user with 2FA: the pending token.
async fn pending(t: &TestApp, email: &str) -> String {
    let p = anon(t, "/api/v1/login", json!({ "email": email, "password": PASSWORD }), 202).await;
    assert_eq!(p["methods"], json!(["totp", "backup_code"]));
    assert!(p.get("tokens").is_none(), "no session before the code: {p}");
    p["pending_token"].as_str().unwrap().to_owned()
}

async fn second(t: &TestApp, pending: &str, field: &str, code: &str, expected: u16) -> Value {
    anon(t, "/api/v1/login/second-factor", json!({ "pending_token": pending, field: code }), expected).await
}

fn now_of(t: &TestApp) -> chrono::DateTime<chrono::Utc> {
    t.clock.now()
}

fn python() -> Option<PathBuf> {
    peers_python("pyotp")
}

async fn enroll_sign_in_replay_and_window(engine: Engine) {
    let Some(py) = python() else { return };
    let t = TestApp::spawn(engine).await;
    let (id, access) = password_user(&t, "ada@example.com").await;

    // Enrollment: the URI names the account, the QR code is SVG, the key is grouped; nothing is on
    // until a code confirms it.
    let e = call(&t, Method::POST, "/api/v1/me/mfa/enroll", Some(&access), None, 201).await;
    let uri = e["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Tenantry:ada%40example.com?"), "{uri}");
    assert!(e["qr_svg"].as_str().unwrap().contains("<svg") && e["secret"].as_str().unwrap().contains(' '));
    let status = call(&t, Method::GET, "/api/v1/me/mfa", Some(&access), None, 200).await;
    assert_eq!((status["enabled"].clone(), status["enrollment_pending"].clone()), (json!(false), json!(true)));
    anon(&t, "/api/v1/login", json!({ "email": "ada@example.com", "password": PASSWORD }), 200).await;
    let wrong =
        call(&t, Method::POST, "/api/v1/me/mfa/confirm", Some(&access), Some(json!({ "code": "000000" })), 422).await;
    assert_eq!(problem_code(&wrong), "invalid-code");
    let bad =
        call(&t, Method::POST, "/api/v1/me/mfa/confirm", Some(&access), Some(json!({ "code": "12ab" })), 422).await;
    assert_eq!(problem_code(&bad), "malformed-code");

    let (uri, backup) = enable_mfa(&t, &py, &access).await;
    assert_eq!(backup.len(), 10);
    let status = call(&t, Method::GET, "/api/v1/me/mfa", Some(&access), None, 200).await;
    assert_eq!((status["enabled"].clone(), status["backup_codes_left"].clone()), (json!(true), json!(10)));
    assert_eq!(event_types(&t, &id).await.last().map(String::as_str), Some("user.mfa_enabled"));
    assert!(audit(&t, &id).await.iter().any(|a| a.action == "user.mfa_enabled"));
    assert!(mails_to(&t, "ada@example.com").await.iter().any(|m| m.template == "mfa_changed"));
    let again = call(&t, Method::POST, "/api/v1/me/mfa/enroll", Some(&access), None, 409).await;
    assert_eq!(problem_code(&again), "mfa-already-enabled");

    // The code that confirmed enrollment is spent: the same step is refused at sign-in.
    let now = t.clock_now();
    let p = pending(&t, "ada@example.com").await;
    let replay = second(&t, &p, "code", &pyotp_at(&py, &uri, now), 401).await;
    assert_eq!(problem_code(&replay), "invalid-code");
    // Two steps back is outside the window; one step ahead is inside it.
    second(&t, &p, "code", &pyotp_at(&py, &uri, now - 60), 401).await;
    let done = second(&t, &p, "code", &pyotp_at(&py, &uri, now + 30), 200).await;
    let access2 = done["tokens"]["access_token"].as_str().unwrap();
    assert_eq!(jwt_payload(access2)["amr"], json!(["pwd", "otp"]));
    let sessions = call(&t, Method::GET, "/api/v1/me/sessions", Some(access2), None, 200).await;
    assert!(!sessions["sessions"].as_array().unwrap().is_empty());
    // The pending sign-in is spent, and the step one ahead is now the last used one.
    let used = second(&t, &p, "code", &pyotp_at(&py, &uri, now + 30), 410).await;
    assert_eq!(problem_code(&used), "sign-in-expired");
    t.clock.advance(TimeDelta::seconds(30));
    let p2 = pending(&t, "ada@example.com").await;
    second(&t, &p2, "code", &pyotp_at(&py, &uri, t.clock_now()), 401).await;
    t.clock.advance(TimeDelta::seconds(30));
    second(&t, &p2, "code", &pyotp_at(&py, &uri, t.clock_now()), 200).await;

    // A backup code works once, in any spelling.
    let p3 = pending(&t, "ada@example.com").await;
    second(&t, &p3, "backup_code", &backup[0].to_uppercase().replace('-', " "), 200).await;
    let p4 = pending(&t, "ada@example.com").await;
    second(&t, &p4, "backup_code", &backup[0], 401).await;
    let malformed = second(&t, &p4, "backup_code", "not-a-code", 422).await;
    assert_eq!(problem_code(&malformed), "malformed-code");
    second(&t, &p4, "backup_code", &backup[1], 200).await;
    let status = call(&t, Method::GET, "/api/v1/me/mfa", Some(&access), None, 200).await;
    assert_eq!(status["backup_codes_left"], 8);
    let both =
        anon(&t, "/api/v1/login/second-factor", json!({ "pending_token": "x", "code": "1", "backup_code": "2" }), 422)
            .await;
    assert_eq!(problem_code(&both), "invalid-input");
    t.stop().await;
}

async fn pending_sign_ins_expire_and_die_after_five_codes(engine: Engine) {
    let Some(py) = python() else { return };
    let t = TestApp::spawn(engine).await;
    let (_, access) = password_user(&t, "bo@example.com").await;
    let (uri, _) = enable_mfa(&t, &py, &access).await;

    // Five minutes, then gone.
    let p = pending(&t, "bo@example.com").await;
    t.clock.advance(TimeDelta::seconds(301));
    let expired = second(&t, &p, "code", &pyotp_at(&py, &uri, t.clock_now()), 410).await;
    assert_eq!(problem_code(&expired), "sign-in-expired");

    // Five wrong codes, then even the right one finds the pending sign-in gone.
    let p = pending(&t, "bo@example.com").await;
    for _ in 0..5 {
        second(&t, &p, "code", "000000", 401).await;
    }
    let dead = second(&t, &p, "code", &pyotp_at(&py, &uri, t.clock_now()), 410).await;
    assert_eq!(problem_code(&dead), "sign-in-expired");
    // The account's 2FA throttle holds across pending sign-ins: five wrong codes are counted.
    let p = pending(&t, "bo@example.com").await;
    let throttled = second(&t, &p, "code", &pyotp_at(&py, &uri, t.clock_now()), 429).await;
    assert_eq!(problem_code(&throttled), "too-many-attempts");
    // After the wait it goes through, and a success clears the count.
    t.clock.advance(TimeDelta::seconds(60));
    let p = pending(&t, "bo@example.com").await;
    second(&t, &p, "code", &pyotp_at(&py, &uri, t.clock_now()), 200).await;

    // A password reset leaves 2FA on: the next sign-in still asks for a code.
    anon(&t, "/api/v1/password/forgot", json!({ "email": "bo@example.com" }), 202).await;
    let token = crate::support::mailed_token(&t, "bo@example.com", "reset_password").await;
    let new_password = "a brand new long passphrase";
    anon(&t, "/api/v1/password/reset", json!({ "token": token, "password": new_password }), 204).await;
    let after = anon(&t, "/api/v1/login", json!({ "email": "bo@example.com", "password": new_password }), 202).await;
    assert!(after["pending_token"].is_string());
    t.stop().await;
}

async fn disable_regenerate_and_reset(engine: Engine) {
    let Some(py) = python() else { return };
    let t = TestApp::spawn(engine).await;
    let (id, access) = password_user(&t, "cy@example.com").await;
    let (_, old_codes) = enable_mfa(&t, &py, &access).await;

    let wrong = call(
        &t,
        Method::POST,
        "/api/v1/me/mfa/backup-codes",
        Some(&access),
        Some(json!({ "password": "wrong password" })),
        422,
    )
    .await;
    assert_eq!(problem_code(&wrong), "wrong-password");
    let fresh = call(
        &t,
        Method::POST,
        "/api/v1/me/mfa/backup-codes",
        Some(&access),
        Some(json!({ "password": PASSWORD })),
        200,
    )
    .await;
    let fresh: Vec<String> =
        fresh["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    let p = pending(&t, "cy@example.com").await;
    second(&t, &p, "backup_code", &old_codes[2], 401).await;
    second(&t, &p, "backup_code", &fresh[0], 200).await;

    // Disabling needs the password in the same request; nothing changes without it.
    let refused =
        call(&t, Method::POST, "/api/v1/me/mfa/disable", Some(&access), Some(json!({ "password": "nope nope" })), 422)
            .await;
    assert_eq!(problem_code(&refused), "wrong-password");
    let missing = call(&t, Method::POST, "/api/v1/me/mfa/disable", Some(&access), Some(json!({})), 400).await;
    assert!(problem_code(&missing).contains("invalid") || problem_code(&missing).contains("bad"), "{missing}");
    pending(&t, "cy@example.com").await;
    call(&t, Method::POST, "/api/v1/me/mfa/disable", Some(&access), Some(json!({ "password": PASSWORD })), 204).await;
    anon(&t, "/api/v1/login", json!({ "email": "cy@example.com", "password": PASSWORD }), 200).await;
    assert_eq!(event_types(&t, &id).await.last().map(String::as_str), Some("user.mfa_disabled"));
    let again =
        call(&t, Method::POST, "/api/v1/me/mfa/disable", Some(&access), Some(json!({ "password": PASSWORD })), 409)
            .await;
    assert_eq!(problem_code(&again), "mfa-not-enabled");

    // The backend resets a user's 2FA: audited, emailed.
    enable_mfa(&t, &py, &access).await;
    t.backend(Method::POST, &format!("/api/backend/v1/users/{id}/mfa/reset"), None, 204).await;
    anon(&t, "/api/v1/login", json!({ "email": "cy@example.com", "password": PASSWORD }), 200).await;
    let entry = audit(&t, &id).await.into_iter().rev().find(|a| a.action == "user.mfa_disabled").expect("audited");
    assert_eq!(entry.actor_kind, "api_key");
    assert_eq!(entry.details.0["reason"], "reset");
    let mail = mails_to(&t, "cy@example.com").await.into_iter().rev().find(|m| m.template == "mfa_changed").unwrap();
    assert_eq!(mail.vars.0["change"], "reset");
    t.stop().await;
}

async fn an_org_requirement_with_a_grace_deadline(engine: Engine) {
    let Some(py) = python() else { return };
    let t = TestApp::spawn(engine).await;
    let (owner_id, owner) = password_user(&t, "owner@example.com").await;
    let (member_id, member) = password_user(&t, "member@example.com").await;
    let org = t.post("/api/backend/v1/orgs", json!({ "name": "Acme", "owner_user_id": owner_id }), 201).await;
    let org_id = org["org_id"].as_str().unwrap().to_owned();
    t.post(&format!("/api/backend/v1/orgs/{org_id}/members"), json!({ "user_id": member_id }), 201).await;
    let path = format!("/api/v1/orgs/{org_id}/mfa-requirement");

    // Only with 2FA of one's own, and only with the permission.
    let deadline = (now_of(&t) + TimeDelta::days(3)).to_rfc3339();
    let body = json!({ "required": true, "grace_until": deadline });
    let first = call(&t, Method::PUT, &path, Some(&owner), Some(body.clone()), 409).await;
    assert_eq!(problem_code(&first), "mfa-enroll-first");
    let denied = call(&t, Method::PUT, &path, Some(&member), Some(body.clone()), 403).await;
    assert_eq!(problem_code(&denied), "permission-denied");
    let past = json!({ "required": true, "grace_until": (now_of(&t) - TimeDelta::hours(1)).to_rfc3339() });
    enable_mfa(&t, &py, &owner).await;
    let bad = call(&t, Method::PUT, &path, Some(&owner), Some(past), 422).await;
    assert_eq!(problem_code(&bad), "invalid-deadline");
    let set = call(&t, Method::PUT, &path, Some(&owner), Some(body), 200).await;
    assert_eq!(set["required"], true);
    assert_eq!(event_types(&t, &org_id).await.last().map(String::as_str), Some("org.mfa_requirement_changed"));

    // The members list shows who has 2FA.
    let roster = t.get(&format!("/api/backend/v1/orgs/{org_id}/members"), 200).await;
    let shown: Vec<(String, bool)> = roster["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["member"]["email"].as_str().unwrap().to_owned(), e["member"]["mfa_enabled"].as_bool().unwrap()))
        .collect();
    assert_eq!(shown, [("owner@example.com".to_owned(), true), ("member@example.com".to_owned(), false)]);

    // The announcement goes once, to the member without 2FA only; the reminder a day before.
    let notifier = MfaNotifier::new(t.app().clone(), std::time::Duration::from_secs(60));
    let other = MfaNotifier::new(t.app().clone(), std::time::Duration::from_secs(60));
    assert_eq!(notifier.run_once().await.unwrap(), Some(NoticeReport { required: 1, reminders: 0 }));
    assert_eq!(other.run_once().await.unwrap(), None, "one node at a time");
    assert_eq!(notifier.run_once().await.unwrap(), Some(NoticeReport::default()), "announced once");
    assert!(mails_to(&t, "owner@example.com").await.iter().all(|m| m.template != "mfa_required"));
    let notice = mails_to(&t, "member@example.com").await.into_iter().find(|m| m.template == "mfa_required");
    assert_eq!(notice.expect("announced").vars.0["org_name"], "Acme");
    t.clock.advance(TimeDelta::days(2) - TimeDelta::minutes(1));
    assert_eq!(notifier.run_once().await.unwrap(), Some(NoticeReport::default()), "not yet a day before");
    t.clock.advance(TimeDelta::minutes(2));
    assert_eq!(notifier.run_once().await.unwrap(), Some(NoticeReport { required: 0, reminders: 1 }));
    assert_eq!(notifier.run_once().await.unwrap(), Some(NoticeReport::default()), "reminded once");

    // During the grace period the member acts; the token is unmarked.
    let login = anon(&t, "/api/v1/login", json!({ "email": "member@example.com", "password": PASSWORD }), 200).await;
    let member = login["tokens"]["access_token"].as_str().unwrap().to_owned();
    assert!(jwt_payload(&member)["orgs"][&org_id].get("mfa_required").is_none());
    call(&t, Method::GET, &format!("/api/v1/orgs/{org_id}"), Some(&member), None, 200).await;
    // After the deadline: 403 mfa-required from both APIs' org operations, a marked token.
    t.clock.advance(TimeDelta::days(1));
    let login = anon(&t, "/api/v1/login", json!({ "email": "member@example.com", "password": PASSWORD }), 200).await;
    let member = login["tokens"]["access_token"].as_str().unwrap().to_owned();
    let refused = call(&t, Method::GET, &format!("/api/v1/orgs/{org_id}"), Some(&member), None, 403).await;
    assert_eq!(problem_code(&refused), "mfa-required");
    let claim = &jwt_payload(&member)["orgs"][&org_id];
    assert_eq!(claim["mfa_required"], true);
    assert_eq!((claim["role"].clone(), claim["permissions"].clone()), (json!(""), json!([])));
    t.get(&format!("/api/backend/v1/orgs/{org_id}"), 200).await;

    // Enrolling restores access at once; the next token lists the role again.
    enable_mfa(&t, &py, &member).await;
    call(&t, Method::GET, &format!("/api/v1/orgs/{org_id}"), Some(&member), None, 200).await;
    let login = anon(&t, "/api/v1/login", json!({ "email": "member@example.com", "password": PASSWORD }), 202).await;
    assert!(login["pending_token"].is_string());

    // The backend lifts it.
    let off = t
        .backend(
            Method::PUT,
            &format!("/api/backend/v1/orgs/{org_id}/mfa-requirement"),
            Some(json!({ "required": false })),
            200,
        )
        .await;
    assert_eq!(off["required"], false);
    t.stop().await;
}

async fn deployment_settings(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.mfa.orgs_may_require = false).await;
    let (owner_id, _) = password_user(&t, "dee@example.com").await;
    let org = t.post("/api/backend/v1/orgs", json!({ "name": "Initech", "owner_user_id": owner_id }), 201).await;
    let org_id = org["org_id"].as_str().unwrap();
    let path = format!("/api/backend/v1/orgs/{org_id}/mfa-requirement");
    let refused = t.backend(Method::PUT, &path, Some(json!({ "required": true })), 403).await;
    assert_eq!(problem_code(&refused), "mfa-requirement-disabled");
    t.stop().await;

    let t = TestApp::spawn_with(engine, |c| c.mfa.require_for_everyone = true).await;
    let (owner_id, owner) = password_user(&t, "eve@example.com").await;
    let org = t.post("/api/backend/v1/orgs", json!({ "name": "Hooli", "owner_user_id": owner_id }), 201).await;
    let org_id = org["org_id"].as_str().unwrap();
    let refused = call(&t, Method::GET, &format!("/api/v1/orgs/{org_id}"), Some(&owner), None, 403).await;
    assert_eq!(problem_code(&refused), "mfa-required");
    t.stop().await;
}

/// Two servers on one database: the same code submitted to both at once signs in once.
async fn two_nodes_accept_a_code_once(engine: Engine) {
    let Some(py) = python() else { return };
    let t = TestApp::spawn(engine).await;
    let (_, access) = password_user(&t, "fay@example.com").await;
    let (uri, _) = enable_mfa(&t, &py, &access).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = tenantry_server::start_on(t.config.clone(), listener, t.clock.clone()).await.unwrap();
    let b_url = format!("http://{}", b.addr);
    for round in 0..5 {
        t.clock.advance(TimeDelta::seconds(30));
        let code = pyotp_at(&py, &uri, t.clock_now());
        let (pa, pb) = (pending(&t, "fay@example.com").await, pending(&t, "fay@example.com").await);
        let send = |base: String, p: String, code: String| {
            let client = t.client.clone();
            async move {
                client
                    .post(format!("{base}/api/v1/login/second-factor"))
                    .json(&json!({ "pending_token": p, "code": code }))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let (sa, sb) = tokio::join!(send(t.base.clone(), pa, code.clone()), send(b_url.clone(), pb, code));
        let mut got = [sa, sb];
        got.sort_unstable();
        assert_eq!(got, [200, 401], "round {round}: one node accepts, the other refuses the replay");
    }
    b.shutdown.cancel();
    let _ = b.task.await;
    t.stop().await;
}

engine_tests!(
    enroll_sign_in_replay_and_window,
    pending_sign_ins_expire_and_die_after_five_codes,
    disable_regenerate_and_reset,
    an_org_requirement_with_a_grace_deadline,
    deployment_settings,
    two_nodes_accept_a_code_once
);
