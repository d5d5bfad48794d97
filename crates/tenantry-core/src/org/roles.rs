//! Roles and permissions as data, not an enum (docs/design.md §4).
//!
//! A deployment describes its roles once, in a [`RoleConfig`]: an ordered hierarchy, highest
//! first, in which a role inherits the permissions of every role below it; additional roles
//! outside the hierarchy, whose permissions add to a member's; and its own app permissions
//! (`projects.write`), which show up in tokens beside the built-in ones of [`perm`].
//!
//! The top of the hierarchy is the *owner role* ("Owner" by default). It must hold every built-in
//! permission, and the rules that protect owners (only owners touch owners, an org never loses its
//! last owner) are about that role, whatever the deployment calls it. The rules elsewhere ask this
//! module for ranks and permissions; none of them names a role.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::{DomainError, ErrorKind};

/// The built-in permissions, under the names tokens carry. The `org.` namespace is theirs: app
/// permissions may not use it, so an app permission can never shadow a built-in one, today's or
/// a future one.
pub mod perm {
    /// See the org and its members.
    pub const ORG_VIEW: &str = "org.view";
    /// Change the org's name, slug, settings and domains.
    pub const ORG_UPDATE: &str = "org.update";
    /// Invite members, resend and revoke invites.
    pub const ORG_MEMBERS_INVITE: &str = "org.members.invite";
    /// Remove members (never an owner, unless the remover is one).
    pub const ORG_MEMBERS_REMOVE: &str = "org.members.remove";
    /// Change members' roles (never an owner's, unless the changer is one).
    pub const ORG_MEMBERS_CHANGE_ROLE: &str = "org.members.change_role";
    /// Create and revoke the org's API keys.
    pub const ORG_API_KEYS_MANAGE: &str = "org.api_keys.manage";
    /// Set up and change the org's SSO connections.
    pub const ORG_SSO_MANAGE: &str = "org.sso.manage";
    /// Read the org's audit trail.
    pub const ORG_AUDIT_READ: &str = "org.audit.read";
    /// Delete the org, permanently.
    pub const ORG_DELETE: &str = "org.delete";
    /// Hand the owner role to another member.
    pub const ORG_TRANSFER_OWNERSHIP: &str = "org.transfer_ownership";
    /// Require 2FA of every member.
    pub const ORG_REQUIRE_2FA: &str = "org.require_2fa";
    /// Manage the org's billing.
    pub const ORG_BILLING: &str = "org.billing";

    /// Every built-in permission; the owner role must hold them all.
    pub const BUILT_IN: &[&str] = &[
        ORG_VIEW,
        ORG_UPDATE,
        ORG_MEMBERS_INVITE,
        ORG_MEMBERS_REMOVE,
        ORG_MEMBERS_CHANGE_ROLE,
        ORG_API_KEYS_MANAGE,
        ORG_SSO_MANAGE,
        ORG_AUDIT_READ,
        ORG_DELETE,
        ORG_TRANSFER_OWNERSHIP,
        ORG_REQUIRE_2FA,
        ORG_BILLING,
    ];

    /// The namespace of the built-in permissions, closed to app permissions.
    pub const RESERVED_PREFIX: &str = "org.";
}

/// The name of a role, as tokens carry it: 1 to 64 characters after trimming, ASCII letters,
/// digits, spaces, `_` and `-`, starting with a letter.
///
/// Names compare exactly; a [`RoleConfig`] keeps them unique regardless of case and
/// [`RoleConfig::resolve`] finds a role whatever the case the caller typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleName(String);

