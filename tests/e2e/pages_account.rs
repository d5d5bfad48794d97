//! The account pages (issue 13, item 8): profile, email change and the page its emailed link
//! opens, password change, the person's sessions (sign out one, or everywhere), each state over
//! HTTP through [`Browser`]. The profile's API twin (`PATCH /api/v1/me`) is checked beside it.

use chrono::Duration;
use serde_json::json;
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::pages_support::{encode, sign_up_and_verify, Browser, PASSWORD};
use crate::support::{audit, mailed_token, problem_code, with_token};

const NEW_PASSWORD: &str = "plum orchard violin sunrise 77";

/// A person signed up and in through the pages.
async fn person<'a>(t: &'a TestApp, email: &str) -> Browser<'a> {
    let b = Browser::new(t);
    sign_up_and_verify(&b, email, "Ada", None).await;
    b
}

/// The user id behind `email`.
async fn user_id(t: &TestApp, email: &str) -> String {
    let found = t.get(&format!("/api/backend/v1/users/by-email?email={}", encode(email)), 200).await;
    found["user_id"].as_str().expect("user id").to_owned()
}

async fn account_pages_need_a_session(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    for path in ["/account", "/account/sessions", "/account/sessions/sign-out-everywhere", "/account/email/sent"] {
        b.get(path).await.assert_redirect(&format!("/sign-in?return_to={}", encode(path)));
    }
    // A form posted without a session goes to sign in too, and changes nothing.
    let page = b.get("/sign-in").await;
    b.submit(&page, "/account/profile", &[("first_name", "Mallory")]).await.assert_redirect("/sign-in*");
}

async fn the_profile_form_saves_names_and_shows_refusals(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = person(&t, "ada@acme.test").await;
    let page = b.get("/account").await;
    page.assert_status(200).assert_shows("Your account").assert_shows("You sign in with ada@acme.test.");
    assert_eq!(page.input_value("first_name").as_deref(), Some("Ada"));

    // Saved: post/redirect/get, a one-time notice, the new names in the form.
    b.submit(&page, "/account/profile", &[("first_name", "Augusta Ada"), ("last_name", "King")])
        .await
        .assert_redirect("/account");
    let saved = b.get("/account").await;
    saved.assert_shows("Your name is saved.");
    assert_eq!(saved.input_value("first_name").as_deref(), Some("Augusta Ada"));
    assert_eq!(saved.input_value("last_name").as_deref(), Some("King"));
    b.get("/account").await.assert_hides("Your name is saved.");
    let id = user_id(&t, "ada@acme.test").await;
    let user = t.get(&format!("/api/backend/v1/users/{id}"), 200).await;
    assert_eq!((user["first_name"].as_str(), user["last_name"].as_str()), (Some("Augusta Ada"), Some("King")));
    assert!(audit(&t, &id).await.iter().any(|a| a.action == "user.updated" && a.actor_kind == "user"));

    // Refused: the message beside the field and in the summary, the person's input kept.
    let long = "x".repeat(256);
    let refused = b.submit(&saved, "/account/profile", &[("first_name", &long), ("last_name", "Lovelace")]).await;
    refused.assert_status(422).assert_shows("There is a problem").assert_shows("A name is at most 255 characters.");
    assert_eq!(refused.input_value("last_name").as_deref(), Some("Lovelace"));
    assert!(refused.body.contains("aria-invalid=\"true\""));

    // Without the CSRF token: refused, nothing changes.
    b.post_raw("/account/profile", &[("first_name", "Mallory")]).await.assert_status(403).assert_shows("expired");
    let user = t.get(&format!("/api/backend/v1/users/{id}"), 200).await;
    assert_eq!(user["first_name"], "Augusta Ada");
}

