//! Two-factor authentication secrets (docs/design.md §3, docs/security.md §3): TOTP per RFC 6238
//! with the parameters every authenticator app accepts (SHA-1, 6 digits, 30 s steps), and the
//! single-use backup codes.
//!
//! A [`TotpSecret`] is 160 random bits (RFC 4226's recommended length). The use cases seal it with
//! the master key, the user id as associated data, and never show it again after enrollment.
//! [`TotpSecret::verify`] accepts the current step and one step either side, and answers **which**
//! step matched, so the caller can store it and refuse that step and every earlier one afterwards
//! (a code works once). Codes are compared in constant time.
//!
//! Backup codes are 80 random bits written as 16 base32 characters in groups of four. Only their
//! SHA-256, salted with the user id, is stored: at 80 bits a fast hash leaves nothing to
//! brute-force (2^80 hashes per code), and the salt makes a table useless across users.

use std::fmt;

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};
use zeroize::Zeroizing;

use crate::secret::{constant_time_eq, random_bytes};

/// Digits of a code.
pub const DIGITS: usize = 6;
/// Seconds per time step.
pub const STEP_SECS: u64 = 30;
/// Steps either side of the current one that are accepted (clock skew).
pub const SKEW_STEPS: i64 = 1;
/// Bytes of a new secret: 160 bits.
pub const SECRET_BYTES: usize = 20;
/// Backup codes made at enrollment and at each regeneration.
pub const BACKUP_CODE_COUNT: usize = 10;

const BACKUP_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const BACKUP_CHARS: usize = 16;

/// A TOTP seed. `Debug` redacts it; the bytes are wiped on drop.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

/// Why a stored secret cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("a TOTP secret must have at least 128 bits")]
    TooShort,
}

/// What an authenticator app needs to add an account.
#[derive(Clone)]
pub struct Provisioning {
    /// `otpauth://totp/Issuer:account?secret=…&issuer=Issuer` (Key Uri Format).
    pub uri: String,
    /// The same URI as a QR code, an SVG document.
    pub qr_svg: String,
    /// The secret in base32, in groups of four for typing by hand.
    pub grouped_key: String,
}

impl fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Provisioning([redacted])")
    }
}

impl TotpSecret {
    /// A fresh secret from the operating system's CSPRNG.
    pub fn generate() -> TotpSecret {
        TotpSecret(Zeroizing::new(random_bytes(SECRET_BYTES)))
    }

    /// A secret as unsealed from storage.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<TotpSecret, TotpError> {
        if bytes.len() < 16 {
            return Err(TotpError::TooShort);
        }
        Ok(TotpSecret(Zeroizing::new(bytes)))
    }

    /// The raw bytes, to be sealed.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self, issuer: &str, account: &str) -> TOTP {
        // totp-rs refuses a ':' in either name (it separates them in the URI's label).
        let clean = |s: &str| s.replace(':', " ");
        TOTP {
            algorithm: Algorithm::SHA1,
            digits: DIGITS,
            skew: 0,
            step: STEP_SECS,
            secret: self.0.to_vec(),
            issuer: Some(clean(issuer)),
            account_name: clean(account),
        }
    }

    /// The code of time step `step` (`unix_secs / 30`).
    pub fn code_at_step(&self, step: i64) -> String {
        let t = u64::try_from(step).unwrap_or(0).saturating_mul(STEP_SECS);
        self.totp("", "").generate(t)
    }

    /// Checks `code` at `unix_secs` against the current step and [`SKEW_STEPS`] either side;
    /// answers the step that matched. Every candidate is compared, in constant time, so the time
    /// taken says nothing about which (if any) matched.
    pub fn verify(&self, code: &str, unix_secs: i64) -> Option<i64> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = unix_secs.div_euclid(STEP_SECS as i64);
        let mut matched = None;
        for step in (now - SKEW_STEPS)..=(now + SKEW_STEPS) {
            if step >= 0 && constant_time_eq(self.code_at_step(step).as_bytes(), code.as_bytes()) {
                matched = Some(step);
            }
        }
        matched
    }

    /// The URI, QR code and grouped key for an authenticator app, naming the account `account`
    /// under `issuer`.
    pub fn provisioning(&self, issuer: &str, account: &str) -> Provisioning {
        let totp = self.totp(issuer, account);
        let uri = totp.get_url();
        let qr_svg = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
            .map(|qr| qr.render::<svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build())
            // A URI of a few hundred bytes always fits a QR code (version 40 holds 2,331 bytes at M).
            .unwrap_or_default();
        let encoded = Secret::Raw(self.0.to_vec()).to_encoded().to_string();
        let grouped_key = group(&encoded, 4);
        Provisioning { uri, qr_svg, grouped_key }
    }
}

