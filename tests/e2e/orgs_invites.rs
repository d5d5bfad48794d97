//! Invitations over HTTP (docs/design.md §4): who may invite whom (§4.2), accepting and declining as the invited
//! address (§4.3), resend and revoke (§4.4), with their events and audit entries.

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::orgs::{add, as_user, audit_actions, backend_refused, create_org, oid, refused, roster, B, U};
use crate::support::{call, event_types, mailed_token, mails_to, problem_code, sign_in_again, signed_in};

/// The invite id of an invite body.
fn iid(invite: &Value) -> String {
    invite["invite_id"].as_str().unwrap().to_owned()
}

async fn anon_post(t: &TestApp, path: &str, body: Value, status: u16) -> Value {
    call(t, Method::POST, &format!("{U}{path}"), None, Some(body), status).await
}

/// §4.2: the invite permission; no role above the inviter's; only an Owner invites an Owner;
/// refused for members, pending invites (point to resend) and a full org; the link is emailed.
async fn invite_rules(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let admin = signed_in(&t, "admin@acme.com").await;
    let member = signed_in(&t, "member@acme.com").await;
    let viewer = signed_in(&t, "viewer@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &admin, "Admin").await;
    add(&t, &org, &member, "Member").await;
    add(&t, &org, &viewer, "Viewer").await;
    let path = format!("/orgs/{org}/invites");
    let to = |email: &str, role: &str| Some(json!({ "email": email, "role": role }));

    for who in [&member, &viewer] {
        let code = refused(&t, who, Method::POST, &path, to("x@acme.com", "Viewer"), 403).await;
        assert_eq!(code, "permission-denied");
    }
    assert_eq!(refused(&t, &admin, Method::POST, &path, to("x@acme.com", "Owner"), 403).await, "owner-required");
    assert_eq!(refused(&t, &admin, Method::POST, &path, to("x@acme.com", "Boss"), 422).await, "unknown-role");
    let code = refused(&t, &admin, Method::POST, &path, to("not an email", "Member"), 422).await;
    assert_eq!(code, "invalid-email");

    let invite = as_user(&t, &admin, Method::POST, &path, to("Carol@Example.com", "Admin"), 201).await;
    assert_eq!(invite["state"], "pending");
    assert_eq!(invite["role"], "Admin");
    assert_eq!(invite["invited_by"], admin.id.as_str());
    assert!(invite.get("token").is_none() && invite.get("token_hash").is_none());
    let expires = chrono::DateTime::parse_from_rfc3339(invite["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires.timestamp() - t.clock_now(), 7 * 24 * 3600, "seven days");
    let mail = mails_to(&t, "Carol@example.com").await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].template, "org_invite");
    assert_eq!(mail[0].vars.0["org_name"], "Acme");
    assert!(mail[0].vars.0["link"].as_str().unwrap().contains("?token="));
    as_user(&t, &owner, Method::POST, &path, to("co-owner@acme.com", "Owner"), 201).await;

    let code = refused(&t, &admin, Method::POST, &path, to("member@acme.com", "Viewer"), 409).await;
    assert_eq!(code, "already-member");
    let code = refused(&t, &admin, Method::POST, &path, to("carol@example.COM", "Viewer"), 409).await;
    assert_eq!(code, "invite-pending");
    let problem = as_user(&t, &admin, Method::POST, &path, to("carol@example.com", "Viewer"), 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("resend"), "{problem}");

    // A full org: 4 members + 2 pending invites; a limit of 7 leaves one seat.
    t.patch(&format!("{B}/orgs/{org}"), json!({ "max_users": 7 }), 200).await;
    as_user(&t, &admin, Method::POST, &path, to("last@acme.com", "Member"), 201).await;
    assert_eq!(refused(&t, &admin, Method::POST, &path, to("one-more@acme.com", "Member"), 409).await, "org-full");
    let code =
        backend_refused(&t, Method::POST, &format!("{B}/orgs/{org}/invites"), to("b@acme.com", "Member"), 409).await;
    assert_eq!(code, "org-full", "the limit binds the backend too");

    // Custom hierarchy: a Lead may invite, but not above their own rank.
    t.backend(
        Method::PUT,
        &format!("{B}/roles"),
        Some(json!({
            "hierarchy": [
                { "name": "Owner", "permissions": ["org.delete", "org.transfer_ownership", "org.require_2fa", "org.billing"] },
                { "name": "Admin", "permissions": ["org.update", "org.members.remove", "org.members.change_role",
                    "org.api_keys.manage", "org.sso.manage", "org.audit.read"] },
                { "name": "Lead", "permissions": ["org.members.invite"] },
                { "name": "Member", "permissions": [] },
                { "name": "Viewer", "permissions": ["org.view"] }
            ]
        })),
        200,
    )
    .await;
    t.patch(&format!("{B}/orgs/{org}"), json!({ "max_users": null }), 200).await;
    t.patch(&format!("{B}/orgs/{org}/members/{}", member.id), json!({ "role": "Lead" }), 200).await;
    assert_eq!(refused(&t, &member, Method::POST, &path, to("y@acme.com", "Admin"), 403).await, "role-above-yours");
    as_user(&t, &member, Method::POST, &path, to("y@acme.com", "Lead"), 201).await;

    let invite_events = event_types(&t, &iid(&invite)).await;
    assert_eq!(invite_events, ["org.invitation_created"]);
    assert!(event_types(&t, &org).await.contains(&"org.seat_limit_reached".to_owned()));
    let audit = audit_actions(&t, &org).await;
    assert_eq!(audit.iter().filter(|a| *a == "org.invitation_created").count(), 4, "{audit:?}");
    t.stop().await;
}

/// §4.3: accept or decline signed in as the invited address only; a newcomer signs up first;
/// expired, revoked and used links say so; the public details show only what they should.
async fn accept_and_decline_as_the_invited_address(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let mut owner = signed_in(&t, "owner@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    let invite = |email: &'static str| {
        let t = &t;
        let owner = &owner;
        let org = org.clone();
        async move {
            let body = json!({ "email": email, "role": "Member" });
            let i = as_user(t, owner, Method::POST, &format!("/orgs/{org}/invites"), Some(body), 201).await;
            (i, mailed_token(t, email, "org_invite").await)
        }
    };

    // Details: only org name, inviter, role, expiry and the invited address (to fill in sign-up
    // and sign-in), to anyone holding the link, which was mailed to that address.
    let (carol_invite, token) = invite("carol@example.com").await;
    let details = anon_post(&t, "/invites/details", json!({ "token": token }), 200).await;
    let mut keys: Vec<_> = details.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["email", "expires_at", "inviter", "org_name", "role"]);
    assert_eq!(details["email"], "carol@example.com");
    assert_eq!(details["org_name"], "Acme");
    assert_eq!(details["inviter"], "owner@acme.com");
    assert_eq!(details["role"], "Member");

    // Anonymous: sign in first. Another account: refused, and the invite stays usable.
    let code = problem_code(&anon_post(&t, "/invites/accept", json!({ "token": token }), 401).await).to_owned();
    assert_eq!(code, "unauthenticated");
    let dave = signed_in(&t, "dave@example.com").await;
    let body = Some(json!({ "token": token }));
    assert_eq!(refused(&t, &dave, Method::POST, "/invites/accept", body.clone(), 403).await, "invite-wrong-account");
    assert_eq!(refused(&t, &dave, Method::POST, "/invites/decline", body.clone(), 403).await, "invite-wrong-account");
    // A backend key is not the invitee either.
    t.post(&format!("{U}/invites/accept"), json!({ "token": token }), 401).await;

    // The newcomer signs up with the invited address, verifies it, signs in and accepts.
    anon_post(&t, "/signup", json!({ "email": "carol@example.com", "password": "carol's passphrase" }), 202).await;
    let verify = mailed_token(&t, "carol@example.com", "verify_email").await;
    anon_post(&t, "/email/verify", json!({ "token": verify }), 200).await;
    let login =
        anon_post(&t, "/login", json!({ "email": "Carol@example.com", "password": "carol's passphrase" }), 200).await;
    let carol_access = login["tokens"]["access_token"].as_str().unwrap().to_owned();
    let member = call(&t, Method::POST, &format!("{U}/invites/accept"), Some(&carol_access), body.clone(), 200).await;
    assert_eq!(member["role"], "Member");
    assert_eq!(member["email"], "carol@example.com");
    let problem = call(&t, Method::POST, &format!("{U}/invites/accept"), Some(&carol_access), body.clone(), 410).await;
    assert_eq!(problem_code(&problem), "invite-used");
    assert_eq!(problem_code(&anon_post(&t, "/invites/details", json!({ "token": token }), 410).await), "invite-used");
    assert_eq!(t.get(&format!("{B}/orgs/{org}"), 200).await["member_count"], 2);

    // Decline.
    let erin = signed_in(&t, "erin@example.com").await;
    let (_, token) = invite("erin@example.com").await;
    let body = Some(json!({ "token": token }));
    as_user(&t, &erin, Method::POST, "/invites/decline", body.clone(), 204).await;
    assert_eq!(refused(&t, &erin, Method::POST, "/invites/accept", body, 410).await, "invite-used");
    assert!(!roster(&t, &org).await.iter().any(|(e, _)| e == "erin@example.com"));

    // Revoked.
    let gail = signed_in(&t, "gail@example.com").await;
    let (gail_invite, token) = invite("gail@example.com").await;
    as_user(&t, &owner, Method::DELETE, &format!("/orgs/{org}/invites/{}", iid(&gail_invite)), None, 204).await;
    let body = Some(json!({ "token": token }));
    assert_eq!(refused(&t, &gail, Method::POST, "/invites/accept", body, 410).await, "invite-revoked");
    assert_eq!(
        problem_code(&anon_post(&t, "/invites/details", json!({ "token": token }), 410).await),
        "invite-revoked"
    );

    // Expired, after seven days.
    let mut frank = signed_in(&t, "frank@example.com").await;
    let (_, token) = invite("frank@example.com").await;
    t.clock.advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    sign_in_again(&t, &mut frank).await;
    sign_in_again(&t, &mut owner).await;
    let body = Some(json!({ "token": token }));
    assert_eq!(refused(&t, &frank, Method::POST, "/invites/accept", body, 410).await, "invite-expired");
    assert_eq!(
        problem_code(&anon_post(&t, "/invites/details", json!({ "token": token }), 410).await),
        "invite-expired"
    );
    // An expired invite holds no seat and no longer blocks a new one.
    as_user(
        &t,
        &owner,
        Method::POST,
        &format!("/orgs/{org}/invites"),
        Some(json!({ "email": "frank@example.com" })),
        201,
    )
    .await;

    // Garbage.
    let body = Some(json!({ "token": "not-a-token" }));
    assert_eq!(refused(&t, &frank, Method::POST, "/invites/accept", body, 404).await, "invite-invalid");

    assert_eq!(event_types(&t, &iid(&carol_invite)).await, ["org.invitation_created", "org.invitation_accepted"]);
    assert_eq!(event_types(&t, member["membership_id"].as_str().unwrap()).await, ["user.added_to_org"]);
    assert!(event_types(&t, &org).await.contains(&"org.member_count_changed".to_owned()));
    let audit = audit_actions(&t, &org).await;
    for action in ["org.invitation_accepted", "org.invitation_declined", "org.invitation_revoked", "org.member_added"] {
        assert!(audit.contains(&action.to_owned()), "{action} in {audit:?}");
    }
    t.stop().await;
}

