//! The hosted pages a member sees about organizations (issue 13, items 4 to 6 and the ownership
//! transfer's confirmation page): my orgs and the switcher with the pending invitations, create
//! (or join), the invitation link and the transfer link, each state over HTTP through
//! [`Browser`]; the end-user API's list of one's own invitations; and every refusal code the use
//! cases can return having a message on the pages.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::pages_support::{encode, sign_up_and_verify, Browser, Page, PASSWORD};
use crate::support::{mailed_token, with_token};

const B: &str = "/api/backend/v1";

/// A verified user made through the backend, with names, and an access token: someone who
/// invites others from their own app.
struct ApiUser {
    id: String,
    access: String,
}

async fn api_user(t: &TestApp, email: &str, first: &str, last: &str) -> ApiUser {
    let user = t
        .post(
            &format!("{B}/users"),
            json!({ "email": email, "email_verified": true, "first_name": first, "last_name": last }),
            201,
        )
        .await;
    let id = user["user_id"].as_str().expect("user id").to_owned();
    let tokens = t.post(&format!("{B}/users/{id}/access-token"), json!({}), 200).await;
    ApiUser { id, access: tokens["access_token"].as_str().expect("access token").to_owned() }
}

/// An org `who` creates through the end-user API; its id.
async fn org_of(t: &TestApp, who: &ApiUser, name: &str) -> String {
    let org = with_token(t, Method::POST, "/api/v1/orgs", &who.access, Some(json!({ "name": name })), 201).await;
    org["org_id"].as_str().expect("org id").to_owned()
}

/// `who` invites `email` to `org` as `role`; the invite's id.
async fn invite(t: &TestApp, who: &ApiUser, org: &str, email: &str, role: &str) -> String {
    let path = format!("/api/v1/orgs/{org}/invites");
    let i = with_token(t, Method::POST, &path, &who.access, Some(json!({ "email": email, "role": role })), 201).await;
    i["invite_id"].as_str().expect("invite id").to_owned()
}

/// The user id of an account made through the pages.
async fn user_id(t: &TestApp, email: &str) -> String {
    let found = t.get(&format!("{B}/users/by-email?email={}", encode(email)), 200).await;
    found["user_id"].as_str().unwrap_or_else(|| panic!("no user {email}: {found}")).to_owned()
}

/// The org id at the end of a redirect to `/orgs/{id}`.
fn org_in(page: &Page) -> String {
    page.assert_redirect("/orgs/*");
    page.location.as_deref().unwrap_or("").trim_start_matches("/orgs/").to_owned()
}

/// The table row of the orgs page that names `org`.
fn row_of<'p>(page: &'p Page, org: &str) -> &'p str {
    let body = page.body.as_str();
    body.split("<tr")
        .find(|r| crate::pages_support::unescape(r).contains(org))
        .unwrap_or_else(|| panic!("no row {org}:\n{body}"))
}

