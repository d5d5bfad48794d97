//! Enterprise SSO with SAML (docs/design.md §6, docs/security.md "SAML service provider"), against
//! pysaml2 as the IdP (tests/peers/saml_idp.py, signing with the xmlsec1 command): a connection
//! set up from the IdP's metadata, test mode, going live, removal, a full SP-initiated sign-in
//! over HTTP (this test is the browser, with a cookie jar), just-in-time membership, isolated
//! orgs, and the attack corpus, each refused with its reason in the audit trail. Both engines.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use base64::Engine as _;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{json, Value};
use tenantry_store::audit::list_audit_for_org;
use tenantry_testkit::peers::{peer_command, peers_python};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::support::event_types;

const B: &str = "/api/backend/v1";
const IDP: &str = "https://idp.example.test/metadata";

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/tenantry-sso/tests/fixtures")
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/saml_idp.py")
}

/// pysaml2 with xmlsec1, or `None` (skip) outside CI.
pub(crate) fn idp_python() -> Option<PathBuf> {
    peer_command("xmlsec1")?;
    peers_python("saml2")
}

/// One run of the IdP: its metadata, and the responses `responses` asks for (base64), by name.
pub(crate) fn run_idp(
    python: &Path,
    sp_entity: &str,
    acs: &str,
    responses: Vec<Value>,
) -> (String, HashMap<String, String>) {
    let f = fixtures();
    let job = json!({
        "idp": {
            "entity_id": IDP,
            "sso_url": "https://idp.example.test/sso",
            "key": f.join("idp.key"),
            "cert": f.join("idp.crt"),
        },
        "sp": { "entity_id": sp_entity, "acs": acs },
        "responses": responses,
    });
    let mut child = Command::new(python)
        .arg(script())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the IdP runs");
    child.stdin.take().expect("stdin").write_all(job.to_string().as_bytes()).expect("job written");
    let mut out = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut out).expect("answer");
    let status = child.wait().expect("IdP exits");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "saml_idp.py failed: {err}");
    let answer: Value = serde_json::from_str(&out).expect("JSON from the IdP");
    let responses = answer["responses"]
        .as_object()
        .expect("responses")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("base64").to_owned()))
        .collect();
    (answer["metadata"].as_str().expect("metadata").to_owned(), responses)
}

/// A browser: a cookie jar, no automatic redirects.
struct Browser<'a> {
    t: &'a TestApp,
    jar: Mutex<HashMap<String, String>>,
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl<'a> Browser<'a> {
    fn new(t: &'a TestApp) -> Browser<'a> {
        Browser { t, jar: Mutex::new(HashMap::new()) }
    }

    fn keep(&self, headers: &HeaderMap) {
        let mut jar = self.jar.lock().expect("jar");
        for v in headers.get_all(SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let mut parts = v.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else { continue };
            if value.is_empty() || parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0")) {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.jar.lock().expect("jar").iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// The session's access token, as a single-page app on this origin gets it.
    async fn access_token(&self) -> String {
        let req = self
            .t
            .client
            .post(self.t.url("/api/v1/session/token"))
            .header("origin", &self.t.base)
            .header("content-type", "application/json")
            .header("cookie", self.cookie_header());
        let body = tenantry_testkit::expect_status(req.send().await.expect("sent"), "session token", 200).await;
        body["access_token"].as_str().expect("access token").to_owned()
    }

    fn has_session(&self) -> bool {
        self.jar.lock().expect("jar").keys().any(|k| k.contains("tenantry_session"))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.header("cookie", self.cookie_header()).send().await.expect("request sent");
        self.keep(resp.headers());
        let status = resp.status().as_u16();
        let location = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Answer { status, location, body: resp.text().await.expect("body") }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.t.client.get(self.t.url(path))).await
    }

    /// A form POST from this site (with its Origin).
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let req = self.t.client.post(self.t.url(path)).header("origin", &self.t.base).form(fields);
        self.send(req).await
    }

    /// The IdP's auto-submitted form: a cross-site POST.
    async fn post_from_idp(&self, acs: &str, saml_response: &str, relay_state: Option<&str>) -> Answer {
        let mut fields = vec![("SAMLResponse", saml_response)];
        if let Some(r) = relay_state {
            fields.push(("RelayState", r));
        }
        let req = self.t.client.post(acs).header("origin", "https://idp.example.test").form(&fields);
        self.send(req).await
    }
}

fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf input") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().expect("csrf value").to_owned()
}

