//! An org's email domains (docs/design.md §4.12): the [`Domain`] value, the list of public mail
//! providers, and the three rules built on domains: restriction (only addresses at the org's
//! domains may be invited or added), auto-join (verified addresses there join by themselves), and
//! who may claim a domain for an org.
//!
//! A domain matches an email exactly: `acme.com` does not cover `eu.acme.com`. An org that wants
//! both lists both.

use std::fmt;

use crate::error::DomainError;
use crate::user::Email;

use super::members::{require_permission, MemberView, OrgActor};
use super::roles::{perm, RoleConfig};

/// A DNS name, lowercased, without scheme, port, path or trailing dot: `acme.com`.
///
/// At least two labels of letters, digits and inner hyphens, each 1 to 63 characters, 253 in
/// all; an IP address is not a domain. Unicode labels are stored in their ASCII (IDNA) form, as in
/// [`Email`], so `bücher.example` and `xn--bcher-kva.example` are one domain and match the
/// addresses there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(String);

impl Domain {
    pub fn parse(raw: &str) -> Result<Domain, DomainError> {
        let bad = |why: &str| DomainError::invalid_field("invalid-domain", "domain", why.to_owned());
        let s = raw.trim();
        if s.is_empty() {
            return Err(bad("The domain is empty."));
        }
        // The usual mistakes get their own answer: a URL, an address, a host with a port.
        if s.contains("://") {
            return Err(bad("Give the domain alone, e.g. example.com, without a scheme such as https://."));
        }
        if s.contains('@') {
            return Err(bad("Give the domain alone, e.g. example.com, not an email address."));
        }
        if s.contains(['/', '?', '#']) {
            return Err(bad("Give the domain alone, e.g. example.com, without a path."));
        }
        if s.contains(':') {
            return Err(bad("Give the domain alone, e.g. example.com, without a port."));
        }
        if s.contains('*') {
            return Err(bad("Wildcards are not allowed; give each domain itself."));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("A domain cannot contain spaces or control characters."));
        }
        let lower = s.to_lowercase();
        let name = lower.strip_suffix('.').unwrap_or(&lower);
        if name.chars().count() > 253 {
            return Err(bad("A domain is at most 253 characters."));
        }
        let labels: Vec<&str> = name.split('.').collect();
        let label_ok = |l: &&str| {
            (1..=63).contains(&l.chars().count())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(bad("This is not a domain name such as example.com."));
        }
        if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
            return Err(bad("An IP address is not a domain; give a domain name such as example.com."));
        }
        let ascii =
            crate::user::ascii_domain(name).ok_or_else(|| bad("This is not a domain name such as example.com."))?;
        Ok(Domain(ascii))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether anyone can get an address here: such a domain says nothing about who employs the
    /// address's owner, so end users may never claim it (see [`PUBLIC_MAIL_PROVIDERS`]).
    pub fn is_public_mail_provider(&self) -> bool {
        PUBLIC_MAIL_PROVIDERS.contains(&self.0.as_str())
    }

    /// Whether `email` is an address at exactly this domain.
    pub fn matches_email(&self, email: &Email) -> bool {
        email.domain() == self.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Common free mail providers, where anyone can sign up: the big international ones and the
/// largest national ones. Not exhaustive; it exists so an end user cannot claim `gmail.com` for
/// their org and pull every Gmail user in through auto-join. The backend may still set these.
pub const PUBLIC_MAIL_PROVIDERS: &[&str] = &[
    // Google, Microsoft, Yahoo, Apple, AOL
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "outlook.de",
    "outlook.fr",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.de",
    "hotmail.fr",
    "hotmail.it",
    "live.com",
    "live.co.uk",
    "live.de",
    "live.fr",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.co.jp",
    "yahoo.de",
    "yahoo.fr",
    "ymail.com",
    "rocketmail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    // Privacy-focused and independent
    "proton.me",
    "protonmail.com",
    "protonmail.ch",
    "pm.me",
    "tutanota.com",
    "tutanota.de",
    "tuta.io",
    "tuta.com",
    "fastmail.com",
    "fastmail.fm",
    "hey.com",
    "zoho.com",
    "zohomail.com",
    "mail.com",
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "gmx.at",
    "gmx.ch",
    // National providers
    "web.de",
    "t-online.de",
    "freenet.de",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "sfr.fr",
    "libero.it",
    "virgilio.it",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "interia.pl",
    "yandex.ru",
    "yandex.com",
    "ya.ru",
    "mail.ru",
    "inbox.ru",
    "list.ru",
    "bk.ru",
    "rambler.ru",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "naver.com",
    "daum.net",
    "hanmail.net",
    "rediffmail.com",
    "uol.com.br",
    "bol.com.br",
];

/// The org's domains and whether they restrict who may join.
#[derive(Debug, Clone, Copy)]
pub struct DomainPolicy<'a> {
    pub domains: &'a [Domain],
    /// Only addresses at one of `domains` may be invited or added (docs/design.md §4.12).
    pub restrict_members: bool,
}

