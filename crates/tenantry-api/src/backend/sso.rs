//! An org's SAML connection over the backend API (`/api/backend/v1/orgs/{org_id}/saml…`), and the
//! types the end-user API (`crate::enduser::sso`) shares. Each operation translates and calls one
//! use case in `tenantry_app::sso`.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenantry_app::sso::{SamlConnection, SamlSource, SetUpSaml};
use tenantry_core::{DomainError, OrgId};
use tenantry_sso::AttributeMapping;
use uuid::Uuid;

use super::BackendTag;
use crate::enduser::account::Done;
use crate::security::{app, ctx, BackendKey};
use crate::ApiError;

/// Which attributes carry the person's details; a list is tried in order against each
/// attribute's `Name` and `FriendlyName`. Omitted lists keep the defaults, which read the names
/// Okta, Entra ID and Google Workspace send.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct AttributeMappingIo {
    pub email: Option<Vec<String>>,
    pub first_name: Option<Vec<String>>,
    pub last_name: Option<Vec<String>>,
    /// The attribute that lists the person's groups.
    pub groups: Option<String>,
    /// An IdP group (a value of the `groups` attribute) to the org role its members get, at the
    /// first sign-in and at every later one; when several of a person's groups are mapped, the
    /// highest role wins. A person in no mapped group joins at the default role.
    pub group_roles: Option<std::collections::BTreeMap<String, String>>,
}

impl AttributeMappingIo {
    fn into_mapping(self) -> AttributeMapping {
        let d = AttributeMapping::default();
        AttributeMapping {
            email: self.email.unwrap_or(d.email),
            first_name: self.first_name.unwrap_or(d.first_name),
            last_name: self.last_name.unwrap_or(d.last_name),
            groups: self.groups,
            group_roles: self.group_roles.unwrap_or_default(),
        }
    }
}

/// Setting up (or replacing) the connection. Give exactly one of `metadata_xml`, `metadata_url`,
/// or the three `idp_…` fields.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct SamlSetupIn {
    /// The IdP's metadata XML (an `EntityDescriptor`).
    pub metadata_xml: Option<String>,
    /// A URL serving the IdP's metadata; fetched once now, never from an internal address.
    pub metadata_url: Option<String>,
    /// The IdP's entity id (its responses' `Issuer`).
    pub idp_entity_id: Option<String>,
    /// The IdP's single sign-on URL (HTTP-Redirect binding): `https`.
    pub idp_sso_url: Option<String>,
    /// The IdP's signing certificates, PEM or base64 DER.
    pub idp_certificates: Option<Vec<String>>,
    pub attribute_mapping: Option<AttributeMappingIo>,
    /// Accept responses the IdP sends unasked (IdP-initiated sign-in). Off by default.
    #[oai(default)]
    pub allow_idp_initiated: bool,
    /// Accept RSA-SHA1 signatures and SHA-1 digests. Off by default.
    #[oai(default)]
    pub allow_sha1: bool,
    /// The IdP enforces MFA: a sign-in through it satisfies the org's 2FA requirement.
    #[oai(default)]
    pub idp_enforces_mfa: bool,
}

impl SamlSetupIn {
    pub(crate) fn into_setup(self) -> Result<SetUpSaml, ApiError> {
        let source =
            match (self.metadata_xml, self.metadata_url, self.idp_entity_id, self.idp_sso_url, self.idp_certificates) {
                (Some(xml), None, None, None, None) => SamlSource::MetadataXml(xml),
                (None, Some(url), None, None, None) => SamlSource::MetadataUrl(url),
                (None, None, Some(entity_id), Some(sso_url), Some(certificates)) => {
                    SamlSource::Manual { entity_id, sso_url, certificates }
                }
                _ => {
                    return Err(DomainError::invalid_field(
                        "invalid-input",
                        "metadata_xml",
                        "Give metadata_xml, metadata_url, or idp_entity_id with idp_sso_url and idp_certificates.",
                    )
                    .into())
                }
            };
        Ok(SetUpSaml {
            source,
            attribute_mapping: self.attribute_mapping.map(AttributeMappingIo::into_mapping),
            allow_idp_initiated: self.allow_idp_initiated,
            allow_sha1: self.allow_sha1,
            idp_enforces_mfa: self.idp_enforces_mfa,
        })
    }
}

/// Whether the org's members must sign in through its (live) connection.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct SsoRequiredIn {
    pub required: bool,
}

