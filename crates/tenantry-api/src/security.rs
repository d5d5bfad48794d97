//! Security schemes: they turn credentials into an [`Actor`] before an operation runs.

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;
use tenantry_app::{Actor, App, Ctx};

use crate::ApiError;

/// A backend API key, sent as `Authorization: Bearer tnt_…`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", key_name = "Authorization", checker = "check_api_key")]
pub struct BackendKey(pub Actor);

async fn check_api_key(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    let app = req.data::<App>().ok_or_else(|| poem::Error::from(ApiError::internal()))?;
    app.authenticate_api_key(&bearer.token).await.map_err(|e| poem::Error::from(ApiError::from(e)))
}

/// The request id the server's middleware assigned, if any.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The acting context of a request: actor, client IP and request id.
pub fn ctx(req: &Request, actor: Actor) -> Ctx {
    Ctx {
        actor,
        ip: req.remote_addr().as_socket_addr().map(|a| a.ip()),
        request_id: req.data::<RequestId>().map(|r| r.0.clone()),
    }
}

/// The use cases, as the server attached them to every request.
pub(crate) fn app(req: &Request) -> Result<&App, ApiError> {
    req.data::<App>().ok_or_else(ApiError::internal)
}
