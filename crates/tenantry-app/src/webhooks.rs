//! Webhook endpoints and their messages, as the backend API administers them: create (the secret
//! is shown), list, fetch, update, disable/enable, delete, rotate or reveal the secret, send a test
//! event; list messages and attempts, replay one message or every failed one since a time.
//!
//! Secrets are sealed at rest under the master key with the endpoint id as associated data. A
//! rotation keeps the previous secret signing beside the new one for `webhooks.secret_overlap`.
//! Delivery itself is `tenantry_webhooks::WebhookWorker`'s.

use chrono::{DateTime, Utc};
use serde_json::json;
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::{DomainError, ErrorKind, EventId, WebhookEndpointId, WebhookMessageId};
use tenantry_store::webhooks::{self as store, AttemptRow, EndpointRow, MessageQuery, MessageRow, MessageState};
use tenantry_store::Json;
use tenantry_webhooks::target::{check_target, parse_target_url, SystemResolver, TargetError};
use tenantry_webhooks::{WebhookSecret, WebhookWorker};
use uuid::Uuid;

use crate::record::{audit, Audit};
use crate::users::parse_cursor;
use crate::{authz, App, AppError, AppResult, Ctx, Page, Patch};

/// The event type of messages sent by "send a test event".
pub const TEST_EVENT_TYPE: &str = "webhook.test";
/// The longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// An endpoint as the use cases show it: never its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// Empty: every event type.
    pub event_types: Vec<String>,
    pub disabled: bool,
    /// Why it is disabled: `manual` (through the API) or `failing` (by the worker, after it failed
    /// continuously for `webhooks.disable_after_failing`).
    pub disabled_reason: Option<String>,
    /// When its current unbroken run of failed attempts began.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs, if it does.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EndpointRow> for Endpoint {
    fn from(r: EndpointRow) -> Endpoint {
        Endpoint {
            id: r.id,
            url: r.url,
            description: r.description,
            event_types: r.event_types.0,
            disabled: r.disabled,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            previous_secret_expires_at: r.previous_expires_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// An endpoint with its secret: on creation, rotation and on request.
#[derive(Debug, Clone)]
pub struct EndpointWithSecret {
    pub endpoint: Endpoint,
    pub secret: WebhookSecret,
}

/// Input of [`App::create_webhook_endpoint`].
#[derive(Debug, Clone, Default)]
pub struct CreateEndpoint {
    pub url: String,
    /// Event type names; empty for every event type.
    pub event_types: Vec<String>,
    pub description: Option<String>,
}

/// Input of [`App::update_webhook_endpoint`]; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UpdateEndpoint {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Patch<String>,
}

/// A message: one event for one endpoint, with its delivery state.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: Uuid,
    /// The `webhook-id` of every attempt.
    pub event_id: Uuid,
    pub endpoint_id: Uuid,
    pub event_type: String,
    pub state: MessageState,
    pub attempts: i32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// The exact body sent.
    pub payload: String,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Message {
        Message {
            id: r.id,
            event_id: r.event_id,
            endpoint_id: r.endpoint_id,
            event_type: r.event_type,
            next_attempt_at: (r.state == MessageState::Pending).then_some(r.next_attempt_at),
            state: r.state,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            payload: r.payload,
            occurred_at: r.occurred_at,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
        }
    }
}

/// One delivery attempt.
pub type Attempt = AttemptRow;

/// See [`App::webhook_queue`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStats {
    pub by_state: Vec<(&'static str, i64)>,
    /// 0 when nothing is pending.
    pub oldest_pending_age_secs: f64,
    pub events_awaiting_fanout: i64,
}

/// Filters of [`App::list_webhook_messages`].
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub endpoint_id: Option<Uuid>,
    pub event_type: Option<String>,
    pub state: Option<String>,
}

fn endpoint_not_found() -> AppError {
    DomainError::not_found("webhook-endpoint-not-found", "No webhook endpoint has this id.").into()
}

fn message_not_found() -> AppError {
    DomainError::not_found("webhook-message-not-found", "No webhook message has this id.").into()
}

/// The URL's problem as a field error on `url`.
fn url_error(e: TargetError) -> DomainError {
    let code = match e {
        TargetError::Invalid(_) => "invalid-url",
        TargetError::Scheme => "url-scheme-not-allowed",
        TargetError::Forbidden => "url-target-not-allowed",
    };
    DomainError::invalid_field(code, "url", e.to_string())
}

