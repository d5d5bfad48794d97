//! Encrypted assertions (XML Encryption 1.1): each connection has its own RSA key pair, whose
//! certificate the SP metadata publishes for `use="encryption"`; an IdP that encrypts wraps a
//! fresh content key with it (RSA-OAEP) and encrypts the assertion with AES-CBC or AES-GCM.
//!
//! Accepted: key transport `rsa-oaep-mgf1p` and `xmlenc11#rsa-oaep` (SHA-1 digest and MGF, their
//! defaults); content `aes128-cbc`, `aes256-cbc`, `xmlenc11#aes128-gcm`, `xmlenc11#aes256-gcm`.
//! Refused: RSA PKCS#1 v1.5 key transport (a padding oracle: docs/security.md, SAML) and
//! triple-DES. Decryption gives the assertion's XML only: whether it may be believed is the
//! verifier's question (the Response's signature over the ciphertext, or the assertion's own).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use libxml::tree::Node;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa};
use openssl::symm::{Cipher, Crypter, Mode};
use openssl::x509::{X509NameBuilder, X509};

use crate::response::Refusal;

const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// A connection's encryption key pair: the private key as PKCS#8 PEM (to be sealed at rest) and
/// its self-signed certificate as base64 of DER (for the SP metadata).
#[derive(Debug, Clone)]
pub struct SpKeyPair {
    pub private_key_pem: String,
    pub certificate: String,
}

/// A new RSA-2048 key pair with a self-signed certificate for `common_name`, valid ten years
/// (IdPs use the certificate only for its public key).
pub fn generate_sp_key(common_name: &str) -> Result<SpKeyPair, String> {
    let build = || -> Result<SpKeyPair, openssl::error::ErrorStack> {
        let key = PKey::from_rsa(Rsa::generate(2048)?)?;
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_text("CN", &common_name.chars().take(64).collect::<String>())?;
        let name = name.build();
        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
        let mut cert = X509::builder()?;
        cert.set_version(2)?;
        let serial = serial.to_asn1_integer()?;
        cert.set_serial_number(&serial)?;
        cert.set_subject_name(&name)?;
        cert.set_issuer_name(&name)?;
        cert.set_pubkey(&key)?;
        let (not_before, not_after) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(3650)?);
        cert.set_not_before(&not_before)?;
        cert.set_not_after(&not_after)?;
        cert.sign(&key, MessageDigest::sha256())?;
        let pem = key.private_key_to_pem_pkcs8()?;
        Ok(SpKeyPair {
            private_key_pem: String::from_utf8(pem).unwrap_or_default(),
            certificate: STANDARD.encode(cert.build().to_der()?),
        })
    };
    build().map_err(|e| e.to_string())
}

/// The private key of a connection, from its PEM.
pub fn private_key(pem: &str) -> Result<PKey<Private>, String> {
    PKey::private_key_from_pem(pem.as_bytes()).map_err(|e| e.to_string())
}

