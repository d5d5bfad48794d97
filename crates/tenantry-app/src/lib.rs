//! Tenantry's use cases. Each user-visible action is one method on [`App`] that takes the acting
//! [`Ctx`], checks the actor's permission through [`authz`], applies the domain rules, and writes
//! the change, its webhook event and its audit entry in **one** transaction.
//!
//! The backend API, the end-user API and (later) the hosted pages are thin adapters over these
//! methods: no rule is written twice.
//!
//! **Invariant:** no HTTP here, and no SQL (that is `tenantry-store`). Time comes from the injected
//! [`tenantry_core::Clock`]. Errors: [`AppError::Domain`] for expected refusals, the other variants
//! for failures the adapters log and answer with a generic 500.

pub mod api_keys;
pub mod authz;
mod ctx;
mod error;
mod record;
pub mod users;

use std::sync::Arc;

use tenantry_auth::{PasswordHasher, PasswordParams};
use tenantry_core::{Clock, PasswordPolicy};
use tenantry_store::Db;

pub use ctx::{Actor, Ctx, Page, Patch};
pub use error::{AppError, AppResult};

/// Settings the use cases need, resolved from the deployment's configuration.
#[derive(Debug, Clone, Default)]
pub struct AppSettings {
    pub password_params: PasswordParams,
    pub password_policy: PasswordPolicy,
}

/// The use cases, with what they run on. Cheap to clone.
#[derive(Clone)]
pub struct App {
    db: Db,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    settings: Arc<AppSettings>,
}

impl App {
    pub fn new(db: Db, settings: AppSettings, clock: Arc<dyn Clock>) -> AppResult<App> {
        let hasher = PasswordHasher::new(settings.password_params).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(App { db, clock, hasher, settings: Arc::new(settings) })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }
}
