//! `/api/v1/orgs…`, `/api/v1/me/orgs`, `/api/v1/invites/…` and the ownership transfer: the
//! organization model as the signed-in user acts on it. Same use cases as the backend API; what a
//! member may do is decided there, from the membership as stored at the moment of the request.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenantry_app::invites::{GrantableRoles, InviteDetails, MyInvite};
use tenantry_app::orgs::{CreateOrg, UpdateOrg};
use tenantry_app::paging;
use tenantry_app::transfers::Transfer;
use tenantry_core::{InviteId, OrgId, UserId};
use uuid::Uuid;

use super::account::{Done, TokenIn, TokensOut};
use super::{EndUserTag, UserAuth};
use crate::security::app;
use crate::wire::orgs::{
    audit_page, change_role, cursor, invite_input, invite_page, membership_page, roster_filter, roster_page, AuditPage,
    InviteIn, InviteOut, InvitePage, MemberOut, MemberPatch, MembershipPage, OrgOut, RosterPage,
};
use crate::ApiError;

/// A new organization; its creator becomes its Owner.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MyOrgIn {
    pub name: String,
    /// Generated from the name when absent.
    pub slug: Option<String>,
    /// Only the domain of your own verified email, never a public mail provider's.
    #[oai(default)]
    pub domains: Vec<String>,
    #[oai(default)]
    pub domain_auto_join: bool,
    #[oai(default)]
    pub domain_restrict: bool,
}

/// What an Owner or Admin may change; absent fields stay as they are.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MyOrgPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub domain_auto_join: Option<bool>,
    pub domain_restrict: Option<bool>,
}

/// The member to hand ownership to.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct TransferIn {
    pub user_id: Uuid,
}

/// The organization this session acts in; `null` clears it.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ActiveOrgIn {
    pub org_id: Option<Uuid>,
}

#[derive(ApiResponse)]
pub enum MyOrgCreated {
    /// The organization was created; you are its Owner.
    #[oai(status = 201)]
    Created(Json<OrgOut>),
}

#[derive(ApiResponse)]
pub enum MyInviteCreated {
    /// The invitation was created and its email queued.
    #[oai(status = 201)]
    Created(Json<InviteOut>),
}

#[derive(ApiResponse)]
pub enum TransferRequested {
    /// The transfer waits for your confirmation from the emailed link.
    #[oai(status = 202)]
    Accepted(Json<TransferOut>),
}

/// What an invitation link shows before signing in.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct InviteDetailsOut {
    pub org_name: String,
    pub inviter: String,
    pub role: String,
    /// The address the invitation was sent to: sign in or up with it to answer.
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

impl From<InviteDetails> for InviteDetailsOut {
    fn from(d: InviteDetails) -> InviteDetailsOut {
        InviteDetailsOut {
            org_name: d.org_name,
            inviter: d.inviter,
            role: d.role,
            email: d.email,
            expires_at: d.expires_at,
        }
    }
}

/// An invitation waiting for your answer.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MyInviteOut {
    pub invite_id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    /// Who invited you: their name, or the organization's team when the backend did.
    pub inviter: String,
    pub role: String,
    pub expires_at: DateTime<Utc>,
}

impl From<MyInvite> for MyInviteOut {
    fn from(i: MyInvite) -> MyInviteOut {
        MyInviteOut {
            invite_id: i.invite_id.as_uuid(),
            org_id: i.org_id.as_uuid(),
            org_name: i.org_name,
            inviter: i.inviter,
            role: i.role,
            expires_at: i.expires_at,
        }
    }
}

/// The invitations waiting for your answer, oldest first (at most 100).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MyInvitesOut {
    pub invites: Vec<MyInviteOut>,
}

/// An ownership transfer waiting for (or past) the owner's confirmation.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct TransferOut {
    pub transfer_id: Uuid,
    pub org_id: Uuid,
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
    /// `pending`, `confirmed`, `cancelled` or `expired`.
    pub state: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<Transfer> for TransferOut {
    fn from(t: Transfer) -> TransferOut {
        TransferOut {
            transfer_id: t.transfer_id,
            org_id: t.org_id.as_uuid(),
            from_user_id: t.from_user_id.as_uuid(),
            to_user_id: t.to_user_id.as_uuid(),
            state: t.state,
            expires_at: t.expires_at,
            created_at: t.created_at,
        }
    }
}

/// The roles you may hand out in an organization, computed from the rules that decide.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct GrantableRolesOut {
    /// Roles an invitation (or a role change) from you may give, highest first; empty without
    /// `org.members.invite`.
    pub roles: Vec<String>,
    /// Additional roles you may grant: those whose every permission your roles hold.
    pub additional_roles: Vec<String>,
}

