//! Endpoint secrets: `whsec_` followed by the standard base64 of 32 random bytes. The bytes are the
//! HMAC key. Stored sealed; shown on creation and on request.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

const PREFIX: &str = "whsec_";
const LEN: usize = 32;

/// An endpoint's signing secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl WebhookSecret {
    /// 32 bytes from the operating system's CSPRNG.
    pub fn generate() -> WebhookSecret {
        let mut key = Zeroizing::new(vec![0u8; LEN]);
        OsRng.fill_bytes(&mut key);
        WebhookSecret { key }
    }

    /// The raw key bytes, as stored sealed.
    pub fn from_key(key: Vec<u8>) -> Option<WebhookSecret> {
        (24..=64).contains(&key.len()).then(|| WebhookSecret { key: Zeroizing::new(key) })
    }

    /// Parses `whsec_<base64>`.
    pub fn parse(s: &str) -> Option<WebhookSecret> {
        let key = STANDARD.decode(s.strip_prefix(PREFIX)?).ok()?;
        Self::from_key(key)
    }

    /// The HMAC key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The secret as the receiver configures it: `whsec_<base64>`.
    pub fn expose(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PREFIX}{}", STANDARD.encode(&*self.key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_base64_of_32_bytes_and_round_trip() {
        let s = WebhookSecret::generate();
        let shown = s.expose();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&shown[6..]).unwrap().len(), 32);
        assert_eq!(WebhookSecret::parse(&shown), Some(s.clone()));
        assert_ne!(WebhookSecret::generate(), s);
        assert!(!format!("{s:?}").contains(&shown[6..]));
        assert_eq!(WebhookSecret::parse("whsec_!!"), None);
        assert_eq!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), None, "the prefix is required");
    }
}
