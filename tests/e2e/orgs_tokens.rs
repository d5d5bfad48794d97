//! Orgs in access tokens (docs/design.md §3: the `orgs` claim, the active org, the token's cap) and roles
//! as configuration (§4: app permissions, additional roles, `role-in-use`).

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_server::config::TokenOrgsMode;
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::orgs::{add, as_user, backend_refused, create_org, oid, refresh, refused, B};
use crate::support::{claims, jwt_payload, signed_in, SignedIn};

/// Sets the active org of `user`'s session and keeps the fresh tokens; returns their claims.
async fn set_active(t: &TestApp, user: &mut SignedIn, org: Value) -> Value {
    let tokens = as_user(t, user, Method::PUT, "/me/active-org", Some(json!({ "org_id": org })), 200).await;
    user.access = tokens["access_token"].as_str().unwrap().to_owned();
    user.refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    claims(t, &user.access).await
}

/// The `orgs` claim lists every org with name, slug, role, inherited roles, additional roles and
/// permissions, as stored at the time of signing; the active org is chosen per session.
async fn org_claims_follow_roles_at_the_next_refresh(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let mut ann = signed_in(&t, "ann@acme.com").await;
    let acme = oid(&create_org(&t, &owner, "Acme").await);
    let beta = oid(&create_org(&t, &owner, "Beta").await);
    add(&t, &acme, &ann, "Admin").await;
    add(&t, &beta, &ann, "Viewer").await;

    let c = refresh(&t, &mut ann).await;
    let orgs = c["orgs"].as_object().unwrap();
    assert_eq!(orgs.len(), 2);
    let a = &c["orgs"][&acme];
    assert_eq!(a["org_id"], acme.as_str());
    assert_eq!(a["name"], "Acme");
    assert_eq!(a["slug"], "acme");
    assert_eq!(a["role"], "Admin");
    assert_eq!(a["inherited_roles"], json!(["Member", "Viewer"]));
    assert_eq!(a["additional_roles"], json!([]));
    let perms = a["permissions"].as_array().unwrap();
    assert!(perms.contains(&json!("org.update")) && perms.contains(&json!("org.view")));
    assert!(!perms.contains(&json!("org.delete")));
    assert_eq!(c["orgs"][&beta]["permissions"], json!(["org.view"]));
    assert_eq!(c["orgs"][&beta]["inherited_roles"], json!([]));
    assert!(c.get("active_org_id").is_none());

    // Changes show at the next refresh.
    as_user(
        &t,
        &owner,
        Method::PATCH,
        &format!("/orgs/{beta}/members/{}", ann.id),
        Some(json!({ "role": "Member" })),
        200,
    )
    .await;
    as_user(
        &t,
        &owner,
        Method::PATCH,
        &format!("/orgs/{acme}"),
        Some(json!({ "name": "Acme Inc", "slug": "acme-inc" })),
        200,
    )
    .await;
    let c = refresh(&t, &mut ann).await;
    assert_eq!(c["orgs"][&beta]["role"], "Member");
    assert_eq!(c["orgs"][&beta]["inherited_roles"], json!(["Viewer"]));
    assert_eq!(c["orgs"][&acme]["name"], "Acme Inc");
    assert_eq!(c["orgs"][&acme]["slug"], "acme-inc");

    // The active org: set, kept across refreshes, cleared; only one's own orgs.
    let c = set_active(&t, &mut ann, json!(acme)).await;
    assert_eq!(c["active_org_id"], acme.as_str());
    assert_eq!(c["orgs"].as_object().unwrap().len(), 2, "every org is still listed");
    assert_eq!(refresh(&t, &mut ann).await["active_org_id"], acme.as_str());
    let c = set_active(&t, &mut ann, Value::Null).await;
    assert!(c.get("active_org_id").is_none());
    let stranger = oid(&t.post(&format!("{B}/orgs"), json!({ "name": "Gamma" }), 201).await);
    let body = Some(json!({ "org_id": stranger }));
    assert_eq!(refused(&t, &ann, Method::PUT, "/me/active-org", body, 404).await, "org-not-found");
    // The end user sees the same standing through /me/orgs.
    let mine = as_user(&t, &ann, Method::GET, "/me/orgs", None, 200).await;
    let roles: Vec<_> = mine["orgs"].as_array().unwrap().iter().map(|o| o["role"].clone()).collect();
    assert_eq!(roles, [json!("Admin"), json!("Member")]);
    t.stop().await;
}

