//! Values that make up a user: email, names, username, and the password policy.
//! Each is parsed once at the edge; past that, a value of the type is valid by construction.

use unicode_normalization::UnicodeNormalization;

use crate::error::DomainError;

mod password;

pub use password::{NewPassword, PasswordPolicy};

/// An email address, normalized so that one mailbox has one spelling (ARCHITECTURE.md, tenantry-core).
///
/// [`Email::parse`] takes the address through Unicode NFKC (so the Kelvin sign `K` is a `K`, and
/// fullwidth letters are plain ones) and the domain through IDNA (UTS 46) to its ASCII form
/// (`bücher.example` is `xn--bcher-kva.example`, lowercased). What does not survive that is
/// refused: an invalid IDNA name, control, whitespace or invisible formatting characters.
///
/// [`Email::as_str`] is what is stored, shown and mailed: the normalized local part with the case
/// the user typed, `@`, the ASCII domain. [`Email::normalized`] lowercases the local part too, and
/// is what uniqueness and look-ups use.
///
/// The shape check is otherwise deliberately modest (one `@`, a dotted domain of DNS labels,
/// RFC 5321 lengths, no header injection); delivery is what proves an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    display: String,
    normalized: String,
    /// Where the domain starts in both strings (after the `@`).
    at: usize,
    normalized_at: usize,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, DomainError> {
        let bad = |why: &str| DomainError::invalid_field("invalid-email", "email", why.to_owned());
        let s = raw.trim();
        if s.is_empty() {
            return Err(bad("The email address is empty."));
        }
        // Bounded before normalizing: NFKC can grow a string, but not from 254 to anything costly.
        if s.len() > 254 * 4 || s.chars().count() > 254 {
            return Err(bad("The email address is longer than 254 characters."));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible(c)) {
            return Err(bad("The email address contains whitespace, control or invisible characters."));
        }
        let s: String = s.nfkc().collect();
        if s.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible(c)) {
            return Err(bad("The email address contains whitespace, control or invisible characters."));
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
        let Some(domain) = ascii_domain(domain) else {
            return Err(bad("The domain after '@' is not a valid domain name."));
        };
        let display = format!("{local}@{domain}");
        if display.len() > 254 {
            return Err(bad("The email address is longer than 254 characters."));
        }
        let folded: String = local.to_lowercase().nfkc().collect();
        let normalized = format!("{folded}@{domain}");
        Ok(Email { at: local.len() + 1, normalized_at: folded.len() + 1, display, normalized })
    }

    /// The address as stored, shown and mailed (see the type's documentation).
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The form used for uniqueness and look-ups: NFKC, lowercased, the domain in ASCII.
    pub fn normalized(&self) -> String {
        self.normalized.clone()
    }

    /// The part before the `@`, lowercased (as in [`Email::normalized`]).
    pub fn local_part(&self) -> &str {
        &self.normalized[..self.normalized_at - 1]
    }

    /// The domain in its ASCII (IDNA) form, lowercased.
    pub fn domain(&self) -> String {
        self.display[self.at..].to_owned()
    }
}

/// A domain name in its ASCII form through IDNA (UTS 46, with the STD3 rules and DNS lengths):
/// lowercased, Unicode labels as Punycode; `None` when it is not a valid name of at least two
/// labels of letters, digits and inner hyphens. Shared by [`Email`] and the org
/// [`Domain`](crate::org::Domain), so that both spell one domain alike.
pub(crate) fn ascii_domain(raw: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii_strict(raw).ok()?;
    let labels: Vec<&str> = ascii.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    (labels.len() >= 2 && labels.iter().all(label_ok)).then_some(ascii)
}

/// Characters that show as nothing (format characters: zero-width spaces and joiners, direction
/// marks and overrides, the soft hyphen, the byte order mark, tags). NFKC keeps them, so an
/// address with one would be a different string that looks the same.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_normalized() {
        let e = Email::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Alice.Smith@example.com", "local part as typed, domain in its ASCII form");
        assert_eq!(e.normalized(), "alice.smith@example.com");
        assert_eq!(e.local_part(), "alice.smith");
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
        let idn = Email::parse("jörg@Bücher.example").expect("internationalized addresses are allowed");
        assert_eq!(idn.as_str(), "jörg@xn--bcher-kva.example", "the domain is stored as Punycode");
        assert_eq!(idn.domain(), "xn--bcher-kva.example");
        assert_eq!(Email::parse("jörg@xn--bcher-kva.example").unwrap().normalized(), idn.normalized());
    }

    #[test]
    fn look_alike_spellings_normalize_to_one_address() {
        let kate = Email::parse("kate@corp.test").unwrap();
        // U+212A KELVIN SIGN, fullwidth letters and a fullwidth at sign: NFKC makes them plain.
        for twin in ["\u{212A}ate@corp.test", "ｋａｔｅ@ｃｏｒｐ.ｔｅｓｔ", "kate\u{FF20}corp.test", "KATE@CORP.TEST"]
        {
            let e = Email::parse(twin).unwrap_or_else(|e| panic!("{twin:?}: {e:?}"));
            assert_eq!(e.normalized(), kate.normalized(), "{twin:?}");
            assert!(e.as_str().is_ascii(), "{twin:?} is stored as {:?}", e.as_str());
        }
        assert_eq!(Email::parse("\u{212A}ate@corp.test").unwrap().as_str(), "Kate@corp.test");
        // A domain in another script's dots and letters ends up in one ASCII spelling.
        assert_eq!(Email::parse("a@bücher\u{3002}example").unwrap().domain(), "xn--bcher-kva.example");
    }

    #[test]
    fn what_does_not_survive_normalization_is_refused() {
        for bad in [
            "kate@corp.test\u{0}",
            "ka\u{0}te@corp.test",
            "ka\u{200B}te@corp.test",
            "kate\u{200D}@corp.test",
            "\u{202E}kate@corp.test",
            "kate@co\u{0}rp.test",
            "kate@xn--zz.test",
            "kate@xn--.test",
            "kate@corp_x.test",
            "kate@corp.test.",
            "kate@exa\u{2100}mple.test",
            &format!("kate@{}.test", "é".repeat(64)),
        ] {
            let err = Email::parse(bad).err().unwrap_or_else(|| panic!("{bad:?} was accepted"));
            assert_eq!(err.code, "invalid-email", "{bad:?}");
        }
        assert!(Email::parse(&"é".repeat(100_000)).is_err(), "a huge input is refused before normalizing");
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
}
