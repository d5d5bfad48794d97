//! The deployment's roles and permissions (docs/design.md §4): from the configuration file, or as last
//! set through the backend API, which then wins. Every node reads the stored configuration again
//! at most [`ROLES_CACHE_TTL`] after it last did, so a change made on one node reaches the others
//! within that time; the node that made it sees it at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use tenantry_core::events::AuditAction;
use tenantry_core::{DomainError, ErrorKind, RoleConfig};
use tenantry_store::orgs::{self as store, RoleConfigRow};
use tenantry_store::Json;
use tokio::sync::RwLock;

use crate::record::{audit, Audit};
use crate::{authz, App, AppError, AppResult, Ctx};

/// How long a node trusts its copy of the stored role configuration.
pub const ROLES_CACHE_TTL: Duration = Duration::from_secs(5);

/// One role and the permissions it holds itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub name: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// A role configuration as written in the configuration file and exchanged with the backend API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesSpec {
    /// Highest first: the first role is the owner role; each inherits those below it.
    pub hierarchy: Vec<RoleSpec>,
    /// Roles outside the hierarchy, granted beside a member's hierarchy role.
    #[serde(default)]
    pub additional_roles: Vec<RoleSpec>,
    /// The deployment's own permissions (e.g. `projects.write`), outside the reserved `org.`.
    #[serde(default)]
    pub app_permissions: Vec<String>,
}

impl RolesSpec {
    /// The checked configuration; refuses with `invalid-role-config`.
    pub fn build(&self) -> Result<RoleConfig, DomainError> {
        let mut b = RoleConfig::builder();
        for p in &self.app_permissions {
            b = b.app_permission(p);
        }
        for r in &self.hierarchy {
            b = b.hierarchy_role(&r.name, &r.permissions.iter().map(String::as_str).collect::<Vec<_>>());
        }
        for r in &self.additional_roles {
            b = b.additional_role(&r.name, &r.permissions.iter().map(String::as_str).collect::<Vec<_>>());
        }
        b.build()
    }

    /// The spec of a configuration.
    pub fn of(config: &RoleConfig) -> RolesSpec {
        let spec = |name: &tenantry_core::RoleName| RoleSpec {
            name: name.as_str().to_owned(),
            permissions: config.own_permissions(name).map(|p| p.iter().cloned().collect()).unwrap_or_default(),
        };
        RolesSpec {
            hierarchy: config.hierarchy().map(spec).collect(),
            additional_roles: config.additional_roles().map(spec).collect(),
            app_permissions: config.app_permissions().iter().cloned().collect(),
        }
    }
}

/// The roles in force, with the version of the stored configuration (0: the file's).
#[derive(Debug, Clone)]
pub struct Roles {
    pub config: Arc<RoleConfig>,
    pub version: i64,
}

/// A node's copy of the role configuration.
#[derive(Debug, Default)]
pub(crate) struct RolesCache {
    current: RwLock<Option<(Instant, Roles)>>,
}

impl App {
    /// The role configuration in force, read from the database at most every
    /// [`ROLES_CACHE_TTL`].
    pub(crate) async fn roles(&self) -> AppResult<Arc<RoleConfig>> {
        Ok(self.roles_with_version().await?.config)
    }

    async fn roles_with_version(&self) -> AppResult<Roles> {
        if let Some((at, roles)) = &*self.roles_cache.current.read().await {
            if at.elapsed() < ROLES_CACHE_TTL {
                return Ok(roles.clone());
            }
        }
        let stored = {
            let mut c = self.db().acquire().await?;
            store::get_role_config(c.ex()).await?
        };
        let roles = match stored {
            Some(row) => {
                let spec: RolesSpec = serde_json::from_value(row.config.0)
                    .map_err(|e| AppError::Internal(format!("stored role configuration: {e}")))?;
                let config =
                    spec.build().map_err(|e| AppError::Internal(format!("stored role configuration: {}", e.detail)))?;
                Roles { config: Arc::new(config), version: row.version }
            }
            None => Roles { config: Arc::new(self.settings().orgs.roles.clone()), version: 0 },
        };
        *self.roles_cache.current.write().await = Some((Instant::now(), roles.clone()));
        Ok(roles)
    }

    /// The roles and permissions in force: backend only.
    pub async fn get_roles(&self, ctx: &Ctx) -> AppResult<(RolesSpec, i64)> {
        authz::require_backend(&ctx.actor)?;
        let roles = self.roles_with_version().await?;
        Ok((RolesSpec::of(&roles.config), roles.version))
    }

    /// Replaces the deployment's roles: backend only. Refused with `role-in-use` while a member
    /// or a pending invite holds a role the new configuration drops.
    pub async fn set_roles(&self, ctx: &Ctx, spec: RolesSpec) -> AppResult<(RolesSpec, i64)> {
        authz::require_backend(&ctx.actor)?;
        let config = spec.build()?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let in_use = store::roles_in_use(tx.ex()).await?;
        let known: Vec<&str> = config.hierarchy().chain(config.additional_roles()).map(|r| r.as_str()).collect();
        let dropped: Vec<String> = in_use.into_iter().filter(|r| !known.contains(&r.as_str())).collect();
        if !dropped.is_empty() {
            return Err(DomainError::new(
                ErrorKind::Conflict,
                "role-in-use",
                format!(
                    "These roles are held by members or pending invites and cannot be removed: {}. Change those \
                     members' roles first.",
                    dropped.join(", ")
                ),
            )
            .into());
        }
        let version = store::get_role_config(tx.ex()).await?.map_or(1, |r| r.version + 1);
        let spec = RolesSpec::of(&config);
        let value = serde_json::to_value(&spec).map_err(|e| AppError::Internal(e.to_string()))?;
        store::put_role_config(tx.ex(), &RoleConfigRow { config: Json(value), version, updated_at: now }).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit {
                action: AuditAction::RolesUpdated,
                org_id: None,
                target_kind: "roles",
                target_id: None,
                details: json!({ "version": version }),
            },
        )
        .await?;
        tx.commit().await?;
        *self.roles_cache.current.write().await = Some((Instant::now(), Roles { config: Arc::new(config), version }));
        Ok((spec, version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_round_trips_through_its_spec() {
        let spec = RolesSpec::of(&RoleConfig::default());
        assert_eq!(
            spec.hierarchy.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["Owner", "Admin", "Member", "Viewer"]
        );
        assert_eq!(spec.build().unwrap(), RoleConfig::default());
    }

    #[test]
    fn a_spec_with_unknown_permissions_is_refused() {
        let mut spec = RolesSpec::of(&RoleConfig::default());
        spec.hierarchy[2].permissions.push("projects.write".to_owned());
        assert_eq!(spec.build().unwrap_err().code, "invalid-role-config");
        spec.app_permissions.push("projects.write".to_owned());
        assert!(spec.build().is_ok());
    }
}
