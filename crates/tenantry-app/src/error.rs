//! Use-case errors. `thiserror` here (a library); `anyhow` only in the binary.

use tenantry_core::DomainError;
use tenantry_store::StoreError;

/// Why a use case did not complete.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// An expected refusal, shown to the caller as is.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The database failed; logged, answered with a generic 500.
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// Anything else that should not happen; logged, answered with a generic 500.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// Whether the failure is overload (the database pool ran dry) rather than a fault.
    pub fn is_overloaded(&self) -> bool {
        matches!(self, AppError::Store(e) if e.is_pool_timeout())
    }
}
