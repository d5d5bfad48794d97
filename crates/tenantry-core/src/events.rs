//! Names of webhook event types and audit actions. The wire names are part of the public contract
//! (docs/design.md §5): they are never renamed.

/// A webhook event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    UserCreated,
    UserUpdated,
    UserDeleted,
    UserDisabled,
    UserEnabled,
    UserAddedToOrg,
    UserRemovedFromOrg,
    UserRoleChangedWithinOrg,
    OrgCreated,
    OrgUpdated,
    OrgDeleted,
    OrgInvitationCreated,
    OrgInvitationAccepted,
    OrgInvitationRevoked,
    OrgOwnershipTransferred,
    /// For billing: the number of active members changed (data: `member_count`, `max_users`).
    OrgMemberCountChanged,
    /// For billing: members plus pending invites reached `max_users`.
    OrgSeatLimitReached,
    /// An org's SAML connection was set up or replaced, in test mode (data: `org_id`,
    /// `connection_id`, `version`, `status`).
    OrgSamlSetup,
    /// An org's SAML connection went live (same data).
    OrgSamlWentLive,
    /// An org's SAML connection was removed (same data).
    OrgSamlRemoved,
    /// A webhook endpoint failed continuously for five days (by default) and was disabled
    /// (data: `endpoint_id`, `version`, `url`, `failing_since`).
    WebhookEndpointDisabled,
    /// A user's two-factor authentication was confirmed (data: `user_id`, `version`, `method`).
    UserMfaEnabled,
    /// A user's two-factor authentication was turned off by them or reset by the backend (data:
    /// `user_id`, `version`, `reason`).
    UserMfaDisabled,
    /// An org's 2FA requirement was set, moved or lifted (data: `org_id`, `version`, `required`,
    /// `required_at`, `grace_until`).
    OrgMfaRequirementChanged,
}

