//! What a user's tokens and org list say about their orgs: the `orgs` claim of access tokens
//! ([`App::org_claims`]) and a user's memberships ([`App::user_orgs`]).
//!
//! Both are computed from the memberships as stored; permissions come from
//! [`RoleConfig::effective_permissions`], the one place that computes them (ARCHITECTURE.md,
//! `tenantry-core`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use tenantry_auth::OrgClaim;
use tenantry_core::{OrgId, RoleConfig, RoleName, UserId};
use tenantry_store::members::{self as member_store, MembershipWithOrg};
use tenantry_store::Ex;
use uuid::Uuid;

use crate::{authz, paging, App, AppResult, Ctx, Page};

/// Which orgs an access token lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenOrgs {
    /// Every org of the user, up to [`crate::orgs::OrgSettings::token_max_orgs`].
    #[default]
    All,
    /// Only the org the session has selected (`active_org_id`).
    ActiveOnly,
}

/// One of a user's orgs with their standing in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub org_id: OrgId,
    pub org_name: String,
    pub org_slug: String,
    pub role: String,
    pub inherited_roles: Vec<String>,
    pub additional_roles: Vec<String>,
    pub permissions: Vec<String>,
    pub joined_at: DateTime<Utc>,
}

impl Membership {
    fn new(roles: &RoleConfig, m: &MembershipWithOrg) -> Membership {
        let claim = org_claim(roles, m);
        Membership {
            org_id: OrgId::from_uuid(m.member.org_id),
            org_name: claim.name,
            org_slug: claim.slug,
            role: claim.role,
            inherited_roles: claim.inherited_roles,
            additional_roles: claim.additional_roles,
            permissions: claim.permissions,
            joined_at: m.member.created_at,
        }
    }
}

/// What an access token says about one membership; permissions are computed in
/// [`RoleConfig::effective_permissions`], the one place that does it.
fn org_claim(roles: &RoleConfig, m: &MembershipWithOrg) -> OrgClaim {
    let (inherited_roles, permissions) = role_grants(roles, &m.member.role, &m.member.additional_roles.0);
    OrgClaim {
        org_id: m.member.org_id.to_string(),
        name: m.org_name.clone(),
        slug: m.org_slug.clone(),
        role: m.member.role.clone(),
        inherited_roles,
        additional_roles: m.member.additional_roles.0.clone(),
        permissions,
        mfa_required: false,
    }
}

/// The roles a role inherits, and the permissions it grants with its additional roles.
type Grants = (Vec<String>, Vec<String>);

/// The [`Grants`] of a stored role and additional roles.
fn role_grants(roles: &RoleConfig, role: &str, additional: &[String]) -> Grants {
    let Ok(role) = RoleName::parse(role) else {
        return (Vec::new(), Vec::new());
    };
    let additional: Vec<RoleName> = additional.iter().filter_map(|r| RoleName::parse(r).ok()).collect();
    (
        roles.inherited_roles(&role).map(|n| n.as_str().to_owned()).collect(),
        roles.effective_permissions(&role, &additional).into_iter().collect(),
    )
}

/// The `orgs` part of an access token.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrgClaims {
    pub orgs: BTreeMap<String, OrgClaim>,
    pub active_org_id: Option<String>,
    /// More orgs than the token may carry: the list holds the first ones (and the active org).
    pub truncated: bool,
}

impl App {
    /// A user's orgs with their standing in each: their own (end-user API) or anyone's (backend).
    pub async fn user_orgs(
        &self,
        ctx: &Ctx,
        user_id: UserId,
        cursor: Option<Uuid>,
        limit: u32,
    ) -> AppResult<Page<(Uuid, Membership)>> {
        authz::require_self_or_backend(&ctx.actor, user_id)?;
        let roles = self.roles().await?;
        let limit = paging::org_limit(limit);
        let mut c = self.db().acquire().await?;
        let rows = member_store::list_memberships_of_user(c.ex(), user_id, cursor, limit + 1).await?;
        let items = rows.iter().map(|m| (m.member.id, Membership::new(&roles, m))).collect();
        Ok(Page::from_overfetch(items, limit, |(id, _)| id.to_string()))
    }