async fn my_orgs_create_and_switch(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);

    // Signed out, the page asks to sign in and comes back.
    b.get("/orgs").await.assert_redirect("/sign-in?return_to=%2Forgs");

    sign_up_and_verify(&b, "ada@acme.test", "Ada", None).await;
    let empty = b.get("/orgs").await;
    empty.assert_status(200).assert_shows("You are not a member of any organization yet.");
    empty.assert_shows("No invitations are waiting for you.").assert_shows("Create organization");

    // Create: a refusal keeps the form, the message beside the field; then it is created.
    let form = b.get("/orgs/new").await;
    form.assert_status(200).assert_shows("New organization").assert_hides("Join or create");
    let refused = b.submit(&form, "/orgs/new", &[("name", "   ")]).await;
    refused.assert_status(422).assert_shows("There is a problem").assert_shows("An organization name cannot be empty.");
    assert!(refused.body.contains("aria-invalid=\"true\""), "the field is marked");
    let long = "x".repeat(256);
    let refused = b.submit(&form, "/orgs/new", &[("name", long.as_str())]).await;
    refused.assert_status(422);
    assert_eq!(refused.input_value("name").as_deref(), Some(long.as_str()), "the input is kept");
    let acme = org_in(&b.submit(&form, "/orgs/new", &[("name", "Ada's <b>team</b>")]).await);
    let beta = org_in(&b.fill("/orgs/new", None, &[("name", "Beta")]).await);

    let orgs = b.get("/orgs").await;
    orgs.assert_status(200).assert_shows("Your organization is ready. You are its owner.");
    orgs.assert_shows("Ada's <b>team</b>").assert_shows("Beta").assert_shows("Owner");
    assert!(!orgs.body.contains("<b>team</b>"), "names are escaped");
    assert!(orgs.body.contains(&format!("href=\"/orgs/{acme}\"")), "a Manage link to the org");
    assert!(!orgs.body.contains("orgs-active"), "no active org yet");

    // The switcher.
    let switched = b.submit(&orgs, "/orgs/active", &[("org_id", beta.as_str())]).await;
    switched.assert_redirect("/orgs");
    let orgs = b.follow(&switched).await;
    orgs.assert_shows("You switched organization.");
    let active = row_of(&orgs, "Beta");
    assert!(active.contains("orgs-active") && active.contains("Active"), "Beta is marked active: {active}");
    assert!(!active.contains("action=\"/orgs/active\""), "no switch button on the active org");
    assert!(row_of(&orgs, "Ada's").contains("action=\"/orgs/active\""));
    let session = t.app().session_by_cookie(&b.cookie("tenantry_session").expect("session")).await.unwrap().unwrap();
    assert_eq!(session.active_org_id.map(|o| o.to_string()), Some(beta.clone()), "the session acts in Beta");
    // Page weight: the HTML and the style sheets under 30 KB.
    let css = b.get("/assets/tenantry.css").await.body.len() + b.get("/assets/brand.css").await.body.len();
    for path in ["/orgs", "/orgs/new"] {
        let html = b.get(path).await.body.len();
        assert!(html + css < 30 * 1024, "{path} weighs {} bytes", html + css);
    }

    // Someone else's org, or no id at all: the not-found page; nothing changes.
    let bob = api_user(&t, "bob@acme.test", "Bob", "Builder").await;
    let theirs = org_of(&t, &bob, "Bob's").await;
    let refused = b.submit(&orgs, "/orgs/active", &[("org_id", theirs.as_str())]).await;
    refused.assert_status(404).assert_shows("There is no such organization, or you are not a member of it.");
    b.submit(&orgs, "/orgs/active", &[("org_id", "not-an-id")]).await.assert_status(404);
    b.get("/orgs?cursor=zzz").await.assert_status(404);

    // Cross-site or token-less forms are refused.
    b.post_raw("/orgs/active", &[("org_id", acme.as_str())]).await.assert_status(403);
    b.post_raw("/orgs/new", &[("name", "Sneaky")]).await.assert_status(403);
    let session = t.app().session_by_cookie(&b.cookie("tenantry_session").expect("session")).await.unwrap().unwrap();
    assert_eq!(session.active_org_id.map(|o| o.to_string()), Some(beta), "unchanged");
    t.stop().await;
}

async fn my_pending_invitations_on_the_orgs_page(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let bob = api_user(&t, "bob@acme.test", "Bob", "Builder").await;
    let acme = org_of(&t, &bob, "Acme").await;
    let beta = org_of(&t, &bob, "Beta").await;
    let gamma = org_of(&t, &bob, "Gamma").await;
    let to_acme = invite(&t, &bob, &acme, "ada@acme.test", "Admin").await;
    let to_beta = invite(&t, &bob, &beta, "ada@acme.test", "Member").await;
    let not_hers = invite(&t, &bob, &gamma, "eve@acme.test", "Member").await;

    let b = Browser::new(&t);
    sign_up_and_verify(&b, "ada@acme.test", "Ada", None).await;
    let orgs = b.get("/orgs").await;
    orgs.assert_status(200).assert_shows("Invitations").assert_shows("Invited by Bob Builder");
    let row = crate::pages_support::unescape(row_of(&orgs, "Acme"));
    assert!(row.contains("Admin") && row.contains("Accept") && row.contains("Decline"), "{row}");
    orgs.assert_hides("Gamma");

    // Accept from the list: a member of Acme, on the org's page.
    let accepted = b.submit(&orgs, &format!("/orgs/invites/{to_acme}/accept"), &[]).await;
    accepted.assert_redirect(&format!("/orgs/{acme}"));
    let orgs = b.get("/orgs").await;
    orgs.assert_shows("You joined the organization.");
    assert!(row_of(&orgs, "Acme").contains("action=\"/orgs/active\""), "Acme is among her orgs now");

    // Decline: gone from the list.
    let declined = b.submit(&orgs, &format!("/orgs/invites/{to_beta}/decline"), &[]).await;
    declined.assert_redirect("/orgs");
    let orgs = b.follow(&declined).await;
    orgs.assert_shows("You declined the invitation.").assert_hides("Beta");

    // Answered already, someone else's, or no id: the invitation's page says so.
    let again = b.submit(&orgs, &format!("/orgs/invites/{to_beta}/accept"), &[]).await;
    again.assert_status(410).assert_shows("This invitation was already used.");
    let other = b.submit(&orgs, &format!("/orgs/invites/{not_hers}/accept"), &[]).await;
    other.assert_status(404).assert_shows("There is no such invitation.");
    b.submit(&orgs, "/orgs/invites/nope/decline", &[]).await.assert_status(404);
    b.post_raw(&format!("/orgs/invites/{not_hers}/decline"), &[]).await.assert_status(403);
    t.stop().await;
}

