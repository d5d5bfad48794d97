//! Enterprise SSO: SAML 2.0 as a service provider, one connection per org.
//!
//! - [`metadata`]: the IdP's metadata read into what a connection stores (entity id, SSO URL,
//!   signing certificates), and this deployment's SP metadata for a connection.
//! - [`request`]: the AuthnRequest of an SP-initiated sign-in, on the HTTP-Redirect binding.
//! - [`response`]: the verification of a Response POSTed to the ACS, every check of
//!   docs/security.md ("SAML service provider"); values are read only from the signed element.
//! - [`encryption`]: each connection's key pair and the decryption of encrypted assertions.
//! - [`mapping`]: the IdP's attributes to an email, names and groups, with defaults that cover
//!   Okta, Entra ID and Google Workspace.
//!
//! samael (libxml2 + xmlsec1) parses metadata, builds requests and checks XML signatures; this
//! crate decides which element the signature must cover and reads nothing else. No I/O, no
//! store: the use cases in `tenantry-app` hold the connections, the outstanding requests and the
//! replay cache.

pub mod encryption;
pub mod mapping;
pub mod metadata;
pub mod request;
pub mod response;

pub use encryption::{generate_sp_key, SpKeyPair};
pub use mapping::{AttributeMapping, Profile};
pub use metadata::{sp_metadata_xml, IdpMetadata, SpEndpoints};
pub use request::{authn_request_redirect, new_request_id};
pub use response::{verify_response, verify_response_with_key, Expectations, Refusal, VerifiedAssertion};

/// Whether `xml` declares a document type (and with it, entities): refused before any parsing or
/// signature work (docs/security.md, SAML; ASVS 1.5.1).
pub(crate) fn has_doctype(xml: &str) -> bool {
    let upper = xml.to_ascii_uppercase();
    upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY")
}

/// `s` escaped for an XML attribute value or text.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