impl RoleName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<RoleName, DomainError> {
        let bad = |why: &str| DomainError::invalid_field("invalid-role", "role", why.to_owned());
        let s = raw.trim();
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(bad("A role name is 1 to 64 characters."));
        }
        if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(bad("A role name starts with a letter."));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-')) {
            return Err(bad("A role name may contain only letters, digits, spaces, '_' and '-'."));
        }
        Ok(RoleName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For the built-in default, whose names are known to be valid.
    fn known(name: &str) -> RoleName {
        RoleName(name.to_owned())
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One role and the permissions it holds itself (not counting inheritance).
#[derive(Debug, Clone, PartialEq, Eq)]
struct RoleDef {
    name: RoleName,
    permissions: BTreeSet<String>,
}

impl RoleDef {
    fn new(name: &str, permissions: &[&str]) -> RoleDef {
        RoleDef { name: RoleName::known(name), permissions: permissions.iter().map(|p| (*p).to_owned()).collect() }
    }
}

/// A deployment's roles: the hierarchy (highest first), the additional roles, the app permissions.
/// Valid by construction: built by [`RoleConfig::builder`] or [`RoleConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConfig {
    /// Highest first; `hierarchy[0]` is the owner role. At least two roles.
    hierarchy: Vec<RoleDef>,
    additional: Vec<RoleDef>,
    app_permissions: BTreeSet<String>,
}

impl Default for RoleConfig {
    /// Owner > Admin > Member > Viewer, with the permission table of docs/design.md §4, no additional
    /// roles and no app permissions.
    fn default() -> Self {
        RoleConfig {
            hierarchy: vec![
                RoleDef::new(
                    "Owner",
                    &[perm::ORG_DELETE, perm::ORG_TRANSFER_OWNERSHIP, perm::ORG_REQUIRE_2FA, perm::ORG_BILLING],
                ),
                RoleDef::new(
                    "Admin",
                    &[
                        perm::ORG_UPDATE,
                        perm::ORG_MEMBERS_INVITE,
                        perm::ORG_MEMBERS_REMOVE,
                        perm::ORG_MEMBERS_CHANGE_ROLE,
                        perm::ORG_API_KEYS_MANAGE,
                        perm::ORG_SSO_MANAGE,
                        perm::ORG_AUDIT_READ,
                    ],
                ),
                // A Member sees what a Viewer sees; the SaaS adds its own permissions here.
                RoleDef::new("Member", &[]),
                RoleDef::new("Viewer", &[perm::ORG_VIEW]),
            ],
            additional: Vec::new(),
            app_permissions: BTreeSet::new(),
        }
    }
}

impl RoleConfig {
    /// Starts an empty configuration; see [`RoleConfigBuilder`].
    pub fn builder() -> RoleConfigBuilder {
        RoleConfigBuilder::default()
    }

    /// The top of the hierarchy: the role whose holders own the org.
    pub fn owner_role(&self) -> &RoleName {
        &self.hierarchy[0].name
    }

    /// The bottom of the hierarchy: the role auto-joined users get (docs/design.md §4.12).
    pub fn lowest_role(&self) -> &RoleName {
        &self.hierarchy[self.hierarchy.len() - 1].name
    }

    /// The role an Owner keeps after handing ownership over (docs/design.md §4.8: "the initiator becomes
    /// Admin"): the one right below the owner role.
    pub fn role_after_transfer(&self) -> &RoleName {
        &self.hierarchy[1].name
    }

    pub fn is_owner_role(&self, role: &RoleName) -> bool {
        self.owner_role() == role
    }

    /// The hierarchy roles, highest first.
    pub fn hierarchy(&self) -> impl Iterator<Item = &RoleName> + '_ {
        self.hierarchy.iter().map(|r| &r.name)
    }

    /// The roles outside the hierarchy.
    pub fn additional_roles(&self) -> impl Iterator<Item = &RoleName> + '_ {
        self.additional.iter().map(|r| &r.name)
    }

    /// The deployment's own permissions, beside the built-in ones.
    pub fn app_permissions(&self) -> &BTreeSet<String> {
        &self.app_permissions
    }

    /// How high a hierarchy role stands: the lowest role is 0, the owner role the highest number.
    /// `None` for a name that is not a hierarchy role. Since `None < Some(_)`, comparing ranks
    /// puts a role the deployment has since removed below every role that exists.
    pub fn rank(&self, role: &RoleName) -> Option<usize> {
        self.position(role).map(|i| self.hierarchy.len() - 1 - i)
    }

    /// The hierarchy roles below `role`, highest first: whose permissions it inherits. Empty for
    /// the lowest role and for a name that is not a hierarchy role.
    pub fn inherited_roles(&self, role: &RoleName) -> impl Iterator<Item = &RoleName> + '_ {
        let below = self.position(role).map_or(self.hierarchy.len(), |i| i + 1);
        self.hierarchy[below..].iter().map(|r| &r.name)
    }

    /// The permissions a role holds itself, without inheritance; hierarchy or additional role.
    pub fn own_permissions(&self, role: &RoleName) -> Option<&BTreeSet<String>> {
        self.hierarchy.iter().chain(&self.additional).find(|r| r.name == *role).map(|r| &r.permissions)
    }

    /// Everything a member with hierarchy role `role` and `additional_roles` may do: the role's
    /// own permissions, those of every role below it, and those of each additional role.
    ///
    /// Names that are not roles of this configuration grant nothing, so a role a deployment has
    /// removed cannot keep granting permissions from rows that still name it.
    pub fn effective_permissions(&self, role: &RoleName, additional_roles: &[RoleName]) -> BTreeSet<String> {
        self.granting_roles(role, additional_roles).flat_map(|r| r.permissions.iter().cloned()).collect()
    }

    /// Whether [`RoleConfig::effective_permissions`] contains `permission`, without building the set.
    pub fn has_permission(&self, role: &RoleName, additional_roles: &[RoleName], permission: &str) -> bool {
        self.granting_roles(role, additional_roles).any(|r| r.permissions.contains(permission))
    }

    /// Finds the hierarchy role named `raw`, ignoring case (`admin` finds `Admin`); for a role
    /// given in a request.
    pub fn resolve(&self, raw: &str) -> Result<RoleName, DomainError> {
        find_ignoring_case(&self.hierarchy, raw).ok_or_else(|| self.unknown_role(raw))
    }

    /// Refuses a role that is not, exactly, a hierarchy role of this configuration: for a
    /// [`RoleName`] that reached a rule without [`RoleConfig::resolve`], or resolved against an
    /// older configuration. Exactly, because a differently-cased name would have no rank.
    pub(crate) fn require_hierarchy_role(&self, role: &RoleName) -> Result<(), DomainError> {
        match self.position(role) {
            Some(_) => Ok(()),
            None => Err(self.unknown_role(role.as_str())),
        }
    }

    fn unknown_role(&self, raw: &str) -> DomainError {
        DomainError::invalid_field(
            "unknown-role",
            "role",
            format!("There is no role '{}'. The roles are: {}.", raw.trim(), names(&self.hierarchy)),
        )
    }

    /// Finds the additional role named `raw`, ignoring case.
    pub fn resolve_additional(&self, raw: &str) -> Result<RoleName, DomainError> {
        find_ignoring_case(&self.additional, raw).ok_or_else(|| {
            let known = if self.additional.is_empty() { "none".to_owned() } else { names(&self.additional) };
            DomainError::invalid_field(
                "unknown-role",
                "additional_roles",
                format!("There is no additional role '{}'. The additional roles are: {known}.", raw.trim()),
            )
        })
    }

    fn position(&self, role: &RoleName) -> Option<usize> {
        self.hierarchy.iter().position(|r| r.name == *role)
    }

    /// The roles whose own permissions a member holds: theirs, those below, their additional ones.
    fn granting_roles<'a>(
        &'a self,
        role: &RoleName,
        additional_roles: &'a [RoleName],
    ) -> impl Iterator<Item = &'a RoleDef> + 'a {
        let from = self.position(role).unwrap_or(self.hierarchy.len());
        let extra = self.additional.iter().filter(move |r| additional_roles.contains(&r.name));
        self.hierarchy[from..].iter().chain(extra)
    }

    /// The rules a configuration keeps, whoever built it.
    fn check(&self) -> Result<(), DomainError> {
        let bad = |detail: String| DomainError::new(ErrorKind::Invalid, "invalid-role-config", detail);
        // One role would make every member an owner and every auto-joined user one too.
        if self.hierarchy.len() < 2 {
            return Err(bad(
                "The role hierarchy needs at least two roles: the owner role at the top and one below it.".to_owned(),
            ));
        }
        let mut seen = BTreeSet::new();
        for role in self.hierarchy.iter().chain(&self.additional) {
            // Unique regardless of case, since `resolve` ignores case.
            if !seen.insert(role.name.as_str().to_ascii_lowercase()) {
                return Err(bad(format!("The role name '{}' is used twice.", role.name)));
            }
        }
        for permission in &self.app_permissions {
            check_permission_name(permission)
                .map_err(|why| bad(format!("The app permission '{permission}' is not valid: {why}")))?;
            if permission == "org" || permission.starts_with(perm::RESERVED_PREFIX) {
                return Err(bad(format!(
                    "The app permission '{permission}' is in the 'org.' namespace, which is reserved for built-in \
                     permissions."
                )));
            }
        }
        for role in self.hierarchy.iter().chain(&self.additional) {
            if let Some(unknown) = role
                .permissions
                .iter()
                .find(|p| !perm::BUILT_IN.contains(&p.as_str()) && !self.app_permissions.contains(*p))
            {
                return Err(bad(format!(
                    "The role '{}' has the permission '{unknown}', which is neither built in nor an app permission.",
                    role.name
                )));
            }
        }
        let owner = self.owner_role();
        let held = self.effective_permissions(owner, &[]);
        let missing: Vec<&str> = perm::BUILT_IN.iter().copied().filter(|p| !held.contains(*p)).collect();
        if !missing.is_empty() {
            return Err(bad(format!(
                "The owner role '{owner}' (the top of the hierarchy) must hold every built-in permission; it lacks {}.",
                missing.join(", ")
            )));
        }
        Ok(())
    }
}

