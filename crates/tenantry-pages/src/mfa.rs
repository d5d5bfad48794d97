//! The two-factor pages (docs/design.md §3, §4.14): the sign-in's code step, where the sign-in
//! page sends a person with 2FA (`/sign-in/two-factor`, the pending sign-in in its own cookie,
//! never a session); and on the account, setting up an authenticator (QR code, confirm with a
//! code), the backup codes (shown once, downloadable as text), new backup codes and turning 2FA
//! off (each with the password). Each calls the use case the end-user API calls
//! (`POST /api/v1/login/second-factor`, `/api/v1/me/mfa…`).

use poem::http::StatusCode;
use poem::{get, handler, post, Body, Request, Response, Route};
use serde_json::json;
use tenantry_app::sign_in::{SignInState, SignInStep};

use crate::cookies::{self, Cookie};
use crate::forms::Refusal;
use crate::Visit;

pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/sign-in/two-factor", get(code_page).post(code))
        .at("/account/two-factor", get(account_page))
        .at("/account/two-factor/enroll", post(enroll))
        .at("/account/two-factor/confirm", post(confirm))
        .at("/account/two-factor/backup-codes", post(regenerate))
        .at("/account/two-factor/disable", post(disable))
}

fn user_agent(req: &Request) -> Option<&str> {
    req.headers().get("user-agent").and_then(|v| v.to_str().ok())
}

#[handler]
async fn code_page(req: &Request) -> Response {
    let visit = visit!(req);
    if Cookie::new(cookies::MFA_PENDING, visit.https()).read(req).is_none() {
        return visit.redirect("/sign-in");
    }
    let return_to = visit.return_to(None);
    let backup = visit.query("backup").is_some();
    visit.render("mfa_sign_in", json!({ "return_to": return_to, "backup": backup }))
}

#[handler]
async fn code(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let return_to = visit.return_to(Some(&form));
    let pending_cookie = Cookie::new(cookies::MFA_PENDING, visit.https());
    let Some(pending) = pending_cookie.read(req) else {
        return visit.redirect("/sign-in");
    };
    let backup = form.optional("backup_code");
    let step = match &backup {
        Some(code) => SignInStep::BackupCode { pending: &pending, code },
        None => SignInStep::Totp { pending: &pending, code: form.get("code") },
    };
    match visit.app().sign_in(&visit.ctx(), step, user_agent(req)).await {
        Ok(SignInState::Complete(signed_in)) => {
            visit.set_cookie(pending_cookie.clear());
            crate::auth::set_session(&mut visit, &signed_in);
            let to = crate::auth::after_sign_in(&visit, return_to, signed_in.needs_org);
            visit.redirect(&to)
        }
        Ok(SignInState::SecondFactor { .. }) => visit.redirect("/sign-in"),
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            if refusal.status == StatusCode::GONE {
                visit.set_cookie(pending_cookie.clear());
                visit.notice("notices.mfa-sign-in-expired");
                return visit.redirect("/sign-in");
            }
            let field = if backup.is_some() { "backup_code" } else { "code" };
            let ctx = json!({ "return_to": return_to, "backup": backup.is_some() });
            visit.form_again("mfa_sign_in", refusal, Some(field), &form, ctx)
        }
    }
}

/// What the account's 2FA page shows: on or off, backup codes left, the orgs that require it.
async fn status_context(visit: &Visit<'_>) -> Result<serde_json::Value, Response> {
    let status = visit.app().mfa_status(&visit.ctx()).await.map_err(|e| visit.refusal_page(e))?;
    let orgs: Vec<_> = status
        .orgs_requiring
        .iter()
        .map(|o| json!({ "org_id": o.org_id.to_string(), "name": o.name, "enforced_from": o.enforced_from.format("%Y-%m-%d %H:%M UTC").to_string() }))
        .collect();
    Ok(json!({
        "enabled": status.enabled,
        "backup_codes_left": status.backup_codes_left.to_string(),
        "orgs_requiring": orgs,
        "form": null,
    }))
}

#[handler]
async fn account_page(req: &Request) -> Response {
    let visit = visit!(req);
    viewer!(visit);
    match status_context(&visit).await {
        Ok(ctx) => visit.render("mfa_account", ctx),
        Err(resp) => resp,
    }
}

#[handler]
async fn enroll(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    viewer!(visit);
    let _form = form!(visit, body);
    match visit.app().enroll_mfa(&visit.ctx()).await {
        Ok(e) => {
            let p = e.provisioning;
            visit.render("mfa_enroll", json!({ "qr_svg": p.qr_svg, "secret": p.grouped_key, "uri": p.uri }))
        }
        Err(e) => visit.refusal_page(e),
    }
}

#[handler]
async fn confirm(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    viewer!(visit);
    let form = form!(visit, body);
    match visit.app().confirm_mfa(&visit.ctx(), form.get("code")).await {
        Ok(codes) => backup_codes_page(&visit, codes),
        Err(e) => {
            // The secret is shown only once: a wrong code keeps the form and offers to start over.
            let refusal = Refusal::of(visit.pages(), e);
            visit.form_again("mfa_enroll", refusal, Some("code"), &form, json!({ "qr_svg": null }))
        }
    }
}

fn backup_codes_page(visit: &Visit<'_>, codes: Vec<String>) -> Response {
    let text = format!(
        "{} backup codes\n\nEach code signs you in once instead of a code from your authenticator app.\n\n{}\n",
        visit.app().settings().mfa.issuer,
        codes.join("\n")
    );
    visit.render("mfa_backup_codes", json!({ "codes": codes, "download": text }))
}

#[handler]
async fn regenerate(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    viewer!(visit);
    let form = form!(visit, body);
    match visit.app().regenerate_backup_codes(&visit.ctx(), form.get("password")).await {
        Ok(codes) => backup_codes_page(&visit, codes),
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let mut ctx = match status_context(&visit).await {
                Ok(c) => c,
                Err(resp) => return resp,
            };
            ctx["form"] = json!("regenerate");
            visit.form_again("mfa_account", refusal, Some("password"), &form, ctx)
        }
    }
}

#[handler]
async fn disable(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    viewer!(visit);
    let form = form!(visit, body);
    match visit.app().disable_mfa(&visit.ctx(), form.get("password")).await {
        Ok(()) => {
            visit.notice("notices.mfa-disabled");
            visit.redirect("/account/two-factor")
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let mut ctx = match status_context(&visit).await {
                Ok(c) => c,
                Err(resp) => return resp,
            };
            ctx["form"] = json!("disable");
            visit.form_again("mfa_account", refusal, Some("password"), &form, ctx)
        }
    }
}
