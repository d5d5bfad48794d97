//! Backend API keys: create (shown once), list, revoke, and authenticate a presented key.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tenantry_auth::{constant_time_eq, ApiKeySecret};
use tenantry_core::events::AuditAction;
use tenantry_core::{ApiKeyId, DomainError};
use tenantry_store::api_keys::{self as store, ApiKeyRow};

use crate::record::{audit, Audit};
use crate::users::parse_cursor;
use crate::{authz, Actor, App, AppResult, Ctx, Page};

/// An API key as listed: never its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub display_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(r: ApiKeyRow) -> ApiKey {
        ApiKey {
            id: ApiKeyId::from_uuid(r.id),
            name: r.name,
            display_prefix: r.display_prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// A key just created, with the secret that is shown this once.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: ApiKeySecret,
}

/// How often `last_used_at` is refreshed at most.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

impl App {
    pub async fn create_api_key(&self, ctx: &Ctx, name: &str) -> AppResult<CreatedApiKey> {
        authz::require_backend(&ctx.actor)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(DomainError::invalid_field(
                "invalid-api-key-name",
                "name",
                "A key name is 1 to 100 characters, without control characters.",
            )
            .into());
        }
        let secret = ApiKeySecret::generate();
        let now = self.clock().now();
        let row = ApiKeyRow {
            id: ApiKeyId::new().as_uuid(),
            name: name.to_owned(),
            display_prefix: secret.display_prefix(),
            secret_hash: secret.hash(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.db().begin().await?;
        store::insert_api_key(tx.ex(), &row).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit {
                action: AuditAction::ApiKeyCreated,
                org_id: None,
                target_kind: "api_key",
                target_id: Some(row.id.to_string()),
                details: json!({ "name": row.name }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedApiKey { key: ApiKey::from(row), secret })
    }

    pub async fn list_api_keys(&self, ctx: &Ctx, cursor: Option<&str>, limit: u32) -> AppResult<Page<ApiKey>> {
        authz::require_backend(&ctx.actor)?;
        let after = parse_cursor(cursor)?;
        let mut c = self.db().acquire().await?;
        let limit = crate::paging::limit(limit);
        let rows = store::list_api_keys(c.ex(), after, limit + 1).await?;
        Ok(Page::from_overfetch(rows.into_iter().map(ApiKey::from).collect(), limit, |k| k.id.to_string()))
    }

    /// Revokes a key; it stops working on the next request on every node (keys are not cached).
    pub async fn revoke_api_key(&self, ctx: &Ctx, id: ApiKeyId) -> AppResult<ApiKey> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        if store::revoke_api_key(tx.ex(), id.as_uuid(), now).await? == 0 {
            return Err(DomainError::not_found("api-key-not-found", "No live API key has this id.").into());
        }
        audit(
            &mut tx,
            ctx,
            now,
            Audit {
                action: AuditAction::ApiKeyRevoked,
                org_id: None,
                target_kind: "api_key",
                target_id: Some(id.to_string()),
                details: json!({}),
            },
        )
        .await?;
        let row = store::get_api_key(tx.ex(), id.as_uuid()).await?;
        tx.commit().await?;
        row.map(ApiKey::from)
            .ok_or_else(|| DomainError::not_found("api-key-not-found", "No API key has this id.").into())
    }

    /// Resolves a presented backend key to its actor. Every call reads the database, so a revoked
    /// key fails at once everywhere.
    pub async fn authenticate_api_key(&self, presented: &str) -> AppResult<Actor> {
        let invalid = || {
            DomainError::unauthenticated("invalid-api-key", "The API key is missing, malformed, revoked or unknown.")
        };
        let secret = ApiKeySecret::parse(presented).ok_or_else(invalid)?;
        let hash = secret.hash();
        let mut c = self.db().acquire().await?;
        let row = store::find_live_api_key_by_hash(c.ex(), &hash).await?.ok_or_else(invalid)?;
        if !constant_time_eq(&row.secret_hash, &hash) {
            return Err(invalid().into());
        }
        let now = self.clock().now();
        if row.last_used_at.is_none_or(|t| t < now - LAST_USED_RESOLUTION) {
            if let Err(e) = store::touch_api_key(c.ex(), row.id, now, now - LAST_USED_RESOLUTION).await {
                tracing::warn!(error = %e, "could not record API key use");
            }
        }
        Ok(Actor::ApiKey(ApiKeyId::from_uuid(row.id)))
    }
}
