//! `/api/backend/v1/orgs…`, `/api/backend/v1/users/{id}/orgs` and `/api/backend/v1/roles`: the
//! organization model for the SaaS backend. The wire types both APIs share are in
//! `wire/orgs.rs`; the ones here only the backend sends or receives.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenantry_app::members::AddMember;
use tenantry_app::orgs::{CreateOrg, OrgFilter, UpdateOrg};
use tenantry_app::roles::{RoleSpec, RolesSpec};
use tenantry_app::{paging, Patch};
use tenantry_core::{OrgId, UserId};
use uuid::Uuid;

use super::users::Deleted;
use super::BackendTag;
use crate::metadata::MetadataIn;
use crate::security::{app, ctx, BackendKey};
use crate::wire::orgs::{
    audit_page, change_role, cursor, invite_input, invite_page, membership_page, roster_filter, roster_page, AuditPage,
    InviteIn, InviteOut, InvitePage, MemberOut, MemberPatch, MembershipPage, OrgOut, RosterPage,
};
use crate::ApiError;

/// A new organization, as the backend creates it.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct OrgIn {
    pub name: String,
    /// Generated from the name when absent.
    pub slug: Option<String>,
    /// The user who becomes its Owner; without one the organization starts with no members.
    pub owner_user_id: Option<Uuid>,
    /// At least 1; absent is unlimited.
    pub max_users: Option<i64>,
    pub metadata: Option<MetadataIn>,
    #[oai(default)]
    pub domains: Vec<String>,
    #[oai(default)]
    pub domain_auto_join: bool,
    #[oai(default)]
    pub domain_restrict: bool,
    /// An isolated organization (its own user pool): its users are accounts of their own, made
    /// by its SSO's first sign-ins, who sign in only through it. Without `owner_user_id`; set up
    /// its SAML connection next.
    #[oai(default)]
    pub isolated: bool,
}

/// A partial update; absent fields stay as they are.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    /// `null` is unlimited. Lowering it evicts nobody.
    pub max_users: MaybeUndefined<i64>,
    /// Replaces the whole object (see the metadata endpoint to merge).
    pub metadata: Option<MetadataIn>,
    pub domain_auto_join: Option<bool>,
    pub domain_restrict: Option<bool>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct OrgPage {
    pub orgs: Vec<OrgOut>,
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum OrgCreated {
    /// The organization was created.
    #[oai(status = 201)]
    Created(Json<OrgOut>),
}

/// A user to add to an organization directly.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MemberIn {
    pub user_id: Uuid,
    /// A hierarchy role; the lowest one when absent.
    pub role: Option<String>,
    #[oai(default)]
    pub additional_roles: Vec<String>,
}

#[derive(ApiResponse)]
pub enum MemberCreated {
    /// The user is a member now.
    #[oai(status = 201)]
    Created(Json<MemberOut>),
}

#[derive(ApiResponse)]
pub enum InviteCreated {
    /// The invitation was created and its email queued.
    #[oai(status = 201)]
    Created(Json<InviteOut>),
}

/// One role and the permissions it holds itself.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct RoleOut {
    pub name: String,
    #[oai(default)]
    pub permissions: Vec<String>,
}

/// The deployment's roles and permissions.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct RolesIn {
    /// Highest first: the first is the owner role; each role inherits the permissions of those
    /// below it.
    pub hierarchy: Vec<RoleOut>,
    /// Roles granted beside a member's hierarchy role.
    #[oai(default)]
    pub additional_roles: Vec<RoleOut>,
    /// The deployment's own permissions, e.g. `projects.write` (not starting with `org.`).
    #[oai(default)]
    pub app_permissions: Vec<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct RolesOut {
    pub hierarchy: Vec<RoleOut>,
    pub additional_roles: Vec<RoleOut>,
    pub app_permissions: Vec<String>,
    /// 0 while the configuration file's roles apply; incremented by every change.
    pub version: i64,
}

fn role_out(r: RoleSpec) -> RoleOut {
    RoleOut { name: r.name, permissions: r.permissions }
}

fn role_spec(r: RoleOut) -> RoleSpec {
    RoleSpec { name: r.name, permissions: r.permissions }
}

