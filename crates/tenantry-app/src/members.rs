//! An org's members (docs/design.md §4.5–4.7, §4.10): the roster (members and pending invites together),
//! adding a user directly (backend), changing roles, removing, leaving.
//!
//! Every change locks the org row first ([`Lock::Org`]), so that seat counts and the last-owner
//! rule hold when requests race: two concurrent demotions of the last two owners serialize, and
//! the second one sees a single owner left.

use chrono::{DateTime, Utc};
use serde_json::json;
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::org::{
    check_change_role, check_grant_additional_roles, check_leave, check_remove_member, perm, require_permission,
    MaxUsers,
};
use tenantry_core::{Domain, DomainError, OrgId, RoleConfig, RoleName, UserId};
use tenantry_store::invites::{self as invite_store, InviteQuery, InviteRow};
use tenantry_store::members::{self as store, MemberQuery, MemberRow, MemberWithUser};
use tenantry_store::orgs::{self as org_store, OrgRow};
use tenantry_store::{sessions as session_store, users, Json, Tx};
use uuid::Uuid;

use crate::access::{member_view, org_not_found, Access, Lock};
use crate::join::JoinVia;
use crate::orgs::Org;
use crate::record::{audit, emit, Audit, Event};
use crate::{authz, Actor, App, AppError, AppResult, Ctx, Page};

/// One line of an org's roster: an active member, or a pending invite.
#[derive(Debug, Clone, PartialEq)]
pub enum RosterEntry {
    Member(Member),
    Invite(PendingInvite),
}

impl RosterEntry {
    fn id(&self) -> Uuid {
        match self {
            RosterEntry::Member(m) => m.membership_id,
            RosterEntry::Invite(i) => i.invite_id,
        }
    }
}

/// An active member of an org.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub membership_id: Uuid,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: String,
    pub additional_roles: Vec<String>,
    pub permissions: Vec<String>,
    pub is_creator: bool,
    pub version: i64,
    pub joined_at: DateTime<Utc>,
    /// Whether the member has two-factor authentication on: read for the members list and a
    /// member's fetch, `None` in the answers of changes.
    pub mfa_enabled: Option<bool>,
}

impl Member {
    pub(crate) fn new(
        roles: &RoleConfig,
        m: &MemberRow,
        email: String,
        first_name: Option<String>,
        last_name: Option<String>,
    ) -> Member {
        let permissions = match RoleName::parse(&m.role) {
            Ok(role) => {
                let extra: Vec<RoleName> =
                    m.additional_roles.0.iter().filter_map(|r| RoleName::parse(r).ok()).collect();
                roles.effective_permissions(&role, &extra).into_iter().collect()
            }
            Err(_) => Vec::new(),
        };
        Member {
            membership_id: m.id,
            org_id: OrgId::from_uuid(m.org_id),
            user_id: UserId::from_uuid(m.user_id),
            email,
            first_name,
            last_name,
            role: m.role.clone(),
            additional_roles: m.additional_roles.0.clone(),
            permissions,
            is_creator: m.is_creator,
            version: m.version,
            joined_at: m.created_at,
            mfa_enabled: None,
        }
    }
}

/// A pending invite as the roster and invite listings show it (never its token).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingInvite {
    pub invite_id: Uuid,
    pub org_id: OrgId,
    pub email: String,
    pub role: String,
    pub additional_roles: Vec<String>,
    pub invited_by: Option<UserId>,
    pub state: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&InviteRow> for PendingInvite {
    fn from(i: &InviteRow) -> PendingInvite {
        PendingInvite {
            invite_id: i.id,
            org_id: OrgId::from_uuid(i.org_id),
            email: i.email.clone(),
            role: i.role.clone(),
            additional_roles: i.additional_roles.0.clone(),
            invited_by: i.invited_by.map(UserId::from_uuid),
            state: i.state.as_str().to_owned(),
            expires_at: i.expires_at,
            created_at: i.created_at,
            version: i.version,
        }
    }
}

/// Filters of [`App::list_members`].
#[derive(Debug, Clone, Default)]
pub struct RosterFilter {
    pub role: Option<String>,
    /// Email prefix, case-insensitive.
    pub email: Option<String>,
    /// Leave pending invites out.
    pub members_only: bool,
    pub cursor: Option<Uuid>,
    pub limit: u32,
}

/// Input of [`App::add_member`].
#[derive(Debug, Clone)]
pub struct AddMember {
    pub user_id: UserId,
    /// The lowest role when absent.
    pub role: Option<String>,
    pub additional_roles: Vec<String>,
}

/// Input of [`App::change_member_role`]; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ChangeRole {
    pub role: Option<String>,
    pub additional_roles: Option<Vec<String>>,
}

