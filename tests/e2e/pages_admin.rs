//! The org administration pages (issue 13, item 7) over HTTP through [`Browser`]: what each role
//! sees (a Viewer: no forms), every action through its form and its redirect, the refusals the
//! use cases answer (last owner, role above yours, owner required, seat limit, slug taken, a wrong
//! name on delete), the CSRF refusal, outsiders' 404, paging and search; and the grantable-roles
//! answer of the end-user API the role pickers share.

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_app::{Actor, Ctx};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::pages_support::{Browser, Page, PASSWORD};
use crate::support::with_token;

/// A user with a confirmed address and [`PASSWORD`], made through the backend; returns their id.
async fn person(t: &TestApp, email: &str, first_name: &str) -> String {
    let body = json!({ "email": email, "password": PASSWORD, "email_verified": true, "first_name": first_name });
    let user = t.post("/api/backend/v1/users", body, 201).await;
    user["user_id"].as_str().expect("user id").to_owned()
}

/// An org whose Owner (and creator) is `owner_id`.
async fn org(t: &TestApp, name: &str, owner_id: &str) -> String {
    let org = t.post("/api/backend/v1/orgs", json!({ "name": name, "owner_user_id": owner_id }), 201).await;
    org["org_id"].as_str().expect("org id").to_owned()
}

async fn add(t: &TestApp, org_id: &str, user_id: &str, role: &str) {
    t.post(&format!("/api/backend/v1/orgs/{org_id}/members"), json!({ "user_id": user_id, "role": role }), 201).await;
}

/// A browser signed in as `email`.
async fn browser<'a>(t: &'a TestApp, email: &str) -> Browser<'a> {
    let b = Browser::new(t);
    b.sign_in(email, PASSWORD).await;
    b
}

/// An org with an Owner, an Admin, a Member and a Viewer (Ada, Bea, Cy, Di at acme.test).
struct Team {
    org: String,
    ids: [String; 4],
}

const EMAILS: [&str; 4] = ["ada@acme.test", "bea@acme.test", "cy@acme.test", "di@acme.test"];

async fn team(t: &TestApp) -> Team {
    let ada = person(t, EMAILS[0], "Ada").await;
    let org = org(t, "Acme", &ada).await;
    let mut ids = vec![ada];
    for (email, (name, role)) in EMAILS[1..].iter().zip([("Bea", "Admin"), ("Cy", "Member"), ("Di", "Viewer")]) {
        let id = person(t, email, name).await;
        add(t, &org, &id, role).await;
        ids.push(id);
    }
    Team { org, ids: ids.try_into().expect("four") }
}

/// Whether the page holds a form that posts (a control that changes something).
fn has_post_form(page: &Page) -> bool {
    page.body.contains("method=\"post\"")
}

