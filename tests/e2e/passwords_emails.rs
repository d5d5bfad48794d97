//! The password policy at every place a password is set (sign-up, backend create and set, change,
//! reset): common and breached passwords and passwords built on the context are refused with a
//! field error. Emails are normalized (NFKC, the domain through IDNA to ASCII) before they are
//! stored, compared and mailed, so a look-alike spelling cannot take someone else's address.

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::support::{anon, call, mailed_token, mails_to, problem_code};

const USERS: &str = "/api/backend/v1/users";

/// Asserts a refusal of the password with `code`, as one field error on `password`.
fn assert_password_refused(problem: &Value, code: &str) {
    assert_eq!(problem_code(problem), code, "{problem}");
    let errors = problem["errors"].as_array().unwrap_or_else(|| panic!("field errors in {problem}"));
    assert_eq!(errors.len(), 1, "{problem}");
    assert_eq!(errors[0]["field"], "password", "{problem}");
    assert!(errors[0]["detail"].as_str().is_some_and(|d| d.len() > 20), "the error says why: {problem}");
}

async fn common_passwords_are_refused_wherever_a_password_is_set(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    // Sign-up.
    for common in ["password", "12345678", "passw0rd", "P@ssw0rd1", "qwertyuiop", "iloveyou"] {
        let problem = anon(&t, "/api/v1/signup", json!({ "email": "new@corp.test", "password": common }), 422).await;
        assert_password_refused(&problem, "password-too-common");
    }
    assert!(mails_to(&t, "new@corp.test").await.is_empty(), "nothing was created");
    // Backend: create, then set.
    let problem = t.post(USERS, json!({ "email": "ann@corp.test", "password": "password1" }), 422).await;
    assert_password_refused(&problem, "password-too-common");
    let user = t.post(USERS, json!({ "email": "ann@corp.test", "password": "analytical engine" }), 201).await;
    let path = format!("{USERS}/{}/password", user["user_id"].as_str().unwrap());
    let problem = t.backend(Method::PUT, &path, Some(json!({ "password": "letmein1" })), 422).await;
    assert_password_refused(&problem, "password-too-common");
    t.backend(Method::PUT, &path, Some(json!({ "password": "nosy neighbour" })), 200).await;

    // Change, signed in.
    t.post(USERS, json!({ "email": "bo@corp.test", "password": "patience is key", "email_verified": true }), 201).await;
    let signed_in =
        anon(&t, "/api/v1/login", json!({ "email": "bo@corp.test", "password": "patience is key" }), 200).await;
    let access = signed_in["tokens"]["access_token"].as_str().unwrap().to_owned();
    let change = json!({ "current_password": "patience is key", "new_password": "abc123456" });
    let problem = call(&t, Method::POST, "/api/v1/me/password", Some(&access), Some(change), 422).await;
    assert_password_refused(&problem, "password-too-common");
    let change = json!({ "current_password": "patience is key", "new_password": "many devices here" });
    call(&t, Method::POST, "/api/v1/me/password", Some(&access), Some(change), 204).await;

    // Reset: the refusal does not spend the link.
    anon(&t, "/api/v1/password/forgot", json!({ "email": "bo@corp.test" }), 202).await;
    let token = mailed_token(&t, "bo@corp.test", "reset_password").await;
    let problem = anon(&t, "/api/v1/password/reset", json!({ "token": token, "password": "1q2w3e4r5t" }), 422).await;
    assert_password_refused(&problem, "password-too-common");
    anon(&t, "/api/v1/password/reset", json!({ "token": token, "password": "a brand new passphrase" }), 204).await;
    anon(&t, "/api/v1/login", json!({ "email": "bo@corp.test", "password": "a brand new passphrase" }), 200).await;
    t.stop().await;
}

