// @generated from openapi/openapi.json by the test `client::codegen::tests::generated_code_matches_the_document`.
// Do not edit: change the document, then run that test with TENANTRY_SDK_BLESS=1.

#![allow(clippy::all)]

use futures_util::Stream;
use serde::{Deserialize, Serialize};

use super::{segment, Client, Error, Page, Paged, Patch, UnknownEvent};

/// Every backend operation this client has a method for: (operation id, method, path).
pub const OPERATIONS: &[(&str, &str, &str)] = &[
    ("list_api_keys", "GET", "/api/backend/v1/api-keys"),
    ("create_api_key", "POST", "/api/backend/v1/api-keys"),
    ("revoke_api_key", "DELETE", "/api/backend/v1/api-keys/{api_key_id}"),
    ("query_orgs", "GET", "/api/backend/v1/orgs"),
    ("create_org", "POST", "/api/backend/v1/orgs"),
    ("get_org_by_slug", "GET", "/api/backend/v1/orgs/by-slug/{slug}"),
    ("delete_org", "DELETE", "/api/backend/v1/orgs/{org_id}"),
    ("get_org", "GET", "/api/backend/v1/orgs/{org_id}"),
    ("update_org", "PATCH", "/api/backend/v1/orgs/{org_id}"),
    ("get_org_audit_log", "GET", "/api/backend/v1/orgs/{org_id}/audit-log"),
    ("remove_org_domain", "DELETE", "/api/backend/v1/orgs/{org_id}/domains/{domain}"),
    ("add_org_domain", "PUT", "/api/backend/v1/orgs/{org_id}/domains/{domain}"),
    ("list_org_invites", "GET", "/api/backend/v1/orgs/{org_id}/invites"),
    ("create_org_invite", "POST", "/api/backend/v1/orgs/{org_id}/invites"),
    ("revoke_org_invite", "DELETE", "/api/backend/v1/orgs/{org_id}/invites/{invite_id}"),
    ("resend_org_invite", "POST", "/api/backend/v1/orgs/{org_id}/invites/{invite_id}/resend"),
    ("isolate_org", "POST", "/api/backend/v1/orgs/{org_id}/isolate"),
    ("list_org_members", "GET", "/api/backend/v1/orgs/{org_id}/members"),
    ("add_org_member", "POST", "/api/backend/v1/orgs/{org_id}/members"),
    ("remove_org_member", "DELETE", "/api/backend/v1/orgs/{org_id}/members/{user_id}"),
    ("get_org_member", "GET", "/api/backend/v1/orgs/{org_id}/members/{user_id}"),
    ("change_org_member_role", "PATCH", "/api/backend/v1/orgs/{org_id}/members/{user_id}"),
    ("merge_org_metadata", "PATCH", "/api/backend/v1/orgs/{org_id}/metadata"),
    ("set_org_mfa_requirement", "PUT", "/api/backend/v1/orgs/{org_id}/mfa-requirement"),
    ("cancel_ownership_transfer", "DELETE", "/api/backend/v1/orgs/{org_id}/ownership-transfer"),
    ("remove_org_saml", "DELETE", "/api/backend/v1/orgs/{org_id}/saml"),
    ("get_org_saml", "GET", "/api/backend/v1/orgs/{org_id}/saml"),
    ("set_up_org_saml", "PUT", "/api/backend/v1/orgs/{org_id}/saml"),
    ("make_org_saml_live", "POST", "/api/backend/v1/orgs/{org_id}/saml/live"),
    ("set_org_sso_required", "PUT", "/api/backend/v1/orgs/{org_id}/saml/required"),
    ("get_roles", "GET", "/api/backend/v1/roles"),
    ("set_roles", "PUT", "/api/backend/v1/roles"),
    ("validate_access_token", "POST", "/api/backend/v1/tokens/validate"),
    ("query_users", "GET", "/api/backend/v1/users"),
    ("create_user", "POST", "/api/backend/v1/users"),
    ("get_user_by_email", "GET", "/api/backend/v1/users/by-email"),
    ("delete_user", "DELETE", "/api/backend/v1/users/{user_id}"),
    ("get_user", "GET", "/api/backend/v1/users/{user_id}"),
    ("update_user", "PATCH", "/api/backend/v1/users/{user_id}"),
    ("create_access_token", "POST", "/api/backend/v1/users/{user_id}/access-token"),
    ("disable_user", "POST", "/api/backend/v1/users/{user_id}/disable"),
    ("enable_user", "POST", "/api/backend/v1/users/{user_id}/enable"),
    ("reset_user_mfa", "POST", "/api/backend/v1/users/{user_id}/mfa/reset"),
    ("list_user_orgs", "GET", "/api/backend/v1/users/{user_id}/orgs"),
    ("set_user_password", "PUT", "/api/backend/v1/users/{user_id}/password"),
    ("revoke_user_sessions", "DELETE", "/api/backend/v1/users/{user_id}/sessions"),
    ("list_user_sessions", "GET", "/api/backend/v1/users/{user_id}/sessions"),
    ("list_webhook_endpoints", "GET", "/api/backend/v1/webhooks/endpoints"),
    ("create_webhook_endpoint", "POST", "/api/backend/v1/webhooks/endpoints"),
    ("delete_webhook_endpoint", "DELETE", "/api/backend/v1/webhooks/endpoints/{endpoint_id}"),
    ("get_webhook_endpoint", "GET", "/api/backend/v1/webhooks/endpoints/{endpoint_id}"),
    ("update_webhook_endpoint", "PATCH", "/api/backend/v1/webhooks/endpoints/{endpoint_id}"),
    ("disable_webhook_endpoint", "POST", "/api/backend/v1/webhooks/endpoints/{endpoint_id}/disable"),
    ("enable_webhook_endpoint", "POST", "/api/backend/v1/webhooks/endpoints/{endpoint_id}/enable"),
    ("get_webhook_secret", "GET", "/api/backend/v1/webhooks/endpoints/{endpoint_id}/secret"),
    ("rotate_webhook_secret", "POST", "/api/backend/v1/webhooks/endpoints/{endpoint_id}/secret/rotate"),
    ("send_test_webhook", "POST", "/api/backend/v1/webhooks/endpoints/{endpoint_id}/test"),
    ("list_webhook_event_types", "GET", "/api/backend/v1/webhooks/event-types"),
    ("list_webhook_messages", "GET", "/api/backend/v1/webhooks/messages"),
    ("replay_failed_webhooks", "POST", "/api/backend/v1/webhooks/messages/replay"),
    ("get_webhook_message", "GET", "/api/backend/v1/webhooks/messages/{message_id}"),
    ("list_webhook_attempts", "GET", "/api/backend/v1/webhooks/messages/{message_id}/attempts"),
    ("replay_webhook_message", "POST", "/api/backend/v1/webhooks/messages/{message_id}/replay"),
];

impl Client {
    /// List API keys
    ///
    /// `GET /api/backend/v1/api-keys` (`list_api_keys`).
    pub async fn list_api_keys(&self, params: &ListApiKeysParams) -> Result<ApiKeyPage, Error> {
        self.send(reqwest::Method::GET, "/api/backend/v1/api-keys".to_owned(), Some(params), None::<&()>).await
    }