/// Event type names, each known, without repeats, in the order given.
fn parse_event_types(raw: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::new();
    for name in raw {
        let Some(t) = EventType::parse(name.trim()) else {
            return Err(DomainError::invalid_field(
                "unknown-event-type",
                "event_types",
                format!("{name:?} is not an event type; see the webhook documentation for the list."),
            ));
        };
        if !out.iter().any(|o| o == t.as_str()) {
            out.push(t.as_str().to_owned());
        }
    }
    Ok(out)
}

fn parse_description(raw: Option<&str>) -> Result<Option<String>, DomainError> {
    let Some(d) = raw.map(str::trim).filter(|d| !d.is_empty()) else { return Ok(None) };
    if d.chars().count() > MAX_DESCRIPTION_CHARS || d.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::invalid_field(
            "invalid-description",
            "description",
            format!("A description is at most {MAX_DESCRIPTION_CHARS} characters, without control characters."),
        ));
    }
    Ok(Some(d.to_owned()))
}

/// Collects field errors into one `invalid-input` error when there are several.
fn collect(errors: Vec<DomainError>) -> Result<(), DomainError> {
    let mut errors = errors.into_iter();
    let Some(mut first) = errors.next() else { return Ok(()) };
    let rest: Vec<DomainError> = errors.collect();
    if !rest.is_empty() {
        first.code = "invalid-input";
        first.kind = ErrorKind::Invalid;
        first.detail = "Several fields are invalid; see `errors`.".to_owned();
        first.fields.extend(rest.into_iter().flat_map(|e| e.fields));
    }
    Err(first)
}

fn endpoint_audit(action: AuditAction, id: Uuid, details: serde_json::Value) -> Audit {
    Audit { action, org_id: None, target_kind: "webhook_endpoint", target_id: Some(id.to_string()), details }
}

