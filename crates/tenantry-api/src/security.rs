//! Security schemes: they turn credentials into an [`Actor`] before an operation runs. Also the
//! request facts the shell resolves for them: the client's address ([`ClientIp`]) and the origins
//! whose pages may use the session cookie ([`TrustedOrigins`], [`check_same_origin`]).

use std::net::IpAddr;

use poem::http::{Method, StatusCode};
use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;
use tenantry_app::{Actor, App, Ctx};

use crate::ApiError;

/// A backend API key, sent as `Authorization: Bearer tnt_…`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", key_name = "Authorization", checker = "check_api_key")]
pub struct BackendKey(pub Actor);

async fn check_api_key(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    let app = req.data::<App>().ok_or_else(|| poem::Error::from(ApiError::internal()))?;
    app.authenticate_api_key(&bearer.token).await.map_err(|e| poem::Error::from(ApiError::from(e)))
}

/// The request id the server's middleware assigned, if any.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address as the server's shell resolved it: the TCP peer, or, when the peer is a
/// trusted proxy, the address the proxy forwarded (README, "Security").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The acting context of a request: actor, client IP and request id.
pub fn ctx(req: &Request, actor: Actor) -> Ctx {
    Ctx { actor, session: None, ip: client_ip(req), request_id: req.data::<RequestId>().map(|r| r.0.clone()) }
}

/// The client's address: what the shell resolved, else the TCP peer.
pub fn client_ip(req: &Request) -> Option<IpAddr> {
    req.data::<ClientIp>().map(|c| c.0).or_else(|| req.remote_addr().as_socket_addr().map(|a| a.ip()))
}

/// The use cases, as the server attached them to every request.
pub(crate) fn app(req: &Request) -> Result<&App, ApiError> {
    req.data::<App>().ok_or_else(ApiError::internal)
}

/// The origin (`scheme://host[:port]`, as browsers send it in `Origin`) of an http(s) URL:
/// scheme and host lowercased, the scheme's default port dropped, no path. `None` for anything
/// else.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (authority, None),
    };
    if host.is_empty() {
        return None;
    }
    let host = host.to_ascii_lowercase();
    match port {
        Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => None,
        Some(p) if p == default_port => Some(format!("{scheme}://{host}")),
        Some(p) => Some(format!("{scheme}://{host}:{p}")),
        None => Some(format!("{scheme}://{host}")),
    }
}

/// The origins whose pages may make state-changing requests with the session cookie: the
/// deployment's own (from `public_url`) and `http.allowed_origins`. The server attaches it to
/// every request; the hosted pages use it too (redirect targets, CORS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedOrigins(Vec<String>);

impl TrustedOrigins {
    pub fn new(public_url: &str, allowed: &[String]) -> TrustedOrigins {
        let mut origins: Vec<String> = origin_of(public_url).into_iter().collect();
        origins.extend(allowed.iter().filter_map(|o| origin_of(o)));
        TrustedOrigins(origins)
    }

    /// Whether `origin` (an `Origin` header's value) is one of them.
    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o == origin)
    }
}

/// The CSRF rule for requests authenticated by the session cookie (README, "Security"). A
/// state-changing request (any method but GET, HEAD and OPTIONS) must
/// 1. come from a trusted origin: its `Origin`, when sent, is the deployment's own or an allowed
///    one; without `Origin`, its `Sec-Fetch-Site`, when sent, is `same-origin` or `none`; and
/// 2. say `Content-Type: application/json` (or another `application/*+json`), even without a body.
///
/// A page on another site cannot meet rule 2: forms and "simple" `fetch` requests can only send
/// `text/plain`, `multipart/form-data` or `application/x-www-form-urlencoded`; anything else needs
/// a CORS preflight, which Tenantry grants no other origin. Rule 1 refuses what a browser says is
/// cross-site outright. Bearer credentials are never sent by a browser on its own and are not
/// checked.
pub fn check_same_origin(req: &Request) -> Result<(), ApiError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    check_origin(req)?;
    let refused = |detail: &str| ApiError::new(StatusCode::FORBIDDEN, "csrf-refused", detail);
    let header = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let json = header("content-type")
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")));
    if !json {
        return Err(refused(
            "Requests that use the session cookie and change state must send `Content-Type: application/json`, \
             even without a body.",
        ));
    }
    Ok(())
}