    /// Every item of [`Client::list_api_keys`], page after page, as a stream: `params.cursor` is where it starts.
    pub fn list_api_keys_stream(&self, params: ListApiKeysParams) -> impl Stream<Item = Result<ApiKeyOut, Error>> + Send + '_ {
        let path = "/api/backend/v1/api-keys".to_owned();
        self.pages::<ListApiKeysParams, ApiKeyPage>(path, params)
    }

    /// Create an API key
    ///
    /// `POST /api/backend/v1/api-keys` (`create_api_key`).
    pub async fn create_api_key(&self, body: &ApiKeyIn) -> Result<ApiKeyCreatedOut, Error> {
        self.send(reqwest::Method::POST, "/api/backend/v1/api-keys".to_owned(), None::<&()>, Some(body)).await
    }

    /// Revoke an API key
    ///
    /// The key stops working on the next request, on every node.
    ///
    /// `DELETE /api/backend/v1/api-keys/{api_key_id}` (`revoke_api_key`).
    pub async fn revoke_api_key(&self, api_key_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::DELETE, format!("/api/backend/v1/api-keys/{api_key_id}", api_key_id = segment(api_key_id)), None::<&()>, None::<&()>).await
    }

    /// Query organizations
    ///
    /// In creation order; by name prefix (case-insensitive) or by domain.
    ///
    /// `GET /api/backend/v1/orgs` (`query_orgs`).
    pub async fn query_orgs(&self, params: &QueryOrgsParams) -> Result<OrgPage, Error> {
        self.send(reqwest::Method::GET, "/api/backend/v1/orgs".to_owned(), Some(params), None::<&()>).await
    }

    /// Every item of [`Client::query_orgs`], page after page, as a stream: `params.cursor` is where it starts.
    pub fn query_orgs_stream(&self, params: QueryOrgsParams) -> impl Stream<Item = Result<OrgOut, Error>> + Send + '_ {
        let path = "/api/backend/v1/orgs".to_owned();
        self.pages::<QueryOrgsParams, OrgPage>(path, params)
    }

    /// Create an organization
    ///
    /// `POST /api/backend/v1/orgs` (`create_org`).
    pub async fn create_org(&self, body: &OrgIn) -> Result<OrgOut, Error> {
        self.send(reqwest::Method::POST, "/api/backend/v1/orgs".to_owned(), None::<&()>, Some(body)).await
    }

    /// Fetch an organization by slug
    ///
    /// `GET /api/backend/v1/orgs/by-slug/{slug}` (`get_org_by_slug`).
    pub async fn get_org_by_slug(&self, slug: &str) -> Result<OrgOut, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/orgs/by-slug/{slug}", slug = segment(slug)), None::<&()>, None::<&()>).await
    }

    /// Delete an organization
    ///
    /// Permanent: members, invitations and domains go; the audit trail stays.
    ///
    /// `DELETE /api/backend/v1/orgs/{org_id}` (`delete_org`).
    pub async fn delete_org(&self, org_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::DELETE, format!("/api/backend/v1/orgs/{org_id}", org_id = segment(org_id)), None::<&()>, None::<&()>).await
    }

    /// Fetch an organization
    ///
    /// `GET /api/backend/v1/orgs/{org_id}` (`get_org`).
    pub async fn get_org(&self, org_id: &str) -> Result<OrgOut, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/orgs/{org_id}", org_id = segment(org_id)), None::<&()>, None::<&()>).await
    }

    /// Update an organization
    ///
    /// `PATCH /api/backend/v1/orgs/{org_id}` (`update_org`).
    pub async fn update_org(&self, org_id: &str, body: &OrgPatch) -> Result<OrgOut, Error> {
        self.send(reqwest::Method::PATCH, format!("/api/backend/v1/orgs/{org_id}", org_id = segment(org_id)), None::<&()>, Some(body)).await
    }

    /// Read an organization's audit trail
    ///
    /// Newest first. It outlives the organization.
    ///
    /// `GET /api/backend/v1/orgs/{org_id}/audit-log` (`get_org_audit_log`).
    pub async fn get_org_audit_log(&self, org_id: &str, params: &GetOrgAuditLogParams) -> Result<AuditPage, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/orgs/{org_id}/audit-log", org_id = segment(org_id)), Some(params), None::<&()>).await
    }

    /// Every item of [`Client::get_org_audit_log`], page after page, as a stream: `params.cursor` is where it starts.
    pub fn get_org_audit_log_stream(&self, org_id: &str, params: GetOrgAuditLogParams) -> impl Stream<Item = Result<AuditEntryOut, Error>> + Send + '_ {
        let path = format!("/api/backend/v1/orgs/{org_id}/audit-log", org_id = segment(org_id));
        self.pages::<GetOrgAuditLogParams, AuditPage>(path, params)
    }

    /// Remove a domain from an organization
    ///
    /// `DELETE /api/backend/v1/orgs/{org_id}/domains/{domain}` (`remove_org_domain`).
    pub async fn remove_org_domain(&self, org_id: &str, domain: &str) -> Result<OrgOut, Error> {
        self.send(reqwest::Method::DELETE, format!("/api/backend/v1/orgs/{org_id}/domains/{domain}", org_id = segment(org_id), domain = segment(domain)), None::<&()>, None::<&()>).await
    }

    /// Add a domain to an organization
    ///
    /// `PUT /api/backend/v1/orgs/{org_id}/domains/{domain}` (`add_org_domain`).
    pub async fn add_org_domain(&self, org_id: &str, domain: &str) -> Result<OrgOut, Error> {
        self.send(reqwest::Method::PUT, format!("/api/backend/v1/orgs/{org_id}/domains/{domain}", org_id = segment(org_id), domain = segment(domain)), None::<&()>, None::<&()>).await
    }

    /// List invitations
    ///
    /// `GET /api/backend/v1/orgs/{org_id}/invites` (`list_org_invites`).
    pub async fn list_org_invites(&self, org_id: &str, params: &ListOrgInvitesParams) -> Result<InvitePage, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/orgs/{org_id}/invites", org_id = segment(org_id)), Some(params), None::<&()>).await
    }

    /// Every item of [`Client::list_org_invites`], page after page, as a stream: `params.cursor` is where it starts.
    pub fn list_org_invites_stream(&self, org_id: &str, params: ListOrgInvitesParams) -> impl Stream<Item = Result<InviteOut, Error>> + Send + '_ {
        let path = format!("/api/backend/v1/orgs/{org_id}/invites", org_id = segment(org_id));
        self.pages::<ListOrgInvitesParams, InvitePage>(path, params)
    }

    /// Invite someone
    ///
    /// The invitation link is emailed; it expires after the deployment's invitation lifetime.
    ///
    /// `POST /api/backend/v1/orgs/{org_id}/invites` (`create_org_invite`).
    pub async fn create_org_invite(&self, org_id: &str, body: &InviteIn) -> Result<InviteOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/orgs/{org_id}/invites", org_id = segment(org_id)), None::<&()>, Some(body)).await
    }

    /// Revoke an invitation
    ///
    /// `DELETE /api/backend/v1/orgs/{org_id}/invites/{invite_id}` (`revoke_org_invite`).
    pub async fn revoke_org_invite(&self, org_id: &str, invite_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::DELETE, format!("/api/backend/v1/orgs/{org_id}/invites/{invite_id}", org_id = segment(org_id), invite_id = segment(invite_id)), None::<&()>, None::<&()>).await
    }

    /// Resend an invitation
    ///
    /// A new link and expiry; the old link stops working.
    ///
    /// `POST /api/backend/v1/orgs/{org_id}/invites/{invite_id}/resend` (`resend_org_invite`).
    pub async fn resend_org_invite(&self, org_id: &str, invite_id: &str) -> Result<InviteOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/orgs/{org_id}/invites/{invite_id}/resend", org_id = segment(org_id), invite_id = segment(invite_id)), None::<&()>, None::<&()>).await
    }

    /// Make the org isolated
    ///
    /// Its members move into its own user pool: the same email may then exist once per isolated
    /// org and once outside; they sign in only through the org's SSO, and never join other orgs.
    /// Needs a SAML connection. `409 isolation-blocked` names the members who block it (members
    /// of other orgs, members with a password) until they are resolved.
    ///
    /// `POST /api/backend/v1/orgs/{org_id}/isolate` (`isolate_org`).
    pub async fn isolate_org(&self, org_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/orgs/{org_id}/isolate", org_id = segment(org_id)), None::<&()>, None::<&()>).await
    }

    /// List members and pending invitations
    ///
    /// One list in id order: members and pending invitations together, filtered by role and by
    /// email prefix.
    ///
    /// `GET /api/backend/v1/orgs/{org_id}/members` (`list_org_members`).
    pub async fn list_org_members(&self, org_id: &str, params: &ListOrgMembersParams) -> Result<RosterPage, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/orgs/{org_id}/members", org_id = segment(org_id)), Some(params), None::<&()>).await
    }

    /// Every item of [`Client::list_org_members`], page after page, as a stream: `params.cursor` is where it starts.
    pub fn list_org_members_stream(&self, org_id: &str, params: ListOrgMembersParams) -> impl Stream<Item = Result<RosterEntryOut, Error>> + Send + '_ {
        let path = format!("/api/backend/v1/orgs/{org_id}/members", org_id = segment(org_id));
        self.pages::<ListOrgMembersParams, RosterPage>(path, params)
    }

    /// Add a user to an organization
    ///
    /// Directly, without an invitation; the organization's limits and domain restriction apply.
    ///
    /// `POST /api/backend/v1/orgs/{org_id}/members` (`add_org_member`).
    pub async fn add_org_member(&self, org_id: &str, body: &MemberIn) -> Result<MemberOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/orgs/{org_id}/members", org_id = segment(org_id)), None::<&()>, Some(body)).await
    }

    /// Remove a member
    ///
    /// Their sessions acting in the organization end at once, and it leaves their next token.
    ///
    /// `DELETE /api/backend/v1/orgs/{org_id}/members/{user_id}` (`remove_org_member`).
    pub async fn remove_org_member(&self, org_id: &str, user_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::DELETE, format!("/api/backend/v1/orgs/{org_id}/members/{user_id}", org_id = segment(org_id), user_id = segment(user_id)), None::<&()>, None::<&()>).await
    }

    /// Fetch a member
    ///
    /// `GET /api/backend/v1/orgs/{org_id}/members/{user_id}` (`get_org_member`).
    pub async fn get_org_member(&self, org_id: &str, user_id: &str) -> Result<MemberOut, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/orgs/{org_id}/members/{user_id}", org_id = segment(org_id), user_id = segment(user_id)), None::<&()>, None::<&()>).await
    }

    /// Change a member's roles
    ///
    /// `PATCH /api/backend/v1/orgs/{org_id}/members/{user_id}` (`change_org_member_role`).
    pub async fn change_org_member_role(&self, org_id: &str, user_id: &str, body: &MemberPatch) -> Result<MemberOut, Error> {
        self.send(reqwest::Method::PATCH, format!("/api/backend/v1/orgs/{org_id}/members/{user_id}", org_id = segment(org_id), user_id = segment(user_id)), None::<&()>, Some(body)).await
    }

    /// Merge into an organization's metadata
    ///
    /// An RFC 7396 merge patch: `null` removes a key, objects merge, anything else replaces.
    ///
    /// `PATCH /api/backend/v1/orgs/{org_id}/metadata` (`merge_org_metadata`).
    pub async fn merge_org_metadata(&self, org_id: &str, body: &serde_json::Map<String, serde_json::Value>) -> Result<OrgOut, Error> {
        self.send(reqwest::Method::PATCH, format!("/api/backend/v1/orgs/{org_id}/metadata", org_id = segment(org_id)), None::<&()>, Some(body)).await
    }

    /// Require two-factor authentication in an org
    ///
    /// Now, by a deadline, or no more. Members without 2FA are emailed, reminded a day before the
    /// deadline, refused (`403 mfa-required`) after it, and their tokens mark the org
    /// `mfa_required` with no role or permissions.
    ///
    /// `PUT /api/backend/v1/orgs/{org_id}/mfa-requirement` (`set_org_mfa_requirement`).
    pub async fn set_org_mfa_requirement(&self, org_id: &str, body: &MfaRequirementIn) -> Result<MfaRequirementOut, Error> {
        self.send(reqwest::Method::PUT, format!("/api/backend/v1/orgs/{org_id}/mfa-requirement", org_id = segment(org_id)), None::<&()>, Some(body)).await
    }

    /// Cancel a pending ownership transfer
    ///
    /// `DELETE /api/backend/v1/orgs/{org_id}/ownership-transfer` (`cancel_ownership_transfer`).
    pub async fn cancel_ownership_transfer(&self, org_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::DELETE, format!("/api/backend/v1/orgs/{org_id}/ownership-transfer", org_id = segment(org_id)), None::<&()>, None::<&()>).await
    }

    /// Remove the SAML connection
    ///
    /// The org no longer requires SSO. Sends `org.saml_removed`.
    ///
    /// `DELETE /api/backend/v1/orgs/{org_id}/saml` (`remove_org_saml`).
    pub async fn remove_org_saml(&self, org_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::DELETE, format!("/api/backend/v1/orgs/{org_id}/saml", org_id = segment(org_id)), None::<&()>, None::<&()>).await
    }

    /// The org's SAML connection
    ///
    /// `GET /api/backend/v1/orgs/{org_id}/saml` (`get_org_saml`).
    pub async fn get_org_saml(&self, org_id: &str) -> Result<SamlConnectionOut, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/orgs/{org_id}/saml", org_id = segment(org_id)), None::<&()>, None::<&()>).await
    }

    /// Set up the org's SAML connection
    ///
    /// From the IdP's metadata (XML or a URL) or by hand. A new or replaced connection is in test
    /// mode: only the org's admins can sign in through it until `POST …/saml/live`. Sends
    /// `org.saml_setup`.
    ///
    /// `PUT /api/backend/v1/orgs/{org_id}/saml` (`set_up_org_saml`).
    pub async fn set_up_org_saml(&self, org_id: &str, body: &SamlSetupIn) -> Result<SamlConnectionOut, Error> {
        self.send(reqwest::Method::PUT, format!("/api/backend/v1/orgs/{org_id}/saml", org_id = segment(org_id)), None::<&()>, Some(body)).await
    }

    /// Make the SAML connection live
    ///
    /// Every member can then sign in through it, and new users are created just in time. Sends
    /// `org.saml_went_live`.
    ///
    /// `POST /api/backend/v1/orgs/{org_id}/saml/live` (`make_org_saml_live`).
    pub async fn make_org_saml_live(&self, org_id: &str) -> Result<SamlConnectionOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/orgs/{org_id}/saml/live", org_id = segment(org_id)), None::<&()>, None::<&()>).await
    }

    /// Require SSO for the org's members
    ///
    /// They then sign in only through its live connection (`409 sso-connection-not-live`
    /// otherwise).
    ///
    /// `PUT /api/backend/v1/orgs/{org_id}/saml/required` (`set_org_sso_required`).
    pub async fn set_org_sso_required(&self, org_id: &str, body: &SsoRequiredIn) -> Result<SamlConnectionOut, Error> {
        self.send(reqwest::Method::PUT, format!("/api/backend/v1/orgs/{org_id}/saml/required", org_id = segment(org_id)), None::<&()>, Some(body)).await
    }

    /// Read the roles and permissions
    ///
    /// `GET /api/backend/v1/roles` (`get_roles`).
    pub async fn get_roles(&self) -> Result<RolesOut, Error> {
        self.send(reqwest::Method::GET, "/api/backend/v1/roles".to_owned(), None::<&()>, None::<&()>).await
    }

    /// Replace the roles and permissions
    ///
    /// Refused while a member or pending invitation holds a role that would be dropped.
    ///
    /// `PUT /api/backend/v1/roles` (`set_roles`).
    pub async fn set_roles(&self, body: &RolesIn) -> Result<RolesOut, Error> {
        self.send(reqwest::Method::PUT, "/api/backend/v1/roles".to_owned(), None::<&()>, Some(body)).await
    }

    /// Validate an access token
    ///
    /// Checks signature, type, issuer and expiry against the published keys, and that the token's
    /// session is still live; returns the claims. (SaaS backends usually verify locally against
    /// the JWKS instead, trading revocation for speed: a token lives 15 minutes.)
    ///
    /// `POST /api/backend/v1/tokens/validate` (`validate_access_token`).
    pub async fn validate_access_token(&self, body: &ValidateIn) -> Result<ClaimsOut, Error> {
        self.send(reqwest::Method::POST, "/api/backend/v1/tokens/validate".to_owned(), None::<&()>, Some(body)).await
    }

    /// Query users
    ///
    /// Users in creation order, optionally only those whose email starts with `email_prefix`.
    ///
    /// `GET /api/backend/v1/users` (`query_users`).
    pub async fn query_users(&self, params: &QueryUsersParams) -> Result<UserPage, Error> {
        self.send(reqwest::Method::GET, "/api/backend/v1/users".to_owned(), Some(params), None::<&()>).await
    }

    /// Every item of [`Client::query_users`], page after page, as a stream: `params.cursor` is where it starts.
    pub fn query_users_stream(&self, params: QueryUsersParams) -> impl Stream<Item = Result<UserOut, Error>> + Send + '_ {
        let path = "/api/backend/v1/users".to_owned();
        self.pages::<QueryUsersParams, UserPage>(path, params)
    }

    /// Create a user
    ///
    /// `POST /api/backend/v1/users` (`create_user`).
    pub async fn create_user(&self, body: &UserIn) -> Result<UserOut, Error> {
        self.send(reqwest::Method::POST, "/api/backend/v1/users".to_owned(), None::<&()>, Some(body)).await
    }

    /// Fetch a user by email
    ///
    /// Case-insensitive. Finds only users outside isolated organizations.
    ///
    /// `GET /api/backend/v1/users/by-email` (`get_user_by_email`).
    pub async fn get_user_by_email(&self, params: &GetUserByEmailParams) -> Result<UserOut, Error> {
        self.send(reqwest::Method::GET, "/api/backend/v1/users/by-email".to_owned(), Some(params), None::<&()>).await
    }

    /// Delete a user
    ///
    /// Permanent. The audit trail keeps its entries about the user.
    ///
    /// `DELETE /api/backend/v1/users/{user_id}` (`delete_user`).
    pub async fn delete_user(&self, user_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::DELETE, format!("/api/backend/v1/users/{user_id}", user_id = segment(user_id)), None::<&()>, None::<&()>).await
    }

    /// Fetch a user
    ///
    /// `GET /api/backend/v1/users/{user_id}` (`get_user`).
    pub async fn get_user(&self, user_id: &str) -> Result<UserOut, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/users/{user_id}", user_id = segment(user_id)), None::<&()>, None::<&()>).await
    }

    /// Update a user
    ///
    /// `PATCH /api/backend/v1/users/{user_id}` (`update_user`).
    pub async fn update_user(&self, user_id: &str, body: &UserPatch) -> Result<UserOut, Error> {
        self.send(reqwest::Method::PATCH, format!("/api/backend/v1/users/{user_id}", user_id = segment(user_id)), None::<&()>, Some(body)).await
    }

    /// Issue an access token for a user
    ///
    /// For support tooling and tests. The token belongs to a new session, revocable like any other.
    ///
    /// `POST /api/backend/v1/users/{user_id}/access-token` (`create_access_token`).
    pub async fn create_access_token(&self, user_id: &str) -> Result<TokensOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/users/{user_id}/access-token", user_id = segment(user_id)), None::<&()>, None::<&()>).await
    }

    /// Disable a user
    ///
    /// A disabled user cannot sign in. Disabling a disabled user changes nothing.
    ///
    /// `POST /api/backend/v1/users/{user_id}/disable` (`disable_user`).
    pub async fn disable_user(&self, user_id: &str) -> Result<UserOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/users/{user_id}/disable", user_id = segment(user_id)), None::<&()>, None::<&()>).await
    }

    /// Enable a user
    ///
    /// `POST /api/backend/v1/users/{user_id}/enable` (`enable_user`).
    pub async fn enable_user(&self, user_id: &str) -> Result<UserOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/users/{user_id}/enable", user_id = segment(user_id)), None::<&()>, None::<&()>).await
    }

    /// Reset a user's two-factor authentication
    ///
    /// For a user who lost their authenticator and backup codes: 2FA is off, the user is emailed,
    /// and the audit trail records it. `409 mfa-not-enabled` when it was off.
    ///
    /// `POST /api/backend/v1/users/{user_id}/mfa/reset` (`reset_user_mfa`).
    pub async fn reset_user_mfa(&self, user_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/users/{user_id}/mfa/reset", user_id = segment(user_id)), None::<&()>, None::<&()>).await
    }

    /// List a user's organizations
    ///
    /// `GET /api/backend/v1/users/{user_id}/orgs` (`list_user_orgs`).
    pub async fn list_user_orgs(&self, user_id: &str, params: &ListUserOrgsParams) -> Result<MembershipPage, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/users/{user_id}/orgs", user_id = segment(user_id)), Some(params), None::<&()>).await
    }

    /// Every item of [`Client::list_user_orgs`], page after page, as a stream: `params.cursor` is where it starts.
    pub fn list_user_orgs_stream(&self, user_id: &str, params: ListUserOrgsParams) -> impl Stream<Item = Result<MembershipOut, Error>> + Send + '_ {
        let path = format!("/api/backend/v1/users/{user_id}/orgs", user_id = segment(user_id));
        self.pages::<ListUserOrgsParams, MembershipPage>(path, params)
    }

    /// Set a user's password
    ///
    /// `PUT /api/backend/v1/users/{user_id}/password` (`set_user_password`).
    pub async fn set_user_password(&self, user_id: &str, body: &PasswordIn) -> Result<UserOut, Error> {
        self.send(reqwest::Method::PUT, format!("/api/backend/v1/users/{user_id}/password", user_id = segment(user_id)), None::<&()>, Some(body)).await
    }

    /// End all of a user's sessions
    ///
    /// `DELETE /api/backend/v1/users/{user_id}/sessions` (`revoke_user_sessions`).
    pub async fn revoke_user_sessions(&self, user_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::DELETE, format!("/api/backend/v1/users/{user_id}/sessions", user_id = segment(user_id)), None::<&()>, None::<&()>).await
    }

    /// List a user's sessions
    ///
    /// `GET /api/backend/v1/users/{user_id}/sessions` (`list_user_sessions`).
    pub async fn list_user_sessions(&self, user_id: &str) -> Result<SessionList, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/users/{user_id}/sessions", user_id = segment(user_id)), None::<&()>, None::<&()>).await
    }

    /// List webhook endpoints
    ///
    /// `GET /api/backend/v1/webhooks/endpoints` (`list_webhook_endpoints`).
    pub async fn list_webhook_endpoints(&self, params: &ListWebhookEndpointsParams) -> Result<WebhookEndpointPage, Error> {
        self.send(reqwest::Method::GET, "/api/backend/v1/webhooks/endpoints".to_owned(), Some(params), None::<&()>).await
    }

    /// Every item of [`Client::list_webhook_endpoints`], page after page, as a stream: `params.cursor` is where it starts.
    pub fn list_webhook_endpoints_stream(&self, params: ListWebhookEndpointsParams) -> impl Stream<Item = Result<WebhookEndpointOut, Error>> + Send + '_ {
        let path = "/api/backend/v1/webhooks/endpoints".to_owned();
        self.pages::<ListWebhookEndpointsParams, WebhookEndpointPage>(path, params)
    }

    /// Create a webhook endpoint
    ///
    /// The answer holds the signing secret; it can be fetched again later.
    ///
    /// `POST /api/backend/v1/webhooks/endpoints` (`create_webhook_endpoint`).
    pub async fn create_webhook_endpoint(&self, body: &WebhookEndpointIn) -> Result<WebhookEndpointSecretOut, Error> {
        self.send(reqwest::Method::POST, "/api/backend/v1/webhooks/endpoints".to_owned(), None::<&()>, Some(body)).await
    }

    /// Delete a webhook endpoint
    ///
    /// Its messages and their attempts go with it.
    ///
    /// `DELETE /api/backend/v1/webhooks/endpoints/{endpoint_id}` (`delete_webhook_endpoint`).
    pub async fn delete_webhook_endpoint(&self, endpoint_id: &str) -> Result<(), Error> {
        self.send(reqwest::Method::DELETE, format!("/api/backend/v1/webhooks/endpoints/{endpoint_id}", endpoint_id = segment(endpoint_id)), None::<&()>, None::<&()>).await
    }

    /// Fetch a webhook endpoint
    ///
    /// `GET /api/backend/v1/webhooks/endpoints/{endpoint_id}` (`get_webhook_endpoint`).
    pub async fn get_webhook_endpoint(&self, endpoint_id: &str) -> Result<WebhookEndpointOut, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/webhooks/endpoints/{endpoint_id}", endpoint_id = segment(endpoint_id)), None::<&()>, None::<&()>).await
    }

    /// Update a webhook endpoint
    ///
    /// `PATCH /api/backend/v1/webhooks/endpoints/{endpoint_id}` (`update_webhook_endpoint`).
    pub async fn update_webhook_endpoint(&self, endpoint_id: &str, body: &WebhookEndpointPatch) -> Result<WebhookEndpointOut, Error> {
        self.send(reqwest::Method::PATCH, format!("/api/backend/v1/webhooks/endpoints/{endpoint_id}", endpoint_id = segment(endpoint_id)), None::<&()>, Some(body)).await
    }

    /// Disable a webhook endpoint
    ///
    /// `POST /api/backend/v1/webhooks/endpoints/{endpoint_id}/disable` (`disable_webhook_endpoint`).
    pub async fn disable_webhook_endpoint(&self, endpoint_id: &str) -> Result<WebhookEndpointOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/webhooks/endpoints/{endpoint_id}/disable", endpoint_id = segment(endpoint_id)), None::<&()>, None::<&()>).await
    }

    /// Enable a webhook endpoint
    ///
    /// `POST /api/backend/v1/webhooks/endpoints/{endpoint_id}/enable` (`enable_webhook_endpoint`).
    pub async fn enable_webhook_endpoint(&self, endpoint_id: &str) -> Result<WebhookEndpointOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/webhooks/endpoints/{endpoint_id}/enable", endpoint_id = segment(endpoint_id)), None::<&()>, None::<&()>).await
    }

    /// Fetch a webhook endpoint's secret
    ///
    /// `GET /api/backend/v1/webhooks/endpoints/{endpoint_id}/secret` (`get_webhook_secret`).
    pub async fn get_webhook_secret(&self, endpoint_id: &str) -> Result<WebhookSecretOut, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/webhooks/endpoints/{endpoint_id}/secret", endpoint_id = segment(endpoint_id)), None::<&()>, None::<&()>).await
    }

    /// Rotate a webhook endpoint's secret
    ///
    /// The new secret signs at once; the previous one keeps signing beside it until
    /// `previous_secret_expires_at`, so deliveries carry two signatures meanwhile.
    ///
    /// `POST /api/backend/v1/webhooks/endpoints/{endpoint_id}/secret/rotate` (`rotate_webhook_secret`).
    pub async fn rotate_webhook_secret(&self, endpoint_id: &str) -> Result<WebhookEndpointSecretOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/webhooks/endpoints/{endpoint_id}/secret/rotate", endpoint_id = segment(endpoint_id)), None::<&()>, None::<&()>).await
    }

    /// Send a test event
    ///
    /// Queues a `webhook.test` message for this endpoint only.
    ///
    /// `POST /api/backend/v1/webhooks/endpoints/{endpoint_id}/test` (`send_test_webhook`).
    pub async fn send_test_webhook(&self, endpoint_id: &str) -> Result<WebhookMessageOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/webhooks/endpoints/{endpoint_id}/test", endpoint_id = segment(endpoint_id)), None::<&()>, None::<&()>).await
    }

    /// List webhook event types
    ///
    /// Every event type Tenantry sends, with what triggers it, the schema of its body and an
    /// example. The same bodies are under `x-webhooks` in this document.
    ///
    /// `GET /api/backend/v1/webhooks/event-types` (`list_webhook_event_types`).
    pub async fn list_webhook_event_types(&self) -> Result<WebhookEventTypeList, Error> {
        self.send(reqwest::Method::GET, "/api/backend/v1/webhooks/event-types".to_owned(), None::<&()>, None::<&()>).await
    }

    /// List webhook messages
    ///
    /// In creation order, optionally of one endpoint, event type or state.
    ///
    /// `GET /api/backend/v1/webhooks/messages` (`list_webhook_messages`).
    pub async fn list_webhook_messages(&self, params: &ListWebhookMessagesParams) -> Result<WebhookMessagePage, Error> {
        self.send(reqwest::Method::GET, "/api/backend/v1/webhooks/messages".to_owned(), Some(params), None::<&()>).await
    }

    /// Every item of [`Client::list_webhook_messages`], page after page, as a stream: `params.cursor` is where it starts.
    pub fn list_webhook_messages_stream(&self, params: ListWebhookMessagesParams) -> impl Stream<Item = Result<WebhookMessageOut, Error>> + Send + '_ {
        let path = "/api/backend/v1/webhooks/messages".to_owned();
        self.pages::<ListWebhookMessagesParams, WebhookMessagePage>(path, params)
    }

    /// Replay failed webhook messages
    ///
    /// Every failed message created since `since` (of one endpoint, if given) is sent again.
    ///
    /// `POST /api/backend/v1/webhooks/messages/replay` (`replay_failed_webhooks`).
    pub async fn replay_failed_webhooks(&self, body: &WebhookReplayIn) -> Result<WebhookReplayOut, Error> {
        self.send(reqwest::Method::POST, "/api/backend/v1/webhooks/messages/replay".to_owned(), None::<&()>, Some(body)).await
    }

    /// Fetch a webhook message
    ///
    /// `GET /api/backend/v1/webhooks/messages/{message_id}` (`get_webhook_message`).
    pub async fn get_webhook_message(&self, message_id: &str) -> Result<WebhookMessageOut, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/webhooks/messages/{message_id}", message_id = segment(message_id)), None::<&()>, None::<&()>).await
    }

    /// List a webhook message's attempts
    ///
    /// `GET /api/backend/v1/webhooks/messages/{message_id}/attempts` (`list_webhook_attempts`).
    pub async fn list_webhook_attempts(&self, message_id: &str) -> Result<WebhookAttemptList, Error> {
        self.send(reqwest::Method::GET, format!("/api/backend/v1/webhooks/messages/{message_id}/attempts", message_id = segment(message_id)), None::<&()>, None::<&()>).await
    }

    /// Replay a webhook message
    ///
    /// Sends it again with the same `webhook-id` and a fresh attempt budget, whatever its state.
    ///
    /// `POST /api/backend/v1/webhooks/messages/{message_id}/replay` (`replay_webhook_message`).
    pub async fn replay_webhook_message(&self, message_id: &str) -> Result<WebhookMessageOut, Error> {
        self.send(reqwest::Method::POST, format!("/api/backend/v1/webhooks/messages/{message_id}/replay", message_id = segment(message_id)), None::<&()>, None::<&()>).await
    }

}

