//! Values that make up a user: email, names, username, and the password policy.
//! Each is parsed once at the edge; past that, a value of the type is valid by construction.

use crate::error::DomainError;

/// An email address as the user typed it (case kept), checked for shape.
///
/// The check is deliberately modest (one `@`, a dotted domain of DNS labels, RFC 5321 lengths, no
/// whitespace or control characters, so no header injection); delivery is what proves an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, DomainError> {
        let bad = |why: &str| DomainError::invalid_field("invalid-email", "email", why.to_owned());
        let s = raw.trim();
        if s.is_empty() {
            return Err(bad("The email address is empty."));
        }
        if s.len() > 254 {
            return Err(bad("The email address is longer than 254 characters."));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("The email address contains whitespace or control characters."));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(bad("The email address has no '@'."));
        };
        if local.is_empty() || local.len() > 64 {
            return Err(bad("The part before '@' must be 1 to 64 characters."));
        }
        if local.contains('@') || local.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '\\', '"']) {
            return Err(bad("The part before '@' contains characters that are not allowed."));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad("The part before '@' has a misplaced dot."));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(bad("The domain after '@' is not a valid domain name."));
        }
        Ok(Email(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and look-ups: lowercased.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    /// The domain part, lowercased.
    pub fn domain(&self) -> String {
        self.0.rsplit_once('@').map(|(_, d)| d.to_lowercase()).unwrap_or_default()
    }
}

/// A first or last name: at most 255 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// Parses a name for `field`; an empty name is `None` (the name is cleared).
    pub fn parse(raw: &str, field: &str) -> Result<Option<PersonName>, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if s.chars().count() > 255 {
            return Err(DomainError::invalid_field("invalid-name", field, "A name is at most 255 characters."));
        }
        if s.chars().any(char::is_control) {
            return Err(DomainError::invalid_field("invalid-name", field, "A name cannot contain control characters."));
        }
        Ok(Some(PersonName(s.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username: 3 to 64 of `A-Z a-z 0-9 _ . -`, starting with a letter or digit; unique
/// case-insensitively within its user pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, DomainError> {
        let s = raw.trim();
        let bad = |why: &str| DomainError::invalid_field("invalid-username", "username", why.to_owned());
        if !(3..=64).contains(&s.len()) {
            return Err(bad("A username is 3 to 64 characters."));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
            return Err(bad("A username may contain only letters, digits, '_', '.' and '-'."));
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(bad("A username starts with a letter or a digit."));
        }
        Ok(Username(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// Password rules per NIST SP 800-63B: a minimum length, long passphrases allowed, no composition
/// rules, and a cap on the length so a huge input is refused before any hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values). Default 8.
    pub min_chars: usize,
    /// Maximum length in characters. Default 256; 800-63B asks for at least 64.
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy { min_chars: 8, max_chars: 256 }
    }
}

/// A plaintext password that passed the policy. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl NewPassword {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PasswordPolicy {
    pub fn check(&self, raw: &str) -> Result<NewPassword, DomainError> {
        // Count at most max+1 characters, so a megabyte-long input costs nothing.
        let n = raw.chars().take(self.max_chars + 1).count();
        if n < self.min_chars {
            return Err(DomainError::invalid_field(
                "password-too-short",
                "password",
                format!("A password has at least {} characters.", self.min_chars),
            ));
        }
        if n > self.max_chars {
            return Err(DomainError::invalid_field(
                "password-too-long",
                "password",
                format!("A password has at most {} characters.", self.max_chars),
            ));
        }
        Ok(NewPassword(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_normalized() {
        let e = Email::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Alice.Smith@Example.COM");
        assert_eq!(e.normalized(), "alice.smith@example.com");
        assert_eq!(e.domain(), "example.com");
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@localhost",
            "alice@exa mple.com",
            "alice@example.com\r\nBcc: x@y.z",
            "al..ice@example.com",
            "alice@-example.com",
            "a<b>@example.com",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.code, "invalid-email", "{bad:?}");
            assert_eq!(err.fields[0].field, "email");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(Email::parse("jörg@bücher.example").is_ok(), "internationalized addresses are allowed");
    }

    #[test]
    fn names_are_bounded() {
        assert_eq!(PersonName::parse("  ", "first_name").unwrap(), None);
        assert_eq!(PersonName::parse(" Ada ", "first_name").unwrap().unwrap().as_str(), "Ada");
        assert!(PersonName::parse(&"x".repeat(255), "first_name").is_ok());
        let err = PersonName::parse(&"x".repeat(256), "last_name").unwrap_err();
        assert_eq!(err.fields[0].field, "last_name");
        assert!(PersonName::parse("a\u{0}b", "first_name").is_err());
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse("Ada_L").unwrap().normalized(), "ada_l");
        for bad in ["ab", ".ada", "ada lovelace", "ada@x", &"a".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn password_policy_follows_800_63b() {
        let p = PasswordPolicy::default();
        assert!(p.check("1234567").is_err());
        assert!(p.check("12345678").is_ok());
        assert!(p.check("only letters here").is_ok(), "no composition rules");
        assert!(p.check("пароль пароль").is_ok());
        assert!(p.check("🔑🔑🔑🔑🔑🔑🔑🔑").is_ok(), "8 emoji are 8 characters");
        assert!(p.check(&"x".repeat(200)).is_ok());
        let err = p.check(&"x".repeat(1 << 20)).unwrap_err();
        assert_eq!(err.code, "password-too-long");
        assert_eq!(format!("{:?}", p.check("secret-secret").unwrap()), "NewPassword(<redacted>)");
    }
}
