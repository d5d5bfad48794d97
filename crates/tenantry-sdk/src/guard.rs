//! The access rules a SaaS route applies to a Tenantry access token, with no web framework: the
//! `axum` and `poem` integrations (cargo features) only read the request and turn a
//! [`Refusal`] into a response.
//!
//! - [`Guard::user`]: a valid bearer token (signed in);
//! - [`Guard::org`]: the token lists the org (named in the path, a header, or the user's active org)
//!   and the user may act in it (an org that requires 2FA the session has not passed is refused),
//!   optionally with a minimum role ([`OrgRule::min_role`]) or a permission
//!   ([`OrgRule::permission`]).
//!
//! Roles: a token lists, per org, the user's hierarchy role and the hierarchy roles below it
//! (`inherited_roles`), so "at least Admin" is decided from the token alone, by the deployment's
//! hierarchy as it was when the token was signed. A [`RoleHierarchy`] (the ordered role names, or
//! `GET /api/backend/v1/roles`) is only needed to catch a misspelled role in a rule at start-up:
//! [`OrgRule::checked`].
//!
//! Every refusal is 401 (no or a bad token) or 403 (the token is fine, the access is not), with a
//! problem+json body whose `type` ends in a stable code and whose `detail` says why.

use std::sync::Arc;

use crate::claims::{AccessClaims, OrgClaim};
use crate::jose::VerifyError;
use crate::jwks::JwksCache;

/// Where a rule finds the org a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgFrom {
    /// A path parameter, e.g. `org_id` in `/orgs/{org_id}/projects`.
    Path(String),
    /// A request header, e.g. `x-org-id`.
    Header(String),
    /// The org the user selected (`active_org_id` in the token).
    Active,
}

/// Who may use a route, beyond being signed in: a member of the org, with optionally a minimum
/// hierarchy role and a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRule {
    pub from: OrgFrom,
    pub min_role: Option<String>,
    pub permission: Option<String>,
}

impl OrgRule {
    /// Any member of the org named by `from`.
    pub fn member(from: OrgFrom) -> Self {
        OrgRule { from, min_role: None, permission: None }
    }

    /// Any member of the org named by the path parameter `name`.
    pub fn path(name: &str) -> Self {
        Self::member(OrgFrom::Path(name.to_owned()))
    }

    /// Any member of the org named by the header `name`.
    pub fn header(name: &str) -> Self {
        Self::member(OrgFrom::Header(name.to_ascii_lowercase()))
    }

    /// Any member of the user's active org.
    pub fn active() -> Self {
        Self::member(OrgFrom::Active)
    }

    /// Also require `role` or a role above it in the hierarchy (e.g. `Admin`: Admins and Owners).
    pub fn min_role(mut self, role: &str) -> Self {
        self.min_role = Some(role.to_owned());
        self
    }

    /// Also require `permission` (e.g. `projects.write`), from any of the user's roles.
    pub fn permission(mut self, permission: &str) -> Self {
        self.permission = Some(permission.to_owned());
        self
    }

    /// The rule, if its minimum role is one of `roles`' hierarchy roles (so a typo fails at start-up
    /// instead of refusing everyone).
    pub fn checked(self, roles: &RoleHierarchy) -> Result<Self, UnknownRole> {
        match &self.min_role {
            Some(role) if roles.rank(role).is_none() => Err(UnknownRole(role.clone())),
            _ => Ok(self),
        }
    }

    /// Applies the rule to verified claims, for the org `org_id` (already read from the request
    /// for [`OrgFrom::Path`] and [`OrgFrom::Header`]; ignored for [`OrgFrom::Active`]).
    pub fn check<'c>(&self, claims: &'c AccessClaims, org_id: Option<&str>) -> Result<&'c OrgClaim, Refusal> {
        let org_id = match &self.from {
            OrgFrom::Active => claims.active_org_id.as_deref().ok_or(Refusal::NoActiveOrg)?,
            OrgFrom::Path(name) | OrgFrom::Header(name) => {
                org_id.filter(|id| !id.is_empty()).ok_or_else(|| Refusal::OrgNotNamed(name.clone()))?
            }
        };
        let Some(org) = claims.org(org_id) else {
            // A token lists at most `orgs.token_max_orgs` orgs, always with the active one.
            return Err(if claims.orgs_truncated { Refusal::OrgNotInToken } else { Refusal::NotMember });
        };
        if org.mfa_required {
            return Err(Refusal::MfaRequired);
        }
        if let Some(min) = &self.min_role {
            let at_least =
                org.role.eq_ignore_ascii_case(min) || org.inherited_roles.iter().any(|r| r.eq_ignore_ascii_case(min));
            if !at_least {
                return Err(Refusal::RoleTooLow { required: min.clone(), held: org.role.clone() });
            }
        }
        if let Some(permission) = &self.permission {
            if !org.has_permission(permission) {
                return Err(Refusal::PermissionMissing(permission.clone()));
            }
        }
        Ok(org)
    }
}

/// The deployment's hierarchy roles, highest first (`Owner`, `Admin`, `Member`, `Viewer` unless
/// configured otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHierarchy(Vec<String>);

