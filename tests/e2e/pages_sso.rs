//! The org's single sign-on page (issue 15) over HTTP through [`Browser`], with pysaml2 as the IdP
//! (tests/peers/saml_idp.py, as tests/e2e/sso.rs): set up from the IdP's metadata (refusals
//! beside their fields first), what the IdP's administrator needs and the SP metadata behind the
//! download link, "Test sign-in" through the ordinary SSO start ending on the test page, going live
//! (confirmation), requiring SSO, replacing the settings, removing (confirmation); and who may:
//! Owners and Admins hold `org.sso.manage`, a Member and a Viewer are refused by the use case,
//! an outsider gets the 404. Both engines.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use serde_json::{json, Value};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::pages_support::{Browser, Page, PASSWORD};
use crate::sso::{fixtures, idp_python};

/// One run of the IdP in its JSON-job mode ([`crate::sso::run_idp`]): its metadata, and a
/// response to `sp` answering `in_response_to` for `email` at the server's time `now` (when asked).
fn run_idp(python: &Path, sp: Option<(&str, &str)>, answer: Option<(&str, &str, i64)>) -> (String, Option<String>) {
    let (sp_entity, acs) = sp.unwrap_or(("urn:unused", "https://unused.test/acs"));
    let responses: Vec<Value> = answer
        .map(|(req_id, email, now)| {
            json!({ "name": "r", "now": now, "in_response_to": req_id, "name_id": email,
                    "attributes": { "email": email, "givenName": "Ada", "sn": "Lovelace" } })
        })
        .into_iter()
        .collect();
    let (metadata, mut out) = crate::sso::run_idp(python, sp_entity, acs, responses);
    (metadata, out.remove("r"))
}

async fn person(t: &TestApp, email: &str) -> String {
    let body = json!({ "email": email, "password": PASSWORD, "email_verified": true });
    t.post("/api/backend/v1/users", body, 201).await["user_id"].as_str().expect("user id").to_owned()
}

const EMAILS: [&str; 4] = ["ada@acme.test", "bea@acme.test", "cy@acme.test", "di@acme.test"];

/// Acme (slug `acme`, domain acme.test) with an Owner, an Admin, a Member and a Viewer.
async fn team(t: &TestApp) -> String {
    let ada = person(t, EMAILS[0]).await;
    let body = json!({ "name": "Acme", "slug": "acme", "owner_user_id": ada, "domains": ["acme.test"] });
    let org = t.post("/api/backend/v1/orgs", body, 201).await["org_id"].as_str().expect("org id").to_owned();
    for (email, role) in EMAILS[1..].iter().zip(["Admin", "Member", "Viewer"]) {
        let id = person(t, email).await;
        let body = json!({ "user_id": id, "role": role });
        t.post(&format!("/api/backend/v1/orgs/{org}/members"), body, 201).await;
    }
    org
}

async fn browser<'a>(t: &'a TestApp, email: &str) -> Browser<'a> {
    let b = Browser::new(t);
    b.sign_in(email, PASSWORD).await;
    b
}

/// The text of the `<code>` that follows `label` on the page.
fn code_after(page: &Page, label: &str) -> String {
    let text = page.text();
    let from = text.find(label).unwrap_or_else(|| panic!("{label} not on the page:\n{}", page.body));
    let rest = &text[from..];
    let start = rest.find("<code class=\"admin-id\">").expect("a code") + "<code class=\"admin-id\">".len();
    rest[start..start + rest[start..].find("</code>").expect("its end")].to_owned()
}

