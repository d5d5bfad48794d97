//! Org administration (issue 13, item 7), under `/orgs/{org_id}`: settings and domains, the
//! roster (members and pending invitations in one list, with search and paging), inviting, a
//! member's roles and removal, an invitation's resend and revoke, the audit log, and the danger
//! zone (ownership transfer, leave, delete).
//!
//! Every handler calls the use case the end-user API calls (`crates/tenantry-api/src/enduser/
//! orgs.rs`). What a page shows or hides follows the viewer's permissions as the app computes them
//! (`App::get_member` of the viewer: `Member.permissions`) and the roles they may grant
//! (`App::grantable_roles`); the use cases still decide, and their refusals are shown as they are.
//! An outsider, like a malformed id, gets the 404 page (`App::org_access` answers `org-not-found`).

use poem::http::StatusCode;
use poem::web::Path;
use poem::{get, handler, post, Body, Request, Response, Route};
use serde_json::{json, Value};
use tenantry_app::invites::{CreateInvite, GrantableRoles};
use tenantry_app::members::{ChangeRole, Member, PendingInvite, RosterEntry, RosterFilter};
use tenantry_app::mfa::MfaRequirement;
use tenantry_app::orgs::{AuditEntry, Org, UpdateOrg};
use tenantry_app::{paging, AppError};
use tenantry_core::org::perm;
use tenantry_core::{OrgId, UserId};
use uuid::Uuid;

use crate::forms::{Form, Refusal};
use crate::redirect::encode;
use crate::visit::Viewer;
use crate::Visit;

pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/orgs/:org_id", get(settings_page))
        .at("/orgs/:org_id/settings", post(save_settings))
        .at("/orgs/:org_id/domains", post(add_domain))
        .at("/orgs/:org_id/domains/remove", post(remove_domain))
        .at("/orgs/:org_id/members", get(members_page))
        .at("/orgs/:org_id/members/:user_id", get(member_page))
        .at("/orgs/:org_id/members/:user_id/roles", post(change_roles))
        .at("/orgs/:org_id/members/:user_id/remove", get(remove_page).post(remove_member))
        .at("/orgs/:org_id/invite", get(invite_page).post(send_invite))
        .at("/orgs/:org_id/invites/:invite_id", get(invitation_page))
        .at("/orgs/:org_id/invites/:invite_id/resend", post(resend_invite))
        .at("/orgs/:org_id/invites/:invite_id/revoke", get(revoke_page).post(revoke_invite))
        .at("/orgs/:org_id/audit-log", get(audit_page))
        .at("/orgs/:org_id/security", get(security_page).post(save_security))
        .at("/orgs/:org_id/danger", get(danger_page))
        .at("/orgs/:org_id/transfer", post(request_transfer))
        .at("/orgs/:org_id/transfer/cancel", post(cancel_transfer))
        .at("/orgs/:org_id/leave", get(leave_page).post(leave))
        .at("/orgs/:org_id/delete", get(delete_page).post(delete))
}

/// The org as the viewer stands in it: the org, their own membership (with the permissions the
/// app computed) and what the pages may offer them.
pub(crate) struct Seat {
    pub(crate) org: Org,
    pub(crate) me: Member,
    /// The deadline to show in the grace banner: the org requires 2FA by then and the viewer has
    /// none yet.
    mfa_banner: Option<String>,
}

impl Seat {
    pub(crate) fn may(&self, permission: &str) -> bool {
        self.me.permissions.iter().any(|p| p == permission)
    }

    pub(crate) fn base(&self, section: &str) -> Value {
        let o = &self.org;
        json!({
            "section": section,
            "org": {
                "id": o.id.to_string(),
                "name": o.name,
                "slug": o.slug,
                "domains": o.domains,
                "domain_auto_join": o.domain_auto_join,
                "domain_restrict": o.domain_restrict,
                "member_count": o.member_count,
                "max_users": o.max_users,
            },
            "me": { "user_id": self.me.user_id.to_string(), "role": self.me.role },
            "can": {
                "update": self.may(perm::ORG_UPDATE),
                "invite": self.may(perm::ORG_MEMBERS_INVITE),
                "remove": self.may(perm::ORG_MEMBERS_REMOVE),
                "change_role": self.may(perm::ORG_MEMBERS_CHANGE_ROLE),
                "audit": self.may(perm::ORG_AUDIT_READ),
                "delete": self.may(perm::ORG_DELETE),
                "transfer": self.may(perm::ORG_TRANSFER_OWNERSHIP),
                "require_2fa": self.may(perm::ORG_REQUIRE_2FA),
                "sso": self.may(perm::ORG_SSO_MANAGE),
            },
            "mfa": {
                "required": o.mfa_required_at.is_some(),
                "deadline": o.mfa_grace_until.map(date_time),
            },
            "mfa_banner": self.mfa_banner.as_ref().map(|deadline| json!({ "org_name": o.name, "deadline": deadline })),
        })
    }
}