/// Rule 1 of [`check_same_origin`] alone: a state-changing request with the session cookie comes
/// from a trusted origin (its `Origin`, else its `Sec-Fetch-Site`). The hosted pages' forms, which
/// cannot send JSON, pass this and a CSRF token bound to the session instead of rule 2.
pub fn check_origin(req: &Request) -> Result<(), ApiError> {
    let refused = |detail: &str| ApiError::new(StatusCode::FORBIDDEN, "csrf-refused", detail);
    let header = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    if let Some(origin) = header("origin") {
        let fallback;
        let trusted = match req.data::<TrustedOrigins>() {
            Some(t) => t,
            None => {
                fallback = TrustedOrigins::new(&app(req)?.settings().auth.issuer, &[]);
                &fallback
            }
        };
        if !trusted.allows(origin) {
            return Err(refused(
                "This request came from a page of another origin; requests that use the session cookie \
                 must come from this deployment or an allowed origin.",
            ));
        }
    } else if let Some(site) = header("sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return Err(refused(
                "The browser says this request is cross-site; requests that use the session cookie must be \
                 same-origin.",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_like_browsers_send_them() {
        assert_eq!(origin_of("https://Auth.Example.com/").as_deref(), Some("https://auth.example.com"));
        assert_eq!(origin_of("https://auth.example.com:443/x?y").as_deref(), Some("https://auth.example.com"));
        assert_eq!(origin_of("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("http://[::1]:8080/").as_deref(), Some("http://[::1]:8080"));
        assert_eq!(origin_of("http://[::1]").as_deref(), Some("http://[::1]"));
        for bad in ["ftp://x", "https://", "https://u:p@x", "https://x:", "https://x:8o", "x.com"] {
            assert_eq!(origin_of(bad), None, "{bad}");
        }
    }

    fn request(method: Method, headers: &[(&'static str, &str)]) -> Request {
        let mut b = Request::builder().method(method).uri_str("/api/v1/orgs/x/leave");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut req = b.finish();
        req.set_data(TrustedOrigins::new("https://auth.example.com", &["https://app.example.com".into()]));
        req
    }

    fn code(r: Result<(), ApiError>) -> String {
        match r {
            Ok(()) => "ok".into(),
            Err(e) => e.problem.problem_type.rsplit(':').next().unwrap().to_owned(),
        }
    }

    #[test]
    fn cookie_requests_must_be_same_origin_json() {
        let json = ("content-type", "application/json");
        let post = |h: &[(&'static str, &str)]| code(check_same_origin(&request(Method::POST, h)));
        assert_eq!(code(check_same_origin(&request(Method::GET, &[("origin", "https://evil.test")]))), "ok");
        assert_eq!(post(&[json, ("origin", "https://auth.example.com")]), "ok");
        assert_eq!(post(&[json, ("origin", "https://app.example.com")]), "ok");
        assert_eq!(post(&[("content-type", "application/json; charset=utf-8")]), "ok", "non-browser client");
        assert_eq!(post(&[("content-type", "application/merge-patch+json")]), "ok");
        assert_eq!(post(&[json, ("sec-fetch-site", "same-origin")]), "ok");
        assert_eq!(post(&[json, ("sec-fetch-site", "none")]), "ok");
        assert_eq!(post(&[json, ("origin", "https://evil.test")]), "csrf-refused");
        assert_eq!(post(&[json, ("origin", "null")]), "csrf-refused");
        assert_eq!(post(&[json, ("origin", "https://auth.example.com.evil.test")]), "csrf-refused");
        assert_eq!(post(&[json, ("sec-fetch-site", "cross-site")]), "csrf-refused");
        assert_eq!(post(&[json, ("sec-fetch-site", "same-site")]), "csrf-refused");
        assert_eq!(post(&[("origin", "https://auth.example.com")]), "csrf-refused", "no content type");
        assert_eq!(post(&[("content-type", "application/x-www-form-urlencoded")]), "csrf-refused");
        assert_eq!(post(&[("content-type", "text/plain")]), "csrf-refused");
        assert_eq!(code(check_same_origin(&request(Method::DELETE, &[]))), "csrf-refused");
    }
}
