//! The rules over an org's members (docs/design.md §4.5–4.9): who may change a role, remove a member,
//! leave, transfer ownership or delete the org, and the invariant under all of them: an org never
//! ends up without an owner.
//!
//! Each rule takes the actor, the target's [`MemberView`] and the counts it needs, and answers
//! `Ok` or a [`DomainError`]. Authorization comes first, so an actor who may not act learns
//! nothing about the target's state from the refusal.

use crate::error::DomainError;
use crate::ids::UserId;

use super::roles::{perm, RoleConfig, RoleName};

/// Whether a membership still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    Active,
    /// Removed by someone, or left. Kept for the audit trail; such a member can no longer act in
    /// the org or be changed.
    Removed,
}

/// What the rules need to know about one membership. The use case fills it from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub user_id: UserId,
    /// The member's role in the hierarchy.
    pub role: RoleName,
    /// Roles outside the hierarchy, whose permissions add to `role`'s.
    pub additional_roles: Vec<RoleName>,
    pub status: MemberStatus,
    /// Whether this member created the org (docs/design.md §4.7: the creator may not leave while an owner).
    pub is_creator: bool,
}

impl MemberView {
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }
}

/// Who is acting on the org.
#[derive(Debug, Clone, Copy)]
pub enum OrgActor<'a> {
    /// The SaaS backend, with an API key: it may do anything a permission guards, but the org's
    /// invariants (never without an owner, removed members stay removed) bind it too.
    Backend,
    /// A member acting through the end-user API or the hosted pages.
    Member(&'a MemberView),
}

/// The roles both sides of an ownership transfer hold once it is confirmed (docs/design.md §4.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRoles {
    /// The new owner's role: the owner role.
    pub target: RoleName,
    /// The initiator's role afterwards: the role right below the owner role ("Admin").
    pub initiator: RoleName,
}

/// Refuses unless `actor` holds `permission`. The backend holds every permission. For the
/// actions that need nothing beyond a permission: updating the org (`org.update`), its API keys,
/// SSO, audit log, 2FA requirement.
pub fn require_permission(roles: &RoleConfig, actor: OrgActor<'_>, permission: &str) -> Result<(), DomainError> {
    require(roles, actor, permission).map(|_| ())
}

/// Change a member's role (docs/design.md §4.5). `owner_count` is the org's active owners now.
///
/// Refuses: `cannot-change-own-role`; `permission-denied` without `org.members.change_role`;
/// `unknown-role`; `member-removed`; `owner-required` to change an owner's role or grant the owner
/// role; `role-above-yours` when the target's role or the new role ranks above the actor's;
/// `last-owner` when it would leave the org without an owner.
pub fn check_change_role(
    roles: &RoleConfig,
    actor: OrgActor<'_>,
    target: &MemberView,
    new_role: &RoleName,
    owner_count: u64,
) -> Result<(), DomainError> {
    let me = acting_member(actor)?;
    if let Some(me) = me {
        // Even an owner: a self-demotion could strand the org, a self-promotion is the attack.
        if me.user_id == target.user_id {
            return Err(DomainError::forbidden(
                "cannot-change-own-role",
                "Nobody can change their own role; ask another member who may change roles.",
            ));
        }
        check_permission(roles, me, perm::ORG_MEMBERS_CHANGE_ROLE, "change roles")?;
    }
    roles.require_hierarchy_role(new_role)?;
    if !target.is_active() {
        return Err(member_removed());
    }
    if let Some(me) = me {
        let touches_owner = roles.is_owner_role(&target.role) || roles.is_owner_role(new_role);
        if touches_owner && !roles.is_owner_role(&me.role) {
            return Err(owner_required(roles, "change an owner's role or make someone an owner"));
        }
        // Beyond the default roles: an actor never acts on someone who outranks them.
        if roles.rank(&target.role) > roles.rank(&me.role) {
            return Err(role_above_yours(&target.role, &me.role, "change this member's role"));
        }
        if roles.rank(new_role) > roles.rank(&me.role) {
            return Err(role_above_yours(new_role, &me.role, "grant this role"));
        }
    }
    if roles.is_owner_role(&target.role) && !roles.is_owner_role(new_role) && owner_count <= 1 {
        return Err(last_owner("demote them"));
    }
    Ok(())
}