async fn the_api_changes_only_the_users_own_names(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let ada = crate::support::signed_in(&t, "ada@acme.test").await;
    let bob = crate::support::signed_in(&t, "bob@acme.test").await;
    let me =
        with_token(&t, reqwest::Method::PATCH, "/api/v1/me", &ada.access, Some(json!({ "first_name": "Ada" })), 200)
            .await;
    assert_eq!((me["first_name"].as_str(), me["email"].as_str()), (Some("Ada"), Some("ada@acme.test")));
    let cleared =
        with_token(&t, reqwest::Method::PATCH, "/api/v1/me", &ada.access, Some(json!({ "first_name": null })), 200)
            .await;
    assert!(cleared["first_name"].is_null());
    let bad =
        with_token(&t, reqwest::Method::PATCH, "/api/v1/me", &ada.access, Some(json!({ "last_name": "a\u{7}b" })), 422)
            .await;
    assert_eq!(problem_code(&bad), "invalid-name");
    // Bob's record is untouched by Ada's calls.
    let bob_now = t.get(&format!("/api/backend/v1/users/{}", bob.id), 200).await;
    assert!(bob_now["first_name"].is_null());
    // Signed out: 401.
    let resp = t.client.patch(t.url("/api/v1/me")).json(&json!({ "first_name": "X" })).send().await.expect("sent");
    assert_eq!(resp.status(), 401);
}

async fn an_email_change_is_confirmed_from_the_new_inbox(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = person(&t, "ada@acme.test").await;
    let page = b.get("/account").await;

    // Refusals: a wrong password (beside the password field), a malformed address.
    let wrong = b.submit(&page, "/account/email", &[("new_email", "ada@lovelace.test"), ("password", "nope")]).await;
    wrong.assert_status(422).assert_shows("The password is incorrect.");
    assert_eq!(wrong.input_value("new_email").as_deref(), Some("ada@lovelace.test"));
    assert!(wrong.body.contains("id=\"password-error\""));
    let malformed = b.submit(&page, "/account/email", &[("new_email", "not an email"), ("password", PASSWORD)]).await;
    malformed.assert_status(422).assert_shows("There is a problem");
    assert!(malformed.body.contains("id=\"new_email-error\""));
    b.post_raw("/account/email", &[("new_email", "x@y.test"), ("password", PASSWORD)]).await.assert_status(403);

    // Accepted: "check the new inbox", and nothing changes yet.
    let sent = b.submit(&page, "/account/email", &[("new_email", "ada@lovelace.test"), ("password", PASSWORD)]).await;
    sent.assert_redirect("/account/email/sent?email=ada%40lovelace.test");
    b.follow(&sent).await.assert_status(200).assert_shows("We sent a link to ada@lovelace.test.");
    b.get("/account").await.assert_shows("You sign in with ada@acme.test.");

    // The emailed link: the token leaves the address bar, one button confirms.
    let token = mailed_token(&t, "ada@lovelace.test", "email_change_verify").await;
    let stashed = b.get(&format!("/confirm-email-change?token={token}")).await;
    stashed.assert_redirect("/confirm-email-change");
    let referrer = stashed.headers.get("referrer-policy").and_then(|v| v.to_str().ok());
    assert!(
        matches!(referrer, Some("same-origin" | "no-referrer")),
        "the token never leaves as a referrer: {referrer:?}"
    );
    let confirm = b.follow(&stashed).await;
    confirm.assert_status(200).assert_shows("Confirm your new email address");
    b.post_raw("/confirm-email-change", &[]).await.assert_status(403);
    b.submit(&confirm, "/confirm-email-change", &[]).await.assert_redirect("/account");
    b.get("/account")
        .await
        .assert_shows("Your email address is changed.")
        .assert_shows("You sign in with ada@lovelace.test.");

    // The same link again: used.
    let again = b.follow(&b.get(&format!("/confirm-email-change?token={token}")).await).await;
    b.submit(&again, "/confirm-email-change", &[]).await.assert_status(410).assert_shows("already used");
    // No token at all: not valid.
    b.get("/confirm-email-change").await.assert_status(404).assert_shows("This link is not valid.");
}

