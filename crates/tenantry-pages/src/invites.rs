//! The pages two emailed org links open (issue 13, item 6 and the confirmation of item 7): the
//! invitation (`/invites/accept`) and the ownership transfer (`/ownership-transfer/confirm`).
//! Each moves the link's token into a cookie of its own on the first load, shows what the link
//! is about, and answers it with the use case the end-user API calls (`invite_details_as`,
//! `accept_invite`, `decline_invite`, `transfer_details`, `confirm_ownership_transfer`). An
//! invitation survives the sign-in or sign-up it may need: its token waits in the cookie and the
//! person comes straight back.

use poem::http::StatusCode;
use poem::{get, handler, post, Body, Request, Response, Route};
use serde_json::json;
use tenantry_api::enduser::SessionCookieSpec;
use tenantry_app::AppError;

use crate::cookies::Link;
use crate::forms::Refusal;
use crate::orgs::date_words;
use crate::redirect::encode;
use crate::Visit;

pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/invites/accept", get(invite_page).post(accept))
        .at("/invites/decline", post(decline))
        .at("/invites/switch-account", post(switch_account))
        .at("/ownership-transfer/confirm", get(transfer_page).post(confirm_transfer))
}

const INVITE_PATH: &str = "/invites/accept";

/// The page of an invitation that cannot be answered (invalid, replaced, expired, revoked,
/// used, for another account, the org full, …): what happened in plain words, with the refusal's
/// status.
pub(crate) fn problem(visit: &Visit<'_>, refusal: Refusal) -> Response {
    visit.render_status(refusal.status, "invite_problem", json!({ "message": refusal.message, "code": refusal.code }))
}

/// A refusal of the invitation link. The token is forgotten when the invitation is gone for good
/// (kept when signing in, or another account, may still answer it).
fn invite_refused(visit: &mut Visit<'_>, e: AppError) -> Response {
    let refusal = Refusal::of(visit.pages(), e);
    if refusal.status == StatusCode::UNAUTHORIZED {
        if let Err(to_sign_in) = visit.require_viewer() {
            return to_sign_in;
        }
    }
    if matches!(refusal.status, StatusCode::NOT_FOUND | StatusCode::GONE) {
        visit.forget_link(Link::Invite);
    }
    problem(visit, refusal)
}

fn no_invite_link(visit: &Visit<'_>) -> Response {
    let message = visit.pages().text("errors.invite-invalid", &[]);
    visit.render_status(
        StatusCode::NOT_FOUND,
        "invite_problem",
        json!({ "message": message, "code": "invite-invalid" }),
    )
}

#[handler]
async fn invite_page(req: &Request) -> Response {
    let mut visit = visit!(req);
    if let Some(redirect) = visit.stash_link_token(Link::Invite) {
        return redirect;
    }
    let Some(token) = visit.link_token(Link::Invite) else {
        return no_invite_link(&visit);
    };
    let details = match visit.app().invite_details_as(&visit.ctx(), &token).await {
        Ok(d) => d,
        Err(e) => return invite_refused(&mut visit, e),
    };
    let back = encode(INVITE_PATH);
    let email = encode(&details.email);
    visit.render(
        "invite",
        json!({
            "invite": {
                "org_name": details.org_name,
                "inviter": details.inviter,
                "role": details.role,
                "email": details.email,
                "expires": date_words(details.expires_at),
            },
            // Signed out: None; signed in as the invited address: true; as another: false.
            "for_viewer": details.for_viewer,
            "sign_in_url": format!("/sign-in?email={email}&return_to={back}"),
            "sign_up_url": format!("/sign-up?email={email}&return_to={back}"),
        }),
    )
}

#[handler]
async fn accept(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let _form = form!(visit, body);
    let Some(token) = visit.link_token(Link::Invite) else {
        return no_invite_link(&visit);
    };
    match visit.app().accept_invite(&visit.ctx(), &token).await {
        Ok(member) => {
            visit.forget_link(Link::Invite);
            visit.notice("notices.invite-accepted");
            visit.redirect(&format!("/orgs/{}", member.org_id))
        }
        Err(e) => invite_refused(&mut visit, e),
    }
}