async fn each_role_sees_what_its_permissions_allow(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let team = team(&t).await;
    let o = &team.org;
    let cy = &team.ids[2];
    let [owner, admin, member, viewer] = [
        browser(&t, EMAILS[0]).await,
        browser(&t, EMAILS[1]).await,
        browser(&t, EMAILS[2]).await,
        browser(&t, EMAILS[3]).await,
    ];

    // Settings: owners and admins get the forms, a Member and a Viewer read the same facts.
    for b in [&owner, &admin] {
        let page = b.get(&format!("/orgs/{o}")).await;
        page.assert_status(200).assert_shows("Save settings").assert_shows("Add domain").assert_shows("Audit log");
    }
    for b in [&member, &viewer] {
        let page = b.get(&format!("/orgs/{o}")).await;
        page.assert_status(200).assert_shows("Acme").assert_shows("Only an owner or admin can change these settings.");
        page.assert_hides("Save settings").assert_hides("Audit log");
        assert!(!has_post_form(&page), "no form for a {}:\n{}", "read-only member", page.body);
    }

    // The roster: everyone sees it; only who may invite gets the link, only admins the controls.
    for b in [&owner, &admin, &member, &viewer] {
        let page = b.get(&format!("/orgs/{o}/members")).await;
        page.assert_status(200).assert_shows("cy@acme.test").assert_shows("di@acme.test");
    }
    owner.get(&format!("/orgs/{o}/members")).await.assert_shows("Invite someone");
    let page = viewer.get(&format!("/orgs/{o}/members")).await;
    page.assert_hides("Invite someone");
    assert!(!has_post_form(&page));
    viewer.get(&format!("/orgs/{o}/invite")).await.assert_status(403);

    // A member's page: role and removal controls for the owner, none for a Viewer.
    let page = owner.get(&format!("/orgs/{o}/members/{cy}")).await;
    page.assert_status(200).assert_shows("Save roles").assert_shows("Remove member");
    let page = viewer.get(&format!("/orgs/{o}/members/{cy}")).await;
    page.assert_status(200).assert_shows("cy@acme.test").assert_hides("Save roles").assert_hides("Remove member");
    assert!(!has_post_form(&page));

    // The role picker offers what each may grant: never Owner to an Admin.
    let page = admin.get(&format!("/orgs/{o}/invite")).await;
    page.assert_status(200).assert_shows("<option value=\"Admin\"").assert_hides("<option value=\"Owner\"");
    owner.get(&format!("/orgs/{o}/invite")).await.assert_shows("<option value=\"Owner\"");

    // The audit log: owners and admins (org.audit.read); a Viewer is refused by the use case.
    owner.get(&format!("/orgs/{o}/audit-log")).await.assert_status(200).assert_shows("org.member_added");
    viewer.get(&format!("/orgs/{o}/audit-log")).await.assert_status(403);

    // The danger zone: delete and transfer for the owner only; everyone may leave.
    owner.get(&format!("/orgs/{o}/danger")).await.assert_shows("Delete organization").assert_shows("Request transfer");
    let page = admin.get(&format!("/orgs/{o}/danger")).await;
    page.assert_status(200).assert_shows("Leave").assert_hides("Delete organization").assert_hides("Request transfer");
    assert!(!has_post_form(&viewer.get(&format!("/orgs/{o}/danger")).await));

    // Outsiders, malformed and unknown ids: the 404 page; signed out: the sign-in page.
    person(&t, "eve@evil.test", "Eve").await;
    let outsider = browser(&t, "eve@evil.test").await;
    for path in [
        format!("/orgs/{o}"),
        format!("/orgs/{o}/members"),
        format!("/orgs/{o}/members/{cy}"),
        format!("/orgs/{o}/audit-log"),
        format!("/orgs/{o}/danger"),
        format!("/orgs/{}", uuid::Uuid::new_v4()),
        "/orgs/not-an-id/members".to_owned(),
    ] {
        outsider.get(&path).await.assert_status(404);
    }
    owner.get(&format!("/orgs/{o}/members/not-an-id")).await.assert_status(404);
    let page = outsider.get(&format!("/orgs/{o}/leave")).await;
    page.assert_status(404);
    Browser::new(&t).get(&format!("/orgs/{o}/members")).await.assert_redirect("/sign-in?return_to=*");
    // An outsider's POST (with a valid token of their own) is the 404 page, and changes nothing.
    let own = outsider.get("/sign-out").await;
    outsider.submit(&own, &format!("/orgs/{o}/delete"), &[("confirm_name", "Acme")]).await.assert_status(404);
    owner.get(&format!("/orgs/{o}")).await.assert_status(200);
}

async fn grantable_roles_follow_the_invite_rule(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let team = team(&t).await;
    let o = &team.org;
    let mut spec = t.app().get_roles(&Ctx::new(Actor::System)).await.expect("roles").0;
    spec.additional_roles
        .push(serde_json::from_value(json!({ "name": "billing", "permissions": ["org.billing"] })).unwrap());
    t.app().set_roles(&Ctx::new(Actor::System), spec).await.expect("roles set");
    let token = |id: &str| {
        let id = id.to_owned();
        let t = &t;
        async move {
            let tokens = t.post(&format!("/api/backend/v1/users/{id}/access-token"), json!({}), 200).await;
            tokens["access_token"].as_str().expect("access token").to_owned()
        }
    };
    let path = format!("/api/v1/orgs/{o}/grantable-roles");
    let owner = with_token(&t, Method::GET, &path, &token(&team.ids[0]).await, None, 200).await;
    assert_eq!(owner, json!({ "roles": ["Owner", "Admin", "Member", "Viewer"], "additional_roles": ["billing"] }));
    let admin = with_token(&t, Method::GET, &path, &token(&team.ids[1]).await, None, 200).await;
    assert_eq!(admin, json!({ "roles": ["Admin", "Member", "Viewer"], "additional_roles": [] }));
    let viewer = with_token(&t, Method::GET, &path, &token(&team.ids[3]).await, None, 200).await;
    assert_eq!(viewer, json!({ "roles": [], "additional_roles": [] }));
    let eve = person(&t, "eve@evil.test", "Eve").await;
    let refused: Value = with_token(&t, Method::GET, &path, &token(&eve).await, None, 404).await;
    assert_eq!(crate::support::problem_code(&refused), "org-not-found");

    // The pages offer the same: the owner sees the additional role, the admin does not; an admin
    // who sends it anyway gets the use case's refusal.
    let admin_b = browser(&t, EMAILS[1]).await;
    let page = admin_b.get(&format!("/orgs/{o}/invite")).await;
    page.assert_hides("value=\"billing\"");
    let done = admin_b
        .submit(
            &page,
            &format!("/orgs/{o}/invite"),
            &[("email", "new@acme.test"), ("role", "Member"), ("additional_roles", "billing")],
        )
        .await;
    done.assert_status(422).assert_shows("You cannot grant a role above your own.").assert_shows("new@acme.test");
    let done =
        admin_b.submit(&page, &format!("/orgs/{o}/invite"), &[("email", "new@acme.test"), ("role", "Owner")]).await;
    done.assert_status(422).assert_shows("Only an owner can do this.").assert_shows("new@acme.test");
    browser(&t, EMAILS[0]).await.get(&format!("/orgs/{o}/invite")).await.assert_shows("value=\"billing\"");
}

