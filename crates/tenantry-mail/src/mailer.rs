//! Rendering a template into a message, and handing the message to SMTP or the outbox folder.

use std::path::PathBuf;

use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::Environment;
use serde_json::{Map, Value};
use tenantry_store::mail_queue::MailRow;
use uuid::Uuid;

use crate::config::{redact_smtp_url, smtp_host};
use crate::templates::{self, MailTemplate};
use crate::worker::SEND_TIMEOUT;
use crate::{MailConfig, MailError};

/// Where a sent message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the SMTP server.
    Smtp,
    /// Written to this `.eml` file (no SMTP server configured).
    File(PathBuf),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox { dir: PathBuf, files: AsyncFileTransport<Tokio1Executor> },
}

/// Renders emails and sends them. Build one at start-up and share it (`Arc<Mailer>`).
pub struct Mailer {
    config: MailConfig,
    from: Mailbox,
    templates: Environment<'static>,
    transport: Transport,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Mailer {
    /// Checks the configuration and loads the templates. Connects to nothing yet.
    pub fn new(config: MailConfig) -> Result<Mailer, MailError> {
        let from: Mailbox =
            config.from.parse().map_err(|e| MailError::Config(format!("from {:?}: {e}", config.from)))?;
        let templates = templates::environment(tenantry_templates::Words {
            product_name: config.product_name.clone(),
            org_word: config.org_word.clone(),
        })?;
        let transport = match &config.smtp_url {
            Some(url) => {
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailError::Config(format!("smtp_url {}: {e}", redact_smtp_url(url))))?;
                // Without `tls=required` (or smtps) lettre may talk, and log in, in the clear.
                let may_be_plaintext = url.starts_with("smtp://") && !url.contains("tls=required");
                let (host, credentials) = smtp_host(url).unwrap_or_default();
                if may_be_plaintext && !is_loopback(host) {
                    if credentials {
                        return Err(MailError::Config(format!(
                            "smtp_url {} would send the password unencrypted: add ?tls=required or use smtps://",
                            redact_smtp_url(url)
                        )));
                    }
                    tracing::warn!(
                        smtp_url = %redact_smtp_url(url),
                        "SMTP without TLS to a remote host; use ?tls=required or smtps:// outside a local sink"
                    );
                }
                Transport::Smtp(builder.timeout(Some(SEND_TIMEOUT)).build())
            }
            None => {
                Transport::Outbox { dir: config.outbox_dir.clone(), files: AsyncFileTransport::new(&config.outbox_dir) }
            }
        };
        Ok(Mailer { config, from, templates, transport })
    }

    pub fn config(&self) -> &MailConfig {
        &self.config
    }

    /// Whether mail goes to an SMTP server (rather than the outbox folder).
    pub fn uses_smtp(&self) -> bool {
        matches!(self.transport, Transport::Smtp(_))
    }

    /// Renders `template` for `to` into a message with a plain-text and an HTML part.
    ///
    /// The variables are the caller's, plus `product_name` and `org_word` from the configuration,
    /// `to` (the recipient), and `email`, which defaults to the recipient.
    pub fn render(&self, template: MailTemplate, to: &str, vars: &Map<String, Value>) -> Result<Message, MailError> {
        self.render_with_id(template, to, vars, Uuid::now_v7())
    }