/// The query parameters of [`Client::list_api_keys`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ListApiKeysParams {
    /// `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query parameters of [`Client::query_orgs`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueryOrgsParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query parameters of [`Client::get_org_audit_log`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GetOrgAuditLogParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query parameters of [`Client::list_org_invites`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ListOrgInvitesParams {
    /// Every state, not only pending invitations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_states: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query parameters of [`Client::list_org_members`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ListOrgMembersParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Case-insensitive prefix of the email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Leave pending invitations out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query parameters of [`Client::query_users`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueryUsersParams {
    /// Case-insensitive prefix of the email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_prefix: Option<String>,
    /// `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query parameters of [`Client::get_user_by_email`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GetUserByEmailParams {
    pub email: String,
}

/// The query parameters of [`Client::list_user_orgs`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ListUserOrgsParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query parameters of [`Client::list_webhook_endpoints`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ListWebhookEndpointsParams {
    /// `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query parameters of [`Client::list_webhook_messages`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ListWebhookMessagesParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    /// An event type name, or `webhook.test`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// `pending`, `delivered` or `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl Paged for ListApiKeysParams {
    fn set_cursor(&mut self, cursor: Option<String>) {
        self.cursor = cursor;
    }
}

impl Page for ApiKeyPage {
    type Item = ApiKeyOut;
    fn into_parts(self) -> (Vec<ApiKeyOut>, Option<String>) {
        (self.api_keys, self.next_cursor)
    }
}

