//! `/api/backend/v1/api-keys`: create (the secret is shown once), list, revoke.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenantry_app::api_keys::ApiKey;
use tenantry_app::paging;
use tenantry_core::ApiKeyId;
use uuid::Uuid;

use super::users::Deleted;
use super::BackendTag;
use crate::security::{app, ctx, BackendKey};
use crate::ApiError;

/// An API key, without its secret.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ApiKeyOut {
    pub api_key_id: Uuid,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub display_prefix: String,
    pub created_at: DateTime<Utc>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> ApiKeyOut {
        ApiKeyOut {
            api_key_id: k.id.as_uuid(),
            name: k.name,
            display_prefix: k.display_prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ApiKeyIn {
    /// What the key is for, 1 to 100 characters.
    pub name: String,
}

/// A new key and its secret. The secret is shown this once; only its hash is kept.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ApiKeyCreatedOut {
    pub api_key: ApiKeyOut,
    pub secret: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ApiKeyPage {
    pub api_keys: Vec<ApiKeyOut>,
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum ApiKeyCreated {
    /// The key was created.
    #[oai(status = 201)]
    Created(Json<ApiKeyCreatedOut>),
}

pub struct ApiKeysApi;

#[OpenApi(prefix_path = "/api/backend/v1/api-keys", tag = "BackendTag::ApiKeys")]
impl ApiKeysApi {
    /// Create an API key
    #[oai(path = "/", method = "post", operation_id = "create_api_key")]
    async fn create(&self, req: &Request, auth: BackendKey, body: Json<ApiKeyIn>) -> Result<ApiKeyCreated, ApiError> {
        let created = app(req)?.create_api_key(&ctx(req, auth.0), &body.0.name).await?;
        Ok(ApiKeyCreated::Created(Json(ApiKeyCreatedOut {
            api_key: created.key.into(),
            secret: created.secret.expose().to_owned(),
        })))
    }

    /// List API keys
    #[oai(path = "/", method = "get", operation_id = "list_api_keys")]
    async fn list(
        &self,
        req: &Request,
        auth: BackendKey,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<ApiKeyPage>, ApiError> {
        let limit = paging::limit(limit.0);
        let page = app(req)?.list_api_keys(&ctx(req, auth.0), cursor.0.as_deref(), limit).await?;
        Ok(Json(ApiKeyPage {
            api_keys: page.items.into_iter().map(ApiKeyOut::from).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// Revoke an API key
    ///
    /// The key stops working on the next request, on every node.
    #[oai(path = "/:api_key_id", method = "delete", operation_id = "revoke_api_key")]
    async fn revoke(&self, req: &Request, auth: BackendKey, api_key_id: Path<Uuid>) -> Result<Deleted, ApiError> {
        app(req)?.revoke_api_key(&ctx(req, auth.0), ApiKeyId::from_uuid(api_key_id.0)).await?;
        Ok(Deleted::NoContent)
    }
}
