//! Verification of the webhooks Tenantry sends, per Standard Webhooks: `webhook-signature` holds one
//! or more space-separated `v1,<base64 HMAC-SHA256>` over `{webhook-id}.{webhook-timestamp}.{body}`,
//! keyed by the endpoint secret `whsec_<base64>`. During a secret rotation two signatures are sent;
//! either one verifying is enough.
//!
//! Verify the raw body bytes exactly as received, before parsing them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header names, lower-case as HTTP/2 sends them.
pub const WEBHOOK_ID_HEADER: &str = "webhook-id";
pub const WEBHOOK_TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE_HEADER: &str = "webhook-signature";
/// How far `webhook-timestamp` may be from the receiver's clock, either way, to limit replays.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 5 * 60;
const SECRET_PREFIX: &str = "whsec_";

/// The three Standard Webhooks headers of one delivery, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`: the message id, the same on every retry (use it to deduplicate).
    pub id: &'a str,
    /// `webhook-timestamp`: seconds since the Unix epoch, fresh on every attempt.
    pub timestamp: &'a str,
    /// `webhook-signature`: space-separated `v1,<base64>` signatures.
    pub signature: &'a str,
}

/// Why a delivery was refused. Messages never contain the secret or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook secret is not whsec_ followed by base64")]
    InvalidSecret,
    #[error("webhook-timestamp is not a number of seconds")]
    InvalidTimestamp,
    #[error("webhook-timestamp is more than 5 minutes old")]
    TimestampTooOld,
    #[error("webhook-timestamp is more than 5 minutes in the future")]
    TimestampTooNew,
    #[error("no v1 signature in webhook-signature matches")]
    NoMatchingSignature,
}