/// Adds `extra`'s keys to `base`.
pub(crate) fn with(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

/// The 404 page: a malformed id, an org that does not exist or that the viewer is not in.
fn not_found(visit: &Visit<'_>) -> Response {
    visit.error_page(StatusCode::NOT_FOUND, "errors.page-not-found")
}

// The `Err` is the page to answer with, returned once per request: boxing it would buy nothing.
#[allow(clippy::result_large_err)]
fn parse_id(visit: &Visit<'_>, raw: &str) -> Result<Uuid, Response> {
    Uuid::parse_str(raw).map_err(|_| not_found(visit))
}

/// The refusal of a use case as a page: `org-not-found` (an outsider) is the 404 page.
fn refused(visit: &Visit<'_>, e: AppError) -> Response {
    visit.refusal_page(e)
}

/// The signed-in viewer and how they stand in the org of the path.
pub(crate) async fn seat(visit: &Visit<'_>, raw_org_id: &str) -> Result<(Viewer, Seat), Response> {
    let viewer = visit.require_viewer()?.clone();
    let org_id = OrgId::from_uuid(parse_id(visit, raw_org_id)?);
    let ctx = visit.ctx();
    let org = visit.app().get_org(&ctx, org_id).await.map_err(|e| refused(visit, e))?;
    let me = visit.app().get_member(&ctx, org_id, viewer.user.id).await.map_err(|e| refused(visit, e))?;
    let now = visit.app().clock().now();
    let mfa_banner = match org.mfa_grace_until {
        Some(deadline) if org.mfa_required_at.is_some() && deadline > now => {
            let status = visit.app().mfa_status(&ctx).await.map_err(|e| refused(visit, e))?;
            (!status.enabled).then(|| date_time(deadline))
        }
        _ => None,
    };
    Ok((viewer, Seat { org, me, mfa_banner }))
}

fn display_name(first: &Option<String>, last: &Option<String>) -> Option<String> {
    match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(f), None) => Some(f.clone()),
        (None, Some(l)) => Some(l.clone()),
        (None, None) => None,
    }
}

fn date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

fn date_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %B %Y, %H:%M UTC").to_string()
}

fn member_context(m: &Member) -> Value {
    json!({
        "user_id": m.user_id.to_string(),
        "email": m.email,
        "name": display_name(&m.first_name, &m.last_name),
        "role": m.role,
        "additional_roles": m.additional_roles,
        "is_creator": m.is_creator,
        "joined": date(m.joined_at),
    })
}

fn invite_context(i: &PendingInvite) -> Value {
    json!({
        "invite_id": i.invite_id.to_string(),
        "email": i.email,
        "role": i.role,
        "additional_roles": i.additional_roles,
        "state": i.state,
        "pending": i.state == "pending",
        "expires": date(i.expires_at),
        "sent": date(i.created_at),
    })
}

fn grantable_context(g: &GrantableRoles) -> Value {
    json!({ "roles": g.roles, "additional_roles": g.additional_roles })
}

/// The page's own URL with a query of `pairs` (blank values left out).
fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let q: Vec<String> =
        pairs.iter().filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={}", encode(v)))).collect();
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

/// `?cursor=` as the use cases take it; a malformed one is the 404 page.
#[allow(clippy::result_large_err)] // As `parse_id`.
fn cursor(visit: &Visit<'_>) -> Result<Option<Uuid>, Response> {
    match visit.query("cursor").filter(|c| !c.is_empty()) {
        Some(c) => Uuid::parse_str(&c).map(Some).map_err(|_| not_found(visit)),
        None => Ok(None),
    }
}

// ---- Settings and domains ----

fn settings_context(seat: &Seat) -> Value {
    seat.base("settings")
}

#[handler]
async fn settings_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let values = json!({ "name": seat.org.name, "slug": seat.org.slug });
    visit.render("admin_settings", with(settings_context(&seat), json!({ "values": values })))
}

