//! The sign-in family of the hosted pages (issue 13, items 1 to 3 and 9) over HTTP through
//! [`Browser`]: sign in, sign up, the verification link, forgot and reset password, sign out,
//! the error page, and the security rules every page follows (CSRF, return_to, headers).

use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::pages_support::{encode, sign_up_and_verify, Browser, PASSWORD};
use crate::support::{mailed_token, mails_to};

fn session_cookie(b: &Browser<'_>) -> Option<String> {
    b.cookie("tenantry_session").or_else(|| b.cookie("__Host-tenantry_session"))
}

async fn the_sign_in_page_carries_the_security_headers_and_a_csrf_token(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    let page = b.get("/sign-in").await;
    page.assert_status(200).assert_shows("Sign in to Tenantry").assert_shows("Create an account");
    let header = |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let csp = header("content-security-policy");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "no inline script or style: {csp}");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("cache-control"), "no-store");
    assert!(!header("referrer-policy").is_empty());
    assert!(b.cookie("tenantry_csrf").is_some(), "a pre-session CSRF secret is set");
    assert!(!page.csrf().is_empty());
    assert!(!page.body.contains("<script"), "no script on the sign-in page");
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("autocomplete=\"current-password\""));
    // The page's own style sheets answer.
    let css = b.get("/assets/tenantry.css").await;
    css.assert_status(200);
    let brand = b.get("/assets/brand.css").await;
    brand.assert_status(200).assert_shows("--primary:#4f46e5");
}

async fn a_wrong_password_and_an_unknown_email_get_one_message_and_the_email_is_kept(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    sign_up_and_verify(&b, "ada@acme.test", "Ada", None).await;
    b.sign_out().await;
    let wrong = b.fill("/sign-in", None, &[("email", "ada@acme.test"), ("password", "not the password")]).await;
    wrong
        .assert_status(422)
        .assert_shows("Enter a correct email address and password")
        .assert_shows("There is a problem");
    assert_eq!(wrong.input_value("email").as_deref(), Some("ada@acme.test"), "the email is kept");
    assert!(!wrong.body.contains("not the password"), "the password is never sent back");
    assert!(wrong.body.contains("href=\"#email\""), "the summary links to the field");
    let unknown = b.fill("/sign-in", None, &[("email", "nobody@acme.test"), ("password", "not the password")]).await;
    unknown.assert_status(422);
    assert_eq!(
        unknown.text().replace("nobody@acme.test", "ada@acme.test").replace("nobody%40acme.test", "ada%40acme.test"),
        wrong.text().replace(&wrong.csrf(), &unknown.csrf()),
        "the same page for an unknown email"
    );
    assert!(session_cookie(&b).is_none(), "not signed in");
}

async fn too_many_attempts_say_when_to_retry(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    let mut last = None;
    for _ in 0..12 {
        let page = b.fill("/sign-in", None, &[("email", "ada@acme.test"), ("password", "wrong password")]).await;
        if page.status == 429 {
            last = Some(page);
            break;
        }
        page.assert_status(422);
    }
    let throttled = last.expect("the account's sign-in is throttled");
    throttled.assert_shows("Too many attempts").assert_shows("Try again in");
    assert!(throttled.headers.contains_key("retry-after"));
}

async fn sign_in_returns_to_a_safe_return_to_only(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    sign_up_and_verify(&b, "ada@acme.test", "Ada", None).await;
    b.sign_out().await;
    let page = b.get(&format!("/sign-in?return_to={}", encode("/account?tab=1"))).await;
    assert_eq!(page.input_value("return_to").as_deref(), Some("/account?tab=1"));
    b.submit(&page, "/sign-in", &[("email", "ada@acme.test"), ("password", PASSWORD), ("return_to", "/account?tab=1")])
        .await
        .assert_redirect("/account?tab=1");
    for evil in ["//evil.test/x", "https://evil.test/", "/\\evil.test", "javascript:alert(1)", "/%2F%2Fevil.test"] {
        b.sign_out().await;
        let page = b.get(&format!("/sign-in?return_to={}", encode(evil))).await;
        assert_eq!(page.input_value("return_to"), None, "{evil} is not carried");
        let done = b
            .submit(&page, "/sign-in", &[("email", "ada@acme.test"), ("password", PASSWORD), ("return_to", evil)])
            .await;
        done.assert_redirect("/orgs");
    }
    // Signed in, the sign-in page sends the person on.
    b.get("/sign-in").await.assert_redirect("/orgs");
}