/// `text` in groups of `n` characters separated by spaces.
fn group(text: &str, n: usize) -> String {
    text.as_bytes().chunks(n).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// A new set of [`BACKUP_CODE_COUNT`] backup codes, as shown to the user once
/// (`abcd-efgh-ijkl-mnop`).
pub fn new_backup_codes() -> Vec<String> {
    (0..BACKUP_CODE_COUNT)
        .map(|_| {
            // 16 characters of 5 bits each from 16 random bytes (the top 3 bits of each dropped).
            let chars: String =
                random_bytes(BACKUP_CHARS).iter().map(|b| BACKUP_ALPHABET[usize::from(b & 31)] as char).collect();
            group(&chars, 4).replace(' ', "-")
        })
        .collect()
}

/// A backup code as typed, normalized: case, spaces and dashes do not matter. `None` when it
/// cannot be a backup code at all.
pub fn normalize_backup_code(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_lowercase()).collect();
    (code.len() == BACKUP_CHARS && code.bytes().all(|b| BACKUP_ALPHABET.contains(&b))).then_some(code)
}

/// The stored form of a (normalized) backup code of `user_id`.
pub fn hash_backup_code(user_id: &[u8], normalized: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"tenantry-backup-code\0");
    h.update(user_id);
    h.update(normalized.as_bytes());
    h.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1, with its key; the last 6 digits of its 8-digit codes.
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        for (t, code) in
            [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")]
        {
            assert_eq!(s.code_at_step(t / 30), code, "T = {t}");
            assert_eq!(s.verify(code, t), Some(t / 30));
        }
    }

    #[test]
    fn the_window_is_one_step_either_side() {
        let s = TotpSecret::generate();
        let now = 1_700_000_000_i64;
        let step = now / 30;
        for (offset, ok) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = s.code_at_step(step + offset);
            let got = s.verify(&code, now);
            if ok {
                assert_eq!(got, Some(step + offset), "offset {offset}");
            } else if got.is_some() {
                // A different step can share the code by chance (1 in a million); never this one.
                assert_ne!(got, Some(step + offset), "offset {offset}");
            }
        }
        assert_eq!(s.verify("12345", now), None, "too short");
        assert_eq!(s.verify("1234567", now), None, "too long");
        assert_eq!(s.verify("12a456", now), None, "not digits");
    }

    #[test]
    fn secrets_are_160_bits_and_redacted() {
        let s = TotpSecret::generate();
        assert_eq!(s.expose().len(), 20);
        assert_ne!(s.expose(), TotpSecret::generate().expose());
        assert_eq!(format!("{s:?}"), "TotpSecret([redacted])");
        assert_eq!(TotpSecret::from_bytes(vec![0; 15]).unwrap_err(), TotpError::TooShort);
    }

    #[test]
    fn provisioning_names_the_account_and_draws_the_uri() {
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        let p = s.provisioning("Tenantry", "ada@example.com");
        assert!(p.uri.starts_with("otpauth://totp/Tenantry:ada%40example.com?"), "{}", p.uri);
        assert!(p.uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") && p.uri.contains("issuer=Tenantry"));
        assert_eq!(p.grouped_key, "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        assert!(p.qr_svg.starts_with("<?xml") && p.qr_svg.contains("<svg"), "{}", &p.qr_svg[..60]);
        assert_eq!(format!("{p:?}"), "Provisioning([redacted])");
    }

    #[test]
    fn backup_codes_are_random_grouped_and_normalized() {
        let codes = new_backup_codes();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 19, "{c}");
            assert_eq!(c.matches('-').count(), 3);
            let n = normalize_backup_code(c).unwrap();
            assert_eq!(normalize_backup_code(&c.to_uppercase().replace('-', " ")), Some(n.clone()));
            assert_eq!(hash_backup_code(b"u1", &n).len(), 32);
            assert_ne!(hash_backup_code(b"u1", &n), hash_backup_code(b"u2", &n), "salted with the user");
        }
        assert_eq!(normalize_backup_code("abcd-efgh"), None);
        assert_eq!(normalize_backup_code("abcd-efgh-ijkl-mno1"), None, "1 is not in the alphabet");
    }
}