/// With `token_orgs = active`, a token lists only the session's active org.
async fn active_only_tokens_list_the_active_org(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.orgs.token_orgs = TokenOrgsMode::Active).await;
    let mut ann = signed_in(&t, "ann@acme.com").await;
    let acme = oid(&create_org(&t, &ann, "Acme").await);
    create_org(&t, &ann, "Beta").await;
    assert_eq!(refresh(&t, &mut ann).await["orgs"], json!({}));
    let c = set_active(&t, &mut ann, json!(acme)).await;
    assert_eq!(c["orgs"].as_object().unwrap().keys().collect::<Vec<_>>(), [&acme]);
    assert_eq!(c["active_org_id"], acme.as_str());
    let c = refresh(&t, &mut ann).await;
    assert_eq!(c["orgs"].as_object().unwrap().len(), 1);
    t.stop().await;
}

/// A user in more orgs than `token_max_orgs` gets that many, the active one among them, and
/// `orgs_truncated: true`.
async fn tokens_cap_the_org_list(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.orgs.token_max_orgs = 2).await;
    let mut ann = signed_in(&t, "ann@acme.com").await;
    let first = oid(&create_org(&t, &ann, "One").await);
    create_org(&t, &ann, "Two").await;
    refresh(&t, &mut ann).await;
    let payload = jwt_payload(&ann.access);
    assert_eq!(payload["orgs"].as_object().unwrap().len(), 2);
    assert!(payload.get("orgs_truncated").is_none(), "exactly the cap is not truncated");
    let third = oid(&create_org(&t, &ann, "Three").await);
    refresh(&t, &mut ann).await;
    let payload = jwt_payload(&ann.access);
    assert_eq!(payload["orgs"].as_object().unwrap().len(), 2);
    assert_eq!(payload["orgs_truncated"], true);
    assert!(payload["orgs"].get(&first).is_some(), "the first orgs");
    set_active(&t, &mut ann, json!(third)).await;
    let payload = jwt_payload(&ann.access);
    assert_eq!(payload["orgs"].as_object().unwrap().len(), 2);
    assert!(payload["orgs"].get(&third).is_some(), "the active org is always listed");
    assert_eq!(payload["orgs_truncated"], true);
    t.stop().await;
}

fn default_hierarchy_with(member: &[&str], viewer: &[&str]) -> Value {
    json!([
        { "name": "Owner", "permissions": ["org.delete", "org.transfer_ownership", "org.require_2fa", "org.billing"] },
        { "name": "Admin", "permissions": ["org.update", "org.members.invite", "org.members.remove",
            "org.members.change_role", "org.api_keys.manage", "org.sso.manage", "org.audit.read"] },
        { "name": "Member", "permissions": member },
        { "name": "Viewer", "permissions": viewer }
    ])
}