#[handler]
async fn save_settings(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let input = UpdateOrg {
        name: Some(form.get("name").to_owned()),
        slug: Some(form.get("slug").trim().to_owned()),
        domain_auto_join: Some(form.get("domain_auto_join") == "on"),
        domain_restrict: Some(form.get("domain_restrict") == "on"),
        ..UpdateOrg::default()
    };
    match visit.app().update_org(&visit.ctx(), seat.org.id, input).await {
        Ok(org) => {
            visit.notice("notices.admin-settings-saved");
            visit.redirect(&format!("/orgs/{}", org.id))
        }
        Err(e) => settings_again(&visit, &seat, e, &form, None),
    }
}

/// The settings page again with a refusal of one of its forms. The checkboxes show what was
/// submitted with the settings form, else what is stored.
fn settings_again(visit: &Visit<'_>, seat: &Seat, e: AppError, form: &Form, field: Option<&str>) -> Response {
    let refusal = Refusal::of(visit.pages(), e);
    let field = field.or(match refusal.code.as_str() {
        "slug-taken" | "invalid-slug" => Some("slug"),
        "invalid-org-name" | "invalid-name" => Some("name"),
        _ => None,
    });
    let mut context = settings_context(seat);
    if form.get("form") == "settings" {
        context["org"]["domain_auto_join"] = Value::from(form.get("domain_auto_join") == "on");
        context["org"]["domain_restrict"] = Value::from(form.get("domain_restrict") == "on");
    }
    visit.form_again("admin_settings", refusal, field, form, context)
}

#[handler]
async fn add_domain(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    match visit.app().add_org_domain(&visit.ctx(), seat.org.id, form.get("domain").trim()).await {
        Ok(org) => {
            visit.notice("notices.admin-domain-added");
            visit.redirect(&format!("/orgs/{}", org.id))
        }
        Err(e) => settings_again(&visit, &seat, e, &form, Some("domain")),
    }
}

#[handler]
async fn remove_domain(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    match visit.app().remove_org_domain(&visit.ctx(), seat.org.id, form.get("domain")).await {
        Ok(org) => {
            visit.notice("notices.admin-domain-removed");
            visit.redirect(&format!("/orgs/{}", org.id))
        }
        Err(e) => settings_again(&visit, &seat, e, &Form::default(), None),
    }
}

// ---- Members and invitations ----

#[handler]
async fn members_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let after = tri!(cursor(&visit));
    let search = visit.query("q").map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    let filter =
        RosterFilter { email: search.clone(), cursor: after, limit: paging::DEFAULT_LIMIT, ..RosterFilter::default() };
    let page = match visit.app().list_members(&visit.ctx(), seat.org.id, filter).await {
        Ok(p) => p,
        Err(e) => return refused(&visit, e),
    };
    let rows: Vec<Value> = page
        .items
        .iter()
        .map(|e| match e {
            RosterEntry::Member(m) => with(member_context(m), json!({ "kind": "member" })),
            RosterEntry::Invite(i) => with(invite_context(i), json!({ "kind": "invite" })),
        })
        .collect();
    let path = format!("/orgs/{}/members", seat.org.id);
    let next = page.next_cursor.as_deref().map(|c| with_query(&path, &[("q", search.as_deref()), ("cursor", Some(c))]));
    let first = after.map(|_| with_query(&path, &[("q", search.as_deref())]));
    visit.render(
        "admin_members",
        with(seat.base("members"), json!({ "rows": rows, "search": search, "next_url": next, "first_url": first })),
    )
}

async fn invite_context_page(visit: &Visit<'_>, seat: &Seat) -> Result<Value, Response> {
    let grantable = visit.app().grantable_roles(&visit.ctx(), seat.org.id).await.map_err(|e| refused(visit, e))?;
    Ok(with(seat.base("members"), json!({ "grantable": grantable_context(&grantable) })))
}

#[handler]
async fn invite_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    if !seat.may(perm::ORG_MEMBERS_INVITE) {
        return visit.error_page(StatusCode::FORBIDDEN, "errors.permission-denied");
    }
    let context = tri!(invite_context_page(&visit, &seat).await);
    visit.render("admin_invite", with(context, json!({ "checked": [] })))
}