impl Paged for QueryOrgsParams {
    fn set_cursor(&mut self, cursor: Option<String>) {
        self.cursor = cursor;
    }
}

impl Page for OrgPage {
    type Item = OrgOut;
    fn into_parts(self) -> (Vec<OrgOut>, Option<String>) {
        (self.orgs, self.next_cursor)
    }
}

impl Paged for GetOrgAuditLogParams {
    fn set_cursor(&mut self, cursor: Option<String>) {
        self.cursor = cursor;
    }
}

impl Page for AuditPage {
    type Item = AuditEntryOut;
    fn into_parts(self) -> (Vec<AuditEntryOut>, Option<String>) {
        (self.entries, self.next_cursor)
    }
}

impl Paged for ListOrgInvitesParams {
    fn set_cursor(&mut self, cursor: Option<String>) {
        self.cursor = cursor;
    }
}

impl Page for InvitePage {
    type Item = InviteOut;
    fn into_parts(self) -> (Vec<InviteOut>, Option<String>) {
        (self.invites, self.next_cursor)
    }
}

impl Paged for ListOrgMembersParams {
    fn set_cursor(&mut self, cursor: Option<String>) {
        self.cursor = cursor;
    }
}

impl Page for RosterPage {
    type Item = RosterEntryOut;
    fn into_parts(self) -> (Vec<RosterEntryOut>, Option<String>) {
        (self.entries, self.next_cursor)
    }
}

impl Paged for QueryUsersParams {
    fn set_cursor(&mut self, cursor: Option<String>) {
        self.cursor = cursor;
    }
}

impl Page for UserPage {
    type Item = UserOut;
    fn into_parts(self) -> (Vec<UserOut>, Option<String>) {
        (self.users, self.next_cursor)
    }
}

impl Paged for ListUserOrgsParams {
    fn set_cursor(&mut self, cursor: Option<String>) {
        self.cursor = cursor;
    }
}

impl Page for MembershipPage {
    type Item = MembershipOut;
    fn into_parts(self) -> (Vec<MembershipOut>, Option<String>) {
        (self.orgs, self.next_cursor)
    }
}

impl Paged for ListWebhookEndpointsParams {
    fn set_cursor(&mut self, cursor: Option<String>) {
        self.cursor = cursor;
    }
}

impl Page for WebhookEndpointPage {
    type Item = WebhookEndpointOut;
    fn into_parts(self) -> (Vec<WebhookEndpointOut>, Option<String>) {
        (self.endpoints, self.next_cursor)
    }
}

impl Paged for ListWebhookMessagesParams {
    fn set_cursor(&mut self, cursor: Option<String>) {
        self.cursor = cursor;
    }
}

impl Page for WebhookMessagePage {
    type Item = WebhookMessageOut;
    fn into_parts(self) -> (Vec<WebhookMessageOut>, Option<String>) {
        (self.messages, self.next_cursor)
    }
}

