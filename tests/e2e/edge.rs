//! The HTTP edge (README, "Security"): CSRF on cookie-authenticated requests, the session
//! cookie's name and attributes, HSTS, NUL characters refused before any operation, slow
//! clients cut off, the connection cap, and the client address behind trusted proxies.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tenantry_testkit::{engine_tests, expect_status, Engine, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::orgs::{add, oid, roster, B, U};
use crate::support::{problem_code, signed_in};

const PASSWORD: &str = "Tangerine-Quokka-Ledger-73";

/// Creates `email` with a password and signs in through `/api/v1/login`; returns the
/// `Set-Cookie` header and the `name=value` pair a browser would send back.
async fn cookie_login(t: &TestApp, email: &str) -> (String, String) {
    t.post(&format!("{B}/users"), json!({ "email": email, "password": PASSWORD, "email_verified": true }), 201).await;
    let resp = t
        .client
        .post(t.url(&format!("{U}/login")))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    expect_status(resp, "login", 200).await;
    let pair = set_cookie.split(';').next().unwrap().to_owned();
    (set_cookie, pair)
}

/// A request with only the session cookie and the given headers, as a browser would send it.
async fn with_cookie(
    t: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = t.client.request(method, t.url(path)).header("cookie", cookie);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn emails(roster: &[(String, String)]) -> Vec<&str> {
    roster.iter().map(|(e, _)| e.as_str()).collect()
}

/// Item 2 of the security probe: a cross-site, form-encoded or body-less POST with only the
/// session cookie used to remove the member. Now every state-changing cookie request must be
/// same-origin and JSON; GETs and bearer requests are unaffected.
async fn csrf_refuses_cross_site_cookie_requests(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.http.allowed_origins = vec!["https://app.example.test".into()]).await;
    let owner = signed_in(&t, "owner@acme.test").await;
    let org = oid(&t.post(&format!("{B}/orgs"), json!({ "name": "Acme", "owner_user_id": owner.id }), 201).await);
    let (_, cookie) = cookie_login(&t, "kate@acme.test").await;
    let kate_id =
        t.get(&format!("{B}/users/by-email?email=kate@acme.test"), 200).await["user_id"].as_str().unwrap().to_owned();
    t.post(&format!("{B}/orgs/{org}/members"), json!({ "user_id": kate_id, "role": "Member" }), 201).await;
    let leave = format!("{U}/orgs/{org}/leave");
    let own_origin = t.base.clone();

    let attacks: [&[(&str, &str)]; 6] = [
        // The probe's request: a form on another site, posted with the cookie.
        &[("origin", "https://evil.test"), ("content-type", "application/x-www-form-urlencoded")],
        // Body-less, no Origin, no content type (an old browser, or a navigation).
        &[],
        &[("sec-fetch-site", "cross-site"), ("content-type", "application/json")],
        &[("sec-fetch-site", "same-site"), ("content-type", "application/json")],
        &[("origin", "null"), ("content-type", "application/json")],
        // Same origin, but a content type any page may send cross-site.
        &[("origin", own_origin.as_str()), ("content-type", "text/plain")],
    ];
    for headers in attacks {
        let resp = with_cookie(&t, Method::POST, &leave, &cookie, headers).await;
        let problem = expect_status(resp, &format!("leave with {headers:?}"), 403).await;
        assert_eq!(problem_code(&problem), "csrf-refused", "{headers:?}");
    }
    assert!(emails(&roster(&t, &org).await).contains(&"kate@acme.test"), "Kate is still a member");

    // Safe methods are not checked: the cookie reads from anywhere it is sent.
    let resp = with_cookie(&t, Method::GET, &format!("{U}/me"), &cookie, &[("origin", "https://evil.test")]).await;
    expect_status(resp, "GET me cross-site", 200).await;
    // An allowed origin, with JSON (a body-less request says so too).
    let json_from = |origin: &'static str| [("origin", origin), ("content-type", "application/json")];
    let resp = with_cookie(&t, Method::POST, &leave, &cookie, &json_from("https://app.example.test")).await;
    expect_status(resp, "leave from an allowed origin", 204).await;
    assert!(!emails(&roster(&t, &org).await).contains(&"kate@acme.test"));

    // The deployment's own origin; and a non-browser client (no Origin, no Sec-Fetch-Site).
    t.post(&format!("{B}/orgs/{org}/members"), json!({ "user_id": kate_id, "role": "Member" }), 201).await;
    let resp = with_cookie(
        &t,
        Method::POST,
        &leave,
        &cookie,
        &[("origin", own_origin.as_str()), ("content-type", "application/json")],
    )
    .await;
    expect_status(resp, "leave from the own origin", 204).await;
    t.post(&format!("{B}/orgs/{org}/members"), json!({ "user_id": kate_id, "role": "Member" }), 201).await;
    let headers = [("content-type", "application/json; charset=utf-8"), ("sec-fetch-site", "same-origin")];
    let resp = with_cookie(&t, Method::POST, &leave, &cookie, &headers).await;
    expect_status(resp, "leave, same-origin fetch", 204).await;

    // Bearer tokens are never sent by a browser on its own: not checked.
    let bob = signed_in(&t, "bob@acme.test").await;
    add(&t, &org, &bob, "Member").await;
    let resp = t
        .client
        .post(t.url(&leave))
        .bearer_auth(&bob.access)
        .header("origin", "https://evil.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    expect_status(resp, "leave with a bearer token", 204).await;

    // Logout through the cookie follows the same rule.
    let resp = t
        .client
        .post(t.url(&format!("{U}/logout")))
        .header("cookie", &cookie)
        .header("origin", "https://evil.test")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem_code(&expect_status(resp, "cross-site logout", 403).await), "csrf-refused");
    t.stop().await;
}

