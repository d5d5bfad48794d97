//! The email templates: files under `hosted-pages/emails/`, embedded at build time so the binary
//! runs from any folder. Each template is three files: `NAME.subject.txt`, `NAME.txt` and
//! `NAME.html`; `.html` files are HTML-escaped automatically, and an undefined variable is an
//! error rather than an empty string.

use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value as TemplateValue};
use serde_json::{Map, Value};

use crate::MailError;

/// Which email to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailTemplate {
    /// Confirms the address of a new account. Needs `link`, `expires_in`.
    VerifyEmail,
    /// A password-reset link. Needs `link`, `expires_in`.
    ResetPassword,
    /// Tells the owner their password changed. `link` (to reset it) is optional.
    PasswordChanged,
    /// Sent to the new address of an email change. Needs `link`, `expires_in`.
    EmailChangeVerify,
    /// Sent to the old address once the change is done. Needs `email` (the new address); `link`
    /// is optional.
    EmailChangedNotice,
    /// An invitation into an org. Needs `link`, `expires_in`, `org_name`, `inviter`, `role`.
    OrgInvite,
    /// Asks an owner to confirm handing ownership over. Needs `link`, `expires_in`, `org_name`,
    /// `target` (the new owner's email), `new_role` (the owner's role afterwards).
    OwnershipTransfer,
    /// Tells a user their 2FA changed. Needs `change`: `enabled`, `disabled` or `reset`.
    MfaChanged,
    /// Tells a member without 2FA that their org requires it. Needs `org_name`, `deadline`, `now`
    /// (enforced at once), `link`.
    MfaRequired,
    /// Reminds a member without 2FA a day before their org's deadline. Needs `org_name`,
    /// `deadline`, `link`.
    MfaReminder,
}

impl MailTemplate {
    pub const ALL: [MailTemplate; 10] = [
        MailTemplate::VerifyEmail,
        MailTemplate::ResetPassword,
        MailTemplate::PasswordChanged,
        MailTemplate::EmailChangeVerify,
        MailTemplate::EmailChangedNotice,
        MailTemplate::OrgInvite,
        MailTemplate::OwnershipTransfer,
        MailTemplate::MfaChanged,
        MailTemplate::MfaRequired,
        MailTemplate::MfaReminder,
    ];

    /// The file name stem, also stored in the queue.
    pub fn name(self) -> &'static str {
        match self {
            MailTemplate::VerifyEmail => "verify_email",
            MailTemplate::ResetPassword => "reset_password",
            MailTemplate::PasswordChanged => "password_changed",
            MailTemplate::EmailChangeVerify => "email_change_verify",
            MailTemplate::EmailChangedNotice => "email_changed_notice",
            MailTemplate::OrgInvite => "org_invite",
            MailTemplate::OwnershipTransfer => "ownership_transfer",
            MailTemplate::MfaChanged => "mfa_changed",
            MailTemplate::MfaRequired => "mfa_required",
            MailTemplate::MfaReminder => "mfa_reminder",
        }
    }

    pub fn from_name(name: &str) -> Option<MailTemplate> {
        MailTemplate::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Variables the caller must give. `product_name`, `org_word` and `to` (the recipient) are
    /// always set by the mailer, and `email` defaults to the recipient.
    pub fn required_vars(self) -> &'static [&'static str] {
        match self {
            MailTemplate::VerifyEmail | MailTemplate::ResetPassword | MailTemplate::EmailChangeVerify => {
                &["link", "expires_in"]
            }
            MailTemplate::PasswordChanged => &[],
            MailTemplate::EmailChangedNotice => &["email"],
            MailTemplate::OrgInvite => &["link", "expires_in", "org_name", "inviter", "role"],
            MailTemplate::OwnershipTransfer => &["link", "expires_in", "org_name", "target", "new_role"],
            MailTemplate::MfaChanged => &["change"],
            MailTemplate::MfaRequired => &["org_name", "deadline", "now", "link"],
            MailTemplate::MfaReminder => &["org_name", "deadline", "link"],
        }
    }

    pub(crate) fn check_vars(self, vars: &Map<String, Value>) -> Result<(), MailError> {
        match self.required_vars().iter().find(|v| !vars.contains_key(**v)) {
            Some(var) => Err(MailError::MissingVar { template: self.name(), var }),
            None => Ok(()),
        }
    }
}