/// Remove a member (docs/design.md §4.6). `owner_count` is the org's active owners now.
///
/// Refuses: `cannot-remove-self` (leave instead); `permission-denied` without
/// `org.members.remove`; `member-removed`; `owner-required` to remove an owner; `role-above-yours`
/// when the target outranks the actor; `last-owner`.
pub fn check_remove_member(
    roles: &RoleConfig,
    actor: OrgActor<'_>,
    target: &MemberView,
    owner_count: u64,
) -> Result<(), DomainError> {
    let me = acting_member(actor)?;
    if let Some(me) = me {
        if me.user_id == target.user_id {
            return Err(DomainError::forbidden(
                "cannot-remove-self",
                "You cannot remove yourself from an organization; leave it instead.",
            ));
        }
        check_permission(roles, me, perm::ORG_MEMBERS_REMOVE, "remove members")?;
    }
    if !target.is_active() {
        return Err(member_removed());
    }
    if let Some(me) = me {
        if roles.is_owner_role(&target.role) && !roles.is_owner_role(&me.role) {
            return Err(owner_required(roles, "remove an owner"));
        }
        if roles.rank(&target.role) > roles.rank(&me.role) {
            return Err(role_above_yours(&target.role, &me.role, "remove this member"));
        }
    }
    if roles.is_owner_role(&target.role) && owner_count <= 1 {
        return Err(last_owner("remove them"));
    }
    Ok(())
}

/// A member leaves the org (docs/design.md §4.7). `owner_count` is the org's active owners now.
///
/// Refuses: `org-not-found` when already gone; `creator-must-transfer-first` for the creator
/// while an owner; `last-owner` for the only owner. Either way they delete the org or transfer
/// ownership first.
pub fn check_leave(roles: &RoleConfig, member: &MemberView, owner_count: u64) -> Result<(), DomainError> {
    acting_member(OrgActor::Member(member))?;
    if roles.is_owner_role(&member.role) {
        if member.is_creator {
            return Err(DomainError::conflict(
                "creator-must-transfer-first",
                "You created this organization and are an owner: transfer ownership or delete the organization \
                 before you leave.",
            ));
        }
        if owner_count <= 1 {
            return Err(DomainError::conflict(
                "last-owner",
                "You are the organization's only owner: transfer ownership or delete the organization before you \
                 leave.",
            ));
        }
    }
    Ok(())
}

/// Start (and, at confirmation, re-check) an ownership transfer (docs/design.md §4.8); only members do
/// this, never the backend, since the current owner confirms from an emailed link. Returns the
/// roles both will hold once it is confirmed.
///
/// Refuses: `owner-required` unless the actor holds the owner role; `transfer-target-ineligible`
/// for themselves, a removed member, an owner, or a member of the lowest role.
///
/// Why not the lowest role: the design names the eligible targets "an active Admin or Member, not
/// a Viewer". Generalized, the owner role is excluded (they own it already) and so is the bottom
/// of the hierarchy, the view-only tier: ownership goes in one step only to someone the org
/// already trusts to work in it. An owner who means to hand it to a viewer promotes them first,
/// a separate decision with its own audit entry. In a two-role hierarchy this leaves no target;
/// granting the owner role through a role change is the way there.
pub fn check_transfer_ownership(
    roles: &RoleConfig,
    actor: &MemberView,
    target: &MemberView,
) -> Result<TransferRoles, DomainError> {
    acting_member(OrgActor::Member(actor))?;
    if !roles.is_owner_role(&actor.role) {
        return Err(owner_required(roles, "transfer ownership"));
    }
    let ineligible = |why: String| Err(DomainError::conflict("transfer-target-ineligible", why));
    if target.user_id == actor.user_id {
        return ineligible("You cannot transfer ownership to yourself; choose another member.".to_owned());
    }
    if !target.is_active() {
        return ineligible("That member has been removed from the organization.".to_owned());
    }
    if roles.is_owner_role(&target.role) {
        return ineligible("That member is already an owner.".to_owned());
    }
    if roles.rank(&target.role).is_none() {
        return ineligible(format!("That member's role '{}' is not a role of this deployment.", target.role));
    }
    if target.role == *roles.lowest_role() {
        return ineligible(format!(
            "Ownership cannot go to a member with the '{}' role; give them a higher role first.",
            target.role
        ));
    }
    Ok(TransferRoles { target: roles.owner_role().clone(), initiator: roles.role_after_transfer().clone() })
}