fn find_ignoring_case(roles: &[RoleDef], raw: &str) -> Option<RoleName> {
    let wanted = raw.trim();
    roles.iter().find(|r| r.name.as_str().eq_ignore_ascii_case(wanted)).map(|r| r.name.clone())
}

fn names(roles: &[RoleDef]) -> String {
    roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// A permission name is dot-separated segments of `a-z`, `0-9` and `_`, each starting with a
/// letter: `projects.write`, `reports.export_csv`. At most 100 characters.
fn check_permission_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 100 {
        return Err("a permission name is 1 to 100 characters.");
    }
    let segment_ok = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if !name.split('.').all(segment_ok) {
        return Err("use dot-separated lowercase words of a-z, 0-9 and '_', e.g. 'projects.write'.");
    }
    Ok(())
}

/// Builds a [`RoleConfig`] from names, as a deployment's configuration gives them:
///
/// ```
/// # use tenantry_core::org::{perm, RoleConfig};
/// let roles = RoleConfig::builder()
///     .app_permission("projects.write")
///     .hierarchy_role("Owner", perm::BUILT_IN) // the first role is the owner role
///     .hierarchy_role("Editor", &["projects.write"])
///     .hierarchy_role("Reader", &[perm::ORG_VIEW])
///     .additional_role("Billing", &[perm::ORG_BILLING])
///     .build()?;
/// assert_eq!(roles.lowest_role().as_str(), "Reader");
/// # Ok::<(), tenantry_core::DomainError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RoleConfigBuilder {
    hierarchy: Vec<(String, Vec<String>)>,
    additional: Vec<(String, Vec<String>)>,
    app_permissions: Vec<String>,
}

