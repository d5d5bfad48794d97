//! Encryption at rest (docs/security.md §14): AES-256-GCM under a master key from config, a random 96-bit
//! nonce per seal, and the row id as associated data, so a ciphertext copied into another row does not
//! open.
//!
//! Format: `1 || nonce (12 bytes) || ciphertext || tag (16 bytes)`. The leading version byte leaves
//! room for another scheme later.
//!
//! **Invariant:** the master key never reaches the database or a log: it is read from config, and
//! `Debug` redacts it. Random nonces are safe for far more seals per key than Tenantry makes (NIST
//! SP 800-38D caps them at 2^32); rotate with a [`Keyring`] long before that.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The 256-bit key that seals secrets at rest (signing key seeds, webhook secrets, TOTP secrets…).
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
    cipher: Aes256Gcm,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

/// Why sealing material could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("a master key must be 32 bytes, given in standard base64")]
    InvalidKey,
    #[error("the sealed value is truncated or of an unknown version")]
    Malformed,
    #[error("the sealed value does not open with this key and associated data")]
    Decrypt,
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        MasterKey { bytes: Zeroizing::new(*bytes), cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)) }
    }

    /// Parses the config value: 32 bytes in standard base64 (as printed by [`MasterKey::to_base64`]).
    pub fn from_base64(encoded: &str) -> Result<Self, SealError> {
        let decoded = Zeroizing::new(STANDARD.decode(encoded.trim()).map_err(|_| SealError::InvalidKey)?);
        let bytes: &[u8; 32] = decoded.as_slice().try_into().map_err(|_| SealError::InvalidKey)?;
        Ok(Self::from_bytes(bytes))
    }

    /// A new key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self::from_bytes(&Aes256Gcm::generate_key(&mut OsRng).into())
    }

    /// The key in the form [`MasterKey::from_base64`] reads, to be put into config once.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(*self.bytes))
    }

    /// Encrypts `plaintext` bound to `aad` (the row id, and whatever else names the slot).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad })
            .expect("AES-GCM encryption fails only for inputs over 64 GiB");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts what [`MasterKey::seal`] produced with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let (version, rest) = sealed.split_first().ok_or(SealError::Malformed)?;
        if *version != VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad }).map_err(|_| SealError::Decrypt)
    }
}

/// The current master key, which seals, and the previous ones, which still open what they sealed
/// until it has been re-sealed under the current key.
#[derive(Debug, Clone)]
pub struct Keyring {
    pub current: MasterKey,
    pub previous: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey) -> Self {
        Keyring { current, previous: Vec::new() }
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        self.current.seal(plaintext, aad)
    }

    /// Tries the current key, then the previous ones in order.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut outcome = self.current.open(sealed, aad);
        for key in &self.previous {
            if outcome != Err(SealError::Decrypt) {
                break;
            }
            outcome = key.open(sealed, aad);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW_A: &[u8] = b"signing_keys:0197a000-0000-7000-8000-00000000000a";
    const ROW_B: &[u8] = b"signing_keys:0197a000-0000-7000-8000-00000000000b";

    #[test]
    fn round_trip() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"seed bytes", ROW_A);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + 10 + TAG_LEN);
        assert_eq!(sealed[0], VERSION);
        assert_eq!(key.open(&sealed, ROW_A).unwrap(), b"seed bytes");
        assert_eq!(key.open(&key.seal(b"", ROW_A), ROW_A).unwrap(), b"");
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_does_not_open() {
        let key = MasterKey::generate();
        let (a, b) = (key.seal(b"secret of A", ROW_A), key.seal(b"secret of B", ROW_B));
        assert_eq!(key.open(&a, ROW_B), Err(SealError::Decrypt));
        assert_eq!(key.open(&b, ROW_A), Err(SealError::Decrypt));
    }

    #[test]
    fn any_tampered_byte_is_detected() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"secret", ROW_A);
        for i in 1..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x80;
            assert_eq!(key.open(&tampered, ROW_A), Err(SealError::Decrypt), "byte {i}");
        }
        let mut other_version = sealed.clone();
        other_version[0] = 2;
        assert_eq!(key.open(&other_version, ROW_A), Err(SealError::Malformed));
        assert_eq!(key.open(&sealed[..sealed.len() - 1], ROW_A), Err(SealError::Decrypt));
        assert_eq!(key.open(&sealed[..NONCE_LEN + TAG_LEN], ROW_A), Err(SealError::Malformed));
        assert_eq!(key.open(&[], ROW_A), Err(SealError::Malformed));
    }

    #[test]
    fn sealing_twice_differs() {
        let key = MasterKey::generate();
        let (one, two) = (key.seal(b"same", ROW_A), key.seal(b"same", ROW_A));
        assert_ne!(one, two);
        assert_ne!(one[1..1 + NONCE_LEN], two[1..1 + NONCE_LEN]);
    }

    #[test]
    fn the_wrong_key_does_not_open() {
        let sealed = MasterKey::generate().seal(b"secret", ROW_A);
        assert_eq!(MasterKey::generate().open(&sealed, ROW_A), Err(SealError::Decrypt));
    }

    #[test]
    fn keys_parse_from_base64_and_stay_out_of_debug() {
        let key = MasterKey::generate();
        let encoded = key.to_base64();
        let again = MasterKey::from_base64(&format!(" {}\n", *encoded)).unwrap();
        assert_eq!(again.open(&key.seal(b"x", ROW_A), ROW_A).unwrap(), b"x");
        assert_eq!(format!("{key:?}"), "MasterKey([redacted])");
        assert!(!format!("{:?}", Keyring::new(key)).contains(encoded.as_str()));

        for bad in ["", "not base64!", &STANDARD.encode([0u8; 31]), &STANDARD.encode([0u8; 33])] {
            assert_eq!(MasterKey::from_base64(bad).unwrap_err(), SealError::InvalidKey, "{bad}");
        }
    }

    #[test]
    fn a_keyring_opens_under_previous_keys_and_seals_under_the_current_one() {
        let (old, older) = (MasterKey::generate(), MasterKey::generate());
        let by_old = old.seal(b"v1", ROW_A);
        let by_older = older.seal(b"v0", ROW_A);
        let ring = Keyring { current: MasterKey::generate(), previous: vec![old.clone(), older] };
        assert_eq!(ring.open(&by_old, ROW_A).unwrap(), b"v1");
        assert_eq!(ring.open(&by_older, ROW_A).unwrap(), b"v0");
        assert_eq!(ring.open(&by_old, ROW_B), Err(SealError::Decrypt));

        let resealed = ring.seal(b"v1", ROW_A);
        assert_eq!(ring.current.open(&resealed, ROW_A).unwrap(), b"v1");
        assert_eq!(old.open(&resealed, ROW_A), Err(SealError::Decrypt));
        assert_eq!(Keyring::new(old).open(&[9, 9], ROW_A), Err(SealError::Malformed));
    }
}
