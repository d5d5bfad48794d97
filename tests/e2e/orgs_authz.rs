//! The authorization matrix of the org endpoints: every operation of both APIs × every kind of
//! actor → the expected status. Each cell runs against a fresh org, so one cell's success cannot
//! change another's answer. A non-member always gets 404, never 403.

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_testkit::{engine_tests, expect_status, Engine, TestApp};

use crate::orgs::{add, oid, B, U};
use crate::support::{call, signed_in, SignedIn};

/// The columns of the matrix.
const ACTORS: [&str; 7] = ["owner", "admin", "member", "viewer", "other-org", "outsider", "api-key"];

struct Row {
    method: Method,
    /// With `{org}`, `{target}` (a Member), `{admin}`, `{invite}` (a pending invite).
    path: &'static str,
    /// JSON with the same placeholders, and `{n}` for a unique number.
    body: Option<&'static str>,
    /// One status per actor, in [`ACTORS`] order.
    expect: [u16; 7],
    /// The fixture has a pending ownership transfer.
    transfer: bool,
}

fn row(method: Method, path: &'static str, body: Option<&'static str>, expect: [u16; 7]) -> Row {
    Row { method, path, body, expect, transfer: false }
}

/// The end-user API: the first four columns by role, then a member of another org, a user in no
/// org and a backend key (not a user: 401).
fn enduser_rows() -> Vec<Row> {
    use Method as M;
    let n = None;
    vec![
        row(M::GET, "/orgs/{org}", n, [200, 200, 200, 200, 404, 404, 401]),
        row(M::PATCH, "/orgs/{org}", Some(r#"{"name": "Renamed {n}"}"#), [200, 200, 403, 403, 404, 404, 401]),
        row(M::DELETE, "/orgs/{org}", n, [204, 403, 403, 403, 404, 404, 401]),
        row(M::PUT, "/orgs/{org}/domains/acme.com", n, [200, 200, 403, 403, 404, 404, 401]),
        row(M::DELETE, "/orgs/{org}/domains/seed.example", n, [200, 200, 403, 403, 404, 404, 401]),
        row(M::GET, "/orgs/{org}/members", n, [200, 200, 200, 200, 404, 404, 401]),
        row(M::GET, "/orgs/{org}/members/{target}", n, [200, 200, 200, 200, 404, 404, 401]),
        row(
            M::PATCH,
            "/orgs/{org}/members/{target}",
            Some(r#"{"role": "Viewer"}"#),
            [200, 200, 403, 403, 404, 404, 401],
        ),
        row(M::DELETE, "/orgs/{org}/members/{target}", n, [204, 204, 403, 403, 404, 404, 401]),
        row(M::POST, "/orgs/{org}/leave", n, [409, 204, 204, 204, 404, 404, 401]),
        row(
            M::POST,
            "/orgs/{org}/invites",
            Some(r#"{"email": "new{n}@acme.com"}"#),
            [201, 201, 403, 403, 404, 404, 401],
        ),
        row(M::GET, "/orgs/{org}/invites", n, [200, 200, 200, 200, 404, 404, 401]),
        row(M::POST, "/orgs/{org}/invites/{invite}/resend", n, [200, 200, 403, 403, 404, 404, 401]),
        row(M::DELETE, "/orgs/{org}/invites/{invite}", n, [204, 204, 403, 403, 404, 404, 401]),
        row(M::GET, "/orgs/{org}/audit-log", n, [200, 200, 403, 403, 404, 404, 401]),
        row(
            M::POST,
            "/orgs/{org}/ownership-transfer",
            Some(r#"{"user_id": "{admin}"}"#),
            [202, 403, 403, 403, 404, 404, 401],
        ),
        Row {
            transfer: true,
            ..row(M::DELETE, "/orgs/{org}/ownership-transfer", n, [204, 403, 403, 403, 404, 404, 401])
        },
        row(M::PUT, "/me/active-org", Some(r#"{"org_id": "{org}"}"#), [200, 200, 200, 200, 404, 404, 401]),
    ]
}

/// The backend API, with the key (users' access tokens are not API keys: 401).
fn backend_rows() -> Vec<Row> {
    use Method as M;
    let n = None;
    let k = |s: u16| [401, 401, 401, 401, 401, 401, s];
    vec![
        row(M::GET, "/orgs", n, k(200)),
        row(M::GET, "/orgs/{org}", n, k(200)),
        row(M::PATCH, "/orgs/{org}", Some(r#"{"name": "Renamed {n}", "max_users": 50}"#), k(200)),
        row(M::PATCH, "/orgs/{org}/metadata", Some(r#"{"plan": "pro"}"#), k(200)),
        row(M::DELETE, "/orgs/{org}", n, k(204)),
        row(M::PUT, "/orgs/{org}/domains/gmail.com", n, k(200)),
        row(M::DELETE, "/orgs/{org}/domains/seed.example", n, k(200)),
        row(M::GET, "/orgs/{org}/members", n, k(200)),
        row(M::POST, "/orgs/{org}/members", Some(r#"{"user_id": "{outsider}", "role": "Admin"}"#), k(201)),
        row(M::GET, "/orgs/{org}/members/{target}", n, k(200)),
        row(M::PATCH, "/orgs/{org}/members/{target}", Some(r#"{"role": "Owner"}"#), k(200)),
        row(M::DELETE, "/orgs/{org}/members/{target}", n, k(204)),
        row(M::POST, "/orgs/{org}/invites", Some(r#"{"email": "new{n}@acme.com", "role": "Owner"}"#), k(201)),
        row(M::GET, "/orgs/{org}/invites", n, k(200)),
        row(M::POST, "/orgs/{org}/invites/{invite}/resend", n, k(200)),
        row(M::DELETE, "/orgs/{org}/invites/{invite}", n, k(204)),
        row(M::GET, "/orgs/{org}/audit-log", n, k(200)),
        Row { transfer: true, ..row(M::DELETE, "/orgs/{org}/ownership-transfer", n, k(204)) },
        row(M::GET, "/users/{target}/orgs", n, k(200)),
        row(M::GET, "/roles", n, k(200)),
    ]
}

struct Actors {
    owner: SignedIn,
    admin: SignedIn,
    member: SignedIn,
    viewer: SignedIn,
    other: SignedIn,
    outsider: SignedIn,
}

impl Actors {
    fn token(&self, column: usize) -> &str {
        [&self.owner, &self.admin, &self.member, &self.viewer, &self.other, &self.outsider][column].access.as_str()
    }
}

/// A fresh org: the four role holders, a Member target, a domain, a pending invite and, when asked,
/// a pending ownership transfer to the Admin.
struct Fixture {
    org: String,
    target: SignedIn,
    invite: String,
}

async fn fixture(t: &TestApp, a: &Actors, n: usize, transfer: bool) -> Fixture {
    let org = oid(&t.post(&format!("{B}/orgs"), json!({ "name": "Matrix", "owner_user_id": a.owner.id }), 201).await);
    add(t, &org, &a.admin, "Admin").await;
    add(t, &org, &a.member, "Member").await;
    add(t, &org, &a.viewer, "Viewer").await;
    let target = signed_in(t, &format!("target{n}@acme.com")).await;
    add(t, &org, &target, "Member").await;
    t.backend(Method::PUT, &format!("{B}/orgs/{org}/domains/seed.example"), None, 200).await;
    let invite =
        t.post(&format!("{B}/orgs/{org}/invites"), json!({ "email": format!("invited{n}@acme.com") }), 201).await;
    if transfer {
        let body = Some(json!({ "user_id": a.admin.id }));
        call(t, Method::POST, &format!("{U}/orgs/{org}/ownership-transfer"), Some(&a.owner.access), body, 202).await;
    }
    Fixture { org, target, invite: invite["invite_id"].as_str().unwrap().to_owned() }
}

fn fill(template: &str, f: &Fixture, a: &Actors, n: usize) -> String {
    template
        .replace("{org}", &f.org)
        .replace("{target}", &f.target.id)
        .replace("{admin}", &a.admin.id)
        .replace("{outsider}", &a.outsider.id)
        .replace("{invite}", &f.invite)
        .replace("{n}", &n.to_string())
}

async fn send(
    t: &TestApp,
    method: Method,
    url: String,
    bearer: &str,
    body: Option<Value>,
    what: &str,
    status: u16,
) -> Value {
    let mut req = t.client.request(method, url).bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    expect_status(req.send().await.unwrap(), what, status).await
}

async fn run_matrix(t: &TestApp, a: &Actors, rows: Vec<Row>, prefix: &str, n: &mut usize) {
    for r in rows {
        for (column, expected) in r.expect.iter().enumerate() {
            *n += 1;
            let f = fixture(t, a, *n, r.transfer).await;
            let path = fill(r.path, &f, a, *n);
            let body = r.body.map(|b| serde_json::from_str::<Value>(&fill(b, &f, a, *n)).unwrap());
            let bearer = if column == 6 { t.api_key.as_str() } else { a.token(column) };
            let what = format!("{} {prefix}{path} as {}", r.method, ACTORS[column]);
            let answer =
                send(t, r.method.clone(), t.url(&format!("{prefix}{path}")), bearer, body, &what, *expected).await;
            if *expected == 404 {
                let code = crate::support::problem_code(&answer);
                assert!(code.ends_with("-not-found"), "{what}: {code}");
            }
            if r.path == "/me/active-org" && *expected == 200 {
                // Leave the session as it was: deleting the org would end a session acting in it.
                let body = Some(json!({ "org_id": null }));
                call(t, Method::PUT, &format!("{U}/me/active-org"), Some(bearer), body, 200).await;
            }
            let resp =
                t.client.delete(t.url(&format!("{B}/orgs/{}", f.org))).bearer_auth(&t.api_key).send().await.unwrap();
            assert!([204, 404].contains(&resp.status().as_u16()), "teardown");
        }
    }
}

async fn authorization_matrix(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let a = Actors {
        owner: signed_in(&t, "owner@acme.com").await,
        admin: signed_in(&t, "admin@acme.com").await,
        member: signed_in(&t, "member@acme.com").await,
        viewer: signed_in(&t, "viewer@acme.com").await,
        other: signed_in(&t, "other@elsewhere.com").await,
        outsider: signed_in(&t, "outsider@nowhere.com").await,
    };
    let elsewhere =
        oid(&t.post(&format!("{B}/orgs"), json!({ "name": "Elsewhere", "owner_user_id": a.other.id }), 201).await);
    let mut n = 0;
    run_matrix(&t, &a, enduser_rows(), U, &mut n).await;
    run_matrix(&t, &a, backend_rows(), B, &mut n).await;

    // Another org's ids through one's own org: still 404, never 403.
    let f = fixture(&t, &a, 0, false).await;
    let other = |path: String| format!("{U}/orgs/{elsewhere}{path}");
    for (method, path, body) in [
        (Method::GET, other(format!("/members/{}", f.target.id)), None),
        (Method::PATCH, other(format!("/members/{}", f.target.id)), Some(json!({ "role": "Viewer" }))),
        (Method::DELETE, other(format!("/members/{}", f.target.id)), None),
        (Method::POST, other(format!("/invites/{}/resend", f.invite)), None),
        (Method::DELETE, other(format!("/invites/{}", f.invite)), None),
    ] {
        let what = format!("{method} {path}");
        let answer = send(&t, method, t.url(&path), &a.other.access, body, &what, 404).await;
        assert!(crate::support::problem_code(&answer).ends_with("-not-found"), "{what}");
    }
    // The roster of the fixture is untouched.
    assert_eq!(t.get(&format!("{B}/orgs/{}", f.org), 200).await["member_count"], 5);
    // Unknown orgs look exactly like orgs one is not in.
    let unknown = uuid::Uuid::now_v7();
    let a1 = call(&t, Method::GET, &format!("{U}/orgs/{unknown}"), Some(&a.other.access), None, 404).await;
    let a2 = call(&t, Method::GET, &format!("{U}/orgs/{}", f.org), Some(&a.other.access), None, 404).await;
    assert_eq!(a1["type"], a2["type"]);
    assert_eq!(a1["detail"], a2["detail"]);
    // No token at all: 401.
    call(&t, Method::GET, &format!("{U}/orgs/{}", f.org), None, None, 401).await;
    call(&t, Method::GET, &format!("{B}/orgs/{}", f.org), None, None, 401).await;
    t.stop().await;
}

engine_tests!(authorization_matrix);
