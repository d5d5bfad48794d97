//! `/api/v1/…`: signup, email verification, login, refresh, logout, password reset and change,
//! email change, the signed-in user and their sessions.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenantry_app::accounts::Signup;
use tenantry_app::sessions::{Session, SignedIn, Tokens};
use tenantry_app::sign_in::{SignInState, SignInStep};
use tenantry_app::users::UpdateUser;
use tenantry_app::{App, Patch};
use uuid::Uuid;

use super::{EndUserTag, SessionCookie, SessionCookieSpec, UserAuth};
use crate::backend::users::UserOut;
use crate::security::{app, ctx};
use crate::ApiError;

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct SignupIn {
    pub email: String,
    /// At least 8 characters; no composition rules.
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct EmailIn {
    pub email: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct TokenIn {
    /// The token from the emailed link.
    pub token: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct LoginIn {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct RefreshIn {
    pub refresh_token: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct LogoutIn {
    /// End every session of the user, not only this one.
    #[oai(default)]
    pub everywhere: bool,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ResetIn {
    pub token: String,
    pub password: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ChangePasswordIn {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ChangeEmailIn {
    pub new_email: String,
    /// The current password.
    pub password: String,
}

/// The signed-in user's own profile fields; absent fields stay as they are, `null` clears one.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct ProfileIn {
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
}

fn patch<T>(m: MaybeUndefined<T>) -> Patch<T> {
    match m {
        MaybeUndefined::Undefined => Patch::Absent,
        MaybeUndefined::Null => Patch::Null,
        MaybeUndefined::Value(v) => Patch::Value(v),
    }
}

/// An access token for the hosted session (`POST /api/v1/session/token`).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct SessionTokenOut {
    /// A JWT (EdDSA) verifiable against `/.well-known/jwks.json`, for the session's active org.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires; ask again for a new one.
    pub expires_in: i64,
}

/// Tokens for a signed-in user.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct TokensOut {
    /// A JWT (EdDSA) verifiable against `/.well-known/jwks.json`.
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque; exchange it at `/api/v1/token/refresh`. Each use returns a new one.
    pub refresh_token: String,
    pub session_id: Uuid,
}

impl From<Tokens> for TokensOut {
    fn from(t: Tokens) -> TokensOut {
        TokensOut {
            access_token: t.access_token,
            token_type: "Bearer".into(),
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
            session_id: t.session_id,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct LoginOut {
    pub tokens: TokensOut,
    pub user: UserOut,
    /// The deployment requires every user to belong to an organization and this user belongs to
    /// none: create one or accept an invitation next.
    pub needs_org: bool,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct SessionOut {
    pub session_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// How it was signed in, as its access tokens say (`amr`, RFC 8176): `pwd`, `otp`, `saml`,
    /// `mfa` (the SSO connection's IdP enforces MFA), `email` (an emailed link); empty for a
    /// session the backend API opened for the user.
    pub amr: Vec<String>,
    /// Whether this is the session making the request.
    pub current: bool,
}

fn session_out(s: Session, current: Option<Uuid>) -> SessionOut {
    SessionOut {
        session_id: s.id,
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        expires_at: s.expires_at,
        ip: s.ip,
        user_agent: s.user_agent,
        amr: s.amr,
        current: Some(s.id) == current,
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct SessionList {
    pub sessions: Vec<SessionOut>,
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Accepted. If the address can receive mail for this, a message is on its way.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum Done {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

// Built once per sign-in and returned at once: boxing the signed-in answer would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(ApiResponse)]
pub enum LoginResponse {
    /// Signed in. The session cookie is set for the hosted pages.
    #[oai(status = 200)]
    Ok(Json<LoginOut>, #[oai(header = "Set-Cookie")] String),
    /// The password is right and the account has two-factor authentication: send a code with the
    /// `pending_token` to `POST /api/v1/login/second-factor`. No session exists yet.
    #[oai(status = 202)]
    SecondFactor(Json<SecondFactorRequiredOut>),
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct SecondFactorRequiredOut {
    /// Good only for `POST /api/v1/login/second-factor`, for `expires_in` seconds and 5 codes.
    pub pending_token: String,
    pub expires_in: i64,
    /// What may follow: `totp` (a code from the authenticator app) or `backup_code`.
    pub methods: Vec<String>,
}

/// The answer to a sign-in step: signed in, or a second factor to follow.
pub(crate) fn login_answer(app: &App, state: SignInState) -> LoginResponse {
    match state {
        SignInState::Complete(signed_in) => login_response(app, *signed_in),
        SignInState::SecondFactor { pending_token, expires_in } => {
            LoginResponse::SecondFactor(Json(SecondFactorRequiredOut {
                pending_token,
                expires_in,
                methods: vec!["totp".into(), "backup_code".into()],
            }))
        }
    }
}

#[derive(ApiResponse)]
pub enum LogoutResponse {
    /// Signed out; the session cookie is cleared.
    #[oai(status = 204)]
    NoContent(#[oai(header = "Set-Cookie")] String),
}

fn login_response(app: &App, s: SignedIn) -> LoginResponse {
    let cookie = SessionCookieSpec::of(app).set(&s.cookie_secret, app.settings().auth.session_ttl.num_seconds());
    LoginResponse::Ok(Json(LoginOut { tokens: s.tokens.into(), user: s.user.into(), needs_org: s.needs_org }), cookie)
}

pub(crate) fn user_agent(req: &Request) -> Option<&str> {
    req.headers().get("user-agent").and_then(|v| v.to_str().ok())
}

pub struct AccountApi;

#[OpenApi(prefix_path = "/api/v1", tag = "EndUserTag::Authentication")]
impl AccountApi {
    /// Sign up
    ///
    /// Creates an account and emails a verification link. Answers the same when the email is
    /// already taken (nothing is created then), so the answer does not reveal who has an account.
    #[oai(path = "/signup", method = "post", operation_id = "signup")]
    async fn signup(&self, req: &Request, body: Json<SignupIn>) -> Result<Accepted, ApiError> {
        let b = body.0;
        let input = Signup { email: b.email, password: b.password, first_name: b.first_name, last_name: b.last_name };
        app(req)?.signup(&ctx(req, tenantry_app::Actor::Anonymous), input).await?;
        Ok(Accepted::Accepted)
    }

    /// Verify an email address
    #[oai(path = "/email/verify", method = "post", operation_id = "verify_email")]
    async fn verify_email(&self, req: &Request, body: Json<TokenIn>) -> Result<Json<UserOut>, ApiError> {
        let user = app(req)?.verify_email(&ctx(req, tenantry_app::Actor::Anonymous), &body.0.token).await?;
        Ok(Json(user.into()))
    }

    /// Send the verification link again
    #[oai(path = "/email/verify/resend", method = "post", operation_id = "resend_verification")]
    async fn resend_verification(&self, req: &Request, body: Json<EmailIn>) -> Result<Accepted, ApiError> {
        app(req)?.resend_verification(&ctx(req, tenantry_app::Actor::Anonymous), &body.0.email).await?;
        Ok(Accepted::Accepted)
    }

    /// Sign in with email and password
    ///
    /// Throttled per account and per address: after 5 failures, each attempt waits longer
    /// (429 with `Retry-After`).
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(&self, req: &Request, body: Json<LoginIn>) -> Result<LoginResponse, ApiError> {
        let app = app(req)?;
        let step = SignInStep::Password { email: &body.0.email, password: &body.0.password };
        let state = app.sign_in(&ctx(req, tenantry_app::Actor::Anonymous), step, user_agent(req)).await?;
        Ok(login_answer(app, state))
    }

    /// Exchange a refresh token
    ///
    /// Returns a new access token and a new refresh token; the old refresh token is spent.
    /// Presenting a spent refresh token ends its session.
    #[oai(path = "/token/refresh", method = "post", operation_id = "refresh_token")]
    async fn refresh(&self, req: &Request, body: Json<RefreshIn>) -> Result<Json<TokensOut>, ApiError> {
        let tokens = app(req)?.refresh(&ctx(req, tenantry_app::Actor::Anonymous), &body.0.refresh_token).await?;
        Ok(Json(tokens.into()))
    }

    /// Sign out
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, req: &Request, auth: UserAuth, body: Json<LogoutIn>) -> Result<LogoutResponse, ApiError> {
        let me = auth.user();
        let app = app(req)?;
        app.logout(&me.ctx(req), body.0.everywhere).await?;
        Ok(LogoutResponse::NoContent(SessionCookieSpec::of(app).clear()))
    }

    /// Ask for a password reset link
    ///
    /// Answers the same whether or not the email has an account.
    #[oai(path = "/password/forgot", method = "post", operation_id = "forgot_password")]
    async fn forgot(&self, req: &Request, body: Json<EmailIn>) -> Result<Accepted, ApiError> {
        app(req)?.forgot_password(&ctx(req, tenantry_app::Actor::Anonymous), &body.0.email).await?;
        Ok(Accepted::Accepted)
    }

    /// Reset the password with an emailed link
    ///
    /// Ends every session of the user.
    #[oai(path = "/password/reset", method = "post", operation_id = "reset_password")]
    async fn reset(&self, req: &Request, body: Json<ResetIn>) -> Result<Done, ApiError> {
        app(req)?.reset_password(&ctx(req, tenantry_app::Actor::Anonymous), &body.0.token, &body.0.password).await?;
        Ok(Done::NoContent)
    }

    /// An access token for the hosted session
    ///
    /// For a single-page app on an allowed origin (`http.allowed_origins`, same-site with this
    /// deployment): a credentialed `fetch` with the session cookie set by the hosted sign-in page
    /// and `Content-Type: application/json` answers an access token for that session and its
    /// active organization. No new session and no refresh token: ask again before it expires; it
    /// stops working when the session ends.
    #[oai(path = "/session/token", method = "post", operation_id = "session_token")]
    async fn session_token(&self, req: &Request, auth: SessionCookie) -> Result<Json<SessionTokenOut>, ApiError> {
        let token = app(req)?.session_access_token(&auth.0.ctx(req)).await?;
        Ok(Json(SessionTokenOut {
            access_token: token.access_token,
            token_type: "Bearer".into(),
            expires_in: token.expires_in,
        }))
    }

    /// Confirm an email change with the link sent to the new address
    #[oai(path = "/email/change/confirm", method = "post", operation_id = "confirm_email_change")]
    async fn confirm_email_change(&self, req: &Request, body: Json<TokenIn>) -> Result<Json<UserOut>, ApiError> {
        let user = app(req)?.confirm_email_change(&ctx(req, tenantry_app::Actor::Anonymous), &body.0.token).await?;
        Ok(Json(user.into()))
    }
}

pub struct MeApi;

#[OpenApi(prefix_path = "/api/v1/me", tag = "EndUserTag::Account")]
impl MeApi {
    /// The signed-in user
    #[oai(path = "/", method = "get", operation_id = "get_me")]
    async fn me(&self, req: &Request, auth: UserAuth) -> Result<Json<UserOut>, ApiError> {
        let user = app(req)?.me(&auth.ctx(req)).await?;
        Ok(Json(user.into()))
    }

    /// Change my name
    ///
    /// Only the first and last name; the email address changes through `POST /api/v1/me/email`.
    #[oai(path = "/", method = "patch", operation_id = "update_me")]
    async fn update_me(&self, req: &Request, auth: UserAuth, body: Json<ProfileIn>) -> Result<Json<UserOut>, ApiError> {
        let me = auth.user();
        let input = UpdateUser {
            first_name: patch(body.0.first_name),
            last_name: patch(body.0.last_name),
            ..UpdateUser::default()
        };
        let user = app(req)?.update_user(&me.ctx(req), me.user_id, input).await?;
        Ok(Json(user.into()))
    }

    /// Change the password
    ///
    /// Needs the current password. Every other session ends.
    #[oai(path = "/password", method = "post", operation_id = "change_password")]
    async fn change_password(
        &self,
        req: &Request,
        auth: UserAuth,
        body: Json<ChangePasswordIn>,
    ) -> Result<Done, ApiError> {
        let me = auth.user();
        app(req)?.change_password(&me.ctx(req), &body.0.current_password, &body.0.new_password).await?;
        Ok(Done::NoContent)
    }

    /// Change the email address
    ///
    /// Sends a confirmation link to the new address; nothing changes until it is followed.
    #[oai(path = "/email", method = "post", operation_id = "change_email")]
    async fn change_email(
        &self,
        req: &Request,
        auth: UserAuth,
        body: Json<ChangeEmailIn>,
    ) -> Result<Accepted, ApiError> {
        app(req)?.request_email_change(&auth.ctx(req), &body.0.new_email, &body.0.password).await?;
        Ok(Accepted::Accepted)
    }

    /// List my sessions
    #[oai(path = "/sessions", method = "get", operation_id = "list_my_sessions")]
    async fn sessions(&self, req: &Request, auth: UserAuth) -> Result<Json<SessionList>, ApiError> {
        let me = auth.user();
        let sessions = app(req)?.list_sessions(&me.ctx(req), me.user_id).await?;
        Ok(Json(SessionList {
            sessions: sessions.into_iter().map(|s| session_out(s, Some(me.session.id.as_uuid()))).collect(),
        }))
    }

    /// End one of my sessions
    #[oai(path = "/sessions/:session_id", method = "delete", operation_id = "revoke_my_session")]
    async fn revoke_session(&self, req: &Request, auth: UserAuth, session_id: Path<Uuid>) -> Result<Done, ApiError> {
        let me = auth.user();
        app(req)?.revoke_sessions(&me.ctx(req), me.user_id, Some(session_id.0)).await?;
        Ok(Done::NoContent)
    }
}
