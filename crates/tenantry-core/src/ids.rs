//! Typed ids. Every id is a UUIDv7, so ids sort by creation time; list endpoints use them as
//! cursors. A `UserId` cannot be passed where an `ApiKeyId` is expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }

            pub const fn from_uuid(id: Uuid) -> Self {
                $name(id)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// A user account, in the shared pool or in an isolated org's pool.
    UserId
);
id_type!(
    /// A backend API key.
    ApiKeyId
);
id_type!(
    /// An event in the outbox; also the `webhook-id` of its deliveries.
    EventId
);
id_type!(
    /// One entry of the audit trail.
    AuditId
);
id_type!(
    /// An organization (tenant).
    OrgId
);
id_type!(
    /// An invitation to join an organization, pending or settled.
    InviteId
);
id_type!(
    /// An ownership transfer, pending until the current Owner confirms it.
    TransferId
);
id_type!(
    /// A session: one sign-in, with its family of refresh tokens.
    SessionId
);
id_type!(
    /// One refresh token of a session's family.
    RefreshTokenId
);
id_type!(
    /// A single-use link sent by email (verify, reset, change email).
    EmailTokenId
);
id_type!(
    /// A message in the outgoing mail queue.
    MailId
);
id_type!(
    /// A webhook endpoint: where events are sent.
    WebhookEndpointId
);
id_type!(
    /// One event on its way to one webhook endpoint, with its delivery state.
    WebhookMessageId
);
id_type!(
    /// An org's single sign-on connection (SAML).
    SsoConnectionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_ordered() {
        let a = UserId::new();
        let b = UserId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b, "later ids sort after earlier ones");
        assert_eq!(a.to_string().parse::<UserId>().unwrap(), a);
    }
}
