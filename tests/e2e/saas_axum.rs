//! `examples/saas-axum` against the real server, on both engines: the deployment and its users are
//! set up through `tenantry-sdk`'s backend client (so the client meets the real API too), the
//! example runs in-process on a free port with the server's manual clock, and each protected route
//! answers 401, 403 or 200 per role, with problem+json bodies that say why.

use std::sync::Arc;

use futures_util::TryStreamExt as _;
use serde_json::{json, Value};
use tenantry_sdk::client::{
    Client, MemberIn, MfaRequirementIn, OrgIn, Patch, QueryUsersParams, RoleOut, RolesIn, UserIn, UserPatch,
};
use tenantry_testkit::{engine_tests, Engine, TestApp};

/// The example on a free port, trusting `t`'s tokens; stops when the sender drops.
async fn start_example(t: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = t.clock.clone();
    let config = saas_axum::Config {
        tenantry_url: t.config.public_url.clone(),
        public_url: base.clone(),
        clock: Some(Arc::new(move || tenantry_core::Clock::now(&*clock).timestamp())),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(saas_axum::serve(config, listener, async {
        let _ = stopped.await;
    }));
    (base, stop)
}

/// `method path` on the example with `token`: the status, and the body as JSON (problems are
/// checked to be problem+json).
async fn call(base: &str, method: reqwest::Method, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method.clone(), format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if method == reqwest::Method::POST {
        request = request.json(&json!({"name": "Apollo"}));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body: Value = response.json().await.unwrap();
    if status >= 400 {
        assert_eq!(content_type, "application/problem+json", "{method} {path}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    }
    (status, body)
}

fn code(body: &Value) -> &str {
    body["type"].as_str().and_then(|t| t.rsplit(':').next()).unwrap_or("")
}

async fn the_example_answers_per_role(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let tenantry = Client::with_http(t.client.clone(), &t.base, &t.api_key);

    // The deployment grants `projects.write` to Members (and so to every role above).
    let roles = tenantry.get_roles().await.unwrap();
    let hierarchy: Vec<RoleOut> = roles
        .hierarchy
        .into_iter()
        .map(|mut role| {
            if role.name == "Member" {
                role.permissions.get_or_insert_with(Vec::new).push("projects.write".into());
            }
            role
        })
        .collect();
    let roles_in = RolesIn {
        hierarchy,
        additional_roles: Some(roles.additional_roles),
        app_permissions: Some(vec!["projects.write".into()]),
    };
    tenantry.set_roles(&roles_in).await.unwrap();

    let mut users = Vec::new();
    for name in ["owner", "admin", "member", "viewer", "outsider"] {
        let user = UserIn { email: format!("{name}@saas.example"), email_verified: Some(true), ..Default::default() };
        users.push(tenantry.create_user(&user).await.unwrap());
    }
    let org = tenantry
        .create_org(&OrgIn { name: "Acme".into(), owner_user_id: Some(users[0].user_id.clone()), ..Default::default() })
        .await
        .unwrap();
    for (user, role) in users[1..4].iter().zip(["Admin", "Member", "Viewer"]) {
        let member = MemberIn { user_id: user.user_id.clone(), role: Some(role.into()), ..Default::default() };
        tenantry.add_org_member(&org.org_id, &member).await.unwrap();
    }
    let mut tokens = Vec::new();
    for user in &users {
        tokens.push(tenantry.create_access_token(&user.user_id).await.unwrap().access_token);
    }

    let (base, _stop) = start_example(&t).await;
    let org_path = format!("/api/orgs/{}", org.org_id);
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;

    let (status, body) = call(&base, get.clone(), "/api/me", None).await;
    assert_eq!((status, code(&body)), (401, "token-missing"));
    let (status, body) = call(&base, get.clone(), "/api/me", Some("not-a-token")).await;
    assert_eq!((status, code(&body)), (401, "token-malformed"));

    // (route, method, expected status per owner, admin, member, viewer, outsider, and the refusal code)
    let settings = format!("{org_path}/settings");
    let projects = format!("{org_path}/projects");
    let matrix: [(&str, &reqwest::Method, [u16; 5], &str); 5] = [
        ("/api/me", &get, [200, 200, 200, 200, 200], ""),
        (&org_path, &get, [200, 200, 200, 200, 403], "not-a-member"),
        (&settings, &get, [200, 200, 403, 403, 403], "role-required"),
        (&projects, &post, [201, 201, 201, 403, 403], "permission-required"),
        (&projects, &get, [200, 200, 200, 200, 403], "not-a-member"),
    ];
    for (path, method, expected, refusal) in matrix {
        for (i, (token, expected)) in tokens.iter().zip(expected).enumerate() {
            let (status, body) = call(&base, method.clone(), path, Some(token)).await;
            assert_eq!(status, expected, "{method} {path} as user {i}: {body}");
            if status == 403 {
                let outsider_refusal = if i == 4 { "not-a-member" } else { refusal };
                assert_eq!(code(&body), outsider_refusal, "{method} {path} as user {i}");
            }
        }
    }
    let (_, listed) = call(&base, get.clone(), &projects, Some(&tokens[2])).await;
    assert_eq!(listed["projects"], json!(["Apollo", "Apollo", "Apollo"]));
    let (_, me) = call(&base, get.clone(), "/api/me", Some(&tokens[1])).await;
    assert_eq!(me["email"], "admin@saas.example");
    assert_eq!(me["orgs"][0]["role"], "Admin");

    // An org that requires 2FA its member has not set up: the next token marks it, and the
    // example refuses with a reason.
    tenantry
        .set_org_mfa_requirement(&org.org_id, &MfaRequirementIn { required: true, grace_until: None })
        .await
        .unwrap();
    let blocked = tenantry.create_access_token(&users[2].user_id).await.unwrap().access_token;
    let (status, body) = call(&base, get.clone(), &org_path, Some(&blocked)).await;
    assert_eq!((status, code(&body)), (403, "mfa-required"));

    // Tokens expire by the server's clock, which the example follows.
    t.clock.advance(chrono::Duration::minutes(16));
    let (status, body) = call(&base, get, "/api/me", Some(&tokens[0])).await;
    assert_eq!((status, code(&body)), (401, "token-expired"));
    t.stop().await;
}

async fn the_backend_client_meets_the_real_api(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let tenantry = Client::with_http(t.client.clone(), &t.base, &t.api_key);
    for i in 0..5 {
        let user = UserIn { email: format!("page{i}@client.example"), ..Default::default() };
        tenantry.create_user(&user).await.unwrap();
    }

    // Paging: a stream over pages of 2 yields all five, in creation order.
    let params = QueryUsersParams { email_prefix: Some("page".into()), limit: Some(2), ..Default::default() };
    let first = tenantry.query_users(&params).await.unwrap();
    assert_eq!(first.users.len(), 2);
    assert!(first.next_cursor.is_some());
    let all: Vec<_> = tenantry.query_users_stream(params).try_collect().await.unwrap();
    let emails: Vec<&str> = all.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, (0..5).map(|i| format!("page{i}@client.example")).collect::<Vec<_>>());

    // Problems: a conflict, field errors, a 404, with their stable codes.
    let taken = tenantry.create_user(&UserIn { email: "page0@client.example".into(), ..Default::default() }).await;
    let taken = taken.unwrap_err();
    assert_eq!((taken.status(), taken.code()), (Some(409), Some("email-taken")));
    let invalid = tenantry.create_user(&UserIn { email: "not an address".into(), ..Default::default() }).await;
    let invalid = invalid.unwrap_err();
    assert_eq!(invalid.status(), Some(422));
    assert!(invalid.field_errors().any(|(field, _)| field == "email"), "{invalid:?}");
    let missing = tenantry.get_user("0197a000-0000-7000-8000-000000000001").await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
    assert!(missing.problem().is_some_and(|p| !p.detail.is_empty()));

    // Patch: set one name, then clear it; 204 answers decode as ().
    let user = &all[0];
    let set_name = UserPatch { first_name: "Ada".to_owned().into(), ..Default::default() };
    assert_eq!(tenantry.update_user(&user.user_id, &set_name).await.unwrap().first_name.as_deref(), Some("Ada"));
    let clear_name = UserPatch { first_name: Patch::Clear, ..Default::default() };
    assert_eq!(tenantry.update_user(&user.user_id, &clear_name).await.unwrap().first_name, None);
    tenantry.delete_user(&user.user_id).await.unwrap();
    assert_eq!(tenantry.get_user(&user.user_id).await.unwrap_err().code(), Some("user-not-found"));

    // A bad key is a 401 problem.
    let stranger = Client::with_http(t.client.clone(), &t.base, "tnt_not_a_key");
    assert_eq!(stranger.get_roles().await.unwrap_err().status(), Some(401));
    t.stop().await;
}

engine_tests!(the_example_answers_per_role, the_backend_client_meets_the_real_api);
