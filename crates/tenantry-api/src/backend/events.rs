//! The webhook event catalog (docs/design.md §5): one `Object` per event type Tenantry sends (`OrgCreatedEvent`
//! and so on), the whole body `{"type", "timestamp", "data"}` with a typed `data` and an example.
//! The OpenAPI document carries it three ways:
//! - `x-webhooks`: one `post` per event type, with the body and the Standard Webhooks headers a
//!   receiver gets (see [`crate::openapi_json`] for why not `webhooks`);
//! - `components/schemas`: the body schemas, for generating receiver types;
//! - `GET /api/backend/v1/webhooks/event-types`: the catalog as data, with an example per type.
//!
//! **Invariant:** this module describes payloads; the emit sites in `tenantry-app` decide them.
//! The unit tests below hold the catalog to `EventType::ALL` and `webhook.test`, and the e2e test
//! `webhook_catalog` checks the payloads the server really sends against the served schemas.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaWebhook, Registry};
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Union, Webhook};
use serde_json::{json, Value};
use uuid::Uuid;

use super::BackendTag;
use crate::security::{app, ctx, BackendKey};
use crate::ApiError;

/// `data` of `user.created` and `user.updated`: the user's public fields after the change.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct UserEventData {
    pub user_id: Uuid,
    /// The user's version: 1 at creation, one more at every change.
    pub version: i64,
    pub email: String,
    pub email_verified: bool,
    /// Always present; null when not set.
    #[oai(nullable)]
    pub first_name: Option<String>,
    /// Always present; null when not set.
    #[oai(nullable)]
    pub last_name: Option<String>,
    /// Always present; null when not set.
    #[oai(nullable)]
    pub username: Option<String>,
    /// Free-form properties set through the backend API.
    pub properties: BTreeMap<String, Value>,
    pub disabled: bool,
}

/// `data` of `user.disabled` and `user.enabled`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct UserStateEventData {
    pub user_id: Uuid,
    /// The user's version after the change.
    pub version: i64,
}

/// `data` of `org.saml_setup`, `org.saml_went_live` and `org.saml_removed`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct SamlConnectionEventData {
    pub org_id: Uuid,
    pub connection_id: Uuid,
    /// The connection's version after the change (1 at setup, one more at each change).
    pub version: i64,
    /// `test`, `live`, or `removed`.
    pub status: String,
}

/// `data` of `user.deleted`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct UserDeletedEventData {
    pub user_id: Uuid,
    /// One more than the user's last version.
    pub version: i64,
    /// The address the account had.
    pub email: String,
}

/// `data` of `user.added_to_org` and `user.removed_from_org`: one membership.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct MembershipEventData {
    /// The membership; a user who leaves and joins again gets a new one.
    pub membership_id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    /// The hierarchy role (for example `Owner`, `Admin`, `Member`).
    pub role: String,
    /// Roles held beside the hierarchy role.
    pub additional_roles: Vec<String>,
    /// The membership's version: 1 when it starts, one more at every change and at its end.
    pub version: i64,
}

/// `data` of `user.role_changed_within_org`: the membership after the change.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct MembershipRoleChangedEventData {
    pub membership_id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    /// The hierarchy role after the change.
    pub role: String,
    /// The hierarchy role before the change (the same as `role` when only additional roles
    /// changed).
    pub previous_role: String,
    /// The additional roles after the change.
    pub additional_roles: Vec<String>,
    /// The membership's version after the change.
    pub version: i64,
}

/// `data` of `org.created`, `org.updated` and `org.deleted`: the org's public fields.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct OrgEventData {
    pub org_id: Uuid,
    /// The org's version: 1 at creation, one more at every change, member-count changes and
    /// ownership transfers included.
    pub version: i64,
    pub name: String,
    pub slug: String,
    /// The seat limit; always present, null when unlimited.
    #[oai(nullable)]
    pub max_users: Option<u32>,
    /// Active members.
    pub member_count: u32,
    /// Free-form metadata.
    pub metadata: BTreeMap<String, Value>,
    /// The org's verified email domains.
    pub domains: Vec<String>,
    /// Whether users with an address at one of `domains` join on sign-in.
    pub domain_auto_join: bool,
    /// Whether only addresses at one of `domains` may be invited.
    pub domain_restrict: bool,
}

/// `data` of `org.ownership_transferred`: the org after the transfer, and who gave and got it.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct OrgOwnershipTransferredEventData {
    #[oai(flatten)]
    pub org: OrgEventData,
    /// The previous owner.
    pub from_user_id: Uuid,
    /// The new owner.
    pub to_user_id: Uuid,
}

/// `data` of the invitation events: the invitation after the change.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct InviteEventData {
    pub invite_id: Uuid,
    pub org_id: Uuid,
    /// The invited address.
    pub email: String,
    /// The hierarchy role the invitee gets.
    pub role: String,
    pub additional_roles: Vec<String>,
    /// `pending`, `accepted` or `revoked`.
    pub state: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// The user who accepted; always present, null until accepted.
    #[oai(nullable)]
    pub accepted_by: Option<Uuid>,
    /// The invitation's version: 1 when sent, one more when accepted or revoked.
    pub version: i64,
}

