//! Inviting someone into an org (docs/design.md §4.2): who may invite, to which role, and when an invite
//! is refused because of who the invitee is or how full the org is.
//!
//! Tokens, expiry, resend and revoke are the use case's: they are about stored rows, not rules
//! over members. Which states a link still works in is [`check_invite_usable`]. Accepting
//! re-checks the seat with [`check_seat_available`].

use std::fmt;

use chrono::{DateTime, Utc};

use crate::error::{DomainError, ErrorKind};
use crate::user::Email;

use super::domains::{check_email_domain_allowed, DomainPolicy};
use super::members::{owner_required, require, role_above_yours, OrgActor};
use super::roles::{perm, RoleConfig, RoleName};
use super::values::{check_seat_available, MaxUsers};

/// Where an invite stands. Stored as its [`InviteState::as_str`] text; only a pending invite
/// changes state, and only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InviteState {
    /// Sent and not answered; it holds a seat until it expires.
    Pending,
    Accepted,
    Declined,
    Revoked,
    /// Marked so when a new invite to the same address replaced it after it had expired. An
    /// invite past its `expires_at` may still be stored as pending.
    Expired,
}

impl InviteState {
    pub const ALL: [InviteState; 5] = [
        InviteState::Pending,
        InviteState::Accepted,
        InviteState::Declined,
        InviteState::Revoked,
        InviteState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InviteState::Pending => "pending",
            InviteState::Accepted => "accepted",
            InviteState::Declined => "declined",
            InviteState::Revoked => "revoked",
            InviteState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<InviteState> {
        InviteState::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

impl fmt::Display for InviteState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for InviteState {
    type Error = UnknownState;

    fn try_from(s: String) -> Result<Self, UnknownState> {
        InviteState::parse(&s).ok_or(UnknownState { what: "invite", state: s })
    }
}

/// A stored state that no enum of this crate names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} state {state:?}")]
pub struct UnknownState {
    pub what: &'static str,
    pub state: String,
}

/// Whether an invite link can still be used (its details shown, accepted or declined) at `now`:
/// only while pending and unexpired. Refuses with 410: `invite-expired`, `invite-revoked`, or
/// `invite-used` once answered.
pub fn check_invite_usable(
    state: InviteState,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let gone = |code, detail: &str| Err(DomainError::new(ErrorKind::Gone, code, detail));
    match state {
        InviteState::Pending if expires_at > now => Ok(()),
        InviteState::Pending | InviteState::Expired => {
            gone("invite-expired", "This invitation has expired. Ask for a new one.")
        }
        InviteState::Revoked => gone("invite-revoked", "This invitation was revoked."),
        InviteState::Accepted | InviteState::Declined => gone("invite-used", "This invitation was already answered."),
    }
}

/// Where the invited address stands with the org already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteeState {
    /// Neither an active member nor invited. A removed member is a newcomer again.
    Newcomer,
    /// An active member already.
    ActiveMember,
    /// Has an invite that is pending (not accepted, declined, revoked or expired).
    PendingInvite,
}

/// An invite to check, with the state of the org it goes into.
#[derive(Debug, Clone, Copy)]
pub struct NewInvite<'a> {
    pub email: &'a Email,
    /// The role the invitee gets on accepting; a hierarchy role.
    pub role: &'a RoleName,
    pub invitee: InviteeState,
    pub domains: DomainPolicy<'a>,
    pub max_users: MaxUsers,
    /// Active members now.
    pub members: u64,
    /// Pending invites now, not counting this one.
    pub pending_invites: u64,
}

/// Invite someone (docs/design.md §4.2).
///
/// Refuses, in this order: `permission-denied` without `org.members.invite`; `unknown-role`;
/// `owner-required` to invite an owner; `role-above-yours` for a role above the inviter's;
/// `already-member`; `invite-pending` (resend it instead); `domain-not-allowed` under domain
/// restriction; `org-full` when members plus pending invites leave no seat for this one. The
/// backend skips the first checks about the inviter, not those about the org.
pub fn check_invite(roles: &RoleConfig, actor: OrgActor<'_>, invite: &NewInvite<'_>) -> Result<(), DomainError> {
    check_invite_role(roles, actor, invite.role)?;
    match invite.invitee {
        InviteeState::Newcomer => {}
        InviteeState::ActiveMember => {
            return Err(DomainError::conflict(
                "already-member",
                format!("{} is already a member of this organization.", invite.email.as_str()),
            ));
        }
        InviteeState::PendingInvite => {
            return Err(DomainError::conflict(
                "invite-pending",
                format!(
                    "{} already has a pending invite; resend that invite instead of creating another.",
                    invite.email.as_str()
                ),
            ));
        }
    }
    check_email_domain_allowed(invite.email, invite.domains)?;
    check_seat_available(invite.max_users, invite.members, invite.pending_invites)
}

/// The inviter's half of [`check_invite`]: whether `actor` may invite anyone with `role`, whoever
/// the invitee and however full the org. Refuses with `permission-denied`, `unknown-role`,
/// `owner-required` or `role-above-yours`, in [`check_invite`]'s order. The role pickers of the
/// hosted pages offer the hierarchy roles this accepts.
pub fn check_invite_role(roles: &RoleConfig, actor: OrgActor<'_>, role: &RoleName) -> Result<(), DomainError> {
    let inviter = require(roles, actor, perm::ORG_MEMBERS_INVITE)?;
    roles.require_hierarchy_role(role)?;
    if let Some(inviter) = inviter {
        if roles.is_owner_role(role) && !roles.is_owner_role(&inviter.role) {
            return Err(owner_required(roles, "invite an owner"));
        }
        if roles.rank(role) > roles.rank(&inviter.role) {
            return Err(role_above_yours(role, &inviter.role, "invite with this role"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::members::{MemberStatus, MemberView};
    use crate::org::testing::{assert_refused, custom_roles, domain, email, member, role};
    use crate::org::Domain;

    const NO_DOMAINS: &[Domain] = &[];

    /// An invite to an open, unlimited org with one member; tests change what they need.
    fn invite<'a>(to: &'a Email, as_role: &'a RoleName) -> NewInvite<'a> {
        NewInvite {
            email: to,
            role: as_role,
            invitee: InviteeState::Newcomer,
            domains: DomainPolicy { domains: NO_DOMAINS, restrict_members: false },
            max_users: MaxUsers::UNLIMITED,
            members: 1,
            pending_invites: 0,
        }
    }

    fn check(actor: &MemberView, inv: &NewInvite<'_>) -> Result<(), DomainError> {
        check_invite(&RoleConfig::default(), OrgActor::Member(actor), inv)
    }

    #[test]
    fn admins_invite_up_to_their_rank_and_owners_invite_owners() {
        let bob = email("bob@example.com");
        let (admin, owner) = (member("Admin"), member("Owner"));
        for r in ["Admin", "Member", "Viewer"] {
            assert!(check(&admin, &invite(&bob, &role(r))).is_ok(), "{r}");
        }
        assert!(check(&owner, &invite(&bob, &role("Owner"))).is_ok());
        assert!(check_invite(&RoleConfig::default(), OrgActor::Backend, &invite(&bob, &role("Owner"))).is_ok());
    }

    #[test]
    fn inviting_needs_the_permission() {
        let bob = email("bob@example.com");
        let err = check(&member("Member"), &invite(&bob, &role("Viewer"))).unwrap_err();
        assert_refused(&err, "permission-denied", ErrorKind::Forbidden);
        assert!(err.detail.contains(perm::ORG_MEMBERS_INVITE));
        let mut gone = member("Owner");
        gone.status = MemberStatus::Removed;
        assert_refused(
            &check(&gone, &invite(&bob, &role("Viewer"))).unwrap_err(),
            "org-not-found",
            ErrorKind::NotFound,
        );
    }

    #[test]
    fn only_an_owner_invites_an_owner() {
        let bob = email("bob@example.com");
        let err = check(&member("Admin"), &invite(&bob, &role("Owner"))).unwrap_err();
        assert_refused(&err, "owner-required", ErrorKind::Forbidden);
    }

    #[test]
    fn the_invited_role_cannot_rank_above_the_inviter() {
        let roles = custom_roles();
        let mut editor = member("Editor");
        editor.additional_roles.push(role("Staffer"));
        let bob = email("bob@example.com");
        assert!(check_invite(&roles, OrgActor::Member(&editor), &invite(&bob, &role("Editor"))).is_ok());
        let err = check_invite(&roles, OrgActor::Member(&editor), &invite(&bob, &role("Manager"))).unwrap_err();
        assert_refused(&err, "role-above-yours", ErrorKind::Forbidden);
    }

    #[test]
    fn the_invited_role_must_exist() {
        let bob = email("bob@example.com");
        let err = check(&member("Owner"), &invite(&bob, &role("Janitor"))).unwrap_err();
        assert_refused(&err, "unknown-role", ErrorKind::Invalid);
    }

    #[test]
    fn members_are_not_invited_again() {
        let bob = email("bob@example.com");
        let viewer = role("Viewer");
        let inv = NewInvite { invitee: InviteeState::ActiveMember, ..invite(&bob, &viewer) };
        assert_refused(&check(&member("Admin"), &inv).unwrap_err(), "already-member", ErrorKind::Conflict);
        let err = check_invite(&RoleConfig::default(), OrgActor::Backend, &inv).unwrap_err();
        assert_refused(&err, "already-member", ErrorKind::Conflict);
    }

    #[test]
    fn a_pending_invite_points_to_resend() {
        let bob = email("bob@example.com");
        let viewer = role("Viewer");
        let inv = NewInvite { invitee: InviteeState::PendingInvite, ..invite(&bob, &viewer) };
        let err = check(&member("Admin"), &inv).unwrap_err();
        assert_refused(&err, "invite-pending", ErrorKind::Conflict);
        assert!(err.detail.contains("resend"), "{}", err.detail);
    }

    #[test]
    fn domain_restriction_binds_invites() {
        let domains = [domain("acme.com")];
        let restricted = DomainPolicy { domains: &domains, restrict_members: true };
        let viewer = role("Viewer");
        let (inside, outside) = (email("bob@acme.com"), email("bob@gmail.com"));
        assert!(check(&member("Admin"), &NewInvite { domains: restricted, ..invite(&inside, &viewer) }).is_ok());
        let inv = NewInvite { domains: restricted, ..invite(&outside, &viewer) };
        assert_refused(&check(&member("Admin"), &inv).unwrap_err(), "domain-not-allowed", ErrorKind::Invalid);
        let err = check_invite(&RoleConfig::default(), OrgActor::Backend, &inv).unwrap_err();
        assert_refused(&err, "domain-not-allowed", ErrorKind::Invalid);
    }

    #[test]
    fn a_full_org_takes_no_invites() {
        let bob = email("bob@example.com");
        let viewer = role("Viewer");
        let five = MaxUsers::parse(Some(5)).unwrap();
        let room = NewInvite { max_users: five, members: 3, pending_invites: 1, ..invite(&bob, &viewer) };
        assert!(check(&member("Admin"), &room).is_ok(), "the fifth seat is free");
        let full = NewInvite { pending_invites: 2, ..room };
        let err = check(&member("Admin"), &full).unwrap_err();
        assert_refused(&err, "org-full", ErrorKind::Conflict);
        assert!(err.detail.contains("pending invites"), "{}", err.detail);
    }

    #[test]
    fn invite_states_are_stored_as_their_names() {
        for state in InviteState::ALL {
            assert_eq!(InviteState::parse(state.as_str()), Some(state));
            assert_eq!(InviteState::try_from(state.to_string()), Ok(state));
        }
        let names: Vec<&str> = InviteState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["pending", "accepted", "declined", "revoked", "expired"]);
        assert_eq!(InviteState::parse("Pending"), None);
        let err = InviteState::try_from("used".to_owned()).unwrap_err();
        assert_eq!(err.to_string(), r#"unknown invite state "used""#);
    }

    #[test]
    fn only_a_pending_unexpired_invite_can_be_used() {
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let later = now + chrono::TimeDelta::seconds(1);
        assert!(check_invite_usable(InviteState::Pending, later, now).is_ok());
        for (state, expires_at, code) in [
            (InviteState::Pending, now, "invite-expired"),
            (InviteState::Expired, later, "invite-expired"),
            (InviteState::Revoked, later, "invite-revoked"),
            (InviteState::Accepted, later, "invite-used"),
            (InviteState::Declined, later, "invite-used"),
        ] {
            let err = check_invite_usable(state, expires_at, now).unwrap_err();
            assert_refused(&err, code, ErrorKind::Gone);
        }
    }

    #[test]
    fn authorization_comes_before_the_invitees_state() {
        let bob = email("bob@example.com");
        let viewer = role("Viewer");
        let inv = NewInvite { invitee: InviteeState::ActiveMember, ..invite(&bob, &viewer) };
        let err = check(&member("Viewer"), &inv).unwrap_err();
        assert_refused(&err, "permission-denied", ErrorKind::Forbidden);
    }

    #[test]
    fn the_inviter_half_alone_is_the_role_picker_and_agrees_with_check_invite() {
        let roles = RoleConfig::default();
        let bob = email("bob@example.com");
        let offered = |actor: OrgActor<'_>| -> Vec<String> {
            roles
                .hierarchy()
                .filter(|r| check_invite_role(&roles, actor, r).is_ok())
                .map(|r| r.as_str().to_owned())
                .collect()
        };
        let (owner, admin, plain, viewer) = (member("Owner"), member("Admin"), member("Member"), member("Viewer"));
        assert_eq!(offered(OrgActor::Member(&owner)), ["Owner", "Admin", "Member", "Viewer"]);
        assert_eq!(offered(OrgActor::Member(&admin)), ["Admin", "Member", "Viewer"]);
        assert!(offered(OrgActor::Member(&plain)).is_empty());
        assert!(offered(OrgActor::Member(&viewer)).is_empty());
        assert_eq!(offered(OrgActor::Backend), ["Owner", "Admin", "Member", "Viewer"]);
        for actor in [&owner, &admin, &plain, &viewer] {
            for r in roles.hierarchy() {
                let alone = check_invite_role(&roles, OrgActor::Member(actor), r).map_err(|e| e.code);
                let whole = check(actor, &invite(&bob, r)).map_err(|e| e.code);
                assert_eq!(alone, whole, "{} inviting as {r}", actor.role);
            }
        }
        let err = check_invite_role(&roles, OrgActor::Member(&owner), &role("Janitor")).unwrap_err();
        assert_eq!(err.code, "unknown-role");
    }
}
