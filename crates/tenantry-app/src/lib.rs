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

mod access;
pub mod accounts;
pub mod api_keys;
pub mod authz;
pub mod claims;
mod ctx;
mod error;
pub mod housekeeping;
pub mod invites;
mod join;
mod keys;
pub mod members;
pub mod mfa;
pub mod orgs;
pub mod paging;
mod record;
pub mod roles;
pub mod sessions;
pub mod sign_in;
pub mod sso;
pub mod transfers;
pub mod users;
pub mod webhooks;

use std::sync::Arc;

use chrono::Duration;
use tenantry_auth::sealed::Keyring;
use tenantry_auth::{PasswordHasher, PasswordParams};
use tenantry_core::{Clock, PasswordPolicy};
use tenantry_store::Db;
use tokio::sync::Notify;

pub use ctx::{Actor, Ctx, Page, Patch, SessionCtx};
pub use error::{AppError, AppResult};
pub use users::parse_cursor;

/// Settings the use cases need, resolved from the deployment's configuration.
#[derive(Debug, Clone, Default)]
pub struct AppSettings {
    pub password_params: PasswordParams,
    pub password_policy: PasswordPolicy,
    pub auth: AuthSettings,
    pub orgs: orgs::OrgSettings,
    pub mfa: mfa::MfaSettings,
    pub webhooks: tenantry_webhooks::WebhookSettings,
}

/// Sign-in, session and token settings.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The token issuer and the base of emailed links: the deployment's public URL.
    pub issuer: String,
    pub signup_enabled: bool,
    /// Sign-ups one source address may make before the sign-up throttle slows it down.
    pub signup_limit_per_ip: u32,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Absolute lifetime of a session (password-only sign-in: at most 30 days).
    pub session_ttl: Duration,
    /// A session unused this long ends (its last use is recorded to the minute).
    pub session_idle_ttl: Duration,
    pub verify_email_ttl: Duration,
    pub reset_ttl: Duration,
    /// How long a new signing key is published before it signs.
    pub key_publish_delay: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            issuer: "http://localhost:8080".into(),
            signup_enabled: true,
            signup_limit_per_ip: tenantry_core::throttle::ThrottleRule::SIGNUP_IP.free_attempts,
            access_ttl: Duration::minutes(15),
            refresh_ttl: Duration::days(30),
            session_ttl: Duration::days(30),
            session_idle_ttl: Duration::days(7),
            verify_email_ttl: Duration::hours(24),
            reset_ttl: Duration::minutes(30),
            key_publish_delay: Duration::minutes(5),
        }
    }
}

/// The use cases, with what they run on. Cheap to clone.
#[derive(Clone)]
pub struct App {
    db: Db,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    settings: Arc<AppSettings>,
    keyring: Arc<Keyring>,
    keys: Arc<keys::KeyCache>,
    roles_cache: Arc<roles::RolesCache>,
    api_keys: Arc<api_keys::ApiKeyCache>,
    sweep_metrics: Arc<housekeeping::SweepMetrics>,
    mail_wake: Arc<Notify>,
    webhook_wake: Arc<Notify>,
}

impl App {
    /// `keyring` seals secrets at rest (signing keys); it comes from configuration, never the database.
    pub fn new(db: Db, settings: AppSettings, clock: Arc<dyn Clock>, keyring: Keyring) -> AppResult<App> {
        let hasher = PasswordHasher::new(settings.password_params).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(App {
            db,
            clock,
            hasher,
            settings: Arc::new(settings),
            keyring: Arc::new(keyring),
            keys: Arc::default(),
            roles_cache: Arc::default(),
            api_keys: Arc::default(),
            sweep_metrics: Arc::default(),
            mail_wake: Arc::new(Notify::new()),
            webhook_wake: Arc::new(Notify::new()),
        })
    }

    /// Woken after a transaction that queued mail commits; the mail worker waits on it.
    pub fn mail_wake(&self) -> Arc<Notify> {
        self.mail_wake.clone()
    }

    fn wake_mailer(&self) {
        self.mail_wake.notify_one();
    }

    /// Woken after requests that may have committed webhook events; the webhook worker waits on it
    /// (and polls, for events committed on other nodes).
    pub fn webhook_wake(&self) -> Arc<Notify> {
        self.webhook_wake.clone()
    }

    /// Tells the webhook worker that events may have been committed.
    pub fn wake_webhooks(&self) {
        self.webhook_wake.notify_one();
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// The clock, shareable with workers.
    pub fn clock_handle(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    /// What this node's sweeper removed (see [`housekeeping`]).
    pub fn sweep_metrics(&self) -> &housekeeping::SweepMetrics {
        &self.sweep_metrics
    }
}