/// Grant additional roles (on an invite, or a role change). A member may grant only additional
/// roles whose permissions they hold themselves; the backend may grant any. Without this an Admin
/// could hand an Owner-only permission (`org.delete`, `org.transfer_ownership`, `org.billing`) to
/// anyone through an additional role, around the rule that only owners grant owner powers. Roles
/// in `held` (the target has them already) are not checked again, so changing such a member's
/// hierarchy role keeps them.
///
/// Refuses with `role-above-yours`, naming the first permission the actor lacks.
pub fn check_grant_additional_roles(
    roles: &RoleConfig,
    actor: OrgActor<'_>,
    granted: &[RoleName],
    held: &[RoleName],
) -> Result<(), DomainError> {
    let OrgActor::Member(me) = actor else {
        return Ok(());
    };
    let mine = roles.effective_permissions(&me.role, &me.additional_roles);
    for role in granted.iter().filter(|r| !held.contains(r)) {
        let lacking = roles.own_permissions(role).into_iter().flatten().find(|p| !mine.contains(*p));
        if let Some(p) = lacking {
            return Err(DomainError::forbidden(
                "role-above-yours",
                format!("You cannot grant the role '{role}': it holds the '{p}' permission, which your roles do not."),
            ));
        }
    }
    Ok(())
}

/// Delete a user who is a member of an org with `role` (the backend's user deletion): the
/// membership ends with the user, so the org's only owner cannot be deleted, as the org would be
/// left without one. `owner_count` is the org's owners now, this member included; it matters only
/// for an owner.
///
/// Refuses with `last-owner`, naming the org.
pub fn check_delete_user(
    roles: &RoleConfig,
    role: &RoleName,
    owner_count: u64,
    org_name: &str,
) -> Result<(), DomainError> {
    if roles.is_owner_role(role) && owner_count <= 1 {
        return Err(DomainError::conflict(
            "last-owner",
            format!(
                "This user is the only owner of the organization '{org_name}'; transfer its ownership or delete it \
                 first."
            ),
        ));
    }
    Ok(())
}

/// Delete the org (docs/design.md §4.9): needs `org.delete`, which only the owner role holds by default.
/// Refuses with `permission-denied`.
pub fn check_delete_org(roles: &RoleConfig, actor: OrgActor<'_>) -> Result<(), DomainError> {
    require(roles, actor, perm::ORG_DELETE).map(|_| ())
}

/// The acting member, if a member acts; refuses when they are no longer in the org. Such an
/// actor gets the same answer as a stranger: 404, since they may not learn about the org.
fn acting_member(actor: OrgActor<'_>) -> Result<Option<&MemberView>, DomainError> {
    match actor {
        OrgActor::Backend => Ok(None),
        OrgActor::Member(me) if me.is_active() => Ok(Some(me)),
        OrgActor::Member(_) => Err(DomainError::not_found("org-not-found", "No such organization.")),
    }
}

/// [`acting_member`], then the permission check.
pub(super) fn require<'a>(
    roles: &RoleConfig,
    actor: OrgActor<'a>,
    permission: &str,
) -> Result<Option<&'a MemberView>, DomainError> {
    let me = acting_member(actor)?;
    if let Some(me) = me {
        check_permission(roles, me, permission, "do this")?;
    }
    Ok(me)
}

fn check_permission(roles: &RoleConfig, me: &MemberView, permission: &str, what: &str) -> Result<(), DomainError> {
    if roles.has_permission(&me.role, &me.additional_roles, permission) {
        return Ok(());
    }
    Err(DomainError::forbidden(
        "permission-denied",
        format!("To {what} you need the '{permission}' permission, which your role '{}' does not grant.", me.role),
    ))
}

pub(super) fn owner_required(roles: &RoleConfig, what: &str) -> DomainError {
    DomainError::forbidden("owner-required", format!("Only an owner (role '{}') may {what}.", roles.owner_role()))
}