    /// [`Mailer::render`] with the `Message-ID` built from `id`, so retries of one queued mail carry
    /// the same id and receivers can tell them apart from new mail.
    fn render_with_id(
        &self,
        template: MailTemplate,
        to: &str,
        vars: &Map<String, Value>,
        id: Uuid,
    ) -> Result<Message, MailError> {
        let to = recipient(to)?;
        template.check_vars(vars)?;
        let mut context = vars.clone();
        context.insert("product_name".into(), Value::from(self.config.product_name.as_str()));
        context.insert("org_word".into(), Value::from(self.config.org_word.as_str()));
        context.insert("to".into(), Value::from(to.email.to_string()));
        context.entry("email").or_insert_with(|| Value::from(to.email.to_string()));
        let context = minijinja::Value::from(minijinja::value::Serde(&context));

        let part = |suffix: &str| self.templates.get_template(&template.file(suffix))?.render(&context);
        let subject = one_line(&part("subject.txt")?);
        let text = part("txt")?;
        let html = part("html")?;
        Ok(Message::builder()
            .message_id(Some(format!("<{}@{}>", id.simple(), self.from.email.domain())))
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(text, html))?)
    }

    /// Sends a message: over SMTP when configured, otherwise into the outbox folder.
    pub async fn send(&self, message: &Message) -> Result<Delivery, MailError> {
        let raw = message.formatted();
        match &self.transport {
            Transport::Smtp(smtp) => {
                // lettre's timeout bounds each command; this bounds the whole exchange.
                tokio::time::timeout(SEND_TIMEOUT, smtp.send_raw(message.envelope(), &raw))
                    .await
                    .map_err(|_| MailError::Timeout(SEND_TIMEOUT))??;
                Ok(Delivery::Smtp)
            }
            Transport::Outbox { dir, files } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| MailError::Outbox(format!("{}: {e}", dir.display())))?;
                let id =
                    files.send_raw(message.envelope(), &raw).await.map_err(|e| MailError::Outbox(e.to_string()))?;
                Ok(Delivery::File(dir.join(format!("{id}.eml"))))
            }
        }
    }

    /// Renders and sends one queued mail, and logs that it went: its id, template, the recipient's
    /// domain and, in outbox mode, the file. Never the link or its token (the link is a credential:
    /// whoever reads the log could verify, reset or accept with it), nor the whole address; a
    /// developer without SMTP opens the `.eml` file the log names.
    pub async fn deliver(&self, mail: &MailRow) -> Result<Delivery, MailError> {
        let (template, to, vars) = (mail.template.as_str(), mail.to_address.as_str(), &mail.vars.0);
        let known = MailTemplate::from_name(template).ok_or_else(|| MailError::UnknownTemplate(template.to_owned()))?;
        let message = self.render_with_id(known, to, vars, mail.id)?;
        let delivery = self.send(&message).await?;
        let to_domain = recipient_domain(to);
        match &delivery {
            Delivery::Smtp => tracing::info!(mail_id = %mail.id, template, to_domain, "mail sent"),
            Delivery::File(path) => tracing::info!(
                mail_id = %mail.id, template, to_domain, file = %path.display(),
                "mail written to the outbox (no SMTP server set)"
            ),
        }
        Ok(delivery)
    }
}

