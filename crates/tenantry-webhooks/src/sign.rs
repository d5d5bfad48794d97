//! Standard Webhooks signing: `webhook-signature` is `v1,` + base64(HMAC-SHA256(key,
//! "{webhook-id}.{webhook-timestamp}.{body}")); several secrets give several space-separated
//! signatures (during a rotation each secret verifies alone).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::WebhookSecret;

pub const WEBHOOK_ID: &str = "webhook-id";
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// One `v1,<base64>` signature of a delivery.
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.key()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` value: one signature per secret, space-separated.
pub fn signature_header(secrets: &[WebhookSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| sign(s, msg_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// The body of a delivery: `{"type": …, "timestamp": …, "data": {…}}`, keys in that order. It is
/// built once per message and sent byte for byte on every attempt.
pub fn body(event_type: &str, occurred_at: DateTime<Utc>, data: &Value) -> String {
    format!(
        r#"{{"type":{},"timestamp":{},"data":{}}}"#,
        Value::from(event_type),
        Value::from(occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true)),
        data
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks specification's reference libraries.
        let secret = WebhookSecret::from_key(STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()).unwrap();
        let sig = sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn rotation_sends_one_signature_per_secret() {
        let (a, b) = (WebhookSecret::generate(), WebhookSecret::generate());
        let header = signature_header(&[a.clone(), b.clone()], "id", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, vec![sign(&a, "id", 1, b"{}"), sign(&b, "id", 1, b"{}")]);
    }

    #[test]
    fn bodies_put_type_first() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.000006Z").unwrap().to_utc();
        let b = body("user.created", at, &serde_json::json!({"user_id": "u", "version": 1}));
        assert_eq!(
            b,
            r#"{"type":"user.created","timestamp":"2026-01-02T03:04:05.000006Z","data":{"user_id":"u","version":1}}"#
        );
        let parsed: Value = serde_json::from_str(&b).unwrap();
        assert_eq!(parsed["data"]["version"], 1);
    }
}