async fn settings_and_domains(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let team = team(&t).await;
    let o = &team.org;
    org(&t, "Taken", &team.ids[0]).await;
    let owner = browser(&t, EMAILS[0]).await;
    let settings = format!("/orgs/{o}");
    let page = owner.get(&settings).await;
    assert_eq!(page.input_value("slug").as_deref(), Some("acme"));

    // Saved, with a notice on the page the redirect leads to.
    let done = owner
        .submit(
            &page,
            &format!("{settings}/settings"),
            &[("form", "settings"), ("name", "Acme Labs"), ("slug", "acme-labs"), ("domain_restrict", "on")],
        )
        .await;
    done.assert_redirect(&settings);
    let page = owner.follow(&done).await;
    page.assert_status(200).assert_shows("Settings saved.").assert_shows("Acme Labs");
    assert_eq!(page.input_value("slug").as_deref(), Some("acme-labs"));
    assert!(page.body.contains("name=\"domain_restrict\" value=\"on\" checked"));
    let stored = t.get(&format!("/api/backend/v1/orgs/{o}"), 200).await;
    assert_eq!((stored["name"].as_str(), stored["domain_restrict"].as_bool()), (Some("Acme Labs"), Some(true)));

    // A slug another org uses: the message beside the field, the input kept.
    let done = owner
        .submit(
            &page,
            &format!("{settings}/settings"),
            &[("form", "settings"), ("name", "Acme Labs"), ("slug", "taken")],
        )
        .await;
    done.assert_status(422).assert_shows("uses this slug. Choose another.");
    assert_eq!(done.input_value("slug").as_deref(), Some("taken"));
    let done = owner
        .submit(&page, &format!("{settings}/settings"), &[("form", "settings"), ("name", ""), ("slug", "acme-labs")])
        .await;
    assert!(done.status >= 400 && done.status < 500, "an empty name is refused: {}", done.status);

    // Domains: one's own confirmed domain, not a public provider's; removal.
    let done = owner.submit(&page, &format!("{settings}/domains"), &[("domain", "acme.test")]).await;
    owner
        .follow(&done.assert_redirect(&settings).clone())
        .await
        .assert_shows("Domain added.")
        .assert_shows("acme.test");
    let done = owner.submit(&page, &format!("{settings}/domains"), &[("domain", "gmail.com")]).await;
    done.assert_status(422);
    assert!(
        done.shows("Public email providers cannot be claimed") || done.shows("Only a domain of your own"),
        "{}",
        done.body
    );
    assert!(done.body.contains("name=\"domain\" type=\"text\" value=\"gmail.com\""), "the input is kept");
    let done = owner.submit(&page, &format!("{settings}/domains/remove"), &[("domain", "acme.test")]).await;
    let page = owner.follow(&done.assert_redirect(&settings).clone()).await;
    page.assert_shows("Domain removed.").assert_shows("No domains yet.");

    // Without the CSRF token: refused, nothing changed.
    owner
        .post_raw(&format!("{settings}/settings"), &[("name", "Hijacked"), ("slug", "hijacked")])
        .await
        .assert_status(403);
    assert_eq!(t.get(&format!("/api/backend/v1/orgs/{o}"), 200).await["name"], "Acme Labs");

    // A Member's POST is the use case's refusal, shown on the page.
    let member = browser(&t, EMAILS[2]).await;
    member.get(&settings).await.assert_status(200);
    let page = member.get("/sign-out").await;
    let done = member.submit(&page, &format!("{settings}/settings"), &[("name", "Mine"), ("slug", "mine")]).await;
    done.assert_status(422).assert_shows("You do not have permission to do this.");
}