/// `data` of the billing events `org.member_count_changed` and `org.seat_limit_reached`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct SeatEventData {
    pub org_id: Uuid,
    /// The org's version (the same counter as in `org.updated`).
    pub version: i64,
    /// Active members.
    pub member_count: u32,
    /// Invitations still pending and unexpired: each holds a seat.
    pub pending_invites: i64,
    /// `member_count` plus `pending_invites`.
    pub seats_used: i64,
    /// The seat limit; always present, null when unlimited.
    #[oai(nullable)]
    pub max_users: Option<u32>,
}

/// `data` of `webhook_endpoint.disabled`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct EndpointDisabledEventData {
    pub endpoint_id: Uuid,
    /// The endpoint's version after it was disabled.
    pub version: i64,
    pub url: String,
    /// Why: `failing` (every delivery failed for `webhooks.disable_after_failing_secs`) or `gone`
    /// (its receiver answered `410 Gone`). The endpoint's `disabled_reason` says the same.
    pub reason: String,
    /// When the deliveries to it started failing without a success since; absent when a `410 Gone`
    /// came before any other failure.
    pub failing_since: Option<DateTime<Utc>>,
}

/// `data` of `user.mfa_enabled`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct UserMfaEnabledEventData {
    pub user_id: Uuid,
    /// The user's version when it happened (2FA does not change the user object).
    pub version: i64,
    /// The factor: `totp`.
    pub method: String,
}

/// `data` of `user.mfa_disabled`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct UserMfaDisabledEventData {
    pub user_id: Uuid,
    /// The user's version when it happened (2FA does not change the user object).
    pub version: i64,
    /// `user` (they turned it off, with their password) or `reset` (the backend API reset it).
    pub reason: String,
}

/// `data` of `org.mfa_requirement_changed`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct OrgMfaRequirementEventData {
    pub org_id: Uuid,
    /// The org's version after the change.
    pub version: i64,
    /// Whether members must have 2FA.
    pub required: bool,
    /// When the requirement was set; null when lifted.
    #[oai(nullable)]
    pub required_at: Option<DateTime<Utc>>,
    /// The deadline after which members without 2FA are refused; null when enforced at once or
    /// lifted.
    #[oai(nullable)]
    pub grace_until: Option<DateTime<Utc>>,
}

/// `data` of `webhook.test`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct TestEventData {
    /// The endpoint the test was sent to.
    pub endpoint_id: Uuid,
    /// The endpoint's version when the test was sent.
    pub version: i64,
    /// A fixed text.
    pub message: String,
}

/// What a receiver answers.
#[derive(ApiResponse)]
pub enum Acknowledged {
    /// Any 2xx status acknowledges the message. Any other status, a redirect, or no answer within
    /// the timeout is a failed attempt, retried (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
    #[oai(status = 200)]
    Received,
}

/// One event type of the catalog.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct WebhookEventTypeOut {
    /// The body's `type`.
    #[oai(rename = "type")]
    pub event_type: String,
    /// Whether an endpoint's `event_types` may name it; `webhook.test` is sent only on request.
    pub subscribable: bool,
    pub summary: String,
    /// What triggers it, what `data` holds, and how to use `version`.
    pub description: String,
    /// The body's schema, under `components/schemas` in this document.
    pub schema: String,
    /// An example body.
    pub example: WebhookEvent,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct WebhookEventTypeList {
    pub event_types: Vec<WebhookEventTypeOut>,
}

/// One entry of [`catalog`].
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub name: &'static str,
    pub subscribable: bool,
    pub schema: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    pub example: WebhookEvent,
}