/// Item 8 (cookie part) and 13 (HSTS): on an https deployment the cookie is
/// `__Host-tenantry_session` with `Secure`, `Path=/`, no `Domain`; an unprefixed cookie of the
/// same value is not accepted (another host could have set it); every answer carries HSTS.
async fn session_cookie_is_host_prefixed_on_https(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.public_url = "https://auth.example.test".into()).await;
    let (set_cookie, pair) = cookie_login(&t, "kate@example.test").await;
    assert!(set_cookie.starts_with("__Host-tenantry_session="), "{set_cookie}");
    for attr in ["; Path=/", "; HttpOnly", "; SameSite=Lax", "; Secure"] {
        assert!(set_cookie.contains(attr), "{attr} in {set_cookie}");
    }
    assert!(!set_cookie.to_ascii_lowercase().contains("domain="), "{set_cookie}");
    let me = with_cookie(&t, Method::GET, &format!("{U}/me"), &pair, &[]).await;
    assert_eq!(me.headers()["strict-transport-security"], "max-age=31536000");
    assert_eq!(expect_status(me, "me by __Host- cookie", 200).await["email"], "kate@example.test");
    let value = pair.split_once('=').unwrap().1;
    let plain = format!("tenantry_session={value}");
    expect_status(with_cookie(&t, Method::GET, &format!("{U}/me"), &plain, &[]).await, "unprefixed cookie", 401).await;
    let health = t.client.get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(health.headers()["strict-transport-security"], "max-age=31536000", "every answer");

    let origin = [("origin", "https://auth.example.test"), ("content-type", "application/json")];
    let out = t
        .client
        .post(t.url(&format!("{U}/logout")))
        .header("cookie", &pair)
        .header(origin[0].0, origin[0].1)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let cleared = out.headers()["set-cookie"].to_str().unwrap().to_owned();
    expect_status(out, "logout", 204).await;
    assert!(cleared.starts_with("__Host-tenantry_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert!(cleared.contains("; Secure") && cleared.contains("; Path=/"), "{cleared}");
    t.stop().await;
}

/// Plain-http local development: browsers refuse `__Host-` without `Secure`, and `Secure`
/// cookies over http, so the cookie is `tenantry_session` without `Secure`; no HSTS.
async fn session_cookie_on_plain_http_is_unprefixed(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let (set_cookie, pair) = cookie_login(&t, "dev@example.test").await;
    assert!(set_cookie.starts_with("tenantry_session="), "{set_cookie}");
    assert!(
        set_cookie.contains("; Path=/") && set_cookie.contains("; HttpOnly") && set_cookie.contains("; SameSite=Lax")
    );
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    let me = with_cookie(&t, Method::GET, &format!("{U}/me"), &pair, &[]).await;
    assert!(me.headers().get("strict-transport-security").is_none());
    expect_status(me, "me by cookie", 200).await;
    t.stop().await;
}

/// Item 9: NUL characters, in the path, the query or a JSON string, are refused with 400
/// before any operation runs (they gave 500 on PostgreSQL).
async fn nul_characters_are_refused_at_the_edge(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let org = oid(&t.post(&format!("{B}/orgs"), json!({ "name": "Acme" }), 201).await);
    for path in [
        format!("{B}/orgs/by-slug/a%00b"),
        format!("{B}/orgs/{org}/members?email=%00"),
        format!("{B}/orgs?name_prefix=%00"),
        format!("{B}/users/by-email?email=a%00@example.test"),
        format!("{B}/users/%00"),
    ] {
        let problem = t.get(&path, 400).await;
        assert_eq!(problem_code(&problem), "bad-request", "{path}");
        assert!(problem["detail"].as_str().unwrap().contains("NUL"), "{problem}");
    }
    let bodies: [(&str, Value); 3] = [
        ("/users", json!({ "email": "a\u{0}b@example.test" })),
        ("/orgs", json!({ "name": "Ac\u{0}me" })),
        ("/orgs", json!({ "name": "Acme", "metadata": { "k\u{0}": "v" } })),
    ];
    for (path, body) in bodies {
        let problem = t.post(&format!("{B}{path}"), body.clone(), 400).await;
        assert_eq!(problem_code(&problem), "bad-request", "{body}");
    }
    let problem =
        call_raw(&t, "/api/v1/signup", r#"{"email":"x@example.test","password":"\u0000\u0000\u0000aaaaaaaa"}"#).await;
    assert_eq!(problem_code(&problem), "bad-request");
    // A backslash followed by `u0000` as text (`\\u0000` in JSON) is no NUL.
    let org = t.post(&format!("{B}/orgs"), json!({ "name": "Back\\u0000slash" }), 201).await;
    assert_eq!(org["name"], "Back\\u0000slash");
    t.stop().await;
}

/// POSTs `body` as JSON without credentials; expects 400.
async fn call_raw(t: &TestApp, path: &str, body: &'static str) -> Value {
    let resp = t.client.post(t.url(path)).header("content-type", "application/json").body(body).send().await.unwrap();
    expect_status(resp, path, 400).await
}

/// Reads until the server closes the connection, or `within` passes (then panics).
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "the server kept the connection open for {within:?}; read so far: {:?}",
                String::from_utf8_lossy(&out)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Item 12: a client that sends half a request line and stalls is disconnected once the
/// header read timeout passes.
async fn stalled_headers_are_cut_off(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.http.header_read_timeout_ms = 300).await;
    let mut stream = TcpStream::connect(t.addr()).await.unwrap();
    let started = Instant::now();
    stream.write_all(b"GET /heal").await.unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(started.elapsed() >= Duration::from_millis(250), "not before the timeout: {:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"), "{answer:?}");
    // Trickling does not help: the timeout covers the whole head, not the gap between bytes.
    let mut stream = TcpStream::connect(t.addr()).await.unwrap();
    let started = Instant::now();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let trickle = async {
        // One well-formed header after another, a byte every 50 ms: never a complete head.
        for b in b"X-Slow: 1\r\n".iter().cycle() {
            if stream.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), trickle).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the trickling client was cut off: {:?}", started.elapsed());
    // A prompt client is served as before.
    expect_status(t.client.get(t.url("/healthz")).send().await.unwrap(), "healthz", 200).await;
    t.stop().await;
}