fn member_not_found() -> AppError {
    DomainError::not_found("member-not-found", "This user is not a member of the organization.").into()
}

/// The `data` of membership webhook events.
fn membership_data(m: &MemberRow, previous_role: Option<&str>) -> serde_json::Value {
    let mut data = json!({
        "membership_id": m.id.to_string(),
        "org_id": m.org_id.to_string(),
        "user_id": m.user_id.to_string(),
        "role": m.role,
        "additional_roles": m.additional_roles.0,
        "version": m.version,
    });
    if let Some(p) = previous_role {
        data["previous_role"] = json!(p);
    }
    data
}

pub(crate) fn membership_event(event_type: EventType, m: &MemberRow, previous_role: Option<&str>) -> Event {
    Event {
        event_type,
        object_id: m.id,
        object_version: m.version,
        org_id: Some(m.org_id),
        data: membership_data(m, previous_role),
    }
}

/// Resolves requested additional roles against the configuration.
pub(crate) fn resolve_additional(roles: &RoleConfig, raw: &[String]) -> AppResult<Vec<RoleName>> {
    let mut out: Vec<RoleName> = Vec::new();
    for r in raw {
        let role = roles.resolve_additional(r)?;
        if !out.contains(&role) {
            out.push(role);
        }
    }
    Ok(out)
}

pub(crate) fn names(roles: &[RoleName]) -> Vec<String> {
    roles.iter().map(|r| r.as_str().to_owned()).collect()
}

