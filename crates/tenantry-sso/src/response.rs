//! The verification of a SAML Response at a connection's ACS.
//!
//! The order is the one of docs/security.md ("SAML service provider"):
//! 1. No DOCTYPE or entity declaration; then the XML is parsed (libxml2, no network).
//! 2. The shape an attacker cannot bend: the root is a `samlp:Response`; there is exactly one
//!    element named `Assertion` anywhere, a direct child of the Response; `Signature` elements sit
//!    only directly under the Response or that Assertion, each with one `Reference` to its own
//!    parent's `ID` and no `Object`; `ID`s are unique; no comment or processing instruction
//!    anywhere (a comment inside a signed NameID keeps the signature valid and splits the text).
//!    This is what defeats XML signature wrapping: the signed element is the one whose values are
//!    read, because there is no other.
//! 3. Each signature present is checked by xmlsec1 with the connection's certificates only (never
//!    a key from `KeyInfo`); SHA-1 unless the connection opts in is refused. At least one of the
//!    Response and the Assertion must be signed.
//! 4. Status, Issuer, Audience, Destination (when the Response is signed, it must be there),
//!    the bearer `SubjectConfirmationData`'s Recipient and time, and the Conditions window, with a
//!    bounded skew. `InResponseTo` is returned for the caller to match against its outstanding
//!    requests (single use), and the assertion's ID and expiry for its replay cache.
//!
//! An `EncryptedAssertion` (the one element in the assertion's place) is decrypted with the
//! connection's key ([`crate::encryption`]) after the Response's signature, if any, is checked
//! over the ciphertext; the Response is then verified again with the assertion in the clear in
//! place of the ciphertext, by the same steps, the Response counting as signed when its signature
//! held. Unsigned Response: the decrypted assertion must carry its own signature (anyone can
//! encrypt to the connection's public key).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use libxml::parser::Parser;
use libxml::tree::{Node, NodeType};
use openssl::pkey::{PKey, Private};
use serde::Serialize;

use crate::has_doctype;

const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// The largest Response accepted, before base64 decoding.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// What a connection expects of a response.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    /// The IdP's entity id: the Issuer.
    pub idp_entity_id: &'a str,
    /// The IdP's signing certificates, base64 of DER.
    pub certificates: &'a [String],
    /// This connection's SP entity id: the Audience.
    pub sp_entity_id: &'a str,
    /// This connection's ACS URL: the Destination and Recipient.
    pub acs_url: &'a str,
    /// Whether rsa-sha1 and sha1 digests are accepted (off unless the connection opts in).
    pub allow_sha1: bool,
    /// The clock skew allowed on every time check (at most 3 minutes).
    pub max_skew: Duration,
}

/// One attribute of the assertion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attribute {
    pub name: String,
    pub friendly_name: Option<String>,
    pub values: Vec<String>,
}

/// What a verified response says; every value comes from a signed element.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifiedAssertion {
    /// The assertion's `ID`, for the replay cache.
    pub assertion_id: String,
    /// The request it answers, `None` for an IdP-initiated response.
    pub in_response_to: Option<String>,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub attributes: Vec<Attribute>,
    /// Until when the assertion could be presented (the earliest `NotOnOrAfter`, plus the skew):
    /// how long its id stays in the replay cache.
    pub expires_at: DateTime<Utc>,
    pub session_index: Option<String>,
    /// Whether the Response itself (and so everything in it) was signed, or only the assertion.
    pub response_signed: bool,
}

