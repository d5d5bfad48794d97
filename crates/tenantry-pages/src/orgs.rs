//! The orgs a member sees (issue 13, items 4 and 5): their orgs with the switcher and their
//! pending invitations (`/orgs`), and creating an org (`/orgs/new`), which is also the "create or
//! join" page a person in no org lands on when the deployment requires membership. Each handler
//! calls the use case the end-user API calls (`user_orgs`, `set_active_org`, `my_invites`,
//! `accept_my_invite`, `decline_my_invite`, `create_org`).

use poem::http::StatusCode;
use poem::web::Path;
use poem::{get, handler, post, Body, Request, Response, Route};
use serde_json::{json, Value};
use tenantry_app::claims::Membership;
use tenantry_app::invites::MyInvite;
use tenantry_app::orgs::CreateOrg;
use tenantry_app::{paging, AppError};
use tenantry_core::{InviteId, OrgId};
use uuid::Uuid;

use crate::forms::Refusal;
use crate::visit::Viewer;
use crate::Visit;

pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/orgs", get(orgs_page))
        .at("/orgs/active", post(switch_org))
        .at("/orgs/new", get(new_org_page).post(new_org))
        .at("/orgs/invites/:invite_id/accept", post(accept_listed_invite))
        .at("/orgs/invites/:invite_id/decline", post(decline_listed_invite))
}

/// A date as the pages show it: "3 December 2026".
pub(crate) fn date_words(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

/// The invitations of [`tenantry_app::App::my_invites`] as the templates list them.
fn invites_context(invites: &[MyInvite]) -> Value {
    Value::from(
        invites
            .iter()
            .map(|i| {
                json!({
                    "id": i.invite_id.to_string(),
                    "org_name": i.org_name,
                    "inviter": i.inviter,
                    "role": i.role,
                    "expires": date_words(i.expires_at),
                })
            })
            .collect::<Vec<_>>(),
    )
}

fn membership_context(m: &Membership, active: Option<OrgId>) -> Value {
    json!({
        "id": m.org_id.to_string(),
        "name": m.org_name,
        "slug": m.org_slug,
        "role": m.role,
        "additional_roles": m.additional_roles,
        "active": active == Some(m.org_id),
    })
}

/// Whether the deployment lets this person create an org: the setting the use case enforces,
/// shown before they type a name.
fn can_create(visit: &Visit<'_>) -> bool {
    visit.app().settings().orgs.users_can_create
}

#[handler]
async fn orgs_page(req: &Request) -> Response {
    let visit = visit!(req);
    let viewer = viewer!(visit);
    let ctx = visit.ctx();
    let cursor = match visit.query("cursor") {
        Some(c) => match Uuid::parse_str(&c) {
            Ok(c) => Some(c),
            Err(_) => return visit.error_page(StatusCode::NOT_FOUND, "errors.page-not-found"),
        },
        None => None,
    };
    let page = match visit.app().user_orgs(&ctx, viewer.user.id, cursor, paging::DEFAULT_LIMIT).await {
        Ok(p) => p,
        Err(e) => return visit.refusal_page(e),
    };
    let invites = match visit.app().my_invites(&ctx).await {
        Ok(i) => i,
        Err(e) => return visit.refusal_page(e),
    };
    let active = viewer.session.active_org_id;
    let orgs: Vec<Value> = page.items.iter().map(|(_, m)| membership_context(m, active)).collect();
    visit.render(
        "orgs",
        json!({
            "orgs": orgs,
            "next_cursor": page.next_cursor,
            "first_page": cursor.is_none(),
            "invites": invites_context(&invites),
            "can_create": can_create(&visit),
            "email_verified": viewer.user.email_verified,
        }),
    )
}

/// The org switcher: the session now acts in the chosen org.
#[handler]
async fn switch_org(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let _ = viewer!(visit);
    let org_id = match Uuid::parse_str(form.get("org_id")) {
        Ok(id) => OrgId::from_uuid(id),
        Err(_) => return visit.error_page(StatusCode::NOT_FOUND, "errors.org-not-found"),
    };
    match visit.app().set_active_org(&visit.ctx(), Some(org_id)).await {
        Ok(_) => {
            visit.notice("notices.org-switched");
            visit.redirect("/orgs")
        }
        Err(e) => visit.refusal_page(e),
    }
}

/// `/orgs/new`: create an org; with no org yet and membership required, "create or join".
async fn new_org_context(visit: &Visit<'_>, viewer: &Viewer) -> Result<Value, Response> {
    let ctx = visit.ctx();
    let invites = visit.app().my_invites(&ctx).await.map_err(|e| visit.refusal_page(e))?;
    let first = visit.app().user_orgs(&ctx, viewer.user.id, None, 1).await.map_err(|e| visit.refusal_page(e))?;
    let needs_org = visit.app().settings().orgs.require_membership && first.items.is_empty();
    Ok(json!({
        "invites": invites_context(&invites),
        "can_create": can_create(visit),
        "needs_org": needs_org,
        "email_verified": viewer.user.email_verified,
    }))
}

#[handler]
async fn new_org_page(req: &Request) -> Response {
    let visit = visit!(req);
    let viewer = viewer!(visit);
    match new_org_context(&visit, &viewer).await {
        Ok(context) => visit.render("orgs_new", context),
        Err(resp) => resp,
    }
}

#[handler]
async fn new_org(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let viewer = viewer!(visit);
    let input = CreateOrg { name: form.get("name").to_owned(), ..CreateOrg::default() };
    match visit.app().create_org(&visit.ctx(), input).await {
        Ok(org) => {
            visit.notice("notices.org-created");
            visit.redirect(&format!("/orgs/{}", org.id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let context = match new_org_context(&visit, &viewer).await {
                Ok(c) => c,
                Err(resp) => return resp,
            };
            visit.form_again("orgs_new", refusal, Some("name"), &form, context)
        }
    }
}

/// An invitation id from a path, if it is one.
fn invite_id(raw: &str) -> Option<InviteId> {
    Uuid::parse_str(raw).ok().map(InviteId::from_uuid)
}

/// An answer from the list refused: the invitation's own page of what went wrong.
fn answer_refused(visit: &Visit<'_>, e: AppError) -> Response {
    let refusal = Refusal::of(visit.pages(), e);
    crate::invites::problem(visit, refusal)
}

#[handler]
async fn accept_listed_invite(req: &Request, Path(raw): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let _form = form!(visit, body);
    let _ = viewer!(visit);
    let Some(id) = invite_id(&raw) else {
        return visit.error_page(StatusCode::NOT_FOUND, "errors.invite-not-found");
    };
    match visit.app().accept_my_invite(&visit.ctx(), id).await {
        Ok(member) => {
            visit.notice("notices.invite-accepted");
            visit.redirect(&format!("/orgs/{}", member.org_id))
        }
        Err(e) => answer_refused(&visit, e),
    }
}

#[handler]
async fn decline_listed_invite(req: &Request, Path(raw): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let _form = form!(visit, body);
    let _ = viewer!(visit);
    let Some(id) = invite_id(&raw) else {
        return visit.error_page(StatusCode::NOT_FOUND, "errors.invite-not-found");
    };
    match visit.app().decline_my_invite(&visit.ctx(), id).await {
        Ok(()) => {
            visit.notice("notices.invite-declined");
            visit.redirect("/orgs")
        }
        Err(e) => answer_refused(&visit, e),
    }
}
