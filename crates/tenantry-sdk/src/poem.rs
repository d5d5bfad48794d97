//! poem integration (feature `poem`): the [`User`] extractor, the [`RequireOrg`] middleware and
//! the [`OrgMember`] extractor it feeds. Put a [`Guard`] in the app's data. Refusals answer 401/403
//! with a problem+json body.
//!
//! ```no_run
//! use poem::web::Data;
//! use poem::{get, handler, EndpointExt, Route};
//! use tenantry_sdk::poem::{OrgMember, RequireOrg, User};
//! use tenantry_sdk::{Guard, JwksCache, OrgRule};
//!
//! #[handler]
//! fn me(User(claims): User) -> String {
//!     claims.email
//! }
//! #[handler]
//! fn projects(member: OrgMember) -> String {
//!     format!("{} may write projects in {}", member.claims.email, member.org.name)
//! }
//!
//! let guard = Guard::new(JwksCache::new("https://auth.example.com", reqwest::Client::new()));
//! let writers = RequireOrg::new(guard.clone(), OrgRule::path("org_id").permission("projects.write"));
//! let app = Route::new()
//!     .at("/me", get(me))
//!     .at("/orgs/:org_id/projects", get(projects).with(writers))
//!     .data(guard);
//! ```

use std::sync::Arc;

use ::poem::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use ::poem::http::StatusCode;
use ::poem::{Endpoint, FromRequest, IntoResponse, Middleware, Request, RequestBody, Response};

use crate::claims::AccessClaims;
pub use crate::guard::OrgMember;
use crate::guard::{Guard, OrgFrom, OrgRule, Refusal};

/// A signed-in user: the verified claims of the request's bearer token.
#[derive(Debug, Clone)]
pub struct User(pub AccessClaims);

/// The response for a refusal.
pub fn refusal_response(refusal: &Refusal) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN))
        .header(CONTENT_TYPE, "application/problem+json")
        .body(refusal.problem_json());
    if let Some(challenge) = refusal.www_authenticate() {
        response.headers_mut().insert(WWW_AUTHENTICATE, ::poem::http::HeaderValue::from_static(challenge));
    }
    response
}

fn refusal_error(refusal: Refusal) -> ::poem::Error {
    ::poem::Error::from_response(refusal_response(&refusal))
}

fn authorization(req: &Request) -> Option<&str> {
    req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok())
}

fn wiring(message: &'static str) -> ::poem::Error {
    ::poem::Error::from_string(message, StatusCode::INTERNAL_SERVER_ERROR)
}

impl<'a> FromRequest<'a> for User {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> ::poem::Result<Self> {
        if let Some(member) = req.extensions().get::<OrgMember>() {
            return Ok(User(member.claims.clone()));
        }
        let guard = req.data::<Guard>().ok_or_else(|| wiring("no tenantry_sdk::Guard in the app's data"))?;
        guard.user(authorization(req)).await.map(User).map_err(refusal_error)
    }
}

/// A user admitted by [`RequireOrg`]: only on endpoints behind it.
impl<'a> FromRequest<'a> for OrgMember {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> ::poem::Result<Self> {
        req.extensions().get::<OrgMember>().cloned().ok_or_else(|| wiring("OrgMember outside RequireOrg"))
    }
}

/// Middleware: admits a request if its rule does, and hands the [`OrgMember`] to the endpoint.
/// Apply it to the route's endpoint (`get(h).with(…)`) so that path parameters are known.
#[derive(Debug, Clone)]
pub struct RequireOrg {
    guard: Guard,
    rule: Arc<OrgRule>,
}

impl RequireOrg {
    pub fn new(guard: Guard, rule: OrgRule) -> Self {
        RequireOrg { guard, rule: Arc::new(rule) }
    }
}

impl<E: Endpoint> Middleware<E> for RequireOrg {
    type Output = RequireOrgEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequireOrgEndpoint { inner, guard: self.guard.clone(), rule: self.rule.clone() }
    }
}

/// The endpoint [`RequireOrg`] wraps around another.
pub struct RequireOrgEndpoint<E> {
    inner: E,
    guard: Guard,
    rule: Arc<OrgRule>,
}

impl<E: Endpoint> Endpoint for RequireOrgEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> ::poem::Result<Response> {
        let org_id = match &self.rule.from {
            OrgFrom::Path(name) => req.raw_path_param(name).map(str::to_owned),
            OrgFrom::Header(name) => req.header(name.as_str()).map(str::to_owned),
            OrgFrom::Active => None,
        };
        match self.guard.org(authorization(&req), &self.rule, org_id.as_deref()).await {
            Ok(member) => {
                req.extensions_mut().insert(member);
                self.inner.call(req).await.map(IntoResponse::into_response)
            }
            Err(refusal) => Ok(refusal_response(&refusal)),
        }
    }
}

#[cfg(test)]
mod tests {
    use ::poem::test::TestClient;
    use ::poem::{get, handler, EndpointExt as _, Route};

    use super::*;
    use crate::testing;

    #[handler]
    fn me(User(claims): User) -> String {
        format!("{} -", claims.email)
    }

    #[handler]
    fn org_route(member: OrgMember, User(claims): User) -> String {
        assert_eq!(member.claims, claims);
        format!("{} {}", claims.email, member.org.org_id)
    }

    #[tokio::test]
    async fn every_case_of_the_table_is_answered_as_expected() {
        let guard = testing::guard();
        let gate = |rule| RequireOrg::new(guard.clone(), rule);
        let app = Route::new()
            .at("/me", get(me))
            .at("/orgs/:org_id/admin", get(org_route).with(gate(OrgRule::path("org_id").min_role("Admin"))))
            .at(
                "/orgs/:org_id/projects",
                get(org_route).with(gate(OrgRule::path("org_id").permission("projects.write"))),
            )
            .at("/active", get(org_route).with(gate(OrgRule::active())))
            .at("/by-header", get(org_route).with(gate(OrgRule::header("x-org-id"))))
            .data(guard.clone());
        let client = TestClient::new(app);
        for case in testing::cases() {
            let mut request = client.get(case.path);
            if let Some(org) = case.org_header {
                request = request.header("x-org-id", org);
            }
            if let Some(authorization) = &case.authorization {
                request = request.header(AUTHORIZATION, authorization);
            }
            let response = request.send().await;
            let status = response.0.status().as_u16();
            let header = |name| response.0.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let (content_type, challenge) = (header(CONTENT_TYPE), header(WWW_AUTHENTICATE));
            let body = response.0.into_body().into_string().await.unwrap();
            testing::check(&case, status, content_type.as_deref(), challenge.as_deref(), &body);
        }
    }
}
