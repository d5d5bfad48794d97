//! Access tokens (docs/design.md §3, docs/security.md §8): JWTs signed with Ed25519 (`alg: EdDSA`), typed `at+jwt`
//! (RFC 9068) so that no other token of ours passes for one, and named by the `kid` the JWKS publishes.
//!
//! jsonwebtoken (its pure-Rust RustCrypto backend) encodes tokens. Verification is the SDK's:
//! [`tenantry_sdk::jose`] holds the one copy of the token rules (only `EdDSA`, `typ: at+jwt`, a `kid`
//! we publish, no member that names its own key, no `crit`, a strict Ed25519 signature, issuer,
//! audience, and the time checks with a skew of [`LEEWAY_SECS`]), and the claims shape
//! ([`AccessClaims`]), so that the server and the SaaS backends using the SDK cannot disagree about a
//! token. This module keeps what only the server does: keys, the JWKS, signing, and a verifier over
//! the keys it publishes, read at an injected clock.
//!
//! **Invariant:** a key seed leaves this module only through [`SigningKey::to_seed`], to be sealed at
//! rest; `Debug` shows the `kid` and nothing else. Claims are checked only after the signature, so an
//! unsigned token learns nothing about which claim would have failed.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, Header};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tenantry_sdk::jose::{self, PublicKey};
use zeroize::Zeroizing;

pub use tenantry_sdk::jose::{ACCESS_TOKEN_TYPE, ALGORITHM, LEEWAY_SECS, MAX_TOKEN_LEN};
/// Why a token was refused; its `code()` goes into problem+json.
pub use tenantry_sdk::VerifyError as TokenError;
/// The claims of an access token (docs/design.md §3), as the SDK reads them.
pub use tenantry_sdk::{AccessClaims, OrgClaim};

/// An Ed25519 key that signs access tokens. Stored as its 32-byte seed, sealed at rest.
#[derive(Clone)]
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    kid: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self::from_dalek(ed25519_dalek::SigningKey::generate(&mut OsRng))
    }

    /// The key whose RFC 8032 seed (the private key `d` of RFC 8037) is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self::from_dalek(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    fn from_dalek(key: ed25519_dalek::SigningKey) -> Self {
        let kid = jwk_thumbprint(&key.verifying_key().to_bytes());
        SigningKey { key, kid }
    }

    /// The seed, for sealing at rest (see [`crate::sealed`]); wiped from memory when dropped.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The RFC 7638 JWK thumbprint of the public key (SHA-256, base64url): stable, and derived from
    /// the key alone, so it needs no storage of its own.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw 32-byte public key, for [`TokenVerifier::new`].
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The public key as a JWK (RFC 8037), as published in the JWKS.
    pub fn public_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.public_key()),
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        })
    }
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
fn jwk_thumbprint(public_key: &[u8; 32]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(public_key));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The JWKS document served at `/.well-known/jwks.json`: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<serde_json::Value>,
}

impl Jwks {
    /// From public JWKs, e.g. [`SigningKey::public_jwk`] of the active key, the next key (published
    /// before use) and the previous ones (kept until their last token has expired).
    pub fn new(public_jwks: impl IntoIterator<Item = serde_json::Value>) -> Self {
        Jwks { keys: public_jwks.into_iter().collect() }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.keys })
    }
}

/// Signs access tokens with the active key, held parsed: a JWS in compact form (RFC 7515) over the
/// header fixed at construction and the claims, signed with Ed25519 directly (a general JWT
/// library would parse the private key again for every token, which costs as much as the
/// signature itself).
pub struct TokenSigner {
    kid: String,
    /// `base64url(header JSON) + "."`.
    prefix: String,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl TokenSigner {
    pub fn new(key: &SigningKey) -> Self {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(key.kid.clone());
        let json = serde_json::to_vec(&header).expect("a JWT header serializes to JSON");
        let mut prefix = URL_SAFE_NO_PAD.encode(json);
        prefix.push('.');
        TokenSigner { kid: key.kid.clone(), prefix, key: key.key.clone() }
    }

    /// The `kid` of the key that signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn sign_access(&self, claims: &AccessClaims) -> String {
        use ed25519_dalek::Signer as _;
        // Nothing here can fail: the claims serialize to JSON unconditionally.
        let claims = serde_json::to_vec(claims).expect("access-token claims serialize to JSON");
        let mut token = String::with_capacity(self.prefix.len() + claims.len() * 4 / 3 + 90);
        token.push_str(&self.prefix);
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        let signature = self.key.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
        token
    }
}

/// A verification key was refused: not a valid Ed25519 point, a weak (small-order) one, or a `kid`
/// given twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid verification key {kid:?}")]
pub struct KeyError {
    pub kid: String,
}