impl RoleHierarchy {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(highest_first: I) -> Self {
        RoleHierarchy(highest_first.into_iter().map(Into::into).collect())
    }

    /// From `GET /api/backend/v1/roles` ([`Client::get_roles`](crate::client::Client::get_roles)).
    pub fn from_roles(roles: &crate::client::RolesOut) -> Self {
        Self::new(roles.hierarchy.iter().map(|r| r.name.clone()))
    }

    /// 0 for the highest role; `None` for a name that is not a hierarchy role (case-insensitive).
    pub fn rank(&self, role: &str) -> Option<usize> {
        self.0.iter().position(|r| r.eq_ignore_ascii_case(role))
    }
}

impl Default for RoleHierarchy {
    fn default() -> Self {
        Self::new(["Owner", "Admin", "Member", "Viewer"])
    }
}

/// A rule names a role that is not in the hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a hierarchy role of this deployment")]
pub struct UnknownRole(pub String);

/// Why a request was refused. [`Refusal::status`] is 401 or 403, [`Refusal::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Sign in first: the request carries no bearer access token.")]
    MissingToken,
    #[error("The access token was refused: {0}.")]
    InvalidToken(VerifyError),
    #[error("No organization is selected: choose one first.")]
    NoActiveOrg,
    #[error("The request does not name an organization ({0}).")]
    OrgNotNamed(String),
    #[error("You are not a member of this organization.")]
    NotMember,
    #[error(
        "Your token lists only some of your organizations and not this one: select it as the active organization."
    )]
    OrgNotInToken,
    #[error("This organization requires two-factor authentication: set it up or sign in with it first.")]
    MfaRequired,
    #[error("This needs the {required} role or a higher one; you are {held}.")]
    RoleTooLow { required: String, held: String },
    #[error("This needs the {0} permission, which none of your roles grants.")]
    PermissionMissing(String),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::MissingToken | Refusal::InvalidToken(_) => 401,
            _ => 403,
        }
    }

    /// The stable code: the last segment of the problem `type`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::MissingToken => "token-missing",
            Refusal::InvalidToken(e) => e.code(),
            Refusal::NoActiveOrg => "org-not-selected",
            Refusal::OrgNotNamed(_) => "org-not-named",
            Refusal::NotMember => "not-a-member",
            Refusal::OrgNotInToken => "org-not-in-token",
            Refusal::MfaRequired => "mfa-required",
            Refusal::RoleTooLow { .. } => "role-required",
            Refusal::PermissionMissing(_) => "permission-required",
        }
    }

    /// `WWW-Authenticate` for a 401 (RFC 6750 §3).
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            Refusal::MissingToken => Some("Bearer"),
            Refusal::InvalidToken(_) => Some("Bearer error=\"invalid_token\""),
            _ => None,
        }
    }

    /// The RFC 9457 body (`application/problem+json`).
    pub fn problem_json(&self) -> String {
        let title = if self.status() == 401 { "Unauthorized" } else { "Forbidden" };
        serde_json::json!({
            "type": format!("urn:tenantry:problem:{}", self.code()),
            "title": title,
            "status": self.status(),
            "detail": self.to_string(),
        })
        .to_string()
    }
}

/// The token of an `Authorization: Bearer …` header value.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, Refusal> {
    let value = authorization.ok_or(Refusal::MissingToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(Refusal::MissingToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(Refusal::MissingToken);
    }
    Ok(token)
}

/// What the framework integrations share: a [`JwksCache`] to verify tokens with. Clone it into
/// your app state (it is an `Arc`).
#[derive(Debug, Clone)]
pub struct Guard {
    cache: Arc<JwksCache>,
}

impl Guard {
    pub fn new(cache: JwksCache) -> Self {
        Guard { cache: Arc::new(cache) }
    }

    pub fn cache(&self) -> &JwksCache {
        &self.cache
    }

    /// The verified claims of the request's bearer token (`authorization`: the header's value).
    pub async fn user(&self, authorization: Option<&str>) -> Result<AccessClaims, Refusal> {
        let token = bearer_token(authorization)?;
        self.cache.verify(token).await.map_err(Refusal::InvalidToken)
    }

    /// The claims and the org standing that `rule` admits, with `org_id` read from the request as
    /// the rule says.
    pub async fn org(
        &self,
        authorization: Option<&str>,
        rule: &OrgRule,
        org_id: Option<&str>,
    ) -> Result<OrgMember, Refusal> {
        let claims = self.user(authorization).await?;
        let org = rule.check(&claims, org_id)?.clone();
        Ok(OrgMember { claims, org })
    }
}

