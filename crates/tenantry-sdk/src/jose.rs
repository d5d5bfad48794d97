//! The rules of a Tenantry access token, written once: this crate's [`Verifier`](crate::Verifier)
//! applies them against a cached JWKS, and Tenantry's own server applies the very same functions
//! against the keys it publishes (its backend "validate token" endpoint and its end-user API).
//!
//! A token is a JWS compact serialization signed with Ed25519. It is accepted only if its header says
//! `alg: EdDSA` and `typ: at+jwt` (RFC 9068), names a `kid` whose key the caller knows and no key of
//! its own (`jku`, `x5u`, `jwk`, `x5c`), carries no `crit`, its signature verifies (strictly: no
//! malleable or small-order points), `iss` is the expected issuer, `aud` is the expected audience (or
//! both are absent), and `exp`, `iat` and `nbf` hold within [`LEEWAY_SECS`] of the caller's clock.
//!
//! **Invariant:** no I/O here, and the claims are parsed only after the signature has verified, so an
//! unsigned token learns nothing about which claim would have failed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::de::{Deserializer, IgnoredAny};
use serde::Deserialize;

use crate::claims::AccessClaims;

/// The JOSE `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// The only JOSE `alg` issued and accepted.
pub const ALGORITHM: &str = "EdDSA";
/// Clock skew tolerated on `exp`, `iat` and `nbf`.
pub const LEEWAY_SECS: i64 = 60;
/// Longer tokens are refused before any decoding. A token for a user in a few hundred orgs still fits.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Why a token was refused. [`VerifyError::code`] is stable: Tenantry's own "validate token" endpoint
/// answers with the same codes. Messages never echo the token, so logging them is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is not a well-formed JWS compact serialization with the expected claims")]
    Malformed,
    #[error("the token's algorithm is not EdDSA")]
    Algorithm,
    /// If this happens right after a key rotation, [`Verifier::refresh`](crate::Verifier::refresh)
    /// and try again.
    #[error("the token names no key, or a key that is not in the JWKS")]
    UnknownKey,
    #[error("the token names its own key (jku, x5u, jwk or x5c); only keys from the JWKS are accepted")]
    EmbeddedKey,
    #[error("the token is not an access token (typ is not at+jwt)")]
    Type,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (iat or nbf in the future)")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    Issuer,
    #[error("the token is meant for another audience")]
    Audience,
}

impl VerifyError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed => "token-malformed",
            VerifyError::Algorithm => "token-alg",
            VerifyError::UnknownKey | VerifyError::EmbeddedKey => "token-kid",
            VerifyError::Type => "token-type",
            VerifyError::Signature => "token-signature",
            // Both mean "outside its validity window".
            VerifyError::Expired | VerifyError::NotYetValid => "token-expired",
            VerifyError::Issuer => "token-issuer",
            VerifyError::Audience => "token-audience",
        }
    }
}

