//! Webhook delivery per Standard Webhooks (docs/design.md §5, docs/security.md §11–12).
//!
//! - [`secret`]: endpoint secrets, `whsec_` + base64 of 32 random bytes.
//! - [`sign`]: the body and the `webhook-id` / `webhook-timestamp` / `webhook-signature` headers.
//! - [`target`]: which URLs and addresses a delivery may go to (no loopback, private, link-local,
//!   CGNAT or metadata addresses unless the deployment allows them), checked at creation and again
//!   on the address actually connected.
//! - [`worker`]: fans committed outbox events out into messages, one per matching endpoint, and
//!   delivers them with retries, recording every attempt.
//!
//! The use cases that manage endpoints are in `tenantry-app`; this crate signs and sends.

pub mod schedule;
pub mod secret;
pub mod sign;
pub mod target;
pub mod worker;

use std::time::Duration;

pub use secret::WebhookSecret;
pub use worker::{WebhookMetrics, WebhookWorker};

/// Delivery settings, resolved from the deployment's configuration.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Whether endpoints may point at loopback, private, link-local or metadata addresses. Off in
    /// production; the test kit turns it on because test receivers listen on 127.0.0.1.
    pub allow_private_targets: bool,
    /// The most one delivery (connect, send, read the first 1 KiB of the answer) may take.
    pub timeout: Duration,
    /// How long the secret before a rotation keeps signing beside the new one.
    pub secret_overlap: chrono::Duration,
    /// How long an endpoint may fail without a single success before it is disabled.
    pub disable_after_failing: chrono::Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private_targets: false,
            timeout: Duration::from_secs(15),
            secret_overlap: chrono::Duration::hours(24),
            disable_after_failing: chrono::Duration::days(5),
        }
    }
}
