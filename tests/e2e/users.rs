//! `/api/backend/v1/users`: every operation, its events and audit entries, and its refusals.

use std::collections::HashSet;

use serde_json::{json, Value};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::support::{audit, create_user, event_types, events, problem_code};

const USERS: &str = "/api/backend/v1/users";

fn id(user: &Value) -> String {
    user["user_id"].as_str().unwrap().to_owned()
}

async fn create_and_fetch(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let user = t
        .post(
            USERS,
            json!({
                "email": "  Ada.Lovelace@Example.COM ",
                "password": "analytical engine",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "username": "ada",
                "properties": { "plan": "pro", "seats": 3 },
            }),
            201,
        )
        .await;
    assert_eq!(user["email"], "Ada.Lovelace@example.com", "trimmed, case kept, the domain normalized");
    assert_eq!(user["has_password"], true);
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["version"], 1);
    assert_eq!(user["properties"]["seats"], 3);
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let uid = id(&user);
    assert_eq!(uuid::Uuid::parse_str(&uid).unwrap().get_version_num(), 7, "ids are UUIDv7");

    let fetched = t.get(&format!("{USERS}/{uid}"), 200).await;
    assert_eq!(fetched, user);
    let by_email = t.get(&format!("{USERS}/by-email?email=ada.lovelace%40example.com"), 200).await;
    assert_eq!(by_email["user_id"], uid.as_str(), "email look-up ignores case");

    let without_password = create_user(&t, "grace@example.com").await;
    assert_eq!(without_password["has_password"], false);

    let evs = events(&t, &uid).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event_type, "user.created");
    assert_eq!(evs[0].object_version, 1);
    assert_eq!(evs[0].data.0["user_id"], uid.as_str());
    assert_eq!(evs[0].data.0["version"], 1);
    let entries = audit(&t, &uid).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, "user.created");
    assert_eq!(entries[0].actor_kind, "api_key");
    assert_eq!(entries[0].ip.as_deref(), Some("127.0.0.1"));
    assert!(entries[0].request_id.is_some());
    t.stop().await;
}

async fn unknown_users_are_404(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let missing = uuid::Uuid::now_v7();
    for path in [format!("{USERS}/{missing}"), format!("{USERS}/by-email?email=nobody%40example.com")] {
        let problem = t.get(&path, 404).await;
        assert_eq!(problem_code(&problem), "user-not-found");
    }
    t.patch(&format!("{USERS}/{missing}"), json!({ "first_name": "X" }), 404).await;
    t.post(&format!("{USERS}/{missing}/disable"), json!({}), 404).await;
    t.delete(&format!("{USERS}/{missing}"), 404).await;
    t.stop().await;
}

async fn duplicate_emails_and_usernames_conflict(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let first = t.post(USERS, json!({ "email": "Bob@example.com", "username": "bob" }), 201).await;
    let problem = t.post(USERS, json!({ "email": "bob@EXAMPLE.com" }), 409).await;
    assert_eq!(problem_code(&problem), "email-taken");
    let problem = t.post(USERS, json!({ "email": "other@example.com", "username": "BOB" }), 409).await;
    assert_eq!(problem_code(&problem), "username-taken");
    let second = create_user(&t, "carol@example.com").await;
    let problem = t.patch(&format!("{USERS}/{}", id(&second)), json!({ "email": "BOB@example.com" }), 409).await;
    assert_eq!(problem_code(&problem), "email-taken");

    let page = t.get(USERS, 200).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 2, "refused writes leave nothing behind");
    assert_eq!(event_types(&t, &id(&first)).await, ["user.created"]);
    assert_eq!(event_types(&t, &id(&second)).await, ["user.created"], "a refused update emits nothing");
    t.stop().await;
}

async fn invalid_values_name_their_fields(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let cases = [
        (json!({ "email": "not-an-email" }), "invalid-email", vec!["email"]),
        (json!({ "email": "a@example.com\r\nBcc: x@evil.test" }), "invalid-email", vec!["email"]),
        (json!({ "email": "a@example.com", "password": "short" }), "password-too-short", vec!["password"]),
        (json!({ "email": "a@example.com", "password": "p".repeat(257) }), "password-too-long", vec!["password"]),
        (json!({ "email": "a@example.com", "first_name": "x".repeat(256) }), "invalid-name", vec!["first_name"]),
        (json!({ "email": "a@example.com", "username": "a b" }), "invalid-username", vec!["username"]),
        (json!({ "email": "nope", "last_name": "y".repeat(300) }), "invalid-input", vec!["email", "last_name"]),
        (
            json!({ "email": "a@example.com", "properties": { "blob": "z".repeat(17 * 1024) } }),
            "properties-too-large",
            vec!["properties"],
        ),
    ];
    for (body, code, fields) in cases {
        let problem = t.post(USERS, body.clone(), 422).await;
        assert_eq!(problem_code(&problem), code, "{body}");
        let named: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(named, fields, "{body}");
    }
    // NUL characters are refused at the HTTP edge, before any operation (tests/e2e/edge.rs).
    for properties in [json!({ "a": "x\u{0}y" }), json!({ "k\u{0}": [1, {"n": "\u{0}"}] })] {
        let problem = t.post(USERS, json!({ "email": "a@example.com", "properties": properties }), 400).await;
        assert_eq!(problem_code(&problem), "bad-request");
    }
    // NIST SP 800-63B: long passphrases, no composition rules (common passwords: passwords_emails.rs).
    let longest: String = "Quokka ledger tangerine 73; ".repeat(10).chars().take(256).collect();
    for password in ["correct horse battery", "only lowercase letters", "пароль-пароль", "🔑🦀🌵🎻🚲🧭🪁🍋", &longest]
    {
        t.post(USERS, json!({ "email": format!("p{}@example.com", password.len()), "password": password }), 201).await;
    }
    t.stop().await;
}