async fn my_invitations_on_the_api(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let bob = api_user(&t, "bob@acme.test", "Bob", "Builder").await;
    let carol = api_user(&t, "carol@acme.test", "Carol", "Cole").await;
    let acme = org_of(&t, &bob, "Acme").await;
    let beta = org_of(&t, &bob, "Beta").await;
    let to_acme = invite(&t, &bob, &acme, "Carol@ACME.test", "Admin").await;
    let to_beta = invite(&t, &bob, &beta, "carol@acme.test", "Member").await;
    let to_eve = invite(&t, &bob, &beta, "eve@acme.test", "Member").await;

    let list = with_token(&t, Method::GET, "/api/v1/me/invites", &carol.access, None, 200).await;
    let invites = list["invites"].as_array().expect("invites");
    assert_eq!(invites.len(), 2, "{list}");
    assert_eq!(invites[0]["invite_id"], to_acme.as_str());
    assert_eq!(invites[0]["org_name"], "Acme");
    assert_eq!(invites[0]["inviter"], "Bob Builder");
    assert_eq!(invites[0]["role"], "Admin");
    assert!(invites[0]["expires_at"].is_string());

    let accept = |id: &str| format!("/api/v1/me/invites/{id}/accept");
    let m = with_token(&t, Method::POST, &accept(&to_acme), &carol.access, None, 200).await;
    assert_eq!(m["org_id"], acme.as_str());
    assert_eq!(m["role"], "Admin");
    let problem = with_token(&t, Method::POST, &accept(&to_acme), &carol.access, None, 410).await;
    assert_eq!(crate::support::problem_code(&problem), "invite-used");
    let problem = with_token(&t, Method::POST, &accept(&to_eve), &carol.access, None, 404).await;
    assert_eq!(crate::support::problem_code(&problem), "invite-not-found");
    let decline = format!("/api/v1/me/invites/{to_beta}/decline");
    with_token(&t, Method::POST, &decline, &carol.access, None, 204).await;
    let list = with_token(&t, Method::GET, "/api/v1/me/invites", &carol.access, None, 200).await;
    assert_eq!(list["invites"], json!([]));

    // An unverified address has no list and cannot answer by id (the emailed link still works).
    let user = t.post(&format!("{B}/users"), json!({ "email": "eve@acme.test" }), 201).await;
    let eve_id = user["user_id"].as_str().unwrap();
    let tokens = t.post(&format!("{B}/users/{eve_id}/access-token"), json!({}), 200).await;
    let eve = tokens["access_token"].as_str().unwrap();
    let list = with_token(&t, Method::GET, "/api/v1/me/invites", eve, None, 200).await;
    assert_eq!(list["invites"], json!([]));
    let problem = with_token(&t, Method::POST, &accept(&to_eve), eve, None, 403).await;
    assert_eq!(crate::support::problem_code(&problem), "email-not-verified");
    // Expired invitations are not listed.
    t.clock.advance(Duration::days(8));
    let fresh = t.post(&format!("{B}/orgs/{acme}/invites"), json!({ "email": "dan@acme.test" }), 201).await;
    let fresh = fresh["invite_id"].as_str().unwrap().to_owned();
    let dan = api_user(&t, "dan@acme.test", "Dan", "Day").await;
    let list = with_token(&t, Method::GET, "/api/v1/me/invites", &dan.access, None, 200).await;
    assert_eq!(list["invites"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["invites"][0]["invite_id"], fresh.as_str());
    t.stop().await;
}

async fn create_or_join_when_membership_is_required(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| {
        c.orgs.users_can_create = false;
        c.orgs.require_membership = true;
    })
    .await;
    let org = t.post(&format!("{B}/orgs"), json!({ "name": "Acme" }), 201).await;
    let acme = org["org_id"].as_str().unwrap().to_owned();
    t.post(&format!("{B}/orgs/{acme}/invites"), json!({ "email": "dana@acme.test", "role": "Member" }), 201).await;

    let b = Browser::new(&t);
    // Signed in with no org, the person lands on create-or-join.
    let landed = sign_up_and_verify(&b, "dana@acme.test", "Dana", None).await;
    landed.assert_redirect("/orgs/new");
    let page = b.follow(&landed).await;
    page.assert_status(200).assert_shows("Join or create your organization");
    page.assert_shows("Acme").assert_shows("Invited by The Acme team");
    page.assert_shows("only the service's administrators create organizations");
    assert!(!page.body.contains("action=\"/orgs/new\""), "no create form when creating is off");
    let orgs = b.get("/orgs").await;
    orgs.assert_hides("Create organization");

    // Posting anyway meets the use case's refusal.
    let refused = b.submit(&page, "/orgs/new", &[("name", "Mine")]).await;
    refused.assert_status(422).assert_shows("Only the service's administrators create organizations here.");

    // Join from the list.
    let id =
        t.get(&format!("{B}/orgs/{acme}/invites"), 200).await["invites"][0]["invite_id"].as_str().unwrap().to_owned();
    b.submit(&page, &format!("/orgs/invites/{id}/accept"), &[]).await.assert_redirect(&format!("/orgs/{acme}"));
    let page = b.get("/orgs/new").await;
    page.assert_status(200).assert_hides("Join or create");
    t.stop().await;
}