/// Declares the catalog: per event type, a one-value `Enum` for `type`, the body `Object` with its
/// example, a variant of [`WebhookEvent`], a [`CatalogEntry`], and a webhook `post` in
/// [`EventWebhooks`].
macro_rules! catalog {
    ($(
        $variant:ident {
            name: $name:literal,
            event: $event:ident,
            type_enum: $type_enum:ident,
            data: $data:ident = $example:expr,
            operation_id: $op:literal,
            webhook: $webhook:ident,
            subscribable: $subscribable:literal,
            summary: $summary:literal,
            description: $description:literal $(,)?
        }
    ),* $(,)?) => {
        $(
            /// The body's `type`: the one value of this event type.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
            #[oai(rename_all = "snake_case")]
            pub enum $type_enum {
                #[oai(rename = $name)]
                $variant,
            }

            #[doc = $summary]
            #[doc = ""]
            #[doc = $description]
            #[derive(Debug, Clone, Object)]
            #[oai(rename_all = "snake_case", example)]
            pub struct $event {
                #[oai(rename = "type")]
                pub event_type: $type_enum,
                /// When the change happened (RFC 3339, UTC); the same on every attempt.
                pub timestamp: DateTime<Utc>,
                pub data: $data,
            }

            impl Example for $event {
                fn example() -> $event {
                    $event { event_type: $type_enum::$variant, timestamp: example_time(), data: $example }
                }
            }
        )*

        /// A webhook body, of any event type.
        #[derive(Debug, Clone, Union)]
        #[oai(one_of)]
        pub enum WebhookEvent {
            $($variant($event),)*
        }

        /// Every event type Tenantry sends, in the order of `EventType::ALL`, then `webhook.test`.
        pub fn catalog() -> Vec<CatalogEntry> {
            vec![$(
                CatalogEntry {
                    name: $name,
                    subscribable: $subscribable,
                    schema: stringify!($event),
                    summary: $summary,
                    description: $description,
                    example: WebhookEvent::$variant(<$event as Example>::example()),
                },
            )*]
        }

        $(
            // poem-openapi's `Webhook` macro keeps one operation per HTTP method, so each event
            // type gets a trait of its own, and `EventWebhooks` joins them.
            #[Webhook(tag = "BackendTag::Webhooks")]
            pub trait $webhook {
                #[doc = $summary]
                #[doc = ""]
                #[doc = $description]
                #[oai(name = $name, method = "post", operation_id = $op)]
                fn deliver(
                    &self,
                    /// The event's id: the same on every attempt and replay, and for every
                    /// endpoint. Keep the ids you have processed to drop repeats.
                    #[oai(name = "webhook-id")]
                    webhook_id: Header<String>,
                    /// When this attempt was signed, in Unix seconds. Refuse attempts more than a
                    /// few minutes old (replays).
                    #[oai(name = "webhook-timestamp")]
                    webhook_timestamp: Header<i64>,
                    /// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, space-separated when the
                    /// previous secret still signs after a rotation; one match suffices.
                    #[oai(name = "webhook-signature")]
                    webhook_signature: Header<String>,
                    body: Json<$event>,
                ) -> Acknowledged;
            }
        )*

        /// The requests Tenantry makes to a webhook endpoint: one `post` per event type, signed
        /// per Standard Webhooks. For [`poem_openapi::OpenApiService::webhooks`].
        pub struct EventWebhooks;

        impl poem_openapi::Webhook for EventWebhooks {
            fn meta() -> Vec<MetaWebhook> {
                let mut all = Vec::new();
                $(all.extend(<&dyn $webhook as poem_openapi::Webhook>::meta());)*
                all
            }

            fn register(registry: &mut Registry) {
                $(<&dyn $webhook as poem_openapi::Webhook>::register(registry);)*
            }
        }
    };
}

