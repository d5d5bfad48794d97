//! An org's single sign-on page (issue 15), under `/orgs/{org_id}/sso`: set up the SAML
//! connection from the IdP's metadata (pasted or from a URL) or by hand, with its options and
//! attribute mapping; then what the IdP's administrator needs (SP entity id, ACS URL, the SP
//! metadata to download), the status with "Go live" and "Test sign-in", requiring SSO, replacing
//! the settings and removing the connection (each destructive step on a confirmation page).
//!
//! Every handler calls the use case the end-user API calls (`crates/tenantry-api/src/enduser/
//! sso.rs`): `set_up_saml`, `get_saml`, `saml_go_live`, `set_sso_required`, `remove_saml`. Who may
//! do what is theirs to decide (`org.sso.manage`); a refusal is shown as it is. "Test sign-in"
//! is the ordinary SSO sign-in (`/sso` with the org's slug), which in test mode ends on the test
//! page showing what the IdP sent.

use std::collections::BTreeMap;

use poem::http::StatusCode;
use poem::web::Path;
use poem::{get, handler, post, Body, Request, Response, Route};
use serde_json::{json, Value};
use tenantry_app::sso::{SamlConnection, SamlSource, SetUpSaml};
use tenantry_app::AppError;
use tenantry_sso::AttributeMapping;

use crate::admin::{seat, with, Seat};
use crate::forms::{Form, Refusal};
use crate::Visit;

pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/orgs/:org_id/sso", get(sso_page).post(set_up))
        .at("/orgs/:org_id/sso/edit", get(edit_page))
        .at("/orgs/:org_id/sso/live", get(live_page).post(go_live))
        .at("/orgs/:org_id/sso/required", post(set_required))
        .at("/orgs/:org_id/sso/remove", get(remove_page).post(remove))
}

/// The org's connection: `Ok(None)` when it has none yet; a refusal (an outsider, a member
/// without `org.sso.manage`) is the page to answer with.
async fn connection(visit: &Visit<'_>, seat: &Seat) -> Result<Option<SamlConnection>, Response> {
    match visit.app().get_saml(&visit.ctx(), seat.org.id).await {
        Ok(c) => Ok(Some(c)),
        Err(AppError::Domain(e)) if e.code == "sso-connection-not-found" => Ok(None),
        Err(e) => Err(visit.refusal_page(e)),
    }
}

/// The connection as the page shows it.
fn connection_context(c: &SamlConnection) -> Value {
    let m = &c.attribute_mapping;
    json!({
        "id": c.id.to_string(),
        "live": c.status == "live",
        "idp_entity_id": c.idp_entity_id,
        "idp_sso_url": c.idp_sso_url,
        "certificates": c.idp_certificates.len(),
        "metadata_url": c.metadata_url,
        "allow_idp_initiated": c.allow_idp_initiated,
        "allow_sha1": c.allow_sha1,
        "idp_enforces_mfa": c.idp_enforces_mfa,
        "sp_entity_id": c.sp_entity_id,
        "acs_url": c.acs_url,
        "sp_metadata_url": c.sp_metadata_url,
        "sso_required": c.sso_required,
        "mapping": {
            "email": m.email.join(", "),
            "first_name": m.first_name.join(", "),
            "last_name": m.last_name.join(", "),
            "groups": m.groups,
            "group_roles": m.group_roles.iter().map(|(g, r)| json!({ "group": g, "role": r })).collect::<Vec<_>>(),
        },
    })
}

/// The setup form's values: what is stored (when replacing), else the defaults.
fn form_values(existing: Option<&SamlConnection>) -> Value {
    let lines = |v: &[String]| v.join("\n");
    let defaults = AttributeMapping::default();
    let m = existing.map_or(&defaults, |c| &c.attribute_mapping);
    let mut values = json!({
        "email_attributes": lines(&m.email),
        "first_name_attributes": lines(&m.first_name),
        "last_name_attributes": lines(&m.last_name),
        "groups_attribute": m.groups.clone().unwrap_or_default(),
        "group_roles": m.group_roles.iter().map(|(g, r)| format!("{g} = {r}")).collect::<Vec<_>>().join("\n"),
    });
    if let Some(c) = existing {
        let flag = |on: bool| if on { "on" } else { "" };
        values["allow_idp_initiated"] = json!(flag(c.allow_idp_initiated));
        values["idp_enforces_mfa"] = json!(flag(c.idp_enforces_mfa));
        values["allow_sha1"] = json!(flag(c.allow_sha1));
        match &c.metadata_url {
            Some(url) => values["metadata_url"] = json!(url),
            None => {
                values["idp_entity_id"] = json!(c.idp_entity_id);
                values["idp_sso_url"] = json!(c.idp_sso_url);
                values["idp_certificate"] =
                    json!(c.idp_certificates.iter().map(|c| pem(c)).collect::<Vec<_>>().join("\n"));
            }
        }
    }
    values
}

