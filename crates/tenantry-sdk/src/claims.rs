//! The claims of a Tenantry access token. Unknown claims are ignored, so a newer Tenantry can add
//! some without breaking an older SDK.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a verified access token says about its user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct AccessClaims {
    /// The Tenantry instance that issued the token (its public URL).
    pub iss: String,
    /// The user id.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, in seconds since the Unix epoch.
    pub exp: i64,
    /// Not before, in seconds since the Unix epoch (not issued by Tenantry today).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The token id.
    pub jti: String,
    /// The session the token was issued for.
    pub sid: String,
    pub email: String,
    pub email_verified: bool,
    /// The orgs the user may act in, by org id.
    pub orgs: BTreeMap<String, OrgClaim>,
    /// The org the user has selected, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_org_id: Option<String>,
    /// The user is in more orgs than a token lists: `orgs` holds the first ones and the active
    /// one; ask the backend API for the rest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub orgs_truncated: bool,
    /// How the session was signed in (RFC 8176 `amr`): `pwd` for a password, with `otp` once a
    /// second factor (a TOTP or backup code) was proven too. Require `otp` on sensitive routes to
    /// require 2FA. Absent from tokens of servers that predate it, hence the default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

impl AccessClaims {
    /// The user's standing in `org_id`, or `None` when they may not act in it.
    pub fn org(&self, org_id: &str) -> Option<&OrgClaim> {
        self.orgs.get(org_id)
    }

    /// The user's standing in the org they have selected.
    pub fn active_org(&self) -> Option<&OrgClaim> {
        self.orgs.get(self.active_org_id.as_deref()?)
    }
}

/// The user's standing in one org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct OrgClaim {
    pub org_id: String,
    pub name: String,
    pub slug: String,
    /// The role given to the user in this org.
    pub role: String,
    /// Roles that `role` includes.
    pub inherited_roles: Vec<String>,
    /// Roles given on top of `role`.
    pub additional_roles: Vec<String>,
    /// Every permission the roles above grant, flattened.
    pub permissions: Vec<String>,
    /// The org requires two-factor authentication and this session has not passed it (or the
    /// user has not set it up): the user may not act in the org until they do. Absent from tokens
    /// of servers that predate 2FA, hence the default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa_required: bool,
}

impl OrgClaim {
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// Whether the user holds `role` here, given, inherited or additional.
    pub fn has_role(&self, role: &str) -> bool {
        self.role == role || self.inherited_roles.iter().chain(&self.additional_roles).any(|r| r == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape_and_ignores_unknown_claims() {
        let claims: AccessClaims = serde_json::from_value(serde_json::json!({
            "iss": "https://auth.example.com", "sub": "u1", "iat": 1, "exp": 2, "jti": "j", "sid": "s",
            "email": "ada@example.com", "email_verified": true, "active_org_id": "o1", "future_claim": [1, 2],
            "orgs": {"o1": {"org_id": "o1", "name": "Acme", "slug": "acme", "role": "admin",
                "inherited_roles": ["member"], "additional_roles": ["billing"], "permissions": ["org:read"]}}
        }))
        .unwrap();
        let org = claims.active_org().unwrap();
        assert_eq!(claims.org("o1"), Some(org));
        assert!(claims.org("o2").is_none());
        assert!(org.has_permission("org:read") && !org.has_permission("org:delete"));
        assert!(org.has_role("admin") && org.has_role("member") && org.has_role("billing") && !org.has_role("owner"));

        let json = serde_json::to_value(AccessClaims { aud: None, nbf: None, active_org_id: None, ..claims }).unwrap();
        assert!(json.get("aud").is_none() && json.get("nbf").is_none() && json.get("active_org_id").is_none());
    }
}
