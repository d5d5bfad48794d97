//! How an actor stands in one org: [`App::org_access`], the one place that resolves an actor
//! against an org (ARCHITECTURE.md, `tenantry-app`).
//!
//! The backend acts as itself; a user acts through their membership **as stored at the moment of
//! the request**, so a demoted admin's next call is refused even while their access token still
//! lists the old role. A user who is not a member gets `org-not-found`, exactly like a caller
//! asking about an org that does not exist.

use tenantry_core::org::{MemberStatus, MemberView, OrgActor};
use tenantry_core::{DomainError, OrgId, RoleName, UserId};
use tenantry_store::members::{self as member_store, MemberRow};
use tenantry_store::orgs::{self as store, OrgRow};
use tenantry_store::Ex;
use uuid::Uuid;

use crate::{authz, Actor, App, AppError, AppResult, Ctx};

/// How an actor stands in one org, resolved from the stored membership.
// Lives for one request on the stack, and nearly always as `Member`: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Access {
    /// A backend API key or the operator.
    Backend,
    /// An active member, as stored at the moment of the request.
    Member(MemberView, MemberRow),
}

impl Access {
    pub(crate) fn org_actor(&self) -> OrgActor<'_> {
        match self {
            Access::Backend => OrgActor::Backend,
            Access::Member(view, _) => OrgActor::Member(view),
        }
    }

    /// The acting user, when a member acts.
    pub(crate) fn user_id(&self) -> Option<Uuid> {
        match self {
            Access::Backend => None,
            Access::Member(_, row) => Some(row.user_id),
        }
    }
}

/// Whether a use case locks the org row (every membership change does, so that seat counts and
/// the last-owner rule hold under concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    None,
    Org,
}

/// The rules' view of a stored membership.
pub(crate) fn member_view(row: &MemberRow) -> AppResult<MemberView> {
    let role = RoleName::parse(&row.role).map_err(|e| AppError::Internal(format!("stored role: {}", e.detail)))?;
    let additional_roles = row
        .additional_roles
        .0
        .iter()
        .map(|r| RoleName::parse(r).map_err(|e| AppError::Internal(format!("stored role: {}", e.detail))))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(MemberView {
        user_id: UserId::from_uuid(row.user_id),
        role,
        additional_roles,
        status: MemberStatus::Active,
        is_creator: row.is_creator,
    })
}

/// The answer to an org that does not exist, and to one the caller is not a member of.
pub(crate) fn org_not_found() -> AppError {
    DomainError::not_found("org-not-found", "No such organization.").into()
}

impl App {
    /// Resolves how the actor stands in `org_id`, reading the org (and locking it when `lock`, to
    /// serialize membership changes). A user who is not a member gets `org-not-found`: an
    /// outsider never learns whether an org exists.
    pub(crate) async fn org_access(
        &self,
        mut ex: Ex<'_>,
        ctx: &Ctx,
        org_id: OrgId,
        lock: Lock,
    ) -> AppResult<(OrgRow, Access)> {
        authz::require_org_actor(&ctx.actor)?;
        let org = match lock {
            Lock::Org => store::lock_org(ex.reborrow(), org_id).await?,
            Lock::None => store::get_org(ex.reborrow(), org_id).await?,
        }
        .ok_or_else(org_not_found)?;
        let access = match ctx.actor {
            Actor::User(user_id) => {
                let row = member_store::get_member(ex.reborrow(), OrgId::from_uuid(org.id), user_id)
                    .await?
                    .ok_or_else(org_not_found)?;
                // After the membership, so an outsider still gets `org-not-found`.
                self.check_org_mfa(ex, &org, user_id, ctx.session.as_ref()).await?;
                Access::Member(member_view(&row)?, row)
            }
            _ => Access::Backend,
        };
        Ok((org, access))
    }
}
