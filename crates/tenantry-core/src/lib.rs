//! Tenantry's domain core: typed ids, validated values (emails, names, passwords), the error
//! vocabulary, the clock, and the names of events and audit actions.
//!
//! **Invariant:** this crate does no I/O and knows nothing of HTTP, SQL or JSON. Everything here is
//! a pure function or a plain value, so most rules are unit-tested here.

pub mod clock;
pub mod error;
pub mod events;
pub mod ids;
pub mod org;
pub mod throttle;
pub mod user;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{DomainError, ErrorKind, FieldError};
pub use ids::{
    ApiKeyId, AuditId, EmailTokenId, EventId, InviteId, MailId, OrgId, RefreshTokenId, SessionId, SsoConnectionId,
    TransferId, UserId, WebhookEndpointId, WebhookMessageId,
};
pub use org::{Domain, MaxUsers, OrgName, RoleConfig, RoleName, Slug};
pub use user::{Email, NewPassword, PasswordPolicy, PersonName, Username};