async fn invitation_link_signed_out_signs_up_and_comes_back(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let bob = api_user(&t, "bob@acme.test", "Bob", "Builder").await;
    let acme = org_of(&t, &bob, "Acme").await;
    invite(&t, &bob, &acme, "erin@acme.test", "Admin").await;
    let token = mailed_token(&t, "erin@acme.test", "org_invite").await;

    let b = Browser::new(&t);
    let stashed = b.get(&format!("/invites/accept?token={token}")).await;
    stashed.assert_redirect("/invites/accept");
    assert_eq!(b.cookie("tenantry_link_invite").as_deref(), Some(token.as_str()), "the token moved into a cookie");
    let page = b.follow(&stashed).await;
    page.assert_status(200).assert_shows("Bob Builder invited you to join Acme as Admin.");
    for resp in [&stashed, &page] {
        let policy = resp.headers.get("referrer-policy").and_then(|v| v.to_str().ok());
        assert!(matches!(policy, Some("no-referrer" | "same-origin")), "no referrer leaves the page: {policy:?}");
    }
    page.assert_shows("erin@acme.test");
    let back = "return_to=%2Finvites%2Faccept";
    assert!(page.text().contains(&format!("/sign-in?email=erin%40acme.test&{back}")), "{}", page.body);
    assert!(page.text().contains(&format!("/sign-up?email=erin%40acme.test&{back}")));
    assert!(!page.body.contains("action=\"/invites/accept\""), "no accept while signed out");

    // Accepting signed out asks to sign in first.
    let sign_in = b.get("/sign-in").await;
    b.submit(&sign_in, "/invites/accept", &[]).await.assert_redirect("/sign-in?return_to=%2Finvites%2Faccept");

    // The sign-up page has the address filled in; signing up comes straight back.
    let sign_up = b.get(&format!("/sign-up?email=erin%40acme.test&{back}")).await;
    assert_eq!(sign_up.input_value("email").as_deref(), Some("erin@acme.test"));
    let landed = sign_up_and_verify(&b, "erin@acme.test", "Erin", Some("/invites/accept")).await;
    landed.assert_redirect("/invites/accept");
    let page = b.follow(&landed).await;
    page.assert_status(200).assert_shows("Join Acme").assert_shows("Decline invitation");

    b.post_raw("/invites/accept", &[]).await.assert_status(403);
    let joined = b.submit(&page, "/invites/accept", &[]).await;
    joined.assert_redirect(&format!("/orgs/{acme}"));
    assert_eq!(b.cookie("tenantry_link_invite"), None, "the used link is forgotten");
    let roster = t.get(&format!("{B}/orgs/{acme}/members"), 200).await;
    assert!(roster.to_string().contains("erin@acme.test"), "{roster}");
    b.get("/invites/accept").await.assert_status(404).assert_shows("This invitation link is not valid.");

    // The same link again: used.
    let used = b.follow(&b.get(&format!("/invites/accept?token={token}")).await).await;
    used.assert_status(410).assert_shows("This invitation was already used.");
    t.stop().await;
}