impl From<GrantableRoles> for GrantableRolesOut {
    fn from(g: GrantableRoles) -> GrantableRolesOut {
        GrantableRolesOut { roles: g.roles, additional_roles: g.additional_roles }
    }
}

fn org(id: Uuid) -> OrgId {
    OrgId::from_uuid(id)
}

pub struct OrgsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "EndUserTag::Orgs")]
impl OrgsApi {
    /// Create an organization
    #[oai(path = "/orgs", method = "post", operation_id = "create_my_org")]
    async fn create(&self, req: &Request, auth: UserAuth, body: Json<MyOrgIn>) -> Result<MyOrgCreated, ApiError> {
        let b = body.0;
        let input = CreateOrg {
            name: b.name,
            slug: b.slug,
            domains: b.domains,
            domain_auto_join: b.domain_auto_join,
            domain_restrict: b.domain_restrict,
            ..CreateOrg::default()
        };
        let created = app(req)?.create_org(&auth.ctx(req), input).await?;
        Ok(MyOrgCreated::Created(Json(created.into())))
    }

    /// List my organizations
    #[oai(path = "/me/orgs", method = "get", operation_id = "list_my_orgs")]
    async fn mine(
        &self,
        req: &Request,
        auth: UserAuth,
        cursor: Query<Option<String>>,
        /// Page size, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<MembershipPage>, ApiError> {
        let me = auth.user();
        let page =
            app(req)?.user_orgs(&me.ctx(req), me.user_id, self::cursor(cursor.0)?, paging::org_limit(limit.0)).await?;
        Ok(Json(membership_page(page)))
    }

    /// List my pending invitations
    ///
    /// The pending, unexpired invitations sent to your verified email address, across
    /// organizations, oldest first. Empty while your address is not verified.
    #[oai(path = "/me/invites", method = "get", operation_id = "list_my_invites")]
    async fn my_invites(&self, req: &Request, auth: UserAuth) -> Result<Json<MyInvitesOut>, ApiError> {
        let invites = app(req)?.my_invites(&auth.ctx(req)).await?;
        Ok(Json(MyInvitesOut { invites: invites.into_iter().map(MyInviteOut::from).collect() }))
    }

    /// Accept one of my invitations
    ///
    /// The invitation from your own list, without the emailed link: the same accept, with the same
    /// refusals, for a verified address it was sent to.
    #[oai(path = "/me/invites/:invite_id/accept", method = "post", operation_id = "accept_my_invite")]
    async fn accept_mine(
        &self,
        req: &Request,
        auth: UserAuth,
        invite_id: Path<Uuid>,
    ) -> Result<Json<MemberOut>, ApiError> {
        let m = app(req)?.accept_my_invite(&auth.ctx(req), InviteId::from_uuid(invite_id.0)).await?;
        Ok(Json(m.into()))
    }