async fn inviting_and_managing_members(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let team = team(&t).await;
    let o = &team.org;
    let owner = browser(&t, EMAILS[0]).await;

    // Invite: the redirect leads to the invitation, which names the address.
    let page = owner.get(&format!("/orgs/{o}/invite")).await;
    let done =
        owner.submit(&page, &format!("/orgs/{o}/invite"), &[("email", "zoe@acme.test"), ("role", "Member")]).await;
    done.assert_redirect(&format!("/orgs/{o}/invites/*"));
    let invitation_path = done.location.clone().unwrap();
    let page = owner.follow(&done).await;
    page.assert_status(200).assert_shows("Invitation sent.").assert_shows("Invitation for zoe@acme.test");
    assert_eq!(crate::support::mails_to(&t, "zoe@acme.test").await.len(), 1);
    owner.get(&format!("/orgs/{o}/members")).await.assert_shows("zoe@acme.test").assert_shows("Invited");

    // The same address again, and an address already a member: refused beside the field.
    let form = owner.get(&format!("/orgs/{o}/invite")).await;
    let done =
        owner.submit(&form, &format!("/orgs/{o}/invite"), &[("email", "zoe@acme.test"), ("role", "Member")]).await;
    done.assert_status(422).assert_shows("already has a pending invitation");
    let done =
        owner.submit(&form, &format!("/orgs/{o}/invite"), &[("email", "cy@acme.test"), ("role", "Member")]).await;
    done.assert_status(422).assert_shows("This person is already a member.");

    // Resend, then revoke through its confirmation page.
    let done = owner.submit(&page, &format!("{invitation_path}/resend"), &[]).await;
    owner.follow(&done.assert_redirect(&invitation_path).clone()).await.assert_shows("Invitation sent again.");
    assert_eq!(crate::support::mails_to(&t, "zoe@acme.test").await.len(), 2);
    let confirm = owner.get(&format!("{invitation_path}/revoke")).await;
    confirm.assert_status(200).assert_shows("Revoke the invitation for zoe@acme.test?");
    let done = owner.submit(&confirm, &format!("{invitation_path}/revoke"), &[]).await;
    let page = owner.follow(&done.assert_redirect(&format!("/orgs/{o}/members")).clone()).await;
    page.assert_shows("Invitation revoked.").assert_hides("zoe@acme.test");
    owner.get(&invitation_path).await.assert_status(200).assert_shows("Revoked").assert_hides("Send it again");

    // The seat limit: a full org refuses the invitation, with the page's words.
    t.patch(&format!("/api/backend/v1/orgs/{o}"), json!({ "max_users": 4 }), 200).await;
    let done =
        owner.submit(&form, &format!("/orgs/{o}/invite"), &[("email", "yan@acme.test"), ("role", "Viewer")]).await;
    done.assert_status(422).assert_shows("has no free seats").assert_shows("yan@acme.test");

    // Change a member's role.
    let cy = &team.ids[2];
    let page = owner.get(&format!("/orgs/{o}/members/{cy}")).await;
    let done = owner.submit(&page, &format!("/orgs/{o}/members/{cy}/roles"), &[("role", "Viewer")]).await;
    let page = owner.follow(&done.assert_redirect(&format!("/orgs/{o}/members/{cy}")).clone()).await;
    page.assert_shows("Roles saved.");
    assert_eq!(t.get(&format!("/api/backend/v1/orgs/{o}/members/{cy}"), 200).await["role"], "Viewer");

    // An Admin may not touch the Owner: the refusal is shown; nobody changes their own role.
    let admin = browser(&t, EMAILS[1]).await;
    let ada = &team.ids[0];
    let ada_page = admin.get(&format!("/orgs/{o}/members/{ada}")).await;
    let done = admin.submit(&ada_page, &format!("/orgs/{o}/members/{ada}/roles"), &[("role", "Viewer")]).await;
    done.assert_status(422).assert_shows("Only an owner can do this.");
    let bea = &team.ids[1];
    let page = admin.get(&format!("/orgs/{o}/members/{bea}")).await;
    page.assert_shows("This is you.").assert_hides("Save roles");
    let done = admin.submit(&ada_page, &format!("/orgs/{o}/members/{bea}/roles"), &[("role", "Member")]).await;
    done.assert_status(422).assert_shows("You cannot change your own role.");
    let done = admin.get(&format!("/orgs/{o}/members/{ada}/remove")).await;
    let refused = admin.submit(&done, &format!("/orgs/{o}/members/{ada}/remove"), &[]).await;
    refused.assert_status(422).assert_shows("Only an owner can do this.");

    // Remove a member through the confirmation page.
    let confirm = owner.get(&format!("/orgs/{o}/members/{cy}/remove")).await;
    confirm.assert_status(200).assert_shows("Remove cy@acme.test?").assert_shows("lose access to Acme at once");
    let done = owner.submit(&confirm, &format!("/orgs/{o}/members/{cy}/remove"), &[]).await;
    let page = owner.follow(&done.assert_redirect(&format!("/orgs/{o}/members")).clone()).await;
    page.assert_shows("Member removed.").assert_hides("cy@acme.test");
    owner.get(&format!("/orgs/{o}/members/{cy}")).await.assert_status(404);

    // Without the token: refused.
    owner
        .post_raw(&format!("/orgs/{o}/invite"), &[("email", "x@acme.test"), ("role", "Viewer")])
        .await
        .assert_status(403);
    owner.post_raw(&format!("/orgs/{o}/members/{bea}/remove"), &[]).await.assert_status(403);
}