catalog! {
    UserCreated {
        name: "user.created",
        event: UserCreatedEvent,
        type_enum: UserCreatedEventType,
        data: UserEventData = example_user(1, false),
        operation_id: "user_created_event",
        webhook: UserCreatedWebhook,
        subscribable: true,
        summary: "A user was created",
        description: "Sent when an account is created through the backend API or when someone signs up. \
            `data` holds the user's public fields. `version` starts at 1 and every later user event \
            (`user.updated`, `user.disabled`, `user.enabled`, `user.deleted`) carries a higher one: keep \
            the highest `version` you have applied per `user_id` and ignore any event with a lower one, \
            since deliveries can arrive out of order and more than once.",
    },
    UserUpdated {
        name: "user.updated",
        event: UserUpdatedEvent,
        type_enum: UserUpdatedEventType,
        data: UserEventData = example_user(4, false),
        operation_id: "user_updated_event",
        webhook: UserUpdatedWebhook,
        subscribable: true,
        summary: "A user changed",
        description: "Sent when a user's fields change: through the backend API, the user's own profile, \
            a verified email address or a confirmed email change. `data` is the whole user after the \
            change, not a difference: replace your copy with it when its `version` is higher than the \
            one you hold for the `user_id`, and ignore it otherwise.",
    },
    UserDeleted {
        name: "user.deleted",
        event: UserDeletedEvent,
        type_enum: UserDeletedEventType,
        data: UserDeletedEventData = UserDeletedEventData {
            user_id: EXAMPLE_USER,
            version: 6,
            email: "ada@acme.example".into(),
        },
        operation_id: "user_deleted_event",
        webhook: UserDeletedWebhook,
        subscribable: true,
        summary: "A user was deleted",
        description: "Sent when a user is deleted for good through the backend API. Their memberships end \
            first, each with its own `user.removed_from_org` (and the orgs' `org.member_count_changed`). \
            `version` is one more than the user's last, so it wins over any late event about the user; \
            nothing more is sent about this `user_id`. Delete or anonymize what you keep about them.",
    },
    UserDisabled {
        name: "user.disabled",
        event: UserDisabledEvent,
        type_enum: UserDisabledEventType,
        data: UserStateEventData = UserStateEventData { user_id: EXAMPLE_USER, version: 5 },
        operation_id: "user_disabled_event",
        webhook: UserDisabledWebhook,
        subscribable: true,
        summary: "A user was disabled",
        description: "Sent when a user is disabled through the backend API; a disabled user cannot sign \
            in. `data` carries only `user_id` and `version` (fetch the user for more). The version is the \
            user's, shared with the other user events: a `user.disabled` whose `version` is lower than \
            the last you applied for the user (say a later `user.enabled`) is stale.",
    },
    UserEnabled {
        name: "user.enabled",
        event: UserEnabledEvent,
        type_enum: UserEnabledEventType,
        data: UserStateEventData = UserStateEventData { user_id: EXAMPLE_USER, version: 6 },
        operation_id: "user_enabled_event",
        webhook: UserEnabledWebhook,
        subscribable: true,
        summary: "A user was enabled again",
        description: "Sent when a disabled user is enabled again through the backend API. `data` carries \
            only `user_id` and `version`; compare the version with the last you applied for the user, \
            as for `user.disabled`.",
    },
    UserAddedToOrg {
        name: "user.added_to_org",
        event: UserAddedToOrgEvent,
        type_enum: UserAddedToOrgEventType,
        data: MembershipEventData = MembershipEventData {
            membership_id: EXAMPLE_MEMBERSHIP,
            org_id: EXAMPLE_ORG,
            user_id: EXAMPLE_USER,
            role: "Member".into(),
            additional_roles: vec!["billing".into()],
            version: 1,
        },
        operation_id: "user_added_to_org_event",
        webhook: UserAddedToOrgWebhook,
        subscribable: true,
        summary: "A user joined an org",
        description: "Sent when a membership starts: the user created the org, was added by an admin or \
            the backend API, accepted an invitation, or joined through one of the org's domains. The \
            org's `org.member_count_changed` comes with it. `membership_id` names this membership and \
            `version` starts at 1; a user who leaves and joins again gets a new `membership_id`, so order \
            membership events by `membership_id` and `version`, not by user and org.",
    },
    UserRemovedFromOrg {
        name: "user.removed_from_org",
        event: UserRemovedFromOrgEvent,
        type_enum: UserRemovedFromOrgEventType,
        data: MembershipEventData = MembershipEventData {
            membership_id: EXAMPLE_MEMBERSHIP,
            org_id: EXAMPLE_ORG,
            user_id: EXAMPLE_USER,
            role: "Member".into(),
            additional_roles: vec!["billing".into()],
            version: 3,
        },
        operation_id: "user_removed_from_org_event",
        webhook: UserRemovedFromOrgWebhook,
        subscribable: true,
        summary: "A user left an org",
        description: "Sent when a membership ends: the member was removed, left, or their account was \
            deleted. (Deleting the org sends only `org.deleted`.) `role` and `additional_roles` are \
            those the member had; `version` is one more than the membership's last, so it wins over a \
            late role change. End the user's access to the org's data in your product; the org's \
            `org.member_count_changed` comes with it.",
    },
    UserRoleChangedWithinOrg {
        name: "user.role_changed_within_org",
        event: UserRoleChangedWithinOrgEvent,
        type_enum: UserRoleChangedWithinOrgEventType,
        data: MembershipRoleChangedEventData = MembershipRoleChangedEventData {
            membership_id: EXAMPLE_MEMBERSHIP,
            org_id: EXAMPLE_ORG,
            user_id: EXAMPLE_USER,
            role: "Admin".into(),
            previous_role: "Member".into(),
            additional_roles: vec!["billing".into()],
            version: 2,
        },
        operation_id: "user_role_changed_within_org_event",
        webhook: UserRoleChangedWithinOrgWebhook,
        subscribable: true,
        summary: "A member's roles changed",
        description: "Sent when a member's hierarchy role or additional roles change, by an admin or the \
            backend API, or by an ownership transfer (one for each of the two members). `role` and \
            `additional_roles` are the state after the change, `previous_role` the hierarchy role \
            before. Apply it when its `version` is higher than the one you hold for the \
            `membership_id`.",
    },
    OrgCreated {
        name: "org.created",
        event: OrgCreatedEvent,
        type_enum: OrgCreatedEventType,
        data: OrgEventData = example_org(1, 1),
        operation_id: "org_created_event",
        webhook: OrgCreatedWebhook,
        subscribable: true,
        summary: "An org was created",
        description: "Sent when an organization is created, by a user or through the backend API. `data` \
            holds its public fields; when a user created it, their membership follows as \
            `user.added_to_org`. `version` starts at 1 and is the org's: `org.updated`, \
            `org.member_count_changed`, `org.seat_limit_reached`, `org.ownership_transferred` and \
            `org.deleted` carry the same counter. Keep the highest you have applied per `org_id`.",
    },
    OrgUpdated {
        name: "org.updated",
        event: OrgUpdatedEvent,
        type_enum: OrgUpdatedEventType,
        data: OrgEventData = example_org(5, 3),
        operation_id: "org_updated_event",
        webhook: OrgUpdatedWebhook,
        subscribable: true,
        summary: "An org changed",
        description: "Sent when an org's name, slug, metadata, `max_users`, domain settings or domains \
            change. `data` is the whole org after the change: replace your copy with it when its \
            `version` is higher than the one you hold for the `org_id`. Member-count changes move the \
            same version, so a late `org.updated` can carry an older `member_count` than you have.",
    },
    OrgDeleted {
        name: "org.deleted",
        event: OrgDeletedEvent,
        type_enum: OrgDeletedEventType,
        data: OrgEventData = example_org(8, 3),
        operation_id: "org_deleted_event",
        webhook: OrgDeletedWebhook,
        subscribable: true,
        summary: "An org was deleted",
        description: "Sent when an org is deleted, by an owner or through the backend API. Its \
            memberships, invitations and domains go with it, without events of their own. `data` is the \
            org as it was, with `version` one more than its last. Stop billing the org and remove its \
            data.",
    },
    OrgInvitationCreated {
        name: "org.invitation_created",
        event: OrgInvitationCreatedEvent,
        type_enum: OrgInvitationCreatedEventType,
        data: InviteEventData = example_invite("pending", None, 1),
        operation_id: "org_invitation_created_event",
        webhook: OrgInvitationCreatedWebhook,
        subscribable: true,
        summary: "Someone was invited into an org",
        description: "Sent when an invitation is sent (the invitee gets an email with the link). `state` \
            is `pending` and `expires_at` is when the link stops working. A pending invitation holds a \
            seat: if this one took the last, `org.seat_limit_reached` follows. `version` is the \
            invitation's own, per `invite_id`, starting at 1.",
    },
    OrgInvitationAccepted {
        name: "org.invitation_accepted",
        event: OrgInvitationAcceptedEvent,
        type_enum: OrgInvitationAcceptedEventType,
        data: InviteEventData = example_invite("accepted", Some(EXAMPLE_USER), 2),
        operation_id: "org_invitation_accepted_event",
        webhook: OrgInvitationAcceptedWebhook,
        subscribable: true,
        summary: "An invitation was accepted",
        description: "Sent when the invitee accepts: `state` is `accepted` and `accepted_by` is the user \
            who joined. The new membership follows as `user.added_to_org`, and the org's \
            `org.member_count_changed`. `version` is the invitation's.",
    },
    OrgInvitationRevoked {
        name: "org.invitation_revoked",
        event: OrgInvitationRevokedEvent,
        type_enum: OrgInvitationRevokedEventType,
        data: InviteEventData = example_invite("revoked", None, 2),
        operation_id: "org_invitation_revoked_event",
        webhook: OrgInvitationRevokedWebhook,
        subscribable: true,
        summary: "An invitation was revoked",
        description: "Sent when a pending invitation is revoked: its link no longer works and its seat is \
            free again. `state` is `revoked`; `version` is the invitation's.",
    },
    OrgOwnershipTransferred {
        name: "org.ownership_transferred",
        event: OrgOwnershipTransferredEvent,
        type_enum: OrgOwnershipTransferredEventType,
        data: OrgOwnershipTransferredEventData = OrgOwnershipTransferredEventData {
            org: example_org(6, 3),
            from_user_id: EXAMPLE_USER,
            to_user_id: EXAMPLE_OTHER_USER,
        },
        operation_id: "org_ownership_transferred_event",
        webhook: OrgOwnershipTransferredWebhook,
        subscribable: true,
        summary: "An org's ownership was transferred",
        description: "Sent when the member asked to take over an org confirms: ownership moves from \
            `from_user_id` to `to_user_id`. `data` is the whole org, with the org's `version`, plus those \
            two ids; the two members' role changes follow as `user.role_changed_within_org`. Move the \
            billing contact if you keep one per owner.",
    },
    OrgMemberCountChanged {
        name: "org.member_count_changed",
        event: OrgMemberCountChangedEvent,
        type_enum: OrgMemberCountChangedEventType,
        data: SeatEventData = SeatEventData {
            org_id: EXAMPLE_ORG,
            version: 7,
            member_count: 4,
            pending_invites: 1,
            seats_used: 5,
            max_users: Some(10),
        },
        operation_id: "org_member_count_changed_event",
        webhook: OrgMemberCountChangedWebhook,
        subscribable: true,
        summary: "For billing: an org's member count changed",
        description: "Sent whenever a member joins, leaves, is removed or is deleted: the figure for \
            per-seat billing. `member_count` is the number of members now, `pending_invites` the \
            invitations still open (each holds a seat), `seats_used` their sum, and `max_users` the \
            seat limit (null when unlimited). The counts are a snapshot at the org's `version`: when \
            events arrive out of order, keep the one with the highest `version` per `org_id` and bill \
            on its `member_count`.",
    },
    OrgSeatLimitReached {
        name: "org.seat_limit_reached",
        event: OrgSeatLimitReachedEvent,
        type_enum: OrgSeatLimitReachedEventType,
        data: SeatEventData = SeatEventData {
            org_id: EXAMPLE_ORG,
            version: 7,
            member_count: 9,
            pending_invites: 1,
            seats_used: 10,
            max_users: Some(10),
        },
        operation_id: "org_seat_limit_reached_event",
        webhook: OrgSeatLimitReachedWebhook,
        subscribable: true,
        summary: "For billing: an org's seats are all taken",
        description: "Sent after each member-count change or new invitation that leaves members plus \
            pending invitations (`seats_used`) at or above `max_users`. Further invitations and joins \
            are refused until a seat is freed or the limit raised: the moment to offer more seats. An \
            invitation does not change the org, so the event it causes repeats the `version` of the \
            org's last event: treat this type as a signal, and compare versions with at-least, not \
            greater-than.",
    },
    OrgSamlSetup {
        name: "org.saml_setup",
        event: OrgSamlSetupEvent,
        type_enum: OrgSamlSetupEventType,
        data: SamlConnectionEventData = SamlConnectionEventData {
            org_id: EXAMPLE_ORG,
            connection_id: EXAMPLE_CONNECTION,
            version: 1,
            status: "test".into(),
        },
        operation_id: "org_saml_setup_event",
        webhook: OrgSamlSetupWebhook,
        subscribable: true,
        summary: "An org's SAML connection was set up",
        description: "Sent when an Owner, an Admin or the backend API sets up (or replaces) an org's SAML \
            connection. It starts in test mode: only the org's admins can sign in through it until it \
            goes live.",
    },
    OrgSamlWentLive {
        name: "org.saml_went_live",
        event: OrgSamlWentLiveEvent,
        type_enum: OrgSamlWentLiveEventType,
        data: SamlConnectionEventData = SamlConnectionEventData {
            org_id: EXAMPLE_ORG,
            connection_id: EXAMPLE_CONNECTION,
            version: 2,
            status: "live".into(),
        },
        operation_id: "org_saml_went_live_event",
        webhook: OrgSamlWentLiveWebhook,
        subscribable: true,
        summary: "An org's SAML connection went live",
        description: "Sent when the connection leaves test mode: from now on every member can sign in \
            through it, and new users are created just in time.",
    },
    OrgSamlRemoved {
        name: "org.saml_removed",
        event: OrgSamlRemovedEvent,
        type_enum: OrgSamlRemovedEventType,
        data: SamlConnectionEventData = SamlConnectionEventData {
            org_id: EXAMPLE_ORG,
            connection_id: EXAMPLE_CONNECTION,
            version: 3,
            status: "removed".into(),
        },
        operation_id: "org_saml_removed_event",
        webhook: OrgSamlRemovedWebhook,
        subscribable: true,
        summary: "An org's SAML connection was removed",
        description: "Sent when the connection is removed; the org no longer requires SSO.",
    },
    WebhookEndpointDisabled {
        name: "webhook_endpoint.disabled",
        event: WebhookEndpointDisabledEvent,
        type_enum: WebhookEndpointDisabledEventType,
        data: EndpointDisabledEventData = EndpointDisabledEventData {
            endpoint_id: EXAMPLE_ENDPOINT,
            version: 3,
            url: "https://hooks.acme.example/tenantry".into(),
            reason: "failing".into(),
            failing_since: Some(example_time() - chrono::TimeDelta::days(5)),
        },
        operation_id: "webhook_endpoint_disabled_event",
        webhook: WebhookEndpointDisabledWebhook,
        subscribable: true,
        summary: "A webhook endpoint was disabled after failing, or for answering 410 Gone",
        description: "Sent when Tenantry disables an endpoint because every delivery to it has failed \
            since `failing_since` (five days by default; `reason` is `failing`), or at once because its \
            receiver answered `410 Gone` (`reason` is `gone`). The endpoint gets nothing more until it is \
            enabled again (`POST /api/backend/v1/webhooks/endpoints/{endpoint_id}/enable`); its failed \
            messages can then be replayed. Subscribe a second endpoint to hear of it. `version` is the \
            endpoint's.",
    },
    UserMfaEnabled {
        name: "user.mfa_enabled",
        event: UserMfaEnabledEvent,
        type_enum: UserMfaEnabledEventType,
        data: UserMfaEnabledEventData = UserMfaEnabledEventData {
            user_id: EXAMPLE_USER,
            version: 3,
            method: "totp".into(),
        },
        operation_id: "user_mfa_enabled_event",
        webhook: UserMfaEnabledWebhook,
        subscribable: true,
        summary: "A user turned on two-factor authentication",
        description: "Sent when a user confirms an authenticator app with a code: from now on their \
            sign-ins need a code or a backup code, and their tokens carry `amr: [\"pwd\", \"otp\"]`. \
            `version` is the user's at that moment (2FA does not change the user object), so compare \
            it with at-least.",
    },
    UserMfaDisabled {
        name: "user.mfa_disabled",
        event: UserMfaDisabledEvent,
        type_enum: UserMfaDisabledEventType,
        data: UserMfaDisabledEventData = UserMfaDisabledEventData {
            user_id: EXAMPLE_USER,
            version: 3,
            reason: "user".into(),
        },
        operation_id: "user_mfa_disabled_event",
        webhook: UserMfaDisabledWebhook,
        subscribable: true,
        summary: "A user's two-factor authentication was turned off",
        description: "Sent when a user turns 2FA off (with their password; `reason` is `user`) or the \
            backend API resets it (`reason` is `reset`). Orgs that require 2FA refuse the user from \
            now on.",
    },
    OrgMfaRequirementChanged {
        name: "org.mfa_requirement_changed",
        event: OrgMfaRequirementChangedEvent,
        type_enum: OrgMfaRequirementChangedEventType,
        data: OrgMfaRequirementEventData = OrgMfaRequirementEventData {
            org_id: EXAMPLE_ORG,
            version: 4,
            required: true,
            required_at: Some(example_time()),
            grace_until: Some(example_time() + chrono::TimeDelta::days(14)),
        },
        operation_id: "org_mfa_requirement_changed_event",
        webhook: OrgMfaRequirementChangedWebhook,
        subscribable: true,
        summary: "An org's 2FA requirement changed",
        description: "Sent when an Owner or the backend API requires two-factor authentication in an \
            org (at once, or with a `grace_until` deadline), moves the deadline, or lifts it \
            (`required: false`). After the deadline, members without 2FA are refused in the org and \
            their tokens mark it `mfa_required`. `version` is the org's.",
    },
    WebhookTest {
        name: "webhook.test",
        event: WebhookTestEvent,
        type_enum: WebhookTestEventType,
        data: TestEventData = TestEventData {
            endpoint_id: EXAMPLE_ENDPOINT,
            version: 1,
            message: "A test event from Tenantry.".into(),
        },
        operation_id: "webhook_test_event",
        webhook: WebhookTestWebhook,
        subscribable: false,
        summary: "A test event",
        description: "Sent by \"Send a test event\" \
            (`POST /api/backend/v1/webhooks/endpoints/{endpoint_id}/test`) to that endpoint only, \
            whatever its `event_types`; no endpoint can subscribe to it. Use it to check that your \
            receiver verifies the signature and answers 2xx. It reports no change: `data` is the \
            endpoint's id and version, and a fixed text.",
    },
}