/// Item 12: a body that stops arriving gets `408 request-timeout`, and the connection closes.
async fn stalled_bodies_get_408(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.http.body_read_timeout_ms = 300).await;
    for framing in ["Content-Length: 100", "Transfer-Encoding: chunked"] {
        let mut stream = TcpStream::connect(t.addr()).await.unwrap();
        let partial = if framing.starts_with("Content") { "{\"email\":" } else { "9\r\n{\"email\":\r\n" };
        let head = format!(
            "POST /api/backend/v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\n{framing}\r\n\r\n{partial}",
            t.api_key
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let answer = String::from_utf8(read_until_closed(&mut stream, Duration::from_secs(10)).await).unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{framing}: {answer}");
        assert!(
            answer.contains("application/problem+json") && answer.contains("urn:tenantry:problem:request-timeout"),
            "{answer}"
        );
    }
    let users = t.get(&format!("{B}/users?limit=10"), 200).await;
    assert_eq!(users["users"].as_array().map(Vec::len).unwrap_or(0), 0, "nothing was created: {users}");
    t.stop().await;
}

/// Sends a `GET /healthz` on `stream` and reads the one answer (keep-alive: the connection stays).
async fn healthz_on(stream: &mut TcpStream) -> String {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await.expect("an answer").unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Item 12: with `max_connections = 2`, a third connection is not served while two are open,
/// and is served as soon as one closes.
async fn connections_beyond_the_cap_wait(engine: Engine) {
    let t = TestApp::spawn_with(engine, |c| c.http.max_connections = 2).await;
    let mut first = TcpStream::connect(t.addr()).await.unwrap();
    let mut second = TcpStream::connect(t.addr()).await.unwrap();
    assert!(healthz_on(&mut first).await.starts_with("HTTP/1.1 200"));
    assert!(healthz_on(&mut second).await.starts_with("HTTP/1.1 200"));
    let mut third = TcpStream::connect(t.addr()).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let waited = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(waited.is_err(), "the third connection was served while two were open: {waited:?}");
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(10), third.read(&mut buf))
        .await
        .expect("served after a close")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(healthz_on(&mut second).await.starts_with("HTTP/1.1 200"));
    t.stop().await;
}

