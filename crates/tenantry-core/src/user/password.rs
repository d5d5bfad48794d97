//! The password policy, per NIST SP 800-63B (ARCHITECTURE.md, tenantry-core): a minimum length, long
//! passphrases allowed, no composition rules, a cap on the length so that a huge input is refused
//! before any work, and a check against common and breached passwords and against the words of
//! the context (the product's name, the user's email and names).
//!
//! The check uses zxcvbn's matchers and dictionaries (the most common passwords of public breaches,
//! English words, names and surnames, keyboard patterns, sequences, repeats, dates, `l33t`
//! substitutions, reversed words), with the context words as one more dictionary. A password is
//! refused when those make it guessable in too few tries: such a password is on the lists attackers
//! try first, whatever its length.

use unicode_normalization::UnicodeNormalization;
use zxcvbn::matching::patterns::MatchPattern;

use crate::error::DomainError;

/// How many characters of a password are scored. The matchers look at every substring, so the cost
/// grows with the square of the length (a few milliseconds at 40 characters, 10 at 64, 20 to 35 at
/// zxcvbn's own bound of 100, in a release build); the words that make a password guessable show in
/// its first characters (the longest common passwords are about 20), and what follows them only
/// adds guesses.
const SCORED_CHARS: usize = 40;

/// A password that zxcvbn guesses in fewer than 10^6 tries is refused as too common: that covers
/// the breached-password lists with their usual variations (case, digits, `l33t`, years).
const MIN_GUESSES_LOG10: f64 = 6.0;

/// A password built on a context word gets a higher bar (10^8 tries): an attacker who targets an
/// account knows its email and the product's name, so `Tenantry2024!` is a first guess.
const MIN_GUESSES_LOG10_WITH_CONTEXT: f64 = 8.0;

/// Pieces of context words shorter than this are not matched on their own (`id`, `jo`).
const MIN_WORD_CHARS: usize = 3;

/// The most context words one check uses (they come from the deployment and one user).
const MAX_WORDS: usize = 32;

/// The password rules of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values). Default 8.
    pub min_chars: usize,
    /// Maximum length in characters. Default 256; 800-63B asks for at least 64.
    pub max_chars: usize,
    /// Words of the deployment that no password may be built on: the product's name (and always
    /// `Tenantry`).
    pub deployment_words: Vec<String>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy { min_chars: 8, max_chars: 256, deployment_words: vec!["Tenantry".to_owned()] }
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
    /// The default policy for a deployment whose product is called `product_name` (the mail
    /// product name): passwords may not be built on it, nor on `Tenantry`.
    pub fn for_product(product_name: &str) -> PasswordPolicy {
        let mut policy = PasswordPolicy::default();
        let name = product_name.trim();
        if !name.is_empty() && !policy.deployment_words.iter().any(|w| w.to_lowercase() == name.to_lowercase()) {
            policy.deployment_words.push(name.to_owned());
        }
        policy
    }

    /// Checks a new password. `context` holds what is known of its user: the email address, first
    /// and last name, username (empty strings are ignored); the deployment's words are added.
    ///
    /// Refusals are field errors on `password`: `password-too-short`, `password-too-long`,
    /// `password-contains-context` (built on the product's name, the email or a name) and
    /// `password-too-common` (a breached or common password, a word with small changes, a keyboard
    /// pattern, a sequence or a repeat).
    pub fn check(&self, raw: &str, context: &[&str]) -> Result<NewPassword, DomainError> {
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
        // NFKC first, so that fullwidth or other look-alike spellings of a word are the word.
        let head: String = raw.chars().take(SCORED_CHARS).collect();
        let scored: String = head.nfkc().take(SCORED_CHARS).collect();
        let words = context_words(self.deployment_words.iter().map(String::as_str).chain(context.iter().copied()));
        let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(&scored, &inputs);
        let guesses = estimate.guesses_log10();
        // The cheapest way to guess it goes through a context word (zxcvbn's own dictionary type is
        // not exported, so the matched word is looked up among ours).
        let uses_context = estimate
            .sequence()
            .iter()
            .any(|m| matches!(&m.pattern, MatchPattern::Dictionary(d) if words.contains(&d.matched_word)));
        if uses_context && guesses < MIN_GUESSES_LOG10_WITH_CONTEXT {
            return Err(DomainError::invalid_field(
                "password-contains-context",
                "password",
                "This password is built on your email address, your name or the name of this service, which is \
                 what an attacker tries first. Choose a passphrase that has nothing to do with them.",
            ));
        }
        if guesses < MIN_GUESSES_LOG10 {
            return Err(DomainError::invalid_field(
                "password-too-common",
                "password",
                "This password is too common: it is on lists of breached passwords, or it is a common word, \
                 name, keyboard pattern or sequence with small changes. Choose a longer passphrase of \
                 unrelated words.",
            ));
        }
        Ok(NewPassword(raw.to_owned()))
    }
}

