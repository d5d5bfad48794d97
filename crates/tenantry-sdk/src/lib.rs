//! The Tenantry SDK for SaaS backends: verify Tenantry access tokens locally, without a round trip
//! to Tenantry, and verify the signatures of the webhooks Tenantry sends.
//!
//! # Access tokens
//!
//! Tenantry signs access tokens (JWTs, `typ: at+jwt`) with Ed25519 and publishes its public keys at
//! `{issuer}/.well-known/jwks.json`. A [`Verifier`] caches those keys and checks tokens in memory:
//!
//! ```no_run
//! use std::sync::Arc;
//! use tenantry_sdk::{unix_now, Verifier};
//!
//! # async fn run(bearer_token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let http = reqwest::Client::new();
//! let verifier = Arc::new(Verifier::new("https://auth.example.com"));
//! verifier.refresh(&http).await?; // at start-up, then every few minutes
//!
//! // On each request:
//! match verifier.verify(bearer_token, unix_now()) {
//!     Ok(claims) => {
//!         let org = claims.active_org().ok_or("select an org first")?;
//!         if !org.has_permission("invoices:read") {
//!             return Err("forbidden".into());
//!         }
//!         println!("{} in {} as {}", claims.email, org.name, org.role);
//!     }
//!     // Answer 401 with the stable code; log `e`, never the token.
//!     Err(e) => eprintln!("token refused: {} ({e})", e.code()),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Keys rotate without downtime: Tenantry publishes a new key before signing with it and keeps the
//! old one until its last token has expired, so refreshing every few minutes is enough. After a
//! [`VerifyError::UnknownKey`], a (rate-limited) refresh and a retry cover a cache that missed a
//! rotation.
//!
//! # The token rules
//!
//! [`jose`] holds the rules a token must meet (header, signature, issuer, audience, validity window),
//! with no key cache and no I/O. [`Verifier`] applies them; Tenantry's own server applies the same
//! functions to the keys it publishes, so the SDK and the server cannot disagree about a token.
//!
//! # Webhooks
//!
//! [`verify_webhook`] checks a delivery's Standard Webhooks headers against the endpoint secret
//! (`whsec_...`), on the raw body, before anything parses it.
//!
//! # Protecting routes
//!
//! [`JwksCache`] fetches and refreshes the keys itself, following rotations. [`Guard`] and
//! [`OrgRule`] apply a route's rule (signed in; a member of the org in the path, a header or the
//! active org; a minimum role or a permission; orgs that require 2FA refused), and the `axum` and
//! `poem` modules (cargo features of the same names) do it as extractors and middleware, answering
//! refusals with 401/403 problem+json.
//!
//! # The backend API
//!
//! [`client::Client`] has a method for every backend operation, generated from the OpenAPI
//! document; webhook bodies parse into [`Event`].
//!
//! **Invariant:** this crate depends on nothing of Tenantry's server side, and only
//! [`Verifier::refresh`], [`JwksCache`] and [`client::Client`] do I/O.

#[cfg(feature = "axum")]
pub mod axum;
mod claims;
pub mod client;
mod guard;
pub mod jose;
mod jwks;
#[cfg(feature = "poem")]
pub mod poem;
#[cfg(all(test, any(feature = "axum", feature = "poem")))]
mod testing;
mod verifier;
mod webhook;

pub use claims::{AccessClaims, OrgClaim};
pub use client::Event;
pub use guard::{bearer_token, Guard, OrgFrom, OrgMember, OrgRule, Refusal, RoleHierarchy, UnknownRole};
pub use jose::{VerifyError, ACCESS_TOKEN_TYPE, ALGORITHM, LEEWAY_SECS, MAX_TOKEN_LEN};
pub use jwks::{Clock, JwksCache, DEFAULT_MAX_AGE_SECS, DEFAULT_MIN_REFETCH_SECS};
pub use verifier::{unix_now, JwksError, Verifier, MAX_JWKS_LEN};
pub use webhook::{
    verify_webhook, WebhookError, WebhookHeaders, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER, WEBHOOK_TOLERANCE_SECS,
};