impl App {
    /// The roster of an org: active members and pending invites together, in id order, filtered
    /// by role and email prefix. Any member may see it, and the backend.
    pub async fn list_members(&self, ctx: &Ctx, org_id: OrgId, filter: RosterFilter) -> AppResult<Page<RosterEntry>> {
        let roles = self.roles().await?;
        let limit = crate::paging::org_limit(filter.limit);
        let role = filter.role.as_deref().map(|r| roles.resolve(r)).transpose()?;
        let email_prefix = filter.email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty());
        let mut c = self.db().acquire().await?;
        let (org, access) = self.org_access(c.ex(), ctx, org_id, Lock::None).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_VIEW)?;
        let role = role.map(|r| r.as_str().to_owned());
        let members: Vec<MemberWithUser> = store::list_members(
            c.ex(),
            OrgId::from_uuid(org.id),
            &MemberQuery {
                role: role.clone(),
                email_prefix: email_prefix.clone(),
                after: filter.cursor,
                limit: limit + 1,
            },
        )
        .await?;
        let invites = if filter.members_only {
            Vec::new()
        } else {
            let now = self.clock().now();
            invite_store::list_invites(
                c.ex(),
                OrgId::from_uuid(org.id),
                &InviteQuery { role, email_prefix, live_at: Some(now), after: filter.cursor, limit: limit + 1 },
            )
            .await?
        };
        let with_mfa =
            tenantry_store::mfa::users_with_mfa(c.ex(), &members.iter().map(|m| m.member.user_id).collect::<Vec<_>>())
                .await?;
        let mut entries: Vec<RosterEntry> = members
            .into_iter()
            .map(|m| {
                let mut member = Member::new(&roles, &m.member, m.email, m.first_name, m.last_name);
                member.mfa_enabled = Some(with_mfa.contains(&m.member.user_id));
                RosterEntry::Member(member)
            })
            .chain(invites.iter().map(|i| RosterEntry::Invite(PendingInvite::from(i))))
            .collect();
        // Both lists are in id order and each holds up to limit + 1: merged, their first limit + 1
        // entries are the page and the "more" marker.
        entries.sort_by_key(RosterEntry::id);
        entries.truncate(limit as usize + 1);
        Ok(Page::from_overfetch(entries, limit, |e| e.id().to_string()))
    }

    /// One member of an org.
    pub async fn get_member(&self, ctx: &Ctx, org_id: OrgId, user_id: UserId) -> AppResult<Member> {
        let roles = self.roles().await?;
        let mut c = self.db().acquire().await?;
        let (org, access) = self.org_access(c.ex(), ctx, org_id, Lock::None).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_VIEW)?;
        let row = store::get_member(c.ex(), OrgId::from_uuid(org.id), user_id).await?.ok_or_else(member_not_found)?;
        let user = users::get_user(c.ex(), UserId::from_uuid(row.user_id)).await?.ok_or_else(member_not_found)?;
        let mut member = Member::new(&roles, &row, user.email, user.first_name, user.last_name);
        member.mfa_enabled = Some(tenantry_store::mfa::has_confirmed_mfa(c.ex(), user_id).await?);
        Ok(member)
    }

    /// Adds a user to an org directly (backend only), under the org's seat limit, domain
    /// restriction and the per-user org limit: [`JoinVia::Added`].
    pub async fn add_member(&self, ctx: &Ctx, org_id: OrgId, input: AddMember) -> AppResult<Member> {
        authz::require_backend(&ctx.actor)?;
        let roles = self.roles().await?;
        let role = match &input.role {
            Some(r) => roles.resolve(r)?,
            None => roles.lowest_role().clone(),
        };
        let additional = resolve_additional(&roles, &input.additional_roles)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, _) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        let user = users::get_user(tx.ex(), input.user_id)
            .await?
            .ok_or_else(|| DomainError::invalid_field("user-not-found", "user_id", "No user has this id."))?;
        let via = JoinVia::Added { role, additional_roles: additional };
        let member = self.join_org(&mut tx, ctx, &org, &user, via, now).await?;
        tx.commit().await?;
        Ok(Member::new(&roles, &member, user.email, user.first_name, user.last_name))
    }

    pub(crate) async fn org_domains(&self, tx: &mut Tx, org_id: Uuid) -> AppResult<Vec<Domain>> {
        Ok(org_store::list_org_domains(tx.ex(), OrgId::from_uuid(org_id))
            .await?
            .iter()
            .filter_map(|d| Domain::parse(d).ok())
            .collect())
    }

    /// Changes a member's hierarchy role and/or additional roles (docs/design.md §4.5).
    pub async fn change_member_role(
        &self,
        ctx: &Ctx,
        org_id: OrgId,
        user_id: UserId,
        input: ChangeRole,
    ) -> AppResult<Member> {
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        // Whether the actor may change roles at all comes before whether the target exists.
        // (Changing one's own role is refused by the rule itself, with its own code.)
        if access.user_id() != Some(user_id.as_uuid()) {
            require_permission(&roles, access.org_actor(), perm::ORG_MEMBERS_CHANGE_ROLE)?;
        }
        let mut row =
            store::get_member(tx.ex(), OrgId::from_uuid(org.id), user_id).await?.ok_or_else(member_not_found)?;
        let target = member_view(&row)?;
        let new_role = match &input.role {
            Some(r) => roles.resolve(r)?,
            None => target.role.clone(),
        };
        let owners =
            store::count_members_with_role(tx.ex(), OrgId::from_uuid(org.id), roles.owner_role().as_str()).await?;
        check_change_role(&roles, access.org_actor(), &target, &new_role, u64::try_from(owners).unwrap_or(0))?;
        let additional = match &input.additional_roles {
            Some(list) => {
                let granted = resolve_additional(&roles, list)?;
                check_grant_additional_roles(&roles, access.org_actor(), &granted, &target.additional_roles)?;
                names(&granted)
            }
            None => row.additional_roles.0.clone(),
        };
        if new_role.as_str() == row.role && additional == row.additional_roles.0 {
            let user = users::get_user(tx.ex(), UserId::from_uuid(row.user_id)).await?.ok_or_else(member_not_found)?;
            return Ok(Member::new(&roles, &row, user.email, user.first_name, user.last_name));
        }
        let previous = row.role.clone();
        row.role = new_role.as_str().to_owned();
        row.additional_roles = Json(additional);
        row.version += 1;
        row.updated_at = now;
        store::update_member(tx.ex(), &row).await?;
        emit(&mut tx, now, membership_event(EventType::UserRoleChangedWithinOrg, &row, Some(&previous))).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit::member(
                AuditAction::MemberRoleChanged,
                org.id,
                row.user_id,
                json!({ "role": row.role, "previous_role": previous, "additional_roles": row.additional_roles.0 }),
            ),
        )
        .await?;
        let user = users::get_user(tx.ex(), UserId::from_uuid(row.user_id)).await?.ok_or_else(member_not_found)?;
        tx.commit().await?;
        Ok(Member::new(&roles, &row, user.email, user.first_name, user.last_name))
    }

    /// Removes a member (docs/design.md §4.6). Their access ends at once: sessions acting in the org end,
    /// and the org leaves their next token.
    pub async fn remove_member(&self, ctx: &Ctx, org_id: OrgId, user_id: UserId) -> AppResult<()> {
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        if access.user_id() != Some(user_id.as_uuid()) {
            require_permission(&roles, access.org_actor(), perm::ORG_MEMBERS_REMOVE)?;
        }
        let row = store::get_member(tx.ex(), OrgId::from_uuid(org.id), user_id).await?.ok_or_else(member_not_found)?;
        let target = member_view(&row)?;
        let owners =
            store::count_members_with_role(tx.ex(), OrgId::from_uuid(org.id), roles.owner_role().as_str()).await?;
        check_remove_member(&roles, access.org_actor(), &target, u64::try_from(owners).unwrap_or(0))?;
        self.end_membership(&mut tx, ctx, org, row, AuditAction::MemberRemoved, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The signed-in user leaves an org (docs/design.md §4.7).
    pub async fn leave_org(&self, ctx: &Ctx, org_id: OrgId) -> AppResult<()> {
        let Actor::User(_) = ctx.actor else {
            return Err(DomainError::forbidden("user-only", "Only a member can leave an organization.").into());
        };
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        let Access::Member(view, row) = access else {
            return Err(org_not_found());
        };
        let owners =
            store::count_members_with_role(tx.ex(), OrgId::from_uuid(org.id), roles.owner_role().as_str()).await?;
        check_leave(&roles, &view, u64::try_from(owners).unwrap_or(0))?;
        self.end_membership(&mut tx, ctx, org, row, AuditAction::MemberLeft, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the membership, ends the member's sessions acting in the org, and records it.
    pub(crate) async fn end_membership(
        &self,
        tx: &mut Tx,
        ctx: &Ctx,
        org: OrgRow,
        mut row: MemberRow,
        action: AuditAction,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        store::delete_member(tx.ex(), OrgId::from_uuid(org.id), UserId::from_uuid(row.user_id)).await?;
        let ended = session_store::revoke_user_sessions_in_org(
            tx.ex(),
            UserId::from_uuid(row.user_id),
            OrgId::from_uuid(org.id),
            now,
            "removed-from-org",
        )
        .await?;
        let org_id = org.id;
        self.bump_member_count(tx, org_id, -1, now).await?;
        row.version += 1;
        emit(tx, now, membership_event(EventType::UserRemovedFromOrg, &row, None)).await?;
        audit(
            tx,
            ctx,
            now,
            Audit::member(action, org_id, row.user_id, json!({ "role": row.role, "sessions_ended": ended })),
        )
        .await?;
        Ok(())
    }

    /// Adds `delta` to the org's member count, bumps its version, and tells billing systems
    /// (`org.member_count_changed`, and `org.seat_limit_reached` when the seats are all taken).
    pub(crate) async fn bump_member_count(
        &self,
        tx: &mut Tx,
        org_id: Uuid,
        delta: i32,
        now: DateTime<Utc>,
    ) -> AppResult<Org> {
        // One statement, so transactions that only share the org's lock (accepts into an org
        // without a seat limit) count right side by side.
        let org = org_store::add_member_count(tx.ex(), OrgId::from_uuid(org_id), delta, now)
            .await?
            .ok_or_else(|| AppError::Internal("the org vanished while locked".into()))?;
        let live = invite_store::count_live_invites(tx.ex(), OrgId::from_uuid(org.id), now).await?;
        // The seat events carry counts, not domains; the caller needs the org's id and version.
        let out = Org::from_row(org, Vec::new());
        self.emit_seat_events(tx, &out, live, now, true).await?;
        Ok(out)
    }

    /// `org.member_count_changed` (when `count_changed`) and `org.seat_limit_reached` when members
    /// plus `live_invites` fill `max_users`.
    pub(crate) async fn emit_seat_events(
        &self,
        tx: &mut Tx,
        org: &Org,
        live_invites: i64,
        now: DateTime<Utc>,
        count_changed: bool,
    ) -> AppResult<()> {
        let seats_used = i64::from(org.member_count) + live_invites;
        let data = json!({
            "org_id": org.id.to_string(),
            "version": org.version,
            "member_count": org.member_count,
            "pending_invites": live_invites,
            "seats_used": seats_used,
            "max_users": org.max_users,
        });
        if count_changed {
            emit(
                tx,
                now,
                Event {
                    event_type: EventType::OrgMemberCountChanged,
                    object_id: org.id.as_uuid(),
                    object_version: org.version,
                    org_id: Some(org.id.as_uuid()),
                    data: data.clone(),
                },
            )
            .await?;
        }
        if org.max_users.is_some_and(|max| seats_used >= i64::from(max)) {
            emit(
                tx,
                now,
                Event {
                    event_type: EventType::OrgSeatLimitReached,
                    object_id: org.id.as_uuid(),
                    object_version: org.version,
                    org_id: Some(org.id.as_uuid()),
                    data,
                },
            )
            .await?;
        }
        Ok(())
    }
}

/// The org's seat limit.
pub(crate) fn max_users(org: &OrgRow) -> MaxUsers {
    MaxUsers::parse(org.max_users.map(i64::from)).unwrap_or(MaxUsers::UNLIMITED)
}
