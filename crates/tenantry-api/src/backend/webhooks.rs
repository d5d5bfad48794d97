//! `/api/backend/v1/webhooks`: endpoints (create, list, fetch, update, disable/enable, delete,
//! rotate or reveal the secret, send a test event) and messages (list, fetch, attempts, replay).

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenantry_app::webhooks::{
    Attempt, CreateEndpoint, Endpoint, EndpointWithSecret, Message, MessageFilter, UpdateEndpoint,
};
use tenantry_app::{paging, Patch};
use uuid::Uuid;

use super::users::Deleted;
use super::BackendTag;
use crate::security::{app, ctx, BackendKey};
use crate::ApiError;

/// Where webhooks go, and which.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookEndpointOut {
    pub endpoint_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// The event types delivered; empty means every type.
    pub event_types: Vec<String>,
    /// A disabled endpoint gets no new messages; its pending ones wait.
    pub disabled: bool,
    /// Why it is disabled: `manual` (through this API), `gone` (its receiver answered `410 Gone`,
    /// and Tenantry disabled it at once) or `failing` (Tenantry disabled it after
    /// every attempt failed for `webhooks.disable_after_failing_secs`, five days by default, and
    /// emitted `webhook_endpoint.disabled`). Enabling it clears this.
    pub disabled_reason: Option<String>,
    /// When the endpoint's current unbroken run of failed attempts began; absent once an attempt
    /// succeeds.
    pub failing_since: Option<DateTime<Utc>>,
    /// After a rotation: until when the previous secret still signs beside the current one.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Endpoint> for WebhookEndpointOut {
    fn from(e: Endpoint) -> WebhookEndpointOut {
        WebhookEndpointOut {
            endpoint_id: e.id,
            url: e.url,
            description: e.description,
            event_types: e.event_types,
            disabled: e.disabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            previous_secret_expires_at: e.previous_secret_expires_at,
            version: e.version,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A new endpoint.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookEndpointIn {
    /// An `http` or `https` URL on a public address.
    pub url: String,
    /// Event type names (e.g. `user.created`); absent or empty for every type.
    #[oai(default)]
    pub event_types: Vec<String>,
    /// At most 500 characters.
    pub description: Option<String>,
}

/// A partial update: absent fields stay; `null` clears the description.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookEndpointPatch {
    pub url: Option<String>,
    /// Replaces the filter; empty for every type.
    pub event_types: Option<Vec<String>>,
    pub description: MaybeUndefined<String>,
}

/// An endpoint and its signing secret (`whsec_…`), for verifying deliveries.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookEndpointSecretOut {
    pub endpoint: WebhookEndpointOut,
    pub secret: String,
}

/// An endpoint's current signing secret.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookSecretOut {
    pub secret: String,
}