#[handler]
async fn decline(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let _form = form!(visit, body);
    let Some(token) = visit.link_token(Link::Invite) else {
        return no_invite_link(&visit);
    };
    match visit.app().decline_invite(&visit.ctx(), &token).await {
        Ok(()) => {
            visit.forget_link(Link::Invite);
            visit.notice("notices.invite-declined");
            visit.redirect("/orgs")
        }
        Err(e) => invite_refused(&mut visit, e),
    }
}

/// Signed in as another account than the invited one: sign out here, and sign in as the invited
/// address, coming back to the invitation (whose token stays in its cookie).
#[handler]
async fn switch_account(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let _form = form!(visit, body);
    let Some(token) = visit.link_token(Link::Invite) else {
        return no_invite_link(&visit);
    };
    let details = match visit.app().invite_details(&token).await {
        Ok(d) => d,
        Err(e) => return invite_refused(&mut visit, e),
    };
    if visit.viewer().is_some() {
        if let Err(e) = visit.app().logout(&visit.ctx(), false).await {
            return visit.refusal_page(e);
        }
    }
    visit.set_cookie(SessionCookieSpec::of(visit.app()).clear());
    visit.redirect(&format!("/sign-in?email={}&return_to={}", encode(&details.email), encode(INVITE_PATH)))
}

/// A refusal of the transfer link; the token is forgotten when the transfer is over for good.
fn transfer_refused(visit: &mut Visit<'_>, e: AppError) -> Response {
    let refusal = Refusal::of(visit.pages(), e);
    if refusal.status == StatusCode::UNAUTHORIZED {
        if let Err(to_sign_in) = visit.require_viewer() {
            return to_sign_in;
        }
    }
    if matches!(refusal.status, StatusCode::NOT_FOUND | StatusCode::GONE) {
        visit.forget_link(Link::OwnershipTransfer);
    }
    visit.render_status(refusal.status, "transfer_problem", json!({ "message": refusal.message, "code": refusal.code }))
}

fn no_transfer_link(visit: &Visit<'_>) -> Response {
    let message = visit.pages().text("errors.transfer-invalid", &[]);
    visit.render_status(
        StatusCode::NOT_FOUND,
        "transfer_problem",
        json!({ "message": message, "code": "transfer-invalid" }),
    )
}

#[handler]
async fn transfer_page(req: &Request) -> Response {
    let mut visit = visit!(req);
    if let Some(redirect) = visit.stash_link_token(Link::OwnershipTransfer) {
        return redirect;
    }
    let Some(token) = visit.link_token(Link::OwnershipTransfer) else {
        return no_transfer_link(&visit);
    };
    if let Err(to_sign_in) = visit.require_viewer() {
        return to_sign_in;
    }
    match visit.app().transfer_details(&visit.ctx(), &token).await {
        Ok(d) => visit.render(
            "transfer_confirm",
            json!({
                "transfer": {
                    "org_name": d.org_name,
                    "to_name": d.to_name,
                    "to_email": d.to_email,
                    "to_role": d.to_role,
                    "from_role": d.from_role,
                    "expires": date_words(d.expires_at),
                }
            }),
        ),
        Err(e) => transfer_refused(&mut visit, e),
    }
}

#[handler]
async fn confirm_transfer(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let _form = form!(visit, body);
    let Some(token) = visit.link_token(Link::OwnershipTransfer) else {
        return no_transfer_link(&visit);
    };
    match visit.app().confirm_ownership_transfer(&visit.ctx(), &token).await {
        Ok(t) => {
            visit.forget_link(Link::OwnershipTransfer);
            visit.notice("notices.ownership-transferred");
            visit.redirect(&format!("/orgs/{}", t.org_id))
        }
        Err(e) => transfer_refused(&mut visit, e),
    }
}