/// A base64 DER certificate as PEM, as people paste it.
fn pem(der_base64: &str) -> String {
    let body: Vec<String> = der_base64.as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----", body.join("\n"))
}

fn defaults_context() -> Value {
    let d = AttributeMapping::default();
    json!({ "email": d.email.join(", "), "first_name": d.first_name.join(", "), "last_name": d.last_name.join(", ") })
}

/// The context of the SSO page: the connection, or the setup form.
fn page_context(seat: &Seat, conn: Option<&SamlConnection>) -> Value {
    with(
        seat.base("sso"),
        json!({
            "connection": conn.map(connection_context),
            "defaults": defaults_context(),
            "replacing": false,
        }),
    )
}

#[handler]
async fn sso_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let conn = tri!(connection(&visit, &seat).await);
    let values = if conn.is_none() { form_values(None) } else { json!({}) };
    let page = visit.render("admin_sso", with(page_context(&seat, conn.as_ref()), json!({ "values": values })));
    // Its "Test sign-in" form goes to the IdP.
    visit.pages().allow_idp_forms(page)
}

#[handler]
async fn edit_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let Some(conn) = tri!(connection(&visit, &seat).await) else {
        return visit.redirect(&format!("/orgs/{}/sso", seat.org.id));
    };
    let context =
        with(page_context(&seat, Some(&conn)), json!({ "replacing": true, "values": form_values(Some(&conn)) }));
    visit.render("admin_sso_edit", context)
}

