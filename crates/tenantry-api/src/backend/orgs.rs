//! `/api/backend/v1/orgs…`, `/api/backend/v1/users/{id}/orgs` and `/api/backend/v1/roles`: the
//! organization model for the SaaS backend. The wire types here serve the end-user API too.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;
use tenantry_app::invites::{CreateInvite, InviteDetails};
use tenantry_app::members::{AddMember, ChangeRole, Member, PendingInvite, RosterEntry, RosterFilter};
use tenantry_app::orgs::{AuditEntry, CreateOrg, Membership, Org, OrgFilter, UpdateOrg};
use tenantry_app::roles::{RoleSpec, RolesSpec};
use tenantry_app::transfers::Transfer;
use tenantry_app::{parse_cursor, Patch};
use tenantry_core::{OrgId, UserId};
use uuid::Uuid;

use super::users::Deleted;
use super::BackendTag;
use crate::security::{app, ctx, BackendKey};
use crate::ApiError;

/// Default and maximum page sizes of organization lists.
pub const ORG_PAGE: u32 = 50;
pub const ORG_MAX_PAGE: u32 = 100;

/// An organization.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct OrgOut {
    pub org_id: Uuid,
    /// 1 to 255 characters.
    pub name: String,
    /// URL-safe and unique.
    pub slug: String,
    /// Set through the backend API; at most 8 KiB of JSON.
    pub metadata: BTreeMap<String, Value>,
    /// Members plus pending invites may not exceed it; absent means unlimited.
    pub max_users: Option<u32>,
    pub member_count: u32,
    pub domains: Vec<String>,
    /// Users with a verified email at one of `domains` join by themselves, at the lowest role.
    pub domain_auto_join: bool,
    /// Only addresses at one of `domains` may be invited or added.
    pub domain_restrict: bool,
    pub isolated: bool,
    /// The user who created it through the end-user API.
    pub created_by: Option<Uuid>,
    /// Incremented on every change; webhook events carry it too.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Org> for OrgOut {
    fn from(o: Org) -> OrgOut {
        OrgOut {
            org_id: o.id.as_uuid(),
            name: o.name,
            slug: o.slug,
            metadata: o.metadata.into_iter().collect(),
            max_users: o.max_users,
            member_count: o.member_count,
            domains: o.domains,
            domain_auto_join: o.domain_auto_join,
            domain_restrict: o.domain_restrict,
            isolated: o.isolated,
            created_by: o.created_by.map(|u| u.as_uuid()),
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

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
    pub metadata: Option<BTreeMap<String, Value>>,
    #[oai(default)]
    pub domains: Vec<String>,
    #[oai(default)]
    pub domain_auto_join: bool,
    #[oai(default)]
    pub domain_restrict: bool,
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
    pub metadata: Option<BTreeMap<String, Value>>,
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

/// A member of an organization.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MemberOut {
    pub membership_id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The member's role in the hierarchy.
    pub role: String,
    pub additional_roles: Vec<String>,
    /// Everything the roles grant, inherited ones included.
    pub permissions: Vec<String>,
    pub is_creator: bool,
    pub version: i64,
    pub joined_at: DateTime<Utc>,
}

impl From<Member> for MemberOut {
    fn from(m: Member) -> MemberOut {
        MemberOut {
            membership_id: m.membership_id,
            org_id: m.org_id.as_uuid(),
            user_id: m.user_id.as_uuid(),
            email: m.email,
            first_name: m.first_name,
            last_name: m.last_name,
            role: m.role,
            additional_roles: m.additional_roles,
            permissions: m.permissions,
            is_creator: m.is_creator,
            version: m.version,
            joined_at: m.joined_at,
        }
    }
}

/// An invitation (never its token).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct InviteOut {
    pub invite_id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: String,
    pub additional_roles: Vec<String>,
    /// The inviting user; absent when the backend invited.
    pub invited_by: Option<Uuid>,
    /// `pending`, `accepted`, `declined`, `revoked` or `expired`.
    pub state: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

impl From<PendingInvite> for InviteOut {
    fn from(i: PendingInvite) -> InviteOut {
        InviteOut {
            invite_id: i.invite_id,
            org_id: i.org_id.as_uuid(),
            email: i.email,
            role: i.role,
            additional_roles: i.additional_roles,
            invited_by: i.invited_by.map(|u| u.as_uuid()),
            state: i.state,
            expires_at: i.expires_at,
            created_at: i.created_at,
            version: i.version,
        }
    }
}

/// One line of the roster: a member (`kind` = `member`) or a pending invite (`invite`).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct RosterEntryOut {
    /// `member` or `invite`.
    pub kind: String,
    pub member: Option<MemberOut>,
    pub invite: Option<InviteOut>,
}

