//! The organization wire types both APIs share: an org, its members, invitations, roster, audit
//! trail and a user's memberships, with their conversions from the use cases' values, and the
//! helpers that turn the org lists' query parameters into use-case input.
//!
//! The backend API (`backend/orgs.rs`) adds what only the backend sends (creating an org with an
//! owner, `max_users` and metadata, adding a member directly, the roles); the end-user API
//! (`enduser/orgs.rs`) what only a signed-in user sends. Schema names in the OpenAPI document are
//! the type names, so a type keeps its name wherever it lives.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use serde_json::Value;
use tenantry_app::claims::Membership;
use tenantry_app::invites::CreateInvite;
use tenantry_app::members::{ChangeRole, Member, PendingInvite, RosterEntry, RosterFilter};
use tenantry_app::orgs::{AuditEntry, Org};
use tenantry_app::{paging, parse_cursor, Page};
use uuid::Uuid;

use crate::ApiError;

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
    /// Whether the member has two-factor authentication on (in the members list and a member's
    /// fetch; absent from the answers of changes).
    pub mfa_enabled: Option<bool>,
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
            mfa_enabled: m.mfa_enabled,
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

pub(crate) fn roster_page(page: Page<RosterEntry>) -> RosterPage {
    RosterPage { entries: page.items.into_iter().map(RosterEntryOut::from).collect(), next_cursor: page.next_cursor }
}

pub(crate) fn invite_page(page: Page<PendingInvite>) -> InvitePage {
    InvitePage { invites: page.items.into_iter().map(InviteOut::from).collect(), next_cursor: page.next_cursor }
}

pub(crate) fn audit_page(page: Page<AuditEntry>) -> AuditPage {
    AuditPage { entries: page.items.into_iter().map(AuditEntryOut::from).collect(), next_cursor: page.next_cursor }
}

pub(crate) fn membership_page(page: Page<(Uuid, Membership)>) -> MembershipPage {
    MembershipPage {
        orgs: page.items.into_iter().map(|(_, m)| MembershipOut::from(m)).collect(),
        next_cursor: page.next_cursor,
    }
}

pub(crate) fn cursor(raw: Option<String>) -> Result<Option<Uuid>, ApiError> {
    Ok(parse_cursor(raw.as_deref())?)
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
        limit: paging::org_limit(limit),
    })
}

pub(crate) fn invite_input(b: InviteIn) -> CreateInvite {
    CreateInvite { email: b.email, role: b.role, additional_roles: b.additional_roles }
}

pub(crate) fn change_role(b: MemberPatch) -> ChangeRole {
    ChangeRole { role: b.role, additional_roles: b.additional_roles }
}
