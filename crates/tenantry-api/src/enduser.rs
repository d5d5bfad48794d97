//! The end-user API (`/api/v1/…`): what a signed-in person (or someone signing in) can do. The
//! hosted pages call the same use cases.

pub mod account;
pub mod orgs;

use poem::Request;
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::{SecurityScheme, Tags};
use tenantry_app::{Actor, App};
use tenantry_core::UserId;
use uuid::Uuid;

use crate::ApiError;

/// The session cookie set at sign-in (HttpOnly, SameSite=Lax, Secure on https deployments).
pub const SESSION_COOKIE: &str = "tenantry_session";

#[derive(Tags)]
pub enum EndUserTag {
    /// Signing up, in and out; tokens.
    Authentication,
    /// The signed-in user's own account.
    Account,
    /// Organizations the signed-in user belongs to, their members and invitations.
    Orgs,
}

/// A signed-in user: who, and through which session.
#[derive(Debug, Clone, Copy)]
pub struct SignedInUser {
    pub user_id: UserId,
    pub session_id: Uuid,
}

impl SignedInUser {
    pub fn actor(&self) -> Actor {
        Actor::User(self.user_id)
    }
}

/// A Tenantry access token (`Authorization: Bearer …`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_access_token")]
pub struct AccessToken(SignedInUser);

/// The hosted-pages session cookie.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "tenantry_session", key_in = "cookie", checker = "check_session_cookie")]
pub struct SessionCookie(SignedInUser);

/// Either credential of a signed-in user.
#[derive(SecurityScheme)]
pub enum UserAuth {
    AccessToken(AccessToken),
    SessionCookie(SessionCookie),
}

impl UserAuth {
    pub fn user(&self) -> SignedInUser {
        match self {
            UserAuth::AccessToken(t) => t.0,
            UserAuth::SessionCookie(c) => c.0,
        }
    }
}

fn app(req: &Request) -> poem::Result<&App> {
    req.data::<App>().ok_or_else(|| poem::Error::from(ApiError::internal()))
}

async fn check_access_token(req: &Request, bearer: Bearer) -> poem::Result<SignedInUser> {
    let (user_id, session_id) =
        app(req)?.authenticate_access_token(&bearer.token).await.map_err(|e| poem::Error::from(ApiError::from(e)))?;
    Ok(SignedInUser { user_id, session_id })
}

async fn check_session_cookie(req: &Request, key: ApiKey) -> poem::Result<SignedInUser> {
    let session = app(req)?.session_by_cookie(&key.key).await.map_err(|e| poem::Error::from(ApiError::from(e)))?;
    match session {
        Some(s) => Ok(SignedInUser { user_id: s.user_id, session_id: s.id }),
        None => Err(ApiError::from(tenantry_core::DomainError::unauthenticated(
            "session-ended",
            "The session has ended. Sign in again.",
        ))
        .into()),
    }
}
