//! Names of webhook event types and audit actions. The wire names are part of the public contract
//! (DESIGN §5): they are never renamed.

/// A webhook event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    UserCreated,
    UserUpdated,
    UserDeleted,
    UserDisabled,
    UserEnabled,
}

impl EventType {
    pub const ALL: &'static [EventType] = &[
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserDeleted,
        EventType::UserDisabled,
        EventType::UserEnabled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::UserCreated => "user.created",
            EventType::UserUpdated => "user.updated",
            EventType::UserDeleted => "user.deleted",
            EventType::UserDisabled => "user.disabled",
            EventType::UserEnabled => "user.enabled",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }
}

/// An audit action; recorded with actor, target, time and source IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    UserCreated,
    UserUpdated,
    UserDeleted,
    UserDisabled,
    UserEnabled,
    ApiKeyCreated,
    ApiKeyRevoked,
    UserLoggedIn,
    UserLoggedOut,
    LoginFailed,
    SessionRevoked,
    AccessTokenCreated,
    EmailVerified,
    PasswordResetRequested,
    PasswordChanged,
    EmailChangeRequested,
    EmailChanged,
    UserSignedUp,
}

impl AuditAction {
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::UserCreated => "user.created",
            AuditAction::UserUpdated => "user.updated",
            AuditAction::UserDeleted => "user.deleted",
            AuditAction::UserDisabled => "user.disabled",
            AuditAction::UserEnabled => "user.enabled",
            AuditAction::ApiKeyCreated => "api_key.created",
            AuditAction::ApiKeyRevoked => "api_key.revoked",
            AuditAction::UserLoggedIn => "user.logged_in",
            AuditAction::UserLoggedOut => "user.logged_out",
            AuditAction::LoginFailed => "user.login_failed",
            AuditAction::SessionRevoked => "session.revoked",
            AuditAction::AccessTokenCreated => "access_token.created",
            AuditAction::EmailVerified => "user.email_verified",
            AuditAction::PasswordResetRequested => "user.password_reset_requested",
            AuditAction::PasswordChanged => "user.password_changed",
            AuditAction::EmailChangeRequested => "user.email_change_requested",
            AuditAction::EmailChanged => "user.email_changed",
            AuditAction::UserSignedUp => "user.signed_up",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(EventType::parse("user.exploded"), None);
    }
}
