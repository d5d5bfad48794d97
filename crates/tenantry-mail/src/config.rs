//! Mail settings.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// How Tenantry sends mail, and the words its emails use.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The SMTP server. `None` writes `.eml` files to [`MailConfig::outbox_dir`] instead (development).
    ///
    /// - `smtp://user:pass@host:587?tls=required`: STARTTLS, refused if the server does not offer it
    ///   (`tls=opportunistic` may fall back to plaintext). Credentials for a remote host are refused
    ///   unless the URL asks for TLS this way or with `smtps://`.
    /// - `smtps://user:pass@host:465`: TLS from the first byte.
    /// - `smtp://127.0.0.1:2525`: plaintext, for a local sink only.
    ///
    /// User and password are percent-encoded; a path (`smtp://host/name`) sets the EHLO name.
    pub smtp_url: Option<String>,
    /// The `From` header, e.g. `Acme <no-reply@acme.example>`.
    pub from: String,
    /// Where `.eml` files go when no SMTP server is set.
    pub outbox_dir: PathBuf,
    /// Named in every email.
    pub product_name: String,
    /// The deployment's word for "Organization" (e.g. Team, Workspace).
    pub org_word: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            from: "Tenantry <no-reply@localhost>".to_owned(),
            outbox_dir: PathBuf::from("data/mail"),
            product_name: "Tenantry".to_owned(),
            org_word: "Organization".to_owned(),
        }
    }
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_smtp_url))
            .field("from", &self.from)
            .field("outbox_dir", &self.outbox_dir)
            .field("product_name", &self.product_name)
            .field("org_word", &self.org_word)
            .finish()
    }
}

/// The SMTP URL without its password, for logs and errors.
pub(crate) fn redact_smtp_url(url: &str) -> String {
    tenantry_store::redact_url(url)
}

/// The host an SMTP URL names and whether it carries credentials, if the URL can be read that far
/// (no validation: lettre parses the URL for real).
pub(crate) fn smtp_host(url: &str) -> Option<(&str, bool)> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (credentials, host_port) = match authority.rfind('@') {
        Some(at) => (true, &authority[at + 1..]),
        None => (false, authority),
    };
    let host = match host_port.strip_prefix('[') {
        Some(v6) => &v6[..v6.find(']')?],
        None => &host_port[..host_port.find(':').unwrap_or(host_port.len())],
    };
    Some((host, credentials))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_smtp_password() {
        let config = MailConfig {
            smtp_url: Some("smtp://mailer:hunter2@smtp.example.com:587?tls=required".into()),
            ..MailConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("mailer:***@smtp.example.com:587"), "{shown}");
    }

    #[test]
    fn hosts_are_found() {
        assert_eq!(smtp_host("smtp://u:p@host.example:587?tls=required"), Some(("host.example", true)));
        assert_eq!(smtp_host("smtp://127.0.0.1:2525"), Some(("127.0.0.1", false)));
        assert_eq!(smtp_host("smtps://[::1]:465/ehlo"), Some(("::1", false)));
        assert_eq!(smtp_host("nonsense"), None);
    }
}
