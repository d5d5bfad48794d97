//! Tenantry's credentials: password hashing and verification, and the secrets behind API keys.
//!
//! **Invariant:** hashing runs on the blocking pool, never on an async worker thread; secrets are
//! compared in constant time through [`constant_time_eq`] only; plaintext secrets are never logged
//! (their types redact `Debug`).

pub mod password;
pub mod secret;

pub use password::{PasswordHasher, PasswordParams, PasswordVerdict};
pub use secret::{constant_time_eq, random_bytes, ApiKeySecret};
