//! The backend API (`/api/backend/v1/…`), for the SaaS developer's own servers. Every operation
//! takes a [`crate::security::BackendKey`].

pub mod api_keys;
pub mod events;
pub mod orgs;
pub mod sso;
pub mod tokens;
pub mod users;
pub mod webhooks;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum BackendTag {
    /// User accounts.
    Users,
    /// Keys for this API.
    ApiKeys,
    /// Access tokens and sessions.
    Tokens,
    /// Organizations, their members, invitations, domains and audit trail.
    Orgs,
    /// The deployment's roles and permissions.
    Roles,
    /// Signed webhooks: endpoints, messages and their delivery attempts, and the event catalog.
    Webhooks,
}
