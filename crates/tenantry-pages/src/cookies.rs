//! The pages' own cookies besides the session (whose helper, `SessionCookieSpec`, the end-user API
//! shares): the pre-session CSRF secret, a one-shot notice, the token of an emailed link moved out
//! of the address bar, and a `return_to` kept across an emailed round trip. All `HttpOnly`,
//! `SameSite=Lax`, `Path=/`, and `__Host-`-prefixed and `Secure` on https deployments.

use poem::Request;

/// One of the pages' cookies, on a deployment that is (or is not) served over https.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cookie {
    base: &'static str,
    https: bool,
}

/// The pre-session secret that CSRF tokens are bound to before sign-in.
pub(crate) const CSRF: &str = "tenantry_csrf";
/// A strings key to show once on the next page ("Invitation sent").
pub(crate) const NOTICE: &str = "tenantry_notice";
/// The pending sign-in of a person with 2FA between the password and the code: the token the
/// second step needs (never a session).
pub(crate) const MFA_PENDING: &str = "tenantry_mfa_pending";
/// Where to go once an emailed round trip (sign-up, then the verification link) is over.
pub(crate) const RETURN_TO: &str = "tenantry_return_to";

impl Cookie {
    pub(crate) fn new(base: &'static str, https: bool) -> Cookie {
        Cookie { base, https }
    }

    pub(crate) fn name(&self) -> String {
        if self.https {
            format!("__Host-{}", self.base)
        } else {
            self.base.to_owned()
        }
    }

    /// `Set-Cookie` for `value`, kept `max_age_secs`.
    pub(crate) fn set(&self, value: &str, max_age_secs: i64) -> String {
        let secure = if self.https { "; Secure" } else { "" };
        format!("{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}", self.name())
    }

    /// `Set-Cookie` that removes it.
    pub(crate) fn clear(&self) -> String {
        self.set("", 0)
    }

    /// Its value in `req`, when sent and not empty.
    pub(crate) fn read(&self, req: &Request) -> Option<String> {
        let name = self.name();
        req.headers()
            .get_all(poem::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
    }
}

/// A cookie value must be a token: what cookies may hold without quoting, and what a link token,
/// a strings key or a percent-encoded path is made of.
pub(crate) fn is_cookie_safe(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 2048
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%/:?=&+".contains(&b))
}

/// The emailed links whose token a page moves out of the address bar on the first load: into a
/// cookie of its own (so an invite survives the sign-up and verification round trip), then a
/// redirect to the same page without the query (docs/security.md, hosted pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    VerifyEmail,
    ResetPassword,
    Invite,
    OwnershipTransfer,
    EmailChange,
}

impl Link {
    fn base(self) -> &'static str {
        match self {
            Link::VerifyEmail => "tenantry_link_verify",
            Link::ResetPassword => "tenantry_link_reset",
            Link::Invite => "tenantry_link_invite",
            Link::OwnershipTransfer => "tenantry_link_transfer",
            Link::EmailChange => "tenantry_link_email",
        }
    }

    pub(crate) fn cookie(self, https: bool) -> Cookie {
        Cookie::new(self.base(), https)
    }

    /// How long the token is kept in the browser: long enough to sign up and verify on the way.
    pub(crate) const MAX_AGE_SECS: i64 = 24 * 60 * 60;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_host_prefixed_and_secure_on_https() {
        let c = Cookie::new(CSRF, true);
        assert_eq!(c.set("x", 60), "__Host-tenantry_csrf=x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure");
        assert_eq!(Cookie::new(CSRF, false).clear(), "tenantry_csrf=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
        let req = Request::builder().header("cookie", "tenantry_csrf=a; __Host-tenantry_csrf=b").finish();
        assert_eq!(Cookie::new(CSRF, true).read(&req).as_deref(), Some("b"));
        assert_eq!(Cookie::new(CSRF, false).read(&req).as_deref(), Some("a"));
        assert!(!is_cookie_safe("a;b") && !is_cookie_safe("a b") && !is_cookie_safe(""));
        assert!(is_cookie_safe("%2Forgs%3Fx%3D1"));
    }
}