/// The XML of the assertion inside `encrypted` (a `saml:EncryptedAssertion`).
pub(crate) fn decrypt_assertion(encrypted: &Node, key: &PKey<Private>) -> Result<String, Refusal> {
    let refuse = |why: &'static str| Refusal::Decryption(why);
    let data = child(encrypted, NS_XENC, "EncryptedData").ok_or(refuse("no EncryptedData"))?;
    let content_alg = algorithm(&data).ok_or(refuse("no content encryption method"))?;
    // The wrapped key sits in the data's KeyInfo, or beside the data in the EncryptedAssertion.
    let wrapped = child(&data, NS_DSIG, "KeyInfo")
        .and_then(|ki| child(&ki, NS_XENC, "EncryptedKey"))
        .or_else(|| child(encrypted, NS_XENC, "EncryptedKey"))
        .ok_or(refuse("no EncryptedKey"))?;
    let key_alg = algorithm(&wrapped).ok_or(refuse("no key transport method"))?;
    match key_alg.as_str() {
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" | "http://www.w3.org/2009/xmlenc11#rsa-oaep" => {}
        "http://www.w3.org/2001/04/xmlenc#rsa-1_5" => return Err(refuse("RSA PKCS#1 v1.5 key transport")),
        _ => return Err(refuse("an unsupported key transport")),
    }
    if let Some(method) = child(&wrapped, NS_XENC, "EncryptionMethod") {
        // OAEP's digest and mask function: SHA-1, the default, is all OpenSSL's OAEP here does.
        let digest = child(&method, NS_DSIG, "DigestMethod").and_then(|d| d.get_attribute("Algorithm"));
        if digest.is_some_and(|d| d != "http://www.w3.org/2000/09/xmldsig#sha1") {
            return Err(refuse("an unsupported OAEP digest"));
        }
        if child(&method, "http://www.w3.org/2009/xmlenc11#", "MGF").is_some() {
            return Err(refuse("an unsupported OAEP mask function"));
        }
    }
    let rsa = key.rsa().map_err(|_| refuse("the connection's key is not RSA"))?;
    let wrapped_key = cipher_value(&wrapped).ok_or(refuse("no wrapped key"))?;
    let mut content_key = vec![0; rsa.size() as usize];
    let n = rsa
        .private_decrypt(&wrapped_key, &mut content_key, Padding::PKCS1_OAEP)
        .map_err(|_| refuse("the content key does not decrypt with this connection's key"))?;
    content_key.truncate(n);
    let sealed = cipher_value(&data).ok_or(refuse("no cipher value"))?;
    let plain = match content_alg.as_str() {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => cbc(Cipher::aes_128_cbc(), &content_key, &sealed),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => cbc(Cipher::aes_256_cbc(), &content_key, &sealed),
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" => gcm(Cipher::aes_128_gcm(), &content_key, &sealed),
        "http://www.w3.org/2009/xmlenc11#aes256-gcm" => gcm(Cipher::aes_256_gcm(), &content_key, &sealed),
        _ => return Err(refuse("an unsupported content encryption")),
    }
    .ok_or(refuse("the assertion does not decrypt"))?;
    String::from_utf8(plain).map_err(|_| refuse("the assertion is not UTF-8"))
}

/// AES-CBC with the IV first and XML Encryption's padding (the last byte counts the padding).
fn cbc(cipher: Cipher, key: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let iv_len = cipher.iv_len()?;
    if key.len() != cipher.key_len() || sealed.len() <= iv_len || !(sealed.len() - iv_len).is_multiple_of(16) {
        return None;
    }
    let (iv, body) = sealed.split_at(iv_len);
    let mut c = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).ok()?;
    c.pad(false);
    let mut out = vec![0; body.len() + cipher.block_size()];
    let mut n = c.update(body, &mut out).ok()?;
    n += c.finalize(&mut out[n..]).ok()?;
    out.truncate(n);
    let pad = usize::from(*out.last()?);
    if pad == 0 || pad > 16 || pad > out.len() {
        return None;
    }
    out.truncate(out.len() - pad);
    Some(out)
}

/// AES-GCM with the 12-byte IV first and the 16-byte tag last.
fn gcm(cipher: Cipher, key: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    const IV: usize = 12;
    const TAG: usize = 16;
    if key.len() != cipher.key_len() || sealed.len() < IV + TAG {
        return None;
    }
    let (iv, rest) = sealed.split_at(IV);
    let (body, tag) = rest.split_at(rest.len() - TAG);
    openssl::symm::decrypt_aead(cipher, key, Some(iv), &[], body, tag).ok()
}

fn algorithm(node: &Node) -> Option<String> {
    child(node, NS_XENC, "EncryptionMethod").and_then(|m| m.get_attribute("Algorithm"))
}

fn cipher_value(node: &Node) -> Option<Vec<u8>> {
    let value = child(node, NS_XENC, "CipherData").and_then(|d| child(&d, NS_XENC, "CipherValue"))?;
    let text: String = value.get_content().chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(text.as_bytes()).ok()
}