/// Checks that a delivery was signed with `secret` (`whsec_...`; the bare base64 is accepted too)
/// and sent within [`WEBHOOK_TOLERANCE_SECS`] of `now` (seconds since the Unix epoch).
///
/// ```
/// use tenantry_sdk::{verify_webhook, WebhookHeaders};
///
/// let headers = WebhookHeaders {
///     id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
///     timestamp: "1614265330",
///     signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
/// };
/// let body = br#"{"test": 2432232314}"#;
/// verify_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &headers, body, 1614265330 + 10)?;
/// # Ok::<(), tenantry_sdk::WebhookError>(())
/// ```
pub fn verify_webhook(secret: &str, headers: &WebhookHeaders<'_>, body: &[u8], now: i64) -> Result<(), WebhookError> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
        .filter(|key| !key.is_empty())
        .ok_or(WebhookError::InvalidSecret)?;

    let timestamp = headers.timestamp;
    if timestamp.is_empty() || timestamp.len() > 18 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::InvalidTimestamp);
    }
    let sent: i64 = timestamp.parse().map_err(|_| WebhookError::InvalidTimestamp)?;
    if sent < now.saturating_sub(WEBHOOK_TOLERANCE_SECS) {
        return Err(WebhookError::TimestampTooOld);
    }
    if sent > now.saturating_add(WEBHOOK_TOLERANCE_SECS) {
        return Err(WebhookError::TimestampTooNew);
    }

    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| WebhookError::InvalidSecret)?;
    mac.update(headers.id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);

    let matches = headers
        .signature
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        // `verify_slice` compares in constant time.
        .any(|candidate| mac.clone().verify_slice(&candidate).is_ok());
    if matches {
        Ok(())
    } else {
        Err(WebhookError::NoMatchingSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Produced by the `standardwebhooks` Python library (1.1.0), the spec's reference implementation.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(signature: &str) -> WebhookHeaders<'_> {
        WebhookHeaders { id: ID, timestamp: "1614265330", signature }
    }

    fn sign(secret: &str, id: &str, ts: &str, body: &[u8]) -> String {
        let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap()).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{id}.{ts}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn the_reference_signature_verifies() {
        assert_eq!(verify_webhook(SECRET, &headers(SIGNATURE), BODY, TS), Ok(()));
        assert_eq!(sign(SECRET, ID, "1614265330", BODY), SIGNATURE);
        let bare = SECRET.strip_prefix("whsec_").unwrap();
        assert_eq!(verify_webhook(bare, &headers(SIGNATURE), BODY, TS), Ok(()));
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let other = "whsec_".to_owned() + &STANDARD.encode([7u8; 32]);
        let by_other = sign(&other, ID, "1614265330", BODY);
        for header in [
            format!("{by_other} {SIGNATURE}"),
            format!("{SIGNATURE} {by_other}"),
            format!("v1a,AAAA v2,{} {SIGNATURE}", &SIGNATURE[3..]),
            format!("v1,not-base64 {SIGNATURE}"),
        ] {
            assert_eq!(verify_webhook(SECRET, &headers(&header), BODY, TS), Ok(()), "{header}");
            assert_eq!(verify_webhook(&other, &headers(&header), BODY, TS).is_ok(), header.contains(&by_other));
        }
    }

    #[test]
    fn tampering_is_detected() {
        let no_match = Err(WebhookError::NoMatchingSignature);
        assert_eq!(verify_webhook(SECRET, &headers(SIGNATURE), br#"{"test": 2432232315}"#, TS), no_match);
        let other_id = WebhookHeaders { id: "msg_other", ..headers(SIGNATURE) };
        assert_eq!(verify_webhook(SECRET, &other_id, BODY, TS), no_match);
        let later = WebhookHeaders { timestamp: "1614265331", ..headers(SIGNATURE) };
        assert_eq!(verify_webhook(SECRET, &later, BODY, TS), no_match);
        let other_secret = "whsec_".to_owned() + &STANDARD.encode([7u8; 32]);
        assert_eq!(verify_webhook(&other_secret, &headers(SIGNATURE), BODY, TS), no_match);

        let truncated = &SIGNATURE[..SIGNATURE.len() - 4];
        let wrong_version = SIGNATURE.replacen("v1,", "v2,", 1);
        let unversioned = &SIGNATURE[3..];
        for header in ["", " ", truncated, &wrong_version, unversioned, "v1,", "v1"] {
            assert_eq!(verify_webhook(SECRET, &headers(header), BODY, TS), no_match, "{header}");
        }
    }

    #[test]
    fn timestamps_outside_five_minutes_are_refused() {
        let sig = headers(SIGNATURE);
        assert_eq!(verify_webhook(SECRET, &sig, BODY, TS + WEBHOOK_TOLERANCE_SECS), Ok(()));
        assert_eq!(verify_webhook(SECRET, &sig, BODY, TS - WEBHOOK_TOLERANCE_SECS), Ok(()));
        assert_eq!(
            verify_webhook(SECRET, &sig, BODY, TS + WEBHOOK_TOLERANCE_SECS + 1),
            Err(WebhookError::TimestampTooOld)
        );
        assert_eq!(
            verify_webhook(SECRET, &sig, BODY, TS - WEBHOOK_TOLERANCE_SECS - 1),
            Err(WebhookError::TimestampTooNew)
        );
        assert_eq!(verify_webhook(SECRET, &sig, BODY, i64::MAX), Err(WebhookError::TimestampTooOld));

        for bad in ["", "-1614265330", "+1614265330", "1614265330.0", " 1614265330", "1e9", "9999999999999999999"] {
            let header = WebhookHeaders { timestamp: bad, ..sig };
            assert_eq!(verify_webhook(SECRET, &header, BODY, TS), Err(WebhookError::InvalidTimestamp), "{bad}");
        }
    }

    #[test]
    fn malformed_secrets_are_refused() {
        for bad in ["", "whsec_", "whsec_not base64!", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"] {
            assert_eq!(verify_webhook(bad, &headers(SIGNATURE), BODY, TS), Err(WebhookError::InvalidSecret), "{bad}");
        }
    }
}