async fn email_change_links_that_no_longer_work_say_why(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = person(&t, "ada@acme.test").await;

    // Expired: opened after its day is over, by someone signed out (another device).
    let page = b.get("/account").await;
    b.submit(&page, "/account/email", &[("new_email", "ada@later.test"), ("password", PASSWORD)])
        .await
        .assert_redirect("/account/email/sent*");
    let token = mailed_token(&t, "ada@later.test", "email_change_verify").await;
    t.clock.advance(Duration::hours(25));
    let other = Browser::new(&t);
    let confirm = other.follow(&other.get(&format!("/confirm-email-change?token={token}")).await).await;
    other
        .submit(&confirm, "/confirm-email-change", &[])
        .await
        .assert_status(410)
        .assert_shows("This link has expired.");

    // Taken meanwhile: another account signed up with the address first.
    let b = person(&t, "grace@acme.test").await;
    let page = b.get("/account").await;
    b.submit(&page, "/account/email", &[("new_email", "shared@acme.test"), ("password", PASSWORD)])
        .await
        .assert_redirect("/account/email/sent*");
    let token = mailed_token(&t, "shared@acme.test", "email_change_verify").await;
    crate::support::create_user(&t, "shared@acme.test").await;
    let confirm = b.follow(&b.get(&format!("/confirm-email-change?token={token}")).await).await;
    b.submit(&confirm, "/confirm-email-change", &[])
        .await
        .assert_status(409)
        .assert_shows("An account already uses this email address.")
        .assert_shows("Go to your account");
    // Signed out and confirmed: sent to sign in with the new address.
    let c = person(&t, "hopper@acme.test").await;
    let page = c.get("/account").await;
    c.submit(&page, "/account/email", &[("new_email", "grace@hopper.test"), ("password", PASSWORD)]).await;
    let token = mailed_token(&t, "grace@hopper.test", "email_change_verify").await;
    let elsewhere = Browser::new(&t);
    let confirm = elsewhere.follow(&elsewhere.get(&format!("/confirm-email-change?token={token}")).await).await;
    elsewhere.submit(&confirm, "/confirm-email-change", &[]).await.assert_redirect("/sign-in");
    elsewhere.get("/sign-in").await.assert_shows("Your email address is changed.");
}

async fn a_password_change_needs_the_current_one_and_ends_other_sessions(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = person(&t, "ada@acme.test").await;
    let other = Browser::new(&t);
    other.sign_in("ada@acme.test", PASSWORD).await;
    other.get("/account").await.assert_status(200);

    let page = b.get("/account").await;
    page.assert_shows("Use at least");
    let fields = |current: &'static str, new: &'static str, confirm: &'static str| {
        [("current_password", current), ("new_password", new), ("new_password_confirm", confirm)]
    };
    let differ = b.submit(&page, "/account/password", &fields(PASSWORD, NEW_PASSWORD, "something else")).await;
    differ.assert_status(422).assert_shows("Enter the same password twice");
    assert!(!differ.body.contains(NEW_PASSWORD), "passwords are never sent back");
    let wrong = b.submit(&page, "/account/password", &fields("not it", NEW_PASSWORD, NEW_PASSWORD)).await;
    wrong.assert_status(422).assert_shows("The password is incorrect.");
    assert!(wrong.body.contains("id=\"current_password-error\""));
    let weak = b.submit(&page, "/account/password", &fields(PASSWORD, "password", "password")).await;
    weak.assert_status(422).assert_shows("There is a problem");
    assert!(weak.body.contains("id=\"new_password-error\""));
    b.post_raw("/account/password", &fields(PASSWORD, NEW_PASSWORD, NEW_PASSWORD)).await.assert_status(403);

    b.submit(&page, "/account/password", &fields(PASSWORD, NEW_PASSWORD, NEW_PASSWORD))
        .await
        .assert_redirect("/account");
    b.get("/account").await.assert_status(200).assert_shows("Your password is changed.");
    // The other browser's session ended; the new password signs in.
    other.get("/account").await.assert_redirect("/sign-in*");
    other.sign_in("ada@acme.test", NEW_PASSWORD).await.assert_redirect("*");
    other.get("/account").await.assert_status(200);
}