fn child(node: &Node, ns: &str, name: &str) -> Option<Node> {
    node.get_child_elements()
        .into_iter()
        .find(|c| c.get_name() == name && c.get_namespace().is_some_and(|n| n.get_href() == ns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use libxml::parser::Parser;

    /// What an IdP does: a fresh content key wrapped with the SP's certificate, the assertion
    /// encrypted with AES-256-CBC (or GCM) under it.
    fn encrypt(cert_b64: &str, assertion: &str, gcm_mode: bool, key_alg: &str) -> String {
        let cert = X509::from_der(&STANDARD.decode(cert_b64).unwrap()).unwrap();
        let public = cert.public_key().unwrap().rsa().unwrap();
        let content_key = [7u8; 32];
        let mut wrapped = vec![0; public.size() as usize];
        let padding = if key_alg.ends_with("rsa-1_5") { Padding::PKCS1 } else { Padding::PKCS1_OAEP };
        let n = public.public_encrypt(&content_key, &mut wrapped, padding).unwrap();
        wrapped.truncate(n);
        let (alg, sealed) = if gcm_mode {
            let iv = [3u8; 12];
            let mut tag = [0u8; 16];
            let body = openssl::symm::encrypt_aead(
                Cipher::aes_256_gcm(),
                &content_key,
                Some(&iv),
                &[],
                assertion.as_bytes(),
                &mut tag,
            )
            .unwrap();
            ("http://www.w3.org/2009/xmlenc11#aes256-gcm", [&iv[..], &body, &tag].concat())
        } else {
            let iv = [5u8; 16];
            let body =
                openssl::symm::encrypt(Cipher::aes_256_cbc(), &content_key, Some(&iv), assertion.as_bytes()).unwrap();
            ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", [&iv[..], &body].concat())
        };
        format!(
            r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="{NS_XENC}" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="{alg}"/><ds:KeyInfo xmlns:ds="{NS_DSIG}"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="{key_alg}"/><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"#,
            STANDARD.encode(wrapped),
            STANDARD.encode(sealed),
        )
    }

    fn decrypt(xml: &str, key: &PKey<Private>) -> Result<String, Refusal> {
        let doc = Parser::default().parse_string(xml).unwrap();
        decrypt_assertion(&doc.get_root_element().unwrap(), key)
    }

    #[test]
    fn assertions_decrypt_with_the_connections_key_only() {
        let pair = generate_sp_key("sp.test").unwrap();
        let key = private_key(&pair.private_key_pem).unwrap();
        let assertion = r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="a1"/>"#;
        let oaep = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
        assert_eq!(decrypt(&encrypt(&pair.certificate, assertion, false, oaep), &key).unwrap(), assertion);
        assert_eq!(decrypt(&encrypt(&pair.certificate, assertion, true, oaep), &key).unwrap(), assertion);

        let other = private_key(&generate_sp_key("other.test").unwrap().private_key_pem).unwrap();
        assert!(matches!(
            decrypt(&encrypt(&pair.certificate, assertion, false, oaep), &other),
            Err(Refusal::Decryption(_))
        ));
        let pkcs1 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
        assert_eq!(
            decrypt(&encrypt(&pair.certificate, assertion, false, pkcs1), &key),
            Err(Refusal::Decryption("RSA PKCS#1 v1.5 key transport"))
        );
    }

    /// pysaml2 (xmlsec1) encrypted this assertion to the certificate of `sp_encryption.key`
    /// (AES-256-CBC, RSA-OAEP) and signed the Response over the ciphertext.
    #[test]
    fn a_pysaml2_response_decrypts_and_verifies() {
        use crate::response::{verify_response_with_key, Expectations};
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let xml = std::fs::read_to_string(fixtures.join("encrypted_response.xml")).unwrap();
        let key = private_key(&std::fs::read_to_string(fixtures.join("sp_encryption.key")).unwrap()).unwrap();
        let idp: String = std::fs::read_to_string(fixtures.join("idp.crt"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let certificates = [idp];
        let expect = Expectations {
            idp_entity_id: "https://idp.example.test/metadata",
            certificates: &certificates,
            sp_entity_id: "https://sp.test/md",
            acs_url: "https://sp.test/acs",
            allow_sha1: false,
            max_skew: chrono::Duration::minutes(3),
        };
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T16:00:00Z").unwrap().to_utc();
        let b64 = STANDARD.encode(&xml);
        let verified = verify_response_with_key(&b64, &expect, now, Some(&key)).unwrap();
        assert_eq!(verified.name_id, "a@b.test");
        assert_eq!(verified.in_response_to.as_deref(), Some("id1"));
        assert!(verified.response_signed, "the Response's signature covered the ciphertext");
        assert!(matches!(verify_response_with_key(&b64, &expect, now, None), Err(Refusal::Structure(_))));
        let other = private_key(&generate_sp_key("x").unwrap().private_key_pem).unwrap();
        assert!(matches!(verify_response_with_key(&b64, &expect, now, Some(&other)), Err(Refusal::Decryption(_))));
    }

    #[test]
    fn a_tampered_ciphertext_is_refused() {
        let pair = generate_sp_key("sp.test").unwrap();
        let key = private_key(&pair.private_key_pem).unwrap();
        let oaep = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
        let xml = encrypt(&pair.certificate, "<a/>", true, oaep);
        // Flip one character of the data's cipher value (the last CipherValue in the document).
        let at = xml.rfind("</xenc:CipherValue>").unwrap() - 3;
        let mut bytes = xml.into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(matches!(decrypt(&tampered, &key), Err(Refusal::Decryption(_))));
    }
}
