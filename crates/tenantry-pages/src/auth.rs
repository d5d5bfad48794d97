//! The sign-in family: sign in, sign up (and "check your inbox"), the verification link's page,
//! forgot and reset password, and sign out. Each calls the use case the end-user API calls.

use poem::http::StatusCode;
use poem::{get, handler, Body, Request, Response, Route};
use serde_json::json;
use tenantry_api::enduser::SessionCookieSpec;
use tenantry_app::accounts::Signup;
use tenantry_app::sessions::SignedIn;
use tenantry_app::sign_in::{SignInState, SignInStep};

use crate::cookies::{self, Cookie, Link};
use crate::forms::Refusal;
use crate::redirect::encode;
use crate::Visit;

pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/sign-in", get(sign_in_page).post(sign_in))
        .at("/sign-up", get(sign_up_page).post(sign_up))
        .at("/sign-up/check-inbox", get(check_inbox))
        .at("/verify-email", get(verify_email_page).post(verify_email))
        .at("/verify-email/resend", poem::post(resend_verification))
        .at("/forgot-password", get(forgot_page).post(forgot))
        .at("/forgot-password/sent", get(forgot_sent))
        .at("/reset-password", get(reset_page).post(reset))
        .at("/sign-out", get(sign_out_page).post(sign_out))
}

fn user_agent(req: &Request) -> Option<&str> {
    req.headers().get("user-agent").and_then(|v| v.to_str().ok())
}

/// Where a person goes once signed in: `return_to` if safe, else create-or-join when the
/// deployment requires an org and they have none, else the deployment's home.
pub(crate) fn after_sign_in(visit: &Visit<'_>, return_to: Option<String>, needs_org: bool) -> String {
    match return_to {
        Some(r) => r,
        None if needs_org => "/orgs/new".into(),
        None => visit.pages().branding().home_url.clone(),
    }
}

/// The first factor is proven and a code must follow: the pending sign-in's token goes into its
/// own cookie (it is not a session) and the person to the code step.
pub(crate) fn second_factor(
    mut visit: Visit<'_>,
    pending: &str,
    expires_in: i64,
    return_to: Option<String>,
) -> Response {
    let c = Cookie::new(cookies::MFA_PENDING, visit.https()).set(pending, expires_in);
    visit.set_cookie(c);
    let query = return_to.map(|r| format!("?return_to={}", encode(&r))).unwrap_or_default();
    visit.redirect(&format!("/sign-in/two-factor{query}"))
}

/// Opens the session in this browser: a new cookie (the old one, if any, is replaced).
pub(crate) fn set_session(visit: &mut Visit<'_>, signed_in: &SignedIn) {
    let app = visit.app();
    let cookie =
        SessionCookieSpec::of(app).set(&signed_in.cookie_secret, app.settings().auth.session_ttl.num_seconds());
    visit.set_cookie(cookie);
}

#[handler]
async fn sign_in_page(req: &Request) -> Response {
    let visit = visit!(req);
    let return_to = visit.return_to(None);
    if visit.viewer().is_some() {
        return visit.redirect(&after_sign_in(&visit, return_to, false));
    }
    let email = visit.query("email").unwrap_or_default();
    visit.render("sign_in", json!({ "return_to": return_to, "values": { "email": email } }))
}

#[handler]
async fn sign_in(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let return_to = visit.return_to(Some(&form));
    let step = SignInStep::Password { email: form.get("email"), password: form.get("password") };
    match visit.app().sign_in(&visit.ctx(), step, user_agent(req)).await {
        Ok(SignInState::Complete(signed_in)) => {
            set_session(&mut visit, &signed_in);
            let to = after_sign_in(&visit, return_to, signed_in.needs_org);
            visit.redirect(&to)
        }
        Ok(SignInState::SecondFactor { pending_token, expires_in }) => {
            second_factor(visit, &pending_token, expires_in, return_to)
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let field = (refusal.status != StatusCode::TOO_MANY_REQUESTS).then_some("email");
            visit.form_again("sign_in", refusal, field, &form, json!({ "return_to": return_to }))
        }
    }
}

