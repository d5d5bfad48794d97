//! The IdP's attributes to what Tenantry keeps of a person.

use serde::{Deserialize, Serialize};

use crate::response::VerifiedAssertion;

/// Which attributes carry the email, the names and (optionally) the groups. Each list is tried in
/// order against an attribute's `Name` and its `FriendlyName`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeMapping {
    pub email: Vec<String>,
    pub first_name: Vec<String>,
    pub last_name: Vec<String>,
    /// The attribute that lists the person's groups, when roles follow groups.
    #[serde(default)]
    pub groups: Option<String>,
    /// An IdP group to the org role its members get: at the first sign-in and at every later one
    /// (when one of the person's groups is mapped, the highest of their mapped roles wins). A
    /// person in no mapped group gets the org's default role and keeps whatever role they have.
    #[serde(default)]
    pub group_roles: std::collections::BTreeMap<String, String>,
}

impl Default for AttributeMapping {
    /// Names used by Okta (`email`, `firstName`, `lastName`), Entra ID (the
    /// `http://schemas.xmlsoap.org/ws/2005/05/identity/claims/…` claims), Google Workspace (the
    /// names its admin console suggests) and the LDAP/eduPerson OIDs.
    fn default() -> Self {
        let v = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect();
        AttributeMapping {
            email: v(&[
                "email",
                "mail",
                "emailaddress",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                "urn:oid:0.9.2342.19200300.100.1.3",
                "urn:oid:1.2.840.113549.1.9.1.1",
            ]),
            first_name: v(&[
                "firstName",
                "givenName",
                "given_name",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                "urn:oid:2.5.4.42",
            ]),
            last_name: v(&[
                "lastName",
                "surname",
                "sn",
                "family_name",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                "urn:oid:2.5.4.4",
            ]),
            groups: None,
            group_roles: Default::default(),
        }
    }
}

/// What a verified assertion says about the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// From the email attribute, else from a NameID in the emailAddress format.
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub groups: Vec<String>,
}

const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

impl AttributeMapping {
    /// The person the assertion describes.
    pub fn profile(&self, a: &VerifiedAssertion) -> Profile {
        let first = |names: &[String]| {
            names.iter().find_map(|n| {
                a.attributes
                    .iter()
                    .find(|attr| attr.name == *n || attr.friendly_name.as_deref() == Some(n.as_str()))
                    .and_then(|attr| attr.values.iter().map(|v| v.trim()).find(|v| !v.is_empty()))
                    .map(str::to_owned)
            })
        };
        let email = first(&self.email)
            .or_else(|| (a.name_id_format.as_deref() == Some(EMAIL_FORMAT)).then(|| a.name_id.trim().to_owned()));
        let groups = self
            .groups
            .as_ref()
            .and_then(|g| a.attributes.iter().find(|attr| attr.name == *g || attr.friendly_name.as_deref() == Some(g)))
            .map(|attr| attr.values.clone())
            .unwrap_or_default();
        Profile { email, first_name: first(&self.first_name), last_name: first(&self.last_name), groups }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Attribute;

    fn assertion(attrs: &[(&str, Option<&str>, &str)], name_id_format: Option<&str>) -> VerifiedAssertion {
        VerifiedAssertion {
            name_id: "nameid@idp.test".into(),
            name_id_format: name_id_format.map(str::to_owned),
            attributes: attrs
                .iter()
                .map(|(n, f, v)| Attribute {
                    name: (*n).into(),
                    friendly_name: f.map(str::to_owned),
                    values: vec![(*v).into()],
                })
                .collect(),
            ..VerifiedAssertion::default()
        }
    }

    #[test]
    fn defaults_read_okta_entra_and_google_names() {
        let m = AttributeMapping::default();
        let okta =
            assertion(&[("email", None, "a@x.test"), ("firstName", None, "Ann"), ("lastName", None, "Lee")], None);
        assert_eq!(
            m.profile(&okta),
            Profile {
                email: Some("a@x.test".into()),
                first_name: Some("Ann".into()),
                last_name: Some("Lee".into()),
                groups: vec![]
            }
        );
        let entra = assertion(
            &[
                ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", None, "b@x.test"),
                ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", None, "Bo"),
                ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname", None, "Ng"),
            ],
            None,
        );
        assert_eq!(m.profile(&entra).email.as_deref(), Some("b@x.test"));
        assert_eq!(m.profile(&entra).last_name.as_deref(), Some("Ng"));
        let oid = assertion(&[("urn:oid:2.5.4.42", Some("givenName"), "Cy")], None);
        assert_eq!(m.profile(&oid).first_name.as_deref(), Some("Cy"));
    }

    #[test]
    fn the_email_falls_back_to_an_email_name_id_only() {
        let m = AttributeMapping::default();
        assert_eq!(m.profile(&assertion(&[], Some(EMAIL_FORMAT))).email.as_deref(), Some("nameid@idp.test"));
        assert_eq!(
            m.profile(&assertion(&[], Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"))).email,
            None
        );
    }

    #[test]
    fn groups_come_from_the_configured_attribute() {
        let m = AttributeMapping { groups: Some("groups".into()), ..AttributeMapping::default() };
        assert_eq!(m.profile(&assertion(&[("groups", None, "admins")], None)).groups, vec!["admins".to_owned()]);
    }
}