    /// Decline one of my invitations
    #[oai(path = "/me/invites/:invite_id/decline", method = "post", operation_id = "decline_my_invite")]
    async fn decline_mine(&self, req: &Request, auth: UserAuth, invite_id: Path<Uuid>) -> Result<Done, ApiError> {
        app(req)?.decline_my_invite(&auth.ctx(req), InviteId::from_uuid(invite_id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Choose the organization this session acts in
    ///
    /// Returns fresh tokens whose `active_org_id` (and, on deployments that list only the active
    /// organization, `orgs`) say so.
    #[oai(path = "/me/active-org", method = "put", operation_id = "set_my_active_org")]
    async fn set_active(
        &self,
        req: &Request,
        auth: UserAuth,
        body: Json<ActiveOrgIn>,
    ) -> Result<Json<TokensOut>, ApiError> {
        let me = auth.user();
        let tokens = app(req)?.set_active_org(&me.ctx(req), body.0.org_id.map(org)).await?;
        Ok(Json(tokens.into()))
    }

    /// Fetch an organization
    #[oai(path = "/orgs/:org_id", method = "get", operation_id = "get_my_org")]
    async fn get(&self, req: &Request, auth: UserAuth, org_id: Path<Uuid>) -> Result<Json<OrgOut>, ApiError> {
        Ok(Json(app(req)?.get_org(&auth.ctx(req), org(org_id.0)).await?.into()))
    }

    /// Update an organization
    #[oai(path = "/orgs/:org_id", method = "patch", operation_id = "update_my_org")]
    async fn update(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        body: Json<MyOrgPatch>,
    ) -> Result<Json<OrgOut>, ApiError> {
        let b = body.0;
        let input = UpdateOrg {
            name: b.name,
            slug: b.slug,
            domain_auto_join: b.domain_auto_join,
            domain_restrict: b.domain_restrict,
            ..UpdateOrg::default()
        };
        Ok(Json(app(req)?.update_org(&auth.ctx(req), org(org_id.0), input).await?.into()))
    }

    /// Delete an organization
    ///
    /// Owners only. Permanent.
    #[oai(path = "/orgs/:org_id", method = "delete", operation_id = "delete_my_org")]
    async fn delete(&self, req: &Request, auth: UserAuth, org_id: Path<Uuid>) -> Result<Done, ApiError> {
        app(req)?.delete_org(&auth.ctx(req), org(org_id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Claim a domain for an organization
    ///
    /// Only the domain of your own verified email address, never a public mail provider's.
    #[oai(path = "/orgs/:org_id/domains/:domain", method = "put", operation_id = "add_my_org_domain")]
    async fn add_domain(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        domain: Path<String>,
    ) -> Result<Json<OrgOut>, ApiError> {
        Ok(Json(app(req)?.add_org_domain(&auth.ctx(req), org(org_id.0), &domain.0).await?.into()))
    }

    /// Remove a domain from an organization
    #[oai(path = "/orgs/:org_id/domains/:domain", method = "delete", operation_id = "remove_my_org_domain")]
    async fn remove_domain(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        domain: Path<String>,
    ) -> Result<Json<OrgOut>, ApiError> {
        Ok(Json(app(req)?.remove_org_domain(&auth.ctx(req), org(org_id.0), &domain.0).await?.into()))
    }

    /// List members and pending invitations
    #[oai(path = "/orgs/:org_id/members", method = "get", operation_id = "list_my_org_members")]
    #[allow(clippy::too_many_arguments)]
    async fn members(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        role: Query<Option<String>>,
        /// Case-insensitive prefix of the email address.
        email: Query<Option<String>>,
        /// Leave pending invitations out.
        members_only: Query<Option<bool>>,
        cursor: Query<Option<String>>,
        /// Page size, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<RosterPage>, ApiError> {
        let filter = roster_filter(role.0, email.0, members_only.0, cursor.0, limit.0)?;
        let page = app(req)?.list_members(&auth.ctx(req), org(org_id.0), filter).await?;
        Ok(Json(roster_page(page)))
    }

    /// Fetch a member
    #[oai(path = "/orgs/:org_id/members/:user_id", method = "get", operation_id = "get_my_org_member")]
    async fn member(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        user_id: Path<Uuid>,
    ) -> Result<Json<MemberOut>, ApiError> {
        let m = app(req)?.get_member(&auth.ctx(req), org(org_id.0), UserId::from_uuid(user_id.0)).await?;
        Ok(Json(m.into()))
    }

    /// Change a member's roles
    #[oai(path = "/orgs/:org_id/members/:user_id", method = "patch", operation_id = "change_my_org_member_role")]
    async fn change_role(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        user_id: Path<Uuid>,
        body: Json<MemberPatch>,
    ) -> Result<Json<MemberOut>, ApiError> {
        let m = app(req)?
            .change_member_role(&auth.ctx(req), org(org_id.0), UserId::from_uuid(user_id.0), change_role(body.0))
            .await?;
        Ok(Json(m.into()))
    }

    /// Remove a member
    #[oai(path = "/orgs/:org_id/members/:user_id", method = "delete", operation_id = "remove_my_org_member")]
    async fn remove_member(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        user_id: Path<Uuid>,
    ) -> Result<Done, ApiError> {
        app(req)?.remove_member(&auth.ctx(req), org(org_id.0), UserId::from_uuid(user_id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Leave an organization
    #[oai(path = "/orgs/:org_id/leave", method = "post", operation_id = "leave_org")]
    async fn leave(&self, req: &Request, auth: UserAuth, org_id: Path<Uuid>) -> Result<Done, ApiError> {
        app(req)?.leave_org(&auth.ctx(req), org(org_id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Invite someone
    #[oai(path = "/orgs/:org_id/invites", method = "post", operation_id = "create_my_org_invite")]
    async fn invite(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        body: Json<InviteIn>,
    ) -> Result<MyInviteCreated, ApiError> {
        let i = app(req)?.create_invite(&auth.ctx(req), org(org_id.0), invite_input(body.0)).await?;
        Ok(MyInviteCreated::Created(Json(i.into())))
    }

    /// List the roles I may grant
    ///
    /// The roles a role picker should offer you in this organization: the same rules that refuse
    /// an invitation or a role change with `role-above-yours` or `owner-required` decide them.
    #[oai(path = "/orgs/:org_id/grantable-roles", method = "get", operation_id = "list_my_grantable_roles")]
    async fn grantable_roles(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
    ) -> Result<Json<GrantableRolesOut>, ApiError> {
        Ok(Json(app(req)?.grantable_roles(&auth.ctx(req), org(org_id.0)).await?.into()))
    }

    /// List invitations
    #[oai(path = "/orgs/:org_id/invites", method = "get", operation_id = "list_my_org_invites")]
    async fn invites(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        /// Every state, not only pending invitations.
        all_states: Query<Option<bool>>,
        cursor: Query<Option<String>>,
        /// Page size, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<InvitePage>, ApiError> {
        let page = app(req)?
            .list_invites(
                &auth.ctx(req),
                org(org_id.0),
                all_states.0.unwrap_or(false),
                self::cursor(cursor.0)?,
                paging::org_limit(limit.0),
            )
            .await?;
        Ok(Json(invite_page(page)))
    }

    /// Resend an invitation
    #[oai(path = "/orgs/:org_id/invites/:invite_id/resend", method = "post", operation_id = "resend_my_org_invite")]
    async fn resend(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        invite_id: Path<Uuid>,
    ) -> Result<Json<InviteOut>, ApiError> {
        Ok(Json(app(req)?.resend_invite(&auth.ctx(req), org(org_id.0), invite_id.0).await?.into()))
    }

    /// Revoke an invitation
    #[oai(path = "/orgs/:org_id/invites/:invite_id", method = "delete", operation_id = "revoke_my_org_invite")]
    async fn revoke(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        invite_id: Path<Uuid>,
    ) -> Result<Done, ApiError> {
        app(req)?.revoke_invite(&auth.ctx(req), org(org_id.0), invite_id.0).await?;
        Ok(Done::NoContent)
    }

    /// Read an organization's audit trail
    ///
    /// Owners and Admins. Newest first.
    #[oai(path = "/orgs/:org_id/audit-log", method = "get", operation_id = "get_my_org_audit_log")]
    async fn audit_log(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        cursor: Query<Option<String>>,
        /// Page size, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<AuditPage>, ApiError> {
        let page = app(req)?
            .org_audit_log(&auth.ctx(req), org(org_id.0), self::cursor(cursor.0)?, paging::org_limit(limit.0))
            .await?;
        Ok(Json(audit_page(page)))
    }

    /// Start an ownership transfer
    ///
    /// Owners only. A confirmation link is emailed to you; the transfer happens when you follow it.
    #[oai(path = "/orgs/:org_id/ownership-transfer", method = "post", operation_id = "request_ownership_transfer")]
    async fn request_transfer(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        body: Json<TransferIn>,
    ) -> Result<TransferRequested, ApiError> {
        let t = app(req)?
            .request_ownership_transfer(&auth.ctx(req), org(org_id.0), UserId::from_uuid(body.0.user_id))
            .await?;
        Ok(TransferRequested::Accepted(Json(t.into())))
    }

    /// Cancel a pending ownership transfer
    #[oai(path = "/orgs/:org_id/ownership-transfer", method = "delete", operation_id = "cancel_my_ownership_transfer")]
    async fn cancel_transfer(&self, req: &Request, auth: UserAuth, org_id: Path<Uuid>) -> Result<Done, ApiError> {
        app(req)?.cancel_ownership_transfer(&auth.ctx(req), org(org_id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Confirm an ownership transfer with the emailed link
    ///
    /// Signed in as the owner who started it.
    #[oai(path = "/ownership-transfer/confirm", method = "post", operation_id = "confirm_ownership_transfer")]
    async fn confirm_transfer(
        &self,
        req: &Request,
        auth: UserAuth,
        body: Json<TokenIn>,
    ) -> Result<Json<TransferOut>, ApiError> {
        let t = app(req)?.confirm_ownership_transfer(&auth.ctx(req), &body.0.token).await?;
        Ok(Json(t.into()))
    }

    /// See an invitation
    ///
    /// What the link from the invitation email shows before signing in: the organization's name,
    /// who invited, the role and the expiry.
    #[oai(path = "/invites/details", method = "post", operation_id = "get_invite_details")]
    async fn invite_details(&self, req: &Request, body: Json<TokenIn>) -> Result<Json<InviteDetailsOut>, ApiError> {
        Ok(Json(app(req)?.invite_details(&body.0.token).await?.into()))
    }

    /// Accept an invitation
    ///
    /// Signed in as the invited address.
    #[oai(path = "/invites/accept", method = "post", operation_id = "accept_invite")]
    async fn accept(&self, req: &Request, auth: UserAuth, body: Json<TokenIn>) -> Result<Json<MemberOut>, ApiError> {
        let m = app(req)?.accept_invite(&auth.ctx(req), &body.0.token).await?;
        Ok(Json(m.into()))
    }

    /// Decline an invitation
    #[oai(path = "/invites/decline", method = "post", operation_id = "decline_invite")]
    async fn decline(&self, req: &Request, auth: UserAuth, body: Json<TokenIn>) -> Result<Done, ApiError> {
        app(req)?.decline_invite(&auth.ctx(req), &body.0.token).await?;
        Ok(Done::NoContent)
    }
}
