//! Random secrets and their comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The one comparator for secrets and their hashes: constant time in the length of the inputs.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    OsRng.fill_bytes(&mut buf);
    buf
}

/// A backend API key: `tnt_` and 43 characters of base64url (256 random bits). Only its SHA-256
/// hash is stored; the key itself is shown once. A fast hash is right here: the input is
/// uniformly random, so there is nothing to brute-force.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.display_prefix())
    }
}

impl ApiKeySecret {
    pub const PREFIX: &'static str = "tnt_";

    pub fn generate() -> Self {
        ApiKeySecret(format!("{}{}", Self::PREFIX, URL_SAFE_NO_PAD.encode(random_bytes(32))))
    }

    /// Takes a presented key. Anything not shaped like a key is refused before any look-up.
    pub fn parse(presented: &str) -> Option<Self> {
        let body = presented.strip_prefix(Self::PREFIX)?;
        (body.len() == 43 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .then(|| ApiKeySecret(presented.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    /// The first characters, safe to show in listings.
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(Self::PREFIX.len() + 6).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_hash_stably() {
        let k = ApiKeySecret::generate();
        assert_eq!(k.expose().len(), 47);
        let again = ApiKeySecret::parse(k.expose()).unwrap();
        assert!(constant_time_eq(&k.hash(), &again.hash()));
        assert_ne!(ApiKeySecret::generate().hash(), k.hash());
        assert!(!format!("{k:?}").contains(&k.expose()[12..]), "Debug shows only the prefix");
    }

    #[test]
    fn malformed_keys_are_refused_before_lookup() {
        for bad in [
            "",
            "tnt_",
            "tnt_short",
            "xyz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &format!("tnt_{}", "é".repeat(43)),
        ] {
            assert!(ApiKeySecret::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn comparator() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}

/// A fresh opaque token (refresh tokens, session cookies, email links): 256 random bits as
/// base64url, and the SHA-256 hash that is all the database keeps.
pub fn new_opaque_token() -> (String, Vec<u8>) {
    let token = URL_SAFE_NO_PAD.encode(random_bytes(32));
    let hash = hash_opaque_token(&token);
    (token, hash)
}

/// The stored form of an opaque token.
pub fn hash_opaque_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod opaque_tests {
    use super::*;

    #[test]
    fn opaque_tokens_are_256_bit_and_hashed() {
        let (a, ha) = new_opaque_token();
        let (b, _) = new_opaque_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(constant_time_eq(&ha, &hash_opaque_token(&a)));
    }
}