/// The examples' ids and time (fixed, so that the committed document is stable).
const EXAMPLE_USER: Uuid = Uuid::from_u128(0x0193_7c2a_5d10_7b3e_9f21_4a5b_6c7d_8e9f);
const EXAMPLE_OTHER_USER: Uuid = Uuid::from_u128(0x0193_7c2a_6e21_7c4f_8a32_5b6c_7d8e_9fa0);
const EXAMPLE_ORG: Uuid = Uuid::from_u128(0x0193_7c2b_0a41_7d5a_9b43_6c7d_8e9f_a0b1);
const EXAMPLE_CONNECTION: Uuid = Uuid::from_u128(0x0193_7c2b_4e85_719e_9f87_a0b1_c2d3_e4f5);
const EXAMPLE_MEMBERSHIP: Uuid = Uuid::from_u128(0x0193_7c2b_1b52_7e6b_8c54_7d8e_9fa0_b1c2);
const EXAMPLE_INVITE: Uuid = Uuid::from_u128(0x0193_7c2b_2c63_7f7c_9d65_8e9f_a0b1_c2d3);
const EXAMPLE_ENDPOINT: Uuid = Uuid::from_u128(0x0193_7c2b_3d74_708d_8e76_9fa0_b1c2_d3e4);

/// 2026-12-01T09:30:00Z.
fn example_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_796_117_400, 0).unwrap_or_default()
}

