//! Organizations over HTTP (docs/design.md §4), part one: creation, names and slugs (§4.1), delete
//! (§4.9), deployment settings (§4.11), domains (§4.12), metadata (§4.13) and the audit trail
//! (§4.16). The other `orgs_*` modules cover invites, members, authorization, tokens and races;
//! the helpers they share live here.

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::support::{call, claims, event_types, mailed_token, problem_code, signed_in, SignedIn};

pub const B: &str = "/api/backend/v1";
pub const U: &str = "/api/v1";

/// The `org_id` of an org body.
pub fn oid(org: &Value) -> String {
    org["org_id"].as_str().expect("org_id").to_owned()
}

/// `user` creates an org named `name` through the end-user API and becomes its Owner.
pub async fn create_org(t: &TestApp, user: &SignedIn, name: &str) -> Value {
    call(t, Method::POST, &format!("{U}/orgs"), Some(&user.access), Some(json!({ "name": name })), 201).await
}

/// The backend adds `user` to `org` with `role`.
pub async fn add(t: &TestApp, org: &str, user: &SignedIn, role: &str) -> Value {
    t.post(&format!("{B}/orgs/{org}/members"), json!({ "user_id": user.id, "role": role }), 201).await
}

/// A call as `user` through the end-user API.
pub async fn as_user(
    t: &TestApp,
    user: &SignedIn,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    call(t, method, &format!("{U}{path}"), Some(&user.access), body, status).await
}

