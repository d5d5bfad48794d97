//! The AuthnRequest of an SP-initiated sign-in.

use chrono::{DateTime, Utc};
use rand::RngCore;
use samael::schema::{AuthnRequest, Issuer, NameIdPolicy};

use crate::metadata::SpEndpoints;

/// A fresh AuthnRequest id: `_` and 32 hex digits of randomness (an XML ID must not start with a
/// digit). The store keeps it until the response answers it, once.
pub fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("_{hex}")
}

/// The IdP URL that carries an AuthnRequest (HTTP-Redirect binding: deflated, base64, in the
/// query) with `relay_state`.
pub fn authn_request_redirect(
    sp: &SpEndpoints,
    idp_sso_url: &str,
    request_id: &str,
    now: DateTime<Utc>,
    relay_state: &str,
) -> Result<String, String> {
    let request = AuthnRequest {
        id: request_id.to_owned(),
        version: "2.0".to_owned(),
        issue_instant: now,
        destination: Some(idp_sso_url.to_owned()),
        assertion_consumer_service_url: Some(sp.acs_url.clone()),
        protocol_binding: Some(samael::metadata::HTTP_POST_BINDING.to_owned()),
        issuer: Some(Issuer { value: Some(sp.entity_id.clone()), ..Issuer::default() }),
        name_id_policy: Some(NameIdPolicy {
            allow_create: Some(true),
            format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".to_owned()),
            ..NameIdPolicy::default()
        }),
        ..AuthnRequest::default()
    };
    let url = request.redirect(relay_state).map_err(|e| e.to_string())?.ok_or("the request has no destination")?;
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use base64::Engine as _;

    use super::*;

    #[test]
    fn request_ids_are_unique_xml_ids() {
        let (a, b) = (new_request_id(), new_request_id());
        assert_ne!(a, b);
        assert!(a.starts_with('_') && a.len() == 33);
    }

    #[test]
    fn the_redirect_carries_the_deflated_request_and_relay_state() {
        let sp = SpEndpoints::for_connection("https://auth.test", "c1");
        let now = DateTime::parse_from_rfc3339("2027-01-15T08:00:00Z").expect("time").with_timezone(&Utc);
        let url = authn_request_redirect(&sp, "https://idp.test/sso?x=1", "_abc", now, "rs1").expect("url");
        let parsed = url::Url::parse(&url).expect("a URL");
        let query: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(query.get("x").map(String::as_str), Some("1"), "the IdP's own query stays");
        assert_eq!(query.get("RelayState").map(String::as_str), Some("rs1"));
        let deflated = base64::engine::general_purpose::STANDARD.decode(&query["SAMLRequest"]).expect("base64");
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(&deflated[..]).read_to_string(&mut xml).expect("inflates");
        assert!(xml.contains(r#"ID="_abc""#), "{xml}");
        assert!(xml.contains(r#"AssertionConsumerServiceURL="https://auth.test/sso/saml/c1/acs""#), "{xml}");
        assert!(xml.contains("https://auth.test/sso/saml/c1/metadata</"), "{xml}");
    }
}