/// One name per line (or separated by commas); blank lines left out.
fn names(raw: &str) -> Vec<String> {
    raw.split(['\n', ',']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The form's setup, or the field it cannot read and why (a strings key).
fn read_setup(form: &Form) -> Result<SetUpSaml, (&'static str, &'static str)> {
    let xml = form.optional("metadata_xml");
    let url = form.optional("metadata_url");
    let manual = [form.optional("idp_entity_id"), form.optional("idp_sso_url"), form.optional("idp_certificate")];
    let any_manual = manual.iter().any(Option::is_some);
    // Metadata, pasted or at a URL, wins over the typed-in settings (which the replace form shows
    // filled in with the stored ones).
    let source = match (xml, url, any_manual) {
        (Some(_), Some(_), _) => return Err(("metadata_xml", "admin.sso.source-several")),
        (Some(xml), None, _) => SamlSource::MetadataXml(xml),
        (None, Some(url), _) => SamlSource::MetadataUrl(url),
        (None, None, true) => {
            let [entity_id, sso_url, certificate] = manual;
            let entity_id = entity_id.ok_or(("idp_entity_id", "admin.sso.entity-id-missing"))?;
            let sso_url = sso_url.ok_or(("idp_sso_url", "admin.sso.sso-url-missing"))?;
            let certificate = certificate.ok_or(("idp_certificate", "admin.sso.certificate-missing"))?;
            SamlSource::Manual { entity_id, sso_url, certificates: split_certificates(&certificate) }
        }
        (None, None, false) => return Err(("metadata_xml", "admin.sso.source-missing")),
    };
    let defaults = AttributeMapping::default();
    let or_default = |field: &str, d: Vec<String>| {
        let v = names(form.get(field));
        if v.is_empty() {
            d
        } else {
            v
        }
    };
    let mut group_roles = BTreeMap::new();
    for line in form.get("group_roles").lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.split_once('=').map(|(g, r)| (g.trim(), r.trim())) {
            Some((group, role)) if !group.is_empty() && !role.is_empty() => {
                group_roles.insert(group.to_owned(), role.to_owned());
            }
            _ => return Err(("group_roles", "admin.sso.group-roles-invalid")),
        }
    }
    let mapping = AttributeMapping {
        email: or_default("email_attributes", defaults.email),
        first_name: or_default("first_name_attributes", defaults.first_name),
        last_name: or_default("last_name_attributes", defaults.last_name),
        groups: form.optional("groups_attribute"),
        group_roles,
    };
    Ok(SetUpSaml {
        source,
        attribute_mapping: Some(mapping),
        allow_idp_initiated: form.get("allow_idp_initiated") == "on",
        allow_sha1: form.get("allow_sha1") == "on",
        idp_enforces_mfa: form.get("idp_enforces_mfa") == "on",
    })
}

/// Pasted PEM certificates, one or several; base64 without the PEM lines is one certificate.
fn split_certificates(raw: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    if !raw.contains(END) {
        return vec![raw.trim().to_owned()];
    }
    raw.split_inclusive(END).map(str::trim).filter(|c| c.contains(END)).map(str::to_owned).collect()
}

#[handler]
async fn set_up(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let replacing = form.get("replacing") == "1";
    let again = |visit: &Visit<'_>, refusal: Refusal, field: Option<&str>| {
        let context = with(page_context(&seat, None), json!({ "replacing": replacing }));
        let template = if replacing { "admin_sso_edit" } else { "admin_sso" };
        visit.form_again(template, refusal, field, &form, context)
    };
    let input = match read_setup(&form) {
        Ok(input) => input,
        Err((field, key)) => {
            let refusal = Refusal::field(field, visit.pages().text(key, &[]));
            return again(&visit, refusal, Some(field));
        }
    };
    let manual = matches!(input.source, SamlSource::Manual { .. });
    match visit.app().set_up_saml(&visit.ctx(), seat.org.id, input).await {
        Ok(_) => {
            visit.notice(if replacing { "notices.admin-sso-replaced" } else { "notices.admin-sso-set-up" });
            visit.redirect(&format!("/orgs/{}/sso", seat.org.id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            if refusal.status == StatusCode::NOT_FOUND {
                return visit.error_page(StatusCode::NOT_FOUND, "errors.page-not-found");
            }
            let (refusal, field) = on_form_fields(refusal, manual);
            again(&visit, refusal, field)
        }
    }
}

/// The use case's field names as the form's: the metadata's reason beside what was pasted (or,
/// set up by hand, beside the field it is about), the mapping's beside the group roles.
fn on_form_fields(mut refusal: Refusal, manual: bool) -> (Refusal, Option<&'static str>) {
    let fields = std::mem::take(&mut refusal.fields);
    let mut first = None;
    for (name, detail) in fields {
        let field = match name.as_str() {
            "metadata" if manual => {
                let d = detail.to_ascii_lowercase();
                if d.contains("sso url") {
                    "idp_sso_url"
                } else if d.contains("certificate") {
                    "idp_certificate"
                } else {
                    "idp_entity_id"
                }
            }
            "metadata" | "metadata_xml" => "metadata_xml",
            "metadata_url" => "metadata_url",
            n if n.contains("group") || n.contains("mapping") => "group_roles",
            _ => "metadata_xml",
        };
        // The page's words first, the reason after: "… could not be used: the SSO URL must …".
        let text = if detail.is_empty() { refusal.message.clone() } else { format!("{} ({detail})", refusal.message) };
        first.get_or_insert(field);
        refusal.fields.entry(field.to_owned()).or_insert(text);
    }
    (refusal, first)
}

#[handler]
async fn live_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let Some(conn) = tri!(connection(&visit, &seat).await) else {
        return visit.redirect(&format!("/orgs/{}/sso", seat.org.id));
    };
    visit.render("admin_sso_live", page_context(&seat, Some(&conn)))
}

#[handler]
async fn go_live(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    match visit.app().saml_go_live(&visit.ctx(), seat.org.id).await {
        Ok(_) => {
            visit.notice("notices.admin-sso-live");
            visit.redirect(&format!("/orgs/{}/sso", seat.org.id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let conn = tri!(connection(&visit, &seat).await);
            visit.form_again("admin_sso_live", refusal, None, &form, page_context(&seat, conn.as_ref()))
        }
    }
}

#[handler]
async fn set_required(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let required = form.get("required") == "on";
    match visit.app().set_sso_required(&visit.ctx(), seat.org.id, required).await {
        Ok(_) => {
            visit.notice(if required { "notices.admin-sso-required" } else { "notices.admin-sso-not-required" });
            visit.redirect(&format!("/orgs/{}/sso", seat.org.id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let conn = tri!(connection(&visit, &seat).await);
            let page =
                visit.form_again("admin_sso", refusal, None, &Form::default(), page_context(&seat, conn.as_ref()));
            visit.pages().allow_idp_forms(page)
        }
    }
}

#[handler]
async fn remove_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let Some(conn) = tri!(connection(&visit, &seat).await) else {
        return visit.redirect(&format!("/orgs/{}/sso", seat.org.id));
    };
    visit.render("admin_sso_remove", page_context(&seat, Some(&conn)))
}

#[handler]
async fn remove(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    match visit.app().remove_saml(&visit.ctx(), seat.org.id).await {
        Ok(()) => {
            visit.notice("notices.admin-sso-removed");
            visit.redirect(&format!("/orgs/{}/sso", seat.org.id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let conn = tri!(connection(&visit, &seat).await);
            visit.form_again("admin_sso_remove", refusal, None, &form, page_context(&seat, conn.as_ref()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        Form::parse(body.as_bytes())
    }

    #[test]
    fn one_source_is_read_and_empty_mappings_keep_the_defaults() {
        let s = read_setup(&form(&[("metadata_xml", "<x/>"), ("email_attributes", ""), ("allow_sha1", "on")]))
            .expect("a setup");
        assert!(matches!(s.source, SamlSource::MetadataXml(ref x) if x == "<x/>"));
        assert_eq!(s.attribute_mapping.expect("mapping"), AttributeMapping::default());
        assert!(s.allow_sha1 && !s.allow_idp_initiated && !s.idp_enforces_mfa);

        let s = read_setup(&form(&[("metadata_url", "https://idp.test/m"), ("email_attributes", "mail\nupn, email")]))
            .expect("a setup");
        assert!(matches!(s.source, SamlSource::MetadataUrl(_)));
        assert_eq!(s.attribute_mapping.expect("mapping").email, vec!["mail", "upn", "email"]);
    }

    #[test]
    fn sources_none_several_or_half_manual_are_refused_on_their_field() {
        assert_eq!(read_setup(&form(&[])).err(), Some(("metadata_xml", "admin.sso.source-missing")));
        let both = form(&[("metadata_xml", "<x/>"), ("metadata_url", "https://idp.test/m")]);
        assert_eq!(read_setup(&both).err(), Some(("metadata_xml", "admin.sso.source-several")));
        let over = form(&[("metadata_url", "https://idp.test/m"), ("idp_entity_id", "urn:idp")]);
        assert!(matches!(read_setup(&over).expect("a setup").source, SamlSource::MetadataUrl(_)), "metadata wins");
        let half = form(&[("idp_entity_id", "urn:idp"), ("idp_sso_url", "https://idp.test/sso")]);
        assert_eq!(read_setup(&half).err(), Some(("idp_certificate", "admin.sso.certificate-missing")));
    }

    #[test]
    fn group_roles_are_lines_of_group_equals_role() {
        let f = form(&[
            ("metadata_xml", "<x/>"),
            ("groups_attribute", "groups"),
            ("group_roles", "eng = Admin\n\n ops=Member "),
        ]);
        let m = read_setup(&f).expect("a setup").attribute_mapping.expect("mapping");
        assert_eq!(m.groups.as_deref(), Some("groups"));
        assert_eq!(m.group_roles.get("eng").map(String::as_str), Some("Admin"));
        assert_eq!(m.group_roles.get("ops").map(String::as_str), Some("Member"));
        let bad = form(&[("metadata_xml", "<x/>"), ("group_roles", "eng Admin")]);
        assert_eq!(read_setup(&bad).err(), Some(("group_roles", "admin.sso.group-roles-invalid")));
    }

    #[test]
    fn pasted_certificates_split_and_stored_ones_read_back_as_pem() {
        let one = pem(&"A".repeat(100));
        assert!(one.starts_with("-----BEGIN CERTIFICATE-----\n") && one.ends_with("\n-----END CERTIFICATE-----"));
        assert_eq!(split_certificates(&format!("{one}\n{one}\n")), vec![one.clone(), one]);
        assert_eq!(split_certificates(" MIIB \n"), vec!["MIIB"]);
    }
}
