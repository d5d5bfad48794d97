//! IdP metadata in, SP metadata out.

use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use samael::metadata::{EntityDescriptor, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING};

use crate::{has_doctype, xml_escape};

/// What a connection keeps of an IdP's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// The IdP's entity id: the `Issuer` its responses must carry.
    pub entity_id: String,
    /// Where AuthnRequests go (HTTP-Redirect binding).
    pub sso_url: String,
    /// The signing certificates, base64 of DER; a response must be signed by one of them.
    pub certificates: Vec<String>,
}

/// Why metadata or a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("the metadata declares a DOCTYPE or entities")]
    Doctype,
    #[error("the metadata is not a SAML EntityDescriptor: {0}")]
    Malformed(String),
    #[error("the metadata has no IDPSSODescriptor")]
    NotAnIdp,
    #[error("the metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding")]
    NoSsoUrl,
    #[error("the SSO URL must be an https URL (or http on loopback)")]
    BadSsoUrl,
    #[error("the metadata has no signing certificate")]
    NoCertificate,
    #[error("a certificate is not a base64 X.509 certificate")]
    BadCertificate,
    #[error("the entity id is missing or too long")]
    BadEntityId,
}

impl IdpMetadata {
    /// Reads an IdP's metadata XML (an `EntityDescriptor`, or the first IdP of an
    /// `EntitiesDescriptor`).
    pub fn parse(xml: &str) -> Result<IdpMetadata, MetadataError> {
        if has_doctype(xml) {
            return Err(MetadataError::Doctype);
        }
        let entity = match EntityDescriptor::from_str(xml) {
            Ok(e) => e,
            Err(_) => {
                let all = samael::metadata::EntitiesDescriptor::from_str(xml)
                    .map_err(|e| MetadataError::Malformed(e.to_string()))?;
                all.descriptors
                    .into_iter()
                    .filter_map(|d| match d {
                        samael::metadata::EntityDescriptorType::EntityDescriptor(e) => Some(e),
                        samael::metadata::EntityDescriptorType::EntitiesDescriptor(_) => None,
                    })
                    .find(|e| e.idp_sso_descriptors.as_ref().is_some_and(|d| !d.is_empty()))
                    .ok_or(MetadataError::NotAnIdp)?
            }
        };
        let idps = entity.idp_sso_descriptors.unwrap_or_default();
        let idp = idps.first().ok_or(MetadataError::NotAnIdp)?;
        let endpoint = |binding: &str| {
            idp.single_sign_on_services.iter().find(|s| s.binding == binding).map(|s| s.location.clone())
        };
        let sso_url =
            endpoint(HTTP_REDIRECT_BINDING).or_else(|| endpoint(HTTP_POST_BINDING)).ok_or(MetadataError::NoSsoUrl)?;
        let signing: Vec<_> = idp
            .key_descriptors
            .iter()
            .filter(|k| matches!(k.key_use.as_deref(), None | Some("") | Some("signing")))
            .collect();
        let mut certificates = Vec::new();
        for key in signing {
            for cert in key.key_info.x509_data.iter().flat_map(|d| d.certificates.iter()) {
                certificates.push(normalize_certificate(cert)?);
            }
        }
        IdpMetadata::new(entity.entity_id.unwrap_or_default(), sso_url, certificates)
    }

    /// A connection set up by hand: entity id, SSO URL and certificates (PEM or base64 DER).
    pub fn new(entity_id: String, sso_url: String, certificates: Vec<String>) -> Result<IdpMetadata, MetadataError> {
        let entity_id = entity_id.trim().to_owned();
        if entity_id.is_empty() || entity_id.len() > 1024 {
            return Err(MetadataError::BadEntityId);
        }
        check_sso_url(&sso_url)?;
        let certificates = certificates.iter().map(|c| normalize_certificate(c)).collect::<Result<Vec<_>, _>>()?;
        if certificates.is_empty() {
            return Err(MetadataError::NoCertificate);
        }
        Ok(IdpMetadata { entity_id, sso_url, certificates })
    }
}

fn check_sso_url(url: &str) -> Result<(), MetadataError> {
    let parsed = url::Url::parse(url).map_err(|_| MetadataError::BadSsoUrl)?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(MetadataError::BadSsoUrl),
    }
}

/// A certificate as base64 of its DER, whether it came as PEM or as base64 with line breaks;
/// refused unless it parses as X.509.
pub fn normalize_certificate(cert: &str) -> Result<String, MetadataError> {
    let body: String = cert
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = STANDARD.decode(body.as_bytes()).map_err(|_| MetadataError::BadCertificate)?;
    openssl::x509::X509::from_der(&der).map_err(|_| MetadataError::BadCertificate)?;
    Ok(STANDARD.encode(der))
}

/// A connection's endpoints in this deployment: its SP entity id (the `Audience` its IdP must
/// name) and its ACS URL (the `Destination` and `Recipient`). Each connection has its own, so one
/// connection's assertion is refused at another's ACS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpEndpoints {
    pub entity_id: String,
    pub acs_url: String,
}

