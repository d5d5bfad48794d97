//! Local verification of Tenantry access tokens against the issuer's JWKS: this module fetches and
//! caches the keys; the token rules themselves are in [`crate::jose`].
//!
//! **Invariant:** the verify path does no I/O and takes the key cache's lock only to copy one parsed
//! key out of it.

use std::sync::{PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::claims::AccessClaims;
use crate::jose::{self, PublicKey, VerifyError, ALGORITHM};

/// Longer JWKS responses are refused.
pub const MAX_JWKS_LEN: usize = 256 * 1024;
const JWKS_TIMEOUT: Duration = Duration::from_secs(10);

/// The current time in seconds since the Unix epoch, for [`Verifier::verify`].
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Why a JWKS could not be loaded. The keys already cached stay in use.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("fetching the JWKS failed")]
    Fetch(#[source] reqwest::Error),
    #[error("the JWKS is larger than {MAX_JWKS_LEN} bytes")]
    TooLarge,
    #[error("the JWKS is not a JSON key set")]
    Json(#[source] serde_json::Error),
    #[error("the JWKS holds an invalid Ed25519 key (kid {kid:?})")]
    InvalidKey { kid: Option<String> },
    #[error("the JWKS holds two keys with kid {kid:?}")]
    DuplicateKid { kid: String },
    #[error("the JWKS holds no Ed25519 signing key")]
    NoKeys,
}

/// Verifies access tokens locally, with the issuer's signing keys cached in memory.
///
/// Share one `Verifier` (e.g. in an `Arc`) between requests: [`Verifier::verify`] takes `&self`, and
/// [`Verifier::refresh`] swaps the keys in without blocking verification for longer than a copy.
#[derive(Debug)]
pub struct Verifier {
    issuer: String,
    audience: Option<String>,
    jwks_url: String,
    keys: RwLock<Vec<PublishedKey>>,
}

#[derive(Debug)]
struct PublishedKey {
    kid: String,
    key: PublicKey,
}

impl Verifier {
    /// For tokens whose `iss` is exactly `issuer` (the Tenantry instance's public URL). The JWKS is
    /// fetched from `{issuer}/.well-known/jwks.json` by [`Verifier::refresh`]; until then, or
    /// [`Verifier::set_jwks`], no token verifies.
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        let jwks_url = format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'));
        Verifier { issuer, audience: None, jwks_url, keys: RwLock::new(Vec::new()) }
    }

    /// Require `aud` to be exactly `audience`. Without it, a token that carries an `aud` is refused
    /// (RFC 7519 §4.1.3).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where [`Verifier::refresh`] fetches the keys.
    pub fn jwks_url(&self) -> &str {
        &self.jwks_url
    }

    /// The `kid`s of the cached keys.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).iter().map(|k| k.kid.clone()).collect()
    }

    /// Replaces the cached keys with the Ed25519 keys of a JWKS document. Keys of other types are
    /// skipped; an invalid Ed25519 key fails the whole document and leaves the cache as it was.
    pub fn set_jwks(&self, json: &str) -> Result<(), JwksError> {
        self.install(parse_jwks(json.as_bytes())?);
        Ok(())
    }

    /// Fetches the JWKS and replaces the cached keys. Call it at start-up, periodically (e.g. every
    /// few minutes), and when a token names an unknown `kid` (rate-limited by the caller). The
    /// client decides TLS, proxies and redirects; the response is capped at [`MAX_JWKS_LEN`].
    pub async fn refresh(&self, http: &reqwest::Client) -> Result<(), JwksError> {
        let mut response = http
            .get(&self.jwks_url)
            .timeout(JWKS_TIMEOUT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(JwksError::Fetch)?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(JwksError::Fetch)? {
            if body.len() + chunk.len() > MAX_JWKS_LEN {
                return Err(JwksError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        self.install(parse_jwks(&body)?);
        Ok(())
    }

    fn install(&self, keys: Vec<PublishedKey>) {
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
    }

    fn key(&self, kid: &str) -> Option<PublicKey> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.iter().find(|k| k.kid == kid).map(|k| k.key)
    }

    /// Verifies `token` at time `now` (seconds since the Unix epoch; see [`unix_now`]) and returns
    /// its claims, by the rules of [`jose::verify_access_token`].
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, VerifyError> {
        jose::verify_access_token(token, now, &self.issuer, self.audience.as_deref(), |kid| self.key(kid))
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
}

fn parse_jwks(json: &[u8]) -> Result<Vec<PublishedKey>, JwksError> {
    let set: JwkSet = serde_json::from_slice(json).map_err(JwksError::Json)?;
    let mut keys: Vec<PublishedKey> = Vec::new();
    for jwk in set.keys {
        let signs_with_ed25519 = jwk.kty == "OKP"
            && jwk.crv.as_deref() == Some("Ed25519")
            && jwk.usage.as_deref().is_none_or(|u| u == "sig")
            && jwk.alg.as_deref().is_none_or(|a| a == ALGORITHM);
        if !signs_with_ed25519 {
            continue;
        }
        let (Some(kid), Some(key)) = (jwk.kid.clone(), jwk.x.as_deref().and_then(PublicKey::from_jwk_x)) else {
            return Err(JwksError::InvalidKey { kid: jwk.kid });
        };
        if keys.iter().any(|k| k.kid == kid) {
            return Err(JwksError::DuplicateKid { kid });
        }
        keys.push(PublishedKey { kid, key });
    }
    if keys.is_empty() {
        return Err(JwksError::NoKeys);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::OrgClaim;
    use crate::jose::{LEEWAY_SECS, MAX_TOKEN_LEN};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use ed25519_dalek::{Signer as _, SigningKey};
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
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
            active_org_id: Some("0197a000-0000-7000-8000-000000000001".into()),
            orgs_truncated: false,
            amr: vec![],
        }
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    struct Issuer {
        key: SigningKey,
        kid: String,
    }

    impl Issuer {
        fn new(seed: u8, kid: &str) -> Self {
            Issuer { key: SigningKey::from_bytes(&[seed; 32]), kid: kid.into() }
        }

        fn jwk(&self) -> serde_json::Value {
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64(self.key.verifying_key().as_bytes()),
                "kid": self.kid, "alg": "EdDSA", "use": "sig"})
        }

        /// Signs like Tenantry does, through an independent JWT library.
        fn sign(&self, claims: &AccessClaims) -> String {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
            header.typ = Some("at+jwt".into());
            header.kid = Some(self.kid.clone());
            let der = self.key.to_pkcs8_der().unwrap();
            jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes())).unwrap()
        }

        /// A token built by hand: any header, any payload.
        fn forge(&self, header: serde_json::Value, claims: &AccessClaims) -> String {
            let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(&serde_json::to_vec(claims).unwrap()));
            format!("{input}.{}", b64(&self.key.sign(input.as_bytes()).to_bytes()))
        }

        fn header(&self) -> serde_json::Value {
            serde_json::json!({"alg": "EdDSA", "typ": "at+jwt", "kid": self.kid})
        }
    }

    fn jwks(issuers: &[&Issuer]) -> String {
        serde_json::json!({"keys": issuers.iter().map(|i| i.jwk()).collect::<Vec<_>>()}).to_string()
    }

    fn setup() -> (Issuer, Verifier) {
        let issuer = Issuer::new(7, "key-1");
        let verifier = Verifier::new(ISSUER);
        verifier.set_jwks(&jwks(&[&issuer])).unwrap();
        (issuer, verifier)
    }

    #[test]
    fn round_trip() {
        let (issuer, verifier) = setup();
        assert_eq!(verifier.verify(&issuer.sign(&claims()), NOW + 5), Ok(claims()));
        assert_eq!(verifier.key_ids(), ["key-1"]);
        assert_eq!(verifier.jwks_url(), "https://auth.example.com/.well-known/jwks.json");
        assert_eq!(Verifier::new("http://x:1/").jwks_url(), "http://x:1/.well-known/jwks.json");
    }

    #[test]
    fn nothing_verifies_before_keys_are_loaded() {
        let (issuer, _) = setup();
        assert_eq!(Verifier::new(ISSUER).verify(&issuer.sign(&claims()), NOW), Err(VerifyError::UnknownKey));
    }

    #[test]
    fn alg_none_is_refused() {
        let (issuer, verifier) = setup();
        let mut header = issuer.header();
        header["alg"] = "none".into();
        let token = issuer.forge(header, &claims());
        let unsigned = &token[..token.rfind('.').unwrap() + 1];
        for token in [unsigned, &token] {
            assert_eq!(verifier.verify(token, NOW).unwrap_err().code(), "token-alg");
        }
    }

    #[test]
    fn hs256_keyed_with_the_public_key_is_refused() {
        let (issuer, verifier) = setup();
        let mut header = issuer.header();
        header["alg"] = "HS256".into();
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(&serde_json::to_vec(&claims()).unwrap()));
        let public = issuer.key.verifying_key().to_bytes();
        for secret in [public.to_vec(), b64(&public).into_bytes(), jwks(&[&issuer]).into_bytes()] {
            let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
            mac.update(input.as_bytes());
            let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
            assert_eq!(verifier.verify(&token, NOW), Err(VerifyError::Algorithm));
        }
    }

    #[test]
    fn unknown_or_missing_kid_is_refused() {
        let (_, verifier) = setup();
        let stranger = Issuer::new(8, "key-2");
        assert_eq!(verifier.verify(&stranger.sign(&claims()), NOW).unwrap_err().code(), "token-kid");
        // A stranger's key under our kid fails on the signature.
        let impostor = Issuer::new(8, "key-1");
        assert_eq!(verifier.verify(&impostor.sign(&claims()), NOW), Err(VerifyError::Signature));
        let token = stranger.forge(serde_json::json!({"alg": "EdDSA", "typ": "at+jwt"}), &claims());
        assert_eq!(verifier.verify(&token, NOW), Err(VerifyError::UnknownKey));
    }

    #[test]
    fn headers_that_name_a_key_are_refused() {
        let (issuer, verifier) = setup();
        for (member, value) in [
            ("jku", serde_json::json!("https://evil.example/jwks.json")),
            ("x5u", serde_json::json!("https://evil.example/cert.pem")),
            ("jwk", issuer.jwk()),
            ("x5c", serde_json::json!(["MIIB"])),
            ("x5u", serde_json::Value::Null),
        ] {
            let mut header = issuer.header();
            header[member] = value;
            let token = issuer.forge(header, &claims());
            assert_eq!(verifier.verify(&token, NOW), Err(VerifyError::EmbeddedKey), "{member}");
        }
        let mut header = issuer.header();
        header["crit"] = serde_json::json!(["b64"]);
        assert_eq!(verifier.verify(&issuer.forge(header, &claims()), NOW), Err(VerifyError::Malformed));
        // Unknown, non-critical members are ignored.
        let mut header = issuer.header();
        header["cty"] = "JWT".into();
        assert!(verifier.verify(&issuer.forge(header, &claims()), NOW).is_ok());
    }

    #[test]
    fn other_token_types_are_refused() {
        let (issuer, verifier) = setup();
        for typ in [Some("JWT"), Some("refresh+jwt"), Some("id_token+jwt"), Some("application/"), None] {
            let mut header = issuer.header();
            match typ {
                Some(typ) => header["typ"] = typ.into(),
                None => drop(header.as_object_mut().unwrap().remove("typ")),
            }
            let token = issuer.forge(header, &claims());
            assert_eq!(verifier.verify(&token, NOW).unwrap_err().code(), "token-type", "{typ:?}");
        }
        let mut header = issuer.header();
        header["typ"] = "Application/AT+JWT".into();
        assert!(verifier.verify(&issuer.forge(header, &claims()), NOW).is_ok());
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let (issuer, verifier) = setup();
        let token = issuer.sign(&claims());
        let parts: Vec<&str> = token.split('.').collect();

        let mut escalated = claims();
        escalated.orgs.values_mut().for_each(|org| org.role = "owner".into());
        let swapped = format!("{}.{}.{}", parts[0], b64(&serde_json::to_vec(&escalated).unwrap()), parts[2]);
        assert_eq!(verifier.verify(&swapped, NOW), Err(VerifyError::Signature));

        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[40] ^= 1;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], b64(&signature));
        assert_eq!(verifier.verify(&flipped, NOW).unwrap_err().code(), "token-signature");

        // S + l: the same signature in a non-canonical (malleated) form.
        let mut malleated = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (s, l) in malleated[32..].iter_mut().zip(l) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        let token = format!("{}.{}.{}", parts[0], parts[1], b64(&malleated));
        assert_eq!(verifier.verify(&token, NOW), Err(VerifyError::Signature));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let (issuer, verifier) = setup();
        let token = issuer.sign(&claims());
        let (input, signature) = token.rsplit_once('.').unwrap();
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        let mut non_canonical = signature.to_owned();
        // The last character carries 4 spare bits; setting one spells the same bytes another way.
        let last = non_canonical.pop().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        non_canonical.push(alphabet.as_bytes()[alphabet.find(last).unwrap() ^ 1] as char);
        let unsigned_claims = issuer.forge(issuer.header(), &claims());
        let (header_only, _) = unsigned_claims.split_once('.').unwrap();
        let not_claims = issuer.forge_raw(header_only, b"{\"sub\": 1}");
        for bad in [
            String::new(),
            "a.b".into(),
            "a.b.c.d".into(),
            format!("{token}.x"),
            format!("{token}="),
            format!("{input}.{}", &signature[1..]),
            format!("{input}.{signature}AAAA"),
            format!("{input}.{non_canonical}"),
            "!!!.e30.AAAA".into(),
            format!("{}.e30.AAAA", b64(b"not json")),
            format!("{}.e30.AAAA", b64(br#"{"alg":"EdDSA","alg":"EdDSA","typ":"at+jwt","kid":"key-1"}"#)),
            not_claims,
            long,
        ] {
            assert_eq!(verifier.verify(&bad, NOW), Err(VerifyError::Malformed), "{bad:.60}");
        }
    }

    impl Issuer {
        /// Signs an arbitrary (already encoded header, raw payload) pair.
        fn forge_raw(&self, encoded_header: &str, payload: &[u8]) -> String {
            let input = format!("{encoded_header}.{}", b64(payload));
            format!("{input}.{}", b64(&self.key.sign(input.as_bytes()).to_bytes()))
        }
    }

    #[test]
    fn expiry_and_issue_time_allow_sixty_seconds_of_skew() {
        let (issuer, verifier) = setup();
        let token = issuer.sign(&claims());
        let exp = claims().exp;
        assert!(verifier.verify(&token, exp + LEEWAY_SECS - 1).is_ok());
        assert_eq!(verifier.verify(&token, exp + LEEWAY_SECS), Err(VerifyError::Expired));
        assert_eq!(verifier.verify(&token, i64::MAX).unwrap_err().code(), "token-expired");

        assert!(verifier.verify(&token, NOW - LEEWAY_SECS).is_ok());
        assert_eq!(verifier.verify(&token, NOW - LEEWAY_SECS - 1), Err(VerifyError::NotYetValid));
        assert_eq!(verifier.verify(&token, i64::MIN), Err(VerifyError::NotYetValid));

        let mut later = claims();
        later.nbf = Some(NOW + 600);
        let token = issuer.sign(&later);
        assert_eq!(verifier.verify(&token, NOW), Err(VerifyError::NotYetValid));
        assert!(verifier.verify(&token, NOW + 600).is_ok());
    }

    #[test]
    fn wrong_issuer_or_audience_is_refused() {
        let (issuer, verifier) = setup();
        let mut other = claims();
        other.iss = "https://evil.example.com".into();
        assert_eq!(verifier.verify(&issuer.sign(&other), NOW), Err(VerifyError::Issuer));
        other.iss = format!("{ISSUER}/");
        assert_eq!(verifier.verify(&issuer.sign(&other), NOW).unwrap_err().code(), "token-issuer");

        let mut scoped = claims();
        scoped.aud = Some("app-1".into());
        let token = issuer.sign(&scoped);
        assert_eq!(verifier.verify(&token, NOW), Err(VerifyError::Audience));
        let verifier = verifier.with_audience("app-1");
        verifier.set_jwks(&jwks(&[&issuer])).unwrap();
        assert!(verifier.verify(&token, NOW).is_ok());
        assert_eq!(verifier.verify(&issuer.sign(&claims()), NOW), Err(VerifyError::Audience));
        scoped.aud = Some("app-2".into());
        assert_eq!(verifier.verify(&issuer.sign(&scoped), NOW).unwrap_err().code(), "token-audience");
    }

    #[test]
    fn rotation_follows_the_jwks() {
        let (old, verifier) = setup();
        let new = Issuer::new(9, "key-2");
        let (old_token, new_token) = (old.sign(&claims()), new.sign(&claims()));
        assert_eq!(verifier.verify(&new_token, NOW), Err(VerifyError::UnknownKey));

        verifier.set_jwks(&jwks(&[&new, &old])).unwrap();
        assert!(verifier.verify(&old_token, NOW).is_ok() && verifier.verify(&new_token, NOW).is_ok());

        verifier.set_jwks(&jwks(&[&new])).unwrap();
        assert_eq!(verifier.verify(&old_token, NOW), Err(VerifyError::UnknownKey));
        assert!(verifier.verify(&new_token, NOW).is_ok());
    }

    #[test]
    fn bad_jwks_documents_leave_the_cache_alone() {
        let (issuer, verifier) = setup();
        let token = issuer.sign(&claims());
        let weak = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": "weak",
            "x": b64(&{ let mut b = [0u8; 32]; b[0] = 1; b })});
        let short = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": b64(&[1u8; 31])});
        let no_kid = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": issuer.jwk()["x"]});
        let rsa = serde_json::json!({"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"});
        let x25519 = serde_json::json!({"kty": "OKP", "crv": "X25519", "kid": "x", "x": issuer.jwk()["x"]});
        let encryption = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": "e", "use": "enc",
            "x": issuer.jwk()["x"]});

        let cases: [(String, &str); 8] = [
            ("not json".into(), "JSON"),
            (r#"{"keys": {}}"#.into(), "JSON"),
            (serde_json::json!({"keys": [weak]}).to_string(), "invalid"),
            (serde_json::json!({"keys": [short]}).to_string(), "invalid"),
            (serde_json::json!({"keys": [no_kid]}).to_string(), "invalid"),
            (serde_json::json!({"keys": [issuer.jwk(), issuer.jwk()]}).to_string(), "two keys"),
            (serde_json::json!({"keys": [rsa, x25519, encryption]}).to_string(), "no Ed25519"),
            (r#"{"keys": []}"#.into(), "no Ed25519"),
        ];
        for (document, expected) in cases {
            let err = verifier.set_jwks(&document).unwrap_err();
            assert!(err.to_string().contains(expected), "{document}: {err}");
            assert!(verifier.verify(&token, NOW).is_ok(), "{document}");
        }

        let rsa = serde_json::json!({"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"});
        verifier.set_jwks(&serde_json::json!({"keys": [rsa, issuer.jwk()]}).to_string()).unwrap();
        assert_eq!(verifier.key_ids(), ["key-1"]);
    }

    #[test]
    fn error_codes_are_stable() {
        let all = [
            VerifyError::Malformed,
            VerifyError::Algorithm,
            VerifyError::UnknownKey,
            VerifyError::EmbeddedKey,
            VerifyError::Type,
            VerifyError::Signature,
            VerifyError::Expired,
            VerifyError::NotYetValid,
            VerifyError::Issuer,
            VerifyError::Audience,
        ];
        let codes: Vec<&str> = all.iter().map(VerifyError::code).collect();
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

    /// Serves one canned HTTP response on loopback and returns its base URL and the request it got.
    async fn serve_once(status: &'static str, body: String) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "client hung up");
                request.extend_from_slice(&buf[..n]);
            }
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            // The client may hang up early (on an oversized body).
            let _ = socket.write_all(response.as_bytes()).await;
            String::from_utf8(request).unwrap()
        });
        (base, served)
    }

    fn http() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    #[tokio::test]
    async fn refresh_fetches_the_jwks_from_the_issuer() {
        let issuer = Issuer::new(7, "key-1");
        let (base, served) = serve_once("200 OK", jwks(&[&issuer])).await;
        let verifier = Verifier::new(&base);
        verifier.refresh(&http()).await.unwrap();
        assert!(served.await.unwrap().starts_with("GET /.well-known/jwks.json HTTP/1.1\r\n"));

        let mut claims = claims();
        claims.iss = base;
        assert_eq!(verifier.verify(&issuer.sign(&claims), NOW), Ok(claims));
    }

    #[tokio::test]
    async fn refresh_failures_keep_the_cached_keys() {
        let (issuer, _) = setup();
        for (status, body, expected) in [
            ("404 Not Found", "{}".to_owned(), "fetching"),
            ("200 OK", "[]".to_owned(), "JSON"),
            ("200 OK", " ".repeat(MAX_JWKS_LEN + 1), "larger"),
        ] {
            let (base, _served) = serve_once(status, body).await;
            let verifier = Verifier::new(&base);
            verifier.set_jwks(&jwks(&[&issuer])).unwrap();
            let err = verifier.refresh(&http()).await.unwrap_err();
            assert!(err.to_string().contains(expected), "{status}: {err}");
            assert_eq!(verifier.key_ids(), ["key-1"]);
        }
        let unreachable = Verifier::new("http://127.0.0.1:9");
        assert!(matches!(unreachable.refresh(&http()).await, Err(JwksError::Fetch(_))));
    }
}