async fn passwords_built_on_the_product_or_the_user_are_refused(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.mail.product_name = "Quokka Cloud".into()).await;
    // The product's name, configured and built in, at sign-up.
    for built in ["QuokkaCloud1", "quokka cloud 2024", "Tenantry", "Tenantry2024!"] {
        let problem = anon(&t, "/api/v1/signup", json!({ "email": "new@corp.test", "password": built }), 422).await;
        assert_password_refused(&problem, "password-contains-context");
    }
    // The user's own email and names, at sign-up and backend creation.
    let problem =
        anon(&t, "/api/v1/signup", json!({ "email": "kate.bishop@corp.test", "password": "katebishop1" }), 422).await;
    assert_password_refused(&problem, "password-contains-context");
    let body = json!({ "email": "wl@corp.test", "first_name": "Wendeline", "password": "Wendeline2024" });
    assert_password_refused(&t.post(USERS, body, 422).await, "password-contains-context");
    // Set later, the stored user's words count.
    let user = t.post(USERS, json!({ "email": "marguerite.finch@corp.test" }), 201).await;
    let path = format!("{USERS}/{}/password", user["user_id"].as_str().unwrap());
    let problem = t.backend(Method::PUT, &path, Some(json!({ "password": "Marguerite.Finch" })), 422).await;
    assert_password_refused(&problem, "password-contains-context");
    // A long passphrase that merely mentions the product is fine.
    t.backend(Method::PUT, &path, Some(json!({ "password": "my quokka cloud passphrase is long enough" })), 200).await;
    t.stop().await;
}

async fn a_kelvin_sign_spelling_is_the_same_address(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let kate = t.post(USERS, json!({ "email": "kate@corp.test", "password": "analytical engine" }), 201).await;
    // U+212A KELVIN SIGN looks like a K; NFKC makes it one, and the address is taken.
    let kelvin = "\u{212A}ate@corp.test";
    let problem = t.post(USERS, json!({ "email": kelvin }), 409).await;
    assert_eq!(problem_code(&problem), "email-taken");
    let problem = t.post(USERS, json!({ "email": "ｋａｔｅ@ｃｏｒｐ.ｔｅｓｔ" }), 409).await;
    assert_eq!(problem_code(&problem), "email-taken", "fullwidth letters too");
    // Sign-up answers as for any taken address, and creates nothing.
    anon(&t, "/api/v1/signup", json!({ "email": kelvin, "password": "correct horse battery" }), 202).await;
    let found = t.get(&format!("{USERS}/by-email?email=%E2%84%AAATE%40corp.test"), 200).await;
    assert_eq!(found["user_id"], kate["user_id"], "a look-up by the Kelvin spelling finds Kate");
    // A reset asked for with the look-alike goes to the stored address only.
    anon(&t, "/api/v1/password/forgot", json!({ "email": kelvin }), 202).await;
    let mut c = t.app().db().acquire().await.unwrap();
    let all = tenantry_store::mail_queue::list_mail(c.ex(), None, None, 1000).await.unwrap();
    assert!(!all.is_empty(), "the reset mail was queued");
    for mail in &all {
        assert_eq!(mail.to_address, "kate@corp.test", "{} went to {:?}", mail.template, mail.to_address);
    }
    // And Kate signs in whichever way she spells it.
    anon(&t, "/api/v1/login", json!({ "email": kelvin, "password": "analytical engine" }), 200).await;
    t.stop().await;
}

async fn international_domains_are_stored_in_ascii(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let jorg = t.post(USERS, json!({ "email": "Jörg@Bücher.example" }), 201).await;
    assert_eq!(jorg["email"], "Jörg@xn--bcher-kva.example", "Punycode domain, the local part as typed");
    let problem = t.post(USERS, json!({ "email": "jörg@xn--bcher-kva.example" }), 409).await;
    assert_eq!(problem_code(&problem), "email-taken", "the ASCII spelling is the same address");
    anon(&t, "/api/v1/signup", json!({ "email": "anna@bücher.example", "password": "correct horse battery" }), 202)
        .await;
    let mail = mails_to(&t, "anna@xn--bcher-kva.example").await;
    assert_eq!(mail.len(), 1, "the verification goes to the ASCII form");
    // What does not survive normalization is refused.
    for bad in ["kate@xn--zz.test", "ka\u{200B}te@corp.test", "\u{202E}kate@corp.test", "kate@corp_x.test"] {
        let problem = t.post(USERS, json!({ "email": bad }), 422).await;
        assert_eq!(problem_code(&problem), "invalid-email", "{bad:?}");
        let problem =
            anon(&t, "/api/v1/signup", json!({ "email": bad, "password": "correct horse battery" }), 422).await;
        assert_eq!(problem_code(&problem), "invalid-email", "{bad:?}");
    }
    t.stop().await;
}

engine_tests!(
    common_passwords_are_refused_wherever_a_password_is_set,
    passwords_built_on_the_product_or_the_user_are_refused,
    a_kelvin_sign_spelling_is_the_same_address,
    international_domains_are_stored_in_ascii,
);
