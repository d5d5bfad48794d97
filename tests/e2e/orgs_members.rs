//! Members over HTTP (docs/design.md §4): change role (§4.5), remove (§4.6), leave (§4.7), ownership transfer
//! (§4.8) and limits (§4.10), with their events and audit entries.

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::orgs::{add, as_user, audit_actions, backend_refused, create_org, oid, refresh, refused, roster, B, U};
use crate::support::{call, claims, event_types, mailed_token, mails_to, sign_in_again, signed_in, SignedIn};

fn mid(member: &Value) -> String {
    member["membership_id"].as_str().unwrap().to_owned()
}

fn role_of(roster: &[(String, String)], email: &str) -> Option<String> {
    roster.iter().find(|(e, _)| e == email).map(|(_, r)| r.clone())
}

/// §4.5: nobody changes their own role; only Owners touch Owners; never zero Owners; a removed
/// member cannot be changed.
async fn change_role_rules(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let admin = signed_in(&t, "admin@acme.com").await;
    let peer = signed_in(&t, "peer@acme.com").await;
    let member = signed_in(&t, "member@acme.com").await;
    let viewer = signed_in(&t, "viewer@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &admin, "Admin").await;
    add(&t, &org, &peer, "Admin").await;
    let member_row = add(&t, &org, &member, "Member").await;
    add(&t, &org, &viewer, "Viewer").await;
    let path = |u: &SignedIn| format!("/orgs/{org}/members/{}", u.id);
    let to = |role: &str| Some(json!({ "role": role }));

    for me in [&owner, &admin, &viewer] {
        let code = refused(&t, me, Method::PATCH, &path(me), to("Member"), 403).await;
        assert_eq!(code, "cannot-change-own-role", "{}", me.email);
    }
    assert_eq!(refused(&t, &member, Method::PATCH, &path(&viewer), to("Member"), 403).await, "permission-denied");
    assert_eq!(refused(&t, &admin, Method::PATCH, &path(&owner), to("Admin"), 403).await, "owner-required");
    assert_eq!(refused(&t, &admin, Method::PATCH, &path(&member), to("Owner"), 403).await, "owner-required");
    assert_eq!(refused(&t, &admin, Method::PATCH, &path(&member), to("Boss"), 422).await, "unknown-role");
    let extra = Some(json!({ "additional_roles": ["Nope"] }));
    assert_eq!(refused(&t, &admin, Method::PATCH, &path(&member), extra, 422).await, "unknown-role");

    let promoted = as_user(&t, &admin, Method::PATCH, &path(&member), to("Admin"), 200).await;
    assert_eq!(promoted["role"], "Admin");
    assert!(promoted["permissions"].as_array().unwrap().contains(&json!("org.members.invite")));
    as_user(&t, &admin, Method::PATCH, &path(&peer), to("Viewer"), 200).await;
    // The only Owner cannot be demoted, even by the backend.
    let code = backend_refused(&t, Method::PATCH, &format!("{B}{}", path(&owner)), to("Admin"), 409).await;
    assert_eq!(code, "last-owner");
    as_user(&t, &owner, Method::PATCH, &path(&viewer), to("Owner"), 200).await;
    t.patch(&format!("{B}{}", path(&owner)), json!({ "role": "Admin" }), 200).await;
    let code = refused(&t, &owner, Method::PATCH, &path(&viewer), to("Member"), 403).await;
    assert_eq!(code, "owner-required", "the demoted owner acts as an Admin now");

    // Removed members cannot be changed.
    t.delete(&format!("{B}{}", path(&peer)), 204).await;
    assert_eq!(refused(&t, &viewer, Method::PATCH, &path(&peer), to("Member"), 404).await, "member-not-found");
    let code = backend_refused(&t, Method::PATCH, &format!("{B}{}", path(&peer)), to("Member"), 404).await;
    assert_eq!(code, "member-not-found");

    let evs = crate::support::events(&t, &mid(&member_row)).await;
    assert_eq!(
        evs.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(),
        ["user.added_to_org", "user.role_changed_within_org"]
    );
    assert_eq!(evs[1].data.0["previous_role"], "Member");
    assert_eq!(evs[1].data.0["role"], "Admin");
    assert_eq!(evs[1].object_version, 2);
    let audit = audit_actions(&t, &org).await;
    assert_eq!(audit.iter().filter(|a| *a == "org.member_role_changed").count(), 4, "{audit:?}");
    t.stop().await;
}

/// §4.6: nobody removes themselves; only Owners remove Owners; never the last Owner; access ends
/// at once: the org leaves the next token and sessions acting in it end.
async fn remove_rules_and_access_ends_at_once(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let admin = signed_in(&t, "admin@acme.com").await;
    let mut member = signed_in(&t, "member@acme.com").await;
    let mut focused = signed_in(&t, "focused@acme.com").await;
    let viewer = signed_in(&t, "viewer@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &admin, "Admin").await;
    let member_row = add(&t, &org, &member, "Member").await;
    add(&t, &org, &focused, "Member").await;
    add(&t, &org, &viewer, "Viewer").await;
    let path = |u: &SignedIn| format!("/orgs/{org}/members/{}", u.id);

    assert_eq!(refused(&t, &admin, Method::DELETE, &path(&admin), None, 403).await, "cannot-remove-self");
    assert_eq!(refused(&t, &owner, Method::DELETE, &path(&owner), None, 403).await, "cannot-remove-self");
    assert_eq!(refused(&t, &member, Method::DELETE, &path(&viewer), None, 403).await, "permission-denied");
    assert_eq!(refused(&t, &admin, Method::DELETE, &path(&owner), None, 403).await, "owner-required");
    let code = backend_refused(&t, Method::DELETE, &format!("{B}{}", path(&owner)), None, 409).await;
    assert_eq!(code, "last-owner");

    // The member's token lists the org; after removal, the next refresh does not.
    let before = refresh(&t, &mut member).await;
    assert!(before["orgs"].get(&org).is_some());
    let old_access = member.access.clone();
    as_user(&t, &admin, Method::DELETE, &path(&member), None, 204).await;
    let after = refresh(&t, &mut member).await;
    assert!(after["orgs"].get(&org).is_none(), "{after}");
    // Their old token still names the org, but the org no longer knows them.
    let code = crate::support::problem_code(
        &call(&t, Method::GET, &format!("{U}/orgs/{org}"), Some(&old_access), None, 404).await,
    )
    .to_owned();
    assert_eq!(code, "org-not-found");

    // A session acting in the org ends with the membership.
    let active = as_user(&t, &focused, Method::PUT, "/me/active-org", Some(json!({ "org_id": org })), 200).await;
    focused.access = active["access_token"].as_str().unwrap().to_owned();
    focused.refresh = active["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&t, &focused.access).await["active_org_id"], org.as_str());
    t.delete(&format!("{B}{}", path(&focused)), 204).await;
    call(&t, Method::GET, &format!("{U}/me"), Some(&focused.access), None, 401).await;
    call(&t, Method::POST, &format!("{U}/token/refresh"), None, Some(json!({ "refresh_token": focused.refresh })), 401)
        .await;

    // Owners remove Owners, down to the last one.
    as_user(&t, &owner, Method::PATCH, &path(&admin), Some(json!({ "role": "Owner" })), 200).await;
    as_user(&t, &admin, Method::DELETE, &path(&owner), None, 204).await;
    let code = backend_refused(&t, Method::DELETE, &format!("{B}{}", path(&admin)), None, 409).await;
    assert_eq!(code, "last-owner");
    assert_eq!(refused(&t, &admin, Method::DELETE, &path(&owner), None, 404).await, "member-not-found");

    assert_eq!(t.get(&format!("{B}/orgs/{org}"), 200).await["member_count"], 2);
    let evs = event_types(&t, &mid(&member_row)).await;
    assert_eq!(evs, ["user.added_to_org", "user.removed_from_org"]);
    let org_events = event_types(&t, &org).await;
    assert_eq!(org_events.iter().filter(|e| *e == "org.member_count_changed").count(), 7, "{org_events:?}");
    let audit = audit_actions(&t, &org).await;
    assert_eq!(audit.iter().filter(|a| *a == "org.member_removed").count(), 3, "{audit:?}");
    t.stop().await;
}

/// §4.7: anyone may leave except the last Owner and the creator while an Owner.
async fn leave_rules(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let creator = signed_in(&t, "creator@acme.com").await;
    let second = signed_in(&t, "second@acme.com").await;
    let member = signed_in(&t, "member@acme.com").await;
    let org = oid(&create_org(&t, &creator, "Acme").await);
    add(&t, &org, &second, "Owner").await;
    add(&t, &org, &member, "Member").await;
    let leave = format!("/orgs/{org}/leave");

    assert_eq!(refused(&t, &creator, Method::POST, &leave, None, 409).await, "creator-must-transfer-first");
    as_user(&t, &member, Method::POST, &leave, None, 204).await;
    assert_eq!(as_user(&t, &member, Method::GET, "/me/orgs", None, 200).await["orgs"], json!([]));
    assert_eq!(refused(&t, &member, Method::POST, &leave, None, 404).await, "org-not-found");
    // Once demoted, the creator may leave.
    as_user(
        &t,
        &second,
        Method::PATCH,
        &format!("/orgs/{org}/members/{}", creator.id),
        Some(json!({ "role": "Admin" })),
        200,
    )
    .await;
    as_user(&t, &creator, Method::POST, &leave, None, 204).await;
    assert_eq!(refused(&t, &second, Method::POST, &leave, None, 409).await, "last-owner");
    // The backend is not a member and cannot leave.
    t.post(&format!("{U}{leave}"), json!({}), 401).await;

    // The last Owner of a backend-made org (not its creator) cannot leave either.
    let solo = signed_in(&t, "solo@example.com").await;
    let other = oid(&t.post(&format!("{B}/orgs"), json!({ "name": "Solo", "owner_user_id": solo.id }), 201).await);
    assert_eq!(refused(&t, &solo, Method::POST, &format!("/orgs/{other}/leave"), None, 409).await, "last-owner");

    let audit = audit_actions(&t, &org).await;
    assert_eq!(audit.iter().filter(|a| *a == "org.member_left").count(), 2, "{audit:?}");
    t.stop().await;
}

/// §4.8: only an Owner; the target is an active Admin or Member; pending until the initiator
/// confirms from the emailed link; then roles swap. Cancel and expiry.
async fn ownership_transfer(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let mut admin = signed_in(&t, "admin@acme.com").await;
    let member = signed_in(&t, "member@acme.com").await;
    let viewer = signed_in(&t, "viewer@acme.com").await;
    let stranger = signed_in(&t, "stranger@example.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    let admin_row = add(&t, &org, &admin, "Admin").await;
    add(&t, &org, &member, "Member").await;
    add(&t, &org, &viewer, "Viewer").await;
    let start = format!("/orgs/{org}/ownership-transfer");
    let to = |u: &SignedIn| Some(json!({ "user_id": u.id }));

    assert_eq!(refused(&t, &admin, Method::POST, &start, to(&member), 403).await, "permission-denied");
    for target in [&viewer, &owner, &stranger] {
        let code = refused(&t, &owner, Method::POST, &start, to(target), 409).await;
        assert_eq!(code, "transfer-target-ineligible", "{}", target.email);
    }
    let pending = as_user(&t, &owner, Method::POST, &start, to(&admin), 202).await;
    assert_eq!(pending["state"], "pending");
    assert_eq!(pending["to_user_id"], admin.id.as_str());
    assert_eq!(refused(&t, &owner, Method::POST, &start, to(&member), 409).await, "transfer-pending");
    assert_eq!(role_of(&roster(&t, &org).await, "admin@acme.com").as_deref(), Some("Admin"), "still pending");
    assert_eq!(mails_to(&t, "owner@acme.com").await.last().unwrap().template, "ownership_transfer");
    let token = mailed_token(&t, "owner@acme.com", "ownership_transfer").await;
    let confirm = Some(json!({ "token": token }));

    // Only the initiator confirms.
    let code = refused(&t, &admin, Method::POST, "/ownership-transfer/confirm", confirm.clone(), 404).await;
    assert_eq!(code, "transfer-invalid");
    let done = as_user(&t, &owner, Method::POST, "/ownership-transfer/confirm", confirm.clone(), 200).await;
    assert_eq!(done["state"], "confirmed");
    let now = roster(&t, &org).await;
    assert_eq!(role_of(&now, "admin@acme.com").as_deref(), Some("Owner"));
    assert_eq!(role_of(&now, "owner@acme.com").as_deref(), Some("Admin"));
    let code = refused(&t, &owner, Method::POST, "/ownership-transfer/confirm", confirm, 410).await;
    assert_eq!(code, "transfer-used");
    assert!(event_types(&t, &org).await.contains(&"org.ownership_transferred".to_owned()));
    assert_eq!(event_types(&t, &mid(&admin_row)).await.last().unwrap(), "user.role_changed_within_org");

    // Cancel: by the Owner or the backend.
    let start_admin = as_user(&t, &admin, Method::POST, &start, to(&member), 202).await;
    assert_eq!(start_admin["from_user_id"], admin.id.as_str());
    let token = mailed_token(&t, "admin@acme.com", "ownership_transfer").await;
    assert_eq!(refused(&t, &owner, Method::DELETE, &start, None, 403).await, "permission-denied");
    as_user(&t, &admin, Method::DELETE, &start, None, 204).await;
    let confirm = Some(json!({ "token": token }));
    let code = refused(&t, &admin, Method::POST, "/ownership-transfer/confirm", confirm, 410).await;
    assert_eq!(code, "transfer-cancelled");
    assert_eq!(refused(&t, &admin, Method::DELETE, &start, None, 404).await, "transfer-not-found");
    as_user(&t, &admin, Method::POST, &start, to(&member), 202).await;
    t.delete(&format!("{B}{start}"), 204).await;

    // Expiry.
    as_user(&t, &admin, Method::POST, &start, to(&member), 202).await;
    let token = mailed_token(&t, "admin@acme.com", "ownership_transfer").await;
    t.clock.advance(chrono::Duration::hours(25));
    sign_in_again(&t, &mut admin).await;
    let confirm = Some(json!({ "token": token }));
    let code = refused(&t, &admin, Method::POST, "/ownership-transfer/confirm", confirm, 410).await;
    assert_eq!(code, "transfer-expired");
    assert_eq!(role_of(&roster(&t, &org).await, "member@acme.com").as_deref(), Some("Member"));
    // An expired transfer does not block a new one.
    as_user(&t, &admin, Method::POST, &start, to(&member), 202).await;

    let audit = audit_actions(&t, &org).await;
    for action in ["org.ownership_transfer_requested", "org.ownership_transfer_cancelled", "org.ownership_transferred"]
    {
        assert!(audit.contains(&action.to_owned()), "{action} in {audit:?}");
    }
    t.stop().await;
}

/// §4.10: `max_users` counts members plus pending invites, and lowering it evicts nobody; the
/// deployment caps orgs per user.
async fn seat_and_org_limits(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.orgs.max_orgs_per_user = Some(2)).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let m1 = signed_in(&t, "m1@acme.com").await;
    let m2 = signed_in(&t, "m2@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &m1, "Member").await;
    let code =
        backend_refused(&t, Method::PATCH, &format!("{B}/orgs/{org}"), Some(json!({ "max_users": 0 })), 422).await;
    assert_eq!(code, "invalid-max-users");
    t.patch(&format!("{B}/orgs/{org}"), json!({ "max_users": 3 }), 200).await;
    let invite = t.post(&format!("{B}/orgs/{org}/invites"), json!({ "email": "pending@acme.com" }), 201).await;
    let code =
        backend_refused(&t, Method::POST, &format!("{B}/orgs/{org}/members"), Some(json!({ "user_id": m2.id })), 409)
            .await;
    assert_eq!(code, "org-full", "the pending invite holds the third seat");
    t.delete(&format!("{B}/orgs/{org}/invites/{}", invite["invite_id"].as_str().unwrap()), 204).await;
    add(&t, &org, &m2, "Member").await;

    // Lowering the limit below the count evicts nobody; it only stops joins.
    let lowered = t.patch(&format!("{B}/orgs/{org}"), json!({ "max_users": 1 }), 200).await;
    assert_eq!(lowered["member_count"], 3);
    assert_eq!(lowered["max_users"], 1);
    assert_eq!(roster(&t, &org).await.len(), 3);
    let body = Some(json!({ "email": "late@acme.com" }));
    assert_eq!(refused(&t, &owner, Method::POST, &format!("/orgs/{org}/invites"), body, 409).await, "org-full");
    let unlimited = t.patch(&format!("{B}/orgs/{org}"), json!({ "max_users": null }), 200).await;
    assert!(unlimited.get("max_users").is_none());

    // At most two orgs per user: creating, being added and accepting all count.
    create_org(&t, &owner, "Second").await;
    assert_eq!(
        refused(&t, &owner, Method::POST, "/orgs", Some(json!({ "name": "Third" })), 409).await,
        "org-limit-reached"
    );
    let third = oid(&t.post(&format!("{B}/orgs"), json!({ "name": "Third" }), 201).await);
    let code = backend_refused(
        &t,
        Method::POST,
        &format!("{B}/orgs/{third}/members"),
        Some(json!({ "user_id": owner.id })),
        409,
    )
    .await;
    assert_eq!(code, "org-limit-reached");
    let code = backend_refused(
        &t,
        Method::POST,
        &format!("{B}/orgs"),
        Some(json!({ "name": "Fourth", "owner_user_id": owner.id })),
        409,
    )
    .await;
    assert_eq!(code, "org-limit-reached");
    t.post(&format!("{B}/orgs/{third}/invites"), json!({ "email": "owner@acme.com" }), 201).await;
    let token = mailed_token(&t, "owner@acme.com", "org_invite").await;
    let code = refused(&t, &owner, Method::POST, "/invites/accept", Some(json!({ "token": token })), 409).await;
    assert_eq!(code, "org-limit-reached");
    let org_events = event_types(&t, &org).await;
    assert!(org_events.contains(&"org.seat_limit_reached".to_owned()), "{org_events:?}");
    t.stop().await;
}

/// A removed member can be invited again and come back.
async fn removed_member_can_be_invited_again(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let mut back = signed_in(&t, "back@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &back, "Admin").await;
    as_user(&t, &owner, Method::DELETE, &format!("/orgs/{org}/members/{}", back.id), None, 204).await;
    let body = Some(json!({ "email": "back@acme.com", "role": "Member" }));
    as_user(&t, &owner, Method::POST, &format!("/orgs/{org}/invites"), body, 201).await;
    let token = mailed_token(&t, "back@acme.com", "org_invite").await;
    let member = as_user(&t, &back, Method::POST, "/invites/accept", Some(json!({ "token": token })), 200).await;
    assert_eq!(member["role"], "Member", "the new invite's role, not the old one");
    assert_eq!(refresh(&t, &mut back).await["orgs"][&org]["role"], "Member");
    t.stop().await;
}

/// The org resolves the actor from the stored membership: a demoted Admin's next call is refused
/// even though their access token still lists the old role.
async fn demoted_admin_is_refused_at_once(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let mut admin = signed_in(&t, "admin@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &admin, "Admin").await;
    let token_claims = refresh(&t, &mut admin).await;
    assert_eq!(token_claims["orgs"][&org]["role"], "Admin");
    as_user(
        &t,
        &owner,
        Method::PATCH,
        &format!("/orgs/{org}/members/{}", admin.id),
        Some(json!({ "role": "Member" })),
        200,
    )
    .await;
    assert_eq!(claims(&t, &admin.access).await["orgs"][&org]["role"], "Admin", "the old token says Admin");
    let body = Some(json!({ "email": "x@acme.com" }));
    assert_eq!(
        refused(&t, &admin, Method::POST, &format!("/orgs/{org}/invites"), body, 403).await,
        "permission-denied"
    );
    let body = Some(json!({ "name": "Renamed" }));
    assert_eq!(refused(&t, &admin, Method::PATCH, &format!("/orgs/{org}"), body, 403).await, "permission-denied");
    assert_eq!(refresh(&t, &mut admin).await["orgs"][&org]["role"], "Member", "the next token follows");
    t.stop().await;
}

/// Deleting a user ends their memberships like removals (the count drops, the event goes out), and
/// the only owner of an org cannot be deleted.
async fn deleting_a_user_ends_their_memberships(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let member = signed_in(&t, "member@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &member, "Member").await;
    assert_eq!(t.get(&format!("/api/backend/v1/orgs/{org}"), 200).await["member_count"], 2);
    let problem = t.delete(&format!("/api/backend/v1/users/{}", owner.id), 409).await;
    assert_eq!(crate::support::problem_code(&problem), "last-owner");
    t.get(&format!("/api/backend/v1/users/{}", owner.id), 200).await;
    t.delete(&format!("/api/backend/v1/users/{}", member.id), 204).await;
    assert_eq!(t.get(&format!("/api/backend/v1/orgs/{org}"), 200).await["member_count"], 1);
    assert_eq!(roster(&t, &org).await.len(), 1);
    assert!(audit_actions(&t, &org).await.contains(&"org.member_removed".to_owned()));
    t.stop().await;
}

engine_tests!(
    deleting_a_user_ends_their_memberships,
    change_role_rules,
    remove_rules_and_access_ends_at_once,
    leave_rules,
    ownership_transfer,
    seat_and_org_limits,
    removed_member_can_be_invited_again,
    demoted_admin_is_refused_at_once,
);