#[handler]
async fn send_invite(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let input = CreateInvite {
        email: form.get("email").trim().to_owned(),
        role: form.optional("role"),
        additional_roles: form.all("additional_roles"),
    };
    match visit.app().create_invite(&visit.ctx(), seat.org.id, input).await {
        Ok(invite) => {
            visit.notice("notices.admin-invite-sent");
            visit.redirect(&format!("/orgs/{}/invites/{}", seat.org.id, invite.invite_id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let field = match refusal.code.as_str() {
                "unknown-role" | "role-above-yours" | "owner-required" | "invalid-role" => Some("role"),
                "org-full" | "permission-denied" => None,
                _ => Some("email"),
            };
            let mut context = tri!(invite_context_page(&visit, &seat).await);
            context["checked"] = Value::from(form.all("additional_roles"));
            visit.form_again("admin_invite", refusal, field, &form, context)
        }
    }
}

async fn member_of(visit: &Visit<'_>, seat: &Seat, raw_user_id: &str) -> Result<Member, Response> {
    let user_id = UserId::from_uuid(parse_id(visit, raw_user_id)?);
    visit.app().get_member(&visit.ctx(), seat.org.id, user_id).await.map_err(|e| refused(visit, e))
}

async fn member_page_context(visit: &Visit<'_>, seat: &Seat, member: &Member) -> Result<Value, Response> {
    let grantable = if seat.may(perm::ORG_MEMBERS_CHANGE_ROLE) {
        visit.app().grantable_roles(&visit.ctx(), seat.org.id).await.map_err(|e| refused(visit, e))?
    } else {
        GrantableRoles::default()
    };
    let is_me = member.user_id == seat.me.user_id;
    Ok(with(
        seat.base("members"),
        json!({
            "member": member_context(member),
            "is_me": is_me,
            "grantable": grantable_context(&grantable),
        }),
    ))
}

#[handler]
async fn member_page(req: &Request, Path((org_id, user_id)): Path<(String, String)>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let member = tri!(member_of(&visit, &seat, &user_id).await);
    let context = tri!(member_page_context(&visit, &seat, &member).await);
    let values = json!({ "role": member.role });
    visit.render("admin_member", with(context, json!({ "values": values, "checked": member.additional_roles })))
}

#[handler]
async fn change_roles(req: &Request, Path((org_id, user_id)): Path<(String, String)>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let member = tri!(member_of(&visit, &seat, &user_id).await);
    let input = ChangeRole { role: form.optional("role"), additional_roles: Some(form.all("additional_roles")) };
    match visit.app().change_member_role(&visit.ctx(), seat.org.id, member.user_id, input).await {
        Ok(m) => {
            visit.notice("notices.admin-roles-changed");
            visit.redirect(&format!("/orgs/{}/members/{}", seat.org.id, m.user_id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let mut context = tri!(member_page_context(&visit, &seat, &member).await);
            // The picker shows what was chosen, the checkboxes included.
            context["checked"] = Value::from(form.all("additional_roles"));
            visit.form_again("admin_member", refusal, Some("role"), &form, context)
        }
    }
}

#[handler]
async fn remove_page(req: &Request, Path((org_id, user_id)): Path<(String, String)>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let member = tri!(member_of(&visit, &seat, &user_id).await);
    visit.render("admin_member_remove", with(seat.base("members"), json!({ "member": member_context(&member) })))
}

#[handler]
async fn remove_member(req: &Request, Path((org_id, user_id)): Path<(String, String)>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let member = tri!(member_of(&visit, &seat, &user_id).await);
    match visit.app().remove_member(&visit.ctx(), seat.org.id, member.user_id).await {
        Ok(()) => {
            visit.notice("notices.admin-member-removed");
            visit.redirect(&format!("/orgs/{}/members", seat.org.id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let context = with(seat.base("members"), json!({ "member": member_context(&member) }));
            visit.form_again("admin_member_remove", refusal, None, &form, context)
        }
    }
}

async fn invitation_of(visit: &Visit<'_>, seat: &Seat, raw_invite_id: &str) -> Result<PendingInvite, Response> {
    let invite_id = parse_id(visit, raw_invite_id)?;
    visit.app().get_invite(&visit.ctx(), seat.org.id, invite_id).await.map_err(|e| refused(visit, e))
}

#[handler]
async fn invitation_page(req: &Request, Path((org_id, invite_id)): Path<(String, String)>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let invite = tri!(invitation_of(&visit, &seat, &invite_id).await);
    visit.render("admin_invitation", with(seat.base("members"), json!({ "invite": invite_context(&invite) })))
}

#[handler]
async fn resend_invite(req: &Request, Path((org_id, invite_id)): Path<(String, String)>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let invite = tri!(invitation_of(&visit, &seat, &invite_id).await);
    match visit.app().resend_invite(&visit.ctx(), seat.org.id, invite.invite_id).await {
        Ok(i) => {
            visit.notice("notices.admin-invite-resent");
            visit.redirect(&format!("/orgs/{}/invites/{}", seat.org.id, i.invite_id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let context = with(seat.base("members"), json!({ "invite": invite_context(&invite) }));
            visit.form_again("admin_invitation", refusal, None, &form, context)
        }
    }
}

#[handler]
async fn revoke_page(req: &Request, Path((org_id, invite_id)): Path<(String, String)>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let invite = tri!(invitation_of(&visit, &seat, &invite_id).await);
    visit.render("admin_invite_revoke", with(seat.base("members"), json!({ "invite": invite_context(&invite) })))
}

#[handler]
async fn revoke_invite(req: &Request, Path((org_id, invite_id)): Path<(String, String)>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let invite = tri!(invitation_of(&visit, &seat, &invite_id).await);
    match visit.app().revoke_invite(&visit.ctx(), seat.org.id, invite.invite_id).await {
        Ok(()) => {
            visit.notice("notices.admin-invite-revoked");
            visit.redirect(&format!("/orgs/{}/members", seat.org.id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let context = with(seat.base("members"), json!({ "invite": invite_context(&invite) }));
            visit.form_again("admin_invite_revoke", refusal, None, &form, context)
        }
    }
}

// ---- Audit log ----

fn audit_context(e: &AuditEntry, me: &Member) -> Value {
    let you = e.actor_kind == "user" && e.actor_id.as_deref() == Some(&me.user_id.to_string());
    json!({
        "when": date_time(e.occurred_at),
        "action": e.action,
        "actor_kind": e.actor_kind,
        "actor_id": e.actor_id,
        "actor_is_you": you,
        "target_kind": e.target_kind,
        "target_id": e.target_id,
        "ip": e.ip,
    })
}

#[handler]
async fn audit_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let after = tri!(cursor(&visit));
    let page = match visit.app().org_audit_log(&visit.ctx(), seat.org.id, after, paging::DEFAULT_LIMIT).await {
        Ok(p) => p,
        Err(e) => return refused(&visit, e),
    };
    let rows: Vec<Value> = page.items.iter().map(|e| audit_context(e, &seat.me)).collect();
    let path = format!("/orgs/{}/audit-log", seat.org.id);
    let next = page.next_cursor.as_deref().map(|c| with_query(&path, &[("cursor", Some(c))]));
    let first = after.map(|_| path.clone());
    visit.render("admin_audit", with(seat.base("audit"), json!({ "rows": rows, "next_url": next, "first_url": first })))
}

// ---- Danger zone: ownership, leave, delete ----

async fn danger_context(visit: &Visit<'_>, seat: &Seat) -> Result<Value, Response> {
    let mut candidates = Vec::new();
    if seat.may(perm::ORG_TRANSFER_OWNERSHIP) {
        let filter = RosterFilter { members_only: true, limit: paging::MAX_ORG_LIMIT, ..RosterFilter::default() };
        let page = visit.app().list_members(&visit.ctx(), seat.org.id, filter).await.map_err(|e| refused(visit, e))?;
        for entry in &page.items {
            if let RosterEntry::Member(m) = entry {
                if m.user_id != seat.me.user_id {
                    candidates.push(member_context(m));
                }
            }
        }
    }
    Ok(with(seat.base("danger"), json!({ "candidates": candidates })))
}

#[handler]
async fn danger_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let context = tri!(danger_context(&visit, &seat).await);
    visit.render("admin_danger", context)
}

#[handler]
async fn request_transfer(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let Some(target) = Uuid::parse_str(form.get("user_id")).ok().map(UserId::from_uuid) else {
        let refusal = Refusal::field("user_id", visit.pages().text("admin.transfer.choose", &[]));
        let context = tri!(danger_context(&visit, &seat).await);
        return visit.form_again("admin_danger", refusal, Some("user_id"), &form, context);
    };
    match visit.app().request_ownership_transfer(&visit.ctx(), seat.org.id, target).await {
        Ok(_) => {
            visit.notice("notices.admin-transfer-requested");
            visit.redirect(&format!("/orgs/{}/danger", seat.org.id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let context = tri!(danger_context(&visit, &seat).await);
            visit.form_again("admin_danger", refusal, Some("user_id"), &form, context)
        }
    }
}

#[handler]
async fn cancel_transfer(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    match visit.app().cancel_ownership_transfer(&visit.ctx(), seat.org.id).await {
        Ok(()) => {
            visit.notice("notices.admin-transfer-cancelled");
            visit.redirect(&format!("/orgs/{}/danger", seat.org.id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let context = tri!(danger_context(&visit, &seat).await);
            visit.form_again("admin_danger", refusal, None, &form, context)
        }
    }
}

#[handler]
async fn leave_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    visit.render("admin_leave", seat.base("danger"))
}

#[handler]
async fn leave(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    match visit.app().leave_org(&visit.ctx(), seat.org.id).await {
        Ok(()) => {
            visit.notice("notices.admin-left");
            visit.redirect("/orgs")
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            visit.form_again("admin_leave", refusal, None, &form, seat.base("danger"))
        }
    }
}

#[handler]
async fn delete_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    visit.render("admin_delete", seat.base("danger"))
}

#[handler]
async fn delete(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    // The typed name is the person's confirmation, not a rule: it is checked here, before the use
    // case decides whether they may delete at all.
    if form.get("confirm_name").trim() != seat.org.name {
        let message = visit.pages().text("admin.delete.name-mismatch", &[]);
        return visit.form_again(
            "admin_delete",
            Refusal::field("confirm_name", message),
            Some("confirm_name"),
            &form,
            seat.base("danger"),
        );
    }
    match visit.app().delete_org(&visit.ctx(), seat.org.id).await {
        Ok(()) => {
            visit.notice("notices.admin-org-deleted");
            visit.redirect("/orgs")
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            visit.form_again("admin_delete", refusal, None, &form, seat.base("danger"))
        }
    }
}

#[handler]
async fn security_page(req: &Request, Path(org_id): Path<String>) -> Response {
    let visit = visit!(req);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let context = security_context(&visit, &seat);
    visit.render("admin_security", context)
}

fn security_context(visit: &Visit<'_>, seat: &Seat) -> Value {
    let settings = &visit.app().settings().mfa;
    with(
        seat.base("security"),
        json!({
            "orgs_may_require": settings.orgs_may_require,
            "required_for_everyone": settings.require_for_everyone,
            "choice": match (seat.org.mfa_required_at, seat.org.mfa_grace_until) {
                (None, _) => "off",
                (Some(_), None) => "now",
                (Some(_), Some(_)) => "by",
            },
            "deadline_value": seat.org.mfa_grace_until.map(|d| d.format("%Y-%m-%d").to_string()),
        }),
    )
}

#[handler]
async fn save_security(req: &Request, Path(org_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let form = form!(visit, body);
    let (_, seat) = tri!(seat(&visit, &org_id).await);
    let requirement = match form.get("require") {
        "now" => MfaRequirement::Now,
        "by" => {
            let deadline = chrono::NaiveDate::parse_from_str(form.get("deadline").trim(), "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(23, 59, 59))
                .map(|d| d.and_utc());
            match deadline {
                Some(d) => MfaRequirement::By(d),
                None => {
                    let refusal =
                        Refusal::field("deadline", visit.pages().text("admin.security.deadline-invalid", &[]));
                    let context = security_context(&visit, &seat);
                    return visit.form_again("admin_security", refusal, Some("deadline"), &form, context);
                }
            }
        }
        _ => MfaRequirement::Off,
    };
    match visit.app().set_org_mfa_requirement(&visit.ctx(), seat.org.id, requirement).await {
        Ok(_) => {
            visit.notice("notices.admin-security-saved");
            visit.redirect(&format!("/orgs/{}/security", seat.org.id))
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            if refusal.status == StatusCode::NOT_FOUND {
                return not_found(&visit);
            }
            let field = refusal.fields.contains_key("grace_until").then_some("deadline");
            let mut refusal = refusal;
            if let Some(text) = refusal.fields.remove("grace_until") {
                refusal.fields.insert("deadline".into(), text);
            }
            let context = security_context(&visit, &seat);
            visit.form_again("admin_security", refusal, field, &form, context)
        }
    }
}