/// The newest audit entry's `ip` for an org created through the backend with `headers`.
async fn audited_ip(t: &TestApp, headers: &[(&str, &str)]) -> Value {
    let mut req = t.client.post(t.url(&format!("{B}/orgs"))).bearer_auth(&t.api_key).json(&json!({ "name": "Acme" }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let org = oid(&expect_status(req.send().await.unwrap(), "create org", 201).await);
    let page = t.get(&format!("{B}/orgs/{org}/audit-log?limit=1"), 200).await;
    page["entries"][0]["ip"].clone()
}

/// Item 13: `X-Forwarded-For` and `Forwarded` name the client only when the peer is a trusted
/// proxy; then the right-most hop that is not a trusted proxy is the client.
async fn trusted_proxies_name_the_client(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    assert_eq!(audited_ip(&t, &[("x-forwarded-for", "203.0.113.7")]).await, "127.0.0.1", "no trusted proxy: the peer");
    t.stop().await;

    let t =
        TestApp::spawn_with(engine, |c| c.http.trusted_proxies = vec!["127.0.0.0/8".into(), "10.0.0.0/8".into()]).await;
    assert_eq!(audited_ip(&t, &[]).await, "127.0.0.1", "no header: the proxy itself");
    assert_eq!(audited_ip(&t, &[("x-forwarded-for", "203.0.113.7")]).await, "203.0.113.7");
    // The client wrote the first entry; the proxies appended the real one and their own.
    let forged = [("x-forwarded-for", "198.51.100.66, 203.0.113.7, 10.1.2.3")];
    assert_eq!(audited_ip(&t, &forged).await, "203.0.113.7");
    let fwd = [("forwarded", r#"for=198.51.100.66, for="[2001:db8::5]:443";proto=https"#)];
    assert_eq!(audited_ip(&t, &fwd).await, "2001:db8::5");
    t.stop().await;
}

engine_tests!(
    csrf_refuses_cross_site_cookie_requests,
    session_cookie_is_host_prefixed_on_https,
    session_cookie_on_plain_http_is_unprefixed,
    nul_characters_are_refused_at_the_edge,
    stalled_headers_are_cut_off,
    stalled_bodies_get_408,
    connections_beyond_the_cap_wait,
    trusted_proxies_name_the_client,
);