/// §4.4: resend issues a new token and expiry and kills the old one; revoke works on pending
/// invites only.
async fn resend_and_revoke(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let mut owner = signed_in(&t, "owner@acme.com").await;
    let mut admin = signed_in(&t, "admin@acme.com").await;
    let mut member = signed_in(&t, "member@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &admin, "Admin").await;
    add(&t, &org, &member, "Member").await;
    let mut hal = signed_in(&t, "hal@example.com").await;
    let body = json!({ "email": "hal@example.com", "role": "Member" });
    let invite = as_user(&t, &admin, Method::POST, &format!("/orgs/{org}/invites"), Some(body), 201).await;
    let id = iid(&invite);
    let old = mailed_token(&t, "hal@example.com", "org_invite").await;

    t.clock.advance(chrono::Duration::days(6));
    for u in [&mut owner, &mut admin, &mut member, &mut hal] {
        sign_in_again(&t, u).await;
    }
    let resend = format!("/orgs/{org}/invites/{id}/resend");
    assert_eq!(refused(&t, &member, Method::POST, &resend, None, 403).await, "permission-denied");
    let resent = as_user(&t, &admin, Method::POST, &resend, None, 200).await;
    assert!(resent["expires_at"].as_str() > invite["expires_at"].as_str(), "a new expiry");
    let new = mailed_token(&t, "hal@example.com", "org_invite").await;
    assert_ne!(new, old);
    assert_eq!(mails_to(&t, "hal@example.com").await.len(), 2);
    let dead = Some(json!({ "token": old }));
    assert_eq!(refused(&t, &hal, Method::POST, "/invites/accept", dead, 410).await, "invite-replaced");
    // Past the first expiry, the new link still works.
    t.clock.advance(chrono::Duration::days(2));
    for u in [&mut owner, &mut admin, &mut member, &mut hal] {
        sign_in_again(&t, u).await;
    }
    as_user(&t, &hal, Method::POST, "/invites/accept", Some(json!({ "token": new })), 200).await;

    // Revoke: pending only.
    let revoke = format!("/orgs/{org}/invites/{id}");
    assert_eq!(refused(&t, &admin, Method::DELETE, &revoke, None, 409).await, "invite-not-pending");
    assert_eq!(refused(&t, &admin, Method::POST, &resend, None, 409).await, "invite-not-pending");
    let other = t.post(&format!("{B}/orgs/{org}/invites"), json!({ "email": "ivy@example.com" }), 201).await;
    let revoke = format!("/orgs/{org}/invites/{}", iid(&other));
    assert_eq!(refused(&t, &member, Method::DELETE, &revoke, None, 403).await, "permission-denied");
    as_user(&t, &admin, Method::DELETE, &revoke, None, 204).await;
    assert_eq!(refused(&t, &admin, Method::DELETE, &revoke, None, 409).await, "invite-not-pending");
    let unknown = format!("/orgs/{org}/invites/{}", uuid::Uuid::now_v7());
    assert_eq!(refused(&t, &admin, Method::DELETE, &unknown, None, 404).await, "invite-not-found");
    // An Owner's invite is an Owner's to revoke.
    let boss = as_user(
        &t,
        &owner,
        Method::POST,
        &format!("/orgs/{org}/invites"),
        Some(json!({ "email": "boss@example.com", "role": "Owner" })),
        201,
    )
    .await;
    let boss_path = format!("/orgs/{org}/invites/{}", iid(&boss));
    assert_eq!(refused(&t, &admin, Method::DELETE, &boss_path, None, 403).await, "owner-required");
    assert_eq!(refused(&t, &admin, Method::POST, &format!("{boss_path}/resend"), None, 403).await, "owner-required");

    let listed = t.get(&format!("{B}/orgs/{org}/invites"), 200).await;
    let pending: Vec<_> = listed["invites"].as_array().unwrap().iter().map(|i| i["email"].clone()).collect();
    assert_eq!(pending, [json!("boss@example.com")]);
    let all = t.get(&format!("{B}/orgs/{org}/invites?all_states=true"), 200).await;
    let states: Vec<_> = all["invites"].as_array().unwrap().iter().map(|i| i["state"].clone()).collect();
    assert_eq!(states, [json!("accepted"), json!("revoked"), json!("pending")]);

    assert_eq!(event_types(&t, &iid(&other)).await, ["org.invitation_created", "org.invitation_revoked"]);
    let audit = audit_actions(&t, &org).await;
    assert!(audit.contains(&"org.invitation_resent".to_owned()), "{audit:?}");
    t.stop().await;
}

/// A link that a resend replaced answers 410 `invite-replaced` (like a used or revoked one), for
/// details, accept and decline, after any number of resends; a link that never existed stays 404.
async fn replaced_links_say_so(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    let ivy = signed_in(&t, "ivy@example.com").await;
    let invite = t.post(&format!("{B}/orgs/{org}/invites"), json!({ "email": "ivy@example.com" }), 201).await;
    let first = mailed_token(&t, "ivy@example.com", "org_invite").await;
    let resend = format!("{B}/orgs/{org}/invites/{}/resend", iid(&invite));
    t.post(&resend, json!({}), 200).await;
    let second = mailed_token(&t, "ivy@example.com", "org_invite").await;
    t.post(&resend, json!({}), 200).await;
    let third = mailed_token(&t, "ivy@example.com", "org_invite").await;
    assert!(first != second && second != third);

    for old in [&first, &second] {
        let problem = anon_post(&t, "/invites/details", json!({ "token": old }), 410).await;
        assert_eq!(problem_code(&problem), "invite-replaced");
        assert!(problem["detail"].as_str().unwrap().contains("newer"), "{problem}");
        let body = Some(json!({ "token": old }));
        assert_eq!(refused(&t, &ivy, Method::POST, "/invites/accept", body.clone(), 410).await, "invite-replaced");
        assert_eq!(refused(&t, &ivy, Method::POST, "/invites/decline", body, 410).await, "invite-replaced");
    }
    let body = Some(json!({ "token": "never-issued" }));
    assert_eq!(refused(&t, &ivy, Method::POST, "/invites/accept", body, 404).await, "invite-invalid");
    // The latest link works, and once used it says so; the replaced ones still say replaced.
    as_user(&t, &ivy, Method::POST, "/invites/accept", Some(json!({ "token": third })), 200).await;
    let body = Some(json!({ "token": third }));
    assert_eq!(refused(&t, &ivy, Method::POST, "/invites/accept", body, 410).await, "invite-used");
    let problem = anon_post(&t, "/invites/details", json!({ "token": first }), 410).await;
    assert_eq!(problem_code(&problem), "invite-replaced");
    // Deleting the org takes the replaced tokens with it.
    t.delete(&format!("{B}/orgs/{org}"), 204).await;
    let problem = anon_post(&t, "/invites/details", json!({ "token": first }), 404).await;
    assert_eq!(problem_code(&problem), "invite-invalid");
    t.stop().await;
}

engine_tests!(invite_rules, accept_and_decline_as_the_invited_address, resend_and_revoke, replaced_links_say_so);