/// Under domain restriction, refuses an address at none of the org's domains with
/// `domain-not-allowed` (on the `email` field: that is what the inviter must change). Binds the
/// backend as well as members: restriction is a property of the org, not of who acts.
pub fn check_email_domain_allowed(email: &Email, policy: DomainPolicy<'_>) -> Result<(), DomainError> {
    if !policy.restrict_members || policy.domains.iter().any(|d| d.matches_email(email)) {
        return Ok(());
    }
    let detail = if policy.domains.is_empty() {
        "This organization admits only addresses at its own domains, and it has none yet.".to_owned()
    } else {
        let list = policy.domains.iter().map(Domain::as_str).collect::<Vec<_>>().join(", ");
        format!("This organization admits only addresses at {list}; {} is not one of them.", email.domain())
    };
    Err(DomainError::invalid_field("domain-not-allowed", "email", detail))
}

/// Auto-join (docs/design.md §4.12): a user whose email is verified and at one of the org's auto-join
/// domains may join it by themselves, at [`RoleConfig::lowest_role`]. `auto_join_domains` are the
/// org's domains that have auto-join on. The use case still checks for a free seat
/// ([`check_seat_available`](super::check_seat_available)) and existing membership.
pub fn is_auto_join_eligible(email: &Email, email_verified: bool, auto_join_domains: &[Domain]) -> bool {
    // An unverified address proves nothing: anyone can type ceo@acme.com.
    email_verified && auto_join_domains.iter().any(|d| d.matches_email(email))
}

/// Who is adding a domain to an org.
#[derive(Debug, Clone, Copy)]
pub enum DomainClaimant<'a> {
    /// The SaaS backend: it vouches for its customers' domains and may set any.
    Backend,
    /// A member, with their own account's email.
    User { member: &'a MemberView, email: &'a Email, email_verified: bool },
}

