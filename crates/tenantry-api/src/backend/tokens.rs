//! `/api/backend/v1/…` for tokens and sessions: validate an access token, issue one for a user,
//! list and end a user's sessions.

use std::collections::BTreeMap;

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenantry_auth::tokens::AccessClaims;
use tenantry_core::UserId;
use uuid::Uuid;

use super::users::Deleted;
use super::BackendTag;
use crate::enduser::account::{SessionList, SessionOut, TokensOut};
use crate::security::{app, ctx, BackendKey};
use crate::ApiError;

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ValidateIn {
    pub access_token: String,
}

/// One organization in a token.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct OrgClaimOut {
    pub org_id: String,
    pub name: String,
    pub slug: String,
    pub role: String,
    pub inherited_roles: Vec<String>,
    pub additional_roles: Vec<String>,
    pub permissions: Vec<String>,
}

/// The verified claims of an access token.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ClaimsOut {
    pub iss: String,
    /// The user id.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The session id.
    pub sid: String,
    pub email: String,
    pub email_verified: bool,
    /// By org id.
    pub orgs: BTreeMap<String, OrgClaimOut>,
    pub active_org_id: Option<String>,
}

impl From<AccessClaims> for ClaimsOut {
    fn from(c: AccessClaims) -> ClaimsOut {
        ClaimsOut {
            iss: c.iss,
            sub: c.sub,
            iat: c.iat,
            exp: c.exp,
            jti: c.jti,
            sid: c.sid,
            email: c.email,
            email_verified: c.email_verified,
            orgs: c
                .orgs
                .into_iter()
                .map(|(k, o)| {
                    (
                        k,
                        OrgClaimOut {
                            org_id: o.org_id,
                            name: o.name,
                            slug: o.slug,
                            role: o.role,
                            inherited_roles: o.inherited_roles,
                            additional_roles: o.additional_roles,
                            permissions: o.permissions,
                        },
                    )
                })
                .collect(),
            active_org_id: c.active_org_id,
        }
    }
}

pub struct TokensApi;

#[OpenApi(prefix_path = "/api/backend/v1", tag = "BackendTag::Tokens")]
impl TokensApi {
    /// Validate an access token
    ///
    /// Checks signature, type, issuer and expiry against the published keys, and that the token's
    /// session is still live; returns the claims. (SaaS backends usually verify locally against
    /// the JWKS instead, trading revocation for speed: a token lives 15 minutes.)
    #[oai(path = "/tokens/validate", method = "post", operation_id = "validate_access_token")]
    async fn validate(
        &self,
        req: &Request,
        auth: BackendKey,
        body: Json<ValidateIn>,
    ) -> Result<Json<ClaimsOut>, ApiError> {
        tenantry_app::authz::require_backend(&auth.0).map_err(ApiError::from)?;
        let claims = app(req)?.validate_access_token_live(&body.0.access_token).await?;
        Ok(Json(claims.into()))
    }

    /// Issue an access token for a user
    ///
    /// For support tooling and tests. The token belongs to a new session, revocable like any other.
    #[oai(path = "/users/:user_id/access-token", method = "post", operation_id = "create_access_token")]
    async fn create(&self, req: &Request, auth: BackendKey, user_id: Path<Uuid>) -> Result<Json<TokensOut>, ApiError> {
        let tokens = app(req)?.create_access_token(&ctx(req, auth.0), UserId::from_uuid(user_id.0)).await?;
        Ok(Json(tokens.into()))
    }

    /// List a user's sessions
    #[oai(path = "/users/:user_id/sessions", method = "get", operation_id = "list_user_sessions")]
    async fn sessions(
        &self,
        req: &Request,
        auth: BackendKey,
        user_id: Path<Uuid>,
    ) -> Result<Json<SessionList>, ApiError> {
        let sessions = app(req)?.list_sessions(&ctx(req, auth.0), UserId::from_uuid(user_id.0)).await?;
        Ok(Json(SessionList {
            sessions: sessions
                .into_iter()
                .map(|s| SessionOut {
                    session_id: s.id,
                    created_at: s.created_at,
                    last_seen_at: s.last_seen_at,
                    expires_at: s.expires_at,
                    ip: s.ip,
                    user_agent: s.user_agent,
                    amr: s.amr,
                    current: false,
                })
                .collect(),
        }))
    }

    /// End all of a user's sessions
    #[oai(path = "/users/:user_id/sessions", method = "delete", operation_id = "revoke_user_sessions")]
    async fn revoke_all(&self, req: &Request, auth: BackendKey, user_id: Path<Uuid>) -> Result<Deleted, ApiError> {
        app(req)?.revoke_sessions(&ctx(req, auth.0), UserId::from_uuid(user_id.0), None).await?;
        Ok(Deleted::NoContent)
    }
}