fn password_hint(visit: &Visit<'_>) -> String {
    let min = visit.app().settings().password_policy.min_chars;
    visit.pages().text("password.hint", &[("min", min.to_string())])
}

#[handler]
async fn sign_up_page(req: &Request) -> Response {
    let visit = visit!(req);
    if !visit.app().settings().auth.signup_enabled {
        return visit.error_page(StatusCode::NOT_FOUND, "errors.signup-disabled");
    }
    let return_to = visit.return_to(None);
    if visit.viewer().is_some() {
        return visit.redirect(&after_sign_in(&visit, return_to, false));
    }
    let email = visit.query("email").unwrap_or_default();
    visit.render(
        "sign_up",
        json!({ "return_to": return_to, "password_hint": password_hint(&visit), "values": { "email": email } }),
    )
}

#[handler]
async fn sign_up(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let return_to = visit.return_to(Some(&form));
    let input = Signup {
        email: form.get("email").to_owned(),
        password: form.get("password").to_owned(),
        first_name: form.optional("first_name"),
        last_name: form.optional("last_name"),
    };
    match visit.app().signup(&visit.ctx(), input).await {
        Ok(()) => {
            // Kept for the verification link's page, which may be opened much later.
            if let Some(r) = return_to.as_deref().filter(|r| cookies::is_cookie_safe(&encode(r))) {
                let c = Cookie::new(cookies::RETURN_TO, visit.https()).set(&encode(r), Link::MAX_AGE_SECS);
                visit.set_cookie(c);
            }
            visit.redirect(&format!("/sign-up/check-inbox?email={}", encode(form.get("email").trim())))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let hint = password_hint(&visit);
            visit.form_again("sign_up", refusal, None, &form, json!({ "return_to": return_to, "password_hint": hint }))
        }
    }
}

#[handler]
async fn check_inbox(req: &Request) -> Response {
    let visit = visit!(req);
    let email = visit.query("email").unwrap_or_default();
    visit.render("check_inbox", json!({ "email": email }))
}

#[handler]
async fn resend_verification(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let email = form.get("email").trim().to_owned();
    match visit.app().resend_verification(&visit.ctx(), &email).await {
        Ok(()) => {
            visit.notice("notices.verification-sent");
            visit.redirect(&format!("/sign-up/check-inbox?email={}", encode(&email)))
        }
        Err(e) => visit.refusal_page(e),
    }
}

#[handler]
async fn verify_email_page(req: &Request) -> Response {
    let mut visit = visit!(req);
    if let Some(redirect) = visit.stash_link_token(Link::VerifyEmail) {
        return redirect;
    }
    if visit.link_token(Link::VerifyEmail).is_none() {
        return link_problem(&visit, "errors.link-invalid", "verify");
    }
    visit.render("verify_email", json!({}))
}

#[handler]
async fn verify_email(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let _form = form!(visit, body);
    let Some(token) = visit.link_token(Link::VerifyEmail) else {
        return link_problem(&visit, "errors.link-invalid", "verify");
    };
    match visit.app().sign_in(&visit.ctx(), SignInStep::VerificationLink { token: &token }, user_agent(req)).await {
        Ok(SignInState::Complete(signed_in)) => {
            visit.forget_link(Link::VerifyEmail);
            set_session(&mut visit, &signed_in);
            let kept = Cookie::new(cookies::RETURN_TO, visit.https());
            let return_to = kept
                .read(req)
                .map(|r| form_urlencoded::parse(format!("r={r}").as_bytes()).map(|(_, v)| v.into_owned()).next())
                .and_then(|r| r)
                .and_then(|r| crate::safe_return_to(&r, visit.trusted()));
            visit.set_cookie(kept.clear());
            visit.notice("notices.email-verified");
            let to = after_sign_in(&visit, return_to, signed_in.needs_org);
            visit.redirect(&to)
        }
        Ok(SignInState::SecondFactor { pending_token, expires_in }) => {
            visit.forget_link(Link::VerifyEmail);
            second_factor(visit, &pending_token, expires_in, None)
        }
        Err(e) => {
            visit.forget_link(Link::VerifyEmail);
            let refusal = Refusal::of(visit.pages(), e);
            link_problem(&visit, &format!("errors.{}", refusal.code), "verify")
        }
    }
}