fn example_user(version: i64, disabled: bool) -> UserEventData {
    UserEventData {
        user_id: EXAMPLE_USER,
        version,
        email: "ada@acme.example".into(),
        email_verified: true,
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        username: None,
        properties: BTreeMap::from([("plan".to_owned(), json!("team"))]),
        disabled,
    }
}

fn example_org(version: i64, member_count: u32) -> OrgEventData {
    OrgEventData {
        org_id: EXAMPLE_ORG,
        version,
        name: "Acme".into(),
        slug: "acme".into(),
        max_users: Some(10),
        member_count,
        metadata: BTreeMap::from([("crm_id".to_owned(), json!("A-1042"))]),
        domains: vec!["acme.example".into()],
        domain_auto_join: false,
        domain_restrict: false,
    }
}

fn example_invite(state: &str, accepted_by: Option<Uuid>, version: i64) -> InviteEventData {
    InviteEventData {
        invite_id: EXAMPLE_INVITE,
        org_id: EXAMPLE_ORG,
        email: "grace@acme.example".into(),
        role: "Member".into(),
        additional_roles: Vec::new(),
        state: state.into(),
        expires_at: example_time() + chrono::TimeDelta::days(7),
        accepted_by,
        version,
    }
}

pub struct WebhookEventsApi;

