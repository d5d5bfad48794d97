//! Tenantry's storage: the only crate that speaks SQL.
//!
//! One code path serves both engines. [`Db`] holds either a SQLite or a PostgreSQL pool; each
//! query is a single SQL string with `$1…$n` placeholders that the `sql!` macros bind to whichever
//! connection is at hand, and each row type decodes from both. Where the dialects differ (row
//! locks), the difference sits in one named function with a test on each engine.
//!
//! Modules are one per table family and are named after their SQL (`insert_user`, `get_user`).
//! **Invariant:** no business rule lives here; the store does what the use case says, and reports
//! uniqueness collisions as [`StoreError::Unique`] so the use case can name the rule.

#[macro_use]
mod macros;

pub mod api_keys;
pub mod audit;
mod db;
pub mod email_tokens;
pub mod invites;
pub mod mail_queue;
pub mod members;
pub mod mfa;
pub mod notify;
pub mod orgs;
pub mod outbox;
pub mod refresh;
pub mod sessions;
pub mod sign_in;
pub mod signing_keys;
pub mod sso;
pub mod sweep;
pub mod throttles;
pub mod users;
pub mod webhooks;

pub use db::{redact_url, Db, DbOptions, Engine, Ex, OneWrite, Pooled, Tx};
pub use sqlx::types::Json;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused the write; names the index or the columns.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (use sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    /// The database was closed while waiting to write.
    #[error("the database is closed")]
    Closed,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error() {
            if db.is_unique_violation() {
                let what = db.constraint().map(str::to_owned).unwrap_or_else(|| db.message().to_owned());
                return StoreError::Unique(what);
            }
        }
        StoreError::Database(e)
    }
}

impl StoreError {
    /// Whether this is a unique violation on an index or column whose name contains `needle`.
    pub fn is_unique_on(&self, needle: &str) -> bool {
        matches!(self, StoreError::Unique(what) if what.contains(needle))
    }

    /// Whether no pooled connection became free in time: overload, not a fault.
    pub fn is_pool_timeout(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::PoolTimedOut))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
