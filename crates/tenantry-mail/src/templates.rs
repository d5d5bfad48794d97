//! The email templates: files under `hosted-pages/emails/`, loaded (with the shared layout and
//! strings) by `tenantry-templates`. Each template is three files: `NAME.subject.txt`, `NAME.txt`
//! and `NAME.html`; `.html` files are HTML-escaped automatically, and an undefined variable is an
//! error rather than an empty string.

use minijinja::Environment;
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

    /// One part's template: `emails/NAME.html`, `emails/NAME.txt` or `emails/NAME.subject.txt`.
    pub(crate) fn file(self, part: &str) -> String {
        format!("emails/{}.{part}", self.name())
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

/// The loaded templates: every template under `hosted-pages/` through the loader the hosted pages
/// use too (`tenantry-templates`), checked to hold each email's three parts. Built once at
/// start-up; a syntax error in a file fails there.
pub(crate) fn environment(words: tenantry_templates::Words) -> Result<Environment<'static>, MailError> {
    let strings = tenantry_templates::Strings::load("en").map_err(MailError::Config)?;
    let env = tenantry_templates::environment(strings, words)?;
    for template in MailTemplate::ALL {
        for part in ["subject.txt", "txt", "html"] {
            env.get_template(&template.file(part))?;
        }
    }
    Ok(env)
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
    fn missing_required_vars_are_named() {
        let err = MailTemplate::VerifyEmail.check_vars(&Map::new()).unwrap_err();
        assert!(matches!(err, MailError::MissingVar { template: "verify_email", var: "link" }), "{err}");
        assert!(MailTemplate::PasswordChanged.check_vars(&Map::new()).is_ok());
    }
}