/// The words a password may not be built on, lowercased and NFKC-normalized: each context string,
/// and for an email its local part, its domain and the domain's first label, and for each of these
/// its pieces between punctuation (`ada.lovelace` gives `ada` and `lovelace`) and its letters and
/// digits run together.
fn context_words<'a>(context: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut add = |w: &str| {
        if w.chars().count() >= MIN_WORD_CHARS && words.len() < MAX_WORDS && !words.iter().any(|x| x == w) {
            words.push(w.to_owned());
        }
    };
    for raw in context {
        let word: String = raw.trim().chars().take(256).collect::<String>().nfkc().collect::<String>().to_lowercase();
        let mut parts = vec![word.clone()];
        if let Some((local, domain)) = word.rsplit_once('@') {
            parts.push(local.to_owned());
            parts.push(domain.to_owned());
            parts.extend(domain.split('.').next().map(str::to_owned));
        }
        for part in &parts {
            add(part);
            add(&part.chars().filter(|c| c.is_alphanumeric()).collect::<String>());
            for piece in part.split(|c: char| !c.is_alphanumeric()) {
                add(piece);
            }
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn code(p: &PasswordPolicy, password: &str, context: &[&str]) -> &'static str {
        match p.check(password, context) {
            Ok(_) => "ok",
            Err(e) => {
                assert_eq!(e.fields[0].field, "password", "{password:?}");
                assert!(!e.fields[0].detail.is_empty());
                e.code
            }
        }
    }

    #[test]
    fn lengths_follow_800_63b() {
        let p = PasswordPolicy::default();
        assert_eq!(code(&p, "Zq7#wLp", &[]), "password-too-short");
        assert_eq!(code(&p, "Zq7#wLp!", &[]), "ok");
        assert_eq!(code(&p, "only letters here", &[]), "ok", "no composition rules");
        assert_eq!(code(&p, "пароль пароль", &[]), "ok");
        assert_eq!(code(&p, "🔑🦀🌵🎻🚲🧭🪁🍋", &[]), "ok", "8 emoji are 8 characters");
        assert_eq!(code(&p, "🔑🦀🌵🎻🚲🧭🪁", &[]), "password-too-short");
        assert_eq!(code(&p, &"x".repeat(1 << 20), &[]), "password-too-long");
        assert_eq!(format!("{:?}", p.check("secret-secret", &[]).unwrap()), "NewPassword(<redacted>)");
    }

    #[test]
    fn common_and_breached_passwords_are_refused() {
        let p = PasswordPolicy::default();
        for common in [
            "password",
            "12345678",
            "passw0rd",
            "P@ssw0rd",
            "Password1",
            "password123",
            "iloveyou",
            "qwertyuiop",
            "1q2w3e4r5t",
            "letmein!",
            "Summer2024",
            "aaaaaaaa",
            "abcdefgh",
            "11111111",
            "drowssap",
            "ｐａｓｓｗｏｒｄ",
            "🔑🔑🔑🔑🔑🔑🔑🔑",
            "passwordpasswordpasswordpasswordpasswordpasswordpasswordpassword",
        ] {
            assert_eq!(code(&p, common, &[]), "password-too-common", "{common:?}");
        }
        for fine in ["correct horse battery", "a brand new passphrase", "analytical engine", "nosy neighbour"] {
            assert_eq!(code(&p, fine, &[]), "ok", "{fine:?}");
        }
    }

    #[test]
    fn passwords_built_on_the_context_are_refused() {
        let p = PasswordPolicy::for_product("Acme ID");
        let kate = ["kate.bishop@corp.test", "Kate", "Bishop", ""];
        for built in [
            "tenantry",
            "Tenantry1",
            "Tenantry2024!",
            "acmeid2024",
            "Acme ID 1",
            "kate.bishop@corp.test",
            "katebishop",
            "Bishop1984",
            "kate1234!",
            "corp.test1",
            "pohsibetak",
        ] {
            assert_eq!(code(&p, built, &kate), "password-contains-context", "{built:?}");
        }
        assert_eq!(code(&p, "tenantry is where my long passphrase lives", &kate), "ok");
        // Other deployments' names are no context here.
        assert_eq!(code(&PasswordPolicy::default(), "acmeid2024", &[]), "ok");
        assert_eq!(PasswordPolicy::for_product("tenantry").deployment_words, vec!["Tenantry"]);
    }

    #[test]
    fn context_words_cover_an_email_and_its_pieces() {
        let words = context_words(["Tenantry", "Ada.Lovelace+id@Bücher.example", "Al", ""].into_iter());
        for w in ["tenantry", "ada.lovelace+id@bücher.example", "ada.lovelace+id", "adalovelaceid", "ada", "lovelace"]
        {
            assert!(words.iter().any(|x| x == w), "{w} in {words:?}");
        }
        assert!(words.iter().any(|x| x == "bücher"), "{words:?}");
        assert!(!words.iter().any(|x| x == "al" || x == "id" || x.is_empty()), "{words:?}");
        let many: Vec<String> = (0..100).map(|i| format!("word{i}")).collect();
        assert_eq!(context_words(many.iter().map(String::as_str)).len(), MAX_WORDS);
    }

    #[test]
    fn long_passwords_are_scored_on_a_bounded_prefix() {
        let p = PasswordPolicy::default();
        p.check("warm up the dictionaries", &[]).unwrap();
        let long: String = "the quick brown fox jumps over a lazy dog while 42 zebras hum quietly; "
            .repeat(3)
            .chars()
            .take(200)
            .collect();
        let started = Instant::now();
        assert_eq!(code(&p, &long, &["kate@corp.test", "Kate", "Bishop"]), "ok");
        assert_eq!(code(&p, &"Zq7#wLp!".repeat(32), &[]), "ok", "256 characters, the maximum");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }
}
