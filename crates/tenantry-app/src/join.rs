//! The one way into an org: [`App::join_org`], the step every membership-creating use case takes
//! inside its own transaction (docs/design.md §4.1 creation, §4.3 accepting an invite, §4.5 a
//! backend add, §4.10 limits, §4.12 domain auto-join).
//!
//! A join is always the same record: the gate (isolated or disabled user, domain restriction,
//! the per-user org limit, the org's seats), the membership row, the org's member count and
//! version with the seat events for billing (`org.member_count_changed`, `org.seat_limit_reached`),
//! then `user.added_to_org` and the `org.member_added` audit entry with `how`. What differs between
//! the paths is named by [`JoinVia`], so that the next path (SSO just-in-time membership, SCIM) is
//! one more variant, not one more copy.
//!
//! The caller holds the org's row lock ([`crate::access::Lock::Org`] or `orgs::lock_org`), so
//! the gate's counts hold until the commit (ARCHITECTURE.md, "The member count lives on the org
//! row").

use chrono::{DateTime, Utc};
use serde_json::json;
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::org::{check_email_domain_allowed, check_org_limit, check_seat_available, DomainPolicy};
use tenantry_core::{DomainError, Email, OrgId, RoleName, UserId};
use tenantry_store::invites::{self as invite_store, InviteRow};
use tenantry_store::members::{self as member_store, MemberRow};
use tenantry_store::orgs::{self as org_store, OrgRow};
use tenantry_store::users::UserRow;
use tenantry_store::{Json, Tx};
use uuid::Uuid;

use crate::members::{max_users, membership_event, names};
use crate::record::{audit, emit, Audit};
use crate::{Actor, App, AppError, AppResult, Ctx};

/// How a user comes into an org: every way the paths differ (role, gate, count, audit actor, the
/// `how` of the audit entry) is named here.
pub(crate) enum JoinVia<'a> {
    /// The Owner of an org being created in the same transaction: the signed-in creator
    /// (`is_creator`), or the owner the backend names. The org row is written with this first
    /// member already counted (version 1), so no count is bumped and no count event written; and
    /// its gate runs before the org row exists ([`App::check_join`] with no org), so that a
    /// refused owner is refused before the new org's own checks (domain claims, slug). A disabled
    /// user may be named owner, and the new org's seat limit and domain restriction do not bind
    /// its owner.
    Created { role: RoleName, is_creator: bool },
    /// A backend add: at the requested roles.
    Added { role: RoleName, additional_roles: Vec<RoleName> },
    /// Accepting an invite: at the invite's roles, in the seat the invite holds. The invite is
    /// marked accepted (its event and audit entry) between the membership and the count.
    Invite(&'a mut InviteRow),
    /// Domain auto-join, at `role` (the lowest). The joining user is the audit actor whoever
    /// called (a sign-in, an email verification, the backend creating a verified user).
    DomainAutoJoin { role: RoleName },
    /// Just-in-time membership on a SAML sign-in, at `role` (the lowest); the signing-in user is
    /// the audit actor. A user of an isolated org's pool joins that org only.
    Sso { role: RoleName },
}

impl JoinVia<'_> {
    /// The `how` of the `org.member_added` audit entry.
    fn how(&self) -> &'static str {
        match self {
            JoinVia::Created { .. } => "created",
            JoinVia::Added { .. } => "added",
            JoinVia::Invite(_) => "invited",
            JoinVia::DomainAutoJoin { .. } => "auto-joined",
            JoinVia::Sso { .. } => "sso",
        }
    }

    fn is_created(&self) -> bool {
        matches!(self, JoinVia::Created { .. })
    }

    /// The refusal of a user who is a member already, in the words of the path.
    fn already_member(&self, user: &UserRow) -> AppError {
        let detail = match self {
            JoinVia::Invite(_) => "You are already a member of this organization.".to_owned(),
            _ => format!("{} is already a member.", user.email),
        };
        DomainError::conflict("already-member", detail).into()
    }
}