async fn invitation_link_signed_in_as_another_account(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let bob = api_user(&t, "bob@acme.test", "Bob", "Builder").await;
    let acme = org_of(&t, &bob, "Acme").await;
    invite(&t, &bob, &acme, "gina@acme.test", "Member").await;
    let token = mailed_token(&t, "gina@acme.test", "org_invite").await;

    let b = Browser::new(&t);
    sign_up_and_verify(&b, "frank@acme.test", "Frank", None).await;
    let page = b.follow(&b.get(&format!("/invites/accept?token={token}")).await).await;
    page.assert_status(200);
    page.assert_shows("You are signed in as frank@acme.test, but this invitation was sent to gina@acme.test.");
    page.assert_shows("Sign out and sign in as gina@acme.test");

    // Accepting as Frank is refused by the use case.
    let refused = b.submit(&page, "/invites/accept", &[]).await;
    refused.assert_status(403).assert_shows("This invitation is for another email address.");

    // Switch: signed out, on the way to sign in as Gina and back; the invitation is kept.
    let switched = b.submit(&page, "/invites/switch-account", &[]).await;
    switched.assert_redirect("/sign-in?email=gina%40acme.test&return_to=%2Finvites%2Faccept");
    assert_eq!(b.cookie("tenantry_session"), None, "signed out");
    assert!(b.cookie("tenantry_link_invite").is_some());
    let sign_in = b.follow(&switched).await;
    assert_eq!(sign_in.input_value("email").as_deref(), Some("gina@acme.test"));
    b.get("/orgs").await.assert_redirect("/sign-in*");

    // Gina signs up from there and accepts.
    let landed = sign_up_and_verify(&b, "gina@acme.test", "Gina", Some("/invites/accept")).await;
    let page = b.follow(&landed).await;
    page.assert_shows("Join Acme");
    b.submit(&page, "/invites/accept", &[]).await.assert_redirect(&format!("/orgs/{acme}"));

    t.stop().await;
}

async fn invitation_link_dead_states(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let bob = api_user(&t, "bob@acme.test", "Bob", "Builder").await;
    let acme = org_of(&t, &bob, "Acme").await;
    let b = Browser::new(&t);
    sign_up_and_verify(&b, "hana@acme.test", "Hana", None).await;
    let open = |token: String| {
        let b = &b;
        async move { b.follow(&b.get(&format!("/invites/accept?token={token}")).await).await }
    };

    // Unknown.
    open("not-a-real-token".into()).await.assert_status(404).assert_shows("This invitation link is not valid.");
    assert_eq!(b.cookie("tenantry_link_invite"), None, "a dead link is forgotten");

    // Replaced by a resend, then revoked.
    let id = invite(&t, &bob, &acme, "hana@acme.test", "Member").await;
    let first = mailed_token(&t, "hana@acme.test", "org_invite").await;
    let resend = format!("/api/v1/orgs/{acme}/invites/{id}/resend");
    with_token(&t, Method::POST, &resend, &bob.access, None, 200).await;
    let second = mailed_token(&t, "hana@acme.test", "org_invite").await;
    open(first).await.assert_status(410).assert_shows("A newer invitation replaced this one.");
    let revoke = format!("/api/v1/orgs/{acme}/invites/{id}");
    with_token(&t, Method::DELETE, &revoke, &bob.access, None, 204).await;
    open(second).await.assert_status(410).assert_shows("This invitation was revoked.");

    // Declined: used.
    invite(&t, &bob, &acme, "hana@acme.test", "Member").await;
    let token = mailed_token(&t, "hana@acme.test", "org_invite").await;
    let page = open(token.clone()).await;
    let declined = b.submit(&page, "/invites/decline", &[]).await;
    declined.assert_redirect("/orgs");
    b.follow(&declined).await.assert_shows("You declined the invitation.");
    open(token).await.assert_status(410).assert_shows("This invitation was already used.");

    // The org full: its seats went to others since the invitation was sent.
    let full = org_of(&t, &bob, "Full").await;
    invite(&t, &bob, &full, "hana@acme.test", "Member").await;
    let token = mailed_token(&t, "hana@acme.test", "org_invite").await;
    t.patch(&format!("{B}/orgs/{full}"), json!({ "max_users": 1 }), 200).await;
    let page = open(token).await;
    let refused = b.submit(&page, "/invites/accept", &[]).await;
    refused.assert_status(409).assert_shows("This organization has no free seats.");
    // Expired (the session ended too by then: the link's page needs none).
    invite(&t, &bob, &acme, "hana@acme.test", "Member").await;
    let token = mailed_token(&t, "hana@acme.test", "org_invite").await;
    open(token.clone()).await.assert_status(200);
    t.clock.advance(Duration::days(8));
    open(token).await.assert_status(410).assert_shows("This invitation has expired. Ask for a new one.");
    t.stop().await;
}