/// "Sign in with SSO" for `identifier`: the IdP URL's AuthnRequest id and RelayState.
async fn start(b: &Browser<'_>, identifier: &str, return_to: Option<&str>) -> (String, String) {
    let page = b.get("/sso").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = csrf(&page.body);
    let mut fields = vec![("csrf", token.as_str()), ("identifier", identifier)];
    if let Some(r) = return_to {
        fields.push(("return_to", r));
    }
    let went = b.post("/sso", &fields).await;
    assert_eq!(went.status, 303, "POST /sso: {}", went.body);
    let url = reqwest::Url::parse(went.location.as_deref().expect("a redirect to the IdP")).expect("URL");
    assert_eq!(url.host_str(), Some("idp.example.test"));
    let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
    let deflated = base64::engine::general_purpose::STANDARD.decode(&q["SAMLRequest"]).expect("base64");
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..]).read_to_string(&mut xml).expect("inflates");
    let id = xml.split("ID=\"").nth(1).and_then(|s| s.split('"').next()).expect("request ID").to_owned();
    (id, q["RelayState"].clone())
}

fn response(name: &str, now: i64, in_response_to: Option<&str>, email: &str) -> Value {
    json!({
        "name": name, "now": now, "in_response_to": in_response_to, "name_id": email,
        "attributes": { "email": email, "givenName": "Sam", "sn": "Sso" },
    })
}

struct Org {
    id: String,
    acs: String,
    sp_entity: String,
}

/// An org with `domain`, its owner, and a SAML connection set up from pysaml2's metadata.
async fn org_with_saml(t: &TestApp, python: &Path, slug: &str, domain: &str, isolated: bool) -> Org {
    let owner =
        t.post(&format!("{B}/users"), json!({ "email": format!("owner@{domain}"), "email_verified": true }), 201).await;
    let org = t
        .post(
            &format!("{B}/orgs"),
            json!({ "name": slug, "slug": slug, "owner_user_id": owner["user_id"], "domains": [domain] }),
            201,
        )
        .await;
    let id = org["org_id"].as_str().expect("org id").to_owned();
    let (metadata, _) = run_idp(python, "urn:unused", "https://unused.test/acs", vec![]);
    let conn = t
        .backend(reqwest::Method::PUT, &format!("{B}/orgs/{id}/saml"), Some(json!({ "metadata_xml": metadata })), 200)
        .await;
    assert_eq!(conn["status"], "test");
    assert_eq!(conn["idp_entity_id"], IDP);
    if isolated {
        t.post(&format!("{B}/orgs/{id}/isolate"), json!({}), 204).await;
    }
    Org {
        id,
        acs: conn["acs_url"].as_str().expect("acs").to_owned(),
        sp_entity: conn["sp_entity_id"].as_str().expect("sp entity").to_owned(),
    }
}

/// The membership of `email` in `org`, if any.
async fn member_of(t: &TestApp, org: &str, email: &str) -> Option<Value> {
    let page = t.get(&format!("{B}/orgs/{org}/members?members_only=true&limit=100"), 200).await;
    page["entries"].as_array().expect("entries").iter().map(|e| e["member"].clone()).find(|m| m["email"] == email)
}