/// A new key and its secret. The secret is shown this once; only its hash is kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyCreatedOut {
    pub api_key: ApiKeyOut,
    pub secret: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyIn {
    /// What the key is for, 1 to 100 characters.
    pub name: String,
}

/// An API key, without its secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyOut {
    pub api_key_id: String,
    pub created_at: String,
    /// The first characters of the key, to tell keys apart.
    pub display_prefix: String,
    /// Updated at most once a minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyPage {
    pub api_keys: Vec<ApiKeyOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Which attributes carry the person's details; a list is tried in order against each
/// attribute's `Name` and `FriendlyName`. Omitted lists keep the defaults, which read the names
/// Okta, Entra ID and Google Workspace send.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributeMappingIo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Vec<String>>,
    /// An IdP group (a value of the `groups` attribute) to the org role its members get, at the
    /// first sign-in and at every later one; when several of a person's groups are mapped, the
    /// highest role wins. A person in no mapped group joins at the default role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_roles: Option<std::collections::BTreeMap<String, String>>,
    /// The attribute that lists the person's groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<Vec<String>>,
}

/// An entry of an organization's audit trail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEntryOut {
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// `api_key`, `user`, `system` or `anonymous`.
    pub actor_kind: String,
    pub audit_id: String,
    pub details: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub occurred_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    pub target_kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditEntryOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The verified claims of an access token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClaimsOut {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_org_id: Option<String>,
    pub email: String,
    pub email_verified: bool,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub jti: String,
    /// By org id.
    pub orgs: std::collections::BTreeMap<String, OrgClaimOut>,
    /// The session id.
    pub sid: String,
    /// The user id.
    pub sub: String,
}

/// `data` of `webhook_endpoint.disabled`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointDisabledEventData {
    pub endpoint_id: String,
    /// When the deliveries to it started failing without a success since; absent when a `410 Gone`
    /// came before any other failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
    /// Why: `failing` (every delivery failed for `webhooks.disable_after_failing_secs`) or `gone`
    /// (its receiver answered `410 Gone`). The endpoint's `disabled_reason` says the same.
    pub reason: String,
    pub url: String,
    /// The endpoint's version after it was disabled.
    pub version: i64,
}

/// One field's problem.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub detail: String,
    /// The field's name, as on the wire.
    pub field: String,
}

/// `data` of the invitation events: the invitation after the change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InviteEventData {
    /// The user who accepted; always present, null until accepted.
    #[serde(default)]
    pub accepted_by: Option<String>,
    pub additional_roles: Vec<String>,
    /// The invited address.
    pub email: String,
    /// When the link stops working.
    pub expires_at: String,
    pub invite_id: String,
    pub org_id: String,
    /// The hierarchy role the invitee gets.
    pub role: String,
    /// `pending`, `accepted` or `revoked`.
    pub state: String,
    /// The invitation's version: 1 when sent, one more when accepted or revoked.
    pub version: i64,
}

/// An invitation to send.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InviteIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_roles: Option<Vec<String>>,
    pub email: String,
    /// A hierarchy role; the lowest one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// An invitation (never its token).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InviteOut {
    pub additional_roles: Vec<String>,
    pub created_at: String,
    pub email: String,
    pub expires_at: String,
    pub invite_id: String,
    /// The inviting user; absent when the backend invited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<String>,
    pub org_id: String,
    pub role: String,
    /// `pending`, `accepted`, `declined`, `revoked` or `expired`.
    pub state: String,
    pub version: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvitePage {
    pub invites: Vec<InviteOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A user to add to an organization directly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_roles: Option<Vec<String>>,
    /// A hierarchy role; the lowest one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub user_id: String,
}

/// A member of an organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberOut {
    pub additional_roles: Vec<String>,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    pub is_creator: bool,
    pub joined_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    pub membership_id: String,
    /// Whether the member has two-factor authentication on (in the members list and a member's
    /// fetch; absent from the answers of changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_enabled: Option<bool>,
    pub org_id: String,
    /// Everything the roles grant, inherited ones included.
    pub permissions: Vec<String>,
    /// The member's role in the hierarchy.
    pub role: String,
    pub user_id: String,
    pub version: i64,
}

/// A change of roles; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberPatch {
    /// Replaces the member's additional roles.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub additional_roles: Patch<Vec<String>>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub role: Patch<String>,
}

/// `data` of `user.added_to_org` and `user.removed_from_org`: one membership.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MembershipEventData {
    /// Roles held beside the hierarchy role.
    pub additional_roles: Vec<String>,
    /// The membership; a user who leaves and joins again gets a new one.
    pub membership_id: String,
    pub org_id: String,
    /// The hierarchy role (for example `Owner`, `Admin`, `Member`).
    pub role: String,
    pub user_id: String,
    /// The membership's version: 1 when it starts, one more at every change and at its end.
    pub version: i64,
}

/// One of a user's organizations and their standing in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MembershipOut {
    pub additional_roles: Vec<String>,
    /// The roles below `role`, whose permissions it inherits.
    pub inherited_roles: Vec<String>,
    pub joined_at: String,
    pub org_id: String,
    pub org_name: String,
    pub org_slug: String,
    pub permissions: Vec<String>,
    pub role: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MembershipPage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub orgs: Vec<MembershipOut>,
}

/// `data` of `user.role_changed_within_org`: the membership after the change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MembershipRoleChangedEventData {
    /// The additional roles after the change.
    pub additional_roles: Vec<String>,
    pub membership_id: String,
    pub org_id: String,
    /// The hierarchy role before the change (the same as `role` when only additional roles
    /// changed).
    pub previous_role: String,
    /// The hierarchy role after the change.
    pub role: String,
    pub user_id: String,
    /// The membership's version after the change.
    pub version: i64,
}

/// An org's 2FA requirement, to set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MfaRequirementIn {
    /// When `required`: the deadline, after which members without 2FA may not act in the org
    /// (in the future, within a year). Absent: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_until: Option<String>,
    /// Whether members must have 2FA.
    pub required: bool,
}

/// An org's 2FA requirement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MfaRequirementOut {
    /// The deadline; absent when enforced from `required_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_until: Option<String>,
    pub org_id: String,
    pub required: bool,
    /// When the requirement was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_at: Option<String>,
    /// The org's version after the change.
    pub version: i64,
}

/// One organization in a token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgClaimOut {
    pub additional_roles: Vec<String>,
    pub inherited_roles: Vec<String>,
    pub name: String,
    pub org_id: String,
    pub permissions: Vec<String>,
    pub role: String,
    pub slug: String,
}

/// `data` of `org.created`, `org.updated` and `org.deleted`: the org's public fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgEventData {
    /// Whether users with an address at one of `domains` join on sign-in.
    pub domain_auto_join: bool,
    /// Whether only addresses at one of `domains` may be invited.
    pub domain_restrict: bool,
    /// The org's verified email domains.
    pub domains: Vec<String>,
    /// The seat limit; always present, null when unlimited.
    #[serde(default)]
    pub max_users: Option<u32>,
    /// Active members.
    pub member_count: u32,
    /// Free-form metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub name: String,
    pub org_id: String,
    pub slug: String,
    /// The org's version: 1 at creation, one more at every change, member-count changes and
    /// ownership transfers included.
    pub version: i64,
}

/// A new organization, as the backend creates it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_auto_join: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_restrict: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<String>>,
    /// An isolated organization (its own user pool): its users are accounts of their own, made
    /// by its SSO's first sign-ins, who sign in only through it. Without `owner_user_id`; set up
    /// its SAML connection next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolated: Option<bool>,
    /// At least 1; absent is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub name: String,
    /// The user who becomes its Owner; without one the organization starts with no members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_user_id: Option<String>,
    /// Generated from the name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
}

/// `data` of `org.mfa_requirement_changed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgMfaRequirementEventData {
    /// The deadline after which members without 2FA are refused; null when enforced at once or
    /// lifted.
    #[serde(default)]
    pub grace_until: Option<String>,
    pub org_id: String,
    /// Whether members must have 2FA.
    pub required: bool,
    /// When the requirement was set; null when lifted.
    #[serde(default)]
    pub required_at: Option<String>,
    /// The org's version after the change.
    pub version: i64,
}

/// An organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgOut {
    pub created_at: String,
    /// The user who created it through the end-user API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Users with a verified email at one of `domains` join by themselves, at the lowest role.
    pub domain_auto_join: bool,
    /// Only addresses at one of `domains` may be invited or added.
    pub domain_restrict: bool,
    pub domains: Vec<String>,
    pub isolated: bool,
    /// Members plus pending invites may not exceed it; absent means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users: Option<u32>,
    pub member_count: u32,
    /// Set through the backend API; at most 8 KiB of JSON.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// 1 to 255 characters.
    pub name: String,
    pub org_id: String,
    /// URL-safe and unique.
    pub slug: String,
    pub updated_at: String,
    /// Incremented on every change; webhook events carry it too.
    pub version: i64,
}

/// `data` of `org.ownership_transferred`: the org after the transfer, and who gave and got it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgOwnershipTransferredEventData {
    /// Whether users with an address at one of `domains` join on sign-in.
    pub domain_auto_join: bool,
    /// Whether only addresses at one of `domains` may be invited.
    pub domain_restrict: bool,
    /// The org's verified email domains.
    pub domains: Vec<String>,
    /// The previous owner.
    pub from_user_id: String,
    /// The seat limit; always present, null when unlimited.
    #[serde(default)]
    pub max_users: Option<u32>,
    /// Active members.
    pub member_count: u32,
    /// Free-form metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub name: String,
    pub org_id: String,
    pub slug: String,
    /// The new owner.
    pub to_user_id: String,
    /// The org's version: 1 at creation, one more at every change, member-count changes and
    /// ownership transfers included.
    pub version: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgPage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub orgs: Vec<OrgOut>,
}

/// A partial update; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgPatch {
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub domain_auto_join: Patch<bool>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub domain_restrict: Patch<bool>,
    /// `null` is unlimited. Lowering it evicts nobody.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub max_users: Patch<i64>,
    /// Replaces the whole object (see the metadata endpoint to merge).
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub metadata: Patch<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub name: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub slug: Patch<String>,
}

/// A new password for a user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PasswordIn {
    pub password: String,
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// What went wrong, for people.
    pub detail: String,
    /// Problems with individual input fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldProblem>>,
    /// The HTTP status code.
    pub status: u16,
    /// A short summary of the status.
    pub title: String,
    /// A stable URN naming the problem, e.g. `urn:tenantry:problem:email-taken`.
    #[serde(rename = "type")]
    pub r#type: String,
}

