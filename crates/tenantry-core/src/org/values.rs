//! The plain values an organization is made of (its name, its slug, its user limit, the bound on
//! its metadata) and the limits that count seats and orgs. Each value is parsed once at the edge;
//! past that, a value of the type is valid by construction.

use std::fmt;

use crate::error::DomainError;

/// An organization's display name: 1 to 255 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    /// The longest name, in characters (Unicode scalar values).
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<OrgName, DomainError> {
        let bad = |why: &str| DomainError::invalid_field("invalid-org-name", "name", why.to_owned());
        let s = raw.trim();
        if s.is_empty() {
            return Err(bad("An organization name cannot be empty."));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(bad("An organization name is at most 255 characters."));
        }
        if s.chars().any(char::is_control) {
            return Err(bad("An organization name cannot contain control characters."));
        }
        // The name is shown in invitation emails and pages; a bidirectional override there could
        // make "Acme" read as someone else's org.
        if s.chars().any(is_bidi_control) {
            return Err(bad("An organization name cannot contain bidirectional text controls."));
        }
        Ok(OrgName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A URL-safe handle for an org, unique across the deployment: 1 to 63 of `a-z`, `0-9` and
/// single hyphens, neither first nor last.
///
/// 63 is a DNS label's limit, so a slug can always serve as a subdomain (`acme.example.app`).
/// Uppercase is refused rather than folded: the slug the caller sends is the slug they get back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    /// The longest slug, in bytes (a slug is ASCII).
    pub const MAX_LEN: usize = 63;

    /// What [`Slug::from_name`] falls back to when nothing of the name survives.
    const FALLBACK: &'static str = "org";

    pub fn parse(raw: &str) -> Result<Slug, DomainError> {
        let bad = |why: &str| DomainError::invalid_field("invalid-slug", "slug", why.to_owned());
        let s = raw.trim();
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(bad("A slug is 1 to 63 characters."));
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(bad("A slug may contain only lowercase letters a-z, digits 0-9 and hyphens."));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(bad("A slug cannot start or end with a hyphen."));
        }
        if s.contains("--") {
            return Err(bad("A slug cannot contain two hyphens in a row."));
        }
        Ok(Slug(s.to_owned()))
    }

    /// Makes a slug from a name: lowercased, Latin letters with diacritics folded to ASCII
    /// (`ü` → `u`, `ß` → `ss`, `æ` → `ae`), apostrophes dropped (`Bob's` → `bobs`), every other
    /// run of characters (spaces, punctuation, other scripts) turned into one hyphen, cut to
    /// [`Slug::MAX_LEN`]. A name with nothing left (say, only CJK characters) gives `org`.
    ///
    /// The result may be taken already; the use case then tries [`Slug::with_suffix`].
    pub fn from_name(name: &OrgName) -> Slug {
        let mut slug = String::with_capacity(name.as_str().len());
        // A separator was seen since the last kept character. The hyphen is written only before
        // the next kept one, so hyphens never lead, trail or double.
        let mut gap = false;
        let mut buf = [0; 4];
        for c in name.as_str().chars().flat_map(char::to_lowercase) {
            if slug.len() > Self::MAX_LEN {
                break; // enough to cut from
            }
            let piece: &str = if c.is_ascii_alphanumeric() {
                c.encode_utf8(&mut buf)
            } else if let Some(ascii) = fold_to_ascii(c) {
                ascii
            } else {
                gap |= !joins_letters(c);
                continue;
            };
            if gap && !slug.is_empty() {
                slug.push('-');
            }
            gap = false;
            slug.push_str(piece);
        }
        if slug.len() > Self::MAX_LEN {
            slug.truncate(Self::MAX_LEN);
            while slug.ends_with('-') {
                slug.pop();
            }
        }
        if slug.is_empty() {
            slug.push_str(Self::FALLBACK);
        }
        Slug(slug)
    }

    /// This slug with `-n` appended, for when it is taken: `acme` → `acme-2`. The base is cut
    /// so the result still fits in [`Slug::MAX_LEN`].
    pub fn with_suffix(&self, n: u32) -> Slug {
        let suffix = format!("-{n}");
        let room = Self::MAX_LEN - suffix.len();
        // A slug is ASCII, so any byte index is a character boundary.
        let base = self.0[..self.0.len().min(room)].trim_end_matches('-');
        Slug(format!("{base}{suffix}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters that vanish inside a word instead of splitting it: apostrophes, and combining
/// marks (so a decomposed `u` + `◌̈` folds like `ü`).
fn joins_letters(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{0300}'..='\u{036F}')
}

/// ASCII for the lowercase Latin letters of Latin-1 and Latin Extended-A. core has no Unicode
/// normalization crate (it depends on chrono, thiserror and uuid only), and these two blocks
/// cover the names of Western and Central European companies.
fn fold_to_ascii(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ð' | 'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' | 'ĸ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' | 'ŋ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' | 'ſ' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// The largest metadata an org may carry, in bytes of its serialized JSON (docs/design.md §4.13).
/// Metadata rides along with every org read, so it stays small; 8 KiB is Clerk's bound too.
pub const METADATA_MAX_BYTES: usize = 8 * 1024;

/// Checks the size of an org's metadata from its serialized length, so core needs no serde.
/// (That it is a JSON object is the API layer's check, where the JSON is parsed.)
pub fn check_metadata_size(serialized_len: usize) -> Result<(), DomainError> {
    if serialized_len > METADATA_MAX_BYTES {
        return Err(DomainError::invalid_field(
            "metadata-too-large",
            "metadata",
            format!("Metadata is at most {METADATA_MAX_BYTES} bytes of JSON; this is {serialized_len}."),
        ));
    }
    Ok(())
}

/// An org's `max_users` (docs/design.md §4.10): a limit of at least 1, or unlimited (`null`).
///
/// The limit counts members plus pending invites. Lowering it below the current count is allowed
/// and evicts nobody; it only stops new invites and joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaxUsers(Option<u32>);

impl MaxUsers {
    pub const UNLIMITED: MaxUsers = MaxUsers(None);

    /// Parses the wire value: `None` (null) is unlimited, otherwise 1 to `u32::MAX`. Zero is
    /// refused: the Owner is a member, so an org of zero could not exist.
    pub fn parse(raw: Option<i64>) -> Result<MaxUsers, DomainError> {
        let Some(n) = raw else {
            return Ok(MaxUsers::UNLIMITED);
        };
        match u32::try_from(n) {
            Ok(limit) if limit >= 1 => Ok(MaxUsers(Some(limit))),
            _ => Err(DomainError::invalid_field(
                "invalid-max-users",
                "max_users",
                format!("max_users is null (unlimited) or a whole number from 1 to {}.", u32::MAX),
            )),
        }
    }

    /// The limit, or `None` when unlimited.
    pub fn limit(self) -> Option<u32> {
        self.0
    }
}

/// Whether one more seat fits (docs/design.md §4.10): for a new invite, or for accepting an invite or
/// auto-joining. `members` counts active members; `pending_invites_excluding_this_one` counts
/// pending invites other than the one being accepted (an accepted invite turns its own seat into
/// a member, so it must not be counted twice).
///
/// The use case calls this inside the transaction that holds the org's lock, so two racing
/// accepts cannot both see the last seat free.
pub fn check_seat_available(
    max_users: MaxUsers,
    members: u64,
    pending_invites_excluding_this_one: u64,
) -> Result<(), DomainError> {
    let Some(limit) = max_users.limit() else {
        return Ok(());
    };
    let taken = members.saturating_add(pending_invites_excluding_this_one);
    if taken >= u64::from(limit) {
        return Err(DomainError::conflict(
            "org-full",
            format!(
                "The organization is full: its limit is {limit} users, counting members and pending invites, \
                 and {taken} seats are taken."
            ),
        ));
    }
    Ok(())
}

/// The deployment-wide cap on orgs per user (docs/design.md §4.10): may a user who is already in
/// `orgs_of_user` orgs create or join one more? `None` is no cap.
pub fn check_org_limit(max_orgs_per_user: Option<u32>, orgs_of_user: u64) -> Result<(), DomainError> {
    match max_orgs_per_user {
        Some(max) if orgs_of_user >= u64::from(max) => Err(DomainError::conflict(
            "org-limit-reached",
            format!("A user may belong to at most {max} organizations on this deployment."),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn name(s: &str) -> OrgName {
        OrgName::parse(s).unwrap()
    }

    fn slug_of(s: &str) -> String {
        Slug::from_name(&name(s)).as_str().to_owned()
    }

    #[test]
    fn org_names_are_trimmed_and_bounded() {
        assert_eq!(name("  Acme Inc.  ").as_str(), "Acme Inc.");
        assert!(OrgName::parse(&"é".repeat(255)).is_ok(), "255 characters, not bytes");
        for bad in ["", "   ", "Acme\u{0}", "Ac\nme", "Acme\u{202E}cnI", &"x".repeat(256)] {
            let err = OrgName::parse(bad).unwrap_err();
            assert_eq!((err.code, err.kind), ("invalid-org-name", ErrorKind::Invalid), "{bad:?}");
            assert_eq!(err.fields[0].field, "name");
        }
    }

    #[test]
    fn slugs_are_parsed_strictly() {
        for good in ["a", "acme", "acme-inc", "team-42", "4ever", &"a".repeat(63)] {
            assert_eq!(Slug::parse(good).unwrap().as_str(), good);
        }
        assert_eq!(Slug::parse(" acme ").unwrap().as_str(), "acme");
        for bad in ["", "Acme", "acme inc", "acme_inc", "-acme", "acme-", "ac--me", "acmé", "a/b", &"a".repeat(64)] {
            let err = Slug::parse(bad).unwrap_err();
            assert_eq!((err.code, err.kind), ("invalid-slug", ErrorKind::Invalid), "{bad:?}");
            assert_eq!(err.fields[0].field, "slug");
        }
    }

    #[test]
    fn slugs_are_generated_from_names() {
        assert_eq!(slug_of("Acme Inc."), "acme-inc");
        assert_eq!(slug_of("  Acme   &   Co.  "), "acme-co");
        assert_eq!(slug_of("Bob's Pizza"), "bobs-pizza");
        assert_eq!(slug_of("Bob’s Pizza"), "bobs-pizza");
        assert_eq!(slug_of("Müller & Söhne GmbH"), "muller-sohne-gmbh");
        assert_eq!(slug_of("Straße"), "strasse");
        assert_eq!(slug_of("ÆRØ Łódź"), "aero-lodz");
        assert_eq!(slug_of("Cafe\u{301} Crème"), "cafe-creme", "decomposed accents fold too");
        assert_eq!(slug_of("Team 42 -- Ops"), "team-42-ops");
        assert_eq!(slug_of("東京 Tokyo"), "tokyo", "other scripts separate, they don't survive");
        assert_eq!(slug_of("東京"), "org");
        assert_eq!(slug_of("!!!"), "org");
        for generated in [slug_of("Müller & Söhne GmbH"), slug_of("東京"), slug_of(&"ab ".repeat(80))] {
            assert_eq!(Slug::parse(&generated).unwrap().as_str(), generated, "a generated slug always parses");
        }
    }

    #[test]
    fn long_names_give_slugs_that_fit() {
        // Words of 8 plus a hyphen: the cut at 63 falls right after a hyphen, which goes too.
        let s = slug_of(&"abcdefgh ".repeat(25));
        assert_eq!(s, ["abcdefgh"; 7].join("-"));
        assert!(Slug::parse(&s).is_ok());
        assert_eq!(slug_of(&"x".repeat(255)).len(), Slug::MAX_LEN);
    }

    #[test]
    fn suffixes_resolve_collisions_and_still_fit() {
        let acme = Slug::parse("acme").unwrap();
        assert_eq!(acme.with_suffix(2).as_str(), "acme-2");
        assert_eq!(acme.with_suffix(137).as_str(), "acme-137");
        let longest = Slug::parse(&"a".repeat(63)).unwrap();
        assert_eq!(longest.with_suffix(12).as_str(), format!("{}-12", "a".repeat(60)));
        let cut_on_hyphen = Slug::parse(&format!("{}-bc", "a".repeat(60))).unwrap().with_suffix(7);
        assert_eq!(cut_on_hyphen.as_str(), format!("{}-7", "a".repeat(60)), "no double hyphen where the cut fell");
        assert!(Slug::parse(Slug::parse(&"a".repeat(63)).unwrap().with_suffix(u32::MAX).as_str()).is_ok());
    }

    #[test]
    fn metadata_is_bounded() {
        assert!(check_metadata_size(0).is_ok());
        assert!(check_metadata_size(METADATA_MAX_BYTES).is_ok());
        let err = check_metadata_size(METADATA_MAX_BYTES + 1).unwrap_err();
        assert_eq!((err.code, err.kind), ("metadata-too-large", ErrorKind::Invalid));
        assert_eq!(err.fields[0].field, "metadata");
    }

    #[test]
    fn max_users_is_null_or_positive() {
        assert_eq!(MaxUsers::parse(None).unwrap(), MaxUsers::UNLIMITED);
        assert_eq!(MaxUsers::parse(Some(5)).unwrap().limit(), Some(5));
        assert_eq!(MaxUsers::parse(Some(i64::from(u32::MAX))).unwrap().limit(), Some(u32::MAX));
        for bad in [0, -1, i64::from(u32::MAX) + 1] {
            let err = MaxUsers::parse(Some(bad)).unwrap_err();
            assert_eq!((err.code, err.fields[0].field.as_str()), ("invalid-max-users", "max_users"), "{bad}");
        }
    }

    #[test]
    fn seats_count_members_and_other_pending_invites() {
        let three = MaxUsers::parse(Some(3)).unwrap();
        assert!(check_seat_available(MaxUsers::UNLIMITED, 1_000_000, 1_000_000).is_ok());
        assert!(check_seat_available(three, 1, 1).is_ok(), "two taken, one free");
        for (members, pending) in [(3, 0), (2, 1), (1, 2), (5, 0)] {
            let err = check_seat_available(three, members, pending).unwrap_err();
            assert_eq!((err.code, err.kind), ("org-full", ErrorKind::Conflict), "{members}+{pending}");
        }
        // Accepting the invite that holds the last seat: the caller leaves it out of the count.
        assert!(check_seat_available(three, 2, 0).is_ok());
    }

    #[test]
    fn orgs_per_user_are_capped() {
        assert!(check_org_limit(None, 10_000).is_ok());
        assert!(check_org_limit(Some(3), 2).is_ok());
        let err = check_org_limit(Some(3), 3).unwrap_err();
        assert_eq!((err.code, err.kind), ("org-limit-reached", ErrorKind::Conflict));
    }
}