impl RoleConfigBuilder {
    /// Declares an app permission, so roles may hold it.
    pub fn app_permission(mut self, name: &str) -> Self {
        self.app_permissions.push(name.to_owned());
        self
    }

    /// Adds the next hierarchy role, below every hierarchy role added before it. The first one
    /// added is the owner role.
    pub fn hierarchy_role(mut self, name: &str, permissions: &[&str]) -> Self {
        self.hierarchy.push((name.to_owned(), permissions.iter().map(|p| (*p).to_owned()).collect()));
        self
    }

    /// Adds a role outside the hierarchy; its permissions add to a member's hierarchy role.
    pub fn additional_role(mut self, name: &str, permissions: &[&str]) -> Self {
        self.additional.push((name.to_owned(), permissions.iter().map(|p| (*p).to_owned()).collect()));
        self
    }

    /// Checks the configuration: valid and unique role names, at least two hierarchy roles, valid
    /// app permission names outside `org.`, no permission that is neither built in nor declared,
    /// and an owner role that holds every built-in permission. Refuses with `invalid-role-config`.
    pub fn build(self) -> Result<RoleConfig, DomainError> {
        let defs = |specs: Vec<(String, Vec<String>)>| -> Result<Vec<RoleDef>, DomainError> {
            specs
                .into_iter()
                .map(|(name, permissions)| {
                    let name = RoleName::parse(&name).map_err(|e| {
                        DomainError::new(
                            ErrorKind::Invalid,
                            "invalid-role-config",
                            format!("The role name '{name}' is not valid: {}", e.detail),
                        )
                    })?;
                    Ok(RoleDef { name, permissions: permissions.into_iter().collect() })
                })
                .collect()
        };
        let config = RoleConfig {
            hierarchy: defs(self.hierarchy)?,
            additional: defs(self.additional)?,
            app_permissions: self.app_permissions.into_iter().collect(),
        };
        config.check()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(s: &str) -> RoleName {
        RoleName::parse(s).unwrap()
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    const OWNER_ONLY: &[&str] =
        &[perm::ORG_DELETE, perm::ORG_TRANSFER_OWNERSHIP, perm::ORG_REQUIRE_2FA, perm::ORG_BILLING];
    const MANAGE: &[&str] = &[
        perm::ORG_UPDATE,
        perm::ORG_MEMBERS_INVITE,
        perm::ORG_MEMBERS_REMOVE,
        perm::ORG_MEMBERS_CHANGE_ROLE,
        perm::ORG_API_KEYS_MANAGE,
        perm::ORG_SSO_MANAGE,
        perm::ORG_AUDIT_READ,
    ];

    fn custom() -> RoleConfig {
        crate::org::testing::custom_roles()
    }

    #[test]
    fn role_names_are_parsed() {
        assert_eq!(role(" Team Lead ").as_str(), "Team Lead");
        for good in ["Owner", "billing_admin", "Level-2"] {
            assert!(RoleName::parse(good).is_ok(), "{good:?}");
        }
        for bad in ["", "   ", "2nd", "_admin", "Ad.min", "Ädmin", "Ad\tmin", &"a".repeat(65)] {
            let err = RoleName::parse(bad).unwrap_err();
            assert_eq!((err.code, err.kind), ("invalid-role", ErrorKind::Invalid), "{bad:?}");
            assert_eq!(err.fields[0].field, "role");
        }
    }

    #[test]
    fn the_default_is_owner_admin_member_viewer() {
        let roles = RoleConfig::default();
        assert!(roles.check().is_ok(), "the default keeps its own rules");
        let names: Vec<&str> = roles.hierarchy().map(RoleName::as_str).collect();
        assert_eq!(names, ["Owner", "Admin", "Member", "Viewer"]);
        assert_eq!(roles.owner_role().as_str(), "Owner");
        assert_eq!(roles.lowest_role().as_str(), "Viewer");
        assert_eq!(roles.role_after_transfer().as_str(), "Admin");
        assert!(roles.is_owner_role(&role("Owner")));
        assert!(!roles.is_owner_role(&role("Admin")));
        assert_eq!(roles.rank(&role("Owner")), Some(3));
        assert_eq!(roles.rank(&role("Viewer")), Some(0));
        assert_eq!(roles.rank(&role("Janitor")), None);
        assert!(roles.rank(&role("Janitor")) < roles.rank(&role("Viewer")), "an unknown role ranks below all");
    }

    #[test]
    fn the_default_permission_table_is_design_section_4() {
        let roles = RoleConfig::default();
        let of = |r: &str| roles.effective_permissions(&role(r), &[]);
        assert_eq!(of("Owner"), set(perm::BUILT_IN));
        assert_eq!(of("Admin"), set(&[MANAGE, &[perm::ORG_VIEW]].concat()));
        assert_eq!(of("Member"), set(&[perm::ORG_VIEW]));
        assert_eq!(of("Viewer"), set(&[perm::ORG_VIEW]));
        for owner_only in OWNER_ONLY {
            assert!(!roles.has_permission(&role("Admin"), &[], owner_only), "{owner_only}");
        }
        assert!(roles.has_permission(&role("Admin"), &[], perm::ORG_MEMBERS_INVITE));
        assert!(!roles.has_permission(&role("Member"), &[], perm::ORG_MEMBERS_INVITE));
    }

    #[test]
    fn roles_inherit_everything_below_them() {
        let roles = RoleConfig::default();
        let below = |r: &str| roles.inherited_roles(&role(r)).map(RoleName::as_str).collect::<Vec<_>>();
        assert_eq!(below("Owner"), ["Admin", "Member", "Viewer"]);
        assert_eq!(below("Member"), ["Viewer"]);
        assert!(below("Viewer").is_empty());
        assert!(below("Janitor").is_empty());
    }

    #[test]
    fn a_custom_config_inherits_and_adds_up() {
        let roles = custom();
        assert_eq!(roles.owner_role().as_str(), "Proprietor");
        assert_eq!(roles.lowest_role().as_str(), "Guest");
        assert_eq!(roles.role_after_transfer().as_str(), "Manager");
        assert_eq!(roles.rank(&role("Editor")), Some(2));
        assert_eq!(roles.rank(&role("Accountant")), None, "additional roles have no rank");
        assert_eq!(roles.app_permissions(), &set(&["invoices.export_csv", "projects.read", "projects.write"]));
        assert_eq!(
            roles.inherited_roles(&role("Editor")).map(RoleName::as_str).collect::<Vec<_>>(),
            ["Contributor", "Guest"]
        );
        assert_eq!(
            roles.effective_permissions(&role("Editor"), &[]),
            set(&["org.view", "projects.read", "projects.write"])
        );
        assert_eq!(roles.effective_permissions(&role("Contributor"), &[]), set(&["org.view", "projects.read"]));
        // Additional roles add up, on top of the hierarchy role and with each other.
        assert_eq!(
            roles.effective_permissions(&role("Contributor"), &[role("Accountant"), role("Auditor")]),
            set(&["invoices.export_csv", "org.audit.read", "org.billing", "org.view", "projects.read"])
        );
        assert!(roles.has_permission(&role("Guest"), &[role("Auditor")], perm::ORG_AUDIT_READ));
        assert!(!roles.has_permission(&role("Guest"), &[], perm::ORG_AUDIT_READ));
        let owner = roles.effective_permissions(&role("Proprietor"), &[]);
        assert!(owner.is_superset(&set(perm::BUILT_IN)));
        assert!(owner.contains("projects.write"), "the owner inherits app permissions from below");
        assert!(!owner.contains("invoices.export_csv"), "but not those of additional roles it lacks");
        assert_eq!(roles.own_permissions(&role("Editor")), Some(&set(&["projects.write"])));
        assert_eq!(roles.own_permissions(&role("Auditor")), Some(&set(&[perm::ORG_AUDIT_READ])));
    }

    #[test]
    fn names_that_are_not_roles_grant_nothing() {
        let roles = custom();
        assert!(roles.effective_permissions(&role("Janitor"), &[]).is_empty());
        // A hierarchy role given as an additional one does not count: only additional roles add.
        assert_eq!(
            roles.effective_permissions(&role("Guest"), &[role("Manager"), role("Ghost")]),
            set(&["org.view", "projects.read"])
        );
        assert_eq!(roles.effective_permissions(&role("Janitor"), &[role("Auditor")]), set(&[perm::ORG_AUDIT_READ]));
    }

    #[test]
    fn roles_resolve_ignoring_case() {
        let roles = custom();
        assert_eq!(roles.resolve("editor").unwrap(), role("Editor"));
        assert_eq!(roles.resolve(" PROPRIETOR ").unwrap(), role("Proprietor"));
        let err = roles.resolve("Owner").unwrap_err();
        assert_eq!((err.code, err.kind, err.fields[0].field.as_str()), ("unknown-role", ErrorKind::Invalid, "role"));
        assert!(err.detail.contains("Proprietor, Manager, Editor, Contributor, Guest"), "{}", err.detail);
        assert!(roles.resolve("Auditor").is_err(), "an additional role is not a hierarchy role");
        assert_eq!(roles.resolve_additional("auditor").unwrap(), role("Auditor"));
        let err = roles.resolve_additional("Editor").unwrap_err();
        assert_eq!((err.code, err.fields[0].field.as_str()), ("unknown-role", "additional_roles"));
        assert!(RoleConfig::default().resolve_additional("Billing").unwrap_err().detail.contains("none"));
    }

    fn config_error(builder: RoleConfigBuilder) -> String {
        let err = builder.build().unwrap_err();
        assert_eq!((err.code, err.kind), ("invalid-role-config", ErrorKind::Invalid));
        err.detail
    }

    fn all_built_in() -> RoleConfigBuilder {
        RoleConfig::builder().hierarchy_role("Owner", perm::BUILT_IN)
    }

    #[test]
    fn a_config_needs_an_owner_role_and_one_below() {
        assert!(config_error(RoleConfig::builder()).contains("at least two roles"));
        assert!(config_error(all_built_in()).contains("at least two roles"));
        assert!(all_built_in().hierarchy_role("Member", &[]).build().is_ok());
    }

    #[test]
    fn a_config_refuses_duplicate_and_invalid_names() {
        let detail = config_error(all_built_in().hierarchy_role("Member", &[]).hierarchy_role("member", &[]));
        assert!(detail.contains("used twice"), "{detail}");
        let detail = config_error(all_built_in().hierarchy_role("Member", &[]).additional_role("OWNER", &[]));
        assert!(detail.contains("used twice"), "names are unique across hierarchy and additional roles: {detail}");
        let detail = config_error(all_built_in().hierarchy_role("Mem.ber", &[]));
        assert!(detail.contains("'Mem.ber'"), "{detail}");
    }

    #[test]
    fn a_config_refuses_unknown_and_reserved_permissions() {
        let detail = config_error(all_built_in().hierarchy_role("Member", &["projects.write"]));
        assert!(detail.contains("'projects.write'") && detail.contains("neither built in"), "{detail}");
        let detail = config_error(all_built_in().hierarchy_role("Member", &[]).additional_role("X", &["org.nuke"]));
        assert!(detail.contains("'org.nuke'"), "{detail}");
        let detail = config_error(all_built_in().app_permission("org.projects").hierarchy_role("Member", &[]));
        assert!(detail.contains("reserved"), "{detail}");
        for bad in
            ["", "Projects.write", "projects..write", "projects.", "1projects", "projects.wr-ite", "projects write"]
        {
            let detail = config_error(all_built_in().app_permission(bad).hierarchy_role("Member", &[]));
            assert!(detail.contains("not valid"), "{bad:?}: {detail}");
        }
        assert!(all_built_in()
            .app_permission("billing")
            .app_permission("reports.export_v2")
            .hierarchy_role("M", &[])
            .build()
            .is_ok());
    }

    #[test]
    fn the_owner_role_must_hold_every_built_in_permission() {
        let detail = config_error(
            RoleConfig::builder().hierarchy_role("Owner", OWNER_ONLY).hierarchy_role("Admin", &[perm::ORG_VIEW]),
        );
        assert!(detail.contains("org.update") && detail.contains("org.audit.read"), "{detail}");
        // Held through inheritance counts.
        assert!(RoleConfig::builder()
            .hierarchy_role("Owner", &[])
            .hierarchy_role("Everyone", perm::BUILT_IN)
            .build()
            .is_ok());
        // Held only through an additional role does not: owners must not depend on one.
        let detail = config_error(
            RoleConfig::builder()
                .hierarchy_role("Owner", &[])
                .hierarchy_role("Member", &[])
                .additional_role("Everything", perm::BUILT_IN),
        );
        assert!(detail.contains("must hold every built-in permission"), "{detail}");
    }

    #[test]
    fn the_builder_reproduces_the_default() {
        let built = RoleConfig::builder()
            .hierarchy_role("Owner", OWNER_ONLY)
            .hierarchy_role("Admin", MANAGE)
            .hierarchy_role("Member", &[])
            .hierarchy_role("Viewer", &[perm::ORG_VIEW])
            .build()
            .unwrap();
        assert_eq!(built, RoleConfig::default());
    }
}