/// One role and the permissions it holds itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleOut {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// The deployment's roles and permissions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolesIn {
    /// Roles granted beside a member's hierarchy role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_roles: Option<Vec<RoleOut>>,
    /// The deployment's own permissions, e.g. `projects.write` (not starting with `org.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_permissions: Option<Vec<String>>,
    /// Highest first: the first is the owner role; each role inherits the permissions of those
    /// below it.
    pub hierarchy: Vec<RoleOut>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolesOut {
    pub additional_roles: Vec<RoleOut>,
    pub app_permissions: Vec<String>,
    pub hierarchy: Vec<RoleOut>,
    /// 0 while the configuration file's roles apply; incremented by every change.
    pub version: i64,
}

/// One line of the roster: a member (`kind` = `member`) or a pending invite (`invite`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RosterEntryOut {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<InviteOut>,
    /// `member` or `invite`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberOut>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RosterPage {
    pub entries: Vec<RosterEntryOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `data` of `org.saml_setup`, `org.saml_went_live` and `org.saml_removed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamlConnectionEventData {
    pub connection_id: String,
    pub org_id: String,
    /// `test`, `live`, or `removed`.
    pub status: String,
    /// The connection's version after the change (1 at setup, one more at each change).
    pub version: i64,
}

/// An org's SAML connection, with what the IdP's administrator needs from this side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamlConnectionOut {
    /// The Assertion Consumer Service URL (HTTP-POST binding).
    pub acs_url: String,
    pub allow_idp_initiated: bool,
    pub allow_sha1: bool,
    pub attribute_mapping: AttributeMappingIo,
    pub created_at: String,
    pub id: String,
    /// The IdP's signing certificates, base64 DER.
    pub idp_certificates: Vec<String>,
    pub idp_enforces_mfa: bool,
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_url: Option<String>,
    pub org_id: String,
    /// The certificate (base64 of DER) the IdP encrypts assertions to, if it encrypts them; the
    /// SP metadata carries it too. It stays the same when the IdP settings are replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp_encryption_certificate: Option<String>,
    /// The SP entity id (the `Audience` the IdP must name); it is also the URL of the SP metadata.
    pub sp_entity_id: String,
    /// The SP metadata XML, to import into the IdP.
    pub sp_metadata_url: String,
    /// Whether the org's members must sign in through it.
    pub sso_required: bool,
    /// `test` (only the org's admins can sign in through it) or `live`.
    pub status: String,
    pub updated_at: String,
    pub version: i64,
}

/// Setting up (or replacing) the connection. Give exactly one of `metadata_xml`, `metadata_url`,
/// or the three `idp_…` fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamlSetupIn {
    /// Accept responses the IdP sends unasked (IdP-initiated sign-in). Off by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_idp_initiated: Option<bool>,
    /// Accept RSA-SHA1 signatures and SHA-1 digests. Off by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_sha1: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_mapping: Option<AttributeMappingIo>,
    /// The IdP's signing certificates, PEM or base64 DER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_certificates: Option<Vec<String>>,
    /// The IdP enforces MFA: a sign-in through it satisfies the org's 2FA requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_enforces_mfa: Option<bool>,
    /// The IdP's entity id (its responses' `Issuer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_entity_id: Option<String>,
    /// The IdP's single sign-on URL (HTTP-Redirect binding): `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_sso_url: Option<String>,
    /// A URL serving the IdP's metadata; fetched once now, never from an internal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_url: Option<String>,
    /// The IdP's metadata XML (an `EntityDescriptor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_xml: Option<String>,
}

/// `data` of the billing events `org.member_count_changed` and `org.seat_limit_reached`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeatEventData {
    /// The seat limit; always present, null when unlimited.
    #[serde(default)]
    pub max_users: Option<u32>,
    /// Active members.
    pub member_count: u32,
    pub org_id: String,
    /// Invitations still pending and unexpired: each holds a seat.
    pub pending_invites: i64,
    /// `member_count` plus `pending_invites`.
    pub seats_used: i64,
    /// The org's version (the same counter as in `org.updated`).
    pub version: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionOut>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionOut {
    /// How it was signed in, as its access tokens say (`amr`, RFC 8176): `pwd`, `otp`, `saml`,
    /// `mfa` (the SSO connection's IdP enforces MFA), `email` (an emailed link); empty for a
    /// session the backend API opened for the user.
    pub amr: Vec<String>,
    pub created_at: String,
    /// Whether this is the session making the request.
    pub current: bool,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub last_seen_at: String,
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// Whether the org's members must sign in through its (live) connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SsoRequiredIn {
    pub required: bool,
}

/// `data` of `webhook.test`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TestEventData {
    /// The endpoint the test was sent to.
    pub endpoint_id: String,
    /// A fixed text.
    pub message: String,
    /// The endpoint's version when the test was sent.
    pub version: i64,
}

/// Tokens for a signed-in user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokensOut {
    /// A JWT (EdDSA) verifiable against `/.well-known/jwks.json`.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque; exchange it at `/api/v1/token/refresh`. Each use returns a new one.
    pub refresh_token: String,
    pub session_id: String,
    pub token_type: String,
}

/// `data` of `user.deleted`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserDeletedEventData {
    /// The address the account had.
    pub email: String,
    pub user_id: String,
    /// One more than the user's last version.
    pub version: i64,
}

/// `data` of `user.created` and `user.updated`: the user's public fields after the change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserEventData {
    pub disabled: bool,
    pub email: String,
    pub email_verified: bool,
    /// Always present; null when not set.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Always present; null when not set.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Free-form properties set through the backend API.
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub user_id: String,
    /// Always present; null when not set.
    #[serde(default)]
    pub username: Option<String>,
    /// The user's version: 1 at creation, one more at every change.
    pub version: i64,
}

/// A new user. Without `password` the user signs in by other means (magic link, SSO) or sets one later.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserIn {
    pub email: String,
    /// Whether the email is already known to belong to the user. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// At least 8 characters; no composition rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// At most 16 KiB of JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
    /// Unique (case-insensitively) among users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// `data` of `user.mfa_disabled`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserMfaDisabledEventData {
    /// `user` (they turned it off, with their password) or `reset` (the backend API reset it).
    pub reason: String,
    pub user_id: String,
    /// The user's version when it happened (2FA does not change the user object).
    pub version: i64,
}

/// `data` of `user.mfa_enabled`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserMfaEnabledEventData {
    /// The factor: `totp`.
    pub method: String,
    pub user_id: String,
    /// The user's version when it happened (2FA does not change the user object).
    pub version: i64,
}

/// A user account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserOut {
    pub created_at: String,
    pub disabled: bool,
    pub email: String,
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Whether the user can sign in with a password.
    pub has_password: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Free-form properties set by the backend API.
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub updated_at: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Incremented on every change; webhook events carry it too.
    pub version: i64,
}

/// A page of users.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserPage {
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub users: Vec<UserOut>,
}

/// A partial update: absent fields stay; `null` clears a name or the username.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserPatch {
    /// A changed email becomes unverified unless `email_verified` is also sent.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub email: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub email_verified: Patch<bool>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub first_name: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub last_name: Patch<String>,
    /// Replaces all properties.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub properties: Patch<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub username: Patch<String>,
}

/// `data` of `user.disabled` and `user.enabled`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserStateEventData {
    pub user_id: String,
    /// The user's version after the change.
    pub version: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidateIn {
    pub access_token: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookAttemptList {
    pub attempts: Vec<WebhookAttemptOut>,
}

/// One delivery attempt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookAttemptOut {
    pub attempt_id: String,
    pub attempted_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_ms: i64,
    /// The first 1 KiB of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    /// The HTTP status, absent when no answer came (timeout, connection error, refused target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
}

/// A new endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpointIn {
    /// At most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Event type names (e.g. `user.created`); absent or empty for every type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// An `http` or `https` URL on a public address.
    pub url: String,
}

/// Where webhooks go, and which.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpointOut {
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A disabled endpoint gets no new messages; its pending ones wait.
    pub disabled: bool,
    /// Why it is disabled: `manual` (through this API), `gone` (its receiver answered `410 Gone`,
    /// and Tenantry disabled it at once) or `failing` (Tenantry disabled it after
    /// every attempt failed for `webhooks.disable_after_failing_secs`, five days by default, and
    /// emitted `webhook_endpoint.disabled`). Enabling it clears this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub endpoint_id: String,
    /// The event types delivered; empty means every type.
    pub event_types: Vec<String>,
    /// When the endpoint's current unbroken run of failed attempts began; absent once an attempt
    /// succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
    /// After a rotation: until when the previous secret still signs beside the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<String>,
    pub updated_at: String,
    pub url: String,
    pub version: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpointPage {
    pub endpoints: Vec<WebhookEndpointOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A partial update: absent fields stay; `null` clears the description.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpointPatch {
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub description: Patch<String>,
    /// Replaces the filter; empty for every type.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub event_types: Patch<Vec<String>>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub url: Patch<String>,
}

/// An endpoint and its signing secret (`whsec_…`), for verifying deliveries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpointSecretOut {
    pub endpoint: WebhookEndpointOut,
    pub secret: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookEventTypeList {
    pub event_types: Vec<WebhookEventTypeOut>,
}

/// One event type of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEventTypeOut {
    /// What triggers it, what `data` holds, and how to use `version`.
    pub description: String,
    /// An example body.
    pub example: Event,
    /// The body's schema, under `components/schemas` in this document.
    pub schema: String,
    /// Whether an endpoint's `event_types` may name it; `webhook.test` is sent only on request.
    pub subscribable: bool,
    pub summary: String,
    /// The body's `type`.
    #[serde(rename = "type")]
    pub r#type: String,
}