async fn sessions_are_listed_and_signed_out_one_at_a_time(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = person(&t, "ada@acme.test").await;
    // A second session from a named browser (the API's sign-in records the user agent).
    let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
    let login = t
        .client
        .post(t.url("/api/v1/login"))
        .header("user-agent", ua)
        .json(&json!({ "email": "ada@acme.test", "password": PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let tokens: serde_json::Value = login.json().await.expect("json");
    let other_session = tokens["tokens"]["session_id"].as_str().expect("session id").to_owned();
    let access = tokens["tokens"]["access_token"].as_str().expect("access").to_owned();

    let page = b.get("/account/sessions").await;
    page.assert_status(200)
        .assert_shows("Devices and sessions")
        .assert_shows("Firefox on Linux")
        .assert_shows("This device")
        .assert_shows("127.0.0.1")
        .assert_shows("Sign out of this device")
        .assert_shows("Sign out Firefox on Linux");
    assert!(page.body.contains("<th scope=\"col\">"), "a table with column headers");
    assert_eq!(page.body.matches("This device").count(), 1, "one session is this one");

    // A malformed id is a 404 page; an id that is not a live session of this person says so.
    b.submit(&page, "/account/sessions/not-a-session/sign-out", &[]).await.assert_status(404);
    let stranger = crate::support::signed_in(&t, "eve@acme.test").await;
    b.submit(&page, &format!("/account/sessions/{}/sign-out", stranger.session), &[])
        .await
        .assert_status(404)
        .assert_shows("This session has already ended.");
    with_token(&t, reqwest::Method::GET, "/api/v1/me", &stranger.access, None, 200).await;
    b.post_raw(&format!("/account/sessions/{other_session}/sign-out"), &[]).await.assert_status(403);

    b.submit(&page, &format!("/account/sessions/{other_session}/sign-out"), &[])
        .await
        .assert_redirect("/account/sessions");
    let after = b.get("/account/sessions").await;
    after.assert_shows("That device is signed out.").assert_hides("Firefox on Linux");
    with_token(&t, reqwest::Method::GET, "/api/v1/me", &access, None, 401).await;
}

async fn signing_out_everywhere_asks_first_and_ends_every_session(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = person(&t, "ada@acme.test").await;
    let other = Browser::new(&t);
    other.sign_in("ada@acme.test", PASSWORD).await;

    let sessions = b.get("/account/sessions").await;
    sessions.assert_shows("Sign out everywhere");
    let confirm = b.get("/account/sessions/sign-out-everywhere").await;
    confirm.assert_status(200).assert_shows("Sign out of every device?").assert_shows("including this one");
    b.post_raw("/account/sessions/sign-out-everywhere", &[]).await.assert_status(403);
    other.get("/account").await.assert_status(200);

    b.submit(&confirm, "/account/sessions/sign-out-everywhere", &[]).await.assert_redirect("/sign-in");
    b.get("/sign-in").await.assert_status(200).assert_shows("You are signed out on every device.");
    b.get("/account").await.assert_redirect("/sign-in*");
    other.get("/account").await.assert_redirect("/sign-in*");
}

engine_tests!(
    account_pages_need_a_session,
    the_profile_form_saves_names_and_shows_refusals,
    the_api_changes_only_the_users_own_names,
    an_email_change_is_confirmed_from_the_new_inbox,
    email_change_links_that_no_longer_work_say_why,
    a_password_change_needs_the_current_one_and_ends_other_sessions,
    sessions_are_listed_and_signed_out_one_at_a_time,
    signing_out_everywhere_asks_first_and_ends_every_session,
);