/// A refused call as `user`: asserts the status and returns the problem code.
pub async fn refused(
    t: &TestApp,
    user: &SignedIn,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> String {
    problem_code(&as_user(t, user, method, path, body, status).await).to_owned()
}

/// A refused backend call: asserts the status and returns the problem code.
pub async fn backend_refused(t: &TestApp, method: Method, path: &str, body: Option<Value>, status: u16) -> String {
    problem_code(&t.backend(method, path, body, status).await).to_owned()
}

/// Rotates `user`'s refresh token and keeps the new pair; returns the new access token's claims.
pub async fn refresh(t: &TestApp, user: &mut SignedIn) -> Value {
    let tokens =
        call(t, Method::POST, &format!("{U}/token/refresh"), None, Some(json!({ "refresh_token": user.refresh })), 200)
            .await;
    user.access = tokens["access_token"].as_str().unwrap().to_owned();
    user.refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    claims(t, &user.access).await
}

/// The whole audit trail of an org as the backend reads it, newest first, following every page.
pub async fn audit_actions(t: &TestApp, org: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{B}/orgs/{org}/audit-log?limit=100&cursor={c}"),
            None => format!("{B}/orgs/{org}/audit-log?limit=100"),
        };
        let page = t.get(&path, 200).await;
        out.extend(page["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// The roster entries' emails with their roles (members only), in roster order.
pub async fn roster(t: &TestApp, org: &str) -> Vec<(String, String)> {
    let page = t.get(&format!("{B}/orgs/{org}/members?members_only=true&limit=100"), 200).await;
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["member"]["email"].as_str().unwrap().to_owned(), e["member"]["role"].as_str().unwrap().to_owned()))
        .collect()
}

/// §4.1: the creator becomes Owner; names are 1–255 characters after trimming; slugs are URL-safe,
/// unique, and generated (and made unique) from the name when absent.
async fn creator_is_owner_and_names_and_slugs_are_checked(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let ann = signed_in(&t, "ann@acme.com").await;
    let org = create_org(&t, &ann, "  Acme  ").await;
    assert_eq!(org["name"], "Acme", "trimmed");
    assert_eq!(org["slug"], "acme");
    assert_eq!(org["member_count"], 1);
    assert_eq!(org["created_by"], ann.id.as_str());
    let id = oid(&org);
    let me = as_user(&t, &ann, Method::GET, &format!("/orgs/{id}/members/{}", ann.id), None, 200).await;
    assert_eq!(me["role"], "Owner");
    assert_eq!(me["is_creator"], true);
    assert!(me["permissions"].as_array().unwrap().contains(&json!("org.delete")));

    // Generated slugs are made unique; an explicit one that is taken is refused.
    let bob = signed_in(&t, "bob@example.com").await;
    assert_eq!(create_org(&t, &bob, "Acme").await["slug"], "acme-2");
    assert_eq!(create_org(&t, &bob, "ACME!").await["slug"], "acme-3");
    assert_eq!(create_org(&t, &bob, "Müller & Söhne").await["slug"], "muller-sohne");
    let taken = json!({ "name": "Other", "slug": "acme" });
    assert_eq!(refused(&t, &bob, Method::POST, "/orgs", Some(taken), 409).await, "slug-taken");
    let explicit = json!({ "name": "Other", "slug": "other-co" });
    assert_eq!(as_user(&t, &bob, Method::POST, "/orgs", Some(explicit), 201).await["slug"], "other-co");
    // Renaming onto a taken slug is refused the same way.
    let patch = json!({ "slug": "acme-2" });
    assert_eq!(refused(&t, &ann, Method::PATCH, &format!("/orgs/{id}"), Some(patch), 409).await, "slug-taken");

    for bad_name in [String::new(), "   ".to_owned(), "x".repeat(256)] {
        let code = refused(&t, &bob, Method::POST, "/orgs", Some(json!({ "name": bad_name })), 422).await;
        assert_eq!(code, "invalid-org-name", "{bad_name:?}");
    }
    assert_eq!(create_org(&t, &bob, &"y".repeat(255)).await["name"].as_str().unwrap().chars().count(), 255);
    for bad_slug in ["Acme", "acme inc", "-acme", "ac--me", "acmé", ""] {
        let body = json!({ "name": "Fine", "slug": bad_slug });
        assert_eq!(refused(&t, &bob, Method::POST, "/orgs", Some(body), 422).await, "invalid-slug", "{bad_slug:?}");
    }
    let patch = json!({ "name": "" });
    assert_eq!(refused(&t, &ann, Method::PATCH, &format!("/orgs/{id}"), Some(patch), 422).await, "invalid-org-name");

    // The backend creates orgs with or without an owner.
    let ownerless = t.post(&format!("{B}/orgs"), json!({ "name": "Acme" }), 201).await;
    assert_eq!(ownerless["slug"], "acme-4");
    assert_eq!(ownerless["member_count"], 0);
    assert!(ownerless.get("created_by").is_none());
    let owned = t.post(&format!("{B}/orgs"), json!({ "name": "Beta", "owner_user_id": bob.id }), 201).await;
    let bob_in_beta = t.get(&format!("{B}/orgs/{}/members/{}", oid(&owned), bob.id), 200).await;
    assert_eq!(bob_in_beta["role"], "Owner");
    assert_eq!(bob_in_beta["is_creator"], false, "the backend created it");
    assert_eq!(t.get(&format!("{B}/orgs/by-slug/beta"), 200).await["org_id"], owned["org_id"]);

    assert_eq!(event_types(&t, &id).await[0], "org.created");
    t.stop().await;
}

/// §4.9: only an Owner deletes; afterwards the org is gone for everyone, its members' sessions
/// acting in it end, and the backend can still read its audit trail.
async fn delete_is_owner_only_and_keeps_the_audit_trail(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let admin = signed_in(&t, "admin@acme.com").await;
    let mut member = signed_in(&t, "member@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &admin, "Admin").await;
    add(&t, &org, &member, "Member").await;
    t.post(&format!("{B}/orgs/{org}/invites"), json!({ "email": "later@acme.com" }), 201).await;
    let active = as_user(&t, &member, Method::PUT, "/me/active-org", Some(json!({ "org_id": org })), 200).await;
    member.access = active["access_token"].as_str().unwrap().to_owned();
    member.refresh = active["refresh_token"].as_str().unwrap().to_owned();

    assert_eq!(refused(&t, &admin, Method::DELETE, &format!("/orgs/{org}"), None, 403).await, "permission-denied");
    assert_eq!(refused(&t, &member, Method::DELETE, &format!("/orgs/{org}"), None, 403).await, "permission-denied");
    as_user(&t, &owner, Method::DELETE, &format!("/orgs/{org}"), None, 204).await;

    assert_eq!(refused(&t, &owner, Method::GET, &format!("/orgs/{org}"), None, 404).await, "org-not-found");
    assert_eq!(backend_refused(&t, Method::GET, &format!("{B}/orgs/{org}"), None, 404).await, "org-not-found");
    assert_eq!(backend_refused(&t, Method::DELETE, &format!("{B}/orgs/{org}"), None, 404).await, "org-not-found");
    let mine = as_user(&t, &admin, Method::GET, "/me/orgs", None, 200).await;
    assert_eq!(mine["orgs"], json!([]));
    // The member's session acted in the org: it ended with it.
    call(&t, Method::GET, &format!("{U}/me"), Some(&member.access), None, 401).await;
    call(&t, Method::POST, &format!("{U}/token/refresh"), None, Some(json!({ "refresh_token": member.refresh })), 401)
        .await;
    // The slug is free again.
    assert_eq!(create_org(&t, &admin, "Acme").await["slug"], "acme");

    let trail = audit_actions(&t, &org).await;
    assert_eq!(trail[0], "org.deleted");
    assert_eq!(trail.last().unwrap(), "org.created");
    assert!(trail.contains(&"org.invitation_created".to_owned()));
    assert_eq!(event_types(&t, &org).await.last().unwrap(), "org.deleted");
    t.stop().await;
}

/// §4.11: whether users may create orgs, a personal org at signup, and the word for
/// "Organization".
async fn deployment_settings_shape_org_creation(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.orgs.users_can_create = false).await;
    let ann = signed_in(&t, "ann@acme.com").await;
    let body = json!({ "name": "Acme" });
    assert_eq!(refused(&t, &ann, Method::POST, "/orgs", Some(body), 403).await, "org-creation-disabled");
    t.post(&format!("{B}/orgs"), json!({ "name": "Acme", "owner_user_id": ann.id }), 201).await;
    t.stop().await;

    let t = TestApp::spawn_with(engine, |c| {
        c.orgs.personal_org_at_signup = true;
        c.mail.org_word = "Team".to_owned();
    })
    .await;
    call(
        &t,
        Method::POST,
        &format!("{U}/signup"),
        None,
        Some(json!({ "email": "nora@example.com", "password": "a long passphrase" })),
        202,
    )
    .await;
    let user = t.get(&format!("{B}/users/by-email?email=nora%40example.com"), 200).await;
    let orgs = t.get(&format!("{B}/users/{}/orgs", user["user_id"].as_str().unwrap()), 200).await;
    let orgs = orgs["orgs"].as_array().unwrap();
    assert_eq!(orgs.len(), 1, "a personal org at signup");
    assert_eq!(orgs[0]["role"], "Owner");
    assert_eq!(orgs[0]["org_name"], "nora's Team");
    t.stop().await;
}

/// §4.12: several domains per org; an end user claims only their own verified email's domain and
/// never a public provider's; the backend sets any; a domain belongs to one org; auto-join on
/// email verification and on sign-in at the lowest role; restriction binds invites and adds.
async fn domains_claims_auto_join_and_restriction(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let ann = signed_in(&t, "ann@acme.com").await;
    let gina = signed_in(&t, "gina@gmail.com").await;
    let org = oid(&create_org(&t, &ann, "Acme").await);
    let put = |org: &str, d: &str| format!("/orgs/{org}/domains/{d}");

    let path = put(&org, "other.com");
    assert_eq!(refused(&t, &ann, Method::PUT, &path, None, 403).await, "domain-not-yours");
    let gina_org = oid(&create_org(&t, &gina, "Gina's").await);
    let path = put(&gina_org, "gmail.com");
    assert_eq!(refused(&t, &gina, Method::PUT, &path, None, 403).await, "public-email-domain");
    let path = put(&org, "not a domain");
    assert_eq!(refused(&t, &ann, Method::PUT, &path.replace(' ', "%20"), None, 422).await, "invalid-domain");
    let claimed = as_user(&t, &ann, Method::PUT, &put(&org, "ACME.com"), None, 200).await;
    assert_eq!(claimed["domains"], json!(["acme.com"]));
    // Unverified users cannot claim either.
    let unverified = t.post(&format!("{B}/users"), json!({ "email": "uma@uma.io" }), 201).await;
    let tokens =
        t.post(&format!("{B}/users/{}/access-token", unverified["user_id"].as_str().unwrap()), json!({}), 200).await;
    let uma = SignedIn {
        id: unverified["user_id"].as_str().unwrap().to_owned(),
        email: "uma@uma.io".to_owned(),
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
        session: tokens["session_id"].as_str().unwrap().to_owned(),
    };
    let uma_org = oid(&create_org(&t, &uma, "Uma").await);
    assert_eq!(refused(&t, &uma, Method::PUT, &put(&uma_org, "uma.io"), None, 403).await, "email-not-verified");
    // Creating with domains follows the same rule.
    let body = json!({ "name": "Sneaky", "domains": ["gmail.com"] });
    assert_eq!(refused(&t, &gina, Method::POST, "/orgs", Some(body), 403).await, "public-email-domain");

    // The backend may set any domain, public ones included; a domain belongs to one org.
    t.backend(Method::PUT, &format!("{B}/orgs/{org}/domains/acme.io"), None, 200).await;
    let other = oid(&t.post(&format!("{B}/orgs"), json!({ "name": "Other" }), 201).await);
    let code = backend_refused(&t, Method::PUT, &format!("{B}/orgs/{other}/domains/acme.com"), None, 409).await;
    assert_eq!(code, "domain-taken");
    t.backend(Method::PUT, &format!("{B}/orgs/{other}/domains/gmail.com"), None, 200).await;
    let found = t.get(&format!("{B}/orgs?domain=acme.com"), 200).await;
    assert_eq!(found["orgs"].as_array().unwrap().len(), 1);
    assert_eq!(found["orgs"][0]["org_id"], org.as_str());
    let removed = t.backend(Method::DELETE, &format!("{B}/orgs/{org}/domains/acme.io"), None, 200).await;
    assert_eq!(removed["domains"], json!(["acme.com"]));
    let code = backend_refused(&t, Method::DELETE, &format!("{B}/orgs/{org}/domains/acme.io"), None, 404).await;
    assert_eq!(code, "domain-not-found");

    // Auto-join: on email verification, at the lowest role.
    as_user(&t, &ann, Method::PATCH, &format!("/orgs/{org}"), Some(json!({ "domain_auto_join": true })), 200).await;
    call(
        &t,
        Method::POST,
        &format!("{U}/signup"),
        None,
        Some(json!({ "email": "vic@acme.com", "password": "a long passphrase" })),
        202,
    )
    .await;
    assert_eq!(roster(&t, &org).await.len(), 1, "an unverified address proves nothing");
    let token = mailed_token(&t, "vic@acme.com", "verify_email").await;
    call(&t, Method::POST, &format!("{U}/email/verify"), None, Some(json!({ "token": token })), 200).await;
    assert!(roster(&t, &org).await.contains(&("vic@acme.com".to_owned(), "Viewer".to_owned())));

    // Auto-join on sign-in: a user who was there before auto-join was turned on.
    t.post(
        &format!("{B}/users"),
        json!({ "email": "wes@acme.com", "password": "wes password", "email_verified": true }),
        201,
    )
    .await;
    // (Created verified, Wes joined at once; remove him, and he joins again at his next sign-in.)
    let wes = t.get(&format!("{B}/users/by-email?email=wes%40acme.com"), 200).await;
    let wes_id = wes["user_id"].as_str().unwrap();
    assert!(roster(&t, &org).await.iter().any(|(e, _)| e == "wes@acme.com"));
    t.delete(&format!("{B}/orgs/{org}/members/{wes_id}"), 204).await;
    let login = call(
        &t,
        Method::POST,
        &format!("{U}/login"),
        None,
        Some(json!({ "email": "wes@acme.com", "password": "wes password" })),
        200,
    )
    .await;
    assert!(roster(&t, &org).await.contains(&("wes@acme.com".to_owned(), "Viewer".to_owned())));
    let token = crate::support::jwt_payload(login["tokens"]["access_token"].as_str().unwrap());
    assert_eq!(token["orgs"][&org]["role"], "Viewer", "the sign-in's own token lists the org it joined: {token}");

    // Restriction: only addresses at the org's domains may be invited or added.
    t.patch(&format!("{B}/orgs/{org}"), json!({ "domain_restrict": true, "domain_auto_join": false }), 200).await;
    let body = json!({ "email": "out@elsewhere.com" });
    let path = format!("/orgs/{org}/invites");
    assert_eq!(refused(&t, &ann, Method::POST, &path, Some(body.clone()), 422).await, "domain-not-allowed");
    let code = backend_refused(&t, Method::POST, &format!("{B}/orgs/{org}/invites"), Some(body), 422).await;
    assert_eq!(code, "domain-not-allowed", "restriction binds the backend too");
    let code =
        backend_refused(&t, Method::POST, &format!("{B}/orgs/{org}/members"), Some(json!({ "user_id": gina.id })), 422)
            .await;
    assert_eq!(code, "domain-not-allowed");
    as_user(&t, &ann, Method::POST, &path, Some(json!({ "email": "new@acme.com" })), 201).await;
    t.stop().await;
}

/// §4.13: metadata is a bounded JSON object set through the backend, replaced by PATCH /orgs/{id}
/// and merged by PATCH /orgs/{id}/metadata, and returned with the org.
async fn metadata_is_a_bounded_object_set_by_the_backend(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let ann = signed_in(&t, "ann@acme.com").await;
    let org = t
        .post(
            &format!("{B}/orgs"),
            json!({ "name": "Acme", "owner_user_id": ann.id, "metadata": { "plan": "pro" } }),
            201,
        )
        .await;
    let id = oid(&org);
    assert_eq!(org["metadata"], json!({ "plan": "pro" }));
    let replaced = t.patch(&format!("{B}/orgs/{id}"), json!({ "metadata": { "tier": { "a": 1, "b": 2 } } }), 200).await;
    assert_eq!(replaced["metadata"], json!({ "tier": { "a": 1, "b": 2 } }), "PATCH /orgs replaces");
    let merged =
        t.patch(&format!("{B}/orgs/{id}/metadata"), json!({ "tier": { "b": null, "c": 3 }, "seats": 5 }), 200).await;
    assert_eq!(merged["metadata"], json!({ "tier": { "a": 1, "c": 3 }, "seats": 5 }), "merge patch");
    let seen = as_user(&t, &ann, Method::GET, &format!("/orgs/{id}"), None, 200).await;
    assert_eq!(seen["metadata"], merged["metadata"], "members see it with the org");

    for not_object in [json!([1, 2]), json!("text"), json!(3)] {
        let code =
            backend_refused(&t, Method::PATCH, &format!("{B}/orgs/{id}/metadata"), Some(not_object.clone()), 422).await;
        assert_eq!(code, "invalid-metadata");
        let problem = t.patch(&format!("{B}/orgs/{id}"), json!({ "metadata": not_object }), 422).await;
        assert_eq!(problem["errors"][0]["field"], "metadata");
    }
    let big = json!({ "blob": "x".repeat(9000) });
    let code = backend_refused(&t, Method::PATCH, &format!("{B}/orgs/{id}/metadata"), Some(big.clone()), 422).await;
    assert_eq!(code, "metadata-too-large");
    let code =
        backend_refused(&t, Method::PATCH, &format!("{B}/orgs/{id}"), Some(json!({ "metadata": big })), 422).await;
    assert_eq!(code, "metadata-too-large");
    // End users cannot set it: their update has no such field, and it stays as it was.
    as_user(&t, &ann, Method::PATCH, &format!("/orgs/{id}"), Some(json!({ "metadata": { "hacked": true } })), 200)
        .await;
    assert_eq!(t.get(&format!("{B}/orgs/{id}"), 200).await["metadata"], merged["metadata"]);
    let types = event_types(&t, &id).await;
    assert_eq!(types.iter().filter(|e| *e == "org.updated").count(), 2, "{types:?}");
    t.stop().await;
}

/// §4.16: every org-scoped change records actor, action, target, time and source IP; Owners and
/// Admins and the backend read it, page by page.
async fn audit_log_is_readable_by_owners_admins_and_the_backend(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let owner = signed_in(&t, "owner@acme.com").await;
    let admin = signed_in(&t, "admin@acme.com").await;
    let member = signed_in(&t, "member@acme.com").await;
    let org = oid(&create_org(&t, &owner, "Acme").await);
    add(&t, &org, &admin, "Admin").await;
    add(&t, &org, &member, "Member").await;
    as_user(&t, &owner, Method::PATCH, &format!("/orgs/{org}"), Some(json!({ "name": "Acme Inc" })), 200).await;

    let path = format!("/orgs/{org}/audit-log");
    assert_eq!(refused(&t, &member, Method::GET, &path, None, 403).await, "permission-denied");
    let by_admin = as_user(&t, &admin, Method::GET, &path, None, 200).await;
    let newest = &by_admin["entries"][0];
    assert_eq!(newest["action"], "org.updated");
    assert_eq!(newest["actor_kind"], "user");
    assert_eq!(newest["actor_id"], owner.id.as_str());
    assert_eq!(newest["target_kind"], "org");
    assert_eq!(newest["target_id"], org.as_str());
    assert_eq!(newest["ip"], "127.0.0.1");
    assert_eq!(newest["details"]["changed"], json!(["name"]));
    assert!(newest["occurred_at"].is_string());
    assert_eq!(as_user(&t, &owner, Method::GET, &path, None, 200).await, by_admin);

    // Pages of two, newest first, with no entry twice.
    let all = audit_actions(&t, &org).await;
    assert_eq!(all, ["org.updated", "org.member_added", "org.member_added", "org.member_added", "org.created"]);
    let first = t.get(&format!("{B}{path}?limit=2"), 200).await;
    assert_eq!(first["entries"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = t.get(&format!("{B}{path}?limit=2&cursor={cursor}"), 200).await;
    let third = t.get(&format!("{B}{path}?limit=2&cursor={}", second["next_cursor"].as_str().unwrap()), 200).await;
    assert_eq!(third["entries"].as_array().unwrap().len(), 1);
    assert!(third.get("next_cursor").is_none());
    let ids: std::collections::HashSet<_> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p["entries"].as_array().unwrap().iter().map(|e| e["audit_id"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(ids.len(), 5);
    t.stop().await;
}

engine_tests!(
    creator_is_owner_and_names_and_slugs_are_checked,
    delete_is_owner_only_and_keeps_the_audit_trail,
    deployment_settings_shape_org_creation,
    domains_claims_auto_join_and_restriction,
    metadata_is_a_bounded_object_set_by_the_backend,
    audit_log_is_readable_by_owners_admins_and_the_backend,
);