impl App {
    /// A delivery worker over this deployment's database, clock, master key and settings.
    pub fn webhook_worker(&self) -> AppResult<WebhookWorker> {
        WebhookWorker::new(
            self.db().clone(),
            self.clock_handle(),
            self.keyring.clone(),
            self.settings().webhooks.clone(),
        )
        .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// The delivery queue as `/metrics` shows it: messages in each state (every state listed),
    /// the age of the oldest pending one, and the events not fanned out yet.
    pub async fn webhook_queue(&self) -> AppResult<QueueStats> {
        let mut c = self.db().acquire().await?;
        let counts = store::count_messages_by_state(c.ex()).await?;
        let by_state = MessageState::ALL
            .into_iter()
            .map(|s| (s.as_str(), counts.iter().find(|(state, _)| *state == s).map_or(0, |(_, n)| *n)))
            .collect();
        let oldest = store::oldest_pending_created_at(c.ex()).await?;
        let oldest_pending_age_secs = oldest.map_or(0.0, |t| (self.clock().now() - t).as_seconds_f64().max(0.0));
        let events_awaiting_fanout = store::count_events_awaiting_fanout(c.ex()).await?;
        Ok(QueueStats { by_state, oldest_pending_age_secs, events_awaiting_fanout })
    }

    /// A checked target URL, normalized.
    async fn target_url(&self, raw: &str) -> Result<String, DomainError> {
        let allow_private = self.settings().webhooks.allow_private_targets;
        let url = parse_target_url(raw, allow_private).map_err(url_error)?;
        check_target(&url, allow_private, &SystemResolver).await.map_err(url_error)?;
        Ok(url.to_string())
    }

    fn unseal(&self, endpoint: &EndpointRow) -> AppResult<WebhookSecret> {
        self.keyring
            .open(&endpoint.secret_sealed, endpoint.id.as_bytes())
            .ok()
            .and_then(WebhookSecret::from_key)
            .ok_or_else(|| {
                AppError::Internal(format!("webhook endpoint {} has a secret that does not unseal", endpoint.id))
            })
    }

    pub async fn create_webhook_endpoint(&self, ctx: &Ctx, input: CreateEndpoint) -> AppResult<EndpointWithSecret> {
        authz::require_backend(&ctx.actor)?;
        let url = self.target_url(&input.url).await;
        let event_types = parse_event_types(&input.event_types);
        let description = parse_description(input.description.as_deref());
        collect(
            [url.as_ref().err(), event_types.as_ref().err(), description.as_ref().err()]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        )?;
        let (url, event_types, description) = (url?, event_types?, description?);
        let secret = WebhookSecret::generate();
        let now = self.clock().now();
        let id = Uuid::now_v7();
        let row = EndpointRow {
            id,
            url,
            description,
            event_types: Json(event_types),
            disabled: false,
            secret_sealed: self.keyring.seal(secret.key(), id.as_bytes()),
            previous_secret_sealed: None,
            previous_expires_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
            failing_since: None,
            disabled_reason: None,
        };
        let mut tx = self.db().begin().await?;
        store::insert_endpoint(tx.ex(), &row).await?;
        let details = json!({ "url": row.url, "event_types": row.event_types.0 });
        audit(&mut tx, ctx, now, endpoint_audit(AuditAction::WebhookEndpointCreated, id, details)).await?;
        tx.commit().await?;
        Ok(EndpointWithSecret { endpoint: row.into(), secret })
    }

    pub async fn list_webhook_endpoints(
        &self,
        ctx: &Ctx,
        cursor: Option<&str>,
        limit: u32,
    ) -> AppResult<Page<Endpoint>> {
        authz::require_backend(&ctx.actor)?;
        let after = parse_cursor(cursor)?;
        let mut c = self.db().acquire().await?;
        let limit = crate::paging::limit(limit);
        let rows = store::list_endpoints(c.ex(), after.map(WebhookEndpointId::from_uuid), limit + 1).await?;
        Ok(Page::from_overfetch(rows.into_iter().map(Endpoint::from).collect(), limit, |e| e.id.to_string()))
    }

    pub async fn get_webhook_endpoint(&self, ctx: &Ctx, id: Uuid) -> AppResult<Endpoint> {
        authz::require_backend(&ctx.actor)?;
        let mut c = self.db().acquire().await?;
        store::get_endpoint(c.ex(), WebhookEndpointId::from_uuid(id))
            .await?
            .map(Endpoint::from)
            .ok_or_else(endpoint_not_found)
    }

    pub async fn update_webhook_endpoint(&self, ctx: &Ctx, id: Uuid, input: UpdateEndpoint) -> AppResult<Endpoint> {
        authz::require_backend(&ctx.actor)?;
        let url = match &input.url {
            Some(u) => self.target_url(u).await.map(Some),
            None => Ok(None),
        };
        let event_types = input.event_types.as_deref().map(parse_event_types).transpose();
        let description = match &input.description {
            Patch::Value(d) => parse_description(Some(d)).map(Patch::Value),
            Patch::Null => Ok(Patch::Null),
            Patch::Absent => Ok(Patch::Absent),
        };
        collect(
            [url.as_ref().err(), event_types.as_ref().err(), description.as_ref().err()]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        )?;
        let (url, event_types, description) = (url?, event_types?, description?);
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let mut row =
            store::lock_endpoint(tx.ex(), WebhookEndpointId::from_uuid(id)).await?.ok_or_else(endpoint_not_found)?;
        let before = row.clone();
        if let Some(url) = url {
            row.url = url;
        }
        if let Some(types) = event_types {
            row.event_types = Json(types);
        }
        match description {
            Patch::Value(d) => row.description = d,
            Patch::Null => row.description = None,
            Patch::Absent => {}
        }
        if row != before {
            row.version += 1;
            row.updated_at = now;
            store::update_endpoint(tx.ex(), &row).await?;
            let details = json!({ "url": row.url, "event_types": row.event_types.0 });
            audit(&mut tx, ctx, now, endpoint_audit(AuditAction::WebhookEndpointUpdated, id, details)).await?;
            tx.commit().await?;
        }
        Ok(row.into())
    }

    /// Disables or enables an endpoint. A disabled endpoint gets no new messages, and its pending
    /// ones wait until it is enabled again. Enabling starts its health afresh: an endpoint the
    /// worker disabled gets another full period before it can be disabled again.
    pub async fn set_webhook_endpoint_disabled(&self, ctx: &Ctx, id: Uuid, disabled: bool) -> AppResult<Endpoint> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let mut row =
            store::lock_endpoint(tx.ex(), WebhookEndpointId::from_uuid(id)).await?.ok_or_else(endpoint_not_found)?;
        if row.disabled != disabled {
            row.disabled = disabled;
            row.disabled_reason = disabled.then(|| store::DISABLED_MANUALLY.to_owned());
            row.failing_since = None;
            row.version += 1;
            row.updated_at = now;
            store::update_endpoint(tx.ex(), &row).await?;
            let action =
                if disabled { AuditAction::WebhookEndpointDisabled } else { AuditAction::WebhookEndpointEnabled };
            audit(&mut tx, ctx, now, endpoint_audit(action, id, json!({}))).await?;
            tx.commit().await?;
        }
        Ok(row.into())
    }