impl From<RosterEntry> for RosterEntryOut {
    fn from(e: RosterEntry) -> RosterEntryOut {
        match e {
            RosterEntry::Member(m) => RosterEntryOut { kind: "member".into(), member: Some(m.into()), invite: None },
            RosterEntry::Invite(i) => RosterEntryOut { kind: "invite".into(), member: None, invite: Some(i.into()) },
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct RosterPage {
    pub entries: Vec<RosterEntryOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct InvitePage {
    pub invites: Vec<InviteOut>,
    pub next_cursor: Option<String>,
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

/// A change of roles; absent fields stay as they are.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MemberPatch {
    pub role: Option<String>,
    /// Replaces the member's additional roles.
    pub additional_roles: Option<Vec<String>>,
}

/// An invitation to send.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct InviteIn {
    pub email: String,
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

/// An entry of an organization's audit trail.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct AuditEntryOut {
    pub audit_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// `api_key`, `user`, `system` or `anonymous`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub details: Value,
}

impl From<AuditEntry> for AuditEntryOut {
    fn from(a: AuditEntry) -> AuditEntryOut {
        AuditEntryOut {
            audit_id: a.id,
            occurred_at: a.occurred_at,
            actor_kind: a.actor_kind,
            actor_id: a.actor_id,
            action: a.action,
            target_kind: a.target_kind,
            target_id: a.target_id,
            ip: a.ip,
            request_id: a.request_id,
            details: a.details,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditEntryOut>,
    pub next_cursor: Option<String>,
}

/// One of a user's organizations and their standing in it.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MembershipOut {
    pub org_id: Uuid,
    pub org_name: String,
    pub org_slug: String,
    pub role: String,
    /// The roles below `role`, whose permissions it inherits.
    pub inherited_roles: Vec<String>,
    pub additional_roles: Vec<String>,
    pub permissions: Vec<String>,
    pub joined_at: DateTime<Utc>,
}

impl From<Membership> for MembershipOut {
    fn from(m: Membership) -> MembershipOut {
        MembershipOut {
            org_id: m.org_id.as_uuid(),
            org_name: m.org_name,
            org_slug: m.org_slug,
            role: m.role,
            inherited_roles: m.inherited_roles,
            additional_roles: m.additional_roles,
            permissions: m.permissions,
            joined_at: m.joined_at,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MembershipPage {
    pub orgs: Vec<MembershipOut>,
    pub next_cursor: Option<String>,
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

/// What an invitation link shows before signing in.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct InviteDetailsOut {
    pub org_name: String,
    pub inviter: String,
    pub role: String,
    pub expires_at: DateTime<Utc>,
}

impl From<InviteDetails> for InviteDetailsOut {
    fn from(d: InviteDetails) -> InviteDetailsOut {
        InviteDetailsOut { org_name: d.org_name, inviter: d.inviter, role: d.role, expires_at: d.expires_at }
    }
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

pub(crate) fn roster_page(page: tenantry_app::Page<RosterEntry>) -> RosterPage {
    RosterPage { entries: page.items.into_iter().map(RosterEntryOut::from).collect(), next_cursor: page.next_cursor }
}

pub(crate) fn invite_page(page: tenantry_app::Page<PendingInvite>) -> InvitePage {
    InvitePage { invites: page.items.into_iter().map(InviteOut::from).collect(), next_cursor: page.next_cursor }
}

pub(crate) fn audit_page(page: tenantry_app::Page<AuditEntry>) -> AuditPage {
    AuditPage { entries: page.items.into_iter().map(AuditEntryOut::from).collect(), next_cursor: page.next_cursor }
}

pub(crate) fn membership_page(page: tenantry_app::Page<(Uuid, Membership)>) -> MembershipPage {
    MembershipPage {
        orgs: page.items.into_iter().map(|(_, m)| MembershipOut::from(m)).collect(),
        next_cursor: page.next_cursor,
    }
}

pub(crate) fn cursor(raw: Option<String>) -> Result<Option<Uuid>, ApiError> {
    Ok(parse_cursor(raw.as_deref())?)
}

pub(crate) fn page_size(limit: Option<u32>) -> u32 {
    limit.unwrap_or(ORG_PAGE).clamp(1, ORG_MAX_PAGE)
}

pub(crate) fn roster_filter(
    role: Option<String>,
    email: Option<String>,
    members_only: Option<bool>,
    cursor_raw: Option<String>,
    limit: Option<u32>,
) -> Result<RosterFilter, ApiError> {
    Ok(RosterFilter {
        role,
        email,
        members_only: members_only.unwrap_or(false),
        cursor: cursor(cursor_raw)?,
        limit: page_size(limit),
    })
}

pub(crate) fn invite_input(b: InviteIn) -> CreateInvite {
    CreateInvite { email: b.email, role: b.role, additional_roles: b.additional_roles }
}

pub(crate) fn change_role(b: MemberPatch) -> ChangeRole {
    ChangeRole { role: b.role, additional_roles: b.additional_roles }
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
            metadata: b.metadata.map(|m| m.into_iter().collect()),
            domains: b.domains,
            domain_auto_join: b.domain_auto_join,
            domain_restrict: b.domain_restrict,
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
            limit: page_size(limit.0),
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
            metadata: b.metadata.map(|m| m.into_iter().collect()),
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
        body: Json<BTreeMap<String, Value>>,
    ) -> Result<Json<OrgOut>, ApiError> {
        let patch = body.0.into_iter().collect();
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
                page_size(limit.0),
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
            .org_audit_log(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), self::cursor(cursor.0)?, page_size(limit.0))
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
            .user_orgs(&ctx(req, auth.0), UserId::from_uuid(user_id.0), self::cursor(cursor.0)?, page_size(limit.0))
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
