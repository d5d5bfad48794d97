//! Where a page may send a person: `return_to` and every redirect, safe against open redirects
//! (docs/security.md, hosted pages).

use poem::http::{header, StatusCode};
use poem::Response;
use tenantry_api::security::{origin_of, TrustedOrigins};

/// `return_to` as given, if it is safe to send a person to: a path on this origin
/// (`/orgs?x=1`, never `//host`, `/\host` or anything with a backslash, control character or
/// scheme), or an absolute http(s) URL on a trusted origin (the deployment's own and
/// `http.allowed_origins`). Percent-encoded tricks are checked after decoding too.
pub fn safe_return_to(raw: &str, trusted: &TrustedOrigins) -> Option<String> {
    if raw.is_empty() || raw.len() > 2048 || raw.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
        return None;
    }
    let decoded = percent_decode(raw);
    if decoded.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    if let Some(rest) = raw.strip_prefix('/') {
        let decoded_rest = decoded.strip_prefix('/').unwrap_or(&decoded);
        if rest.starts_with('/') || decoded_rest.starts_with('/') || decoded_rest.starts_with('\\') {
            return None;
        }
        return Some(raw.to_owned());
    }
    let lower = raw.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return None;
    }
    let origin = origin_of(raw)?;
    trusted.allows(&origin).then(|| raw.to_owned())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `303 See Other` to `location` (already known to be safe).
pub(crate) fn see_other(location: &str) -> Response {
    Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, location).finish()
}

/// A path and query, percent-encoded for a `return_to` query parameter.
pub(crate) fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_and_trusted_origins_are_returned_to() {
        let trusted = TrustedOrigins::new("https://auth.example.com", &["https://app.example.com".into()]);
        for ok in [
            "/orgs",
            "/invites/accept?x=1",
            "https://app.example.com/dashboard",
            "HTTPS://APP.example.com/x",
            "https://auth.example.com/account",
        ] {
            assert_eq!(safe_return_to(ok, &trusted).as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            "//evil.test",
            "/\\evil.test",
            "\\\\evil.test",
            "\\evil.test",
            "/%2Fevil.test",
            "/%2fevil.test",
            "/%5Cevil.test",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "https://evil.test/",
            "https://app.example.com.evil.test/",
            "https://app.example.com@evil.test/",
            "http://app.example.com/",
            "https:/evil.test",
            "evil.test",
            " /orgs",
            "/orgs\n",
            "/a\tb",
            "",
        ] {
            assert_eq!(safe_return_to(bad, &trusted), None, "{bad:?}");
        }
    }
}