    /// Deletes an endpoint with its messages and their attempts.
    pub async fn delete_webhook_endpoint(&self, ctx: &Ctx, id: Uuid) -> AppResult<()> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        if store::delete_endpoint(tx.ex(), WebhookEndpointId::from_uuid(id)).await? == 0 {
            return Err(endpoint_not_found());
        }
        audit(&mut tx, ctx, now, endpoint_audit(AuditAction::WebhookEndpointDeleted, id, json!({}))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new secret signs from now on; the current one keeps signing beside it for the overlap, so
    /// receivers can switch at their pace (each secret verifies alone). A second rotation within the
    /// overlap drops the oldest secret.
    pub async fn rotate_webhook_secret(&self, ctx: &Ctx, id: Uuid) -> AppResult<EndpointWithSecret> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let secret = WebhookSecret::generate();
        let mut tx = self.db().begin().await?;
        let mut row =
            store::lock_endpoint(tx.ex(), WebhookEndpointId::from_uuid(id)).await?.ok_or_else(endpoint_not_found)?;
        let until = now + self.settings().webhooks.secret_overlap;
        row.previous_secret_sealed = Some(std::mem::take(&mut row.secret_sealed));
        row.previous_expires_at = Some(until);
        row.secret_sealed = self.keyring.seal(secret.key(), id.as_bytes());
        row.version += 1;
        row.updated_at = now;
        store::update_endpoint(tx.ex(), &row).await?;
        let details = json!({ "previous_secret_expires_at": until });
        audit(&mut tx, ctx, now, endpoint_audit(AuditAction::WebhookSecretRotated, id, details)).await?;
        tx.commit().await?;
        Ok(EndpointWithSecret { endpoint: row.into(), secret })
    }

    /// The current secret, for configuring a receiver; each reveal is audited.
    pub async fn get_webhook_secret(&self, ctx: &Ctx, id: Uuid) -> AppResult<WebhookSecret> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let row =
            store::get_endpoint(tx.ex(), WebhookEndpointId::from_uuid(id)).await?.ok_or_else(endpoint_not_found)?;
        let secret = self.unseal(&row)?;
        audit(&mut tx, ctx, now, endpoint_audit(AuditAction::WebhookSecretRevealed, id, json!({}))).await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Queues a `webhook.test` message for this endpoint only, due at once.
    pub async fn send_test_webhook(&self, ctx: &Ctx, id: Uuid) -> AppResult<Message> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let endpoint =
            store::get_endpoint(tx.ex(), WebhookEndpointId::from_uuid(id)).await?.ok_or_else(endpoint_not_found)?;
        let event_id = EventId::new();
        let data = json!({
            "endpoint_id": endpoint.id.to_string(),
            "version": endpoint.version,
            "message": "A test event from Tenantry.",
        });
        let body = tenantry_webhooks::sign::body(TEST_EVENT_TYPE, now, &data);
        let row =
            MessageRow::pending(event_id, WebhookEndpointId::from_uuid(endpoint.id), TEST_EVENT_TYPE, body, now, now);
        store::insert_message(tx.ex(), &row).await?;
        let details = json!({ "message_id": row.id.to_string() });
        audit(&mut tx, ctx, now, endpoint_audit(AuditAction::WebhookTestSent, id, details)).await?;
        tx.commit().await?;
        self.wake_webhooks();
        Ok(row.into())
    }

    /// Messages in creation order, optionally by endpoint, event type and state.
    pub async fn list_webhook_messages(
        &self,
        ctx: &Ctx,
        filter: MessageFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> AppResult<Page<Message>> {
        authz::require_backend(&ctx.actor)?;
        let after = parse_cursor(cursor)?;
        let state = match filter.state.as_deref() {
            None => None,
            Some(s) => Some(MessageState::parse(s).ok_or_else(|| {
                DomainError::invalid_field("invalid-state", "state", "The state is pending, delivered or failed.")
            })?),
        };
        let event_type = match filter.event_type.as_deref() {
            None => None,
            Some(TEST_EVENT_TYPE) => Some(TEST_EVENT_TYPE.to_owned()),
            Some(t) => Some(parse_event_types(&[t.to_owned()])?.remove(0)),
        };
        let limit = crate::paging::limit(limit);
        let q = MessageQuery {
            endpoint_id: filter.endpoint_id.map(WebhookEndpointId::from_uuid),
            event_type,
            state,
            after: after.map(WebhookMessageId::from_uuid),
            limit: limit + 1,
        };
        let mut c = self.db().acquire().await?;
        let rows = store::list_messages(c.ex(), &q).await?;
        Ok(Page::from_overfetch(rows.into_iter().map(Message::from).collect(), limit, |m| m.id.to_string()))
    }

    pub async fn get_webhook_message(&self, ctx: &Ctx, id: Uuid) -> AppResult<Message> {
        authz::require_backend(&ctx.actor)?;
        let mut c = self.db().acquire().await?;
        store::get_message(c.ex(), WebhookMessageId::from_uuid(id))
            .await?
            .map(Message::from)
            .ok_or_else(message_not_found)
    }

    /// The attempts of a message, oldest first.
    pub async fn list_webhook_attempts(&self, ctx: &Ctx, message_id: Uuid) -> AppResult<Vec<Attempt>> {
        authz::require_backend(&ctx.actor)?;
        let mut c = self.db().acquire().await?;
        if store::get_message(c.ex(), WebhookMessageId::from_uuid(message_id)).await?.is_none() {
            return Err(message_not_found());
        }
        Ok(store::list_attempts(c.ex(), WebhookMessageId::from_uuid(message_id)).await?)
    }

    /// Sends a message again, whatever its state, with a fresh attempt budget and the same
    /// `webhook-id`.
    pub async fn replay_webhook_message(&self, ctx: &Ctx, id: Uuid) -> AppResult<Message> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        if store::replay_message(tx.ex(), WebhookMessageId::from_uuid(id), now).await? == 0 {
            return Err(message_not_found());
        }
        let row = store::get_message(tx.ex(), WebhookMessageId::from_uuid(id)).await?.ok_or_else(message_not_found)?;
        let details = json!({ "message_id": id.to_string() });
        audit(&mut tx, ctx, now, endpoint_audit(AuditAction::WebhookMessagesReplayed, row.endpoint_id, details))
            .await?;
        tx.commit().await?;
        self.wake_webhooks();
        Ok(row.into())
    }

    /// Replays every failed message created since `since`, optionally of one endpoint; returns how
    /// many.
    pub async fn replay_failed_webhooks(
        &self,
        ctx: &Ctx,
        since: DateTime<Utc>,
        endpoint_id: Option<Uuid>,
    ) -> AppResult<u64> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        if let Some(id) = endpoint_id {
            store::get_endpoint(tx.ex(), WebhookEndpointId::from_uuid(id)).await?.ok_or_else(endpoint_not_found)?;
        }
        let n = store::replay_failed_since(tx.ex(), since, endpoint_id.map(WebhookEndpointId::from_uuid), now).await?;
        let details = json!({ "since": since, "endpoint_id": endpoint_id, "replayed": n });
        let audit_row = Audit {
            action: AuditAction::WebhookMessagesReplayed,
            org_id: None,
            target_kind: "webhook_endpoint",
            target_id: endpoint_id.map(|id| id.to_string()),
            details,
        };
        audit(&mut tx, ctx, now, audit_row).await?;
        tx.commit().await?;
        self.wake_webhooks();
        Ok(n)
    }
}

