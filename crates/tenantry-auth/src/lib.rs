//! Tenantry's credentials: password hashing and verification, and the secrets behind API keys.
//!
//! **Invariant:** hashing runs on the blocking pool, never on an async worker thread; secrets are
//! compared in constant time through [`constant_time_eq`] only; plaintext secrets are never logged
//! (their types redact `Debug`).

pub mod password;
pub mod sealed;
pub mod secret;
pub mod tokens;
pub mod totp;

pub use password::{PasswordHasher, PasswordParams, PasswordVerdict};
pub use sealed::{Keyring, MasterKey, SealError};
pub use secret::{constant_time_eq, hash_opaque_token, new_opaque_token, random_bytes, ApiKeySecret};
pub use tokens::{AccessClaims, Jwks, KeyError, OrgClaim, SigningKey, TokenError, TokenSigner, TokenVerifier};