    /// What a token for `user_id` says about their orgs: every org (up to the deployment's cap,
    /// the active one always kept), or only the active org, as the deployment chooses.
    /// `mfa_org`: the org whose 2FA requirement the session meets through its IdP's MFA.
    pub(crate) async fn org_claims(
        &self,
        user_id: Uuid,
        active_org: Option<Uuid>,
        mfa_org: Option<Uuid>,
    ) -> AppResult<OrgClaims> {
        let roles = self.roles().await?;
        let mut c = self.db().acquire().await?;
        self.org_claims_in(c.ex(), &roles, user_id, active_org, mfa_org).await
    }

    /// [`App::org_claims`] on a connection the caller holds, with the roles it read before
    /// taking it (reading them may need a connection of its own).
    pub(crate) async fn org_claims_in(
        &self,
        mut ex: Ex<'_>,
        roles: &RoleConfig,
        user_id: Uuid,
        active_org: Option<Uuid>,
        mfa_org: Option<Uuid>,
    ) -> AppResult<OrgClaims> {
        let settings = &self.settings().orgs;
        let mut claims = OrgClaims::default();
        let active = match active_org {
            Some(org) => {
                member_store::get_membership_with_org(ex.reborrow(), UserId::from_uuid(user_id), OrgId::from_uuid(org))
                    .await?
            }
            None => None,
        };
        if let Some(a) = &active {
            claims.active_org_id = Some(a.member.org_id.to_string());
            claims.orgs.insert(a.member.org_id.to_string(), org_claim(roles, a));
        }
        if settings.token_orgs == TokenOrgs::All {
            let cap = settings.token_max_orgs;
            let rows = member_store::list_claims_of_user(ex.reborrow(), UserId::from_uuid(user_id), cap + 1).await?;
            // Members of many orgs mostly hold the same few roles: work each grant out once.
            let mut grants: HashMap<(&str, &[String]), Grants> = HashMap::new();
            for m in &rows {
                if claims.orgs.len() >= cap as usize {
                    break;
                }
                let key = m.org_id.to_string();
                if claims.orgs.contains_key(&key) {
                    continue;
                }
                let (inherited_roles, permissions) = grants
                    .entry((m.role.as_str(), m.additional_roles.0.as_slice()))
                    .or_insert_with(|| role_grants(roles, &m.role, &m.additional_roles.0))
                    .clone();
                let claim = OrgClaim {
                    org_id: key.clone(),
                    name: m.org_name.clone(),
                    slug: m.org_slug.clone(),
                    role: m.role.clone(),
                    inherited_roles,
                    additional_roles: m.additional_roles.0.clone(),
                    permissions,
                    mfa_required: false,
                };
                claims.orgs.insert(key, claim);
            }
            let listed = rows.iter().filter(|m| claims.orgs.contains_key(&m.org_id.to_string())).count();
            claims.truncated = rows.len() > listed;
        }
        // An org that enforces 2FA the user has not set up stays listed, marked, with no role or
        // permissions: a backend that checks the token refuses too (docs/design.md §4.14). The
        // org whose IdP proved a second factor for this session counts it as 2FA.
        if claims.orgs.is_empty() {
            // No org to mark: spare the query.
            return Ok(claims);
        }
        let blocked = self.orgs_blocked_by_mfa(ex, UserId::from_uuid(user_id)).await?;
        let mfa_org = mfa_org.map(|o| o.to_string());
        for (org_id, claim) in claims.orgs.iter_mut() {
            if blocked.blocks(org_id) && mfa_org.as_deref() != Some(org_id.as_str()) {
                claim.role = String::new();
                claim.inherited_roles.clear();
                claim.additional_roles.clear();
                claim.permissions.clear();
                claim.mfa_required = true;
            }
        }
        Ok(claims)
    }
}