async fn paging_and_search(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let team = team(&t).await;
    let o = &team.org;
    for i in 0..53 {
        let body = json!({ "email": format!("guest{i:02}@acme.test"), "role": "Viewer" });
        t.post(&format!("/api/backend/v1/orgs/{o}/invites"), body, 201).await;
    }
    let owner = browser(&t, EMAILS[0]).await;
    // 4 members and 53 invitations: 50 on the first page, then 7.
    let first = owner.get(&format!("/orgs/{o}/members")).await;
    first.assert_status(200).assert_shows("Next page").assert_hides("First page");
    let rows = |p: &Page| p.body.matches("<th scope=\"row\">").count();
    assert_eq!(rows(&first), 50);
    // The fullest page there is, with its style sheets, stays within the 30 KB budget.
    let css = owner.get("/assets/tenantry.css").await.body.len() + owner.get("/assets/brand.css").await.body.len();
    eprintln!("a roster page of 50: {} bytes of HTML, {css} of CSS", first.body.len());
    assert!(first.body.len() + css <= 30 * 1024, "{} + {css} bytes", first.body.len());
    let next = first.body.split("href=\"").find(|s| s.contains("cursor=")).and_then(|s| s.split('"').next()).unwrap();
    let second = owner.get(&crate::pages_support::unescape(next)).await;
    second.assert_status(200).assert_shows("First page").assert_hides("Next page");
    assert_eq!(rows(&second), 7);
    owner.get(&format!("/orgs/{o}/members?cursor=nonsense")).await.assert_status(404);

    // Search by the start of the address: members and invitations alike, kept across pages.
    let found = owner.get(&format!("/orgs/{o}/members?q=GUEST5")).await;
    found
        .assert_status(200)
        .assert_shows("guest50@acme.test")
        .assert_shows("guest52@acme.test")
        .assert_hides("guest49@acme.test");
    assert_eq!(rows(&found), 3);
    assert_eq!(found.input_value("q").as_deref(), Some("GUEST5"));
    let found = owner.get(&format!("/orgs/{o}/members?q=cy%40")).await;
    assert_eq!(rows(&found), 1);
    owner.get(&format!("/orgs/{o}/members?q=nobody")).await.assert_shows("Nobody matches this search.");

    // The audit log pages too: 3 members added, the org created, 53 invitations.
    let audit = owner.get(&format!("/orgs/{o}/audit-log")).await;
    audit.assert_status(200).assert_shows("org.invitation_created").assert_shows("Next page");
    assert_eq!(rows(&audit), 50);
    let next = audit.body.split("href=\"").find(|s| s.contains("cursor=")).and_then(|s| s.split('"').next()).unwrap();
    let older = owner.get(&crate::pages_support::unescape(next)).await;
    older.assert_status(200).assert_shows("First page").assert_shows("org.created");
}