async fn ownership_transfer_confirmation_page(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = Browser::new(&t);
    sign_up_and_verify(&owner, "olga@acme.test", "Olga", None).await;
    let acme = org_in(&owner.fill("/orgs/new", None, &[("name", "Acme")]).await);
    let beta = org_in(&owner.fill("/orgs/new", None, &[("name", "Beta")]).await);
    let hal = api_user(&t, "hal@acme.test", "Hal", "Hill").await;
    for org in [&acme, &beta] {
        t.post(&format!("{B}/orgs/{org}/members"), json!({ "user_id": hal.id, "role": "Admin" }), 201).await;
    }
    let olga = user_id(&t, "olga@acme.test").await;
    let tokens = t.post(&format!("{B}/users/{olga}/access-token"), json!({}), 200).await;
    let olga_access = tokens["access_token"].as_str().unwrap().to_owned();
    let start = |org: &str| format!("/api/v1/orgs/{org}/ownership-transfer");
    with_token(&t, Method::POST, &start(&beta), &olga_access, Some(json!({ "user_id": hal.id })), 202).await;
    let beta_token = mailed_token(&t, "olga@acme.test", "ownership_transfer").await;
    with_token(&t, Method::POST, &start(&acme), &olga_access, Some(json!({ "user_id": hal.id })), 202).await;
    let token = mailed_token(&t, "olga@acme.test", "ownership_transfer").await;

    // Opened signed out (another browser): sign in first, then straight back.
    let b = Browser::new(&t);
    let stashed = b.get(&format!("/ownership-transfer/confirm?token={token}")).await;
    stashed.assert_redirect("/ownership-transfer/confirm");
    b.follow(&stashed).await.assert_redirect("/sign-in?return_to=%2Fownership-transfer%2Fconfirm");
    let page = b.get("/sign-in?return_to=%2Fownership-transfer%2Fconfirm").await;
    let signed_in = b
        .submit(
            &page,
            "/sign-in",
            &[("email", "olga@acme.test"), ("password", PASSWORD), ("return_to", "/ownership-transfer/confirm")],
        )
        .await;
    signed_in.assert_redirect("/ownership-transfer/confirm");
    let page = b.follow(&signed_in).await;
    page.assert_status(200).assert_shows("Transfer ownership of Acme");
    page.assert_shows("You asked to make Hal Hill the Owner of Acme.");
    page.assert_shows("Once you confirm, you become Admin of Acme.").assert_shows("Make Hal Hill the owner");

    // Someone else holding the link: not theirs.
    let other = Browser::new(&t);
    sign_up_and_verify(&other, "ivan@acme.test", "Ivan", None).await;
    let theirs = other.follow(&other.get(&format!("/ownership-transfer/confirm?token={token}")).await).await;
    theirs.assert_status(404).assert_shows("This ownership transfer link is not valid.");

    b.post_raw("/ownership-transfer/confirm", &[]).await.assert_status(403);
    let done = b.submit(&page, "/ownership-transfer/confirm", &[]).await;
    done.assert_redirect(&format!("/orgs/{acme}"));
    let orgs = b.get("/orgs").await;
    orgs.assert_shows("Ownership is transferred.");
    assert!(row_of(&orgs, "Acme").contains("Admin"), "Olga is Admin now");

    // The link again: used. An expired one: expired.
    let again = b.follow(&b.get(&format!("/ownership-transfer/confirm?token={token}")).await).await;
    again.assert_status(410).assert_shows("This ownership transfer was already confirmed.");
    t.clock.advance(Duration::hours(25));
    let expired = b.follow(&b.get(&format!("/ownership-transfer/confirm?token={beta_token}")).await).await;
    expired.assert_status(410).assert_shows("This ownership transfer link has expired.");
    expired.assert_shows("Start the transfer again");
    t.stop().await;
}