/// What a log line may say about a recipient: the domain of the address, nothing before the `@`.
pub(crate) fn recipient_domain(to: &str) -> &str {
    to.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// The recipient as a mailbox. Control characters (a CR/LF would start a new header) are refused
/// before lettre's own address check.
fn recipient(to: &str) -> Result<Mailbox, MailError> {
    if to.chars().any(char::is_control) {
        return Err(MailError::Recipient(format!("{:?} contains control characters", to)));
    }
    let address: Address = to.parse().map_err(|e| MailError::Recipient(format!("{to:?}: {e}")))?;
    Ok(Mailbox::new(None, address))
}

/// A subject on one line: runs of whitespace (newlines included) become one space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mailer() -> Mailer {
        Mailer::new(MailConfig { product_name: "Acme ID".into(), org_word: "Team".into(), ..MailConfig::default() })
            .expect("default config is valid")
    }

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().expect("object").clone()
    }

    /// The decoded text of each part, in order (text, HTML).
    fn parts(message: &Message) -> (String, String) {
        let raw = String::from_utf8(message.formatted()).expect("utf-8");
        let mut bodies = Vec::new();
        for chunk in raw.split("Content-Type: text/").skip(1) {
            let (headers, body) = chunk.split_once("\r\n\r\n").expect("part body");
            let body = body.split("\r\n--").next().expect("part end");
            let decoded = if headers.contains("quoted-printable") {
                String::from_utf8(quoted_printable::decode(body, quoted_printable::ParseMode::Robust).expect("qp"))
                    .expect("utf-8")
            } else {
                body.to_owned()
            };
            bodies.push(decoded);
        }
        assert_eq!(bodies.len(), 2, "a text and an HTML part: {raw}");
        (bodies[0].clone(), bodies[1].clone())
    }

    fn subject(message: &Message) -> String {
        let raw = String::from_utf8(message.formatted()).expect("utf-8");
        raw.lines().find_map(|l| l.strip_prefix("Subject: ")).expect("subject").to_owned()
    }

    #[test]
    fn every_template_renders_with_the_product_name_in_every_part() {
        let m = mailer();
        let all = vars(json!({
            "link": "https://id.acme.test/x?token=abc",
            "expires_in": "1 hour",
            "email": "new@acme.test",
            "org_name": "Initech",
            "inviter": "Bill <Lumbergh>",
            "role": "Member",
            "target": "peter@initech.test",
            "new_role": "Admin",
            "change": "enabled",
            "deadline": "2026-12-24 12:00 UTC",
            "now": false,
        }));
        for template in MailTemplate::ALL {
            let message =
                m.render(template, "ada@acme.test", &all).unwrap_or_else(|e| panic!("{}: {e}", template.name()));
            let (text, html) = parts(&message);
            assert!(subject(&message).contains("Acme ID"), "{}: {}", template.name(), subject(&message));
            assert!(text.contains("Acme ID"), "{}: {text}", template.name());
            assert!(html.contains("Acme ID"), "{}: {html}", template.name());
            assert!(html.contains("<html") && !text.contains("<p"), "{}", template.name());
        }
    }

    #[test]
    fn an_invite_names_org_inviter_and_role_with_html_escaped() {
        let link = "https://id.acme.test/invites/accept?token=abc";
        let all = vars(json!({
            "link": link, "expires_in": "168 hours", "org_name": "Initech", "inviter": "Bill <Lumbergh>", "role": "Admin",
        }));
        let message = mailer().render(MailTemplate::OrgInvite, "milton@initech.test", &all).unwrap();
        let (text, html) = parts(&message);
        assert!(subject(&message).contains("Initech"), "{}", subject(&message));
        for part in [&text, &html] {
            assert!(part.contains("Initech") && part.contains("Admin") && part.contains("168 hours"), "{part}");
        }
        assert!(text.contains(link) && text.contains("Bill <Lumbergh>"), "{text}");
        assert!(html.contains("Bill &lt;Lumbergh&gt;") && !html.contains("<Lumbergh>"), "{html}");
    }

    #[test]
    fn verify_email_has_subject_link_and_expiry() {
        let link = "https://id.acme.test/verify-email?token=abc&next=%2F";
        let message = mailer()
            .render(
                MailTemplate::VerifyEmail,
                "ada@acme.test",
                &vars(json!({ "link": link, "expires_in": "24 hours" })),
            )
            .unwrap();
        assert_eq!(subject(&message), "Verify your email address for Acme ID");
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains("To: ada@acme.test"), "{raw}");
        assert!(raw.contains("From: Tenantry <no-reply@localhost>"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        let (text, html) = parts(&message);
        assert!(text.contains(link) && text.contains("24 hours") && text.contains("ada@acme.test"), "{text}");
        // In HTML the `&` of the query string is escaped, as it must be inside an attribute.
        assert!(html.contains(r#"href="https://id.acme.test/verify-email?token=abc&amp;next=%2F""#), "{html}");
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let evil = "<script>alert(1)</script>@x";
        let message = mailer()
            .render(MailTemplate::EmailChangedNotice, "ada@acme.test", &vars(json!({ "email": evil })))
            .unwrap();
        let (text, html) = parts(&message);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(text.contains(evil), "plain text needs no escaping: {text}");
    }

    #[test]
    fn a_product_name_cannot_add_headers_through_the_subject() {
        let m =
            Mailer::new(MailConfig { product_name: "Acme\r\nBcc: victim@evil.test".into(), ..MailConfig::default() })
                .unwrap();
        let message = m.render(MailTemplate::PasswordChanged, "ada@acme.test", &Map::new()).unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        let (headers, _body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
        assert!(message.envelope().to().iter().all(|a| a.to_string() == "ada@acme.test"));
    }

    #[test]
    fn recipients_with_line_breaks_are_refused() {
        let m = mailer();
        for to in [
            "ada@acme.test\r\nBcc: victim@evil.test",
            "ada@acme.test\nBcc: x@y.test",
            "ada\r@acme.test",
            "not an address",
        ] {
            let err = m.render(MailTemplate::PasswordChanged, to, &Map::new()).unwrap_err();
            assert!(matches!(err, MailError::Recipient(_)), "{to:?}: {err}");
            assert!(!err.is_transient());
        }
    }

    #[tokio::test]
    async fn missing_variables_and_unknown_templates_are_errors() {
        let m = mailer();
        let err = m.render(MailTemplate::ResetPassword, "ada@acme.test", &vars(json!({ "link": "x" }))).unwrap_err();
        assert!(matches!(err, MailError::MissingVar { var: "expires_in", .. }), "{err}");
        let row = MailRow::pending("ada@acme.test", "no_such_template", Map::new(), chrono::Utc::now());
        let err = m.deliver(&row).await.unwrap_err();
        assert!(matches!(err, MailError::UnknownTemplate(_)) && !err.is_transient(), "{err}");
    }

    #[test]
    fn bad_configuration_is_refused_without_showing_the_password() {
        let err = Mailer::new(MailConfig { from: "not a mailbox".into(), ..MailConfig::default() }).unwrap_err();
        assert!(matches!(err, MailError::Config(_)), "{err}");
        let err = Mailer::new(MailConfig { smtp_url: Some("ftp://u:s3cret@host".into()), ..MailConfig::default() })
            .unwrap_err();
        assert!(matches!(err, MailError::Config(_)), "{err}");
        assert!(!err.to_string().contains("s3cret"), "{err}");
        for url in ["smtp://u:s3cret@smtp.example.com:587", "smtp://u:s3cret@smtp.example.com?tls=opportunistic"] {
            let err = Mailer::new(MailConfig { smtp_url: Some(url.into()), ..MailConfig::default() }).unwrap_err();
            assert!(err.to_string().contains("unencrypted") && !err.to_string().contains("s3cret"), "{err}");
        }
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://u:p@localhost:2525",
            "smtp://relay.internal:25",
            "smtp://u:p@smtp.example.com:587?tls=required",
            "smtps://u:p@smtp.example.com",
        ] {
            assert!(Mailer::new(MailConfig { smtp_url: Some(url.into()), ..MailConfig::default() })
                .unwrap()
                .uses_smtp());
        }
    }

    #[tokio::test]
    async fn without_smtp_mail_is_written_to_the_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("mail");
        let m = Mailer::new(MailConfig { outbox_dir: outbox.clone(), ..MailConfig::default() }).unwrap();
        assert!(!m.uses_smtp());
        let link = "https://id.test/reset?token=xyz";
        let row = MailRow::pending(
            "ada@acme.test",
            "reset_password",
            vars(json!({ "link": link, "expires_in": "1 hour" })),
            chrono::Utc::now(),
        );
        let delivery = m.deliver(&row).await.unwrap();
        let Delivery::File(path) = delivery else { panic!("expected a file, got {delivery:?}") };
        assert!(path.starts_with(&outbox) && path.extension().is_some_and(|e| e == "eml"), "{}", path.display());
        let raw = std::fs::read(&path).unwrap();
        let decoded = quoted_printable::decode(&raw, quoted_printable::ParseMode::Robust).unwrap();
        let decoded = String::from_utf8_lossy(&decoded);
        assert!(decoded.contains(link), "{decoded}");
        assert!(decoded.contains(&format!("Message-ID: <{}@localhost>", row.id.simple())), "{decoded}");
    }
}