/// Verifies access tokens against the published keys (the backend "validate token" endpoint and the
/// end-user API), by the SDK's rules ([`jose::verify_access_token`]).
pub struct TokenVerifier {
    keys: Vec<(String, PublicKey)>,
    audience: Option<String>,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("TokenVerifier").field("kids", &kids).field("audience", &self.audience).finish()
    }
}

impl TokenVerifier {
    /// From every key still published: `(kid, raw Ed25519 public key)`.
    pub fn new(keys: impl IntoIterator<Item = (String, [u8; 32])>) -> Result<Self, KeyError> {
        let mut parsed: Vec<(String, PublicKey)> = Vec::new();
        for (kid, public_key) in keys {
            match PublicKey::from_bytes(&public_key) {
                Some(key) if !parsed.iter().any(|(known, _)| *known == kid) => parsed.push((kid, key)),
                _ => return Err(KeyError { kid }),
            }
        }
        Ok(TokenVerifier { keys: parsed, audience: None })
    }

    /// Require `aud` to be this value. Without it, a token that carries an `aud` is refused (RFC 7519
    /// §4.1.3: a recipient that does not identify itself with the audience must reject).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    pub fn verify(&self, token: &str, now_unix: i64, issuer: &str) -> Result<AccessClaims, TokenError> {
        jose::verify_access_token(token, now_unix, issuer, self.audience.as_deref(), |kid| {
            self.keys.iter().find(|(known, _)| known == kid).map(|(_, key)| *key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer as _;
    use hmac::{Hmac, Mac};
    use std::collections::BTreeMap;

    const ISSUER: &str = "https://auth.example.com";
    const NOW: i64 = 1_750_000_000;

    fn claims() -> AccessClaims {
        let org = OrgClaim {
            org_id: "0197a000-0000-7000-8000-000000000001".into(),
            name: "Acme".into(),
            slug: "acme".into(),
            role: "admin".into(),
            inherited_roles: vec!["member".into()],
            additional_roles: vec![],
            permissions: vec!["org:read".into(), "org:members:write".into()],
            mfa_required: false,
        };
        AccessClaims {
            iss: ISSUER.into(),
            sub: "0197a000-0000-7000-8000-0000000000aa".into(),
            aud: None,
            iat: NOW,
            exp: NOW + 900,
            nbf: None,
            jti: "0197a000-0000-7000-8000-0000000000bb".into(),
            sid: "0197a000-0000-7000-8000-0000000000cc".into(),
            email: "ada@example.com".into(),
            email_verified: true,
            orgs: BTreeMap::from([(org.org_id.clone(), org)]),
            active_org_id: None,
            orgs_truncated: false,
            amr: vec![],
        }
    }

    fn setup() -> (SigningKey, TokenSigner, TokenVerifier) {
        let key = SigningKey::generate();
        let signer = TokenSigner::new(&key);
        let verifier = TokenVerifier::new([(key.kid().to_owned(), key.public_key())]).unwrap();
        (key, signer, verifier)
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A token built by hand: any header, any payload, signed with `key`.
    fn forge(key: &SigningKey, header: serde_json::Value, payload: &impl Serialize) -> String {
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(&serde_json::to_vec(payload).unwrap()));
        let signature = key.key.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature.to_bytes()))
    }

    fn header(key: &SigningKey) -> serde_json::Value {
        serde_json::json!({"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid()})
    }

    #[test]
    fn round_trip() {
        let (_, signer, verifier) = setup();
        let token = signer.sign_access(&claims());
        assert_eq!(verifier.verify(&token, NOW + 10, ISSUER), Ok(claims()));

        let (encoded_header, _) = token.split_once('.').unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded_header).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "EdDSA", "typ": "at+jwt", "kid": signer.kid()}));
    }

    /// An independent JOSE implementation (jsonwebtoken) reads the tokens this signer writes.
    #[test]
    fn tokens_verify_with_another_jwt_library() {
        let (key, signer, _) = setup();
        let token = signer.sign_access(&claims());
        let decoding = jsonwebtoken::DecodingKey::from_ed_der(&key.public_key());
        let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let decoded = jsonwebtoken::decode::<AccessClaims>(&token, &decoding, &validation).unwrap();
        assert_eq!(decoded.claims, claims());
        assert_eq!(decoded.header.kid.as_deref(), Some(key.kid()));
    }

    #[test]
    fn optional_claims_are_omitted_and_snake_case() {
        let json = serde_json::to_value(claims()).unwrap();
        assert!(json.get("aud").is_none() && json.get("active_org_id").is_none() && json.get("nbf").is_none());
        let org = &json["orgs"]["0197a000-0000-7000-8000-000000000001"];
        assert_eq!(org["inherited_roles"], serde_json::json!(["member"]));
        assert_eq!(json["email_verified"], true);
    }

    #[test]
    fn rfc8037_key_and_thumbprint() {
        // RFC 8037 Appendix A.1–A.3.
        let seed: [u8; 32] =
            URL_SAFE_NO_PAD.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A").unwrap().try_into().unwrap();
        let key = SigningKey::from_seed(&seed);
        assert_eq!(key.public_jwk()["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert_eq!(*key.to_seed(), seed);
        assert_eq!(SigningKey::from_seed(&key.to_seed()).kid(), key.kid());
        assert_eq!(
            key.public_jwk(),
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "alg": "EdDSA", "use": "sig"})
        );
    }

    #[test]
    fn debug_shows_no_seed() {
        let key = SigningKey::from_seed(&[0x42; 32]);
        let shown = format!("{key:?} {:?}", TokenSigner::new(&key));
        assert!(shown.contains(key.kid()));
        assert!(!shown.contains("66, 66") && !shown.contains("4242") && !shown.to_lowercase().contains("qkjc"));
    }

    #[test]
    fn jwks_lists_every_key() {
        let (a, b) = (SigningKey::generate(), SigningKey::generate());
        let jwks = Jwks::new([a.public_jwk(), b.public_jwk()]).to_json();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(jwks["keys"][1]["kid"], b.kid());
    }

    #[test]
    fn a_rotated_key_still_verifies_its_tokens() {
        let (old, new) = (SigningKey::generate(), SigningKey::generate());
        let verifier =
            TokenVerifier::new([(old.kid().to_owned(), old.public_key()), (new.kid().to_owned(), new.public_key())])
                .unwrap();
        for key in [&old, &new] {
            assert!(verifier.verify(&TokenSigner::new(key).sign_access(&claims()), NOW, ISSUER).is_ok());
        }
    }

    #[test]
    fn alg_none_is_refused() {
        let (key, _, verifier) = setup();
        let input = format!(
            "{}.{}",
            b64(serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": key.kid()}).to_string().as_bytes()),
            b64(&serde_json::to_vec(&claims()).unwrap())
        );
        for token in [format!("{input}."), format!("{input}.AAAA")] {
            let err = verifier.verify(&token, NOW, ISSUER).unwrap_err();
            assert_eq!(err.code(), "token-alg", "{token}");
        }
    }

    #[test]
    fn hs256_keyed_with_the_public_key_is_refused() {
        let (key, _, verifier) = setup();
        let input = format!(
            "{}.{}",
            b64(serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": key.kid()}).to_string().as_bytes()),
            b64(&serde_json::to_vec(&claims()).unwrap())
        );
        for secret in [key.public_key().to_vec(), key.public_jwk()["x"].as_str().unwrap().as_bytes().to_vec()] {
            let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
            mac.update(input.as_bytes());
            let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
            assert_eq!(verifier.verify(&token, NOW, ISSUER), Err(TokenError::Algorithm));
        }
    }

    #[test]
    fn unknown_or_missing_kid_is_refused() {
        let (_, _, verifier) = setup();
        let stranger = SigningKey::generate();
        let token = TokenSigner::new(&stranger).sign_access(&claims());
        assert_eq!(verifier.verify(&token, NOW, ISSUER).unwrap_err().code(), "token-kid");

        let token = forge(&stranger, serde_json::json!({"alg": "EdDSA", "typ": "at+jwt"}), &claims());
        assert_eq!(verifier.verify(&token, NOW, ISSUER), Err(TokenError::UnknownKey));
    }

    #[test]
    fn headers_that_name_a_key_are_refused() {
        let (key, _, verifier) = setup();
        for (member, value) in [
            ("jku", serde_json::json!("https://evil.example/jwks.json")),
            ("x5u", serde_json::json!("https://evil.example/cert.pem")),
            ("jwk", key.public_jwk()),
            ("x5c", serde_json::json!(["MIIB"])),
            ("jku", serde_json::Value::Null),
        ] {
            let mut header = header(&key);
            header[member] = value;
            let token = forge(&key, header, &claims());
            assert_eq!(verifier.verify(&token, NOW, ISSUER), Err(TokenError::EmbeddedKey), "{member}");
        }
        let mut header = header(&key);
        header["crit"] = serde_json::json!(["exp"]);
        assert_eq!(verifier.verify(&forge(&key, header, &claims()), NOW, ISSUER), Err(TokenError::Malformed));
    }

    #[test]
    fn other_token_types_are_refused() {
        let (key, _, verifier) = setup();
        for typ in [Some("JWT"), Some("refresh+jwt"), Some("id_token+jwt"), None] {
            let mut header = header(&key);
            match typ {
                Some(typ) => header["typ"] = typ.into(),
                None => drop(header.as_object_mut().unwrap().remove("typ")),
            }
            let token = forge(&key, header, &claims());
            assert_eq!(verifier.verify(&token, NOW, ISSUER).unwrap_err().code(), "token-type", "{typ:?}");
        }
        let mut header = header(&key);
        header["typ"] = "application/AT+JWT".into();
        assert!(verifier.verify(&forge(&key, header, &claims()), NOW, ISSUER).is_ok());
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let (_, signer, verifier) = setup();
        let token = signer.sign_access(&claims());
        let parts: Vec<&str> = token.split('.').collect();

        let mut escalated = claims();
        escalated.sub = "someone-else".into();
        let payload = b64(&serde_json::to_vec(&escalated).unwrap());
        let swapped = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert_eq!(verifier.verify(&swapped, NOW, ISSUER), Err(TokenError::Signature));

        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[5] ^= 1;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], b64(&signature));
        assert_eq!(verifier.verify(&flipped, NOW, ISSUER), Err(TokenError::Signature));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let (_, signer, verifier) = setup();
        let token = signer.sign_access(&claims());
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            &format!("{token}.x"),
            &format!("{token}="),
            "!!!.e30.AAAA",
            &format!("{}.e30.AAAA", b64(b"not json")),
            &long,
        ] {
            assert_eq!(verifier.verify(bad, NOW, ISSUER), Err(TokenError::Malformed), "{bad:.40}");
        }
    }

    #[test]
    fn expiry_and_issue_time_allow_sixty_seconds_of_skew() {
        let (_, signer, verifier) = setup();
        let token = signer.sign_access(&claims());
        let exp = claims().exp;
        assert!(verifier.verify(&token, exp + LEEWAY_SECS - 1, ISSUER).is_ok());
        assert_eq!(verifier.verify(&token, exp + LEEWAY_SECS, ISSUER), Err(TokenError::Expired));
        assert_eq!(verifier.verify(&token, exp + 3600, ISSUER).unwrap_err().code(), "token-expired");

        assert!(verifier.verify(&token, NOW - LEEWAY_SECS, ISSUER).is_ok());
        assert_eq!(verifier.verify(&token, NOW - LEEWAY_SECS - 1, ISSUER), Err(TokenError::NotYetValid));

        let mut later = claims();
        later.nbf = Some(NOW + 600);
        let token = signer.sign_access(&later);
        assert_eq!(verifier.verify(&token, NOW, ISSUER), Err(TokenError::NotYetValid));
        assert!(verifier.verify(&token, NOW + 600, ISSUER).is_ok());
    }

    #[test]
    fn wrong_issuer_or_audience_is_refused() {
        let (_, signer, verifier) = setup();
        let token = signer.sign_access(&claims());
        assert_eq!(verifier.verify(&token, NOW, "https://evil.example.com"), Err(TokenError::Issuer));
        assert_eq!(verifier.verify(&token, NOW, "https://auth.example.com/").unwrap_err().code(), "token-issuer");

        let mut scoped = claims();
        scoped.aud = Some("app-1".into());
        let token = signer.sign_access(&scoped);
        assert_eq!(verifier.verify(&token, NOW, ISSUER), Err(TokenError::Audience));
        let verifier = verifier.with_audience("app-1");
        assert!(verifier.verify(&token, NOW, ISSUER).is_ok());
        assert_eq!(verifier.verify(&signer.sign_access(&claims()), NOW, ISSUER), Err(TokenError::Audience));
    }

    #[test]
    fn invalid_verification_keys_are_refused() {
        let key = SigningKey::generate();
        let identity = {
            let mut bytes = [0u8; 32];
            bytes[0] = 1; // the neutral point: small order, verifies forged signatures
            bytes
        };
        assert!(TokenVerifier::new([("weak".to_owned(), identity)]).is_err());
        let twice = [(key.kid().to_owned(), key.public_key()), (key.kid().to_owned(), key.public_key())];
        assert_eq!(TokenVerifier::new(twice).unwrap_err().kid, key.kid());
    }

    #[test]
    fn error_codes_are_stable() {
        let codes: Vec<&str> = [
            TokenError::Malformed,
            TokenError::Algorithm,
            TokenError::UnknownKey,
            TokenError::EmbeddedKey,
            TokenError::Type,
            TokenError::Signature,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::Issuer,
            TokenError::Audience,
        ]
        .iter()
        .map(TokenError::code)
        .collect();
        assert_eq!(
            codes,
            [
                "token-malformed",
                "token-alg",
                "token-kid",
                "token-kid",
                "token-type",
                "token-signature",
                "token-expired",
                "token-expired",
                "token-issuer",
                "token-audience"
            ]
        );
    }
}