async fn set_up_test_go_live_require_replace_remove(engine: Engine) {
    let Some(python) = idp_python() else { return };
    let t = TestApp::spawn(engine).await;
    let o = team(&t).await;
    let sso = format!("/orgs/{o}/sso");
    let owner = browser(&t, EMAILS[0]).await;

    // No connection yet: the setup form, with the default attribute names filled in.
    let page = owner.get(&sso).await;
    page.assert_status(200).assert_shows("Set up single sign-on (SAML)").assert_shows("Single sign-on</a>");
    assert_eq!(page.body.matches("aria-current=\"page\"").count(), 2, "Orgs in the top bar, SSO in the admin nav");
    page.assert_shows("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress");
    // Its "Test sign-in" form is answered with a redirect to the IdP: the page's form-action allows
    // one (https, or http on loopback), where other pages allow only this origin.
    let csp = |p: &Page| p.headers["content-security-policy"].to_str().expect("ASCII").to_owned();
    assert!(csp(&page).contains("form-action 'self' https: http://localhost:*"), "{}", csp(&page));
    assert!(csp(&owner.get(&format!("/orgs/{o}")).await).contains("form-action 'self';"));
    assert!(csp(&owner.get("/sso").await).contains("form-action 'self' https:"));

    // Refusals: no source, a bad group line, metadata that is not metadata.
    let none = owner.submit(&page, &sso, &[]).await;
    none.assert_status(422).assert_shows("Paste the metadata XML, enter its URL, or fill in the three settings");
    assert!(none.body.contains("href=\"#metadata_xml\""), "the summary links to the field");
    let (metadata, _) = run_idp(&python, None, None);
    let bad_line = owner.submit(&none, &sso, &[("metadata_xml", &metadata), ("group_roles", "eng Admin")]).await;
    bad_line.assert_status(422).assert_shows("Write each line as a group, an equals sign and a role");
    assert!(bad_line.body.contains("id=\"group_roles-error\""), "the message sits beside its field");
    let not_xml = owner.submit(&bad_line, &sso, &[("metadata_xml", "<nope/>")]).await;
    not_xml.assert_status(422).assert_shows("The identity provider's metadata could not be used");
    assert!(not_xml.body.contains("id=\"metadata_xml-error\""), "{}", not_xml.body);
    t.get(&format!("/api/backend/v1/orgs/{o}/saml"), 404).await;

    // Set up from the IdP's metadata, with groups mapped to roles.
    let fields = [
        ("metadata_xml", metadata.as_str()),
        ("email_attributes", ""),
        ("groups_attribute", "groups"),
        ("group_roles", "eng = Admin\nops = Member"),
        ("idp_enforces_mfa", "on"),
    ];
    owner.submit(&not_xml, &sso, &fields).await.assert_redirect(&sso);
    let page = owner.get(&sso).await;
    page.assert_status(200).assert_shows("Single sign-on is set up, in test mode.").assert_shows("In test mode.");
    page.assert_shows("Make the connection live first.").assert_shows("eng = Admin").assert_shows("ops = Member");
    let conn = t.get(&format!("/api/backend/v1/orgs/{o}/saml"), 200).await;
    assert_eq!(conn["status"], "test");
    assert_eq!(conn["idp_enforces_mfa"], true);
    assert_eq!(conn["attribute_mapping"]["groups"], "groups");
    assert_eq!(conn["attribute_mapping"]["group_roles"], json!({ "eng": "Admin", "ops": "Member" }));
    assert_eq!(conn["attribute_mapping"]["email"][0], "email", "an empty list keeps the defaults");
    let (sp_entity, acs) =
        (code_after(&page, "Entity ID (audience)"), code_after(&page, "Assertion consumer service URL"));
    assert_eq!(
        (sp_entity.as_str(), acs.as_str()),
        (conn["sp_entity_id"].as_str().unwrap(), conn["acs_url"].as_str().unwrap())
    );

    // The download link serves the SP metadata the IdP imports.
    assert!(page.text().contains(&format!("href=\"{sp_entity}\" download")), "{}", page.body);
    let md = t.client.get(&sp_entity).send().await.expect("metadata");
    assert_eq!(md.status(), 200);
    assert!(md.text().await.expect("xml").contains(&format!("Location=\"{acs}\"")));

    // Requiring SSO needs a live connection: the use case refuses, the page says so.
    let refused = owner.submit(&page, &format!("{sso}/required"), &[("required", "on")]).await;
    refused.assert_status(422).assert_shows("The single sign-on connection is not in use yet.");

    // Test sign-in: the page's form starts the ordinary SSO sign-in for the org, to the IdP.
    assert!(page.body.contains("name=\"identifier\" value=\"acme\""), "the test starts with the org's slug");
    let went = owner.submit(&page, "/sso", &[("identifier", "acme"), ("return_to", &sso)]).await;
    let idp_url = reqwest::Url::parse(went.location.as_deref().expect("to the IdP")).expect("a URL");
    assert_eq!(idp_url.host_str(), Some("idp.example.test"));
    let q: HashMap<_, _> = idp_url.query_pairs().into_owned().collect();
    let deflated = base64::engine::general_purpose::STANDARD.decode(&q["SAMLRequest"]).expect("base64");
    let mut request = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..]).read_to_string(&mut request).expect("inflates");
    let req_id = request.split("ID=\"").nth(1).and_then(|s| s.split('"').next()).expect("the request's ID");
    let (_, response) = run_idp(&python, Some((&sp_entity, &acs)), Some((req_id, EMAILS[0], t.clock_now())));
    let acs_path = acs.strip_prefix(&t.base).expect("the ACS is on this server");
    let tested = owner
        .post_raw(acs_path, &[("SAMLResponse", &response.expect("a response")), ("RelayState", &q["RelayState"])])
        .await;
    tested.assert_status(200).assert_shows("SSO test: it works").assert_shows(EMAILS[0]).assert_shows("givenName");

    // Go live, after the confirmation page.
    let confirm = owner.get(&format!("{sso}/live")).await;
    confirm.assert_status(200).assert_shows("Make single sign-on live?");
    owner.submit(&confirm, &format!("{sso}/live"), &[]).await.assert_redirect(&sso);
    let page = owner.get(&sso).await;
    page.assert_shows("Single sign-on is live.").assert_shows("Live.").assert_hides("In test mode.");
    page.assert_hides(&format!("href=\"{sso}/live\""));
    let again = owner.submit(&confirm, &format!("{sso}/live"), &[]).await;
    again.assert_status(422).assert_shows("Take the single sign-on connection out of use first.");

    // Require SSO, then stop.
    owner.submit(&page, &format!("{sso}/required"), &[("required", "on")]).await.assert_redirect(&sso);
    let page = owner.get(&sso).await;
    page.assert_shows("Members must now sign in through single sign-on.").assert_shows("Stop requiring single sign-on");
    assert_eq!(t.get(&format!("/api/backend/v1/orgs/{o}/saml"), 200).await["sso_required"], true);
    owner.submit(&page, &format!("{sso}/required"), &[("required", "off")]).await.assert_redirect(&sso);
    assert_eq!(t.get(&format!("/api/backend/v1/orgs/{o}/saml"), 200).await["sso_required"], false);

    // Replace the settings: the form comes filled in with what is stored; afterwards, test mode.
    let edit = owner.get(&format!("{sso}/edit")).await;
    edit.assert_status(200).assert_shows("Replace the single sign-on settings").assert_shows("eng = Admin");
    assert!(edit
        .body
        .contains("name=\"idp_enforces_mfa\" value=\"on\" aria-describedby=\"idp_enforces_mfa-hint\" checked"));
    assert_eq!(edit.input_value("idp_entity_id").as_deref(), Some("https://idp.example.test/metadata"));
    let replaced = owner
        .submit(&edit, &sso, &[("replacing", "1"), ("metadata_xml", &metadata), ("group_roles", "eng Admin")])
        .await;
    replaced.assert_status(422).assert_shows("Replace the single sign-on settings");
    owner.submit(&edit, &sso, &[("replacing", "1"), ("metadata_xml", &metadata)]).await.assert_redirect(&sso);
    let page = owner.get(&sso).await;
    page.assert_shows("The settings are replaced.").assert_shows("In test mode.");
    let conn2 = t.get(&format!("/api/backend/v1/orgs/{o}/saml"), 200).await;
    assert_eq!((conn2["id"].clone(), conn2["status"].clone()), (conn["id"].clone(), json!("test")), "same connection");

    // Remove, after the confirmation page.
    let confirm = owner.get(&format!("{sso}/remove")).await;
    confirm.assert_status(200).assert_shows("Remove single sign-on?");
    owner.submit(&confirm, &format!("{sso}/remove"), &[]).await.assert_redirect(&sso);
    owner.get(&sso).await.assert_shows("Single sign-on is removed.").assert_shows("Set up single sign-on (SAML)");
    t.get(&format!("/api/backend/v1/orgs/{o}/saml"), 404).await;
    // Its pages without a connection lead back to the setup form.
    owner.get(&format!("{sso}/remove")).await.assert_redirect(&sso);
    t.stop().await;
}