#[OpenApi(prefix_path = "/api/backend/v1/webhooks", tag = "BackendTag::Webhooks")]
impl WebhookEventsApi {
    /// List webhook event types
    ///
    /// Every event type Tenantry sends, with what triggers it, the schema of its body and an
    /// example. The same bodies are under `x-webhooks` in this document.
    #[oai(path = "/event-types", method = "get", operation_id = "list_webhook_event_types")]
    async fn event_types(&self, req: &Request, auth: BackendKey) -> Result<Json<WebhookEventTypeList>, ApiError> {
        let names = app(req)?.webhook_event_types(&ctx(req, auth.0))?;
        let mut catalog = catalog();
        let mut event_types = Vec::with_capacity(names.len());
        for name in names {
            match catalog.iter().position(|e| e.name == name) {
                Some(i) => event_types.push(catalog.swap_remove(i).into()),
                // The unit tests keep this from happening; if it does, the list is short one type
                // rather than the call failing.
                None => tracing::error!(event_type = name, "an event type has no entry in the webhook event catalog"),
            }
        }
        Ok(Json(WebhookEventTypeList { event_types }))
    }
}

impl From<CatalogEntry> for WebhookEventTypeOut {
    fn from(e: CatalogEntry) -> WebhookEventTypeOut {
        WebhookEventTypeOut {
            event_type: e.name.to_owned(),
            subscribable: e.subscribable,
            summary: e.summary.to_owned(),
            description: e.description.to_owned(),
            schema: e.schema.to_owned(),
            example: e.example,
        }
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;
    use tenantry_app::webhooks::TEST_EVENT_TYPE;
    use tenantry_core::events::EventType;

    use super::*;

    /// What the product can send: every `EventType`, then `webhook.test`.
    fn sent_types() -> Vec<&'static str> {
        EventType::ALL.iter().map(|t| t.as_str()).chain([TEST_EVENT_TYPE]).collect()
    }