/// The page for an emailed link that is invalid, expired or used, offering a new one (`kind`:
/// `verify` or `reset`).
fn link_problem(visit: &Visit<'_>, key: &str, kind: &str) -> Response {
    let key = if visit.pages().has_text(key) { key } else { "errors.link-invalid" };
    let status = if key == "errors.link-invalid" { StatusCode::NOT_FOUND } else { StatusCode::GONE };
    visit.render_status(status, "link_problem", json!({ "message": visit.pages().text(key, &[]), "kind": kind }))
}

#[handler]
async fn forgot_page(req: &Request) -> Response {
    let visit = visit!(req);
    let email = visit.query("email").unwrap_or_default();
    visit.render("forgot_password", json!({ "values": { "email": email } }))
}

#[handler]
async fn forgot(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    match visit.app().forgot_password(&visit.ctx(), form.get("email")).await {
        Ok(()) => visit.redirect(&format!("/forgot-password/sent?email={}", encode(form.get("email").trim()))),
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            visit.form_again("forgot_password", refusal, Some("email"), &form, json!({}))
        }
    }
}

#[handler]
async fn forgot_sent(req: &Request) -> Response {
    let visit = visit!(req);
    let email = visit.query("email").unwrap_or_default();
    visit.render("forgot_sent", json!({ "email": email }))
}

#[handler]
async fn reset_page(req: &Request) -> Response {
    let mut visit = visit!(req);
    if let Some(redirect) = visit.stash_link_token(Link::ResetPassword) {
        return redirect;
    }
    if visit.link_token(Link::ResetPassword).is_none() {
        return link_problem(&visit, "errors.link-invalid", "reset");
    }
    let hint = password_hint(&visit);
    visit.render("reset_password", json!({ "password_hint": hint }))
}

#[handler]
async fn reset(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let Some(token) = visit.link_token(Link::ResetPassword) else {
        return link_problem(&visit, "errors.link-invalid", "reset");
    };
    let hint = password_hint(&visit);
    if form.get("password") != form.get("password_confirm") {
        let refusal = Refusal::field("password_confirm", visit.pages().text("errors.passwords-differ", &[]));
        return visit.form_again("reset_password", refusal, None, &form, json!({ "password_hint": hint }));
    }
    match visit.app().reset_password(&visit.ctx(), &token, form.get("password")).await {
        Ok(()) => {
            visit.forget_link(Link::ResetPassword);
            // Every session ended with the reset, this browser's too.
            visit.set_cookie(SessionCookieSpec::of(visit.app()).clear());
            visit.notice("notices.password-reset");
            visit.redirect("/sign-in")
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            if matches!(refusal.code.as_str(), "link-expired" | "link-used" | "link-invalid") {
                visit.forget_link(Link::ResetPassword);
                return link_problem(&visit, &format!("errors.{}", refusal.code), "reset");
            }
            visit.form_again("reset_password", refusal, Some("password"), &form, json!({ "password_hint": hint }))
        }
    }
}

#[handler]
async fn sign_out_page(req: &Request) -> Response {
    let visit = visit!(req);
    if visit.viewer().is_none() {
        return visit.redirect("/sign-in");
    }
    visit.render("sign_out", json!({}))
}

#[handler]
async fn sign_out(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    if visit.viewer().is_some() {
        let everywhere = form.get("everywhere") == "true";
        if let Err(e) = visit.app().logout(&visit.ctx(), everywhere).await {
            return visit.refusal_page(e);
        }
    }
    visit.set_cookie(SessionCookieSpec::of(visit.app()).clear());
    visit.notice("notices.signed-out");
    visit.redirect("/sign-in")
}