async fn no_token_no_transfer(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let b = Browser::new(&t);
    sign_up_and_verify(&b, "jo@acme.test", "Jo", None).await;
    b.get("/ownership-transfer/confirm")
        .await
        .assert_status(404)
        .assert_shows("This ownership transfer link is not valid.");
    b.get("/invites/accept").await.assert_status(404).assert_shows("This invitation link is not valid.");
    t.stop().await;
}

engine_tests!(
    my_orgs_create_and_switch,
    my_pending_invitations_on_the_orgs_page,
    my_invitations_on_the_api,
    create_or_join_when_membership_is_required,
    invitation_link_signed_out_signs_up_and_comes_back,
    invitation_link_signed_in_as_another_account,
    invitation_link_dead_states,
    ownership_transfer_confirmation_page,
    no_token_no_transfer,
);

/// The refusal codes the use cases can return: the code literals passed to `DomainError`'s
/// constructors and to the helpers that take a code (`gone`, `invalid_token`, `ErrorKind::…,
/// "code"`, the SSO refusals' `Err(("code", …))`), in the non-test source of tenantry-core and
/// tenantry-app.
fn refusal_codes() -> BTreeSet<String> {
    fn visit(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("source directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                visit(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") && path.file_name().is_some_and(|n| n != "testing.rs")
            {
                let source = std::fs::read_to_string(&path).expect("source");
                // Unit tests sit at the end of a file, after `#[cfg(test)]`.
                let code = source.split("#[cfg(test)]").next().unwrap_or("").to_owned();
                out.push(code);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut sources = Vec::new();
    for dir in ["crates/tenantry-core/src", "crates/tenantry-app/src"] {
        visit(&root.join(dir), &mut sources);
    }
    let callers = [
        "DomainError::new(",
        "DomainError::not_found(",
        "DomainError::conflict(",
        "DomainError::forbidden(",
        "DomainError::unauthenticated(",
        "DomainError::invalid_field(",
        "gone(",
        "invalid_token(",
        "Err((",
    ];
    let mut codes = BTreeSet::new();
    for source in &sources {
        for caller in callers {
            for (at, _) in source.match_indices(caller) {
                let rest = source[at + caller.len()..].trim_start();
                // `ErrorKind::Gone, "code"`: the code follows the kind.
                let rest = match rest.strip_prefix("ErrorKind::") {
                    Some(r) => r.split_once(',').map_or("", |(_, after)| after.trim_start()),
                    None => rest,
                };
                if let Some(lit) = rest.strip_prefix('"').and_then(|r| r.split_once('"')).map(|(code, _)| code) {
                    if !lit.is_empty() && lit.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    {
                        codes.insert(lit.to_owned());
                    }
                }
            }
        }
    }
    codes
}

#[test]
fn every_refusal_code_has_a_page_message() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hosted-pages/strings/en.json");
    let strings: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("strings file")).expect("JSON");
    let codes = refusal_codes();
    // The scan finds the codes it should (a broken scan must not pass vacuously).
    for known in ["invite-expired", "org-full", "transfer-used", "invite-replaced", "session-ended", "last-owner"] {
        assert!(codes.contains(known), "the scan missed {known}: {codes:?}");
    }
    let missing: Vec<&String> = codes.iter().filter(|c| strings.get(format!("errors.{c}")).is_none()).collect();
    assert!(
        missing.is_empty(),
        "refusal codes without an errors.<code> message in hosted-pages/strings/en.json: {missing:?}"
    );
}
