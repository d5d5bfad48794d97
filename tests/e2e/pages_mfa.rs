//! The two-factor pages (issue 14, phase 2) over HTTP through [`Browser`], with pyotp as the
//! authenticator: set up from the account page (QR code and key, confirm with a code), the backup
//! codes shown once, then sign out and in again with a code, and with a backup code.

use std::path::Path;
use std::process::Command;

use tenantry_testkit::peers::peers_python;
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::pages_support::{sign_up_and_verify, unescape, Browser, PASSWORD};

/// pyotp's code for the base32 `key` (spaces allowed) at unix time `t`.
fn code(python: &Path, key: &str, t: i64) -> String {
    let out = Command::new(python)
        .args([
            "-c",
            "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
            &key.replace(' ', ""),
            &t.to_string(),
        ])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "pyotp: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
}

/// The text between `start` and `end` in `html`, after `start`.
fn between<'h>(html: &'h str, start: &str, end: &str) -> &'h str {
    let from = html.find(start).unwrap_or_else(|| panic!("{start} not in the page")) + start.len();
    let to = html[from..].find(end).expect("end marker") + from;
    &html[from..to]
}

async fn set_up_sign_in_with_a_code_and_a_backup_code(engine: Engine) {
    let Some(py) = peers_python("pyotp") else { return };
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    sign_up_and_verify(&b, "ada@acme.test", "Ada", None).await;

    let page = b.get("/account/two-factor").await;
    page.assert_status(200).assert_shows("Two-factor authentication is off");
    let enroll = b.submit(&page, "/account/two-factor/enroll", &[]).await;
    enroll.assert_status(200).assert_shows("Scan this code");
    assert!(enroll.body.contains("<svg"), "the QR code is drawn inline");
    let key = unescape(between(&enroll.body, "<code class=\"secret\">", "</code>"));

    // A wrong code keeps the form (the key is not shown again); the right one shows the codes.
    let wrong = b.submit(&enroll, "/account/two-factor/confirm", &[("code", "000000")]).await;
    wrong.assert_status(422).assert_shows("The code is wrong or expired").assert_hides("Scan this code");
    let codes_page =
        b.submit(&wrong, "/account/two-factor/confirm", &[("code", &code(&py, &key, t.clock_now()))]).await;
    codes_page.assert_status(200).assert_shows("Save your backup codes").assert_shows("Download as text");
    let codes: Vec<String> =
        codes_page.body.split("<li><code>").skip(1).map(|s| s.split("</code>").next().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10);
    b.get("/account/two-factor")
        .await
        .assert_shows("Two-factor authentication is on")
        .assert_shows("Backup codes left: 10.");

    // Signing in now asks for a code, on its own page; the pending sign-in is not a session.
    b.sign_out().await;
    let first = b.fill("/sign-in", None, &[("email", "ada@acme.test"), ("password", PASSWORD)]).await;
    first.assert_redirect("/sign-in/two-factor");
    b.get("/account").await.assert_redirect("/sign-in*");
    let step = b.get("/sign-in/two-factor").await;
    step.assert_status(200).assert_shows("Enter your code");
    t.clock.advance(chrono::TimeDelta::seconds(30));
    let done = b.submit(&step, "/sign-in/two-factor", &[("code", &code(&py, &key, t.clock_now()))]).await;
    done.assert_status(303);
    b.get("/account").await.assert_status(200);

    // And with a backup code, once.
    b.sign_out().await;
    b.fill("/sign-in", None, &[("email", "ada@acme.test"), ("password", PASSWORD)]).await;
    let step = b.get("/sign-in/two-factor?backup=1").await;
    step.assert_shows("Backup code");
    b.submit(&step, "/sign-in/two-factor", &[("backup_code", &codes[0])]).await.assert_status(303);
    b.get("/account/two-factor").await.assert_shows("Backup codes left: 9.");

    // Turning it off needs the password.
    let page = b.get("/account/two-factor").await;
    b.submit(&page, "/account/two-factor/disable", &[("password", "wrong password here")])
        .await
        .assert_status(422)
        .assert_shows("The password is incorrect");
    b.submit(&page, "/account/two-factor/disable", &[("password", PASSWORD)])
        .await
        .assert_redirect("/account/two-factor");
    b.get("/account/two-factor").await.assert_shows("Two-factor authentication is off");
    t.stop().await;
}