/// Why a response was refused; [`Refusal::code`] is what the audit trail and the error page say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the response is not base64 of an XML document, or is too large")]
    Malformed,
    #[error("the response declares a DOCTYPE or entities")]
    Doctype,
    #[error("the response contains a comment or processing instruction")]
    Comment,
    #[error("the response has an unexpected structure (signature wrapping?): {0}")]
    Structure(&'static str),
    #[error("duplicate ID attributes")]
    DuplicateId,
    #[error("neither the response nor the assertion is signed")]
    Unsigned,
    #[error("the signature does not verify with the connection's certificate")]
    BadSignature,
    #[error("the signature uses SHA-1, which this connection does not accept")]
    WeakAlgorithm,
    #[error("the response's status is not Success")]
    Status,
    #[error("the issuer is not the connection's IdP")]
    Issuer,
    #[error("the audience is not this connection")]
    Audience,
    #[error("the destination is not this connection's ACS")]
    Destination,
    #[error("the recipient is not this connection's ACS")]
    Recipient,
    #[error("the assertion has expired")]
    Expired,
    #[error("the assertion is not yet valid")]
    NotYetValid,
    #[error("the response and its assertion answer different requests")]
    InResponseTo,
    #[error("the assertion has no subject")]
    NoSubject,
    #[error("the encrypted assertion could not be decrypted: {0}")]
    Decryption(&'static str),
}

impl Refusal {
    /// The stable reason, `saml-…`, written to the audit trail.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Malformed => "saml-malformed",
            Refusal::Doctype => "saml-doctype",
            Refusal::Comment => "saml-comment",
            Refusal::Structure(_) => "saml-structure",
            Refusal::DuplicateId => "saml-duplicate-id",
            Refusal::Unsigned => "saml-unsigned",
            Refusal::BadSignature => "saml-bad-signature",
            Refusal::WeakAlgorithm => "saml-weak-algorithm",
            Refusal::Status => "saml-status",
            Refusal::Issuer => "saml-issuer",
            Refusal::Audience => "saml-audience",
            Refusal::Destination => "saml-destination",
            Refusal::Recipient => "saml-recipient",
            Refusal::Expired => "saml-expired",
            Refusal::NotYetValid => "saml-not-yet-valid",
            Refusal::InResponseTo => "saml-in-response-to",
            Refusal::NoSubject => "saml-no-subject",
            Refusal::Decryption(_) => "saml-decryption",
        }
    }
}