pub(super) fn role_above_yours(role: &RoleName, mine: &RoleName, what: &str) -> DomainError {
    DomainError::forbidden(
        "role-above-yours",
        format!("You cannot {what}: '{role}' ranks above your own role '{mine}'."),
    )
}

fn member_removed() -> DomainError {
    DomainError::conflict("member-removed", "That member has been removed from the organization.")
}

fn last_owner(what: &str) -> DomainError {
    DomainError::conflict(
        "last-owner",
        format!(
            "That member is the organization's only owner; make another member an owner before you {what}, or \
             delete the organization."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::org::testing::{assert_refused, custom_roles, member, role};

    fn roles() -> RoleConfig {
        RoleConfig::default()
    }

    // ---- permissions ----

    #[test]
    fn the_backend_holds_every_permission() {
        for p in perm::BUILT_IN {
            assert!(require_permission(&roles(), OrgActor::Backend, p).is_ok());
        }
    }

    #[test]
    fn members_hold_their_roles_permissions() {
        let admin = member("Admin");
        assert!(require_permission(&roles(), OrgActor::Member(&admin), perm::ORG_SSO_MANAGE).is_ok());
        let viewer = member("Viewer");
        let err = require_permission(&roles(), OrgActor::Member(&viewer), perm::ORG_UPDATE).unwrap_err();
        assert_refused(&err, "permission-denied", ErrorKind::Forbidden);
        assert!(err.detail.contains("'org.update'") && err.detail.contains("'Viewer'"), "{}", err.detail);
    }

    #[test]
    fn additional_roles_grant_permissions() {
        let roles = custom_roles();
        let mut guest = member("Guest");
        assert!(require_permission(&roles, OrgActor::Member(&guest), perm::ORG_BILLING).is_err());
        guest.additional_roles.push(role("Accountant"));
        assert!(require_permission(&roles, OrgActor::Member(&guest), perm::ORG_BILLING).is_ok());
    }

    #[test]
    fn removed_members_cannot_act() {
        let mut owner = member("Owner");
        owner.status = MemberStatus::Removed;
        let err = require_permission(&roles(), OrgActor::Member(&owner), perm::ORG_VIEW).unwrap_err();
        assert_refused(&err, "org-not-found", ErrorKind::NotFound);
        let err = check_change_role(&roles(), OrgActor::Member(&owner), &member("Member"), &role("Admin"), 2);
        assert_refused(&err.unwrap_err(), "org-not-found", ErrorKind::NotFound);
    }

    // ---- change role (§4.5) ----

    #[test]
    fn change_role_is_allowed_within_your_rank() {
        let admin = member("Admin");
        let owner = member("Owner");
        let ok = |actor: OrgActor<'_>, from: &str, to: &str| {
            check_change_role(&roles(), actor, &member(from), &role(to), 1).is_ok()
        };
        assert!(ok(OrgActor::Member(&admin), "Member", "Admin"), "up to their own rank");
        assert!(ok(OrgActor::Member(&admin), "Admin", "Viewer"), "a peer may be demoted");
        assert!(ok(OrgActor::Member(&owner), "Viewer", "Owner"), "an owner grants owner");
        assert!(ok(OrgActor::Backend, "Viewer", "Owner"));
        let second_owner = member("Owner");
        assert!(check_change_role(&roles(), OrgActor::Member(&owner), &second_owner, &role("Admin"), 2).is_ok());
    }

    #[test]
    fn nobody_changes_their_own_role() {
        for r in ["Owner", "Admin", "Viewer"] {
            let me = member(r);
            let err = check_change_role(&roles(), OrgActor::Member(&me), &me, &role("Member"), 2).unwrap_err();
            assert_refused(&err, "cannot-change-own-role", ErrorKind::Forbidden);
        }
    }

    #[test]
    fn change_role_needs_the_permission() {
        let actor = member("Member");
        let err = check_change_role(&roles(), OrgActor::Member(&actor), &member("Viewer"), &role("Viewer"), 1);
        let err = err.unwrap_err();
        assert_refused(&err, "permission-denied", ErrorKind::Forbidden);
        assert!(err.detail.contains(perm::ORG_MEMBERS_CHANGE_ROLE));
    }

    #[test]
    fn only_owners_touch_owners() {
        let admin = member("Admin");
        let err = check_change_role(&roles(), OrgActor::Member(&admin), &member("Owner"), &role("Admin"), 2);
        assert_refused(&err.unwrap_err(), "owner-required", ErrorKind::Forbidden);
        let err = check_change_role(&roles(), OrgActor::Member(&admin), &member("Member"), &role("Owner"), 1);
        assert_refused(&err.unwrap_err(), "owner-required", ErrorKind::Forbidden);
    }

    #[test]
    fn change_role_never_reaches_above_the_actor() {
        // Owner > Manager > Editor > Contributor > Guest, and an Editor who may change roles.
        let roles = custom_roles();
        let mut editor = member("Editor");
        editor.additional_roles.push(role("Staffer"));
        let actor = OrgActor::Member(&editor);
        assert!(check_change_role(&roles, actor, &member("Guest"), &role("Editor"), 1).is_ok());
        let err = check_change_role(&roles, actor, &member("Guest"), &role("Manager"), 1).unwrap_err();
        assert_refused(&err, "role-above-yours", ErrorKind::Forbidden);
        assert!(err.detail.contains("'Manager'") && err.detail.contains("'Editor'"), "{}", err.detail);
        let err = check_change_role(&roles, actor, &member("Manager"), &role("Guest"), 1).unwrap_err();
        assert_refused(&err, "role-above-yours", ErrorKind::Forbidden);
    }

    #[test]
    fn the_last_owner_keeps_the_role() {
        let owner = member("Owner");
        let err = check_change_role(&roles(), OrgActor::Backend, &owner, &role("Admin"), 1).unwrap_err();
        assert_refused(&err, "last-owner", ErrorKind::Conflict);
        assert!(check_change_role(&roles(), OrgActor::Backend, &owner, &role("Admin"), 2).is_ok());
        assert!(check_change_role(&roles(), OrgActor::Backend, &owner, &role("Owner"), 1).is_ok(), "no-op");
    }

    #[test]
    fn removed_members_cannot_be_changed() {
        let mut target = member("Member");
        target.status = MemberStatus::Removed;
        let owner = member("Owner");
        for actor in [OrgActor::Member(&owner), OrgActor::Backend] {
            let err = check_change_role(&roles(), actor, &target, &role("Admin"), 1).unwrap_err();
            assert_refused(&err, "member-removed", ErrorKind::Conflict);
        }
    }

    #[test]
    fn change_role_to_an_unknown_role_is_invalid() {
        for unknown in ["Janitor", "admin"] {
            let err = check_change_role(&roles(), OrgActor::Backend, &member("Member"), &role(unknown), 1);
            assert_refused(&err.unwrap_err(), "unknown-role", ErrorKind::Invalid);
        }
    }

    #[test]
    fn authorization_is_checked_before_state() {
        let viewer = member("Viewer");
        let mut gone = member("Member");
        gone.status = MemberStatus::Removed;
        let err = check_change_role(&roles(), OrgActor::Member(&viewer), &gone, &role("Viewer"), 1).unwrap_err();
        assert_refused(&err, "permission-denied", ErrorKind::Forbidden);
        let err = check_remove_member(&roles(), OrgActor::Member(&viewer), &gone, 1).unwrap_err();
        assert_refused(&err, "permission-denied", ErrorKind::Forbidden);
    }

    // ---- remove (§4.6) ----

    #[test]
    fn remove_is_allowed_within_your_rank() {
        let admin = member("Admin");
        assert!(check_remove_member(&roles(), OrgActor::Member(&admin), &member("Admin"), 1).is_ok());
        assert!(check_remove_member(&roles(), OrgActor::Member(&admin), &member("Viewer"), 1).is_ok());
        let owner = member("Owner");
        assert!(check_remove_member(&roles(), OrgActor::Member(&owner), &member("Owner"), 2).is_ok());
        assert!(check_remove_member(&roles(), OrgActor::Backend, &member("Owner"), 2).is_ok());
    }

    #[test]
    fn nobody_removes_themselves() {
        let admin = member("Admin");
        let err = check_remove_member(&roles(), OrgActor::Member(&admin), &admin, 1).unwrap_err();
        assert_refused(&err, "cannot-remove-self", ErrorKind::Forbidden);
        assert!(err.detail.contains("leave"));
    }

    #[test]
    fn remove_needs_the_permission() {
        let actor = member("Member");
        let err = check_remove_member(&roles(), OrgActor::Member(&actor), &member("Viewer"), 1).unwrap_err();
        assert_refused(&err, "permission-denied", ErrorKind::Forbidden);
        assert!(err.detail.contains(perm::ORG_MEMBERS_REMOVE));
    }

    #[test]
    fn only_owners_remove_owners() {
        let admin = member("Admin");
        let err = check_remove_member(&roles(), OrgActor::Member(&admin), &member("Owner"), 3).unwrap_err();
        assert_refused(&err, "owner-required", ErrorKind::Forbidden);
    }

    #[test]
    fn remove_never_reaches_above_the_actor() {
        let roles = custom_roles();
        let mut editor = member("Editor");
        editor.additional_roles.push(role("Staffer"));
        assert!(check_remove_member(&roles, OrgActor::Member(&editor), &member("Guest"), 1).is_ok());
        let err = check_remove_member(&roles, OrgActor::Member(&editor), &member("Manager"), 1).unwrap_err();
        assert_refused(&err, "role-above-yours", ErrorKind::Forbidden);
    }

    #[test]
    fn the_last_owner_cannot_be_removed() {
        let err = check_remove_member(&roles(), OrgActor::Backend, &member("Owner"), 1).unwrap_err();
        assert_refused(&err, "last-owner", ErrorKind::Conflict);
    }

    #[test]
    fn removed_members_cannot_be_removed_again() {
        let mut target = member("Member");
        target.status = MemberStatus::Removed;
        let err = check_remove_member(&roles(), OrgActor::Backend, &target, 1).unwrap_err();
        assert_refused(&err, "member-removed", ErrorKind::Conflict);
    }

    // ---- leave (§4.7) ----

    #[test]
    fn members_may_leave() {
        for r in ["Admin", "Member", "Viewer"] {
            let mut m = member(r);
            m.is_creator = true; // a creator who is no longer an owner may leave
            assert!(check_leave(&roles(), &m, 1).is_ok(), "{r}");
        }
        assert!(check_leave(&roles(), &member("Owner"), 2).is_ok(), "one of two owners");
    }

    #[test]
    fn the_last_owner_cannot_leave() {
        let err = check_leave(&roles(), &member("Owner"), 1).unwrap_err();
        assert_refused(&err, "last-owner", ErrorKind::Conflict);
        assert!(err.detail.contains("transfer ownership"));
    }

    #[test]
    fn the_creator_transfers_before_leaving() {
        let mut creator = member("Owner");
        creator.is_creator = true;
        for owners in [1, 2] {
            let err = check_leave(&roles(), &creator, owners).unwrap_err();
            assert_refused(&err, "creator-must-transfer-first", ErrorKind::Conflict);
        }
    }

    #[test]
    fn a_removed_member_cannot_leave_again() {
        let mut m = member("Member");
        m.status = MemberStatus::Removed;
        assert_refused(&check_leave(&roles(), &m, 1).unwrap_err(), "org-not-found", ErrorKind::NotFound);
    }

    // ---- transfer ownership (§4.8) ----

    #[test]
    fn ownership_goes_to_an_admin_or_member() {
        let owner = member("Owner");
        for r in ["Admin", "Member"] {
            let roles_after = check_transfer_ownership(&roles(), &owner, &member(r)).unwrap();
            assert_eq!(roles_after, TransferRoles { target: role("Owner"), initiator: role("Admin") });
        }
        let custom = custom_roles();
        let proprietor = member("Proprietor");
        let after = check_transfer_ownership(&custom, &proprietor, &member("Contributor")).unwrap();
        assert_eq!(after, TransferRoles { target: role("Proprietor"), initiator: role("Manager") });
    }

    #[test]
    fn only_an_owner_transfers() {
        let admin = member("Admin");
        let err = check_transfer_ownership(&roles(), &admin, &member("Member")).unwrap_err();
        assert_refused(&err, "owner-required", ErrorKind::Forbidden);
    }

    #[test]
    fn transfer_targets_must_be_eligible() {
        let owner = member("Owner");
        let mut removed = member("Admin");
        removed.status = MemberStatus::Removed;
        let refused = [
            (owner.clone(), "yourself"),
            (removed, "removed"),
            (member("Owner"), "already an owner"),
            (member("Viewer"), "'Viewer'"),
            (member("Janitor"), "not a role"),
        ];
        for (target, why) in refused {
            let err = check_transfer_ownership(&roles(), &owner, &target).unwrap_err();
            assert_refused(&err, "transfer-target-ineligible", ErrorKind::Conflict);
            assert!(err.detail.contains(why), "{why}: {}", err.detail);
        }
        let custom = custom_roles();
        let err = check_transfer_ownership(&custom, &member("Proprietor"), &member("Guest")).unwrap_err();
        assert_refused(&err, "transfer-target-ineligible", ErrorKind::Conflict);
    }

    // ---- additional roles ----

    #[test]
    fn a_member_grants_only_additional_roles_whose_permissions_they_hold() {
        let roles = custom_roles();
        let manager = member("Manager");
        let me = OrgActor::Member(&manager);
        assert!(check_grant_additional_roles(&roles, me, &[role("Staffer"), role("Auditor")], &[]).is_ok());
        let err = check_grant_additional_roles(&roles, me, &[role("Auditor"), role("Accountant")], &[]).unwrap_err();
        assert_refused(&err, "role-above-yours", ErrorKind::Forbidden);
        assert!(err.detail.contains("'Accountant'") && err.detail.contains("'invoices.export_csv'"), "{}", err.detail);
        // What an additional role grants counts: an accountant may hand on accounting.
        let mut accountant = member("Guest");
        accountant.additional_roles.push(role("Accountant"));
        assert!(check_grant_additional_roles(&roles, OrgActor::Member(&accountant), &[role("Accountant")], &[]).is_ok());
    }

    #[test]
    fn additional_roles_already_held_are_not_checked_again() {
        let roles = custom_roles();
        let manager = member("Manager");
        let held = [role("Accountant")];
        assert!(check_grant_additional_roles(&roles, OrgActor::Member(&manager), &held, &held).is_ok());
    }

    #[test]
    fn the_backend_grants_any_additional_role() {
        let all = [role("Accountant"), role("Auditor"), role("Staffer")];
        assert!(check_grant_additional_roles(&custom_roles(), OrgActor::Backend, &all, &[]).is_ok());
    }

    // ---- deleting a member's user ----

    #[test]
    fn the_last_owner_of_an_org_cannot_be_deleted() {
        let err = check_delete_user(&roles(), &role("Owner"), 1, "Acme").unwrap_err();
        assert_refused(&err, "last-owner", ErrorKind::Conflict);
        assert_eq!(
            err.detail,
            "This user is the only owner of the organization 'Acme'; transfer its ownership or delete it first."
        );
        assert!(check_delete_user(&roles(), &role("Owner"), 2, "Acme").is_ok());
    }

    #[test]
    fn members_below_owner_can_always_be_deleted() {
        for r in ["Admin", "Member", "Viewer"] {
            assert!(check_delete_user(&roles(), &role(r), 0, "Acme").is_ok(), "{r}");
        }
        assert_refused(
            &check_delete_user(&custom_roles(), &role("Proprietor"), 1, "Acme").unwrap_err(),
            "last-owner",
            ErrorKind::Conflict,
        );
    }

    // ---- delete (§4.9) ----

    #[test]
    fn only_owners_delete_by_default() {
        let owner = member("Owner");
        assert!(check_delete_org(&roles(), OrgActor::Member(&owner)).is_ok());
        assert!(check_delete_org(&roles(), OrgActor::Backend).is_ok());
        for r in ["Admin", "Member", "Viewer"] {
            let m = member(r);
            let err = check_delete_org(&roles(), OrgActor::Member(&m)).unwrap_err();
            assert_refused(&err, "permission-denied", ErrorKind::Forbidden);
        }
    }
}