impl From<EndpointWithSecret> for WebhookEndpointSecretOut {
    fn from(e: EndpointWithSecret) -> WebhookEndpointSecretOut {
        WebhookEndpointSecretOut { endpoint: e.endpoint.into(), secret: e.secret.expose().to_string() }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookEndpointPage {
    pub endpoints: Vec<WebhookEndpointOut>,
    pub next_cursor: Option<String>,
}

/// One event for one endpoint, with its delivery state.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookMessageOut {
    pub message_id: Uuid,
    /// The `webhook-id` header of every attempt: the event's id.
    pub event_id: Uuid,
    pub endpoint_id: Uuid,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i32,
    /// While pending: when the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last attempt, if an answer came.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// The exact body sent.
    pub payload: String,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<Message> for WebhookMessageOut {
    fn from(m: Message) -> WebhookMessageOut {
        WebhookMessageOut {
            message_id: m.id,
            event_id: m.event_id,
            endpoint_id: m.endpoint_id,
            event_type: m.event_type,
            state: m.state.as_str().to_owned(),
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_status: m.last_status,
            last_error: m.last_error,
            payload: m.payload,
            occurred_at: m.occurred_at,
            created_at: m.created_at,
            delivered_at: m.delivered_at,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookMessagePage {
    pub messages: Vec<WebhookMessageOut>,
    pub next_cursor: Option<String>,
}

/// One delivery attempt.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookAttemptOut {
    pub attempt_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    /// The HTTP status, absent when no answer came (timeout, connection error, refused target).
    pub status: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    /// The first 1 KiB of the answer.
    pub response_body: Option<String>,
}

impl From<Attempt> for WebhookAttemptOut {
    fn from(a: Attempt) -> WebhookAttemptOut {
        WebhookAttemptOut {
            attempt_id: a.id,
            attempted_at: a.attempted_at,
            status: a.status,
            error: a.error,
            latency_ms: a.latency_ms,
            response_body: a.response_body,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookAttemptList {
    pub attempts: Vec<WebhookAttemptOut>,
}

/// Which failed messages to send again.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookReplayIn {
    /// Failed messages created at or after this time.
    pub since: DateTime<Utc>,
    /// Only this endpoint's messages.
    pub endpoint_id: Option<Uuid>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookReplayOut {
    /// How many messages are pending again.
    pub replayed: u64,
}

#[derive(ApiResponse)]
pub enum EndpointCreated {
    /// The endpoint was created; the secret is in the answer.
    #[oai(status = 201)]
    Created(Json<WebhookEndpointSecretOut>),
}

#[derive(ApiResponse)]
pub enum MessageQueued {
    /// The message is queued for delivery.
    #[oai(status = 202)]
    Accepted(Json<WebhookMessageOut>),
}

#[derive(ApiResponse)]
pub enum Replayed {
    /// The messages are queued for delivery.
    #[oai(status = 202)]
    Accepted(Json<WebhookReplayOut>),
}

fn patch<T>(m: MaybeUndefined<T>) -> Patch<T> {
    match m {
        MaybeUndefined::Undefined => Patch::Absent,
        MaybeUndefined::Null => Patch::Null,
        MaybeUndefined::Value(v) => Patch::Value(v),
    }
}

pub struct WebhooksApi;

#[OpenApi(prefix_path = "/api/backend/v1/webhooks", tag = "BackendTag::Webhooks")]
impl WebhooksApi {
    /// Create a webhook endpoint
    ///
    /// The answer holds the signing secret; it can be fetched again later.
    #[oai(path = "/endpoints", method = "post", operation_id = "create_webhook_endpoint")]
    async fn create(
        &self,
        req: &Request,
        auth: BackendKey,
        body: Json<WebhookEndpointIn>,
    ) -> Result<EndpointCreated, ApiError> {
        let b = body.0;
        let input = CreateEndpoint { url: b.url, event_types: b.event_types, description: b.description };
        let created = app(req)?.create_webhook_endpoint(&ctx(req, auth.0), input).await?;
        Ok(EndpointCreated::Created(Json(created.into())))
    }

    /// List webhook endpoints
    #[oai(path = "/endpoints", method = "get", operation_id = "list_webhook_endpoints")]
    async fn list(
        &self,
        req: &Request,
        auth: BackendKey,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<WebhookEndpointPage>, ApiError> {
        let limit = paging::limit(limit.0);
        let page = app(req)?.list_webhook_endpoints(&ctx(req, auth.0), cursor.0.as_deref(), limit).await?;
        Ok(Json(WebhookEndpointPage {
            endpoints: page.items.into_iter().map(WebhookEndpointOut::from).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// Fetch a webhook endpoint
    #[oai(path = "/endpoints/:endpoint_id", method = "get", operation_id = "get_webhook_endpoint")]
    async fn get(
        &self,
        req: &Request,
        auth: BackendKey,
        endpoint_id: Path<Uuid>,
    ) -> Result<Json<WebhookEndpointOut>, ApiError> {
        let e = app(req)?.get_webhook_endpoint(&ctx(req, auth.0), endpoint_id.0).await?;
        Ok(Json(e.into()))
    }

    /// Update a webhook endpoint
    #[oai(path = "/endpoints/:endpoint_id", method = "patch", operation_id = "update_webhook_endpoint")]
    async fn update(
        &self,
        req: &Request,
        auth: BackendKey,
        endpoint_id: Path<Uuid>,
        body: Json<WebhookEndpointPatch>,
    ) -> Result<Json<WebhookEndpointOut>, ApiError> {
        let b = body.0;
        let input = UpdateEndpoint { url: b.url, event_types: b.event_types, description: patch(b.description) };
        let e = app(req)?.update_webhook_endpoint(&ctx(req, auth.0), endpoint_id.0, input).await?;
        Ok(Json(e.into()))
    }

    /// Delete a webhook endpoint
    ///
    /// Its messages and their attempts go with it.
    #[oai(path = "/endpoints/:endpoint_id", method = "delete", operation_id = "delete_webhook_endpoint")]
    async fn delete(&self, req: &Request, auth: BackendKey, endpoint_id: Path<Uuid>) -> Result<Deleted, ApiError> {
        app(req)?.delete_webhook_endpoint(&ctx(req, auth.0), endpoint_id.0).await?;
        Ok(Deleted::NoContent)
    }

    /// Disable a webhook endpoint
    #[oai(path = "/endpoints/:endpoint_id/disable", method = "post", operation_id = "disable_webhook_endpoint")]
    async fn disable(
        &self,
        req: &Request,
        auth: BackendKey,
        endpoint_id: Path<Uuid>,
    ) -> Result<Json<WebhookEndpointOut>, ApiError> {
        let e = app(req)?.set_webhook_endpoint_disabled(&ctx(req, auth.0), endpoint_id.0, true).await?;
        Ok(Json(e.into()))
    }

    /// Enable a webhook endpoint
    #[oai(path = "/endpoints/:endpoint_id/enable", method = "post", operation_id = "enable_webhook_endpoint")]
    async fn enable(
        &self,
        req: &Request,
        auth: BackendKey,
        endpoint_id: Path<Uuid>,
    ) -> Result<Json<WebhookEndpointOut>, ApiError> {
        let e = app(req)?.set_webhook_endpoint_disabled(&ctx(req, auth.0), endpoint_id.0, false).await?;
        Ok(Json(e.into()))
    }

    /// Fetch a webhook endpoint's secret
    #[oai(path = "/endpoints/:endpoint_id/secret", method = "get", operation_id = "get_webhook_secret")]
    async fn secret(
        &self,
        req: &Request,
        auth: BackendKey,
        endpoint_id: Path<Uuid>,
    ) -> Result<Json<WebhookSecretOut>, ApiError> {
        let s = app(req)?.get_webhook_secret(&ctx(req, auth.0), endpoint_id.0).await?;
        Ok(Json(WebhookSecretOut { secret: s.expose().to_string() }))
    }

    /// Rotate a webhook endpoint's secret
    ///
    /// The new secret signs at once; the previous one keeps signing beside it until
    /// `previous_secret_expires_at`, so deliveries carry two signatures meanwhile.
    #[oai(path = "/endpoints/:endpoint_id/secret/rotate", method = "post", operation_id = "rotate_webhook_secret")]
    async fn rotate(
        &self,
        req: &Request,
        auth: BackendKey,
        endpoint_id: Path<Uuid>,
    ) -> Result<Json<WebhookEndpointSecretOut>, ApiError> {
        let rotated = app(req)?.rotate_webhook_secret(&ctx(req, auth.0), endpoint_id.0).await?;
        Ok(Json(rotated.into()))
    }

    /// Send a test event
    ///
    /// Queues a `webhook.test` message for this endpoint only.
    #[oai(path = "/endpoints/:endpoint_id/test", method = "post", operation_id = "send_test_webhook")]
    async fn test(&self, req: &Request, auth: BackendKey, endpoint_id: Path<Uuid>) -> Result<MessageQueued, ApiError> {
        let m = app(req)?.send_test_webhook(&ctx(req, auth.0), endpoint_id.0).await?;
        Ok(MessageQueued::Accepted(Json(m.into())))
    }

    /// List webhook messages
    ///
    /// In creation order, optionally of one endpoint, event type or state.
    #[oai(path = "/messages", method = "get", operation_id = "list_webhook_messages")]
    #[allow(clippy::too_many_arguments)]
    async fn messages(
        &self,
        req: &Request,
        auth: BackendKey,
        endpoint_id: Query<Option<Uuid>>,
        /// An event type name, or `webhook.test`.
        event_type: Query<Option<String>>,
        /// `pending`, `delivered` or `failed`.
        state: Query<Option<String>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<WebhookMessagePage>, ApiError> {
        let limit = paging::limit(limit.0);
        let filter = MessageFilter { endpoint_id: endpoint_id.0, event_type: event_type.0, state: state.0 };
        let page = app(req)?.list_webhook_messages(&ctx(req, auth.0), filter, cursor.0.as_deref(), limit).await?;
        Ok(Json(WebhookMessagePage {
            messages: page.items.into_iter().map(WebhookMessageOut::from).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// Replay failed webhook messages
    ///
    /// Every failed message created since `since` (of one endpoint, if given) is sent again.
    #[oai(path = "/messages/replay", method = "post", operation_id = "replay_failed_webhooks")]
    async fn replay_failed(
        &self,
        req: &Request,
        auth: BackendKey,
        body: Json<WebhookReplayIn>,
    ) -> Result<Replayed, ApiError> {
        let n = app(req)?.replay_failed_webhooks(&ctx(req, auth.0), body.0.since, body.0.endpoint_id).await?;
        Ok(Replayed::Accepted(Json(WebhookReplayOut { replayed: n })))
    }

    /// Fetch a webhook message
    #[oai(path = "/messages/:message_id", method = "get", operation_id = "get_webhook_message")]
    async fn message(
        &self,
        req: &Request,
        auth: BackendKey,
        message_id: Path<Uuid>,
    ) -> Result<Json<WebhookMessageOut>, ApiError> {
        let m = app(req)?.get_webhook_message(&ctx(req, auth.0), message_id.0).await?;
        Ok(Json(m.into()))
    }

    /// List a webhook message's attempts
    #[oai(path = "/messages/:message_id/attempts", method = "get", operation_id = "list_webhook_attempts")]
    async fn attempts(
        &self,
        req: &Request,
        auth: BackendKey,
        message_id: Path<Uuid>,
    ) -> Result<Json<WebhookAttemptList>, ApiError> {
        let attempts = app(req)?.list_webhook_attempts(&ctx(req, auth.0), message_id.0).await?;
        Ok(Json(WebhookAttemptList { attempts: attempts.into_iter().map(WebhookAttemptOut::from).collect() }))
    }

    /// Replay a webhook message
    ///
    /// Sends it again with the same `webhook-id` and a fresh attempt budget, whatever its state.
    #[oai(path = "/messages/:message_id/replay", method = "post", operation_id = "replay_webhook_message")]
    async fn replay(&self, req: &Request, auth: BackendKey, message_id: Path<Uuid>) -> Result<MessageQueued, ApiError> {
        let m = app(req)?.replay_webhook_message(&ctx(req, auth.0), message_id.0).await?;
        Ok(MessageQueued::Accepted(Json(m.into())))
    }
}