impl App {
    /// `user` joins `org` (locked by the caller) the way `via` says, in the caller's
    /// transaction: gate, membership, count and seat events, `user.added_to_org` and the audit
    /// entry. A refusal is a [`DomainError`] (`already-member`, `isolated-user`, `user-disabled`,
    /// `domain-not-allowed`, `org-limit-reached`, `org-full`, and `invite-invalid` for an invite
    /// that changed under the lock); the caller's transaction, dropped on the error, keeps nothing.
    pub(crate) async fn join_org(
        &self,
        tx: &mut Tx,
        ctx: &Ctx,
        org: &OrgRow,
        user: &UserRow,
        mut via: JoinVia<'_>,
        now: DateTime<Utc>,
    ) -> AppResult<MemberRow> {
        // A new org has no member yet, and its owner's gate ran before the org existed.
        if !via.is_created() {
            let (org_id, user_id) = (OrgId::from_uuid(org.id), UserId::from_uuid(user.id));
            if member_store::get_member(tx.ex(), org_id, user_id).await?.is_some() {
                return Err(via.already_member(user));
            }
            self.check_join(tx, Some(org), user, &via, now).await?;
        }
        let (role, additional_roles, is_creator) = match &via {
            JoinVia::Created { role, is_creator } => (role.as_str().to_owned(), Vec::new(), *is_creator),
            JoinVia::Added { role, additional_roles } => (role.as_str().to_owned(), names(additional_roles), false),
            JoinVia::Invite(invite) => (invite.role.clone(), invite.additional_roles.0.clone(), false),
            JoinVia::DomainAutoJoin { role } | JoinVia::Sso { role } => (role.as_str().to_owned(), Vec::new(), false),
        };
        let member = MemberRow {
            id: Uuid::now_v7(),
            org_id: org.id,
            user_id: user.id,
            role,
            additional_roles: Json(additional_roles),
            is_creator,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        match member_store::insert_member(tx.ex(), &member).await {
            Err(e) if e.is_unique_on("user_id") => return Err(via.already_member(user)),
            other => other?,
        }
        if let JoinVia::Invite(invite) = &mut via {
            self.mark_invite_accepted(tx, ctx, invite, user.id, now).await?;
        }
        if !via.is_created() {
            self.bump_member_count(tx, org.id, 1, now).await?;
        }
        emit(tx, now, membership_event(EventType::UserAddedToOrg, &member, None)).await?;
        let details = json!({ "role": member.role, "how": via.how() });
        let entry = Audit::member(AuditAction::MemberAdded, org.id, member.user_id, details);
        match via {
            JoinVia::DomainAutoJoin { .. } | JoinVia::Sso { .. } => {
                audit(tx, &Ctx { actor: Actor::User(UserId::from_uuid(user.id)), ..ctx.clone() }, now, entry).await?
            }
            _ => audit(tx, ctx, now, entry).await?,
        }
        Ok(member)
    }

    /// Whether `user` may take a seat in `org` now: not isolated in another org, not disabled,
    /// allowed by the org's domain restriction, under the per-user org limit and the org's
    /// `max_users` (docs/design.md §4.10, §4.12). Each check reads only when its rule is in force:
    /// most orgs restrict no domain and have no seat limit, and most deployments have no per-user
    /// cap.
    ///
    /// [`App::join_org`] runs it; the one other caller is org creation, with no org yet, for
    /// [`JoinVia::Created`] (whose owner only the isolation and the org limit bind).
    pub(crate) async fn check_join(
        &self,
        tx: &mut Tx,
        org: Option<&OrgRow>,
        user: &UserRow,
        via: &JoinVia<'_>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        // An isolated org's own users join it (SSO just in time), and nothing else.
        if user.pool_id.is_some_and(|pool| org.is_none_or(|o| o.id != pool)) {
            return Err(DomainError::conflict(
                "isolated-user",
                "This user belongs to an isolated organization and cannot join others.",
            )
            .into());
        }
        if user.disabled && !via.is_created() {
            return Err(DomainError::conflict("user-disabled", "This account is disabled.").into());
        }
        let org = org.filter(|_| !via.is_created());
        if let Some(org) = org.filter(|o| o.domain_restrict) {
            let email = Email::parse(&user.email)?;
            let domains = self.org_domains(tx, org.id).await?;
            check_email_domain_allowed(&email, DomainPolicy { domains: &domains, restrict_members: true })?;
        }
        if let Some(cap) = self.settings().orgs.max_orgs_per_user {
            let count = org_store::count_orgs_of_user(tx.ex(), UserId::from_uuid(user.id)).await?;
            check_org_limit(Some(cap), u64::try_from(count).unwrap_or(0))?;
        }
        if let Some(org) = org.filter(|o| o.max_users.is_some()) {
            let live = invite_store::count_live_invites(tx.ex(), OrgId::from_uuid(org.id), now).await?;
            // An invite being accepted holds the seat its invitee takes: it is not counted twice.
            let own_seat = u64::from(matches!(via, JoinVia::Invite(_)));
            let others = u64::try_from(live).unwrap_or(0).saturating_sub(own_seat);
            check_seat_available(max_users(org), u64::try_from(org.member_count).unwrap_or(0), others)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str) -> RoleName {
        RoleName::parse(name).unwrap()
    }

    /// The audit trail's `how` is a contract: consumers tell the paths apart by it. (`invited`,
    /// which needs a stored invite, is pinned by the e2e test of accepting one.)
    #[test]
    fn each_path_names_itself_in_the_audit_trail_as_before() {
        let cases = [
            (JoinVia::Created { role: role("Owner"), is_creator: true }, "created"),
            (JoinVia::Added { role: role("Member"), additional_roles: Vec::new() }, "added"),
            (JoinVia::DomainAutoJoin { role: role("Viewer") }, "auto-joined"),
            (JoinVia::Sso { role: role("Viewer") }, "sso"),
        ];
        for (via, how) in &cases {
            assert_eq!(via.how(), *how);
            assert_eq!(via.is_created(), *how == "created", "only creation skips the gate and the count");
        }
    }
}