    #[test]
    fn every_sent_type_has_exactly_one_entry_with_an_example() {
        let catalog = catalog();
        for name in sent_types() {
            let entries: Vec<_> = catalog.iter().filter(|e| e.name == name).collect();
            assert_eq!(entries.len(), 1, "{name} needs exactly one catalog entry");
            let example = entries[0].example.to_json().expect("the example serializes");
            assert_eq!(example["type"], name, "the example of {name} has its type");
            assert!(example["timestamp"].is_string(), "the example of {name} has a timestamp");
            assert!(example["data"].is_object(), "the example of {name} has data");
            assert_eq!(entries[0].subscribable, name != TEST_EVENT_TYPE, "{name}");
            assert!(!entries[0].summary.is_empty() && !entries[0].description.is_empty(), "{name}");
        }
        let names: Vec<_> = catalog.iter().map(|e| e.name).collect();
        assert_eq!(names, sent_types(), "no entry for a type that is never sent, in the order of EventType::ALL");
    }

    #[test]
    fn every_example_carries_the_object_id_and_a_version() {
        for e in catalog() {
            let data = e.example.to_json().expect("the example serializes")["data"].clone();
            let ids: Vec<_> = data.as_object().into_iter().flatten().filter(|(k, _)| k.ends_with("_id")).collect();
            assert!(!ids.is_empty(), "{} names its object", e.name);
            assert!(data["version"].is_i64(), "{} carries a version", e.name);
        }
    }

    #[test]
    fn the_document_publishes_each_type_as_a_webhook_and_a_schema() {
        let doc: Value = serde_json::from_str(&crate::openapi_json()).expect("the document is JSON");
        assert!(doc.get("webhooks").is_none(), "OpenAPI 3.0 has no `webhooks` field");
        let webhooks = doc["x-webhooks"].as_object().expect("x-webhooks");
        assert_eq!(webhooks.len(), sent_types().len());
        let schemas = &doc["components"]["schemas"];
        for e in catalog() {
            let post = &webhooks[e.name]["post"];
            let body = &post["requestBody"]["content"]["application/json; charset=utf-8"]["schema"]["$ref"];
            assert_eq!(body, &json!(format!("#/components/schemas/{}", e.schema)), "{}", e.name);
            let schema = &schemas[e.schema];
            assert_eq!(schema["example"]["type"], e.name, "{} has its example", e.name);
            assert!(schema["description"].as_str().is_some_and(|d| d.contains(e.description)), "{}", e.name);
            for header in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
                let params = post["parameters"].as_array().expect("parameters");
                assert!(params.iter().any(|p| p["name"] == header && p["in"] == "header"), "{} {header}", e.name);
            }
        }
        let listed = &doc["paths"]["/api/backend/v1/webhooks/event-types"]["get"];
        assert_eq!(listed["operationId"], "list_webhook_event_types");
        let one_of = schemas["WebhookEvent"]["oneOf"].as_array().expect("WebhookEvent is a oneOf");
        assert_eq!(one_of.len(), sent_types().len(), "the listing references every body schema");
    }
}