/// A user admitted into an org by an [`OrgRule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgMember {
    pub claims: AccessClaims,
    /// The user's standing in the org the request is about.
    pub org: OrgClaim,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn org(id: &str, role: &str, inherited: &[&str], permissions: &[&str]) -> OrgClaim {
        OrgClaim {
            org_id: id.into(),
            name: id.into(),
            slug: id.into(),
            role: role.into(),
            inherited_roles: inherited.iter().map(|r| (*r).into()).collect(),
            additional_roles: vec![],
            permissions: permissions.iter().map(|p| (*p).into()).collect(),
            mfa_required: false,
        }
    }

    fn claims(orgs: Vec<OrgClaim>, active: Option<&str>) -> AccessClaims {
        AccessClaims {
            iss: "i".into(),
            sub: "u".into(),
            aud: None,
            iat: 0,
            exp: 1,
            nbf: None,
            jti: "j".into(),
            sid: "s".into(),
            email: "ada@example.com".into(),
            email_verified: true,
            orgs: orgs.into_iter().map(|o| (o.org_id.clone(), o)).collect::<BTreeMap<_, _>>(),
            active_org_id: active.map(Into::into),
            orgs_truncated: false,
            amr: vec![],
        }
    }

    #[test]
    fn a_minimum_role_admits_it_and_every_role_above() {
        let admin_rule = OrgRule::path("org_id").min_role("Admin");
        let owner = claims(vec![org("a", "Owner", &["Admin", "Member", "Viewer"], &[])], None);
        let admin = claims(vec![org("a", "Admin", &["Member", "Viewer"], &[])], None);
        let member = claims(vec![org("a", "Member", &["Viewer"], &[])], None);
        assert_eq!(admin_rule.check(&owner, Some("a")).unwrap().role, "Owner");
        assert_eq!(admin_rule.check(&admin, Some("a")).unwrap().role, "Admin");
        let refused = admin_rule.check(&member, Some("a")).unwrap_err();
        assert_eq!(refused, Refusal::RoleTooLow { required: "Admin".into(), held: "Member".into() });
        assert_eq!((refused.status(), refused.code()), (403, "role-required"));
        // Role names compare like the server's: case-insensitively.
        assert!(OrgRule::path("org_id").min_role("admin").check(&admin, Some("a")).is_ok());
    }

    #[test]
    fn a_permission_comes_from_any_role() {
        let rule = OrgRule::header("X-Org-Id").permission("projects.write");
        assert_eq!(rule.from, OrgFrom::Header("x-org-id".into()));
        let writer = claims(vec![org("a", "Viewer", &[], &["org.read", "projects.write"])], None);
        let reader = claims(vec![org("a", "Admin", &["Member"], &["org.read"])], None);
        assert!(rule.check(&writer, Some("a")).is_ok());
        assert_eq!(rule.check(&reader, Some("a")), Err(Refusal::PermissionMissing("projects.write".into())));
    }

    #[test]
    fn the_org_must_be_named_listed_and_not_waiting_for_2fa() {
        let rule = OrgRule::path("org_id");
        let c = claims(vec![org("a", "Member", &[], &[])], Some("a"));
        assert_eq!(rule.check(&c, None), Err(Refusal::OrgNotNamed("org_id".into())));
        assert_eq!(rule.check(&c, Some("")), Err(Refusal::OrgNotNamed("org_id".into())));
        assert_eq!(rule.check(&c, Some("b")), Err(Refusal::NotMember));
        let mut truncated = c.clone();
        truncated.orgs_truncated = true;
        assert_eq!(rule.check(&truncated, Some("b")), Err(Refusal::OrgNotInToken));

        let mut blocked = c.clone();
        blocked.orgs.get_mut("a").unwrap().mfa_required = true;
        assert_eq!(rule.check(&blocked, Some("a")), Err(Refusal::MfaRequired));
        assert_eq!(Refusal::MfaRequired.code(), "mfa-required");

        assert_eq!(OrgRule::active().check(&c, Some("ignored")).unwrap().org_id, "a");
        let none_active = claims(vec![org("a", "Member", &[], &[])], None);
        assert_eq!(OrgRule::active().check(&none_active, None), Err(Refusal::NoActiveOrg));
    }

    #[test]
    fn rules_with_an_unknown_role_fail_at_start_up() {
        let roles = RoleHierarchy::default();
        assert!(OrgRule::active().min_role("Admin").checked(&roles).is_ok());
        assert_eq!(OrgRule::active().min_role("Admn").checked(&roles), Err(UnknownRole("Admn".into())));
        assert_eq!(roles.rank("owner"), Some(0));
        assert_eq!(RoleHierarchy::new(["Lead", "Crew"]).rank("Crew"), Some(1));
    }

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        for bad in [None, Some(""), Some("Bearer"), Some("Bearer "), Some("Basic abc"), Some("abc")] {
            assert_eq!(bearer_token(bad), Err(Refusal::MissingToken), "{bad:?}");
        }
    }

    #[test]
    fn refusals_are_problems_that_say_why() {
        let body: serde_json::Value =
            serde_json::from_str(&Refusal::PermissionMissing("projects.write".into()).problem_json()).unwrap();
        assert_eq!(body["type"], "urn:tenantry:problem:permission-required");
        assert_eq!(body["status"], 403);
        assert!(body["detail"].as_str().unwrap().contains("projects.write"));
        let expired = Refusal::InvalidToken(VerifyError::Expired);
        assert_eq!((expired.status(), expired.code()), (401, "token-expired"));
        assert_eq!(expired.www_authenticate(), Some("Bearer error=\"invalid_token\""));
        assert_eq!(Refusal::NotMember.www_authenticate(), None);
    }
}