/// An org's SAML connection, with what the IdP's administrator needs from this side.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct SamlConnectionOut {
    pub id: Uuid,
    pub org_id: Uuid,
    /// `test` (only the org's admins can sign in through it) or `live`.
    pub status: String,
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    /// The IdP's signing certificates, base64 DER.
    pub idp_certificates: Vec<String>,
    #[oai(skip_serializing_if_is_none)]
    pub metadata_url: Option<String>,
    pub attribute_mapping: AttributeMappingIo,
    pub allow_idp_initiated: bool,
    pub allow_sha1: bool,
    pub idp_enforces_mfa: bool,
    /// The SP entity id (the `Audience` the IdP must name); it is also the URL of the SP metadata.
    pub sp_entity_id: String,
    /// The Assertion Consumer Service URL (HTTP-POST binding).
    pub acs_url: String,
    /// The SP metadata XML, to import into the IdP.
    pub sp_metadata_url: String,
    /// The certificate (base64 of DER) the IdP encrypts assertions to, if it encrypts them; the
    /// SP metadata carries it too. It stays the same when the IdP settings are replaced.
    pub sp_encryption_certificate: Option<String>,
    /// Whether the org's members must sign in through it.
    pub sso_required: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SamlConnection> for SamlConnectionOut {
    fn from(c: SamlConnection) -> Self {
        SamlConnectionOut {
            id: c.id,
            org_id: c.org_id,
            status: c.status,
            idp_entity_id: c.idp_entity_id,
            idp_sso_url: c.idp_sso_url,
            idp_certificates: c.idp_certificates,
            metadata_url: c.metadata_url,
            attribute_mapping: AttributeMappingIo {
                email: Some(c.attribute_mapping.email),
                first_name: Some(c.attribute_mapping.first_name),
                last_name: Some(c.attribute_mapping.last_name),
                groups: c.attribute_mapping.groups,
                group_roles: Some(c.attribute_mapping.group_roles),
            },
            allow_idp_initiated: c.allow_idp_initiated,
            allow_sha1: c.allow_sha1,
            idp_enforces_mfa: c.idp_enforces_mfa,
            sp_entity_id: c.sp_entity_id,
            acs_url: c.acs_url,
            sp_metadata_url: c.sp_metadata_url,
            sp_encryption_certificate: c.sp_encryption_certificate,
            sso_required: c.sso_required,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

pub struct BackendSsoApi;

#[OpenApi(prefix_path = "/api/backend/v1/orgs", tag = "BackendTag::Orgs")]
impl BackendSsoApi {
    /// Set up the org's SAML connection
    ///
    /// From the IdP's metadata (XML or a URL) or by hand. A new or replaced connection is in test
    /// mode: only the org's admins can sign in through it until `POST …/saml/live`. Sends
    /// `org.saml_setup`.
    #[oai(path = "/:org_id/saml", method = "put", operation_id = "set_up_org_saml")]
    async fn set_up(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        body: Json<SamlSetupIn>,
    ) -> Result<Json<SamlConnectionOut>, ApiError> {
        let setup = body.0.into_setup()?;
        let c = app(req)?.set_up_saml(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), setup).await?;
        Ok(Json(c.into()))
    }

    /// The org's SAML connection
    #[oai(path = "/:org_id/saml", method = "get", operation_id = "get_org_saml")]
    async fn get(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
    ) -> Result<Json<SamlConnectionOut>, ApiError> {
        Ok(Json(app(req)?.get_saml(&ctx(req, auth.0), OrgId::from_uuid(org_id.0)).await?.into()))
    }

    /// Make the SAML connection live
    ///
    /// Every member can then sign in through it, and new users are created just in time. Sends
    /// `org.saml_went_live`.
    #[oai(path = "/:org_id/saml/live", method = "post", operation_id = "make_org_saml_live")]
    async fn go_live(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
    ) -> Result<Json<SamlConnectionOut>, ApiError> {
        Ok(Json(app(req)?.saml_go_live(&ctx(req, auth.0), OrgId::from_uuid(org_id.0)).await?.into()))
    }

    /// Remove the SAML connection
    ///
    /// The org no longer requires SSO. Sends `org.saml_removed`.
    #[oai(path = "/:org_id/saml", method = "delete", operation_id = "remove_org_saml")]
    async fn remove(&self, req: &Request, auth: BackendKey, org_id: Path<Uuid>) -> Result<Done, ApiError> {
        app(req)?.remove_saml(&ctx(req, auth.0), OrgId::from_uuid(org_id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Make the org isolated
    ///
    /// Its members move into its own user pool: the same email may then exist once per isolated
    /// org and once outside; they sign in only through the org's SSO, and never join other orgs.
    /// Needs a SAML connection. `409 isolation-blocked` names the members who block it (members
    /// of other orgs, members with a password) until they are resolved.
    #[oai(path = "/:org_id/isolate", method = "post", operation_id = "isolate_org")]
    async fn isolate(&self, req: &Request, auth: BackendKey, org_id: Path<Uuid>) -> Result<Done, ApiError> {
        app(req)?.isolate_org(&ctx(req, auth.0), OrgId::from_uuid(org_id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Require SSO for the org's members
    ///
    /// They then sign in only through its live connection (`409 sso-connection-not-live`
    /// otherwise).
    #[oai(path = "/:org_id/saml/required", method = "put", operation_id = "set_org_sso_required")]
    async fn set_required(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        body: Json<SsoRequiredIn>,
    ) -> Result<Json<SamlConnectionOut>, ApiError> {
        let c = app(req)?.set_sso_required(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), body.0.required).await?;
        Ok(Json(c.into()))
    }
}