async fn query_pages_by_cursor_in_creation_order(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let mut created = Vec::new();
    for i in 0..7 {
        let domain = if i % 2 == 0 { "acme.test" } else { "globex.test" };
        created.push(id(&create_user(&t, &format!("user{i}@{domain}")).await));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{USERS}?limit=3&cursor={c}"),
            None => format!("{USERS}?limit=3"),
        };
        let page = t.get(&path, 200).await;
        seen.extend(page["users"].as_array().unwrap().iter().map(id));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, created, "every user once, in creation order");

    let page = t.get(&format!("{USERS}?email_prefix=USER1"), 200).await;
    let emails: Vec<&str> = page["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["user1@globex.test"]);
    let page = t.get(&format!("{USERS}?email_prefix=user"), 200).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 7);
    assert!(page["next_cursor"].is_null());

    let problem = t.get(&format!("{USERS}?cursor=garbage"), 422).await;
    assert_eq!(problem_code(&problem), "invalid-cursor");
    let problem = t.get(&format!("{USERS}?email_prefix=a%00b"), 400).await;
    assert_eq!(problem_code(&problem), "bad-request", "NUL is refused at the HTTP edge");
    t.stop().await;
}

async fn updates_patch_and_version(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let user =
        t.post(USERS, json!({ "email": "dan@example.com", "first_name": "Dan", "last_name": "Brown" }), 201).await;
    let path = format!("{USERS}/{}", id(&user));

    let updated =
        t.patch(&path, json!({ "first_name": "Daniel", "last_name": null, "properties": { "k": "v" } }), 200).await;
    assert_eq!(updated["first_name"], "Daniel");
    assert!(updated["last_name"].is_null(), "null clears");
    assert_eq!(updated["properties"], json!({ "k": "v" }));
    assert_eq!(updated["version"], 2);

    let unchanged = t.patch(&path, json!({ "first_name": "Daniel" }), 200).await;
    assert_eq!(unchanged["version"], 2, "a no-op update changes nothing");

    let verified = t.patch(&path, json!({ "email_verified": true }), 200).await;
    assert_eq!(verified["email_verified"], true);
    let moved = t.patch(&path, json!({ "email": "Daniel@Example.com" }), 200).await;
    assert_eq!(moved["email_verified"], false, "a new address is unverified");
    assert_eq!(moved["version"], 4);

    let with_password = t
        .backend(
            reqwest::Method::PUT,
            &format!("{path}/password"),
            Some(json!({ "password": "a fine passphrase" })),
            200,
        )
        .await;
    assert_eq!(with_password["has_password"], true);
    t.backend(reqwest::Method::PUT, &format!("{path}/password"), Some(json!({ "password": "short" })), 422).await;

    let evs = events(&t, &id(&user)).await;
    let versions: Vec<i64> = evs.iter().map(|e| e.object_version).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5], "one event per change (the password too), versions increasing");
    assert!(evs[1..].iter().all(|e| e.event_type == "user.updated"));
    let last_audit = audit(&t, &id(&user)).await.pop().unwrap();
    assert_eq!(
        last_audit.details.0,
        json!({ "changed": ["password"], "sessions_ended": 0 }),
        "the audit names fields, never values"
    );
    t.stop().await;
}

async fn disable_enable_delete(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let user = create_user(&t, "erin@example.com").await;
    let uid = id(&user);
    let path = format!("{USERS}/{uid}");
    let disabled = t.post(&format!("{path}/disable"), json!({}), 200).await;
    assert_eq!(disabled["disabled"], true);
    t.post(&format!("{path}/disable"), json!({}), 200).await;
    let enabled = t.post(&format!("{path}/enable"), json!({}), 200).await;
    assert_eq!(enabled["disabled"], false);
    t.delete(&path, 204).await;
    t.get(&path, 404).await;
    t.delete(&path, 404).await;
    assert_eq!(event_types(&t, &uid).await, ["user.created", "user.disabled", "user.enabled", "user.deleted"]);
    let versions: HashSet<i64> = events(&t, &uid).await.iter().map(|e| e.object_version).collect();
    assert_eq!(versions.len(), 4, "every event has its own version");
    let actions: Vec<String> = audit(&t, &uid).await.into_iter().map(|a| a.action).collect();
    assert_eq!(
        actions,
        ["user.created", "user.disabled", "user.enabled", "user.deleted"],
        "the audit outlives the user"
    );
    // The email is free again.
    create_user(&t, "erin@example.com").await;
    t.stop().await;
}

async fn concurrent_creates_of_one_email_make_one_user(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let attempts = (0..10).map(|_| {
        t.client.post(t.url(USERS)).bearer_auth(&t.api_key).json(&json!({ "email": "race@example.com" })).send()
    });
    let statuses: Vec<u16> = futures_join(attempts).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    t.stop().await;
}

/// Awaits all futures concurrently.
async fn futures_join<F: std::future::Future + Send + 'static>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

engine_tests!(
    create_and_fetch,
    unknown_users_are_404,
    duplicate_emails_and_usernames_conflict,
    invalid_values_name_their_fields,
    query_pages_by_cursor_in_creation_order,
    updates_patch_and_version,
    disable_enable_delete,
    concurrent_creates_of_one_email_make_one_user,
);