engine_tests!(set_up_sign_in_with_a_code_and_a_backup_code);

/// Sets up 2FA for the signed-in person of `b` through the account pages; returns the key.
async fn enroll(b: &Browser<'_>, py: &Path, t: &TestApp) -> String {
    let page = b.get("/account/two-factor").await;
    let enroll = b.submit(&page, "/account/two-factor/enroll", &[]).await;
    let key = unescape(between(&enroll.body, "<code class=\"secret\">", "</code>"));
    b.submit(&enroll, "/account/two-factor/confirm", &[("code", &code(py, &key, t.clock_now()))])
        .await
        .assert_status(200)
        .assert_shows("Save your backup codes");
    key
}

async fn an_owner_requires_2fa_by_a_date_and_a_member_is_sent_to_enrollment(engine: Engine) {
    let Some(py) = peers_python("pyotp") else { return };
    let t = TestApp::spawn(engine).await;
    let owner = Browser::new(&t);
    sign_up_and_verify(&owner, "ada@acme.test", "Ada", None).await;
    let created = owner.fill("/orgs/new", None, &[("name", "Acme")]).await;
    created.assert_redirect("/orgs/*");
    let org_path = created.location.clone().unwrap();
    let org_id = org_path.trim_start_matches("/orgs/").to_owned();
    let member = Browser::new(&t);
    sign_up_and_verify(&member, "bo@acme.test", "Bo", None).await;
    let bo = t.get("/api/backend/v1/users/by-email?email=bo%40acme.test", 200).await;
    t.post(
        &format!("/api/backend/v1/orgs/{org_id}/members"),
        serde_json::json!({ "user_id": bo["user_id"], "role": "Member" }),
        201,
    )
    .await;

    // The owner must have 2FA before requiring it.
    let page = owner.get(&format!("{org_path}/security")).await;
    page.assert_status(200).assert_shows("Members may sign in with a password alone");
    let deadline = (chrono::DateTime::from_timestamp(t.clock_now(), 0).unwrap() + chrono::Duration::days(7))
        .format("%Y-%m-%d")
        .to_string();
    let first =
        owner.submit(&page, &format!("{org_path}/security"), &[("require", "by"), ("deadline", &deadline)]).await;
    first.assert_status(422).assert_shows("Set up two-factor authentication for yourself");
    enroll(&owner, &py, &t).await;
    let page = owner.get(&format!("{org_path}/security")).await;
    let bad = owner.submit(&page, &format!("{org_path}/security"), &[("require", "by"), ("deadline", "soon")]).await;
    bad.assert_status(422).assert_shows("Enter a date");
    owner
        .submit(&page, &format!("{org_path}/security"), &[("require", "by"), ("deadline", &deadline)])
        .await
        .assert_redirect(&format!("{org_path}/security"));
    owner.get(&format!("{org_path}/security")).await.assert_shows("by ");

    // A Member sees the security page read-only, and the grace banner on every org page.
    let page = member.get(&format!("{org_path}/security")).await;
    page.assert_status(200)
        .assert_shows("Only an owner can change this")
        .assert_shows("Acme requires two-factor authentication by");
    member.get(&format!("{org_path}/members")).await.assert_shows("Set it up now");
    owner.get(&org_path).await.assert_hides("Set it up now");

    // After the deadline the member is sent to enrollment; once enrolled, back in.
    // (In two steps, each within the session's idle limit.)
    t.clock.advance(chrono::Duration::days(4));
    member.get(&format!("{org_path}/members")).await.assert_shows("Set it up now");
    t.clock.advance(chrono::Duration::days(4));
    member.get(&org_path).await.assert_redirect("/account/two-factor");
    member.get("/account/two-factor").await.assert_shows("requires it");
    enroll(&member, &py, &t).await;
    member.get(&org_path).await.assert_status(200).assert_hides("Set it up now");
}

engine_tests!(an_owner_requires_2fa_by_a_date_and_a_member_is_sent_to_enrollment);
