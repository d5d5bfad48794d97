//! Fixtures shared by the org tests.

use crate::error::{DomainError, ErrorKind};
use crate::ids::UserId;
use crate::user::Email;

use super::domains::Domain;
use super::members::{MemberStatus, MemberView};
use super::roles::{perm, RoleConfig, RoleName};

pub(crate) fn role(s: &str) -> RoleName {
    RoleName::parse(s).unwrap()
}

pub(crate) fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

pub(crate) fn domain(s: &str) -> Domain {
    Domain::parse(s).unwrap()
}

/// An active member with a fresh id, no additional roles, not the creator.
pub(crate) fn member(role_name: &str) -> MemberView {
    MemberView {
        user_id: UserId::new(),
        role: role(role_name),
        additional_roles: Vec::new(),
        status: MemberStatus::Active,
        is_creator: false,
    }
}

pub(crate) fn assert_refused(err: &DomainError, code: &str, kind: ErrorKind) {
    assert_eq!((err.code, err.kind), (code, kind), "{}", err.detail);
    assert!(!err.detail.is_empty());
}

/// A deployment that renamed every role, inserted one, declared app permissions and added
/// additional roles: Proprietor > Manager > Editor > Contributor > Guest; Accountant, Auditor,
/// and Staffer (who may invite, remove and change roles without a high rank).
pub(crate) fn custom_roles() -> RoleConfig {
    RoleConfig::builder()
        .app_permission("projects.read")
        .app_permission("projects.write")
        .app_permission("invoices.export_csv")
        .hierarchy_role(
            "Proprietor",
            &[perm::ORG_DELETE, perm::ORG_TRANSFER_OWNERSHIP, perm::ORG_REQUIRE_2FA, perm::ORG_BILLING],
        )
        .hierarchy_role(
            "Manager",
            &[
                perm::ORG_UPDATE,
                perm::ORG_MEMBERS_INVITE,
                perm::ORG_MEMBERS_REMOVE,
                perm::ORG_MEMBERS_CHANGE_ROLE,
                perm::ORG_API_KEYS_MANAGE,
                perm::ORG_SSO_MANAGE,
                perm::ORG_AUDIT_READ,
            ],
        )
        .hierarchy_role("Editor", &["projects.write"])
        .hierarchy_role("Contributor", &[])
        .hierarchy_role("Guest", &[perm::ORG_VIEW, "projects.read"])
        .additional_role("Accountant", &[perm::ORG_BILLING, "invoices.export_csv"])
        .additional_role("Auditor", &[perm::ORG_AUDIT_READ])
        .additional_role(
            "Staffer",
            &[perm::ORG_MEMBERS_INVITE, perm::ORG_MEMBERS_REMOVE, perm::ORG_MEMBERS_CHANGE_ROLE],
        )
        .build()
        .unwrap()
}