fn roles_out((spec, version): (RolesSpec, i64)) -> RolesOut {
    RolesOut {
        hierarchy: spec.hierarchy.into_iter().map(role_out).collect(),
        additional_roles: spec.additional_roles.into_iter().map(role_out).collect(),
        app_permissions: spec.app_permissions,
        version,
    }
}

pub struct OrgsApi;

#[OpenApi(prefix_path = "/api/backend/v1", tag = "BackendTag::Orgs")]
impl OrgsApi {
    /// Create an organization
    #[oai(path = "/orgs", method = "post", operation_id = "create_org")]
    async fn create(&self, req: &Request, auth: BackendKey, body: Json<OrgIn>) -> Result<OrgCreated, ApiError> {
        let b = body.0;
        let input = CreateOrg {
            name: b.name,
            slug: b.slug,
            owner: b.owner_user_id.map(UserId::from_uuid),
            max_users: b.max_users,
            metadata: b.metadata.map(MetadataIn::into_object).transpose()?,
            domains: b.domains,
            domain_auto_join: b.domain_auto_join,
            domain_restrict: b.domain_restrict,
            isolated: b.isolated,
        };
        let org = app(req)?.create_org(&ctx(req, auth.0), input).await?;
        Ok(OrgCreated::Created(Json(org.into())))
    }

    /// Query organizations
    ///
    /// In creation order; by name prefix (case-insensitive) or by domain.
    #[oai(path = "/orgs", method = "get", operation_id = "query_orgs")]
    async fn query(
        &self,
        req: &Request,
        auth: BackendKey,
        name_prefix: Query<Option<String>>,
        domain: Query<Option<String>>,
        cursor: Query<Option<String>>,
        /// Page size, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<OrgPage>, ApiError> {
        let filter = OrgFilter {
            name_prefix: name_prefix.0,
            domain: domain.0,
            cursor: self::cursor(cursor.0)?,
            limit: paging::org_limit(limit.0),
        };
        let page = app(req)?.query_orgs(&ctx(req, auth.0), filter).await?;
        Ok(Json(OrgPage { orgs: page.items.into_iter().map(OrgOut::from).collect(), next_cursor: page.next_cursor }))
    }

    /// Fetch an organization by slug
    #[oai(path = "/orgs/by-slug/:slug", method = "get", operation_id = "get_org_by_slug")]
    async fn by_slug(&self, req: &Request, auth: BackendKey, slug: Path<String>) -> Result<Json<OrgOut>, ApiError> {
        Ok(Json(app(req)?.get_org_by_slug(&ctx(req, auth.0), &slug.0).await?.into()))
    }

    /// Fetch an organization
    #[oai(path = "/orgs/:org_id", method = "get", operation_id = "get_org")]
    async fn get(&self, req: &Request, auth: BackendKey, org_id: Path<Uuid>) -> Result<Json<OrgOut>, ApiError> {
        Ok(Json(app(req)?.get_org(&ctx(req, auth.0), OrgId::from_uuid(org_id.0)).await?.into()))
    }