async fn refusals(t: &TestApp, org: &str) -> Vec<String> {
    let mut c = t.app().db().acquire().await.expect("connection");
    let mut rows = list_audit_for_org(c.ex(), org.parse().expect("uuid"), None, 1000).await.expect("audit");
    rows.reverse();
    rows.into_iter()
        .filter(|r| r.action == "user.login_failed")
        .map(|r| r.details.0["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Setup from the IdP's metadata, SP metadata, test mode (the owner sees the test page, a member
/// is refused), going live, a just-in-time sign-in with `return_to`, the session it opens, and
/// removal; with the events each step sends.
async fn saml_connection_lifecycle_and_sign_in(engine: Engine) {
    let Some(python) = idp_python() else { return };
    let t = TestApp::spawn(engine).await;
    let org = org_with_saml(&t, &python, "acme", "acme.test", false).await;

    // The SP metadata the IdP's administrator imports.
    let md = t.client.get(&org.sp_entity).send().await.expect("metadata");
    assert_eq!(md.status(), 200);
    let md = md.text().await.expect("xml");
    assert!(md.contains(&format!("Location=\"{}\"", org.acs)), "{md}");

    // Test mode: the owner signs in and sees what the IdP sent.
    let owner = Browser::new(&t);
    let (req_id, relay) = start(&owner, "owner@acme.test", None).await;
    let now = t.clock_now();
    let (_, r) = run_idp(&python, &org.sp_entity, &org.acs, vec![response("r", now, Some(&req_id), "owner@acme.test")]);
    let page = owner.post_from_idp(&org.acs, &r["r"], Some(&relay)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("owner@acme.test") && page.body.contains("givenName"), "{}", page.body);
    assert!(owner.has_session(), "the owner is signed in");

    // A non-admin is refused while testing, and nobody is created.
    let member = Browser::new(&t);
    let (req_id, relay) = start(&member, "new.person@acme.test", None).await;
    let (_, r) =
        run_idp(&python, &org.sp_entity, &org.acs, vec![response("r", now, Some(&req_id), "new.person@acme.test")]);
    let refused = member.post_from_idp(&org.acs, &r["r"], Some(&relay)).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(refused.body.contains("saml-test-mode"), "{}", refused.body);
    assert!(!member.has_session());
    t.get(&format!("{B}/users/by-email?email=new.person%40acme.test"), 404).await;

    // Live: a new person signs in, is created verified and joins at the lowest role.
    let live = t.post(&format!("{B}/orgs/{}/saml/live", org.id), json!({}), 200).await;
    assert_eq!(live["status"], "live");
    let (req_id, relay) = start(&member, "acme", Some("/after")).await;
    let now = t.clock_now();
    let (_, r) =
        run_idp(&python, &org.sp_entity, &org.acs, vec![response("r", now, Some(&req_id), "new.person@acme.test")]);
    let signed = member.post_from_idp(&org.acs, &r["r"], Some(&relay)).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location.as_deref(), Some("/after"), "return_to rode on the request");
    assert!(member.has_session());
    let user = t.get(&format!("{B}/users/by-email?email=new.person%40acme.test"), 200).await;
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["first_name"], "Sam");
    let joined = member_of(&t, &org.id, "new.person@acme.test").await.expect("joined just in time");
    assert_eq!(joined["user_id"], user["user_id"]);

    // The session records the connection.
    let mut c = t.app().db().acquire().await.expect("connection");
    let uid: uuid::Uuid = user["user_id"].as_str().expect("id").parse().expect("uuid");
    let long_ago = chrono::Utc::now() - chrono::Duration::days(365);
    let sessions =
        tenantry_store::sessions::list_live_sessions(c.ex(), tenantry_core::UserId::from_uuid(uid), long_ago, long_ago)
            .await
            .expect("sessions");
    drop(c);
    assert!(sessions.iter().any(|s| s.sso_connection_id.is_some()), "the session names its connection");

    // SSO required, then removed (which lifts the requirement).
    let required = t
        .backend(
            reqwest::Method::PUT,
            &format!("{B}/orgs/{}/saml/required", org.id),
            Some(json!({ "required": true })),
            200,
        )
        .await;
    assert_eq!(required["sso_required"], true);
    // A member with a password now signs in only through SSO.
    let pw = t
        .post(
            &format!("{B}/users"),
            json!({ "email": "pw@acme.test", "email_verified": true, "password": "correct horse battery staple 42" }),
            201,
        )
        .await;
    t.post(&format!("{B}/orgs/{}/members", org.id), json!({ "user_id": pw["user_id"], "role": "Member" }), 201).await;
    let login = json!({ "email": "pw@acme.test", "password": "correct horse battery staple 42" });
    let refused = crate::support::anon(&t, "/api/v1/login", login.clone(), 403).await;
    assert_eq!(crate::support::problem_code(&refused), "sso-required");
    t.delete(&format!("{B}/orgs/{}/saml", org.id), 204).await;
    t.get(&format!("{B}/orgs/{}/saml", org.id), 404).await;
    crate::support::anon(&t, "/api/v1/login", login, 200).await;
    let conn_id = org.acs.split('/').rev().nth(1).expect("connection id").to_owned();
    assert_eq!(event_types(&t, &conn_id).await, ["org.saml_setup", "org.saml_went_live", "org.saml_removed"]);
    t.stop().await;
}

/// The attack corpus of docs/security.md, each POSTed to the ACS and refused with its reason in
/// the org's audit trail: unsigned, another key, XSW variants, comment in the NameID, tampered
/// NameID, DOCTYPE, wrong Audience, wrong Destination, SHA-1, expired, not yet valid, replayed,
/// unsolicited, InResponseTo of another request, another connection's assertion.
async fn saml_attack_corpus_is_refused_and_audited(engine: Engine) {
    let Some(python) = idp_python() else { return };
    let t = TestApp::spawn(engine).await;
    let org = org_with_saml(&t, &python, "acme", "acme.test", false).await;
    let other = org_with_saml(&t, &python, "other", "other.test", false).await;
    t.post(&format!("{B}/orgs/{}/saml/live", org.id), json!({}), 200).await;
    let b = Browser::new(&t);
    let now = t.clock_now();
    let email = "victim@acme.test";
    let f = fixtures();
    let (other_key, other_crt) = (f.join("other.key"), f.join("other.crt"));

    // One request per case, then one IdP run for them all.
    let mut cases: Vec<(&str, &str, Value)> = Vec::new();
    let mut relays = HashMap::new();
    let names = [
        "unsigned",
        "other_key",
        "evil_before",
        "nested",
        "extensions",
        "object",
        "duplicate",
        "comment",
        "tamper",
        "doctype",
        "audience",
        "destination",
        "sha1",
        "expired",
        "not_yet",
        "other_request",
    ];
    let mut ids = HashMap::new();
    for n in names {
        let (id, relay) = start(&b, email, None).await;
        ids.insert(n, id);
        relays.insert(n, relay);
    }
    let r = |n: &str, extra: Value| {
        let mut v = response(n, now, Some(&ids[n]), email);
        v.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        v
    };
    cases.push((
        "unsigned",
        "saml-unsigned",
        r("unsigned", json!({ "sign_response": false, "sign_assertion": false })),
    ));
    cases.push(("other_key", "saml-bad-signature", r("other_key", json!({ "key": other_key, "cert": other_crt }))));
    for (n, m) in
        [("evil_before", "evil_before"), ("nested", "nested"), ("extensions", "extensions"), ("object", "object")]
    {
        cases.push((n, "saml-structure", r(n, json!({ "sign_response": false, "mutation": m }))));
    }
    cases.push((
        "duplicate",
        "saml-duplicate-id",
        r("duplicate", json!({ "sign_response": false, "mutation": "duplicate" })),
    ));
    cases.push((
        "comment",
        "saml-comment",
        r("comment", json!({ "name_id": "victim@acme.test.evil.test", "sign_response": false, "mutation": "comment" })),
    ));
    cases.push((
        "tamper",
        "saml-bad-signature",
        r("tamper", json!({ "mutation": "tamper", "evil_name_id": "ceo@acme.test" })),
    ));
    cases.push(("doctype", "saml-doctype", r("doctype", json!({ "mutation": "doctype" }))));
    cases.push(("audience", "saml-audience", r("audience", json!({ "audience": other.sp_entity }))));
    cases.push(("destination", "saml-destination", r("destination", json!({ "destination": other.acs }))));
    cases.push(("sha1", "saml-weak-algorithm", r("sha1", json!({ "sha1": true }))));
    cases.push(("expired", "saml-expired", r("expired", json!({ "now": now - 600 }))));
    cases.push(("not_yet", "saml-not-yet-valid", r("not_yet", json!({ "now": now + 600 }))));
    let mut wanted: Vec<Value> = cases.iter().map(|(_, _, v)| v.clone()).collect();
    wanted.push(response("valid", now, Some(&ids["other_request"]), email));
    wanted.push(response("unsolicited", now, None, email));
    let (_, resp) = run_idp(&python, &org.sp_entity, &org.acs, wanted);

    let mut expected = Vec::new();
    for (name, code, _) in &cases {
        let a = b.post_from_idp(&org.acs, &resp[*name], Some(&relays[name])).await;
        assert_eq!(a.status, 401, "{name}: {}", a.body);
        assert!(a.body.contains(code), "{name}: expected {code} in {}", a.body);
        expected.push((*code).to_owned());
    }
    // A response to request A, posted with request B's RelayState.
    let a = b.post_from_idp(&org.acs, &resp["valid"], Some(&relays["evil_before"])).await;
    assert!(a.body.contains("saml-in-response-to"), "{}", a.body);
    expected.push("saml-in-response-to".into());
    // Unsolicited while IdP-initiated sign-in is off.
    let a = b.post_from_idp(&org.acs, &resp["unsolicited"], None).await;
    assert!(a.body.contains("saml-unsolicited"), "{}", a.body);
    expected.push("saml-unsolicited".into());
    // The valid response at another connection's ACS: wrong audience and destination there.
    let a = b.post_from_idp(&other.acs, &resp["valid"], Some(&relays["other_request"])).await;
    assert_eq!(a.status, 401, "{}", a.body);
    // The valid one at the right ACS signs in; the same POST again is a replay.
    let ok = b.post_from_idp(&org.acs, &resp["valid"], Some(&relays["other_request"])).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let again = b.post_from_idp(&org.acs, &resp["valid"], Some(&relays["other_request"])).await;
    assert!(again.body.contains("saml-replay"), "{}", again.body);
    expected.push("saml-replay".into());

    assert_eq!(refusals(&t, &org.id).await, expected, "each refusal audited with its reason, in order");
    t.stop().await;
}

/// Isolated orgs: the same email is a separate account in each isolated org and outside; the
/// isolated account is created in the org's pool and cannot join another org.
async fn isolated_orgs_keep_separate_accounts(engine: Engine) {
    let Some(python) = idp_python() else { return };
    let t = TestApp::spawn(engine).await;
    let shared = t.post(&format!("{B}/users"), json!({ "email": "pat@one.test", "email_verified": true }), 201).await;
    let one = org_with_saml(&t, &python, "one", "one.test", false).await;
    // Converting lists who blocks it: a member with a password.
    let pw = t
        .post(
            &format!("{B}/users"),
            json!({ "email": "pw@one.test", "email_verified": true, "password": "correct horse battery staple 42" }),
            201,
        )
        .await;
    let pw_id = pw["user_id"].as_str().expect("id");
    t.post(&format!("{B}/orgs/{}/members", one.id), json!({ "user_id": pw_id, "role": "Member" }), 201).await;
    let blocked = t.post(&format!("{B}/orgs/{}/isolate", one.id), json!({}), 409).await;
    assert_eq!(crate::support::problem_code(&blocked), "isolation-blocked");
    assert!(blocked["detail"].as_str().expect("detail").contains("pw@one.test (has a password)"), "{blocked}");
    t.delete(&format!("{B}/orgs/{}/members/{pw_id}", one.id), 204).await;
    t.post(&format!("{B}/orgs/{}/isolate", one.id), json!({}), 204).await;
    let two = org_with_saml(&t, &python, "two", "two.test", true).await;
    let mut ids = Vec::new();
    for org in [&one, &two] {
        t.post(&format!("{B}/orgs/{}/saml/live", org.id), json!({}), 200).await;
        let b = Browser::new(&t);
        let slug = if org.id == one.id { "one" } else { "two" };
        let (req, relay) = start(&b, slug, None).await;
        let (_, r) =
            run_idp(&python, &org.sp_entity, &org.acs, vec![response("r", t.clock_now(), Some(&req), "pat@one.test")]);
        let a = b.post_from_idp(&org.acs, &r["r"], Some(&relay)).await;
        if org.id == two.id {
            assert_eq!(a.status, 303, "an isolated org takes any domain its IdP vouches for: {}", a.body);
        } else {
            assert_eq!(a.status, 303, "{}", a.body);
        }
        let m = member_of(&t, &org.id, "pat@one.test").await.unwrap_or_else(|| panic!("pat joined {slug}"));
        ids.push(m["user_id"].as_str().expect("id").to_owned());
    }
    assert_ne!(ids[0], ids[1], "one account per isolated org");
    assert!(!ids.contains(&shared["user_id"].as_str().expect("id").to_owned()), "and apart from the shared one");
    // The shared account is the one found by email without a pool.
    let found = t.get(&format!("{B}/users/by-email?email=pat%40one.test"), 200).await;
    assert_eq!(found["user_id"], shared["user_id"]);
    t.stop().await;
}

/// An IdP-initiated response with `groups`.
fn unsolicited(name: &str, now: i64, email: &str, groups: &[&str]) -> Value {
    json!({
        "name": name, "now": now, "in_response_to": null, "name_id": email,
        "attributes": { "email": email, "givenName": "Ida", "sn": "Idp", "groups": groups },
    })
}

/// A connection that takes IdP-initiated sign-ins, maps groups to roles and vouches for MFA:
/// the role follows the groups at each sign-in (an owner keeps ownership), the session and its
/// tokens say `amr: ["saml", "mfa"]`, and that meets the org's 2FA requirement, for that org only;
/// without the IdP's MFA the same person is sent to enroll. Replaying the response fails on a
/// second node as on the first.
async fn idp_initiated_group_roles_and_idp_mfa(engine: Engine) {
    let Some(python) = idp_python() else { return };
    let t = TestApp::spawn(engine).await;
    let org = org_with_saml(&t, &python, "acme", "acme.test", false).await;
    let (metadata, _) = run_idp(&python, "urn:unused", "https://unused.test/acs", vec![]);
    let setup = |mfa: bool| {
        json!({
            "metadata_xml": metadata, "allow_idp_initiated": true, "idp_enforces_mfa": mfa,
            "attribute_mapping": { "groups": "groups", "group_roles": { "admins": "admin", "staff": "Member" } },
        })
    };
    // The owner's role cannot be handed out through groups.
    let bad = json!({ "metadata_xml": metadata, "attribute_mapping": { "group_roles": { "x": "Owner" } } });
    let refused = t.backend(reqwest::Method::PUT, &format!("{B}/orgs/{}/saml", org.id), Some(bad), 422).await;
    assert_eq!(crate::support::problem_code(&refused), "saml-group-role-invalid");
    let conn = t.backend(reqwest::Method::PUT, &format!("{B}/orgs/{}/saml", org.id), Some(setup(true)), 200).await;
    assert_eq!(conn["attribute_mapping"]["group_roles"]["admins"], "Admin", "stored with the role's own name");
    t.post(&format!("{B}/orgs/{}/saml/live", org.id), json!({}), 200).await;
    t.backend(
        reqwest::Method::PUT,
        &format!("{B}/orgs/{}/mfa-requirement", org.id),
        Some(json!({ "required": true })),
        200,
    )
    .await;

    // First sign-in, unasked: joins at the role of the highest mapped group.
    let now = t.clock_now();
    let (_, r) = run_idp(
        &python,
        &org.sp_entity,
        &org.acs,
        vec![
            unsolicited("first", now, "ida@acme.test", &["staff", "admins", "unmapped"]),
            unsolicited("second", now, "ida@acme.test", &["staff"]),
            unsolicited("third", now, "ida@acme.test", &["unmapped"]),
        ],
    );
    let ida = Browser::new(&t);
    let signed = ida.post_from_idp(&org.acs, &r["first"], None).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(member_of(&t, &org.id, "ida@acme.test").await.expect("joined")["role"], "Admin");
    let token = ida.access_token().await;
    let claims = crate::support::jwt_payload(&token);
    assert_eq!(claims["amr"], json!(["saml", "mfa"]));
    let claim = &claims["orgs"][&org.id];
    assert_eq!(claim["role"], "Admin", "the IdP's MFA meets the org's 2FA requirement: {claims}");
    assert!(claim["mfa_required"].as_bool() != Some(true), "{claims}");
    let got = t.client.get(t.url(&format!("/api/v1/orgs/{}", org.id))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(got.status(), 200, "the org's own operations let the session act");

    // Replayed to a second node on the same database: refused there too.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = tenantry_server::start_on(t.config.clone(), listener, t.clock.clone()).await.unwrap();
    let acs_b = org.acs.replacen(&t.base, &format!("http://{}", b.addr), 1);
    let replay = Browser::new(&t).post_from_idp(&acs_b, &r["first"], None).await;
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(replay.body.contains("saml-replay"), "{}", replay.body);

    // Later sign-ins: the role follows the mapped groups, and stays when none is mapped.
    assert_eq!(Browser::new(&t).post_from_idp(&acs_b, &r["second"], None).await.status, 303);
    assert_eq!(member_of(&t, &org.id, "ida@acme.test").await.expect("member")["role"], "Member");
    assert_eq!(Browser::new(&t).post_from_idp(&org.acs, &r["third"], None).await.status, 303);
    assert_eq!(member_of(&t, &org.id, "ida@acme.test").await.expect("member")["role"], "Member");
    b.shutdown.cancel();
    let _ = b.task.await;

    // The owner's groups never take ownership away.
    let (_, r) = run_idp(&python, &org.sp_entity, &org.acs, vec![unsolicited("o", now, "owner@acme.test", &["staff"])]);
    assert_eq!(Browser::new(&t).post_from_idp(&org.acs, &r["o"], None).await.status, 303);
    assert_eq!(member_of(&t, &org.id, "owner@acme.test").await.expect("owner")["role"], "Owner");

    // Without the IdP's MFA, the same person has no 2FA here: the token marks the org, and the
    // org's operations answer mfa-required.
    t.backend(reqwest::Method::PUT, &format!("{B}/orgs/{}/saml", org.id), Some(setup(false)), 200).await;
    t.post(&format!("{B}/orgs/{}/saml/live", org.id), json!({}), 200).await;
    let (_, r) = run_idp(&python, &org.sp_entity, &org.acs, vec![unsolicited("r", now, "ida@acme.test", &[])]);
    let again = Browser::new(&t);
    assert_eq!(again.post_from_idp(&org.acs, &r["r"], None).await.status, 303);
    let token = again.access_token().await;
    let claims = crate::support::jwt_payload(&token);
    assert_eq!(claims["amr"], json!(["saml"]));
    assert_eq!(claims["orgs"][&org.id]["mfa_required"], true, "{claims}");
    let got = t.client.get(t.url(&format!("/api/v1/orgs/{}", org.id))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(got.status(), 403);
    let body: Value = got.json().await.expect("problem");
    assert_eq!(crate::support::problem_code(&body), "mfa-required");

    // A day later the sweeper has forgotten the five consumed assertion ids: their assertions
    // expired long ago, so their own time window refuses a replay now.
    t.clock.advance(chrono::TimeDelta::days(1));
    let sweeper = tenantry_app::housekeeping::Sweeper::new(t.app().clone(), Default::default());
    let report = sweeper.sweep_once().await.expect("sweep").expect("the lease is free");
    assert_eq!(report["sso_assertion_ids"], 5, "{report:?}");
    let late = Browser::new(&t).post_from_idp(&org.acs, &r["r"], None).await;
    assert_eq!(late.status, 401, "{}", late.body);
    assert!(!late.body.contains("saml-replay"), "refused as expired, not as a replay: {}", late.body);
    t.stop().await;
}

/// Encrypted assertions: each connection has its own key pair, published in its SP metadata and
/// kept when its IdP settings are replaced; pysaml2 encrypts to it (AES-256-CBC or AES-256-GCM
/// with RSA-OAEP). Signed Response over the ciphertext, or only the assertion signed inside: in.
/// Neither signed, PKCS#1 v1.5 key transport, or encrypted to another key: refused and audited.
async fn encrypted_assertions_are_decrypted_with_the_connections_key(engine: Engine) {
    let Some(python) = idp_python() else { return };
    let t = TestApp::spawn(engine).await;
    let org = org_with_saml(&t, &python, "acme", "acme.test", false).await;
    let conn = t.get(&format!("{B}/orgs/{}/saml", org.id), 200).await;
    let cert = conn["sp_encryption_certificate"].as_str().expect("a certificate").to_owned();
    let md = t.client.get(&org.sp_entity).send().await.expect("metadata").text().await.expect("xml");
    assert!(md.contains("use=\"encryption\"") && md.contains(&cert), "{md}");
    let (metadata, _) = run_idp(&python, "urn:unused", "https://unused.test/acs", vec![]);
    t.backend(
        reqwest::Method::PUT,
        &format!("{B}/orgs/{}/saml", org.id),
        Some(json!({ "metadata_xml": metadata })),
        200,
    )
    .await;
    let again = t.get(&format!("{B}/orgs/{}/saml", org.id), 200).await;
    assert_eq!(again["sp_encryption_certificate"], cert, "the IdP keeps the certificate it imported");
    t.post(&format!("{B}/orgs/{}/saml/live", org.id), json!({}), 200).await;

    let idp_cert: String = std::fs::read_to_string(fixtures().join("idp.crt"))
        .expect("fixture")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let gcm = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
    let pkcs1 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
    let cases: [(&str, Value, Option<&str>); 6] = [
        ("both-signed", json!({ "encrypt_cert": cert }), None),
        ("gcm", json!({ "encrypt_cert": cert, "encrypt_alg": gcm }), None),
        ("assertion-signed", json!({ "encrypt_cert": cert, "sign_response": false }), None),
        (
            "unsigned",
            json!({ "encrypt_cert": cert, "sign_response": false, "sign_assertion": false }),
            Some("saml-unsigned"),
        ),
        ("pkcs1", json!({ "encrypt_cert": cert, "key_transport": pkcs1 }), Some("saml-decryption")),
        ("other-key", json!({ "encrypt_cert": idp_cert }), Some("saml-decryption")),
    ];
    for (i, (name, extra, refusal)) in cases.iter().enumerate() {
        let b = Browser::new(&t);
        let email = format!("enc{i}@acme.test");
        let (req, relay) = start(&b, &email, None).await;
        let mut r = response(name, t.clock_now(), Some(&req), &email);
        r.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        let (_, out) = run_idp(&python, &org.sp_entity, &org.acs, vec![r]);
        let xml = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&out[*name]).expect("b64"))
            .expect("utf-8");
        assert!(xml.contains("EncryptedAssertion") && !xml.contains(&email), "{name}: the IdP encrypted it");
        let answer = b.post_from_idp(&org.acs, &out[*name], Some(&relay)).await;
        match refusal {
            None => {
                assert_eq!(answer.status, 303, "{name}: {}", answer.body);
                assert!(member_of(&t, &org.id, &email).await.is_some(), "{name}: signed in and joined");
            }
            Some(code) => {
                assert_eq!(answer.status, 401, "{name}: {}", answer.body);
                assert!(answer.body.contains(code), "{name}: {}", answer.body);
                assert_eq!(refusals(&t, &org.id).await.last().map(String::as_str), Some(*code), "{name}");
            }
        }
    }
    t.stop().await;
}

/// An org created isolated through the backend API: no owner may be named; it starts empty, and
/// its SSO's first sign-in makes the person's account in its own pool (apart from the same email
/// outside), who may not sign in with a password or join another org.
async fn an_org_created_isolated_fills_through_its_sso(engine: Engine) {
    let Some(python) = idp_python() else { return };
    let t = TestApp::spawn(engine).await;
    let outside = t.post(&format!("{B}/users"), json!({ "email": "kim@corp.test", "email_verified": true }), 201).await;
    let refused = t
        .post(
            &format!("{B}/orgs"),
            json!({ "name": "Corp", "isolated": true, "owner_user_id": outside["user_id"] }),
            422,
        )
        .await;
    assert_eq!(crate::support::problem_code(&refused), "isolated-owner");
    let org = t.post(&format!("{B}/orgs"), json!({ "name": "Corp", "slug": "corp", "isolated": true }), 201).await;
    assert_eq!(org["isolated"], true);
    assert_eq!(org["member_count"], 0);
    let id = org["org_id"].as_str().expect("id").to_owned();
    let (metadata, _) = run_idp(&python, "urn:unused", "https://unused.test/acs", vec![]);
    let conn = t
        .backend(reqwest::Method::PUT, &format!("{B}/orgs/{id}/saml"), Some(json!({ "metadata_xml": metadata })), 200)
        .await;
    t.post(&format!("{B}/orgs/{id}/saml/live"), json!({}), 200).await;
    let (acs, sp_entity) = (conn["acs_url"].as_str().expect("acs"), conn["sp_entity_id"].as_str().expect("sp"));

    let b = Browser::new(&t);
    let (req, relay) = start(&b, "corp", None).await;
    let (_, r) = run_idp(&python, sp_entity, acs, vec![response("r", t.clock_now(), Some(&req), "kim@corp.test")]);
    let signed = b.post_from_idp(acs, &r["r"], Some(&relay)).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let member = member_of(&t, &id, "kim@corp.test").await.expect("joined just in time");
    assert_ne!(member["user_id"], outside["user_id"], "an account of the org's own pool");
    assert_eq!(member["role"], "Viewer", "the default role");
    let other = t.post(&format!("{B}/orgs"), json!({ "name": "Other" }), 201).await;
    let joined = t
        .client
        .post(t.url(&format!("{B}/orgs/{}/members", other["org_id"].as_str().expect("id"))))
        .bearer_auth(&t.api_key)
        .json(&json!({ "user_id": member["user_id"], "role": "Member" }))
        .send()
        .await
        .expect("sent");
    assert!(joined.status().is_client_error(), "an isolated org's user joins no other org: {}", joined.status());
    t.stop().await;
}

engine_tests!(
    an_org_created_isolated_fills_through_its_sso,
    encrypted_assertions_are_decrypted_with_the_connections_key,
    saml_connection_lifecycle_and_sign_in,
    saml_attack_corpus_is_refused_and_audited,
    isolated_orgs_keep_separate_accounts,
    idp_initiated_group_roles_and_idp_mfa,
);
