//! axum integration (feature `axum`): the [`User`] extractor, the [`require_org`] middleware and
//! the [`OrgMember`] extractor it feeds. Refusals answer 401/403 with a problem+json body.
//!
//! ```no_run
//! use axum::extract::FromRef;
//! use axum::middleware::from_fn_with_state;
//! use axum::routing::get;
//! use axum::Router;
//! use tenantry_sdk::axum::{require_org, OrgGate, OrgMember, User};
//! use tenantry_sdk::{Guard, JwksCache, OrgRule};
//!
//! #[derive(Clone)]
//! struct AppState {
//!     guard: Guard,
//! }
//! impl FromRef<AppState> for Guard {
//!     fn from_ref(state: &AppState) -> Guard {
//!         state.guard.clone()
//!     }
//! }
//!
//! async fn me(User(claims): User) -> String {
//!     claims.email
//! }
//! async fn settings(member: OrgMember) -> String {
//!     format!("{} administers {}", member.claims.email, member.org.name)
//! }
//!
//! let guard = Guard::new(JwksCache::new("https://auth.example.com", reqwest::Client::new()));
//! let admins = OrgGate::new(guard.clone(), OrgRule::path("org_id").min_role("Admin"));
//! let app: Router = Router::new()
//!     .route("/orgs/{org_id}/settings", get(settings))
//!     .route_layer(from_fn_with_state(admins, require_org))
//!     .route("/me", get(me))
//!     .with_state(AppState { guard });
//! ```

use std::sync::Arc;

use ::axum::extract::{FromRef, FromRequestParts, RawPathParams, Request, State};
use ::axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use ::axum::http::request::Parts;
use ::axum::http::{HeaderValue, StatusCode};
use ::axum::middleware::Next;
use ::axum::response::{IntoResponse, Response};

use crate::claims::AccessClaims;
pub use crate::guard::OrgMember;
use crate::guard::{Guard, OrgFrom, OrgRule, Refusal};

/// A signed-in user: the verified claims of the request's bearer token. Needs `Guard: FromRef<S>`.
#[derive(Debug, Clone)]
pub struct User(pub AccessClaims);

/// A [`Refusal`] as a response.
#[derive(Debug, Clone)]
pub struct Rejection(pub Refusal);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::FORBIDDEN);
        let mut response = (status, self.0.problem_json()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(challenge) = self.0.www_authenticate() {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

fn authorization(parts: &Parts) -> Option<&str> {
    parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok())
}

impl<S: Send + Sync> FromRequestParts<S> for User
where
    Guard: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Behind `require_org` the token is verified already.
        if let Some(member) = parts.extensions.get::<OrgMember>() {
            return Ok(User(member.claims.clone()));
        }
        Guard::from_ref(state).user(authorization(parts)).await.map(User).map_err(Rejection)
    }
}

/// A user admitted by [`require_org`]: only on routes behind it (a route that is not answers 500,
/// a wiring mistake rather than a refusal).
impl<S: Send + Sync> FromRequestParts<S> for OrgMember {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<OrgMember>().cloned().ok_or_else(|| {
            (StatusCode::INTERNAL_SERVER_ERROR, "OrgMember is extracted on a route without require_org").into_response()
        })
    }
}

/// The state of [`require_org`]: a guard and the rule it applies.
#[derive(Debug, Clone)]
pub struct OrgGate {
    guard: Guard,
    rule: Arc<OrgRule>,
}

impl OrgGate {
    pub fn new(guard: Guard, rule: OrgRule) -> Self {
        OrgGate { guard, rule: Arc::new(rule) }
    }
}

/// Middleware (`axum::middleware::from_fn_with_state(gate, require_org)`, as a `route_layer` so that
/// path parameters are known): admits the request if the [`OrgGate`]'s rule does, and hands the
/// [`OrgMember`] to the handler.
pub async fn require_org(State(gate): State<OrgGate>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let org_id = match &gate.rule.from {
        OrgFrom::Path(name) => match RawPathParams::from_request_parts(&mut parts, &()).await {
            Ok(params) => params.iter().find(|(key, _)| key == name).map(|(_, value)| value.to_owned()),
            Err(_) => None,
        },
        OrgFrom::Header(name) => parts.headers.get(name.as_str()).and_then(|v| v.to_str().ok()).map(str::to_owned),
        OrgFrom::Active => None,
    };
    match gate.guard.org(authorization(&parts), &gate.rule, org_id.as_deref()).await {
        Ok(member) => {
            parts.extensions.insert(member);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(refusal) => Rejection(refusal).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use ::axum::body::Body;
    use ::axum::middleware::from_fn_with_state;
    use ::axum::routing::get;
    use ::axum::Router;
    use tower::ServiceExt as _;

    use super::*;
    use crate::testing;

    async fn org_route(member: OrgMember, User(claims): User) -> String {
        assert_eq!(member.claims, claims);
        format!("{} {}", claims.email, member.org.org_id)
    }

    fn app() -> Router {
        let guard = testing::guard();
        let gate = |rule| from_fn_with_state(OrgGate::new(guard.clone(), rule), require_org);
        Router::new()
            .route("/me", get(|User(claims): User| async move { format!("{} -", claims.email) }))
            .merge(
                Router::new()
                    .route("/orgs/{org_id}/admin", get(org_route))
                    .route_layer(gate(OrgRule::path("org_id").min_role("Admin"))),
            )
            .merge(
                Router::new()
                    .route("/orgs/{org_id}/projects", get(org_route))
                    .route_layer(gate(OrgRule::path("org_id").permission("projects.write"))),
            )
            .merge(Router::new().route("/active", get(org_route)).route_layer(gate(OrgRule::active())))
            .merge(Router::new().route("/by-header", get(org_route)).route_layer(gate(OrgRule::header("x-org-id"))))
            .with_state(guard)
    }

    #[tokio::test]
    async fn every_case_of_the_table_is_answered_as_expected() {
        let app = app();
        for case in testing::cases() {
            let mut request = ::axum::http::Request::builder().uri(case.path);
            if let Some(org) = case.org_header {
                request = request.header("x-org-id", org);
            }
            if let Some(authorization) = &case.authorization {
                request = request.header(AUTHORIZATION, authorization);
            }
            let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
            let status = response.status().as_u16();
            let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let (content_type, challenge) = (header(CONTENT_TYPE), header(WWW_AUTHENTICATE));
            let body = ::axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap();
            testing::check(
                &case,
                status,
                content_type.as_deref(),
                challenge.as_deref(),
                &String::from_utf8_lossy(&body),
            );
        }
    }
}