/// Verifies the base64 `SAMLResponse` of a POST to the ACS at `now`.
pub fn verify_response(
    saml_response: &str,
    expect: &Expectations<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, Refusal> {
    verify_response_with_key(saml_response, expect, now, None)
}

/// [`verify_response`] for a connection that has an encryption key: an `EncryptedAssertion` is
/// decrypted with `key` (without one, it is refused).
pub fn verify_response_with_key(
    saml_response: &str,
    expect: &Expectations<'_>,
    now: DateTime<Utc>,
    key: Option<&PKey<Private>>,
) -> Result<VerifiedAssertion, Refusal> {
    if saml_response.len() > MAX_RESPONSE_BYTES {
        return Err(Refusal::Malformed);
    }
    let compact: String = saml_response.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = STANDARD.decode(compact.as_bytes()).map_err(|_| Refusal::Malformed)?;
    let xml = String::from_utf8(bytes).map_err(|_| Refusal::Malformed)?;
    verify_xml(&xml, expect, now, key, false)
}

/// [`verify_response`] on the decoded XML.
pub fn verify_response_xml(
    xml: &str,
    expect: &Expectations<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, Refusal> {
    verify_xml(xml, expect, now, None, false)
}

/// The verification; `outer_signed`: this is the clear form of an encrypted response whose
/// signature held over the ciphertext (its Signature removed, the assertion decrypted in place).
fn verify_xml(
    xml: &str,
    expect: &Expectations<'_>,
    now: DateTime<Utc>,
    key: Option<&PKey<Private>>,
    outer_signed: bool,
) -> Result<VerifiedAssertion, Refusal> {
    if has_doctype(xml) {
        return Err(Refusal::Doctype);
    }
    let mut doc = Parser::default().parse_string(xml).map_err(|_| Refusal::Malformed)?;
    let root = doc.get_root_element().ok_or(Refusal::Malformed)?;
    if !is(&root, NS_PROTOCOL, "Response") {
        return Err(Refusal::Structure("the root is not a samlp:Response"));
    }
    check_no_comments(&doc.as_node())?;
    check_unique_ids(&root)?;

    // Exactly one element named Assertion, anywhere, in any namespace: a direct child of root.
    let mut named_assertion = Vec::new();
    collect(&root, &mut |n| n.get_name() == "Assertion" || n.get_name() == "EncryptedAssertion", &mut named_assertion);
    if named_assertion.len() == 1 && named_assertion[0].get_name() == "EncryptedAssertion" {
        let Some(key) = key else {
            return Err(Refusal::Structure("an encrypted assertion, and this connection has no key"));
        };
        // The only handle on it besides the document's own: libxml lets an unshared node change.
        let encrypted = named_assertion.remove(0);
        return verify_encrypted(&mut doc, &root, encrypted, expect, now, key);
    }
    if named_assertion.iter().any(|n| n.get_name() == "EncryptedAssertion") {
        return Err(Refusal::Structure("an encrypted assertion beside another assertion"));
    }
    let [assertion] = named_assertion.as_slice() else {
        return Err(Refusal::Structure("the response must hold exactly one Assertion"));
    };
    if !is(assertion, NS_ASSERTION, "Assertion") || !same(&assertion.get_parent(), &root) {
        return Err(Refusal::Structure("the Assertion must be a direct child of the Response"));
    }

    // Signatures: only directly under the Response or the Assertion, each over its own parent.
    let mut signatures = Vec::new();
    collect(&root, &mut |n| n.get_name() == "Signature" || n.get_name() == "Object", &mut signatures);
    let mut response_sig = None;
    let mut assertion_sig = None;
    for sig in &signatures {
        if !is(sig, NS_DSIG, "Signature") {
            return Err(Refusal::Structure("a Signature or Object element outside its place"));
        }
        let parent = sig.get_parent();
        let slot = if same(&parent, &root) {
            &mut response_sig
        } else if same(&parent, assertion) {
            &mut assertion_sig
        } else {
            return Err(Refusal::Structure("a Signature outside the Response and the Assertion"));
        };
        if slot.is_some() {
            return Err(Refusal::Structure("two signatures on one element"));
        }
        let owner = parent.ok_or(Refusal::Structure("a detached signature"))?;
        check_signature_shape(sig, &owner, expect.allow_sha1)?;
        *slot = Some(sig.clone());
    }
    if response_sig.is_none() && assertion_sig.is_none() && !outer_signed {
        return Err(Refusal::Unsigned);
    }
    if let Some(sig) = &response_sig {
        // xmlsec checks the first Signature in document order: the Response's must come first.
        if position(&root, sig) > position(&root, assertion) {
            return Err(Refusal::Structure("the Response's signature must precede its Assertion"));
        }
        verify_first_signature(xml, expect.certificates)?;
    }
    let response_signed = response_sig.is_some() || outer_signed;
    if assertion_sig.is_some() {
        let xml_for_assertion = match response_sig {
            Some(mut sig) => {
                // The Response's signature does not cover the assertion's; without it, the
                // assertion's is the first in the document.
                sig.unlink_node();
                doc.to_string()
            }
            None => xml.to_owned(),
        };
        verify_first_signature(&xml_for_assertion, expect.certificates)?;
    }

    // Everything below reads the Response only when it is signed, else the Assertion only.
    let status = child(&root, NS_PROTOCOL, "Status")
        .and_then(|s| child(&s, NS_PROTOCOL, "StatusCode"))
        .and_then(|c| c.get_attribute("Value"));
    if status.as_deref().is_some_and(|s| s != SUCCESS) {
        return Err(Refusal::Status);
    }
    let skew = expect.max_skew.min(Duration::minutes(3));
    let mut in_response_to = None;
    if response_signed {
        if let Some(issuer) = child(&root, NS_ASSERTION, "Issuer") {
            if issuer.get_content().trim() != expect.idp_entity_id {
                return Err(Refusal::Issuer);
            }
        }
        if root.get_attribute("Destination").as_deref() != Some(expect.acs_url) {
            return Err(Refusal::Destination);
        }
        in_response_to = root.get_attribute("InResponseTo");
    }

    let issuer = child(assertion, NS_ASSERTION, "Issuer").map(|i| i.get_content());
    if issuer.as_deref().map(str::trim) != Some(expect.idp_entity_id) {
        return Err(Refusal::Issuer);
    }
    let conditions = child(assertion, NS_ASSERTION, "Conditions").ok_or(Refusal::Audience)?;
    let mut expires_at: Option<DateTime<Utc>> = None;
    check_window(&conditions, now, skew, &mut expires_at)?;
    // Every AudienceRestriction must name us (SAML core 2.5.1.4): one that does not is a refusal.
    let restrictions = children(&conditions, NS_ASSERTION, "AudienceRestriction");
    if restrictions.is_empty()
        || !restrictions.iter().all(|r| {
            children(r, NS_ASSERTION, "Audience").iter().any(|a| a.get_content().trim() == expect.sp_entity_id)
        })
    {
        return Err(Refusal::Audience);
    }

    let subject = child(assertion, NS_ASSERTION, "Subject").ok_or(Refusal::NoSubject)?;
    let name_id = child(&subject, NS_ASSERTION, "NameID").ok_or(Refusal::NoSubject)?;
    let name_id_value = name_id.get_content().trim().to_owned();
    if name_id_value.is_empty() {
        return Err(Refusal::NoSubject);
    }
    let bearer = children(&subject, NS_ASSERTION, "SubjectConfirmation")
        .into_iter()
        .find(|c| c.get_attribute("Method").as_deref() == Some(BEARER))
        .ok_or(Refusal::NoSubject)?;
    let data = child(&bearer, NS_ASSERTION, "SubjectConfirmationData").ok_or(Refusal::Recipient)?;
    if data.get_attribute("Recipient").as_deref() != Some(expect.acs_url) {
        return Err(Refusal::Recipient);
    }
    check_window(&data, now, skew, &mut expires_at)?;
    let data_irt = data.get_attribute("InResponseTo");
    match (&in_response_to, data_irt) {
        (Some(r), Some(d)) if *r != d => return Err(Refusal::InResponseTo),
        (None, Some(d)) => in_response_to = Some(d),
        _ => {}
    }
    let expires_at = expires_at.ok_or(Refusal::Expired)? + skew;

    let attributes = children(assertion, NS_ASSERTION, "AttributeStatement")
        .iter()
        .flat_map(|s| children(s, NS_ASSERTION, "Attribute"))
        .map(|a| Attribute {
            name: a.get_attribute("Name").unwrap_or_default(),
            friendly_name: a.get_attribute("FriendlyName"),
            values: children(&a, NS_ASSERTION, "AttributeValue").iter().map(|v| v.get_content()).collect(),
        })
        .collect();
    let session_index = child(assertion, NS_ASSERTION, "AuthnStatement").and_then(|s| s.get_attribute("SessionIndex"));
    Ok(VerifiedAssertion {
        assertion_id: assertion.get_attribute("ID").ok_or(Refusal::Structure("the Assertion has no ID"))?,
        in_response_to,
        name_id: name_id_value,
        name_id_format: name_id.get_attribute("Format"),
        attributes,
        expires_at,
        session_index,
        response_signed,
    })
}

/// An `EncryptedAssertion`, the Response's only assertion: the Response's signature (if any) is
/// checked over the ciphertext, the assertion decrypted, and the Response with the clear
/// assertion in place of the ciphertext (and without its checked Signature) verified again.
fn verify_encrypted(
    doc: &mut libxml::tree::Document,
    root: &Node,
    mut encrypted: Node,
    expect: &Expectations<'_>,
    now: DateTime<Utc>,
    key: &PKey<Private>,
) -> Result<VerifiedAssertion, Refusal> {
    if !is(&encrypted, NS_ASSERTION, "EncryptedAssertion") || !same(&encrypted.get_parent(), root) {
        return Err(Refusal::Structure("the EncryptedAssertion must be a direct child of the Response"));
    }
    // Only the Response may be signed around a ciphertext.
    let mut signatures = Vec::new();
    collect(root, &mut |n| n.get_name() == "Signature" || n.get_name() == "Object", &mut signatures);
    let mut response_sig = None;
    for sig in signatures {
        if !is(&sig, NS_DSIG, "Signature") || !same(&sig.get_parent(), root) || response_sig.is_some() {
            return Err(Refusal::Structure("a Signature beside an encrypted assertion"));
        }
        check_signature_shape(&sig, root, expect.allow_sha1)?;
        response_sig = Some(sig);
    }
    let xml = doc.to_string();
    if response_sig.is_some() {
        verify_first_signature(&xml, expect.certificates)?;
    }
    let clear = crate::encryption::decrypt_assertion(&encrypted, key)?;
    if has_doctype(&clear) {
        return Err(Refusal::Doctype);
    }
    let clear_doc = Parser::default().parse_string(&clear).map_err(|_| Refusal::Decryption("not XML"))?;
    let mut clear_root = clear_doc.get_root_element().ok_or(Refusal::Decryption("empty"))?;
    clear_root.unlink_node();
    let mut imported = doc.import_node(&mut clear_root).map_err(|()| Refusal::Decryption("not importable"))?;
    encrypted.add_prev_sibling(&mut imported).map_err(|_| Refusal::Decryption("not importable"))?;
    encrypted.unlink_node();
    let outer_signed = match response_sig {
        Some(mut sig) => {
            sig.unlink_node();
            true
        }
        None => false,
    };
    verify_xml(&doc.to_string(), expect, now, None, outer_signed)
}

/// `NotBefore` ≤ now + skew and now − skew < `NotOnOrAfter`; keeps the earliest `NotOnOrAfter`.
fn check_window(
    node: &Node,
    now: DateTime<Utc>,
    skew: Duration,
    earliest: &mut Option<DateTime<Utc>>,
) -> Result<(), Refusal> {
    if let Some(nb) = node.get_attribute("NotBefore") {
        let nb = parse_time(&nb)?;
        if now + skew < nb {
            return Err(Refusal::NotYetValid);
        }
    }
    if let Some(noa) = node.get_attribute("NotOnOrAfter") {
        let noa = parse_time(&noa)?;
        if now - skew >= noa {
            return Err(Refusal::Expired);
        }
        *earliest = Some(earliest.map_or(noa, |e| e.min(noa)));
    }
    Ok(())
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, Refusal> {
    DateTime::parse_from_rfc3339(s.trim()).map(|t| t.with_timezone(&Utc)).map_err(|_| Refusal::Malformed)
}

/// One Reference, to `#` + the owner's ID, with enveloped-signature and exclusive c14n only, and
/// no SHA-1 unless allowed.
fn check_signature_shape(sig: &Node, owner: &Node, allow_sha1: bool) -> Result<(), Refusal> {
    let signed_info = child(sig, NS_DSIG, "SignedInfo").ok_or(Refusal::Structure("a Signature without SignedInfo"))?;
    let references = children(&signed_info, NS_DSIG, "Reference");
    let [reference] = references.as_slice() else {
        return Err(Refusal::Structure("a Signature must have exactly one Reference"));
    };
    let id = owner.get_attribute("ID").ok_or(Refusal::Structure("a signed element without ID"))?;
    if reference.get_attribute("URI").as_deref() != Some(format!("#{id}").as_str()) {
        return Err(Refusal::Structure("a Signature's Reference is not to its own element"));
    }
    if let Some(transforms) = child(reference, NS_DSIG, "Transforms") {
        for t in children(&transforms, NS_DSIG, "Transform") {
            match t.get_attribute("Algorithm").as_deref() {
                Some("http://www.w3.org/2000/09/xmldsig#enveloped-signature")
                | Some("http://www.w3.org/2001/10/xml-exc-c14n#")
                | Some("http://www.w3.org/2001/10/xml-exc-c14n#WithComments")
                | Some("http://www.w3.org/TR/2001/REC-xml-c14n-20010315") => {}
                _ => return Err(Refusal::Structure("an unexpected signature transform")),
            }
        }
    }
    let method = child(&signed_info, NS_DSIG, "SignatureMethod").and_then(|m| m.get_attribute("Algorithm"));
    let digest = child(reference, NS_DSIG, "DigestMethod").and_then(|m| m.get_attribute("Algorithm"));
    let weak = |alg: &Option<String>| alg.as_deref().is_some_and(|a| a.ends_with("sha1"));
    if !allow_sha1 && (weak(&method) || weak(&digest)) {
        return Err(Refusal::WeakAlgorithm);
    }
    Ok(())
}

/// Verifies the first `Signature` of `xml` with one of `certificates` (xmlsec1, the key from the
/// certificate we hold, never `KeyInfo`).
fn verify_first_signature(xml: &str, certificates: &[String]) -> Result<(), Refusal> {
    for cert in certificates {
        let Ok(der) = STANDARD.decode(cert.as_bytes()) else { continue };
        if samael::crypto::verify_signed_xml(xml.as_bytes(), &der, Some("ID")).is_ok() {
            return Ok(());
        }
    }
    Err(Refusal::BadSignature)
}

fn check_no_comments(node: &Node) -> Result<(), Refusal> {
    for c in node.get_child_nodes() {
        match c.get_type() {
            Some(NodeType::CommentNode) | Some(NodeType::PiNode) => return Err(Refusal::Comment),
            Some(NodeType::ElementNode) => check_no_comments(&c)?,
            Some(NodeType::DocumentTypeNode) | Some(NodeType::DTDNode) | Some(NodeType::EntityRefNode) => {
                return Err(Refusal::Doctype)
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_unique_ids(root: &Node) -> Result<(), Refusal> {
    let mut all = vec![root.clone()];
    collect(root, &mut |n| n.get_attribute("ID").is_some() || n.get_attribute("Id").is_some(), &mut all);
    let mut ids: Vec<String> =
        all.iter().flat_map(|n| [n.get_attribute("ID"), n.get_attribute("Id")]).flatten().collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    if ids.len() != count {
        return Err(Refusal::DuplicateId);
    }
    Ok(())
}

fn is(node: &Node, ns: &str, name: &str) -> bool {
    node.get_name() == name && node.get_namespace().is_some_and(|n| n.get_href() == ns)
}

fn same(a: &Option<Node>, b: &Node) -> bool {
    a.as_ref().is_some_and(|a| a.to_hashable() == b.to_hashable())
}

fn child(node: &Node, ns: &str, name: &str) -> Option<Node> {
    node.get_child_elements().into_iter().find(|c| is(c, ns, name))
}

fn children(node: &Node, ns: &str, name: &str) -> Vec<Node> {
    node.get_child_elements().into_iter().filter(|c| is(c, ns, name)).collect()
}

fn collect(node: &Node, pred: &mut dyn FnMut(&Node) -> bool, out: &mut Vec<Node>) {
    for c in node.get_child_elements() {
        if pred(&c) {
            out.push(c.clone());
        }
        collect(&c, pred, out);
    }
}

/// The index of `target`'s top-level ancestor among `root`'s children (document order).
fn position(root: &Node, target: &Node) -> usize {
    root.get_child_elements().iter().position(|c| c.to_hashable() == target.to_hashable()).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    //! Against responses pysaml2 signed with xmlsec1 (tests/fixtures/corpus.json, made from
    //! job.json by tests/peers/saml_idp.py), issued at 2027-01-15T08:00:00Z.

    use super::*;
    use crate::metadata::{normalize_certificate, IdpMetadata};

    const CORPUS: &str = include_str!("../tests/fixtures/corpus.json");

    fn corpus() -> serde_json::Value {
        serde_json::from_str(CORPUS).expect("corpus.json")
    }

    fn response(name: &str) -> String {
        corpus()["responses"][name].as_str().unwrap_or_else(|| panic!("no response {name}")).to_owned()
    }

    fn issued() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time")
    }

    fn certs() -> Vec<String> {
        vec![normalize_certificate(include_str!("../tests/fixtures/idp.crt")).expect("cert")]
    }

    fn check(name: &str, at: DateTime<Utc>, allow_sha1: bool) -> Result<VerifiedAssertion, Refusal> {
        let certs = certs();
        let expect = Expectations {
            idp_entity_id: "https://idp.example.test/metadata",
            certificates: &certs,
            sp_entity_id: "https://auth.example.test/sso/saml/c1/metadata",
            acs_url: "https://auth.example.test/sso/saml/c1/acs",
            allow_sha1,
            max_skew: Duration::minutes(3),
        };
        verify_response(&response(name), &expect, at)
    }

    #[test]
    fn a_signed_response_yields_its_subject_attributes_and_request() {
        let a = check("valid", issued(), false).expect("valid");
        assert_eq!(a.name_id, "alice@a.test");
        assert_eq!(a.in_response_to.as_deref(), Some("_req1"));
        assert!(a.response_signed);
        assert!(a.attributes.iter().any(|x| x.friendly_name.as_deref() == Some("givenName") && x.values == ["Alice"]));
        // pysaml2's lifetime is 5 minutes; the replay cache keeps the id 3 minutes of skew longer.
        assert_eq!(a.expires_at, issued() + Duration::minutes(8));
        assert!(!a.assertion_id.is_empty());
    }

    #[test]
    fn either_signature_alone_is_enough() {
        let a = check("valid_assertion_only", issued(), false).expect("assertion signed");
        assert!(!a.response_signed);
        assert_eq!(a.in_response_to.as_deref(), Some("_req1"), "read from the signed SubjectConfirmationData");
        assert!(check("valid_response_only", issued(), false).expect("response signed").response_signed);
    }

    #[test]
    fn the_metadata_pysaml2_publishes_is_read() {
        let m = IdpMetadata::parse(corpus()["metadata"].as_str().expect("metadata")).expect("parses");
        assert_eq!(m.entity_id, "https://idp.example.test/metadata");
        assert_eq!(m.sso_url, "https://idp.example.test/sso");
        assert_eq!(m.certificates, certs());
    }

    #[test]
    fn the_attack_corpus_is_refused_each_for_its_reason() {
        let cases = [
            ("unsigned", "saml-unsigned"),
            ("other_key", "saml-bad-signature"),
            ("xsw_evil_before", "saml-structure"),
            ("xsw_nested", "saml-structure"),
            ("xsw_extensions", "saml-structure"),
            ("xsw_object", "saml-structure"),
            ("xsw_duplicate", "saml-duplicate-id"),
            ("comment", "saml-comment"),
            ("tampered", "saml-bad-signature"),
            ("doctype", "saml-doctype"),
            ("wrong_audience", "saml-audience"),
            ("wrong_destination", "saml-destination"),
            ("sha1", "saml-weak-algorithm"),
        ];
        for (name, code) in cases {
            let refused = check(name, issued(), false).expect_err(name);
            assert_eq!(refused.code(), code, "{name}: {refused}");
        }
    }

    #[test]
    fn the_validity_window_holds_with_three_minutes_of_skew() {
        assert!(check("valid", issued() - Duration::minutes(3), false).is_ok(), "NotBefore within the skew");
        assert_eq!(check("valid", issued() - Duration::minutes(4), false), Err(Refusal::NotYetValid));
        assert!(check("valid", issued() + Duration::minutes(7), false).is_ok(), "NotOnOrAfter + skew not reached");
        assert_eq!(check("valid", issued() + Duration::minutes(8), false), Err(Refusal::Expired));
    }

    #[test]
    fn sha1_is_accepted_only_when_the_connection_opts_in() {
        assert!(check("sha1", issued(), true).is_ok());
    }

    #[test]
    fn an_unsolicited_response_has_no_request() {
        assert_eq!(check("unsolicited", issued(), false).expect("valid").in_response_to, None);
    }

    #[test]
    fn garbage_is_malformed() {
        let certs = certs();
        let expect = Expectations {
            idp_entity_id: "x",
            certificates: &certs,
            sp_entity_id: "y",
            acs_url: "z",
            allow_sha1: false,
            max_skew: Duration::minutes(3),
        };
        assert_eq!(verify_response("not base64!", &expect, issued()), Err(Refusal::Malformed));
        assert!(verify_response(&STANDARD.encode("<a"), &expect, issued()).is_err());
        let big = "A".repeat(MAX_RESPONSE_BYTES + 1);
        assert_eq!(verify_response(&big, &expect, issued()), Err(Refusal::Malformed));
    }
}
