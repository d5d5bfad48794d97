//! Organizations as a pure domain (docs/design.md §4): the values an org is made of, roles and permissions
//! as data, and the rules over members as functions that return a decision or a [`DomainError`]
//! with a stable code.
//!
//! A use case loads the state a rule needs (the actor's and the target's membership, a few
//! counts, the org's domains), calls the rule, and writes the change; it never re-states a rule.
//! Nothing here reads or writes anything, so every rule of §4 is unit-tested in this module.
//!
//! - `values`: [`OrgName`], [`Slug`], [`MaxUsers`] and the seat check, the metadata bound.
//! - `domains`: [`Domain`], public mail providers, domain restriction, auto-join, domain claims.
//! - `roles`: [`RoleName`], [`RoleConfig`] (hierarchy, additional roles, app permissions), [`perm`].
//! - `members`: [`MemberView`], [`OrgActor`], change role, grant additional roles, remove, leave,
//!   transfer, delete the org, delete a member's user.
//! - `invites`: [`check_invite`], [`InviteState`] and [`check_invite_usable`].
//! - `transfers`: [`TransferState`] and [`check_transfer_confirmable`].
//!
//! Authorization is checked before state in every rule, so an actor who may not act learns
//! nothing about the org's members from the refusal.
//!
//! [`DomainError`]: crate::error::DomainError

mod domains;
mod invites;
mod members;
mod roles;
mod transfers;
mod values;

#[cfg(test)]
mod testing;

pub use domains::{
    check_domain_claim, check_email_domain_allowed, is_auto_join_eligible, Domain, DomainClaimant, DomainPolicy,
    PUBLIC_MAIL_PROVIDERS,
};
pub use invites::{
    check_invite, check_invite_role, check_invite_usable, InviteState, InviteeState, NewInvite, UnknownState,
};
pub use members::{
    check_change_role, check_delete_org, check_delete_user, check_grant_additional_roles, check_leave,
    check_remove_member, check_transfer_ownership, require_permission, MemberStatus, MemberView, OrgActor,
    TransferRoles,
};
pub use roles::{perm, RoleConfig, RoleConfigBuilder, RoleName};
pub use transfers::{check_transfer_confirmable, TransferState};
pub use values::{
    check_metadata_size, check_org_limit, check_seat_available, MaxUsers, OrgName, Slug, METADATA_MAX_BYTES,
};
