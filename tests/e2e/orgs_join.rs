//! The ways into an org (docs/design.md §4.1, §4.3, §4.5, §4.10, §4.12), each written through the
//! one `join_org` step of `tenantry-app`: creating an org (its Owner), a backend add, an accepted
//! invite and domain auto-join. Each test pins the whole record a join leaves: the org's events in
//! the order they were written (with versions and counts), and its audit entries (actor, action,
//! target, details).

use reqwest::Method;
use serde_json::json;
use tenantry_store::audit::list_audit_for_org;
use tenantry_store::outbox::list_events;
use tenantry_testkit::{engine_tests, Engine, TestApp};
use uuid::Uuid;

use crate::orgs::{add, as_user, backend_refused, create_org, oid, refused, roster, B, U};
use crate::support::{call, mailed_token, signed_in};

/// Where the record stood before an action: the newest event, and how many audit entries the org had.
struct Mark {
    event: Option<Uuid>,
    audit: usize,
}

async fn all_events(t: &TestApp) -> Vec<tenantry_store::outbox::EventRow> {
    let mut c = t.app().db().acquire().await.expect("connection");
    list_events(c.ex(), None, 100_000).await.expect("events")
}

async fn org_audit(t: &TestApp, org: Option<&str>) -> Vec<tenantry_store::audit::AuditRow> {
    let Some(org) = org else { return Vec::new() };
    let mut c = t.app().db().acquire().await.expect("connection");
    let mut rows = list_audit_for_org(c.ex(), org.parse().unwrap(), None, 10_000).await.expect("audit");
    rows.reverse();
    rows
}

async fn mark(t: &TestApp, org: Option<&str>) -> Mark {
    Mark { event: all_events(t).await.last().map(|e| e.id), audit: org_audit(t, org).await.len() }
}

/// Replaces every id in `labels` by its name, so that expectations read as prose.
fn named(mut s: String, labels: &[(&str, &str)]) -> String {
    for (id, name) in labels {
        s = s.replace(id, name);
    }
    s
}

/// The org's events written since `m`, in order, and its audit entries since `m`, oldest first.
async fn record_since(t: &TestApp, org: &str, m: &Mark, labels: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
    let events = all_events(t)
        .await
        .into_iter()
        .filter(|e| m.event.is_none_or(|after| e.id > after))
        .filter(|e| e.org_id.map(|o| o.to_string()).as_deref() == Some(org))
        .map(|e| {
            let d = &e.data.0;
            let what = match e.event_type.as_str() {
                "org.member_count_changed" | "org.seat_limit_reached" => format!(
                    "members={} pending={} seats_used={} max={}",
                    d["member_count"], d["pending_invites"], d["seats_used"], d["max_users"]
                ),
                t if t.starts_with("org.invitation") => format!("{} accepted_by={}", d["state"], d["accepted_by"]),
                t if t.starts_with("org.") => format!("members={}", d["member_count"]),
                _ => format!("user={} role={} additional={}", d["user_id"], d["role"], d["additional_roles"]),
            };
            named(format!("{} v{} {what}", e.event_type, e.object_version), labels).replace('"', "")
        })
        .collect();
    let audit = org_audit(t, Some(org))
        .await
        .into_iter()
        .skip(m.audit)
        .map(|a| {
            let actor = a.actor_id.unwrap_or_default();
            let target = a.target_id.unwrap_or_default();
            let line = format!("{}:{actor} {} {}:{target} {}", a.actor_kind, a.action, a.target_kind, a.details.0);
            named(line, labels).replace('"', "")
        })
        .collect();
    (events, audit)
}