async fn forms_without_a_token_or_from_another_origin_are_refused(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    sign_up_and_verify(&b, "ada@acme.test", "Ada", None).await;
    let no_token = b.post_raw("/sign-out", &[]).await;
    no_token.assert_status(403).assert_shows("This form has expired or came from another site");
    let page = b.get("/sign-out").await;
    let wrong = b.post_raw("/sign-out", &[("csrf", "not-the-token")]).await;
    wrong.assert_status(403);
    // A page of another origin posting with a stolen-looking token: refused by the origin check.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let cookie = format!(
        "tenantry_session={}; tenantry_csrf={}",
        session_cookie(&b).unwrap(),
        b.cookie("tenantry_csrf").unwrap_or_default()
    );
    let cross = client
        .post(t.url("/sign-out"))
        .header("origin", "http://evil.test")
        .header("cookie", cookie)
        .form(&[("csrf", page.csrf().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    // Still signed in after all three.
    b.get("/sign-in").await.assert_redirect("/orgs");
}

async fn signing_up_with_a_taken_email_reveals_nothing_on_the_page(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    sign_up_and_verify(&b, "ada@acme.test", "Ada", None).await;
    b.sign_out().await;
    let again =
        b.fill("/sign-up", None, &[("first_name", "Eve"), ("email", "ada@acme.test"), ("password", PASSWORD)]).await;
    again.assert_redirect("/sign-up/check-inbox?email=ada%40acme.test");
    b.follow(&again).await.assert_status(200).assert_shows("Check your inbox").assert_shows("ada@acme.test");
    let fresh =
        b.fill("/sign-up", None, &[("first_name", "Bo"), ("email", "bo@acme.test"), ("password", PASSWORD)]).await;
    assert_eq!(again.status, fresh.status, "the same answer as a new address");
}

async fn sign_up_refusals_keep_the_input_and_show_the_policy(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    let page = b.get("/sign-up").await;
    page.assert_status(200).assert_shows("Use at least");
    let weak = b
        .submit(&page, "/sign-up", &[("first_name", "Ada"), ("email", "not-an-email"), ("password", "password")])
        .await;
    weak.assert_status(422).assert_shows("There is a problem");
    assert_eq!(weak.input_value("first_name").as_deref(), Some("Ada"));
    assert_eq!(weak.input_value("email").as_deref(), Some("not-an-email"));
    assert!(weak.body.contains("aria-invalid=\"true\""));
    assert!(mails_to(&t, "not-an-email").await.is_empty());
}

async fn the_verification_link_moves_its_token_out_of_the_address_and_works_once(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    let page = b.get("/sign-up").await;
    b.submit(&page, "/sign-up", &[("first_name", "Ada"), ("email", "ada@acme.test"), ("password", PASSWORD)])
        .await
        .assert_redirect("/sign-up/check-inbox*");
    let token = mailed_token(&t, "ada@acme.test", "verify_email").await;
    let stashed = b.get(&format!("/verify-email?token={token}")).await;
    stashed.assert_redirect("/verify-email");
    assert_eq!(b.cookie("tenantry_link_verify").as_deref(), Some(token.as_str()));
    let confirm = b.follow(&stashed).await;
    confirm.assert_status(200).assert_shows("Confirm your email address");
    assert!(!confirm.body.contains(&token), "the token is not on the page");
    let done = b.submit(&confirm, "/verify-email", &[]).await;
    done.assert_redirect("/orgs");
    assert!(session_cookie(&b).is_some(), "the link signed the person in");
    assert!(b.cookie("tenantry_link_verify").is_none(), "the token is forgotten");
    // The same link again, in another browser: used.
    let other = Browser::new(&t);
    let again = other.get(&format!("/verify-email?token={token}")).await;
    let page = other.follow(&again).await;
    let used = other.submit(&page, "/verify-email", &[]).await;
    used.assert_status(410).assert_shows("already used").assert_shows("Send a new link");
    // No token at all: the page says the link does not work.
    Browser::new(&t).get("/verify-email").await.assert_status(404).assert_shows("This link does not work");
}

async fn sign_up_from_a_return_to_lands_back_after_the_emailed_link(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    let landed = sign_up_and_verify(&b, "ada@acme.test", "Ada", Some("/account")).await;
    landed.assert_redirect("/account");
    let resent = Browser::new(&t);
    let page = resent.get("/sign-up/check-inbox?email=bo%40acme.test").await;
    page.assert_shows("bo@acme.test");
    resent
        .submit(&page, "/verify-email/resend", &[("email", "bo@acme.test")])
        .await
        .assert_redirect("/sign-up/check-inbox*");
}

async fn forgot_and_reset_password_end_to_end(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    sign_up_and_verify(&b, "ada@acme.test", "Ada", None).await;
    let other_browser = Browser::new(&t);
    other_browser.sign_in("ada@acme.test", PASSWORD).await;
    b.sign_out().await;
    // The answer is the same for an address without an account.
    let sent = b.fill("/forgot-password", None, &[("email", "ada@acme.test")]).await;
    sent.assert_redirect("/forgot-password/sent*");
    let nobody = b.fill("/forgot-password", None, &[("email", "nobody@acme.test")]).await;
    nobody.assert_redirect("/forgot-password/sent*");
    b.follow(&nobody).await.assert_status(200).assert_shows("If nobody@acme.test has an account");
    let token = mailed_token(&t, "ada@acme.test", "reset_password").await;
    let stashed = b.get(&format!("/reset-password?token={token}")).await;
    stashed.assert_redirect("/reset-password");
    let page = b.follow(&stashed).await;
    page.assert_status(200).assert_shows("Choose a new password");
    let differ = b
        .submit(
            &page,
            "/reset-password",
            &[("password", "a new pass phrase 77"), ("password_confirm", "another one 77")],
        )
        .await;
    differ.assert_status(422).assert_shows("Enter the same password twice");
    let weak = b.submit(&page, "/reset-password", &[("password", "password"), ("password_confirm", "password")]).await;
    weak.assert_status(422);
    let new_password = "a new pass phrase 77";
    b.submit(&page, "/reset-password", &[("password", new_password), ("password_confirm", new_password)])
        .await
        .assert_redirect("/sign-in");
    b.get("/sign-in").await.assert_shows("Your password is changed");
    // Every session ended, the other browser's too.
    other_browser.get("/sign-out").await.assert_redirect("/sign-in");
    b.sign_in("ada@acme.test", new_password).await.assert_redirect("/orgs");
    // The used link: a page that offers a new one.
    let used = Browser::new(&t);
    let again = used.get(&format!("/reset-password?token={token}")).await;
    let page = used.follow(&again).await;
    let refused = used
        .submit(
            &page,
            "/reset-password",
            &[("password", "yet another phrase 9"), ("password_confirm", "yet another phrase 9")],
        )
        .await;
    refused.assert_status(410).assert_shows("Reset your password");
}

async fn an_expired_reset_link_offers_a_new_one(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    sign_up_and_verify(&b, "ada@acme.test", "Ada", None).await;
    b.sign_out().await;
    b.fill("/forgot-password", None, &[("email", "ada@acme.test")]).await.assert_status(303);
    let token = mailed_token(&t, "ada@acme.test", "reset_password").await;
    t.clock.advance(chrono::Duration::days(2));
    let page = b.follow(&b.get(&format!("/reset-password?token={token}")).await).await;
    let expired = b
        .submit(
            &page,
            "/reset-password",
            &[("password", "a new pass phrase 77"), ("password_confirm", "a new pass phrase 77")],
        )
        .await;
    expired.assert_status(410).assert_shows("This link has expired");
}

async fn sign_out_here_and_everywhere(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let laptop = Browser::new(&t);
    sign_up_and_verify(&laptop, "ada@acme.test", "Ada", None).await;
    let phone = Browser::new(&t);
    phone.sign_in("ada@acme.test", PASSWORD).await;
    let page = laptop.get("/sign-out").await;
    page.assert_status(200).assert_shows("Sign out everywhere");
    laptop.submit(&page, "/sign-out", &[]).await.assert_redirect("/sign-in");
    laptop.get("/sign-in").await.assert_status(200).assert_shows("You are signed out");
    phone.get("/sign-in").await.assert_redirect("/orgs");
    laptop.sign_in("ada@acme.test", PASSWORD).await;
    let page = laptop.get("/sign-out").await;
    laptop.submit(&page, "/sign-out", &[("everywhere", "true")]).await.assert_redirect("/sign-in");
    phone.get("/sign-in").await.assert_status(200);
    assert!(session_cookie(&phone).is_none(), "the phone's ended session cookie is cleared");
}

async fn unknown_pages_get_the_styled_404(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let page = t.client.get(t.url("/no/such/page")).header("accept", "text/html,*/*;q=0.8").send().await.unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let body = page.text().await.unwrap();
    assert!(body.contains("Page not found") && body.contains("/assets/tenantry.css"), "{body}");
    // A client that does not ask for HTML gets problem+json.
    let json = t.client.get(t.url("/no/such/page")).send().await.unwrap();
    assert_eq!(json.status(), 404);
    assert!(json.headers()["content-type"].to_str().unwrap().contains("problem+json"));
    // The API keeps answering problem+json.
    let api = t.client.get(t.url("/api/v1/no-such-thing")).send().await.unwrap();
    assert_eq!(api.status(), 404);
    assert!(api.headers()["content-type"].to_str().unwrap().contains("problem+json"));
}

async fn sign_up_can_be_closed(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.signup_enabled = false).await;
    let b = Browser::new(&t);
    b.get("/sign-up").await.assert_status(404).assert_shows("invitation only");
    b.get("/sign-in").await.assert_hides("Create an account");
}

engine_tests!(
    the_sign_in_page_carries_the_security_headers_and_a_csrf_token,
    a_wrong_password_and_an_unknown_email_get_one_message_and_the_email_is_kept,
    too_many_attempts_say_when_to_retry,
    sign_in_returns_to_a_safe_return_to_only,
    forms_without_a_token_or_from_another_origin_are_refused,
    signing_up_with_a_taken_email_reveals_nothing_on_the_page,
    sign_up_refusals_keep_the_input_and_show_the_policy,
    the_verification_link_moves_its_token_out_of_the_address_and_works_once,
    sign_up_from_a_return_to_lands_back_after_the_emailed_link,
    forgot_and_reset_password_end_to_end,
    an_expired_reset_link_offers_a_new_one,
    sign_out_here_and_everywhere,
    unknown_pages_get_the_styled_404,
    sign_up_can_be_closed
);