/// One event for one endpoint, with its delivery state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookMessageOut {
    pub attempts: i32,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
    pub endpoint_id: String,
    /// The `webhook-id` header of every attempt: the event's id.
    pub event_id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The HTTP status of the last attempt, if an answer came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i32>,
    pub message_id: String,
    /// While pending: when the next attempt is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    pub occurred_at: String,
    /// The exact body sent.
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookMessagePage {
    pub messages: Vec<WebhookMessageOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Which failed messages to send again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookReplayIn {
    /// Only this endpoint's messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    /// Failed messages created at or after this time.
    pub since: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookReplayOut {
    /// How many messages are pending again.
    pub replayed: u64,
}

/// An endpoint's current signing secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookSecretOut {
    pub secret: String,
}

/// A webhook body, of any event type.
///
/// A type this SDK does not know yet (a newer Tenantry) parses as [`Event::Other`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", try_from = "serde_json::Value")]
#[non_exhaustive]
pub enum Event {
    /// A user was created
    ///
    /// Sent when an account is created through the backend API or when someone signs up. `data` holds the user's public fields. `version` starts at 1 and every later user event (`user.updated`, `user.disabled`, `user.enabled`, `user.deleted`) carries a higher one: keep the highest `version` you have applied per `user_id` and ignore any event with a lower one, since deliveries can arrive out of order and more than once.
    #[serde(rename = "user.created")]
    UserCreated {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: UserEventData,
    },
    /// A user changed
    ///
    /// Sent when a user's fields change: through the backend API, the user's own profile, a verified email address or a confirmed email change. `data` is the whole user after the change, not a difference: replace your copy with it when its `version` is higher than the one you hold for the `user_id`, and ignore it otherwise.
    #[serde(rename = "user.updated")]
    UserUpdated {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: UserEventData,
    },
    /// A user was deleted
    ///
    /// Sent when a user is deleted for good through the backend API. Their memberships end first, each with its own `user.removed_from_org` (and the orgs' `org.member_count_changed`). `version` is one more than the user's last, so it wins over any late event about the user; nothing more is sent about this `user_id`. Delete or anonymize what you keep about them.
    #[serde(rename = "user.deleted")]
    UserDeleted {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: UserDeletedEventData,
    },
    /// A user was disabled
    ///
    /// Sent when a user is disabled through the backend API; a disabled user cannot sign in. `data` carries only `user_id` and `version` (fetch the user for more). The version is the user's, shared with the other user events: a `user.disabled` whose `version` is lower than the last you applied for the user (say a later `user.enabled`) is stale.
    #[serde(rename = "user.disabled")]
    UserDisabled {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: UserStateEventData,
    },
    /// A user was enabled again
    ///
    /// Sent when a disabled user is enabled again through the backend API. `data` carries only `user_id` and `version`; compare the version with the last you applied for the user, as for `user.disabled`.
    #[serde(rename = "user.enabled")]
    UserEnabled {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: UserStateEventData,
    },
    /// A user joined an org
    ///
    /// Sent when a membership starts: the user created the org, was added by an admin or the backend API, accepted an invitation, or joined through one of the org's domains. The org's `org.member_count_changed` comes with it. `membership_id` names this membership and `version` starts at 1; a user who leaves and joins again gets a new `membership_id`, so order membership events by `membership_id` and `version`, not by user and org.
    #[serde(rename = "user.added_to_org")]
    UserAddedToOrg {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: MembershipEventData,
    },
    /// A user left an org
    ///
    /// Sent when a membership ends: the member was removed, left, or their account was deleted. (Deleting the org sends only `org.deleted`.) `role` and `additional_roles` are those the member had; `version` is one more than the membership's last, so it wins over a late role change. End the user's access to the org's data in your product; the org's `org.member_count_changed` comes with it.
    #[serde(rename = "user.removed_from_org")]
    UserRemovedFromOrg {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: MembershipEventData,
    },
    /// A member's roles changed
    ///
    /// Sent when a member's hierarchy role or additional roles change, by an admin or the backend API, or by an ownership transfer (one for each of the two members). `role` and `additional_roles` are the state after the change, `previous_role` the hierarchy role before. Apply it when its `version` is higher than the one you hold for the `membership_id`.
    #[serde(rename = "user.role_changed_within_org")]
    UserRoleChangedWithinOrg {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: MembershipRoleChangedEventData,
    },
    /// An org was created
    ///
    /// Sent when an organization is created, by a user or through the backend API. `data` holds its public fields; when a user created it, their membership follows as `user.added_to_org`. `version` starts at 1 and is the org's: `org.updated`, `org.member_count_changed`, `org.seat_limit_reached`, `org.ownership_transferred` and `org.deleted` carry the same counter. Keep the highest you have applied per `org_id`.
    #[serde(rename = "org.created")]
    OrgCreated {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: OrgEventData,
    },
    /// An org changed
    ///
    /// Sent when an org's name, slug, metadata, `max_users`, domain settings or domains change. `data` is the whole org after the change: replace your copy with it when its `version` is higher than the one you hold for the `org_id`. Member-count changes move the same version, so a late `org.updated` can carry an older `member_count` than you have.
    #[serde(rename = "org.updated")]
    OrgUpdated {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: OrgEventData,
    },
    /// An org was deleted
    ///
    /// Sent when an org is deleted, by an owner or through the backend API. Its memberships, invitations and domains go with it, without events of their own. `data` is the org as it was, with `version` one more than its last. Stop billing the org and remove its data.
    #[serde(rename = "org.deleted")]
    OrgDeleted {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: OrgEventData,
    },
    /// Someone was invited into an org
    ///
    /// Sent when an invitation is sent (the invitee gets an email with the link). `state` is `pending` and `expires_at` is when the link stops working. A pending invitation holds a seat: if this one took the last, `org.seat_limit_reached` follows. `version` is the invitation's own, per `invite_id`, starting at 1.
    #[serde(rename = "org.invitation_created")]
    OrgInvitationCreated {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: InviteEventData,
    },
    /// An invitation was accepted
    ///
    /// Sent when the invitee accepts: `state` is `accepted` and `accepted_by` is the user who joined. The new membership follows as `user.added_to_org`, and the org's `org.member_count_changed`. `version` is the invitation's.
    #[serde(rename = "org.invitation_accepted")]
    OrgInvitationAccepted {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: InviteEventData,
    },
    /// An invitation was revoked
    ///
    /// Sent when a pending invitation is revoked: its link no longer works and its seat is free again. `state` is `revoked`; `version` is the invitation's.
    #[serde(rename = "org.invitation_revoked")]
    OrgInvitationRevoked {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: InviteEventData,
    },
    /// An org's ownership was transferred
    ///
    /// Sent when the member asked to take over an org confirms: ownership moves from `from_user_id` to `to_user_id`. `data` is the whole org, with the org's `version`, plus those two ids; the two members' role changes follow as `user.role_changed_within_org`. Move the billing contact if you keep one per owner.
    #[serde(rename = "org.ownership_transferred")]
    OrgOwnershipTransferred {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: OrgOwnershipTransferredEventData,
    },
    /// For billing: an org's member count changed
    ///
    /// Sent whenever a member joins, leaves, is removed or is deleted: the figure for per-seat billing. `member_count` is the number of members now, `pending_invites` the invitations still open (each holds a seat), `seats_used` their sum, and `max_users` the seat limit (null when unlimited). The counts are a snapshot at the org's `version`: when events arrive out of order, keep the one with the highest `version` per `org_id` and bill on its `member_count`.
    #[serde(rename = "org.member_count_changed")]
    OrgMemberCountChanged {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: SeatEventData,
    },
    /// For billing: an org's seats are all taken
    ///
    /// Sent after each member-count change or new invitation that leaves members plus pending invitations (`seats_used`) at or above `max_users`. Further invitations and joins are refused until a seat is freed or the limit raised: the moment to offer more seats. An invitation does not change the org, so the event it causes repeats the `version` of the org's last event: treat this type as a signal, and compare versions with at-least, not greater-than.
    #[serde(rename = "org.seat_limit_reached")]
    OrgSeatLimitReached {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: SeatEventData,
    },
    /// An org's SAML connection was set up
    ///
    /// Sent when an Owner, an Admin or the backend API sets up (or replaces) an org's SAML connection. It starts in test mode: only the org's admins can sign in through it until it goes live.
    #[serde(rename = "org.saml_setup")]
    OrgSamlSetup {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: SamlConnectionEventData,
    },
    /// An org's SAML connection went live
    ///
    /// Sent when the connection leaves test mode: from now on every member can sign in through it, and new users are created just in time.
    #[serde(rename = "org.saml_went_live")]
    OrgSamlWentLive {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: SamlConnectionEventData,
    },
    /// An org's SAML connection was removed
    ///
    /// Sent when the connection is removed; the org no longer requires SSO.
    #[serde(rename = "org.saml_removed")]
    OrgSamlRemoved {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: SamlConnectionEventData,
    },
    /// A webhook endpoint was disabled after failing, or for answering 410 Gone
    ///
    /// Sent when Tenantry disables an endpoint because every delivery to it has failed since `failing_since` (five days by default; `reason` is `failing`), or at once because its receiver answered `410 Gone` (`reason` is `gone`). The endpoint gets nothing more until it is enabled again (`POST /api/backend/v1/webhooks/endpoints/{endpoint_id}/enable`); its failed messages can then be replayed. Subscribe a second endpoint to hear of it. `version` is the endpoint's.
    #[serde(rename = "webhook_endpoint.disabled")]
    WebhookEndpointDisabled {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: EndpointDisabledEventData,
    },
    /// A user turned on two-factor authentication
    ///
    /// Sent when a user confirms an authenticator app with a code: from now on their sign-ins need a code or a backup code, and their tokens carry `amr: ["pwd", "otp"]`. `version` is the user's at that moment (2FA does not change the user object), so compare it with at-least.
    #[serde(rename = "user.mfa_enabled")]
    UserMfaEnabled {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: UserMfaEnabledEventData,
    },
    /// A user's two-factor authentication was turned off
    ///
    /// Sent when a user turns 2FA off (with their password; `reason` is `user`) or the backend API resets it (`reason` is `reset`). Orgs that require 2FA refuse the user from now on.
    #[serde(rename = "user.mfa_disabled")]
    UserMfaDisabled {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: UserMfaDisabledEventData,
    },
    /// An org's 2FA requirement changed
    ///
    /// Sent when an Owner or the backend API requires two-factor authentication in an org (at once, or with a `grace_until` deadline), moves the deadline, or lifts it (`required: false`). After the deadline, members without 2FA are refused in the org and their tokens mark it `mfa_required`. `version` is the org's.
    #[serde(rename = "org.mfa_requirement_changed")]
    OrgMfaRequirementChanged {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: OrgMfaRequirementEventData,
    },
    /// A test event
    ///
    /// Sent by "Send a test event" (`POST /api/backend/v1/webhooks/endpoints/{endpoint_id}/test`) to that endpoint only, whatever its `event_types`; no endpoint can subscribe to it. Use it to check that your receiver verifies the signature and answers 2xx. It reports no change: `data` is the endpoint's id and version, and a fixed text.
    #[serde(rename = "webhook.test")]
    WebhookTest {
        /// When the change happened (RFC 3339, UTC); the same on every attempt.
        timestamp: String,
        data: TestEventData,
    },
    /// An event type this SDK does not know; acknowledge it (2xx) and ignore it.
    #[serde(untagged)]
    Other(UnknownEvent),
}

impl Event {
    /// The body's `type`.
    pub fn event_type(&self) -> &str {
        match self {
            Event::UserCreated { .. } => "user.created",
            Event::UserUpdated { .. } => "user.updated",
            Event::UserDeleted { .. } => "user.deleted",
            Event::UserDisabled { .. } => "user.disabled",
            Event::UserEnabled { .. } => "user.enabled",
            Event::UserAddedToOrg { .. } => "user.added_to_org",
            Event::UserRemovedFromOrg { .. } => "user.removed_from_org",
            Event::UserRoleChangedWithinOrg { .. } => "user.role_changed_within_org",
            Event::OrgCreated { .. } => "org.created",
            Event::OrgUpdated { .. } => "org.updated",
            Event::OrgDeleted { .. } => "org.deleted",
            Event::OrgInvitationCreated { .. } => "org.invitation_created",
            Event::OrgInvitationAccepted { .. } => "org.invitation_accepted",
            Event::OrgInvitationRevoked { .. } => "org.invitation_revoked",
            Event::OrgOwnershipTransferred { .. } => "org.ownership_transferred",
            Event::OrgMemberCountChanged { .. } => "org.member_count_changed",
            Event::OrgSeatLimitReached { .. } => "org.seat_limit_reached",
            Event::OrgSamlSetup { .. } => "org.saml_setup",
            Event::OrgSamlWentLive { .. } => "org.saml_went_live",
            Event::OrgSamlRemoved { .. } => "org.saml_removed",
            Event::WebhookEndpointDisabled { .. } => "webhook_endpoint.disabled",
            Event::UserMfaEnabled { .. } => "user.mfa_enabled",
            Event::UserMfaDisabled { .. } => "user.mfa_disabled",
            Event::OrgMfaRequirementChanged { .. } => "org.mfa_requirement_changed",
            Event::WebhookTest { .. } => "webhook.test",
            Event::Other(other) => &other.r#type,
        }
    }

    /// When the change happened (RFC 3339, UTC).
    pub fn timestamp(&self) -> &str {
        match self {
            Event::UserCreated { timestamp, .. } => timestamp,
            Event::UserUpdated { timestamp, .. } => timestamp,
            Event::UserDeleted { timestamp, .. } => timestamp,
            Event::UserDisabled { timestamp, .. } => timestamp,
            Event::UserEnabled { timestamp, .. } => timestamp,
            Event::UserAddedToOrg { timestamp, .. } => timestamp,
            Event::UserRemovedFromOrg { timestamp, .. } => timestamp,
            Event::UserRoleChangedWithinOrg { timestamp, .. } => timestamp,
            Event::OrgCreated { timestamp, .. } => timestamp,
            Event::OrgUpdated { timestamp, .. } => timestamp,
            Event::OrgDeleted { timestamp, .. } => timestamp,
            Event::OrgInvitationCreated { timestamp, .. } => timestamp,
            Event::OrgInvitationAccepted { timestamp, .. } => timestamp,
            Event::OrgInvitationRevoked { timestamp, .. } => timestamp,
            Event::OrgOwnershipTransferred { timestamp, .. } => timestamp,
            Event::OrgMemberCountChanged { timestamp, .. } => timestamp,
            Event::OrgSeatLimitReached { timestamp, .. } => timestamp,
            Event::OrgSamlSetup { timestamp, .. } => timestamp,
            Event::OrgSamlWentLive { timestamp, .. } => timestamp,
            Event::OrgSamlRemoved { timestamp, .. } => timestamp,
            Event::WebhookEndpointDisabled { timestamp, .. } => timestamp,
            Event::UserMfaEnabled { timestamp, .. } => timestamp,
            Event::UserMfaDisabled { timestamp, .. } => timestamp,
            Event::OrgMfaRequirementChanged { timestamp, .. } => timestamp,
            Event::WebhookTest { timestamp, .. } => timestamp,
            Event::Other(other) => &other.timestamp,
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum KnownEvent {
    #[serde(rename = "user.created")]
    UserCreated { timestamp: String, data: UserEventData },
    #[serde(rename = "user.updated")]
    UserUpdated { timestamp: String, data: UserEventData },
    #[serde(rename = "user.deleted")]
    UserDeleted { timestamp: String, data: UserDeletedEventData },
    #[serde(rename = "user.disabled")]
    UserDisabled { timestamp: String, data: UserStateEventData },
    #[serde(rename = "user.enabled")]
    UserEnabled { timestamp: String, data: UserStateEventData },
    #[serde(rename = "user.added_to_org")]
    UserAddedToOrg { timestamp: String, data: MembershipEventData },
    #[serde(rename = "user.removed_from_org")]
    UserRemovedFromOrg { timestamp: String, data: MembershipEventData },
    #[serde(rename = "user.role_changed_within_org")]
    UserRoleChangedWithinOrg { timestamp: String, data: MembershipRoleChangedEventData },
    #[serde(rename = "org.created")]
    OrgCreated { timestamp: String, data: OrgEventData },
    #[serde(rename = "org.updated")]
    OrgUpdated { timestamp: String, data: OrgEventData },
    #[serde(rename = "org.deleted")]
    OrgDeleted { timestamp: String, data: OrgEventData },
    #[serde(rename = "org.invitation_created")]
    OrgInvitationCreated { timestamp: String, data: InviteEventData },
    #[serde(rename = "org.invitation_accepted")]
    OrgInvitationAccepted { timestamp: String, data: InviteEventData },
    #[serde(rename = "org.invitation_revoked")]
    OrgInvitationRevoked { timestamp: String, data: InviteEventData },
    #[serde(rename = "org.ownership_transferred")]
    OrgOwnershipTransferred { timestamp: String, data: OrgOwnershipTransferredEventData },
    #[serde(rename = "org.member_count_changed")]
    OrgMemberCountChanged { timestamp: String, data: SeatEventData },
    #[serde(rename = "org.seat_limit_reached")]
    OrgSeatLimitReached { timestamp: String, data: SeatEventData },
    #[serde(rename = "org.saml_setup")]
    OrgSamlSetup { timestamp: String, data: SamlConnectionEventData },
    #[serde(rename = "org.saml_went_live")]
    OrgSamlWentLive { timestamp: String, data: SamlConnectionEventData },
    #[serde(rename = "org.saml_removed")]
    OrgSamlRemoved { timestamp: String, data: SamlConnectionEventData },
    #[serde(rename = "webhook_endpoint.disabled")]
    WebhookEndpointDisabled { timestamp: String, data: EndpointDisabledEventData },
    #[serde(rename = "user.mfa_enabled")]
    UserMfaEnabled { timestamp: String, data: UserMfaEnabledEventData },
    #[serde(rename = "user.mfa_disabled")]
    UserMfaDisabled { timestamp: String, data: UserMfaDisabledEventData },
    #[serde(rename = "org.mfa_requirement_changed")]
    OrgMfaRequirementChanged { timestamp: String, data: OrgMfaRequirementEventData },
    #[serde(rename = "webhook.test")]
    WebhookTest { timestamp: String, data: TestEventData },
}

impl TryFrom<serde_json::Value> for Event {
    type Error = serde_json::Error;

    fn try_from(body: serde_json::Value) -> Result<Self, Self::Error> {
        if !body["type"].as_str().is_some_and(|t| EVENT_TYPES.contains(&t)) {
            return serde_json::from_value(body).map(Event::Other);
        }
        Ok(match serde_json::from_value(body)? {
            KnownEvent::UserCreated { timestamp, data } => Event::UserCreated { timestamp, data },
            KnownEvent::UserUpdated { timestamp, data } => Event::UserUpdated { timestamp, data },
            KnownEvent::UserDeleted { timestamp, data } => Event::UserDeleted { timestamp, data },
            KnownEvent::UserDisabled { timestamp, data } => Event::UserDisabled { timestamp, data },
            KnownEvent::UserEnabled { timestamp, data } => Event::UserEnabled { timestamp, data },
            KnownEvent::UserAddedToOrg { timestamp, data } => Event::UserAddedToOrg { timestamp, data },
            KnownEvent::UserRemovedFromOrg { timestamp, data } => Event::UserRemovedFromOrg { timestamp, data },
            KnownEvent::UserRoleChangedWithinOrg { timestamp, data } => Event::UserRoleChangedWithinOrg { timestamp, data },
            KnownEvent::OrgCreated { timestamp, data } => Event::OrgCreated { timestamp, data },
            KnownEvent::OrgUpdated { timestamp, data } => Event::OrgUpdated { timestamp, data },
            KnownEvent::OrgDeleted { timestamp, data } => Event::OrgDeleted { timestamp, data },
            KnownEvent::OrgInvitationCreated { timestamp, data } => Event::OrgInvitationCreated { timestamp, data },
            KnownEvent::OrgInvitationAccepted { timestamp, data } => Event::OrgInvitationAccepted { timestamp, data },
            KnownEvent::OrgInvitationRevoked { timestamp, data } => Event::OrgInvitationRevoked { timestamp, data },
            KnownEvent::OrgOwnershipTransferred { timestamp, data } => Event::OrgOwnershipTransferred { timestamp, data },
            KnownEvent::OrgMemberCountChanged { timestamp, data } => Event::OrgMemberCountChanged { timestamp, data },
            KnownEvent::OrgSeatLimitReached { timestamp, data } => Event::OrgSeatLimitReached { timestamp, data },
            KnownEvent::OrgSamlSetup { timestamp, data } => Event::OrgSamlSetup { timestamp, data },
            KnownEvent::OrgSamlWentLive { timestamp, data } => Event::OrgSamlWentLive { timestamp, data },
            KnownEvent::OrgSamlRemoved { timestamp, data } => Event::OrgSamlRemoved { timestamp, data },
            KnownEvent::WebhookEndpointDisabled { timestamp, data } => Event::WebhookEndpointDisabled { timestamp, data },
            KnownEvent::UserMfaEnabled { timestamp, data } => Event::UserMfaEnabled { timestamp, data },
            KnownEvent::UserMfaDisabled { timestamp, data } => Event::UserMfaDisabled { timestamp, data },
            KnownEvent::OrgMfaRequirementChanged { timestamp, data } => Event::OrgMfaRequirementChanged { timestamp, data },
            KnownEvent::WebhookTest { timestamp, data } => Event::WebhookTest { timestamp, data },
        })
    }
}

/// Every event type of the catalog this SDK was generated from.
pub const EVENT_TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deleted",
    "user.disabled",
    "user.enabled",
    "user.added_to_org",
    "user.removed_from_org",
    "user.role_changed_within_org",
    "org.created",
    "org.updated",
    "org.deleted",
    "org.invitation_created",
    "org.invitation_accepted",
    "org.invitation_revoked",
    "org.ownership_transferred",
    "org.member_count_changed",
    "org.seat_limit_reached",
    "org.saml_setup",
    "org.saml_went_live",
    "org.saml_removed",
    "webhook_endpoint.disabled",
    "user.mfa_enabled",
    "user.mfa_disabled",
    "org.mfa_requirement_changed",
    "webhook.test",
];