/// Roles are data: app permissions and additional roles show up in members and tokens; a role in
/// use cannot be removed.
async fn roles_are_configuration(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let mut ann = signed_in(&t, "ann@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &ann, "Member").await;
    let initial = t.get(&format!("{B}/roles"), 200).await;
    assert_eq!(initial["version"], 0);
    assert_eq!(initial["hierarchy"][0]["name"], "Owner");

    let spec = json!({
        "hierarchy": default_hierarchy_with(&["projects.write"], &["org.view", "projects.read"]),
        "additional_roles": [{ "name": "Billing", "permissions": ["org.billing"] }],
        "app_permissions": ["projects.read", "projects.write"],
    });
    let set = t.backend(Method::PUT, &format!("{B}/roles"), Some(spec.clone()), 200).await;
    assert_eq!(set["version"], 1);
    assert_eq!(t.get(&format!("{B}/roles"), 200).await, set);

    let member = t.get(&format!("{B}/orgs/{org}/members/{}", ann.id), 200).await;
    assert_eq!(member["permissions"], json!(["org.view", "projects.read", "projects.write"]));
    let changed =
        t.patch(&format!("{B}/orgs/{org}/members/{}", ann.id), json!({ "additional_roles": ["Billing"] }), 200).await;
    assert_eq!(changed["additional_roles"], json!(["Billing"]));
    assert!(changed["permissions"].as_array().unwrap().contains(&json!("org.billing")));
    let c = refresh(&t, &mut ann).await;
    let claim = &c["orgs"][&org];
    assert_eq!(claim["additional_roles"], json!(["Billing"]));
    assert_eq!(claim["permissions"], json!(["org.billing", "org.view", "projects.read", "projects.write"]));
    // An Admin cannot grant an additional role whose permissions they lack (org.billing is the
    // Owner's): not to a member, not through an invite.
    let admin = signed_in(&t, "admin@acme.com").await;
    add(&t, &org, &admin, "Admin").await;
    let viewer = signed_in(&t, "viewer@acme.com").await;
    add(&t, &org, &viewer, "Viewer").await;
    let grant = Some(json!({ "additional_roles": ["Billing"] }));
    let path = format!("/orgs/{org}/members/{}", viewer.id);
    assert_eq!(refused(&t, &admin, Method::PATCH, &path, grant.clone(), 403).await, "role-above-yours");
    let body = Some(json!({ "email": "sneaky@acme.com", "additional_roles": ["Billing"] }));
    let code = refused(&t, &admin, Method::POST, &format!("/orgs/{org}/invites"), body, 403).await;
    assert_eq!(code, "role-above-yours");
    // A member who holds it already keeps it when an Admin changes their hierarchy role.
    let path = format!("/orgs/{org}/members/{}", ann.id);
    let demoted = as_user(&t, &admin, Method::PATCH, &path, Some(json!({ "role": "Viewer" })), 200).await;
    assert_eq!(demoted["additional_roles"], json!(["Billing"]));
    as_user(&t, &admin, Method::PATCH, &path, Some(json!({ "role": "Member" })), 200).await;
    // The Owner may grant it.
    as_user(&t, &owner, Method::PATCH, &format!("/orgs/{org}/members/{}", viewer.id), grant, 200).await;
    // Invites may carry additional roles too.
    let body = json!({ "email": "bo@acme.com", "role": "Viewer", "additional_roles": ["Billing"] });
    assert_eq!(t.post(&format!("{B}/orgs/{org}/invites"), body, 201).await["additional_roles"], json!(["Billing"]));

    // Dropping a role someone holds is refused; so is a permission nobody declared.
    let mut without_billing = spec.clone();
    without_billing["additional_roles"] = json!([]);
    let code = backend_refused(&t, Method::PUT, &format!("{B}/roles"), Some(without_billing), 409).await;
    assert_eq!(code, "role-in-use");
    let mut renamed = spec.clone();
    renamed["hierarchy"].as_array_mut().unwrap().pop();
    renamed["hierarchy"][2]["permissions"] = json!(["org.view", "projects.read", "projects.write"]);
    let code = backend_refused(&t, Method::PUT, &format!("{B}/roles"), Some(renamed), 409).await;
    assert_eq!(code, "role-in-use", "the pending invite holds Viewer");
    let undeclared = json!({ "hierarchy": default_hierarchy_with(&["projects.delete"], &["org.view"]) });
    let code = backend_refused(&t, Method::PUT, &format!("{B}/roles"), Some(undeclared), 422).await;
    assert_eq!(code, "invalid-role-config");
    // End users cannot touch roles.
    crate::support::call(&t, Method::GET, &format!("{B}/roles"), Some(&owner.access), None, 401).await;
    assert_eq!(t.get(&format!("{B}/roles"), 200).await["version"], 1, "refusals changed nothing");
    t.stop().await;
}

engine_tests!(
    org_claims_follow_roles_at_the_next_refresh,
    active_only_tokens_list_the_active_org,
    tokens_cap_the_org_list,
    roles_are_configuration,
);
