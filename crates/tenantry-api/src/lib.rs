//! Tenantry's HTTP APIs as poem-openapi services: wire types (`…In`, `…Out`, `…Patch`), the
//! security schemes that resolve an [`tenantry_app::Actor`], and the one mapping from errors to
//! RFC 9457 problem+json ([`problem`]).
//!
//! **Invariant:** operations only translate: wire → use-case input, use-case output → wire. No
//! rule, permission check or SQL is written here; that is `tenantry-app`.

pub mod backend;
pub mod enduser;
pub mod metadata;
pub mod mfa;
pub mod problem;
pub mod security;
pub mod wire;

use poem_openapi::OpenApiService;

pub use problem::{ApiError, Problem};

/// The API title and version in the OpenAPI document.
pub const API_TITLE: &str = "Tenantry";
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every API Tenantry serves, as one OpenAPI service (the document at `/openapi.json`).
pub type Apis = (
    backend::users::UsersApi,
    backend::api_keys::ApiKeysApi,
    backend::tokens::TokensApi,
    backend::orgs::OrgsApi,
    backend::webhooks::WebhooksApi,
    backend::events::WebhookEventsApi,
    enduser::account::AccountApi,
    enduser::account::MeApi,
    enduser::orgs::OrgsApi,
    mfa::MfaSignInApi,
    mfa::MyMfaApi,
    mfa::OrgMfaApi,
    mfa::BackendMfaApi,
    backend::sso::BackendSsoApi,
    enduser::sso::MySsoApi,
);

/// The requests Tenantry makes to webhook endpoints, one per event type.
pub type Webhooks = backend::events::EventWebhooks;

/// The OpenAPI service for all APIs, and the webhooks Tenantry sends. It carries no `servers`
/// entry, so the document is the same on every deployment and can be committed.
pub fn openapi_service() -> OpenApiService<Apis, Webhooks> {
    let apis = (
        backend::users::UsersApi,
        backend::api_keys::ApiKeysApi,
        backend::tokens::TokensApi,
        backend::orgs::OrgsApi,
        backend::webhooks::WebhooksApi,
        backend::events::WebhookEventsApi,
        enduser::account::AccountApi,
        enduser::account::MeApi,
        enduser::orgs::OrgsApi,
        mfa::MfaSignInApi,
        mfa::MyMfaApi,
        mfa::OrgMfaApi,
        mfa::BackendMfaApi,
        backend::sso::BackendSsoApi,
        enduser::sso::MySsoApi,
    );
    OpenApiService::new(apis, API_TITLE, API_VERSION)
        .description(
            "Identity for B2B SaaS: users, organizations, API keys and signed webhooks. \
             Backend endpoints (`/api/backend/v1/…`) take `Authorization: Bearer <API key>`; \
             end-user endpoints (`/api/v1/…`) take an access token or the session cookie. \
             Every error is an RFC 9457 `application/problem+json` body with a stable `type`. \
             The webhooks Tenantry sends are under `x-webhooks`, one per event type.",
        )
        .webhooks::<Webhooks>()
}

/// The OpenAPI document as committed under `openapi/openapi.json`.
///
/// poem-openapi writes the webhooks under `webhooks`, a field of OpenAPI 3.1, into the 3.0
/// document it emits, where strict validators refuse it. They go under `x-webhooks` instead: the
/// same map as an extension, valid in 3.0, which Redoc shows as webhooks. The pretty printer puts
/// root keys, and only those, two spaces after a line break (a string's line breaks are escaped),
/// so the replacement can only hit the root key.
pub fn openapi_json() -> String {
    let mut spec = openapi_service().spec().replacen("\n  \"webhooks\": {", "\n  \"x-webhooks\": {", 1);
    spec.push('\n');
    spec
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use tenantry_app::paging::{DEFAULT_LIMIT, MAX_LIMIT, MAX_ORG_LIMIT};

    /// The `limit` of every list states `tenantry_app::paging`'s rule: the `validator` attributes
    /// and descriptions take literals, so this is where they are held to the constants.
    #[test]
    fn every_list_documents_the_one_paging_rule() {
        let spec: Value = serde_json::from_str(&super::openapi_json()).expect("the document is JSON");
        let mut lists = Vec::new();
        for (path, ops) in spec["paths"].as_object().expect("paths") {
            for (method, op) in ops.as_object().expect("operations") {
                let params = op["parameters"].as_array().into_iter().flatten();
                for p in params.filter(|p| p["name"] == "limit") {
                    let max = if path.contains("/orgs") { MAX_ORG_LIMIT } else { MAX_LIMIT };
                    assert_eq!(p["in"], "query", "{method} {path}");
                    assert_eq!(p["schema"]["minimum"].as_f64(), Some(1.0), "{method} {path}");
                    assert_eq!(p["schema"]["maximum"].as_f64(), Some(f64::from(max)), "{method} {path}");
                    let described = format!("Page size, 1 to {max} (default {DEFAULT_LIMIT}).");
                    assert_eq!(p["description"], described.as_str(), "{method} {path}");
                    lists.push(format!("{method} {path}"));
                }
            }
        }
        // Users, API keys, webhook endpoints and messages; orgs, both rosters, both invitation
        // lists, both audit trails, a user's orgs and my orgs.
        assert!(lists.len() >= 13, "{lists:?}");
    }
}
