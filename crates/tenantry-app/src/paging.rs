//! The one paging rule of every list, in both APIs and in the use cases: a page holds
//! [`DEFAULT_LIMIT`] items unless the caller asks for another size, and never fewer than one or
//! more than the list's maximum.
//!
//! Two maxima, as the API contract (`openapi/openapi.json`) has documented them since they
//! shipped: [`MAX_LIMIT`] for the lists of users, API keys, webhook endpoints and webhook
//! messages, and [`MAX_ORG_LIMIT`] for the organization lists (orgs, the roster of members and
//! invitations, invitations, the audit trail, a user's orgs), where one page of the roster reads
//! a page of members and a page of invitations.
//!
//! The adapters' `limit` parameters state the same numbers in their `validator` attributes and
//! descriptions (attributes take literals); a test in `tenantry-api` checks the served document
//! against these constants.

/// Items on a page when the caller names no size.
pub const DEFAULT_LIMIT: u32 = 50;

/// The largest page of the lists of users, API keys, webhook endpoints and webhook messages.
pub const MAX_LIMIT: u32 = 200;

/// The largest page of an organization list.
pub const MAX_ORG_LIMIT: u32 = 100;

// The default page fits every list.
const _: () = assert!(DEFAULT_LIMIT <= MAX_ORG_LIMIT && MAX_ORG_LIMIT <= MAX_LIMIT);

/// The page size for a requested `limit` of a list capped at [`MAX_LIMIT`]: the default when
/// absent, else within `1..=MAX_LIMIT`.
pub fn limit(requested: impl Into<Option<u32>>) -> u32 {
    requested.into().unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// The page size for a requested `limit` of an organization list: the default when absent, else
/// within `1..=MAX_ORG_LIMIT`.
pub fn org_limit(requested: impl Into<Option<u32>>) -> u32 {
    requested.into().unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_ORG_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_limit_gives_the_default_page() {
        assert_eq!(limit(None), DEFAULT_LIMIT);
        assert_eq!(org_limit(None), DEFAULT_LIMIT);
    }

    #[test]
    fn a_limit_is_kept_within_one_and_the_lists_maximum() {
        assert_eq!(limit(0), 1);
        assert_eq!(limit(7), 7);
        assert_eq!(limit(MAX_LIMIT), MAX_LIMIT);
        assert_eq!(limit(u32::MAX), MAX_LIMIT);
        assert_eq!(org_limit(Some(0)), 1);
        assert_eq!(org_limit(Some(MAX_ORG_LIMIT + 1)), MAX_ORG_LIMIT);
        assert_eq!(org_limit(u32::MAX), MAX_ORG_LIMIT);
    }
}