impl App {
    /// The name of every event type Tenantry sends, for the backend's event catalog: those of
    /// [`EventType::ALL`], which endpoints subscribe to, then [`TEST_EVENT_TYPE`], sent only on
    /// request.
    pub fn webhook_event_types(&self, ctx: &Ctx) -> AppResult<Vec<&'static str>> {
        authz::require_backend(&ctx.actor)?;
        Ok(EventType::ALL.iter().map(|t| t.as_str()).chain([TEST_EVENT_TYPE]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_known_names_without_repeats() {
        let ok = parse_event_types(&["user.created".into(), "org.created".into(), "user.created".into()]).unwrap();
        assert_eq!(ok, vec!["user.created", "org.created"]);
        let err = parse_event_types(&["user.created".into(), "user.exploded".into()]).unwrap_err();
        assert_eq!(err.code, "unknown-event-type");
        assert_eq!(err.fields[0].field, "event_types");
    }

    #[test]
    fn descriptions_are_bounded() {
        assert_eq!(parse_description(Some("  ")).unwrap(), None);
        assert_eq!(parse_description(Some(" billing ")).unwrap().as_deref(), Some("billing"));
        assert!(parse_description(Some(&"x".repeat(MAX_DESCRIPTION_CHARS + 1))).is_err());
        assert!(parse_description(Some("a\u{0}b")).is_err());
    }

    #[test]
    fn several_field_errors_become_one() {
        let e = collect(vec![
            DomainError::invalid_field("invalid-url", "url", "bad"),
            DomainError::invalid_field("unknown-event-type", "event_types", "bad"),
        ])
        .unwrap_err();
        assert_eq!(e.code, "invalid-input");
        assert_eq!(e.fields.len(), 2);
        assert!(collect(vec![]).is_ok());
    }
}