    /// Update an organization
    #[oai(path = "/orgs/:org_id", method = "patch", operation_id = "update_org")]
    async fn update(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        body: Json<OrgPatch>,
    ) -> Result<Json<OrgOut>, ApiError> {
        let b = body.0;
        let input = UpdateOrg {
            name: b.name,
            slug: b.slug,
            max_users: match b.max_users {
                MaybeUndefined::Undefined => Patch::Absent,
                MaybeUndefined::Null => Patch::Null,
                MaybeUndefined::Value(n) => Patch::Value(n),
            },
            metadata: b.metadata.map(MetadataIn::into_object).transpose()?,
            domain_auto_join: b.domain_auto_join,
            domain_restrict: b.domain_restrict,
        };
        Ok(Json(app(req)?.update_org(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), input).await?.into()))
    }

    /// Merge into an organization's metadata
    ///
    /// An RFC 7396 merge patch: `null` removes a key, objects merge, anything else replaces.
    #[oai(path = "/orgs/:org_id/metadata", method = "patch", operation_id = "merge_org_metadata")]
    async fn merge_metadata(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        body: Json<MetadataIn>,
    ) -> Result<Json<OrgOut>, ApiError> {
        let patch = body.0.into_object()?;
        Ok(Json(app(req)?.merge_org_metadata(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), patch).await?.into()))
    }

    /// Delete an organization
    ///
    /// Permanent: members, invitations and domains go; the audit trail stays.
    #[oai(path = "/orgs/:org_id", method = "delete", operation_id = "delete_org")]
    async fn delete(&self, req: &Request, auth: BackendKey, org_id: Path<Uuid>) -> Result<Deleted, ApiError> {
        app(req)?.delete_org(&ctx(req, auth.0), OrgId::from_uuid(org_id.0)).await?;
        Ok(Deleted::NoContent)
    }

    /// Add a domain to an organization
    #[oai(path = "/orgs/:org_id/domains/:domain", method = "put", operation_id = "add_org_domain")]
    async fn add_domain(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        domain: Path<String>,
    ) -> Result<Json<OrgOut>, ApiError> {
        Ok(Json(app(req)?.add_org_domain(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), &domain.0).await?.into()))
    }

    /// Remove a domain from an organization
    #[oai(path = "/orgs/:org_id/domains/:domain", method = "delete", operation_id = "remove_org_domain")]
    async fn remove_domain(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        domain: Path<String>,
    ) -> Result<Json<OrgOut>, ApiError> {
        Ok(Json(app(req)?.remove_org_domain(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), &domain.0).await?.into()))
    }

    /// List members and pending invitations
    ///
    /// One list in id order: members and pending invitations together, filtered by role and by
    /// email prefix.
    #[oai(path = "/orgs/:org_id/members", method = "get", operation_id = "list_org_members")]
    #[allow(clippy::too_many_arguments)]
    async fn members(
        &self,
        req: &Request,
        auth: BackendKey,
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
        let page = app(req)?.list_members(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), filter).await?;
        Ok(Json(roster_page(page)))
    }

    /// Add a user to an organization
    ///
    /// Directly, without an invitation; the organization's limits and domain restriction apply.
    #[oai(path = "/orgs/:org_id/members", method = "post", operation_id = "add_org_member")]
    async fn add_member(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        body: Json<MemberIn>,
    ) -> Result<MemberCreated, ApiError> {
        let b = body.0;
        let input =
            AddMember { user_id: UserId::from_uuid(b.user_id), role: b.role, additional_roles: b.additional_roles };
        let member = app(req)?.add_member(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), input).await?;
        Ok(MemberCreated::Created(Json(member.into())))
    }

    /// Fetch a member
    #[oai(path = "/orgs/:org_id/members/:user_id", method = "get", operation_id = "get_org_member")]
    async fn member(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        user_id: Path<Uuid>,
    ) -> Result<Json<MemberOut>, ApiError> {
        let m =
            app(req)?.get_member(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), UserId::from_uuid(user_id.0)).await?;
        Ok(Json(m.into()))
    }

    /// Change a member's roles
    #[oai(path = "/orgs/:org_id/members/:user_id", method = "patch", operation_id = "change_org_member_role")]
    async fn change_role(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        user_id: Path<Uuid>,
        body: Json<MemberPatch>,
    ) -> Result<Json<MemberOut>, ApiError> {
        let m = app(req)?
            .change_member_role(
                &ctx(req, auth.0),
                OrgId::from_uuid(org_id.0),
                UserId::from_uuid(user_id.0),
                change_role(body.0),
            )
            .await?;
        Ok(Json(m.into()))
    }

    /// Remove a member
    ///
    /// Their sessions acting in the organization end at once, and it leaves their next token.
    #[oai(path = "/orgs/:org_id/members/:user_id", method = "delete", operation_id = "remove_org_member")]
    async fn remove_member(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        user_id: Path<Uuid>,
    ) -> Result<Deleted, ApiError> {
        app(req)?.remove_member(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), UserId::from_uuid(user_id.0)).await?;
        Ok(Deleted::NoContent)
    }

    /// Invite someone
    ///
    /// The invitation link is emailed; it expires after the deployment's invitation lifetime.
    #[oai(path = "/orgs/:org_id/invites", method = "post", operation_id = "create_org_invite")]
    async fn invite(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        body: Json<InviteIn>,
    ) -> Result<InviteCreated, ApiError> {
        let invite =
            app(req)?.create_invite(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), invite_input(body.0)).await?;
        Ok(InviteCreated::Created(Json(invite.into())))
    }

    /// List invitations
    #[oai(path = "/orgs/:org_id/invites", method = "get", operation_id = "list_org_invites")]
    async fn invites(
        &self,
        req: &Request,
        auth: BackendKey,
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
                &ctx(req, auth.0),
                OrgId::from_uuid(org_id.0),
                all_states.0.unwrap_or(false),
                self::cursor(cursor.0)?,
                paging::org_limit(limit.0),
            )
            .await?;
        Ok(Json(invite_page(page)))
    }

    /// Resend an invitation
    ///
    /// A new link and expiry; the old link stops working.
    #[oai(path = "/orgs/:org_id/invites/:invite_id/resend", method = "post", operation_id = "resend_org_invite")]
    async fn resend(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        invite_id: Path<Uuid>,
    ) -> Result<Json<InviteOut>, ApiError> {
        let i = app(req)?.resend_invite(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), invite_id.0).await?;
        Ok(Json(i.into()))
    }

    /// Revoke an invitation
    #[oai(path = "/orgs/:org_id/invites/:invite_id", method = "delete", operation_id = "revoke_org_invite")]
    async fn revoke(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        invite_id: Path<Uuid>,
    ) -> Result<Deleted, ApiError> {
        app(req)?.revoke_invite(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), invite_id.0).await?;
        Ok(Deleted::NoContent)
    }

    /// Read an organization's audit trail
    ///
    /// Newest first. It outlives the organization.
    #[oai(path = "/orgs/:org_id/audit-log", method = "get", operation_id = "get_org_audit_log")]
    async fn audit_log(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        cursor: Query<Option<String>>,
        /// Page size, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<AuditPage>, ApiError> {
        let page = app(req)?
            .org_audit_log(
                &ctx(req, auth.0),
                OrgId::from_uuid(org_id.0),
                self::cursor(cursor.0)?,
                paging::org_limit(limit.0),
            )
            .await?;
        Ok(Json(audit_page(page)))
    }

    /// Cancel a pending ownership transfer
    #[oai(path = "/orgs/:org_id/ownership-transfer", method = "delete", operation_id = "cancel_ownership_transfer")]
    async fn cancel_transfer(&self, req: &Request, auth: BackendKey, org_id: Path<Uuid>) -> Result<Deleted, ApiError> {
        app(req)?.cancel_ownership_transfer(&ctx(req, auth.0), OrgId::from_uuid(org_id.0)).await?;
        Ok(Deleted::NoContent)
    }

    /// List a user's organizations
    #[oai(path = "/users/:user_id/orgs", method = "get", operation_id = "list_user_orgs")]
    async fn user_orgs(
        &self,
        req: &Request,
        auth: BackendKey,
        user_id: Path<Uuid>,
        cursor: Query<Option<String>>,
        /// Page size, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<MembershipPage>, ApiError> {
        let page = app(req)?
            .user_orgs(
                &ctx(req, auth.0),
                UserId::from_uuid(user_id.0),
                self::cursor(cursor.0)?,
                paging::org_limit(limit.0),
            )
            .await?;
        Ok(Json(membership_page(page)))
    }

    /// Read the roles and permissions
    #[oai(path = "/roles", method = "get", operation_id = "get_roles", tag = "BackendTag::Roles")]
    async fn roles(&self, req: &Request, auth: BackendKey) -> Result<Json<RolesOut>, ApiError> {
        Ok(Json(roles_out(app(req)?.get_roles(&ctx(req, auth.0)).await?)))
    }

    /// Replace the roles and permissions
    ///
    /// Refused while a member or pending invitation holds a role that would be dropped.
    #[oai(path = "/roles", method = "put", operation_id = "set_roles", tag = "BackendTag::Roles")]
    async fn set_roles(
        &self,
        req: &Request,
        auth: BackendKey,
        body: Json<RolesIn>,
    ) -> Result<Json<RolesOut>, ApiError> {
        let b = body.0;
        let spec = RolesSpec {
            hierarchy: b.hierarchy.into_iter().map(role_spec).collect(),
            additional_roles: b.additional_roles.into_iter().map(role_spec).collect(),
            app_permissions: b.app_permissions,
        };
        Ok(Json(roles_out(app(req)?.set_roles(&ctx(req, auth.0), spec).await?)))
    }
}