/// An Ed25519 public key that may verify access tokens: a canonical point that is not of small order
/// (such a key would accept forged signatures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The key whose raw 32-byte encoding (RFC 8032; the JWK `x` of RFC 8037) is `bytes`, or `None`
    /// when it is not a valid, strong Ed25519 key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        VerifyingKey::from_bytes(bytes).ok().filter(|key| !key.is_weak()).map(PublicKey)
    }

    /// From the base64url `x` member of a JWK.
    pub(crate) fn from_jwk_x(x: &str) -> Option<Self> {
        Self::from_bytes(&URL_SAFE_NO_PAD.decode(x).ok()?.try_into().ok()?)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

/// Verifies `token` at `now` (seconds since the Unix epoch) and returns its claims: the header rules,
/// then the key that `key_for` gives for the header's `kid` (`None`: not a key the caller knows), the
/// signature, and last [`check_claims`] against `issuer` and `audience`.
pub fn verify_access_token(
    token: &str,
    now: i64,
    issuer: &str,
    audience: Option<&str>,
    key_for: impl FnOnce(&str) -> Option<PublicKey>,
) -> Result<AccessClaims, VerifyError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(VerifyError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(encoded_header), Some(encoded_claims), Some(encoded_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };

    let header: JoseHeader = parse_part(encoded_header)?;
    let PublicKey(key) = key_for(header.check()?).ok_or(VerifyError::UnknownKey)?;

    let mut signature = [0u8; 64];
    match URL_SAFE_NO_PAD.decode_slice(encoded_signature, &mut signature) {
        Ok(64) => {}
        _ => return Err(VerifyError::Malformed),
    }
    let signing_input = &token.as_bytes()[..encoded_header.len() + 1 + encoded_claims.len()];
    key.verify_strict(signing_input, &Signature::from_bytes(&signature)).map_err(|_| VerifyError::Signature)?;

    let claims: AccessClaims = parse_part(encoded_claims)?;
    check_claims(&claims, now, issuer, audience)?;
    Ok(claims)
}

/// The claim rules of a signed token: `iss` is `issuer`; `aud` is `audience`, or both are absent (RFC
/// 7519 §4.1.3: a recipient that does not identify itself with the audience must reject); `exp` has
/// not passed and neither `iat` nor `nbf` is in the future, each with [`LEEWAY_SECS`] of skew.
pub fn check_claims(claims: &AccessClaims, now: i64, issuer: &str, audience: Option<&str>) -> Result<(), VerifyError> {
    if claims.iss != issuer {
        return Err(VerifyError::Issuer);
    }
    if claims.aud.as_deref() != audience {
        return Err(VerifyError::Audience);
    }
    if claims.exp <= now.saturating_sub(LEEWAY_SECS) {
        return Err(VerifyError::Expired);
    }
    let not_before = claims.nbf.map_or(claims.iat, |nbf| nbf.max(claims.iat));
    if not_before > now.saturating_add(LEEWAY_SECS) {
        return Err(VerifyError::NotYetValid);
    }
    Ok(())
}

fn parse_part<T: for<'de> Deserialize<'de>>(encoded: &str) -> Result<T, VerifyError> {
    let json = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| VerifyError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| VerifyError::Malformed)
}

/// The JOSE header members that matter here. Other members are ignored (RFC 7515 §4), except those
/// that would pick the key or demand extensions.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    jku: bool,
    #[serde(default, deserialize_with = "present")]
    x5u: bool,
    #[serde(default, deserialize_with = "present")]
    jwk: bool,
    #[serde(default, deserialize_with = "present")]
    x5c: bool,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// True when the member is present at all, whatever its value (even `null`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer)?;
    Ok(true)
}

impl JoseHeader {
    /// Applies the header rules and returns the `kid`.
    fn check(&self) -> Result<&str, VerifyError> {
        if self.alg != ALGORITHM {
            return Err(VerifyError::Algorithm);
        }
        if self.jku || self.x5u || self.jwk || self.x5c {
            return Err(VerifyError::EmbeddedKey);
        }
        // No extension is understood, so any critical one must be refused (RFC 7515 §4.1.11).
        if self.crit {
            return Err(VerifyError::Malformed);
        }
        // RFC 9068 §4: `at+jwt` or `application/at+jwt`, compared as a media type (case-insensitively).
        let typ = self.typ.as_deref().ok_or(VerifyError::Type)?;
        let typ = if typ.len() > 12 && typ[..12].eq_ignore_ascii_case("application/") { &typ[12..] } else { typ };
        if !typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE) {
            return Err(VerifyError::Type);
        }
        self.kid.as_deref().ok_or(VerifyError::UnknownKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_invalid_public_keys_are_refused() {
        let mut identity = [0u8; 32];
        identity[0] = 1; // the neutral point: small order, verifies forged signatures
        assert!(PublicKey::from_bytes(&identity).is_none());
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes();
        assert_eq!(PublicKey::from_bytes(&key).map(|k| k.to_bytes()), Some(key));
        assert_eq!(PublicKey::from_jwk_x(&URL_SAFE_NO_PAD.encode(key)), PublicKey::from_bytes(&key));
        assert!(PublicKey::from_jwk_x(&URL_SAFE_NO_PAD.encode([1u8; 31])).is_none());
        assert!(PublicKey::from_jwk_x("not base64!").is_none());
    }

    #[test]
    fn the_key_is_looked_up_only_after_the_header_rules() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"at+jwt","kid":"k"}"#);
        let token = format!("{header}.e30.AAAA");
        let looked_up = std::cell::Cell::new(false);
        let result = verify_access_token(&token, 0, "iss", None, |_| {
            looked_up.set(true);
            None
        });
        assert_eq!(result, Err(VerifyError::Algorithm));
        assert!(!looked_up.get());
    }
}
