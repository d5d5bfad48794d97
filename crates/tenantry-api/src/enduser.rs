//! The end-user API (`/api/v1/…`): what a signed-in person (or someone signing in) can do. The
//! hosted pages call the same use cases.

pub mod account;
pub mod orgs;
pub mod sso;

use poem::{Request, RequestBody};
use poem_openapi::auth::Bearer;
use poem_openapi::error::AuthorizationError;
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme, Tags};
use tenantry_app::{Actor, App, Ctx, SessionCtx};
use tenantry_core::UserId;

use crate::security::check_same_origin;
use crate::ApiError;

/// The session cookie's name on https deployments. `__Host-` makes browsers accept it only with
/// `Secure`, `Path=/` and no `Domain`, so no other host (a sibling subdomain) can set or shadow it.
pub const SESSION_COOKIE: &str = "__Host-tenantry_session";

/// The session cookie's name on plain-http deployments (local development): browsers refuse a
/// `__Host-` cookie without `Secure`, and `Secure` cookies over http (README, "Security").
pub const SESSION_COOKIE_HTTP: &str = "tenantry_session";

/// The session cookie, in one place: its name, and the `Set-Cookie` values that set and clear it
/// (README, "Security"). `Path=/`, no `Domain`, `HttpOnly`, `SameSite=Lax`; on https deployments
/// `__Host-` and `Secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCookieSpec {
    /// The deployment is served over https (`public_url`).
    pub https: bool,
}

impl SessionCookieSpec {
    /// The cookie as the deployment behind `app` uses it.
    pub fn of(app: &App) -> SessionCookieSpec {
        SessionCookieSpec { https: app.settings().auth.issuer.starts_with("https://") }
    }

    pub fn name(&self) -> &'static str {
        if self.https {
            SESSION_COOKIE
        } else {
            SESSION_COOKIE_HTTP
        }
    }

    /// `Set-Cookie` for a session that lasts `max_age_secs`.
    pub fn set(&self, value: &str, max_age_secs: i64) -> String {
        let secure = if self.https { "; Secure" } else { "" };
        format!("{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}", self.name())
    }

    /// `Set-Cookie` that removes the cookie.
    pub fn clear(&self) -> String {
        self.set("", 0)
    }

    /// The cookie's value in `req`, if sent (read from the `Cookie` headers themselves, so it
    /// works with or without poem's cookie jar middleware).
    pub fn read(&self, req: &Request) -> Option<String> {
        let name = self.name();
        req.headers()
            .get_all(poem::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.trim_matches('"').to_owned())
    }
}

#[derive(Tags)]
pub enum EndUserTag {
    /// Signing up, in and out; tokens.
    Authentication,
    /// The signed-in user's own account.
    Account,
    /// Organizations the signed-in user belongs to, their members and invitations.
    Orgs,
}

/// A signed-in user: who, and through which session (how it was signed in, at which MFA level).
#[derive(Debug, Clone, Copy)]
pub struct SignedInUser {
    pub user_id: UserId,
    pub session: SessionCtx,
}

impl SignedInUser {
    pub fn actor(&self) -> Actor {
        Actor::User(self.user_id)
    }

    /// The context this user's request acts in: the actor, the session, the client address and
    /// the request id.
    pub fn ctx(&self, req: &Request) -> Ctx {
        Ctx { session: Some(self.session), ..crate::security::ctx(req, self.actor()) }
    }
}

/// A Tenantry access token (`Authorization: Bearer …`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_access_token")]
pub struct AccessToken(SignedInUser);

/// The hosted-pages session cookie. Written by hand rather than derived: its name depends on the
/// deployment (`__Host-tenantry_session` on https, `tenantry_session` on plain http), and a
/// state-changing request must pass the CSRF rule ([`check_same_origin`]).
pub struct SessionCookie(SignedInUser);

impl<'a> ApiExtractor<'a> for SessionCookie {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            "SessionCookie",
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some(
                    "The hosted pages' session cookie, set at sign-in. Named `tenantry_session` (without \
                     `__Host-` and `Secure`) when the deployment is served over plain http. Requests that \
                     change state must come from the deployment's own origin (or an allowed one) and send \
                     `Content-Type: application/json`; otherwise they get 403 `csrf-refused`.",
                ),
                name: Some(SESSION_COOKIE),
                key_in: Some("cookie"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec!["SessionCookie"]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let app = app(req)?;
        let value = SessionCookieSpec::of(app).read(req).ok_or(AuthorizationError)?;
        check_same_origin(req)?;
        check_session_cookie(app, &value).await.map(SessionCookie)
    }
}

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

    /// The context the signed-in user's request acts in (see [`SignedInUser::ctx`]).
    pub fn ctx(&self, req: &Request) -> Ctx {
        self.user().ctx(req)
    }
}

fn app(req: &Request) -> poem::Result<&App> {
    req.data::<App>().ok_or_else(|| poem::Error::from(ApiError::internal()))
}

async fn check_access_token(req: &Request, bearer: Bearer) -> poem::Result<SignedInUser> {
    let ctx =
        app(req)?.authenticate_access_token(&bearer.token).await.map_err(|e| poem::Error::from(ApiError::from(e)))?;
    match (ctx.actor, ctx.session) {
        (Actor::User(user_id), Some(session)) => Ok(SignedInUser { user_id, session }),
        _ => Err(ApiError::internal().into()),
    }
}

async fn check_session_cookie(app: &App, value: &str) -> poem::Result<SignedInUser> {
    let session = app.session_by_cookie(value).await.map_err(|e| poem::Error::from(ApiError::from(e)))?;
    match session {
        Some(s) => Ok(SignedInUser { user_id: s.user_id, session: s.ctx() }),
        None => Err(ApiError::from(tenantry_core::DomainError::unauthenticated(
            "session-ended",
            "The session has ended. Sign in again.",
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_host_prefixed_and_secure_on_https_only() {
        let https = SessionCookieSpec { https: true };
        assert_eq!(
            https.set("abc", 60),
            "__Host-tenantry_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert_eq!(https.clear(), "__Host-tenantry_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure");
        let http = SessionCookieSpec { https: false };
        assert_eq!(http.set("abc", 60), "tenantry_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60");
        let req = Request::builder().header("cookie", "tenantry_session=x; __Host-tenantry_session=y").finish();
        assert_eq!(https.read(&req).as_deref(), Some("y"));
        assert_eq!(http.read(&req).as_deref(), Some("x"));
    }
}