/// Adding a domain to an org (docs/design.md §4.12). The backend may add any. A member needs
/// `org.update`, and may only claim the domain of their own verified email, never a public mail
/// provider's: owning an address at a domain is the proof an end user can give of belonging to
/// it, and a public provider's proves nothing.
///
/// Refuses: `permission-denied`; `email-not-verified`; `public-email-domain`; `domain-not-yours`.
pub fn check_domain_claim(
    roles: &RoleConfig,
    claimant: DomainClaimant<'_>,
    domain: &Domain,
) -> Result<(), DomainError> {
    let DomainClaimant::User { member, email, email_verified } = claimant else {
        return Ok(());
    };
    require_permission(roles, OrgActor::Member(member), perm::ORG_UPDATE)?;
    if !email_verified {
        return Err(DomainError::forbidden(
            "email-not-verified",
            "Verify your email address before you claim its domain for an organization.",
        ));
    }
    if domain.is_public_mail_provider() {
        return Err(DomainError::forbidden(
            "public-email-domain",
            format!("{domain} is a public mail provider, where anyone can get an address; it cannot be claimed."),
        ));
    }
    if !domain.matches_email(email) {
        return Err(DomainError::forbidden(
            "domain-not-yours",
            format!("You can only claim the domain of your own email address ({}), not {domain}.", email.domain()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::org::testing::{assert_refused, domain, email, member};

    #[test]
    fn domains_are_parsed_and_lowercased() {
        assert_eq!(domain("  Acme.COM ").as_str(), "acme.com");
        assert_eq!(domain("acme.com.").as_str(), "acme.com", "the root dot goes");
        assert_eq!(domain("eu.mail.acme-corp.co.uk").as_str(), "eu.mail.acme-corp.co.uk");
        assert_eq!(domain("Bücher.Example").as_str(), "xn--bcher-kva.example", "IDNA's ASCII form");
        assert_eq!(domain("xn--bcher-kva.example").as_str(), "xn--bcher-kva.example");
    }

    #[test]
    fn domains_refuse_urls_ports_and_other_shapes() {
        let cases = [
            ("", "empty"),
            ("https://acme.com", "scheme"),
            ("acme.com/login", "path"),
            ("acme.com?x=1", "path"),
            ("acme.com:8443", "port"),
            ("alice@acme.com", "email address"),
            ("*.acme.com", "Wildcards"),
            ("acme .com", "spaces"),
            ("acme", "not a domain name"),
            ("acme..com", "not a domain name"),
            ("-acme.com", "not a domain name"),
            ("acme-.com", "not a domain name"),
            ("acme_corp.com", "not a domain name"),
            ("10.0.0.1", "IP address"),
        ];
        for (raw, why) in cases {
            let err = Domain::parse(raw).unwrap_err();
            assert_eq!((err.code, err.kind), ("invalid-domain", ErrorKind::Invalid), "{raw:?}");
            assert_eq!(err.fields[0].field, "domain");
            assert!(err.detail.contains(why), "{raw:?}: {}", err.detail);
        }
        assert!(Domain::parse(&format!("{}.com", "a".repeat(64))).is_err(), "a label is at most 63");
        assert!(Domain::parse(&format!("{}.com", vec!["a".repeat(60); 5].join("."))).is_err(), "253 in all");
    }

    #[test]
    fn public_mail_providers_are_known() {
        for public in [
            "gmail.com",
            "GoogleMail.com",
            "outlook.com",
            "hotmail.com",
            "yahoo.com",
            "icloud.com",
            "proton.me",
            "gmx.de",
            "web.de",
            "yandex.ru",
            "qq.com",
            "163.com",
            "fastmail.com",
            "hey.com",
        ] {
            assert!(domain(public).is_public_mail_provider(), "{public}");
        }
        for private in ["acme.com", "mail.google.com", "gmail.co"] {
            assert!(!domain(private).is_public_mail_provider(), "{private}");
        }
        for listed in PUBLIC_MAIL_PROVIDERS {
            assert_eq!(domain(listed).as_str(), *listed, "the list holds parsed, lowercase domains");
        }
    }

    #[test]
    fn domains_match_emails_exactly() {
        let acme = domain("acme.com");
        assert!(acme.matches_email(&email("Alice@ACME.com")));
        assert!(!acme.matches_email(&email("alice@eu.acme.com")), "no subdomains");
        assert!(!acme.matches_email(&email("alice@notacme.com")));
        assert!(domain("bücher.example").matches_email(&email("jörg@Bücher.example")));
        assert!(domain("xn--bcher-kva.example").matches_email(&email("jörg@bücher.example")));
    }

    #[test]
    fn restriction_admits_only_the_orgs_domains() {
        let domains = [domain("acme.com"), domain("acme.de")];
        let restricted = DomainPolicy { domains: &domains, restrict_members: true };
        assert!(check_email_domain_allowed(&email("bob@acme.de"), restricted).is_ok());
        let err = check_email_domain_allowed(&email("bob@gmail.com"), restricted).unwrap_err();
        assert_refused(&err, "domain-not-allowed", ErrorKind::Invalid);
        assert_eq!(err.fields[0].field, "email");
        assert!(err.detail.contains("acme.com, acme.de") && err.detail.contains("gmail.com"), "{}", err.detail);
        let open = DomainPolicy { domains: &domains, restrict_members: false };
        assert!(check_email_domain_allowed(&email("bob@gmail.com"), open).is_ok());
        let none = DomainPolicy { domains: &[], restrict_members: true };
        let err = check_email_domain_allowed(&email("bob@acme.com"), none).unwrap_err();
        assert!(err.detail.contains("has none yet"), "{}", err.detail);
    }

    #[test]
    fn auto_join_needs_a_verified_address_at_an_auto_join_domain() {
        let auto = [domain("acme.com")];
        assert!(is_auto_join_eligible(&email("carol@Acme.com"), true, &auto));
        assert!(!is_auto_join_eligible(&email("carol@acme.com"), false, &auto), "unverified");
        assert!(!is_auto_join_eligible(&email("carol@other.com"), true, &auto));
        assert!(!is_auto_join_eligible(&email("carol@eu.acme.com"), true, &auto));
        assert!(!is_auto_join_eligible(&email("carol@acme.com"), true, &[]), "auto-join is off");
    }

    #[test]
    fn members_claim_only_their_own_verified_domain() {
        let roles = RoleConfig::default();
        let admin = member("Admin");
        let alice = email("alice@acme.com");
        let claim = |m: &MemberView, e: &Email, verified: bool, d: &str| {
            check_domain_claim(
                &roles,
                DomainClaimant::User { member: m, email: e, email_verified: verified },
                &domain(d),
            )
        };
        assert!(claim(&admin, &alice, true, "ACME.com").is_ok());
        assert_refused(&claim(&admin, &alice, true, "acme.de").unwrap_err(), "domain-not-yours", ErrorKind::Forbidden);
        assert_refused(
            &claim(&admin, &alice, true, "eu.acme.com").unwrap_err(),
            "domain-not-yours",
            ErrorKind::Forbidden,
        );
        assert_refused(
            &claim(&admin, &alice, false, "acme.com").unwrap_err(),
            "email-not-verified",
            ErrorKind::Forbidden,
        );
        let gmail_user = email("alice@gmail.com");
        let err = claim(&admin, &gmail_user, true, "gmail.com").unwrap_err();
        assert_refused(&err, "public-email-domain", ErrorKind::Forbidden);
        let viewer = member("Viewer");
        assert_refused(
            &claim(&viewer, &alice, true, "acme.com").unwrap_err(),
            "permission-denied",
            ErrorKind::Forbidden,
        );
    }

    #[test]
    fn the_backend_claims_any_domain() {
        let roles = RoleConfig::default();
        for d in ["acme.com", "gmail.com", "anything.example"] {
            assert!(check_domain_claim(&roles, DomainClaimant::Backend, &domain(d)).is_ok(), "{d}");
        }
    }
}
