//! `/api/backend/v1/users`: create, fetch, query, update, disable, enable, delete.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;
use tenantry_app::users::{CreateUser, UpdateUser, User};
use tenantry_app::{paging, Patch};
use tenantry_core::UserId;
use uuid::Uuid;

use super::BackendTag;
use crate::security::{app, ctx, BackendKey};
use crate::ApiError;

/// A user account.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct UserOut {
    pub user_id: Uuid,
    pub email: String,
    pub email_verified: bool,
    /// Whether the user can sign in with a password.
    pub has_password: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    /// Free-form properties set by the backend API.
    pub properties: BTreeMap<String, Value>,
    pub disabled: bool,
    /// Incremented on every change; webhook events carry it too.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<User> for UserOut {
    fn from(u: User) -> UserOut {
        UserOut {
            user_id: u.id.as_uuid(),
            email: u.email,
            email_verified: u.email_verified,
            has_password: u.has_password,
            first_name: u.first_name,
            last_name: u.last_name,
            username: u.username,
            properties: u.properties.into_iter().collect(),
            disabled: u.disabled,
            version: u.version,
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_login_at: u.last_login_at,
        }
    }
}

/// A new user. Without `password` the user signs in by other means (magic link, SSO) or sets one later.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct UserIn {
    pub email: String,
    /// Whether the email is already known to belong to the user. Default false.
    #[oai(default)]
    pub email_verified: bool,
    /// At least 8 characters; no composition rules.
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Unique (case-insensitively) among users.
    pub username: Option<String>,
    /// At most 16 KiB of JSON.
    pub properties: Option<BTreeMap<String, Value>>,
}

/// A partial update: absent fields stay; `null` clears a name or the username.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct UserPatch {
    /// A changed email becomes unverified unless `email_verified` is also sent.
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub username: MaybeUndefined<String>,
    /// Replaces all properties.
    pub properties: Option<BTreeMap<String, Value>>,
}

/// A new password for a user.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct PasswordIn {
    pub password: String,
}

/// A page of users.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct UserPage {
    pub users: Vec<UserOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum UserCreated {
    /// The user was created.
    #[oai(status = 201)]
    Created(Json<UserOut>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

fn patch<T>(m: MaybeUndefined<T>) -> Patch<T> {
    match m {
        MaybeUndefined::Undefined => Patch::Absent,
        MaybeUndefined::Null => Patch::Null,
        MaybeUndefined::Value(v) => Patch::Value(v),
    }
}

pub struct UsersApi;

#[OpenApi(prefix_path = "/api/backend/v1/users", tag = "BackendTag::Users")]
impl UsersApi {
    /// Create a user
    #[oai(path = "/", method = "post", operation_id = "create_user")]
    async fn create(&self, req: &Request, auth: BackendKey, body: Json<UserIn>) -> Result<UserCreated, ApiError> {
        let b = body.0;
        let input = CreateUser {
            email: b.email,
            email_verified: b.email_verified,
            password: b.password,
            first_name: b.first_name,
            last_name: b.last_name,
            username: b.username,
            properties: b.properties.map(|p| p.into_iter().collect()),
        };
        let user = app(req)?.create_user(&ctx(req, auth.0), input).await?;
        Ok(UserCreated::Created(Json(user.into())))
    }

    /// Query users
    ///
    /// Users in creation order, optionally only those whose email starts with `email_prefix`.
    #[oai(path = "/", method = "get", operation_id = "query_users")]
    async fn query(
        &self,
        req: &Request,
        auth: BackendKey,
        /// Case-insensitive prefix of the email address.
        email_prefix: Query<Option<String>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<UserPage>, ApiError> {
        let limit = paging::limit(limit.0);
        let page =
            app(req)?.query_users(&ctx(req, auth.0), email_prefix.0.as_deref(), cursor.0.as_deref(), limit).await?;
        Ok(Json(UserPage { users: page.items.into_iter().map(UserOut::from).collect(), next_cursor: page.next_cursor }))
    }

    /// Fetch a user by email
    ///
    /// Case-insensitive. Finds only users outside isolated organizations.
    #[oai(path = "/by-email", method = "get", operation_id = "get_user_by_email")]
    async fn by_email(&self, req: &Request, auth: BackendKey, email: Query<String>) -> Result<Json<UserOut>, ApiError> {
        let user = app(req)?.get_user_by_email(&ctx(req, auth.0), &email.0).await?;
        Ok(Json(user.into()))
    }

    /// Fetch a user
    #[oai(path = "/:user_id", method = "get", operation_id = "get_user")]
    async fn get(&self, req: &Request, auth: BackendKey, user_id: Path<Uuid>) -> Result<Json<UserOut>, ApiError> {
        let user = app(req)?.get_user(&ctx(req, auth.0), UserId::from_uuid(user_id.0)).await?;
        Ok(Json(user.into()))
    }

    /// Update a user
    #[oai(path = "/:user_id", method = "patch", operation_id = "update_user")]
    async fn update(
        &self,
        req: &Request,
        auth: BackendKey,
        user_id: Path<Uuid>,
        body: Json<UserPatch>,
    ) -> Result<Json<UserOut>, ApiError> {
        let b = body.0;
        let input = UpdateUser {
            email: b.email,
            email_verified: b.email_verified,
            first_name: patch(b.first_name),
            last_name: patch(b.last_name),
            username: patch(b.username),
            properties: b.properties.map(|p| p.into_iter().collect()),
        };
        let user = app(req)?.update_user(&ctx(req, auth.0), UserId::from_uuid(user_id.0), input).await?;
        Ok(Json(user.into()))
    }

    /// Set a user's password
    #[oai(path = "/:user_id/password", method = "put", operation_id = "set_user_password")]
    async fn set_password(
        &self,
        req: &Request,
        auth: BackendKey,
        user_id: Path<Uuid>,
        body: Json<PasswordIn>,
    ) -> Result<Json<UserOut>, ApiError> {
        let user =
            app(req)?.set_user_password(&ctx(req, auth.0), UserId::from_uuid(user_id.0), &body.0.password).await?;
        Ok(Json(user.into()))
    }

    /// Disable a user
    ///
    /// A disabled user cannot sign in. Disabling a disabled user changes nothing.
    #[oai(path = "/:user_id/disable", method = "post", operation_id = "disable_user")]
    async fn disable(&self, req: &Request, auth: BackendKey, user_id: Path<Uuid>) -> Result<Json<UserOut>, ApiError> {
        let user = app(req)?.set_user_disabled(&ctx(req, auth.0), UserId::from_uuid(user_id.0), true).await?;
        Ok(Json(user.into()))
    }

    /// Enable a user
    #[oai(path = "/:user_id/enable", method = "post", operation_id = "enable_user")]
    async fn enable(&self, req: &Request, auth: BackendKey, user_id: Path<Uuid>) -> Result<Json<UserOut>, ApiError> {
        let user = app(req)?.set_user_disabled(&ctx(req, auth.0), UserId::from_uuid(user_id.0), false).await?;
        Ok(Json(user.into()))
    }

    /// Delete a user
    ///
    /// Permanent. The audit trail keeps its entries about the user.
    #[oai(path = "/:user_id", method = "delete", operation_id = "delete_user")]
    async fn delete(&self, req: &Request, auth: BackendKey, user_id: Path<Uuid>) -> Result<Deleted, ApiError> {
        app(req)?.delete_user(&ctx(req, auth.0), UserId::from_uuid(user_id.0)).await?;
        Ok(Deleted::NoContent)
    }
}
