//! An org's SAML connection over the end-user API (`/api/v1/orgs/{org_id}/saml…`), for members
//! holding `org.sso.manage` (Owners and Admins by default). Each operation calls the same use case
//! as the backend's (`crate::backend::sso`).

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use tenantry_core::OrgId;
use uuid::Uuid;

use super::{EndUserTag, UserAuth};
use crate::backend::sso::{SamlConnectionOut, SamlSetupIn, SsoRequiredIn};
use crate::enduser::account::Done;
use crate::security::app;
use crate::ApiError;

pub struct MySsoApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "EndUserTag::Orgs")]
impl MySsoApi {
    /// Set up my org's SAML connection
    ///
    /// Needs `org.sso.manage`. From the IdP's metadata (XML or a URL) or by hand; the connection
    /// starts in test mode.
    #[oai(path = "/:org_id/saml", method = "put", operation_id = "set_up_my_org_saml")]
    async fn set_up(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        body: Json<SamlSetupIn>,
    ) -> Result<Json<SamlConnectionOut>, ApiError> {
        let setup = body.0.into_setup()?;
        Ok(Json(app(req)?.set_up_saml(&auth.ctx(req), OrgId::from_uuid(org_id.0), setup).await?.into()))
    }

    /// My org's SAML connection
    #[oai(path = "/:org_id/saml", method = "get", operation_id = "get_my_org_saml")]
    async fn get(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
    ) -> Result<Json<SamlConnectionOut>, ApiError> {
        Ok(Json(app(req)?.get_saml(&auth.ctx(req), OrgId::from_uuid(org_id.0)).await?.into()))
    }

    /// Make my org's SAML connection live
    #[oai(path = "/:org_id/saml/live", method = "post", operation_id = "make_my_org_saml_live")]
    async fn go_live(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
    ) -> Result<Json<SamlConnectionOut>, ApiError> {
        Ok(Json(app(req)?.saml_go_live(&auth.ctx(req), OrgId::from_uuid(org_id.0)).await?.into()))
    }

    /// Remove my org's SAML connection
    #[oai(path = "/:org_id/saml", method = "delete", operation_id = "remove_my_org_saml")]
    async fn remove(&self, req: &Request, auth: UserAuth, org_id: Path<Uuid>) -> Result<Done, ApiError> {
        app(req)?.remove_saml(&auth.ctx(req), OrgId::from_uuid(org_id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Require SSO for my org's members
    #[oai(path = "/:org_id/saml/required", method = "put", operation_id = "set_my_org_sso_required")]
    async fn set_required(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        body: Json<SsoRequiredIn>,
    ) -> Result<Json<SamlConnectionOut>, ApiError> {
        Ok(Json(app(req)?.set_sso_required(&auth.ctx(req), OrgId::from_uuid(org_id.0), body.0.required).await?.into()))
    }
}
