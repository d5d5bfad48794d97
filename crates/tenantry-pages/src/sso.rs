//! Single sign-on pages (docs/design.md §6): "Sign in with SSO" (an email or the org's slug, then
//! the IdP with an AuthnRequest), the SAML Assertion Consumer Service, a connection's SP metadata,
//! and the test page a connection in test mode shows its admins. Each calls a use case in
//! `tenantry_app::sso`; every check of the response is there and in `tenantry-sso`.
//!
//! The ACS takes a POST from the IdP's origin, so it has no CSRF token or origin check: what binds
//! the response to this browser's request is the RelayState (its hash stored with the request,
//! single use) and the signed `InResponseTo`.

use poem::http::StatusCode;
use poem::web::Path;
use poem::{get, handler, Body, Request, Response, Route};
use serde_json::json;
use tenantry_api::enduser::SessionCookieSpec;
use tenantry_app::sign_in::SignInState;
use tenantry_app::sso::SamlStart;

use crate::auth::second_factor;
use crate::forms::{Form, Refusal};

/// The largest ACS form read (a signed response with many attributes is a few tens of KB).
const MAX_ACS_BODY: usize = 512 * 1024;

pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/sso", get(start_page).post(start))
        .at("/sso/saml/:connection_id/metadata", get(sp_metadata))
        .at("/sso/saml/:connection_id/acs", poem::post(acs))
}

#[handler]
async fn start_page(req: &Request) -> Response {
    let visit = visit!(req);
    let return_to = visit.return_to(None);
    let identifier = visit.query("email").or_else(|| visit.query("org")).unwrap_or_default();
    let page = visit.render("sso_start", json!({ "return_to": return_to, "values": { "identifier": identifier } }));
    visit.pages().allow_idp_forms(page)
}

#[handler]
async fn start(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = match visit.form(body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let return_to = visit.return_to(Some(&form));
    let identifier = form.get("identifier").trim();
    let by = if identifier.contains('@') { SamlStart::Email(identifier) } else { SamlStart::Slug(identifier) };
    match visit.app().start_saml(&visit.ctx(), by, return_to.as_deref()).await {
        // The IdP's URL, from the connection the org's admins set up.
        Ok(url) => visit.redirect(&url),
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let page =
                visit.form_again("sso_start", refusal, Some("identifier"), &form, json!({ "return_to": return_to }));
            visit.pages().allow_idp_forms(page)
        }
    }
}

#[handler]
async fn sp_metadata(req: &Request, Path(connection_id): Path<String>) -> Response {
    let visit = visit!(req);
    match visit.app().saml_sp_metadata(&connection_id).await {
        Ok(xml) => Response::builder().content_type("application/samlmetadata+xml; charset=utf-8").body(xml),
        Err(e) => visit.refusal_page(e),
    }
}

#[handler]
async fn acs(req: &Request, Path(connection_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let Ok(bytes) = body.into_bytes_limit(MAX_ACS_BODY).await else {
        return visit.error_page(StatusCode::PAYLOAD_TOO_LARGE, "errors.payload-too-large");
    };
    let form = Form::parse(&bytes);
    let relay_state = form.optional("RelayState");
    let user_agent = req.headers().get("user-agent").and_then(|v| v.to_str().ok());
    let app = visit.app();
    let result =
        app.saml_acs(&visit.ctx(), &connection_id, form.get("SAMLResponse"), relay_state.as_deref(), user_agent).await;
    match result {
        Ok(signed) => {
            let return_to = signed.return_to.clone();
            match signed.state {
                SignInState::Complete(s) => {
                    let cookie =
                        SessionCookieSpec::of(app).set(&s.cookie_secret, app.settings().auth.session_ttl.num_seconds());
                    visit.set_cookie(cookie);
                    if let Some(test) = signed.test {
                        return visit.render("sso_test", json!({ "test": test, "email": s.user.email }));
                    }
                    let to = return_to.unwrap_or_else(|| visit.pages().branding().home_url.clone());
                    visit.redirect(&to)
                }
                SignInState::SecondFactor { pending_token, expires_in } => {
                    second_factor(visit, &pending_token, expires_in, return_to)
                }
            }
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            visit.render_status(
                refusal.status,
                "sso_error",
                json!({ "status": refusal.status.as_u16(), "message": refusal.message, "code": refusal.code }),
            )
        }
    }
}
