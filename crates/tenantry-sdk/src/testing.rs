//! Test support for the framework integrations: a signing key whose JWKS a [`Guard`] holds, tokens
//! for a user with a standing per org, and the table of requests every integration must answer
//! alike.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{json, Value};

use crate::guard::Guard;
use crate::jwks::JwksCache;
use crate::verifier::unix_now;

pub const ISSUER: &str = "https://auth.example.com";
const KID: &str = "k1";

fn key() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

/// A guard that holds the test key (and never fetches: the issuer is not reachable).
pub fn guard() -> Guard {
    let cache = JwksCache::new(ISSUER, reqwest::Client::new());
    let x = URL_SAFE_NO_PAD.encode(key().verifying_key().as_bytes());
    cache.set_jwks(&json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": KID, "x": x}]}).to_string()).unwrap();
    Guard::new(cache)
}

fn org(id: &str, role: &str, inherited: &[&str], permissions: &[&str], mfa_required: bool) -> Value {
    json!({"org_id": id, "name": id, "slug": id, "role": role, "inherited_roles": inherited,
        "additional_roles": [], "permissions": permissions, "mfa_required": mfa_required})
}

/// A token for a user who is Admin of `acme` (active), Member of `beta` with `projects.write`, and
/// Owner of `locked`, which requires 2FA this session has not passed.
pub fn token() -> String {
    let now = unix_now();
    let claims = json!({"iss": ISSUER, "sub": "u1", "iat": now, "exp": now + 900, "jti": "j", "sid": "s",
    "email": "ada@example.com", "email_verified": true, "active_org_id": "acme",
    "orgs": {
        "acme": org("acme", "Admin", &["Member", "Viewer"], &["org.read"], false),
        "beta": org("beta", "Member", &["Viewer"], &["org.read", "projects.write"], false),
        "locked": org("locked", "", &[], &[], true),
    }});
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": KID});
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(key().sign(input.as_bytes()).to_bytes()))
}

/// One request of the table: path, `x-org-id` header, `Authorization` value, expected status and
/// problem code (`None` for a success, whose body is the user's email and the org's id).
pub struct Case {
    pub path: &'static str,
    pub org_header: Option<&'static str>,
    pub authorization: Option<String>,
    pub status: u16,
    pub code: Option<&'static str>,
}

/// The routes each integration mounts for [`cases`]:
/// - `/me`: [`Guard::user`];
/// - `/orgs/{org_id}/admin`: `OrgRule::path("org_id").min_role("Admin")`;
/// - `/orgs/{org_id}/projects`: `OrgRule::path("org_id").permission("projects.write")`;
/// - `/active`: `OrgRule::active()`;
/// - `/by-header`: `OrgRule::header("x-org-id")`.
pub fn cases() -> Vec<Case> {
    let bearer = Some(format!("Bearer {}", token()));
    let case = |path, org_header, authorization: &Option<String>, status, code| Case {
        path,
        org_header,
        authorization: authorization.clone(),
        status,
        code,
    };
    let tampered = Some(format!("{}x", bearer.clone().unwrap_or_default()));
    vec![
        case("/me", None, &None, 401, Some("token-missing")),
        case("/me", None, &Some("Basic abc".into()), 401, Some("token-missing")),
        case("/me", None, &tampered, 401, Some("token-malformed")),
        case("/me", None, &bearer, 200, None),
        case("/orgs/acme/admin", None, &None, 401, Some("token-missing")),
        case("/orgs/acme/admin", None, &bearer, 200, None),
        case("/orgs/beta/admin", None, &bearer, 403, Some("role-required")),
        case("/orgs/other/admin", None, &bearer, 403, Some("not-a-member")),
        case("/orgs/locked/admin", None, &bearer, 403, Some("mfa-required")),
        case("/orgs/beta/projects", None, &bearer, 200, None),
        case("/orgs/acme/projects", None, &bearer, 403, Some("permission-required")),
        case("/active", None, &bearer, 200, None),
        case("/by-header", Some("beta"), &bearer, 200, None),
        case("/by-header", Some("locked"), &bearer, 403, Some("mfa-required")),
        case("/by-header", None, &bearer, 403, Some("org-not-named")),
    ]
}

/// Checks one answer against its case.
pub fn check(case: &Case, status: u16, content_type: Option<&str>, www_authenticate: Option<&str>, body: &str) {
    let what = format!(
        "{} {:?} {:?}",
        case.path,
        case.org_header,
        case.authorization.as_ref().map(|a| a.chars().take(10).collect::<String>())
    );
    assert_eq!(status, case.status, "{what}: {body}");
    match case.code {
        None => assert!(body.starts_with("ada@example.com "), "{what}: {body}"),
        Some(code) => {
            assert_eq!(content_type, Some("application/problem+json"), "{what}");
            let problem: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
            assert_eq!(problem["type"], format!("urn:tenantry:problem:{code}"), "{what}");
            assert_eq!(problem["status"], status, "{what}");
            assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}");
            assert_eq!(www_authenticate.is_some(), status == 401, "{what}");
        }
    }
}