async fn the_danger_zone(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let team = team(&t).await;
    let o = &team.org;
    let owner = browser(&t, EMAILS[0]).await;
    let danger = format!("/orgs/{o}/danger");

    // Ownership transfer: requested (the confirmation mail goes out), then cancelled.
    let page = owner.get(&danger).await;
    page.assert_shows("Bea (bea@acme.test)").assert_hides("Ada (ada@acme.test)");
    let done = owner.submit(&page, &format!("/orgs/{o}/transfer"), &[("user_id", "")]).await;
    done.assert_status(422).assert_shows("Choose the member who will become the owner");
    let done = owner.submit(&page, &format!("/orgs/{o}/transfer"), &[("user_id", &team.ids[1])]).await;
    owner.follow(&done.assert_redirect(&danger).clone()).await.assert_shows("Check your inbox: confirm the transfer");
    assert!(crate::support::mails_to(&t, EMAILS[0]).await.iter().any(|m| m.template.contains("transfer")));
    let done = owner.submit(&page, &format!("/orgs/{o}/transfer"), &[("user_id", &team.ids[2])]).await;
    done.assert_status(422).assert_shows("An ownership transfer is already waiting for confirmation.");
    let done = owner.submit(&page, &format!("/orgs/{o}/transfer/cancel"), &[]).await;
    owner.follow(&done.assert_redirect(&danger).clone()).await.assert_shows("Transfer cancelled.");
    let done = owner.submit(&page, &format!("/orgs/{o}/transfer/cancel"), &[]).await;
    done.assert_status(422).assert_shows("There is no ownership transfer waiting.");

    // Leaving: the only owner may not; the creator must hand over first (an org made on the
    // pages); a Member may.
    let leave = owner.get(&format!("/orgs/{o}/leave")).await;
    leave.assert_status(200).assert_shows("Leave Acme?");
    let done = owner.submit(&leave, &format!("/orgs/{o}/leave"), &[]).await;
    done.assert_status(422).assert_shows("needs at least one owner");
    let made = owner.fill("/orgs/new", None, &[("name", "Ada's own")]).await;
    made.assert_redirect("/orgs/*");
    let own = made.location.clone().unwrap();
    let leave = owner.get(&format!("{own}/leave")).await;
    let done = owner.submit(&leave, &format!("{own}/leave"), &[]).await;
    done.assert_status(422).assert_shows("Transfer ownership to someone else before you leave.");
    let member = browser(&t, EMAILS[2]).await;
    let leave = member.get(&format!("/orgs/{o}/leave")).await;
    let done = member.submit(&leave, &format!("/orgs/{o}/leave"), &[]).await;
    member.follow(&done.assert_redirect("/orgs").clone()).await.assert_shows("You left the organization.");
    member.get(&format!("/orgs/{o}")).await.assert_status(404);

    // Delete: only with the name typed exactly; an Admin is refused by the use case.
    let admin = browser(&t, EMAILS[1]).await;
    let confirm = admin.get(&format!("/orgs/{o}/delete")).await;
    admin.submit(&confirm, &format!("/orgs/{o}/delete"), &[("confirm_name", "Acme")]).await.assert_status(422);
    let confirm = owner.get(&format!("/orgs/{o}/delete")).await;
    confirm.assert_status(200).assert_shows("Type Acme to confirm");
    let done = owner.submit(&confirm, &format!("/orgs/{o}/delete"), &[("confirm_name", "acme")]).await;
    done.assert_status(422).assert_shows("Type the name exactly as shown to confirm");
    assert_eq!(done.input_value("confirm_name").as_deref(), Some("acme"));
    owner.post_raw(&format!("/orgs/{o}/delete"), &[("confirm_name", "Acme")]).await.assert_status(403);
    t.get(&format!("/api/backend/v1/orgs/{o}"), 200).await;
    let done = owner.submit(&confirm, &format!("/orgs/{o}/delete"), &[("confirm_name", "Acme")]).await;
    owner.follow(&done.assert_redirect("/orgs").clone()).await.assert_shows("The organization is deleted.");
    t.get(&format!("/api/backend/v1/orgs/{o}"), 404).await;
    owner.get(&danger).await.assert_status(404);
}

engine_tests!(
    each_role_sees_what_its_permissions_allow,
    grantable_roles_follow_the_invite_rule,
    settings_and_domains,
    inviting_and_managing_members,
    paging_and_search,
    the_danger_zone,
);
