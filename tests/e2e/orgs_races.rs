//! Races on both engines (seat limits and the last Owner hold under concurrency), and the webhook
//! event and audit entry of every mutating org use case.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::json;
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::orgs::{add, as_user, audit_actions, create_org, oid, roster, B, U};
use crate::support::{events, mailed_token, signed_in, SignedIn};

async fn status(resp: reqwest::Response) -> u16 {
    resp.status().as_u16()
}

/// 20 parallel backend adds into an org with 5 free seats: exactly 5 succeed.
async fn parallel_adds_fill_exactly_the_free_seats(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    t.patch(&format!("{B}/orgs/{org}"), json!({ "max_users": 6 }), 200).await;
    let mut users = Vec::new();
    for i in 0..20 {
        users.push(signed_in(&t, &format!("u{i}@acme.com")).await);
    }
    let tasks: Vec<_> = users
        .iter()
        .map(|u| {
            let req = t
                .client
                .post(t.url(&format!("{B}/orgs/{org}/members")))
                .bearer_auth(&t.api_key)
                .json(&json!({ "user_id": u.id }));
            tokio::spawn(async move { status(req.send().await.unwrap()).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 15, "{statuses:?}");
    assert_eq!(t.get(&format!("{B}/orgs/{org}"), 200).await["member_count"], 6);
    assert_eq!(roster(&t, &org).await.len(), 6);
    t.stop().await;
}

/// Pending invites hold their seats: 5 invitees accept while 15 backend adds race them; every
/// accept succeeds and no add does.
async fn racing_accepts_and_adds_never_overfill(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    t.patch(&format!("{B}/orgs/{org}"), json!({ "max_users": 6 }), 200).await;
    let mut invitees: Vec<(SignedIn, String)> = Vec::new();
    for i in 0..5 {
        let email = format!("inv{i}@acme.com");
        let user = signed_in(&t, &email).await;
        t.post(&format!("{B}/orgs/{org}/invites"), json!({ "email": email }), 201).await;
        let token = mailed_token(&t, &email, "org_invite").await;
        invitees.push((user, token));
    }
    let mut adders = Vec::new();
    for i in 0..15 {
        adders.push(signed_in(&t, &format!("add{i}@acme.com")).await);
    }
    let mut tasks = Vec::new();
    for (i, adder) in adders.iter().enumerate() {
        let add = t
            .client
            .post(t.url(&format!("{B}/orgs/{org}/members")))
            .bearer_auth(&t.api_key)
            .json(&json!({ "user_id": adder.id }));
        tasks.push(("add", tokio::spawn(async move { status(add.send().await.unwrap()).await })));
        if let Some((user, token)) = invitees.get(i) {
            let accept = t
                .client
                .post(t.url(&format!("{U}/invites/accept")))
                .bearer_auth(&user.access)
                .json(&json!({ "token": token }));
            tasks.push(("accept", tokio::spawn(async move { status(accept.send().await.unwrap()).await })));
        }
    }
    for (kind, task) in tasks {
        let s = task.await.unwrap();
        match kind {
            "add" => assert_eq!(s, 409, "an add took a seat an invite holds"),
            _ => assert_eq!(s, 200, "an accept was refused"),
        }
    }
    let org_now = t.get(&format!("{B}/orgs/{org}"), 200).await;
    assert_eq!(org_now["member_count"], 6);
    assert_eq!(roster(&t, &org).await.len(), 6);
    t.stop().await;
}

/// Two concurrent demotions of the last two Owners: one wins, the org keeps an Owner. Repeated,
/// through the backend and through the Owners demoting each other.
/// 20 invitees accept at once into an org without a seat limit (the accepts share the org's lock)
/// while the org is renamed and more invites go out: every accept lands, the count is exact and
/// each change got its own version.
async fn parallel_accepts_invites_and_renames_all_count(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    let mut invitees: Vec<(SignedIn, String)> = Vec::new();
    for i in 0..20 {
        let email = format!("par{i}@acme.com");
        let user = signed_in(&t, &email).await;
        t.post(&format!("{B}/orgs/{org}/invites"), json!({ "email": email }), 201).await;
        let token = mailed_token(&t, &email, "org_invite").await;
        invitees.push((user, token));
    }
    let version_before = t.get(&format!("{B}/orgs/{org}"), 200).await["version"].as_i64().unwrap();
    let mut tasks = Vec::new();
    for (i, (user, token)) in invitees.iter().enumerate() {
        let accept = t
            .client
            .post(t.url(&format!("{U}/invites/accept")))
            .bearer_auth(&user.access)
            .json(&json!({ "token": token }));
        tasks.push(tokio::spawn(async move { status(accept.send().await.unwrap()).await }));
        // New invites lock the org for update while accepts hold it: no deadlock between them.
        let invite = t
            .client
            .post(t.url(&format!("{B}/orgs/{org}/invites")))
            .bearer_auth(&t.api_key)
            .json(&json!({ "email": format!("later{i}@acme.com") }));
        tasks.push(tokio::spawn(async move { status(invite.send().await.unwrap()).await }));
        if i % 5 == 0 {
            let rename = t
                .client
                .patch(t.url(&format!("{B}/orgs/{org}")))
                .bearer_auth(&t.api_key)
                .json(&json!({ "name": format!("Acme {i}") }));
            tasks.push(tokio::spawn(async move { status(rename.send().await.unwrap()).await }));
        }
    }
    for task in tasks {
        assert!(matches!(task.await.unwrap(), 200 | 201), "an accept, an invite or a rename failed");
    }
    let after = t.get(&format!("{B}/orgs/{org}"), 200).await;
    assert_eq!(after["member_count"], 21, "{after}");
    assert_eq!(roster(&t, &org).await.len(), 21);
    assert_eq!(after["version"].as_i64().unwrap(), version_before + 20 + 4, "one version per change: {after}");
    let counted: HashSet<i64> = events(&t, &org)
        .await
        .iter()
        .filter(|e| e.event_type == "org.member_count_changed")
        .filter_map(|e| e.data.0["member_count"].as_i64())
        .collect();
    assert!((2..=21).all(|n| counted.contains(&n)), "every count was announced: {counted:?}");
    t.stop().await;
}

async fn concurrent_demotions_keep_an_owner(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    for round in 0..5 {
        let a = signed_in(&t, &format!("a{round}@acme.com")).await;
        let b = signed_in(&t, &format!("b{round}@acme.com")).await;
        let org = oid(&create_org(&t, &a, &format!("Race {round}")).await);
        add(&t, &org, &b, "Owner").await;
        let demote = |who: &SignedIn, bearer: &str| {
            t.client
                .patch(t.url(&format!("{}/orgs/{org}/members/{}", if bearer == t.api_key { B } else { U }, who.id)))
                .bearer_auth(bearer)
                .json(&json!({ "role": "Admin" }))
        };
        let (x, y) = if round % 2 == 0 {
            // Through the backend.
            (demote(&a, &t.api_key), demote(&b, &t.api_key))
        } else {
            // Each Owner demotes the other.
            (demote(&b, &a.access), demote(&a, &b.access))
        };
        let (x, y) = tokio::join!(x.send(), y.send());
        let mut statuses = [x.unwrap().status().as_u16(), y.unwrap().status().as_u16()];
        statuses.sort_unstable();
        let owners = roster(&t, &org).await.into_iter().filter(|(_, r)| r == "Owner").count();
        assert!(owners >= 1, "round {round}: no owner left ({statuses:?})");
        if round % 2 == 0 {
            assert_eq!(statuses, [200, 409], "round {round}");
            assert_eq!(owners, 1);
        } else {
            // The loser is either refused as the last owner or, demoted already, as a non-owner.
            assert_eq!(statuses[0], 200, "round {round}: {statuses:?}");
            assert!([403, 409].contains(&statuses[1]), "round {round}: {statuses:?}");
        }
    }
    t.stop().await;
}

/// Every mutating use case appends its webhook event (with the object's id and version) and its
/// audit entry (actor, action, target, time, source IP).
async fn every_change_has_its_event_and_audit_entry(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let admin = signed_in(&t, "admin@acme.com").await;
    let leaver = signed_in(&t, "leaver@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    let admin_row = add(&t, &org, &admin, "Member").await;
    add(&t, &org, &leaver, "Viewer").await;
    let path = |p: &str| format!("/orgs/{org}{p}");
    as_user(&t, &owner, Method::PATCH, &path(""), Some(json!({ "name": "Acme Inc" })), 200).await;
    t.patch(&format!("{B}/orgs/{org}/metadata"), json!({ "plan": "pro" }), 200).await;
    as_user(&t, &owner, Method::PUT, &path("/domains/acme.com"), None, 200).await;
    as_user(&t, &owner, Method::DELETE, &path("/domains/acme.com"), None, 200).await;
    as_user(&t, &owner, Method::PATCH, &path(&format!("/members/{}", admin.id)), Some(json!({ "role": "Admin" })), 200)
        .await;
    let invite =
        as_user(&t, &admin, Method::POST, &path("/invites"), Some(json!({ "email": "x@acme.com" })), 201).await;
    let invite_id = invite["invite_id"].as_str().unwrap().to_owned();
    as_user(&t, &admin, Method::POST, &path(&format!("/invites/{invite_id}/resend")), None, 200).await;
    as_user(&t, &admin, Method::DELETE, &path(&format!("/invites/{invite_id}")), None, 204).await;
    as_user(&t, &leaver, Method::POST, &path("/leave"), None, 204).await;
    as_user(&t, &owner, Method::POST, &path("/ownership-transfer"), Some(json!({ "user_id": admin.id })), 202).await;
    let token = mailed_token(&t, "owner@acme.com", "ownership_transfer").await;
    as_user(&t, &owner, Method::POST, "/ownership-transfer/confirm", Some(json!({ "token": token })), 200).await;
    as_user(&t, &owner, Method::DELETE, &path(&format!("/members/{}", admin.id)), None, 403).await;
    as_user(&t, &admin, Method::DELETE, &path(&format!("/members/{}", owner.id)), None, 204).await;

    let org_events = events(&t, &org).await;
    let types: Vec<_> = org_events.iter().map(|e| e.event_type.as_str()).collect();
    for ty in ["org.created", "org.updated", "org.member_count_changed", "org.ownership_transferred"] {
        assert!(types.contains(&ty), "{ty} in {types:?}");
    }
    // Versions only grow, and every event names its object.
    let versions: Vec<_> = org_events.iter().map(|e| e.object_version).collect();
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "{versions:?}");
    assert!(org_events.iter().all(|e| e.data.0["org_id"] == org.as_str() && e.data.0["version"] == e.object_version));
    let membership = events(&t, admin_row["membership_id"].as_str().unwrap()).await;
    let types: Vec<_> = membership.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["user.added_to_org", "user.role_changed_within_org", "user.role_changed_within_org"]);
    assert_eq!(membership[2].data.0["role"], "Owner");
    let invite_events: Vec<_> = events(&t, &invite_id).await.into_iter().map(|e| e.event_type).collect();
    assert_eq!(invite_events, ["org.invitation_created", "org.invitation_revoked"]);

    let actions: HashSet<String> = audit_actions(&t, &org).await.into_iter().collect();
    for action in [
        "org.created",
        "org.updated",
        "org.domain_added",
        "org.domain_removed",
        "org.member_added",
        "org.member_role_changed",
        "org.invitation_created",
        "org.invitation_resent",
        "org.invitation_revoked",
        "org.member_left",
        "org.ownership_transfer_requested",
        "org.ownership_transferred",
        "org.member_removed",
    ] {
        assert!(actions.contains(action), "{action} in {actions:?}");
    }
    let page = t.get(&format!("{B}/orgs/{org}/audit-log?limit=100"), 200).await;
    for e in page["entries"].as_array().unwrap() {
        assert!(e["occurred_at"].is_string() && e["target_kind"].is_string(), "{e}");
        assert_eq!(e["ip"], "127.0.0.1", "{e}");
        assert!(["user", "api_key"].contains(&e["actor_kind"].as_str().unwrap()), "{e}");
    }
    t.stop().await;
}

/// Revoking an invite while its invitee accepts it: exactly one wins, and neither fails.
async fn racing_revoke_and_accept_of_one_invite(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    for round in 0..10 {
        let email = format!("r{round}@acme.com");
        let user = signed_in(&t, &email).await;
        let invite = t.post(&format!("{B}/orgs/{org}/invites"), json!({ "email": email }), 201).await;
        let token = mailed_token(&t, &email, "org_invite").await;
        let revoke = t
            .client
            .delete(t.url(&format!("{U}/orgs/{org}/invites/{}", invite["invite_id"].as_str().unwrap())))
            .bearer_auth(&owner.access);
        let accept = t
            .client
            .post(t.url(&format!("{U}/invites/accept")))
            .bearer_auth(&user.access)
            .json(&json!({ "token": token }));
        let (r, a) = tokio::join!(revoke.send(), accept.send());
        let (r, a) = (r.unwrap().status().as_u16(), a.unwrap().status().as_u16());
        assert!(matches!((r, a), (204, 410) | (409, 200)), "round {round}: revoke {r}, accept {a}");
    }
    t.stop().await;
}

/// Concurrent metadata merges of different keys all land.
async fn concurrent_metadata_merges_all_land(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let org = oid(&t.post(&format!("{B}/orgs"), json!({ "name": "Acme" }), 201).await);
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let req = t
                .client
                .patch(t.url(&format!("{B}/orgs/{org}/metadata")))
                .bearer_auth(&t.api_key)
                .json(&json!({ format!("k{i}"): i }));
            tokio::spawn(async move { status(req.send().await.unwrap()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let metadata = t.get(&format!("{B}/orgs/{org}"), 200).await["metadata"].clone();
    assert_eq!(metadata.as_object().unwrap().len(), 10, "{metadata}");
    t.stop().await;
}

engine_tests!(
    parallel_accepts_invites_and_renames_all_count,
    racing_revoke_and_accept_of_one_invite,
    concurrent_metadata_merges_all_land,
    parallel_adds_fill_exactly_the_free_seats,
    racing_accepts_and_adds_never_overfill,
    concurrent_demotions_keep_an_owner,
    every_change_has_its_event_and_audit_entry,
);