engine_tests!(set_up_test_go_live_require_replace_remove);

async fn who_may_follows_the_use_cases(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let o = team(&t).await;
    let sso = format!("/orgs/{o}/sso");
    let [owner, admin, member, viewer] = [
        browser(&t, EMAILS[0]).await,
        browser(&t, EMAILS[1]).await,
        browser(&t, EMAILS[2]).await,
        browser(&t, EMAILS[3]).await,
    ];

    // Owners and Admins hold org.sso.manage: the link and the page.
    for b in [&owner, &admin] {
        b.get(&format!("/orgs/{o}")).await.assert_shows(&format!("href=\"{sso}\""));
        b.get(&sso).await.assert_status(200).assert_shows("Set up single sign-on (SAML)");
    }

    // An Admin sets it up by hand; a bad SSO URL is refused beside its field.
    let cert = std::fs::read_to_string(fixtures().join("idp.crt")).expect("the IdP's certificate");
    let page = admin.get(&sso).await;
    let manual =
        |url: &'static str| vec![("idp_entity_id", "urn:idp:acme"), ("idp_sso_url", url), ("idp_certificate", "")];
    let mut fields = manual("http://idp.acme.test/sso");
    fields[2].1 = &cert;
    let bad = admin.submit(&page, &sso, &fields).await;
    bad.assert_status(422).assert_shows("The identity provider's metadata could not be used");
    assert!(bad.body.contains("id=\"idp_sso_url-error\""), "{}", bad.body);
    assert_eq!(bad.input_value("idp_entity_id").as_deref(), Some("urn:idp:acme"), "what was typed stays");
    let half = admin.submit(&page, &sso, &manual("https://idp.acme.test/sso")).await;
    half.assert_status(422).assert_shows("Paste the signing certificate");
    let mut fields = manual("https://idp.acme.test/sso");
    fields[2].1 = &cert;
    admin.submit(&page, &sso, &fields).await.assert_redirect(&sso);
    admin.get(&sso).await.assert_shows("urn:idp:acme").assert_shows("In test mode.");

    // A Member and a Viewer: no link, and the use case refuses them the page and every action.
    for b in [&member, &viewer] {
        b.get(&format!("/orgs/{o}")).await.assert_status(200).assert_hides(&format!("href=\"{sso}\""));
        let refused = b.get(&sso).await;
        refused.assert_status(403).assert_shows("You do not have permission to do this.");
        refused.assert_hides("urn:idp:acme");
        // Their own account page carries their CSRF token (the org's pages have no form for them).
        let settings = b.get("/account").await;
        for action in ["/live", "/remove", "/required"] {
            let answer = b.submit(&settings, &format!("{sso}{action}"), &[("required", "on")]).await;
            answer.assert_shows("You do not have permission to do this.");
            assert_ne!(answer.status, 303, "{action} must not succeed");
        }
        let answer = b.submit(&settings, &sso, &fields).await;
        answer.assert_status(422).assert_shows("You do not have permission to do this.");
    }
    let conn = t.get(&format!("/api/backend/v1/orgs/{o}/saml"), 200).await;
    assert_eq!((conn["status"].as_str(), conn["idp_entity_id"].as_str()), (Some("test"), Some("urn:idp:acme")));

    // An outsider gets the 404; a form without its token is refused.
    person(&t, "eve@elsewhere.test").await;
    let eve = browser(&t, "eve@elsewhere.test").await;
    eve.get(&sso).await.assert_status(404);
    eve.get(&format!("/orgs/{o}/sso/edit")).await.assert_status(404);
    owner.post_raw(&format!("{sso}/remove"), &[]).await.assert_status(403);
    t.get(&format!("/api/backend/v1/orgs/{o}/saml"), 200).await;
    t.stop().await;
}

engine_tests!(who_may_follows_the_use_cases);