/// The id of the backend key the test app uses, as the audit trail names it.
async fn api_key_id(t: &TestApp) -> String {
    let page = t.get(&format!("{B}/api-keys"), 200).await;
    let keys = page["api_keys"].as_array().expect("a key listing");
    assert_eq!(keys.len(), 1, "{page}");
    keys[0]["api_key_id"].as_str().expect("key id").to_owned()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Creating an org joins its Owner in the same transaction: the creator (end-user API) as
/// `is_creator`, or the backend's `owner_user_id`; the org starts at version 1 with one member,
/// and no count event is written for that first seat.
async fn creating_an_org_joins_its_owner(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let key = api_key_id(&t).await;
    let ann = signed_in(&t, "ann@acme.com").await;

    let m = mark(&t, None).await;
    let org = create_org(&t, &ann, "Acme").await;
    let id = oid(&org);
    assert_eq!((org["version"].as_i64(), org["member_count"].as_i64()), (Some(1), Some(1)), "{org}");
    let labels = [(ann.id.as_str(), "ann"), (id.as_str(), "acme"), (key.as_str(), "key")];
    let (events, audit) = record_since(&t, &id, &m, &labels).await;
    assert_eq!(events, strs(&["org.created v1 members=1", "user.added_to_org v1 user=ann role=Owner additional=[]"]));
    assert_eq!(
        audit,
        strs(&[
            "user:ann org.created org:acme {name:Acme,slug:acme}",
            "user:ann org.member_added user:ann {how:created,role:Owner}",
        ])
    );
    let member = t.get(&format!("{B}/orgs/{id}/members/{}", ann.id), 200).await;
    assert_eq!(member["is_creator"], true, "{member}");

    // The backend names an owner: the same record, with the key as actor and no creator.
    let bob = signed_in(&t, "bob@acme.com").await;
    let m = mark(&t, None).await;
    let org = t.post(&format!("{B}/orgs"), json!({ "name": "Beta", "owner_user_id": bob.id }), 201).await;
    let id = oid(&org);
    assert_eq!((org["version"].as_i64(), org["member_count"].as_i64()), (Some(1), Some(1)), "{org}");
    let labels = [(bob.id.as_str(), "bob"), (id.as_str(), "beta"), (key.as_str(), "key")];
    let (events, audit) = record_since(&t, &id, &m, &labels).await;
    assert_eq!(events, strs(&["org.created v1 members=1", "user.added_to_org v1 user=bob role=Owner additional=[]"]));
    assert_eq!(
        audit,
        strs(&[
            "api_key:key org.created org:beta {name:Beta,slug:beta}",
            "api_key:key org.member_added user:bob {how:created,role:Owner}",
        ])
    );
    let member = t.get(&format!("{B}/orgs/{id}/members/{}", bob.id), 200).await;
    assert_eq!(member["is_creator"], false, "{member}");

    // Without an owner nobody joins.
    let m = mark(&t, None).await;
    let org = t.post(&format!("{B}/orgs"), json!({ "name": "Gamma" }), 201).await;
    let id = oid(&org);
    assert_eq!(org["member_count"], 0, "{org}");
    let (events, audit) = record_since(&t, &id, &m, &[(id.as_str(), "gamma"), (key.as_str(), "key")]).await;
    assert_eq!(events, strs(&["org.created v1 members=0"]));
    assert_eq!(audit, strs(&["api_key:key org.created org:gamma {name:Gamma,slug:gamma}"]));
    t.stop().await;
}

/// A backend add: the count (one org version), the full-seats event when the last seat goes, then
/// `user.added_to_org`; the key is the audit actor. A disabled user, a user
/// already in, and a full org are refused.
async fn a_backend_add_joins_with_count_and_seat_events(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let key = api_key_id(&t).await;
    let ann = signed_in(&t, "ann@acme.com").await;
    let bea = signed_in(&t, "bea@acme.com").await;
    let cy = signed_in(&t, "cy@acme.com").await;
    let id = oid(&create_org(&t, &ann, "Acme").await);
    t.patch(&format!("{B}/orgs/{id}"), json!({ "max_users": 3 }), 200).await;
    let labels = [
        (ann.id.as_str(), "ann"),
        (bea.id.as_str(), "bea"),
        (cy.id.as_str(), "cy"),
        (id.as_str(), "acme"),
        (key.as_str(), "key"),
    ];

    let m = mark(&t, Some(&id)).await;
    let body = json!({ "user_id": bea.id, "role": "Member", "additional_roles": [] });
    let member = t.post(&format!("{B}/orgs/{id}/members"), body, 201).await;
    assert_eq!((member["role"].as_str(), member["version"].as_i64()), (Some("Member"), Some(1)), "{member}");
    let (events, audit) = record_since(&t, &id, &m, &labels).await;
    assert_eq!(
        events,
        strs(&[
            "org.member_count_changed v3 members=2 pending=0 seats_used=2 max=3",
            "user.added_to_org v1 user=bea role=Member additional=[]",
        ])
    );
    assert_eq!(audit, strs(&["api_key:key org.member_added user:bea {how:added,role:Member}"]));

    // The last seat: the count and then the full seats, at the same org version.
    let m = mark(&t, Some(&id)).await;
    add(&t, &id, &cy, "Viewer").await;
    let (events, audit) = record_since(&t, &id, &m, &labels).await;
    assert_eq!(
        events,
        strs(&[
            "org.member_count_changed v4 members=3 pending=0 seats_used=3 max=3",
            "org.seat_limit_reached v4 members=3 pending=0 seats_used=3 max=3",
            "user.added_to_org v1 user=cy role=Viewer additional=[]",
        ])
    );
    assert_eq!(audit, strs(&["api_key:key org.member_added user:cy {how:added,role:Viewer}"]));
    let org = t.get(&format!("{B}/orgs/{id}"), 200).await;
    assert_eq!((org["version"].as_i64(), org["member_count"].as_i64()), (Some(4), Some(3)), "{org}");

    // Refusals write nothing.
    let m = mark(&t, Some(&id)).await;
    let code =
        backend_refused(&t, Method::POST, &format!("{B}/orgs/{id}/members"), Some(json!({ "user_id": cy.id })), 409)
            .await;
    assert_eq!(code, "already-member");
    let dee = signed_in(&t, "dee@acme.com").await;
    let path = format!("{B}/orgs/{id}/members");
    assert_eq!(backend_refused(&t, Method::POST, &path, Some(json!({ "user_id": dee.id })), 409).await, "org-full");
    t.patch(&format!("{B}/orgs/{id}"), json!({ "max_users": null }), 200).await;
    t.post(&format!("{B}/users/{}/disable", dee.id), json!({}), 200).await;
    assert_eq!(
        backend_refused(&t, Method::POST, &path, Some(json!({ "user_id": dee.id })), 409).await,
        "user-disabled"
    );
    let (events, audit) = record_since(&t, &id, &m, &labels).await;
    assert_eq!(events, strs(&["org.updated v5 members=3"]), "only the limit's change");
    assert_eq!(audit.len(), 1, "{audit:?}");
    t.stop().await;
}

/// An accepted invite joins at the invite's roles, in the invite's own seat (a full org takes its
/// invitee in): the invite's acceptance, then the count and seat events, then `user.added_to_org`;
/// the invitee is the audit actor.
async fn an_accepted_invite_joins_in_its_seat(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let key = api_key_id(&t).await;
    let ann = signed_in(&t, "ann@acme.com").await;
    let eve = signed_in(&t, "eve@acme.com").await;
    let id = oid(&create_org(&t, &ann, "Acme").await);
    let body = json!({ "email": "eve@acme.com", "role": "Admin", "additional_roles": [] });
    let invite = as_user(&t, &ann, Method::POST, &format!("/orgs/{id}/invites"), Some(body), 201).await;
    let invite_id = invite["invite_id"].as_str().unwrap().to_owned();
    // One member and one pending invite fill two seats.
    t.patch(&format!("{B}/orgs/{id}"), json!({ "max_users": 2 }), 200).await;
    let labels = [
        (ann.id.as_str(), "ann"),
        (eve.id.as_str(), "eve"),
        (id.as_str(), "acme"),
        (invite_id.as_str(), "invite"),
        (key.as_str(), "key"),
    ];

    let token = mailed_token(&t, "eve@acme.com", "org_invite").await;
    let m = mark(&t, Some(&id)).await;
    let member = as_user(&t, &eve, Method::POST, "/invites/accept", Some(json!({ "token": token })), 200).await;
    assert_eq!(member["role"], "Admin", "{member}");
    let (events, audit) = record_since(&t, &id, &m, &labels).await;
    assert_eq!(
        events,
        strs(&[
            "org.invitation_accepted v2 accepted accepted_by=eve",
            "org.member_count_changed v3 members=2 pending=0 seats_used=2 max=2",
            "org.seat_limit_reached v3 members=2 pending=0 seats_used=2 max=2",
            "user.added_to_org v1 user=eve role=Admin additional=[]",
        ])
    );
    assert_eq!(
        audit,
        strs(&[
            "user:eve org.invitation_accepted invite:invite {email:eve@acme.com,role:Admin}",
            "user:eve org.member_added user:eve {how:invited,role:Admin}",
        ])
    );
    let org = t.get(&format!("{B}/orgs/{id}"), 200).await;
    assert_eq!((org["version"].as_i64(), org["member_count"].as_i64()), (Some(3), Some(2)), "{org}");

    // A second invite to a member: accepting it is refused and leaves the invite pending.
    t.patch(&format!("{B}/orgs/{id}"), json!({ "max_users": null }), 200).await;
    t.delete(&format!("{B}/orgs/{id}/members/{}", eve.id), 204).await;
    t.post(&format!("{B}/orgs/{id}/invites"), json!({ "email": "eve@acme.com" }), 201).await;
    let token = mailed_token(&t, "eve@acme.com", "org_invite").await;
    add(&t, &id, &eve, "Viewer").await;
    let m = mark(&t, Some(&id)).await;
    let path = "/invites/accept";
    assert_eq!(refused(&t, &eve, Method::POST, path, Some(json!({ "token": token })), 409).await, "already-member");
    assert_eq!(record_since(&t, &id, &m, &labels).await, (Vec::new(), Vec::new()));
    t.stop().await;
}

/// Domain auto-join, on email verification, on the backend's creation of a verified user and on
/// sign-in: the lowest role, the count event then `user.added_to_org`, and the joining user as the
/// audit actor whoever called. A full org takes nobody in, silently.
async fn domain_auto_join_records_the_user_as_actor(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let key = api_key_id(&t).await;
    let ann = signed_in(&t, "ann@acme.com").await;
    let id = oid(&create_org(&t, &ann, "Acme").await);
    t.backend(Method::PUT, &format!("{B}/orgs/{id}/domains/acme.com"), None, 200).await;
    t.patch(&format!("{B}/orgs/{id}"), json!({ "domain_auto_join": true }), 200).await;

    // Email verification (an anonymous call).
    let signup = json!({ "email": "vic@acme.com", "password": "a long passphrase" });
    call(&t, Method::POST, &format!("{U}/signup"), None, Some(signup), 202).await;
    let vic = t.get(&format!("{B}/users/by-email?email=vic%40acme.com"), 200).await;
    let vic = vic["user_id"].as_str().unwrap().to_owned();
    let token = mailed_token(&t, "vic@acme.com", "verify_email").await;
    let labels = [(ann.id.as_str(), "ann"), (vic.as_str(), "vic"), (id.as_str(), "acme"), (key.as_str(), "key")];
    let m = mark(&t, Some(&id)).await;
    call(&t, Method::POST, &format!("{U}/email/verify"), None, Some(json!({ "token": token })), 200).await;
    let (events, audit) = record_since(&t, &id, &m, &labels).await;
    assert_eq!(
        events,
        strs(&[
            "org.member_count_changed v4 members=2 pending=0 seats_used=2 max=null",
            "user.added_to_org v1 user=vic role=Viewer additional=[]",
        ])
    );
    assert_eq!(audit, strs(&["user:vic org.member_added user:vic {how:auto-joined,role:Viewer}"]));

    // The backend creates a verified user: the user, not the key, is the actor.
    let m = mark(&t, Some(&id)).await;
    let wes = t
        .post(
            &format!("{B}/users"),
            json!({ "email": "wes@acme.com", "password": "wes password", "email_verified": true }),
            201,
        )
        .await;
    let wes = wes["user_id"].as_str().unwrap().to_owned();
    let labels = [(wes.as_str(), "wes"), (id.as_str(), "acme"), (key.as_str(), "key")];
    let (events, audit) = record_since(&t, &id, &m, &labels).await;
    assert_eq!(
        events,
        strs(&[
            "org.member_count_changed v5 members=3 pending=0 seats_used=3 max=null",
            "user.added_to_org v1 user=wes role=Viewer additional=[]",
        ])
    );
    assert_eq!(audit, strs(&["user:wes org.member_added user:wes {how:auto-joined,role:Viewer}"]));

    // Sign-in, after a removal.
    t.delete(&format!("{B}/orgs/{id}/members/{wes}"), 204).await;
    let m = mark(&t, Some(&id)).await;
    let login = json!({ "email": "wes@acme.com", "password": "wes password" });
    call(&t, Method::POST, &format!("{U}/login"), None, Some(login.clone()), 200).await;
    let (events, audit) = record_since(&t, &id, &m, &labels).await;
    assert_eq!(
        events,
        strs(&[
            "org.member_count_changed v7 members=3 pending=0 seats_used=3 max=null",
            "user.added_to_org v1 user=wes role=Viewer additional=[]",
        ])
    );
    assert_eq!(audit, strs(&["user:wes org.member_added user:wes {how:auto-joined,role:Viewer}"]));

    // A full org: the sign-in succeeds, nobody joins, nothing is written to the org.
    t.delete(&format!("{B}/orgs/{id}/members/{wes}"), 204).await;
    t.patch(&format!("{B}/orgs/{id}"), json!({ "max_users": 2 }), 200).await;
    let m = mark(&t, Some(&id)).await;
    call(&t, Method::POST, &format!("{U}/login"), None, Some(login), 200).await;
    assert_eq!(record_since(&t, &id, &m, &labels).await, (Vec::new(), Vec::new()));
    assert!(!roster(&t, &id).await.iter().any(|(e, _)| e == "wes@acme.com"));
    t.stop().await;
}

engine_tests!(
    creating_an_org_joins_its_owner,
    a_backend_add_joins_with_count_and_seat_events,
    an_accepted_invite_joins_in_its_seat,
    domain_auto_join_records_the_user_as_actor,
);