impl EventType {
    pub const ALL: &'static [EventType] = &[
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserDeleted,
        EventType::UserDisabled,
        EventType::UserEnabled,
        EventType::UserAddedToOrg,
        EventType::UserRemovedFromOrg,
        EventType::UserRoleChangedWithinOrg,
        EventType::OrgCreated,
        EventType::OrgUpdated,
        EventType::OrgDeleted,
        EventType::OrgInvitationCreated,
        EventType::OrgInvitationAccepted,
        EventType::OrgInvitationRevoked,
        EventType::OrgOwnershipTransferred,
        EventType::OrgMemberCountChanged,
        EventType::OrgSeatLimitReached,
        EventType::OrgSamlSetup,
        EventType::OrgSamlWentLive,
        EventType::OrgSamlRemoved,
        EventType::WebhookEndpointDisabled,
        EventType::UserMfaEnabled,
        EventType::UserMfaDisabled,
        EventType::OrgMfaRequirementChanged,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::UserCreated => "user.created",
            EventType::UserUpdated => "user.updated",
            EventType::UserDeleted => "user.deleted",
            EventType::UserDisabled => "user.disabled",
            EventType::UserEnabled => "user.enabled",
            EventType::UserAddedToOrg => "user.added_to_org",
            EventType::UserRemovedFromOrg => "user.removed_from_org",
            EventType::UserRoleChangedWithinOrg => "user.role_changed_within_org",
            EventType::OrgCreated => "org.created",
            EventType::OrgUpdated => "org.updated",
            EventType::OrgDeleted => "org.deleted",
            EventType::OrgInvitationCreated => "org.invitation_created",
            EventType::OrgInvitationAccepted => "org.invitation_accepted",
            EventType::OrgInvitationRevoked => "org.invitation_revoked",
            EventType::OrgOwnershipTransferred => "org.ownership_transferred",
            EventType::OrgMemberCountChanged => "org.member_count_changed",
            EventType::OrgSeatLimitReached => "org.seat_limit_reached",
            EventType::OrgSamlSetup => "org.saml_setup",
            EventType::OrgSamlWentLive => "org.saml_went_live",
            EventType::OrgSamlRemoved => "org.saml_removed",
            EventType::WebhookEndpointDisabled => "webhook_endpoint.disabled",
            EventType::UserMfaEnabled => "user.mfa_enabled",
            EventType::UserMfaDisabled => "user.mfa_disabled",
            EventType::OrgMfaRequirementChanged => "org.mfa_requirement_changed",
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
    OrgCreated,
    OrgUpdated,
    OrgDeleted,
    OrgDomainAdded,
    OrgDomainRemoved,
    MemberAdded,
    MemberRemoved,
    MemberLeft,
    MemberRoleChanged,
    InvitationCreated,
    InvitationResent,
    InvitationRevoked,
    InvitationAccepted,
    InvitationDeclined,
    OwnershipTransferRequested,
    OwnershipTransferCancelled,
    OwnershipTransferred,
    RolesUpdated,
    SamlSetup,
    SamlWentLive,
    SamlRemoved,
    SsoRequiredChanged,
    WebhookEndpointCreated,
    WebhookEndpointUpdated,
    WebhookEndpointDeleted,
    WebhookEndpointDisabled,
    WebhookEndpointEnabled,
    WebhookSecretRotated,
    WebhookSecretRevealed,
    WebhookTestSent,
    WebhookMessagesReplayed,
    MfaEnabled,
    MfaDisabled,
    MfaBackupCodesRegenerated,
    OrgMfaRequirementChanged,
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
            AuditAction::OrgCreated => "org.created",
            AuditAction::OrgUpdated => "org.updated",
            AuditAction::OrgDeleted => "org.deleted",
            AuditAction::OrgDomainAdded => "org.domain_added",
            AuditAction::OrgDomainRemoved => "org.domain_removed",
            AuditAction::MemberAdded => "org.member_added",
            AuditAction::MemberRemoved => "org.member_removed",
            AuditAction::MemberLeft => "org.member_left",
            AuditAction::MemberRoleChanged => "org.member_role_changed",
            AuditAction::InvitationCreated => "org.invitation_created",
            AuditAction::InvitationResent => "org.invitation_resent",
            AuditAction::InvitationRevoked => "org.invitation_revoked",
            AuditAction::InvitationAccepted => "org.invitation_accepted",
            AuditAction::InvitationDeclined => "org.invitation_declined",
            AuditAction::OwnershipTransferRequested => "org.ownership_transfer_requested",
            AuditAction::OwnershipTransferCancelled => "org.ownership_transfer_cancelled",
            AuditAction::OwnershipTransferred => "org.ownership_transferred",
            AuditAction::RolesUpdated => "roles.updated",
            AuditAction::SamlSetup => "org.saml_setup",
            AuditAction::SamlWentLive => "org.saml_went_live",
            AuditAction::SamlRemoved => "org.saml_removed",
            AuditAction::SsoRequiredChanged => "org.sso_required_changed",
            AuditAction::WebhookEndpointCreated => "webhook_endpoint.created",
            AuditAction::WebhookEndpointUpdated => "webhook_endpoint.updated",
            AuditAction::WebhookEndpointDeleted => "webhook_endpoint.deleted",
            AuditAction::WebhookEndpointDisabled => "webhook_endpoint.disabled",
            AuditAction::WebhookEndpointEnabled => "webhook_endpoint.enabled",
            AuditAction::WebhookSecretRotated => "webhook_endpoint.secret_rotated",
            AuditAction::WebhookSecretRevealed => "webhook_endpoint.secret_revealed",
            AuditAction::WebhookTestSent => "webhook_endpoint.test_sent",
            AuditAction::WebhookMessagesReplayed => "webhook_messages.replayed",
            AuditAction::MfaEnabled => "user.mfa_enabled",
            AuditAction::MfaDisabled => "user.mfa_disabled",
            AuditAction::MfaBackupCodesRegenerated => "user.mfa_backup_codes_regenerated",
            AuditAction::OrgMfaRequirementChanged => "org.mfa_requirement_changed",
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