/// Declares the embedded files: shared partials by full name, templates by stem (three files each).
macro_rules! email_files {
    (partials: [$($partial:literal),*], templates: [$($stem:literal),*]) => {
        &[
            $(($partial, include_str!(concat!("../../../hosted-pages/emails/", $partial))),)*
            $(
                (concat!($stem, ".subject.txt"), include_str!(concat!("../../../hosted-pages/emails/", $stem, ".subject.txt"))),
                (concat!($stem, ".txt"), include_str!(concat!("../../../hosted-pages/emails/", $stem, ".txt"))),
                (concat!($stem, ".html"), include_str!(concat!("../../../hosted-pages/emails/", $stem, ".html"))),
            )*
        ]
    };
}

/// Every file under `hosted-pages/emails/`, by name.
pub(crate) const FILES: &[(&str, &str)] = email_files!(
    partials: ["_layout.html", "_button.html"],
    templates: [
        "verify_email",
        "reset_password",
        "password_changed",
        "email_change_verify",
        "email_changed_notice",
        "org_invite",
        "ownership_transfer",
        "mfa_changed",
        "mfa_required",
        "mfa_reminder"
    ]
);

/// The loaded templates. Built once at start-up; a syntax error in a file fails there.
pub(crate) fn environment() -> Result<Environment<'static>, MailError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(format_value);
    // The default callback escapes by extension: `.html` is HTML-escaped, `.txt` is left alone.
    for (name, source) in FILES {
        env.add_template(name, source)?;
    }
    for template in MailTemplate::ALL {
        for part in ["subject.txt", "txt", "html"] {
            env.get_template(&format!("{}.{part}", template.name()))?;
        }
    }
    Ok(env)
}

/// Prints a value: HTML-escaped in `.html` templates (which the default auto-escape callback picks
/// by extension), as is elsewhere.
///
/// minijinja's own HTML escaping also turns `/` into `&#x2f;`, which browsers undo but which makes
/// every link in a mail an entity soup that spam filters and people reading the source distrust.
/// Escaping `& < > " '` is enough inside text and quoted attributes.
fn format_value(out: &mut Output, state: &mut State, value: &TemplateValue) -> Result<(), Error> {
    // A custom formatter replaces minijinja's strict-undefined check, so it is repeated here.
    if value.is_undefined() {
        return Err(Error::new(ErrorKind::UndefinedError, "a variable the template prints is not set"));
    }
    if state.auto_escape() != &AutoEscape::Html || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = value.to_string();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
        let entity = match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        };
        out.write_str(&rest[..i])?;
        out.write_str(entity)?;
        rest = &rest[i + 1..];
    }
    out.write_str(rest)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in MailTemplate::ALL {
            assert_eq!(MailTemplate::from_name(t.name()), Some(t));
        }
        assert_eq!(MailTemplate::from_name("nope"), None);
    }

    #[test]
    fn every_file_in_the_folder_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../hosted-pages/emails");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("hosted-pages/emails")
            .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(name, _)| (*name).to_owned()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "add new files under hosted-pages/emails/ to FILES");
    }

    #[test]
    fn printing_an_unset_variable_is_an_error() {
        let env = environment().unwrap();
        let err = env.render_str("Hello {{ nope }}", minijinja::context! {}).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedError, "{err}");
        assert_eq!(env.render_str("{% if nope is defined %}x{% endif %}ok", minijinja::context! {}).unwrap(), "ok");
    }

    #[test]
    fn html_escaping_leaves_slashes_alone() {
        let mut env = environment().unwrap();
        env.add_template("t.html", "<a href=\"{{ v }}\">{{ v }}</a>{{ s|safe }}").unwrap();
        env.add_template("t.txt", "{{ v }}").unwrap();
        let v = "https://x.test/a?b=1&c='<\">'";
        let ctx = minijinja::context! { v => v, s => "<br>" };
        assert_eq!(
            env.get_template("t.html").unwrap().render(&ctx).unwrap(),
            "<a href=\"https://x.test/a?b=1&amp;c=&#39;&lt;&quot;&gt;&#39;\">https://x.test/a?b=1&amp;c=&#39;&lt;&quot;&gt;&#39;</a><br>"
        );
        assert_eq!(env.get_template("t.txt").unwrap().render(&ctx).unwrap(), v);
    }

    #[test]
    fn missing_required_vars_are_named() {
        let err = MailTemplate::VerifyEmail.check_vars(&Map::new()).unwrap_err();
        assert!(matches!(err, MailError::MissingVar { template: "verify_email", var: "link" }), "{err}");
        assert!(MailTemplate::PasswordChanged.check_vars(&Map::new()).is_ok());
    }
}