impl SpEndpoints {
    /// `{public_url}/sso/saml/{connection}/metadata` and `…/acs`.
    pub fn for_connection(public_url: &str, connection_id: &str) -> SpEndpoints {
        let base = public_url.trim_end_matches('/');
        SpEndpoints {
            entity_id: format!("{base}/sso/saml/{connection_id}/metadata"),
            acs_url: format!("{base}/sso/saml/{connection_id}/acs"),
        }
    }
}

/// The SP metadata XML of a connection, for the IdP's administrator to import; with the
/// connection's encryption certificate (base64 of DER), when it has one.
pub fn sp_metadata_xml(sp: &SpEndpoints, encryption_certificate: Option<&str>) -> String {
    let key = encryption_certificate.map_or_else(String::new, |cert| {
        format!(
            concat!(
                "\n    ",
                r#"<md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
                r#"<ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#,
                r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>"#,
                r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>"#,
                r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>"#,
                "</md:KeyDescriptor>"
            ),
            xml_escape(cert)
        )
    });
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">"#,
            "\n  ",
            r#"<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" "#,
            r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{key}"#,
            "\n    ",
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"#,
            "\n    ",
            r#"<md:AssertionConsumerService Binding="{post}" Location="{acs}" index="0" isDefault="true"/>"#,
            "\n  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n"
        ),
        entity = xml_escape(&sp.entity_id),
        post = HTTP_POST_BINDING,
        acs = xml_escape(&sp.acs_url),
        key = key,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = include_str!("../tests/fixtures/idp.crt");

    fn metadata(extra: &str) -> String {
        let cert: String = CERT.lines().filter(|l| !l.starts_with("-----")).collect();
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.test/metadata">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.test/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/>{extra}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    #[test]
    fn idp_metadata_yields_entity_redirect_url_and_certificate() {
        let m = IdpMetadata::parse(&metadata("")).expect("parses");
        assert_eq!(m.entity_id, "https://idp.example.test/metadata");
        assert_eq!(m.sso_url, "https://idp.example.test/sso", "the Redirect binding is preferred");
        assert_eq!(m.certificates.len(), 1);
        assert_eq!(m.certificates[0], normalize_certificate(CERT).expect("the PEM normalizes to the same base64"));
    }

    #[test]
    fn metadata_with_a_doctype_or_without_a_certificate_is_refused() {
        let with_doctype = format!("<!DOCTYPE x [<!ENTITY e \"y\">]>{}", metadata(""));
        assert_eq!(IdpMetadata::parse(&with_doctype), Err(MetadataError::Doctype));
        let no_cert = metadata("").replace("use=\"signing\"", "use=\"encryption\"");
        assert_eq!(IdpMetadata::parse(&no_cert), Err(MetadataError::NoCertificate));
        assert!(IdpMetadata::parse("<nope/>").is_err());
    }

    #[test]
    fn manual_setup_checks_the_url_and_certificate() {
        let ok = IdpMetadata::new("urn:idp".into(), "https://idp.test/sso".into(), vec![CERT.into()]);
        assert!(ok.is_ok());
        let http = IdpMetadata::new("urn:idp".into(), "http://idp.test/sso".into(), vec![CERT.into()]);
        assert_eq!(http, Err(MetadataError::BadSsoUrl));
        let bad = IdpMetadata::new("urn:idp".into(), "https://idp.test/sso".into(), vec!["bm90IGEgY2VydA==".into()]);
        assert_eq!(bad, Err(MetadataError::BadCertificate));
    }

    #[test]
    fn sp_metadata_names_the_connection_endpoints_escaped() {
        let sp = SpEndpoints::for_connection("https://auth.example.com/", "abc");
        assert_eq!(sp.acs_url, "https://auth.example.com/sso/saml/abc/acs");
        let xml = sp_metadata_xml(&sp, None);
        assert!(xml.contains(r#"entityID="https://auth.example.com/sso/saml/abc/metadata""#));
        assert!(xml.contains(r#"Location="https://auth.example.com/sso/saml/abc/acs""#));
        let parsed = EntityDescriptor::from_str(&xml).expect("samael reads it back");
        assert_eq!(parsed.entity_id.as_deref(), Some("https://auth.example.com/sso/saml/abc/metadata"));
        assert!(sp_metadata_xml(&SpEndpoints { entity_id: "a\"<".into(), acs_url: "b".into() }, None)
            .contains("a&quot;&lt;"));
        let with_key = sp_metadata_xml(&sp, Some("MIIB"));
        assert!(with_key.contains(r#"<md:KeyDescriptor use="encryption">"#) && with_key.contains(">MIIB<"));
        let parsed = EntityDescriptor::from_str(&with_key).expect("samael reads it back");
        assert_eq!(parsed.entity_id.as_deref(), Some("https://auth.example.com/sso/saml/abc/metadata"));
    }
}
